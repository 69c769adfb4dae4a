"""Failed sign-ins are limited per client address (the proxy's view of it) and per account."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dpa_tracker.models import Role
from tests.factories import make_user
from tests.support import PASSWORD, AuthActions

ACCOUNT_MESSAGE = "Too many failed sign-ins for this account."
ADDRESS_MESSAGE = "Too many failed sign-ins from your network address."


@pytest.fixture
def proxied_app(app: Flask, app_factory: Callable[..., Flask]) -> Flask:
    """The app behind one trusted reverse proxy, on the database the ``app`` fixture uses."""
    return app_factory(TRUSTED_PROXIES=1)


def sign_in(http: FlaskClient, email: str, password: str, address: str):  # type: ignore[no-untyped-def]
    """One sign-in through the form, from ``address`` as the proxy reports it in X-Forwarded-For."""
    headers = {"X-Forwarded-For": address}
    token = AuthActions(http).csrf_from(http.get("/login", headers=headers).get_data(as_text=True))
    return http.post("/login", data={"email": email, "password": password, "csrf_token": token}, headers=headers)


def test_an_attacker_at_one_address_does_not_lock_out_the_user_at_another(app, proxied_app):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
        make_user(Role.AUDITOR, "otto@audit.example")
    attacker = proxied_app.test_client()
    codes = [sign_in(attacker, "karim@example.com", f"guess {n}", "203.0.113.7").status_code for n in range(20)]
    assert codes == [422] * 5 + [429] * 15
    refused = sign_in(attacker, "karim@example.com", PASSWORD, "203.0.113.7")
    assert refused.status_code == 429  # the attacker's address is stopped, even with the right password
    assert ADDRESS_MESSAGE in html.unescape(refused.get_data(as_text=True))

    assert sign_in(proxied_app.test_client(), "karim@example.com", PASSWORD, "198.51.100.20").status_code == 302
    assert sign_in(proxied_app.test_client(), "otto@audit.example", PASSWORD, "198.51.100.21").status_code == 302


def test_fifty_bad_attempts_on_one_account_from_fifty_addresses_are_throttled(app, proxied_app):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
        make_user(Role.AUDITOR, "otto@audit.example")
    # The account is the e-mail as typed, compared case-insensitively: varying it does not escape the limit.
    spellings = ["karim@example.com", "KARIM@example.com", " Karim@Example.COM "]
    responses = [
        sign_in(proxied_app.test_client(), spellings[n % 3], f"guess {n}", f"192.0.2.{n + 1}") for n in range(50)
    ]
    assert [r.status_code for r in responses] == [422] * 10 + [429] * 40
    throttled = responses[-1]
    assert ACCOUNT_MESSAGE in html.unescape(throttled.get_data(as_text=True))
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
    # The documented trade-off: the owner waits too; other accounts at those addresses do not.
    assert sign_in(proxied_app.test_client(), "karim@example.com", PASSWORD, "198.51.100.20").status_code == 429
    assert sign_in(proxied_app.test_client(), "otto@audit.example", PASSWORD, "192.0.2.1").status_code == 302


def test_without_trusted_proxies_x_forwarded_for_is_ignored(app):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    http = app.test_client()
    codes = [sign_in(http, "karim@example.com", "wrong password", f"198.51.100.{n}").status_code for n in range(6)]
    assert codes == [422] * 5 + [429]  # every attempt counts against the real peer, whatever the header says


def test_the_account_limit_is_a_setting(app, app_factory):
    strict = app_factory(TRUSTED_PROXIES=1, LOGIN_ACCOUNT_RATE_LIMIT="2 per hour")
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    codes = [
        sign_in(strict.test_client(), "karim@example.com", "nope", f"192.0.2.{n}").status_code for n in range(1, 4)
    ]
    assert codes == [422, 422, 429]
