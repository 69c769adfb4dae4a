"""The end-of-contract workflow (clause 13, issue 13): deletion tasks, their completions, retention exceptions
and the deletion certificate, every table immutable once written

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06

Every UPDATE and DELETE on the five tables is refused by a trigger (frozen SQL, as migrations 0004, 0017, 0020).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import text

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# Frozen SQL (no import of dpa_tracker).
TRIGGERS = {'postgresql': ["CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER deletion_workflow_immutable BEFORE UPDATE OR DELETE ON deletion_workflow FOR EACH '
                'ROW EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER deletion_task_immutable BEFORE UPDATE OR DELETE ON deletion_task FOR EACH ROW '
                'EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER deletion_task_completion_immutable BEFORE UPDATE OR DELETE ON '
                'deletion_task_completion FOR EACH ROW EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER retention_exception_immutable BEFORE UPDATE OR DELETE ON retention_exception FOR '
                'EACH ROW EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER deletion_certificate_immutable BEFORE UPDATE OR DELETE ON deletion_certificate FOR '
                'EACH ROW EXECUTE FUNCTION dpa_refuse_change()'],
 'sqlite': ['CREATE TRIGGER deletion_workflow_no_update BEFORE UPDATE ON deletion_workflow BEGIN SELECT '
            "RAISE(ABORT, 'deletion_workflow rows are immutable'); END",
            'CREATE TRIGGER deletion_workflow_no_delete BEFORE DELETE ON deletion_workflow BEGIN SELECT '
            "RAISE(ABORT, 'deletion_workflow rows are immutable'); END",
            'CREATE TRIGGER deletion_task_no_update BEFORE UPDATE ON deletion_task BEGIN SELECT RAISE(ABORT, '
            "'deletion_task rows are immutable'); END",
            'CREATE TRIGGER deletion_task_no_delete BEFORE DELETE ON deletion_task BEGIN SELECT RAISE(ABORT, '
            "'deletion_task rows are immutable'); END",
            'CREATE TRIGGER deletion_task_completion_no_update BEFORE UPDATE ON deletion_task_completion BEGIN '
            "SELECT RAISE(ABORT, 'deletion_task_completion rows are immutable'); END",
            'CREATE TRIGGER deletion_task_completion_no_delete BEFORE DELETE ON deletion_task_completion BEGIN '
            "SELECT RAISE(ABORT, 'deletion_task_completion rows are immutable'); END",
            'CREATE TRIGGER retention_exception_no_update BEFORE UPDATE ON retention_exception BEGIN SELECT '
            "RAISE(ABORT, 'retention_exception rows are immutable'); END",
            'CREATE TRIGGER retention_exception_no_delete BEFORE DELETE ON retention_exception BEGIN SELECT '
            "RAISE(ABORT, 'retention_exception rows are immutable'); END",
            'CREATE TRIGGER deletion_certificate_no_update BEFORE UPDATE ON deletion_certificate BEGIN SELECT '
            "RAISE(ABORT, 'deletion_certificate rows are immutable'); END",
            'CREATE TRIGGER deletion_certificate_no_delete BEFORE DELETE ON deletion_certificate BEGIN SELECT '
            "RAISE(ABORT, 'deletion_certificate rows are immutable'); END"]}

DROP_TRIGGERS = {'postgresql': ['DROP TRIGGER IF EXISTS deletion_certificate_immutable ON deletion_certificate',
                'DROP TRIGGER IF EXISTS deletion_certificate_no_delete ON deletion_certificate',
                'DROP TRIGGER IF EXISTS deletion_certificate_content_fixed ON deletion_certificate',
                'DROP TRIGGER IF EXISTS retention_exception_immutable ON retention_exception',
                'DROP TRIGGER IF EXISTS retention_exception_no_delete ON retention_exception',
                'DROP TRIGGER IF EXISTS retention_exception_content_fixed ON retention_exception',
                'DROP TRIGGER IF EXISTS deletion_task_completion_immutable ON deletion_task_completion',
                'DROP TRIGGER IF EXISTS deletion_task_completion_no_delete ON deletion_task_completion',
                'DROP TRIGGER IF EXISTS deletion_task_completion_content_fixed ON deletion_task_completion',
                'DROP TRIGGER IF EXISTS deletion_task_immutable ON deletion_task',
                'DROP TRIGGER IF EXISTS deletion_task_no_delete ON deletion_task',
                'DROP TRIGGER IF EXISTS deletion_task_content_fixed ON deletion_task',
                'DROP TRIGGER IF EXISTS deletion_workflow_immutable ON deletion_workflow',
                'DROP TRIGGER IF EXISTS deletion_workflow_no_delete ON deletion_workflow',
                'DROP TRIGGER IF EXISTS deletion_workflow_content_fixed ON deletion_workflow'],
 'sqlite': ['DROP TRIGGER IF EXISTS deletion_certificate_no_update',
            'DROP TRIGGER IF EXISTS deletion_certificate_no_delete',
            'DROP TRIGGER IF EXISTS deletion_certificate_content_fixed',
            'DROP TRIGGER IF EXISTS retention_exception_no_update',
            'DROP TRIGGER IF EXISTS retention_exception_no_delete',
            'DROP TRIGGER IF EXISTS retention_exception_content_fixed',
            'DROP TRIGGER IF EXISTS deletion_task_completion_no_update',
            'DROP TRIGGER IF EXISTS deletion_task_completion_no_delete',
            'DROP TRIGGER IF EXISTS deletion_task_completion_content_fixed',
            'DROP TRIGGER IF EXISTS deletion_task_no_update',
            'DROP TRIGGER IF EXISTS deletion_task_no_delete',
            'DROP TRIGGER IF EXISTS deletion_task_content_fixed',
            'DROP TRIGGER IF EXISTS deletion_workflow_no_update',
            'DROP TRIGGER IF EXISTS deletion_workflow_no_delete',
            'DROP TRIGGER IF EXISTS deletion_workflow_content_fixed']}


def upgrade():
    op.create_table('deletion_workflow',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('end_kind', sa.Enum('terminated', 'expired', name='deletion_end_kind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('choice', sa.Enum('delete', 'return_then_delete', name='deletion_choice', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('due_on >= ends_on', name=op.f('ck_deletion_workflow_due_after_end')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_deletion_workflow_agreement_id_agreement'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user.id'], name=op.f('fk_deletion_workflow_opened_by_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_workflow')),
    sa.UniqueConstraint('agreement_id', name=op.f('uq_deletion_workflow_agreement_id'))
    )
    op.create_table('deletion_certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow_id', sa.Integer(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('length(sha256) = 64', name=op.f('ck_deletion_certificate_sha256_length')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user.id'], name=op.f('fk_deletion_certificate_issued_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['workflow_id'], ['deletion_workflow.id'], name=op.f('fk_deletion_certificate_workflow_id_deletion_workflow'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_certificate')),
    sa.UniqueConstraint('workflow_id', name=op.f('uq_deletion_certificate_workflow_id'))
    )
    op.create_table('deletion_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('return', 'system', 'location', 'backups', 'subprocessor', 'agent_access', name='deletion_task_kind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=False),
    sa.Column('subprocessor_id', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('proof_required', sa.Boolean(), nullable=False),
    sa.CheckConstraint('length(place) > 0', name=op.f('ck_deletion_task_place_not_empty')),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_deletion_task_agent_id_agent'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['subprocessor_id'], ['subprocessor.id'], name=op.f('fk_deletion_task_subprocessor_id_subprocessor'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['workflow_id'], ['deletion_workflow.id'], name=op.f('fk_deletion_task_workflow_id_deletion_workflow'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_task'))
    )
    with op.batch_alter_table('deletion_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deletion_task_workflow_id'), ['workflow_id'], unique=False)

    op.create_table('retention_exception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow_id', sa.Integer(), nullable=False),
    sa.Column('what', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('until_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('length(legal_basis) > 0', name=op.f('ck_retention_exception_basis_not_empty')),
    sa.CheckConstraint('length(what) > 0', name=op.f('ck_retention_exception_what_not_empty')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_retention_exception_recorded_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['workflow_id'], ['deletion_workflow.id'], name=op.f('fk_retention_exception_workflow_id_deletion_workflow'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_exception'))
    )
    with op.batch_alter_table('retention_exception', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_exception_workflow_id'), ['workflow_id'], unique=False)

    op.create_table('deletion_task_completion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=False),
    sa.Column('done_by', sa.String(length=200), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(sha256 IS NULL) = (filename IS NULL)', name=op.f('ck_deletion_task_completion_file_named')),
    sa.CheckConstraint('length(done_by) > 0', name=op.f('ck_deletion_task_completion_done_by_not_empty')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_deletion_task_completion_recorded_by_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['task_id'], ['deletion_task.id'], name=op.f('fk_deletion_task_completion_task_id_deletion_task'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_task_completion')),
    sa.UniqueConstraint('task_id', name=op.f('uq_deletion_task_completion_task_id'))
    )
    conn = op.get_bind()
    for statement in TRIGGERS.get(conn.dialect.name, []):
        conn.execute(text(statement))


def downgrade():
    conn = op.get_bind()
    for statement in DROP_TRIGGERS.get(conn.dialect.name, []):
        conn.execute(text(statement))
    op.drop_table('deletion_task_completion')
    with op.batch_alter_table('retention_exception', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_exception_workflow_id'))

    op.drop_table('retention_exception')
    with op.batch_alter_table('deletion_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deletion_task_workflow_id'))

    op.drop_table('deletion_task')
    op.drop_table('deletion_certificate')
    op.drop_table('deletion_workflow')
