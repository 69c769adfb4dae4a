"""A realistic demo installation, drawn from the reference documents in shared/reference/.

The processor is the one of the reference agreement; its clients are the companies whose
privacy policies sit beside it (Algerian hosting and cloud, a bilingual VoIP provider, a
software vendor). Passwords are random and printed once by ``seed-demo``.
"""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime, timedelta

from dpa_tracker.agreement.services import AgreementInput, create_agreement
from dpa_tracker.auth.services import create_user
from dpa_tracker.client.services import ClientInput, ProcessorInput, create_client, save_processor
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.models import ChangeKind, Client, MeasureHeading, Obligation, Role, TransferMechanism, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.events import record_event
from dpa_tracker.record.services import (
    ActivityInput,
    MeasureInput,
    TransferInput,
    add_transfer,
    create_activity,
    create_measure,
)
from dpa_tracker.subprocessor.notices import propose_change
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor

CLIENTS = [
    ClientInput(
        legal_name="Mahliatov Hosting SARL",
        country="DZ",
        address="Alger, Algérie",
        notice_emails=["privacy@mahliatov.com", "security@mahliatov.com"],
        dpo_name="Délégué à la protection des données",
        dpo_email="privacy@mahliatov.com",
    ),
    ClientInput(
        legal_name="Armonika",
        country="DZ",
        address="Cité 08 Mai 45, Bt 5 N°5, Dar El Beïda, Alger, Algeria",
        notice_emails=["privacy@armonika.dz"],
        dpo_name="Privacy team",
        dpo_email="privacy@armonika.dz",
    ),
    ClientInput(
        legal_name="Mittal Cloud — ميتال كلاود",
        country="DZ",
        address="الجزائر العاصمة، الجزائر",
        notice_emails=["privacy@mittalcloud.example"],
        dpo_name="مسؤول حماية البيانات",
        dpo_email="dpo@mittalcloud.example",
        representative="Mittal Cloud Communications",
    ),
    ClientInput(
        legal_name="Souftech",
        country="FR",
        address="Paris, France",
        notice_emails=["contact@souftech.com"],
        dpo_name="Souftech DPO",
        dpo_email="contact@souftech.com",
    ),
]


LOCATIONS = {"DZ": ["DZ — Alger data centre"], "FR": ["FR — Paris", "DE — Frankfurt"]}


def _password() -> str:
    return secrets.token_urlsafe(12)


def _evidence(actor: User, obligation: Obligation, note: str, *, days_ago: int, valid_days: int | None = None,
              file: tuple[str, bytes] | None = None, event_id: int | None = None) -> None:
    added = utcnow() - timedelta(days=days_ago)
    upload = Upload(io.BytesIO(file[1]), file[0]) if file else None
    add_evidence(actor, obligation, EvidenceInput(
        note=note,
        period_end=added.date(),
        valid_until=added.date() + timedelta(days=valid_days) if valid_days else None,
        trigger_event_id=event_id,
    ), upload, seeded_at=added)  # demo history


def _seed_record(admin: User, compliance: User, clients: list[Client]) -> None:
    """Security measures, sub-processors, processing activities, a transfer and a pending notice."""
    measures = [create_measure(admin, MeasureInput(heading.value, title, text)) for heading, title, text in [
        (MeasureHeading.ENCRYPTION, "Encryption at rest and in transit",
         "AES-256 disk encryption on every storage node; TLS 1.2+ for all connections."),
        (MeasureHeading.RESILIENCE, "Role-based access and redundancy",
         "Least-privilege access for agents, two-factor sign-in, redundant power and network."),
        (MeasureHeading.RESTORE, "Daily backups with tested restore",
         "Encrypted daily backups kept 30 days in a second data centre; restore tested quarterly."),
        (MeasureHeading.TESTING, "Yearly penetration test and ISO 27001 audit",
         "External penetration test every year; findings tracked to closure."),
    ]]
    backup = create_subprocessor(admin, SubProcessorInput(
        legal_name="Souftech", country="FR", service="Off-site encrypted backup storage",
        data_categories=["backups of customer data"], locations=["FR — Paris"], contact_email="contact@souftech.com"))
    mail = create_subprocessor(admin, SubProcessorInput(
        legal_name="Armonika Cloud", country="DZ", service="Transactional e-mail relay",
        data_categories=["e-mail addresses", "message headers"], locations=["DZ — Alger"],
        contact_email="privacy@armonika.dz"))
    for client in clients:
        agreement = client.agreements[0]
        authorise(admin, agreement, backup, agreement.effective_on)
        categories = ["hosting", "backup", "support_access"]
        if "Mittal" in client.legal_name:
            categories = ["telephony", "storage", "support_access"]
        activity = create_activity(compliance, client, ActivityInput(
            name="Hébergement et sauvegarde" if client.country == "FR" else "Hosting of customer workloads",
            processing_categories=categories,
            data_subject_categories=["customers' end users", "customers' staff"],
            personal_data_categories=["identification data", "connection logs", "content stored by the client"],
            purposes="Provide the hosting service as instructed by the client.",
            retention="For the duration of the agreement; deleted within 10 days of its end (clause 13).",
            locations=[{"country": client.country, "site": "primary data centre"}],
            measure_ids=[m.id for m in measures],
            subprocessor_ids=[backup.id],
        ))
        if client.country == "FR":
            add_transfer(compliance, activity, TransferInput(
                destination="DZ", recipient="AltınSoft support team (Alger)",
                mechanism=TransferMechanism.SCC.value, mechanism_detail="EU SCC 2021/914, module 3"))
    active = [c.agreements[0] for c in clients]
    propose_change(compliance, ChangeKind.ADD, mail, active[:3],
                   "We will relay service notification e-mails through Armonika Cloud, hosted in Algeria.")


def seed_demo() -> list[tuple[str, str, str]]:
    """Create the demo data in the current transaction; return (email, role, password) sign-ins."""
    sign_ins: list[tuple[str, str, str]] = []

    def user(email: str, role: Role, **kwargs: object) -> User:
        password = _password()
        created = create_user(None, email, role, password, **kwargs)  # type: ignore[arg-type]
        sign_ins.append((email, role.value, password))
        return created

    save_processor(None, ProcessorInput(
        name="AltınSoft Information Technologies",
        address="İstanbul, Türkiye",
        contact_email="privacy@altinsoft.example",
        contact_phone="+90 212 000 00 00",
        dpo_name="Personal Data Protection Officer",
        dpo_email="dpo@altinsoft.example",
    ))
    admin = user("admin@altinsoft.example", Role.ADMIN, name="Ayşe Admin")
    compliance = user("compliance@altinsoft.example", Role.COMPLIANCE, name="Karim Compliance")
    clients = [create_client(admin, data) for data in CLIENTS]
    today = utcnow().date()
    for index, client in enumerate(clients):
        agreement = create_agreement(compliance, client, AgreementInput(
            reference=f"DPA-{today.year - 1}-{index + 1:03d}",
            title=f"Subcontracting agreement — {client.legal_name}",
            signed_on=today - timedelta(days=400 - index * 30),
            effective_on=today - timedelta(days=395 - index * 30),
            breach_notice_hours=24 if index % 2 == 0 else 48,
            permitted_locations=LOCATIONS.get(client.country, []),
        ))
        by_clause = {o.clause_number: o for o in agreement.obligations}
        # A mix of met, due-soon and overdue obligations, as a real installation has.
        commitments = ("confidentiality-commitments.txt",
                       "Engagements de confidentialité signés — 14 agents.\n".encode())
        _evidence(compliance, by_clause["2.2"], "Signed confidentiality commitments of all 14 agents.", days_ago=200,
                  file=commitments)
        _evidence(compliance, by_clause["5.2"], "Annual GDPR training session, attendance sheet.",
                  days_ago=340 if index % 2 else 100)
        _evidence(compliance, by_clause["7.1"], "Security policy v3 (ISO 27001 aligned).", days_ago=90,
                  valid_days=100 + index * 200)
        _evidence(compliance, by_clause["4.1"], "Record of processing reviewed with the client.", days_ago=60)
        if index == 2:
            breach = record_event(compliance, by_clause["8.1"],
                                  occurred_at=datetime.combine(today - timedelta(days=20), datetime.min.time(), UTC)
                                  .replace(hour=9), summary="Misdirected call recordings export (بيانات المكالمات)")
            _evidence(compliance, by_clause["8.1"], "Notice e-mailed to privacy@mittalcloud.example at 14:10 UTC.",
                      days_ago=19, event_id=breach.id)
    _seed_record(admin, compliance, clients)
    user("client@mahliatov.example", Role.CLIENT, client=clients[0], name="Mahliatov DPO")
    user("client@mittalcloud.example", Role.CLIENT, client=clients[2], name="Mittal Cloud DPO")
    user("auditor@audit.example", Role.AUDITOR, audited_clients=[clients[0], clients[1]], name="External auditor")
    return sign_ins


__all__ = ["seed_demo"]
