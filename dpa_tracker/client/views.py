"""Clients: list, detail, create, edit."""

from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from dpa_tracker.client.forms import ClientForm
from dpa_tracker.client.services import ClientInput, create_client, update_client
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Client, Obligation, User
from dpa_tracker.obligation.services import due_soon_days, status_expression, today
from dpa_tracker.permissions import client_filter, ensure_client_visible, require_login, staff_only
from dpa_tracker.web import form_status, show_domain_error

bp = Blueprint("client", __name__, url_prefix="/clients")
require_login(bp)


def _input(form: ClientForm) -> ClientInput:
    return ClientInput(
        legal_name=form.legal_name.data or "",
        country=form.country.data or "",
        address=form.address.data or "",
        notice_emails=(form.notice_emails.data or "").splitlines(),
        dpo_name=form.dpo_name.data or "",
        dpo_email=form.dpo_email.data or "",
        representative=form.representative.data or "",
        representative_contact=form.representative_contact.data or "",
    )


@bp.route("/")
def index() -> str:
    clients = db.session.scalars(
        select(Client).where(client_filter(current_user, Client.id)).order_by(Client.legal_name)
    ).all()
    counts = dict(
        db.session.execute(
            select(Agreement.client_id, func.count())
            .where(client_filter(current_user, Agreement.client_id))
            .group_by(Agreement.client_id)
        )
        .tuples()
        .all()
    )
    return render_template("client/index.html", clients=clients, agreement_counts=counts)


@bp.route("/new", methods=["GET", "POST"])
@staff_only
def create() -> str | Response | tuple[str, int]:
    form = ClientForm()
    if form.validate_on_submit():
        try:
            client = create_client(current_user, _input(form))
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"Client {client.legal_name} created.", "success")
            return redirect(url_for("client.detail", client_id=client.id))
    return render_template("client/form.html", form=form, client=None), form_status(form)


@bp.route("/<int:client_id>")
def detail(client_id: int) -> str:
    client = db.get_or_404(Client, client_id)
    ensure_client_visible(current_user, client.id)
    status = status_expression(today(), due_soon_days()).label("status")
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for agreement_id, state, count in db.session.execute(
        select(Obligation.agreement_id, status, func.count())
        .join(Obligation.agreement)
        .where(Agreement.client_id == client.id)
        .group_by(Obligation.agreement_id, status)
    ):
        counts[agreement_id][state] = count
    users = db.session.scalars(select(User).where(User.client_id == client.id).order_by(User.email)).all()
    return render_template(
        "client/detail.html", client=client, agreements=client.agreements, counts=counts, users=users
    )


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
@staff_only
def edit(client_id: int) -> str | Response | tuple[str, int]:
    client = db.get_or_404(Client, client_id)
    form = ClientForm(obj=None)
    if not form.is_submitted():
        form.legal_name.data = client.legal_name
        form.country.data = client.country
        form.address.data = client.address
        form.notice_emails.data = client.notice_emails
        form.dpo_name.data = client.dpo_name
        form.dpo_email.data = client.dpo_email
        form.representative.data = client.representative
        form.representative_contact.data = client.representative_contact
    if form.validate_on_submit():
        try:
            update_client(current_user, client, _input(form))
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Client updated.", "success")
            return redirect(url_for("client.detail", client_id=client.id))
    return render_template("client/form.html", form=form, client=client), form_status(form)
