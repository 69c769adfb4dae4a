"""Agreements: create, checklist (as of a date), end, re-sync with the template."""

from __future__ import annotations

from itertools import groupby

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from dpa_tracker.agreement.forms import AgreementForm, SettingsForm
from dpa_tracker.agreement.services import (
    AgreementInput,
    change_settings,
    create_agreement,
    sync_obligations,
)
from dpa_tracker.agreement.settings import SETTINGS
from dpa_tracker.catalogue import load_templates
from dpa_tracker.deletion.forms import EndForm
from dpa_tracker.deletion.services import EndInput, ExceptionInput, end_with_workflow, workflow_of
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AgreementStatus, Client, ObligationStatus
from dpa_tracker.models.agreement import AuthorisationType
from dpa_tracker.obligation.services import assess_agreement, today
from dpa_tracker.obligation.status import add_years
from dpa_tracker.permissions import ensure_client_visible, require_login, staff_only
from dpa_tracker.reports.record_pdf import render_status_report_pdf
from dpa_tracker.web import as_of_from_request, form_status, run_action

bp = Blueprint("agreement", __name__)
require_login(bp)


@bp.route("/clients/<int:client_id>/agreements/new", methods=["GET", "POST"])
@staff_only
def create(client_id: int) -> str | Response | tuple[str, int]:
    client = db.get_or_404(Client, client_id)
    form = AgreementForm()
    form.template_key.choices = [(t.key, f"{t.title} (v{t.version})") for t in load_templates().values()]
    if form.validate_on_submit():
        assert form.signed_on.data is not None and form.effective_on.data is not None  # InputRequired
        data = AgreementInput(
            reference=form.reference.data or "",
            title=form.title.data or "",
            signed_on=form.signed_on.data,
            effective_on=form.effective_on.data,
            ends_on=form.ends_on.data,
            status=AgreementStatus(form.status.data),
            template_key=form.template_key.data,
            settings={s.name: form[s.name].data for s in SETTINGS},
            subprocessor_authorisation=AuthorisationType(form.subprocessor_authorisation.data),
            permitted_locations=(form.permitted_locations.data or "").splitlines(),
        )
        agreement = run_action(
            form,
            lambda: create_agreement(current_user, client, data),
            lambda agreement: f"Agreement {agreement.reference} created with {len(agreement.obligations)} obligations.",
        )
        if agreement is not None:
            return redirect(url_for("agreement.detail", agreement_id=agreement.id))
    return render_template("agreement/form.html", form=form, client=client, settings=SETTINGS), form_status(form)


@bp.route("/agreements/<int:agreement_id>")
def detail(agreement_id: int) -> str:
    agreement = db.get_or_404(Agreement, agreement_id)
    ensure_client_visible(current_user, agreement.client_id)
    as_of = as_of_from_request()
    assessed = assess_agreement(agreement, as_of)
    sections = [(section, list(items)) for section, items in groupby(assessed, key=lambda pair: pair[0].section)]
    counts = {s: sum(1 for _, a in assessed if a.status is s) for s in ObligationStatus}
    return render_template(
        "agreement/detail.html",
        agreement=agreement,
        sections=sections,
        counts=counts,
        as_of=as_of or today(),
        past=as_of is not None and as_of != today(),
        end_form=EndForm(),
        statuses=list(ObligationStatus),
        settings=SETTINGS,
        workflow=workflow_of(agreement.id),
        today=today(),
        # Clause 2.2: confidentiality survives the end by ``confidentiality_years``.
        confidential_until=add_years(agreement.ends_on, agreement.confidentiality_years) if agreement.ends_on else None,
    )


@bp.route("/agreements/<int:agreement_id>/settings", methods=["GET", "POST"])
@staff_only
def settings(agreement_id: int) -> str | Response | tuple[str, int]:
    agreement = db.get_or_404(Agreement, agreement_id)
    form = SettingsForm(obj=agreement)
    if form.validate_on_submit():
        changes = run_action(
            form,
            lambda: change_settings(current_user, agreement, {s.name: form[s.name].data for s in SETTINGS}),
            lambda changes: (
                f"{len(changes)} setting(s) changed; the obligations' clocks follow them."
                if changes
                else "No setting changed."
            ),
        )
        if changes is not None:
            return redirect(url_for("agreement.detail", agreement_id=agreement.id))
    return (
        render_template("agreement/settings.html", form=form, agreement=agreement, settings=SETTINGS),
        form_status(form),
    )


@bp.route("/agreements/<int:agreement_id>/status.pdf")
def status_pdf(agreement_id: int) -> Response:
    """The obligations and their status as of a date, as a PDF to file or send upward."""
    agreement = db.get_or_404(Agreement, agreement_id)
    ensure_client_visible(current_user, agreement.client_id)
    as_of = as_of_from_request() or today()
    rows = [
        {
            "clause": o.clause_number,
            "title": o.title,
            "status": a.status.value,
            "reason": a.reason,
            "due_on": a.due_on.isoformat() if a.due_on else None,
        }
        for o, a in assess_agreement(agreement, as_of)
    ]
    body = render_status_report_pdf(
        {
            "reference": agreement.reference,
            "title": agreement.title,
            "client": agreement.client.legal_name,
            "effective_on": agreement.effective_on.isoformat(),
            "ends_on": agreement.ends_on.isoformat() if agreement.ends_on else None,
        },
        as_of.isoformat(),
        rows,
    )
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="status-{agreement.id}-{as_of}.pdf"'
    return response


@bp.route("/agreements/<int:agreement_id>/end", methods=["POST"])
@staff_only
def end(agreement_id: int) -> Response:
    agreement = db.get_or_404(Agreement, agreement_id)
    form = EndForm()
    if not form.validate_on_submit():
        if form.ends_on.errors or not form.errors:
            flash("Give the date the agreement ended.", "error")
        else:
            flash("; ".join(f"{form[name].label.text}: {errors[0]}" for name, errors in form.errors.items()), "error")
        return redirect(url_for("agreement.detail", agreement_id=agreement.id))
    exceptions = []
    if form.what.data or form.legal_basis.data or form.until_on.data:
        exceptions.append(ExceptionInput(form.what.data or "", form.legal_basis.data or "", form.until_on.data))
    try:
        workflow = end_with_workflow(
            current_user,
            agreement,
            EndInput(form.ends_on.data, form.end_kind.data, form.choice.data, exceptions),
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("agreement.detail", agreement_id=agreement.id))
    db.session.commit()
    flash(
        f"Agreement ended on {workflow.ends_on}; deletion is due on {workflow.due_on} "
        f"({len(workflow.tasks)} tasks, clause 13).",
        "success",
    )
    return redirect(url_for("deletion.workflow", agreement_id=agreement.id))


@bp.route("/agreements/<int:agreement_id>/sync", methods=["POST"])
@staff_only
def sync(agreement_id: int) -> Response:
    agreement = db.get_or_404(Agreement, agreement_id)
    try:
        added = sync_obligations(current_user, agreement)
    except DomainError as error:
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            f"{len(added)} obligation(s) added from the template." if added else "Already in line with the template.",
            "success",
        )
    return redirect(url_for("agreement.detail", agreement_id=agreement.id))
