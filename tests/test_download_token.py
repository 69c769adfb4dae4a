"""The download cookie static/busy.js waits for: set only on a file download, only for a well-formed token."""

from __future__ import annotations

import pytest

from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Role
from tests.factories import make_agreement, make_client, make_user


@pytest.fixture
def agreement_id(app) -> int:
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
        return make_agreement(make_client("Acme Hosting SARL")).id


def _cookie(response) -> str:
    return "\n".join(v for v in response.headers.getlist("Set-Cookie") if v.startswith("download_token="))


def test_a_download_echoes_its_token_in_a_short_cookie(client, auth, agreement_id):
    auth.login("karim@example.com")
    response = client.get(f"/agreements/{agreement_id}/status.pdf?download_token=0a1b2c3d4e5f6a7b")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    cookie = _cookie(response)
    assert cookie.startswith("download_token=0a1b2c3d4e5f6a7b;")
    assert "Max-Age=60" in cookie and "SameSite=Strict" in cookie


@pytest.mark.parametrize(
    "query",
    ["", "?download_token=short", "?download_token=" + "a" * 41, "?download_token=<script>alert(1)</script>"],
)
def test_no_cookie_without_a_well_formed_token(client, auth, agreement_id, query):
    auth.login("karim@example.com")
    response = client.get(f"/agreements/{agreement_id}/status.pdf{query}")
    assert response.status_code == 200
    assert _cookie(response) == ""


def test_no_cookie_on_a_page_that_is_not_a_download(client, auth, agreement_id):
    auth.login("karim@example.com")
    response = client.get(f"/agreements/{agreement_id}?download_token=0a1b2c3d4e5f6a7b")
    assert response.status_code == 200
    assert _cookie(response) == ""


def test_every_page_with_a_busy_download_loads_busy_js(app, client, auth, agreement_id):
    """A data-busy link or form does nothing without static/busy.js; the sign-in page loads no script."""
    with app.app_context():
        client_id = db.session.get(Agreement, agreement_id).client_id
    auth.login("karim@example.com")
    for url in (f"/agreements/{agreement_id}", f"/clients/{client_id}/record", f"/clients/{client_id}/subprocessors"):
        html = client.get(url).get_data(as_text=True)
        assert "data-busy=" in html, url
        assert '<script src="/static/busy.js" defer></script>' in html, url
    auth.logout()
    assert "<script" not in client.get("/login").get_data(as_text=True)
