"""Change notices (clause 6.1): propose a change for one or many agreements, e-mail each
client once per address, let the client approve or object before its deadline.

Notices are never edited; a correction is a new notice that names the one it corrects.
Pages and the API only queue e-mails; ``flask notices send`` (cron) sends them. Sending is idempotent: one
``notice_delivery`` row per (agreement, address), sent at most once by this application; a failure is recorded
on the row and retried by the next run, or held for an admin's retry when retrying could not help.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import selectinload

from dpa_tracker import outbox
from dpa_tracker.audit.integrity import answer_sha256
from dpa_tracker.audit.services import record
from dpa_tracker.errors import Conflict, DomainError
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
from dpa_tracker.models.agreement import AuthorisationType
from dpa_tracker.models.base import utcnow
from dpa_tracker.models.subprocessor import ObjectionConsequence
from dpa_tracker.obligation.services import refresh_subprocessor_obligations
from dpa_tracker.outbox import Outbox, Prepared, SendReport
from dpa_tracker.subprocessor.authorised import authorised_for_agreements, silence_binds


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
        raise DomainError(
            "A replacement names the sub-processor it replaces (and only a replacement does).", field="replaces_id"
        )
    if replaces is not None and replaces.id == subprocessor.id:
        raise DomainError("A sub-processor cannot replace itself.", field="replaces_id")
    today = utcnow().date()
    current = authorised_for_agreements([a.id for a in agreements], today)
    for agreement in agreements:
        if agreement.status is not AgreementStatus.ACTIVE:
            raise DomainError(f"Agreement {agreement.reference} is not active.", field="agreement_ids")
        ids = {e.subprocessor.id for e in current.get(agreement.id, [])}
        if kind is ChangeKind.ADD and subprocessor.id in ids:
            raise DomainError(
                f"{subprocessor.legal_name} is already authorised for {agreement.reference}.", field="agreement_ids"
            )
        gone = replaces if kind is ChangeKind.REPLACE else subprocessor if kind is ChangeKind.REMOVE else None
        if gone is not None and gone.id not in ids:
            raise DomainError(f"{gone.legal_name} is not authorised for {agreement.reference}.", field="agreement_ids")
        if not agreement.client.notice_email_list:
            raise DomainError(f"{agreement.client.legal_name} has no notice address.", field="agreement_ids")
    notice = ChangeNotice(
        kind=kind,
        subprocessor=subprocessor,
        replaces=replaces,
        reason=reason,
        corrects_id=corrects.id if corrects else None,
        created_by=actor,
    )
    db.session.add(notice)
    domain = current_app.config["MAIL_SENDER"].rsplit("@", 1)[-1]
    for agreement in agreements:
        recipient = NoticeRecipient(
            notice=notice,
            agreement=agreement,
            objection_deadline=today + timedelta(days=agreement.subprocessor_objection_days),
        )
        db.session.add(recipient)
        for address in agreement.client.notice_email_list:
            db.session.add(NoticeDelivery(recipient=recipient, email=address, message_id=make_msgid(domain=domain)))
    db.session.flush()
    record(
        actor,
        "notice.create",
        notice,
        {
            "kind": kind.value,
            "subprocessor": subprocessor.legal_name,
            "replaces": replaces.legal_name if replaces else None,
            "reason": reason,
            "agreements": [a.reference for a in agreements],
            "corrects": corrects.id if corrects else None,
        },
    )
    for recipient in notice.recipients:
        record(
            actor,
            "notice.address",
            recipient,
            {
                "notice_id": notice.id,
                "agreement": recipient.agreement.reference,
                "objection_deadline": recipient.objection_deadline,
            },
            client_id=recipient.agreement.client_id,
        )
    refresh_subprocessor_obligations([a.id for a in agreements])  # a removal applies at once
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


def _what_follows(recipient: NoticeRecipient, deadline: date) -> list[str]:
    """The rule of clause 6.1 for this agreement, as the client reads it in the e-mail."""
    if recipient.notice.kind is ChangeKind.REMOVE:
        return [
            "A removal needs no consent and applies from today; you may still comment or object,",
            "and your answer is kept.",
        ]
    if recipient.agreement.subprocessor_authorisation is AuthorisationType.SPECIFIC:
        return [
            "Your agreement requires your specific written authorisation for each sub-processor:",
            "the change applies only once you approve it; without your approval it never applies.",
            f"Please answer by {deadline:%Y-%m-%d}.",
        ]
    return [
        f"You may object until {deadline:%Y-%m-%d} (end of day, UTC). Without an objection by",
        "then, the change takes effect for your agreement the following day.",
    ]


def build_message(delivery: NoticeDelivery, deadline: date | None = None) -> EmailMessage:
    recipient = delivery.recipient
    deadline = deadline or recipient.objection_deadline
    notice, agreement = recipient.notice, recipient.agreement
    what = {
        ChangeKind.ADD: "add a new sub-processor",
        ChangeKind.REPLACE: "replace a sub-processor",
        ChangeKind.REMOVE: "stop using a sub-processor",
    }[notice.kind]
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
        *_what_follows(recipient, deadline),
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


def _prepare(delivery: NoticeDelivery) -> Prepared:
    """The message with the objection deadline it announces; once sent, that deadline is the one recorded."""
    deadline = objection_deadline_if_sent_today(delivery.recipient)
    message = build_message(delivery, deadline)

    def on_sent() -> None:
        _move_deadline(delivery.recipient, deadline)
        _mark_sent(delivery, message)

    return Prepared(message, on_sent)


OUTBOX: Outbox[NoticeDelivery] = Outbox(
    model=NoticeDelivery,
    failed_event="notice.delivery_failed",
    prepare=_prepare,
    client_id=lambda delivery: delivery.recipient.agreement.client_id,
    load=(selectinload(NoticeDelivery.recipient).selectinload(NoticeRecipient.notice),),
)


def send_pending(limit: int = 500) -> SendReport:
    """Send every queued delivery and retry the failed ones not held for an admin (``flask notices send``).

    Each delivery is tried on its own and committed on its own (``dpa_tracker.outbox``), so nothing is lost or
    sent twice and one bad delivery never blocks the others: whatever goes wrong with it is stored on the row,
    audited, and the loop goes on. An SMTP failure is retried by the next run; a message that cannot be built
    from the stored rows (e.g. a CR/LF in an agreement reference written before single-line fields were
    enforced) would fail the same way every run, so it is held until an admin retries it (``requeue``), after
    correcting the data."""
    return outbox.send_pending(OUTBOX, limit)


def failed_deliveries() -> list[NoticeDelivery]:
    """Deliveries whose last attempt failed, oldest first, with what the page shows about them."""
    return list(
        db.session.scalars(
            select(NoticeDelivery)
            .where(NoticeDelivery.state == DeliveryState.FAILED)
            .options(
                selectinload(NoticeDelivery.recipient).options(
                    selectinload(NoticeRecipient.agreement).selectinload(Agreement.client),
                    selectinload(NoticeRecipient.notice),
                )
            )
            .order_by(NoticeDelivery.id)
        )
    )


def requeue(actor: User, deliveries: Sequence[NoticeDelivery]) -> int:
    """Put failed deliveries back in the queue; the next ``flask notices send`` tries them. Nothing is sent here:
    a request never waits for an SMTP server."""
    count = 0
    for delivery in deliveries:
        if delivery.state is not DeliveryState.FAILED:
            continue
        delivery.state = DeliveryState.QUEUED
        delivery.held = False
        record(
            actor,
            "notice.delivery_requeued",
            delivery,
            {"email": delivery.email, "attempts": delivery.attempts, "last_error": delivery.last_error},
            client_id=delivery.recipient.agreement.client_id,
        )
        count += 1
    db.session.flush()
    return count


def _move_deadline(recipient: NoticeRecipient, deadline: date) -> None:
    if deadline == recipient.objection_deadline:
        return
    record(
        None,
        "notice.deadline_moved",
        recipient,
        {
            "objection_deadline": [recipient.objection_deadline.isoformat(), deadline.isoformat()],
            "why": "first delivered after the day it was proposed",
        },
        client_id=recipient.agreement.client_id,
    )
    recipient.objection_deadline = deadline


def _mark_sent(delivery: NoticeDelivery, message: EmailMessage) -> None:
    """Keep the sent message as clause 6.1 evidence, then settle the delivery in one UPDATE: once its
    state is 'sent' the database refuses any further change to the row."""
    raw = message.as_bytes()
    recipient = delivery.recipient
    obligation = db.session.scalar(
        select(Obligation).where(Obligation.agreement_id == recipient.agreement_id, Obligation.clause_number == "6.1")
    )
    sha256 = None
    if obligation is not None:
        sha256 = add_evidence(
            recipient.notice.created_by,
            obligation,
            EvidenceInput(
                note=f"Change notice #{recipient.notice_id} e-mailed to {delivery.email}; "
                f"objection deadline {recipient.objection_deadline:%Y-%m-%d}."
            ),
            Upload(io.BytesIO(raw), f"notice-{recipient.notice_id}-{delivery.email}.eml"),
        ).sha256
    delivery.message_sha256 = sha256
    delivery.sent_at = utcnow()
    delivery.last_error = ""
    delivery.state = DeliveryState.SENT
    record(
        None,
        "notice.delivered",
        delivery,
        {"email": delivery.email, "message_id": delivery.message_id, "sha256": delivery.message_sha256},
        client_id=recipient.agreement.client_id,
    )


def answer(
    actor: User, recipient: NoticeRecipient, approve: bool, reason: str, consequence: ObjectionConsequence | None = None
) -> None:
    """The client's answer, only once; an objection says why and what follows from it (Art. 28(2)).

    Under a general authorisation the answer is refused once silence has bound the client (the notice was
    delivered and its deadline passed); an undelivered notice, or one under a specific authorisation, can be
    answered at any time, since nothing binds the client until it answers.

    Two answers may race (approve in one tab, object in another): the state moves with one conditional UPDATE
    (``WHERE state = 'pending'``), so exactly one wins and the other gets a Conflict (409), never a trigger's
    refusal (500). On PostgreSQL the loser waits for the winner's row lock, then finds the row answered."""
    if recipient.state is not AnswerState.PENDING:
        raise Conflict("This notice has already been answered.")
    day = utcnow().date()
    removal = recipient.notice.kind is ChangeKind.REMOVE
    if not removal and silence_binds(recipient) and day > recipient.objection_deadline:
        raise DomainError(f"The objection period ended on {recipient.objection_deadline:%Y-%m-%d}.")
    reason = reason.strip()
    if not approve and not reason:
        raise DomainError("Give the reason for your objection.", field="reason")
    if approve:
        consequence = None
    elif consequence is None and not removal:
        raise DomainError(
            "Say what follows from your objection: the sub-processor is not used for your data, "
            "or you terminate the agreement.",
            field="consequence",
        )
    state = AnswerState.APPROVED if approve else AnswerState.OBJECTED
    result = db.session.execute(
        update(NoticeRecipient)
        .where(NoticeRecipient.id == recipient.id, NoticeRecipient.state == AnswerState.PENDING)
        .values(
            state=state,
            answered_at=utcnow(),
            answered_by_id=actor.id,
            answer_reason=reason,
            objection_consequence=consequence,
        )
        .execution_options(synchronize_session=False)
    )
    # An UPDATE's result is a CursorResult (which has rowcount); Session.execute is typed as returning Result.
    if cast(CursorResult[Any], result).rowcount != 1:
        raise Conflict("This notice has already been answered.")
    db.session.refresh(recipient)
    record(
        actor,
        "notice.approve" if approve else "notice.object",
        recipient,
        {
            "notice_id": recipient.notice_id,
            "reason": reason,
            "consequence": consequence.value if consequence else None,
            "sha256": answer_sha256(recipient),
        },
        client_id=recipient.agreement.client_id,
    )
    refresh_subprocessor_obligations([recipient.agreement_id])
