"""Builds a client's Art. 30(2) record as plain data (the documented JSON schema,
docs/record-schema.md), and decides whether it is complete (clause 4.1)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from dpa_tracker.client.services import get_processor
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    AuditEvent,
    Client,
    ProcessingActivity,
    SecurityMeasure,
    SubProcessor,
    SupportingDocument,
    Transfer,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.models.record import MeasureHeading, TransferMechanism
from dpa_tracker.record.eea import in_eea, location_country
from dpa_tracker.subprocessor.authorised import AuthorisedEntry, authorised_for_clients, subprocessor_row

SCHEMA = "dpa-tracker/art30-2-record/v1"
HEADING_TITLES = {
    MeasureHeading.ENCRYPTION: "(a) Pseudonymisation and encryption of personal data",
    MeasureHeading.RESILIENCE: "(b) Ongoing confidentiality, integrity, availability and resilience",
    MeasureHeading.RESTORE: "(c) Timely restoration of availability and access after an incident",
    MeasureHeading.TESTING: "(d) Regular testing, assessment and evaluation of the measures",
}
MECHANISM_TITLES = {
    TransferMechanism.ADEQUACY: "Adequacy decision (Art. 45)",
    TransferMechanism.SCC: "Standard contractual clauses (Art. 46(2)(c))",
    TransferMechanism.BCR: "Binding corporate rules (Art. 47)",
    TransferMechanism.CODE_OF_CONDUCT: "Code of conduct (Art. 46(2)(e))",
    TransferMechanism.CERTIFICATION: "Certification (Art. 46(2)(f))",
    TransferMechanism.AD_HOC: "Ad hoc contractual clauses (Art. 46(3)(a))",
    TransferMechanism.DEROGATION: "Derogation (Art. 49(1) first subparagraph)",
    TransferMechanism.COMPELLING_INTEREST: "Compelling legitimate interests (Art. 49(1) second subparagraph)",
}


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def _existing_on(column_created: Any, column_archived: Any, day: date) -> Any:
    end = _end_of(day)
    return (column_created < end) & or_(column_archived.is_(None), column_archived >= end)


def _document(doc: SupportingDocument) -> dict[str, Any]:
    return {
        "sha256": doc.sha256,
        "filename": doc.filename,
        "added_on": doc.added_at.date().isoformat(),
        "valid_until": doc.valid_until.isoformat() if doc.valid_until else None,
    }


def _live_documents(documents: list[SupportingDocument], day: date) -> list[SupportingDocument]:
    end = _end_of(day)
    return [d for d in documents if d.added_at < end and (d.withdrawn_at is None or d.withdrawn_at >= end)]


def _activities(client_ids: list[int], as_of: date) -> list[ProcessingActivity]:
    """The activities of ``client_ids`` that existed on ``as_of``, with what the record shows of them."""
    return list(
        db.session.scalars(
            select(ProcessingActivity)
            .where(
                ProcessingActivity.client_id.in_(client_ids),
                _existing_on(ProcessingActivity.created_at, ProcessingActivity.archived_at, as_of),
            )
            .options(
                selectinload(ProcessingActivity.transfers).selectinload(Transfer.documents),
                selectinload(ProcessingActivity.measures).selectinload(SecurityMeasure.documents),
                selectinload(ProcessingActivity.subprocessors),
            )
            .order_by(ProcessingActivity.name, ProcessingActivity.id)
        )
    )


def active_activity_names_by_client(client_ids: Sequence[int], as_of: date) -> dict[int, list[str]]:
    """``active_activity_names`` of many clients in one query."""
    found: dict[int, list[str]] = {i: [] for i in client_ids}
    for client_id, name in db.session.execute(
        select(ProcessingActivity.client_id, ProcessingActivity.name)
        .where(
            ProcessingActivity.client_id.in_(sorted(found)),
            _existing_on(ProcessingActivity.created_at, ProcessingActivity.archived_at, as_of),
        )
        .order_by(ProcessingActivity.client_id, ProcessingActivity.name)
    ):
        found[client_id].append(name)
    return found


FIELDS = (
    "name",
    "processing_categories",
    "data_subject_categories",
    "personal_data_categories",
    "special_categories",
    "purposes",
    "retention",
    "locations",
)


def _as_it_was(activities: list[ProcessingActivity], as_of: date) -> dict[int, dict[str, Any]]:
    """Each activity's fields and links as they stood at the end of ``as_of``.

    ``update_activity`` writes every change as ``[before, after]`` into the append-only, hash-chained
    audit log; undoing the changes made after that day, newest first, gives the values of that day.
    """
    state: dict[int, dict[str, Any]] = {
        a.id: {
            **{name: getattr(a, name) for name in FIELDS},
            "measure_ids": [m.id for m in a.measures],
            "subprocessor_ids": [s.id for s in a.subprocessors],
        }
        for a in activities
    }
    if not activities or as_of >= utcnow().date():  # nothing can have happened after today
        return state
    later = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.client_id.in_({a.client_id for a in activities}),
            AuditEvent.action == "activity.update",
            AuditEvent.object_id.in_(list(state)),
            AuditEvent.occurred_at >= _end_of(as_of),
        )
        .order_by(AuditEvent.id.desc())
    )
    for event in later:
        assert event.object_id is not None  # the query asks for these activities' ids
        for name, (before, _after) in event.changes.items():
            if name in state[event.object_id]:
                state[event.object_id][name] = before
    return state


def _activity_rows(
    activities: list[ProcessingActivity], as_of: date
) -> tuple[list[dict[str, Any]], dict[int, SecurityMeasure]]:
    past = _as_it_was(activities, as_of)
    unlinked_measures = _unlinked_since(SecurityMeasure, activities, past, "measures", "measure_ids")
    unlinked_subprocessors = _unlinked_since(SubProcessor, activities, past, "subprocessors", "subprocessor_ids")
    measures: dict[int, SecurityMeasure] = {}
    activity_rows = []
    for activity in activities:
        values = past[activity.id]
        linked = sorted(_linked(activity.measures, values["measure_ids"], unlinked_measures), key=lambda m: m.id)
        subprocessors = sorted(
            _linked(activity.subprocessors, values["subprocessor_ids"], unlinked_subprocessors),
            key=lambda s: (s.legal_name, s.id),
        )
        for measure in linked:
            if measure.archived_at is None or measure.archived_at >= _end_of(as_of):
                measures[measure.id] = measure
        # A transfer recorded after the record's day was not part of the record on that day.
        transfers = [
            t
            for t in activity.transfers
            if t.created_at < _end_of(as_of) and (t.archived_at is None or t.archived_at >= _end_of(as_of))
        ]
        activity_rows.append(
            {
                "id": activity.id,
                "name": values["name"],
                "processing_categories": list(values["processing_categories"]),
                "data_subject_categories": list(values["data_subject_categories"]),
                "personal_data_categories": list(values["personal_data_categories"]),
                "special_categories": list(values["special_categories"]),
                "purposes": values["purposes"],
                "retention": values["retention"],
                "locations": [dict(loc) for loc in values["locations"]],
                "subprocessors": [
                    {
                        "id": s.id,
                        "legal_name": s.legal_name,
                        "country": s.country,
                        "service": s.service,
                        "locations": list(s.locations),
                        "transfer_mechanism": s.transfer_mechanism.value if s.transfer_mechanism else None,
                        "contact_email": s.contact_email,
                        "dpo_name": s.dpo_name,
                        "dpo_email": s.dpo_email,
                    }
                    for s in subprocessors
                ],
                "transfers": _transfer_rows(transfers, subprocessors, as_of),
                "security_measure_ids": sorted(m.id for m in linked if m.id in measures),
            }
        )
    return activity_rows, measures


def _transfer_rows(transfers: list[Transfer], subprocessors: list[SubProcessor], as_of: date) -> list[dict[str, Any]]:
    """The activity's recorded transfers, then the transfers its sub-processors make under their own mechanism.

    A linked sub-processor outside the EU/EEA that states its own transfer mechanism transfers the activity's
    data to its countries: the record shows that as a transfer of the activity (Art. 30(2)(c)).
    """
    rows = [
        {
            "id": t.id,
            "source": "activity",
            "subprocessor_id": None,
            "destination": t.destination,
            "is_international_organisation": t.is_international_organisation,
            "recipient": t.recipient,
            "mechanism": t.mechanism.value,
            "mechanism_title": MECHANISM_TITLES[t.mechanism],
            "mechanism_detail": t.mechanism_detail,
            "safeguards_documents": [_document(d) for d in _live_documents(t.documents, as_of)],
        }
        for t in transfers
    ]
    recorded = {(t.destination.upper(), t.recipient.casefold()) for t in transfers}
    for sub in subprocessors:
        if sub.transfer_mechanism is None:
            continue
        for country in sorted(c for c in _countries(sub.country, sub.locations) if not in_eea(c)):
            if (country, sub.legal_name.casefold()) in recorded:
                continue
            rows.append(
                {
                    "id": None,
                    "source": "subprocessor",
                    "subprocessor_id": sub.id,
                    "destination": country,
                    "is_international_organisation": False,
                    "recipient": sub.legal_name,
                    "mechanism": sub.transfer_mechanism.value,
                    "mechanism_title": MECHANISM_TITLES[sub.transfer_mechanism],
                    "mechanism_detail": f"The sub-processor's own transfer mechanism ({sub.service}).",
                    "safeguards_documents": [],
                }
            )
    return rows


def _countries(country: str, locations: list[str]) -> set[str]:
    """Where a sub-processor may hold the data: its seat and every location that starts with a country code."""
    found = {location_country(loc) for loc in locations}
    return {c for c in found if c} | {country.upper()}


def _unlinked_since(
    model: Any, activities: list[ProcessingActivity], past: dict[int, dict[str, Any]], relation: str, key: str
) -> dict[int, Any]:
    """Measures or sub-processors linked on the record's day but not any more, in one query for all activities."""
    linked_now = {obj.id for a in activities for obj in getattr(a, relation)}
    missing = {i for a in activities for i in past[a.id][key]} - linked_now
    if not missing:
        return {}
    return {obj.id: obj for obj in db.session.scalars(select(model).where(model.id.in_(missing)))}


def _linked(current: list[Any], ids: list[int], unlinked: dict[int, Any]) -> list[Any]:
    """The measures or sub-processors with these ids: the ones linked now, or unlinked since."""
    by_id = {**unlinked, **{obj.id: obj for obj in current}}
    return [by_id[i] for i in ids if i in by_id]


def _processor_part() -> dict[str, Any] | None:
    processor = get_processor()
    return (
        None
        if processor is None
        else {
            "name": processor.name,
            "address": processor.address,
            "contact_email": processor.contact_email,
            "contact_phone": processor.contact_phone,
            "dpo_name": processor.dpo_name,
            "dpo_email": processor.dpo_email,
            "representative": processor.representative,
            "representative_contact": processor.representative_contact,
        }
    )


def _client_part(client: Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "legal_name": client.legal_name,
        "country": client.country,
        "address": client.address,
        "contact_emails": client.notice_email_list,
        "dpo_name": client.dpo_name,
        "dpo_email": client.dpo_email,
        "representative": client.representative,
        "representative_contact": client.representative_contact,
    }


def problems_by_client(
    clients: list[Client], as_of: date, authorised: Mapping[int, list[AuthorisedEntry]] | None = None
) -> dict[int, list[str]]:
    """``completeness_problems`` of several clients' records at once, in a fixed number of queries
    (the dashboard needs them for every clause 4.1 row it lists); ``authorised``: the clients' authorised
    sub-processors (``authorised_for_clients``) when already read."""
    by_client: dict[int, list[ProcessingActivity]] = {c.id: [] for c in clients}
    for activity in _activities(list(by_client), as_of):
        by_client[activity.client_id].append(activity)
    processor = _processor_part()
    if authorised is None:
        authorised = authorised_for_clients(list(by_client), as_of)
    return {
        client.id: completeness_problems(
            {
                "as_of": as_of.isoformat(),
                "processor": processor,
                "client": _client_part(client),
                "activities": _activity_rows(by_client[client.id], as_of)[0],
                "subprocessors": [{"id": e.subprocessor.id} for e in authorised[client.id]],
            }
        )
        for client in clients
    }


def scope_gaps_by_client(clients: list[Client], as_of: date) -> dict[int, list[str]]:
    """Clause 2.1: the processing is limited to the data types and data subjects the client defined, so each
    activity of the client's Art. 30(2) record on ``as_of`` must name both. Several clients in a fixed number
    of queries; an empty list when a client's activities all do."""
    activities = _activities([c.id for c in clients], as_of)
    rows = _activity_rows(activities, as_of)[0]
    gaps: dict[int, list[str]] = {c.id: [] for c in clients}
    named: set[int] = set()
    for activity, row in zip(activities, rows, strict=True):
        named.add(activity.client_id)
        if not row["personal_data_categories"]:
            gaps[activity.client_id].append(
                f"{row['name']}: no category of personal data defined by the client (clause 2.1)."
            )
        if not row["data_subject_categories"]:
            gaps[activity.client_id].append(
                f"{row['name']}: no category of data subjects defined by the client (clause 2.1)."
            )
    for client_id in gaps.keys() - named:
        gaps[client_id].append(
            "No processing activity records the data types and data subjects the client defined (clause 2.1)."
        )
    return gaps


def build_record(client: Client, as_of: date) -> dict[str, Any]:
    """The record of processing carried out for ``client`` as it stands on ``as_of``."""
    activity_rows, measures = _activity_rows(_activities([client.id], as_of), as_of)
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "as_of": as_of.isoformat(),
        "processor": _processor_part(),
        "client": _client_part(client),
        "activities": activity_rows,
        "security_measures": [
            {
                "id": m.id,
                "heading": m.heading.value,
                "heading_title": HEADING_TITLES[m.heading],
                "title": m.title,
                "description": m.description,
                "documents": [_document(d) for d in _live_documents(m.documents, as_of)],
            }
            for m in sorted(measures.values(), key=lambda m: (m.heading.value, m.title))
        ],
        "subprocessors": [
            {"id": e.subprocessor.id, **subprocessor_row(e)}
            for e in authorised_for_clients([client.id], as_of)[client.id]
        ],
    }
    record["problems"] = completeness_problems(record)
    return record


def completeness_problems(record: dict[str, Any]) -> list[str]:
    """What keeps the record from meeting Art. 30(2) (a)-(d); empty when complete."""
    problems = []
    processor = record["processor"]
    if processor is None or not processor["name"] or not (processor["contact_email"] or processor["contact_phone"]):
        problems.append("Processor name and contact details are missing (Art. 30(2)(a)).")
    if not record["client"]["contact_emails"]:
        problems.append("The client's contact details are missing (Art. 30(2)(a)).")
    if not record["activities"]:
        problems.append("No processing activity is recorded for this client (Art. 30(2)(b)).")
    authorised = {s["id"] for s in record["subprocessors"]}
    for activity in record["activities"]:
        name = activity["name"]
        if not activity["processing_categories"]:
            problems.append(f"{name}: no category of processing (Art. 30(2)(b)).")
        if not activity["data_subject_categories"] or not activity["personal_data_categories"]:
            problems.append(f"{name}: categories of data subjects and of personal data are required.")
        if not activity["locations"]:
            problems.append(f"{name}: no data location (clause 7.2).")
        if not activity["security_measure_ids"]:
            problems.append(f"{name}: no security measure described (Art. 30(2)(d)).")
        for transfer in activity["transfers"]:
            compelling = transfer["mechanism"] == TransferMechanism.COMPELLING_INTEREST.value
            if compelling and not transfer["safeguards_documents"]:
                problems.append(
                    f"{name}: transfer to {transfer['destination']} under the second subparagraph of "
                    "Art. 49(1) has no safeguards document (Art. 30(2)(c))."
                )
        problems += _transfer_gaps(activity)
        problems += [
            f"{name}: sub-processor {sub['legal_name']} is not authorised for this client on "
            f"{record['as_of']} (clause 6.1, Art. 28(2))."
            for sub in activity["subprocessors"]
            if sub["id"] not in authorised
        ]
    return problems


def _transfer_gaps(activity: dict[str, Any]) -> list[str]:
    """Destinations outside the EU/EEA that no transfer of the activity covers (Art. 30(2)(c), clause 10(2)).

    Only a transfer to that country counts, whatever its mechanism: an adequacy decision still needs the
    transfer recorded with the mechanism "adequacy decision".
    """
    name = activity["name"]
    covered = {
        t["destination"].strip().upper() for t in activity["transfers"] if not t["is_international_organisation"]
    }
    gaps = []
    for country in dict.fromkeys(loc["country"].upper() for loc in activity["locations"]):
        if not in_eea(country) and country not in covered:
            gaps.append(
                f"{name}: data location in {country} is outside the EU/EEA and no transfer to {country} "
                "is recorded (Art. 30(2)(c), clause 10(2))."
            )
    for sub in activity["subprocessors"]:
        for country in sorted(_countries(sub["country"], sub.get("locations") or [])):
            if not in_eea(country) and country not in covered:
                gaps.append(
                    f"{name}: sub-processor {sub['legal_name']} holds data in {country}, outside the "
                    f"EU/EEA, and no transfer to {country} is recorded (Art. 30(2)(c), clause 10(2))."
                )
    return gaps


def canonical_json(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, indent=1)


def content_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()
