"""Status counts per client at each month end, for the dashboard's 12-month trend."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
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
