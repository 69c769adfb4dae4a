"""The agent register (clause 5): list, detail with history, forms, CSV import, exports."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from dpa_tracker.agent.clause5 import agent_authorisation
from dpa_tracker.agent.exports import register_csv, register_pdf
from dpa_tracker.agent.forms import AgentForm, AssignForm, AttestationForm, ImportForm, MissionForm, WithdrawForm
from dpa_tracker.agent.imports import AGENT_COLUMNS, TRAINING_COLUMNS, ImportRefused, import_csv
from dpa_tracker.agent.services import (
    AgentInput,
    AttestationInput,
    add_attestation,
    agent_rows,
    agents_needing_attention,
    agreements_for_choice,
    assign,
    create_agent,
    end_mission,
    training_expiry_of,
    visible_agents_query,
    visible_assignments,
    withdraw_attestation,
)
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.download import send_stored_file
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.ids import parse_id
from dpa_tracker.models import Agent, AgentAssignment, AgentAttestation, Agreement, SubProcessor
from dpa_tracker.obligation.services import today
from dpa_tracker.permissions import require_login, staff_only
from dpa_tracker.web import as_of_from_request, form_status, id_from_request, run_action

bp = Blueprint("agent", __name__)
require_login(bp)


def _filters() -> dict[str, Any]:
    authorised = request.args.get("authorised", "")
    if authorised not in ("", "yes", "no"):
        abort(400, description="authorised must be yes or no.")
    return {
        "agreement_id": id_from_request("agreement_id"),
        "authorised": None if not authorised else authorised == "yes",
        "expiring": request.args.get("expiring", "") == "1",
    }


def _agent_form() -> AgentForm:
    form = AgentForm()
    form.subprocessor_id.choices = [("", "—")] + [
        (str(s.id), s.legal_name) for s in db.session.scalars(select(SubProcessor).order_by(SubProcessor.legal_name))
    ]
    return form


@bp.route("/agents", methods=["GET", "POST"])
def register() -> Any:
    form = _agent_form()
    if form.is_submitted() and not current_user.can_write:
        abort(403)
    if form.validate_on_submit():
        data = AgentInput(
            name=form.name.data or "",
            email=form.email.data or "",
            function=form.function.data or "",
            employer_kind=form.employer_kind.data or "",
            employer_name=form.employer_name.data or "",
            subprocessor_id=parse_id(form.subprocessor_id.data or ""),
            experience_note=form.experience_note.data or "",
            mission_ends_on=form.mission_ends_on.data,
        )
        agent = run_action(
            form, lambda: create_agent(current_user, data), lambda agent: f"{agent.name} added to the agent register."
        )
        if agent is not None:
            return redirect(url_for("agent.detail", agent_id=agent.id))
    return _register_page(form=form, import_form=ImportForm(prefix="imp"))


def _register_page(form: AgentForm, import_form: ImportForm, problems: list[str] | None = None) -> Any:
    as_of = as_of_from_request() or today()
    filters = _filters()
    rows = agent_rows(current_user, as_of, **filters)
    attention = agents_needing_attention(current_user, as_of)
    status = 422 if problems else form_status(form)
    return (
        render_template(
            "agent/register.html",
            rows=rows,
            attention=attention,
            as_of=as_of,
            filters=filters,
            agreements=agreements_for_choice(current_user),
            form=form,
            import_form=import_form,
            problems=problems or [],
            agent_columns=AGENT_COLUMNS,
            training_columns=TRAINING_COLUMNS,
        ),
        status,
    )


@bp.route("/agents/import", methods=["POST"])
@staff_only
def import_file() -> Any:
    form = ImportForm(prefix="imp")
    upload = form.file.data if form.validate_on_submit() else None
    if upload is None or not upload.filename:
        flash("Choose a CSV file to import.", "error")
        return redirect(url_for("agent.register") + "#import")
    try:
        result = import_csv(current_user, upload.read(), upload.filename)
    except ImportRefused as refused:
        db.session.rollback()
        return _register_page(_agent_form(), form, refused.problems)
    db.session.commit()
    flash(
        f"Imported {result.rows} row(s): {result.agents} agent(s), {result.assignments} assignment(s), "
        f"{result.trainings} training(s).",
        "success",
    )
    return redirect(url_for("agent.register"))


@bp.route("/agents/register.<fmt>")
def export(fmt: str) -> Any:
    if fmt not in ("csv", "pdf"):
        abort(404)
    as_of = as_of_from_request() or today()
    rows = agent_rows(current_user, as_of, **_filters())
    if fmt == "csv":
        body, mimetype = register_csv(rows, as_of), "text/csv; charset=utf-8"
    else:
        body, mimetype = register_pdf(rows, as_of), "application/pdf"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="agent-register-{as_of}.{fmt}"'},
    )


def _detail_page(agent: Any, status: int = 200, **forms: Any) -> Any:
    as_of = as_of_from_request() or today()
    assign_form = forms.get("assign_form") or AssignForm(prefix="assign")
    assign_form.agreement_id.choices = [
        (str(a.id), f"{a.reference} — {a.client.legal_name}") for a in agreements_for_choice(current_user)
    ]
    return (
        render_template(
            "agent/detail.html",
            agent=agent,
            as_of=as_of,
            status=agent_authorisation(agent, as_of),
            assignments=visible_assignments(current_user, agent),
            expiry_of=training_expiry_of,
            assign_form=assign_form,
            attest_form=forms.get("attest_form") or AttestationForm(prefix="att"),
            mission_form=forms.get("mission_form")
            or MissionForm(prefix="mission", data={"mission_ends_on": agent.mission_ends_on}),
            withdraw_form=forms.get("withdraw_form") or WithdrawForm(prefix="wd"),
        ),
        status,
    )


def _agent_or_404(agent_id: int) -> Agent:
    return db.first_or_404(visible_agents_query(current_user).where(Agent.id == agent_id))


@bp.route("/agents/<int:agent_id>")
def detail(agent_id: int) -> Any:
    return _detail_page(_agent_or_404(agent_id))


@bp.route("/agents/<int:agent_id>/assignments", methods=["POST"])
@staff_only
def assign_agent(agent_id: int) -> Any:
    agent = _agent_or_404(agent_id)
    form = AssignForm(prefix="assign")
    form.agreement_id.choices = [(str(a.id), a.reference) for a in agreements_for_choice(current_user)]
    if form.validate_on_submit():
        agreement_pk = parse_id(form.agreement_id.data or "")
        agreement = db.session.get(Agreement, agreement_pk) if agreement_pk else None

        def assign_chosen() -> AgentAssignment:
            if agreement is None:
                raise DomainError("Choose an agreement.", field="agreement_id")
            return assign(current_user, agent, agreement, form.scope.data or "", form.since_on.data)

        assignment = run_action(
            form, assign_chosen, lambda done: f"{agent.name} now works on {done.agreement.reference}."
        )
        if assignment is not None:
            return redirect(url_for("agent.detail", agent_id=agent.id))
    return _detail_page(agent, 422, assign_form=form)


@bp.route("/agents/<int:agent_id>/attestations", methods=["POST"])
@staff_only
def attest(agent_id: int) -> Any:
    agent = _agent_or_404(agent_id)
    form = AttestationForm(prefix="att")
    if form.validate_on_submit():
        upload = form.file.data
        data = AttestationInput(
            kind=form.kind.data or "",
            done_on=form.done_on.data,
            by_whom=form.by_whom.data or "",
            course=form.course.data or "",
            provider=form.provider.data or "",
            note=form.note.data or "",
        )
        file = Upload(upload.stream, upload.filename) if upload and upload.filename else None
        if run_action(form, lambda: add_attestation(current_user, agent, data, file), "Recorded.") is not None:
            return redirect(url_for("agent.detail", agent_id=agent.id))
    return _detail_page(agent, 422, attest_form=form)


@bp.route("/agents/<int:agent_id>/mission", methods=["POST"])
@staff_only
def mission(agent_id: int) -> Any:
    agent = _agent_or_404(agent_id)
    form = MissionForm(prefix="mission")
    if form.validate_on_submit():
        ended = run_action(
            form,
            lambda: end_mission(current_user, agent, form.mission_ends_on.data, bool(form.removed.data)),
            "Mission updated.",
        )
        if ended is not None:
            return redirect(url_for("agent.detail", agent_id=agent.id))
    return _detail_page(agent, 422, mission_form=form)


def _attestation_or_404(attestation_id: int) -> AgentAttestation:
    attestation = db.get_or_404(AgentAttestation, attestation_id)
    _agent_or_404(attestation.agent_id)
    return attestation


@bp.route("/agent-attestations/<int:attestation_id>/withdraw", methods=["POST"])
@staff_only
def withdraw(attestation_id: int) -> Any:
    attestation = _attestation_or_404(attestation_id)
    form = WithdrawForm(prefix="wd")
    if form.validate_on_submit():
        withdrawn = run_action(
            form,
            lambda: withdraw_attestation(current_user, attestation, form.reason.data or ""),
            "Withdrawn; it stays in the history.",
        )
        if withdrawn is not None:
            return redirect(url_for("agent.detail", agent_id=attestation.agent_id))
    return _detail_page(attestation.agent, 422, withdraw_form=form)


@bp.route("/agent-attestations/<int:attestation_id>/document")
def document(attestation_id: int) -> Any:
    attestation = _attestation_or_404(attestation_id)
    if attestation.sha256 is None:
        abort(404, description="This record has no document.")
    return send_stored_file(attestation.sha256, attestation.content_type, attestation.filename or "document")
