"""/api/v1 twins of the administration page actions (admins only): revoke an API token."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from dpa_tracker.api.common import blp, checked_first, current, domain_fail, fail
from dpa_tracker.auth.services import revoke_token
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import ApiToken, Role


class TokenOut(Schema):
    id = fields.Integer()
    prefix = fields.String()
    name = fields.String()
    user = fields.Function(lambda t: t.user.email)
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


def admin_token(token_id: int) -> None:
    if current().role is not Role.ADMIN:
        fail(403, "Only administrators manage API tokens.")
    if db.session.get(ApiToken, token_id) is None:
        fail(404, f"No API token with id {token_id}.")


@blp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@checked_first(admin_token)
@blp.response(
    200,
    TokenOut,
    example={
        "id": 4,
        "prefix": "dpa_3f9a",
        "name": "ci",
        "user": "ci@altinsoft.example",
        "created_at": "2026-01-05T09:00:00+00:00",
        "revoked_at": "2026-03-01T17:12:00+00:00",
    },
)
def revoke_token_api(token_id: int) -> Any:
    """Revoke an API token at once (admins only; audited). A revoked token answers 401 from then on."""
    token = db.get_or_404(ApiToken, token_id)  # role and existence: admin_token
    try:
        revoke_token(current(), token)
    except DomainError as error:
        db.session.rollback()
        domain_fail(error)
    db.session.commit()
    return token
