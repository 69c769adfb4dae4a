"""The end-of-contract workflow page (clause 13): tasks, retention exceptions, the certificate. Staff act; the
client's users and its auditors read it and download the certificate and the proofs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from dpa_tracker.deletion.forms import CompleteTaskForm, ExceptionForm
from dpa_tracker.deletion.services import (
    CompletionInput,
    ExceptionInput,
    add_exception,
    complete_task,
    issue_certificate,
    workflow_of,
)
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.download import send_stored_file
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, DeletionTask, DeletionWorkflow
from dpa_tracker.models.deletion import TASK_TITLES
from dpa_tracker.obligation.services import today
from dpa_tracker.permissions import require_login, staff_only, visible_or_404
from dpa_tracker.web import run_action

bp = Blueprint("deletion", __name__)
require_login(bp)


def _agreement(agreement_id: int) -> Agreement:
    return visible_or_404(current_user, db.session.get(Agreement, agreement_id), lambda a: [a.client_id])


def _workflow(agreement: Agreement) -> DeletionWorkflow:
    workflow = workflow_of(agreement.id)
    if workflow is None:
        abort(404, description="This agreement's end has not been recorded: there is no deletion workflow.")
    return workflow


def _page(agreement: Agreement, status: int = 200, **forms: Any) -> Any:
    workflow = _workflow(agreement)
    return (
        render_template(
            "deletion/workflow.html",
            agreement=agreement,
            workflow=workflow,
            task_titles=TASK_TITLES,
            today=today(),
            open_tasks=[t for t in workflow.tasks if t.completion is None],
            exception_form=forms.get("exception_form") or ExceptionForm(prefix="exc"),
            task_forms={
                t.id: forms.get(f"task_form_{t.id}") or CompleteTaskForm(prefix=f"task{t.id}") for t in workflow.tasks
            },
        ),
        status,
    )


@bp.route("/agreements/<int:agreement_id>/deletion")
def workflow(agreement_id: int) -> Any:
    return _page(_agreement(agreement_id))


@bp.route("/agreements/<int:agreement_id>/deletion/exceptions", methods=["POST"])
@staff_only
def add_exception_page(agreement_id: int) -> Any:
    agreement = _agreement(agreement_id)
    form = ExceptionForm(prefix="exc")
    if form.validate_on_submit():
        workflow = _workflow(agreement)
        data = ExceptionInput(form.what.data or "", form.legal_basis.data or "", form.until_on.data)
        added = run_action(
            form,
            lambda: add_exception(current_user, workflow, data),
            "Retention exception recorded; it will be listed on the certificate.",
        )
        if added is not None:
            return redirect(url_for("deletion.workflow", agreement_id=agreement.id))
    return _page(agreement, 422, exception_form=form)


@bp.route("/deletion-tasks/<int:task_id>/complete", methods=["POST"])
@staff_only
def complete(task_id: int) -> Any:
    task = db.get_or_404(DeletionTask, task_id)
    agreement = _agreement(task.workflow.agreement_id)
    form = CompleteTaskForm(prefix=f"task{task.id}")
    if form.validate_on_submit():
        upload = form.file.data
        data = CompletionInput(form.done_on.data, form.done_by.data or "", form.method.data or "")
        proof = Upload(upload.stream, upload.filename) if upload and upload.filename else None
        completion = run_action(
            form, lambda: complete_task(current_user, task, data, proof), f"Task done: {task.place}."
        )
        if completion is not None:
            return redirect(url_for("deletion.workflow", agreement_id=agreement.id, _anchor=f"task-{task.id}"))
    return _page(agreement, 422, **{f"task_form_{task.id}": form})


@bp.route("/agreements/<int:agreement_id>/deletion/certificate", methods=["POST"])
@staff_only
def issue(agreement_id: int) -> Response:
    agreement = _agreement(agreement_id)
    try:
        certificate = issue_certificate(current_user, _workflow(agreement))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"Deletion certificate issued (SHA-256 {certificate.sha256}).", "success")
    return redirect(url_for("deletion.workflow", agreement_id=agreement.id))


@bp.route("/agreements/<int:agreement_id>/deletion/certificate.pdf")
def certificate_pdf(agreement_id: int) -> Response:
    """The certificate as issued (client users of the tenant, its auditors, staff)."""
    agreement = _agreement(agreement_id)
    certificate = _workflow(agreement).certificate
    if certificate is None:
        abort(404, description="No deletion certificate has been issued yet.")
    response = Response(certificate.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="deletion-certificate-{agreement.reference}.pdf"'.replace("/", "-")
    )
    response.headers["X-Content-SHA256"] = certificate.sha256
    return response


@bp.route("/deletion-tasks/<int:task_id>/proof")
def proof(task_id: int) -> Response:
    task = db.get_or_404(DeletionTask, task_id)
    _agreement(task.workflow.agreement_id)
    completion = task.completion
    if completion is None or completion.sha256 is None:
        abort(404, description="This task has no proof file.")
    return send_stored_file(completion.sha256, completion.content_type, completion.filename or "proof")
