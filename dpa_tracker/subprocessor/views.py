"""Sub-processor catalogue, change notices, and the client's portal view of them."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response as BaseResponse

from dpa_tracker.breach.notices import failed_notices as failed_breach_notices
from dpa_tracker.breach.notices import requeue as requeue_breach_notices
from dpa_tracker.document.upload import upload_document
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.ids import parse_id, parse_ids
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    AnswerState,
    ChangeKind,
    ChangeNotice,
    Client,
    DocumentKind,
    NoticeDelivery,
    NoticeRecipient,
    Role,
    SubProcessor,
)
from dpa_tracker.models.subprocessor import ObjectionConsequence
from dpa_tracker.obligation.services import today
from dpa_tracker.permissions import client_filter, ensure_client_visible, require_login, roles_required, staff_only
from dpa_tracker.record.builder import content_hash
from dpa_tracker.record.forms import DocumentForm
from dpa_tracker.reports.record_csv import render_subprocessors_csv
from dpa_tracker.subprocessor.authorised import (
    authorised_for_client,
    describe_effect,
    silence_binds,
    subprocessor_rows,
)
from dpa_tracker.subprocessor.forms import AnswerForm, AuthoriseForm, NoticeForm, SubProcessorForm
from dpa_tracker.subprocessor.notices import answer, failed_deliveries, propose_change, requeue
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor
from dpa_tracker.web import as_of_from_request, form_status, run_action, show_domain_error

bp = Blueprint("subprocessor", __name__)
require_login(bp)


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


@bp.route("/subprocessors", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.COMPLIANCE, Role.AUDITOR)
def catalogue() -> Any:
    form = SubProcessorForm()
    if form.is_submitted() and not current_user.can_write:
        abort(403)
    if form.validate_on_submit():
        data = SubProcessorInput(
            legal_name=form.legal_name.data or "",
            country=form.country.data or "",
            service=form.service.data or "",
            data_categories=_lines(form.data_categories.data),
            locations=_lines(form.locations.data),
            transfer_mechanism=form.transfer_mechanism.data or "",
            contact_email=form.contact_email.data or "",
            dpo_name=form.dpo_name.data or "",
            dpo_email=form.dpo_email.data or "",
        )
        sub = run_action(
            form,
            lambda: create_subprocessor(current_user, data),
            lambda sub: f"{sub.legal_name} added to the catalogue.",
        )
        if sub is not None:
            return redirect(url_for("subprocessor.detail", subprocessor_id=sub.id))
    rows = db.session.scalars(select(SubProcessor).order_by(SubProcessor.legal_name)).all()
    return render_template("subprocessor/catalogue.html", subprocessors=rows, form=form), form_status(form)


@bp.route("/subprocessors/<int:subprocessor_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.COMPLIANCE, Role.AUDITOR)
def detail(subprocessor_id: int) -> Any:
    sub = db.get_or_404(SubProcessor, subprocessor_id)
    form = AuthoriseForm(prefix="auth")
    form.agreement_id.choices = [
        (str(a.id), f"{a.reference} — {a.client.legal_name}")
        for a in db.session.scalars(
            select(Agreement)
            .where(Agreement.status == AgreementStatus.ACTIVE)
            .options(selectinload(Agreement.client))
            .order_by(Agreement.reference)
        )
    ]
    if form.is_submitted() and not current_user.can_write:
        abort(403)
    if form.validate_on_submit():
        agreement_pk = parse_id(form.agreement_id.data)
        agreement = db.session.get(Agreement, agreement_pk) if agreement_pk is not None else None
        if agreement is None:
            form.agreement_id.errors = [*form.agreement_id.errors, "Choose an agreement."]
        else:
            assert form.since_on.data is not None  # InputRequired
            try:
                upload = form.written.data
                authorise(
                    current_user,
                    agreement,
                    sub,
                    form.since_on.data,
                    Upload(upload.stream, upload.filename) if upload and upload.filename else None,
                )
            except DomainError as error:
                show_domain_error(form, error)
            else:
                db.session.commit()
                flash(f"{sub.legal_name} authorised for {agreement.reference}.", "success")
                return redirect(url_for("subprocessor.detail", subprocessor_id=sub.id))
    return render_template(
        "subprocessor/detail.html",
        sub=sub,
        form=form,
        document_form=DocumentForm(prefix="doc"),
        kinds=[DocumentKind.GUARANTEE, DocumentKind.FLOW_DOWN],
    ), form_status(form)


@bp.route("/subprocessors/<int:subprocessor_id>/documents/<kind>", methods=["POST"])
@staff_only
def document(subprocessor_id: int, kind: str) -> BaseResponse:
    sub = db.get_or_404(SubProcessor, subprocessor_id)
    if kind not in (DocumentKind.GUARANTEE.value, DocumentKind.FLOW_DOWN.value):
        abort(404)
    upload_document(sub, DocumentKind(kind))
    return redirect(url_for("subprocessor.detail", subprocessor_id=sub.id))


@bp.route("/notices")
@roles_required(Role.ADMIN, Role.COMPLIANCE, Role.AUDITOR)
def notices() -> str:
    """Staff see every notice; an auditor only the notices, and the rows of a notice, of assigned clients."""
    visible = client_filter(current_user, Agreement.client_id)
    rows = db.session.scalars(
        select(ChangeNotice)
        .where(ChangeNotice.id.in_(select(NoticeRecipient.notice_id).join(NoticeRecipient.agreement).where(visible)))
        .options(
            selectinload(ChangeNotice.subprocessor),
            selectinload(ChangeNotice.replaces),
        )
        .order_by(ChangeNotice.id.desc())
        .limit(200)
    ).all()
    # Loaded apart, not through ``ChangeNotice.recipients``: one notice can go to clients the user may not see.
    recipients: dict[int, list[NoticeRecipient]] = {n.id: [] for n in rows}
    for recipient in db.session.scalars(
        select(NoticeRecipient)
        .join(NoticeRecipient.agreement)
        .where(visible, NoticeRecipient.notice_id.in_(list(recipients)))
        .options(
            selectinload(NoticeRecipient.agreement).selectinload(Agreement.client),
            selectinload(NoticeRecipient.deliveries),
        )
        .order_by(NoticeRecipient.id)
    ):
        recipients[recipient.notice_id].append(recipient)
    return render_template(
        "subprocessor/notices.html", notices=rows, recipients=recipients, describe_effect=describe_effect, today=today()
    )


@bp.route("/notices/new", methods=["GET", "POST"])
@staff_only
def new_notice() -> Any:
    form = NoticeForm()
    subs = db.session.scalars(select(SubProcessor).order_by(SubProcessor.legal_name)).all()
    form.subprocessor_id.choices = [(str(s.id), s.legal_name) for s in subs]
    form.replaces_id.choices = [("", "—")] + [(str(s.id), s.legal_name) for s in subs]
    form.agreement_ids.choices = [
        (str(a.id), f"{a.reference} — {a.client.legal_name}")
        for a in db.session.scalars(
            select(Agreement)
            .where(Agreement.status == AgreementStatus.ACTIVE)
            .options(selectinload(Agreement.client))
            .order_by(Agreement.reference)
        )
    ]
    form.corrects_id.choices = [("", "—")] + [
        (str(n.id), f"#{n.id}")
        for n in db.session.scalars(select(ChangeNotice).order_by(ChangeNotice.id.desc()).limit(100))
    ]
    if form.validate_on_submit():
        sub = db.get_or_404(SubProcessor, int(form.subprocessor_id.data))  # one of the form's choices
        replaces = db.session.get(SubProcessor, int(form.replaces_id.data)) if form.replaces_id.data else None
        corrects = db.session.get(ChangeNotice, int(form.corrects_id.data)) if form.corrects_id.data else None
        agreements = list(
            db.session.scalars(select(Agreement).where(Agreement.id.in_(parse_ids(form.agreement_ids.data))))
        )
        # Only queued: `flask notices send` (cron) talks to the SMTP server, never a request.
        notice = run_action(
            form,
            lambda: propose_change(
                current_user,
                ChangeKind(form.kind.data),
                sub,
                agreements,
                form.reason.data or "",
                replaces=replaces,
                corrects=corrects,
            ),
            lambda notice: (
                f"Notice #{notice.id} saved; queued: {sum(len(r.deliveries) for r in notice.recipients)} e-mail(s). "
                "They are sent by the next flask notices send."
            ),
        )
        if notice is not None:
            return redirect(url_for("subprocessor.notices"))
    return render_template("subprocessor/notice_form.html", form=form), form_status(form)


@bp.route("/notices/deliveries")
@staff_only
def deliveries() -> str:
    return render_template(
        "subprocessor/deliveries.html", deliveries=failed_deliveries(), breach_notices=failed_breach_notices()
    )


@bp.route("/notices/retry", methods=["POST"])
@staff_only
def retry() -> BaseResponse:
    """Queue every failed e-mail again (the next `flask notices send` sends them)."""
    count = requeue(current_user, failed_deliveries()) + requeue_breach_notices(current_user, failed_breach_notices())
    db.session.commit()
    flash(f"{count} e-mail(s) queued again; the next flask notices send delivers them.", "success")
    return redirect(url_for("subprocessor.deliveries"))


@bp.route("/notices/deliveries/<int:delivery_id>/retry", methods=["POST"])
@staff_only
def retry_delivery(delivery_id: int) -> BaseResponse:
    delivery = db.get_or_404(NoticeDelivery, delivery_id)
    if requeue(current_user, [delivery]):
        db.session.commit()
        flash(f"The e-mail to {delivery.email} is queued again; the next flask notices send delivers it.", "success")
    else:
        flash(f"The e-mail to {delivery.email} is {delivery.state.value}, not failed: nothing to retry.", "error")
    return redirect(url_for("subprocessor.deliveries"))


# --- client portal --------------------------------------------------------------------------


@bp.route("/clients/<int:client_id>/subprocessors")
def client_list(client_id: int) -> str:
    client = db.get_or_404(Client, client_id)
    ensure_client_visible(current_user, client.id)
    as_of = as_of_from_request() or today()
    return render_template(
        "subprocessor/client_list.html", client=client, as_of=as_of, entries=authorised_for_client(client.id, as_of)
    )


@bp.route("/clients/<int:client_id>/subprocessors.<fmt>")
def client_list_download(client_id: int, fmt: str) -> Response:
    client = db.get_or_404(Client, client_id)
    ensure_client_visible(current_user, client.id)
    if fmt not in ("pdf", "csv", "json"):
        abort(404)
    as_of = as_of_from_request() or today()
    rows = subprocessor_rows(client, as_of)
    digest = content_hash({"client": client.id, "as_of": as_of.isoformat(), "subprocessors": rows})
    if fmt == "json":
        body = json.dumps(
            {"client": client.legal_name, "as_of": as_of.isoformat(), "sha256": digest, "subprocessors": rows},
            ensure_ascii=False,
            indent=2,
        ).encode("utf-8")
        mimetype = "application/json"
    elif fmt == "csv":
        body, mimetype = render_subprocessors_csv(rows), "text/csv"  # Werkzeug adds the charset
    else:
        from dpa_tracker.reports.record_pdf import render_subprocessor_list_pdf

        body = render_subprocessor_list_pdf(client.legal_name, as_of.isoformat(), rows, digest)
        mimetype = "application/pdf"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="subprocessors-{client.id}-{as_of}.{fmt}"'
    return response


@bp.route("/clients/<int:client_id>/notices")
def client_notices(client_id: int) -> str:
    client = db.get_or_404(Client, client_id)
    ensure_client_visible(current_user, client.id)
    recipients = db.session.scalars(
        select(NoticeRecipient)
        .join(NoticeRecipient.agreement)
        .where(Agreement.client_id == client.id)
        .options(
            selectinload(NoticeRecipient.notice).selectinload(ChangeNotice.subprocessor),
            selectinload(NoticeRecipient.notice).selectinload(ChangeNotice.replaces),
            selectinload(NoticeRecipient.agreement),
        )
        .order_by(NoticeRecipient.id.desc())
    ).all()
    day = today()
    # Open to an answer until silence binds (general authorisation, delivered, deadline passed).
    pending = [
        r
        for r in recipients
        if r.state is AnswerState.PENDING
        and (r.notice.kind is ChangeKind.REMOVE or not silence_binds(r) or r.objection_deadline >= day)
    ]
    past = [r for r in recipients if r not in pending]
    return render_template(
        "subprocessor/client_notices.html",
        client=client,
        pending=pending,
        past=past,
        describe_effect=describe_effect,
        today=day,
        form=AnswerForm(),
    )


@bp.route("/notice-recipients/<int:recipient_id>/answer", methods=["POST"])
@roles_required(Role.CLIENT)
def answer_notice(recipient_id: int) -> BaseResponse:
    recipient = db.get_or_404(NoticeRecipient, recipient_id)
    ensure_client_visible(current_user, recipient.agreement.client_id)
    form = AnswerForm(prefix=f"answer-{recipient.id}")
    if not form.validate_on_submit():
        flash("Choose approve or object.", "error")
    else:
        try:
            answer(
                current_user,
                recipient,
                form.decision.data == "approve",
                form.reason.data or "",
                ObjectionConsequence(form.consequence.data),
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            if recipient.state is AnswerState.APPROVED:
                flash("Your approval is recorded.", "success")
            elif recipient.notice.kind is ChangeKind.REMOVE:
                flash("Your objection is recorded; a removal needs no consent, so it still applies.", "success")
            else:
                flash("Your objection is recorded; the change will not apply to your agreement.", "success")
    return redirect(url_for("subprocessor.client_notices", client_id=recipient.agreement.client_id))
