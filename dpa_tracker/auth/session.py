"""Signed-in browser sessions: who the cookie names, for how long it stays valid.

The session cookie holds "user id:session version" (``User.get_id``) and two instants: when the
user signed in and when the session was last used. A cookie is refused when its version is not the
user's current one (sign-out, password change or reset, deactivation), when it has been idle longer
than SESSION_IDLE_MINUTES, or when it is older than SESSION_MAX_HOURS. API tokens are not sessions.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from dpa_tracker.extensions import db
from dpa_tracker.ids import parse_id
from dpa_tracker.models import User
from dpa_tracker.models.base import utcnow

SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"


def load_user(session_id: str) -> User | None:
    """Flask-Login's user loader: the user, if the cookie's session version is still current."""
    raw_id, _, raw_version = session_id.partition(":")
    user_id, version = parse_id(raw_id), parse_id(raw_version)
    if user_id is None or version is None:
        return None  # includes cookies issued before session versions existed
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def start_session(user: User) -> None:
    login_user(user)
    now = utcnow().timestamp()
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now


def end_session() -> None:
    logout_user()
    session.pop(SIGNED_IN_AT, None)
    session.pop(SEEN_AT, None)


def _expiry_message(now: float) -> str | None:
    signed_in_at, seen_at = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(signed_in_at, int | float) or not isinstance(seen_at, int | float):
        return "Your session has expired. Please sign in again."
    max_hours = current_app.config["SESSION_MAX_HOURS"]
    if now - signed_in_at > max_hours * 3600:
        hours = "1 hour" if max_hours == 1 else f"{max_hours} hours"
        return f"You were signed out: a session lasts at most {hours}. Please sign in again."
    idle_minutes = current_app.config["SESSION_IDLE_MINUTES"]
    if now - seen_at > idle_minutes * 60:
        return f"You were signed out after {idle_minutes} minutes without activity. Please sign in again."
    return None


def enforce_session_lifetime() -> Response | None:
    """Before every request: end an idle or too old session, else note that it was used now."""
    if "_user_id" not in session or request.endpoint == "static":
        return None
    now = utcnow().timestamp()
    message = _expiry_message(now)
    if message is None:
        session[SEEN_AT] = now
        return None
    end_session()
    if request.path.startswith("/api/"):
        return None  # the API authenticates with tokens, never with this cookie
    flash(message, "info")
    return redirect(url_for("auth.login", next=request.path if request.method == "GET" else None))
