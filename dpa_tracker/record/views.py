"""The Art. 30(2) record pages: view, hand out a copy (a POST that keeps a version), download
kept versions, compare them, review; processing activities, transfers and the measure library."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from dpa_tracker.document.upload import upload_document
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.download import send_stored_file
from dpa_tracker.extensions import db
from dpa_tracker.ids import parse_id, parse_ids
from dpa_tracker.models import (
    Client,
    DocumentKind,
    ProcessingActivity,
    RecordVersion,
    Role,
    SecurityMeasure,
    SubProcessor,
    Transfer,
)
from dpa_tracker.obligation.services import today
from dpa_tracker.permissions import (
    can_hand_out_record,
    ensure_client_visible,
    require_login,
    roles_required,
    staff_only,
)
from dpa_tracker.record.builder import build_record
from dpa_tracker.record.forms import (
    ActivityForm,
    DocumentForm,
    HandOutForm,
    MeasureForm,
    RequestForm,
    ReviewForm,
    TransferForm,
)
from dpa_tracker.record.services import (
    ActivityInput,
    MeasureInput,
    TransferInput,
    add_transfer,
    client_request,
    create_activity,
    create_measure,
    diff_versions,
    hand_out,
    mark_reviewed,
    update_activity,
)
from dpa_tracker.reports.record_files import MIMETYPES, record_response
from dpa_tracker.web import as_of_from_request, form_status, run_action

bp = Blueprint("record", __name__)
require_login(bp)


def visible_client(client_id: int) -> Client:
    client = db.get_or_404(Client, client_id)
    ensure_client_visible(current_user, client.id)
    return client


@bp.route("/clients/<int:client_id>/record")
def show(client_id: int) -> str:
    client = visible_client(client_id)
    as_of = as_of_from_request() or today()
    data = build_record(client, as_of)
    versions = db.session.scalars(
        select(RecordVersion).where(RecordVersion.client_id == client.id).order_by(RecordVersion.number.desc())
    ).all()
    hand_out_form = HandOutForm(prefix="handout", as_of=as_of)
    return render_template(
        "record/show.html",
        client=client,
        record=data,
        as_of=as_of,
        versions=versions,
        hand_out_form=hand_out_form,
        may_hand_out=can_hand_out_record(current_user, client.id),
        review_form=ReviewForm(prefix="review"),
        request_form=RequestForm(prefix="copy"),
        documents_form=RequestForm(prefix="docs"),
    )


@bp.route("/clients/<int:client_id>/record/versions", methods=["POST"])
def create_version(client_id: int) -> Response:
    """Hand out a copy: keep it as a numbered version, then send the browser to its download.

    Only a POST creates a version, so a link, a prefetcher or an auditor's download never hands
    out a copy nor answers a clause 4.2 request.
    """
    client = visible_client(client_id)
    if not can_hand_out_record(current_user, client.id):
        abort(403)
    form = HandOutForm(prefix="handout")
    if not form.validate_on_submit():
        flash("Choose a format and a valid date.", "error")
        return redirect(url_for("record.show", client_id=client.id), 303)
    as_of = form.as_of.data
    assert as_of is not None  # InputRequired
    if as_of > today():
        flash("A record cannot be dated in the future.", "error")
        return redirect(url_for("record.show", client_id=client.id), 303)
    try:
        version, _ = hand_out(current_user, client, as_of, form.format.data, to_client=bool(form.to_client.data))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("record.show", client_id=client.id), 303)
    number, fmt = version.number, version.handed_out_as
    db.session.commit()
    # No flash: the browser stays on this page while it downloads, so a message would surface on
    # whatever page comes next. The versions table shows the new version on the next visit.
    return redirect(url_for("record.download_version", client_id=client.id, number=number, fmt=fmt), 303)


@bp.route("/clients/<int:client_id>/record/versions/<int:number>.<fmt>")
def download_version(client_id: int, number: int, fmt: str) -> Response:
    """An earlier version exactly as it was handed out (no new version is created)."""
    if fmt not in MIMETYPES:
        abort(404)
    client = visible_client(client_id)
    version = db.session.scalar(
        select(RecordVersion).where(RecordVersion.client_id == client.id, RecordVersion.number == number)
    )
    if version is None:
        abort(404)
    return record_response(client, json.loads(version.content), fmt, version)


@bp.route("/clients/<int:client_id>/record/diff")
def diff(client_id: int) -> str:
    client = visible_client(client_id)
    numbers = []
    for key in ("from", "to"):
        number = parse_id(request.args.get(key, ""))
        if number is None:
            abort(400, description=f"'{key}' must be a version number.")
        numbers.append(number)
    if numbers[0] == numbers[1]:
        abort(400, description="Choose two different versions to compare.")
    rows = db.session.scalars(
        select(RecordVersion).where(RecordVersion.client_id == client.id, RecordVersion.number.in_(numbers))
    ).all()
    if len(rows) != 2:
        abort(404)
    older, newer = sorted(rows, key=lambda v: v.number)
    lines = diff_versions(older, newer)
    return render_template("record/diff.html", client=client, older=older, newer=newer, lines=lines)


@bp.route("/clients/<int:client_id>/record/review", methods=["POST"])
@staff_only
def review(client_id: int) -> Response:
    client = visible_client(client_id)
    form = ReviewForm(prefix="review")
    if form.validate_on_submit():
        try:
            count = mark_reviewed(current_user, client, form.note.data or "")
        except DomainError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(f"Review recorded on clause 4.1 of {count} agreement(s).", "success")
    else:
        flash("The review note is too long.", "error")
    return redirect(url_for("record.show", client_id=client.id))


def _client_request(client: Client, clause: str, prefix: str, label: str) -> Response:
    form = RequestForm(prefix=prefix)
    if not form.validate_on_submit():
        flash("Describe what you need.", "error")
        return redirect(url_for("record.show", client_id=client.id))
    try:
        client_request(current_user, client, clause, label, form.summary.data or "")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"{label} sent; the processor's clause {clause} clock has started.", "success")
    return redirect(url_for("record.show", client_id=client.id))


@bp.route("/clients/<int:client_id>/record/request-copy", methods=["POST"])
@roles_required(Role.CLIENT)
def request_copy(client_id: int) -> Response:
    """Clause 4.2: the client asks for a copy of the record."""
    return _client_request(visible_client(client_id), "4.2", "copy", "Request for a copy of the record")


@bp.route("/clients/<int:client_id>/documents/request", methods=["POST"])
@roles_required(Role.CLIENT)
def request_documents(client_id: int) -> Response:
    """Clause 11.1: the client asks for documents showing compliance."""
    return _client_request(visible_client(client_id), "11.1", "docs", "Document request")


def _activity_form(activity: ProcessingActivity | None) -> ActivityForm:
    form = ActivityForm()
    form.measure_ids.choices = [
        (str(m.id), m.title)
        for m in db.session.scalars(
            select(SecurityMeasure).where(SecurityMeasure.archived_at.is_(None)).order_by(SecurityMeasure.title)
        )
    ]
    form.subprocessor_ids.choices = [
        (str(s.id), s.legal_name) for s in db.session.scalars(select(SubProcessor).order_by(SubProcessor.legal_name))
    ]
    if activity is not None and not form.is_submitted():
        form.name.data = activity.name
        form.processing_categories.data = list(activity.processing_categories)
        form.data_subject_categories.data = "\n".join(activity.data_subject_categories)
        form.personal_data_categories.data = "\n".join(activity.personal_data_categories)
        form.special_categories.data = "\n".join(activity.special_categories)
        form.purposes.data = activity.purposes
        form.retention.data = activity.retention
        form.locations.data = "\n".join(f"{loc['country']} {loc.get('site', '')}".strip() for loc in activity.locations)
        form.measure_ids.data = [str(m.id) for m in activity.measures]
        form.subprocessor_ids.data = [str(s.id) for s in activity.subprocessors]
    return form


def _activity_input(form: ActivityForm) -> ActivityInput:
    def lines(value: str | None) -> list[str]:
        return [line.strip() for line in (value or "").splitlines() if line.strip()]

    locations = []
    for line in lines(form.locations.data):
        country, _, site = line.partition(" ")
        locations.append({"country": country, "site": site.strip(" —-:")})
    return ActivityInput(
        name=form.name.data or "",
        processing_categories=list(form.processing_categories.data or []),
        data_subject_categories=lines(form.data_subject_categories.data),
        personal_data_categories=lines(form.personal_data_categories.data),
        special_categories=lines(form.special_categories.data),
        purposes=form.purposes.data or "",
        retention=form.retention.data or "",
        locations=locations,
        measure_ids=parse_ids(form.measure_ids.data),
        subprocessor_ids=parse_ids(form.subprocessor_ids.data),
    )


@bp.route("/clients/<int:client_id>/activities/new", methods=["GET", "POST"])
@staff_only
def new_activity(client_id: int) -> Any:
    client = visible_client(client_id)
    form = _activity_form(None)
    if form.validate_on_submit():
        activity = run_action(
            form, lambda: create_activity(current_user, client, _activity_input(form)), "Activity added to the record."
        )
        if activity is not None:
            return redirect(url_for("record.show", client_id=client.id))
    return render_template("record/activity_form.html", form=form, client=client, activity=None), form_status(form)


@bp.route("/activities/<int:activity_id>", methods=["GET", "POST"])
def edit_activity(activity_id: int) -> Any:
    activity = db.get_or_404(ProcessingActivity, activity_id)
    ensure_client_visible(current_user, activity.client_id)
    if request.method == "POST" and not current_user.can_write:
        abort(403)
    form = _activity_form(activity)
    if current_user.can_write and form.validate_on_submit():
        updated = run_action(
            form, lambda: update_activity(current_user, activity, _activity_input(form)), "Activity updated."
        )
        if updated is not None:
            return redirect(url_for("record.edit_activity", activity_id=activity.id))
    return render_template(
        "record/activity_form.html",
        form=form,
        client=activity.client,
        activity=activity,
        transfer_form=TransferForm(prefix="transfer"),
        document_form=DocumentForm(prefix="doc"),
    ), form_status(form)


@bp.route("/activities/<int:activity_id>/transfers", methods=["POST"])
@staff_only
def new_transfer(activity_id: int) -> Response:
    activity = db.get_or_404(ProcessingActivity, activity_id)
    form = TransferForm(prefix="transfer")
    if form.validate_on_submit():
        try:
            add_transfer(
                current_user,
                activity,
                TransferInput(
                    destination=form.destination.data or "",
                    recipient=form.recipient.data or "",
                    mechanism=form.mechanism.data or "",
                    mechanism_detail=form.mechanism_detail.data or "",
                    is_international_organisation=bool(form.is_international_organisation.data),
                ),
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash("Transfer recorded.", "success")
    else:
        flash("Give the destination, the recipient and the mechanism.", "error")
    return redirect(url_for("record.edit_activity", activity_id=activity.id))


@bp.route("/transfers/<int:transfer_id>/documents", methods=["POST"])
@staff_only
def transfer_document(transfer_id: int) -> Response:
    transfer = db.get_or_404(Transfer, transfer_id)
    upload_document(transfer, DocumentKind.SAFEGUARDS)
    return redirect(url_for("record.edit_activity", activity_id=transfer.activity_id))


@bp.route("/measures", methods=["GET", "POST"])
def measures() -> Any:
    if current_user.role not in (Role.ADMIN, Role.COMPLIANCE, Role.AUDITOR):
        abort(403)
    if request.method == "POST" and not current_user.can_write:
        abort(403)
    form = MeasureForm()
    if current_user.can_write and form.validate_on_submit():
        data = MeasureInput(
            heading=form.heading.data or "",
            title=form.title.data or "",
            description=form.description.data or "",
        )
        if run_action(form, lambda: create_measure(current_user, data), "Measure added to the library.") is not None:
            return redirect(url_for("record.measures"))
    rows = db.session.scalars(select(SecurityMeasure).order_by(SecurityMeasure.heading, SecurityMeasure.title)).all()
    return render_template(
        "record/measures.html", measures=rows, form=form, document_form=DocumentForm(prefix="doc")
    ), form_status(form)


@bp.route("/measures/<int:measure_id>/documents", methods=["POST"])
@staff_only
def measure_document(measure_id: int) -> Response:
    upload_document(db.get_or_404(SecurityMeasure, measure_id), DocumentKind.MEASURE)
    return redirect(url_for("record.measures"))


@bp.route("/documents/<int:document_id>/download")
def document_download(document_id: int) -> Response:
    """Transfer documents belong to one client; measure and sub-processor documents are the processor's."""
    from dpa_tracker.models import SupportingDocument

    document = db.get_or_404(SupportingDocument, document_id)
    if document.transfer_id is not None:
        transfer = db.get_or_404(Transfer, document.transfer_id)
        ensure_client_visible(current_user, transfer.activity.client_id)
    elif current_user.role is Role.CLIENT:
        abort(404)
    return send_stored_file(document.sha256, document.content_type, document.filename)
