"""Where deadlines come from: one source function per kind, each a fixed number of queries.

A source takes the reading ``Scope`` (today, the due-soon horizon, what the reader may see and the filters a
query can apply) and returns the ``Deadline`` rows of its kind that are overdue or due within the horizon.
Adding a kind is one more function in ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import contains_eager, selectinload

from dpa_tracker.agent.clause5 import agent_authorisation
from dpa_tracker.dsr.services import forward_due_at
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    ActionStatus,
    Agent,
    AgentAssignment,
    Agreement,
    AgreementStatus,
    AnswerState,
    AuditEngagement,
    Breach,
    BreachAgreement,
    ChangeKind,
    DataSubjectRequest,
    DeletionTask,
    DeletionWorkflow,
    DeliveryState,
    Finding,
    InspectionRequest,
    NoticeRecipient,
    Obligation,
    ObligationStatus,
    RemediationAction,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import status_expression

OVERDUE, DUE_SOON = "overdue", "due_soon"
STATE_LABELS = {OVERDUE: "Overdue", DUE_SOON: "Due soon"}
TRAINING_HORIZON_DAYS = 30  # trainings are shown 30 days before they lapse (clause 5.2(2))


@dataclass(frozen=True)
class Deadline:
    """One dated thing someone must do, as every face (page, API, iCalendar, digest) shows it."""

    kind: str  # a key of KINDS
    ref: str  # the object it is about, stable across runs: the calendar event's UID
    when: date  # the last day (for a clock in hours: the day of ``at``)
    at: datetime | None  # the exact moment, for clocks counted in hours (breach notification)
    title: str
    client_id: int
    client_name: str
    agreement_id: int | None
    agreement_reference: str
    owner_id: int | None
    owner_name: str
    endpoint: str  # the page that shows it: url_for(endpoint, **{arg: object_id})
    arg: str
    object_id: int
    state: str  # overdue | due_soon

    @classmethod
    def of(
        cls,
        agreement: Agreement,
        *,
        kind: str,
        ref: str,
        when: date,
        title: str,
        endpoint: str,
        arg: str,
        object_id: int,
        state: str,
        at: datetime | None = None,
        owner_id: int | None = None,
        owner_name: str = "",
    ) -> Deadline:
        """A deadline about ``agreement``: its client and reference filled from it (the client loaded)."""
        return cls(
            kind=kind,
            ref=ref,
            when=when,
            at=at,
            title=title,
            client_id=agreement.client_id,
            client_name=agreement.client.legal_name,
            agreement_id=agreement.id,
            agreement_reference=agreement.reference,
            owner_id=owner_id,
            owner_name=owner_name,
            endpoint=endpoint,
            arg=arg,
            object_id=object_id,
            state=state,
        )

    @property
    def key(self) -> str:
        """What a reminder remembers: the object and its date (a new period is a new deadline)."""
        return f"{self.ref}:{self.when.isoformat()}"


@dataclass(frozen=True)
class Scope:
    """What a source reads: as of ``now``, up to ``horizon`` days ahead, within ``visible`` (a WHERE clause on
    ``Agreement.client_id``), narrowed by a client and an owner when given."""

    now: datetime
    horizon: int
    soon_window: int  # the due-soon window of obligations (DUE_SOON_DAYS)
    visible: ColumnElement[bool]
    client_id: int | None = None
    owner_id: int | None = None

    @property
    def day(self) -> date:
        return self.now.date()

    @property
    def until(self) -> date:
        return self.day + timedelta(days=self.horizon)

    def agreements(self) -> list[ColumnElement[bool]]:
        where = [self.visible, Agreement.status != AgreementStatus.DRAFT]
        if self.client_id is not None:
            where.append(Agreement.client_id == self.client_id)
        return where

    def state_of(self, when: date) -> str:
        return OVERDUE if when < self.day else DUE_SOON


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=utcnow().tzinfo)


def obligations_due(scope: Scope) -> list[Deadline]:
    """Obligations overdue or due soon, read from the cached projection like the dashboard list (one query)."""
    status = status_expression(scope.day, scope.soon_window)
    stmt = (
        select(Obligation, status)
        .join(Obligation.agreement)
        .join(Agreement.client)
        .where(
            *scope.agreements(),
            status.in_([ObligationStatus.OVERDUE.value, ObligationStatus.DUE_SOON.value]),
            Obligation.cached_due_on <= scope.until,
        )
        .options(contains_eager(Obligation.agreement).contains_eager(Agreement.client), selectinload(Obligation.owner))
    )
    if scope.owner_id is not None:
        stmt = stmt.where(Obligation.owner_id == scope.owner_id)
    found = []
    for obligation, state in db.session.execute(stmt):
        due = obligation.cached_due_on
        if due is None:
            continue
        agreement = obligation.agreement
        found.append(
            Deadline.of(
                agreement,
                kind="obligation",
                ref=f"obligation-{obligation.id}",
                when=due,
                title=f"Clause {obligation.clause_number} {obligation.title}",
                endpoint="obligation.detail",
                arg="obligation_id",
                object_id=obligation.id,
                state=OVERDUE if state == ObligationStatus.OVERDUE.value else DUE_SOON,
                owner_id=obligation.owner_id,
                owner_name=obligation.owner.display_name if obligation.owner else "",
            )
        )
    return found


def notice_answers(scope: Scope) -> list[Deadline]:
    """Clause 6.1: change notices still waiting for the client's answer, by their objection deadline (one
    query). A deadline passed under a general authorisation binds the client by silence: it is no longer
    something to do, so only today and later are listed."""
    if scope.owner_id is not None:
        return []
    stmt = (
        select(NoticeRecipient)
        .join(NoticeRecipient.agreement)
        .join(Agreement.client)
        .where(
            *scope.agreements(),
            NoticeRecipient.state == AnswerState.PENDING,
            NoticeRecipient.objection_deadline >= scope.day,
            NoticeRecipient.objection_deadline <= scope.until,
        )
        .options(
            contains_eager(NoticeRecipient.agreement).contains_eager(Agreement.client),
            selectinload(NoticeRecipient.notice),
        )
    )
    return [
        Deadline.of(
            r.agreement,
            kind="notice_answer",
            ref=f"notice-recipient-{r.id}",
            when=r.objection_deadline,
            title=f"Answer to sub-processor change notice #{r.notice_id} (clause 6.1)",
            endpoint="subprocessor.client_notices",
            arg="client_id",
            object_id=r.agreement.client_id,
            state=DUE_SOON,
        )
        for r in db.session.scalars(stmt)
        if r.notice.kind is not ChangeKind.REMOVE
    ]


def breach_clocks(scope: Scope) -> list[Deadline]:
    """Clause 8.1: each affected agreement not yet notified, its target = awareness + the agreement's hours
    (one query for the clocks, one for their notices)."""
    if scope.owner_id is not None:
        return []
    stmt = (
        select(BreachAgreement)
        .join(BreachAgreement.agreement)
        .join(Agreement.client)
        .join(BreachAgreement.breach)
        .where(*scope.agreements())
        .options(
            contains_eager(BreachAgreement.agreement).contains_eager(Agreement.client),
            contains_eager(BreachAgreement.breach),
            selectinload(BreachAgreement.notices),
        )
    )
    found = []
    for affected in db.session.scalars(stmt).unique():
        if any(n.state is DeliveryState.SENT for n in affected.notices):
            continue
        breach: Breach = affected.breach
        target = breach.aware_at + timedelta(hours=affected.agreement.breach_notice_hours)
        if target.date() > scope.until:
            continue
        found.append(
            Deadline.of(
                affected.agreement,
                kind="breach_clock",
                ref=f"breach-agreement-{affected.id}",
                when=target.date(),
                title=f"Notify breach #{breach.id} to the client (clause 8.1)",
                endpoint="breach.detail",
                arg="breach_id",
                object_id=breach.id,
                state=OVERDUE if target < scope.now else DUE_SOON,
                at=target,
            )
        )
    return found


def trainings_expiring(scope: Scope) -> list[Deadline]:
    """Clause 5.2(2): agents working on an agreement whose training lapses within 30 days, or has lapsed
    (one query for the assignments, one for the agents' attestations). Per agreement, so a client sees only
    the agents working on its own agreements."""
    if scope.owner_id is not None:
        return []
    until = min(scope.until, scope.day + timedelta(days=TRAINING_HORIZON_DAYS))
    stmt = (
        select(AgentAssignment)
        .join(AgentAssignment.agreement)
        .join(Agreement.client)
        .join(AgentAssignment.agent)
        .where(*scope.agreements(), Agent.access_removed_at.is_(None))
        .options(
            contains_eager(AgentAssignment.agreement).contains_eager(Agreement.client),
            contains_eager(AgentAssignment.agent).selectinload(Agent.attestations),
        )
    )
    found = []
    for assignment in db.session.scalars(stmt).unique():
        agent = assignment.agent
        if agent.mission_ends_on is not None and agent.mission_ends_on < scope.day:
            continue
        expires = agent_authorisation(agent, scope.day).training_expires_on
        if expires is None or expires > until:
            continue
        agreement = assignment.agreement
        found.append(
            Deadline.of(
                agreement,
                kind="training",
                ref=f"agent-{agent.id}-agreement-{agreement.id}",
                when=expires,
                title=f"Training of {agent.name} lapses (clause 5.2(2))",
                endpoint="agent.detail",
                arg="agent_id",
                object_id=agent.id,
                state=scope.state_of(expires),
            )
        )
    return found


def request_forwarding(scope: Scope) -> list[Deadline]:
    """Clause 9.1: data-subject requests not yet forwarded to the client, by their target (one query for the
    requests, one for their notices)."""
    if scope.owner_id is not None:
        return []
    stmt = (
        select(DataSubjectRequest)
        .join(DataSubjectRequest.agreement)
        .join(Agreement.client)
        .where(*scope.agreements())
        .options(
            contains_eager(DataSubjectRequest.agreement).contains_eager(Agreement.client),
            selectinload(DataSubjectRequest.notices),
        )
    )
    found = []
    for request in db.session.scalars(stmt).unique():
        if any(n.state is DeliveryState.SENT for n in request.notices):
            continue
        target = forward_due_at(request)  # working days on the processor's calendar, as the engine counts
        if target.date() > scope.until:
            continue
        found.append(
            Deadline.of(
                request.agreement,
                kind="dsr_forward",
                ref=f"request-{request.id}",
                when=target.date(),
                title=f"Forward data-subject request #{request.id} to the client (clause 9.1)",
                endpoint="dsr.request_detail",
                arg="request_id",
                object_id=request.id,
                state=OVERDUE if target < scope.now else DUE_SOON,
                at=target,
            )
        )
    return found


def remediation_actions(scope: Scope) -> list[Deadline]:
    """Clause 11.2: remediation actions of audit findings still open, by their due date (one query, the
    owners with it); a finding closed with its evidence ends its actions' deadlines too."""
    stmt = (
        select(RemediationAction, Finding, InspectionRequest, Agreement)
        .join(RemediationAction.finding)
        .join(Finding.engagement)
        .join(AuditEngagement.inspection)
        .join(InspectionRequest.agreement)
        .where(
            *scope.agreements(),
            RemediationAction.status == ActionStatus.OPEN,
            RemediationAction.due_on <= scope.until,
        )
        .options(
            selectinload(RemediationAction.owner),
            selectinload(Finding.closure),
            selectinload(Agreement.client),
        )
    )
    if scope.owner_id is not None:
        stmt = stmt.where(RemediationAction.owner_id == scope.owner_id)
    found = []
    for action, finding, inspection, agreement in db.session.execute(stmt):
        if not finding.open_on(scope.day):
            continue
        found.append(
            Deadline.of(
                agreement,
                kind="remediation",
                ref=f"remediation-{action.id}",
                when=action.due_on,
                title=f"Audit finding #{finding.id} remediation: {action.description}",
                endpoint="inspection.detail",
                arg="inspection_id",
                object_id=inspection.id,
                state=scope.state_of(action.due_on),
                owner_id=action.owner_id,
                owner_name=action.owner.display_name,
            )
        )
    return found


def deletion_tasks(scope: Scope) -> list[Deadline]:
    """Clause 13: deletion tasks of ended agreements not done yet, due with their workflow (one query for the
    tasks, one for their completions)."""
    if scope.owner_id is not None:
        return []
    stmt = (
        select(DeletionTask, DeletionWorkflow, Agreement)
        .join(DeletionTask.workflow)
        .join(DeletionWorkflow.agreement)
        .where(*scope.agreements(), DeletionWorkflow.due_on <= scope.until)
        .options(selectinload(DeletionTask.completion), selectinload(Agreement.client))
        .order_by(DeletionTask.position)
    )
    found = []
    for task, workflow, agreement in db.session.execute(stmt):
        if task.done_on_day(scope.day) is not None:
            continue
        found.append(
            Deadline.of(
                agreement,
                kind="deletion_task",
                ref=f"deletion-task-{task.id}",
                when=workflow.due_on,
                title=f"Delete the client's data at the end (clause 13): {task.place}",
                endpoint="deletion.workflow",
                arg="agreement_id",
                object_id=agreement.id,
                state=scope.state_of(workflow.due_on),
            )
        )
    return found


Source = Callable[[Scope], list[Deadline]]

KINDS: dict[str, tuple[str, Source]] = {
    "obligation": ("Obligation due", obligations_due),
    "notice_answer": ("Change notice answer", notice_answers),
    "breach_clock": ("Breach notification clock", breach_clocks),
    "training": ("Agent training lapsing", trainings_expiring),
    "dsr_forward": ("Data-subject request to forward", request_forwarding),
    "remediation": ("Audit remediation action", remediation_actions),
    "deletion_task": ("Deletion task at the end", deletion_tasks),
}


def collect(scope: Scope, kinds: list[str] | None = None) -> list[Deadline]:
    """Every deadline of the chosen kinds (all by default), soonest first."""
    found = [d for kind, (_, source) in KINDS.items() if kinds is None or kind in kinds for d in source(scope)]
    return sorted(found, key=lambda d: (d.when, d.at or _end_of(d.when), d.client_name, d.kind, d.ref))
