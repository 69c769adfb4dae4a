"""The database refuses to change the audit log and change notices, and to delete or rewrite evidence

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op
from sqlalchemy import text

from dpa_tracker.models.protection import drop_protection_ddl, protection_ddl

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("audit_event", "change_notice", "evidence")


def upgrade():
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for statement in protection_ddl(dialect, table):
            op.execute(text(statement))


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for statement in drop_protection_ddl(dialect, table):
            op.execute(text(statement))
