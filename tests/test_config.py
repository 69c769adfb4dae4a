"""Configuration layers, production safety and security headers."""

from __future__ import annotations

import pytest

from dpa_tracker import create_app
from dpa_tracker.config import ConfigError, environment_overrides
from dpa_tracker.models import Role
from tests.factories import make_user
from tests.support import CSRF_TOKEN, PASSWORD


def test_production_refuses_the_development_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_production_with_a_real_key_starts_with_secure_cookies(tmp_path):
    app = create_app(
        {"ENV_NAME": "production", "SECRET_KEY": "a" * 64, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_environment_overrides_parse_json_values_and_database_url():
    overrides = environment_overrides(
        {
            "DPA_DUE_SOON_DAYS": "14",
            "DPA_MAIL_SENDER": "notices@example.com",
            "DATABASE_URL": "postgres://u:p@db/dpa",
            "UNRELATED": "x",
        }
    )
    assert overrides == {
        "DUE_SOON_DAYS": 14,
        "MAIL_SENDER": "notices@example.com",
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u:p@db/dpa",
    }


def test_environment_variable_beats_default_and_test_config_beats_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DPA_DUE_SOON_DAYS", "7")
    db_url = f"sqlite:///{tmp_path}/x.db"
    assert create_app({"SQLALCHEMY_DATABASE_URI": db_url}).config["DUE_SOON_DAYS"] == 7
    assert create_app({"SQLALCHEMY_DATABASE_URI": db_url, "DUE_SOON_DAYS": 3}).config["DUE_SOON_DAYS"] == 3


def test_pages_send_security_headers_and_a_csp_without_inline_script(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Request-ID"]


def test_templates_contain_no_inline_script_or_external_assets(client):
    html = client.get("/login").get_data(as_text=True)
    assert "<script" not in html
    assert "http://" not in html and "https://" not in html


def test_session_cookie_is_httponly_and_samesite(app, client, auth):
    with app.app_context():
        make_user(Role.ADMIN, "cookie@example.com")
    response = auth.login("cookie@example.com")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_next_parameter_only_follows_same_host_paths(app, client):
    with app.app_context():
        make_user(Role.ADMIN, "next@example.com")
    token = CSRF_TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post(
        "/login?next=https://evil.example/",
        data={"email": "next@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
