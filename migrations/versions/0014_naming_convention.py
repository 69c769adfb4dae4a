"""Unique constraints named by the metadata naming convention (uq_<table>_<columns>)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

Five unique constraints were given bare names (agreement_clause, ...); they take the convention's name.

PostgreSQL renames them in place (ALTER TABLE ... RENAME CONSTRAINT, which renames the index too).

SQLite cannot rename a constraint, and a table rebuild (batch mode) is not usable here: three of the tables
are protected by triggers that a rebuild drops, and dropping a parent table such as obligation inside the
migration's transaction fails on the RESTRICT foreign keys of its evidence (PRAGMA foreign_keys cannot be
switched off inside a transaction). In SQLite a constraint's name exists only in the CREATE TABLE text (the
unique index is sqlite_autoindex_<table>_<n> whatever the name), so the text is edited with SQLite's
documented procedure for schema changes that do not touch stored data (https://sqlite.org/lang_altertable.html,
"Making Other Kinds Of Table Schema Changes"): writable_schema, replace the name, bump schema_version,
integrity check. Rows, indexes and triggers are untouched.
"""
from alembic import op
from sqlalchemy import text

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# (table, old name, new name), frozen.
RENAMES = (
    ("obligation", "agreement_clause", "uq_obligation_agreement_id_clause_number"),
    ("processing_activity", "client_activity_name", "uq_processing_activity_client_id_name"),
    ("record_version", "client_version_number", "uq_record_version_client_id_number"),
    ("notice_recipient", "notice_agreement", "uq_notice_recipient_notice_id_agreement_id"),
    ("notice_delivery", "recipient_email", "uq_notice_delivery_recipient_id_email"),
)


def _rename_sqlite(bind, renames):
    version = bind.execute(text("PRAGMA schema_version")).scalar()
    bind.execute(text("PRAGMA writable_schema=ON"))
    try:
        for table, old, new in renames:
            changed = bind.execute(
                text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
                     "WHERE type = 'table' AND name = :table AND instr(sql, :old) > 0"),
                {"table": table, "old": f"CONSTRAINT {old} UNIQUE", "new": f"CONSTRAINT {new} UNIQUE"}).rowcount
            if changed != 1:
                raise RuntimeError(f"constraint {old} not found on {table}")
        bind.execute(text(f"PRAGMA schema_version={version + 1}"))
    finally:
        bind.execute(text("PRAGMA writable_schema=OFF"))
    problems = bind.execute(text("PRAGMA integrity_check")).scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check after renaming constraints: {problems}")


def _rename(renames):
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table, old, new in renames:
            op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {old} TO {new}")
    else:
        _rename_sqlite(bind, renames)


def upgrade():
    _rename(RENAMES)


def downgrade():
    _rename([(table, new, old) for table, old, new in RENAMES])
