"""The auditor's checklist: page, PDF and evidence bundle (read-only), and comments on an obligation."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from dpa_tracker.checklist.forms import CommentForm
from dpa_tracker.checklist.services import (
    Checklist,
    agreement_checklist,
    bundle_files,
    can_comment,
    checklist_data,
    client_checklist,
)
from dpa_tracker.checklist.services import add_comment as add_comment_service
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Client, Obligation
from dpa_tracker.obligation.services import today
from dpa_tracker.permissions import ensure_client_visible, require_login
from dpa_tracker.reports.bundle import stream_bundle
from dpa_tracker.reports.checklist_pdf import render_checklist_pdf
from dpa_tracker.web import as_of_from_request

bp = Blueprint("checklist", __name__)
require_login(bp)


def _for_agreement(agreement_id: int) -> Checklist:
    agreement = db.get_or_404(Agreement, agreement_id)
    ensure_client_visible(current_user, agreement.client_id)
    return agreement_checklist(agreement, as_of_from_request() or today())


def _for_client(client_id: int) -> Checklist:
    client = db.get_or_404(Client, client_id)
    ensure_client_visible(current_user, client.id)
    return client_checklist(client, as_of_from_request() or today())


def _page(checklist: Checklist, agreement: Agreement | None) -> str:
    return render_template(
        "checklist/show.html",
        checklist=checklist,
        agreement=agreement,
        comment_form=CommentForm(prefix="comment"),
        may_comment=can_comment(current_user, checklist.client_id),
        past=checklist.as_of != today(),
    )


def _file_name(checklist: Checklist, suffix: str) -> str:
    scope = (
        f"agreement-{checklist.agreements[0].id}" if checklist.scope == "agreement" else f"client-{checklist.client_id}"
    )
    return f"checklist-{scope}-{checklist.as_of}.{suffix}"


def _pdf(checklist: Checklist) -> Response:
    response = Response(render_checklist_pdf(checklist_data(checklist)), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{_file_name(checklist, "pdf")}"'
    return response


def _bundle(checklist: Checklist) -> Response:
    try:
        files = bundle_files(checklist, evidence_store())
    except DomainError as error:
        abort(error.status_code, description=error.message)
    data = checklist_data(checklist)
    pdf = render_checklist_pdf(data)
    body = stream_bundle(
        checklist_pdf=pdf, files=files, checklist=data, subject=checklist.subject, generated_at=checklist.generated_at
    )
    response = Response(body, mimetype="application/zip", direct_passthrough=True)
    response.headers["Content-Disposition"] = f'attachment; filename="{_file_name(checklist, "zip")}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/agreements/<int:agreement_id>/checklist")
def agreement_page(agreement_id: int) -> str:
    checklist = _for_agreement(agreement_id)
    return _page(checklist, db.session.get(Agreement, agreement_id))


@bp.route("/agreements/<int:agreement_id>/checklist.pdf")
def agreement_pdf(agreement_id: int) -> Response:
    return _pdf(_for_agreement(agreement_id))


@bp.route("/agreements/<int:agreement_id>/checklist.zip")
def agreement_bundle(agreement_id: int) -> Response:
    return _bundle(_for_agreement(agreement_id))


@bp.route("/clients/<int:client_id>/checklist")
def client_page(client_id: int) -> str:
    return _page(_for_client(client_id), None)


@bp.route("/clients/<int:client_id>/checklist.pdf")
def client_pdf(client_id: int) -> Response:
    return _pdf(_for_client(client_id))


@bp.route("/clients/<int:client_id>/checklist.zip")
def client_bundle(client_id: int) -> Response:
    return _bundle(_for_client(client_id))


@bp.route("/obligations/<int:obligation_id>/comments", methods=["POST"])
def add_comment(obligation_id: int) -> Response:
    obligation = db.get_or_404(Obligation, obligation_id)
    ensure_client_visible(current_user, obligation.agreement.client_id)
    if not can_comment(current_user, obligation.agreement.client_id):
        abort(403)
    form = CommentForm(prefix="comment")
    target = url_for("checklist.agreement_page", agreement_id=obligation.agreement_id, _anchor=f"o-{obligation.id}")
    if not form.validate_on_submit():
        errors = [e for errors in form.errors.values() for e in errors]
        flash("The comment was not kept: " + (" ".join(str(e) for e in errors) or "write it."), "error")
        return redirect(target)
    try:
        add_comment_service(current_user, obligation, form.body.data or "")
    except DomainError as error:
        db.session.rollback()
        flash(f"The comment was not kept: {error.message}", "error")
        return redirect(target)
    db.session.commit()
    flash("Comment kept.", "success")
    return redirect(target)
