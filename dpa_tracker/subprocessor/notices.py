"""Change notices (clause 6.1): propose a change for one or many agreements, e-mail each
client once per address, let the client approve or object before its deadline.

Notices are never edited; a correction is a new notice that names the one it corrects.
Sending is idempotent: one ``notice_delivery`` row per (agreement, address), sent at most once
by this application; a failure is recorded on the row and retried by ``flask notices send``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dpa_tracker.audit.integrity import answer_sha256
from dpa_tracker.audit.services import record
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    AnswerState,
    ChangeKind,
    ChangeNotice,
    DeliveryState,
    NoticeDelivery,
    NoticeRecipient,
    Obligation,
    SubProcessor,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.subprocessor.authorised import authorised_for_agreements
from dpa_tracker.subprocessor.mail import MailError, send_message


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int


def propose_change(
    actor: User,
    kind: ChangeKind,
    subprocessor: SubProcessor,
    agreements: Sequence[Agreement],
    reason: str,
    *,
    replaces: SubProcessor | None = None,
    corrects: ChangeNotice | None = None,
) -> ChangeNotice:
    """Create the notice and one queued delivery per client notice address; nothing is sent yet."""
    reason = reason.strip()
    if not reason:
        raise DomainError("Give the reason for the change; clients see it.", field="reason")
    if not agreements:
        raise DomainError("Choose at least one agreement to notify.", field="agreement_ids")
    if (kind is ChangeKind.REPLACE) != (replaces is not None):
        raise DomainError("A replacement names the sub-processor it replaces (and only a replacement does).",
                          field="replaces_id")
    if replaces is not None and replaces.id == subprocessor.id:
        raise DomainError("A sub-processor cannot replace itself.", field="replaces_id")
    today = utcnow().date()
    current = authorised_for_agreements([a.id for a in agreements], today)
    for agreement in agreements:
        if agreement.status is not AgreementStatus.ACTIVE:
            raise DomainError(f"Agreement {agreement.reference} is not active.", field="agreement_ids")
        ids = {e.subprocessor.id for e in current.get(agreement.id, [])}
        if kind is ChangeKind.ADD and subprocessor.id in ids:
            raise DomainError(f"{subprocessor.legal_name} is already authorised for {agreement.reference}.",
                              field="agreement_ids")
        gone = replaces if kind is ChangeKind.REPLACE else subprocessor if kind is ChangeKind.REMOVE else None
        if gone is not None and gone.id not in ids:
            raise DomainError(f"{gone.legal_name} is not authorised for {agreement.reference}.", field="agreement_ids")
        if not agreement.client.notice_email_list:
            raise DomainError(f"{agreement.client.legal_name} has no notice address.", field="agreement_ids")
    notice = ChangeNotice(kind=kind, subprocessor=subprocessor, replaces=replaces, reason=reason,
                          corrects_id=corrects.id if corrects else None, created_by=actor)
    db.session.add(notice)
    domain = current_app.config["MAIL_SENDER"].rsplit("@", 1)[-1]
    for agreement in agreements:
        recipient = NoticeRecipient(
            notice=notice, agreement=agreement,
            objection_deadline=today + timedelta(days=agreement.subprocessor_objection_days))
        db.session.add(recipient)
        for address in agreement.client.notice_email_list:
            db.session.add(NoticeDelivery(recipient=recipient, email=address, message_id=make_msgid(domain=domain)))
    db.session.flush()
    record(actor, "notice.create", notice, {
        "kind": kind.value, "subprocessor": subprocessor.legal_name,
        "replaces": replaces.legal_name if replaces else None, "reason": reason,
        "agreements": [a.reference for a in agreements], "corrects": corrects.id if corrects else None,
    })
    for recipient in notice.recipients:
        record(actor, "notice.address", recipient, {"notice_id": notice.id, "agreement": recipient.agreement.reference,
                                                    "objection_deadline": recipient.objection_deadline},
               client_id=recipient.agreement.client_id)
    return notice


def _describe(sub: SubProcessor) -> list[str]:
    return [
        f"  Legal name: {sub.legal_name}",
        f"  Country: {sub.country}",
        f"  Service: {sub.service}",
        f"  Data categories: {', '.join(sub.data_categories) or '-'}",
        f"  Locations: {', '.join(sub.locations) or '-'}",
        f"  Transfer mechanism: {sub.transfer_mechanism.value if sub.transfer_mechanism else 'none (no transfer)'}",
        f"  Contact: {sub.contact_email or '-'}; DPO: {sub.dpo_name or '-'} {sub.dpo_email}".rstrip(),
    ]


def objection_deadline_if_sent_today(recipient: NoticeRecipient) -> date:
    """The objection period runs from the day the client is first told (clause 6.1): the first e-mail to reach
    the client fixes the deadline at that day + the agreement's period. A notice delayed by an SMTP outage
    therefore still gets its whole period; a deadline is only ever moved later, never earlier."""
    if recipient.state is not AnswerState.PENDING or any(d.state is DeliveryState.SENT for d in recipient.deliveries):
        return recipient.objection_deadline
    fresh = utcnow().date() + timedelta(days=recipient.agreement.subprocessor_objection_days)
    return max(fresh, recipient.objection_deadline)


def build_message(delivery: NoticeDelivery, deadline: date | None = None) -> EmailMessage:
    recipient = delivery.recipient
    deadline = deadline or recipient.objection_deadline
    notice, agreement = recipient.notice, recipient.agreement
    what = {ChangeKind.ADD: "add a new sub-processor", ChangeKind.REPLACE: "replace a sub-processor",
            ChangeKind.REMOVE: "stop using a sub-processor"}[notice.kind]
    lines = [
        f"Dear {agreement.client.legal_name},",
        "",
        f"Under clause 6.1 of agreement {agreement.reference}, we notify you that we intend to {what}.",
        "",
        "Sub-processor concerned:",
        *_describe(notice.subprocessor),
    ]
    if notice.replaces is not None:
        lines += ["", "It replaces:", *_describe(notice.replaces)]
    lines += [
        "",
        f"Reason: {notice.reason}",
        "",
        f"You may object until {deadline:%Y-%m-%d} (end of day, UTC). Without an objection by",
        "then, the change takes effect for your agreement the following day.",
        "Sign in to your dpa_tracker portal to approve or object with a reason.",
    ]
    if notice.corrects_id:
        lines += ["", f"This notice corrects notice #{notice.corrects_id}."]
    message = EmailMessage()
    message["Subject"] = f"Sub-processor change notice #{notice.id} for {agreement.reference}"
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = delivery.email
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = delivery.message_id
    message.set_content("\n".join(lines))
    return message


def send_pending(limit: int = 500) -> SendReport:
    """Send every queued or failed delivery once; commit after each so nothing is lost or sent twice."""
    sent = failed = 0
    ids = db.session.scalars(
        select(NoticeDelivery.id).where(NoticeDelivery.state.in_([DeliveryState.QUEUED, DeliveryState.FAILED]))
        .order_by(NoticeDelivery.id).limit(limit)
    ).all()
    for delivery_id in ids:
        stmt = select(NoticeDelivery).where(NoticeDelivery.id == delivery_id).options(
            selectinload(NoticeDelivery.recipient).selectinload(NoticeRecipient.notice))
        if db.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        delivery = db.session.scalar(stmt)
        if delivery is None or delivery.state is DeliveryState.SENT:
            db.session.rollback()
            continue
        deadline = objection_deadline_if_sent_today(delivery.recipient)
        message = build_message(delivery, deadline)
        delivery.attempts += 1
        try:
            send_message(message)
        except MailError as exc:
            delivery.state = DeliveryState.FAILED
            delivery.last_error = str(exc)[:2000]
            record(None, "notice.delivery_failed", delivery, {"email": delivery.email, "error": delivery.last_error,
                                                              "attempts": delivery.attempts},
                   client_id=delivery.recipient.agreement.client_id)
            failed += 1
        else:
            _move_deadline(delivery.recipient, deadline)
            _mark_sent(delivery, message)
            sent += 1
        db.session.commit()
    return SendReport(sent, failed)


def _move_deadline(recipient: NoticeRecipient, deadline: date) -> None:
    if deadline == recipient.objection_deadline:
        return
    record(None, "notice.deadline_moved", recipient,
           {"objection_deadline": [recipient.objection_deadline.isoformat(), deadline.isoformat()],
            "why": "first delivered after the day it was proposed"}, client_id=recipient.agreement.client_id)
    recipient.objection_deadline = deadline


def _mark_sent(delivery: NoticeDelivery, message: EmailMessage) -> None:
    """Keep the sent message as clause 6.1 evidence, then settle the delivery in one UPDATE: once its
    state is 'sent' the database refuses any further change to the row."""
    raw = message.as_bytes()
    recipient = delivery.recipient
    obligation = db.session.scalar(select(Obligation).where(
        Obligation.agreement_id == recipient.agreement_id, Obligation.clause_number == "6.1"))
    sha256 = None
    if obligation is not None:
        sha256 = add_evidence(recipient.notice.created_by, obligation, EvidenceInput(
            note=f"Change notice #{recipient.notice_id} e-mailed to {delivery.email}; "
                 f"objection deadline {recipient.objection_deadline:%Y-%m-%d}."),
            Upload(io.BytesIO(raw), f"notice-{recipient.notice_id}-{delivery.email}.eml")).sha256
    delivery.message_sha256 = sha256
    delivery.sent_at = utcnow()
    delivery.last_error = ""
    delivery.state = DeliveryState.SENT
    record(None, "notice.delivered", delivery, {"email": delivery.email, "message_id": delivery.message_id,
                                                "sha256": delivery.message_sha256},
           client_id=recipient.agreement.client_id)


def answer(actor: User, recipient: NoticeRecipient, approve: bool, reason: str) -> None:
    """The client's answer; only before the deadline, only once."""
    if recipient.state is not AnswerState.PENDING:
        raise DomainError("This notice has already been answered.")
    if utcnow().date() > recipient.objection_deadline:
        raise DomainError(f"The objection period ended on {recipient.objection_deadline:%Y-%m-%d}.")
    reason = reason.strip()
    if not approve and not reason:
        raise DomainError("Give the reason for your objection.", field="reason")
    recipient.state = AnswerState.APPROVED if approve else AnswerState.OBJECTED
    recipient.answered_at = utcnow()
    recipient.answered_by = actor
    recipient.answer_reason = reason
    db.session.flush()
    record(actor, "notice.approve" if approve else "notice.object", recipient,
           {"notice_id": recipient.notice_id, "reason": reason, "sha256": answer_sha256(recipient)},
           client_id=recipient.agreement.client_id)
