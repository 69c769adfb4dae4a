"""The migrations build exactly the schema the models describe, on a database that starts empty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dpa_tracker.extensions import db
from tests.conftest import make_app


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


def test_migrations_match_the_models(fresh_database_url: str, tmp_path: Path) -> None:
    app = make_app(fresh_database_url, tmp_path)
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as conn:
                differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
                version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        finally:
            db.session.remove()
            db.engine.dispose()
    assert differences == []
    assert version


def test_every_migration_can_be_undone_and_redone(fresh_database_url: str, tmp_path: Path) -> None:
    app = make_app(fresh_database_url, tmp_path)
    with app.app_context():
        try:
            upgrade()
            downgrade(revision="base")
            with db.engine.connect() as conn:
                left = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
            upgrade()
            with db.engine.connect() as conn:
                differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
        finally:
            db.session.remove()
            db.engine.dispose()
    assert left == set()
    assert differences == []
