"""Issue 12's gaps: the processor's country (its working-day calendar counts clause 9.1's target)

Revision ID: 0024
Revises: 0020
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

revision = "0024"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("processor_profile", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), server_default="", nullable=False))


def downgrade():
    with op.batch_alter_table("processor_profile", schema=None) as batch_op:
        batch_op.drop_column("country")
