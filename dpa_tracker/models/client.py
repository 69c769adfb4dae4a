"""The processor's own profile and its clients (the controllers)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow

if TYPE_CHECKING:
    from dpa_tracker.models.agreement import Agreement


class ProcessorProfile(Base):
    """One row per installation: the processor that signs every agreement."""

    __tablename__ = "processor_profile"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")
    dpo_name: Mapped[str] = mapped_column(String(200), default="")
    dpo_email: Mapped[str] = mapped_column(String(254), default="")
    # Art. 30(2)(a): the processor's representative (Art. 27, for a processor outside the EU) and how to reach it.
    representative: Mapped[str] = mapped_column(String(200), default="")
    representative_contact: Mapped[str] = mapped_column(String(500), default="")
    # ISO 3166-1 alpha-2 of the processor's establishment: its working-day calendar counts clause 9.1's
    # forwarding target (dpa_tracker/workdays.py); empty = the default calendar (Saturday-Sunday, no holidays).
    country: Mapped[str] = mapped_column(String(2), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Client(Base):
    """A controller for which the processor processes personal data."""

    __tablename__ = "client"
    __table_args__ = (CheckConstraint("length(legal_name) > 0", name="legal_name_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    address: Mapped[str] = mapped_column(Text, default="")
    # Clause 8.1: breach notices go by e-mail to the client's contact addresses.
    notice_emails: Mapped[str] = mapped_column(Text, default="")  # one address per line
    dpo_name: Mapped[str] = mapped_column(String(200), default="")
    dpo_email: Mapped[str] = mapped_column(String(254), default="")
    representative: Mapped[str] = mapped_column(String(200), default="")
    representative_contact: Mapped[str] = mapped_column(String(500), default="")  # Art. 30(2)(a)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agreements: Mapped[list[Agreement]] = relationship(back_populates="client", order_by="Agreement.reference")

    @property
    def notice_email_list(self) -> list[str]:
        return [line.strip() for line in self.notice_emails.splitlines() if line.strip()]
