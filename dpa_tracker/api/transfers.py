"""/api/v1 twins of the client's transfers page (clause 10): the client's consents to storage or transfer
outside the EU/EEA (10(2)) and its written authorisations to disclose to third parties (10(1)), listed
(paginated), recorded (multipart, optional `file`: the signed document) and withdrawn with a reason; the
transfers required by law (10(2)(b)) with their proof, recorded (multipart, `proof` required) and notified.
Each calls the page's own service with the page's role and tenant rules; bad input is a 422 that writes nothing."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from dpa_tracker import dates
from dpa_tracker.api.common import blp, checked_first, current, fail, refused, require_write, visible
from dpa_tracker.api.paging import LINK_HEADER, Key, PageQuery, page_of, paginate
from dpa_tracker.api.schemas import ID_RANGE, Line, QueryInteger, StrictSchema, Text
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Client, DisclosureAuthorisation, LawTransfer, TransferConsent
from dpa_tracker.transfer.lawful import (
    LawTransferInput,
    law_transfers_query,
    notified_at,
    queue_law_notice,
    record_law_transfer,
)
from dpa_tracker.transfer.services import (
    ConsentInput,
    DisclosureInput,
    record_consent,
    record_disclosure,
    withdraw,
)


class ClauseTenRecordOut(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    sha256 = fields.String(allow_none=True)
    filename = fields.String(allow_none=True)
    recorded_at = fields.DateTime()
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawn_reason = fields.String(allow_none=True)


class TransferConsentOut(ClauseTenRecordOut):
    given_on = fields.Date()
    given_by = fields.String()
    countries = fields.List(fields.String(), attribute="country_list")
    transfer_ids = fields.List(fields.Integer(), attribute="transfer_id_list")
    scope = fields.String()


class DisclosureAuthorisationOut(ClauseTenRecordOut):
    recipient = fields.String()
    purpose = fields.String()
    authorised_on = fields.Date()


class ConsentFormIn(StrictSchema):
    given_on = dates.Date(required=True)
    given_by = Line(required=True, validate=validate.Length(min=1, max=200))
    countries = fields.List(Line(validate=validate.Length(min=2, max=2)), load_default=list)
    transfer_ids = fields.List(QueryInteger(validate=ID_RANGE), load_default=list)
    scope = Text(load_default="", validate=validate.Length(max=4000))


class DisclosureFormIn(StrictSchema):
    recipient = Line(required=True, validate=validate.Length(min=1, max=200))
    purpose = Text(required=True, validate=validate.Length(min=1, max=4000))
    authorised_on = dates.Date(required=True)


class ClauseTenDocument(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"})


class ClauseTenWithdrawIn(StrictSchema):
    reason = Line(required=True, validate=validate.Length(min=1, max=500))


class ClauseTenQuery(PageQuery):
    withdrawn = fields.Boolean(load_default=None, metadata={"description": "Only withdrawn (true) or in force"})


def _client(client_id: int) -> Client:
    client: Client = visible(Client, client_id, lambda c: c.id)
    return client


def writable_client(client_id: int) -> None:
    _client(client_id)
    require_write()


def writable_consent(consent_id: int) -> None:
    visible(TransferConsent, consent_id, lambda c: c.client_id)
    require_write()


def writable_disclosure(authorisation_id: int) -> None:
    visible(DisclosureAuthorisation, authorisation_id, lambda a: a.client_id)
    require_write()


def _upload() -> Upload | None:
    file = request.files.get("file")
    return Upload(file.stream, file.filename or "document") if file is not None and file.filename else None


def _withdrawn_filter(model: Any, query: dict[str, Any]) -> Any:
    stmt = select(model)
    if query["withdrawn"] is True:
        stmt = stmt.where(model.withdrawn_at.is_not(None))
    elif query["withdrawn"] is False:
        stmt = stmt.where(model.withdrawn_at.is_(None))
    return stmt


@blp.route("/clients/<int:client_id>/transfer-consents", methods=["GET"])
@blp.arguments(ClauseTenQuery, location="query")
@blp.response(200, page_of(TransferConsentOut), headers=LINK_HEADER)
def list_transfer_consents(query: dict[str, Any], client_id: int) -> Any:
    """The client's consents to storage or transfer outside the EU/EEA (clause 10(2)), newest first."""
    client = _client(client_id)
    stmt = _withdrawn_filter(TransferConsent, query).where(TransferConsent.client_id == client.id)
    return paginate(stmt, [Key(TransferConsent.id, descending=True)], query)


@blp.route("/clients/<int:client_id>/transfer-consents", methods=["POST"])
@checked_first(writable_client)
@blp.arguments(ConsentFormIn, location="form")
@blp.arguments(ClauseTenDocument, location="files")
@blp.response(
    201,
    TransferConsentOut,
    example={
        "id": 3,
        "client_id": 1,
        "given_on": "2026-10-01",
        "given_by": "H. Mansouri, CEO",
        "countries": ["US"],
        "transfer_ids": [12],
        "scope": "Support desk in Ohio",
        "sha256": "9f2c8e1d4b7a6c5e3f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a",
        "filename": "consent.pdf",
        "recorded_at": "2026-10-02T09:00:00+00:00",
        "withdrawn_at": None,
        "withdrawn_reason": None,
    },
)
def record_transfer_consent_api(form: dict[str, Any], files: dict[str, Any], client_id: int) -> Any:
    """Record the client's prior express consent (clause 10(2)): multipart with `given_on`, `given_by`, one
    `countries` field per ISO code outside the EU/EEA and/or one `transfer_ids` field per transfer of the
    client's record, `scope`, optional `file`. An adequacy decision does not replace this consent."""
    client = _client(client_id)
    try:
        consent = record_consent(current(), client, ConsentInput(**form), _upload())
    except DomainError as error:
        refused(error)
    db.session.commit()
    return consent


@blp.route("/transfer-consents/<int:consent_id>/withdraw", methods=["POST"])
@checked_first(writable_consent)
@blp.arguments(ClauseTenWithdrawIn, example={"reason": "The client revoked its consent by letter of 3 March."})
@blp.response(200, TransferConsentOut)
def withdraw_transfer_consent_api(data: dict[str, Any], consent_id: int) -> Any:
    """Withdraw a consent with the reason; it stays in the history and counts for the days before."""
    consent = db.session.get_one(TransferConsent, consent_id)  # checked_first answered 404 already
    try:
        withdraw(current(), consent, data["reason"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return consent


@blp.route("/clients/<int:client_id>/disclosure-authorisations", methods=["GET"])
@blp.arguments(ClauseTenQuery, location="query")
@blp.response(200, page_of(DisclosureAuthorisationOut), headers=LINK_HEADER)
def list_disclosure_authorisations(query: dict[str, Any], client_id: int) -> Any:
    """The client's written authorisations to disclose its data to third parties (clause 10(1)), newest first."""
    client = _client(client_id)
    stmt = _withdrawn_filter(DisclosureAuthorisation, query).where(DisclosureAuthorisation.client_id == client.id)
    return paginate(stmt, [Key(DisclosureAuthorisation.id, descending=True)], query)


@blp.route("/clients/<int:client_id>/disclosure-authorisations", methods=["POST"])
@checked_first(writable_client)
@blp.arguments(DisclosureFormIn, location="form")
@blp.arguments(ClauseTenDocument, location="files")
@blp.response(
    201,
    DisclosureAuthorisationOut,
    example={
        "id": 2,
        "client_id": 1,
        "recipient": "Tax office",
        "purpose": "Yearly tax audit",
        "authorised_on": "2026-10-01",
        "sha256": None,
        "filename": None,
        "recorded_at": "2026-10-02T09:00:00+00:00",
        "withdrawn_at": None,
        "withdrawn_reason": None,
    },
)
def record_disclosure_authorisation_api(form: dict[str, Any], files: dict[str, Any], client_id: int) -> Any:
    """Record the client's written authorisation to disclose to a third party (clause 10(1)): multipart with
    `recipient`, `purpose`, `authorised_on`, optional `file`."""
    client = _client(client_id)
    try:
        authorisation = record_disclosure(current(), client, DisclosureInput(**form), _upload())
    except DomainError as error:
        refused(error)
    db.session.commit()
    return authorisation


@blp.route("/disclosure-authorisations/<int:authorisation_id>/withdraw", methods=["POST"])
@checked_first(writable_disclosure)
@blp.arguments(ClauseTenWithdrawIn, example={"reason": "Recorded for the wrong client."})
@blp.response(200, DisclosureAuthorisationOut)
def withdraw_disclosure_authorisation_api(data: dict[str, Any], authorisation_id: int) -> Any:
    """Withdraw an authorisation with the reason; it stays in the history."""
    authorisation = db.session.get_one(DisclosureAuthorisation, authorisation_id)
    try:
        withdraw(current(), authorisation, data["reason"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return authorisation


# --- clause 10(2)(b): transfers required by law ------------------------------------------------------


class LawTransferOut(Schema):
    id = fields.Integer()
    agreement_id = fields.Integer()
    client_id = fields.Integer()
    learnt_at = fields.DateTime(metadata={"description": "When we learnt of the legal obligation: the clock's start"})
    authority = fields.String()
    law = fields.String()
    destination = fields.String()
    destination_country = fields.String(metadata={"description": "ISO code; empty for an international organisation"})
    data_concerned = fields.String()
    proof_sha256 = fields.String()
    proof_filename = fields.String()
    proof_url = fields.String(metadata={"description": "The proof's download (signed-in page)"})
    notice_forbidden = fields.Boolean(metadata={"description": "The law forbids telling the client (staff only)"})
    forbidden_ground = fields.String()
    event_id = fields.Integer()
    notice_state = fields.String(metadata={"description": "forbidden, not_notified, queued or sent"})
    notified_at = fields.DateTime(allow_none=True)
    recorded_at = fields.DateTime()


class LawTransferIn(StrictSchema):
    agreement_id = QueryInteger(required=True, validate=ID_RANGE)
    learnt_at = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with a time zone"})
    authority = Line(required=True, validate=validate.Length(min=1, max=200))
    law = Line(required=True, validate=validate.Length(min=1, max=300))
    destination = Line(required=True, validate=validate.Length(min=1, max=200))
    destination_country = Line(load_default="", validate=validate.Length(max=2))
    data_concerned = Text(required=True, validate=validate.Length(min=1, max=4000))
    notice_forbidden = fields.Boolean(load_default=False)
    forbidden_ground = Text(load_default="", validate=validate.Length(max=4000))


class LawTransferProof(Schema):
    proof = fields.Raw(metadata={"type": "string", "format": "binary"})


class LawTransferQuery(PageQuery):
    client_id = QueryInteger(load_default=None, validate=ID_RANGE)


def law_transfer_out(row: LawTransfer) -> dict[str, Any]:
    sent = notified_at(row)
    state = "forbidden" if row.notice_forbidden else "sent" if sent else "queued" if row.notices else "not_notified"
    return {
        "id": row.id,
        "agreement_id": row.agreement_id,
        "client_id": row.agreement.client_id,
        "learnt_at": row.learnt_at,
        "authority": row.authority,
        "law": row.law,
        "destination": row.destination,
        "destination_country": row.destination_country,
        "data_concerned": row.data_concerned,
        "proof_sha256": row.proof_sha256,
        "proof_filename": row.proof_filename,
        "proof_url": f"/law-transfers/{row.id}/proof",
        "notice_forbidden": row.notice_forbidden,
        "forbidden_ground": row.forbidden_ground,
        "event_id": row.event_id,
        "notice_state": state,
        "notified_at": sent,
        "recorded_at": row.recorded_at,
    }


def _law_transfer(transfer_id: int) -> LawTransfer:
    row = db.session.scalar(law_transfers_query(current()).where(LawTransfer.id == transfer_id))
    if row is None:
        fail(404, f"No transfer required by law with id {transfer_id}.")
    return row


def writable_law_transfer(law_transfer_id: int) -> None:
    _law_transfer(law_transfer_id)
    require_write()


LAW_TRANSFER_EXAMPLE = {
    "id": 4,
    "agreement_id": 1,
    "client_id": 1,
    "learnt_at": "2026-10-28T10:00:00+00:00",
    "authority": "Tribunal of Algiers",
    "law": "Code of criminal procedure, art. 47",
    "destination": "Interpol",
    "destination_country": "",
    "data_concerned": "Login history of one customer account",
    "proof_sha256": "9f2c8e1d4b7a6c5e3f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a",
    "proof_filename": "order.pdf",
    "proof_url": "/law-transfers/4/proof",
    "notice_forbidden": False,
    "forbidden_ground": "",
    "event_id": 31,
    "notice_state": "not_notified",
    "notified_at": None,
    "recorded_at": "2026-10-28T11:00:00+00:00",
}


@blp.route("/law-transfers", methods=["GET"])
@blp.arguments(LawTransferQuery, location="query")
@blp.response(200, page_of(LawTransferOut), headers=LINK_HEADER)
def list_law_transfers(query: dict[str, Any]) -> Any:
    """Transfers required by law (clause 10(2)(b)) of the clients this token may see, newest first; a client's
    users and auditors never see one whose notice the law forbids."""
    stmt = law_transfers_query(current(), query["client_id"])
    return paginate(
        stmt, [Key(LawTransfer.id, descending=True)], query, render=lambda page: [law_transfer_out(r) for r in page]
    )


@blp.route("/law-transfers/<int:law_transfer_id>", methods=["GET"])
@blp.response(200, LawTransferOut, example=LAW_TRANSFER_EXAMPLE)
def get_law_transfer(law_transfer_id: int) -> Any:
    """One transfer required by law, with its proof's SHA-256 and whether the client was told."""
    return law_transfer_out(_law_transfer(law_transfer_id))


@blp.route("/clients/<int:client_id>/law-transfers", methods=["POST"])
@checked_first(writable_client)
@blp.arguments(LawTransferIn, location="form")
@blp.arguments(LawTransferProof, location="files")
@blp.response(201, LawTransferOut, example=LAW_TRANSFER_EXAMPLE)
def record_law_transfer_api(form: dict[str, Any], files: dict[str, Any], client_id: int) -> Any:
    """Record a transfer the law requires (clause 10(2)(b)): multipart with `agreement_id` (one of the client's),
    `learnt_at`, `authority`, `law`, `destination`, `destination_country`, `data_concerned`, `notice_forbidden`,
    `forbidden_ground` (required when the law forbids telling the client) and the `proof` file (required). It
    starts the clause's 2-day clock; a recorded ground answers it at once."""
    client = _client(client_id)
    data = dict(form)
    agreement = db.session.get(Agreement, data.pop("agreement_id"))
    if agreement is None or agreement.client_id != client.id:
        refused(DomainError("Choose one of this client's agreements.", field="agreement_id"))
    file = request.files.get("proof")
    proof = Upload(file.stream, file.filename or "proof") if file is not None and file.filename else None
    try:
        row = record_law_transfer(current(), agreement, LawTransferInput(**data), proof)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return law_transfer_out(row)


@blp.route("/law-transfers/<int:law_transfer_id>/notify", methods=["POST"])
@checked_first(writable_law_transfer)
@blp.response(200, LawTransferOut, example={**LAW_TRANSFER_EXAMPLE, "notice_state": "queued"})
def notify_law_transfer_api(law_transfer_id: int) -> Any:
    """Queue the notice to the client with the proof (SHA-256 and download path); `flask notices send` sends
    it and the sent e-mail answers the clause 10(2)(b) event. Refused when the law forbids telling the client."""
    row = _law_transfer(law_transfer_id)
    try:
        queue_law_notice(current(), row)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return law_transfer_out(row)
