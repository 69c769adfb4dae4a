"""The migrations build exactly the schema the models describe, on a database that starts empty."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from dpa_tracker.extensions import db
from tests.conftest import make_app


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
