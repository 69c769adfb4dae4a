"""Recording breaches (clause 8.3), the agreements they touch (each starts a clause 8.1 clock) and the
containment, remedy and investigation actions of clause 8.1(2). Services flush; the caller commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from dpa_tracker.audit.services import record
from dpa_tracker.dates import check_date
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence, evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    ActionKind,
    Agent,
    Agreement,
    AgreementStatus,
    Breach,
    BreachAction,
    BreachAgreement,
    BreachNature,
    DeliveryState,
    Obligation,
    RiskLevel,
    SubProcessor,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.events import record_event
from dpa_tracker.obligation.services import refresh_breach_action_obligations
from dpa_tracker.permissions import client_filter
from dpa_tracker.validation import check_lines, line

NOTICE_CLAUSE = "8.1"
REGISTER_CLAUSE = "8.3"


@dataclass(frozen=True)
class BreachInput:
    title: str = line("Title")
    occurred_at: datetime | None = None
    detected_at: datetime | None = None
    aware_at: datetime | None = None
    natures: Sequence[str] = ()
    description: str = ""
    contact_point: str = ""
    systems: str = ""
    agents: str = ""
    data_subject_categories: str = ""
    data_subjects_approx: int | None = None
    record_categories: str = ""
    records_approx: int | None = None
    likely_consequences: str = ""
    measures_taken: str = ""
    measures_proposed: str = ""
    agreement_failures: str = ""
    risk: str = RiskLevel.NOT_ASSESSED.value
    subprocessor_ids: Sequence[int] = ()
    agent_ids: Sequence[int] = ()  # the agents (clause 5) involved; ``agents`` keeps the other people
    source_subprocessor_id: int | None = None
    agreement_ids: Sequence[int] = field(default_factory=tuple)


@dataclass(frozen=True)
class ActionInput:
    kind: str
    description: str
    owner: str = line("Owner", default="")
    due_on: date | None = None
    done_on: date | None = None
    evidence: str = ""


def _moment(value: datetime | None, label: str, name: str) -> datetime:
    if value is None:
        raise DomainError(f"Give {label}.", field=name)
    if value.tzinfo is None:
        raise DomainError(f"{label[0].upper()}{label[1:]} needs a time zone.", field=name)
    check_date(value.date(), name)
    if value > utcnow():
        raise DomainError(f"{label[0].upper()}{label[1:]} cannot be in the future.", field=name)
    return value


def _count(value: int | None, name: str) -> int | None:
    if value is not None and (isinstance(value, bool) or value < 0 or value > 10**12):
        raise DomainError("An approximate number is a whole number, 0 or more.", field=name)
    return value


def agreements_for(ids: Sequence[int], visible: Sequence[Agreement]) -> list[Agreement]:
    """The agreements named by ``ids`` among those the user may see; an unknown id is an error naming it."""
    by_id = {a.id: a for a in visible}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise DomainError(f"Unknown agreement id {missing[0]}.", field="agreement_ids")
    return [by_id[i] for i in dict.fromkeys(ids)]


def _validate(data: BreachInput) -> tuple[datetime, datetime, datetime, list[str], RiskLevel]:
    check_lines(data)
    if not data.title.strip():
        raise DomainError("Give the breach a short title.", field="title")
    occurred = _moment(data.occurred_at, "when the breach happened", "occurred_at")
    detected = _moment(data.detected_at, "when it was detected", "detected_at")
    aware = _moment(data.aware_at, "when we became aware", "aware_at")
    if detected < occurred:
        raise DomainError("A breach cannot be detected before it happened.", field="detected_at")
    if aware < detected:
        raise DomainError("Awareness cannot come before detection.", field="aware_at")
    natures = list(dict.fromkeys(data.natures))
    known = {n.value for n in BreachNature}
    if not natures or any(n not in known for n in natures):
        raise DomainError(
            "Choose the nature of the breach: confidentiality, integrity and/or availability.", field="natures"
        )
    if not data.description.strip():
        raise DomainError("Describe what happened.", field="description")
    if not data.contact_point.strip():
        raise DomainError("Give the contact point the client can reach (Art. 33(3)(b)).", field="contact_point")
    try:
        risk = RiskLevel(data.risk)
    except ValueError:
        raise DomainError("Unknown risk level.", field="risk") from None
    _count(data.data_subjects_approx, "data_subjects_approx")
    _count(data.records_approx, "records_approx")
    return occurred, detected, aware, [n for n in (m.value for m in BreachNature) if n in natures], risk


def record_breach(
    actor: User,
    data: BreachInput,
    agreements: Sequence[Agreement],
    source_notice: Upload | None = None,
) -> Breach:
    """Enter a breach in the register with the agreements it touches: each gets its clause 8.1 event (the
    clock runs from awareness) and its clause 8.3 register entry (evidence, act = now)."""
    occurred, detected, aware, natures, risk = _validate(data)
    if not agreements:
        raise DomainError("Choose at least one affected agreement.", field="agreement_ids")
    subs = _subprocessors(data.subprocessor_ids)
    involved = _agents(data.agent_ids)
    source = None
    if data.source_subprocessor_id is not None:
        source = db.session.get(SubProcessor, data.source_subprocessor_id)
        if source is None:
            raise DomainError(
                f"Unknown sub-processor id {data.source_subprocessor_id}.", field="source_subprocessor_id"
            )
        if source not in subs:
            subs.append(source)
    breach = Breach(
        title=data.title.strip(),
        occurred_at=occurred,
        detected_at=detected,
        aware_at=aware,
        natures=natures,
        description=data.description.strip(),
        systems=data.systems.strip(),
        agents=data.agents.strip(),
        data_subject_categories=data.data_subject_categories.strip(),
        data_subjects_approx=data.data_subjects_approx,
        record_categories=data.record_categories.strip(),
        records_approx=data.records_approx,
        likely_consequences=data.likely_consequences.strip(),
        measures_taken=data.measures_taken.strip(),
        measures_proposed=data.measures_proposed.strip(),
        agreement_failures=data.agreement_failures.strip(),
        risk=risk,
        contact_point=data.contact_point.strip(),
        source_subprocessor=source,
        subprocessors=subs,
        involved_agents=involved,
        recorded_by=actor,
    )
    if source_notice is not None:
        if source is None:
            raise DomainError(
                "A sub-processor's own notice needs the sub-processor that sent it.", field="source_subprocessor_id"
            )
        blob = evidence_store().save(source_notice.stream, int(current_app.config["MAX_CONTENT_LENGTH"]))
        breach.source_notice_sha256 = blob.sha256
        breach.source_notice_size = blob.size
        breach.source_notice_content_type = blob.content_type
        breach.source_notice_filename = (source_notice.filename.replace("\\", "/").rsplit("/", 1)[-1] or "notice")[:255]
    db.session.add(breach)
    db.session.flush()
    record(
        actor,
        "breach.record",
        breach,
        {
            "title": breach.title,
            "occurred_at": occurred,
            "detected_at": detected,
            "aware_at": aware,
            "natures": natures,
            "risk": risk.value,
            "subprocessors": [s.legal_name for s in subs],
            "agents_involved": [agent_label(a) for a in involved],
            "agents": breach.agents,
            "source_subprocessor": source.legal_name if source else None,
            "source_notice_sha256": breach.source_notice_sha256,
        },
    )
    for agreement in agreements:
        add_affected_agreement(actor, breach, agreement)
    return breach


def _subprocessors(ids: Sequence[int]) -> list[SubProcessor]:
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    found = {s.id: s for s in db.session.scalars(select(SubProcessor).where(SubProcessor.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise DomainError(f"Unknown sub-processor id {missing[0]}.", field="subprocessor_ids")
    return [found[i] for i in ids]


def _agents(ids: Sequence[int]) -> list[Agent]:
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    found = {a.id: a for a in db.session.scalars(select(Agent).where(Agent.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise DomainError(f"Unknown agent id {missing[0]}.", field="agent_ids")
    return [found[i] for i in ids]


def agent_label(agent: Agent) -> str:
    """An agent as the register names it: name and function."""
    return f"{agent.name} ({agent.function})" if agent.function else agent.name


def agents_text(breach: Breach) -> str:
    """Everyone involved: the linked agents, then the free text for people who are not agents."""
    return "; ".join([*(agent_label(a) for a in breach.involved_agents), *([breach.agents] if breach.agents else [])])


def _clause(agreement: Agreement, number: str) -> Obligation:
    obligation = db.session.scalar(
        select(Obligation).where(Obligation.agreement_id == agreement.id, Obligation.clause_number == number)
    )
    if obligation is None:
        raise DomainError(
            f"Agreement {agreement.reference} has no clause {number} obligation; sync it with its template first.",
            field="agreement_ids",
        )
    return obligation


def add_affected_agreement(actor: User, breach: Breach, agreement: Agreement) -> BreachAgreement:
    """The breach touches this agreement: record its clause 8.1 event (aware at the breach's awareness) and
    the clause 8.3 register entry as evidence on that event."""
    if agreement.status is AgreementStatus.DRAFT:
        raise DomainError(f"Agreement {agreement.reference} is a draft.", field="agreement_ids")
    if any(a.agreement_id == agreement.id for a in breach.affected):
        raise DomainError(f"Agreement {agreement.reference} is already affected by this breach.", field="agreement_id")
    notice_duty, register_duty = _clause(agreement, NOTICE_CLAUSE), _clause(agreement, REGISTER_CLAUSE)
    if breach.occurred_at.date() < agreement.effective_on:
        raise DomainError(
            f"The breach happened before agreement {agreement.reference} took effect.", field="agreement_ids"
        )
    event = record_event(
        actor,
        notice_duty,
        occurred_at=breach.occurred_at,
        aware_at=breach.aware_at,
        summary=f"Personal data breach #{breach.id}: {breach.title}",
    )
    affected = BreachAgreement(breach=breach, agreement=agreement, event=event, added_by_id=actor.id)
    db.session.add(affected)
    db.session.flush()
    add_evidence(
        actor,
        register_duty,
        EvidenceInput(
            note=f"Personal data breach #{breach.id} ({breach.title}) entered in the breach register (clause 8.3).",
            trigger_event_id=event.id,
        ),
    )
    record(
        actor,
        "breach.affects",
        affected,
        {"breach_id": breach.id, "agreement": agreement.reference, "event_id": event.id},
        client_id=agreement.client_id,
    )
    return affected


def add_action(actor: User, breach: Breach, data: ActionInput) -> BreachAction:
    """A containment, remedy or investigation action of clause 8.1(2)."""
    check_lines(data)
    try:
        kind = ActionKind(data.kind)
    except ValueError:
        raise DomainError("The action is containment, remedy or investigation.", field="kind") from None
    if not data.description.strip():
        raise DomainError("Describe the action.", field="description")
    check_date(data.due_on, "due_on")
    check_date(data.done_on, "done_on")
    if data.done_on is not None:
        if data.done_on > utcnow().date():
            raise DomainError("An action cannot be done in the future.", field="done_on")
        if data.done_on < breach.detected_at.date():
            raise DomainError("An action cannot be done before the breach was detected.", field="done_on")
        if not data.evidence.strip():
            raise DomainError("Say what shows the action done (a report, a ticket, a link).", field="evidence")
    action = BreachAction(
        breach=breach,
        kind=kind,
        description=data.description.strip(),
        owner=data.owner.strip(),
        due_on=data.due_on,
        done_on=data.done_on,
        evidence=data.evidence.strip(),
        created_by_id=actor.id,
    )
    db.session.add(action)
    db.session.flush()
    record(
        actor,
        "breach.action",
        action,
        {
            "breach_id": breach.id,
            "kind": kind.value,
            "description": action.description,
            "owner": action.owner,
            "due_on": action.due_on,
            "done_on": action.done_on,
            "evidence": action.evidence,
        },
    )
    refresh_breach_action_obligations([a.agreement_id for a in breach.affected])
    return action


def mark_action_done(
    actor: User, action: BreachAction, done_on: date | None, evidence: str, upload: Upload | None = None
) -> BreachAction:
    """Clause 8.1(2): an open action is done on ``done_on``, shown by ``evidence`` (text) and/or a document. Once
    done the action never changes (trigger); 8.1(2) of every affected agreement is re-assessed."""
    if action.done_on is not None:
        raise DomainError(f"This action was already marked done on {action.done_on}.", field="done_on")
    if done_on is None:
        raise DomainError("Give the date the action was done.", field="done_on")
    check_date(done_on, "done_on")
    if done_on > utcnow().date():
        raise DomainError("An action cannot be done in the future.", field="done_on")
    if done_on < action.breach.detected_at.date():
        raise DomainError("An action cannot be done before the breach was detected.", field="done_on")
    text = evidence.strip()
    if not text and upload is None:
        raise DomainError(
            "Say what shows the action done (a report, a ticket, a link) or attach the document.", field="evidence"
        )
    if upload is not None:
        blob = evidence_store().save(upload.stream, int(current_app.config["MAX_CONTENT_LENGTH"]))
        action.evidence_sha256, action.evidence_size = blob.sha256, blob.size
        action.evidence_content_type = blob.content_type
        action.evidence_filename = (upload.filename.replace("\\", "/").rsplit("/", 1)[-1] or "evidence")[:255]
        text = text or f"Document {action.evidence_filename}"
    action.done_on, action.evidence = done_on, text
    action.done_recorded_at, action.done_by_id = utcnow(), actor.id
    db.session.flush()
    record(
        actor,
        "breach.action_done",
        action,
        {
            "breach_id": action.breach_id,
            "kind": action.kind.value,
            "done_on": done_on,
            "evidence": text,
            "evidence_sha256": action.evidence_sha256,
        },
    )
    refresh_breach_action_obligations([a.agreement_id for a in action.breach.affected])
    return action


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientClock:
    """The clause 8.1 clock of one affected agreement: from awareness to the first notice sent."""

    affected: BreachAgreement
    target_at: datetime
    notified_at: datetime | None
    now: datetime

    @property
    def state(self) -> str:
        if self.notified_at is not None:
            return "met" if self.notified_at <= self.target_at else "late"
        return "running" if self.now <= self.target_at else "overdue"

    @property
    def text(self) -> str:
        aware = self.affected.breach.aware_at
        if self.notified_at is not None:
            taken = _duration(self.notified_at - aware)
            return (
                f"Notified {self.notified_at:%Y-%m-%d %H:%M} UTC, {taken} after awareness "
                f"({'within' if self.state == 'met' else 'after'} the {self.hours} h target)"
            )
        if self.state == "running":
            return f"Time left: {_duration(self.target_at - self.now)} (target {self.target_at:%Y-%m-%d %H:%M} UTC)"
        return f"Overdue by {_duration(self.now - self.target_at)} (target was {self.target_at:%Y-%m-%d %H:%M} UTC)"

    @property
    def hours(self) -> int:
        return self.affected.agreement.breach_notice_hours


def _duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    parts.append(f"{hours} h {mins:02d} min")
    return " ".join(parts)


def clock_of(affected: BreachAgreement) -> ClientClock:
    sent = [n.sent_at for n in affected.notices if n.state is DeliveryState.SENT and n.sent_at is not None]
    target = affected.breach.aware_at + timedelta(hours=affected.agreement.breach_notice_hours)
    return ClientClock(affected, target, min(sent) if sent else None, utcnow())


def breach_loader() -> tuple[LoaderOption, ...]:
    return (
        selectinload(Breach.affected).options(
            selectinload(BreachAgreement.agreement).selectinload(Agreement.client),
            selectinload(BreachAgreement.notices),
        ),
        selectinload(Breach.subprocessors),
        selectinload(Breach.involved_agents),
        selectinload(Breach.source_subprocessor),
        selectinload(Breach.actions),
    )


def visible_breaches(user: User, client_id: int | None = None) -> list[Breach]:
    """Breaches touching an agreement of a client the user may see (of ``client_id`` only, if given)."""
    touching = (
        select(BreachAgreement.breach_id)
        .join(BreachAgreement.agreement)
        .where(client_filter(user, Agreement.client_id))
    )
    if client_id is not None:
        touching = touching.where(Agreement.client_id == client_id)
    return list(
        db.session.scalars(
            select(Breach).where(Breach.id.in_(touching)).options(*breach_loader()).order_by(Breach.aware_at.desc())
        )
    )


def affected_for(breach: Breach, client_ids: set[int] | None) -> list[BreachAgreement]:
    """The affected agreements a reader may see: every one (None) or those of ``client_ids``."""
    return [a for a in breach.affected if client_ids is None or a.agreement.client_id in client_ids]


def register_row(breach: Breach, client_ids: set[int] | None) -> dict[str, object]:
    """One breach as the register lists it, with only the affected agreements of ``client_ids`` (None: all)."""
    return {
        "id": breach.id,
        "title": breach.title,
        "occurred_at": f"{breach.occurred_at:%Y-%m-%d %H:%M} UTC",
        "detected_at": f"{breach.detected_at:%Y-%m-%d %H:%M} UTC",
        "aware_at": f"{breach.aware_at:%Y-%m-%d %H:%M} UTC",
        "natures": list(breach.natures),
        "description": breach.description,
        "systems": breach.systems,
        "subprocessors": [s.legal_name for s in breach.subprocessors],
        "source_subprocessor": breach.source_subprocessor.legal_name if breach.source_subprocessor else "",
        "agents": agents_text(breach),
        "data_subject_categories": breach.data_subject_categories,
        "data_subjects_approx": breach.data_subjects_approx,
        "record_categories": breach.record_categories,
        "records_approx": breach.records_approx,
        "likely_consequences": breach.likely_consequences,
        "measures_taken": breach.measures_taken,
        "measures_proposed": breach.measures_proposed,
        "agreement_failures": breach.agreement_failures,
        "risk": breach.risk.value.replace("_", " "),
        "contact_point": breach.contact_point,
        "actions": [
            f"{a.kind.value}: {a.description} (owner {a.owner or '—'}, due {a.due_on or '—'}, "
            f"done {a.done_on or 'not yet'})"
            for a in breach.actions
        ],
        "affected": [
            {
                "reference": a.agreement.reference,
                "client": a.agreement.client.legal_name,
                "clock": clock_of(a).text,
            }
            for a in affected_for(breach, client_ids)
        ],
        "recorded_at": f"{breach.recorded_at:%Y-%m-%d %H:%M} UTC",
    }
