"""Clause 10(2): storage or transfer outside the EU/EEA needs the client's prior express consent.

Clause 10(2) of an agreement takes its status from the client's Art. 30(2) record and the sub-processors the
agreement authorises, on the date:

* every transfer of a processing activity to a country outside the EU/EEA (``record/eea.py``, one frozen list)
  or to an international organisation, every location of an activity outside the EU/EEA, and every country
  (seat or location) of an authorised sub-processor outside the EU/EEA needs a consent of the client that
  covers it (by the transfer's id or by the country), given on or before the date, recorded by then and not
  withdrawn by then; one without is a blocker (``overdue``) naming it and the country;
* an adequacy decision (Art. 45) does NOT replace the consent: the agreement asks for the client's consent to
  any storage or transfer outside the EU, whatever the mechanism; the mechanism is the Art. 30(2)(c) fact;
* nothing outside the EU/EEA in the record is a fact the record states: ``met``, saying so;
* no processing activity at all is no record: nothing is claimed, the ordinary rule on the clause's own evidence
  decides, with "No record" in the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from dpa_tracker.extensions import db
from dpa_tracker.models import Obligation, ProcessingActivity, TransferConsent
from dpa_tracker.record.eea import in_eea, location_country
from dpa_tracker.subprocessor.authorised import AuthorisedEntry, authorised_for_agreements

CONSENT_RULE = "transfer_consent"  # clause 10(2)
LAW_CLAUSE = "10(2)(b)"  # a transfer required by law: tell the client first, with the proof
NOT_NOTIFIED = "Not notified: "  # the note of the evidence a legal ground gives (read by the status reason)


@dataclass(frozen=True)
class OutsideEea:
    """One storage or transfer outside the EU/EEA, as the record shows it."""

    label: str  # names the transfer, location or sub-processor
    country: str | None  # ISO code; None for an international organisation
    transfer_id: int | None = None

    @property
    def where(self) -> str:
        return self.country or "an international organisation"


@dataclass(frozen=True)
class ConsentEvidence:
    """The record and the consents seen by the status engine as one piece of evidence (``EvidenceLike``)."""

    added_at: datetime
    valid_until: date | None = None
    ended_at: datetime | None = None
    period_end: date | None = None
    trigger_event_id: int | None = None
    acted_at: datetime | None = None


@dataclass(frozen=True)
class ConsentInputs:
    evidence: list[ConsentEvidence]
    blockers: list[str]
    summary: str = ""
    no_record: bool = False
    items: list[tuple[OutsideEea, int | None]] = field(default_factory=list)  # (item, covering consent id)


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _end_of(day: date) -> datetime:
    return _start(day + timedelta(days=1))


def activities_on(client_id: int, as_of: date) -> list[ProcessingActivity]:
    return activities_of([client_id], as_of)[client_id]


def activities_of(client_ids: Sequence[int], as_of: date) -> dict[int, list[ProcessingActivity]]:
    """The activities of these clients on ``as_of`` with their transfers, in two queries for all."""
    end = _end_of(as_of)
    found: dict[int, list[ProcessingActivity]] = {c: [] for c in client_ids}
    for activity in db.session.scalars(
        select(ProcessingActivity)
        .where(
            ProcessingActivity.client_id.in_(sorted(set(client_ids))),
            ProcessingActivity.created_at < end,
            or_(ProcessingActivity.archived_at.is_(None), ProcessingActivity.archived_at >= end),
        )
        .options(selectinload(ProcessingActivity.transfers))
        .order_by(ProcessingActivity.name, ProcessingActivity.id)
    ):
        found[activity.client_id].append(activity)
    return found


def outside_eea(
    activities: Sequence[ProcessingActivity],
    agreement_id: int,
    as_of: date,
    authorised: Mapping[int, list[AuthorisedEntry]] | None = None,
) -> list[OutsideEea]:
    """Every storage or transfer outside the EU/EEA in the record on ``as_of`` and the agreement's sub-processors
    (``authorised``: the agreements' authorised sub-processors, when already loaded)."""
    end = _end_of(as_of)
    found: list[OutsideEea] = []
    for activity in activities:
        for t in activity.transfers:
            if t.created_at >= end or (t.archived_at is not None and t.archived_at < end):
                continue
            if t.is_international_organisation:
                found.append(OutsideEea(f"transfer of “{activity.name}” to {t.recipient}", None, t.id))
            elif not in_eea(t.destination):
                found.append(OutsideEea(f"transfer of “{activity.name}” to {t.recipient}", t.destination.upper(), t.id))
        for place in activity.locations:
            country = str(place.get("country", "")).strip().upper()
            if country and not in_eea(country):
                site = str(place.get("site", "")).strip()
                found.append(OutsideEea(f"data location of “{activity.name}”{f' ({site})' if site else ''}", country))
    if authorised is None:
        authorised = authorised_for_agreements([agreement_id], as_of)
    for entry in authorised.get(agreement_id, []):
        sub = entry.subprocessor
        codes = {sub.country.upper()} | {c for c in (location_country(loc) for loc in sub.locations) if c}
        for country in sorted(c for c in codes if not in_eea(c)):
            found.append(OutsideEea(f"sub-processor {sub.legal_name}", country))
    return found


def consents_on(client_id: int, as_of: date) -> list[TransferConsent]:
    """The client's consents that count on ``as_of``: given and recorded by then, not withdrawn by then."""
    return consents_of([client_id], as_of)[client_id]


def consents_of(client_ids: Sequence[int], as_of: date) -> dict[int, list[TransferConsent]]:
    found: dict[int, list[TransferConsent]] = {c: [] for c in client_ids}
    for c in db.session.scalars(
        select(TransferConsent)
        .where(TransferConsent.client_id.in_(sorted(set(client_ids))))
        .order_by(TransferConsent.id)
    ):
        if c.given_on <= as_of and c.counts_on(as_of):
            found[c.client_id].append(c)
    return found


def decide(
    activities: Sequence[ProcessingActivity],
    items: Sequence[OutsideEea],
    consents: Sequence[TransferConsent],
    as_of: date,
) -> ConsentInputs:
    """Pure: the engine's evidence and blockers for clause 10(2) from the record's facts and the consents."""
    if not activities:
        return ConsentInputs([], [], no_record=True)
    covered: list[tuple[OutsideEea, int | None]] = []
    blockers: list[str] = []
    for item in items:
        consent = next((c for c in consents if c.covers(item.country, item.transfer_id)), None)
        covered.append((item, consent.id if consent else None))
        if consent is None:
            text = f"{item.label} in {item.where} has no consent of the client (clause 10(2))"
            blockers.append(text[0].upper() + text[1:])
    if blockers:
        return ConsentInputs([], blockers, items=covered)
    if not items:
        summary = f"No storage or transfer outside the EU/EEA is recorded in the client's record on {as_of}"
        since = min(a.created_at for a in activities)
        return ConsentInputs([ConsentEvidence(since)], [], summary, items=covered)
    used = {cid for _, cid in covered}
    countries = sorted({i.where for i in items})
    summary = (
        f"All {len(items)} storage(s) or transfer(s) outside the EU/EEA ({', '.join(countries)}) are covered by "
        f"the client's consent ({len(used)} consent(s))"
    )
    latest = max(c.recorded_at for c in consents if c.id in used)
    return ConsentInputs([ConsentEvidence(latest)], [], summary, items=covered)


def consent_inputs(
    obligations: Sequence[Obligation],
    as_of: date,
    fixed_queries: bool = False,
    authorised: Mapping[int, list[AuthorisedEntry]] | None = None,
) -> dict[int, ConsentInputs]:
    """Clause 10(2) obligations: the engine's evidence and blockers on ``as_of`` (by obligation id); with
    ``fixed_queries`` the queries are made even when no obligation is of clause 10(2); ``authorised``: their
    agreements' authorised sub-processors (``authorised_for_agreements``) when already read."""
    wanted = [o for o in obligations if o.rule.get("requires") == CONSENT_RULE]
    if not wanted and not fixed_queries:
        return {}
    client_of = {o.agreement_id: o.agreement.client_id for o in wanted}
    activities = activities_of(list(client_of.values()), as_of)
    consents = consents_of(list(client_of.values()), as_of)
    if authorised is None:
        authorised = authorised_for_agreements(list(client_of), as_of)
    found: dict[int, ConsentInputs] = {}
    for o in wanted:
        mine = activities[client_of[o.agreement_id]]
        items = outside_eea(mine, o.agreement_id, as_of, authorised) if mine else []
        found[o.id] = decide(mine, items, consents[client_of[o.agreement_id]], as_of)
    return found


def client_view(client_id: int, agreement_ids: Sequence[int], as_of: date) -> list[tuple[OutsideEea, int | None]]:
    """What the transfers page shows: each storage or transfer outside the EU/EEA and the consent covering it."""
    activities = activities_on(client_id, as_of)
    consents = consents_on(client_id, as_of)
    seen: dict[tuple[str, str | None, int | None], OutsideEea] = {}
    for agreement_id in agreement_ids:
        for item in outside_eea(activities, agreement_id, as_of):
            seen.setdefault((item.label, item.country, item.transfer_id), item)
    if not agreement_ids:
        for item in outside_eea(activities, 0, as_of):
            seen.setdefault((item.label, item.country, item.transfer_id), item)
    return [
        (item, next((c.id for c in consents if c.covers(item.country, item.transfer_id)), None))
        for item in seen.values()
    ]


def not_notified_grounds(evidence: Sequence[Any], day: date) -> list[str]:
    """Clause 10(2)(b): the legal grounds (law forbids telling the client) that answer events, as of ``day``."""
    return [
        e.note[len(NOT_NOTIFIED) :]
        for e in evidence
        if (e.note or "").startswith(NOT_NOTIFIED)
        and e.added_at.date() <= day
        and (e.ended_at is None or e.ended_at.date() > day)
    ]
