"""Clause 10: the client's written authorisations to disclose data to third parties (10(1)) and its prior
express consents to store or transfer data outside the EU/EEA (10(2)). Legal records: written once,
withdrawn with who, when and why, never edited or deleted (database triggers)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create

if TYPE_CHECKING:
    from dpa_tracker.models.client import Client
    from dpa_tracker.models.user import User


class _Withdrawable:
    recorded_at: datetime
    withdrawn_at: datetime | None

    def counts_on(self, day: date) -> bool:
        """Known on ``day`` (recorded by then) and not yet withdrawn."""
        return self.recorded_at.date() <= day and (self.withdrawn_at is None or self.withdrawn_at.date() > day)


class DisclosureAuthorisation(_Withdrawable, Base):
    """Clause 10(1): the client's written authorisation to disclose its data to a third party."""

    __tablename__ = "disclosure_authorisation"
    __table_args__ = (
        CheckConstraint("length(recipient) > 0", name="recipient_not_empty"),
        CheckConstraint("length(purpose) > 0", name="purpose_not_empty"),
        CheckConstraint("withdrawn_at IS NULL OR withdrawn_reason IS NOT NULL", name="withdrawal_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    authorised_on: Mapped[date]
    sha256: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    client: Mapped[Client] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])


class TransferConsent(_Withdrawable, Base):
    """Clause 10(2): the client's prior express consent to storage or transfer outside the EU/EEA. It covers
    the countries it names (ISO codes) and the record's transfers it names (``transfer.id``)."""

    __tablename__ = "transfer_consent"
    __table_args__ = (
        CheckConstraint("length(given_by) > 0", name="given_by_not_empty"),
        CheckConstraint("withdrawn_at IS NULL OR withdrawn_reason IS NOT NULL", name="withdrawal_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"), index=True)
    given_on: Mapped[date]
    given_by: Mapped[str] = mapped_column(String(200))  # who signed for the client
    # Space-separated, sorted (plain text so the write-once trigger can compare them on every database).
    countries: Mapped[str] = mapped_column(String(400), default="")  # ISO 3166-1 alpha-2 codes
    transfer_ids: Mapped[str] = mapped_column(String(400), default="")  # ids of the record's transfers
    scope: Mapped[str] = mapped_column(Text, default="")  # the consent's own words
    sha256: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    client: Mapped[Client] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])

    @property
    def country_list(self) -> list[str]:
        return self.countries.split()

    @property
    def transfer_id_list(self) -> list[int]:
        return [int(i) for i in self.transfer_ids.split()]

    def covers(self, country: str | None, transfer_id: int | None) -> bool:
        return (transfer_id is not None and transfer_id in self.transfer_id_list) or (
            country is not None and country.upper() in self.country_list
        )


install_on_create(DisclosureAuthorisation.__table__)
install_on_create(TransferConsent.__table__)
