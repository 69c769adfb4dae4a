"""/api/v1 twins of the user pages: an admin creates, edits and resets users and keeps the processor
profile; every user changes their own password. Each calls the page's own service (auth.services,
client.services).

Passwords and API tokens: a new password (one's own or an admin's reset) ends every signed-in session of
the user, as on the pages; API tokens are separate credentials and live on. An admin revokes them
(``POST /tokens/{id}/revoke``) or deactivates the user, which stops their tokens at once."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from dpa_tracker.api.common import blp, checked_first, current, fail, refused
from dpa_tracker.api.schemas import ID_RANGE, Line, StrictSchema, Text
from dpa_tracker.auth.services import change_password, create_user, set_password, update_user
from dpa_tracker.client.services import ProcessorInput, save_processor
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Client, Role, User

USER_EXAMPLE = {
    "id": 12,
    "email": "otto@audit.example",
    "name": "Otto Auditor",
    "role": "auditor",
    "client_id": None,
    "audited_clients": [3, 5],
    "active": True,
    "created_at": "2026-03-01T09:00:00+00:00",
}


class UserCreateIn(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = Line(load_default="", validate=validate.Length(max=200))
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    password = Text(
        required=True,
        validate=validate.Length(max=1024),
        metadata={"description": "Initial password: 12+ characters and hard to guess (zxcvbn score 3)"},
    )
    client_id = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=ID_RANGE,
        metadata={"description": "The client a client user belongs to (client users only, and required for them)"},
    )
    audited_clients = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={"description": "Ids of the clients an auditor reviews (auditors only)"},
    )


class UserUpdateIn(StrictSchema):
    """What the user page edits; a field left out keeps its value."""

    name = Line(validate=validate.Length(max=200))
    active = fields.Boolean(
        metadata={"description": "false ends the user's sessions and stops their API tokens; not for yourself"}
    )
    audited_clients = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE),
        validate=validate.Length(max=1000),
        metadata={"description": "Ids of the clients an auditor reviews (replaces the list; auditors only)"},
    )


class PasswordResetIn(StrictSchema):
    new_password = Text(
        required=True,
        validate=validate.Length(max=1024),
        metadata={"description": "12+ characters and hard to guess; the user's sessions end, API tokens live on"},
    )


class OwnPasswordIn(StrictSchema):
    current_password = Text(required=True, validate=validate.Length(max=1024))
    new_password = Text(
        required=True,
        validate=validate.Length(max=1024),
        metadata={"description": "12+ characters, hard to guess, not the current one"},
    )


class UserOut(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.Function(lambda u: u.role.value)
    client_id = fields.Integer(allow_none=True)
    audited_clients = fields.Function(
        lambda u: [c.id for c in u.audited_clients], metadata={"type": "array", "items": {"type": "integer"}}
    )
    active = fields.Boolean()
    created_at = fields.DateTime()


class PasswordChangedOut(Schema):
    sessions_ended = fields.Boolean(
        metadata={"description": "Always true: every signed-in session of the user ended (API tokens live on)"}
    )


class ProcessorIn(StrictSchema):
    name = Line(required=True, validate=validate.Length(min=1, max=200))
    address = Text(load_default="", validate=validate.Length(max=2000))
    contact_email = fields.Email(load_default="", validate=validate.Length(max=254))
    contact_phone = Line(load_default="", validate=validate.Length(max=50))
    dpo_name = Line(load_default="", validate=validate.Length(max=200))
    dpo_email = fields.Email(load_default="", validate=validate.Length(max=254))
    representative = Line(
        load_default="", validate=validate.Length(max=200), metadata={"description": "Art. 27 representative"}
    )
    representative_contact = Line(load_default="", validate=validate.Length(max=500))
    country = Line(
        load_default="",
        validate=validate.Length(max=2),
        metadata={"description": "ISO 3166-1 alpha-2: the working-day calendar of clause 9.1 (empty: default)"},
    )


class ProcessorOut(Schema):
    name = fields.String()
    address = fields.String()
    contact_email = fields.String()
    contact_phone = fields.String()
    dpo_name = fields.String()
    dpo_email = fields.String()
    representative = fields.String()
    representative_contact = fields.String()
    country = fields.String()


def require_admin(**_: Any) -> None:
    if current().role is not Role.ADMIN:
        fail(403, "Only administrators manage users and the processor profile.")


def admin_user(user_id: int) -> None:
    require_admin()
    if db.session.get(User, user_id) is None:
        fail(404, f"No user with id {user_id}.")


def _client(client_id: int | None) -> Client | None:
    if client_id is None:
        return None
    client = db.session.get(Client, client_id)
    if client is None:
        fail(422, f"No client with id {client_id}.", "client_id")
    return client


def _clients(ids: list[int]) -> list[Client]:
    clients = [db.session.get(Client, client_id) for client_id in dict.fromkeys(ids)]
    unknown = [client_id for client_id, client in zip(dict.fromkeys(ids), clients, strict=True) if client is None]
    if unknown:
        fail(422, f"No client with id {', '.join(map(str, unknown))}.", "audited_clients")
    return [c for c in clients if c is not None]


@blp.route("/users", methods=["POST"])
@checked_first(require_admin)
@blp.arguments(
    UserCreateIn,
    example={
        "email": "otto@audit.example",
        "name": "Otto Auditor",
        "role": "auditor",
        "password": "staple horse orbit lantern",
        "audited_clients": [3, 5],
    },
)
@blp.response(201, UserOut, example=USER_EXAMPLE)
def create_user_api(data: dict[str, Any]) -> Any:
    """Create a user (admins only; audited). A client user needs `client_id`; an auditor may get
    `audited_clients`; the password follows the same strength rules as the page."""
    client = _client(data["client_id"])
    audited = _clients(data["audited_clients"])
    try:
        user = create_user(
            current(),
            data["email"],
            Role(data["role"]),
            data["password"],
            name=data["name"],
            client=client,
            audited_clients=audited,
        )
    except DomainError as error:
        refused(error)
    db.session.commit()
    return user


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@checked_first(admin_user)
@blp.arguments(UserUpdateIn, example={"active": False})
@blp.response(200, UserOut, example={**USER_EXAMPLE, "active": False})
def update_user_api(data: dict[str, Any], user_id: int) -> Any:
    """Change a user's name, active flag or audited clients (admins only; audited). Deactivating ends the
    user's sessions and stops their API tokens; nobody deactivates themselves."""
    user = db.session.get_one(User, user_id)  # role and existence: admin_user
    audited = _clients(data["audited_clients"]) if "audited_clients" in data else list(user.audited_clients)
    try:
        update_user(
            current(),
            user,
            name=data.get("name", user.name),
            active=data.get("active", user.active),
            audited_clients=audited,
        )
    except DomainError as error:
        refused(error)
    db.session.commit()
    return user


@blp.route("/users/<int:user_id>/password", methods=["POST"])
@checked_first(admin_user)
@blp.arguments(PasswordResetIn, example={"new_password": "violet ferry compass anthem"})
@blp.response(200, PasswordChangedOut, example={"sessions_ended": True})
def reset_password_api(data: dict[str, Any], user_id: int) -> Any:
    """Set a new password for a user (admins only; audited, never the password). Every signed-in session
    of the user ends; their API tokens live on (revoke them apart if needed)."""
    user = db.session.get_one(User, user_id)  # role and existence: admin_user
    try:
        set_password(current(), user, data["new_password"], field="new_password")
    except DomainError as error:
        refused(error)
    db.session.commit()
    return {"sessions_ended": True}


@blp.route("/me/password", methods=["POST"])
@blp.arguments(
    OwnPasswordIn,
    example={"current_password": "old staple horse orbit", "new_password": "violet ferry compass anthem"},
)
@blp.response(200, PasswordChangedOut, example={"sessions_ended": True})
def change_own_password_api(data: dict[str, Any]) -> Any:
    """Change the token user's own password (every role; audited). The current password is required, as on
    the page; every signed-in session of the user ends, the API tokens (this one too) live on."""
    try:
        change_password(current(), data["current_password"], data["new_password"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return {"sessions_ended": True}


@blp.route("/processor", methods=["PUT"])
@checked_first(require_admin)
@blp.arguments(
    ProcessorIn,
    example={
        "name": "AltınSoft SARL",
        "address": "12 rue Didouche Mourad, Alger",
        "contact_email": "privacy@altinsoft.example",
        "dpo_name": "Lina Haddad",
        "dpo_email": "dpo@altinsoft.example",
        "country": "DZ",
    },
)
@blp.response(
    200,
    ProcessorOut,
    example={
        "name": "AltınSoft SARL",
        "address": "12 rue Didouche Mourad, Alger",
        "contact_email": "privacy@altinsoft.example",
        "contact_phone": "",
        "dpo_name": "Lina Haddad",
        "dpo_email": "dpo@altinsoft.example",
        "representative": "",
        "representative_contact": "",
        "country": "DZ",
    },
)
def save_processor_api(data: dict[str, Any]) -> Any:
    """Replace the processor profile, the party that signs every agreement (admins only; audited). Fields
    left out are emptied, as on the page's form."""
    try:
        profile = save_processor(current(), ProcessorInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return profile
