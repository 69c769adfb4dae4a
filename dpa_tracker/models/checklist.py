"""Auditors' comments on an obligation (issue 13): kept as written, never edited nor deleted."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create

if TYPE_CHECKING:
    from dpa_tracker.models.agreement import Obligation
    from dpa_tracker.models.user import User


class ChecklistComment(Base):
    """One remark of an auditor (or of processor staff) on one obligation of the checklist."""

    __tablename__ = "checklist_comment"
    __table_args__ = (CheckConstraint("length(body) > 0", name="body_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligation.id", ondelete="RESTRICT"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    obligation: Mapped[Obligation] = relationship()
    author: Mapped[User] = relationship()


install_on_create(ChecklistComment.__table__)  # immutable: every UPDATE and DELETE is refused
