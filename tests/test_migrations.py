"""The migrations build exactly the schema the models describe, on a database that starts empty."""

from __future__ import annotations

import json
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


def _old_agreement_with_obligations(conn) -> None:
    """An agreement of the default template as migration 0011 left it: rules without the 0012 keys."""
    now = "2026-01-01 00:00:00"
    conn.execute(text("INSERT INTO client (id, legal_name, country, address, notice_emails, dpo_name, dpo_email, "
                      "representative, created_at) VALUES (1, 'Old Hosting', 'DZ', '', '', '', '', '', :now)"),
                 {"now": now})
    conn.execute(text(
        "INSERT INTO agreement (id, client_id, reference, title, signed_on, effective_on, status, template_key, "
        "template_version, subprocessor_objection_days, breach_notice_hours, deletion_days, confidentiality_years, "
        "permitted_locations, created_at) VALUES (1, 1, 'DPA-OLD', 'Old', '2025-01-01', '2025-01-01', 'active', "
        "'altinsoft-dpa', 1, 30, 24, 10, 5, '', :now)"), {"now": now})
    for position, (number, rule) in enumerate([
        ("8.3", '{"type": "event", "days": 30, "event_label": "personal data breach"}'),
        ("13", '{"type": "deadline", "after": "agreement_end", "days_setting": "deletion_days"}'),
        ("7.1", '{"type": "standing", "grace_days": 30}'),
    ]):
        conn.execute(text(
            "INSERT INTO obligation (id, agreement_id, clause_number, position, section, title, summary, gdpr_article, "
            "rule, notes, cached_base, cached_at) VALUES (:id, 1, :number, :id, 's', 't', 's', '', :rule, '', 'open', "
            ":now)"), {"id": position + 1, "number": number, "rule": rule, "now": now})


def test_migration_0012_gives_old_obligations_the_new_rule_keys_and_takes_them_back(
        fresh_database_url: str, tmp_path: Path) -> None:
    app = make_app(fresh_database_url, tmp_path)

    def rules() -> dict[str, dict]:
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT clause_number, rule FROM obligation")).all()
        return {n: (json.loads(r) if isinstance(r, str) else r) for n, r in rows}

    with app.app_context():
        try:
            upgrade(revision="0011")
            with db.engine.begin() as conn:
                _old_agreement_with_obligations(conn)
            upgrade(revision="0012")
            upgraded = rules()
            downgrade(revision="0011")
            downgraded = rules()
        finally:
            db.session.remove()
            db.engine.dispose()
    assert upgraded["8.3"]["events_from"] == "8.1" and upgraded["8.3"]["readiness"] == "breach register"
    assert upgraded["13"]["requires"] == "processing_stopped"
    assert upgraded["7.1"] == {"type": "standing", "grace_days": 30}
    assert downgraded["8.3"] == {"type": "event", "days": 30, "event_label": "personal data breach"}
    assert downgraded["13"] == {"type": "deadline", "after": "agreement_end", "days_setting": "deletion_days"}
