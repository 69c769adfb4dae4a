"""Agents (clause 5): agent, agent_assignment, agent_attestation (write-once); clauses 5.2 and 5.3 of existing
agreements take their status from the agents

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Clause 5.2 of each agreement is decided by the agents working on it (designated, committed and trained within
12 months) and clause 5.3 by the confirmation that departed agents' access was removed. Obligations copy their
rule at creation, so the stored rules of 5.2 and 5.3 get the ``requires`` key here (as 0011 did for 6.2/6.3).
"""
import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

REQUIREMENTS = {"5.2": "agents_authorised", "5.3": "agents_access_removed"}

# Frozen SQL (no import of dpa_tracker): the write-once protection of agent_attestation.
PROTECT = {'postgresql': ['CREATE OR REPLACE FUNCTION dpa_refuse_change() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '
                "'% rows are immutable', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
                'CREATE TRIGGER agent_attestation_no_delete BEFORE DELETE ON agent_attestation FOR EACH ROW '
                'EXECUTE FUNCTION dpa_refuse_change()',
                'CREATE TRIGGER agent_attestation_content_fixed BEFORE UPDATE ON agent_attestation FOR EACH '
                'ROW WHEN (OLD.agent_id IS DISTINCT FROM NEW.agent_id OR OLD.kind IS DISTINCT FROM NEW.kind '
                'OR OLD.done_on IS DISTINCT FROM NEW.done_on OR OLD.by_whom IS DISTINCT FROM NEW.by_whom OR '
                'OLD.course IS DISTINCT FROM NEW.course OR OLD.provider IS DISTINCT FROM NEW.provider OR '
                'OLD.note IS DISTINCT FROM NEW.note OR OLD.sha256 IS DISTINCT FROM NEW.sha256 OR '
                'OLD.filename IS DISTINCT FROM NEW.filename OR OLD.content_type IS DISTINCT FROM '
                'NEW.content_type OR OLD.size IS DISTINCT FROM NEW.size OR OLD.recorded_at IS DISTINCT FROM '
                'NEW.recorded_at OR OLD.recorded_by_id IS DISTINCT FROM NEW.recorded_by_id) EXECUTE FUNCTION '
                'dpa_refuse_change()'],
 'sqlite': ['CREATE TRIGGER agent_attestation_no_delete BEFORE DELETE ON agent_attestation BEGIN SELECT '
            "RAISE(ABORT, 'agent_attestation rows are immutable'); END",
            'CREATE TRIGGER agent_attestation_content_fixed BEFORE UPDATE ON agent_attestation FOR EACH ROW '
            'WHEN OLD.agent_id IS NOT NEW.agent_id OR OLD.kind IS NOT NEW.kind OR OLD.done_on IS NOT '
            'NEW.done_on OR OLD.by_whom IS NOT NEW.by_whom OR OLD.course IS NOT NEW.course OR OLD.provider '
            'IS NOT NEW.provider OR OLD.note IS NOT NEW.note OR OLD.sha256 IS NOT NEW.sha256 OR OLD.filename '
            'IS NOT NEW.filename OR OLD.content_type IS NOT NEW.content_type OR OLD.size IS NOT NEW.size OR '
            'OLD.recorded_at IS NOT NEW.recorded_at OR OLD.recorded_by_id IS NOT NEW.recorded_by_id BEGIN '
            "SELECT RAISE(ABORT, 'agent_attestation rows are immutable'); END"]}
UNPROTECT = {'postgresql': ['DROP TRIGGER IF EXISTS agent_attestation_immutable ON agent_attestation',
                'DROP TRIGGER IF EXISTS agent_attestation_no_delete ON agent_attestation',
                'DROP TRIGGER IF EXISTS agent_attestation_content_fixed ON agent_attestation'],
 'sqlite': ['DROP TRIGGER IF EXISTS agent_attestation_no_update',
            'DROP TRIGGER IF EXISTS agent_attestation_no_delete',
            'DROP TRIGGER IF EXISTS agent_attestation_content_fixed']}


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


def upgrade():
    op.create_table(
        "agent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("function", sa.String(length=200), nullable=False),
        sa.Column("employer_kind", sa.Enum("processor", "contractor", "subprocessor", name="employer_kind",
                                           native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column("employer_name", sa.String(length=200), nullable=False),
        sa.Column("subprocessor_id", sa.Integer(), nullable=True),
        sa.Column("experience_note", sa.Text(), nullable=False),
        sa.Column("mission_ends_on", sa.Date(), nullable=True),
        sa.Column("access_removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("access_removed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("(employer_kind = 'subprocessor' AND subprocessor_id IS NOT NULL)"
                           " OR (employer_kind <> 'subprocessor' AND subprocessor_id IS NULL)",
                           name=op.f("ck_agent_subprocessor_employer")),
        sa.CheckConstraint("access_removed_at IS NULL OR mission_ends_on IS NOT NULL",
                           name=op.f("ck_agent_removal_after_mission")),
        sa.ForeignKeyConstraint(["subprocessor_id"], ["subprocessor.id"], ondelete="RESTRICT",
                                name=op.f("fk_agent_subprocessor_id_subprocessor")),
        sa.ForeignKeyConstraint(["access_removed_by_id"], ["user.id"], ondelete="RESTRICT",
                                name=op.f("fk_agent_access_removed_by_id_user")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], ondelete="RESTRICT",
                                name=op.f("fk_agent_created_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent")),
        sa.UniqueConstraint("email", name=op.f("uq_agent_email")),
    )
    op.create_index("ix_agent_subprocessor_id", "agent", ["subprocessor_id"])
    op.create_table(
        "agent_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("since_on", sa.Date(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], ondelete="RESTRICT",
                                name=op.f("fk_agent_assignment_agent_id_agent")),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreement.id"], ondelete="RESTRICT",
                                name=op.f("fk_agent_assignment_agreement_id_agreement")),
        sa.ForeignKeyConstraint(["activity_id"], ["processing_activity.id"], ondelete="RESTRICT",
                                name=op.f("fk_agent_assignment_activity_id_processing_activity")),
        sa.ForeignKeyConstraint(["added_by_id"], ["user.id"], ondelete="RESTRICT",
                                name=op.f("fk_agent_assignment_added_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_assignment")),
        sa.UniqueConstraint("agent_id", "agreement_id", name=op.f("uq_agent_assignment_agent_id_agreement_id")),
    )
    op.create_index("ix_agent_assignment_agent_id", "agent_assignment", ["agent_id"])
    op.create_index("ix_agent_assignment_agreement_id", "agent_assignment", ["agreement_id"])
    op.create_table(
        "agent_attestation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("designation", "commitment", "training", name="attestation_kind",
                                  native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("by_whom", sa.String(length=200), nullable=False),
        sa.Column("course", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("kind <> 'training' OR (course <> '' AND provider <> '')",
                           name=op.f("ck_agent_attestation_training_course")),
        sa.CheckConstraint("withdrawn_at IS NULL OR withdrawn_reason IS NOT NULL",
                           name=op.f("ck_agent_attestation_withdrawal_reason")),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], ondelete="RESTRICT",
                                name=op.f("fk_agent_attestation_agent_id_agent")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user.id"], ondelete="RESTRICT",
                                name=op.f("fk_agent_attestation_recorded_by_id_user")),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["user.id"], ondelete="RESTRICT",
                                name=op.f("fk_agent_attestation_withdrawn_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_attestation")),
    )
    op.create_index("ix_agent_attestation_agent_id", "agent_attestation", ["agent_id"])
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
    op.drop_table("agent_attestation")
    op.drop_table("agent_assignment")
    op.drop_table("agent")
