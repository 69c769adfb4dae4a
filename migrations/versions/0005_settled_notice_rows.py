"""The database refuses to change a client's answer to a notice once given, or an e-mail once sent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from alembic import op
from sqlalchemy import text

from dpa_tracker.models.protection import drop_protection_ddl, protection_ddl

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("notice_recipient", "notice_delivery")


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
