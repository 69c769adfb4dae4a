"""Sessions end on sign-out, password change, reset and deactivation, and time out; passwords are strong."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from dpa_tracker.auth.services import create_token
from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, Role
from tests.factories import make_user
from tests.support import PASSWORD, AuthActions

NEW_PASSWORD = "plum orchard under winter rain"


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def signed_in(app, email: str, password: str = PASSWORD) -> tuple[FlaskClient, AuthActions]:  # type: ignore[no-untyped-def]
    http = app.test_client()
    auth = AuthActions(http)
    assert auth.login(email, password).status_code == 302
    return http, auth


def copy_of(app, http: FlaskClient) -> FlaskClient:  # type: ignore[no-untyped-def]
    """Another browser holding a copy of ``http``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", http.get_cookie("session").value)
    return thief


def is_signed_out(http: FlaskClient) -> bool:
    response = http.get("/clients/")
    return response.status_code == 302 and "/login" in response.headers["Location"]


def audit_rows(app, action: str) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [
            (e.actor_label, e.changes)
            for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        ]


# --- acceptance 7: sign-out and password changes end sessions


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    http, auth = signed_in(app, "karim@example.com")
    thief = copy_of(app, http)
    assert thief.get("/clients/").status_code == 200  # the copy works while the session lives

    response = auth.logout()
    assert response.status_code == 302
    assert "You are signed out." in text_of(http.get(response.headers["Location"]))
    assert is_signed_out(thief)
    assert is_signed_out(http)
    assert [actor for actor, _ in audit_rows(app, "user.logout")] == ["karim@example.com"]


def test_sign_out_ends_the_users_other_sessions_too(app):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    _laptop, auth = signed_in(app, "karim@example.com")
    phone, _ = signed_in(app, "karim@example.com")
    auth.logout()
    assert is_signed_out(phone)
    fresh, _ = signed_in(app, "karim@example.com")  # signing in again works
    assert fresh.get("/clients/").status_code == 200


def test_api_tokens_survive_sign_out(app):
    with app.app_context():
        user = make_user(Role.COMPLIANCE, "karim@example.com")
        _token, plain = create_token(None, user, "ci")
        db.session.commit()
    _http, auth = signed_in(app, "karim@example.com")
    auth.logout()
    response = app.test_client().get("/api/v1/clients", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200


def test_a_password_change_signs_out_other_sessions_but_keeps_this_one(app):
    with app.app_context():
        make_user(Role.AUDITOR, "otto@audit.example")
    http, auth = signed_in(app, "otto@audit.example")
    elsewhere, _ = signed_in(app, "otto@audit.example")
    thief = copy_of(app, http)

    response = auth.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert "Password changed. You were signed out everywhere else." in text_of(http.get(response.headers["Location"]))
    assert http.get("/clients/").status_code == 200
    assert is_signed_out(elsewhere)
    assert is_signed_out(thief)  # the copy taken before the change carries the old session version
    assert AuthActions(app.test_client()).login("otto@audit.example").status_code == 422
    assert AuthActions(app.test_client()).login("otto@audit.example", NEW_PASSWORD).status_code == 302
    rows = audit_rows(app, "user.change_password")
    assert rows == [("otto@audit.example", {"sessions_ended": True})]


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        (
            {
                "current_password": "not my password at all",
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
            },
            "The current password is wrong.",
        ),
        (
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD + "!"},
            "The two new passwords differ.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "aaaaaaaaaaaa", "new_password_again": "aaaaaaaaaaaa"},
            'This password is too easy to guess. Repeats like "aaa" are easy to guess.',
        ),
        (
            {"current_password": PASSWORD, "new_password": "Password1234", "new_password_again": "Password1234"},
            "This password is too easy to guess. This is similar to a commonly used password.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "short", "new_password_again": "short"},
            "The password must have at least 12 characters.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "karim.benali12", "new_password_again": "karim.benali12"},
            "This password is too easy to guess.",
        ),  # zxcvbn scores it 4 when not told the user's name
        (
            {"current_password": PASSWORD, "new_password": PASSWORD, "new_password_again": PASSWORD},
            "The new password must differ from the current one.",
        ),
    ],
    ids=["wrong current", "mismatch", "aaaaaaaaaaaa", "Password1234", "short", "own name", "unchanged"],
)
def test_refused_password_changes_say_why_and_change_nothing(app, data, field_message):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim.benali@example.com")
    _http, auth = signed_in(app, "karim.benali@example.com")
    other, _ = signed_in(app, "karim.benali@example.com")
    response = auth.post("/account/password", data)
    assert response.status_code == 422
    assert field_message in text_of(response)
    assert other.get("/clients/").status_code == 200
    assert AuthActions(app.test_client()).login("karim.benali@example.com").status_code == 302
    assert audit_rows(app, "user.change_password") == []


def test_the_password_page_is_linked_from_every_page(app):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    http, _ = signed_in(app, "karim@example.com")
    assert 'href="/account/password"' in http.get("/").get_data(as_text=True)
    assert "Change password" in http.get("/account/password").get_data(as_text=True)


# --- admin reset, deactivation, the command line


def test_an_admin_reset_ends_the_users_sessions_and_is_audited_without_the_password(app):
    with app.app_context():
        make_user(Role.ADMIN, "root@example.com")
        user_id = make_user(Role.COMPLIANCE, "karim@example.com").id
    victim, _ = signed_in(app, "karim@example.com")
    admin, auth = signed_in(app, "root@example.com")
    page = admin.get(f"/admin/users/{user_id}")
    assert "Reset password" in page.get_data(as_text=True)

    response = auth.post(
        f"/admin/users/{user_id}/password",
        {"reset-new_password": NEW_PASSWORD, "reset-new_password_again": NEW_PASSWORD},
        prefix="reset",
    )
    assert response.status_code == 302
    assert "Password of karim@example.com reset" in text_of(admin.get(response.headers["Location"]))
    assert is_signed_out(victim)
    assert admin.get("/admin/users").status_code == 200  # the admin's own session is untouched
    assert AuthActions(app.test_client()).login("karim@example.com", NEW_PASSWORD).status_code == 302
    rows = audit_rows(app, "user.reset_password")
    assert rows == [("root@example.com", {"sessions_ended": True})]
    with app.app_context():
        stored = " ".join(str(e.changes) for e in db.session.scalars(select(AuditEvent)))
    assert NEW_PASSWORD not in stored


def test_an_admin_reset_refuses_a_weak_password(app):
    with app.app_context():
        make_user(Role.ADMIN, "root@example.com")
        user_id = make_user(Role.COMPLIANCE, "karim@example.com").id
    victim, _ = signed_in(app, "karim@example.com")
    _admin, auth = signed_in(app, "root@example.com")
    response = auth.post(
        f"/admin/users/{user_id}/password",
        {"reset-new_password": "Password1234", "reset-new_password_again": "Password1234"},
        prefix="reset",
    )
    assert response.status_code == 422
    assert "This password is too easy to guess." in text_of(response)
    assert victim.get("/clients/").status_code == 200
    assert audit_rows(app, "user.reset_password") == []


def test_deactivating_a_user_ends_their_sessions(app):
    with app.app_context():
        make_user(Role.ADMIN, "root@example.com")
        user_id = make_user(Role.COMPLIANCE, "karim@example.com").id
    victim, _ = signed_in(app, "karim@example.com")
    _admin, auth = signed_in(app, "root@example.com")
    assert auth.post(f"/admin/users/{user_id}", {"name": "Karim"}).status_code == 302  # "active" unticked
    assert is_signed_out(victim)


def invoke(app, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), input=input)


def test_set_password_reads_stdin_and_ends_the_users_sessions(app):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    victim, _ = signed_in(app, "karim@example.com")
    result = invoke(app, "set-password", "Karim@Example.com", input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Password of karim@example.com set; their sessions were ended." in result.output
    assert NEW_PASSWORD not in result.output
    assert is_signed_out(victim)
    assert AuthActions(app.test_client()).login("karim@example.com", NEW_PASSWORD).status_code == 302
    assert audit_rows(app, "user.reset_password") == [("system", {"sessions_ended": True})]


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("karim@example.com", "aaaaaaaaaaaa", "This password is too easy to guess."),
        ("karim@example.com", "Password1234", "This password is too easy to guess."),
        ("nobody@example.com", NEW_PASSWORD, "No user with e-mail nobody@example.com."),
    ],
    ids=["aaaaaaaaaaaa", "Password1234", "unknown user"],
)
def test_set_password_refusals_change_nothing(app, email, password, message):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    result = invoke(app, "set-password", email, input=password + "\n")
    assert result.exit_code == 1
    assert message in result.output
    assert AuthActions(app.test_client()).login("karim@example.com").status_code == 302


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "Password1234"])
def test_new_users_need_a_strong_password_too(app, password):
    with app.app_context():
        make_user(Role.ADMIN, "root@example.com")
    result = invoke(
        app, "create-user", "new@example.com", "--role", "compliance", "--password-stdin", input=password + "\n"
    )
    assert result.exit_code == 1
    assert "This password is too easy to guess." in result.output
    _admin, auth = signed_in(app, "root@example.com")
    response = auth.post(
        "/admin/users/new", {"email": "new@example.com", "role": "compliance", "client_id": "", "password": password}
    )
    assert response.status_code == 422
    assert "This password is too easy to guess." in text_of(response)
    assert AuthActions(app.test_client()).login("new@example.com", password).status_code == 422


# --- idle timeout and absolute lifetime


def let_time_pass(http: FlaskClient, by: timedelta) -> None:
    """Move the session's clock: its sign-in and last-use instants become ``by`` older."""
    with http.session_transaction() as session:
        for key in ("signed_in_at", "seen_at"):
            session[key] -= by.total_seconds()


def test_an_idle_session_is_signed_out_with_a_message(app):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    http, _ = signed_in(app, "karim@example.com")
    let_time_pass(http, timedelta(minutes=31))
    response = http.get("/clients/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/clients/"
    assert "You were signed out after 30 minutes without activity." in text_of(http.get(response.headers["Location"]))
    assert is_signed_out(http)
    again, _ = signed_in(app, "karim@example.com")  # signing in again works at once
    assert again.get("/clients/").status_code == 200


def test_a_session_in_use_stays_until_its_absolute_lifetime(app):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    http, _ = signed_in(app, "karim@example.com")
    for _ in range(28):  # a request every 25 minutes for 11 h 40 min: each one restarts the idle clock
        let_time_pass(http, timedelta(minutes=25))
        assert http.get("/clients/").status_code == 200
    let_time_pass(http, timedelta(minutes=25))  # 12 h 5 min after sign-in
    response = http.get("/clients/")
    assert response.status_code == 302
    assert "You were signed out: a session lasts at most 12 hours." in text_of(http.get(response.headers["Location"]))
    assert is_signed_out(http)


def test_session_limits_are_settings(app, app_factory):
    short = app_factory(SESSION_IDLE_MINUTES=5, SESSION_MAX_HOURS=1)
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    idle, _ = signed_in(short, "karim@example.com")
    let_time_pass(idle, timedelta(minutes=4))
    assert idle.get("/clients/").status_code == 200
    let_time_pass(idle, timedelta(minutes=6))
    assert is_signed_out(idle)
    old, _ = signed_in(short, "karim@example.com")
    for _ in range(14):
        let_time_pass(old, timedelta(minutes=4))
        assert old.get("/clients/").status_code == 200
    let_time_pass(old, timedelta(minutes=5))
    response = old.get("/")
    assert response.status_code == 302
    assert "a session lasts at most 1 hour." in text_of(old.get(response.headers["Location"]))
