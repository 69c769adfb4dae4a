"""Record versions keep the audit chain head they were handed out at; supporting documents are write-once

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

The SQL is frozen here (no import of dpa_tracker): the package's protection helpers may change,
this migration must keep building the same schema.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SQLITE_REFUSE = "BEGIN SELECT RAISE(ABORT, 'supporting_document rows are immutable'); END"
_SQLITE_CHANGED = " OR ".join(
    f"OLD.{c} IS NOT NEW.{c}" for c in ("kind", "transfer_id", "measure_id", "subprocessor_id", "sha256", "filename",
                                       "content_type", "size", "note", "valid_until", "added_by_id", "added_at"))
_PG_CHANGED = " OR ".join(
    f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ("kind", "transfer_id", "measure_id", "subprocessor_id", "sha256",
                                                  "filename", "content_type", "size", "note", "valid_until",
                                                  "added_by_id", "added_at"))

UPGRADE = {
    "sqlite": [
        f"CREATE TRIGGER supporting_document_no_delete BEFORE DELETE ON supporting_document {_SQLITE_REFUSE}",
        f"CREATE TRIGGER supporting_document_content_fixed BEFORE UPDATE ON supporting_document FOR EACH ROW "
        f"WHEN {_SQLITE_CHANGED} {_SQLITE_REFUSE}",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER supporting_document_no_delete BEFORE DELETE ON supporting_document "
        "FOR EACH ROW EXECUTE FUNCTION dpa_refuse_change()",
        f"CREATE TRIGGER supporting_document_content_fixed BEFORE UPDATE ON supporting_document FOR EACH ROW "
        f"WHEN ({_PG_CHANGED}) EXECUTE FUNCTION dpa_refuse_change()",
    ],
}
# dpa_refuse_change() stays: the triggers of migrations 0002-0005 use it.
DOWNGRADE = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS supporting_document_no_delete",
        "DROP TRIGGER IF EXISTS supporting_document_content_fixed",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS supporting_document_no_delete ON supporting_document",
        "DROP TRIGGER IF EXISTS supporting_document_content_fixed ON supporting_document",
    ],
}


def upgrade():
    # ADD COLUMN without a foreign key: SQLite's batch mode alters in place, so the record_version
    # triggers (which a table rebuild would drop) stay.
    with op.batch_alter_table("record_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit_head_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("audit_head_hash", sa.String(length=64), nullable=True))
    for statement in UPGRADE[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    for statement in DOWNGRADE[op.get_bind().dialect.name]:
        op.execute(statement)
    # Plain DROP COLUMN (SQLite >= 3.35) rather than a batch rebuild, which would drop record_version's triggers.
    op.execute("ALTER TABLE record_version DROP COLUMN audit_head_hash")
    op.execute("ALTER TABLE record_version DROP COLUMN audit_head_id")
