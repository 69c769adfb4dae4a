"""Sign in, sign out, change one's own password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user
from werkzeug.wrappers import Response

from dpa_tracker.audit.services import record
from dpa_tracker.auth.forms import ChangePasswordForm, LoginForm
from dpa_tracker.auth.services import authenticate, change_password, sign_out_everywhere
from dpa_tracker.auth.session import end_session, enforce_session_lifetime, start_session
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db, limiter
from dpa_tracker.web import form_status, show_domain_error

bp = Blueprint("auth", __name__)
bp.before_app_request(enforce_session_lifetime)


def safe_next(target: str | None) -> str | None:
    """Only same-host paths are followed after sign-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _account_key() -> str:
    return "account:" + request.form.get("email", "").strip().lower()


# Two limits on failed sign-ins: per client address (behind TRUSTED_PROXIES, the address the proxy
# saw) and per account. The account limit counts only attempts that were checked (422): attempts
# already refused with 429 by the address limit do not count, so one noisy address cannot use up the
# account's allowance and lock its owner out from another address.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _login_limit,
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
    error_message="Too many failed sign-ins from your network address. Wait a minute and try again.",
)
@limiter.limit(
    _account_limit,
    key_func=_account_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code == 422,
    error_message="Too many failed sign-ins for this account. Sign-in is paused for it; try again "
    "later, or ask an administrator to reset the password.",
)
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            start_session(user)
            record(user, "user.login", user, {}, client_id=user.client_id)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))
        form.password.errors = [*form.password.errors, "Unknown e-mail or wrong password."]
    return render_template("auth/login.html", form=form), (422 if form.errors else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    sign_out_everywhere(current_user)
    db.session.commit()
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password() -> str | Response | tuple[str, int]:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            change_password(user, form.current_password.data or "", form.new_password.data or "")
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            login_user(user)  # this session carries the new session version; every other one ends
            flash("Password changed. You were signed out everywhere else.", "success")
            return redirect(url_for("dashboard.index"))
    return render_template("auth/password.html", form=form), form_status(form)
