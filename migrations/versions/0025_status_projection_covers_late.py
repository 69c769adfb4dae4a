"""The dashboard's covering index also holds the clause number and the `late` column

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06

The status expression reads `cached_late_until` since the `late` status (0012), which the index of 0003 did not
hold, and the kept counts group by clause family: without both columns every count read the table.
"""
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

OLD = ["agreement_id", "cached_due_on", "cached_lapses_on", "cached_base", "na_set_at"]
NEW = ["agreement_id", "clause_number", "cached_due_on", "cached_lapses_on", "cached_late_until", "cached_base",
       "na_set_at"]


def upgrade():
    op.drop_index("ix_obligation_status_projection", table_name="obligation")
    op.create_index("ix_obligation_status_projection", "obligation", NEW, unique=False)


def downgrade():
    op.drop_index("ix_obligation_status_projection", table_name="obligation")
    op.create_index("ix_obligation_status_projection", "obligation", OLD, unique=False)
