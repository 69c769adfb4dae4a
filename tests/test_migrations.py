"""The migrations build exactly the schema the models describe, on a database that starts empty."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from dpa_tracker.extensions import db
from dpa_tracker.models.protection import PROTECTED_TABLES, protection_ddl
from tests.support import make_app

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


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
                functions_left = (
                    conn.execute(text("SELECT proname FROM pg_proc WHERE proname LIKE 'dpa%'")).scalars().all()
                    if conn.dialect.name == "postgresql"
                    else []
                )
            upgrade()
            with db.engine.connect() as conn:
                differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
        finally:
            db.session.remove()
            db.engine.dispose()
    assert left == set()
    assert functions_left == []
    assert differences == []


def test_no_migration_imports_the_package() -> None:
    """A migration's SQL is frozen: importing dpa_tracker would let a later edit of the package change it."""
    sources = [*sorted((MIGRATIONS / "versions").glob("*.py")), MIGRATIONS / "script.py.mako"]
    importing = [
        path.name for path in sources if re.search(r"^\s*(import|from)\s+dpa_tracker\b", path.read_text(), re.MULTILINE)
    ]
    assert len(sources) > 10
    assert importing == []


def _triggers(conn) -> set[tuple[str, str]]:
    """(table, trigger) pairs the database holds, leaving out PostgreSQL's internal foreign-key triggers."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal"
            )
        )
    else:
        rows = conn.execute(text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"))
    return {(table, name) for table, name in rows}


# Protected tables that migrations after 0014 create (absent from a database at 0013 or 0014).


def _expected_triggers(dialect: str, tables: tuple[str, ...] = PROTECTED_TABLES) -> set[tuple[str, str]]:
    return {
        (table, name)
        for table in tables
        for statement in protection_ddl(dialect, table)
        for name in re.findall(r"CREATE TRIGGER (\w+)", statement)
    }


def _one_row_of_each_protected_table(conn) -> dict[str, int]:
    """The fewest rows that give every protected table one row, each already settled where that matters."""
    tables = db.metadata.tables
    now, day = datetime(2026, 1, 2, tzinfo=UTC), date(2026, 1, 2)

    def add(table: str, **values: object) -> int:
        return conn.execute(tables[table].insert().values(**values).returning(tables[table].c.id)).scalar_one()

    client = add("client", legal_name="Migrated Client", country="DZ")
    subprocessor = add("subprocessor", legal_name="Migrated Host", country="DE", service="hosting")
    agreement = add(
        "agreement",
        client_id=client,
        reference="DPA-MIG",
        title="Migrated",
        signed_on=day,
        effective_on=day,
        template_key="altinsoft-dpa",
        template_version=1,
    )
    obligation = add(
        "obligation",
        agreement_id=agreement,
        clause_number="1",
        position=1,
        section="s",
        title="t",
        summary="s",
        rule={"type": "standing"},
    )
    notice = add("change_notice", kind="add", subprocessor_id=subprocessor, reason="new host")
    recipient = add(
        "notice_recipient",
        notice_id=notice,
        agreement_id=agreement,
        objection_deadline=day,
        state="approved",
        answered_at=now,
    )
    later = {}
    if "agent_attestation" in db.inspect(conn).get_table_names():
        agent = add(
            "agent",
            name="Migrated Agent",
            function="support",
            employer_kind="processor",
            employer_name="",
            experience_note="",
            created_at=now,
        )
        later["agent_attestation"] = add(
            "agent_attestation",
            agent_id=agent,
            kind="commitment",
            done_on=day,
            by_whom="",
            course="",
            provider="",
            note="signed",
            recorded_at=now,
        )
    rows = {
        **later,
        "audit_event": add(
            "audit_event",
            actor_label="migration test",
            action="test",
            object_type="client",
            changes={},
            prev_hash="0" * 64,
            hash="1" * 64,
        ),
        "record_version": add(
            "record_version",
            client_id=client,
            number=1,
            as_of=day,
            content="{}",
            content_sha256="2" * 64,
            handed_out_as="pdf",
        ),
        "change_notice": notice,
        "evidence": add("evidence", obligation_id=obligation, note="signed"),
        "applicability_mark": add("applicability_mark", obligation_id=obligation, reason="no EU data", set_at=now),
        "supporting_document": add(
            "supporting_document",
            kind="subprocessor_guarantee",
            subprocessor_id=subprocessor,
            sha256="3" * 64,
            filename="iso.pdf",
            content_type="application/pdf",
            size=1,
        ),
        "notice_recipient": recipient,
        "notice_delivery": add(
            "notice_delivery",
            recipient_id=recipient,
            email="dpo@example.org",
            message_id="<1@example.org>",
            state="sent",
            sent_at=now,
        ),
    }
    if not inspect(conn).has_table("breach"):  # a revision before the breach register (0017)
        return rows
    event = add("trigger_event", obligation_id=obligation, occurred_at=now, summary="lost laptop")
    breach = add(
        "breach",
        title="Lost laptop",
        occurred_at=now,
        detected_at=now,
        aware_at=now,
        natures=["confidentiality"],
        description="A laptop was lost",
        contact_point="DPO",
    )
    affected = add("breach_agreement", breach_id=breach, agreement_id=agreement, event_id=event)
    rows |= {
        "breach": breach,
        "breach_agreement": affected,
        "breach_notice": add(
            "breach_notice",
            breach_id=breach,
            affected_id=affected,
            phase="initial",
            sequence=1,
            email="dpo@example.org",
            subject="Breach",
            body="We lost a laptop",
            message_id="<2@example.org>",
            state="sent",
            sent_at=now,
        ),
    }
    if not inspect(conn).has_table("data_subject_request"):  # a revision before requests and instructions (0018)
        return rows
    request_event = add("trigger_event", obligation_id=obligation, occurred_at=now, summary="erasure request")
    request = add(
        "data_subject_request",
        agreement_id=agreement,
        received_at=now,
        channel="email",
        type="erasure",
        subject_reference="customer 17",
        event_id=request_event,
    )
    instruction = add("instruction", agreement_id=agreement, received_on=day, channel="email", content="Keep 5 years")
    rows |= {
        "data_subject_request": request,
        "dsr_help_request": add("dsr_help_request", request_id=request, clause_number="3.1(7)", event_id=request_event),
        "instruction": instruction,
        "instruction_flag": add("instruction_flag", instruction_id=instruction, reason="unlawful", event_id=event),
        "request_notice": add(
            "request_notice",
            request_id=request,
            agreement_id=agreement,
            clause_number="9.1",
            event_id=request_event,
            email="dpo@example.org",
            subject="Request",
            body="Forwarded",
            message_id="<3@example.org>",
            state="sent",
            sent_at=now,
        ),
    }
    if not inspect(conn).has_table("transfer_consent"):  # a revision before clause 10's records (0019)
        return rows
    rows |= {
        "disclosure_authorisation": add(
            "disclosure_authorisation",
            client_id=client,
            recipient="Tax office",
            purpose="Audit",
            authorised_on=day,
            recorded_at=now,
        ),
        "transfer_consent": add(
            "transfer_consent",
            client_id=client,
            given_on=day,
            given_by="CEO",
            countries="US",
            transfer_ids="",
            scope="Support from the US",
            recorded_at=now,
        ),
    }
    if not inspect(conn).has_table("checklist_comment"):  # a revision before the auditors' comments (0020)
        return rows
    author = add("user", email="auditor@example.org", password_hash="x", role="auditor")
    rows["checklist_comment"] = add("checklist_comment", obligation_id=obligation, author_id=author, body="Seen")
    if not inspect(conn).has_table("deletion_workflow"):  # a revision before the end-of-contract workflow (0021)
        return rows
    workflow = add(
        "deletion_workflow",
        agreement_id=agreement,
        end_kind="terminated",
        ends_on=day,
        choice="delete",
        due_on=day,
        opened_at=now,
    )
    task = add("deletion_task", workflow_id=workflow, position=1, kind="backups", place="Backups", proof_required=False)
    rows |= {
        "deletion_workflow": workflow,
        "deletion_task": task,
        "deletion_task_completion": add(
            "deletion_task_completion", task_id=task, done_on=day, done_by="Ops", method="", recorded_at=now
        ),
        "retention_exception": add(
            "retention_exception",
            workflow_id=workflow,
            what="Invoices",
            legal_basis="Tax law",
            until_on=day,
            recorded_at=now,
        ),
        "deletion_certificate": add(
            "deletion_certificate", workflow_id=workflow, pdf=b"%PDF-1.4", sha256="4" * 64, size=8, issued_at=now
        ),
    }
    if not inspect(conn).has_table("inspection_request"):  # a revision before clause 11's records (0022)
        return rows
    audit_event = add("trigger_event", obligation_id=obligation, occurred_at=now, summary="audit request")
    rows["inspection_request"] = add(
        "inspection_request",
        agreement_id=agreement,
        kind="audit",
        received_on=day,
        requester_name="DPO",
        requester_email="",
        subject="Hosting",
        event_id=audit_event,
        created_at=now,
    )
    engagement = add(
        "audit_engagement",
        inspection_id=rows["inspection_request"],
        auditor_organisation="Audit & Co",
        auditor_people="",
        appointed_by="processor",
        controller_mandate=False,
        planned_on=day,
        scope="",
        continuity_conditions="",
        cost_currency="",
        cost_note="",
        created_at=now,
    )
    rows["audit_finding"] = add(
        "audit_finding",
        engagement_id=engagement,
        obligation_id=obligation,
        severity="high",
        description="No restore test",
        due_on=day,
        created_at=now,
    )
    rows["finding_closure"] = add(
        "finding_closure",
        finding_id=rows["audit_finding"],
        closed_on=day,
        note="",
        sha256="4" * 64,
        filename="restore.pdf",
        content_type="application/pdf",
        size=1,
        closed_at=now,
    )
    if not inspect(conn).has_table("reminder_digest"):  # a revision before the reminders (0023)
        return rows
    digest = add(
        "reminder_digest",
        user_id=author,
        email="auditor@example.org",
        subject="Deadlines",
        body="Clause 8.1 overdue",
        message_id="<4@example.org>",
        state="sent",
        sent_at=now,
    )
    rows["reminder_digest"] = digest
    rows["reminder_item"] = add(
        "reminder_item",
        user_id=author,
        digest_id=digest,
        item_key="obligation:1:2026-01-02",
        state="overdue",
        due_on=day,
        title="Clause 8.1",
    )
    if not inspect(conn).has_table("law_transfer"):  # a revision before transfers required by law (0024)
        return rows
    rows["law_transfer"] = add(
        "law_transfer",
        agreement_id=agreement,
        learnt_at=now,
        authority="Court of Algiers",
        law="Code of criminal procedure, art. 47",
        destination_country="US",
        destination="US Department of Justice",
        data_concerned="Mailbox of one employee",
        proof_sha256="a" * 64,
        proof_filename="order.pdf",
        proof_content_type="application/pdf",
        proof_size=10,
        notice_forbidden=False,
        forbidden_ground="",
        event_id=event,
        recorded_at=now,
    )
    rows["breach_action"] = add(
        "breach_action",
        breach_id=rows["breach"],
        kind="containment",
        description="Laptop wiped remotely",
        owner="IT",
        done_on=day,
        evidence="MDM wipe log",
        created_at=now,
    )
    return rows


# A column each table's protection covers, and a new value for it.
CHANGES = {
    "audit_event": ("action", "'edited'"),
    "record_version": ("content", "'edited'"),
    "change_notice": ("reason", "'edited'"),
    "evidence": ("note", "'edited'"),
    "applicability_mark": ("reason", "'edited'"),
    "supporting_document": ("filename", "'edited.pdf'"),
    "notice_recipient": ("answer_reason", "'edited'"),
    "notice_delivery": ("email", "'edited@example.org'"),
    "agent_attestation": ("note", "'edited'"),
    "breach": ("description", "'edited'"),
    "breach_agreement": ("breach_id", "breach_id"),
    "breach_notice": ("body", "'edited'"),
    "data_subject_request": ("subject_reference", "'edited'"),
    "dsr_help_request": ("clause_number", "'3.1(6)'"),
    "instruction": ("content", "'edited'"),
    "instruction_flag": ("reason", "'edited'"),
    "request_notice": ("body", "'edited'"),
    "checklist_comment": ("body", "'edited'"),
    "disclosure_authorisation": ("purpose", "'edited'"),
    "transfer_consent": ("countries", "'US CN'"),
    "deletion_workflow": ("due_on", "ends_on"),
    "deletion_task": ("place", "'edited'"),
    "deletion_task_completion": ("done_by", "'edited'"),
    "retention_exception": ("legal_basis", "'edited'"),
    "deletion_certificate": ("sha256", "'" + "5" * 64 + "'"),
    "inspection_request": ("subject", "'edited'"),
    "audit_finding": ("due_on", "'2030-01-01'"),
    "finding_closure": ("closed_on", "'2030-01-01'"),
    "reminder_digest": ("body", "'edited'"),
    "reminder_item": ("state", "'due_soon'"),
    "law_transfer": ("law", "'edited'"),
    "breach_action": ("evidence", "'edited'"),
}


def _refusal(engine, statement: str) -> str:
    """The database's error for ``statement``, or "accepted" (rolled back either way)."""
    with engine.connect() as conn:
        try:
            conn.execute(text(statement))
        except DBAPIError as refused:
            return str(refused.orig)
        conn.rollback()
    return "accepted"


def test_upgrade_installs_triggers_that_refuse_changes(fresh_database_url: str, tmp_path: Path) -> None:
    app = make_app(fresh_database_url, tmp_path)
    with app.app_context():
        try:
            upgrade()
            dialect = db.engine.dialect.name
            with db.engine.connect() as conn:
                triggers = _triggers(conn)
            with db.engine.begin() as conn:
                rows = _one_row_of_each_protected_table(conn)
            refusals = {}
            for table, row in rows.items():
                column, value = CHANGES[table]
                refusals[table] = (
                    _refusal(db.engine, f"UPDATE {table} SET {column} = {value} WHERE id = {row}"),  # noqa: S608
                    _refusal(db.engine, f"DELETE FROM {table} WHERE id = {row}"),  # noqa: S608
                )
            with db.engine.connect() as conn:
                kept = {
                    table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
                    for table in rows
                }
        finally:
            db.session.remove()
            db.engine.dispose()
    assert set(rows) == set(PROTECTED_TABLES)
    assert triggers == _expected_triggers(dialect)
    refused = {
        table: tuple(f"{table} rows are immutable" in error for error in errors) for table, errors in refusals.items()
    }
    assert refused == dict.fromkeys(PROTECTED_TABLES, (True, True)), refusals
    assert kept == dict.fromkeys(rows, 1)


def test_two_apps_register_the_sqlite_pragmas_once(tmp_path: Path) -> None:
    make_app(f"sqlite:///{tmp_path / 'one.sqlite3'}", tmp_path)
    make_app(f"sqlite:///{tmp_path / 'two.sqlite3'}", tmp_path)
    statements: list[str] = []

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(tmp_path / "three.sqlite3")
        connection.set_trace_callback(statements.append)
        return connection

    engine = create_engine("sqlite://", creator=connect)
    try:
        with engine.connect() as conn:
            foreign_keys = conn.execute(text("PRAGMA foreign_keys")).scalar()
    finally:
        engine.dispose()
    assert foreign_keys == 1
    assert statements.count("PRAGMA foreign_keys=ON") == 1


def _old_agreement_with_obligations(conn) -> None:
    """An agreement of the default template as migration 0011 left it: rules without the 0012 keys."""
    now = "2026-01-01 00:00:00"
    conn.execute(
        text(
            "INSERT INTO client (id, legal_name, country, address, notice_emails, dpo_name, dpo_email, "
            "representative, created_at) VALUES (1, 'Old Hosting', 'DZ', '', '', '', '', '', :now)"
        ),
        {"now": now},
    )
    conn.execute(
        text(
            "INSERT INTO agreement (id, client_id, reference, title, signed_on, effective_on, status, template_key, "
            "template_version, subprocessor_objection_days, breach_notice_hours, deletion_days, confidentiality_years, "
            "permitted_locations, created_at) VALUES (1, 1, 'DPA-OLD', 'Old', '2025-01-01', '2025-01-01', 'active', "
            "'altinsoft-dpa', 1, 30, 24, 10, 5, '', :now)"
        ),
        {"now": now},
    )
    for position, (number, rule) in enumerate(
        [
            ("8.3", '{"type": "event", "days": 30, "event_label": "personal data breach"}'),
            ("13", '{"type": "deadline", "after": "agreement_end", "days_setting": "deletion_days"}'),
            ("7.1", '{"type": "standing", "grace_days": 30}'),
        ]
    ):
        conn.execute(
            text(
                "INSERT INTO obligation (id, agreement_id, clause_number, position, section, title, summary, "
                "gdpr_article, rule, notes, cached_base, cached_at) "
                "VALUES (:id, 1, :number, :id, 's', 't', 's', '', :rule, '', 'open', :now)"
            ),
            {"id": position + 1, "number": number, "rule": rule, "now": now},
        )


def test_migration_0012_gives_old_obligations_the_new_rule_keys_and_takes_them_back(
    fresh_database_url: str, tmp_path: Path
) -> None:
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


def test_migration_0014_renames_unique_constraints_keeping_rows_and_triggers(
    fresh_database_url: str, tmp_path: Path
) -> None:
    app = make_app(fresh_database_url, tmp_path)
    renamed = {
        "obligation": "uq_obligation_agreement_id_clause_number",
        "processing_activity": "uq_processing_activity_client_id_name",
        "record_version": "uq_record_version_client_id_number",
        "notice_recipient": "uq_notice_recipient_notice_id_agreement_id",
        "notice_delivery": "uq_notice_delivery_recipient_id_email",
    }

    def names() -> dict[str, set[str]]:
        with db.engine.connect() as conn:
            inspector = db.inspect(conn)
            return {table: {c["name"] for c in inspector.get_unique_constraints(table)} for table in renamed}

    with app.app_context():
        try:
            upgrade(revision="0013")
            dialect = db.engine.dialect.name
            with db.engine.begin() as conn:
                rows = _one_row_of_each_protected_table(conn)
            before = names()
            upgrade(revision="0014")
            after = names()
            with db.engine.connect() as conn:
                triggers = _triggers(conn)
                kept = {
                    table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
                    for table in rows
                }
            duplicate = _refusal(
                db.engine,
                "INSERT INTO record_version (client_id, number, as_of, content, "
                "content_sha256, handed_out_as, handed_out_at) SELECT client_id, number, as_of, "
                "content, content_sha256, handed_out_as, handed_out_at FROM record_version",
            )
            downgrade(revision="0013")
            undone = names()
        finally:
            db.session.remove()
            db.engine.dispose()
    assert before == {
        "obligation": {"agreement_clause"},
        "processing_activity": {"client_activity_name"},
        "record_version": {"client_version_number"},
        "notice_recipient": {"notice_agreement"},
        "notice_delivery": {"recipient_email"},
    }
    assert after == {table: {name} for table, name in renamed.items()}
    assert undone == before
    assert triggers == {pair for pair in _expected_triggers(dialect) if pair[0] in rows}
    assert kept == dict.fromkeys(rows, 1)
    assert "unique" in duplicate.lower()
