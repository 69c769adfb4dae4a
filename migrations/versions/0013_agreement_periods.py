"""Per-agreement periods for what the agreement does not state (clauses 3.1(3), 3.1(6)-(8), 4.2, 4.3, 9.1, 11.1,
11.2); the obligations of existing agreements take their clocks from them

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""
import json

from alembic import op
from sqlalchemy import text

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Frozen copy of the settings added here: (column, default, low, high). Plain ADD COLUMN with a column
# constraint (no table rebuild) keeps SQLite's triggers and lets SQLite drop the column again.
COLUMNS = (
    ("instruction_alert_hours", 24, 1, 72),
    ("rectification_days", 7, 1, 30),
    ("assistance_days", 7, 1, 30),
    ("compliance_info_days", 15, 1, 90),
    ("record_copy_days", 5, 1, 30),
    ("art30_info_days", 15, 1, 90),
    ("dsr_forward_days", 2, 1, 30),
    ("document_request_days", 15, 1, 90),
    ("audit_notice_days", 30, 1, 180),
)
# The default template's clocks: the fixed value each obligation copied at creation (template v1), and the
# setting that replaces it. Obligations copy their rule, so the stored rules are rewritten here.
CLOCKS = {
    "3.1(3)": (("days", 2), ("hours_setting", "instruction_alert_hours")),
    "3.1(6)": (("days", 30), ("days_setting", "rectification_days")),
    "3.1(7)": (("days", 15), ("days_setting", "assistance_days")),
    "3.1(8)": (("days", 30), ("days_setting", "compliance_info_days")),
    "4.2": (("days", 5), ("days_setting", "record_copy_days")),
    "4.3": (("days", 30), ("days_setting", "art30_info_days")),
    "9.1": (("days", 3), ("days_setting", "dsr_forward_days")),
    "11.1": (("days", 30), ("days_setting", "document_request_days")),
    "11.2": (("days", 60), ("days_setting", "audit_notice_days")),
}


def _rules(bind):
    numbers = ", ".join(f"'{number}'" for number in CLOCKS)
    rows = bind.execute(text(
        "SELECT obligation.id, obligation.clause_number, obligation.rule FROM obligation "
        "JOIN agreement ON agreement.id = obligation.agreement_id "
        f"WHERE agreement.template_key = 'altinsoft-dpa' AND obligation.clause_number IN ({numbers})")).all()
    for obligation_id, number, rule in rows:
        yield obligation_id, number, json.loads(rule) if isinstance(rule, str) else dict(rule)


def _store(bind, obligation_id, rule):
    cast = "CAST(:rule AS JSON)" if bind.dialect.name == "postgresql" else ":rule"
    bind.execute(text(f"UPDATE obligation SET rule = {cast} WHERE id = :id"),
                 {"rule": json.dumps(rule), "id": obligation_id})


def upgrade():
    bind = op.get_bind()
    for name, default, low, high in COLUMNS:
        op.execute(f"ALTER TABLE agreement ADD COLUMN {name} INTEGER DEFAULT {default} NOT NULL "
                   f"CONSTRAINT ck_agreement_{name}_range CHECK ({name} BETWEEN {low} AND {high})")
    for obligation_id, number, rule in list(_rules(bind)):
        (fixed, _value), (key, setting) = CLOCKS[number]
        if key not in rule:
            rule.pop(fixed, None)
            _store(bind, obligation_id, {**rule, key: setting})


def downgrade():
    bind = op.get_bind()
    for obligation_id, number, rule in list(_rules(bind)):
        (fixed, value), (key, setting) = CLOCKS[number]
        if rule.get(key) == setting:
            del rule[key]
            _store(bind, obligation_id, {**rule, fixed: value})
    for name, _default, _low, _high in reversed(COLUMNS):
        if bind.dialect.name == "postgresql":
            op.execute(f"ALTER TABLE agreement DROP CONSTRAINT ck_agreement_{name}_range")
        op.execute(f"ALTER TABLE agreement DROP COLUMN {name}")
