"""Agreements state their sub-processor authorisation type; objections record their consequence; clauses 6.2
and 6.3 take their status from the sub-processors' documents

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""
import json

from alembic import op
from sqlalchemy import text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Frozen SQL. Plain ADD COLUMN (no table rebuild) keeps notice_recipient's protection triggers on SQLite, which
# accepts column constraints in ADD COLUMN; PostgreSQL gets the multi-column check as a table constraint.
# Existing agreements become "general" (notice + objection period): what the application assumed until now.
AGREEMENT = ("ALTER TABLE agreement ADD COLUMN subprocessor_authorisation VARCHAR(20) DEFAULT 'general' NOT NULL "
             "CONSTRAINT ck_agreement_subprocessor_authorisation "
             "CHECK (subprocessor_authorisation IN ('specific', 'general'))")
RECIPIENT = ("ALTER TABLE notice_recipient ADD COLUMN objection_consequence VARCHAR(60) "
             "CONSTRAINT ck_notice_recipient_objection_consequence "
             "CHECK (objection_consequence IN ('not_used', 'termination'))")
CONSEQUENCE_CHECK = "objection_consequence IS NULL OR state = 'objected'"
REQUIREMENTS = {"6.2": "subprocessor_guarantees", "6.3": "subprocessor_flow_down"}


def _rules(bind):
    rows = bind.execute(text(
        "SELECT obligation.id, obligation.clause_number, obligation.rule FROM obligation "
        "JOIN agreement ON agreement.id = obligation.agreement_id "
        "WHERE agreement.template_key = 'altinsoft-dpa' AND obligation.clause_number IN ('6.2', '6.3')")).all()
    for obligation_id, number, rule in rows:
        yield obligation_id, number, json.loads(rule) if isinstance(rule, str) else dict(rule)


def _store(bind, obligation_id, rule):
    cast = "CAST(:rule AS JSON)" if bind.dialect.name == "postgresql" else ":rule"
    bind.execute(text(f"UPDATE obligation SET rule = {cast} WHERE id = :id"),
                 {"rule": json.dumps(rule), "id": obligation_id})


def upgrade():
    bind = op.get_bind()
    op.execute(AGREEMENT)
    if bind.dialect.name == "postgresql":
        op.execute(RECIPIENT)
        op.execute("ALTER TABLE notice_recipient ADD CONSTRAINT ck_notice_recipient_consequence_of_objection "
                   f"CHECK ({CONSEQUENCE_CHECK})")
    else:
        op.execute(f"{RECIPIENT} CONSTRAINT ck_notice_recipient_consequence_of_objection CHECK ({CONSEQUENCE_CHECK})")
    for obligation_id, number, rule in list(_rules(bind)):
        if "requires" not in rule:
            _store(bind, obligation_id, {**rule, "requires": REQUIREMENTS[number]})


def downgrade():
    bind = op.get_bind()
    for obligation_id, number, rule in list(_rules(bind)):
        if rule.get("requires") == REQUIREMENTS[number]:
            del rule["requires"]
            _store(bind, obligation_id, rule)
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE notice_recipient DROP CONSTRAINT ck_notice_recipient_consequence_of_objection")
    op.execute("ALTER TABLE notice_recipient DROP COLUMN objection_consequence")
    op.execute("ALTER TABLE agreement DROP COLUMN subprocessor_authorisation")
