"""Data-subject request and instruction pages (clauses 9.1, 3.1(3), 3.1(6)-(7)). Staff write; clients read
their own; auditors read their assigned clients'. Another tenant's object answers 404."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from flask import request as http
from flask_login import current_user

from dpa_tracker.dsr.forms import AnswerForm, FlagForm, ForwardForm, HelpForm, InstructionForm, RequestForm
from dpa_tracker.dsr.notices import queue_flag_notice, queue_forward
from dpa_tracker.dsr.services import (
    InstructionInput,
    RequestInput,
    add_help_request,
    controller_answer_on,
    flag_unlawful,
    forward_due_at,
    forward_state,
    forward_target,
    forwarded_at,
    instructions_query,
    live_agreements,
    log_request,
    record_instruction,
    refuse_answer,
    requests_query,
)
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.ids import parse_id
from dpa_tracker.models import (
    REQUEST_TYPE_TITLES,
    Agreement,
    DataSubjectRequest,
    Instruction,
    RequestNotice,
    RequestType,
)
from dpa_tracker.permissions import require_login, staff_only
from dpa_tracker.web import form_status, id_from_request, run_action, show_domain_error

bp = Blueprint("dsr", __name__)
require_login(bp)


def _agreement(raw: str | None, choices: list[Agreement]) -> Agreement:
    agreement_id = parse_id(raw or "")
    agreement = next((a for a in choices if a.id == agreement_id), None)
    if agreement is None:
        raise DomainError(f"Unknown agreement id {raw}.", field="agreement_id")
    return agreement


def _choices(agreements: list[Agreement]) -> list[tuple[str, str]]:
    return [(str(a.id), f"{a.reference} — {a.client.legal_name}") for a in agreements]


def _utc(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if value is not None else None


# --- data-subject requests --------------------------------------------------------------------------


@bp.route("/requests")
def requests() -> Any:
    kind = http.args.get("type") or None
    if kind is not None and kind not in {t.value for t in RequestType}:
        abort(400, description="Unknown request type.")
    rows = db.session.scalars(
        requests_query(current_user, id_from_request("agreement_id"), kind).order_by(
            DataSubjectRequest.received_at.desc()
        )
    ).all()
    return render_template(
        "dsr/index.html", rows=[(r, forward_state(r), forward_due_at(r)) for r in rows], titles=REQUEST_TYPE_TITLES
    )


@bp.route("/requests/new", methods=["GET", "POST"])
@staff_only
def new_request() -> Any:
    form = RequestForm()
    agreements = list(live_agreements(current_user))
    form.agreement_id.choices = _choices(agreements)
    if form.validate_on_submit():
        data = RequestInput(
            received_at=_utc(form.received_at.data),
            channel=form.channel.data or "",
            type=form.type.data or "",
            subject_reference=form.subject_reference.data or "",
        )
        request = run_action(
            form,
            lambda: log_request(current_user, _agreement(form.agreement_id.data, agreements), data),
            lambda request: f"Request #{request.id} logged; forward it to the client (clause 9.1).",
        )
        if request is not None:
            return redirect(url_for("dsr.request_detail", request_id=request.id))
    return render_template("dsr/new.html", form=form), form_status(form)


def _visible_request(request_id: int) -> DataSubjectRequest:
    return db.first_or_404(requests_query(current_user).where(DataSubjectRequest.id == request_id))


def _staff_request(request_id: int) -> DataSubjectRequest:
    found = _visible_request(request_id)
    if not current_user.can_write:
        abort(403)
    return found


def _request_page(request: DataSubjectRequest, **forms: Any) -> Any:
    forward_form = forms.get("forward_form") or ForwardForm(prefix="forward")
    answer_form = forms.get("answer_form") or AnswerForm(prefix="answer")
    help_form = forms.get("help_form") or HelpForm(prefix="help")
    status = max(form_status(f) for f in (forward_form, answer_form, help_form))
    return render_template(
        "dsr/detail.html",
        request=request,
        title=REQUEST_TYPE_TITLES[request.type],
        state=forward_state(request),
        due_at=forward_due_at(request),
        target=forward_target(request),
        forwarded_at=forwarded_at(request),
        answer_on=controller_answer_on(request),
        forward_form=forward_form,
        answer_form=answer_form,
        help_form=help_form,
    ), status


@bp.route("/requests/<int:request_id>")
def request_detail(request_id: int) -> Any:
    return _request_page(_visible_request(request_id))


@bp.route("/requests/<int:request_id>/forward", methods=["POST"])
def forward(request_id: int) -> Any:
    request = _staff_request(request_id)
    form = ForwardForm(prefix="forward")
    if form.validate_on_submit():
        notices = run_action(
            form,
            lambda: queue_forward(current_user, request),
            lambda notices: (
                f"Forward queued to {', '.join(n.email for n in notices)}; it leaves with the next mail run."
            ),
        )
        if notices is not None:
            return redirect(url_for("dsr.request_detail", request_id=request_id))
    return _request_page(request, forward_form=form)


@bp.route("/requests/<int:request_id>/answer", methods=["POST"])
def answer(request_id: int) -> Any:
    """Clause 9.1 guard: an answer to the data subject is refused with the reason; nothing is written."""
    request = _staff_request(request_id)
    form = AnswerForm(prefix="answer")
    if form.validate_on_submit():
        try:
            refuse_answer(request)
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
    return _request_page(request, answer_form=form)


@bp.route("/requests/<int:request_id>/help", methods=["POST"])
def help_request(request_id: int) -> Any:
    request = _staff_request(request_id)
    form = HelpForm(prefix="help")
    if form.validate_on_submit():
        added = run_action(
            form,
            lambda: add_help_request(current_user, request, form.clause_number.data or "", _utc(form.received_at.data)),
            "Help request recorded; its clock runs.",
        )
        if added is not None:
            return redirect(url_for("dsr.request_detail", request_id=request_id))
    return _request_page(request, help_form=form)


# --- instructions -----------------------------------------------------------------------------------


@bp.route("/instructions")
def instructions() -> Any:
    rows = db.session.scalars(
        instructions_query(current_user, id_from_request("agreement_id")).order_by(
            Instruction.received_on.desc(), Instruction.id.desc()
        )
    ).all()
    return render_template("dsr/instructions.html", rows=rows)


@bp.route("/instructions/new", methods=["GET", "POST"])
@staff_only
def new_instruction() -> Any:
    form = InstructionForm()
    agreements = list(live_agreements(current_user))
    form.agreement_id.choices = _choices(agreements)
    if form.validate_on_submit():
        data = InstructionInput(
            received_on=form.received_on.data,
            channel=form.channel.data or "",
            content=form.content.data or "",
            about_transfers=bool(form.about_transfers.data),
        )
        instruction = run_action(
            form,
            lambda: record_instruction(current_user, _agreement(form.agreement_id.data, agreements), data),
            lambda instruction: f"Instruction #{instruction.id} registered.",
        )
        if instruction is not None:
            return redirect(url_for("dsr.instruction_detail", instruction_id=instruction.id))
    return render_template("dsr/instruction_new.html", form=form), form_status(form)


def _visible_instruction(instruction_id: int) -> Instruction:
    return db.first_or_404(instructions_query(current_user).where(Instruction.id == instruction_id))


def _instruction_page(instruction: Instruction, flag_form: FlagForm | None = None) -> Any:
    form = flag_form or FlagForm(prefix="flag")
    return render_template("dsr/instruction.html", instruction=instruction, flag_form=form), form_status(form)


@bp.route("/instructions/<int:instruction_id>")
def instruction_detail(instruction_id: int) -> Any:
    return _instruction_page(_visible_instruction(instruction_id))


@bp.route("/instructions/<int:instruction_id>/flag", methods=["POST"])
def flag(instruction_id: int) -> Any:
    instruction = _visible_instruction(instruction_id)
    if not current_user.can_write:
        abort(403)
    form = FlagForm(prefix="flag")
    if form.validate_on_submit():

        def flag_and_notify() -> list[RequestNotice]:
            flag_unlawful(current_user, instruction, form.reason.data or "")
            return queue_flag_notice(current_user, instruction)

        notices = run_action(
            form,
            flag_and_notify,
            lambda notices: f"Flagged unlawful; notice queued to {', '.join(n.email for n in notices)}.",
        )
        if notices is not None:
            return redirect(url_for("dsr.instruction_detail", instruction_id=instruction_id))
    return _instruction_page(instruction, form)
