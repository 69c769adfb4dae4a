"""Evidence download (hash checked) and withdrawal."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.download import send_evidence_file
from dpa_tracker.evidence.services import withdraw_evidence
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
