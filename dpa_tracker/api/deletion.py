"""/api/v1 twins of the end-of-contract workflow (clause 13): read the workflow, list its tasks (paginated), add a
retention exception, complete a task (multipart, `file` required for a sub-processor's confirmation), issue the
deletion certificate and download it. Ending the agreement itself is `POST /agreements/{id}/end` (agreements.py).
Same role and tenant rules as the pages: staff act, the client's users and its auditors read."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from marshmallow import Schema, fields, validate

from dpa_tracker import dates
from dpa_tracker.api.common import blp, checked_first, current, fail, refused, require_write, visible
from dpa_tracker.api.paging import LINK_HEADER, Key, PageQuery, page_of, paginate
from dpa_tracker.api.schemas import Line, StrictSchema, Text
from dpa_tracker.deletion.services import (
    CompletionInput,
    ExceptionInput,
    add_exception,
    complete_task,
    issue_certificate,
    workflow_of,
)
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, DeletionTask, DeletionWorkflow
from dpa_tracker.obligation.services import today


class RetentionExceptionIn(StrictSchema):
    what = Text(required=True, validate=validate.Length(min=1, max=2000))
    legal_basis = Text(required=True, validate=validate.Length(min=1, max=2000))
    until_on = dates.Date(required=True, metadata={"description": "Kept until (after the end date)"})


class RetentionExceptionOut(Schema):
    id = fields.Integer()
    what = fields.String()
    legal_basis = fields.String()
    until_on = fields.Date()
    recorded_at = fields.AwareDateTime()


class TaskOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    kind = fields.Function(
        lambda t: t.kind.value,
        metadata={"description": "return, system, location, backups, subprocessor or agent_access"},
    )
    place = fields.String()
    subprocessor_id = fields.Integer(allow_none=True)
    agent_id = fields.Integer(allow_none=True)
    proof_required = fields.Boolean(metadata={"description": "A sub-processor's confirmation needs its document"})
    status = fields.Function(lambda t: "done" if t.completion else "open")
    done_on = fields.Function(lambda t: t.completion.done_on.isoformat() if t.completion else None)
    done_by = fields.Function(lambda t: t.completion.done_by if t.completion else None)
    method = fields.Function(lambda t: t.completion.method if t.completion else None)
    proof_filename = fields.Function(lambda t: t.completion.filename if t.completion else None)
    proof_sha256 = fields.Function(lambda t: t.completion.sha256 if t.completion else None)


class CertificateOut(Schema):
    sha256 = fields.String(metadata={"description": "SHA-256 of the PDF as issued"})
    size = fields.Integer()
    issued_at = fields.AwareDateTime()


class WorkflowOut(Schema):
    id = fields.Integer()
    agreement_id = fields.Integer()
    end_kind = fields.Function(lambda w: w.end_kind.value)
    ends_on = fields.Date()
    choice = fields.Function(lambda w: w.choice.value, metadata={"description": "delete or return_then_delete"})
    due_on = fields.Date(metadata={"description": "Deletion due: end date + the agreement's deletion_days"})
    days_left = fields.Function(lambda w: (w.due_on - today()).days, metadata={"description": "Negative: overdue"})
    open_tasks = fields.Function(lambda w: sum(1 for t in w.tasks if t.completion is None))
    tasks = fields.List(fields.Nested(TaskOut))
    exceptions = fields.List(fields.Nested(RetentionExceptionOut))
    certificate = fields.Nested(CertificateOut, allow_none=True)


class CompletionFormIn(StrictSchema):
    done_on = dates.Date(required=True, metadata={"description": "The day it was done (not before the end)"})
    done_by = Line(required=True, validate=validate.Length(min=1, max=200))
    method = Text(load_default="", validate=validate.Length(max=4000))


class ProofFile(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"})


def _workflow(agreement_id: int) -> DeletionWorkflow:
    visible(Agreement, agreement_id, lambda a: a.client_id)
    workflow = workflow_of(agreement_id)
    if workflow is None:
        fail(404, f"Agreement {agreement_id} has no deletion workflow (its end is not recorded).")
    return workflow


def writable_workflow(agreement_id: int) -> None:
    _workflow(agreement_id)
    require_write()


def writable_task(task_id: int) -> None:
    task = db.session.get(DeletionTask, task_id)
    if task is None:
        fail(404, f"No deletion task with id {task_id}.")
    visible(Agreement, task.workflow.agreement_id, lambda a: a.client_id)
    require_write()


@blp.route("/agreements/<int:agreement_id>/deletion", methods=["GET"])
@blp.response(200, WorkflowOut)
def get_deletion_workflow(agreement_id: int) -> Any:
    """The agreement's end-of-contract workflow: due date, days left, tasks, retention exceptions, certificate."""
    return _workflow(agreement_id)


@blp.route("/agreements/<int:agreement_id>/deletion/tasks", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(TaskOut), headers=LINK_HEADER)
def list_deletion_tasks(query: dict[str, Any], agreement_id: int) -> Any:
    """The workflow's deletion tasks in working order (paginated)."""
    workflow = _workflow(agreement_id)
    return paginate(
        db.select(DeletionTask).where(DeletionTask.workflow_id == workflow.id), [Key(DeletionTask.id)], query
    )


@blp.route("/agreements/<int:agreement_id>/deletion/exceptions", methods=["POST"])
@checked_first(writable_workflow)
@blp.arguments(
    RetentionExceptionIn,
    example={"what": "Invoices", "legal_basis": "Commercial code: 10 years", "until_on": "2036-12-31"},
)
@blp.response(201, WorkflowOut)
def add_retention_exception_api(data: dict[str, Any], agreement_id: int) -> Any:
    """Record a legal retention exception while the workflow is open (staff only); listed on the certificate."""
    workflow = _workflow(agreement_id)
    try:
        add_exception(current(), workflow, ExceptionInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return _workflow(agreement_id)


@blp.route("/deletion-tasks/<int:task_id>/complete", methods=["POST"])
@checked_first(writable_task)
@blp.arguments(CompletionFormIn, location="form")
@blp.arguments(ProofFile, location="files")
@blp.response(
    201,
    TaskOut,
    example={
        "id": 41,
        "position": 5,
        "kind": "subprocessor",
        "place": "Cloudy Backup GmbH",
        "subprocessor_id": 3,
        "agent_id": None,
        "proof_required": True,
        "status": "done",
        "done_on": "2026-07-04",
        "done_by": "Cloudy Backup GmbH, DPO",
        "method": "Written confirmation of deletion of every copy",
        "proof_filename": "cloudy-deletion.pdf",
        "proof_sha256": "9f2c8e1d4b7a6c5e3f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a",
    },
)
def complete_deletion_task_api(form: dict[str, Any], files: dict[str, Any], task_id: int) -> Any:
    """Record a task done (multipart: `done_on`, `done_by`, `method`, `file`): once, never edited; the proof file
    is required for a sub-processor's confirmation. Clause 13's status follows at once (staff only)."""
    task = db.get_or_404(DeletionTask, task_id)
    file = request.files.get("file")
    upload = Upload(file.stream, file.filename or "proof") if file is not None and file.filename else None
    try:
        complete_task(current(), task, CompletionInput(**form), upload)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return db.session.get_one(DeletionTask, task_id)


@blp.route("/agreements/<int:agreement_id>/deletion/certificate", methods=["POST"])
@checked_first(writable_workflow)
@blp.response(
    201,
    CertificateOut,
    example={
        "sha256": "3b1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c",
        "size": 4821,
        "issued_at": "2026-07-12T09:00:00+00:00",
    },
)
def issue_deletion_certificate_api(agreement_id: int) -> Any:
    """Issue the deletion certificate once every task is done (staff only); issuing twice is refused (409)."""
    workflow = _workflow(agreement_id)
    try:
        certificate = issue_certificate(current(), workflow)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return certificate


@blp.route("/agreements/<int:agreement_id>/deletion/certificate.pdf", methods=["GET"])
@blp.response(200, description="The certificate as issued (application/pdf), as an attachment")
def deletion_certificate_pdf_api(agreement_id: int) -> Response:
    """The deletion certificate PDF as issued; its SHA-256 is in the `X-Content-SHA256` header."""
    certificate = _workflow(agreement_id).certificate
    if certificate is None:
        fail(404, "No deletion certificate has been issued yet.")
    response = Response(certificate.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="deletion-certificate-{agreement_id}.pdf"'
    response.headers["X-Content-SHA256"] = certificate.sha256
    return response
