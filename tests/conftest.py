"""Fixtures shared by every test. The database is SQLite unless TEST_DATABASE_URL says otherwise
(``make test`` runs the suite once on each)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dpa_tracker.config import normalise_database_url
from dpa_tracker.extensions import db
from tests.support import AuthActions, Clock, Inbox, emptied_app, free_port, make_app, reset_schema


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def _schema(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    app = make_app(database_url, tmp_path_factory.mktemp("schema"))
    with app.app_context():
        reset_schema()
        db.metadata.create_all(db.engine)
    yield
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app_factory(database_url: str, _schema: None, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """The one way tests get an application on the suite's database: ``app_factory(**settings)`` builds
    it with ``tests.support.make_app``, emptied first and closed after the test (``app`` and the browser
    tests' ``live_app`` both come from here)."""
    with ExitStack() as stack:

        def build(**overrides: object) -> Flask:
            return stack.enter_context(emptied_app(database_url, tmp_path, **overrides))

        yield build


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


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


@pytest.fixture
def clock() -> Iterator[Clock]:
    setter = Clock()
    try:
        yield setter
    finally:
        setter.close()
