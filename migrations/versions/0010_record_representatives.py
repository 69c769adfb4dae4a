"""The processor's representative, and contact details for every representative (Art. 30(2)(a))

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-23
"""
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

# Frozen SQL. Plain ADD/DROP COLUMN: no table rebuild, existing rows get an empty value.
COLUMNS = [
    ("processor_profile", "representative", "VARCHAR(200)"),
    ("processor_profile", "representative_contact", "VARCHAR(500)"),
    ("client", "representative_contact", "VARCHAR(500)"),
]


def upgrade():
    for table, column, kind in COLUMNS:
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind} DEFAULT '' NOT NULL")


def downgrade():
    for table, column, _kind in reversed(COLUMNS):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
