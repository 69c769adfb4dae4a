"""/api/v1 twins of the clause 11 pages: document and audit requests, the audit, findings, remediation actions and
certifications. Each calls the page's service with the page's role and tenant checks (another tenant's object is
404; auditors and clients read; a client requests a certification on its own agreement)."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dpa_tracker import dates
from dpa_tracker.api.common import blp, checked_first, current, fail, refused, require_write
from dpa_tracker.api.paging import LINK_HEADER, PageQuery, page_of, paginate_list
from dpa_tracker.api.schemas import ID_RANGE, Line, QueryInteger, StrictSchema, Text
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import Upload
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
    answered_on,
    certifications,
    close_finding,
    complete_remediation,
    documents_provided,
    inspection_loader,
    provide_documents,
    record_inspection,
    request_certification,
    save_engagement,
    share_certification,
    shared_with,
    tension,
    visible_inspections,
)
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    AppointedBy,
    Certification,
    CertificationKind,
    Finding,
    InspectionKind,
    InspectionRequest,
    RemediationAction,
    Role,
    Severity,
)
from dpa_tracker.obligation.services import assess_obligation, today
from dpa_tracker.permissions import can_see_client, client_filter, visible_client_ids


class InspectionIn(StrictSchema):
    agreement_id = fields.Integer(strict=True, required=True, validate=ID_RANGE)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in InspectionKind]))
    received_on = dates.Date(required=True)
    requester_name = Line(required=True, validate=validate.Length(min=1, max=200))
    requester_email = Line(load_default="", validate=validate.Length(max=254))
    subject = Text(required=True, validate=validate.Length(min=1, max=4000))


class InspectionQuery(PageQuery):
    agreement_id = QueryInteger(load_default=None, validate=ID_RANGE)


class DocumentsForm(StrictSchema):
    provided_on = dates.Date(required=True)
    note = Line(load_default="", validate=validate.Length(max=2000))


class OneFile(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class AuditFiles(Schema):
    declaration = fields.Raw(metadata={"type": "string", "format": "binary"})
    report = fields.Raw(metadata={"type": "string", "format": "binary"})


class EngagementIn(StrictSchema):
    auditor_organisation = Line(required=True, validate=validate.Length(min=1, max=200))
    auditor_people = Text(load_default="", validate=validate.Length(max=4000))
    appointed_by = fields.String(required=True, validate=validate.OneOf([a.value for a in AppointedBy]))
    controller_mandate = fields.Boolean(load_default=False, metadata={"description": "Art. 28(3)(h) mandate"})
    planned_on = dates.Date(required=True)
    starts_on = dates.Date(load_default=None, allow_none=True)
    ends_on = dates.Date(load_default=None, allow_none=True)
    scope = Text(load_default="", validate=validate.Length(max=4000))
    continuity_conditions = Text(load_default="", validate=validate.Length(max=4000))
    cost_amount = Line(load_default="", validate=validate.Length(max=20))
    cost_currency = Line(load_default="", validate=validate.Length(max=3))
    cost_note = Text(load_default="", validate=validate.Length(max=2000))


class FindingIn(StrictSchema):
    clause = Line(required=True, validate=validate.Length(min=1, max=20))
    severity = fields.String(required=True, validate=validate.OneOf([s.value for s in Severity]))
    description = Text(required=True, validate=validate.Length(min=1, max=4000))
    due_on = dates.Date(required=True)


class CloseForm(StrictSchema):
    closed_on = dates.Date(required=True)
    note = Line(load_default="", validate=validate.Length(max=2000))


class RemediationIn(StrictSchema):
    description = Text(required=True, validate=validate.Length(min=1, max=2000))
    owner_id = fields.Integer(strict=True, required=True, validate=ID_RANGE)
    due_on = dates.Date(required=True)


class DoneForm(StrictSchema):
    done_on = dates.Date(required=True)


class CertificationForm(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in CertificationKind]))
    name = Line(required=True, validate=validate.Length(min=1, max=200))
    issuer = Line(required=True, validate=validate.Length(min=1, max=200))
    issued_on = dates.Date(required=True)
    expires_on = dates.Date(load_default=None)


class CertificationRequestIn(StrictSchema):
    agreement_id = fields.Integer(strict=True, required=True, validate=ID_RANGE)


class ActionOut(Schema):
    id = fields.Integer()
    description = fields.String()
    owner = fields.Function(lambda a: a.owner.email)
    due_on = fields.Date()
    status = fields.Function(lambda a: a.status.value)
    done_on = fields.Date(allow_none=True)
    sha256 = fields.String(allow_none=True)


class FindingOut(Schema):
    id = fields.Integer()
    clause = fields.Function(lambda f: f.obligation.clause_number)
    severity = fields.Function(lambda f: f.severity.value)
    description = fields.String()
    due_on = fields.Date()
    closed_on = fields.Function(lambda f: f.closure.closed_on.isoformat() if f.closure else None)
    closure_sha256 = fields.Function(lambda f: f.closure.sha256 if f.closure else None)
    actions = fields.List(fields.Nested(ActionOut))


class EngagementOut(Schema):
    id = fields.Integer()
    auditor_organisation = fields.String()
    auditor_people = fields.String()
    appointed_by = fields.Function(lambda e: e.appointed_by.value)
    controller_mandate = fields.Boolean()
    tension = fields.Function(tension, metadata={"description": "Clause 11 vs Art. 28(3)(h), in words, or null"})
    planned_on = fields.Date()
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    scope = fields.String()
    continuity_conditions = fields.String()
    cost_amount = fields.Function(lambda e: str(e.cost_amount) if e.cost_amount is not None else None)
    cost_currency = fields.String()
    cost_note = fields.String()
    declaration_sha256 = fields.String(allow_none=True)
    report_sha256 = fields.String(allow_none=True)
    findings = fields.List(fields.Nested(FindingOut))


class ProvidedOut(Schema):
    evidence_id = fields.Integer()
    provided_on = fields.Date()
    filename = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True)


class InspectionOut(Schema):
    id = fields.Integer()
    agreement_id = fields.Integer()
    agreement = fields.String()
    kind = fields.String()
    received_on = fields.Date()
    requester_name = fields.String()
    requester_email = fields.String()
    subject = fields.String()
    certification_id = fields.Integer(allow_none=True)
    clause = fields.String()
    answered_on = fields.Date(allow_none=True)
    documents = fields.List(fields.Nested(ProvidedOut))
    audit = fields.Nested(EngagementOut, allow_none=True)


class InspectionDetailOut(InspectionOut):
    status = fields.String(metadata={"description": "The clause's status today (met, late, overdue...)"})
    reason = fields.String()


DETAIL_EXAMPLE = {
    "id": 7,
    "agreement_id": 1,
    "agreement": "DPA-2026-001",
    "kind": "audit",
    "received_on": "2026-03-02",
    "requester_name": "Amina Khelifi, DPO",
    "requester_email": "dpo@client.example",
    "subject": "Security of the hosting platform",
    "certification_id": None,
    "clause": "11.2",
    "answered_on": None,
    "documents": [],
    "audit": {
        "id": 3,
        "auditor_organisation": "Audit & Co",
        "auditor_people": "J. Martin, S. Haddad",
        "appointed_by": "processor",
        "controller_mandate": False,
        "tension": "The processor appointed this auditor alone and the client gave no mandate. ...",
        "planned_on": "2026-03-20",
        "starts_on": "2026-03-20",
        "ends_on": None,
        "scope": "Hosting platform, backups",
        "continuity_conditions": "On site two days, no access to other clients' data",
        "cost_amount": "4500.00",
        "cost_currency": "EUR",
        "cost_note": "",
        "declaration_sha256": None,
        "report_sha256": None,
        "findings": [
            {
                "id": 11,
                "clause": "7.1",
                "severity": "high",
                "description": "No restore test in 2026",
                "due_on": "2026-05-01",
                "closed_on": None,
                "closure_sha256": None,
                "actions": [],
            }
        ],
    },
    "status": "open",
    "reason": "Audit request of 02 Mar 2026 to be answered by 2026-04-01 00:00 UTC",
}
CERTIFICATION_EXAMPLE = {
    "id": 2,
    "kind": "iso27001",
    "name": "ISO/IEC 27001:2022 certificate",
    "issuer": "Cert Body SA",
    "issued_on": "2025-06-01",
    "expires_on": "2028-05-31",
    "valid": True,
    "shared": False,
    "filename": "iso27001.pdf",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "download": "/certifications/2/file",
}


def inspection_out(i: InspectionRequest) -> dict[str, Any]:
    return {
        "id": i.id,
        "agreement_id": i.agreement_id,
        "agreement": i.agreement.reference,
        "kind": i.kind.value,
        "received_on": i.received_on,
        "requester_name": i.requester_name,
        "requester_email": i.requester_email,
        "subject": i.subject,
        "certification_id": i.certification_id,
        "clause": i.event.obligation.clause_number,
        "answered_on": answered_on(i),
        "documents": [
            {
                "evidence_id": e.id,
                "provided_on": (e.acted_at or e.added_at).date(),
                "filename": e.filename,
                "sha256": e.sha256,
            }
            for e in documents_provided(i)
        ],
        "audit": i.engagement,
    }


def _load(inspection_id: int) -> InspectionRequest:
    found = db.session.scalar(
        select(InspectionRequest).where(InspectionRequest.id == inspection_id).options(*inspection_loader())
    )
    if found is None or not can_see_client(current(), found.agreement.client_id):
        fail(404, f"No request with id {inspection_id}.")
    return found


def detail_out(inspection_id: int) -> dict[str, Any]:
    found = _load(inspection_id)
    result = assess_obligation(found.event.obligation)
    return {**inspection_out(found), "status": result.status.value, "reason": result.reason}


def writable_inspection(inspection_id: int) -> None:
    _load(inspection_id)
    require_write()


def writable_finding(finding_id: int) -> None:
    found = db.session.get(Finding, finding_id)
    if found is None or not can_see_client(current(), found.engagement.inspection.agreement.client_id):
        fail(404, f"No finding with id {finding_id}.")
    require_write()


def writable_action(action_id: int) -> None:
    found = db.session.get(RemediationAction, action_id)
    if found is None or not can_see_client(current(), found.finding.engagement.inspection.agreement.client_id):
        fail(404, f"No remediation action with id {action_id}.")
    require_write()


def _agreement(agreement_id: int) -> Agreement:
    agreement = db.session.scalar(
        select(Agreement)
        .where(
            Agreement.id == agreement_id,
            Agreement.status != AgreementStatus.DRAFT,
            client_filter(current(), Agreement.client_id),
        )
        .options(selectinload(Agreement.client))
    )
    if agreement is None:
        raise DomainError(f"No agreement with id {agreement_id}.", field="agreement_id")
    return agreement


def _file(name: str) -> Upload | None:
    data = request.files.get(name)
    return Upload(data.stream, data.filename or name) if data is not None and data.filename else None


@blp.route("/inspections", methods=["GET"])
@blp.arguments(InspectionQuery, location="query")
@blp.response(200, page_of(InspectionOut), headers=LINK_HEADER)
def list_inspections(query: dict[str, Any]) -> Any:
    """Document and audit requests (clause 11) of the agreements this token may see, newest first (paginated)."""
    agreement_id = query.pop("agreement_id")
    body, status, headers = paginate_list(visible_inspections(current(), agreement_id), query)
    return {**body, "items": [inspection_out(i) for i in body["items"]]}, status, headers


@blp.route("/inspections", methods=["POST"])
@checked_first(require_write)
@blp.arguments(
    InspectionIn,
    example={
        "agreement_id": 1,
        "kind": "documents",
        "received_on": "2026-03-02",
        "requester_name": "Amina Khelifi, DPO",
        "requester_email": "dpo@client.example",
        "subject": "Latest penetration test summary and the list of sub-processors",
    },
)
@blp.response(201, InspectionDetailOut, example=DETAIL_EXAMPLE)
def record_inspection_api(data: dict[str, Any]) -> Any:
    """Record a request from the client: documents (clause 11.1) or an audit (11.2); its clock runs from the day
    received (staff only)."""
    try:
        agreement = _agreement(data.pop("agreement_id"))
        found = record_inspection(current(), agreement, InspectionInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return detail_out(found.id)


@blp.route("/inspections/<int:inspection_id>", methods=["GET"])
@blp.response(200, InspectionDetailOut)
def get_inspection(inspection_id: int) -> Any:
    """One request with the documents provided, its audit and findings, and its clause's status today."""
    return detail_out(inspection_id)


@blp.route("/inspections/<int:inspection_id>/documents", methods=["POST"])
@checked_first(writable_inspection)
@blp.arguments(DocumentsForm, location="form")
@blp.arguments(OneFile, location="files")
@blp.response(201, InspectionDetailOut, example=DETAIL_EXAMPLE)
def provide_documents_api(form: dict[str, Any], files: dict[str, Any], inspection_id: int) -> Any:
    """Record documents provided (multipart: `file`, `provided_on`, optional `note`): evidence answering the
    request; after the target it is `late`, not `met` (staff only)."""
    found = _load(inspection_id)
    try:
        provide_documents(current(), found, form["provided_on"], form["note"], _file("file"))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return detail_out(inspection_id)


@blp.route("/inspections/<int:inspection_id>/share", methods=["POST"])
@checked_first(writable_inspection)
@blp.response(201, InspectionDetailOut, example=DETAIL_EXAMPLE)
def share_certification_api(inspection_id: int) -> Any:
    """Answer a client's certification request with the certification file (today); the client may then download
    it (staff only)."""
    found = _load(inspection_id)
    try:
        share_certification(current(), found)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return detail_out(inspection_id)


@blp.route("/inspections/<int:inspection_id>/audit", methods=["POST"])
@checked_first(writable_inspection)
@blp.arguments(EngagementIn, location="form")
@blp.arguments(AuditFiles, location="files")
@blp.response(200, InspectionDetailOut, example=DETAIL_EXAMPLE)
def save_audit_api(form: dict[str, Any], files: dict[str, Any], inspection_id: int) -> Any:
    """Record or update the audit of an audit request (multipart form; optional files `declaration` and `report`):
    auditor, who appointed them and the client's Art. 28(3)(h) mandate, dates, scope, conditions, costs (staff)."""
    found = _load(inspection_id)
    try:
        save_engagement(current(), found, EngagementInput(**form), _file("declaration"), _file("report"))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return detail_out(inspection_id)


@blp.route("/inspections/<int:inspection_id>/findings", methods=["POST"])
@checked_first(writable_inspection)
@blp.arguments(
    FindingIn,
    example={"clause": "7.1", "severity": "high", "description": "No restore test in 2026", "due_on": "2026-05-01"},
)
@blp.response(201, InspectionDetailOut, example=DETAIL_EXAMPLE)
def add_finding_api(data: dict[str, Any], inspection_id: int) -> Any:
    """Record a finding on a clause of the agreement; open past its due date it makes that clause `overdue`
    (staff only)."""
    found = _load(inspection_id)
    try:
        if found.engagement is None:
            raise DomainError("Record the audit before its findings.", field="clause")
        add_finding(current(), found.engagement, FindingInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return detail_out(inspection_id)


@blp.route("/findings/<int:finding_id>/close", methods=["POST"])
@checked_first(writable_finding)
@blp.arguments(CloseForm, location="form")
@blp.arguments(OneFile, location="files")
@blp.response(201, InspectionDetailOut, example=DETAIL_EXAMPLE)
def close_finding_api(form: dict[str, Any], files: dict[str, Any], finding_id: int) -> Any:
    """Close a finding with evidence (multipart: `file`, `closed_on`, optional `note`); a record, never changed
    (staff only)."""
    found = db.session.get_one(Finding, finding_id)
    try:
        close_finding(current(), found, form["closed_on"], form["note"], _file("file"))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return detail_out(found.engagement.inspection_id)


@blp.route("/findings/<int:finding_id>/actions", methods=["POST"])
@checked_first(writable_finding)
@blp.arguments(RemediationIn, example={"description": "Run a restore test", "owner_id": 2, "due_on": "2026-04-15"})
@blp.response(201, InspectionDetailOut, example=DETAIL_EXAMPLE)
def add_remediation_api(data: dict[str, Any], finding_id: int) -> Any:
    """Add a remediation action to a finding: owner (a compliance user), due date (staff only)."""
    found = db.session.get_one(Finding, finding_id)
    try:
        add_remediation(current(), found, RemediationInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return detail_out(found.engagement.inspection_id)


@blp.route("/remediation-actions/<int:action_id>/done", methods=["POST"])
@checked_first(writable_action)
@blp.arguments(DoneForm, location="form")
@blp.arguments(OneFile, location="files")
@blp.response(200, InspectionDetailOut, example=DETAIL_EXAMPLE)
def complete_remediation_api(form: dict[str, Any], files: dict[str, Any], action_id: int) -> Any:
    """Mark a remediation action done with its evidence of closure (multipart: `file`, `done_on`; staff only)."""
    action = db.session.get_one(RemediationAction, action_id)
    try:
        complete_remediation(current(), action, form["done_on"], _file("file"))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return detail_out(action.finding.engagement.inspection_id)


class CertificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    issuer = fields.String()
    issued_on = fields.Date()
    expires_on = fields.Date(allow_none=True)
    valid = fields.Boolean(metadata={"description": "Issued and not expired today"})
    shared = fields.Boolean(metadata={"description": "A client token: shared with this client (downloadable)"})
    filename = fields.String()
    sha256 = fields.String()
    download = fields.String(allow_none=True, metadata={"description": "The page URL that serves the file, or null"})


def certification_out(c: Certification, shared: set[int], is_client: bool) -> dict[str, Any]:
    may = not is_client or c.id in shared
    return {
        "id": c.id,
        "kind": c.kind.value,
        "name": c.name,
        "issuer": c.issuer,
        "issued_on": c.issued_on,
        "expires_on": c.expires_on,
        "valid": c.valid_on(today()),
        "shared": c.id in shared,
        "filename": c.filename,
        "sha256": c.sha256,
        "download": f"/certifications/{c.id}/file" if may else None,
    }


@blp.route("/certifications", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(CertificationOut), headers=LINK_HEADER)
def list_certifications(query: dict[str, Any]) -> Any:
    """Certifications and third-party reports the processor holds (paginated); a client token sees which were
    shared with its client."""
    is_client = current().role is Role.CLIENT
    shared = shared_with(visible_client_ids(current())) if is_client else set()
    body, status, headers = paginate_list(certifications(), query, key=lambda c: c.id)
    return {**body, "items": [certification_out(c, shared, is_client) for c in body["items"]]}, status, headers


@blp.route("/certifications", methods=["POST"])
@checked_first(require_write)
@blp.arguments(CertificationForm, location="form")
@blp.arguments(OneFile, location="files")
@blp.response(201, CertificationOut, example=CERTIFICATION_EXAMPLE)
def add_certification_api(form: dict[str, Any], files: dict[str, Any]) -> Any:
    """Add a certification or report (multipart: `file`, `kind`, `name`, `issuer`, `issued_on`, optional
    `expires_on`), stored by SHA-256 (staff only)."""
    try:
        found = add_certification(current(), CertificationInput(**form), _file("file"))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return certification_out(found, set(), False)


def client_only(certification_id: int) -> None:
    if current().role is not Role.CLIENT:
        fail(403, "Only a client's users request a certification.")


@blp.route("/certifications/<int:certification_id>/request", methods=["POST"])
@checked_first(client_only)
@blp.arguments(CertificationRequestIn, example={"agreement_id": 1})
@blp.response(201, InspectionDetailOut, example=DETAIL_EXAMPLE)
def request_certification_api(data: dict[str, Any], certification_id: int) -> Any:
    """A client asks for a certification: a document request (clause 11.1) on its agreement (client tokens)."""
    certification = db.session.get(Certification, certification_id)
    if certification is None:
        fail(404, f"No certification with id {certification_id}.")
    if (
        db.session.scalar(
            select(Agreement.id).where(
                Agreement.id == data["agreement_id"], client_filter(current(), Agreement.client_id)
            )
        )
        is None
    ):
        fail(404, f"No agreement with id {data['agreement_id']}.")
    try:
        found = request_certification(current(), certification, _agreement(data["agreement_id"]))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return detail_out(found.id)
