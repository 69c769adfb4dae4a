"""Issue 12's gaps: the processor's country (its working-day calendar counts clause 9.1's target), the
transfers required by law (clause 10(2)(b)) with their e-mails to the client in the request_notice outbox, and
the agents involved in a breach (breach_agent), and breach actions marked done later (clause 8.1(2)) with
their evidence file, settled once done

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06

breach_action refuses DELETE, and UPDATE once done; law_transfer refuses every UPDATE and DELETE (frozen trigger SQL, as migrations 0004, 0017, 0018 and 0020).
request_notice gains law_transfer_id and "exactly one subject" covers it; on SQLite the table is rebuilt, so its
triggers (no DELETE, frozen once sent: migration 0018) are created again.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import text

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

# Frozen SQL (no import of dpa_tracker).
TRIGGERS = {'postgresql': ["CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER law_transfer_immutable BEFORE UPDATE OR DELETE ON law_transfer FOR EACH ROW '
                'EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER breach_action_no_delete BEFORE DELETE ON breach_action FOR EACH ROW EXECUTE '
                'FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER breach_action_content_fixed BEFORE UPDATE ON breach_action FOR EACH ROW WHEN '
                '(OLD.done_on IS NOT NULL) EXECUTE FUNCTION dpa_refuse_change()'],
 'sqlite': ['CREATE TRIGGER law_transfer_no_update BEFORE UPDATE ON law_transfer BEGIN SELECT RAISE(ABORT, '
            "'law_transfer rows are immutable'); END",
            'CREATE TRIGGER law_transfer_no_delete BEFORE DELETE ON law_transfer BEGIN SELECT RAISE(ABORT, '
            "'law_transfer rows are immutable'); END",
            'CREATE TRIGGER breach_action_no_delete BEFORE DELETE ON breach_action BEGIN SELECT RAISE(ABORT, '
            "'breach_action rows are immutable'); END",
            'CREATE TRIGGER breach_action_content_fixed BEFORE UPDATE ON breach_action FOR EACH ROW WHEN '
            "OLD.done_on IS NOT NULL BEGIN SELECT RAISE(ABORT, 'breach_action rows are immutable'); END"]}
DROP_TRIGGERS = {'postgresql': ['DROP TRIGGER IF EXISTS law_transfer_immutable ON law_transfer',
                'DROP TRIGGER IF EXISTS breach_action_no_delete ON breach_action',
                'DROP TRIGGER IF EXISTS breach_action_content_fixed ON breach_action'],
 'sqlite': ['DROP TRIGGER IF EXISTS law_transfer_no_update', 'DROP TRIGGER IF EXISTS law_transfer_no_delete',
            'DROP TRIGGER IF EXISTS breach_action_no_delete', 'DROP TRIGGER IF EXISTS breach_action_content_fixed']}
# SQLite rebuilds request_notice (batch mode): its triggers of migration 0018, dropped with the old table.
REQUEST_NOTICE_TRIGGERS = [
    'DROP TRIGGER IF EXISTS request_notice_no_delete',
    'DROP TRIGGER IF EXISTS request_notice_content_fixed',
    'CREATE TRIGGER request_notice_no_delete BEFORE DELETE ON request_notice BEGIN SELECT RAISE(ABORT, '
    "'request_notice rows are immutable'); END",
    'CREATE TRIGGER request_notice_content_fixed BEFORE UPDATE ON request_notice FOR EACH ROW WHEN OLD.state = '
    "'sent' BEGIN SELECT RAISE(ABORT, 'request_notice rows are immutable'); END",
]
ONE_SUBJECT = (
    "(CASE WHEN request_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN instruction_id IS NULL THEN 0 ELSE 1 END) "
    "+ (CASE WHEN law_transfer_id IS NULL THEN 0 ELSE 1 END) = 1"
)
TWO_SUBJECTS = '(request_id IS NULL) <> (instruction_id IS NULL)'


def upgrade():
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("processor_profile", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), server_default="", nullable=False))

    op.create_table('law_transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('learnt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('authority', sa.String(length=200), nullable=False),
    sa.Column('law', sa.String(length=300), nullable=False),
    sa.Column('destination_country', sa.String(length=2), nullable=False),
    sa.Column('destination', sa.String(length=200), nullable=False),
    sa.Column('data_concerned', sa.Text(), nullable=False),
    sa.Column('proof_sha256', sa.String(length=64), nullable=False),
    sa.Column('proof_filename', sa.String(length=255), nullable=False),
    sa.Column('proof_content_type', sa.String(length=100), nullable=False),
    sa.Column('proof_size', sa.Integer(), nullable=False),
    sa.Column('notice_forbidden', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('forbidden_ground', sa.Text(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(authority) > 0', name=op.f('ck_law_transfer_authority_not_empty')),
    sa.CheckConstraint('length(law) > 0', name=op.f('ck_law_transfer_law_not_empty')),
    sa.CheckConstraint('length(destination) > 0', name=op.f('ck_law_transfer_destination_not_empty')),
    sa.CheckConstraint('length(data_concerned) > 0', name=op.f('ck_law_transfer_data_not_empty')),
    sa.CheckConstraint('length(proof_sha256) = 64', name=op.f('ck_law_transfer_proof_sha256')),
    sa.CheckConstraint('NOT notice_forbidden OR length(forbidden_ground) > 0', name=op.f('ck_law_transfer_forbidden_has_ground')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_law_transfer_agreement_id_agreement'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['event_id'], ['trigger_event.id'], name=op.f('fk_law_transfer_event_id_trigger_event'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_law_transfer_recorded_by_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_law_transfer'))
    )
    with op.batch_alter_table('law_transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_law_transfer_agreement_id'), ['agreement_id'], unique=False)

    with op.batch_alter_table('request_notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('law_transfer_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_request_notice_law_transfer_id'), ['law_transfer_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_request_notice_law_transfer_id_law_transfer'), 'law_transfer', ['law_transfer_id'], ['id'], ondelete='RESTRICT')
        batch_op.drop_constraint(batch_op.f('ck_request_notice_one_subject'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_request_notice_one_subject'), ONE_SUBJECT)

    op.create_table('breach_agent',
    sa.Column('breach_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_breach_agent_agent_id_agent'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['breach_id'], ['breach.id'], name=op.f('fk_breach_agent_breach_id_breach'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('breach_id', 'agent_id', name=op.f('pk_breach_agent'))
    )

    with op.batch_alter_table('breach_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('evidence_filename', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('evidence_content_type', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('evidence_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('done_recorded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('done_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_breach_action_done_by_id_user'), 'user', ['done_by_id'], ['id'], ondelete='RESTRICT')

    for statement in TRIGGERS[dialect] + (REQUEST_NOTICE_TRIGGERS if dialect == 'sqlite' else []):
        op.execute(text(statement))


def downgrade():
    dialect = op.get_bind().dialect.name
    op.drop_table('breach_agent')
    with op.batch_alter_table('breach_action', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_breach_action_done_by_id_user'), type_='foreignkey')
        batch_op.drop_column('done_by_id')
        batch_op.drop_column('done_recorded_at')
        batch_op.drop_column('evidence_size')
        batch_op.drop_column('evidence_content_type')
        batch_op.drop_column('evidence_filename')
        batch_op.drop_column('evidence_sha256')
    for statement in DROP_TRIGGERS[dialect]:
        op.execute(text(statement))
    with op.batch_alter_table('request_notice', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_request_notice_one_subject'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_request_notice_one_subject'), TWO_SUBJECTS)
        batch_op.drop_constraint(batch_op.f('fk_request_notice_law_transfer_id_law_transfer'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_request_notice_law_transfer_id'))
        batch_op.drop_column('law_transfer_id')
    if dialect == 'sqlite':
        for statement in REQUEST_NOTICE_TRIGGERS:
            op.execute(text(statement))
    with op.batch_alter_table('law_transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_law_transfer_agreement_id'))
    op.drop_table('law_transfer')
    with op.batch_alter_table("processor_profile", schema=None) as batch_op:
        batch_op.drop_column("country")
