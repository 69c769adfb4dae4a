"""The client's transfers page (clause 10): storage and transfers outside the EU/EEA with the consent covering
each, the client's consents (10(2)) and written authorisations to disclose (10(1)). Staff write; clients and
auditors read their own."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.download import send_stored_file
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.ids import parse_id
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    Client,
    DisclosureAuthorisation,
    LawTransfer,
    ProcessingActivity,
    Transfer,
    TransferConsent,
)
from dpa_tracker.obligation.services import today
from dpa_tracker.permissions import require_login, staff_only, visible_or_404
from dpa_tracker.transfer.clause10 import client_view
from dpa_tracker.transfer.forms import ConsentForm, DisclosureForm, LawTransferForm, NotifyForm, WithdrawForm
from dpa_tracker.transfer.lawful import (
    LawTransferInput,
    law_transfers_query,
    notified_at,
    queue_law_notice,
    record_law_transfer,
)
from dpa_tracker.transfer.services import (
    ConsentInput,
    DisclosureInput,
    consents_of,
    disclosures_of,
    parse_countries,
    record_consent,
    record_disclosure,
    withdraw,
)
from dpa_tracker.web import as_of_from_request, run_action

bp = Blueprint("transfer", __name__)
require_login(bp)


def _client(client_id: int) -> Client:
    return visible_or_404(current_user, db.session.get(Client, client_id), lambda client: [client.id])


def _transfer_choices(client: Client) -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(Transfer.id, ProcessingActivity.name, Transfer.recipient, Transfer.destination)
        .join(Transfer.activity)
        .where(ProcessingActivity.client_id == client.id, Transfer.archived_at.is_(None))
        .order_by(ProcessingActivity.name, Transfer.id)
    ).all()
    return [(str(i), f"#{i} {name}: {recipient} ({dest})") for i, name, recipient, dest in rows]


def _live_agreements(client: Client) -> list[Agreement]:
    return list(
        db.session.scalars(
            select(Agreement)
            .where(Agreement.client_id == client.id, Agreement.status != AgreementStatus.DRAFT)
            .order_by(Agreement.reference)
        )
    )


def _page(client: Client, status: int = 200, **forms: Any) -> Any:
    as_of = as_of_from_request() or today()
    agreements = _live_agreements(client)
    agreement_ids = [a.id for a in agreements]
    consent_form = forms.get("consent_form") or ConsentForm(prefix="consent")
    consent_form.transfer_ids.choices = _transfer_choices(client)
    law_form = forms.get("law_form") or LawTransferForm(prefix="law")
    law_form.agreement_id.choices = [(str(a.id), a.reference) for a in agreements]
    laws = db.session.scalars(
        law_transfers_query(current_user, client.id).order_by(LawTransfer.learnt_at.desc(), LawTransfer.id.desc())
    ).all()
    return (
        render_template(
            "transfer/client.html",
            client=client,
            as_of=as_of,
            outside=client_view(client.id, agreement_ids, as_of),
            consents=consents_of(client),
            disclosures=disclosures_of(client),
            consent_form=consent_form,
            disclosure_form=forms.get("disclosure_form") or DisclosureForm(prefix="disclosure"),
            withdraw_form=forms.get("withdraw_form") or WithdrawForm(prefix="wd"),
            law_form=law_form,
            notify_form=forms.get("notify_form") or NotifyForm(prefix="notify"),
            laws=[(row, notified_at(row)) for row in laws],
        ),
        status,
    )


def _upload(form: ConsentForm | DisclosureForm) -> Upload | None:
    upload = form.file.data
    return Upload(upload.stream, upload.filename) if upload and upload.filename else None


@bp.route("/clients/<int:client_id>/transfers")
def client_transfers(client_id: int) -> Any:
    return _page(_client(client_id))


@bp.route("/clients/<int:client_id>/transfers/consents", methods=["POST"])
@staff_only
def add_consent(client_id: int) -> Any:
    client = _client(client_id)
    form = ConsentForm(prefix="consent")
    form.transfer_ids.choices = _transfer_choices(client)
    if form.validate_on_submit():

        def record() -> TransferConsent:
            ids = [parse_id(i) for i in form.transfer_ids.data or []]
            return record_consent(
                current_user,
                client,
                ConsentInput(
                    given_on=form.given_on.data,
                    given_by=form.given_by.data or "",
                    countries=parse_countries(form.countries.data or ""),
                    transfer_ids=[i for i in ids if i is not None],
                    scope=form.scope.data or "",
                ),
                _upload(form),
            )

        if run_action(form, record, "Consent recorded.") is not None:
            return redirect(url_for("transfer.client_transfers", client_id=client.id))
    return _page(client, 422, consent_form=form)


@bp.route("/clients/<int:client_id>/transfers/disclosures", methods=["POST"])
@staff_only
def add_disclosure(client_id: int) -> Any:
    client = _client(client_id)
    form = DisclosureForm(prefix="disclosure")
    if form.validate_on_submit():
        data = DisclosureInput(
            recipient=form.recipient.data or "",
            purpose=form.purpose.data or "",
            authorised_on=form.authorised_on.data,
        )
        upload = _upload(form)
        authorisation = run_action(
            form, lambda: record_disclosure(current_user, client, data, upload), "Authorisation recorded."
        )
        if authorisation is not None:
            return redirect(url_for("transfer.client_transfers", client_id=client.id))
    return _page(client, 422, disclosure_form=form)


def _visible(model: Any, row_id: int) -> Any:
    return visible_or_404(current_user, db.session.get(model, row_id), lambda row: [row.client_id])


def _withdraw(row: TransferConsent | DisclosureAuthorisation) -> Any:
    form = WithdrawForm(prefix="wd")
    if form.validate_on_submit():
        withdrawn = run_action(
            form, lambda: withdraw(current_user, row, form.reason.data or ""), "Withdrawn; it stays in the history."
        )
        if withdrawn is not None:
            return redirect(url_for("transfer.client_transfers", client_id=row.client_id))
    return _page(db.session.get_one(Client, row.client_id), 422, withdraw_form=form)


@bp.route("/transfer-consents/<int:consent_id>/withdraw", methods=["POST"])
@staff_only
def withdraw_consent(consent_id: int) -> Any:
    return _withdraw(_visible(TransferConsent, consent_id))


@bp.route("/disclosure-authorisations/<int:authorisation_id>/withdraw", methods=["POST"])
@staff_only
def withdraw_disclosure(authorisation_id: int) -> Any:
    return _withdraw(_visible(DisclosureAuthorisation, authorisation_id))


def _document(row: TransferConsent | DisclosureAuthorisation) -> Any:
    if row.sha256 is None:
        abort(404, description="This record has no document.")
    return send_stored_file(row.sha256, row.content_type, row.filename or "document")


@bp.route("/transfer-consents/<int:consent_id>/document")
def consent_document(consent_id: int) -> Any:
    return _document(_visible(TransferConsent, consent_id))


@bp.route("/disclosure-authorisations/<int:authorisation_id>/document")
def disclosure_document(authorisation_id: int) -> Any:
    return _document(_visible(DisclosureAuthorisation, authorisation_id))


# --- clause 10(2)(b): transfers required by law ------------------------------------------------------


@bp.route("/clients/<int:client_id>/law-transfers", methods=["POST"])
@staff_only
def add_law_transfer(client_id: int) -> Any:
    client = _client(client_id)
    form = LawTransferForm(prefix="law")
    agreements = _live_agreements(client)
    form.agreement_id.choices = [(str(a.id), a.reference) for a in agreements]
    if form.validate_on_submit():

        def record() -> LawTransfer:
            agreement_id = parse_id(form.agreement_id.data or "")
            agreement = next((a for a in agreements if a.id == agreement_id), None)
            if agreement is None:
                raise DomainError("Choose one of this client's agreements.", field="agreement_id")
            proof = form.proof.data
            return record_law_transfer(
                current_user,
                agreement,
                LawTransferInput(
                    learnt_at=form.learnt_at.data.replace(tzinfo=UTC) if form.learnt_at.data else None,
                    authority=form.authority.data or "",
                    law=form.law.data or "",
                    destination=form.destination.data or "",
                    destination_country=form.destination_country.data or "",
                    data_concerned=form.data_concerned.data or "",
                    notice_forbidden=bool(form.notice_forbidden.data),
                    forbidden_ground=form.forbidden_ground.data or "",
                ),
                Upload(proof.stream, proof.filename) if proof and proof.filename else None,
            )

        row = run_action(
            form,
            record,
            lambda row: (
                f"Transfer required by law #{row.id} recorded; "
                + ("not notified: the law forbids it." if row.notice_forbidden else "notify the client before it.")
            ),
        )
        if row is not None:
            return redirect(url_for("transfer.client_transfers", client_id=client.id))
    return _page(client, 422, law_form=form)


def _visible_law(transfer_id: int) -> LawTransfer:
    return db.first_or_404(law_transfers_query(current_user).where(LawTransfer.id == transfer_id))


@bp.route("/law-transfers/<int:law_transfer_id>/notify", methods=["POST"])
@staff_only
def notify_law_transfer(law_transfer_id: int) -> Any:
    row = _visible_law(law_transfer_id)
    form = NotifyForm(prefix="notify")
    if form.validate_on_submit():
        queued = run_action(
            form,
            lambda: queue_law_notice(current_user, row),
            "Notice to the client queued with the proof; `flask notices send` sends it.",
        )
        if queued is not None:
            return redirect(url_for("transfer.client_transfers", client_id=row.agreement.client_id))
    return _page(row.agreement.client, 422, notify_form=form)


@bp.route("/law-transfers/<int:law_transfer_id>/proof")
def law_transfer_proof(law_transfer_id: int) -> Any:
    row = _visible_law(law_transfer_id)
    return send_stored_file(row.proof_sha256, row.proof_content_type, row.proof_filename)
