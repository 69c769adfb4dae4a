"""Personal data breaches (clause 8): the register, the agreements each breach touches, the 8.1(2) actions and
the e-mails that notify each client

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

The register entry (breach) and its affected agreements are immutable; a breach notice refuses DELETE and any
UPDATE once sent (frozen trigger SQL, as migrations 0004 and 0005).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import text

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Frozen SQL (no import of dpa_tracker).
TRIGGERS = {'postgresql': ["CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER breach_immutable BEFORE UPDATE OR DELETE ON breach FOR EACH ROW EXECUTE FUNCTION '
                'dpa_refuse_change()',
                'CREATE TRIGGER breach_agreement_immutable BEFORE UPDATE OR DELETE ON breach_agreement FOR EACH '
                'ROW EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER breach_notice_no_delete BEFORE DELETE ON breach_notice FOR EACH ROW EXECUTE '
                'FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER breach_notice_content_fixed BEFORE UPDATE ON breach_notice FOR EACH ROW WHEN '
                "(OLD.state = 'sent') EXECUTE FUNCTION dpa_refuse_change()"],
 'sqlite': ["CREATE TRIGGER breach_no_update BEFORE UPDATE ON breach BEGIN SELECT RAISE(ABORT, 'breach rows are "
            "immutable'); END",
            "CREATE TRIGGER breach_no_delete BEFORE DELETE ON breach BEGIN SELECT RAISE(ABORT, 'breach rows are "
            "immutable'); END",
            'CREATE TRIGGER breach_agreement_no_update BEFORE UPDATE ON breach_agreement BEGIN SELECT '
            "RAISE(ABORT, 'breach_agreement rows are immutable'); END",
            'CREATE TRIGGER breach_agreement_no_delete BEFORE DELETE ON breach_agreement BEGIN SELECT '
            "RAISE(ABORT, 'breach_agreement rows are immutable'); END",
            'CREATE TRIGGER breach_notice_no_delete BEFORE DELETE ON breach_notice BEGIN SELECT RAISE(ABORT, '
            "'breach_notice rows are immutable'); END",
            'CREATE TRIGGER breach_notice_content_fixed BEFORE UPDATE ON breach_notice FOR EACH ROW WHEN '
            "OLD.state = 'sent' BEGIN SELECT RAISE(ABORT, 'breach_notice rows are immutable'); END"]}

DROP_TRIGGERS = {'postgresql': ['DROP TRIGGER IF EXISTS breach_immutable ON breach',
                'DROP TRIGGER IF EXISTS breach_no_delete ON breach',
                'DROP TRIGGER IF EXISTS breach_content_fixed ON breach',
                'DROP TRIGGER IF EXISTS breach_agreement_immutable ON breach_agreement',
                'DROP TRIGGER IF EXISTS breach_agreement_no_delete ON breach_agreement',
                'DROP TRIGGER IF EXISTS breach_agreement_content_fixed ON breach_agreement',
                'DROP TRIGGER IF EXISTS breach_notice_immutable ON breach_notice',
                'DROP TRIGGER IF EXISTS breach_notice_no_delete ON breach_notice',
                'DROP TRIGGER IF EXISTS breach_notice_content_fixed ON breach_notice'],
 'sqlite': ['DROP TRIGGER IF EXISTS breach_no_update',
            'DROP TRIGGER IF EXISTS breach_no_delete',
            'DROP TRIGGER IF EXISTS breach_content_fixed',
            'DROP TRIGGER IF EXISTS breach_agreement_no_update',
            'DROP TRIGGER IF EXISTS breach_agreement_no_delete',
            'DROP TRIGGER IF EXISTS breach_agreement_content_fixed',
            'DROP TRIGGER IF EXISTS breach_notice_no_update',
            'DROP TRIGGER IF EXISTS breach_notice_no_delete',
            'DROP TRIGGER IF EXISTS breach_notice_content_fixed']}


def upgrade():
    op.create_table('breach',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('aware_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('natures', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('systems', sa.Text(), nullable=False),
    sa.Column('agents', sa.Text(), nullable=False),
    sa.Column('data_subject_categories', sa.Text(), nullable=False),
    sa.Column('data_subjects_approx', sa.Integer(), nullable=True),
    sa.Column('record_categories', sa.Text(), nullable=False),
    sa.Column('records_approx', sa.Integer(), nullable=True),
    sa.Column('likely_consequences', sa.Text(), nullable=False),
    sa.Column('measures_taken', sa.Text(), nullable=False),
    sa.Column('measures_proposed', sa.Text(), nullable=False),
    sa.Column('agreement_failures', sa.Text(), nullable=False),
    sa.Column('risk', sa.Enum('not_assessed', 'unlikely', 'risk', 'high_risk', name='breach_risk', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('contact_point', sa.Text(), nullable=False),
    sa.Column('source_subprocessor_id', sa.Integer(), nullable=True),
    sa.Column('source_notice_sha256', sa.String(length=64), nullable=True),
    sa.Column('source_notice_filename', sa.String(length=255), nullable=True),
    sa.Column('source_notice_content_type', sa.String(length=100), nullable=True),
    sa.Column('source_notice_size', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('aware_at >= detected_at', name=op.f('ck_breach_aware_after_detected')),
    sa.CheckConstraint('data_subjects_approx IS NULL OR data_subjects_approx >= 0', name=op.f('ck_breach_subjects_not_negative')),
    sa.CheckConstraint('detected_at >= occurred_at', name=op.f('ck_breach_detected_after_occurred')),
    sa.CheckConstraint('length(description) > 0', name=op.f('ck_breach_description_not_empty')),
    sa.CheckConstraint('length(title) > 0', name=op.f('ck_breach_title_not_empty')),
    sa.CheckConstraint('records_approx IS NULL OR records_approx >= 0', name=op.f('ck_breach_records_not_negative')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_breach_recorded_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['source_subprocessor_id'], ['subprocessor.id'], name=op.f('fk_breach_source_subprocessor_id_subprocessor'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach'))
    )
    op.create_table('breach_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('breach_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('containment', 'remedy', 'investigation', name='breach_action_kind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("done_on IS NULL OR evidence <> ''", name=op.f('ck_breach_action_done_has_evidence')),
    sa.CheckConstraint('length(description) > 0', name=op.f('ck_breach_action_description_not_empty')),
    sa.ForeignKeyConstraint(['breach_id'], ['breach.id'], name=op.f('fk_breach_action_breach_id_breach'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_breach_action_created_by_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_action'))
    )
    with op.batch_alter_table('breach_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_breach_action_breach_id'), ['breach_id'], unique=False)

    op.create_table('breach_subprocessor',
    sa.Column('breach_id', sa.Integer(), nullable=False),
    sa.Column('subprocessor_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['breach_id'], ['breach.id'], name=op.f('fk_breach_subprocessor_breach_id_breach'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['subprocessor_id'], ['subprocessor.id'], name=op.f('fk_breach_subprocessor_subprocessor_id_subprocessor'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('breach_id', 'subprocessor_id', name=op.f('pk_breach_subprocessor'))
    )
    op.create_table('breach_agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('breach_id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_breach_agreement_added_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_breach_agreement_agreement_id_agreement'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['breach_id'], ['breach.id'], name=op.f('fk_breach_agreement_breach_id_breach'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['event_id'], ['trigger_event.id'], name=op.f('fk_breach_agreement_event_id_trigger_event'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_agreement')),
    sa.UniqueConstraint('breach_id', 'agreement_id', name=op.f('uq_breach_agreement_breach_id_agreement_id'))
    )
    with op.batch_alter_table('breach_agreement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_breach_agreement_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_breach_agreement_breach_id'), ['breach_id'], unique=False)

    op.create_table('breach_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('breach_id', sa.Integer(), nullable=False),
    sa.Column('affected_id', sa.Integer(), nullable=False),
    sa.Column('phase', sa.Enum('initial', 'follow_up', name='breach_notice_phase', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('state', sa.Enum('queued', 'sent', 'failed', name='breach_notice_state', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('held', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(phase = 'initial') = (sequence = 1)", name=op.f('ck_breach_notice_initial_is_first')),
    sa.CheckConstraint("(state = 'sent') = (sent_at IS NOT NULL)", name=op.f('ck_breach_notice_sent_iff_sent_at')),
    sa.ForeignKeyConstraint(['affected_id'], ['breach_agreement.id'], name=op.f('fk_breach_notice_affected_id_breach_agreement'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['breach_id'], ['breach.id'], name=op.f('fk_breach_notice_breach_id_breach'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_breach_notice_created_by_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_notice')),
    sa.UniqueConstraint('affected_id', 'sequence', 'email', name=op.f('uq_breach_notice_affected_id_sequence_email'))
    )
    with op.batch_alter_table('breach_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_breach_notice_affected_id'), ['affected_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_breach_notice_breach_id'), ['breach_id'], unique=False)

    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(text(statement))


def downgrade():
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(text(statement))
    with op.batch_alter_table('breach_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_breach_notice_breach_id'))
        batch_op.drop_index(batch_op.f('ix_breach_notice_affected_id'))

    op.drop_table('breach_notice')
    with op.batch_alter_table('breach_agreement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_breach_agreement_breach_id'))
        batch_op.drop_index(batch_op.f('ix_breach_agreement_agreement_id'))

    op.drop_table('breach_agreement')
    op.drop_table('breach_subprocessor')
    with op.batch_alter_table('breach_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_breach_action_breach_id'))

    op.drop_table('breach_action')
    op.drop_table('breach')
