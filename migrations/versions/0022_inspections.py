"""Clause 11: document and audit requests, audits, findings and their closures, remediation actions, certifications

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06

inspection_request, audit_finding and finding_closure are legal records: every UPDATE and DELETE is refused by a
trigger (frozen SQL, as migrations 0017 and 0020).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import text

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# Frozen SQL (no import of dpa_tracker).
TRIGGERS = {'postgresql': ["CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER inspection_request_immutable BEFORE UPDATE OR DELETE ON inspection_request FOR '
                'EACH ROW EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER audit_finding_immutable BEFORE UPDATE OR DELETE ON audit_finding FOR EACH ROW '
                'EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER finding_closure_immutable BEFORE UPDATE OR DELETE ON finding_closure FOR EACH ROW '
                'EXECUTE FUNCTION dpa_refuse_change()'],
 'sqlite': ['CREATE TRIGGER inspection_request_no_update BEFORE UPDATE ON inspection_request BEGIN SELECT '
            "RAISE(ABORT, 'inspection_request rows are immutable'); END",
            'CREATE TRIGGER inspection_request_no_delete BEFORE DELETE ON inspection_request BEGIN SELECT '
            "RAISE(ABORT, 'inspection_request rows are immutable'); END",
            'CREATE TRIGGER audit_finding_no_update BEFORE UPDATE ON audit_finding BEGIN SELECT RAISE(ABORT, '
            "'audit_finding rows are immutable'); END",
            'CREATE TRIGGER audit_finding_no_delete BEFORE DELETE ON audit_finding BEGIN SELECT RAISE(ABORT, '
            "'audit_finding rows are immutable'); END",
            'CREATE TRIGGER finding_closure_no_update BEFORE UPDATE ON finding_closure BEGIN SELECT RAISE(ABORT, '
            "'finding_closure rows are immutable'); END",
            'CREATE TRIGGER finding_closure_no_delete BEFORE DELETE ON finding_closure BEGIN SELECT RAISE(ABORT, '
            "'finding_closure rows are immutable'); END"]}

DROP_TRIGGERS = {'postgresql': ['DROP TRIGGER IF EXISTS inspection_request_immutable ON inspection_request',
                'DROP TRIGGER IF EXISTS inspection_request_no_delete ON inspection_request',
                'DROP TRIGGER IF EXISTS inspection_request_content_fixed ON inspection_request',
                'DROP TRIGGER IF EXISTS audit_finding_immutable ON audit_finding',
                'DROP TRIGGER IF EXISTS audit_finding_no_delete ON audit_finding',
                'DROP TRIGGER IF EXISTS audit_finding_content_fixed ON audit_finding',
                'DROP TRIGGER IF EXISTS finding_closure_immutable ON finding_closure',
                'DROP TRIGGER IF EXISTS finding_closure_no_delete ON finding_closure',
                'DROP TRIGGER IF EXISTS finding_closure_content_fixed ON finding_closure'],
 'sqlite': ['DROP TRIGGER IF EXISTS inspection_request_no_update',
            'DROP TRIGGER IF EXISTS inspection_request_no_delete',
            'DROP TRIGGER IF EXISTS inspection_request_content_fixed',
            'DROP TRIGGER IF EXISTS audit_finding_no_update',
            'DROP TRIGGER IF EXISTS audit_finding_no_delete',
            'DROP TRIGGER IF EXISTS audit_finding_content_fixed',
            'DROP TRIGGER IF EXISTS finding_closure_no_update',
            'DROP TRIGGER IF EXISTS finding_closure_no_delete',
            'DROP TRIGGER IF EXISTS finding_closure_content_fixed']}


def upgrade():
    op.create_table('certification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('iso27001', 'soc2', 'pentest', 'other', name='certification_kind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('expires_on IS NULL OR expires_on >= issued_on', name=op.f('ck_certification_expires_after_issued')),
    sa.CheckConstraint('length(issuer) > 0', name=op.f('ck_certification_issuer_not_empty')),
    sa.CheckConstraint('length(name) > 0', name=op.f('ck_certification_name_not_empty')),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_certification_added_by_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certification'))
    )
    op.create_table('inspection_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('documents', 'audit', name='inspection_kind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('requester_name', sa.String(length=200), nullable=False),
    sa.Column('requester_email', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('certification_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(requester_name) > 0', name=op.f('ck_inspection_request_requester_not_empty')),
    sa.CheckConstraint('length(subject) > 0', name=op.f('ck_inspection_request_subject_not_empty')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_inspection_request_agreement_id_agreement'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['certification_id'], ['certification.id'], name=op.f('fk_inspection_request_certification_id_certification'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_inspection_request_created_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['event_id'], ['trigger_event.id'], name=op.f('fk_inspection_request_event_id_trigger_event'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_request')),
    sa.UniqueConstraint('event_id', name=op.f('uq_inspection_request_event_id'))
    )
    with op.batch_alter_table('inspection_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_request_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('audit_engagement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('auditor_organisation', sa.String(length=200), nullable=False),
    sa.Column('auditor_people', sa.Text(), nullable=False),
    sa.Column('appointed_by', sa.Enum('processor', 'client', 'jointly', name='audit_appointed_by', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('controller_mandate', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('continuity_conditions', sa.Text(), nullable=False),
    sa.Column('cost_amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('cost_currency', sa.String(length=3), nullable=False),
    sa.Column('cost_note', sa.Text(), nullable=False),
    sa.Column('declaration_sha256', sa.String(length=64), nullable=True),
    sa.Column('declaration_filename', sa.String(length=255), nullable=True),
    sa.Column('declaration_content_type', sa.String(length=100), nullable=True),
    sa.Column('report_sha256', sa.String(length=64), nullable=True),
    sa.Column('report_filename', sa.String(length=255), nullable=True),
    sa.Column('report_content_type', sa.String(length=100), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cost_amount IS NULL OR cost_amount >= 0', name=op.f('ck_audit_engagement_cost_not_negative')),
    sa.CheckConstraint('ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on', name=op.f('ck_audit_engagement_ends_after_start')),
    sa.CheckConstraint('length(auditor_organisation) > 0', name=op.f('ck_audit_engagement_organisation_not_empty')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_audit_engagement_created_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection_request.id'], name=op.f('fk_audit_engagement_inspection_id_inspection_request'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_engagement')),
    sa.UniqueConstraint('inspection_id', name=op.f('uq_audit_engagement_inspection_id'))
    )
    op.create_table('audit_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('engagement_id', sa.Integer(), nullable=False),
    sa.Column('obligation_id', sa.Integer(), nullable=False),
    sa.Column('severity', sa.Enum('low', 'medium', 'high', 'critical', name='finding_severity', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(description) > 0', name=op.f('ck_audit_finding_description_not_empty')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_audit_finding_created_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['engagement_id'], ['audit_engagement.id'], name=op.f('fk_audit_finding_engagement_id_audit_engagement'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['obligation_id'], ['obligation.id'], name=op.f('fk_audit_finding_obligation_id_obligation'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_finding'))
    )
    with op.batch_alter_table('audit_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_finding_engagement_id'), ['engagement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_finding_obligation_id'), ['obligation_id'], unique=False)

    op.create_table('finding_closure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user.id'], name=op.f('fk_finding_closure_closed_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['finding_id'], ['audit_finding.id'], name=op.f('fk_finding_closure_finding_id_audit_finding'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_closure')),
    sa.UniqueConstraint('finding_id', name=op.f('uq_finding_closure_finding_id'))
    )
    op.create_table('remediation_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', name='remediation_status', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'done') = (done_on IS NOT NULL AND sha256 IS NOT NULL)", name=op.f('ck_remediation_action_done_has_evidence')),
    sa.CheckConstraint('length(description) > 0', name=op.f('ck_remediation_action_description_not_empty')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_remediation_action_created_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['finding_id'], ['audit_finding.id'], name=op.f('fk_remediation_action_finding_id_audit_finding'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_remediation_action_owner_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remediation_action'))
    )
    with op.batch_alter_table('remediation_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remediation_action_finding_id'), ['finding_id'], unique=False)

    conn = op.get_bind()
    for statement in TRIGGERS.get(conn.dialect.name, []):
        conn.execute(text(statement))


def downgrade():
    conn = op.get_bind()
    for statement in DROP_TRIGGERS.get(conn.dialect.name, []):
        conn.execute(text(statement))
    with op.batch_alter_table('remediation_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remediation_action_finding_id'))

    op.drop_table('remediation_action')
    op.drop_table('finding_closure')
    with op.batch_alter_table('audit_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_finding_obligation_id'))
        batch_op.drop_index(batch_op.f('ix_audit_finding_engagement_id'))

    op.drop_table('audit_finding')
    op.drop_table('audit_engagement')
    with op.batch_alter_table('inspection_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_request_agreement_id'))

    op.drop_table('inspection_request')
    op.drop_table('certification')
