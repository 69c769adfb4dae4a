"""A realistic demo installation, drawn from the reference documents in shared/reference/.

The processor is the one of the reference agreement; its clients are the companies whose privacy
policies sit beside it (Algerian hosting and cloud, a bilingual VoIP provider, a software vendor).
Every fact stated about one of those companies (name, country, address, service, DPO) comes from
its policy, kept in tests/data/ and checked by tests/test_demo_truth.py; where a policy is silent
the demo leaves the field empty rather than invent it. Every e-mail address uses the reserved
``.example`` domain (RFC 2606), so a queued notice can never reach a real company. Passwords are
random and printed once by ``seed-demo``.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from dpa_tracker.agent.services import AgentInput, AttestationInput, add_attestation, assign, create_agent
from dpa_tracker.agreement.services import AgreementInput, create_agreement
from dpa_tracker.auth.services import create_user
from dpa_tracker.client.services import ClientInput, ProcessorInput, create_client, save_processor
from dpa_tracker.deletion.services import CompletionInput, EndInput, ExceptionInput, complete_task, end_with_workflow
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.inspection.services import (
    CertificationInput,
    EngagementInput,
    FindingInput,
    InspectionInput,
    RemediationInput,
    add_certification,
    add_finding,
    add_remediation,
    record_inspection,
    save_engagement,
)
from dpa_tracker.models import (
    Agreement,
    ChangeKind,
    Client,
    MeasureHeading,
    Obligation,
    Role,
    TransferMechanism,
    User,
)
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

# The processor's policy names no address; it points to France (the CNIL is its supervisory
# authority) and names a "Personal Data Protection Officer" without a person's name.
PROCESSOR = ProcessorInput(
    name="AltınSoft Information Technologies",
    address="France",
    contact_email="privacy@altinsoft.example",
    dpo_name="Personal Data Protection Officer",
    dpo_email="dpo@altinsoft.example",
    country="FR",  # its working-day calendar counts clause 9.1's forwarding target
)

# None of the clients' policies names a DPO, so none is recorded. Mittal Cloud's policy states no
# country at all: "ZZ" is the ISO 3166 user-assigned code for an unknown country.
CLIENTS = [
    ClientInput(
        legal_name="Mahliatov",
        country="DZ",
        address="Algeria",  # its policy names Algerian law and no city
        notice_emails=["privacy@mahliatov.example", "security@mahliatov.example"],
    ),
    ClientInput(
        legal_name="Armonika",
        country="DZ",
        address="Cité 08 Mai 45, Bt 5 N°5, Dar El Beïda, Alger, Algeria",
        notice_emails=["privacy@armonika.example"],
    ),
    ClientInput(
        legal_name="Mittal Cloud — ميتال كلاود",
        country="ZZ",
        notice_emails=["info@mittalcloud.example"],
    ),
    ClientInput(
        legal_name="Souftech",
        country="DZ",
        address="5 July Street, Taghzout, El Oued, Algeria",
        notice_emails=["contact@souftech.example"],
    ),
]

# Where each client's data may be processed (clause 7.2(2)). Armonika's policy keeps data in
# Algeria; Mahliatov's data is hosted there too, by Armonika; Mittal Cloud's and Souftech's data
# stays on the processor's own infrastructure in France (EU), and Souftech also allows Algeria,
# where the pending change notice would move a copy.
IN_FRANCE = "FR — AltınSoft infrastructure, France"
IN_ALGERIA = "DZ — Armonika cloud, Algeria"
LOCATIONS = {
    "Mahliatov": [IN_ALGERIA],
    "Armonika": ["DZ — Armonika's own infrastructure, Algeria"],
    "Mittal Cloud — ميتال كلاود": [IN_FRANCE],
    "Souftech": [IN_FRANCE, IN_ALGERIA],
}

# Each activity's data categories are the ones the client's policy lists for its own customers.
PERSONAL_DATA = {
    "Mahliatov": ["identity data", "consumption data", "communication data", "connection data"],
    "Armonika": ["account data", "usage data", "support data"],
    "Mittal Cloud — ميتال كلاود": ["account information", "usage data", "call data", "device information"],
    "Souftech": ["contact details", "account details", "message content and files", "basic technical data"],
}


def _password() -> str:
    return secrets.token_urlsafe(12)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def _evidence(
    actor: User,
    obligation: Obligation,
    note: str,
    *,
    at: datetime,
    valid_days: int | None = None,
    file: tuple[str, bytes] | None = None,
    event_id: int | None = None,
) -> None:
    # A possible history: no evidence before the agreement was signed, none in the future.
    if not obligation.agreement.signed_on <= at.date() or at > utcnow():
        raise ValueError(f"Demo evidence for clause {obligation.clause_number} dated {at} is impossible.")
    upload = Upload(io.BytesIO(file[1]), file[0]) if file else None
    add_evidence(
        actor,
        obligation,
        EvidenceInput(
            note=note,
            period_end=at.date(),
            valid_until=at.date() + timedelta(days=valid_days) if valid_days else None,
            trigger_event_id=event_id,
        ),
        upload,
        seeded_at=at,
    )  # demo history


def _seed_breach(actor: User, agreement: Agreement, today: date) -> None:
    """A breach notified within the agreement's target (clause 8.1): aware at 09:00, notice at 14:10."""
    by_clause = {o.clause_number: o for o in agreement.obligations}
    day = today - timedelta(days=20)
    breach = record_event(
        actor,
        by_clause["8.1"],
        occurred_at=_at(day, 9),
        aware_at=_at(day, 9, 20),
        summary="Misdirected call recordings export (بيانات المكالمات)",
    )
    # Recorded when it was learnt, not when the demo was loaded, so the notice below follows it.
    breach.recorded_at = _at(day, 9, 40)
    db.session.flush()
    _evidence(
        actor,
        by_clause["8.1"],
        "Notice e-mailed to info@mittalcloud.example at 14:10 UTC.",
        at=_at(day, 14, 10),
        event_id=breach.id,
    )
    _evidence(
        actor,
        by_clause["8.3"],
        "Breach register entry: facts, effects, remedial action.",
        at=_at(day + timedelta(days=2), 11),
        event_id=breach.id,
    )


def _seed_late_request(actor: User, agreement: Agreement, today: date) -> None:
    """A data-subject request forwarded after the clause 9.1 target: the demo shows `late` too."""
    forward = next(o for o in agreement.obligations if o.clause_number == "9.1")
    day = today - timedelta(days=45)
    request = record_event(
        actor, forward, occurred_at=_at(day, 10), summary="Access request received by the support desk"
    )
    request.recorded_at = _at(day, 10, 30)
    db.session.flush()
    _evidence(
        actor,
        forward,
        "Request forwarded to the client's privacy contact.",
        at=_at(day + timedelta(days=8), 9),  # past 2 working days whatever the weekday and holidays
        event_id=request.id,
    )


def _seed_audit(actor: User, agreement: Agreement, today: date) -> None:
    """Clause 11: the processor's ISO 27001 certificate, and an audit of the client with one open finding."""
    add_certification(
        actor,
        CertificationInput(
            "iso27001", "ISO/IEC 27001:2022 certificate", "Demo Certification Body", today - timedelta(days=200)
        ),
        Upload(io.BytesIO(b"ISO/IEC 27001:2022 certificate (demo)\n"), "iso27001-certificate.txt"),
    )
    audit = record_inspection(
        actor,
        agreement,
        InspectionInput("audit", today - timedelta(days=40), "Client DPO", "", "Hosting platform and backups"),
    )
    engagement = save_engagement(
        actor,
        audit,
        EngagementInput(
            auditor_organisation="Independent Audit (demo)",
            auditor_people="Lead auditor and one assistant",
            appointed_by="processor",
            planned_on=today - timedelta(days=30),
            starts_on=today - timedelta(days=30),
            ends_on=today - timedelta(days=28),
            scope="Hosting platform, backups, access management",
            continuity_conditions="On site two days; no access to other clients' data",
            cost_amount="4500",
            cost_currency="EUR",
        ),
    )
    finding = add_finding(
        actor,
        engagement,
        FindingInput("7.1", "medium", "No restore test of the backups this year", today + timedelta(days=20)),
    )
    add_remediation(
        actor, finding, RemediationInput("Run and document a restore test", actor.id, today + timedelta(days=14))
    )


def _seed_record(admin: User, compliance: User, clients: list[Client]) -> None:
    """Security measures, the hosting sub-processor, processing activities, their transfers and a pending notice."""
    measures = [
        create_measure(admin, MeasureInput(heading.value, title, text))
        for heading, title, text in [
            (
                MeasureHeading.ENCRYPTION,
                "Encryption at rest and in transit",
                "Disk encryption on every storage node; TLS for all connections.",
            ),
            (
                MeasureHeading.RESILIENCE,
                "Role-based access and redundancy",
                "Least-privilege access for agents, two-factor sign-in, redundant power and network.",
            ),
            (
                MeasureHeading.RESTORE,
                "Daily backups with tested restore",
                "Encrypted daily backups kept 30 days; restore tested quarterly.",
            ),
            (
                MeasureHeading.TESTING,
                "Yearly penetration test",
                "External penetration test every year; findings tracked to closure.",
            ),
        ]
    ]
    # Armonika's policy: customer workloads are stored on infrastructure in Algeria. Outside the
    # EU/EEA, so its use is a transfer (clause 10(2)) under the Commission's clauses, module 3.
    armonika = create_subprocessor(
        admin,
        SubProcessorInput(
            legal_name="Armonika",
            country="DZ",
            service="Cloud infrastructure for customer workloads, hosted in Algeria",
            data_categories=["customer workloads"],
            locations=[IN_ALGERIA],
            transfer_mechanism=TransferMechanism.SCC.value,
            contact_email="privacy@armonika.example",
        ),
    )
    by_name = {c.legal_name: c for c in clients}
    for client in clients:
        agreement = client.agreements[0]
        location = agreement.permitted_location_list[0]
        country, site = (part.strip() for part in location.split("—", 1))
        hosted_by_armonika = location == IN_ALGERIA
        if hosted_by_armonika:
            authorise(admin, agreement, armonika, agreement.effective_on)
        telephony = client is by_name["Mittal Cloud — ميتال كلاود"]
        activity = create_activity(
            compliance,
            client,
            ActivityInput(
                name="Hosting of call data" if telephony else "Hosting of customer workloads",
                processing_categories=["telephony", "storage", "support_access"]
                if telephony
                else ["hosting", "backup", "support_access"],
                data_subject_categories=["customers' end users", "customers' staff"],
                personal_data_categories=PERSONAL_DATA[client.legal_name],
                purposes="Provide the hosting service as instructed by the client.",
                retention="For the duration of the agreement; deleted within 10 days of its end (clause 13).",
                locations=[{"country": country, "site": site}],
                measure_ids=[m.id for m in measures],
                subprocessor_ids=[armonika.id] if hosted_by_armonika else [],
            ),
        )
        # No silent transfer: every location outside the EU/EEA has its transfer in the record.
        if hosted_by_armonika:
            add_transfer(
                compliance,
                activity,
                TransferInput(
                    destination="DZ",
                    recipient="Armonika (sub-processor, cloud hosting in Algeria)",
                    mechanism=TransferMechanism.SCC.value,
                    mechanism_detail=(
                        "Standard contractual clauses (Decision 2021/914), module 3: processor to processor"
                    ),
                ),
            )
        elif country == "DZ":
            add_transfer(
                compliance,
                activity,
                TransferInput(
                    destination="DZ",
                    recipient=f"{client.legal_name} (the client's own infrastructure)",
                    mechanism=TransferMechanism.SCC.value,
                    mechanism_detail=(
                        "Standard contractual clauses (Decision 2021/914), module 4: processor to controller"
                    ),
                ),
            )
    # Souftech's agreement permits Algeria; moving its backups to Armonika waits for its answer.
    propose_change(
        compliance,
        ChangeKind.ADD,
        armonika,
        [by_name["Souftech"].agreements[0]],
        "We will keep a backup copy of your data on Armonika's cloud, hosted in Algeria.",
    )


def _seed_agents(actor: User, agreements: list[Agreement], today: date) -> None:
    """Clause 5: three agents; one trained more than 12 months ago (5.2 overdue for the agreements it works on)."""
    people = (
        ("Amina Benali", "amina.benali@altinsoft.example", "Support engineer", 40),
        ("Yacine Kaci", "yacine.kaci@altinsoft.example", "Database administrator", 200),
        ("سارة بوزيد", "sara.bouzid@altinsoft.example", "Hosting operator", 400),  # training expired
    )
    for index, (name, email, function, trained_days_ago) in enumerate(people):
        agent = create_agent(
            actor,
            AgentInput(
                name=name,
                email=email,
                function=function,
                experience_note="Five years of operations under ISO 27001; GDPR course passed.",
            ),
        )
        for agreement in agreements[index::2] or agreements[:1]:
            assign(actor, agent, agreement, "Production systems of this client, read/write", agreement.effective_on)
        hired = today - timedelta(days=420)
        add_attestation(actor, agent, AttestationInput("designation", hired, by_whom="Ayşe Admin, managing director"))
        add_attestation(
            actor,
            agent,
            AttestationInput("commitment", hired),
            Upload(io.BytesIO(f"Confidentiality commitment signed by {name}.\n".encode()), "commitment.txt"),
        )
        add_attestation(
            actor,
            agent,
            AttestationInput(
                "training", today - timedelta(days=trained_days_ago), course="GDPR for operations", provider="CNIL MOOC"
            ),
        )


def _seed_ended_agreement(actor: User, client: Client, today: date) -> None:
    """An earlier agreement of the client that expired 20 days ago: its deletion workflow (clause 13) has every
    task done but the backups, so clause 13 shows overdue, naming the open task."""
    signed_on = today - timedelta(days=800)
    agreement = create_agreement(
        actor,
        client,
        AgreementInput(
            reference=f"FORMER-DPA-{signed_on.year}",
            title=f"Former hosting agreement — {client.legal_name}",
            signed_on=signed_on,
            effective_on=signed_on + timedelta(days=5),
            permitted_locations=LOCATIONS[client.legal_name],
        ),
    )
    workflow = end_with_workflow(
        actor,
        agreement,
        EndInput(
            today - timedelta(days=20),
            end_kind="expired",
            choice="return_then_delete",
            exceptions=[
                ExceptionInput(
                    "Invoices naming the client's staff",
                    "Accounting law: 10 years",
                    today.replace(year=today.year + 10),
                )
            ],
        ),
    )
    for task in workflow.tasks:
        if task.kind.value != "backups":
            complete_task(
                actor, task, CompletionInput(today - timedelta(days=15), "Karim Compliance", "Wiped and checked")
            )


def seed_demo() -> list[tuple[str, str, str]]:
    """Create the demo data in the current transaction; return (email, role, password) sign-ins.

    Nothing is sent: the change notice's e-mails are only queued, for ``flask notices send``."""
    sign_ins: list[tuple[str, str, str]] = []

    def user(
        email: str, role: Role, *, name: str, client: Client | None = None, audited_clients: Sequence[Client] = ()
    ) -> User:
        password = _password()
        created = create_user(None, email, role, password, name=name, client=client, audited_clients=audited_clients)
        sign_ins.append((email, role.value, password))
        return created

    save_processor(None, PROCESSOR)
    admin = user("admin@altinsoft.example", Role.ADMIN, name="Ayşe Admin")
    compliance = user("compliance@altinsoft.example", Role.COMPLIANCE, name="Karim Compliance")
    clients = [create_client(admin, data) for data in CLIENTS]
    today = utcnow().date()
    for index, client in enumerate(clients):
        signed_on = today - timedelta(days=400 - index * 30)
        agreement = create_agreement(
            compliance,
            client,
            AgreementInput(
                reference=f"DPA-{signed_on.year}-{index + 1:03d}",
                title=f"Subcontracting agreement — {client.legal_name}",
                signed_on=signed_on,
                effective_on=signed_on + timedelta(days=5),
                settings={"breach_notice_hours": 24 if index % 2 == 0 else 48},
                permitted_locations=LOCATIONS[client.legal_name],
            ),
        )
        by_clause = {o.clause_number: o for o in agreement.obligations}
        # A mix of met, due-soon and overdue obligations, as a real installation has; every act
        # dated between the signature and today.
        commitments = (
            "confidentiality-commitments.txt",
            "Engagements de confidentialité signés par les agents.\n".encode(),
        )
        _evidence(
            compliance,
            by_clause["2.2"],
            "Signed confidentiality commitments of the agents.",
            at=_at(today - timedelta(days=200), 10),
            file=commitments,
        )
        _evidence(
            compliance,
            by_clause["5.2"],
            "Annual GDPR training session, attendance sheet.",
            at=_at(today - timedelta(days=300 if index % 2 else 100), 15),
        )
        _evidence(
            compliance,
            by_clause["7.1"],
            "Information security policy, version 3.",
            at=_at(today - timedelta(days=90), 11),
            valid_days=100 + index * 200,
        )
        _evidence(
            compliance,
            by_clause["4.1"],
            "Record of processing reviewed with the client.",
            at=_at(today - timedelta(days=60), 16),
        )
        # Readiness of the event-driven duties: the documented procedures, not "no event, so met".
        _evidence(
            compliance,
            by_clause["8.1"],
            "Breach-response procedure, version 2.",
            at=_at(today - timedelta(days=120), 10),
        )
        _evidence(
            compliance,
            by_clause["8.3"],
            "Breach register opened for this client.",
            at=_at(today - timedelta(days=120), 10, 30),
        )
        _evidence(
            compliance,
            by_clause["9.1"],
            "Data-subject request procedure.",
            at=_at(today - timedelta(days=150 if index % 2 else 300), 9),
        )
        if client.legal_name.startswith("Mittal Cloud"):
            _seed_breach(compliance, agreement, today)
        if index == 1:
            _seed_late_request(compliance, agreement, today)
        if index == 0:
            _seed_audit(compliance, agreement, today)
    _seed_record(admin, compliance, clients)
    _seed_agents(
        compliance,
        list(db.session.scalars(db.select(Agreement).order_by(Agreement.id))),
        today,
    )
    _seed_ended_agreement(compliance, clients[0], today)
    user("client@mahliatov.example", Role.CLIENT, client=clients[0], name="Mahliatov client user")
    user("client@mittalcloud.example", Role.CLIENT, client=clients[2], name="Mittal Cloud client user")
    user("auditor@audit.example", Role.AUDITOR, audited_clients=[clients[0], clients[1]], name="External auditor")
    return sign_ins


__all__ = ["seed_demo"]
