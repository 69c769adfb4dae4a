"""Status counts per client at each month end (the dashboard's 12-month trend)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COUNTS = ("met", "due_soon", "overdue", "late", "open", "not_applicable")


def upgrade():
    op.create_table(
        "status_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month_end", sa.Date(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "met >= 0 AND due_soon >= 0 AND overdue >= 0 AND late >= 0 AND open >= 0 AND not_applicable >= 0",
            name=op.f("ck_status_snapshot_counts_not_negative"),
        ),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_status_snapshot_client_id_client"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_snapshot")),
        sa.UniqueConstraint("month_end", "client_id", name=op.f("uq_status_snapshot_month_end_client_id")),
    )
    op.create_index(op.f("ix_status_snapshot_month_end"), "status_snapshot", ["month_end"])
    op.create_index(op.f("ix_status_snapshot_client_id"), "status_snapshot", ["client_id"])


def downgrade():
    op.drop_index(op.f("ix_status_snapshot_client_id"), table_name="status_snapshot")
    op.drop_index(op.f("ix_status_snapshot_month_end"), table_name="status_snapshot")
    op.drop_table("status_snapshot")
