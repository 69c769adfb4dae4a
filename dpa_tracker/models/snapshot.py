"""Status counts per client: at each month end (the dashboard's 12-month trend), and today's, stored."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dpa_tracker.models.base import Base, utcnow

SNAPSHOT_STATUSES = ("met", "due_soon", "overdue", "late", "open", "not_applicable")


class StatusSnapshot(Base):
    """How many obligations of a client had each status at the end of a month (the as-of engine's answer).

    Written once per (client, month end) by ``flask obligations snapshot``; the engine's answer for a past day
    only reads records that existed on that day, so a later run would write the same numbers."""

    __tablename__ = "status_snapshot"
    __table_args__ = (
        UniqueConstraint("month_end", "client_id"),
        CheckConstraint(
            "met >= 0 AND due_soon >= 0 AND overdue >= 0 AND late >= 0 AND open >= 0 AND not_applicable >= 0",
            name="counts_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month_end: Mapped[date] = mapped_column(index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"), index=True)
    met: Mapped[int] = mapped_column(default=0)
    due_soon: Mapped[int] = mapped_column(default=0)
    overdue: Mapped[int] = mapped_column(default=0)
    late: Mapped[int] = mapped_column(default=0)
    open: Mapped[int] = mapped_column(default=0)
    not_applicable: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredCounts(Base):
    """One client's dashboard status counts on one day, as ``dashboard.counts`` computes them (in all, per
    agreement, per clause family), stored so that a new process reads 400 rows rather than counting every
    obligation.

    A cache, not a record: written in the same transaction as every change to the client (after its audit
    event, ``upto_event_id``) and for every client by the daily ``flask obligations refresh``; a row older than
    a later event of its client, or of another day, is ignored and the client counted again."""

    __tablename__ = "stored_counts"

    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date]
    due_soon_days: Mapped[int]  # the window of `due_soon` the counts were made with
    upto_event_id: Mapped[int]
    statuses: Mapped[dict[str, Any]] = mapped_column(JSON)  # {status: count}
    by_agreement: Mapped[dict[str, Any]] = mapped_column(JSON)  # {agreement id: {status: count}}
    by_family: Mapped[dict[str, Any]] = mapped_column(JSON)  # {clause family: {status: count}}
