"""Configuration layers: defaults here, then instance/config.py, then DPA_* environment
variables, then the test overrides passed to create_app()."""

from __future__ import annotations

import json
import os
from typing import Any

DEV_SECRET_KEY = "dev-insecure-change-me"  # noqa: S105 - refused in production
# The key signs session cookies and CSRF tokens; a short key can be guessed offline from one cookie.
MIN_SECRET_KEY_BYTES = 32


class Defaults:
    SECRET_KEY = DEV_SECRET_KEY  # production: at least MIN_SECRET_KEY_BYTES random bytes
    ENV_NAME = "development"  # "production" turns on the strict checks below
    SQLALCHEMY_DATABASE_URI: str | None = None  # None: SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    MAX_CONTENT_LENGTH = 50 * 1024 * 1024  # evidence upload limit (bytes)
    EVIDENCE_DIR: str | None = None  # None: <instance>/evidence
    UPLOAD_TEMP_MAX_AGE = 3600  # seconds; older upload temp files (a worker killed mid-upload) go at start-up
    DUE_SOON_DAYS = 30
    LATE_LOOKBACK_MONTHS = 12  # a late act (breach notified late, deletion after day 10) shows `late` this long
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    LOGIN_RATE_LIMIT = "5 per minute"  # failed sign-ins per client address
    # Failed sign-ins per account (the e-mail typed), whatever the address: stops guessing from many
    # addresses. Keep it above LOGIN_RATE_LIMIT so one address is stopped before it locks the account.
    LOGIN_ACCOUNT_RATE_LIMIT = "10 per 15 minutes"
    CALENDAR_RATE_LIMIT = "60 per minute"  # iCalendar feed fetches per client address (calendar apps poll)
    TRUSTED_PROXIES = 0  # reverse proxies in front that set X-Forwarded-For/-Proto (Werkzeug ProxyFix)
    SESSION_IDLE_MINUTES = 30  # a signed-in session unused this long ends
    SESSION_MAX_HOURS = 12  # and none lasts longer than this since sign-in
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    PAGE_SIZE = 50
    # flask-smorest / OpenAPI
    API_TITLE = "dpa_tracker API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    # SMTP (used by notice e-mails)
    MAIL_SERVER = ""  # empty: no SMTP server configured, `notices send` refuses and mail stays queued
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_SENDER = "dpa-tracker@localhost"


def _coerce(raw: str) -> Any:
    """Environment values are JSON when they parse as JSON (numbers, booleans), else text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def environment_overrides(environ: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, Any]:
    overrides = {key[4:]: _coerce(value) for key, value in environ.items() if key.startswith("DPA_")}
    if environ.get("DATABASE_URL"):
        overrides["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(environ["DATABASE_URL"])
    return overrides


def normalise_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete."""


def check_production(config: dict[str, Any]) -> None:
    if config.get("ENV_NAME") != "production":
        return
    key = config.get("SECRET_KEY")
    if key in (None, "", DEV_SECRET_KEY):
        raise ConfigError("Refusing to start in production with the development SECRET_KEY; set DPA_SECRET_KEY.")
    size = len(key) if isinstance(key, bytes) else len(str(key).encode("utf-8"))
    if size < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"Refusing to start in production with a {size}-byte SECRET_KEY; DPA_SECRET_KEY needs at "
            f"least {MIN_SECRET_KEY_BYTES} bytes, e.g. python3 -c 'import secrets; "
            "print(secrets.token_hex(32))'."
        )
