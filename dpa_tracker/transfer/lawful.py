"""Clause 10(2)(b): transfers the law requires of the processor (second sentence of clause 10(2), Art. 28(3)(a)
and 48 GDPR). Recording one starts the clause's clock (``days: 2``): the processor tells the client before
processing, with proof that the obligation is mandatory; the e-mail goes through the request-notice outbox and,
once sent, answers the event as evidence. When that law forbids telling the client on important grounds of public
interest, the recorded ground answers the event ("Not notified: <ground>") and the record stays hidden from the
client's users and auditors. Services flush; the caller commits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from dpa_tracker.audit.services import record
from dpa_tracker.dsr.notices import queue_client_notice
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence, evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AgreementStatus, LawTransfer, Obligation, RequestNotice, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.events import record_event
from dpa_tracker.permissions import can_write, client_filter
from dpa_tracker.transfer.clause10 import LAW_CLAUSE, NOT_NOTIFIED
from dpa_tracker.validation import check_lines, line

_CODE = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class LawTransferInput:
    learnt_at: datetime | None
    authority: str = line("Authority")
    law: str = line("Law")
    destination: str = line("Destination")
    destination_country: str = line("Destination country", default="")
    data_concerned: str = ""
    notice_forbidden: bool = False
    forbidden_ground: str = ""


def _text(value: str, field: str, message: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise DomainError(message, field=field)
    if len(value) > limit:
        raise DomainError(f"At most {limit} characters.", field=field)
    return value


def _obligation(agreement: Agreement) -> Obligation:
    obligation = db.session.scalar(
        select(Obligation).where(Obligation.agreement_id == agreement.id, Obligation.clause_number == LAW_CLAUSE)
    )
    if obligation is None:
        raise DomainError(
            f"Agreement {agreement.reference} has no clause {LAW_CLAUSE} obligation; sync it with its template first.",
            field="agreement_id",
        )
    return obligation


def record_law_transfer(actor: User, agreement: Agreement, data: LawTransferInput, proof: Upload | None) -> LawTransfer:
    """Record a transfer the law requires and start the clause 10(2)(b) clock from when the processor learnt of
    it. With ``notice_forbidden`` the recorded ground answers the event at once (the law forbids the notice)."""
    check_lines(data)
    if agreement.status is AgreementStatus.DRAFT:
        raise DomainError(f"Agreement {agreement.reference} is a draft.", field="agreement_id")
    learnt_at = data.learnt_at
    if learnt_at is None:
        raise DomainError("Give when we learnt of the legal obligation.", field="learnt_at")
    if learnt_at.tzinfo is None:
        raise DomainError("The time needs a time zone.", field="learnt_at")
    if learnt_at > utcnow():
        raise DomainError("We cannot have learnt of it in the future.", field="learnt_at")
    if learnt_at.date() < agreement.effective_on:
        raise DomainError("That is earlier than the agreement's effective date.", field="learnt_at")
    authority = _text(data.authority, "authority", "Name the authority that requires the transfer.", 200)
    law = _text(data.law, "law", "Name the law (and its article) that imposes the transfer.", 300)
    destination = _text(data.destination, "destination", "Name the recipient organisation.", 200)
    data_concerned = _text(data.data_concerned, "data_concerned", "Say which personal data are concerned.", 4000)
    country = data.destination_country.strip().upper()
    if country and not _CODE.match(country):
        raise DomainError(
            "The destination country is a two-letter ISO code (empty for an international organisation).",
            field="destination_country",
        )
    ground = data.forbidden_ground.strip()
    if data.notice_forbidden and not ground:
        raise DomainError(
            "Give the public-interest ground and its reference (the law and article that forbid telling the client).",
            field="forbidden_ground",
        )
    if not data.notice_forbidden and ground:
        raise DomainError(
            "A ground is only recorded when the law forbids telling the client: tick that box or clear the ground.",
            field="forbidden_ground",
        )
    if proof is None:
        raise DomainError("Attach the proof of the legal obligation (the order, the request, the law).", field="proof")
    duty = _obligation(agreement)
    blob = evidence_store().save(proof.stream, int(current_app.config["MAX_CONTENT_LENGTH"]))
    event = record_event(
        actor,
        duty,
        occurred_at=learnt_at,
        aware_at=learnt_at,
        summary=f"Transfer required by law: {authority} ({law}) to {destination} ({country or 'international'})",
    )
    row = LawTransfer(
        agreement=agreement,
        learnt_at=learnt_at,
        authority=authority,
        law=law,
        destination_country=country,
        destination=destination,
        data_concerned=data_concerned,
        proof_sha256=blob.sha256,
        proof_filename=(proof.filename.replace("\\", "/").rsplit("/", 1)[-1] or "proof")[:255],
        proof_content_type=blob.content_type,
        proof_size=blob.size,
        notice_forbidden=bool(data.notice_forbidden),
        forbidden_ground=ground,
        event=event,
        recorded_by=actor,
    )
    db.session.add(row)
    db.session.flush()
    record(
        actor,
        "transfer.law_record",
        row,
        {
            "agreement": agreement.reference,
            "learnt_at": learnt_at,
            "authority": authority,
            "law": law,
            "destination": destination,
            "destination_country": country,
            "data_concerned": data_concerned,
            "proof_sha256": blob.sha256,
            "notice_forbidden": row.notice_forbidden,
            "forbidden_ground": ground,
            "event_id": event.id,
        },
        client_id=agreement.client_id,
    )
    if row.notice_forbidden:
        # the law forbids the notice: the recorded ground answers the event, and the reason says so
        add_evidence(
            actor,
            duty,
            EvidenceInput(
                note=f"{NOT_NOTIFIED}{ground} (transfer required by law #{row.id}: the law forbids telling the client)",
                trigger_event_id=event.id,
                acted_at=learnt_at,
            ),
        )
    return row


def queue_law_notice(actor: User, row: LawTransfer) -> list[RequestNotice]:
    """Tell the client before processing, with the proof (its SHA-256 and where to download it); sent by
    ``flask notices send``, the sent e-mail answers the clause 10(2)(b) event."""
    if row.notice_forbidden:
        raise DomainError(
            f"The law forbids telling the client ({row.forbidden_ground}); nothing is sent.", field="law_transfer_id"
        )
    if row.notices:
        raise DomainError("The client is already notified of this transfer (queued or sent).", field="law_transfer_id")
    agreement = row.agreement
    subject = f"Transfer of your data required by law, clause 10(2) of agreement {agreement.reference}"
    body = "\n".join(
        [
            f"Dear {agreement.client.legal_name},",
            "",
            f"Under clause 10(2) of agreement {agreement.reference}, we inform you, before processing, that the law "
            "requires us to transfer some of your personal data outside the EU/EEA.",
            "",
            f"  Required by: {row.authority}",
            f"  Law: {row.law}",
            f"  Recipient: {row.destination} ({row.where})",
            f"  Data concerned: {row.data_concerned}",
            f"  We learnt of the obligation on {row.learnt_at:%Y-%m-%d %H:%M} UTC.",
            "",
            "Proof that the obligation is mandatory:",
            f"  {row.proof_filename}, SHA-256 {row.proof_sha256}",
            f"  Download it in the portal: /law-transfers/{row.id}/proof "
            f"(signed in as a user of {agreement.client.legal_name}).",
        ]
    )
    return queue_client_notice(actor, agreement, LAW_CLAUSE, row.event_id, subject, body, law_transfer=row)


def notified_at(row: LawTransfer) -> datetime | None:
    sent = [n.sent_at for n in row.notices if n.sent_at is not None]
    return min(sent) if sent else None


def law_transfers_query(user: User, client_id: int | None = None) -> Select[tuple[LawTransfer]]:
    """The transfers required by law the user may see: a client's users and auditors never see one whose notice
    the law forbids."""
    stmt = (
        select(LawTransfer)
        .join(LawTransfer.agreement)
        .where(client_filter(user, Agreement.client_id))
        .options(selectinload(LawTransfer.agreement).selectinload(Agreement.client), selectinload(LawTransfer.notices))
    )
    if not can_write(user):
        stmt = stmt.where(LawTransfer.notice_forbidden.is_(False))
    if client_id is not None:
        stmt = stmt.where(Agreement.client_id == client_id)
    return stmt
