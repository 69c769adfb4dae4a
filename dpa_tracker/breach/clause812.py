"""Clause 8.1(2): contain, remedy and investigate each breach, within 30 days of awareness.

For each breach event of an agreement's clause 8.1 (``breach_agreement``), 8.1(2) reads the breach's actions:
a kind (containment, remedy, investigation) is done when an action of that kind was done (done on a date, with
its evidence, recorded done by the day assessed: an action marked done later counts from that day, its evidence
never predating the record); the breach is contained, remedied and investigated when all three
kinds are, on the latest of their first done dates (counted from 00:00 UTC that day: actions carry dates, not
times). That moment answers the event's clock: within 30 days of awareness ``met``, after it ``late``; a kind not
done leaves the event open, ``overdue`` once the 30 days have run, the reason naming the open actions (or the
kind with no action recorded). Events of 8.1 without a breach record keep the evidence linked to them; evidence
linked to no event (the incident-handling procedure) is the readiness evidence as before."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dpa_tracker.extensions import db
from dpa_tracker.models import ActionKind, Breach, BreachAgreement, Obligation

ACTIONS_RULE = "breach_actions"  # clause 8.1(2)
KIND_WORDS = {
    ActionKind.CONTAINMENT: "containment",
    ActionKind.REMEDY: "remedy",
    ActionKind.INVESTIGATION: "investigation",
}


@dataclass(frozen=True)
class ActionsEvidence:
    """A breach's actions seen by the status engine as the act answering its event (``EvidenceLike``)."""

    added_at: datetime
    acted_at: datetime | None
    trigger_event_id: int | None
    valid_until: date | None = None
    ended_at: datetime | None = None
    period_end: date | None = None


@dataclass(frozen=True)
class ActionInputs:
    evidence: list[ActionsEvidence]
    event_ids: set[int]  # the events decided by breach actions (their own linked evidence no longer counts)
    pending: list[str] = field(default_factory=list)  # what is not done, naming the actions


def decide(breach: Breach, event_id: int, as_of: date) -> tuple[ActionsEvidence | None, list[str]]:
    """Pure: the act answering the breach's event on ``as_of``, or what is still open."""
    known = [a for a in breach.actions if a.created_at.date() <= as_of]
    first_done: dict[ActionKind, date] = {}
    recorded: list[datetime] = []
    for action in known:
        # done as known on ``as_of``: an action marked done later counts from the day it was marked
        if (
            action.done_on is not None
            and action.done_on <= as_of
            and action.known_done_at.date() <= as_of
            and action.evidence.strip()
        ):
            if action.kind not in first_done or action.done_on < first_done[action.kind]:
                first_done[action.kind] = action.done_on
            recorded.append(action.known_done_at)
    pending: list[str] = []
    for kind, word in KIND_WORDS.items():
        if kind in first_done:
            continue
        open_actions = [a for a in known if a.kind is kind]
        if not open_actions:
            pending.append(f"breach #{breach.id}: no {word} action recorded")
        for a in open_actions:
            due = f", due {a.due_on}" if a.due_on else ""
            owner = f" ({a.owner}{due})" if a.owner else (f" ({due[2:]})" if due else "")
            pending.append(f"breach #{breach.id}: {word} “{a.description}”{owner} not done")
    if pending:
        return None, pending
    done_on = max(first_done.values())
    return ActionsEvidence(max(recorded), datetime.combine(done_on, time(), tzinfo=UTC), event_id), []


def action_inputs(
    obligations: Sequence[Obligation], as_of: date, fixed_queries: bool = False
) -> dict[int, ActionInputs]:
    """Clause 8.1(2) obligations: the engine's evidence from their agreements' breach actions (by obligation id);
    with ``fixed_queries`` the query is made even when no obligation is of clause 8.1(2)."""
    wanted = [o for o in obligations if o.rule.get("requires") == ACTIONS_RULE]
    if not wanted and not fixed_queries:
        return {}
    rows = db.session.scalars(
        select(BreachAgreement)
        .where(BreachAgreement.agreement_id.in_(sorted({o.agreement_id for o in wanted})))
        .options(selectinload(BreachAgreement.breach).selectinload(Breach.actions))
        .order_by(BreachAgreement.id)
    ).all()
    by_agreement: dict[int, list[BreachAgreement]] = defaultdict(list)
    for row in rows:
        by_agreement[row.agreement_id].append(row)
    found: dict[int, ActionInputs] = {}
    for o in wanted:
        evidence: list[ActionsEvidence] = []
        pending: list[str] = []
        for affected in by_agreement[o.agreement_id]:
            act, still_open = decide(affected.breach, affected.event_id, as_of)
            if act is not None:
                evidence.append(act)
            pending += still_open
        found[o.id] = ActionInputs(evidence, {a.event_id for a in by_agreement[o.agreement_id]}, pending)
    return found
