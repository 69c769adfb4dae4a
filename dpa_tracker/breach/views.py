"""The breach register pages: the list, recording a breach, one breach with each client's clock, notices and
actions, and the register downloads (CSV, PDF). Clients see only breaches touching their own agreements."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dpa_tracker.breach.forms import ActionDoneForm, ActionForm, AffectedForm, BreachForm, NotifyForm
from dpa_tracker.breach.notices import queue_notice, requeue
from dpa_tracker.breach.services import (
    ActionInput,
    BreachInput,
    add_action,
    add_affected_agreement,
    affected_for,
    agent_label,
    agreements_for,
    breach_loader,
    clock_of,
    mark_action_done,
    record_breach,
    register_row,
    visible_breaches,
)
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.download import send_stored_file
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.ids import parse_id
from dpa_tracker.models import (
    Agent,
    Agreement,
    AgreementStatus,
    Breach,
    BreachAction,
    BreachAgreement,
    BreachNotice,
    Client,
    NoticePhase,
    SubProcessor,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.models.breach import RISK_TITLES
from dpa_tracker.permissions import (
    can_see_client,
    client_filter,
    require_login,
    staff_only,
    visible_client_ids,
    visible_or_404,
)
from dpa_tracker.reports.breach_register import render_register_csv, render_register_pdf
from dpa_tracker.web import form_status, id_from_request, run_action

bp = Blueprint("breach", __name__)
require_login(bp)


def _ids(values: list[str] | None) -> list[int]:
    ids = [parse_id(v) for v in values or []]
    if any(i is None for i in ids):
        raise DomainError("Unknown agreement id.", field="agreement_ids")
    return [i for i in ids if i is not None]


def _agreements() -> list[Agreement]:
    return list(
        db.session.scalars(
            select(Agreement)
            .where(Agreement.status != AgreementStatus.DRAFT, client_filter(current_user, Agreement.client_id))
            .options(selectinload(Agreement.client))
            .order_by(Agreement.reference)
        )
    )


def _visible_breach(breach_id: int) -> Breach:
    """The breach, or 404 when it touches no agreement of a client the user may see."""
    breach = db.session.scalar(select(Breach).where(Breach.id == breach_id).options(*breach_loader()))
    return visible_or_404(current_user, breach, lambda breach: (a.agreement.client_id for a in breach.affected))


def _client_scope() -> tuple[int | None, str]:
    """The ``client_id`` filter (staff and auditors choose; a client user is always its own client)."""
    client_id = id_from_request("client_id")
    if current_user.client_id is not None:
        client_id = current_user.client_id
    if client_id is None:
        return None, "all clients"
    client = db.session.get(Client, client_id)
    if client is None or not can_see_client(current_user, client_id):
        abort(404)
    return client_id, client.legal_name


@bp.route("/breaches")
def index() -> Any:
    client_id, scope = _client_scope()
    breaches = visible_breaches(current_user, client_id)
    ids = visible_client_ids(current_user)
    if client_id is not None:
        ids = {client_id}
    rows = [(b, [clock_of(a) for a in affected_for(b, ids)]) for b in breaches]
    return render_template("breach/index.html", rows=rows, scope=scope, client_id=client_id)


@bp.route("/breaches/new", methods=["GET", "POST"])
@staff_only
def new() -> Any:
    form = BreachForm()
    agreements = _agreements()
    form.agreement_ids.choices = [(str(a.id), f"{a.reference} — {a.client.legal_name}") for a in agreements]
    subs = db.session.scalars(select(SubProcessor).order_by(SubProcessor.legal_name)).all()
    form.subprocessor_ids.choices = [(str(s.id), s.legal_name) for s in subs]
    form.source_subprocessor_id.choices = [("", "none"), *((str(s.id), s.legal_name) for s in subs)]
    people = db.session.scalars(select(Agent).order_by(Agent.name, Agent.id)).all()
    form.agent_ids.choices = [(str(a.id), agent_label(a)) for a in people]
    if form.validate_on_submit():

        def record() -> Breach:
            upload = form.source_notice.data
            data = BreachInput(
                title=form.title.data or "",
                occurred_at=_utc(form.occurred_at.data),
                detected_at=_utc(form.detected_at.data),
                aware_at=_utc(form.aware_at.data),
                natures=form.natures.data or [],
                description=form.description.data or "",
                contact_point=form.contact_point.data or "",
                systems=form.systems.data or "",
                agents=form.agents.data or "",
                data_subject_categories=form.data_subject_categories.data or "",
                data_subjects_approx=form.data_subjects_approx.data,
                record_categories=form.record_categories.data or "",
                records_approx=form.records_approx.data,
                likely_consequences=form.likely_consequences.data or "",
                measures_taken=form.measures_taken.data or "",
                measures_proposed=form.measures_proposed.data or "",
                agreement_failures=form.agreement_failures.data or "",
                risk=form.risk.data or "",
                subprocessor_ids=[parse_id(v) or 0 for v in form.subprocessor_ids.data or []],
                agent_ids=[parse_id(v) or 0 for v in form.agent_ids.data or []],
                source_subprocessor_id=parse_id(form.source_subprocessor_id.data or "") or None,
            )
            chosen = agreements_for(_ids(form.agreement_ids.data), agreements)
            return record_breach(
                current_user,
                data,
                chosen,
                Upload(upload.stream, upload.filename) if upload and upload.filename else None,
            )

        breach = run_action(
            form, record, lambda breach: f"Breach #{breach.id} entered in the register; the notice clocks are running."
        )
        if breach is not None:
            return redirect(url_for("breach.detail", breach_id=breach.id))
    return render_template("breach/new.html", form=form), form_status(form)


def _utc(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if value is not None else None


def _detail(breach: Breach, **forms: Any) -> Any:
    ids = visible_client_ids(current_user)
    affected = affected_for(breach, ids)
    affected_ids = {a.agreement_id for a in breach.affected}
    add_form = forms.get("add_form") or AffectedForm(prefix="add")
    add_form.agreement_id.choices = [
        (str(a.id), f"{a.reference} — {a.client.legal_name}") for a in _agreements() if a.id not in affected_ids
    ]
    notify_form = forms.get("notify_form") or NotifyForm(prefix="notify")
    notify_form.agreement_id.choices = [
        (str(a.agreement_id), f"{a.agreement.reference} — {a.agreement.client.legal_name}") for a in affected
    ]
    action_form = forms.get("action_form") or ActionForm(prefix="action")
    done_form = forms.get("done_form") or ActionDoneForm(prefix="done")
    done_form.action_id.choices = _open_actions(breach)
    status = max(form_status(f) for f in (add_form, notify_form, action_form, done_form))
    return render_template(
        "breach/detail.html",
        breach=breach,
        clocks=[clock_of(a) for a in affected],
        notices=[n for a in affected for n in a.notices],
        add_form=add_form,
        notify_form=notify_form,
        action_form=action_form,
        done_form=done_form,
        risk_title=RISK_TITLES[breach.risk],
        now=utcnow(),
    ), status


@bp.route("/breaches/<int:breach_id>")
def detail(breach_id: int) -> Any:
    return _detail(_visible_breach(breach_id))


def _staff_breach(breach_id: int) -> Breach:
    breach = _visible_breach(breach_id)
    if not current_user.can_write:
        abort(403)
    return breach


@bp.route("/breaches/<int:breach_id>/source-notice")
def source_notice(breach_id: int) -> Response:
    """The sub-processor's own notice to us, hash-checked. Staff only: it may speak of other clients."""
    breach = _staff_breach(breach_id)
    if breach.source_notice_sha256 is None:
        abort(404, description="No notice from a sub-processor is kept for this breach.")
    return send_stored_file(
        breach.source_notice_sha256,
        breach.source_notice_content_type,
        breach.source_notice_filename or f"breach-{breach.id}-subprocessor-notice",
    )


@bp.route("/breaches/<int:breach_id>/agreements", methods=["POST"])
def add_agreement(breach_id: int) -> Any:
    breach = _staff_breach(breach_id)
    form = AffectedForm(prefix="add")
    form.agreement_id.choices = [(str(a.id), a.reference) for a in _agreements()]
    if form.validate_on_submit():

        def add() -> BreachAgreement:
            (agreement,) = agreements_for(_ids([form.agreement_id.data or ""]), _agreements())
            return add_affected_agreement(current_user, breach, agreement)

        affected = run_action(
            form, add, lambda affected: f"{affected.agreement.reference} added; its notice clock runs from awareness."
        )
        if affected is not None:
            return redirect(url_for("breach.detail", breach_id=breach.id))
    return _detail(_visible_breach(breach_id), add_form=form)


@bp.route("/breaches/<int:breach_id>/notify", methods=["POST"])
def notify(breach_id: int) -> Any:
    breach = _staff_breach(breach_id)
    form = NotifyForm(prefix="notify")
    form.agreement_id.choices = [(str(a.agreement_id), a.agreement.reference) for a in breach.affected]
    if form.validate_on_submit():
        affected = next((a for a in breach.affected if str(a.agreement_id) == form.agreement_id.data), None)

        def queue() -> list[BreachNotice]:
            if affected is None:
                raise DomainError("That agreement is not affected by this breach.", field="agreement_id")
            return queue_notice(
                current_user, breach, affected, NoticePhase(form.phase.data), form.new_information.data or ""
            )

        notices = run_action(
            form,
            queue,
            lambda notices: (
                f"Notice queued to {', '.join(n.email for n in notices)}; it leaves with the next mail run."
            ),
        )
        if notices is not None:
            return redirect(url_for("breach.detail", breach_id=breach.id))
    return _detail(breach, notify_form=form)


@bp.route("/breaches/<int:breach_id>/actions", methods=["POST"])
def action(breach_id: int) -> Any:
    breach = _staff_breach(breach_id)
    form = ActionForm(prefix="action")
    if form.validate_on_submit():
        data = ActionInput(
            kind=form.kind.data or "",
            description=form.description.data or "",
            owner=form.owner.data or "",
            due_on=form.due_on.data,
            done_on=form.done_on.data,
            evidence=form.evidence.data or "",
        )
        if run_action(form, lambda: add_action(current_user, breach, data), "Action recorded.") is not None:
            return redirect(url_for("breach.detail", breach_id=breach.id))
    return _detail(breach, action_form=form)


def _open_actions(breach: Breach) -> list[tuple[str, str]]:
    return [(str(a.id), f"{a.kind.value}: {a.description}") for a in breach.actions if a.done_on is None]


@bp.route("/breaches/<int:breach_id>/actions/done", methods=["POST"])
def action_done(breach_id: int) -> Any:
    """Clause 8.1(2): mark one of the breach's open actions done (date, evidence text and/or document)."""
    breach = _staff_breach(breach_id)
    form = ActionDoneForm(prefix="done")
    form.action_id.choices = _open_actions(breach)
    if form.validate_on_submit():

        def mark_done() -> BreachAction:
            action_id = parse_id(form.action_id.data or "")
            chosen = next((a for a in breach.actions if a.id == action_id), None)
            if chosen is None:
                raise DomainError("Choose one of this breach's open actions.", field="action_id")
            upload = form.file.data
            return mark_action_done(
                current_user,
                chosen,
                form.done_on.data,
                form.evidence.data or "",
                Upload(upload.stream, upload.filename) if upload and upload.filename else None,
            )

        if run_action(form, mark_done, "Action marked done.") is not None:
            return redirect(url_for("breach.detail", breach_id=breach.id))
    return _detail(breach, done_form=form)


@bp.route("/breach-actions/<int:action_id>/evidence")
def action_evidence(action_id: int) -> Response:
    """The document showing an action done. Staff only: it may speak of other clients."""
    action = db.get_or_404(BreachAction, action_id)
    _staff_breach(action.breach_id)
    if action.evidence_sha256 is None:
        abort(404, description="No document is kept for this action.")
    return send_stored_file(
        action.evidence_sha256, action.evidence_content_type, action.evidence_filename or f"action-{action.id}"
    )


def _register() -> tuple[list[dict[str, object]], str]:
    client_id, scope = _client_scope()
    ids = {client_id} if client_id is not None else visible_client_ids(current_user)
    return [register_row(b, ids) for b in visible_breaches(current_user, client_id)], scope


@bp.route("/breaches/register.csv")
def register_csv() -> Response:
    rows, _ = _register()
    return Response(
        render_register_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="breach-register.csv"'},
    )


@bp.route("/breaches/register.pdf")
def register_pdf() -> Response:
    rows, scope = _register()
    return Response(
        render_register_pdf(rows, scope, f"{utcnow():%Y-%m-%d %H:%M} UTC"),
        mimetype="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="breach-register.pdf"'},
    )


@bp.route("/breach-notices/<int:breach_notice_id>/retry", methods=["POST"])
@staff_only
def retry_notice(breach_notice_id: int) -> Any:
    """Queue one failed (or held) breach notice e-mail again; `flask notices send` sends it."""
    notice = db.get_or_404(BreachNotice, breach_notice_id)
    if requeue(current_user, [notice]):
        db.session.commit()
        flash(f"The e-mail to {notice.email} is queued again; the next flask notices send delivers it.", "success")
    else:
        flash("This e-mail has not failed; nothing to retry.", "info")
    return redirect(url_for("subprocessor.deliveries"))
