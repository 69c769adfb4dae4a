"""/api/v1 twins of the Art. 30(2) record's editing pages: processing activities, their transfers, the
security measure library, and the supporting documents of a transfer or a measure. Each calls the page's
own service (record.services)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from dpa_tracker.api.common import blp, checked_first, current, fail, refused, require_write, visible
from dpa_tracker.api.documents import DocumentFile, DocumentForm, DocumentOut, document_example, store_document
from dpa_tracker.api.schemas import ID_RANGE, Line, StrictSchema, Text
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Client,
    DocumentKind,
    MeasureHeading,
    ProcessingActivity,
    ProcessingCategory,
    SecurityMeasure,
    Transfer,
    TransferMechanism,
)
from dpa_tracker.record.services import (
    ActivityInput,
    MeasureInput,
    TransferInput,
    add_transfer,
    create_activity,
    create_measure,
    update_activity,
)

# --- schemas ---------------------------------------------------------------------------------


class LocationIn(StrictSchema):
    country = fields.String(
        required=True,
        validate=validate.Regexp("^[A-Za-z]{2}$"),
        metadata={"description": "ISO 3166-1 alpha-2 code, e.g. DZ"},
    )
    site = Line(load_default="", validate=validate.Length(max=200))


def _lines(label: str, defaults: dict[str, Any]) -> fields.List:
    return fields.List(
        Line(validate=validate.Length(min=1, max=500), metadata={"label": label}),
        validate=validate.Length(max=200),
        metadata={"description": f"{label}, one entry per item"},
        **defaults,
    )


def _activity_fields(*, create: bool) -> dict[str, fields.Field]:
    """The activity's fields; on create the missing ones are empty, on PATCH they keep their value."""
    empty_list: dict[str, Any] = {"load_default": list} if create else {}
    empty_text: dict[str, Any] = {"load_default": ""} if create else {}
    return {
        "name": Line(required=create, validate=validate.Length(min=1, max=200)),
        "processing_categories": fields.List(
            fields.String(validate=validate.OneOf([c.value for c in ProcessingCategory])),
            validate=validate.Length(max=len(ProcessingCategory)),
            metadata={"description": "Art. 30(2)(b): categories of processing carried out for the client"},
            **empty_list,
        ),
        "data_subject_categories": _lines("Categories of data subjects", empty_list),
        "personal_data_categories": _lines("Categories of personal data", empty_list),
        "special_categories": _lines("Special categories of data (Art. 9)", empty_list),
        "purposes": Text(
            validate=validate.Length(max=4000), metadata={"description": "As instructed by the client"}, **empty_text
        ),
        "retention": Text(validate=validate.Length(max=4000), **empty_text),
        "locations": fields.List(fields.Nested(LocationIn), validate=validate.Length(max=100), **empty_list),
        "measure_ids": fields.List(
            fields.Integer(strict=True, validate=ID_RANGE),
            validate=validate.Length(max=1000),
            metadata={"description": "Security measures (ids of the measure library)"},
            **empty_list,
        ),
        "subprocessor_ids": fields.List(
            fields.Integer(strict=True, validate=ID_RANGE),
            validate=validate.Length(max=1000),
            metadata={"description": "Sub-processors involved (ids of the catalogue)"},
            **empty_list,
        ),
    }


ActivityIn: type[Schema] = StrictSchema.from_dict(_activity_fields(create=True), name="ActivityIn")
ActivityPatchIn: type[Schema] = StrictSchema.from_dict(_activity_fields(create=False), name="ActivityPatchIn")

ACTIVITY_EXAMPLE_IN = {
    "name": "Web hosting",
    "processing_categories": ["hosting", "storage"],
    "data_subject_categories": ["Shop customers"],
    "personal_data_categories": ["Contact details", "Order history"],
    "purposes": "Host the client's online shop",
    "retention": "Deleted 30 days after the end of the agreement",
    "locations": [{"country": "DZ", "site": "Alger data centre"}],
    "measure_ids": [4],
    "subprocessor_ids": [2],
}


class ActivityOut(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    name = fields.String()
    processing_categories = fields.List(fields.String())
    data_subject_categories = fields.List(fields.String())
    personal_data_categories = fields.List(fields.String())
    special_categories = fields.List(fields.String())
    purposes = fields.String()
    retention = fields.String()
    locations = fields.List(fields.Dict())
    measure_ids = fields.Function(
        lambda a: sorted(m.id for m in a.measures), metadata={"type": "array", "items": {"type": "integer"}}
    )
    subprocessor_ids = fields.Function(
        lambda a: sorted(s.id for s in a.subprocessors), metadata={"type": "array", "items": {"type": "integer"}}
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    archived_at = fields.DateTime(allow_none=True)


ACTIVITY_EXAMPLE_OUT = {
    "id": 7,
    "client_id": 3,
    **ACTIVITY_EXAMPLE_IN,
    "special_categories": [],
    "created_at": "2026-03-01T09:00:00+00:00",
    "updated_at": "2026-03-01T09:00:00+00:00",
    "archived_at": None,
}


class TransferIn(StrictSchema):
    destination = Line(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Country code, or the international organisation's name"},
    )
    is_international_organisation = fields.Boolean(load_default=False)
    recipient = Line(required=True, validate=validate.Length(min=1, max=200))
    mechanism = fields.String(
        required=True,
        validate=validate.OneOf([m.value for m in TransferMechanism]),
        metadata={"description": "Art. 30(2)(c), Chapter V: the transfer mechanism"},
    )
    mechanism_detail = Text(load_default="", validate=validate.Length(max=4000))


class TransferOut(Schema):
    id = fields.Integer()
    activity_id = fields.Integer()
    destination = fields.String()
    is_international_organisation = fields.Boolean()
    recipient = fields.String()
    mechanism = fields.Function(lambda t: t.mechanism.value)
    mechanism_detail = fields.String()
    created_at = fields.DateTime()


class MeasureIn(StrictSchema):
    heading = fields.String(
        required=True,
        validate=validate.OneOf([h.value for h in MeasureHeading]),
        metadata={"description": "The Art. 32(1) heading the measure falls under"},
    )
    title = Line(required=True, validate=validate.Length(min=1, max=200))
    description = Text(required=True, validate=validate.Length(min=1, max=10000))


class MeasureOut(Schema):
    id = fields.Integer()
    heading = fields.Function(lambda m: m.heading.value)
    title = fields.String()
    description = fields.String()
    created_at = fields.DateTime()


# --- checks ----------------------------------------------------------------------------------


def writable_client(client_id: int) -> None:
    visible(Client, client_id, lambda c: c.id)
    require_write()


def writable_activity(activity_id: int) -> None:
    visible(ProcessingActivity, activity_id, lambda a: a.client_id)
    require_write()


def writable_transfer(transfer_id: int) -> None:
    visible(Transfer, transfer_id, lambda t: t.activity.client_id)
    require_write()


def writable_measure(measure_id: int) -> None:
    require_write()  # the measure library is the processor's: no tenant to check, staff only
    if db.session.get(SecurityMeasure, measure_id) is None:
        fail(404, f"No security measure with id {measure_id}.")


# --- endpoints -------------------------------------------------------------------------------


@blp.route("/clients/<int:client_id>/activities", methods=["POST"])
@checked_first(writable_client)
@blp.arguments(ActivityIn, example=ACTIVITY_EXAMPLE_IN)
@blp.response(201, ActivityOut, example=ACTIVITY_EXAMPLE_OUT)
def create_activity_api(data: dict[str, Any], client_id: int) -> Any:
    """Add a processing activity to the client's Art. 30(2) record (staff only; audited). Clause 4.1 is
    re-assessed for the client's agreements."""
    client = db.session.get_one(Client, client_id)  # visibility and role: writable_client
    try:
        activity = create_activity(current(), client, ActivityInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return activity


@blp.route("/activities/<int:activity_id>", methods=["PATCH"])
@checked_first(writable_activity)
@blp.arguments(ActivityPatchIn, example={"retention": "Deleted 10 days after the end of the agreement"})
@blp.response(200, ActivityOut, example=ACTIVITY_EXAMPLE_OUT)
def update_activity_api(data: dict[str, Any], activity_id: int) -> Any:
    """Change a processing activity (staff only; audited); a field left out keeps its value, a list sent
    replaces the list."""
    activity = db.session.get_one(ProcessingActivity, activity_id)  # visibility and role: writable_activity
    now = {
        "name": activity.name,
        "processing_categories": list(activity.processing_categories),
        "data_subject_categories": list(activity.data_subject_categories),
        "personal_data_categories": list(activity.personal_data_categories),
        "special_categories": list(activity.special_categories),
        "purposes": activity.purposes,
        "retention": activity.retention,
        "locations": [dict(loc) for loc in activity.locations],
        "measure_ids": [m.id for m in activity.measures],
        "subprocessor_ids": [s.id for s in activity.subprocessors],
    }
    try:
        update_activity(current(), activity, ActivityInput(**{**now, **data}))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return activity


@blp.route("/activities/<int:activity_id>/transfers", methods=["POST"])
@checked_first(writable_activity)
@blp.arguments(
    TransferIn,
    example={
        "destination": "TN",
        "recipient": "Support desk, Tunis",
        "mechanism": "standard_contractual_clauses",
        "mechanism_detail": "2021 clauses, module 3",
    },
)
@blp.response(
    201,
    TransferOut,
    example={
        "id": 5,
        "activity_id": 7,
        "destination": "TN",
        "is_international_organisation": False,
        "recipient": "Support desk, Tunis",
        "mechanism": "standard_contractual_clauses",
        "mechanism_detail": "2021 clauses, module 3",
        "created_at": "2026-03-01T09:00:00+00:00",
    },
)
def add_transfer_api(data: dict[str, Any], activity_id: int) -> Any:
    """Record a transfer of the activity's data to a third country or an international organisation
    (staff only; audited)."""
    activity = db.session.get_one(ProcessingActivity, activity_id)  # visibility and role: writable_activity
    try:
        transfer = add_transfer(current(), activity, TransferInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return transfer


@blp.route("/measures", methods=["POST"])
@checked_first(require_write)
@blp.arguments(
    MeasureIn,
    example={
        "heading": "d_regular_testing",
        "title": "Yearly external penetration test",
        "description": "An external firm tests the platform every year.",
    },
)
@blp.response(
    201,
    MeasureOut,
    example={
        "id": 4,
        "heading": "d_regular_testing",
        "title": "Yearly external penetration test",
        "description": "An external firm tests the platform every year.",
        "created_at": "2026-03-01T09:00:00+00:00",
    },
)
def create_measure_api(data: dict[str, Any]) -> Any:
    """Add a security measure (Art. 32(1)) to the processor's library (staff only; audited)."""
    try:
        measure = create_measure(current(), MeasureInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return measure


@blp.route("/transfers/<int:transfer_id>/documents", methods=["POST"])
@checked_first(writable_transfer)
@blp.arguments(DocumentForm, location="form")
@blp.arguments(DocumentFile, location="files")
@blp.response(201, DocumentOut, example=document_example("transfer_safeguards", "transfer_id", 5))
def add_transfer_document_api(form: dict[str, Any], files: dict[str, Any], transfer_id: int) -> Any:
    """Upload the safeguards of a transfer (multipart: `file`, optional `note` and `valid_until`; staff only;
    audited). The file is stored once by its SHA-256."""
    transfer = db.session.get_one(Transfer, transfer_id)  # visibility and role: writable_transfer
    return store_document(transfer, DocumentKind.SAFEGUARDS, form)


@blp.route("/measures/<int:measure_id>/documents", methods=["POST"])
@checked_first(writable_measure)
@blp.arguments(DocumentForm, location="form")
@blp.arguments(DocumentFile, location="files")
@blp.response(201, DocumentOut, example=document_example("measure_evidence", "measure_id", 4))
def add_measure_document_api(form: dict[str, Any], files: dict[str, Any], measure_id: int) -> Any:
    """Upload a document showing a security measure (multipart: `file`, optional `note` and `valid_until`;
    staff only; audited)."""
    measure = db.session.get_one(SecurityMeasure, measure_id)  # role and existence: writable_measure
    return store_document(measure, DocumentKind.MEASURE, form)
