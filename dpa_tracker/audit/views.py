"""Activity log: filterable, newest first, keyset-paginated."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select

from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, Client
from dpa_tracker.permissions import can_write, client_filter, require_login

bp = Blueprint("audit", __name__)
require_login(bp)


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, description=f"{name} must be a date written YYYY-MM-DD.")


def filtered_events(before_id: int | None, limit: int) -> list[AuditEvent]:
    """Audit events the current user may see, filtered by the request's query string."""
    stmt = select(AuditEvent)
    if not can_write(current_user):
        # Events without a client (users, settings) are the processor's internal business.
        stmt = stmt.where(AuditEvent.client_id.is_not(None), client_filter(current_user, AuditEvent.client_id))
    client_id = request.args.get("client_id", "").strip()
    if client_id:
        if not client_id.isdigit():
            abort(400, description="client_id must be a number.")
        stmt = stmt.where(AuditEvent.client_id == int(client_id))
    if action := request.args.get("action", "").strip():
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
    if actor := request.args.get("actor", "").strip():
        stmt = stmt.where(AuditEvent.actor_label.contains(actor.lower(), autoescape=True))
    if since := _date_arg("since"):
        stmt = stmt.where(AuditEvent.occurred_at >= datetime.combine(since, time(), tzinfo=UTC))
    if until := _date_arg("until"):
        stmt = stmt.where(AuditEvent.occurred_at < datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC))
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    return list(db.session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)))


@bp.route("/activity")
def index() -> str:
    before = request.args.get("before", "").strip()
    if before and not before.isdigit():
        abort(400, description="before must be a number.")
    page_size = int(current_app.config["PAGE_SIZE"])
    events = filtered_events(int(before) if before else None, page_size + 1)
    clients = db.session.scalars(
        select(Client).where(client_filter(current_user, Client.id)).order_by(Client.legal_name)
    ).all()
    client_names = {c.id: c.legal_name for c in clients}
    has_more = len(events) > page_size
    events = events[:page_size]
    args = {k: v for k, v in request.args.items() if k != "before"}
    return render_template("audit/index.html", events=events, clients=clients, client_names=client_names,
                           next_before=events[-1].id if has_more and events else None, args=args)
