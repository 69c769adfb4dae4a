"""Covering index for the dashboard's status count; not-applicable reason and time go together

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.create_index("ix_obligation_status_projection",
                              ["agreement_id", "cached_due_on", "cached_lapses_on", "cached_base", "na_set_at"],
                              unique=False)
        batch_op.create_check_constraint("na_reason_with_time", "(na_reason IS NULL) = (na_set_at IS NULL)")


def downgrade():
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_obligation_na_reason_with_time"), type_="check")
        batch_op.drop_index("ix_obligation_status_projection")
