"""/api/v1: bearer tokens, the same role and tenant rules as the pages, problem+json errors."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dpa_tracker.agreement.services import AgreementInput, change_settings, create_agreement
from dpa_tracker.agreement.settings import SETTINGS
from dpa_tracker.api import filters as q
from dpa_tracker.api import schemas as s
from dpa_tracker.api.common import (
    ETAG_HEADER,
    agreement_representation,
    answerable_recipient,
    blp,
    checked_first,
    current,
    domain_fail,
    etagged,
    fail,
    if_match,
    obligation_row,
    require_write,
    visible,
    writable_agreement,
    writable_obligation,
)
from dpa_tracker.api.paging import LINK_HEADER, Key, page_of, paginate, paginate_list
from dpa_tracker.client.services import ClientInput, create_client
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.download import send_evidence_file
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    AuditEvent,
    ChangeNotice,
    Client,
    Evidence,
    EvidenceState,
    NoticeRecipient,
    Obligation,
    RecordVersion,
)
from dpa_tracker.models.subprocessor import AnswerState, ObjectionConsequence
from dpa_tracker.obligation.services import assess_agreement, today
from dpa_tracker.permissions import can_hand_out_record, can_write, client_filter
from dpa_tracker.record.services import hand_out
from dpa_tracker.reports.record_files import MIMETYPES, record_response
from dpa_tracker.subprocessor.authorised import subprocessor_rows
from dpa_tracker.subprocessor.notices import answer

# --- clients --------------------------------------------------------------------------------


@blp.route("/clients", methods=["GET"])
@blp.arguments(q.ClientListQuery, location="query")
@blp.response(200, page_of(s.ClientOut), headers=LINK_HEADER)
def list_clients(query: dict[str, Any]) -> Any:
    """List the clients this token may see, by legal name."""
    stmt = select(Client).where(client_filter(current(), Client.id))
    if query["country"]:
        stmt = stmt.where(Client.country == query["country"].upper())
    return paginate(stmt, [Key(Client.legal_name), Key(Client.id)], query)


@blp.route("/clients", methods=["POST"])
@checked_first(require_write)
@blp.arguments(s.ClientIn)
@blp.response(201, s.ClientOut)
def create_client_api(data: dict[str, Any]) -> Any:
    """Create a client (compliance team and admins)."""
    try:
        client = create_client(current(), ClientInput(**data))
    except DomainError as error:
        domain_fail(error)
    db.session.commit()
    return client


@blp.route("/clients/<int:client_id>", methods=["GET"])
@etagged
@blp.response(200, s.ClientOut, headers=ETAG_HEADER)
def get_client(client_id: int) -> Any:
    """One client."""
    return visible(Client, client_id, lambda c: c.id)


# --- agreements and obligations -------------------------------------------------------------


@blp.route("/agreements", methods=["GET"])
@blp.arguments(q.AgreementListQuery, location="query")
@blp.response(200, page_of(s.AgreementOut), headers=LINK_HEADER)
def list_agreements(query: dict[str, Any]) -> Any:
    """List the agreements this token may see, by reference."""
    stmt = (
        select(Agreement)
        .where(client_filter(current(), Agreement.client_id))
        .options(selectinload(Agreement.obligations))
    )
    if query["client_id"] is not None:
        stmt = stmt.where(Agreement.client_id == query["client_id"])
    if query["status"]:
        stmt = stmt.where(Agreement.status == AgreementStatus(query["status"]))
    return paginate(stmt, [Key(Agreement.reference), Key(Agreement.id)], query)


@blp.route("/agreements", methods=["POST"])
@checked_first(require_write)
@blp.arguments(s.AgreementIn)
@blp.response(201, s.AgreementOut)
def create_agreement_api(data: dict[str, Any]) -> Any:
    """Create an agreement; one obligation is generated per binding clause of its template."""
    client = db.session.get(Client, data.pop("client_id"))
    if client is None:
        fail(422, "client_id names no client.", "client_id")
    data["status"] = AgreementStatus(data["status"])
    data["settings"] = {setting.name: data.pop(setting.name) for setting in SETTINGS}
    try:
        agreement = create_agreement(current(), client, AgreementInput(**data))
    except DomainError as error:
        domain_fail(error)
    db.session.commit()
    return agreement


@blp.route("/agreements/<int:agreement_id>", methods=["GET"])
@etagged
@blp.response(200, s.AgreementOut, headers=ETAG_HEADER)
def get_agreement(agreement_id: int) -> Any:
    """One agreement."""
    return visible(Agreement, agreement_id, lambda a: a.client_id)


@blp.route("/agreements/<int:agreement_id>/settings", methods=["PATCH"])
@checked_first(writable_agreement)
@if_match(s.AgreementOut(), agreement_representation)
@blp.arguments(s.AgreementSettingsIn)
@blp.response(200, s.AgreementOut, headers=ETAG_HEADER)
def change_agreement_settings(data: dict[str, Any], agreement_id: int) -> Any:
    """Change some of the agreement's deadline settings; its obligations' clocks follow at once (audited)."""
    agreement = visible(Agreement, agreement_id, lambda a: a.client_id)
    try:
        change_settings(current(), agreement, data)
    except DomainError as error:
        domain_fail(error)
    db.session.commit()
    return agreement


@blp.route("/agreements/<int:agreement_id>/obligations", methods=["GET"])
@blp.arguments(q.AgreementObligationQuery, location="query")
@blp.response(200, page_of(s.ObligationOut), headers=LINK_HEADER)
def list_obligations(query: dict[str, Any], agreement_id: int) -> Any:
    """The agreement's obligations in clause order with status, reason and due date, as of a date (default
    today); the filters apply to the statuses and due dates as of that date."""
    agreement = visible(Agreement, agreement_id, lambda a: a.client_id)
    rows = [(o, a) for o, a in assess_agreement(agreement, query["as_of"]) if assessed_matches(o, a, query)]
    body, status, headers = paginate_list(rows, query, key=lambda row: row[0].position)
    body["items"] = [obligation_row(o, a) for o, a in body["items"]]
    return body, status, headers


def assessed_matches(obligation: Obligation, assessment: Any, query: dict[str, Any]) -> bool:
    """The obligation filters (filters.ObligationFilters) applied to one assessed obligation."""
    clause = query["clause"]
    due_on = assessment.due_on
    return (
        (not query["status"] or assessment.status.value == query["status"])
        and (not clause or obligation.clause_number == clause or obligation.clause_number.startswith(clause + "."))
        and (not query["owner"] or (obligation.owner is not None and obligation.owner.email == query["owner"].lower()))
        and (not query["due_after"] or (due_on is not None and due_on >= query["due_after"]))
        and (not query["due_before"] or (due_on is not None and due_on <= query["due_before"]))
    )


# --- evidence --------------------------------------------------------------------------------


@blp.route("/obligations/<int:obligation_id>/evidence", methods=["GET"])
@blp.arguments(q.EvidenceListQuery, location="query")
@blp.response(200, page_of(s.EvidenceOut), headers=LINK_HEADER)
def list_evidence(query: dict[str, Any], obligation_id: int) -> Any:
    """Every piece of evidence of the obligation, withdrawn and superseded ones included, oldest first."""
    obligation = visible(Obligation, obligation_id, lambda o: o.agreement.client_id)
    stmt = select(Evidence).where(Evidence.obligation_id == obligation.id).options(selectinload(Evidence.added_by))
    if query["state"]:
        stmt = stmt.where(Evidence.state == EvidenceState(query["state"]))
    return paginate(stmt, [Key(Evidence.id)], query)


@blp.route("/obligations/<int:obligation_id>/evidence", methods=["POST"])
@checked_first(writable_obligation)
@blp.arguments(s.EvidenceForm, location="form")
@blp.arguments(s.EvidenceFile, location="files")
@blp.response(201, s.EvidenceOut)
def add_evidence_api(form: dict[str, Any], files: dict[str, Any], obligation_id: int) -> Any:
    """Add evidence: multipart with `file` and/or `note` and/or `link`, optional `valid_until`."""
    obligation = db.get_or_404(Obligation, obligation_id)  # visibility and role: writable_obligation
    file = request.files.get("file")
    upload = Upload(file.stream, file.filename or "evidence") if file is not None and file.filename else None
    try:
        evidence = add_evidence(current(), obligation, EvidenceInput(**form), upload)
    except DomainError as error:
        db.session.rollback()
        domain_fail(error)
    db.session.commit()
    return evidence


@blp.route("/evidence/<int:evidence_id>/download", methods=["GET"])
@blp.response(200, description="The file, as an attachment")
def download_evidence(evidence_id: int) -> Response:
    """Download an evidence file (its SHA-256 is checked before it is sent)."""
    evidence = visible(Evidence, evidence_id, lambda e: e.obligation.agreement.client_id)
    return send_evidence_file(evidence)


# --- audit -----------------------------------------------------------------------------------


@blp.route("/audit-events", methods=["GET"])
@blp.arguments(q.AuditListQuery, location="query")
@blp.response(200, page_of(s.AuditEventOut), headers=LINK_HEADER)
def list_audit_events(query: dict[str, Any]) -> Any:
    """Audit events, newest first."""
    user = current()
    stmt = select(AuditEvent)
    if not can_write(user):
        stmt = stmt.where(AuditEvent.client_id.is_not(None), client_filter(user, AuditEvent.client_id))
    if query["client_id"] is not None:
        stmt = stmt.where(AuditEvent.client_id == query["client_id"])
    if query["action"]:
        stmt = stmt.where(AuditEvent.action.startswith(query["action"], autoescape=True))
    if query["before"] is not None:
        stmt = stmt.where(AuditEvent.id < query["before"])
    return paginate(stmt, [Key(AuditEvent.id, descending=True)], query)


# --- Art. 30(2) record, sub-processors, notices -----------------------------------------------


@blp.route("/clients/<int:client_id>/record/versions", methods=["GET"])
@blp.arguments(q.RecordVersionListQuery, location="query")
@blp.response(200, page_of(s.RecordVersionOut), headers=LINK_HEADER)
def list_record_versions(query: dict[str, Any], client_id: int) -> Any:
    """Every copy of the record handed out, newest first: when, by whom, and its hash."""
    client = visible(Client, client_id, lambda c: c.id)
    stmt = (
        select(RecordVersion)
        .where(RecordVersion.client_id == client.id)
        .options(selectinload(RecordVersion.handed_out_by))
    )
    return paginate(stmt, [Key(RecordVersion.number, descending=True)], query)


def record_hand_out_allowed(client_id: int) -> None:
    visible(Client, client_id, lambda c: c.id)
    if not can_hand_out_record(current(), client_id):
        fail(403, "Only processor staff and the client's own users hand out a copy (read-only role).")


@blp.route("/clients/<int:client_id>/record/versions", methods=["POST"])
@checked_first(record_hand_out_allowed)
@blp.arguments(s.RecordVersionIn)
@blp.response(
    201,
    s.RecordVersionOut,
    headers={"Location": {"description": "Where to download the version", "schema": {"type": "string"}}},
)
def create_record_version(data: dict[str, Any], client_id: int) -> Any:
    """Hand out a copy of the record: keep it as a numbered version (clause 4.2), then download it
    from the Location. Staff and the client's own users only."""
    client = db.get_or_404(Client, client_id)  # visibility and role: record_hand_out_allowed
    as_of = data["as_of"] or today()
    if as_of > today():
        fail(422, "A record cannot be dated in the future.", "as_of")
    try:
        version, _ = hand_out(current(), client, as_of, data["format"], to_client=data["to_client"])
    except DomainError as error:
        db.session.rollback()
        domain_fail(error)
    db.session.commit()
    location = url_for(
        "api_v1.download_record_version", client_id=client.id, number=version.number, fmt=version.handed_out_as
    )
    return version, 201, {"Location": location}


@blp.route("/clients/<int:client_id>/record/versions/<int:number>.<fmt>", methods=["GET"])
@blp.response(200, description="The version exactly as it was handed out, as an attachment")
def download_record_version(client_id: int, number: int, fmt: str) -> Response:
    """Download a kept version as pdf, json or csv (changes nothing)."""
    client = visible(Client, client_id, lambda c: c.id)
    if fmt not in MIMETYPES:
        fail(404, "Formats: pdf, json, csv.")
    version = db.session.scalar(
        select(RecordVersion).where(RecordVersion.client_id == client.id, RecordVersion.number == number)
    )
    if version is None:
        fail(404, f"{client.legal_name} has no record version {number}.")
    return record_response(client, json.loads(version.content), fmt, version)


@blp.route("/clients/<int:client_id>/subprocessors", methods=["GET"])
@blp.arguments(q.SubProcessorListQuery, location="query")
@blp.response(200, page_of(s.SubProcessorEntryOut), headers=LINK_HEADER)
def list_client_subprocessors(query: dict[str, Any], client_id: int) -> Any:
    """Sub-processors authorised for the client on a date (default today)."""
    client = visible(Client, client_id, lambda c: c.id)
    rows = subprocessor_rows(client, query["as_of"] or today())
    if query["country"]:
        rows = [r for r in rows if r["country"].upper() == query["country"].upper()]
    return paginate_list(rows, query)


@blp.route("/clients/<int:client_id>/notices", methods=["GET"])
@blp.arguments(q.NoticeListQuery, location="query")
@blp.response(200, page_of(s.NoticeOut), headers=LINK_HEADER)
def list_client_notices(query: dict[str, Any], client_id: int) -> Any:
    """The client's sub-processor change notices with their answers, newest first."""
    client = visible(Client, client_id, lambda c: c.id)
    stmt = (
        select(NoticeRecipient)
        .join(NoticeRecipient.agreement)
        .where(Agreement.client_id == client.id)
        .options(
            selectinload(NoticeRecipient.notice).selectinload(ChangeNotice.subprocessor),
            selectinload(NoticeRecipient.notice).selectinload(ChangeNotice.replaces),
        )
    )
    if query["agreement_id"] is not None:
        stmt = stmt.where(NoticeRecipient.agreement_id == query["agreement_id"])
    if query["state"]:
        stmt = stmt.where(NoticeRecipient.state == AnswerState(query["state"]))
    return paginate(stmt, [Key(NoticeRecipient.id, descending=True)], query)


@blp.route("/notice-recipients/<int:recipient_id>/answer", methods=["POST"])
@checked_first(answerable_recipient)
@blp.arguments(s.AnswerIn)
@blp.response(200, s.NoticeOut)
def answer_notice_api(data: dict[str, Any], recipient_id: int) -> Any:
    """Approve or object to a notice (client users only; an objection needs a reason and its consequence)."""
    recipient = db.get_or_404(NoticeRecipient, recipient_id)  # visibility and role: answerable_recipient
    consequence = ObjectionConsequence(data["consequence"]) if data["consequence"] else None
    try:
        answer(current(), recipient, data["decision"] == "approve", data["reason"], consequence)
    except DomainError as error:
        domain_fail(error)
    db.session.commit()
    return recipient
