"""Clause 5: when an agent is authorised, and how clauses 5.2 and 5.3 of an agreement follow from its agents.

An agent is *authorised* on a date when, as documented on that date, they were designated in writing (5.2(3))
and committed in writing to confidentiality (5.2(4)) on or before it, trained within the last 12 months (5.2(2):
a training on T counts up to and including T + 12 months, never before T), and their mission has not ended
(5.3(3)). ``authorisation`` is pure; the rest reads the database.

Clause 5.2 of an agreement is decided by the agents working on it on the date (assigned by then, mission not
ended): none recorded is not compliance; one agent not authorised makes it overdue, naming the agent and what
is missing; all authorised makes it met until the first training expires. Clause 5.3 is not met while an agent
whose mission ended has no confirmation that their access was removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from dpa_tracker.extensions import db
from dpa_tracker.models import Agent, AgentAssignment, AgentAttestation, AttestationKind, Obligation
from dpa_tracker.obligation.status import add_months

TRAINING_MONTHS = 12
AUTHORISED_RULE = "agents_authorised"  # clause 5.2
REMOVAL_RULE = "agents_access_removed"  # clause 5.3
RULES = (AUTHORISED_RULE, REMOVAL_RULE)


@dataclass(frozen=True)
class Authorisation:
    authorised: bool
    missing: tuple[str, ...]  # what stops it, each naming the agent
    training_expires_on: date | None  # the last day the latest training counts


def training_expiry(trained_on: date) -> date:
    return add_months(trained_on, TRAINING_MONTHS)


def authorisation(
    name: str,
    designations: Iterable[date],
    commitments: Iterable[date],
    trainings: Iterable[date],
    mission_ends_on: date | None,
    as_of: date,
) -> Authorisation:
    """Is the agent authorised on ``as_of``? Takes the dates of the attestations documented on that date."""
    missing: list[str] = []
    if not any(d <= as_of for d in designations):
        missing.append(f"no written designation of {name} on or before {as_of}")
    if not any(d <= as_of for d in commitments):
        missing.append(f"no signed confidentiality commitment of {name} on or before {as_of}")
    done = [d for d in trainings if d <= as_of]
    expires = training_expiry(max(done)) if done else None
    if expires is None:
        missing.append(f"no training of {name} on or before {as_of}")
    elif expires < as_of:
        missing.append(f"training of {name} expired on {expires}")
    if mission_ends_on is not None and mission_ends_on < as_of:
        missing.append(f"mission of {name} ended on {mission_ends_on}")
    return Authorisation(not missing, tuple(missing), expires)


def agent_authorisation(agent: Agent | AgentFacts, as_of: date) -> Authorisation:
    """``authorisation`` of a loaded agent, counting the attestations recorded by ``as_of`` and not withdrawn."""
    dates: dict[AttestationKind, list[date]] = defaultdict(list)
    for attestation in agent.attestations:
        if attestation.counts_on(as_of):
            dates[attestation.kind].append(attestation.done_on)
    return authorisation(
        agent.name,
        dates[AttestationKind.DESIGNATION],
        dates[AttestationKind.COMMITMENT],
        dates[AttestationKind.TRAINING],
        agent.mission_ends_on,
        as_of,
    )


def works_on(assignment: AgentAssignment | AssignmentFacts, as_of: date) -> bool:
    """The agent works on the agreement on ``as_of``: assigned (and recorded) by then, mission not ended."""
    ends = assignment.agent.mission_ends_on
    return assignment.since_on <= as_of and assignment.added_at.date() <= as_of and (ends is None or ends >= as_of)


def removal_pending(agent: Agent | AgentFacts, as_of: date) -> bool:
    """Clause 5.3(3): the mission ended before ``as_of`` and no removal of access was confirmed by then."""
    if agent.mission_ends_on is None or agent.mission_ends_on >= as_of:
        return False
    return agent.access_removed_at is None or agent.access_removed_at.date() > as_of


@dataclass(frozen=True)
class AttestationFacts:
    kind: AttestationKind
    done_on: date
    recorded_at: datetime
    withdrawn_at: datetime | None

    def counts_on(self, day: date) -> bool:
        return self.recorded_at.date() <= day and (self.withdrawn_at is None or self.withdrawn_at.date() > day)


@dataclass
class AgentFacts:
    id: int
    name: str
    mission_ends_on: date | None
    access_removed_at: datetime | None
    attestations: list[AttestationFacts] = field(default_factory=list)


@dataclass(frozen=True)
class AssignmentFacts:
    agreement_id: int
    since_on: date
    added_at: datetime
    agent: AgentFacts


def assignments_for(agreement_ids: Iterable[int], fixed_queries: bool = False) -> dict[int, list[AssignmentFacts]]:
    """{agreement id: its assignments with their agents' facts}, in two plain queries (no ORM objects: an
    import of thousands of agents re-assesses its agreements quickly); the second only when there are agents,
    the first even without agreements if ``fixed_queries``."""
    ids = sorted(set(agreement_ids))
    found: dict[int, list[AssignmentFacts]] = {i: [] for i in ids}
    if not ids and not fixed_queries:
        return found
    agents: dict[int, AgentFacts] = {}
    rows = db.session.execute(
        select(
            AgentAssignment.agreement_id,
            AgentAssignment.since_on,
            AgentAssignment.added_at,
            Agent.id,
            Agent.name,
            Agent.mission_ends_on,
            Agent.access_removed_at,
        )
        .join(Agent, Agent.id == AgentAssignment.agent_id)
        .where(AgentAssignment.agreement_id.in_(ids))
        .order_by(AgentAssignment.id)
    ).all()
    for agreement_id, since_on, added_at, agent_id, name, ends_on, removed_at in rows:
        agent = agents.setdefault(agent_id, AgentFacts(agent_id, name, ends_on, removed_at))
        found[agreement_id].append(AssignmentFacts(agreement_id, since_on, added_at, agent))
    if agents:
        of_these = select(AgentAssignment.agent_id).where(AgentAssignment.agreement_id.in_(ids))
        for agent_id, kind, done_on, recorded_at, withdrawn_at in db.session.execute(
            select(
                AgentAttestation.agent_id,
                AgentAttestation.kind,
                AgentAttestation.done_on,
                AgentAttestation.recorded_at,
                AgentAttestation.withdrawn_at,
            ).where(AgentAttestation.agent_id.in_(of_these))
        ):
            agents[agent_id].attestations.append(AttestationFacts(kind, done_on, recorded_at, withdrawn_at))
    return found


@dataclass(frozen=True)
class AgentsEvidence:
    """The agents' attestations seen by the status engine as one piece of evidence (``EvidenceLike``)."""

    added_at: datetime
    valid_until: date | None
    ended_at: datetime | None = None
    period_end: date | None = None
    trigger_event_id: int | None = None
    acted_at: datetime | None = None


@dataclass(frozen=True)
class AgentInputs:
    evidence: list[AgentsEvidence]
    blockers: list[str]
    summary: str = ""
    none_recorded: bool = False
    names: list[str] = field(default_factory=list)


def _decide_authorised(assignments: Sequence[AssignmentFacts], as_of: date) -> AgentInputs:
    working = [a for a in assignments if works_on(a, as_of)]
    if not working:
        return AgentInputs([], [], none_recorded=True)
    blockers: list[str] = []
    expiries: list[date] = []
    recorded: list[datetime] = []
    for assignment in working:
        result = agent_authorisation(assignment.agent, as_of)
        if not result.authorised:
            text = "; ".join(result.missing)
            blockers.append(text[0].upper() + text[1:])
            continue
        if result.training_expires_on is not None:
            expiries.append(result.training_expires_on)
        recorded += [a.recorded_at for a in assignment.agent.attestations if a.counts_on(as_of)]
    names = [a.agent.name for a in working]
    if blockers:
        return AgentInputs([], blockers, names=names)
    summary = f"All {len(names)} agent(s) designated, committed and trained: {', '.join(names)}"
    return AgentInputs([AgentsEvidence(max(recorded), min(expiries))], [], summary, names=names)


def clause5_inputs(
    obligations: Sequence[Obligation], as_of: date, fixed_queries: bool = False
) -> tuple[dict[int, AgentInputs], dict[int, list[str]]]:
    """For many obligations, with the agents loaded once: the clause 5.2 inputs by obligation id and the
    clause 5.3(3) blockers by agreement id. No query when none of them is a clause 5.2 or 5.3(3) obligation;
    with ``fixed_queries`` the assignments query is made even then (a page's statement count then does not
    depend on whether it lists those clauses)."""
    authorised = [o for o in obligations if o.rule.get("requires") == AUTHORISED_RULE]
    removal = {o.agreement_id for o in obligations if o.rule.get("requires") == REMOVAL_RULE}
    if not authorised and not removal and not fixed_queries:
        return {}, {}
    by_agreement = assignments_for({o.agreement_id for o in authorised} | removal, fixed_queries)
    inputs = {o.id: _decide_authorised(by_agreement[o.agreement_id], as_of) for o in authorised}
    return inputs, {agreement_id: _removal(by_agreement[agreement_id], as_of) for agreement_id in removal}


def agent_inputs(obligations: Sequence[Obligation], as_of: date) -> dict[int, AgentInputs]:
    """Clause 5.2 obligations: the engine's evidence and blockers from their agreements' agents on ``as_of``."""
    wanted = [o for o in obligations if o.rule.get("requires") == AUTHORISED_RULE]
    return clause5_inputs(wanted, as_of)[0]


def _removal(assignments: Sequence[AssignmentFacts], as_of: date) -> list[str]:
    return [
        f"Mission of {a.agent.name} ended on {a.agent.mission_ends_on}; "
        "removal of their access is not confirmed (clause 5.3(3))"
        for a in assignments
        if a.added_at.date() <= as_of and removal_pending(a.agent, as_of)
    ]


def removal_blockers(agreement_ids: Iterable[int], as_of: date) -> dict[int, list[str]]:
    """Clause 5.3(3): per agreement, one blocker per agent whose access removal is not confirmed."""
    return {agreement_id: _removal(found, as_of) for agreement_id, found in assignments_for(agreement_ids).items()}
