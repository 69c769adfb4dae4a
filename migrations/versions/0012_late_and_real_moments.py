"""Status `late`; when an event became known (aware_at) and when an evidenced act was done (acted_at);
not-applicable marks kept after they are cleared (applicability_mark)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

The SQL is frozen here (no import of dpa_tracker). evidence.acted_at is write-once like the rest of
the evidence row: the evidence trigger is recreated to cover it.
"""
import sqlalchemy as sa
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
MARK_PROTECTION = {'postgresql': ["CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER applicability_mark_no_delete BEFORE DELETE ON applicability_mark FOR EACH ROW '
                'EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER applicability_mark_content_fixed BEFORE UPDATE ON applicability_mark FOR EACH '
                'ROW WHEN (OLD.obligation_id IS DISTINCT FROM NEW.obligation_id OR OLD.reason IS DISTINCT FROM '
                'NEW.reason OR OLD.set_at IS DISTINCT FROM NEW.set_at OR OLD.set_by_id IS DISTINCT FROM '
                'NEW.set_by_id) EXECUTE FUNCTION dpa_refuse_change()'],
 'sqlite': ['CREATE TRIGGER applicability_mark_no_delete BEFORE DELETE ON applicability_mark BEGIN SELECT '
            "RAISE(ABORT, 'applicability_mark rows are immutable'); END",
            'CREATE TRIGGER applicability_mark_content_fixed BEFORE UPDATE ON applicability_mark FOR EACH ROW '
            'WHEN OLD.obligation_id IS NOT NEW.obligation_id OR OLD.reason IS NOT NEW.reason OR OLD.set_at IS '
            'NOT NEW.set_at OR OLD.set_by_id IS NOT NEW.set_by_id BEGIN SELECT RAISE(ABORT, '
            "'applicability_mark rows are immutable'); END"]}
MARK_UNPROTECTION = {'postgresql': ['DROP TRIGGER IF EXISTS applicability_mark_immutable ON applicability_mark',
                'DROP TRIGGER IF EXISTS applicability_mark_no_delete ON applicability_mark',
                'DROP TRIGGER IF EXISTS applicability_mark_content_fixed ON applicability_mark'],
 'sqlite': ['DROP TRIGGER IF EXISTS applicability_mark_no_update',
            'DROP TRIGGER IF EXISTS applicability_mark_no_delete',
            'DROP TRIGGER IF EXISTS applicability_mark_content_fixed']}

# Obligations copy their clause's rule when created: existing agreements of the default template get
# the new rule keys (readiness evidence, the act named in reasons, 8.3 fed by 8.1, clause 13's stop).
RULE_KEYS = {
    "3.1(3)": {"act": "flagged", "readiness": "instruction-handling procedure"},
    "3.1(6)": {"act": "carried out", "readiness": "request-handling procedure"},
    "3.1(7)": {"act": "answered", "readiness": "request-handling procedure"},
    "3.1(8)": {"act": "answered", "readiness": "request-handling procedure"},
    "4.2": {"act": "handed out", "readiness": "request-handling procedure"},
    "4.3": {"act": "answered", "readiness": "request-handling procedure"},
    "8.1": {"act": "notified", "readiness": "breach-response procedure"},
    "8.3": {"events_from": "8.1", "act": "entered in the breach register", "readiness": "breach register"},
    "9.1": {"act": "forwarded", "readiness": "data-subject request procedure"},
    "11.1": {"act": "answered", "readiness": "audit and document-request policy"},
    "11.2": {"act": "answered", "readiness": "audit and document-request policy"},
    "13": {"requires": "processing_stopped"},
    # 6.1: the list on request and change notices run on request clocks, not as a standing duty.
    "6.1": {"type": "on_request", "days": 15, "event_label": "client request for the sub-processor list",
            "act": "sent", "readiness": "sub-processor list and change-notice procedure"},
}
RESTORED = {"6.1": {"type": "standing", "grace_days": 30}}  # the rule before this migration
obligation = sa.table("obligation", sa.column("id", sa.Integer), sa.column("agreement_id", sa.Integer),
                      sa.column("clause_number", sa.String), sa.column("rule", sa.JSON))
agreement = sa.table("agreement", sa.column("id", sa.Integer), sa.column("template_key", sa.String))


def _rewrite_rules(add: bool) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(obligation.c.id, obligation.c.clause_number, obligation.c.rule)
        .join(agreement, agreement.c.id == obligation.c.agreement_id)
        .where(agreement.c.template_key == "altinsoft-dpa", obligation.c.clause_number.in_(sorted(RULE_KEYS)))
    ).all()
    for row in rows:
        keys = RULE_KEYS[row.clause_number]
        if add:
            rule = {**row.rule, **keys}
        else:
            rule = {**{k: v for k, v in row.rule.items() if k not in keys}, **RESTORED.get(row.clause_number, {})}
        bind.execute(obligation.update().where(obligation.c.id == row.id).values(rule=rule))


def upgrade():
    dialect = op.get_bind().dialect.name
    # Plain ADD COLUMN (no batch rebuild) keeps the tables' protection triggers on SQLite.
    op.execute("ALTER TABLE obligation ADD COLUMN cached_late_until DATE")
    op.execute(f"ALTER TABLE trigger_event ADD COLUMN aware_at {TIMESTAMP[dialect]}")
    op.execute(DROP_TRIGGER[dialect])
    op.execute(f"ALTER TABLE evidence ADD COLUMN acted_at {TIMESTAMP[dialect]}")
    op.execute(EVIDENCE_TRIGGER_WITH_ACTED_AT[dialect])
    _rewrite_rules(add=True)
    op.create_table(
        "applicability_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("length(reason) > 0", name=op.f("ck_applicability_mark_reason_not_empty")),
        sa.CheckConstraint("cleared_at IS NULL OR cleared_at >= set_at",
                           name=op.f("ck_applicability_mark_cleared_after_set")),
        sa.ForeignKeyConstraint(["obligation_id"], ["obligation.id"],
                                name=op.f("fk_applicability_mark_obligation_id_obligation"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["set_by_id"], ["user.id"], name=op.f("fk_applicability_mark_set_by_id_user"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["cleared_by_id"], ["user.id"],
                                name=op.f("fk_applicability_mark_cleared_by_id_user"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applicability_mark")),
    )
    op.create_index(op.f("ix_applicability_mark_obligation_id"), "applicability_mark", ["obligation_id"])
    # Marks in place now become the first rows of their history.
    op.execute("INSERT INTO applicability_mark (obligation_id, reason, set_at) "
               "SELECT id, na_reason, na_set_at FROM obligation WHERE na_reason IS NOT NULL")
    for statement in MARK_PROTECTION[dialect]:
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in MARK_UNPROTECTION[dialect]:
        op.execute(statement)
    op.drop_index(op.f("ix_applicability_mark_obligation_id"), table_name="applicability_mark")
    op.drop_table("applicability_mark")
    _rewrite_rules(add=False)
    op.execute(DROP_TRIGGER[dialect])
    op.execute("ALTER TABLE evidence DROP COLUMN acted_at")
    op.execute(EVIDENCE_TRIGGER_BEFORE[dialect])
    op.execute("ALTER TABLE trigger_event DROP COLUMN aware_at")
    op.execute("ALTER TABLE obligation DROP COLUMN cached_late_until")
