"""Evidence that an obligation is met. Never edited nor deleted: superseded or withdrawn."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create

if TYPE_CHECKING:
    from dpa_tracker.models.agreement import Obligation, TriggerEvent
    from dpa_tracker.models.user import User


class EvidenceState(enum.StrEnum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint("sha256 IS NOT NULL OR length(note) > 0 OR length(link) > 0", name="has_content"),
        CheckConstraint(
            "valid_until IS NULL OR period_start IS NULL OR valid_until >= period_start", name="valid_after_start"
        ),
        CheckConstraint(
            "period_end IS NULL OR period_start IS NULL OR period_end >= period_start", name="period_order"
        ),
        CheckConstraint("(state = 'active') = (ended_at IS NULL)", name="ended_iff_not_active"),
        Index("ix_evidence_obligation_state", "obligation_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligation.id", ondelete="RESTRICT"))
    trigger_event_id: Mapped[int | None] = mapped_column(ForeignKey("trigger_event.id", ondelete="RESTRICT"))
    note: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(2000), default="")
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None]
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    valid_until: Mapped[date | None]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the act it proves was done (the notice sent, the copy handed out, the data deleted);
    # None means when it was added. A clock stops here.
    acted_at: Mapped[datetime | None]
    state: Mapped[EvidenceState] = mapped_column(
        Enum(
            EvidenceState,
            name="evidence_state",
            native_enum=False,
            create_constraint=True,
            length=20,
            values_callable=lambda members: [m.value for m in members],
        ),
        default=EvidenceState.ACTIVE,
    )
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    end_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id", ondelete="RESTRICT"))

    obligation: Mapped[Obligation] = relationship(back_populates="evidence")
    trigger_event: Mapped[TriggerEvent | None] = relationship()
    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])

    @property
    def done_at(self) -> datetime:
        return self.acted_at or self.added_at

    def counts_on(self, day: date) -> bool:
        """True when this evidence had been added and not yet withdrawn/superseded on that day."""
        if self.added_at.date() > day:
            return False
        return self.ended_at is None or self.ended_at.date() > day


install_on_create(Evidence.__table__)  # never deleted; what was recorded never changes
