"""A per-user session version, so sign-out and password changes end every session of the user

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("session_version")
