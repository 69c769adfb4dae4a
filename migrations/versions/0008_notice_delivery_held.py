"""A notice e-mail that cannot be built is held for an admin's retry instead of being retried by every run

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen SQL. A plain ADD/DROP COLUMN (no table rebuild) keeps notice_delivery's protection triggers on SQLite.
ADD = {
    "postgresql": "ALTER TABLE notice_delivery ADD COLUMN held BOOLEAN DEFAULT false NOT NULL",
    "sqlite": "ALTER TABLE notice_delivery ADD COLUMN held BOOLEAN DEFAULT 0 NOT NULL",
}


def upgrade():
    op.execute(ADD[op.get_bind().dialect.name])


def downgrade():
    op.execute("ALTER TABLE notice_delivery DROP COLUMN held")
