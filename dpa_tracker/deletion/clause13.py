"""Clause 13: once an agreement has an end-of-contract workflow, its deletion tasks decide the clause.

The tasks known on the day assessed (completion recorded by then, done by then) answer the deadline together:
when every task is done, the deletion was done on the last task's date, which the engine compares with the due
date (end + ``deletion_days``): within it ``met``, after it ``late``. A task still open leaves the clause open,
``overdue`` once the due date has passed, the reason naming the open tasks. The obligation's own evidence no longer
counts (a document cannot stand in for an open task). An agreement ended before workflows existed has none and
keeps the evidence-based rule. The "processing stopped" check (``requires: processing_stopped``) still applies."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import select

from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    DeletionTask,
    DeletionTaskCompletion,
    DeletionWorkflow,
    Obligation,
)


@dataclass(frozen=True)
class DeletionEvidence:
    """All of a workflow's tasks, seen by the status engine as the act answering clause 13 (``EvidenceLike``)."""

    added_at: datetime
    acted_at: datetime | None
    trigger_event_id: int | None = None
    valid_until: date | None = None
    ended_at: datetime | None = None
    period_end: date | None = None


@dataclass(frozen=True)
class DeletionInputs:
    evidence: list[DeletionEvidence]
    pending: list[str] = field(default_factory=list)  # the open tasks, named


def task_label(task: DeletionTask) -> str:
    return f"{task.kind.value.replace('_', ' ')}: {task.place}"


def known_on(completion: DeletionTaskCompletion | None, day: date) -> DeletionTaskCompletion | None:
    """The completion if it was known on ``day`` (recorded by then, done by then)."""
    if completion is None or completion.recorded_at.date() > day or completion.done_on > day:
        return None
    return completion


def decide(tasks: Sequence[tuple[DeletionTask, DeletionTaskCompletion | None]], as_of: date) -> DeletionInputs:
    """Pure: the act answering clause 13 on ``as_of`` (every task done), or the tasks still open."""
    done = [(t, known_on(c, as_of)) for t, c in tasks]
    pending = [task_label(t) for t, c in done if c is None]
    if pending or not done:
        return DeletionInputs([], pending or ["no deletion task recorded"])
    completions = [c for _, c in done if c is not None]
    last = max(c.done_on for c in completions)
    recorded = max(c.recorded_at for c in completions)
    return DeletionInputs([DeletionEvidence(recorded, datetime.combine(last, time(), tzinfo=UTC))])


def deletion_inputs(
    obligations: Sequence[Obligation], as_of: date, fixed_queries: bool = False
) -> dict[int, DeletionInputs | None]:
    """Clause 13 obligations: the engine's inputs from their agreement's workflow (by obligation id; None when the
    agreement has no workflow), in one query; none when no clause 13 obligation is given (with ``fixed_queries``
    the query is made even then, so that a page's statement count does not depend on which clauses it lists)."""
    wanted = [o for o in obligations if o.rule.get("type") == "deadline" and o.rule.get("after") == "agreement_end"]
    if not wanted and not fixed_queries:
        return {}
    tasks: dict[int, list[tuple[DeletionTask, DeletionTaskCompletion | None]]] = defaultdict(list)
    rows = db.session.execute(
        select(DeletionWorkflow.agreement_id, DeletionTask, DeletionTaskCompletion)
        .join(DeletionTask, DeletionTask.workflow_id == DeletionWorkflow.id)
        .outerjoin(DeletionTaskCompletion, DeletionTaskCompletion.task_id == DeletionTask.id)
        .where(DeletionWorkflow.agreement_id.in_(sorted({o.agreement_id for o in wanted})))
        .order_by(DeletionTask.workflow_id, DeletionTask.position)
    ).all()
    for agreement_id, task, completion in rows:
        tasks[agreement_id].append((task, completion))
    return {o.id: decide(tasks[o.agreement_id], as_of) if o.agreement_id in tasks else None for o in wanted}


def processing_refused(client_id: int, day: date) -> str | None:
    """Clause 13: after an agreement of the client ended, no new processing is recorded for it unless another
    agreement of the client is in force. The reason it is refused, or None."""
    agreements = db.session.execute(
        select(Agreement.reference, Agreement.effective_on, Agreement.ends_on, Agreement.status).where(
            Agreement.client_id == client_id, Agreement.status != AgreementStatus.DRAFT
        )
    ).all()
    ended = [(ref, ends) for ref, _eff, ends, _s in agreements if ends is not None and ends < day]
    in_force = [ref for ref, eff, ends, _s in agreements if eff <= day and (ends is None or ends >= day)]
    if not ended or in_force:
        return None
    ref, ends = max(ended, key=lambda pair: pair[1])
    return (
        f"Agreement {ref} ended on {ends} and no other agreement of this client is in force: "
        "clause 13 forbids new processing for it."
    )
