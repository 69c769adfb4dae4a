"""Fixtures shared by every test. The database is SQLite unless TEST_DATABASE_URL says otherwise
(``make test`` runs the suite once on each)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dpa_tracker import clock as app_clock
from dpa_tracker import create_app
from dpa_tracker.config import normalise_database_url
from dpa_tracker.extensions import db
from dpa_tracker.models import Base
from dpa_tracker.models.protection import PROTECTED_TABLES, drop_protection_ddl, protection_ddl
from tests.mail_server import Inbox, free_port

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def _schema(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "EVIDENCE_DIR": str(tmp_path_factory.mktemp("schema-evidence")),
        }
    )
    with app.app_context():
        reset_schema()
        db.metadata.create_all(db.engine)
    yield
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


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


def make_app(database_url: str, tmp_path: Path, **overrides: object) -> Flask:
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


@pytest.fixture
def app(database_url: str, _schema: None, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path)
    with app.app_context():
        empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # close pooled connections now, not when garbage-collected


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


class AuthActions:
    """Sign in through the real form (CSRF included) and remember the session's CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client
        self.csrf = ""

    def csrf_from(self, html: str) -> str:
        match = _CSRF.search(html)
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


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


# --- a real SMTP server (aiosmtpd) for the tests that send mail --------------------------------------


@pytest.fixture
def smtp(app: Flask) -> Iterator[Inbox]:
    """A local SMTP server the app sends to; its messages land in the returned inbox."""
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def fresh_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the test database."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    # Named after the test database, so runs against different test databases never collide.
    scratch = f"{make_url(database_url).database}_migration_scratch"
    server = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {scratch}"))
        yield make_url(database_url).set(database=scratch).render_as_string(hide_password=False)
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
    finally:
        server.dispose()


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


@pytest.fixture
def clock() -> Iterator[Clock]:
    setter = Clock()
    try:
        yield setter
    finally:
        setter.close()
