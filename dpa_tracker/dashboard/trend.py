"""The 12-month trend: status counts per client at each month end, kept in ``status_snapshot``.

A past month end's statuses come from the as-of engine (``assess_agreement(as_of=...)``), which reads only
what was recorded by that day; that costs a full assessment of every obligation, so it is done by a command
(``flask obligations snapshot``, from cron) and the dashboard only reads the stored rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func, select

from dpa_tracker.audit.services import record
from dpa_tracker.extensions import db
from dpa_tracker.models import SNAPSHOT_STATUSES, Agreement, AgreementStatus, StatusSnapshot
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import assess_agreement

MONTHS = 12


@dataclass(frozen=True)
class TrendPoint:
    day: date
    counts: dict[str, int] | None  # None: that month end has not been computed yet
    today: bool = False


def month_ends(day: date, months: int = MONTHS) -> list[date]:
    """The last ``months`` month ends before ``day``, oldest first."""
    ends = []
    end = day.replace(day=1) - timedelta(days=1)
    for _ in range(months):
        ends.append(end)
        end = end.replace(day=1) - timedelta(days=1)
    return ends[::-1]


def counts_on(day: date) -> dict[int, dict[str, int]]:
    """{client id: {status: count}} on ``day`` by the as-of engine, over agreements that existed then."""
    agreements = db.session.scalars(
        select(Agreement)
        .where(
            Agreement.status != AgreementStatus.DRAFT,
            Agreement.created_at < datetime.combine(day + timedelta(days=1), time(), UTC),
        )
        .order_by(Agreement.id)
    ).all()
    per_client: dict[int, dict[str, int]] = {}
    for agreement in agreements:
        counts = per_client.setdefault(agreement.client_id, {})
        for _, assessment in assess_agreement(agreement, day):
            counts[assessment.status.value] = counts.get(assessment.status.value, 0) + 1
    return per_client


def take_snapshots(day: date, months: int = MONTHS) -> list[date]:
    """Store the counts of every month end of the last ``months`` that has none yet; returns those month ends."""
    done = set(
        db.session.scalars(
            select(StatusSnapshot.month_end).where(StatusSnapshot.month_end >= month_ends(day, months)[0])
        )
    )
    taken = []
    for end in month_ends(day, months):
        if end in done:
            continue
        per_client = counts_on(end)
        if not per_client:
            continue
        now = utcnow()
        for client_id, counts in per_client.items():
            db.session.add(
                StatusSnapshot(
                    month_end=end,
                    client_id=client_id,
                    computed_at=now,
                    **{state: counts.get(state, 0) for state in SNAPSHOT_STATUSES},
                )
            )
        taken.append(end)
    if taken:
        db.session.flush()
        record(None, "obligations.snapshot", None, {"month_ends": [d.isoformat() for d in taken]})
    return taken


def trend(
    day: date, visible: ColumnElement[bool], today_counts: Mapping[str, int], months: int = MONTHS
) -> list[TrendPoint]:
    """The stored month ends (summed over the clients ``visible`` allows) and today's live counts: one query."""
    ends = month_ends(day, months)
    stmt = (
        select(StatusSnapshot.month_end, *(func.sum(getattr(StatusSnapshot, s)) for s in SNAPSHOT_STATUSES))
        .where(StatusSnapshot.month_end.in_(ends), visible)
        .group_by(StatusSnapshot.month_end)
    )
    stored = {
        row[0]: dict(zip(SNAPSHOT_STATUSES, (int(v or 0) for v in row[1:]), strict=True))
        for row in db.session.execute(stmt)
    }
    points = [TrendPoint(end, stored.get(end)) for end in ends]
    points.append(TrendPoint(day, {s: int(today_counts.get(s, 0)) for s in SNAPSHOT_STATUSES}, today=True))
    return points
