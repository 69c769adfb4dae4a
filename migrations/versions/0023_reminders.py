"""Reminders of deadlines (issue 13): digests e-mailed by the outbox, what each reminded, calendar feed tokens

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06

reminder_digest rows are settled once sent and reminder_item rows are immutable (triggers, frozen SQL as in
migrations 0004, 0017 and 0020).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import text

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# Frozen SQL (no import of dpa_tracker).
TRIGGERS = {'postgresql': ["CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER reminder_digest_no_delete BEFORE DELETE ON reminder_digest FOR EACH ROW EXECUTE '
                'FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER reminder_digest_content_fixed BEFORE UPDATE ON reminder_digest FOR EACH ROW WHEN '
                "(OLD.state = 'sent') EXECUTE FUNCTION dpa_refuse_change()",
                'CREATE TRIGGER reminder_item_immutable BEFORE UPDATE OR DELETE ON reminder_item FOR EACH ROW '
                'EXECUTE FUNCTION dpa_refuse_change()'],
 'sqlite': ['CREATE TRIGGER reminder_digest_no_delete BEFORE DELETE ON reminder_digest BEGIN SELECT RAISE(ABORT, '
            "'reminder_digest rows are immutable'); END",
            'CREATE TRIGGER reminder_digest_content_fixed BEFORE UPDATE ON reminder_digest FOR EACH ROW WHEN '
            "OLD.state = 'sent' BEGIN SELECT RAISE(ABORT, 'reminder_digest rows are immutable'); END",
            'CREATE TRIGGER reminder_item_no_update BEFORE UPDATE ON reminder_item BEGIN SELECT RAISE(ABORT, '
            "'reminder_item rows are immutable'); END",
            'CREATE TRIGGER reminder_item_no_delete BEFORE DELETE ON reminder_item BEGIN SELECT RAISE(ABORT, '
            "'reminder_item rows are immutable'); END"]}

DROP_TRIGGERS = {'postgresql': ['DROP TRIGGER IF EXISTS reminder_digest_immutable ON reminder_digest',
                'DROP TRIGGER IF EXISTS reminder_digest_no_delete ON reminder_digest',
                'DROP TRIGGER IF EXISTS reminder_digest_content_fixed ON reminder_digest',
                'DROP TRIGGER IF EXISTS reminder_item_immutable ON reminder_item',
                'DROP TRIGGER IF EXISTS reminder_item_no_delete ON reminder_item',
                'DROP TRIGGER IF EXISTS reminder_item_content_fixed ON reminder_item'],
 'sqlite': ['DROP TRIGGER IF EXISTS reminder_digest_no_update',
            'DROP TRIGGER IF EXISTS reminder_digest_no_delete',
            'DROP TRIGGER IF EXISTS reminder_digest_content_fixed',
            'DROP TRIGGER IF EXISTS reminder_item_no_update',
            'DROP TRIGGER IF EXISTS reminder_item_no_delete',
            'DROP TRIGGER IF EXISTS reminder_item_content_fixed']}


def upgrade():
    op.create_table('calendar_feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_calendar_feed_user_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feed')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feed_token_hash'))
    )
    with op.batch_alter_table('calendar_feed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_feed_user_id'), ['user_id'], unique=False)

    op.create_table('reminder_digest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('state', sa.Enum('queued', 'sent', 'failed', name='reminder_delivery_state', native_enum=False, create_constraint=True, length=60), nullable=False),
    sa.Column('held', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_reminder_digest_user_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_digest'))
    )
    with op.batch_alter_table('reminder_digest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_digest_user_id'), ['user_id'], unique=False)

    op.create_table('reminder_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=120), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['reminder_digest.id'], name=op.f('fk_reminder_item_digest_id_reminder_digest'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_reminder_item_user_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_item')),
    sa.UniqueConstraint('user_id', 'item_key', 'state', name=op.f('uq_reminder_item_user_id_item_key_state'))
    )
    with op.batch_alter_table('reminder_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_item_digest_id'), ['digest_id'], unique=False)
    conn = op.get_bind()
    for statement in TRIGGERS.get(conn.dialect.name, []):
        conn.execute(text(statement))


def downgrade():
    conn = op.get_bind()
    for statement in DROP_TRIGGERS.get(conn.dialect.name, []):
        conn.execute(text(statement))
    with op.batch_alter_table('reminder_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_item_digest_id'))
    op.drop_table('reminder_item')
    with op.batch_alter_table('reminder_digest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_digest_user_id'))
    op.drop_table('reminder_digest')
    with op.batch_alter_table('calendar_feed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_feed_user_id'))
    op.drop_table('calendar_feed')
