"""The supporting-document upload shared by the record and sub-processor catalogue twins: its multipart
schemas and one helper that stores the file through the pages' service (record.services.add_document)."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields, validate

from dpa_tracker import dates
from dpa_tracker.api.common import current, fail, refused
from dpa_tracker.api.schemas import Line, StrictSchema
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.models import DocumentKind, SecurityMeasure, SubProcessor, SupportingDocument, Transfer
from dpa_tracker.record.services import add_document


class DocumentForm(StrictSchema):
    note = Line(load_default="", validate=validate.Length(max=2000))
    valid_until = dates.Date(load_default=None, metadata={"description": "Until when the document holds (optional)"})


class DocumentFile(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class DocumentOut(Schema):
    id = fields.Integer()
    kind = fields.Function(lambda d: d.kind.value)
    transfer_id = fields.Integer(allow_none=True)
    measure_id = fields.Integer(allow_none=True)
    subprocessor_id = fields.Integer(allow_none=True)
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    note = fields.String()
    valid_until = fields.Date(allow_none=True)
    added_at = fields.DateTime()
    added_by = fields.Function(lambda d: d.added_by.email if d.added_by else None)


def document_example(kind: str, owner: str, owner_id: int) -> dict[str, Any]:
    return {
        "id": 31,
        "kind": kind,
        "transfer_id": None,
        "measure_id": None,
        "subprocessor_id": None,
        owner: owner_id,
        "filename": "scc-2026.pdf",
        "content_type": "application/pdf",
        "size": 183204,
        "sha256": "9f2c4e0b5d0a6c1b8e7f3a2d4c6b8a0e1f3d5c7b9a1e3f5d7c9b1a3e5f7d9c1b",
        "note": "Signed 2026 clauses",
        "valid_until": "2027-12-31",
        "added_at": "2026-03-01T09:00:00+00:00",
        "added_by": "karim@altinsoft.example",
    }


def store_document(
    owner: Transfer | SecurityMeasure | SubProcessor, kind: DocumentKind, form: dict[str, Any]
) -> SupportingDocument:
    """Store the uploaded ``file`` as a supporting document through the page's service, and commit."""
    file = request.files.get("file")
    if file is None or not file.filename:
        fail(422, "Choose a file to upload.", "file")
    try:
        document = add_document(
            current(),
            owner,
            kind,
            Upload(file.stream, file.filename),
            note=form["note"],
            valid_until=form["valid_until"],
        )
    except DomainError as error:
        refused(error)
    db.session.commit()
    return document
