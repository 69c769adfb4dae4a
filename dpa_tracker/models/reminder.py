"""Reminders of deadlines (issue 13): the digests e-mailed to owners, what each one reminded, and the
per-user calendar feeds."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create
from dpa_tracker.models.subprocessor import DeliveryState, _enum

if TYPE_CHECKING:
    from dpa_tracker.models.user import User


class ReminderDigest(Base):
    """One e-mail to one user listing what became due soon or overdue since the last run; sent by the outbox
    sender like the notices (fixed Message-ID, failures retried or held). Settled once sent."""

    __tablename__ = "reminder_digest"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState, "reminder_delivery_state"), default=DeliveryState.QUEUED
    )
    held: Mapped[bool] = mapped_column(default=False, server_default=false())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None]
    message_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    items: Mapped[list[ReminderItem]] = relationship(back_populates="digest", order_by="ReminderItem.id")


class ReminderItem(Base):
    """A deadline already put in a digest for a user in a state (due_soon, overdue): the next run leaves it
    out, so running the command twice never reminds the same thing twice."""

    __tablename__ = "reminder_item"
    __table_args__ = (UniqueConstraint("user_id", "item_key", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    digest_id: Mapped[int] = mapped_column(ForeignKey("reminder_digest.id", ondelete="RESTRICT"), index=True)
    item_key: Mapped[str] = mapped_column(String(120))  # the deadline's kind, object and date
    state: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date]
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    digest: Mapped[ReminderDigest] = relationship(back_populates="items")


class CalendarFeed(Base):
    """A user's iCalendar feed token: only its SHA-256 is stored, the token is shown once; revoked, it
    answers 404."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


install_on_create(ReminderDigest.__table__)  # settled once sent
install_on_create(ReminderItem.__table__)  # immutable
