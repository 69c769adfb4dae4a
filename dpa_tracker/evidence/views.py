"""Evidence download (hash checked) and withdrawal."""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, current_app, flash, redirect, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.download import safe_download
from dpa_tracker.evidence.services import evidence_store, withdraw_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import Evidence
from dpa_tracker.obligation.forms import WithdrawForm
from dpa_tracker.permissions import ensure_client_visible, require_login, staff_only

bp = Blueprint("evidence", __name__, url_prefix="/evidence")
require_login(bp)


def load_visible_evidence(evidence_id: int) -> Evidence:
    evidence = db.get_or_404(Evidence, evidence_id)
    ensure_client_visible(current_user, evidence.obligation.agreement.client_id)
    return evidence


def send_evidence_file(evidence: Evidence) -> Response:
    if evidence.sha256 is None:
        abort(404, description="This evidence has no file.")
    return send_stored_file(evidence.sha256, evidence.content_type, evidence.filename or f"evidence-{evidence.id}")


def send_stored_file(sha256: str, content_type: str | None, filename: str) -> Response:
    """Send a stored file as an attachment after checking it still matches its hash."""
    store = evidence_store()
    if not store.exists(sha256):
        current_app.logger.error("evidence file %s is missing", sha256)
        abort(410, description="The stored file is missing; run `evidence verify` and restore it from backup.")
    digest = hashlib.sha256()
    with store.open(sha256) as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        current_app.logger.error("evidence file %s was altered", sha256)
        abort(409, description="The stored file no longer matches its recorded hash; it will not be served.")
    download_name, mimetype = safe_download(filename, content_type)
    response = send_file(store.path_for(sha256), mimetype=mimetype,
                         as_attachment=True, download_name=download_name, conditional=False, etag=sha256)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/<int:evidence_id>/download")
def download(evidence_id: int) -> Response:
    return send_evidence_file(load_visible_evidence(evidence_id))


@bp.route("/<int:evidence_id>/withdraw", methods=["POST"])
@staff_only
def withdraw(evidence_id: int) -> Response:
    evidence = load_visible_evidence(evidence_id)
    form = WithdrawForm(prefix=f"withdraw-{evidence.id}")
    if not form.validate_on_submit():
        flash("Say why the evidence is withdrawn.", "error")
    else:
        try:
            withdraw_evidence(current_user, evidence, form.reason.data or "")
        except DomainError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(f"Evidence #{evidence.id} withdrawn; it stays in the history.", "success")
    return redirect(url_for("obligation.detail", obligation_id=evidence.obligation_id))
