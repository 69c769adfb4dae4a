"""Recording agents, where they work and the acts that authorise them (clause 5). Services only flush."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from dpa_tracker.agent.clause5 import (
    Authorisation,
    agent_authorisation,
    removal_pending,
    training_expiry,
    works_on,
)
from dpa_tracker.audit.services import record
from dpa_tracker.dates import check_date
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import Upload, evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agent,
    AgentAssignment,
    AgentAttestation,
    Agreement,
    AttestationKind,
    EmployerKind,
    ProcessingActivity,
    Role,
    SubProcessor,
    User,
)
from dpa_tracker.models.agent import ATTESTATION_TITLES
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import refresh_agent_obligations
from dpa_tracker.permissions import visible_client_ids
from dpa_tracker.validation import check_lines, line

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ATTENTION_DAYS = 30


@dataclass(frozen=True)
class AgentInput:
    name: str = line("Name")
    function: str = line("Role")
    employer_kind: str = "processor"
    email: str = line("E-mail", default="")
    employer_name: str = line("Employer", default="")
    subprocessor_id: int | None = None
    experience_note: str = ""
    mission_ends_on: date | None = None


@dataclass(frozen=True)
class AttestationInput:
    kind: str
    done_on: date | None
    by_whom: str = line("Designated by", default="")
    course: str = line("Course", default="")
    provider: str = line("Provider", default="")
    note: str = ""


def _check_agent(data: AgentInput) -> tuple[EmployerKind, SubProcessor | None]:
    check_lines(data)
    if not data.name.strip():
        raise DomainError("Give the agent's name.", field="name")
    if len(data.name.strip()) > 200:
        raise DomainError("The name is at most 200 characters.", field="name")
    if not data.function.strip():
        raise DomainError("Give the agent's role or function.", field="function")
    if len(data.function.strip()) > 200 or len(data.employer_name.strip()) > 200:
        raise DomainError("Role and employer are at most 200 characters.", field="function")
    email = data.email.strip().lower()
    if email and (not EMAIL.match(email) or len(email) > 254):
        raise DomainError(f"{data.email.strip()[:80]!r} is not an e-mail address.", field="email")
    try:
        kind = EmployerKind(data.employer_kind)
    except ValueError:
        choices = ", ".join(k.value for k in EmployerKind)
        raise DomainError(f"The employer is one of: {choices}.", field="employer_kind") from None
    check_date(data.mission_ends_on, "mission_ends_on")
    sub = None
    if kind is EmployerKind.SUBPROCESSOR:
        sub = db.session.get(SubProcessor, data.subprocessor_id) if data.subprocessor_id else None
        if sub is None:
            raise DomainError("Choose the sub-processor that employs the agent.", field="subprocessor_id")
    elif data.subprocessor_id is not None:
        raise DomainError("Only sub-processor staff name a sub-processor.", field="subprocessor_id")
    return kind, sub


def create_agent(actor: User | None, data: AgentInput) -> Agent:
    kind, sub = _check_agent(data)
    email = data.email.strip().lower() or None
    if email and db.session.scalar(select(exists().where(Agent.email == email))):
        raise DomainError(f"An agent with the e-mail {email} is already recorded.", field="email")
    agent = Agent(
        name=data.name.strip(),
        email=email,
        function=data.function.strip(),
        employer_kind=kind,
        employer_name=data.employer_name.strip(),
        subprocessor=sub,
        experience_note=data.experience_note.strip(),
        mission_ends_on=data.mission_ends_on,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(agent)
    db.session.flush()
    record(actor, "agent.create", agent, {"name": agent.name, "email": email, "employer": agent.employer})
    return agent


def assign(
    actor: User | None,
    agent: Agent,
    agreement: Agreement,
    scope: str,
    since_on: date | None,
    activity: ProcessingActivity | None = None,
) -> AgentAssignment:
    """Clauses 5.1, 5.3(1): the agent may work on the agreement, with this access."""
    if not scope.strip():
        raise DomainError("Say which personal data the agent may access (clause 5.1).", field="scope")
    if since_on is None:
        raise DomainError("Give the date the agent starts working on the agreement.", field="since_on")
    check_date(since_on, "since_on")
    if activity is not None and activity.client_id != agreement.client_id:
        raise DomainError("The processing activity belongs to another client.", field="activity_id")
    if any(a.agreement_id == agreement.id for a in agent.assignments):
        raise DomainError(f"{agent.name} already works on {agreement.reference}.", field="agreement_id")
    assignment = AgentAssignment(
        agent=agent,
        agreement=agreement,
        activity=activity,
        scope=scope.strip(),
        since_on=since_on,
        added_by_id=actor.id if actor else None,
    )
    db.session.add(assignment)
    db.session.flush()
    record(
        actor,
        "agent.assign",
        agent,
        {"agreement": agreement.reference, "scope": assignment.scope, "since_on": since_on},
        client_id=agreement.client_id,
    )
    refresh_agent_obligations([agreement.id])
    return assignment


def _check_attestation(agent: Agent, data: AttestationInput, today: date) -> AttestationKind:
    check_lines(data)
    try:
        kind = AttestationKind(data.kind)
    except ValueError:
        raise DomainError(f"The kind is one of: {', '.join(k.value for k in AttestationKind)}.", field="kind") from None
    if data.done_on is None:
        raise DomainError("Give the date.", field="done_on")
    check_date(data.done_on, "done_on")
    if data.done_on > today:
        raise DomainError("The date cannot be in the future: record the act once it is done.", field="done_on")
    if kind is AttestationKind.DESIGNATION and not data.by_whom.strip():
        raise DomainError("Say who designated the agent in writing.", field="by_whom")
    if kind is AttestationKind.TRAINING and not data.course.strip():
        raise DomainError("Name the training course.", field="course")
    if kind is AttestationKind.TRAINING and not data.provider.strip():
        raise DomainError("Name the training provider.", field="provider")
    for value in (data.by_whom, data.course, data.provider):
        if len(value.strip()) > 200:
            raise DomainError("Names of people, courses and providers are at most 200 characters.", field="course")
    for held in agent.attestations:
        if (
            held.withdrawn_at is None
            and held.kind is kind
            and held.done_on == data.done_on
            and held.course.casefold() == data.course.strip().casefold()
        ):
            raise DomainError(
                f"This {ATTESTATION_TITLES[kind]} of {agent.name} on {data.done_on} is already recorded.",
                field="done_on",
            )
    return kind


def add_attestation(
    actor: User | None, agent: Agent, data: AttestationInput, upload: Upload | None = None
) -> AgentAttestation:
    """Record a designation, commitment or training (write-once), its document stored by hash."""
    kind = _check_attestation(agent, data, utcnow().date())
    attestation = AgentAttestation(
        agent=agent,
        kind=kind,
        done_on=data.done_on,
        by_whom=data.by_whom.strip(),
        course=data.course.strip(),
        provider=data.provider.strip(),
        note=data.note.strip(),
        recorded_by_id=actor.id if actor else None,
    )
    if upload is not None:
        blob = evidence_store().save(upload.stream, int(current_app.config["MAX_CONTENT_LENGTH"]))
        attestation.sha256, attestation.size, attestation.content_type = blob.sha256, blob.size, blob.content_type
        attestation.filename = (upload.filename.replace("\\", "/").rsplit("/", 1)[-1] or "document")[:255]
    db.session.add(attestation)
    db.session.flush()
    record(
        actor,
        f"agent.{kind.value}",
        agent,
        {
            "attestation": attestation.id,
            "done_on": data.done_on,
            "by_whom": attestation.by_whom or None,
            "course": attestation.course or None,
            "provider": attestation.provider or None,
            "sha256": attestation.sha256,
        },
    )
    refresh_agent_obligations([a.agreement_id for a in agent.assignments])
    return attestation


def withdraw_attestation(actor: User, attestation: AgentAttestation, reason: str) -> AgentAttestation:
    """A mistaken record is withdrawn with who, when and why; it still counts for the days before."""
    if not reason.strip():
        raise DomainError("Say why the record is withdrawn.", field="reason")
    if attestation.withdrawn_at is not None:
        raise DomainError("This record is already withdrawn.", field="reason")
    attestation.withdrawn_at, attestation.withdrawn_by_id = utcnow(), actor.id
    attestation.withdrawn_reason = reason.strip()
    db.session.flush()
    record(actor, "agent.withdraw", attestation.agent, {"attestation": attestation.id, "reason": reason.strip()})
    refresh_agent_obligations([a.agreement_id for a in attestation.agent.assignments])
    return attestation


def end_mission(actor: User, agent: Agent, ends_on: date | None, removed: bool) -> Agent:
    """Clause 5.3(3): the mission's end, and the confirmation that the agent's access was removed."""
    if ends_on is None:
        raise DomainError("Give the last day of the mission.", field="mission_ends_on")
    check_date(ends_on, "mission_ends_on")
    now = utcnow()
    if removed and ends_on > now.date():
        raise DomainError("Access removal is confirmed once the mission has ended.", field="removed")
    if agent.access_removed_at is not None and ends_on != agent.mission_ends_on:
        raise DomainError("Access removal is already confirmed for the recorded end.", field="mission_ends_on")
    changes: dict[str, object] = {}
    if agent.mission_ends_on != ends_on:
        changes["mission_ends_on"] = [agent.mission_ends_on, ends_on]
        agent.mission_ends_on = ends_on
    if removed and agent.access_removed_at is None:
        agent.access_removed_at, agent.access_removed_by_id = now, actor.id
        changes["access_removed_at"] = [None, now]
    if not changes:
        return agent
    db.session.flush()
    record(actor, "agent.mission", agent, changes)
    refresh_agent_obligations([a.agreement_id for a in agent.assignments])
    return agent


# --- reading -------------------------------------------------------------------------------------------------


def visible_agents_query(user: User):  # type: ignore[no-untyped-def]
    """Staff see every agent; a client or an auditor only the agents of the agreements of its clients."""
    stmt = select(Agent).options(
        selectinload(Agent.attestations),
        selectinload(Agent.assignments).selectinload(AgentAssignment.agreement).selectinload(Agreement.client),
        selectinload(Agent.subprocessor),
    )
    ids = visible_client_ids(user)
    if ids is not None:
        stmt = stmt.where(
            Agent.id.in_(
                select(AgentAssignment.agent_id)
                .join(Agreement, Agreement.id == AgentAssignment.agreement_id)
                .where(Agreement.client_id.in_(sorted(ids)))
            )
        )
    return stmt.order_by(Agent.name, Agent.id)


def visible_assignments(user: User, agent: Agent) -> list[AgentAssignment]:
    ids = visible_client_ids(user)
    return [a for a in agent.assignments if ids is None or a.agreement.client_id in ids]


def get_visible_agent(user: User, agent_id: int) -> Agent | None:
    """The agent if ``user`` may see it (another tenant's answers None, shown as 404)."""
    return db.session.scalars(visible_agents_query(user).where(Agent.id == agent_id)).first()


@dataclass(frozen=True)
class AgentRow:
    agent: Agent
    assignments: list[AgentAssignment]
    status: Authorisation
    working: bool  # works on at least one (visible) agreement on the date
    removal_pending: bool

    @property
    def expiring(self) -> bool:
        expires = self.status.training_expires_on
        return expires is not None and self.status.authorised and expires <= self.as_of_plus

    as_of_plus: date = date.min


def agent_rows(
    user: User,
    as_of: date,
    *,
    agreement_id: int | None = None,
    authorised: bool | None = None,
    expiring: bool = False,
) -> list[AgentRow]:
    """The register as ``user`` may see it on ``as_of``, filtered; one query set, no query per agent."""
    stmt = visible_agents_query(user)
    if agreement_id is not None:
        stmt = stmt.where(
            Agent.id.in_(select(AgentAssignment.agent_id).where(AgentAssignment.agreement_id == agreement_id))
        )
    rows = []
    horizon = as_of + timedelta(days=ATTENTION_DAYS)
    for agent in db.session.scalars(stmt).unique():
        mine = visible_assignments(user, agent)
        status = agent_authorisation(agent, as_of)
        row = AgentRow(
            agent, mine, status, any(works_on(a, as_of) for a in mine), removal_pending(agent, as_of), horizon
        )
        if authorised is not None and status.authorised is not authorised:
            continue
        if expiring and not row.expiring:
            continue
        rows.append(row)
    return rows


def agents_needing_attention(user: User, as_of: date) -> list[tuple[AgentRow, str]]:
    """For the dashboard: agents whose training expires within 30 days, agents working on an agreement
    without being authorised, and departed agents whose access removal is not confirmed; with why."""
    found = []
    for row in agent_rows(user, as_of):
        if row.working and not row.status.authorised:
            found.append((row, "; ".join(row.status.missing)))
        elif row.working and row.expiring:
            found.append((row, f"training expires on {row.status.training_expires_on}"))
        elif row.removal_pending:
            found.append((row, f"mission ended on {row.agent.mission_ends_on}; access removal not confirmed"))
    return found


def training_expiry_of(attestation: AgentAttestation) -> date | None:
    return training_expiry(attestation.done_on) if attestation.kind is AttestationKind.TRAINING else None


def agreements_for_choice(user: User) -> Sequence[Agreement]:
    stmt = select(Agreement).options(selectinload(Agreement.client)).order_by(Agreement.reference)
    ids = visible_client_ids(user)
    if ids is not None:
        stmt = stmt.where(Agreement.client_id.in_(sorted(ids)))
    return db.session.scalars(stmt).all()


def is_staff(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.COMPLIANCE)
