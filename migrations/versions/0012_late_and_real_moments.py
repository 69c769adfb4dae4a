"""Status `late`; when an event became known (aware_at) and when an evidenced act was done (acted_at)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

The SQL is frozen here (no import of dpa_tracker). evidence.acted_at is write-once like the rest of
the evidence row: the evidence trigger is recreated to cover it.
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

EVIDENCE_TRIGGER_WITH_ACTED_AT = {'postgresql': 'CREATE TRIGGER evidence_content_fixed BEFORE UPDATE ON evidence FOR EACH ROW WHEN '
               '(OLD.obligation_id IS DISTINCT FROM NEW.obligation_id OR OLD.trigger_event_id IS DISTINCT FROM '
               'NEW.trigger_event_id OR OLD.note IS DISTINCT FROM NEW.note OR OLD.link IS DISTINCT FROM '
               'NEW.link OR OLD.sha256 IS DISTINCT FROM NEW.sha256 OR OLD.filename IS DISTINCT FROM '
               'NEW.filename OR OLD.content_type IS DISTINCT FROM NEW.content_type OR OLD.size IS DISTINCT '
               'FROM NEW.size OR OLD.period_start IS DISTINCT FROM NEW.period_start OR OLD.period_end IS '
               'DISTINCT FROM NEW.period_end OR OLD.valid_until IS DISTINCT FROM NEW.valid_until OR '
               'OLD.added_by_id IS DISTINCT FROM NEW.added_by_id OR OLD.added_at IS DISTINCT FROM NEW.added_at '
               'OR OLD.acted_at IS DISTINCT FROM NEW.acted_at) EXECUTE FUNCTION dpa_refuse_change()',
 'sqlite': 'CREATE TRIGGER evidence_content_fixed BEFORE UPDATE ON evidence FOR EACH ROW WHEN '
           'OLD.obligation_id IS NOT NEW.obligation_id OR OLD.trigger_event_id IS NOT NEW.trigger_event_id OR '
           'OLD.note IS NOT NEW.note OR OLD.link IS NOT NEW.link OR OLD.sha256 IS NOT NEW.sha256 OR '
           'OLD.filename IS NOT NEW.filename OR OLD.content_type IS NOT NEW.content_type OR OLD.size IS NOT '
           'NEW.size OR OLD.period_start IS NOT NEW.period_start OR OLD.period_end IS NOT NEW.period_end OR '
           'OLD.valid_until IS NOT NEW.valid_until OR OLD.added_by_id IS NOT NEW.added_by_id OR OLD.added_at '
           "IS NOT NEW.added_at OR OLD.acted_at IS NOT NEW.acted_at BEGIN SELECT RAISE(ABORT, 'evidence rows "
           "are immutable'); END"}
EVIDENCE_TRIGGER_BEFORE = {'postgresql': 'CREATE TRIGGER evidence_content_fixed BEFORE UPDATE ON evidence FOR EACH ROW WHEN '
               '(OLD.obligation_id IS DISTINCT FROM NEW.obligation_id OR OLD.trigger_event_id IS DISTINCT FROM '
               'NEW.trigger_event_id OR OLD.note IS DISTINCT FROM NEW.note OR OLD.link IS DISTINCT FROM '
               'NEW.link OR OLD.sha256 IS DISTINCT FROM NEW.sha256 OR OLD.filename IS DISTINCT FROM '
               'NEW.filename OR OLD.content_type IS DISTINCT FROM NEW.content_type OR OLD.size IS DISTINCT '
               'FROM NEW.size OR OLD.period_start IS DISTINCT FROM NEW.period_start OR OLD.period_end IS '
               'DISTINCT FROM NEW.period_end OR OLD.valid_until IS DISTINCT FROM NEW.valid_until OR '
               'OLD.added_by_id IS DISTINCT FROM NEW.added_by_id OR OLD.added_at IS DISTINCT FROM '
               'NEW.added_at) EXECUTE FUNCTION dpa_refuse_change()',
 'sqlite': 'CREATE TRIGGER evidence_content_fixed BEFORE UPDATE ON evidence FOR EACH ROW WHEN '
           'OLD.obligation_id IS NOT NEW.obligation_id OR OLD.trigger_event_id IS NOT NEW.trigger_event_id OR '
           'OLD.note IS NOT NEW.note OR OLD.link IS NOT NEW.link OR OLD.sha256 IS NOT NEW.sha256 OR '
           'OLD.filename IS NOT NEW.filename OR OLD.content_type IS NOT NEW.content_type OR OLD.size IS NOT '
           'NEW.size OR OLD.period_start IS NOT NEW.period_start OR OLD.period_end IS NOT NEW.period_end OR '
           'OLD.valid_until IS NOT NEW.valid_until OR OLD.added_by_id IS NOT NEW.added_by_id OR OLD.added_at '
           "IS NOT NEW.added_at BEGIN SELECT RAISE(ABORT, 'evidence rows are immutable'); END"}
DROP_TRIGGER = {
    "postgresql": "DROP TRIGGER IF EXISTS evidence_content_fixed ON evidence",
    "sqlite": "DROP TRIGGER IF EXISTS evidence_content_fixed",
}
TIMESTAMP = {"postgresql": "TIMESTAMP WITH TIME ZONE", "sqlite": "DATETIME"}


def upgrade():
    dialect = op.get_bind().dialect.name
    # Plain ADD COLUMN (no batch rebuild) keeps the tables' protection triggers on SQLite.
    op.execute("ALTER TABLE obligation ADD COLUMN cached_late_until DATE")
    op.execute(f"ALTER TABLE trigger_event ADD COLUMN aware_at {TIMESTAMP[dialect]}")
    op.execute(DROP_TRIGGER[dialect])
    op.execute(f"ALTER TABLE evidence ADD COLUMN acted_at {TIMESTAMP[dialect]}")
    op.execute(EVIDENCE_TRIGGER_WITH_ACTED_AT[dialect])


def downgrade():
    dialect = op.get_bind().dialect.name
    op.execute(DROP_TRIGGER[dialect])
    op.execute("ALTER TABLE evidence DROP COLUMN acted_at")
    op.execute(EVIDENCE_TRIGGER_BEFORE[dialect])
    op.execute("ALTER TABLE trigger_event DROP COLUMN aware_at")
    op.execute("ALTER TABLE obligation DROP COLUMN cached_late_until")
