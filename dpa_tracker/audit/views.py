"""Activity log: filterable, newest first, keyset-paginated."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select

from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, Client
from dpa_tracker.permissions import can_write, client_filter, require_login
from dpa_tracker.web import date_from_request, id_from_request

bp = Blueprint("audit", __name__)
require_login(bp)


# The filters the page keeps in its "Older events" link; nothing else of the query string reaches url_for
# (``_method``, ``_external``... are url_for's own keywords).
FILTERS = ("client_id", "action", "actor", "since", "until")


def filtered_events(before_id: int | None, limit: int) -> list[AuditEvent]:
    """Audit events the current user may see, filtered by the request's query string."""
    stmt = select(AuditEvent)
    if not can_write(current_user):
        # Events without a client (users, settings) are the processor's internal business.
        stmt = stmt.where(AuditEvent.client_id.is_not(None), client_filter(current_user, AuditEvent.client_id))
    if (client_id := id_from_request("client_id")) is not None:
        stmt = stmt.where(AuditEvent.client_id == client_id)
    if action := request.args.get("action", "").strip():
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
    if actor := request.args.get("actor", "").strip():
        stmt = stmt.where(AuditEvent.actor_label.contains(actor.lower(), autoescape=True))
    if since := date_from_request("since"):
        stmt = stmt.where(AuditEvent.occurred_at >= datetime.combine(since, time(), tzinfo=UTC))
    if until := date_from_request("until"):
        stmt = stmt.where(AuditEvent.occurred_at < datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC))
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    return list(db.session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)))


@bp.route("/activity")
def index() -> str:
    page_size = int(current_app.config["PAGE_SIZE"])
    events = filtered_events(id_from_request("before"), page_size + 1)
    clients = db.session.scalars(
        select(Client).where(client_filter(current_user, Client.id)).order_by(Client.legal_name)
    ).all()
    client_names = {c.id: c.legal_name for c in clients}
    has_more = len(events) > page_size
    events = events[:page_size]
    args = {k: v for k in FILTERS if (v := request.args.get(k, ""))}
    return render_template(
        "audit/index.html",
        events=events,
        clients=clients,
        client_names=client_names,
        next_before=events[-1].id if has_more and events else None,
        args=args,
    )
