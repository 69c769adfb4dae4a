"""Helpers the tests share: the app factory, sign-in actions, the clock setter, the mail inbox.

Test modules import from here (``from tests.support import ...``), never from ``conftest.py``: conftest only
defines fixtures, built from these helpers (``tests/test_import_rules.py`` enforces it)."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from dpa_tracker import clock as app_clock
from dpa_tracker import create_app
from dpa_tracker.extensions import db
from dpa_tracker.models import Base
from dpa_tracker.models.protection import PROTECTED_TABLES, drop_protection_ddl, protection_ddl

PASSWORD = "correct horse battery staple"
CSRF_TOKEN = re.compile(r'name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"')


# --- the application ----------------------------------------------------------------------------------


def make_app(database_url: str, tmp_path: Path, **overrides: object) -> Flask:
    """The app as every test builds it (one factory for the ``app`` fixture, the browser's live
    server, module-wide data sets and fresh databases); ``overrides`` change single settings."""
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "EVIDENCE_DIR": str(tmp_path / "evidence"),
        "SECRET_KEY": "test-secret",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 1,  # nothing listens: a test that sends mail must start its own SMTP server
    }
    config.update(overrides)
    return create_app(config)


@contextmanager
def emptied_app(database_url: str, tmp_path: Path, **overrides: object) -> Iterator[Flask]:
    """``make_app`` on the suite's database with every table emptied first; pooled connections are
    closed when the block ends."""
    app = make_app(database_url, tmp_path, **overrides)
    with app.app_context():
        empty_tables()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()  # close pooled connections now, not when garbage-collected


def reset_schema() -> None:
    """Drop everything (tables, alembic_version) so each run starts from nothing."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        Base.metadata.drop_all(db.engine)
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def empty_tables() -> None:
    db.session.remove()
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in PROTECTED_TABLES:
                for statement in drop_protection_ddl("sqlite", table):
                    conn.execute(text(statement))
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608 - table names come from metadata
            for table in PROTECTED_TABLES:
                for statement in protection_ddl("sqlite", table):
                    conn.execute(text(statement))
            if conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first():
                conn.execute(text("DELETE FROM sqlite_sequence"))


# --- signing in ---------------------------------------------------------------------------------------


class AuthActions:
    """Sign in through the real form (CSRF included) and remember the session's CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client
        self.csrf = ""

    def csrf_from(self, html: str) -> str:
        match = CSRF_TOKEN.search(html)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def login(self, email: str, password: str = PASSWORD) -> object:
        page = self._client.get("/login")
        token = self.csrf_from(page.get_data(as_text=True))
        response = self._client.post("/login", data={"email": email, "password": password, "csrf_token": token})
        if response.status_code == 302:
            self.csrf = self.csrf_from(self._client.get("/").get_data(as_text=True))
        return response

    def logout(self) -> object:
        return self._client.post("/logout", data={"csrf_token": self.csrf})

    def post(self, url: str, data: dict[str, object] | None = None, prefix: str = "", **kwargs: object) -> object:
        """POST a form with this session's CSRF token (``prefix`` for prefixed forms)."""
        payload = dict(data or {})
        payload[f"{prefix}-csrf_token" if prefix else "csrf_token"] = self.csrf
        return self._client.post(url, data=payload, **kwargs)


# --- the clock ----------------------------------------------------------------------------------------


class Clock:
    """Sets the application's clock (``dpa_tracker.clock``) for the rest of a test: ``clock.set(moment)``."""

    def __init__(self) -> None:
        self._stack = ExitStack()

    def set(self, moment: datetime) -> datetime:
        self._stack.close()
        self._stack = ExitStack()
        self._stack.enter_context(app_clock.fixed_at(moment))
        return moment

    def close(self) -> None:
        self._stack.close()


# --- mail: a real SMTP server (aiosmtpd) for the tests that send mail -----------------------------------


class Inbox:
    """The messages the local SMTP server received: (recipients, message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.Message]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
