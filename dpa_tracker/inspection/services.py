"""Clause 11: the client's document requests (11.1) and audit requests (11.2), the audits, their findings and
remediation actions, and the certifications the processor holds. Services flush; the caller commits.

A request records the clause's trigger event (received at 00:00 UTC on the day received: the clock's start is never
later than the truth); the documents provided are evidence linked to that event, acted on the day provided, so the
existing engine says ``met``, ``late`` or ``overdue``. Findings are facts of the clause they concern
(``inspection.findings``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from dpa_tracker.audit.services import record
from dpa_tracker.dates import check_date
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence, evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    ActionStatus,
    Agreement,
    AgreementStatus,
    AppointedBy,
    AuditEngagement,
    Certification,
    CertificationKind,
    Evidence,
    EvidenceState,
    Finding,
    FindingClosure,
    InspectionKind,
    InspectionRequest,
    Obligation,
    RemediationAction,
    Role,
    Severity,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.events import record_event
from dpa_tracker.obligation.services import refresh_finding_obligations
from dpa_tracker.permissions import client_filter
from dpa_tracker.validation import check_lines, line

CLAUSE_OF = {InspectionKind.DOCUMENTS: "11.1", InspectionKind.AUDIT: "11.2"}
KIND_TITLES = {InspectionKind.DOCUMENTS: "document request (clause 11.1)", InspectionKind.AUDIT: "audit (clause 11.2)"}
APPOINTED_TITLES = {
    AppointedBy.PROCESSOR: "the processor alone",
    AppointedBy.CLIENT: "the client",
    AppointedBy.JOINTLY: "the processor and the client jointly",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    filename: str
    content_type: str
    size: int


def _store(upload: Upload | None, field: str, what: str) -> StoredFile:
    if upload is None or not upload.filename:
        raise DomainError(f"Attach the {what} (a file).", field=field)
    blob = evidence_store().save(upload.stream, int(current_app.config["MAX_CONTENT_LENGTH"]))
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"')[:255] or "document"
    return StoredFile(blob.sha256, name, blob.content_type, blob.size)


def _not_future(day: date | None, field: str, label: str) -> None:
    check_date(day, field)
    if day is not None and day > utcnow().date():
        raise DomainError(f"{label} cannot be in the future.", field=field)


# --- requests (11.1, 11.2) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InspectionInput:
    kind: str
    received_on: date | None
    requester_name: str = line("Requester")
    requester_email: str = line("Requester e-mail", default="")
    subject: str = ""


def clause_obligation(agreement: Agreement, number: str, field: str = "agreement_id") -> Obligation:
    obligation = db.session.scalar(
        select(Obligation).where(Obligation.agreement_id == agreement.id, Obligation.clause_number == number)
    )
    if obligation is None:
        raise DomainError(f"Agreement {agreement.reference} has no clause {number} obligation.", field=field)
    return obligation


def record_inspection(
    actor: User, agreement: Agreement, data: InspectionInput, certification: Certification | None = None
) -> InspectionRequest:
    """Record a request received from the client: it starts clause 11.1's (documents) or 11.2's (audit) clock."""
    check_lines(data)
    try:
        kind = InspectionKind(data.kind)
    except ValueError:
        raise DomainError("The request is for documents or for an audit.", field="kind") from None
    if agreement.status is AgreementStatus.DRAFT:
        raise DomainError(f"Agreement {agreement.reference} is a draft.", field="agreement_id")
    if data.received_on is None:
        raise DomainError("Give the date the request was received.", field="received_on")
    _not_future(data.received_on, "received_on", "The date received")
    if data.received_on < agreement.effective_on:
        raise DomainError("The request is earlier than the agreement's effective date.", field="received_on")
    if not data.requester_name.strip():
        raise DomainError("Name the person who made the request.", field="requester_name")
    email = data.requester_email.strip()
    if email and not _EMAIL.match(email):
        raise DomainError("The requester's e-mail address is not valid.", field="requester_email")
    subject = data.subject.strip()
    if not subject:
        raise DomainError(
            "Say which documents are requested." if kind is InspectionKind.DOCUMENTS else "Describe the audit asked.",
            field="subject",
        )
    obligation = clause_obligation(agreement, CLAUSE_OF[kind])
    moment = _midnight(data.received_on)
    event = record_event(
        actor,
        obligation,
        occurred_at=moment,
        aware_at=moment,
        summary=f"{KIND_TITLES[kind].capitalize()} from {data.requester_name.strip()}: {subject[:150]}",
    )
    inspection = InspectionRequest(
        agreement=agreement,
        kind=kind,
        received_on=data.received_on,
        requester_name=data.requester_name.strip(),
        requester_email=email,
        subject=subject,
        event=event,
        certification=certification,
        created_by_id=actor.id,
    )
    db.session.add(inspection)
    db.session.flush()
    record(
        actor,
        "inspection.record",
        inspection,
        {
            "agreement_id": agreement.id,
            "kind": kind.value,
            "received_on": data.received_on,
            "requester": inspection.requester_name,
            "subject": subject,
            "certification_id": certification.id if certification else None,
            "event_id": event.id,
        },
        client_id=agreement.client_id,
    )
    return inspection


def documents_provided(inspection: InspectionRequest) -> list[Evidence]:
    """The documents provided in answer: the evidence linked to the request's event (records, never edited)."""
    return [e for e in inspection.event.obligation.evidence if e.trigger_event_id == inspection.event_id]


def answered_on(inspection: InspectionRequest) -> date | None:
    done = [
        (e.acted_at or e.added_at).date() for e in documents_provided(inspection) if e.state is EvidenceState.ACTIVE
    ]
    return min(done) if done else None


def provide_documents(
    actor: User, inspection: InspectionRequest, provided_on: date | None, note: str, upload: Upload | None
) -> Evidence:
    """Record documents provided to the client (a file, on a date): evidence answering the request's event."""
    if provided_on is None:
        raise DomainError("Give the date the documents were provided.", field="provided_on")
    _not_future(provided_on, "provided_on", "The date provided")
    if provided_on < inspection.received_on:
        raise DomainError("Documents cannot be provided before the request was received.", field="provided_on")
    if upload is None or not upload.filename:
        raise DomainError("Attach the document provided (a file).", field="file")
    evidence = add_evidence(
        actor,
        inspection.event.obligation,
        EvidenceInput(
            note=note.strip() or f"Provided in answer to request #{inspection.id}",
            trigger_event_id=inspection.event_id,
            acted_at=_midnight(provided_on),
        ),
        upload,
    )
    record(
        actor,
        "inspection.documents",
        inspection,
        {"evidence_id": evidence.id, "provided_on": provided_on, "sha256": evidence.sha256},
        client_id=inspection.agreement.client_id,
    )
    return evidence


def share_certification(actor: User, inspection: InspectionRequest) -> Evidence:
    """Answer a client's certification request with the certification itself (today): the client may download it."""
    certification = inspection.certification
    if certification is None:
        raise DomainError("This request is not for a certification.", field="inspection_id")
    if any(e.sha256 == certification.sha256 for e in documents_provided(inspection)):
        raise DomainError("This certification was already shared for this request.", field="inspection_id")
    with evidence_store().open(certification.sha256) as fh:
        evidence = add_evidence(
            actor,
            inspection.event.obligation,
            EvidenceInput(
                note=f"Shared {certification.name} (certification #{certification.id})",
                trigger_event_id=inspection.event_id,
                acted_at=utcnow(),
            ),
            Upload(fh, certification.filename),
        )
    record(
        actor,
        "certification.share",
        certification,
        {"inspection_id": inspection.id, "agreement_id": inspection.agreement_id, "evidence_id": evidence.id},
        client_id=inspection.agreement.client_id,
    )
    return evidence


def inspection_loader() -> tuple[LoaderOption, ...]:
    return (
        selectinload(InspectionRequest.agreement).selectinload(Agreement.client),
        selectinload(InspectionRequest.event),
        selectinload(InspectionRequest.certification),
        selectinload(InspectionRequest.engagement)
        .selectinload(AuditEngagement.findings)
        .options(
            selectinload(Finding.closure),
            selectinload(Finding.obligation),
            selectinload(Finding.actions).selectinload(RemediationAction.owner),
        ),
    )


def visible_inspections(user: User, agreement_id: int | None = None) -> list[InspectionRequest]:
    stmt = (
        select(InspectionRequest)
        .join(InspectionRequest.agreement)
        .where(client_filter(user, Agreement.client_id))
        .options(*inspection_loader())
        .order_by(InspectionRequest.received_on.desc(), InspectionRequest.id.desc())
    )
    if agreement_id is not None:
        stmt = stmt.where(InspectionRequest.agreement_id == agreement_id)
    return list(db.session.scalars(stmt))


# --- audits (11.2) ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngagementInput:
    auditor_organisation: str = line("Auditor's organisation")
    auditor_people: str = ""
    appointed_by: str = AppointedBy.PROCESSOR.value
    controller_mandate: bool = False
    planned_on: date | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    scope: str = ""
    continuity_conditions: str = ""
    cost_amount: str = line("Cost", default="")
    cost_currency: str = line("Currency", default="")
    cost_note: str = ""


def _amount(raw: str) -> Decimal | None:
    raw = raw.strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise DomainError("The cost is a number, e.g. 4500.00.", field="cost_amount") from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e10"):
        raise DomainError("The cost is a positive amount below 10 000 000 000.", field="cost_amount")
    return value.quantize(Decimal("0.01"))


def tension(engagement: AuditEngagement) -> str | None:
    """Clause 11 lets the processor appoint the auditor; Art. 28(3)(h) lets the controller audit or mandate one."""
    if engagement.appointed_by is AppointedBy.PROCESSOR and not engagement.controller_mandate:
        return (
            "The processor appointed this auditor alone and the client gave no mandate. Clause 11 of the agreement "
            "allows it, but Art. 28(3)(h) GDPR gives the controller the right to audit itself or through an auditor "
            "it mandates: have the client confirm the choice in writing."
        )
    if engagement.appointed_by is AppointedBy.PROCESSOR:
        return (
            "The processor appointed this auditor (clause 11); the client gave its mandate, as Art. 28(3)(h) GDPR "
            "expects."
        )
    return None


def save_engagement(
    actor: User,
    inspection: InspectionRequest,
    data: EngagementInput,
    declaration: Upload | None = None,
    report: Upload | None = None,
) -> AuditEngagement:
    """Record or update the audit answering an audit request (clause 11.2), with its documents."""
    check_lines(data)
    if inspection.kind is not InspectionKind.AUDIT:
        raise DomainError("Only an audit request has an audit.", field="inspection_id")
    organisation = data.auditor_organisation.strip()
    if not organisation:
        raise DomainError("Name the independent auditor's organisation.", field="auditor_organisation")
    try:
        appointed = AppointedBy(data.appointed_by)
    except ValueError:
        raise DomainError(
            "The auditor is appointed by the processor, the client or jointly.", field="appointed_by"
        ) from None
    if data.planned_on is None:
        raise DomainError("Give the planned date of the audit.", field="planned_on")
    for name in ("planned_on", "starts_on", "ends_on"):
        check_date(getattr(data, name), name)
    if data.planned_on < inspection.received_on:
        raise DomainError("The audit cannot be planned before the request was received.", field="planned_on")
    if data.starts_on and data.starts_on < inspection.received_on:
        raise DomainError("The audit cannot start before the request was received.", field="starts_on")
    if data.ends_on and data.starts_on is None:
        raise DomainError("Give the start date before the end date.", field="starts_on")
    if data.ends_on and data.starts_on and data.ends_on < data.starts_on:
        raise DomainError("The audit cannot end before it starts.", field="ends_on")
    amount = _amount(data.cost_amount)
    currency = data.cost_currency.strip().upper()
    if amount is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        raise DomainError("Give the cost's currency as a three-letter code (EUR, DZD...).", field="cost_currency")
    if amount is None and currency:
        raise DomainError("A currency needs an amount.", field="cost_amount")
    engagement = inspection.engagement
    before = {}
    if engagement is None:
        engagement = AuditEngagement(inspection=inspection, created_by_id=actor.id, appointed_by=appointed)
        db.session.add(engagement)
    else:
        before = {
            "auditor_organisation": engagement.auditor_organisation,
            "appointed_by": engagement.appointed_by.value,
            "controller_mandate": engagement.controller_mandate,
            "planned_on": engagement.planned_on,
            "starts_on": engagement.starts_on,
            "ends_on": engagement.ends_on,
        }
    if engagement.findings and data.starts_on and any(f.due_on < data.starts_on for f in engagement.findings):
        raise DomainError("A finding is due before that start date; keep the start on or before it.", field="starts_on")
    engagement.auditor_organisation = organisation
    engagement.auditor_people = data.auditor_people.strip()
    engagement.appointed_by = appointed
    engagement.controller_mandate = bool(data.controller_mandate)
    engagement.planned_on = data.planned_on
    engagement.starts_on = data.starts_on
    engagement.ends_on = data.ends_on
    engagement.scope = data.scope.strip()
    engagement.continuity_conditions = data.continuity_conditions.strip()
    engagement.cost_amount = amount
    engagement.cost_currency = currency
    engagement.cost_note = data.cost_note.strip()
    files = {}
    if declaration is not None and declaration.filename:
        stored = _store(declaration, "declaration", "declaration of independence and confidentiality")
        engagement.declaration_sha256 = stored.sha256
        engagement.declaration_filename = stored.filename
        engagement.declaration_content_type = stored.content_type
        files["declaration_sha256"] = stored.sha256
    if report is not None and report.filename:
        if data.ends_on is None:
            raise DomainError("A closing report needs the audit's end date.", field="ends_on")
        stored = _store(report, "report", "closing report")
        engagement.report_sha256 = stored.sha256
        engagement.report_filename = stored.filename
        engagement.report_content_type = stored.content_type
        files["report_sha256"] = stored.sha256
    db.session.flush()
    record(
        actor,
        "audit.update" if before else "audit.record",
        engagement,
        {
            "inspection_id": inspection.id,
            "before": before or None,
            "auditor_organisation": organisation,
            "appointed_by": appointed.value,
            "controller_mandate": engagement.controller_mandate,
            "planned_on": data.planned_on,
            "starts_on": data.starts_on,
            "ends_on": data.ends_on,
            "scope": engagement.scope,
            "continuity_conditions": engagement.continuity_conditions,
            "cost": f"{amount} {currency}" if amount is not None else None,
            "cost_note": engagement.cost_note,
            **files,
        },
        client_id=inspection.agreement.client_id,
    )
    return engagement


# --- findings and remediation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingInput:
    clause: str = line("Clause")
    severity: str = ""
    description: str = ""
    due_on: date | None = None


def add_finding(actor: User, engagement: AuditEngagement, data: FindingInput) -> Finding:
    """A finding on one clause of the audited agreement; past its due date and open, that clause is overdue."""
    check_lines(data)
    try:
        severity = Severity(data.severity)
    except ValueError:
        raise DomainError("The severity is low, medium, high or critical.", field="severity") from None
    if not data.description.strip():
        raise DomainError("Describe the finding.", field="description")
    if data.due_on is None:
        raise DomainError("Give the date the finding must be fixed by.", field="due_on")
    check_date(data.due_on, "due_on")
    if data.due_on < engagement.audit_day:
        raise DomainError(f"The finding cannot be due before the audit ({engagement.audit_day}).", field="due_on")
    agreement = engagement.inspection.agreement
    obligation = db.session.scalar(
        select(Obligation).where(
            Obligation.agreement_id == agreement.id, Obligation.clause_number == data.clause.strip()
        )
    )
    if obligation is None:
        raise DomainError(f"Agreement {agreement.reference} has no clause “{data.clause.strip()}”.", field="clause")
    finding = Finding(
        engagement=engagement,
        obligation=obligation,
        severity=severity,
        description=data.description.strip(),
        due_on=data.due_on,
        created_by_id=actor.id,
    )
    db.session.add(finding)
    db.session.flush()
    record(
        actor,
        "finding.record",
        finding,
        {
            "engagement_id": engagement.id,
            "clause": obligation.clause_number,
            "obligation_id": obligation.id,
            "severity": severity.value,
            "description": finding.description,
            "due_on": data.due_on,
        },
        client_id=agreement.client_id,
    )
    refresh_finding_obligations([obligation.id])
    return finding


def close_finding(
    actor: User, finding: Finding, closed_on: date | None, note: str, upload: Upload | None
) -> FindingClosure:
    """Close a finding with evidence (a date and a file): from that day it no longer weighs on its clause."""
    if finding.closure is not None:
        raise DomainError("This finding is already closed.", field="finding_id")
    if closed_on is None:
        raise DomainError("Give the date the finding was closed.", field="closed_on")
    _not_future(closed_on, "closed_on", "The closing date")
    if closed_on < finding.engagement.audit_day:
        raise DomainError("A finding cannot be closed before the audit.", field="closed_on")
    stored = _store(upload, "file", "evidence of closure")
    closure = FindingClosure(
        finding=finding,
        closed_on=closed_on,
        note=note.strip(),
        sha256=stored.sha256,
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        closed_by_id=actor.id,
    )
    db.session.add(closure)
    db.session.flush()
    record(
        actor,
        "finding.close",
        finding,
        {"closed_on": closed_on, "note": closure.note, "sha256": stored.sha256, "filename": stored.filename},
        client_id=finding.engagement.inspection.agreement.client_id,
    )
    refresh_finding_obligations([finding.obligation_id])
    return closure


@dataclass(frozen=True)
class RemediationInput:
    description: str = ""
    owner_id: int | None = None
    due_on: date | None = None


def add_remediation(actor: User, finding: Finding, data: RemediationInput) -> RemediationAction:
    if not data.description.strip():
        raise DomainError("Describe the action.", field="description")
    owner = db.session.get(User, data.owner_id) if data.owner_id is not None else None
    if owner is None or not owner.active or owner.role not in (Role.ADMIN, Role.COMPLIANCE):
        raise DomainError("The owner must be an active member of the compliance team.", field="owner_id")
    if data.due_on is None:
        raise DomainError("Give the action's due date.", field="due_on")
    check_date(data.due_on, "due_on")
    if data.due_on < finding.engagement.audit_day:
        raise DomainError("The action cannot be due before the audit.", field="due_on")
    action = RemediationAction(
        finding=finding,
        description=data.description.strip(),
        owner=owner,
        due_on=data.due_on,
        status=ActionStatus.OPEN,
        created_by_id=actor.id,
    )
    db.session.add(action)
    db.session.flush()
    record(
        actor,
        "remediation.record",
        action,
        {"finding_id": finding.id, "description": action.description, "owner": owner.email, "due_on": data.due_on},
        client_id=finding.engagement.inspection.agreement.client_id,
    )
    return action


def complete_remediation(
    actor: User, action: RemediationAction, done_on: date | None, upload: Upload | None
) -> RemediationAction:
    if action.status is ActionStatus.DONE:
        raise DomainError("This action is already done.", field="action_id")
    if done_on is None:
        raise DomainError("Give the date the action was done.", field="done_on")
    _not_future(done_on, "done_on", "The date done")
    if done_on < action.finding.engagement.audit_day:
        raise DomainError("An action cannot be done before the audit.", field="done_on")
    stored = _store(upload, "file", "evidence of closure")
    action.status = ActionStatus.DONE
    action.done_on = done_on
    action.sha256, action.filename, action.content_type = stored.sha256, stored.filename, stored.content_type
    db.session.flush()
    record(
        actor,
        "remediation.done",
        action,
        {"done_on": done_on, "sha256": stored.sha256, "filename": stored.filename},
        client_id=action.finding.engagement.inspection.agreement.client_id,
    )
    return action


# --- certifications --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificationInput:
    kind: str = ""
    name: str = line("Name", default="")
    issuer: str = line("Issuer", default="")
    issued_on: date | None = None
    expires_on: date | None = None


def add_certification(actor: User, data: CertificationInput, upload: Upload | None) -> Certification:
    check_lines(data)
    try:
        kind = CertificationKind(data.kind)
    except ValueError:
        raise DomainError("The kind is iso27001, soc2, pentest or other.", field="kind") from None
    if not data.name.strip():
        raise DomainError("Name the certification or report.", field="name")
    if not data.issuer.strip():
        raise DomainError("Name who issued it.", field="issuer")
    if data.issued_on is None:
        raise DomainError("Give the date it was issued.", field="issued_on")
    _not_future(data.issued_on, "issued_on", "The issue date")
    check_date(data.expires_on, "expires_on")
    if data.expires_on is not None and data.expires_on < data.issued_on:
        raise DomainError("It cannot expire before it was issued.", field="expires_on")
    stored = _store(upload, "file", "certificate or report")
    certification = Certification(
        kind=kind,
        name=data.name.strip(),
        issuer=data.issuer.strip(),
        issued_on=data.issued_on,
        expires_on=data.expires_on,
        sha256=stored.sha256,
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        added_by_id=actor.id,
    )
    db.session.add(certification)
    db.session.flush()
    record(
        actor,
        "certification.add",
        certification,
        {
            "kind": kind.value,
            "name": certification.name,
            "issuer": certification.issuer,
            "issued_on": data.issued_on,
            "expires_on": data.expires_on,
            "sha256": stored.sha256,
        },
    )
    return certification


def request_certification(actor: User, certification: Certification, agreement: Agreement) -> InspectionRequest:
    """A client asks for a certification: a document request of clause 11.1 on its agreement, received today."""
    return record_inspection(
        actor,
        agreement,
        InspectionInput(
            kind=InspectionKind.DOCUMENTS.value,
            received_on=utcnow().date(),
            requester_name=actor.display_name or actor.email,
            requester_email=actor.email,
            subject=f"Certification or report: {certification.name} ({certification.issuer})",
        ),
        certification,
    )


def certifications() -> list[Certification]:
    return list(db.session.scalars(select(Certification).order_by(Certification.issued_on.desc(), Certification.id)))


def shared_with(client_ids: set[int] | None, certification_ids: Sequence[int] | None = None) -> set[int]:
    """Certifications shared (answered with the file) with one of these clients (None: any client)."""
    stmt = (
        select(InspectionRequest.certification_id)
        .join(InspectionRequest.agreement)
        .join(Evidence, Evidence.trigger_event_id == InspectionRequest.event_id)
        .join(Certification, Certification.id == InspectionRequest.certification_id)
        .where(Evidence.sha256 == Certification.sha256, Evidence.state == EvidenceState.ACTIVE)
    )
    if client_ids is not None:
        stmt = stmt.where(Agreement.client_id.in_(sorted(client_ids)))
    if certification_ids is not None:
        stmt = stmt.where(InspectionRequest.certification_id.in_(list(certification_ids)))
    return {i for i in db.session.scalars(stmt) if i is not None}
