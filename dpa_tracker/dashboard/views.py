"""Dashboard: scores, trend, heat-map and the attention list; "My obligations"."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from dpa_tracker.dashboard.charts import Series, heat_cells, line_chart
from dpa_tracker.dashboard.counts import NO_DETAILS, client_details, status_counts
from dpa_tracker.dashboard.listing import families, obligation_page, parse_filters, rows_per_client
from dpa_tracker.dashboard.scores import add, family_key, score
from dpa_tracker.dashboard.trend import trend
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    SNAPSHOT_STATUSES,
    Agreement,
    AgreementStatus,
    Client,
    ObligationStatus,
    Role,
    StatusSnapshot,
    User,
)
from dpa_tracker.obligation.services import due_soon_days, today
from dpa_tracker.permissions import client_filter, require_login, visible_client_ids

bp = Blueprint("dashboard", __name__)
require_login(bp)
CLIENT_ROWS = 50
STATUS_LABELS = {s.value: s.value.replace("_", " ") for s in ObligationStatus}


def _owners() -> list[User]:
    """Who can own an obligation (processor staff): the owner filter's choices."""
    return list(
        db.session.scalars(
            select(User).where(User.role.in_([Role.ADMIN, Role.COMPLIANCE]), User.active.is_(True)).order_by(User.name)
        )
    )


@bp.route("/")
def index() -> tuple[str, int]:
    day, window = today(), due_soon_days()
    filters, errors = parse_filters(request.args)
    portal = current_user.role is Role.CLIENT

    seen = visible_client_ids(current_user)
    counts = {cid: c for cid, c in status_counts(day, window).items() if seen is None or cid in seen}
    totals = add(c.statuses for c in counts.values())
    # In the attention list's client order (rows_per_client relies on it): name, then id, as the database sorts.
    # Only what the page shows (id, name): 400 whole Client objects cost ~4 ms to load.
    clients = db.session.execute(
        select(Client.id, Client.legal_name)
        .where(client_filter(current_user, Client.id))
        .order_by(Client.legal_name, Client.id)
    ).all()
    scores = {c.id: counts[c.id].score if c.id in counts else score({}) for c in clients}
    # Most at risk first; the full list is on the clients page.
    ranked = sorted(clients, key=lambda c: (-scores[c.id].overdue - scores[c.id].late, scores[c.id].percent or 0))
    shown = ranked[:CLIENT_ROWS]
    agreements = (
        db.session.execute(
            select(Agreement.id, Agreement.reference, Agreement.client_id)
            .where(Agreement.client_id.in_([c.id for c in shown]), Agreement.status != AgreementStatus.DRAFT)
            .order_by(Agreement.reference)
        ).all()
        if shown
        else []
    )
    # Per agreement and per clause family: only for the clients shown.
    details = client_details(day, window, [c.id for c in shown if c.id in counts])
    agreement_scores: dict[int, list[tuple[int, str, object]]] = {}
    for agreement_id, reference, client_id in agreements:
        agreement_score = details.get(client_id, NO_DETAILS).agreement_score(agreement_id)
        agreement_scores.setdefault(client_id, []).append((agreement_id, reference, agreement_score))

    columns = families()
    heat = {c.id: details.get(c.id, NO_DETAILS).family_scores for c in shown}
    columns += sorted({f for row in heat.values() for f in row} - set(columns), key=family_key)

    points = trend(day, client_filter(current_user, StatusSnapshot.client_id), totals)
    labels = ["today" if p.today else p.day.strftime("%b %Y") for p in points]
    series = [
        Series(s, STATUS_LABELS[s], [p.counts.get(s, 0) if p.counts is not None else None for p in points])
        for s in SNAPSHOT_STATUSES
    ]
    missing = [p.day for p in points if p.counts is None]
    chart = line_chart(
        "trend-chart",
        "Obligations by status at each month end, last 12 months, and today",
        "Line chart, one line per status. "
        + "; ".join(
            f"{s.label}: {s.values[0] if s.values[0] is not None else 'no figure'} on {labels[0]}, {s.values[-1]} today"
            for s in series
        )
        + ". The table below gives every figure.",
        labels,
        series,
    )
    page = (
        obligation_page(
            filters,
            day,
            window,
            client_filter(current_user, Agreement.client_id),
            rows_per_client(
                filters,
                counts,
                [c.id for c in clients],
                client_details(day, window, counts) if filters.family is not None else {},
            ),
        )
        if not errors
        else None
    )
    return render_template(
        "dashboard/index.html",
        statuses=list(ObligationStatus),
        status_labels=STATUS_LABELS,
        totals=totals,
        overall=score(totals),
        clients=shown,
        all_clients=clients,
        client_total=len(clients),
        scores=scores,
        agreement_scores=agreement_scores,
        columns=columns,
        heat=heat,
        heat_cells=heat_cells,
        chart=chart,
        points=points,
        labels=labels,
        series=series,
        missing=missing,
        page=page,
        filters=filters,
        errors=errors,
        owners=[] if portal else _owners(),
        families=families(),
        portal=portal,
        endpoint="dashboard.index",
        today=day,
    ), (422 if errors else 200)


@bp.route("/my/obligations")
def mine() -> tuple[str, int]:
    """Exactly the obligations the signed-in user owns, with every status unless filtered."""
    day, window = today(), due_soon_days()
    filters, errors = parse_filters(request.args, default_statuses=tuple(ObligationStatus))
    if "owner" in request.args:
        errors.append("Owner: this page lists your own obligations; use the dashboard to see another owner's.")
    portal = current_user.role is Role.CLIENT
    clients = db.session.scalars(
        select(Client).where(client_filter(current_user, Client.id)).order_by(Client.legal_name)
    ).all()
    page = None
    if not errors:
        mine_only = replace(filters, owner_id=current_user.id)
        page = obligation_page(mine_only, day, window, client_filter(current_user, Agreement.client_id))
    return render_template(
        "dashboard/mine.html",
        status_labels=STATUS_LABELS,
        statuses=list(ObligationStatus),
        all_clients=clients,
        page=page,
        filters=filters,
        errors=errors,
        owners=[],
        families=families(),
        portal=portal,
        endpoint="dashboard.mine",
        today=day,
    ), (422 if errors else 200)
