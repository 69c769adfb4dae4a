"""Legal records the database itself refuses to change (triggers), whatever client writes to it.

* *Immutable* tables refuse every UPDATE and DELETE: the audit log, record versions handed out,
  change notices once created.
* *Write-once* tables refuse DELETE and any change to the columns that state what was recorded;
  only the columns that close the row (withdrawn, superseded) may be set later: evidence and
  supporting documents.
* *Settled* rows refuse DELETE, and any UPDATE once they are settled: a client's answer to a
  change notice once given, an e-mail of a notice once sent.

The application never needs more; a tamperer with DDL rights can drop the triggers, which is
what ``flask audit verify`` (the hash chain) and ``flask evidence verify`` (file hashes) are for.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import FromClause, Table, event, text

IMMUTABLE_TABLES = (
    "record_version",
    "audit_event",
    "change_notice",
    "breach",
    "breach_agreement",
    "data_subject_request",
    "dsr_help_request",
    "instruction",
    "instruction_flag",
    "checklist_comment",
    "deletion_workflow",
    "deletion_task",
    "deletion_task_completion",
    "retention_exception",
    "deletion_certificate",
    "inspection_request",
    "audit_finding",
    "finding_closure",
    "reminder_item",
    "law_transfer",
)
WRITE_ONCE_COLUMNS = {
    "evidence": (
        "obligation_id",
        "trigger_event_id",
        "note",
        "link",
        "sha256",
        "filename",
        "content_type",
        "size",
        "period_start",
        "period_end",
        "valid_until",
        "added_by_id",
        "added_at",
        "acted_at",
    ),
    "applicability_mark": ("obligation_id", "reason", "set_at", "set_by_id"),
    "agent_attestation": (
        "agent_id",
        "kind",
        "done_on",
        "by_whom",
        "course",
        "provider",
        "note",
        "sha256",
        "filename",
        "content_type",
        "size",
        "recorded_at",
        "recorded_by_id",
    ),
    "disclosure_authorisation": (
        "client_id",
        "recipient",
        "purpose",
        "authorised_on",
        "sha256",
        "filename",
        "content_type",
        "size",
        "recorded_at",
        "recorded_by_id",
    ),
    "transfer_consent": (
        "client_id",
        "given_on",
        "given_by",
        "countries",
        "transfer_ids",
        "scope",
        "sha256",
        "filename",
        "content_type",
        "size",
        "recorded_at",
        "recorded_by_id",
    ),
    "supporting_document": (
        "kind",
        "transfer_id",
        "measure_id",
        "subprocessor_id",
        "sha256",
        "filename",
        "content_type",
        "size",
        "note",
        "valid_until",
        "added_by_id",
        "added_at",
    ),
}
SETTLED_WHEN = {
    "notice_recipient": "OLD.state <> 'pending'",
    "notice_delivery": "OLD.state = 'sent'",
    "breach_notice": "OLD.state = 'sent'",
    "request_notice": "OLD.state = 'sent'",
    "reminder_digest": "OLD.state = 'sent'",
    "breach_action": "OLD.done_on IS NOT NULL",
}
PROTECTED_TABLES = IMMUTABLE_TABLES + tuple(WRITE_ONCE_COLUMNS) + tuple(SETTLED_WHEN)

_PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
)


def _refused_update(dialect: str, table: str) -> str | None:
    """The condition under which an UPDATE is refused; None means every UPDATE is."""
    if table in SETTLED_WHEN:
        return SETTLED_WHEN[table]
    if table in WRITE_ONCE_COLUMNS:
        differs = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
        return " OR ".join(f"OLD.{c} {differs} NEW.{c}" for c in WRITE_ONCE_COLUMNS[table])
    return None


def protection_ddl(dialect: str, table: str) -> list[str]:
    """The statements that protect ``table`` (one of PROTECTED_TABLES)."""
    when = _refused_update(dialect, table)
    if dialect == "postgresql":
        refuse = "FOR EACH ROW EXECUTE FUNCTION dpa_refuse_change()"
        if when is None:
            return [_PG_FUNCTION, f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} {refuse}"]
        return [
            _PG_FUNCTION,
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {refuse}",
            f"CREATE TRIGGER {table}_content_fixed BEFORE UPDATE ON {table} FOR EACH ROW WHEN ({when}) "
            "EXECUTE FUNCTION dpa_refuse_change()",
        ]
    refuse = f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable'); END"
    if when is None:
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} {refuse}",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {refuse}",
        ]
    return [
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {refuse}",
        f"CREATE TRIGGER {table}_content_fixed BEFORE UPDATE ON {table} FOR EACH ROW WHEN {when} {refuse}",
    ]


def drop_protection_ddl(dialect: str, table: str) -> list[str]:
    names = (
        ["immutable", "no_delete", "content_fixed"]
        if dialect == "postgresql"
        else ["no_update", "no_delete", "content_fixed"]
    )
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_{name} ON {table}" for name in names]
    return [f"DROP TRIGGER IF EXISTS {table}_{name}" for name in names]


def _install(table: Table, connection: Any, **_: Any) -> None:
    for statement in protection_ddl(connection.dialect.name, table.name):
        connection.execute(text(statement))


def install_on_create(table: FromClause) -> None:
    """Protect ``table`` (a model's ``__table__``) whenever ``metadata.create_all`` creates it (tests,
    benchmarks). SQLAlchemy types ``__table__`` as any FromClause; a declarative model's is a Table."""
    if not isinstance(table, Table):
        raise TypeError(f"Only a table can be protected, not {table!r}.")
    event.listen(table, "after_create", _install)
