"""The sub-processor catalogue and direct authorisations per agreement (clause 6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from dpa_tracker.audit.services import record
from dpa_tracker.client.services import check_email
from dpa_tracker.dates import check_date
from dpa_tracker.errors import Conflict, DomainError
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    Authorisation,
    Evidence,
    Obligation,
    SubProcessor,
    TransferMechanism,
    User,
)
from dpa_tracker.models.agreement import AuthorisationType
from dpa_tracker.obligation.services import refresh_subprocessor_obligations
from dpa_tracker.validation import check_lines, line


@dataclass(frozen=True)
class SubProcessorInput:
    legal_name: str = line("Legal name")
    country: str = line("Country")
    service: str = line("Service")
    data_categories: list[str] = line("Data category", default_factory=list)
    locations: list[str] = line("Location", default_factory=list)
    transfer_mechanism: str = line("Transfer mechanism", default="")
    contact_email: str = line("Contact e-mail", default="")
    dpo_name: str = line("DPO name", default="")
    dpo_email: str = line("DPO e-mail", default="")


def create_subprocessor(actor: User | None, data: SubProcessorInput) -> SubProcessor:
    check_lines(data)
    name = data.legal_name.strip()
    if not name:
        raise DomainError("The legal name is required.", field="legal_name")
    country = data.country.strip().upper()
    if len(country) != 2 or not country.isalpha() or not country.isascii():
        raise DomainError("The country must be a two-letter ISO code.", field="country")
    if not data.service.strip():
        raise DomainError("Describe the service.", field="service")
    mechanism = None
    if data.transfer_mechanism.strip():
        try:
            mechanism = TransferMechanism(data.transfer_mechanism.strip())
        except ValueError:
            raise DomainError(
                f"Unknown transfer mechanism {data.transfer_mechanism!r}.", field="transfer_mechanism"
            ) from None
    if db.session.scalar(select(SubProcessor.id).where(func.lower(SubProcessor.legal_name) == name.lower())):
        raise Conflict(f"A sub-processor named {name!r} already exists.", field="legal_name")
    sub = SubProcessor(
        legal_name=name,
        country=country,
        service=data.service.strip(),
        data_categories=[c.strip() for c in data.data_categories if c.strip()],
        locations=[loc.strip() for loc in data.locations if loc.strip()],
        transfer_mechanism=mechanism,
        contact_email=check_email(data.contact_email, "contact_email") if data.contact_email.strip() else "",
        dpo_name=data.dpo_name.strip(),
        dpo_email=check_email(data.dpo_email, "dpo_email") if data.dpo_email.strip() else "",
    )
    db.session.add(sub)
    db.session.flush()
    record(actor, "subprocessor.create", sub, {"legal_name": name, "country": country, "service": sub.service})
    return sub


def authorise(
    actor: User | None, agreement: Agreement, sub: SubProcessor, since_on: date, written: Upload | None = None
) -> Authorisation:
    """Record a sub-processor the client authorised directly (e.g. in the signed agreement).

    The client's written authorisation (``written``) is kept as clause 6.1 evidence of the agreement; under a
    specific authorisation it is required, since nothing else shows that the client authorised it (Art. 28(2))."""
    check_date(since_on, "since_on")
    if agreement.status is not AgreementStatus.ACTIVE:
        raise DomainError(f"Agreement {agreement.reference} is not active.", field="agreement_id")
    if written is None and agreement.subprocessor_authorisation is AuthorisationType.SPECIFIC:
        raise DomainError(
            f"{agreement.reference} requires the client's specific written authorisation: attach it.", field="written"
        )
    if since_on < agreement.signed_on:
        raise DomainError("An authorisation cannot predate the agreement's signature.", field="since_on")
    open_auth = db.session.scalar(
        select(Authorisation.id).where(
            Authorisation.agreement_id == agreement.id,
            Authorisation.subprocessor_id == sub.id,
            Authorisation.until_on.is_(None),
        )
    )
    if open_auth is not None:
        raise Conflict(f"{sub.legal_name} is already authorised for {agreement.reference}.", field="subprocessor_id")
    auth = Authorisation(
        agreement=agreement, subprocessor=sub, since_on=since_on, created_by_id=actor.id if actor else None
    )
    db.session.add(auth)
    db.session.flush()
    evidence = _keep_written(actor, agreement, sub, since_on, written) if written is not None else None
    record(
        actor,
        "subprocessor.authorise",
        auth,
        {
            "agreement": agreement.reference,
            "subprocessor": sub.legal_name,
            "since_on": since_on,
            "written_evidence_id": evidence.id if evidence else None,
            "sha256": evidence.sha256 if evidence else None,
        },
        client_id=agreement.client_id,
    )
    refresh_subprocessor_obligations([agreement.id])
    return auth


def _keep_written(
    actor: User | None, agreement: Agreement, sub: SubProcessor, since_on: date, written: Upload
) -> Evidence:
    obligation = db.session.scalar(
        select(Obligation).where(Obligation.agreement_id == agreement.id, Obligation.clause_number == "6.1")
    )
    if obligation is None:
        raise DomainError(
            f"{agreement.reference} has no clause 6.1 obligation to keep the written authorisation on.", field="written"
        )
    return add_evidence(
        actor,
        obligation,
        EvidenceInput(note=f"Written authorisation of {sub.legal_name} for {agreement.reference}, since {since_on}."),
        written,
    )
