"""Clause 10: record and withdraw the client's written authorisations to disclose (10(1)) and its consents to
storage or transfer outside the EU/EEA (10(2)). Each change is audited and re-assesses clause 10(2)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import select

from dpa_tracker.audit.services import record
from dpa_tracker.dates import check_date
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import Upload, evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import Client, DisclosureAuthorisation, ProcessingActivity, Transfer, TransferConsent, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import refresh_transfer_obligations
from dpa_tracker.record.eea import in_eea

_CODE = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class ConsentInput:
    given_on: date | None
    given_by: str
    countries: Sequence[str] = field(default_factory=list)
    transfer_ids: Sequence[int] = field(default_factory=list)
    scope: str = ""


@dataclass(frozen=True)
class DisclosureInput:
    recipient: str
    purpose: str
    authorised_on: date | None


def _past_date(day: date | None, name: str, label: str) -> date:
    if day is None:
        raise DomainError(f"Give the date {label}.", field=name)
    check_date(day, name)
    if day > utcnow().date():
        raise DomainError(f"The date {label} cannot be in the future.", field=name)
    return day


def _store(row: DisclosureAuthorisation | TransferConsent, upload: Upload | None) -> None:
    if upload is None:
        return
    blob = evidence_store().save(upload.stream, int(current_app.config["MAX_CONTENT_LENGTH"]))
    row.sha256, row.size, row.content_type = blob.sha256, blob.size, blob.content_type
    row.filename = (upload.filename.replace("\\", "/").rsplit("/", 1)[-1] or "document")[:255]


def parse_countries(raw: str) -> list[str]:
    """Country codes from free text ("US, CN" or "US CN")."""
    return [c for c in re.split(r"[\s,;]+", raw.strip().upper()) if c]


def _countries(codes: Sequence[str]) -> list[str]:
    found: list[str] = []
    for raw in codes:
        code = raw.strip().upper()
        if not _CODE.match(code):
            raise DomainError(f"“{raw}” is not a two-letter ISO country code.", field="countries")
        if in_eea(code):
            raise DomainError(f"{code} is in the EU/EEA: clause 10(2) needs no consent for it.", field="countries")
        if code not in found:
            found.append(code)
    return sorted(found)


def _transfers(client: Client, ids: Sequence[int]) -> list[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    known = set(
        db.session.scalars(
            select(Transfer.id)
            .join(Transfer.activity)
            .where(Transfer.id.in_(wanted), ProcessingActivity.client_id == client.id)
        )
    )
    missing = [i for i in wanted if i not in known]
    if missing:
        raise DomainError(
            f"No transfer in this client's record with id {', '.join(map(str, missing))}.", field="transfer_ids"
        )
    return wanted


def record_consent(actor: User, client: Client, data: ConsentInput, upload: Upload | None = None) -> TransferConsent:
    """Clause 10(2): the client's prior express consent, covering countries and/or the record's transfers."""
    given_on = _past_date(data.given_on, "given_on", "the consent was given")
    given_by = data.given_by.strip()
    if not given_by:
        raise DomainError("Say who gave the consent for the client.", field="given_by")
    if len(given_by) > 200:
        raise DomainError("At most 200 characters.", field="given_by")
    countries = _countries(data.countries)
    transfer_ids = _transfers(client, data.transfer_ids)
    if not countries and not transfer_ids:
        raise DomainError("Name the countries or the transfers the consent covers.", field="countries")
    consent = TransferConsent(
        client_id=client.id,
        given_on=given_on,
        given_by=given_by,
        countries=" ".join(countries),
        transfer_ids=" ".join(map(str, transfer_ids)),
        scope=data.scope.strip(),
        recorded_by_id=actor.id,
    )
    _store(consent, upload)
    db.session.add(consent)
    db.session.flush()
    record(
        actor,
        "transfer.consent",
        consent,
        {
            "given_on": given_on,
            "given_by": given_by,
            "countries": countries,
            "transfer_ids": transfer_ids,
            "sha256": consent.sha256,
        },
        client_id=client.id,
    )
    refresh_transfer_obligations([client.id])
    return consent


def record_disclosure(
    actor: User, client: Client, data: DisclosureInput, upload: Upload | None = None
) -> DisclosureAuthorisation:
    """Clause 10(1): the client's written authorisation to disclose its data to a third party."""
    authorised_on = _past_date(data.authorised_on, "authorised_on", "of the authorisation")
    recipient, purpose = data.recipient.strip(), data.purpose.strip()
    if not recipient:
        raise DomainError("Name the third party the data may be disclosed to.", field="recipient")
    if len(recipient) > 200:
        raise DomainError("At most 200 characters.", field="recipient")
    if not purpose:
        raise DomainError("Say for what purpose the disclosure is authorised.", field="purpose")
    authorisation = DisclosureAuthorisation(
        client_id=client.id,
        recipient=recipient,
        purpose=purpose,
        authorised_on=authorised_on,
        recorded_by_id=actor.id,
    )
    _store(authorisation, upload)
    db.session.add(authorisation)
    db.session.flush()
    record(
        actor,
        "transfer.disclosure",
        authorisation,
        {"recipient": recipient, "purpose": purpose, "authorised_on": authorised_on, "sha256": authorisation.sha256},
        client_id=client.id,
    )
    return authorisation


def withdraw(
    actor: User, row: DisclosureAuthorisation | TransferConsent, reason: str
) -> DisclosureAuthorisation | TransferConsent:
    """A consent or authorisation the client revoked (or recorded by mistake) is withdrawn with who, when and
    why; it still counts for the days before."""
    if not reason.strip():
        raise DomainError("Say why it is withdrawn.", field="reason")
    if row.withdrawn_at is not None:
        raise DomainError("This record is already withdrawn.", field="reason")
    row.withdrawn_at, row.withdrawn_by_id, row.withdrawn_reason = utcnow(), actor.id, reason.strip()
    db.session.flush()
    kind = "consent" if isinstance(row, TransferConsent) else "disclosure"
    record(actor, f"transfer.{kind}_withdraw", row, {"reason": reason.strip()}, client_id=row.client_id)
    if isinstance(row, TransferConsent):
        refresh_transfer_obligations([row.client_id])
    return row


def consents_of(client: Client) -> list[TransferConsent]:
    return list(
        db.session.scalars(
            select(TransferConsent).where(TransferConsent.client_id == client.id).order_by(TransferConsent.id.desc())
        )
    )


def disclosures_of(client: Client) -> list[DisclosureAuthorisation]:
    return list(
        db.session.scalars(
            select(DisclosureAuthorisation)
            .where(DisclosureAuthorisation.client_id == client.id)
            .order_by(DisclosureAuthorisation.id.desc())
        )
    )
