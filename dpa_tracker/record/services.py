"""Keeping the Art. 30(2) record: activities, transfers, measures, supporting documents,
reviews, and the immutable versions handed out (clauses 4.1-4.3)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from dpa_tracker.audit.anchor import chain_head
from dpa_tracker.audit.services import record
from dpa_tracker.dates import check_date
from dpa_tracker.deletion.clause13 import processing_refused
from dpa_tracker.errors import Conflict, DomainError
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence, evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    Client,
    DocumentKind,
    Evidence,
    MeasureHeading,
    Obligation,
    ProcessingActivity,
    ProcessingCategory,
    RecordVersion,
    Role,
    SecurityMeasure,
    SubProcessor,
    SupportingDocument,
    Transfer,
    TransferMechanism,
    TriggerEvent,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import refresh_cache, refresh_subprocessor_obligations
from dpa_tracker.record.builder import build_record, canonical_json, content_hash
from dpa_tracker.validation import check_lines, line

FORMATS = ("pdf", "json", "csv")


def _clean_list(values: Sequence[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        value = value.strip()
        if value and value not in seen:
            seen.append(value)
    return seen


@dataclass(frozen=True)
class ActivityInput:
    name: str = line("Name")
    processing_categories: list[str] = line("Category of processing", default_factory=list)
    data_subject_categories: list[str] = line("Category of data subjects", default_factory=list)
    personal_data_categories: list[str] = line("Category of personal data", default_factory=list)
    special_categories: list[str] = line("Special category", default_factory=list)
    purposes: str = ""
    retention: str = ""
    locations: list[dict[str, str]] = line("Data location", default_factory=list)
    measure_ids: list[int] = field(default_factory=list)
    subprocessor_ids: list[int] = field(default_factory=list)


def _activity_values(data: ActivityInput) -> dict[str, Any]:
    check_lines(data)
    name = data.name.strip()
    if not name:
        raise DomainError("The activity needs a name.", field="name")
    categories = _clean_list(data.processing_categories)
    allowed = {c.value for c in ProcessingCategory}
    unknown = [c for c in categories if c not in allowed]
    if unknown:
        raise DomainError(f"Unknown processing categories: {', '.join(unknown)}.", field="processing_categories")
    locations = []
    for loc in data.locations:
        country = str(loc.get("country", "")).strip().upper()
        if len(country) != 2 or not country.isalpha() or not country.isascii():
            raise DomainError("Each location needs a two-letter country code.", field="locations")
        locations.append({"country": country, "site": str(loc.get("site", "")).strip()})
    return {
        "name": name,
        "processing_categories": categories,
        "data_subject_categories": _clean_list(data.data_subject_categories),
        "personal_data_categories": _clean_list(data.personal_data_categories),
        "special_categories": _clean_list(data.special_categories),
        "purposes": data.purposes.strip(),
        "retention": data.retention.strip(),
        "locations": locations,
    }


def _load_many(model: Any, ids: Sequence[int], field_name: str) -> list[Any]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = list(db.session.scalars(select(model).where(model.id.in_(wanted))))
    if len(rows) != len(wanted):
        missing = sorted(set(wanted) - {r.id for r in rows})
        raise DomainError(f"Unknown ids: {', '.join(map(str, missing))}.", field=field_name)
    return rows


def refresh_record_obligations(client_id: int) -> None:
    """Clause 4.1 takes its status from the record: re-assess it for every agreement of the client."""
    obligations = db.session.scalars(
        select(Obligation).join(Obligation.agreement).where(Agreement.client_id == client_id)
    ).all()
    refresh_cache([o for o in obligations if o.rule.get("requires")])


def _ensure_unique_activity(client: Client, name: str, exclude_id: int | None = None) -> None:
    stmt = select(ProcessingActivity.id).where(
        ProcessingActivity.client_id == client.id, func.lower(ProcessingActivity.name) == name.lower()
    )
    if exclude_id is not None:
        stmt = stmt.where(ProcessingActivity.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict(f"{client.legal_name} already has an activity named {name!r}.", field="name")


def create_activity(actor: User, client: Client, data: ActivityInput) -> ProcessingActivity:
    refused = processing_refused(client.id, utcnow().date())
    if refused is not None:
        raise DomainError(refused)
    values = _activity_values(data)
    _ensure_unique_activity(client, values["name"])
    activity = ProcessingActivity(client=client, **values)
    activity.measures = _load_many(SecurityMeasure, data.measure_ids, "measure_ids")
    activity.subprocessors = _load_many(SubProcessor, data.subprocessor_ids, "subprocessor_ids")
    db.session.add(activity)
    db.session.flush()
    record(
        actor,
        "activity.create",
        activity,
        {**values, "measure_ids": sorted(data.measure_ids), "subprocessor_ids": sorted(data.subprocessor_ids)},
        client_id=client.id,
    )
    refresh_record_obligations(client.id)
    return activity


def update_activity(actor: User, activity: ProcessingActivity, data: ActivityInput) -> ProcessingActivity:
    if activity.archived_at is not None:
        raise DomainError("This activity is archived.")
    values = _activity_values(data)
    _ensure_unique_activity(activity.client, values["name"], exclude_id=activity.id)
    changes = {k: [getattr(activity, k), v] for k, v in values.items() if getattr(activity, k) != v}
    for key, value in values.items():
        setattr(activity, key, value)
    measures = _load_many(SecurityMeasure, data.measure_ids, "measure_ids")
    subprocessors = _load_many(SubProcessor, data.subprocessor_ids, "subprocessor_ids")
    if sorted(m.id for m in activity.measures) != sorted(m.id for m in measures):
        changes["measure_ids"] = [sorted(m.id for m in activity.measures), sorted(m.id for m in measures)]
        activity.measures = measures
    if sorted(s.id for s in activity.subprocessors) != sorted(s.id for s in subprocessors):
        changes["subprocessor_ids"] = [
            sorted(s.id for s in activity.subprocessors),
            sorted(s.id for s in subprocessors),
        ]
        activity.subprocessors = subprocessors
    if changes:
        activity.updated_at = utcnow()
        db.session.flush()
        record(actor, "activity.update", activity, changes, client_id=activity.client_id)
        refresh_record_obligations(activity.client_id)
    return activity


def archive_activity(actor: User, activity: ProcessingActivity, reason: str) -> None:
    if not reason.strip():
        raise DomainError("Say why the activity ends.", field="reason")
    if activity.archived_at is not None:
        raise DomainError("This activity is already archived.")
    activity.archived_at = utcnow()
    db.session.flush()
    record(actor, "activity.archive", activity, {"reason": reason.strip()}, client_id=activity.client_id)
    refresh_record_obligations(activity.client_id)


@dataclass(frozen=True)
class TransferInput:
    destination: str = line("Destination")
    recipient: str = line("Recipient")
    mechanism: str = line("Mechanism")
    is_international_organisation: bool = False
    mechanism_detail: str = ""


def add_transfer(actor: User, activity: ProcessingActivity, data: TransferInput) -> Transfer:
    check_lines(data)
    if not data.destination.strip():
        raise DomainError("Name the destination country or organisation.", field="destination")
    if not data.recipient.strip():
        raise DomainError("Name the recipient.", field="recipient")
    try:
        mechanism = TransferMechanism(data.mechanism)
    except ValueError:
        raise DomainError(f"Unknown transfer mechanism {data.mechanism!r}.", field="mechanism") from None
    transfer = Transfer(
        activity=activity,
        destination=data.destination.strip(),
        recipient=data.recipient.strip(),
        mechanism=mechanism,
        is_international_organisation=data.is_international_organisation,
        mechanism_detail=data.mechanism_detail.strip(),
    )
    db.session.add(transfer)
    db.session.flush()
    record(
        actor,
        "transfer.create",
        transfer,
        {
            "activity_id": activity.id,
            "destination": transfer.destination,
            "recipient": transfer.recipient,
            "mechanism": mechanism.value,
        },
        client_id=activity.client_id,
    )
    refresh_record_obligations(activity.client_id)
    return transfer


@dataclass(frozen=True)
class MeasureInput:
    heading: str = line("Heading")
    title: str = line("Title")
    # line() is dataclasses.field() without a default, but mypy only knows field() itself as one.
    description: str  # type: ignore[misc]


def create_measure(actor: User, data: MeasureInput) -> SecurityMeasure:
    check_lines(data)
    try:
        heading = MeasureHeading(data.heading)
    except ValueError:
        raise DomainError(f"Unknown Art. 32(1) heading {data.heading!r}.", field="heading") from None
    if not data.title.strip() or not data.description.strip():
        raise DomainError("A measure needs a title and a description.", field="title")
    same_title = func.lower(SecurityMeasure.title) == data.title.strip().lower()
    if db.session.scalar(select(SecurityMeasure.id).where(same_title)):
        raise Conflict(f"A measure titled {data.title.strip()!r} already exists.", field="title")
    measure = SecurityMeasure(heading=heading, title=data.title.strip(), description=data.description.strip())
    db.session.add(measure)
    db.session.flush()
    record(actor, "measure.create", measure, {"heading": heading.value, "title": measure.title})
    return measure


def add_document(
    actor: User,
    owner: Transfer | SecurityMeasure | SubProcessor,
    kind: DocumentKind,
    upload: Upload,
    *,
    note: str = "",
    valid_until: date | None = None,
) -> SupportingDocument:
    """Store a supporting document (atomically, by hash) for a transfer, measure or sub-processor."""
    expected = {
        Transfer: (DocumentKind.SAFEGUARDS,),
        SecurityMeasure: (DocumentKind.MEASURE,),
        SubProcessor: (DocumentKind.GUARANTEE, DocumentKind.FLOW_DOWN),
    }[type(owner)]
    if kind not in expected:
        raise DomainError(f"A {type(owner).__name__} document cannot be of kind {kind.value}.", field="kind")
    check_date(valid_until, "valid_until")
    blob = evidence_store().save(upload.stream, int(current_app.config["MAX_CONTENT_LENGTH"]))
    document = SupportingDocument(
        kind=kind,
        sha256=blob.sha256,
        size=blob.size,
        content_type=blob.content_type,
        filename=(upload.filename or "document")[:255],
        note=note.strip(),
        valid_until=valid_until,
        added_by=actor,
    )
    if isinstance(owner, Transfer):
        document.transfer_id = owner.id
        client_id: int | None = owner.activity.client_id
    elif isinstance(owner, SecurityMeasure):
        document.measure_id = owner.id
        client_id = None
    else:
        document.subprocessor_id = owner.id
        client_id = None
    db.session.add(document)
    db.session.flush()
    record(
        actor,
        "document.add",
        document,
        {
            "kind": kind.value,
            "owner": f"{type(owner).__name__} {owner.id}",
            "sha256": blob.sha256,
            "filename": document.filename,
            "valid_until": valid_until,
        },
        client_id=client_id,
    )
    if client_id is not None:
        refresh_record_obligations(client_id)
    elif isinstance(owner, SubProcessor):  # clauses 6.2/6.3 of every agreement using it
        refresh_subprocessor_obligations()
    return document


def mark_reviewed(actor: User, client: Client, note: str) -> int:
    """Record a review of the client's record as evidence on clause 4.1 of each agreement in force."""
    obligations = db.session.scalars(
        select(Obligation)
        .join(Obligation.agreement)
        .where(
            Agreement.client_id == client.id,
            Agreement.status == AgreementStatus.ACTIVE,
            Obligation.clause_number == "4.1",
        )
    ).all()
    if not obligations:
        raise DomainError("The client has no agreement in force.")
    today = utcnow().date()
    for obligation in obligations:
        add_evidence(
            actor, obligation, EvidenceInput(note=note.strip() or "Record of processing reviewed.", period_end=today)
        )
    return len(obligations)


def client_request(actor: User, client: Client, clause: str, label: str, summary: str) -> list[TriggerEvent]:
    """A client's request (clause 4.2: a copy of the record; 11.1: documents): an event on that clause of each
    of its agreements in force, whose clock starts now."""
    from dpa_tracker.obligation.events import record_event

    if not summary.strip():
        raise DomainError("Describe what you need.", field="summary")
    obligations = db.session.scalars(
        select(Obligation)
        .join(Obligation.agreement)
        .where(
            Agreement.client_id == client.id,
            Agreement.status == AgreementStatus.ACTIVE,
            Obligation.clause_number == clause,
        )
    ).all()
    if not obligations:
        raise DomainError("You have no agreement in force.")
    now = utcnow()
    return [
        record_event(actor, obligation, occurred_at=now, summary=f"{label}: {summary}") for obligation in obligations
    ]


def hand_out(
    actor: User | None, client: Client, as_of: date, fmt: str, *, to_client: bool = False
) -> tuple[RecordVersion, dict[str, Any]]:
    """Every copy handed out is kept as a version: who, when, as of which date, its hash, and the audit chain
    head at that moment (printed on the copy, so the client's copy anchors the log)."""
    if fmt not in (*FORMATS, "email"):
        raise DomainError(f"Unknown format {fmt!r}; use pdf, json or csv.", field="format")
    data = build_record(client, as_of)
    number = (
        db.session.scalar(select(func.max(RecordVersion.number)).where(RecordVersion.client_id == client.id)) or 0
    ) + 1
    head = chain_head()
    version = RecordVersion(
        client_id=client.id,
        number=number,
        as_of=as_of,
        content=canonical_json(data),
        content_sha256=content_hash(data),
        handed_out_as=fmt,
        handed_out_by=actor,
        audit_head_id=head.id if head else None,
        audit_head_hash=head.hash if head else None,
    )
    db.session.add(version)
    db.session.flush()
    record(
        actor,
        "record.hand_out",
        version,
        {
            "number": number,
            "format": fmt,
            "as_of": as_of,
            "sha256": version.content_sha256,
            "audit_head": {"event_id": head.id, "hash": head.hash} if head else None,
        },
        client_id=client.id,
    )
    _answer_copy_requests(actor, client, version, to_client=to_client)
    return version, data


def _answer_copy_requests(actor: User | None, client: Client, version: RecordVersion, *, to_client: bool) -> None:
    """Clause 4.2: a copy answers the client's open requests only when it reaches the client.

    That is when staff hand it to the client (``to_client``) or when the client's own user takes
    it. A copy an auditor or the system makes, or staff keep for themselves, answers nothing.
    """
    if actor is None:
        return
    own_user = actor.role is Role.CLIENT and actor.client_id == client.id
    if not (own_user or (to_client and actor.can_write)):
        return
    events = db.session.scalars(
        select(TriggerEvent)
        .join(TriggerEvent.obligation)
        .join(Obligation.agreement)
        .where(Agreement.client_id == client.id, Obligation.clause_number == "4.2")
        .where(~select(Evidence.id).where(Evidence.trigger_event_id == TriggerEvent.id).exists())
    ).all()
    recipient = "taken by the client" if own_user else "handed to the client"
    for event in events:
        add_evidence(
            actor,
            event.obligation,
            EvidenceInput(
                note=f"Copy of the record {recipient}: version {version.number} ({version.handed_out_as}), "
                f"SHA-256 {version.content_sha256}, by {actor.email} on "
                f"{version.handed_out_at:%Y-%m-%d %H:%M} UTC.",
                trigger_event_id=event.id,
            ),
        )


def diff_versions(older: RecordVersion, newer: RecordVersion) -> list[str]:
    """A readable unified diff of two versions' content."""
    return list(
        difflib.unified_diff(
            older.content.splitlines(),
            newer.content.splitlines(),
            fromfile=f"version {older.number} ({older.handed_out_at:%Y-%m-%d %H:%M} UTC)",
            tofile=f"version {newer.number} ({newer.handed_out_at:%Y-%m-%d %H:%M} UTC)",
            lineterm="",
            n=2,
        )
    )
