"""The /api/v1 blueprint and what every endpoint module shares: token authentication, role and tenant
checks, problem+json failures. Endpoint modules import from here, never from one another."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar, cast

from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import Schema
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
        "notes": obligation.notes,
    }


# --- ETag / If-Match (RFC 9110 13.1.1): lost updates answer 412 ------------------------------------------

ETAG_HEADER = {
    "ETag": {
        "description": "Strong validator of this representation; send it back as `If-Match` to update",
        "schema": {"type": "string"},
    }
}


def etag_of(representation: Any) -> str:
    """A strong ETag: the SHA-256 of the representation's canonical JSON (what GET answers)."""
    canonical = json.dumps(representation, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _tag_response(response: Any) -> Any:
    if isinstance(response, Response) and 200 <= response.status_code < 300 and response.is_json:
        response.set_etag(etag_of(response.get_json()))
    return response


def etagged(view: F) -> F:
    """Answer with the ETag of the JSON body. Place it right under ``@blp.route`` (or ``@checked_first``)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return _tag_response(view(*args, **kwargs))

    return cast(F, wrapped)  # functools.wraps keeps the view's signature; mypy cannot see that


def agreement_representation(agreement_id: int) -> Agreement:
    return db.session.get_one(Agreement, agreement_id)  # checked_first answered 404 already


def if_match(schema: Schema, represent: Callable[..., Any]) -> Callable[[F], F]:
    """Honour ``If-Match`` on an update: ``represent(**path_arguments)`` is the resource as GET answers it
    (dumped with ``schema``); a stale ETag answers 412 before anything is parsed or written. The answer
    carries the new ETag. Place it right under ``@checked_first`` (visibility and role come first)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            wanted = request.if_match
            if wanted and not wanted.star_tag and not wanted.contains(tag(**kwargs)):  # strong comparison
                fail(
                    412,
                    "The resource changed since you read it (If-Match does not match its ETag): "
                    "read it again and repeat your change.",
                )
            response = view(*args, **kwargs)
            if isinstance(response, Response) and 200 <= response.status_code < 300:
                response.set_etag(tag(**kwargs))  # the resource as GET now answers it (not this answer's body)
            return response

        def tag(**kwargs: Any) -> str:
            return etag_of(json.loads(json.dumps(schema.dump(represent(**kwargs)), default=str)))

        documented = blp.doc(
            parameters=[
                {
                    "in": "header",
                    "name": "If-Match",
                    "required": False,
                    "description": "The ETag you read (GET); a stale one answers 412 and nothing is written. "
                    "Left out: the change applies unconditionally.",
                    "schema": {"type": "string"},
                }
            ]
        )(wrapped)
        return blp.alt_response(412, response="PRECONDITION_FAILED")(documented)

    return decorator
