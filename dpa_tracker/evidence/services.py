"""Adding, superseding and withdrawing evidence. Evidence rows are never edited or deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from flask import current_app

from dpa_tracker.audit.services import record
from dpa_tracker.dates import check_date
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.store import EvidenceStore
from dpa_tracker.extensions import db
from dpa_tracker.models import Evidence, EvidenceState, Obligation, TriggerEvent, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import events_of, refresh_cache
from dpa_tracker.validation import check_lines, line


def evidence_store() -> EvidenceStore:
    return EvidenceStore(Path(current_app.config["EVIDENCE_DIR"]))


@dataclass(frozen=True)
class Upload:
    stream: IO[bytes]
    filename: str


@dataclass(frozen=True)
class EvidenceInput:
    note: str = ""
    link: str = line("Link", default="")
    period_start: date | None = None
    period_end: date | None = None
    valid_until: date | None = None
    trigger_event_id: int | None = None
    supersedes_id: int | None = None
    acted_at: datetime | None = None  # when the act was done; None: now


def _clean_filename(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"')
    return name[:255] or "evidence"


def _validate(
    obligation: Obligation, data: EvidenceInput, has_file: bool, added_at: datetime
) -> tuple[TriggerEvent | None, Evidence | None]:
    check_lines(data)
    if not (has_file or data.note.strip() or data.link.strip()):
        raise DomainError("Give a file, a note or a link.", field="file")
    for name in ("period_start", "period_end", "valid_until"):
        check_date(getattr(data, name), name)
    if data.link.strip():
        parsed = urlparse(data.link.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise DomainError("The link must be an http(s) address.", field="link")
    if data.period_start and data.period_end and data.period_end < data.period_start:
        raise DomainError("The period ends before it starts.", field="period_end")
    if data.period_start and data.valid_until and data.valid_until < data.period_start:
        raise DomainError("Evidence cannot expire before the period it covers starts.", field="valid_until")
    event = None
    if data.trigger_event_id is not None:
        event = db.session.get(TriggerEvent, data.trigger_event_id)
        if event is None or event not in events_of(obligation):
            raise DomainError("That event does not belong to this obligation.", field="trigger_event_id")
    if data.acted_at is not None:
        _check_act_time(obligation, data.acted_at, event, added_at)
    superseded = None
    if data.supersedes_id is not None:
        superseded = db.session.get(Evidence, data.supersedes_id)
        if superseded is None or superseded.obligation_id != obligation.id:
            raise DomainError("The evidence to supersede does not belong to this obligation.", field="supersedes_id")
        if superseded.state is not EvidenceState.ACTIVE:
            raise DomainError("Only active evidence can be superseded.", field="supersedes_id")
    return event, superseded


def _check_act_time(obligation: Obligation, acted_at: datetime, event: TriggerEvent | None, added_at: datetime) -> None:
    """Evidence must postdate what it proves: an act is not in the future, and not before the event it answers."""
    if acted_at.tzinfo is None:
        raise DomainError("The time of the act needs a time zone.", field="acted_at")
    check_date(acted_at.date(), "acted_at")
    if acted_at > added_at:
        raise DomainError(
            "The act cannot be later than the evidence that records it (no future times).", field="acted_at"
        )
    if acted_at.date() < obligation.agreement.signed_on:
        raise DomainError("The act is earlier than the agreement's signature.", field="acted_at")
    if event is not None and acted_at < event.occurred_at:
        raise DomainError(
            f"The act cannot be earlier than the event it answers ({event.occurred_at:%Y-%m-%d %H:%M} UTC).",
            field="acted_at",
        )


def add_evidence(
    actor: User | None,
    obligation: Obligation,
    data: EvidenceInput,
    upload: Upload | None = None,
    *,
    seeded_at: datetime | None = None,
) -> Evidence:
    """Validate, store the file (atomically, by hash), then record the evidence row.

    ``seeded_at`` back-dates the row for the demo seeder only: pages and the API always record now,
    and the row can never be changed afterwards (a database trigger)."""
    added_at = seeded_at or utcnow()
    event, superseded = _validate(obligation, data, upload is not None, added_at)
    evidence = Evidence(
        obligation=obligation,
        trigger_event=event,
        note=data.note.strip(),
        link=data.link.strip(),
        period_start=data.period_start,
        period_end=data.period_end,
        valid_until=data.valid_until,
        added_by=actor,
        added_at=added_at,
        acted_at=data.acted_at,
        state=EvidenceState.ACTIVE,
    )
    if upload is not None:
        blob = evidence_store().save(upload.stream, int(current_app.config["MAX_CONTENT_LENGTH"]))
        evidence.sha256 = blob.sha256
        evidence.size = blob.size
        evidence.content_type = blob.content_type
        evidence.filename = _clean_filename(upload.filename)
    db.session.add(evidence)
    db.session.flush()
    if superseded is not None:
        _end(actor, superseded, EvidenceState.SUPERSEDED, f"Superseded by evidence #{evidence.id}")
        superseded.superseded_by_id = evidence.id
    refresh_cache([obligation])
    record(
        actor,
        "evidence.add",
        evidence,
        {
            "obligation_id": obligation.id,
            "clause": obligation.clause_number,
            "sha256": evidence.sha256,
            "filename": evidence.filename,
            "note": evidence.note,
            "link": evidence.link,
            "valid_until": evidence.valid_until,
            "acted_at": evidence.acted_at,
            "trigger_event_id": evidence.trigger_event_id,
            "supersedes": superseded.id if superseded else None,
            **({"seeded_at": seeded_at} if seeded_at else {}),
        },
        client_id=obligation.agreement.client_id,
    )
    return evidence


def _end(actor: User | None, evidence: Evidence, state: EvidenceState, reason: str) -> None:
    evidence.state = state
    evidence.ended_at = utcnow()
    evidence.ended_by = actor
    evidence.end_reason = reason


def withdraw_evidence(actor: User, evidence: Evidence, reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the evidence is withdrawn.", field="reason")
    if evidence.state is not EvidenceState.ACTIVE:
        raise DomainError("This evidence is no longer active.")
    _end(actor, evidence, EvidenceState.WITHDRAWN, reason)
    db.session.flush()
    refresh_cache([evidence.obligation])
    record(
        actor,
        "evidence.withdraw",
        evidence,
        {"reason": reason, "obligation_id": evidence.obligation_id},
        client_id=evidence.obligation.agreement.client_id,
    )
