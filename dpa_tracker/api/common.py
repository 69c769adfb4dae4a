"""The /api/v1 blueprint and what every endpoint module shares: token authentication, role and tenant
checks, problem+json failures. Endpoint modules import from here, never from one another."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar, cast

from flask import g, request
from flask_smorest import Blueprint
from werkzeug.exceptions import default_exceptions

from dpa_tracker.auth.services import user_for_token
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, NoticeRecipient, Obligation, Role, User
from dpa_tracker.obligation.status import Assessment
from dpa_tracker.permissions import can_see_client, can_write

blp = Blueprint(
    "api_v1",
    __name__,
    url_prefix="/api/v1",
    description="Agreements, obligations, evidence, the Art. 30(2) record and sub-processor notices.",
)


def fail(status: int, detail: str, field: str | None = None) -> NoReturn:
    error = default_exceptions[status](description=detail)
    if field:
        # flask-smorest's convention, read by http_errors: field errors ride on the exception's ``data``,
        # an attribute werkzeug's HTTPException does not declare.
        error.data = {"messages": {field: [detail]}}  # type: ignore[attr-defined]
    raise error


def domain_fail(error: DomainError) -> NoReturn:
    fail(error.status_code, error.message, error.field)


def refused(error: DomainError) -> NoReturn:
    """A service refused the change: undo what it flushed, answer problem+json (422 unless the error says)."""
    db.session.rollback()
    domain_fail(error)


@blp.before_request
def authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        fail(401, "Send an API token: 'Authorization: Bearer <token>' (create one with flask create-token).")
    user = user_for_token(token.strip())
    if user is None:
        fail(401, "The token is unknown, revoked, or its user is inactive.")
    g.api_user = user


def current() -> User:
    return g.api_user


def require_write() -> None:
    if not can_write(current()):
        fail(403, "This token's user may not change anything (read-only role).")


F = TypeVar("F", bound=Callable[..., Any])


def checked_first(check: Callable[..., None]) -> Callable[[F], F]:
    """Run ``check(**path_arguments)`` before the body is parsed, so a read-only token gets its 403 (or
    another tenant's id its 404) whatever it sent. Place it right under ``@blp.route``."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            check(**kwargs)
            return view(*args, **kwargs)

        return cast(F, wrapped)  # functools.wraps keeps the view's signature; mypy cannot see that

    return decorator


def writable_obligation(obligation_id: int) -> None:
    visible(Obligation, obligation_id, lambda o: o.agreement.client_id)
    require_write()


def answerable_recipient(recipient_id: int) -> None:
    visible(NoticeRecipient, recipient_id, lambda r: r.agreement.client_id)
    if current().role is not Role.CLIENT:
        fail(403, "Only the client's own users answer its notices.")


def visible(model: Any, object_id: int, client_id_of: Any) -> Any:
    obj = db.session.get(model, object_id)
    if obj is None or not can_see_client(current(), client_id_of(obj)):
        fail(404, f"No {model.__name__.lower()} with id {object_id}.")
    return obj


def writable_agreement(agreement_id: int) -> None:
    visible(Agreement, agreement_id, lambda a: a.client_id)
    require_write()


def obligation_row(obligation: Obligation, assessment: Assessment) -> dict[str, Any]:
    """An obligation with its assessment, as the API returns it (``schemas.ObligationOut``)."""
    return {
        "id": obligation.id,
        "agreement_id": obligation.agreement_id,
        "clause_number": obligation.clause_number,
        "section": obligation.section,
        "title": obligation.title,
        "summary": obligation.summary,
        "gdpr_article": obligation.gdpr_article,
        "rule_type": obligation.rule["type"],
        "status": assessment.status.value,
        "reason": assessment.reason,
        "due_on": assessment.due_on,
        "owner": obligation.owner.email if obligation.owner else None,
    }
