"""The upload form of a supporting document, shared by the record and sub-processor pages."""

from __future__ import annotations

from flask import flash
from flask_login import current_user

from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.models import DocumentKind, SecurityMeasure, SubProcessor, Transfer
from dpa_tracker.record.forms import DocumentForm
from dpa_tracker.record.services import add_document


def upload_document(owner: Transfer | SecurityMeasure | SubProcessor, kind: DocumentKind) -> bool:
    """Store the posted document (prefix ``doc``), commit and flash the outcome; True when stored."""
    form = DocumentForm(prefix="doc")
    file = form.file.data if form.validate_on_submit() else None
    if file is None or not file.filename:
        flash("Choose a file to upload.", "error")
        return False
    try:
        add_document(
            current_user,
            owner,
            kind,
            Upload(file.stream, file.filename),
            note=form.note.data or "",
            valid_until=form.valid_until.data,
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return False
    db.session.commit()
    flash("Document stored.", "success")
    return True
