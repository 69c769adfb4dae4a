"""Dashboard: counts by status, what is overdue, late or due soon, a line per client."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager

from dpa_tracker.dashboard.counts import status_counts
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AgreementStatus, Client, Obligation, ObligationStatus
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
                else [],
                documents,
                events_by_id=events,
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
