"""E-mails to the client: a data-subject request forwarded (clause 9.1) or an instruction flagged unlawful
(clause 3.1(3)). Queued by a page or the API, one row per contact address; ``flask notices send`` sends them
through the one outbox sender (``dpa_tracker.outbox``: fixed Message-ID, each committed on its own, failures
recorded and retried or held). The sent message is kept as evidence answering the obligation's event, act =
the sending time, so the clock stops there: ``met`` within the agreement's target, ``late`` after it."""

from __future__ import annotations

import io
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dpa_tracker import outbox
from dpa_tracker.audit.services import record
from dpa_tracker.dsr.services import (
    FORWARD_CLAUSE,
    INSTRUCTION_CLAUSE,
    controller_answer_on,
    forward_due_at,
)
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    REQUEST_TYPE_TITLES,
    Agreement,
    DataSubjectRequest,
    DeliveryState,
    Instruction,
    Obligation,
    RequestNotice,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.outbox import Outbox, Prepared, SendReport, plain_message


def _at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _addresses(agreement: Agreement) -> list[str]:
    addresses = agreement.client.notice_email_list
    if not addresses:
        raise DomainError(f"{agreement.client.legal_name} has no notice address.", field="agreement_id")
    return addresses


def queue_client_notice(
    actor: User, agreement: Agreement, clause: str, event_id: int, subject: str, body: str, **about: object
) -> list[RequestNotice]:
    """Queue one e-mail per contact address of the client, answering ``event_id`` of ``clause`` once sent;
    ``about`` names its subject (request, instruction or law_transfer)."""
    domain = current_app.config["MAIL_SENDER"].rsplit("@", 1)[-1]
    notices = [
        RequestNotice(
            agreement=agreement,
            clause_number=clause,
            event_id=event_id,
            email=address,
            subject=subject,
            body=body,
            message_id=make_msgid(domain=domain),
            created_by=actor,
            **about,
        )
        for address in _addresses(agreement)
    ]
    db.session.add_all(notices)
    db.session.flush()
    for notice in notices:
        record(
            actor,
            "request_notice.queued",
            notice,
            {
                "clause": clause,
                "request_id": notice.request_id,
                "instruction_id": notice.instruction_id,
                "law_transfer_id": notice.law_transfer_id,
                "agreement": agreement.reference,
                "email": notice.email,
            },
            client_id=agreement.client_id,
        )
    return notices


def queue_forward(actor: User, request: DataSubjectRequest) -> list[RequestNotice]:
    """Forward the request to every contact address of the client (clause 9.1); nothing is sent now."""
    if request.notices:
        raise DomainError("This request is already forwarded (queued or sent).", field="request_id")
    agreement = request.agreement
    subject = f"Data-subject request #{request.id} forwarded under clause 9.1, agreement {agreement.reference}"
    body = "\n".join(
        [
            f"Dear {agreement.client.legal_name},",
            "",
            f"Under clause 9.1 of agreement {agreement.reference}, we forward a request a data subject addressed "
            "to us. We do not answer it ourselves: you, the controller, answer the data subject.",
            "",
            f"  Request: {REQUEST_TYPE_TITLES[request.type]}",
            f"  Received by us: {_at(request.received_at)} by {request.channel.value.replace('_', ' ')}",
            f"  Data-subject reference: {request.subject_reference}",
            f"  Your answer is due by {controller_answer_on(request):%Y-%m-%d} (Art. 12(3): one month from "
            "receipt, extendable by two months for complex or numerous requests).",
            "",
            "Ask us for the help you need to answer it (clauses 3.1(6) and 3.1(7)); we keep the request's own "
            "content only as far as needed to pass it on.",
        ]
    )
    return queue_client_notice(actor, agreement, FORWARD_CLAUSE, request.event_id, subject, body, request=request)


def queue_flag_notice(actor: User, instruction: Instruction) -> list[RequestNotice]:
    """Tell the client its instruction appears unlawful (clause 3.1(3), Art. 28(3) last subparagraph)."""
    flag = instruction.flag
    if flag is None:
        raise DomainError("Flag the instruction unlawful first.", field="reason")
    agreement = instruction.agreement
    subject = f"Instruction of {instruction.received_on} appears unlawful, agreement {agreement.reference}"
    body = "\n".join(
        [
            f"Dear {agreement.client.legal_name},",
            "",
            f"Under clause 3.1(3) of agreement {agreement.reference} and Art. 28(3) GDPR, we inform you that, in "
            f"our opinion, your instruction of {instruction.received_on} infringes the data protection rules.",
            "",
            "The instruction as we recorded it:",
            f"  {instruction.content}",
            "",
            "Why we consider it unlawful:",
            f"  {flag.reason}",
            "",
            "Please confirm, change or withdraw the instruction in writing.",
        ]
    )
    return queue_client_notice(
        actor, agreement, INSTRUCTION_CLAUSE, flag.event_id, subject, body, instruction=instruction
    )


def _prepare(notice: RequestNotice) -> Prepared:
    message = plain_message(notice.subject, notice.email, notice.message_id, notice.body)
    return Prepared(message, lambda: _mark_sent(notice, message))


OUTBOX: Outbox[RequestNotice] = Outbox(
    model=RequestNotice,
    failed_event="request_notice.failed",
    prepare=_prepare,
    client_id=lambda notice: notice.agreement.client_id,
    load=(selectinload(RequestNotice.agreement).selectinload(Agreement.client),),
)


def send_pending(limit: int = 500) -> SendReport:
    """Send queued request notices and retry failed ones not held (called by ``flask notices send``)."""
    return outbox.send_pending(OUTBOX, limit)


def _mark_sent(notice: RequestNotice, message: EmailMessage) -> None:
    """Keep the sent message as evidence answering the event (act = sent), then settle the row."""
    sent_at = utcnow()
    raw = message.as_bytes()
    obligation = db.session.scalars(
        select(Obligation).where(
            Obligation.agreement_id == notice.agreement_id, Obligation.clause_number == notice.clause_number
        )
    ).one()
    if notice.request_id is not None:
        what = f"Data-subject request #{notice.request_id} forwarded"
    elif notice.instruction_id is not None:
        what = f"Unlawful instruction #{notice.instruction_id} flagged"
    else:
        what = f"Transfer required by law #{notice.law_transfer_id} notified with the proof of the legal obligation"
    evidence = add_evidence(
        notice.created_by,
        obligation,
        EvidenceInput(
            note=f"{what}: e-mailed to {notice.email} at {_at(sent_at)}.",
            trigger_event_id=notice.event_id,
            acted_at=sent_at,
        ),
        Upload(io.BytesIO(raw), f"clause-{notice.clause_number}-notice-{notice.id}-{notice.email}.eml"),
    )
    notice.message_sha256 = evidence.sha256
    notice.sent_at = sent_at
    notice.last_error = ""
    notice.state = DeliveryState.SENT
    record(
        None,
        "request_notice.delivered",
        notice,
        {"email": notice.email, "message_id": notice.message_id, "sha256": notice.message_sha256, "sent_at": sent_at},
        client_id=notice.agreement.client_id,
    )


__all__ = ["forward_due_at", "queue_client_notice", "queue_flag_notice", "queue_forward", "send_pending"]
