"""/api/v1 twins of the sub-processor catalogue pages (clause 6): add a sub-processor, authorise it for an
agreement, upload its guarantees or flow-down contract, propose a change notice to clients. The catalogue
is the processor's: staff change it, everyone else is refused (403). Each calls the page's own service."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields, validate

from dpa_tracker import dates
from dpa_tracker.api.common import blp, checked_first, current, fail, refused, require_write
from dpa_tracker.api.documents import DocumentFile, DocumentOut, document_example, store_document
from dpa_tracker.api.schemas import ID_RANGE, Line, QueryInteger, StrictSchema, Text
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, ChangeKind, ChangeNotice, DocumentKind, SubProcessor, TransferMechanism
from dpa_tracker.subprocessor.notices import propose_change
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor

SUBPROCESSOR_KINDS = (DocumentKind.GUARANTEE.value, DocumentKind.FLOW_DOWN.value)


class SubProcessorIn(StrictSchema):
    legal_name = Line(required=True, validate=validate.Length(min=1, max=200))
    country = fields.String(
        required=True,
        validate=validate.Regexp("^[A-Za-z]{2}$"),
        metadata={"description": "ISO 3166-1 alpha-2 code of its seat, e.g. DE"},
    )
    service = Line(required=True, validate=validate.Length(min=1, max=200))
    data_categories = fields.List(
        Line(validate=validate.Length(min=1, max=500), metadata={"label": "Data category"}),
        load_default=list,
        validate=validate.Length(max=200),
    )
    locations = fields.List(
        Line(validate=validate.Length(min=1, max=500), metadata={"label": "Location"}),
        load_default=list,
        validate=validate.Length(max=200),
    )
    transfer_mechanism = fields.String(
        load_default="",
        validate=validate.OneOf(["", *(m.value for m in TransferMechanism)]),
        metadata={"description": "Chapter V mechanism when its data leaves the country; empty: no transfer"},
    )
    contact_email = fields.Email(load_default="", validate=validate.Length(max=254))
    dpo_name = Line(load_default="", validate=validate.Length(max=200))
    dpo_email = fields.Email(load_default="", validate=validate.Length(max=254))


class SubProcessorOut(Schema):
    id = fields.Integer()
    legal_name = fields.String()
    country = fields.String()
    service = fields.String()
    data_categories = fields.List(fields.String())
    locations = fields.List(fields.String())
    transfer_mechanism = fields.Function(lambda s: s.transfer_mechanism.value if s.transfer_mechanism else "")
    contact_email = fields.String()
    dpo_name = fields.String()
    dpo_email = fields.String()
    created_at = fields.DateTime()


class AuthoriseForm(StrictSchema):
    agreement_id = QueryInteger(required=True, validate=ID_RANGE)
    since_on = dates.Date(required=True, metadata={"description": "Authorised since (not before the signature)"})


class AuthoriseFile(Schema):
    written = fields.Raw(
        metadata={
            "type": "string",
            "format": "binary",
            "description": "The client's written authorisation, kept as clause 6.1 evidence; required when the "
            "agreement asks for specific authorisation",
        }
    )


class AuthorisationOut(Schema):
    id = fields.Integer()
    agreement_id = fields.Integer()
    subprocessor_id = fields.Integer()
    since_on = fields.Date()
    until_on = fields.Date(allow_none=True)
    created_at = fields.DateTime()


class SubProcessorDocumentForm(StrictSchema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(SUBPROCESSOR_KINDS),
        metadata={"description": "Clause 6.2 guarantees (questionnaire, certificate, audit report) or 6.3 contract"},
    )
    note = Line(load_default="", validate=validate.Length(max=2000))
    valid_until = dates.Date(load_default=None, metadata={"description": "Until when the document holds (optional)"})


class NoticeIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ChangeKind]))
    subprocessor_id = fields.Integer(
        required=True,
        strict=True,
        validate=ID_RANGE,
        metadata={"description": "The sub-processor added, or the one removed"},
    )
    replaces_id = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=ID_RANGE,
        metadata={"description": "For a replacement (only): the sub-processor replaced"},
    )
    agreement_ids = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE),
        required=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "The active agreements whose clients are notified"},
    )
    reason = Text(required=True, validate=validate.Length(min=1, max=4000), metadata={"description": "Clients see it"})
    corrects_id = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=ID_RANGE,
        metadata={"description": "The earlier notice this one corrects"},
    )


class NoticeRecipientOut(Schema):
    id = fields.Integer(metadata={"description": "The client's copy of the notice (it answers with this id)"})
    agreement_id = fields.Integer()
    objection_deadline = fields.Date()
    queued_emails = fields.Function(lambda r: len(r.deliveries))


class ChangeNoticeOut(Schema):
    id = fields.Integer()
    kind = fields.Function(lambda n: n.kind.value)
    subprocessor_id = fields.Integer()
    replaces_id = fields.Integer(allow_none=True)
    reason = fields.String()
    corrects_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    recipients = fields.List(fields.Nested(NoticeRecipientOut))


def staff_subprocessor(subprocessor_id: int) -> None:
    require_write()  # the catalogue is the processor's: no tenant to check, staff only
    if db.session.get(SubProcessor, subprocessor_id) is None:
        fail(404, f"No sub-processor with id {subprocessor_id}.")


def _get(model: Any, object_id: int | None, field: str) -> Any:
    """An object named by id in the body: unknown ids are bad input (422 naming the field)."""
    if object_id is None:
        return None
    found = db.session.get(model, object_id)
    if found is None:
        fail(422, f"No {model.__name__.lower()} with id {object_id}.", field)
    return found


@blp.route("/subprocessors", methods=["POST"])
@checked_first(require_write)
@blp.arguments(
    SubProcessorIn,
    example={
        "legal_name": "Backup GmbH",
        "country": "DE",
        "service": "Off-site backups",
        "data_categories": ["Customer records"],
        "locations": ["Frankfurt"],
        "transfer_mechanism": "",
        "contact_email": "privacy@backup.example",
    },
)
@blp.response(
    201,
    SubProcessorOut,
    example={
        "id": 2,
        "legal_name": "Backup GmbH",
        "country": "DE",
        "service": "Off-site backups",
        "data_categories": ["Customer records"],
        "locations": ["Frankfurt"],
        "transfer_mechanism": "",
        "contact_email": "privacy@backup.example",
        "dpo_name": "",
        "dpo_email": "",
        "created_at": "2026-03-01T09:00:00+00:00",
    },
)
def create_subprocessor_api(data: dict[str, Any]) -> Any:
    """Add a sub-processor to the processor's catalogue (staff only; audited)."""
    try:
        sub = create_subprocessor(current(), SubProcessorInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return sub


@blp.route("/subprocessors/<int:subprocessor_id>/authorisations", methods=["POST"])
@checked_first(staff_subprocessor)
@blp.arguments(AuthoriseForm, location="form")
@blp.arguments(AuthoriseFile, location="files")
@blp.response(
    201,
    AuthorisationOut,
    example={
        "id": 14,
        "agreement_id": 9,
        "subprocessor_id": 2,
        "since_on": "2026-02-01",
        "until_on": None,
        "created_at": "2026-03-01T09:00:00+00:00",
    },
)
def authorise_subprocessor_api(form: dict[str, Any], files: dict[str, Any], subprocessor_id: int) -> Any:
    """Record that the client authorised this sub-processor for an active agreement (clause 6.1; staff only;
    audited). Multipart: `agreement_id`, `since_on`, and `written`, the client's written authorisation,
    required under a specific authorisation and kept as the agreement's clause 6.1 evidence."""
    sub = db.session.get_one(SubProcessor, subprocessor_id)  # role and existence: staff_subprocessor
    agreement = _get(Agreement, form["agreement_id"], "agreement_id")
    file = request.files.get("written")
    written = Upload(file.stream, file.filename) if file is not None and file.filename else None
    try:
        authorisation = authorise(current(), agreement, sub, form["since_on"], written)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return authorisation


@blp.route("/subprocessors/<int:subprocessor_id>/documents", methods=["POST"])
@checked_first(staff_subprocessor)
@blp.arguments(SubProcessorDocumentForm, location="form")
@blp.arguments(DocumentFile, location="files")
@blp.response(201, DocumentOut, example=document_example("subprocessor_guarantee", "subprocessor_id", 2))
def add_subprocessor_document_api(form: dict[str, Any], files: dict[str, Any], subprocessor_id: int) -> Any:
    """Upload a sub-processor's guarantees (clause 6.2) or flow-down contract (clause 6.3); multipart: `kind`,
    `file`, optional `note` and `valid_until` (staff only; audited). Clauses 6.2/6.3 are re-assessed for every
    agreement that authorises it."""
    sub = db.session.get_one(SubProcessor, subprocessor_id)  # role and existence: staff_subprocessor
    return store_document(sub, DocumentKind(form["kind"]), form)


@blp.route("/notices", methods=["POST"])
@checked_first(require_write)
@blp.arguments(
    NoticeIn,
    example={
        "kind": "add",
        "subprocessor_id": 2,
        "agreement_ids": [9, 11],
        "reason": "Off-site backups move to Backup GmbH (Frankfurt).",
    },
)
@blp.response(
    201,
    ChangeNoticeOut,
    example={
        "id": 21,
        "kind": "add",
        "subprocessor_id": 2,
        "replaces_id": None,
        "reason": "Off-site backups move to Backup GmbH (Frankfurt).",
        "corrects_id": None,
        "created_at": "2026-03-01T09:00:00+00:00",
        "recipients": [
            {"id": 40, "agreement_id": 9, "objection_deadline": "2026-03-31", "queued_emails": 2},
            {"id": 41, "agreement_id": 11, "objection_deadline": "2026-03-31", "queued_emails": 1},
        ],
    },
)
def propose_notice_api(data: dict[str, Any]) -> Any:
    """Propose a change of sub-processor (clause 6.1): one notice, a copy per agreement, e-mails queued for
    each client notice address (sent by the next `flask notices send`, never during the request; staff only;
    audited)."""
    sub = _get(SubProcessor, data["subprocessor_id"], "subprocessor_id")
    replaces = _get(SubProcessor, data["replaces_id"], "replaces_id")
    corrects = _get(ChangeNotice, data["corrects_id"], "corrects_id")
    agreements = [
        _get(Agreement, agreement_id, "agreement_ids") for agreement_id in dict.fromkeys(data["agreement_ids"])
    ]
    try:
        notice = propose_change(
            current(), ChangeKind(data["kind"]), sub, agreements, data["reason"], replaces=replaces, corrects=corrects
        )
    except DomainError as error:
        refused(error)
    db.session.commit()
    return notice
