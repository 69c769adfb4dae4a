"""The deadline view (every dated thing a user may see), the user's calendar feed page, and the public
iCalendar feed itself (the token in the URL is the only credential)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from dpa_tracker.deadline.forms import FeedForm, RevokeFeedForm
from dpa_tracker.deadline.services import (
    DeadlineFilters,
    create_feed,
    current_feed,
    deadline_page,
    deadlines_for,
    parse_filters,
    revoke_feed,
    user_for_feed,
)
from dpa_tracker.deadline.sources import KINDS, STATE_LABELS, Deadline
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db, limiter
from dpa_tracker.models import Client, Role, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.permissions import client_filter, require_login
from dpa_tracker.reports.ical import CalendarEvent, calendar
from dpa_tracker.web import form_status, show_domain_error

bp = Blueprint("deadline", __name__)
require_login(bp)
feed_bp = Blueprint("calendar", __name__)  # public: the feed token is the credential
_NEW_FEED = "new_calendar_feed_url"


def deadline_url(deadline: Deadline, external: bool = False) -> str:
    values: dict[str, Any] = {deadline.arg: deadline.object_id, "_external": external}
    return url_for(deadline.endpoint, **values)


@bp.route("/deadlines")
def index() -> tuple[str, int]:
    """Everything with a date the user may see: overdue first, then due within the horizon."""
    filters, errors = parse_filters(request.args)
    portal = current_user.role is Role.CLIENT
    clients = db.session.scalars(
        select(Client).where(client_filter(current_user, Client.id)).order_by(Client.legal_name)
    ).all()
    owners = (
        db.session.scalars(
            select(User).where(User.role.in_([Role.ADMIN, Role.COMPLIANCE]), User.active.is_(True)).order_by(User.email)
        ).all()
        if current_user.can_write
        else []
    )
    page = None if errors else deadline_page(current_user, filters)
    return render_template(
        "deadline/index.html",
        page=page,
        filters=filters,
        errors=errors,
        clients=clients,
        owners=owners,
        kinds=KINDS,
        state_labels=STATE_LABELS,
        portal=portal,
        deadline_url=deadline_url,
        today=utcnow().date(),
    ), (422 if errors else 200)


@bp.route("/account/calendar")
def feed_page() -> str:
    return render_template(
        "deadline/calendar.html",
        feed=current_feed(current_user),
        form=FeedForm(prefix="feed"),
        revoke_form=RevokeFeedForm(prefix="revoke"),
        feed_url=session.pop(_NEW_FEED, None),  # shown once, on the page the creation redirects to
    )


@bp.route("/account/calendar", methods=["POST"])
def create_feed_view() -> Any:
    form = FeedForm(prefix="feed")
    if form.validate_on_submit():
        _, plain = create_feed(current_user._get_current_object())
        db.session.commit()
        session[_NEW_FEED] = url_for("calendar.feed", token=plain, _external=True)
        flash("Calendar feed created. Copy its address now: it is shown only once.", "success")
        return redirect(url_for("deadline.feed_page"))
    return render_template(
        "deadline/calendar.html",
        feed=current_feed(current_user),
        form=form,
        revoke_form=RevokeFeedForm(prefix="revoke"),
        feed_url=None,
    ), form_status(form)


@bp.route("/account/calendar/revoke", methods=["POST"])
def revoke_feed_view() -> Any:
    form = RevokeFeedForm(prefix="revoke")
    if form.validate_on_submit():
        try:
            revoke_feed(current_user._get_current_object(), current_feed(current_user))
        except DomainError as error:
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash("Calendar feed revoked: its address no longer answers.", "success")
            return redirect(url_for("deadline.feed_page"))
    return render_template(
        "deadline/calendar.html",
        feed=current_feed(current_user),
        form=FeedForm(prefix="feed"),
        revoke_form=form,
        feed_url=None,
    ), 422


def _feed_limit() -> str:
    return current_app.config["CALENDAR_RATE_LIMIT"]


@feed_bp.route("/calendar/<token>.ics")
@limiter.limit(_feed_limit, error_message="Too many calendar requests from your network address; try later.")
def feed(token: str) -> Response:
    """The user's visible deadlines as iCalendar; an unknown or revoked token is 404 (nothing tells which)."""
    user = user_for_feed(token)
    if user is None:
        abort(404)
    events = [
        CalendarEvent(
            uid=f"{d.ref}@dpa-tracker",
            start=d.at if d.at is not None else d.when,
            summary=f"{STATE_LABELS[d.state]}: {d.title} ({d.client_name})",
            description="\n".join(
                [
                    f"{KINDS[d.kind][0]}: {d.title}",
                    f"Client: {d.client_name}",
                    *([f"Agreement: {d.agreement_reference}"] if d.agreement_reference else []),
                    *([f"Owner: {d.owner_name}"] if d.owner_name else []),
                ]
            ),
            url=deadline_url(d, external=True),
            category=KINDS[d.kind][0],
        )
        for d in deadlines_for(user, DeadlineFilters())
    ]
    body = calendar(f"dpa_tracker deadlines of {user.display_name}", events, utcnow())
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, no-store"
    return response
