"""Data-subject requests (clause 9.1), the client's help requests linked to them (clauses 3.1(6)-(7)) and the
client's documented instructions (clause 3.1(3)). Services flush; the caller commits.

Clause 9.1: the processor forwards a request to the client, who answers the data subject. Recording a request
records the 9.1 event (aware at receipt), so the obligation engine runs the forwarding clock
(``dsr_forward_days``, counted in working days on the processor's calendar: dpa_tracker/workdays.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from dpa_tracker.audit.services import record
from dpa_tracker.client.services import processor_calendar
from dpa_tracker.dates import check_date
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    REQUEST_TYPE_TITLES,
    Agreement,
    AgreementStatus,
    DataSubjectRequest,
    DeliveryState,
    HelpRequest,
    Instruction,
    InstructionFlag,
    Obligation,
    RequestChannel,
    RequestNotice,
    RequestType,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.events import record_event
from dpa_tracker.obligation.status import add_months
from dpa_tracker.permissions import client_filter
from dpa_tracker.validation import check_lines, line

FORWARD_CLAUSE = "9.1"
INSTRUCTION_CLAUSE = "3.1(3)"
HELP_CLAUSES = ("3.1(6)", "3.1(7)")
ANSWER_REFUSED = (
    "Refused: under clause 9.1 the processor does not answer the data subject itself. Forward the request to "
    "the client, who answers it (Art. 12(3): within one month of receipt)."
)


@dataclass(frozen=True)
class RequestInput:
    received_at: datetime | None
    channel: str
    type: str
    subject_reference: str = line("Data-subject reference")


@dataclass(frozen=True)
class InstructionInput:
    received_on: date | None
    channel: str
    content: str
    about_transfers: bool = False


def _clause(agreement: Agreement, number: str, field: str = "agreement_id") -> Obligation:
    obligation = db.session.scalar(
        select(Obligation).where(Obligation.agreement_id == agreement.id, Obligation.clause_number == number)
    )
    if obligation is None:
        raise DomainError(
            f"Agreement {agreement.reference} has no clause {number} obligation; sync it with its template first.",
            field=field,
        )
    return obligation


def _live(agreement: Agreement) -> None:
    if agreement.status is AgreementStatus.DRAFT:
        raise DomainError(f"Agreement {agreement.reference} is a draft.", field="agreement_id")


def _channel(value: str) -> RequestChannel:
    try:
        return RequestChannel(value)
    except ValueError:
        raise DomainError(
            "Unknown channel: email, post, phone, web_form, in_person or other.", field="channel"
        ) from None


def log_request(actor: User, agreement: Agreement, data: RequestInput) -> DataSubjectRequest:
    """Log a data-subject request (a reference to the person, not the request's content) and record the
    clause 9.1 event: the forwarding clock runs from receipt."""
    check_lines(data)
    _live(agreement)
    if data.received_at is None:
        raise DomainError("Give when the request was received.", field="received_at")
    if data.received_at.tzinfo is None:
        raise DomainError("The time of receipt needs a time zone.", field="received_at")
    if data.received_at > utcnow():
        raise DomainError("A request cannot be received in the future.", field="received_at")
    if data.received_at.date() < agreement.effective_on:
        raise DomainError("The request is earlier than the agreement's effective date.", field="received_at")
    channel = _channel(data.channel)
    try:
        kind = RequestType(data.type)
    except ValueError:
        raise DomainError(
            "Unknown request type: " + ", ".join(t.value for t in RequestType) + ".", field="type"
        ) from None
    reference = data.subject_reference.strip()
    if not reference:
        raise DomainError(
            "Give a reference to the data subject (a customer number, a ticket id), not the request itself.",
            field="subject_reference",
        )
    if len(reference) > 200:
        raise DomainError("The reference is at most 200 characters.", field="subject_reference")
    duty = _clause(agreement, FORWARD_CLAUSE)
    request = DataSubjectRequest(
        agreement=agreement,
        received_at=data.received_at,
        channel=channel,
        type=kind,
        subject_reference=reference,
        logged_by=actor,
    )
    request.event = record_event(
        actor,
        duty,
        occurred_at=data.received_at,
        aware_at=data.received_at,
        summary=f"Data-subject request ({REQUEST_TYPE_TITLES[kind]}) received by {channel.value.replace('_', ' ')}",
    )
    db.session.add(request)
    db.session.flush()
    record(
        actor,
        "dsr.log",
        request,
        {
            "agreement": agreement.reference,
            "received_at": data.received_at,
            "channel": channel.value,
            "type": kind.value,
            "subject_reference": reference,
            "event_id": request.event_id,
        },
        client_id=agreement.client_id,
    )
    return request


def refuse_answer(request: DataSubjectRequest) -> None:
    """The guard of clause 9.1: the processor never answers the data subject; nothing is written."""
    raise DomainError(ANSWER_REFUSED, field="answer")


def add_help_request(
    actor: User, request: DataSubjectRequest, clause: str, received_at: datetime | None
) -> HelpRequest:
    """The client asks for help with this request (3.1(6): modify or erase data; 3.1(7): assistance): the
    event of that obligation, with its own clock, linked to the request."""
    if clause not in HELP_CLAUSES:
        raise DomainError("A help request is under clause 3.1(6) or 3.1(7).", field="clause_number")
    if received_at is None:
        raise DomainError("Give when the client asked for help.", field="received_at")
    if received_at.tzinfo is None:
        raise DomainError("The time needs a time zone.", field="received_at")
    if received_at < request.received_at:
        raise DomainError("The client cannot ask for help before the request was received.", field="received_at")
    duty = _clause(request.agreement, clause, "clause_number")
    event = record_event(
        actor,
        duty,
        occurred_at=received_at,
        aware_at=received_at,
        summary=f"Client asks for help with data-subject request #{request.id} ({REQUEST_TYPE_TITLES[request.type]})",
    )
    help_request = HelpRequest(request=request, clause_number=clause, event=event, recorded_by_id=actor.id)
    db.session.add(help_request)
    db.session.flush()
    record(
        actor,
        "dsr.help_request",
        help_request,
        {"request_id": request.id, "clause": clause, "received_at": received_at, "event_id": event.id},
        client_id=request.agreement.client_id,
    )
    return help_request


def record_instruction(actor: User, agreement: Agreement, data: InstructionInput) -> Instruction:
    """Register a documented instruction from the client (clause 3.1(3), Art. 28(3)(a))."""
    _live(agreement)
    if data.received_on is None:
        raise DomainError("Give the date the instruction was received.", field="received_on")
    check_date(data.received_on, "received_on")
    if data.received_on > utcnow().date():
        raise DomainError("An instruction cannot be received in the future.", field="received_on")
    channel = _channel(data.channel)
    content = data.content.strip()
    if not content:
        raise DomainError("Write down the instruction (or where its document is kept).", field="content")
    instruction = Instruction(
        agreement=agreement,
        received_on=data.received_on,
        channel=channel,
        content=content,
        about_transfers=bool(data.about_transfers),
        recorded_by=actor,
    )
    db.session.add(instruction)
    db.session.flush()
    record(
        actor,
        "instruction.record",
        instruction,
        {
            "agreement": agreement.reference,
            "received_on": data.received_on,
            "channel": channel.value,
            "about_transfers": instruction.about_transfers,
            "content": content,
        },
        client_id=agreement.client_id,
    )
    return instruction


def flag_unlawful(actor: User, instruction: Instruction, reason: str) -> InstructionFlag:
    """The instruction appears to break the law (Art. 28(3) last subparagraph): record the clause 3.1(3) event
    now (its clock in hours, ``instruction_alert_hours``); the caller queues the notice to the client."""
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the instruction appears unlawful.", field="reason")
    if instruction.flag is not None:
        raise DomainError("This instruction is already flagged unlawful.", field="reason")
    duty = _clause(instruction.agreement, INSTRUCTION_CLAUSE)
    now = utcnow()
    event = record_event(
        actor,
        duty,
        occurred_at=now,
        aware_at=now,
        summary=f"Instruction #{instruction.id} of {instruction.received_on} judged unlawful",
    )
    flag = InstructionFlag(instruction=instruction, reason=reason, event=event, flagged_by_id=actor.id)
    db.session.add(flag)
    db.session.flush()
    record(
        actor,
        "instruction.flag_unlawful",
        flag,
        {"instruction_id": instruction.id, "reason": reason, "event_id": event.id},
        client_id=instruction.agreement.client_id,
    )
    return flag


# --- reading ----------------------------------------------------------------------------------------


def forwarded_at(request: DataSubjectRequest) -> datetime | None:
    sent = [n.sent_at for n in request.notices if n.state is DeliveryState.SENT and n.sent_at is not None]
    return min(sent) if sent else None


def forward_due_at(request: DataSubjectRequest) -> datetime:
    """Clause 9.1 target: the end (UTC) of the ``dsr_forward_days``-th working day after receipt, on the
    processor's calendar (the engine's count)."""
    return processor_calendar().due_at(request.received_at, request.agreement.dsr_forward_days)


def forward_target(request: DataSubjectRequest) -> str:
    """How the target is counted, for pages: "2 working days, DZ calendar; skips Sun 01 Nov (Revolution Day)"."""
    calendar = processor_calendar()
    days = request.agreement.dsr_forward_days
    text = f"{days} working day{'s' if days != 1 else ''}, {calendar.label}"
    skipped = calendar.skipped(request.received_at.date(), forward_due_at(request).date())
    return f"{text}; skips {', '.join(skipped)}" if skipped else text


def controller_answer_on(request: DataSubjectRequest) -> date:
    """The controller's own answer date (Art. 12(3)): one month from receipt, shown for context."""
    return add_months(request.received_at.date(), 1)


def forward_state(request: DataSubjectRequest) -> str:
    sent, due = forwarded_at(request), forward_due_at(request)
    if sent is not None:
        return "met" if sent <= due else "late"
    if request.notices:
        return "queued" if utcnow() <= due else "overdue"
    return "running" if utcnow() <= due else "overdue"


def request_loader() -> tuple[LoaderOption, ...]:
    return (
        selectinload(DataSubjectRequest.agreement).selectinload(Agreement.client),
        selectinload(DataSubjectRequest.notices),
        selectinload(DataSubjectRequest.help_requests),
    )


def requests_query(
    user: User, agreement_id: int | None = None, kind: str | None = None, forwarded: bool | None = None
) -> Select[tuple[DataSubjectRequest]]:
    """Requests of the clients the user may see, with the list's filters."""
    stmt = (
        select(DataSubjectRequest)
        .join(DataSubjectRequest.agreement)
        .where(client_filter(user, Agreement.client_id))
        .options(*request_loader())
    )
    if agreement_id is not None:
        stmt = stmt.where(DataSubjectRequest.agreement_id == agreement_id)
    if kind is not None:
        stmt = stmt.where(DataSubjectRequest.type == RequestType(kind))
    if forwarded is not None:
        sent = select(RequestNotice.request_id).where(
            RequestNotice.state == DeliveryState.SENT, RequestNotice.request_id.is_not(None)
        )
        cond = DataSubjectRequest.id.in_(sent)
        stmt = stmt.where(cond if forwarded else ~cond)
    return stmt


def instructions_query(
    user: User, agreement_id: int | None = None, unlawful: bool | None = None
) -> Select[tuple[Instruction]]:
    stmt = (
        select(Instruction)
        .join(Instruction.agreement)
        .where(client_filter(user, Agreement.client_id))
        .options(
            selectinload(Instruction.agreement).selectinload(Agreement.client),
            selectinload(Instruction.flag),
            selectinload(Instruction.notices),
        )
    )
    if agreement_id is not None:
        stmt = stmt.where(Instruction.agreement_id == agreement_id)
    if unlawful is not None:
        flagged = select(InstructionFlag.instruction_id)
        stmt = stmt.where(Instruction.id.in_(flagged) if unlawful else Instruction.id.not_in(flagged))
    return stmt


def live_agreements(user: User) -> Sequence[Agreement]:
    return db.session.scalars(
        select(Agreement)
        .where(Agreement.status != AgreementStatus.DRAFT, client_filter(user, Agreement.client_id))
        .options(selectinload(Agreement.client))
        .order_by(Agreement.reference)
    ).all()
