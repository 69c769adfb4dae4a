"""Dashboard: counts by status, what is overdue or due soon, a line per client."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AgreementStatus, AuditEvent, Client, Obligation, ObligationStatus
from dpa_tracker.obligation.services import (
    assess_obligation,
    blockers_for,
    due_soon_days,
    obligation_loader,
    status_expression,
    today,
)
from dpa_tracker.permissions import client_filter, require_login, visible_client_ids

bp = Blueprint("dashboard", __name__)
require_login(bp)
ATTENTION_LIMIT = 50
CLIENT_ROWS = 50


_counts_cache: dict[tuple[Any, ...], list[tuple[int, str, int]]] = {}
_CACHE_ENTRIES = 256


def clear_counts_cache() -> None:
    _counts_cache.clear()


def status_counts(day: date, window: int) -> list[tuple[int, str, int]]:
    """(client id, status, count) for the clients the current user sees.

    Counting reads every obligation, so the result is kept per (visible clients, day, window,
    latest audit event). Every change writes an audit event, so a new change is a new key:
    the cache can never show a stale count, and is only recomputed after a change.
    """
    latest = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    ids = visible_client_ids(current_user)
    key = (None if ids is None else frozenset(ids), day, window, tuple(latest) if latest else None)
    cached = _counts_cache.get(key)
    if cached is not None:
        return cached
    status = status_expression(day, window).label("status")
    rows = [tuple(row) for row in db.session.execute(
        select(Agreement.client_id, status, func.count())
        .select_from(Obligation).join(Obligation.agreement)
        .where(Agreement.status != AgreementStatus.DRAFT, client_filter(current_user, Agreement.client_id))
        .group_by(Agreement.client_id, status)
    )]
    if len(_counts_cache) >= _CACHE_ENTRIES:
        _counts_cache.clear()
    _counts_cache[key] = rows  # type: ignore[assignment]
    return rows  # type: ignore[return-value]


@bp.route("/")
def index() -> str:
    day, window = today(), due_soon_days()
    in_force = Agreement.status != AgreementStatus.DRAFT
    visible = client_filter(current_user, Agreement.client_id)

    rows = status_counts(day, window)
    totals: dict[str, int] = defaultdict(int)
    per_client: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for client_id, state, count in rows:
        totals[state] += count
        per_client[client_id][state] += count
    clients = db.session.scalars(
        select(Client).where(client_filter(current_user, Client.id)).order_by(Client.legal_name)
    ).all()
    # Most at risk first; the full list is on the clients page.
    ranked = sorted(clients, key=lambda c: (-per_client[c.id]["overdue"], -per_client[c.id]["due_soon"]))

    attention = db.session.scalars(
        select(Obligation).join(Obligation.agreement).join(Agreement.client)
        .where(in_force, visible, status_expression(day, window).in_(
            [ObligationStatus.OVERDUE.value, ObligationStatus.DUE_SOON.value]),
            # overdue and due-soon rows always satisfy this; it lets the index bound the scan
            Obligation.cached_due_on <= day + timedelta(days=window))
        .options(contains_eager(Obligation.agreement).contains_eager(Agreement.client), *obligation_loader())
        .order_by(Obligation.cached_due_on, Obligation.id)
        .limit(ATTENTION_LIMIT)
    ).unique().all()
    record_problems: dict[int, list[str]] = {}
    assessed = []
    for obligation in attention:
        blockers: list[str] = []
        if obligation.rule.get("requires"):
            client_id = obligation.agreement.client_id
            if client_id not in record_problems:
                record_problems[client_id] = blockers_for(obligation, day)
            blockers = record_problems[client_id]
        assessed.append((obligation, assess_obligation(obligation, day, blockers)))
    return render_template(
        "dashboard/index.html",
        statuses=list(ObligationStatus),
        totals=totals,
        clients=ranked[:CLIENT_ROWS],
        client_total=len(clients),
        per_client=per_client,
        overdue=[(o, a) for o, a in assessed if a.status is ObligationStatus.OVERDUE],
        due_soon=[(o, a) for o, a in assessed if a.status is ObligationStatus.DUE_SOON],
        limit=ATTENTION_LIMIT,
        today=day,
    )
