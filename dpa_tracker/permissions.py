"""Who may see and change what. Another tenant's object is reported as missing (404)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import QueryableAttribute

from dpa_tracker.models import Role, User, auditor_client

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def visible_client_ids(user: User) -> set[int] | None:
    """None means every client (processor staff)."""
    if user.role in (Role.ADMIN, Role.COMPLIANCE):
        return None
    if user.role is Role.CLIENT:
        return {user.client_id} if user.client_id is not None else set()
    return {client.id for client in user.audited_clients}


def client_filter(user: User, column: ColumnElement[Any] | QueryableAttribute[Any]) -> ColumnElement[bool]:
    """A WHERE clause restricting ``column`` (a client id, e.g. ``Agreement.client_id``) to what ``user`` may see."""
    if user.role in (Role.ADMIN, Role.COMPLIANCE):
        return true()
    if user.role is Role.CLIENT:
        return column == user.client_id if user.client_id is not None else false()
    return column.in_(select(auditor_client.c.client_id).where(auditor_client.c.user_id == user.id))


def can_see_client(user: User, client_id: int) -> bool:
    ids = visible_client_ids(user)
    return ids is None or client_id in ids


def ensure_client_visible(user: User, client_id: int) -> None:
    if not can_see_client(user, client_id):
        abort(404)


def visible_or_404(user: User, row: T | None, client_ids: Callable[[T], Iterable[int]]) -> T:
    """``row`` if it exists and belongs to a client ``user`` may see (one of ``client_ids(row)``), else 404."""
    if row is None or not any(can_see_client(user, client_id) for client_id in client_ids(row)):
        abort(404)
    return row


def can_write(user: User) -> bool:
    return user.is_authenticated and user.role in (Role.ADMIN, Role.COMPLIANCE)


def can_hand_out_record(user: User, client_id: int) -> bool:
    """Clause 4.2: staff hand out copies and a client's own users take one; auditors only read."""
    return can_write(user) or (user.role is Role.CLIENT and user.client_id == client_id)


def roles_required(*roles: Role) -> Callable[[F], F]:
    """View decorator: signed-in user with one of ``roles``, else 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)  # functools.wraps keeps the view's signature; mypy cannot see that

    return decorator


staff_only = roles_required(Role.ADMIN, Role.COMPLIANCE)
admin_only = roles_required(Role.ADMIN)


def require_login(blueprint: Any) -> None:
    """Every page of ``blueprint`` needs a signed-in user."""

    @blueprint.before_request
    def _check_login() -> Any:
        if not current_user.is_authenticated:
            from dpa_tracker.extensions import login_manager

            return login_manager.unauthorized()
        return None
