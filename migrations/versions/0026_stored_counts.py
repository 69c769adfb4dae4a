"""The dashboard's status counts per client, stored with every change and by the daily refresh

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06

A cache (no triggers): a new process reads today's stored counts instead of counting every obligation; a row
older than a later event of its client, or of another day, is ignored. Empty until the next change or
`flask obligations refresh`.
"""
from alembic import op
import sqlalchemy as sa

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_counts',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('due_soon_days', sa.Integer(), nullable=False),
    sa.Column('upto_event_id', sa.Integer(), nullable=False),
    sa.Column('statuses', sa.JSON(), nullable=False),
    sa.Column('by_agreement', sa.JSON(), nullable=False),
    sa.Column('by_family', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_stored_counts_client_id_client'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_stored_counts'))
    )


def downgrade():
    op.drop_table('stored_counts')
