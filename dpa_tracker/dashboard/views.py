"""Dashboard: counts by status, what is overdue, late or due soon, a line per client."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager

from dpa_tracker.agent.clause5 import REMOVAL_RULE, clause5_inputs
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AgreementStatus, AuditEvent, Client, Obligation, ObligationStatus
from dpa_tracker.obligation.services import (
    assess_obligation,
    borrowed_events,
    due_soon_days,
    obligation_loader,
    status_expression,
    today,
)
from dpa_tracker.permissions import client_filter, require_login, visible_client_ids
from dpa_tracker.record.builder import problems_by_client, scope_gaps_by_client
from dpa_tracker.subprocessor.documents import inputs_by_obligation

bp = Blueprint("dashboard", __name__)
require_login(bp)
ATTENTION_LIMIT = 50
CLIENT_ROWS = 50


@dataclass(frozen=True)
class _Counts:
    """Status counts of every client, valid up to (and including) one audit event."""

    database: str
    day: date
    window: int
    upto_id: int
    upto_hash: str
    per_client: dict[int, dict[str, int]]


_counts: _Counts | None = None  # per process; replaced whole, never mutated
RECENT_EVENTS = 500  # more changes than this since the last count: count everything again
# Events about accounts and tokens (a sign-in, a new user) never change an obligation's status.
NO_STATUS_EFFECT = ("user.", "token.")


def clear_counts_cache() -> None:
    global _counts
    _counts = None


def _count(day: date, window: int, client_ids: set[int] | None = None) -> dict[int, dict[str, int]]:
    status = status_expression(day, window).label("status")
    stmt = (
        select(Agreement.client_id, status, func.count())
        .select_from(Obligation)
        .join(Obligation.agreement)
        .where(Agreement.status != AgreementStatus.DRAFT)
        .group_by(Agreement.client_id, status)
    )
    if client_ids is not None:
        stmt = stmt.where(Agreement.client_id.in_(sorted(client_ids)))
    per_client: dict[int, dict[str, int]] = defaultdict(dict)
    for client_id, state, count in db.session.execute(stmt):
        per_client[client_id][state] = count
    return dict(per_client)


def _count_all(database: str, day: date, window: int) -> dict[int, dict[str, int]]:
    global _counts
    # Read the chain head first, then count: the counts include at least every change up to it.
    head = db.session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    per_client = _count(day, window)
    _counts = _Counts(database, day, window, head.id, head.hash, per_client) if head else None
    return per_client


def status_counts(day: date, window: int) -> dict[int, dict[str, int]]:
    """{client id: {status: count}} for every client, kept up to date by re-counting only what changed.

    Counting reads every obligation, so the counts are kept between requests together with the audit
    event they are valid up to. Every change writes an audit event in its own transaction, and the
    audit chain serialises those transactions (each event carries the hash of the one before), so the
    events after that one name exactly the clients whose counts may have changed: only those are
    counted again. An event without a client (e.g. a change to the shared measure or sub-processor
    libraries), a new day, or a different database means counting everything again.
    """
    global _counts
    database = db.engine.url.render_as_string()
    state = _counts
    if state is None or (state.database, state.day, state.window) != (database, day, window):
        return _count_all(database, day, window)
    events = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash, AuditEvent.client_id, AuditEvent.action)
        .where(AuditEvent.id >= state.upto_id)
        .order_by(AuditEvent.id)
        .limit(RECENT_EVENTS + 1)
    ).all()
    if not events or (events[0].id, events[0].hash) != (state.upto_id, state.upto_hash) or len(events) > RECENT_EVENTS:
        return _count_all(database, day, window)
    if len(events) == 1:
        return state.per_client
    relevant = [e for e in events[1:] if not e.action.startswith(NO_STATUS_EFFECT)]
    if any(e.client_id is None for e in relevant):
        return _count_all(database, day, window)
    changed = {e.client_id for e in relevant}
    per_client = {cid: counts for cid, counts in state.per_client.items() if cid not in changed}
    if changed:
        per_client.update(_count(day, window, changed))
    _counts = _Counts(database, day, window, events[-1].id, events[-1].hash, per_client)
    return per_client


@bp.route("/")
def index() -> str:
    day, window = today(), due_soon_days()
    in_force = Agreement.status != AgreementStatus.DRAFT
    visible = client_filter(current_user, Agreement.client_id)

    seen = visible_client_ids(current_user)
    per_client: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    for client_id, counts in status_counts(day, window).items():
        if seen is None or client_id in seen:
            per_client[client_id].update(counts)
            for state, count in counts.items():
                totals[state] += count
    clients = db.session.scalars(
        select(Client).where(client_filter(current_user, Client.id)).order_by(Client.legal_name)
    ).all()
    # Most at risk first; the full list is on the clients page.
    ranked = sorted(
        clients, key=lambda c: (-per_client[c.id]["overdue"] - per_client[c.id]["late"], -per_client[c.id]["due_soon"])
    )

    attention = (
        db.session.scalars(
            select(Obligation)
            .join(Obligation.agreement)
            .join(Agreement.client)
            .where(
                in_force,
                visible,
                status_expression(day, window).in_(
                    [ObligationStatus.OVERDUE.value, ObligationStatus.LATE.value, ObligationStatus.DUE_SOON.value]
                ),
                # overdue, late and due-soon rows always satisfy this; it lets the indexes bound the scan
                or_(Obligation.cached_due_on <= day + timedelta(days=window), Obligation.cached_late_until >= day),
            )
            .options(contains_eager(Obligation.agreement).contains_eager(Agreement.client), *obligation_loader())
            .order_by(Obligation.cached_due_on, Obligation.id)
            .limit(ATTENTION_LIMIT)
        )
        .unique()
        .all()
    )
    # Clause 4.1 takes its status from the record: check the records of those clients all at once.
    in_record = [o for o in attention if o.rule.get("requires") == "art30_record"]
    record_clients = {o.agreement.client_id: o.agreement.client for o in in_record}
    record_problems = problems_by_client(list(record_clients.values()), day) if record_clients else {}
    # Clause 2.1 checks the same record's categories: all at once as well.
    in_scope = [o for o in attention if o.rule.get("requires") == "processing_scope"]
    scope_clients = {o.agreement.client_id: o.agreement.client for o in in_scope}
    scope_gaps = scope_gaps_by_client(list(scope_clients.values()), day) if scope_clients else {}
    documents = inputs_by_obligation(attention, day)  # clauses 6.2/6.3, all at once
    events = borrowed_events(attention)  # clauses 8.1(2) and 8.3 count clause 8.1's breaches, all at once
    agents, removals = clause5_inputs(attention, day)  # clauses 5.2/5.3: the agents, all at once
    assessed = [
        (
            o,
            assess_obligation(
                o,
                day,
                record_problems.get(o.agreement.client_id, [])
                if o in in_record
                else scope_gaps.get(o.agreement.client_id, [])
                if o in in_scope
                else removals.get(o.agreement_id, [])
                if o.rule.get("requires") == REMOVAL_RULE
                else [],
                documents,
                events_by_id=events,
                agents_by_id=agents,
            ),
        )
        for o in attention
    ]
    return render_template(
        "dashboard/index.html",
        statuses=list(ObligationStatus),
        totals=totals,
        clients=ranked[:CLIENT_ROWS],
        client_total=len(clients),
        per_client=per_client,
        overdue=[(o, a) for o, a in assessed if a.status is ObligationStatus.OVERDUE],
        late=[(o, a) for o, a in assessed if a.status is ObligationStatus.LATE],
        due_soon=[(o, a) for o, a in assessed if a.status is ObligationStatus.DUE_SOON],
        limit=ATTENTION_LIMIT,
        today=day,
    )
