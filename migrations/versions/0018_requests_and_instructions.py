"""Data-subject requests (clause 9.1) with the client's help requests (3.1(6)-(7)), the client's documented
instructions (clause 3.1(3)) with their unlawful flags, and the e-mails that forward or flag them

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

Requests, help requests, instructions and flags are immutable; a request notice refuses DELETE and any UPDATE
once sent (frozen trigger SQL, as migrations 0004, 0005 and 0017).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import text

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Frozen SQL (no import of dpa_tracker).
TRIGGERS = {'postgresql': ['CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '
                "'% rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER data_subject_request_immutable BEFORE UPDATE OR DELETE ON '
                'data_subject_request FOR EACH ROW EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '
                "'% rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER dsr_help_request_immutable BEFORE UPDATE OR DELETE ON dsr_help_request FOR '
                'EACH ROW EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '
                "'% rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER instruction_immutable BEFORE UPDATE OR DELETE ON instruction FOR EACH ROW '
                'EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '
                "'% rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER instruction_flag_immutable BEFORE UPDATE OR DELETE ON instruction_flag FOR '
                'EACH ROW EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '
                "'% rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER request_notice_no_delete BEFORE DELETE ON request_notice FOR EACH ROW '
                'EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER request_notice_content_fixed BEFORE UPDATE ON request_notice FOR EACH ROW '
                "WHEN (OLD.state = 'sent') EXECUTE FUNCTION dpa_refuse_change()"],
 'sqlite': ['CREATE TRIGGER data_subject_request_no_update BEFORE UPDATE ON data_subject_request BEGIN '
            "SELECT RAISE(ABORT, 'data_subject_request rows are immutable'); END",
            'CREATE TRIGGER data_subject_request_no_delete BEFORE DELETE ON data_subject_request BEGIN '
            "SELECT RAISE(ABORT, 'data_subject_request rows are immutable'); END",
            'CREATE TRIGGER dsr_help_request_no_update BEFORE UPDATE ON dsr_help_request BEGIN SELECT '
            "RAISE(ABORT, 'dsr_help_request rows are immutable'); END",
            'CREATE TRIGGER dsr_help_request_no_delete BEFORE DELETE ON dsr_help_request BEGIN SELECT '
            "RAISE(ABORT, 'dsr_help_request rows are immutable'); END",
            'CREATE TRIGGER instruction_no_update BEFORE UPDATE ON instruction BEGIN SELECT RAISE(ABORT, '
            "'instruction rows are immutable'); END",
            'CREATE TRIGGER instruction_no_delete BEFORE DELETE ON instruction BEGIN SELECT RAISE(ABORT, '
            "'instruction rows are immutable'); END",
            'CREATE TRIGGER instruction_flag_no_update BEFORE UPDATE ON instruction_flag BEGIN SELECT '
            "RAISE(ABORT, 'instruction_flag rows are immutable'); END",
            'CREATE TRIGGER instruction_flag_no_delete BEFORE DELETE ON instruction_flag BEGIN SELECT '
            "RAISE(ABORT, 'instruction_flag rows are immutable'); END",
            'CREATE TRIGGER request_notice_no_delete BEFORE DELETE ON request_notice BEGIN SELECT '
            "RAISE(ABORT, 'request_notice rows are immutable'); END",
            'CREATE TRIGGER request_notice_content_fixed BEFORE UPDATE ON request_notice FOR EACH ROW WHEN '
            "OLD.state = 'sent' BEGIN SELECT RAISE(ABORT, 'request_notice rows are immutable'); END"]}

DROP_TRIGGERS = {'postgresql': ['DROP TRIGGER IF EXISTS data_subject_request_immutable ON data_subject_request',
                'DROP TRIGGER IF EXISTS data_subject_request_no_delete ON data_subject_request',
                'DROP TRIGGER IF EXISTS data_subject_request_content_fixed ON data_subject_request',
                'DROP TRIGGER IF EXISTS dsr_help_request_immutable ON dsr_help_request',
                'DROP TRIGGER IF EXISTS dsr_help_request_no_delete ON dsr_help_request',
                'DROP TRIGGER IF EXISTS dsr_help_request_content_fixed ON dsr_help_request',
                'DROP TRIGGER IF EXISTS instruction_immutable ON instruction',
                'DROP TRIGGER IF EXISTS instruction_no_delete ON instruction',
                'DROP TRIGGER IF EXISTS instruction_content_fixed ON instruction',
                'DROP TRIGGER IF EXISTS instruction_flag_immutable ON instruction_flag',
                'DROP TRIGGER IF EXISTS instruction_flag_no_delete ON instruction_flag',
                'DROP TRIGGER IF EXISTS instruction_flag_content_fixed ON instruction_flag',
                'DROP TRIGGER IF EXISTS request_notice_immutable ON request_notice',
                'DROP TRIGGER IF EXISTS request_notice_no_delete ON request_notice',
                'DROP TRIGGER IF EXISTS request_notice_content_fixed ON request_notice'],
 'sqlite': ['DROP TRIGGER IF EXISTS data_subject_request_no_update',
            'DROP TRIGGER IF EXISTS data_subject_request_no_delete',
            'DROP TRIGGER IF EXISTS data_subject_request_content_fixed',
            'DROP TRIGGER IF EXISTS dsr_help_request_no_update',
            'DROP TRIGGER IF EXISTS dsr_help_request_no_delete',
            'DROP TRIGGER IF EXISTS dsr_help_request_content_fixed',
            'DROP TRIGGER IF EXISTS instruction_no_update',
            'DROP TRIGGER IF EXISTS instruction_no_delete',
            'DROP TRIGGER IF EXISTS instruction_content_fixed',
            'DROP TRIGGER IF EXISTS instruction_flag_no_update',
            'DROP TRIGGER IF EXISTS instruction_flag_no_delete',
            'DROP TRIGGER IF EXISTS instruction_flag_content_fixed',
            'DROP TRIGGER IF EXISTS request_notice_no_update',
            'DROP TRIGGER IF EXISTS request_notice_no_delete',
            'DROP TRIGGER IF EXISTS request_notice_content_fixed']}


def upgrade():
    op.create_table('instruction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.Enum('email', 'post', 'phone', 'web_form', 'in_person', 'other', name='instruction_channel', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('about_transfers', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(content) > 0', name=op.f('ck_instruction_content_not_empty')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_instruction_agreement_id_agreement'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_instruction_recorded_by_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruction'))
    )
    with op.batch_alter_table('instruction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruction_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('data_subject_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.Enum('email', 'post', 'phone', 'web_form', 'in_person', 'other', name='dsr_channel', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('type', sa.Enum('access', 'rectification', 'erasure', 'restriction', 'notification_to_recipients', 'portability', 'objection', 'automated_decision', name='dsr_type', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('subject_reference', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('logged_by_id', sa.Integer(), nullable=True),
    sa.Column('logged_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(subject_reference) > 0', name=op.f('ck_data_subject_request_reference_not_empty')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_data_subject_request_agreement_id_agreement'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['event_id'], ['trigger_event.id'], name=op.f('fk_data_subject_request_event_id_trigger_event'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['logged_by_id'], ['user.id'], name=op.f('fk_data_subject_request_logged_by_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_subject_request'))
    )
    with op.batch_alter_table('data_subject_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_subject_request_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('instruction_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instruction_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('flagged_by_id', sa.Integer(), nullable=True),
    sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(reason) > 0', name=op.f('ck_instruction_flag_reason_not_empty')),
    sa.ForeignKeyConstraint(['event_id'], ['trigger_event.id'], name=op.f('fk_instruction_flag_event_id_trigger_event'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['flagged_by_id'], ['user.id'], name=op.f('fk_instruction_flag_flagged_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['instruction_id'], ['instruction.id'], name=op.f('fk_instruction_flag_instruction_id_instruction'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruction_flag')),
    sa.UniqueConstraint('instruction_id', name=op.f('uq_instruction_flag_instruction_id'))
    )
    op.create_table('dsr_help_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('clause_number', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['trigger_event.id'], name=op.f('fk_dsr_help_request_event_id_trigger_event'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_dsr_help_request_recorded_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['request_id'], ['data_subject_request.id'], name=op.f('fk_dsr_help_request_request_id_data_subject_request'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dsr_help_request'))
    )
    with op.batch_alter_table('dsr_help_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dsr_help_request_request_id'), ['request_id'], unique=False)

    op.create_table('request_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('instruction_id', sa.Integer(), nullable=True),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('clause_number', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('state', sa.Enum('queued', 'sent', 'failed', name='request_notice_state', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('held', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(state = 'sent') = (sent_at IS NOT NULL)", name=op.f('ck_request_notice_sent_iff_sent_at')),
    sa.CheckConstraint('(request_id IS NULL) <> (instruction_id IS NULL)', name=op.f('ck_request_notice_one_subject')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_request_notice_agreement_id_agreement'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_request_notice_created_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['event_id'], ['trigger_event.id'], name=op.f('fk_request_notice_event_id_trigger_event'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['instruction_id'], ['instruction.id'], name=op.f('fk_request_notice_instruction_id_instruction'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['request_id'], ['data_subject_request.id'], name=op.f('fk_request_notice_request_id_data_subject_request'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_notice'))
    )
    with op.batch_alter_table('request_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_notice_instruction_id'), ['instruction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_request_notice_request_id'), ['request_id'], unique=False)

    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(text(statement))


def downgrade():
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(text(statement))
    with op.batch_alter_table('request_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_notice_request_id'))
        batch_op.drop_index(batch_op.f('ix_request_notice_instruction_id'))

    op.drop_table('request_notice')
    with op.batch_alter_table('dsr_help_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dsr_help_request_request_id'))

    op.drop_table('dsr_help_request')
    op.drop_table('instruction_flag')
    with op.batch_alter_table('data_subject_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_subject_request_agreement_id'))

    op.drop_table('data_subject_request')
    with op.batch_alter_table('instruction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruction_agreement_id'))

    op.drop_table('instruction')
