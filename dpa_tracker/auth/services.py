"""Users, passwords (argon2id) and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from zxcvbn import zxcvbn

from dpa_tracker.audit.services import record
from dpa_tracker.client.services import check_email
from dpa_tracker.errors import Conflict, DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import ApiToken, Client, Role, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.validation import check_line

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
MIN_PASSWORD_SCORE = 3  # zxcvbn's 0-4 scale: 3 is "safely unguessable" against an online or throttled attack
# zxcvbn's cost grows quickly with length; a password whose first 100 characters are strong is strong.
_SCORED_LENGTH = 100
TOKEN_PREFIX = "dpa_"  # noqa: S105 - a prefix, not a secret
# A fixed hash to verify against when the e-mail is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


def check_password_policy(password: str, *, email: str, name: str = "", field: str = "password") -> None:
    """At least 12 characters and hard to guess for zxcvbn, which is told the user's own e-mail and name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.", field=field)
    local_part = email.split("@", 1)[0]
    user_inputs = [
        email,
        local_part,
        *local_part.replace("-", ".").replace("_", ".").split("."),
        *name.split(),
        "dpa",
        "tracker",
        "dpa_tracker",
    ]
    result = zxcvbn(password[:_SCORED_LENGTH], user_inputs=[word for word in user_inputs if word])
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result["feedback"]
        advice = " ".join(part for part in (feedback.get("warning"), *feedback.get("suggestions", [])) if part)
        raise DomainError(
            ("This password is too easy to guess. " + advice).strip()
            + " A few unrelated words make a strong password.",
            field=field,
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def create_user(
    actor: User | None,
    email: str,
    role: Role,
    password: str,
    *,
    name: str = "",
    client: Client | None = None,
    audited_clients: Sequence[Client] = (),
) -> User:
    email = check_email(check_line(email, "E-mail", "email"), "email").lower()
    check_line(name, "Name", "name")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(f"A user with e-mail {email} already exists.", field="email")
    if role is Role.CLIENT and client is None:
        raise DomainError("A client user must belong to a client.", field="client_id")
    if role is not Role.CLIENT and client is not None:
        raise DomainError("Only client users belong to a client.", field="client_id")
    if role is not Role.AUDITOR and audited_clients:
        raise DomainError("Only auditors are assigned clients to review.", field="audited_clients")
    check_password_policy(password, email=email, name=name)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        client=client,
        password_hash=hash_password(password),
        audited_clients=list(audited_clients),
    )
    db.session.add(user)
    db.session.flush()
    record(
        actor,
        "user.create",
        user,
        {
            "email": email,
            "role": role.value,
            "client_id": client.id if client else None,
            "audited_clients": [c.id for c in audited_clients],
        },
        client_id=client.id if client else None,
    )
    return user


def update_user(actor: User, user: User, *, name: str, active: bool, audited_clients: Sequence[Client]) -> None:
    if user.id == actor.id and not active:
        raise DomainError("You cannot deactivate your own account.", field="active")
    if user.role is not Role.AUDITOR and audited_clients:
        raise DomainError("Only auditors are assigned clients to review.", field="audited_clients")
    changes: dict[str, object] = {}
    check_line(name, "Name", "name")
    if user.name != name.strip():
        changes["name"] = [user.name, name.strip()]
        user.name = name.strip()
    if user.active != active:
        changes["active"] = [user.active, active]
        user.active = active
        if not active:
            user.session_version += 1  # a deactivated user's open sessions end now
    before = sorted(c.id for c in user.audited_clients)
    after = sorted(c.id for c in audited_clients)
    if before != after:
        changes["audited_clients"] = [before, after]
        user.audited_clients = list(audited_clients)
    if changes:
        db.session.flush()
        record(actor, "user.update", user, changes, client_id=user.client_id)


def set_password(actor: User | None, user: User, password: str, *, field: str = "password") -> None:
    """Replace the password (an admin's or the command line's reset, or the user's own change) and end
    every session of the user; the caller signs the current session in again when it should survive."""
    check_password_policy(password, email=user.email, name=user.name, field=field)
    user.password_hash = hash_password(password)
    user.session_version += 1
    db.session.flush()
    action = "user.change_password" if actor is not None and actor.id == user.id else "user.reset_password"
    record(actor, action, user, {"sessions_ended": True}, client_id=user.client_id)  # never the password


def change_password(user: User, current: str, new: str) -> None:
    """The signed-in user changes their own password; the current one must be given again."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise DomainError("The current password is wrong.", field="current_password") from None
    if new == current:
        raise DomainError("The new password must differ from the current one.", field="new_password")
    set_password(user, user, new, field="new_password")


def sign_out_everywhere(user: User) -> None:
    """Sign-out ends every session of the user, including cookies copied elsewhere (tokens live on)."""
    user.session_version += 1
    db.session.flush()
    record(user, "user.logout", user, {}, client_id=user.client_id)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(actor: User | None, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and only its hash is kept."""
    if not user.active:
        raise DomainError("Cannot create a token for an inactive user.")
    check_line(name, "Token name", "name")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name.strip(), prefix=plain[:12], token_hash=_token_digest(plain))
    db.session.add(token)
    db.session.flush()
    record(
        actor,
        "token.create",
        token,
        {"user": user.email, "name": token.name, "prefix": token.prefix},
        client_id=user.client_id,
    )
    return token, plain


def revoke_token(actor: User | None, token: ApiToken) -> None:
    if token.revoked_at is not None:
        raise DomainError("This token is already revoked.")
    token.revoked_at = utcnow()
    db.session.flush()
    record(actor, "token.revoke", token, {"prefix": token.prefix}, client_id=token.user.client_id)


def user_for_token(plain: str) -> User | None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(plain)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    return token.user
