"""Breach notices (clause 8.1, Art. 33(2)-(4)): queue an e-mail per client address, built from the register
entry with the Art. 33(3)(a)-(d) items; ``flask notices send`` sends them through the one outbox sender
(``dpa_tracker.outbox``: one row per e-mail, a fixed Message-ID, each committed on its own, failures recorded
and retried or held). The sent message is kept as evidence on the agreement's clause 8.1 obligation, act = the
sending time, so the clock stops there: ``met`` within the agreement's target, ``late`` after it."""

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
from dpa_tracker.breach.services import NOTICE_CLAUSE
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Breach,
    BreachAgreement,
    BreachNotice,
    DeliveryState,
    NoticePhase,
    Obligation,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.models.breach import RISK_TITLES
from dpa_tracker.outbox import Outbox, Prepared, SendReport, plain_message


def _at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _approx(number: int | None) -> str:
    return f"about {number:,}" if number is not None else "not known yet"


def compose(affected: BreachAgreement, phase: NoticePhase, sequence: int, new_information: str) -> tuple[str, str]:
    """Subject and text of the notice to one client: only that client's name and agreement appear."""
    breach, agreement = affected.breach, affected.agreement
    what = "Initial notice" if phase is NoticePhase.INITIAL else f"Follow-up {sequence - 1}"
    subject = f"Personal data breach #{breach.id}: {what}, agreement {agreement.reference}"
    subs = ", ".join(s.legal_name for s in breach.subprocessors)
    lines = [
        f"Dear {agreement.client.legal_name},",
        "",
        f"Under clause 8.1 of agreement {agreement.reference}, we notify you of a personal data breach "
        f"({what.lower()}).",
        f"We became aware of it on {_at(breach.aware_at)}; it happened on {_at(breach.occurred_at)} and was "
        f"detected on {_at(breach.detected_at)}.",
        "",
    ]
    if phase is NoticePhase.FOLLOW_UP and new_information.strip():
        lines += ["New information since our last notice:", new_information.strip(), ""]
    lines += [
        "(a) Nature of the breach (Art. 33(3)(a))",
        f"  Type: {', '.join(breach.natures)}",
        f"  What happened: {breach.description}",
        f"  Systems concerned: {breach.systems or 'being established'}",
        *([f"  Sub-processors involved: {subs}"] if subs else []),
        f"  Categories of data subjects: {breach.data_subject_categories or 'being established'}",
        f"  Approximate number of data subjects: {_approx(breach.data_subjects_approx)}",
        f"  Categories of personal data records: {breach.record_categories or 'being established'}",
        f"  Approximate number of personal data records: {_approx(breach.records_approx)}",
        "",
        "(b) Contact point for more information (Art. 33(3)(b))",
        f"  {breach.contact_point}",
        "",
        "(c) Likely consequences (Art. 33(3)(c))",
        f"  {breach.likely_consequences or 'being assessed'}",
        "",
        "(d) Measures taken or proposed, including to mitigate possible adverse effects (Art. 33(3)(d))",
        f"  Taken: {breach.measures_taken or 'none yet'}",
        f"  Proposed: {breach.measures_proposed or 'none yet'}",
        "",
        f"Our risk assessment: {RISK_TITLES[breach.risk]}. It does not delay this notice; your own assessment "
        "decides your notification to your supervisory authority (Art. 33(1): 72 hours from your awareness).",
        "We will send further information in phases as it becomes available (Art. 33(4)).",
    ]
    return subject, "\n".join(lines)


def queue_notice(
    actor: User, breach: Breach, affected: BreachAgreement, phase: NoticePhase, new_information: str = ""
) -> list[BreachNotice]:
    """Queue the notice to every contact address of the client; nothing is sent during the request."""
    if affected.breach_id != breach.id:
        raise DomainError("That agreement is not affected by this breach.", field="agreement_id")
    addresses = affected.agreement.client.notice_email_list
    if not addresses:
        raise DomainError(f"{affected.agreement.client.legal_name} has no notice address.", field="agreement_id")
    sequences = {n.sequence for n in affected.notices}
    if phase is NoticePhase.INITIAL:
        if 1 in sequences:
            raise DomainError(
                "The initial notice to this client is already queued or sent; send a follow-up.", field="phase"
            )
        sequence = 1
    else:
        if 1 not in sequences:
            raise DomainError("Send the initial notice to this client first.", field="phase")
        if not new_information.strip():
            raise DomainError("Say what is new in this follow-up.", field="new_information")
        sequence = max(sequences) + 1
    subject, body = compose(affected, phase, sequence, new_information)
    domain = current_app.config["MAIL_SENDER"].rsplit("@", 1)[-1]
    notices = [
        BreachNotice(
            breach=breach,
            affected=affected,
            phase=phase,
            sequence=sequence,
            email=address,
            subject=subject,
            body=body,
            message_id=make_msgid(domain=domain),
            created_by=actor,
        )
        for address in addresses
    ]
    db.session.add_all(notices)
    db.session.flush()
    for notice in notices:
        record(
            actor,
            "breach.notice_queued",
            notice,
            {
                "breach_id": breach.id,
                "agreement": affected.agreement.reference,
                "phase": phase.value,
                "sequence": sequence,
                "email": notice.email,
            },
            client_id=affected.agreement.client_id,
        )
    return notices


def _prepare(notice: BreachNotice) -> Prepared:
    message = plain_message(notice.subject, notice.email, notice.message_id, notice.body)
    return Prepared(message, lambda: _mark_sent(notice, message))


OUTBOX: Outbox[BreachNotice] = Outbox(
    model=BreachNotice,
    failed_event="breach.notice_failed",
    prepare=_prepare,
    client_id=lambda notice: notice.affected.agreement.client_id,
    load=(selectinload(BreachNotice.affected).selectinload(BreachAgreement.agreement),),
)


def send_pending(limit: int = 500) -> SendReport:
    """Send queued breach notices and retry failed ones not held (called by ``flask notices send``)."""
    return outbox.send_pending(OUTBOX, limit)


def requeue(actor: User, notices: list[BreachNotice]) -> int:
    """Put failed breach notices back in the queue (a held one after its data is corrected)."""
    count = 0
    for notice in notices:
        if notice.state is not DeliveryState.FAILED:
            continue
        notice.state = DeliveryState.QUEUED
        notice.held = False
        record(
            actor,
            "breach.notice_requeued",
            notice,
            {"email": notice.email, "attempts": notice.attempts, "last_error": notice.last_error},
            client_id=notice.affected.agreement.client_id,
        )
        count += 1
    db.session.flush()
    return count


def _mark_sent(notice: BreachNotice, message: EmailMessage) -> None:
    """Keep the sent message as clause 8.1 evidence answering the breach's event (act = sent), then settle
    the row: once 'sent' the database refuses any change to it."""
    sent_at = utcnow()
    raw = message.as_bytes()
    affected = notice.affected
    obligation = db.session.scalars(
        select(Obligation).where(
            Obligation.agreement_id == affected.agreement_id, Obligation.clause_number == NOTICE_CLAUSE
        )
    ).one()  # every agreement has its clause 8.1: the template's obligations are created with it
    evidence = add_evidence(
        notice.created_by,
        obligation,
        EvidenceInput(
            note=f"Breach #{notice.breach_id} {notice.phase.value.replace('_', '-')} notice e-mailed to "
            f"{notice.email} at {_at(sent_at)}.",
            trigger_event_id=affected.event_id,
            acted_at=sent_at,
        ),
        Upload(io.BytesIO(raw), f"breach-{notice.breach_id}-notice-{notice.sequence}-{notice.email}.eml"),
    )
    notice.message_sha256 = evidence.sha256
    notice.sent_at = sent_at
    notice.last_error = ""
    notice.state = DeliveryState.SENT
    record(
        None,
        "breach.notice_delivered",
        notice,
        {"email": notice.email, "message_id": notice.message_id, "sha256": notice.message_sha256, "sent_at": sent_at},
        client_id=affected.agreement.client_id,
    )


def failed_notices() -> list[BreachNotice]:
    """Breach notice e-mails whose last attempt failed (held ones included), oldest first, with their breach and
    client: the staff page ``/notices/deliveries`` lists them next to the change notices' e-mails."""
    return list(
        db.session.scalars(
            select(BreachNotice)
            .where(BreachNotice.state == DeliveryState.FAILED)
            .options(
                selectinload(BreachNotice.breach),
                selectinload(BreachNotice.affected).selectinload(BreachAgreement.agreement),
            )
            .order_by(BreachNotice.id)
        )
    )
