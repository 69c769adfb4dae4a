"""User administration and the processor profile (admins only)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from dpa_tracker.admin.forms import PasswordResetForm, ProcessorForm, UserCreateForm, UserEditForm
from dpa_tracker.auth.services import create_user, revoke_token, set_password, update_user
from dpa_tracker.client.services import ProcessorInput, get_processor, save_processor
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.ids import parse_id, parse_ids
from dpa_tracker.models import ApiToken, Client, Role, User
from dpa_tracker.permissions import admin_only, require_login
from dpa_tracker.web import form_status, show_domain_error

bp = Blueprint("admin", __name__, url_prefix="/admin")
require_login(bp)


@bp.before_request
@admin_only
def _admins_only() -> None:
    return None


def _client_choices() -> list[tuple[str, str]]:
    return [(str(c.id), c.legal_name) for c in db.session.scalars(select(Client).order_by(Client.legal_name))]


def _clients(ids: list[str] | None) -> list[Client]:
    wanted = parse_ids(ids)
    return list(db.session.scalars(select(Client).where(Client.id.in_(wanted)))) if wanted else []


@bp.route("/users")
def users() -> str:
    rows = db.session.scalars(select(User).order_by(User.role, User.email)).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
def create_user_page() -> str | Response | tuple[str, int]:
    form = UserCreateForm()
    form.client_id.choices = [("", "—"), *_client_choices()]
    form.audited_clients.choices = _client_choices()
    if form.validate_on_submit():
        role = Role(form.role.data)
        client_pk = parse_id(form.client_id.data)
        client = db.session.get(Client, client_pk) if client_pk is not None else None
        try:
            user = create_user(
                current_user,
                form.email.data or "",
                role,
                form.password.data or "",
                name=form.name.data or "",
                client=client,
                audited_clients=_clients(form.audited_clients.data),
            )
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(f"User {user.email} created.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None), form_status(form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int) -> str | Response | tuple[str, int]:
    user = db.get_or_404(User, user_id)
    form = UserEditForm()
    form.audited_clients.choices = _client_choices()
    if not form.is_submitted():
        form.name.data = user.name
        form.active.data = user.active
        form.audited_clients.data = [str(c.id) for c in user.audited_clients]
    if form.validate_on_submit():
        try:
            update_user(
                current_user,
                user,
                name=form.name.data or "",
                active=bool(form.active.data),
                audited_clients=_clients(form.audited_clients.data),
            )
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("User updated.", "success")
            return redirect(url_for("admin.users"))
    return _user_page(user, form, PasswordResetForm(prefix="reset"))


def _user_page(user: User, form: UserEditForm, reset_form: PasswordResetForm) -> tuple[str, int]:
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).all()
    status = max(form_status(form), form_status(reset_form))
    return render_template("admin/user_form.html", form=form, reset_form=reset_form, user=user, tokens=tokens), status


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int) -> Response | tuple[str, int]:
    user = db.get_or_404(User, user_id)
    reset_form = PasswordResetForm(prefix="reset")
    if reset_form.validate_on_submit():
        try:
            set_password(current_user, user, reset_form.new_password.data or "", field="new_password")
        except DomainError as error:
            show_domain_error(reset_form, error)
        else:
            db.session.commit()
            if user.id == current_user.id:
                login_user(user)  # an admin resetting their own password keeps this session
            flash(f"Password of {user.email} reset; their sessions were ended.", "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    form = UserEditForm(
        formdata=None, name=user.name, active=user.active, audited_clients=[str(c.id) for c in user.audited_clients]
    )
    form.audited_clients.choices = _client_choices()
    return _user_page(user, form, reset_form)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke(token_id: int) -> Response:
    token = db.get_or_404(ApiToken, token_id)
    try:
        revoke_token(current_user, token)
    except DomainError as error:
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"Token {token.prefix}… revoked.", "success")
    return redirect(url_for("admin.edit_user", user_id=token.user_id))


@bp.route("/processor", methods=["GET", "POST"])
def processor() -> str | Response | tuple[str, int]:
    profile = get_processor()
    form = ProcessorForm(obj=profile)  # submitted data wins over the stored values
    if form.validate_on_submit():
        try:
            save_processor(
                current_user,
                ProcessorInput(
                    name=form.name.data or "",
                    address=form.address.data or "",
                    contact_email=form.contact_email.data or "",
                    contact_phone=form.contact_phone.data or "",
                    dpo_name=form.dpo_name.data or "",
                    dpo_email=form.dpo_email.data or "",
                    representative=form.representative.data or "",
                    representative_contact=form.representative_contact.data or "",
                    country=form.country.data or "",
                ),
            )
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Processor profile saved.", "success")
            return redirect(url_for("admin.processor"))
    return render_template("admin/processor.html", form=form), form_status(form)
