"""Clause 11 pages: the client's document and audit requests per agreement, the audits with their findings and
remediation actions, and the certifications the processor holds. Staff edit; auditors and clients read their own;
a client requests a certification and downloads only those shared with it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.download import send_stored_file
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.ids import parse_id
from dpa_tracker.inspection.forms import (
    CertificationForm,
    CertificationRequestForm,
    CloseFindingForm,
    DocumentsForm,
    EngagementForm,
    FindingForm,
    InspectionForm,
    RemediationDoneForm,
    RemediationForm,
)
from dpa_tracker.inspection.services import (
    APPOINTED_TITLES,
    KIND_TITLES,
    CertificationInput,
    EngagementInput,
    FindingInput,
    InspectionInput,
    RemediationInput,
    add_certification,
    add_finding,
    add_remediation,
    answered_on,
    certifications,
    close_finding,
    complete_remediation,
    documents_provided,
    inspection_loader,
    provide_documents,
    record_inspection,
    request_certification,
    save_engagement,
    share_certification,
    shared_with,
    tension,
    visible_inspections,
)
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    Certification,
    Finding,
    InspectionKind,
    InspectionRequest,
    Obligation,
    RemediationAction,
    Role,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.models.inspection import CERTIFICATION_TITLES
from dpa_tracker.obligation.services import assess_obligation
from dpa_tracker.permissions import (
    can_see_client,
    client_filter,
    require_login,
    staff_only,
    visible_client_ids,
    visible_or_404,
)
from dpa_tracker.web import form_status, id_from_request, run_action

bp = Blueprint("inspection", __name__)
require_login(bp)


def _agreements() -> list[Agreement]:
    return list(
        db.session.scalars(
            select(Agreement)
            .where(Agreement.status != AgreementStatus.DRAFT, client_filter(current_user, Agreement.client_id))
            .options(selectinload(Agreement.client))
            .order_by(Agreement.reference)
        )
    )


def _upload(field: Any) -> Upload | None:
    data = field.data
    return Upload(data.stream, data.filename) if data and getattr(data, "filename", "") else None


def _visible(inspection_id: int) -> InspectionRequest:
    inspection = db.session.scalar(
        select(InspectionRequest).where(InspectionRequest.id == inspection_id).options(*inspection_loader())
    )
    return visible_or_404(current_user, inspection, lambda inspection: [inspection.agreement.client_id])


def _staff(inspection_id: int) -> InspectionRequest:
    inspection = _visible(inspection_id)
    if not current_user.can_write:
        abort(403)
    return inspection


@bp.route("/inspections")
def index(form: InspectionForm | None = None) -> Any:
    agreement_id = id_from_request("agreement_id")
    agreement = None
    if agreement_id is not None:
        agreement = db.session.get(Agreement, agreement_id)
        if agreement is None or not can_see_client(current_user, agreement.client_id):
            abort(404)
    form = form or InspectionForm(prefix="new")
    if current_user.can_write:
        form.agreement_id.choices = [(str(a.id), f"{a.reference} — {a.client.legal_name}") for a in _agreements()]
        if agreement is not None and not form.agreement_id.data:
            form.agreement_id.data = str(agreement.id)
    rows = [(i, answered_on(i)) for i in visible_inspections(current_user, agreement_id)]
    return render_template(
        "inspection/index.html", rows=rows, agreement=agreement, form=form, kind_titles=KIND_TITLES
    ), form_status(form)


@bp.route("/inspections", methods=["POST"])
@staff_only
def create() -> Any:
    form = InspectionForm(prefix="new")
    agreements = _agreements()
    form.agreement_id.choices = [(str(a.id), a.reference) for a in agreements]
    if form.validate_on_submit():
        agreement = next((a for a in agreements if str(a.id) == form.agreement_id.data), None)

        def record() -> InspectionRequest:
            if agreement is None:
                raise DomainError("Unknown agreement.", field="agreement_id")
            return record_inspection(
                current_user,
                agreement,
                InspectionInput(
                    kind=form.kind.data or "",
                    received_on=form.received_on.data,
                    requester_name=form.requester_name.data or "",
                    requester_email=form.requester_email.data or "",
                    subject=form.subject.data or "",
                ),
            )

        inspection = run_action(
            form,
            record,
            lambda inspection: (
                f"Request #{inspection.id} recorded; clause {inspection.event.obligation.clause_number}'s clock runs."
            ),
        )
        if inspection is not None:
            return redirect(url_for("inspection.detail", inspection_id=inspection.id))
    return index(form)


def _detail(inspection: InspectionRequest, **forms: Any) -> Any:
    obligation = inspection.event.obligation
    engagement = inspection.engagement
    documents_form = forms.get("documents_form") or DocumentsForm(prefix="docs")
    engagement_form = forms.get("engagement_form") or EngagementForm(prefix="audit", obj=engagement)
    if engagement is not None and "engagement_form" not in forms:
        engagement_form.appointed_by.data = engagement.appointed_by.value
        engagement_form.cost_amount.data = str(engagement.cost_amount) if engagement.cost_amount is not None else ""
    finding_form = forms.get("finding_form") or FindingForm(prefix="finding")
    clauses = db.session.scalars(
        select(Obligation.clause_number)
        .where(Obligation.agreement_id == inspection.agreement_id)
        .order_by(Obligation.position)
    ).all()
    finding_form.clause.choices = [(c, c) for c in clauses]
    owners = db.session.scalars(
        select(User).where(User.role.in_([Role.ADMIN, Role.COMPLIANCE]), User.active.is_(True)).order_by(User.email)
    ).all()
    remediation_forms: dict[int, RemediationForm] = {}
    close_forms: dict[int, CloseFindingForm] = {}
    done_forms: dict[int, RemediationDoneForm] = {}
    for finding in engagement.findings if engagement else []:
        rf = forms.get(f"remediation_{finding.id}") or RemediationForm(prefix=f"rem{finding.id}")
        rf.owner_id.choices = [(str(u.id), u.display_name) for u in owners]
        remediation_forms[finding.id] = rf
        close_forms[finding.id] = forms.get(f"close_{finding.id}") or CloseFindingForm(prefix=f"close{finding.id}")
        for action in finding.actions:
            done_forms[action.id] = forms.get(f"done_{action.id}") or RemediationDoneForm(prefix=f"done{action.id}")
    all_forms = [documents_form, engagement_form, finding_form, *remediation_forms.values(), *close_forms.values()]
    all_forms += list(done_forms.values())
    today = utcnow().date()
    return render_template(
        "inspection/detail.html",
        inspection=inspection,
        engagement=engagement,
        assessment=assess_obligation(obligation),
        obligation=obligation,
        documents=documents_provided(inspection),
        documents_form=documents_form,
        engagement_form=engagement_form,
        finding_form=finding_form,
        remediation_forms=remediation_forms,
        close_forms=close_forms,
        done_forms=done_forms,
        tension=tension(engagement) if engagement else None,
        appointed_titles=APPOINTED_TITLES,
        kind_titles=KIND_TITLES,
        today=today,
        audit=InspectionKind.AUDIT,
    ), max(form_status(f) for f in all_forms)


@bp.route("/inspections/<int:inspection_id>")
def detail(inspection_id: int) -> Any:
    return _detail(_visible(inspection_id))


def _to_detail(inspection: InspectionRequest) -> Any:
    return redirect(url_for("inspection.detail", inspection_id=inspection.id))


@bp.route("/inspections/<int:inspection_id>/documents", methods=["POST"])
def documents(inspection_id: int) -> Any:
    inspection = _staff(inspection_id)
    form = DocumentsForm(prefix="docs")
    if form.validate_on_submit():
        provided = run_action(
            form,
            lambda: provide_documents(
                current_user, inspection, form.provided_on.data, form.note.data or "", _upload(form.file)
            ),
            "Documents provided recorded; they answer the request.",
        )
        if provided is not None:
            return _to_detail(inspection)
    return _detail(_visible(inspection_id), documents_form=form)


@bp.route("/inspections/<int:inspection_id>/share", methods=["POST"])
def share(inspection_id: int) -> Any:
    inspection = _staff(inspection_id)
    try:  # CSRFProtect has checked the token
        share_certification(current_user, inspection)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash("Certification shared: the client can download it.", "success")
    return _to_detail(inspection)


@bp.route("/inspections/<int:inspection_id>/audit", methods=["POST"])
def audit(inspection_id: int) -> Any:
    inspection = _staff(inspection_id)
    form = EngagementForm(prefix="audit")
    if form.validate_on_submit():
        data = EngagementInput(
            auditor_organisation=form.auditor_organisation.data or "",
            auditor_people=form.auditor_people.data or "",
            appointed_by=form.appointed_by.data or "",
            controller_mandate=bool(form.controller_mandate.data),
            planned_on=form.planned_on.data,
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
            scope=form.scope.data or "",
            continuity_conditions=form.continuity_conditions.data or "",
            cost_amount=form.cost_amount.data or "",
            cost_currency=form.cost_currency.data or "",
            cost_note=form.cost_note.data or "",
        )
        declaration, report = _upload(form.declaration), _upload(form.report)
        saved = run_action(
            form, lambda: save_engagement(current_user, inspection, data, declaration, report), "Audit saved."
        )
        if saved is not None:
            return _to_detail(inspection)
    return _detail(_visible(inspection_id), engagement_form=form)


@bp.route("/inspections/<int:inspection_id>/findings", methods=["POST"])
def finding(inspection_id: int) -> Any:
    inspection = _staff(inspection_id)
    form = FindingForm(prefix="finding")
    form.clause.choices = [
        (c, c)
        for c in db.session.scalars(
            select(Obligation.clause_number).where(Obligation.agreement_id == inspection.agreement_id)
        )
    ]
    if form.validate_on_submit():

        def add() -> Finding:
            if inspection.engagement is None:
                raise DomainError("Record the audit before its findings.", field="clause")
            return add_finding(
                current_user,
                inspection.engagement,
                FindingInput(
                    clause=form.clause.data or "",
                    severity=form.severity.data or "",
                    description=form.description.data or "",
                    due_on=form.due_on.data,
                ),
            )

        if run_action(form, add, "Finding recorded; open past its due date it makes its clause overdue.") is not None:
            return _to_detail(inspection)
    return _detail(_visible(inspection_id), finding_form=form)


def _staff_finding(finding_id: int) -> Finding:
    found = db.get_or_404(Finding, finding_id)
    _staff(found.engagement.inspection_id)
    return found


@bp.route("/findings/<int:finding_id>/close", methods=["POST"])
def close(finding_id: int) -> Any:
    found = _staff_finding(finding_id)
    inspection = found.engagement.inspection
    form = CloseFindingForm(prefix=f"close{found.id}")
    if form.validate_on_submit():
        closed = run_action(
            form,
            lambda: close_finding(current_user, found, form.closed_on.data, form.note.data or "", _upload(form.file)),
            f"Finding #{found.id} closed with evidence.",
        )
        if closed is not None:
            return _to_detail(inspection)
    return _detail(_visible(inspection.id), **{f"close_{found.id}": form})


@bp.route("/findings/<int:finding_id>/actions", methods=["POST"])
def remediation(finding_id: int) -> Any:
    found = _staff_finding(finding_id)
    inspection = found.engagement.inspection
    form = RemediationForm(prefix=f"rem{found.id}")
    form.owner_id.choices = [
        (str(u.id), u.email)
        for u in db.session.scalars(select(User).where(User.role.in_([Role.ADMIN, Role.COMPLIANCE])))
    ]
    if form.validate_on_submit():
        data = RemediationInput(
            description=form.description.data or "",
            owner_id=parse_id(form.owner_id.data or ""),
            due_on=form.due_on.data,
        )
        added = run_action(form, lambda: add_remediation(current_user, found, data), "Remediation action recorded.")
        if added is not None:
            return _to_detail(inspection)
    return _detail(_visible(inspection.id), **{f"remediation_{found.id}": form})


@bp.route("/remediation-actions/<int:action_id>/done", methods=["POST"])
def remediation_done(action_id: int) -> Any:
    action = db.get_or_404(RemediationAction, action_id)
    inspection = _staff(action.finding.engagement.inspection_id)
    form = RemediationDoneForm(prefix=f"done{action.id}")
    if form.validate_on_submit():
        done = run_action(
            form,
            lambda: complete_remediation(current_user, action, form.done_on.data, _upload(form.file)),
            "Remediation action done, with its evidence.",
        )
        if done is not None:
            return _to_detail(inspection)
    return _detail(_visible(inspection.id), **{f"done_{action.id}": form})


@bp.route("/inspections/<int:inspection_id>/files/<string:sha256>")
def file(inspection_id: int, sha256: str) -> Response:
    """A document of the audit (declaration, closing report, evidence of closure), for whoever sees the request."""
    inspection = _visible(inspection_id)
    engagement = inspection.engagement
    files: dict[str, tuple[str | None, str | None]] = {}
    if engagement is not None:
        if engagement.declaration_sha256:
            files[engagement.declaration_sha256] = (
                engagement.declaration_content_type,
                engagement.declaration_filename,
            )
        if engagement.report_sha256:
            files[engagement.report_sha256] = (engagement.report_content_type, engagement.report_filename)
        for found in engagement.findings:
            if found.closure is not None:
                files[found.closure.sha256] = (found.closure.content_type, found.closure.filename)
            for action in found.actions:
                if action.sha256:
                    files[action.sha256] = (action.content_type, action.filename)
    if sha256 not in files:
        abort(404)
    content_type, filename = files[sha256]
    return send_stored_file(sha256, content_type, filename or "document")


# --- certifications --------------------------------------------------------------------------------------


@bp.route("/certifications")
def certification_list(
    form: CertificationForm | None = None, request_form: CertificationRequestForm | None = None
) -> Any:
    items = certifications()
    ids = visible_client_ids(current_user)
    shared = shared_with(ids) if current_user.role is Role.CLIENT else set()
    request_form = request_form or CertificationRequestForm(prefix="ask")
    if current_user.role is Role.CLIENT:
        request_form.agreement_id.choices = [(str(a.id), a.reference) for a in _agreements()]
    form = form or CertificationForm(prefix="cert")
    return render_template(
        "inspection/certifications.html",
        items=items,
        shared=shared,
        form=form,
        request_form=request_form,
        titles=CERTIFICATION_TITLES,
        today=utcnow().date(),
        is_client=current_user.role is Role.CLIENT,
    ), max(form_status(form), form_status(request_form))


@bp.route("/certifications", methods=["POST"])
@staff_only
def certification_add() -> Any:
    form = CertificationForm(prefix="cert")
    if form.validate_on_submit():
        data = CertificationInput(
            kind=form.kind.data or "",
            name=form.name.data or "",
            issuer=form.issuer.data or "",
            issued_on=form.issued_on.data,
            expires_on=form.expires_on.data,
        )
        upload = _upload(form.file)
        certification = run_action(
            form,
            lambda: add_certification(current_user, data, upload),
            lambda certification: f"{certification.name} added.",
        )
        if certification is not None:
            return redirect(url_for("inspection.certification_list"))
    return certification_list(form=form)


@bp.route("/certifications/<int:certification_id>/request", methods=["POST"])
def certification_request(certification_id: int) -> Any:
    """A client asks for a certification: a document request (clause 11.1) on one of its agreements."""
    if current_user.role is not Role.CLIENT:
        abort(403)
    certification = db.get_or_404(Certification, certification_id)
    asked = db.session.get(Agreement, parse_id(request.form.get("ask-agreement_id", "")) or 0)
    if asked is not None and not can_see_client(current_user, asked.client_id):
        abort(404)
    form = CertificationRequestForm(prefix="ask")
    agreements = _agreements()
    form.agreement_id.choices = [(str(a.id), a.reference) for a in agreements]
    if form.validate_on_submit():
        agreement = next((a for a in agreements if str(a.id) == form.agreement_id.data), None)

        def ask() -> InspectionRequest:
            if agreement is None:
                raise DomainError("Unknown agreement.", field="agreement_id")
            return request_certification(current_user, certification, agreement)

        inspection = run_action(
            form,
            ask,
            lambda inspection: (
                f"Requested: {certification.name}. The compliance team answers request #{inspection.id}."
            ),
        )
        if inspection is not None:
            return redirect(url_for("inspection.certification_list"))
    return certification_list(request_form=form)


@bp.route("/certifications/<int:certification_id>/file")
def certification_file(certification_id: int) -> Response:
    """Staff and auditors download any; a client only one shared with it (answered on one of its requests)."""
    certification = db.get_or_404(Certification, certification_id)
    if current_user.role is Role.CLIENT and certification.id not in shared_with(
        visible_client_ids(current_user), [certification.id]
    ):
        abort(404)
    return send_stored_file(certification.sha256, certification.content_type, certification.filename)
