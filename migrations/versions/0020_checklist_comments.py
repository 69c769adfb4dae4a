"""Auditors' comments on an obligation of the checklist (issue 13), immutable once written

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06

Every UPDATE and DELETE on checklist_comment is refused by a trigger (frozen SQL, as migrations 0004 and 0017).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import text

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# Frozen SQL (no import of dpa_tracker).
TRIGGERS = {'postgresql': ["CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER checklist_comment_immutable BEFORE UPDATE OR DELETE ON checklist_comment FOR EACH '
                'ROW EXECUTE FUNCTION dpa_refuse_change()'],
 'sqlite': ['CREATE TRIGGER checklist_comment_no_update BEFORE UPDATE ON checklist_comment BEGIN SELECT '
            "RAISE(ABORT, 'checklist_comment rows are immutable'); END",
            'CREATE TRIGGER checklist_comment_no_delete BEFORE DELETE ON checklist_comment BEGIN SELECT '
            "RAISE(ABORT, 'checklist_comment rows are immutable'); END"]}

DROP_TRIGGERS = {'postgresql': ['DROP TRIGGER IF EXISTS checklist_comment_immutable ON checklist_comment',
                'DROP TRIGGER IF EXISTS checklist_comment_no_delete ON checklist_comment',
                'DROP TRIGGER IF EXISTS checklist_comment_content_fixed ON checklist_comment'],
 'sqlite': ['DROP TRIGGER IF EXISTS checklist_comment_no_update',
            'DROP TRIGGER IF EXISTS checklist_comment_no_delete',
            'DROP TRIGGER IF EXISTS checklist_comment_content_fixed']}


def upgrade():
    op.create_table('checklist_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('obligation_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(body) > 0', name=op.f('ck_checklist_comment_body_not_empty')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_checklist_comment_author_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['obligation_id'], ['obligation.id'], name=op.f('fk_checklist_comment_obligation_id_obligation'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_comment'))
    )
    with op.batch_alter_table('checklist_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklist_comment_obligation_id'), ['obligation_id'], unique=False)
    conn = op.get_bind()
    for statement in TRIGGERS.get(conn.dialect.name, []):
        conn.execute(text(statement))


def downgrade():
    conn = op.get_bind()
    for statement in DROP_TRIGGERS.get(conn.dialect.name, []):
        conn.execute(text(statement))
    with op.batch_alter_table('checklist_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklist_comment_obligation_id'))
    op.drop_table('checklist_comment')
