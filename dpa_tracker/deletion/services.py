"""Clause 13 (Art. 28(3)(g)): ending an agreement opens its end-of-contract workflow; its tasks are completed with
proof; retention exceptions are recorded; once every task is done the deletion certificate is issued. Services
flush and audit; the caller commits. Every row written here is a legal record (never edited, never deleted)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from dpa_tracker.agreement.services import end_agreement
from dpa_tracker.audit.services import record
from dpa_tracker.client.services import get_processor
from dpa_tracker.dates import check_date
from dpa_tracker.errors import Conflict, DomainError
from dpa_tracker.evidence.services import Upload, evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agent,
    AgentAssignment,
    Agreement,
    AgreementStatus,
    DeletionCertificate,
    DeletionTask,
    DeletionTaskCompletion,
    DeletionWorkflow,
    EndChoice,
    EndKind,
    ProcessingActivity,
    RetentionException,
    TaskKind,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.models.deletion import CHOICE_TITLES, TASK_TITLES
from dpa_tracker.models.subprocessor import Authorisation
from dpa_tracker.obligation.services import refresh_cache
from dpa_tracker.reports.deletion_certificate import render_deletion_certificate
from dpa_tracker.validation import check_lines, line


@dataclass(frozen=True)
class ExceptionInput:
    what: str
    legal_basis: str
    until_on: date | None


@dataclass(frozen=True)
class EndInput:
    ends_on: date | None
    end_kind: str = EndKind.TERMINATED.value
    choice: str = EndChoice.DELETE.value
    exceptions: Sequence[ExceptionInput] = field(default_factory=tuple)


@dataclass(frozen=True)
class CompletionInput:
    done_on: date | None
    done_by: str = line("Done by")
    method: str = ""


def workflow_of(agreement_id: int) -> DeletionWorkflow | None:
    return db.session.scalar(
        select(DeletionWorkflow)
        .where(DeletionWorkflow.agreement_id == agreement_id)
        .options(
            selectinload(DeletionWorkflow.tasks).selectinload(DeletionTask.completion),
            selectinload(DeletionWorkflow.exceptions),
            selectinload(DeletionWorkflow.certificate),
        )
    )


def _exception(data: ExceptionInput, ends_on: date) -> RetentionException:
    what, basis = data.what.strip(), data.legal_basis.strip()
    if not what:
        raise DomainError("Say which data is kept.", field="what")
    if not basis:
        raise DomainError("Give the legal basis that requires keeping it.", field="legal_basis")
    if len(what) > 2000 or len(basis) > 2000:
        raise DomainError("At most 2000 characters.", field="what" if len(what) > 2000 else "legal_basis")
    if data.until_on is None:
        raise DomainError("Give the date until which it is kept.", field="until_on")
    check_date(data.until_on, "until_on")
    if data.until_on <= ends_on:
        raise DomainError("A retention exception runs past the end of the agreement.", field="until_on")
    return RetentionException(what=what, legal_basis=basis, until_on=data.until_on)


def _place(text: str) -> str:
    return text if len(text) <= 300 else text[:299] + "…"


def _tasks(agreement: Agreement, ends_on: date, choice: EndChoice) -> list[DeletionTask]:
    """One task per place the client's data lives on the end date, in the order they are worked through."""
    tasks: list[DeletionTask] = []

    def add(kind: TaskKind, place: str, **extra: Any) -> None:
        tasks.append(DeletionTask(kind=kind, place=_place(place), position=len(tasks) + 1, **extra))

    if choice is EndChoice.RETURN_THEN_DELETE:
        add(TaskKind.RETURN, f"All personal data returned to {agreement.client.legal_name}")
    # The record: every site of the client's activities in the record on the end date.
    sites: dict[str, list[str]] = {}
    for activity in db.session.scalars(
        select(ProcessingActivity)
        .where(
            ProcessingActivity.client_id == agreement.client_id,
            or_(
                ProcessingActivity.archived_at.is_(None),
                ProcessingActivity.archived_at >= datetime.combine(ends_on, time(), tzinfo=UTC),
            ),
        )
        .order_by(ProcessingActivity.name)
    ):
        for held in activity.locations or [{}]:
            site = ", ".join(p for p in (held.get("site"), held.get("country")) if p) or "no site recorded"
            sites.setdefault(site, []).append(activity.name)
    for site, names in sites.items():
        add(TaskKind.SYSTEM, f"{site} (activities: {', '.join(names)})")
    for location in agreement.permitted_location_list:
        add(TaskKind.LOCATION, location)
    add(TaskKind.BACKUPS, "Backups")
    for authorisation in db.session.scalars(
        select(Authorisation)
        .where(
            Authorisation.agreement_id == agreement.id,
            Authorisation.since_on <= ends_on,
            or_(Authorisation.until_on.is_(None), Authorisation.until_on >= ends_on),
        )
        .options(selectinload(Authorisation.subprocessor))
        .order_by(Authorisation.id)
    ):
        sub = authorisation.subprocessor
        if any(t.subprocessor_id == sub.id for t in tasks):
            continue
        add(TaskKind.SUBPROCESSOR, sub.legal_name, subprocessor_id=sub.id, proof_required=True)
    agents = db.session.scalars(
        select(Agent)
        .join(AgentAssignment, AgentAssignment.agent_id == Agent.id)
        .where(AgentAssignment.agreement_id == agreement.id, AgentAssignment.since_on <= ends_on)
        .distinct()
        .order_by(Agent.name, Agent.id)
    ).all()
    for agent in agents:
        add(TaskKind.AGENT_ACCESS, f"{agent.name}: access to {agreement.client.legal_name}'s data", agent_id=agent.id)
    return tasks


def end_with_workflow(actor: User, agreement: Agreement, data: EndInput) -> DeletionWorkflow:
    """End the agreement on ``ends_on`` and open its clause 13 workflow: deletion due ``deletion_days`` later."""
    if data.ends_on is None:
        raise DomainError("Give the date the agreement ended.", field="ends_on")
    try:
        kind, choice = EndKind(data.end_kind), EndChoice(data.choice)
    except ValueError:
        raise DomainError("Choose how it ended and what the client chose.", field="choice") from None
    if agreement.status is AgreementStatus.DRAFT:
        raise DomainError("A draft agreement never took effect: nothing to end.")
    if agreement.status is AgreementStatus.TERMINATED:
        raise DomainError("This agreement has already ended.")
    if workflow_of(agreement.id) is not None:
        raise Conflict("This agreement's end is already recorded.")
    check_date(data.ends_on, "ends_on")
    exceptions = [_exception(e, data.ends_on) for e in data.exceptions]
    end_agreement(actor, agreement, data.ends_on)
    workflow = DeletionWorkflow(
        agreement_id=agreement.id,
        end_kind=kind,
        ends_on=data.ends_on,
        choice=choice,
        due_on=data.ends_on + timedelta(days=agreement.deletion_days),
        opened_by_id=actor.id,
    )
    workflow.tasks = _tasks(agreement, data.ends_on, choice)
    now = utcnow()
    for exception in exceptions:
        exception.recorded_at, exception.recorded_by_id = now, actor.id
    workflow.exceptions = exceptions
    db.session.add(workflow)
    db.session.flush()
    record(
        actor,
        "deletion.open",
        workflow,
        {
            "agreement_id": agreement.id,
            "end_kind": kind.value,
            "ends_on": data.ends_on,
            "choice": choice.value,
            "due_on": workflow.due_on,
            "tasks": [f"{t.kind.value}: {t.place}" for t in workflow.tasks],
            "exceptions": [{"what": e.what, "legal_basis": e.legal_basis, "until_on": e.until_on} for e in exceptions],
        },
        client_id=agreement.client_id,
    )
    refresh_cache(agreement.obligations)
    return workflow


def _open(workflow: DeletionWorkflow) -> None:
    if workflow.certificate is not None:
        raise Conflict("The deletion certificate is issued: the workflow is closed.")


def add_exception(actor: User, workflow: DeletionWorkflow, data: ExceptionInput) -> RetentionException:
    """A legal retention exception found later, while the workflow is open."""
    _open(workflow)
    exception = _exception(data, workflow.ends_on)
    exception.recorded_by_id = actor.id
    workflow.exceptions.append(exception)
    db.session.flush()
    record(
        actor,
        "deletion.exception",
        exception,
        {"what": exception.what, "legal_basis": exception.legal_basis, "until_on": exception.until_on},
        client_id=workflow.agreement.client_id,
    )
    return exception


def complete_task(
    actor: User, task: DeletionTask, data: CompletionInput, upload: Upload | None = None
) -> DeletionTaskCompletion:
    """Record a task done (once): on which day, by whom, how, with its proof (required from a sub-processor)."""
    check_lines(data)
    workflow = task.workflow
    _open(workflow)
    if task.completion is not None:
        raise Conflict("This task is already done.")
    if data.done_on is None:
        raise DomainError("Give the date it was done.", field="done_on")
    check_date(data.done_on, "done_on")
    if data.done_on > utcnow().date():
        raise DomainError("The date it was done cannot be in the future.", field="done_on")
    if data.done_on < workflow.ends_on:
        raise DomainError(
            f"It was done before the agreement ended ({workflow.ends_on}): clause 13 counts acts from the end.",
            field="done_on",
        )
    done_by = data.done_by.strip()
    if not done_by:
        raise DomainError("Say who did it.", field="done_by")
    if len(done_by) > 200:
        raise DomainError("At most 200 characters.", field="done_by")
    if len(data.method) > 4000:
        raise DomainError("At most 4000 characters.", field="method")
    if task.proof_required and upload is None:
        raise DomainError("Attach the sub-processor's written confirmation of deletion.", field="file")
    completion = DeletionTaskCompletion(
        task=task, done_on=data.done_on, done_by=done_by, method=data.method.strip(), recorded_by_id=actor.id
    )
    if upload is not None:
        blob = evidence_store().save(upload.stream, int(current_app.config["MAX_CONTENT_LENGTH"]))
        completion.sha256, completion.size, completion.content_type = blob.sha256, blob.size, blob.content_type
        completion.filename = (upload.filename.replace("\\", "/").rsplit("/", 1)[-1] or "confirmation")[:255]
    db.session.add(completion)
    db.session.flush()
    record(
        actor,
        "deletion.task_done",
        task,
        {
            "place": task.place,
            "kind": task.kind.value,
            "done_on": completion.done_on,
            "done_by": completion.done_by,
            "method": completion.method,
            "sha256": completion.sha256,
        },
        client_id=workflow.agreement.client_id,
    )
    refresh_cache(workflow.agreement.obligations)
    return completion


def certificate_data(workflow: DeletionWorkflow) -> dict[str, Any]:
    """What the certificate states, as plain data (the PDF renders it; its fingerprint is over it)."""
    agreement = workflow.agreement
    processor = get_processor()
    data: dict[str, Any] = {
        "agreement": {"reference": agreement.reference, "title": agreement.title},
        "client": agreement.client.legal_name,
        "processor": processor.name if processor else "(processor profile not recorded)",
        "end_kind": workflow.end_kind.value,
        "ends_on": workflow.ends_on.isoformat(),
        "due_on": workflow.due_on.isoformat(),
        "choice": CHOICE_TITLES[workflow.choice],
        "tasks": [
            {
                "kind": TASK_TITLES[t.kind],
                "place": t.place,
                "done_on": t.completion.done_on.isoformat() if t.completion else None,
                "done_by": t.completion.done_by if t.completion else None,
                "method": t.completion.method if t.completion else "",
                "filename": t.completion.filename if t.completion else None,
                "sha256": t.completion.sha256 if t.completion else None,
                "subprocessor": t.subprocessor_id is not None,
            }
            for t in workflow.tasks
        ],
        "exceptions": [
            {"what": e.what, "legal_basis": e.legal_basis, "until_on": e.until_on.isoformat()}
            for e in workflow.exceptions
        ],
    }
    data["fingerprint"] = hashlib.sha256(
        json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    return data


def issue_certificate(actor: User, workflow: DeletionWorkflow) -> DeletionCertificate:
    """Issue the deletion certificate once every task is done; its bytes and SHA-256 are kept as issued."""
    if workflow.certificate is not None:
        raise Conflict("The deletion certificate was already issued.")
    still_open = [t.place for t in workflow.tasks if t.completion is None]
    if still_open:
        more = f" (+{len(still_open) - 3} more)" if len(still_open) > 3 else ""
        raise DomainError(f"{len(still_open)} task(s) still open: {'; '.join(still_open[:3])}{more}.")
    now = utcnow()
    data = certificate_data(workflow)
    data["issued_at"] = now.strftime("%Y-%m-%d %H:%M UTC")
    data["issued_by"] = actor.display_name
    pdf = render_deletion_certificate(data)
    certificate = DeletionCertificate(
        workflow=workflow,
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        issued_at=now,
        issued_by_id=actor.id,
    )
    db.session.add(certificate)
    db.session.flush()
    record(
        actor,
        "deletion.certificate",
        certificate,
        {"sha256": certificate.sha256, "size": certificate.size, "fingerprint": data["fingerprint"]},
        client_id=workflow.agreement.client_id,
    )
    return certificate
