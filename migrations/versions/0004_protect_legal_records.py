"""The database refuses to change the audit log and change notices, and to delete or rewrite evidence

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op
from sqlalchemy import text


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen SQL (no import of dpa_tracker): later changes to the package's protection helpers must not
# change what this migration did.
UPGRADE = {'postgresql': ["CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER audit_event_immutable BEFORE UPDATE OR DELETE ON audit_event FOR EACH ROW EXECUTE '
                'FUNCTION dpa_refuse_change()',
                "CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER change_notice_immutable BEFORE UPDATE OR DELETE ON change_notice FOR EACH ROW '
                'EXECUTE FUNCTION dpa_refuse_change()',
                "CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence FOR EACH ROW EXECUTE FUNCTION '
                'dpa_refuse_change()',
                'CREATE TRIGGER evidence_content_fixed BEFORE UPDATE ON evidence FOR EACH ROW WHEN '
                '(OLD.obligation_id IS DISTINCT FROM NEW.obligation_id OR OLD.trigger_event_id IS DISTINCT FROM '
                'NEW.trigger_event_id OR OLD.note IS DISTINCT FROM NEW.note OR OLD.link IS DISTINCT FROM NEW.link '
                'OR OLD.sha256 IS DISTINCT FROM NEW.sha256 OR OLD.filename IS DISTINCT FROM NEW.filename OR '
                'OLD.content_type IS DISTINCT FROM NEW.content_type OR OLD.size IS DISTINCT FROM NEW.size OR '
                'OLD.period_start IS DISTINCT FROM NEW.period_start OR OLD.period_end IS DISTINCT FROM '
                'NEW.period_end OR OLD.valid_until IS DISTINCT FROM NEW.valid_until OR OLD.added_by_id IS DISTINCT '
                'FROM NEW.added_by_id OR OLD.added_at IS DISTINCT FROM NEW.added_at) EXECUTE FUNCTION '
                'dpa_refuse_change()'],
 'sqlite': ['CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN SELECT RAISE(ABORT, '
            "'audit_event rows are immutable'); END",
            'CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event BEGIN SELECT RAISE(ABORT, '
            "'audit_event rows are immutable'); END",
            'CREATE TRIGGER change_notice_no_update BEFORE UPDATE ON change_notice BEGIN SELECT RAISE(ABORT, '
            "'change_notice rows are immutable'); END",
            'CREATE TRIGGER change_notice_no_delete BEFORE DELETE ON change_notice BEGIN SELECT RAISE(ABORT, '
            "'change_notice rows are immutable'); END",
            "CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence BEGIN SELECT RAISE(ABORT, 'evidence rows "
            "are immutable'); END",
            'CREATE TRIGGER evidence_content_fixed BEFORE UPDATE ON evidence FOR EACH ROW WHEN OLD.obligation_id '
            'IS NOT NEW.obligation_id OR OLD.trigger_event_id IS NOT NEW.trigger_event_id OR OLD.note IS NOT '
            'NEW.note OR OLD.link IS NOT NEW.link OR OLD.sha256 IS NOT NEW.sha256 OR OLD.filename IS NOT '
            'NEW.filename OR OLD.content_type IS NOT NEW.content_type OR OLD.size IS NOT NEW.size OR '
            'OLD.period_start IS NOT NEW.period_start OR OLD.period_end IS NOT NEW.period_end OR OLD.valid_until '
            'IS NOT NEW.valid_until OR OLD.added_by_id IS NOT NEW.added_by_id OR OLD.added_at IS NOT NEW.added_at '
            "BEGIN SELECT RAISE(ABORT, 'evidence rows are immutable'); END"]}

DOWNGRADE = {'postgresql': ['DROP TRIGGER IF EXISTS audit_event_immutable ON audit_event',
                'DROP TRIGGER IF EXISTS audit_event_no_delete ON audit_event',
                'DROP TRIGGER IF EXISTS audit_event_content_fixed ON audit_event',
                'DROP TRIGGER IF EXISTS change_notice_immutable ON change_notice',
                'DROP TRIGGER IF EXISTS change_notice_no_delete ON change_notice',
                'DROP TRIGGER IF EXISTS change_notice_content_fixed ON change_notice',
                'DROP TRIGGER IF EXISTS evidence_immutable ON evidence',
                'DROP TRIGGER IF EXISTS evidence_no_delete ON evidence',
                'DROP TRIGGER IF EXISTS evidence_content_fixed ON evidence'],
 'sqlite': ['DROP TRIGGER IF EXISTS audit_event_no_update',
            'DROP TRIGGER IF EXISTS audit_event_no_delete',
            'DROP TRIGGER IF EXISTS audit_event_content_fixed',
            'DROP TRIGGER IF EXISTS change_notice_no_update',
            'DROP TRIGGER IF EXISTS change_notice_no_delete',
            'DROP TRIGGER IF EXISTS change_notice_content_fixed',
            'DROP TRIGGER IF EXISTS evidence_no_update',
            'DROP TRIGGER IF EXISTS evidence_no_delete',
            'DROP TRIGGER IF EXISTS evidence_content_fixed']}


def upgrade():
    for statement in UPGRADE[op.get_bind().dialect.name]:
        op.execute(text(statement))


def downgrade():
    for statement in DOWNGRADE[op.get_bind().dialect.name]:
        op.execute(text(statement))
