"""Clause 10: disclosure_authorisation (10(1)) and transfer_consent (10(2)), both write-once; clause 10(2) of
existing agreements takes its status from the record, the sub-processors and the consents

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

Obligations copy their rule at creation, so the stored rule of 10(2) gets ``requires: transfer_consent`` here
(as 0011 did for 6.2/6.3 and 0016 for 5.2/5.3), and the rule of 8.1(2) ``requires: breach_actions`` (clause 8.1(2)
takes its status from each breach's containment, remedy and investigation actions). Run ``flask obligations refresh`` after upgrading: 10(2) of a
client whose record shows a transfer outside the EU/EEA without consent becomes overdue.
"""
import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

REQUIREMENTS = {"10(2)": "transfer_consent", "8.1(2)": "breach_actions"}

# Frozen SQL (no import of dpa_tracker): the write-once protection of both tables.
PROTECT = {'postgresql': ["CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '% "
                "rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER disclosure_authorisation_no_delete BEFORE DELETE ON disclosure_authorisation FOR '
                'EACH ROW EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER disclosure_authorisation_content_fixed BEFORE UPDATE ON disclosure_authorisation '
                'FOR EACH ROW WHEN (OLD.client_id IS DISTINCT FROM NEW.client_id OR OLD.recipient IS DISTINCT '
                'FROM NEW.recipient OR OLD.purpose IS DISTINCT FROM NEW.purpose OR OLD.authorised_on IS DISTINCT '
                'FROM NEW.authorised_on OR OLD.sha256 IS DISTINCT FROM NEW.sha256 OR OLD.filename IS DISTINCT '
                'FROM NEW.filename OR OLD.content_type IS DISTINCT FROM NEW.content_type OR OLD.size IS DISTINCT '
                'FROM NEW.size OR OLD.recorded_at IS DISTINCT FROM NEW.recorded_at OR OLD.recorded_by_id IS '
                'DISTINCT FROM NEW.recorded_by_id) EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER transfer_consent_no_delete BEFORE DELETE ON transfer_consent FOR EACH ROW EXECUTE '
                'FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER transfer_consent_content_fixed BEFORE UPDATE ON transfer_consent FOR EACH ROW '
                'WHEN (OLD.client_id IS DISTINCT FROM NEW.client_id OR OLD.given_on IS DISTINCT FROM NEW.given_on '
                'OR OLD.given_by IS DISTINCT FROM NEW.given_by OR OLD.countries IS DISTINCT FROM NEW.countries OR '
                'OLD.transfer_ids IS DISTINCT FROM NEW.transfer_ids OR OLD.scope IS DISTINCT FROM NEW.scope OR '
                'OLD.sha256 IS DISTINCT FROM NEW.sha256 OR OLD.filename IS DISTINCT FROM NEW.filename OR '
                'OLD.content_type IS DISTINCT FROM NEW.content_type OR OLD.size IS DISTINCT FROM NEW.size OR '
                'OLD.recorded_at IS DISTINCT FROM NEW.recorded_at OR OLD.recorded_by_id IS DISTINCT FROM '
                'NEW.recorded_by_id) EXECUTE FUNCTION dpa_refuse_change()'],
 'sqlite': ['CREATE TRIGGER disclosure_authorisation_no_delete BEFORE DELETE ON disclosure_authorisation BEGIN '
            "SELECT RAISE(ABORT, 'disclosure_authorisation rows are immutable'); END",
            'CREATE TRIGGER disclosure_authorisation_content_fixed BEFORE UPDATE ON disclosure_authorisation FOR '
            'EACH ROW WHEN OLD.client_id IS NOT NEW.client_id OR OLD.recipient IS NOT NEW.recipient OR '
            'OLD.purpose IS NOT NEW.purpose OR OLD.authorised_on IS NOT NEW.authorised_on OR OLD.sha256 IS NOT '
            'NEW.sha256 OR OLD.filename IS NOT NEW.filename OR OLD.content_type IS NOT NEW.content_type OR '
            'OLD.size IS NOT NEW.size OR OLD.recorded_at IS NOT NEW.recorded_at OR OLD.recorded_by_id IS NOT '
            "NEW.recorded_by_id BEGIN SELECT RAISE(ABORT, 'disclosure_authorisation rows are immutable'); END",
            'CREATE TRIGGER transfer_consent_no_delete BEFORE DELETE ON transfer_consent BEGIN SELECT '
            "RAISE(ABORT, 'transfer_consent rows are immutable'); END",
            'CREATE TRIGGER transfer_consent_content_fixed BEFORE UPDATE ON transfer_consent FOR EACH ROW WHEN '
            'OLD.client_id IS NOT NEW.client_id OR OLD.given_on IS NOT NEW.given_on OR OLD.given_by IS NOT '
            'NEW.given_by OR OLD.countries IS NOT NEW.countries OR OLD.transfer_ids IS NOT NEW.transfer_ids OR '
            'OLD.scope IS NOT NEW.scope OR OLD.sha256 IS NOT NEW.sha256 OR OLD.filename IS NOT NEW.filename OR '
            'OLD.content_type IS NOT NEW.content_type OR OLD.size IS NOT NEW.size OR OLD.recorded_at IS NOT '
            'NEW.recorded_at OR OLD.recorded_by_id IS NOT NEW.recorded_by_id BEGIN SELECT RAISE(ABORT, '
            "'transfer_consent rows are immutable'); END"]}
UNPROTECT = {'postgresql': ['DROP TRIGGER IF EXISTS disclosure_authorisation_immutable ON disclosure_authorisation',
                'DROP TRIGGER IF EXISTS disclosure_authorisation_no_delete ON disclosure_authorisation',
                'DROP TRIGGER IF EXISTS disclosure_authorisation_content_fixed ON disclosure_authorisation',
                'DROP TRIGGER IF EXISTS transfer_consent_immutable ON transfer_consent',
                'DROP TRIGGER IF EXISTS transfer_consent_no_delete ON transfer_consent',
                'DROP TRIGGER IF EXISTS transfer_consent_content_fixed ON transfer_consent'],
 'sqlite': ['DROP TRIGGER IF EXISTS disclosure_authorisation_no_update',
            'DROP TRIGGER IF EXISTS disclosure_authorisation_no_delete',
            'DROP TRIGGER IF EXISTS disclosure_authorisation_content_fixed',
            'DROP TRIGGER IF EXISTS transfer_consent_no_update',
            'DROP TRIGGER IF EXISTS transfer_consent_no_delete',
            'DROP TRIGGER IF EXISTS transfer_consent_content_fixed']}


def _rules(bind):
    numbers = ", ".join(f"'{number}'" for number in REQUIREMENTS)
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


def _record_columns(table):
    return [
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("withdrawn_at IS NULL OR withdrawn_reason IS NOT NULL",
                           name=op.f(f"ck_{table}_withdrawal_reason")),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete="RESTRICT",
                                name=op.f(f"fk_{table}_client_id_client")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user.id"], ondelete="RESTRICT",
                                name=op.f(f"fk_{table}_recorded_by_id_user")),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["user.id"], ondelete="RESTRICT",
                                name=op.f(f"fk_{table}_withdrawn_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade():
    op.create_table(
        "disclosure_authorisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("authorised_on", sa.Date(), nullable=False),
        *_record_columns("disclosure_authorisation"),
        sa.CheckConstraint("length(recipient) > 0", name=op.f("ck_disclosure_authorisation_recipient_not_empty")),
        sa.CheckConstraint("length(purpose) > 0", name=op.f("ck_disclosure_authorisation_purpose_not_empty")),
    )
    op.create_index("ix_disclosure_authorisation_client_id", "disclosure_authorisation", ["client_id"])
    op.create_table(
        "transfer_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("given_by", sa.String(length=200), nullable=False),
        sa.Column("countries", sa.String(length=400), nullable=False),
        sa.Column("transfer_ids", sa.String(length=400), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        *_record_columns("transfer_consent"),
        sa.CheckConstraint("length(given_by) > 0", name=op.f("ck_transfer_consent_given_by_not_empty")),
    )
    op.create_index("ix_transfer_consent_client_id", "transfer_consent", ["client_id"])
    bind = op.get_bind()
    for statement in PROTECT[bind.dialect.name]:
        op.execute(statement)
    for obligation_id, number, rule in list(_rules(bind)):
        if "requires" not in rule:
            _store(bind, obligation_id, {**rule, "requires": REQUIREMENTS[number]})


def downgrade():
    bind = op.get_bind()
    for obligation_id, number, rule in list(_rules(bind)):
        if rule.get("requires") == REQUIREMENTS[number]:
            del rule["requires"]
            _store(bind, obligation_id, rule)
    for statement in UNPROTECT[bind.dialect.name]:
        op.execute(statement)
    op.drop_index("ix_transfer_consent_client_id", table_name="transfer_consent")
    op.drop_table("transfer_consent")
    op.drop_index("ix_disclosure_authorisation_client_id", table_name="disclosure_authorisation")
    op.drop_table("disclosure_authorisation")
