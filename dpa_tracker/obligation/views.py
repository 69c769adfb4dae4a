"""Obligation page: status and reason, evidence history, upload, events, applicability."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, TypedDict

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from dpa_tracker.checklist.services import can_comment, comments_of
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.ids import parse_id
from dpa_tracker.models import EvidenceState, Obligation, Role, TriggerEvent, User
from dpa_tracker.obligation.events import record_event, set_awareness
from dpa_tracker.obligation.forms import AwarenessForm, EventForm, EvidenceForm, NotApplicableForm, ObligationForm
from dpa_tracker.obligation.services import (
    assess_obligation,
    events_of,
    set_not_applicable,
    today,
    update_obligation,
)
from dpa_tracker.permissions import ensure_client_visible, require_login, staff_only
from dpa_tracker.web import as_of_from_request, run_action

bp = Blueprint("obligation", __name__, url_prefix="/obligations")
require_login(bp)


class _NoTime(Exception):
    pass


def _moment(day: date | None, time_field: Any, default: str | None = None) -> datetime | None:
    """A UTC moment from a date field and an HH:MM text field; the time field gets the error."""
    if day is None:
        return None
    try:
        moment = time.fromisoformat(time_field.data or default or "")
    except ValueError:
        time_field.errors = [*time_field.errors, "Write the time as HH:MM."]
        raise _NoTime from None
    return datetime.combine(day, moment, tzinfo=UTC)


class _Forms(TypedDict):
    """The forms of the obligation page, by the names the template knows them by."""

    evidence_form: EvidenceForm
    event_form: EventForm
    awareness_form: AwarenessForm
    na_form: NotApplicableForm
    owner_form: ObligationForm


def _forms(obligation: Obligation) -> _Forms:
    evidence_form = EvidenceForm(prefix="evidence")
    evidence_form.trigger_event_id.choices = [("", "—")] + [
        (str(e.id), f"{e.occurred_at:%Y-%m-%d %H:%M} — {e.summary[:60]}") for e in events_of(obligation)
    ]
    evidence_form.supersedes_id.choices = [("", "—")] + [
        (str(e.id), f"#{e.id} {e.filename or e.note[:40] or e.link[:40]}")
        for e in obligation.evidence
        if e.state is EvidenceState.ACTIVE
    ]
    owner_form = ObligationForm(prefix="obligation")
    staff = db.session.scalars(
        select(User).where(User.role.in_([Role.ADMIN, Role.COMPLIANCE]), User.active.is_(True)).order_by(User.email)
    ).all()
    owner_form.owner_id.choices = [("", "— nobody —")] + [(str(u.id), u.display_name) for u in staff]
    if not owner_form.is_submitted():
        owner_form.owner_id.data = str(obligation.owner_id or "")
        owner_form.notes.data = obligation.notes
    return {
        "evidence_form": evidence_form,
        "event_form": EventForm(prefix="event"),
        "awareness_form": AwarenessForm(prefix="awareness"),
        "na_form": NotApplicableForm(prefix="na"),
        "owner_form": owner_form,
    }


def _load(obligation_id: int) -> Obligation:
    obligation = db.get_or_404(Obligation, obligation_id)
    ensure_client_visible(current_user, obligation.agreement.client_id)
    return obligation


def _page(obligation: Obligation, forms: _Forms, status: int = 200) -> tuple[str, int]:
    as_of = as_of_from_request()
    assessment = assess_obligation(obligation, as_of)
    return render_template(
        "obligation/detail.html",
        obligation=obligation,
        agreement=obligation.agreement,
        assessment=assessment,
        as_of=as_of or today(),
        past_view=as_of is not None,
        events=events_of(obligation),
        comments=comments_of(obligation),
        may_comment=can_comment(current_user, obligation.agreement.client_id),
        **forms,
    ), status


@bp.route("/<int:obligation_id>")
def detail(obligation_id: int) -> tuple[str, int]:
    obligation = _load(obligation_id)
    return _page(obligation, _forms(obligation))


@bp.route("/<int:obligation_id>/evidence", methods=["POST"])
@staff_only
def upload(obligation_id: int) -> Response | tuple[str, int]:
    obligation = _load(obligation_id)
    forms = _forms(obligation)
    form: EvidenceForm = forms["evidence_form"]
    if form.validate_on_submit():
        file = form.file.data
        try:
            acted_at = _moment(form.acted_on.data, form.acted_time, default="00:00")
        except _NoTime:
            return _page(obligation, forms, 422)
        data = EvidenceInput(
            note=form.note.data or "",
            link=form.link.data or "",
            period_start=form.period_start.data,
            period_end=form.period_end.data,
            valid_until=form.valid_until.data,
            trigger_event_id=parse_id(form.trigger_event_id.data),
            supersedes_id=parse_id(form.supersedes_id.data),
            acted_at=acted_at,
        )
        upload_ = Upload(file.stream, file.filename or "evidence") if file and file.filename else None
        evidence = run_action(
            form,
            lambda: add_evidence(current_user, obligation, data, upload_),
            lambda evidence: f"Evidence #{evidence.id} added. Status: {assess_obligation(obligation).reason}.",
        )
        if evidence is not None:
            return redirect(url_for("obligation.detail", obligation_id=obligation.id))
    return _page(obligation, forms, 422)


@bp.route("/<int:obligation_id>/events", methods=["POST"])
@staff_only
def add_event(obligation_id: int) -> Response | tuple[str, int]:
    obligation = _load(obligation_id)
    forms = _forms(obligation)
    form: EventForm = forms["event_form"]
    if form.validate_on_submit():
        try:
            occurred_at = _moment(form.occurred_on.data, form.occurred_time)
            aware_at = _moment(form.aware_on.data, form.aware_time)
        except _NoTime:
            return _page(obligation, forms, 422)
        assert occurred_at is not None  # InputRequired
        event = run_action(
            form,
            lambda: record_event(
                current_user, obligation, occurred_at=occurred_at, aware_at=aware_at, summary=form.summary.data or ""
            ),
            "Event recorded; its clock has started.",
        )
        if event is not None:
            return redirect(url_for("obligation.detail", obligation_id=obligation.id))
    return _page(obligation, forms, 422)


@bp.route("/<int:obligation_id>/events/<int:event_id>/awareness", methods=["POST"])
@staff_only
def awareness(obligation_id: int, event_id: int) -> Response | tuple[str, int]:
    """Correct when the processor became aware of an event (back-dating allowed, audited)."""
    obligation = _load(obligation_id)
    event = db.get_or_404(TriggerEvent, event_id)
    if event.obligation_id != obligation.id:
        abort(404)
    forms = _forms(obligation)
    form: AwarenessForm = forms["awareness_form"]
    if form.validate_on_submit():
        try:
            aware_at = _moment(form.aware_on.data, form.aware_time)
        except _NoTime:
            return _page(obligation, forms, 422)
        assert aware_at is not None  # InputRequired
        corrected = run_action(
            form,
            lambda: set_awareness(current_user, event, aware_at),
            f"Awareness of event #{event.id} set to {aware_at:%Y-%m-%d %H:%M} UTC; its clock starts there.",
        )
        if corrected is not None:
            return redirect(url_for("obligation.detail", obligation_id=obligation.id))
    return _page(obligation, forms, 422)


@bp.route("/<int:obligation_id>/applicability", methods=["POST"])
@staff_only
def applicability(obligation_id: int) -> Response | tuple[str, int]:
    obligation = _load(obligation_id)
    forms = _forms(obligation)
    form: NotApplicableForm = forms["na_form"]
    if form.validate_on_submit():
        reason = (form.reason.data or "") if obligation.na_reason is None else None
        marked = run_action(
            form,
            lambda: set_not_applicable(current_user, obligation, reason),
            "Marked not applicable." if reason else "The obligation applies again.",
        )
        if marked is not None:
            return redirect(url_for("obligation.detail", obligation_id=obligation.id))
    return _page(obligation, forms, 422)


@bp.route("/<int:obligation_id>", methods=["POST"])
@staff_only
def update(obligation_id: int) -> Response | tuple[str, int]:
    obligation = _load(obligation_id)
    forms = _forms(obligation)
    form: ObligationForm = forms["owner_form"]
    if form.validate_on_submit():
        owner_id = parse_id(form.owner_id.data)
        owner = db.session.get(User, owner_id) if owner_id else None
        updated = run_action(
            form,
            lambda: update_obligation(current_user, obligation, owner=owner, notes=form.notes.data or ""),
            "Obligation updated.",
        )
        if updated is not None:
            return redirect(url_for("obligation.detail", obligation_id=obligation.id))
    return _page(obligation, forms, 422)
