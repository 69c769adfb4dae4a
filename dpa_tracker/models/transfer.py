"""Clause 10: the client's written authorisations to disclose data to third parties (10(1)) and its prior
express consents to store or transfer data outside the EU/EEA (10(2)). Legal records: written once,
withdrawn with who, when and why, never edited or deleted (database triggers)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create

if TYPE_CHECKING:
    from dpa_tracker.models.agreement import Agreement, TriggerEvent
    from dpa_tracker.models.client import Client
    from dpa_tracker.models.dsr import RequestNotice
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


class LawTransfer(Base):
    """Clause 10(2)(b): a transfer to a third country or an international organisation that EU or Member State
    law requires of the processor. Recording it starts the clause's clock (the processor must tell the client
    before processing, with proof of the legal obligation) unless that law forbids telling the client on
    important grounds of public interest: then the recorded ground answers the event, and only processor staff
    see the record. Immutable."""

    __tablename__ = "law_transfer"
    __table_args__ = (
        CheckConstraint("length(authority) > 0", name="authority_not_empty"),
        CheckConstraint("length(law) > 0", name="law_not_empty"),
        CheckConstraint("length(destination) > 0", name="destination_not_empty"),
        CheckConstraint("length(data_concerned) > 0", name="data_not_empty"),
        CheckConstraint("length(proof_sha256) = 64", name="proof_sha256"),
        CheckConstraint("NOT notice_forbidden OR length(forbidden_ground) > 0", name="forbidden_has_ground"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"), index=True)
    learnt_at: Mapped[datetime]  # when the processor learnt of the obligation: the clock starts here
    authority: Mapped[str] = mapped_column(String(200))  # who requires it
    law: Mapped[str] = mapped_column(String(300))  # the law (and article) that imposes it
    destination_country: Mapped[str] = mapped_column(String(2), default="")  # ISO code; "" = international org.
    destination: Mapped[str] = mapped_column(String(200))  # the recipient organisation
    data_concerned: Mapped[str] = mapped_column(Text)
    proof_sha256: Mapped[str] = mapped_column(String(64))  # the legal obligation's proof, in the evidence store
    proof_filename: Mapped[str] = mapped_column(String(255))
    proof_content_type: Mapped[str] = mapped_column(String(100))
    proof_size: Mapped[int]
    notice_forbidden: Mapped[bool] = mapped_column(default=False, server_default=false())
    forbidden_ground: Mapped[str] = mapped_column(Text, default="")  # the public-interest ground and its reference
    event_id: Mapped[int] = mapped_column(ForeignKey("trigger_event.id", ondelete="RESTRICT"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    agreement: Mapped[Agreement] = relationship()
    event: Mapped[TriggerEvent] = relationship()
    recorded_by: Mapped[User | None] = relationship()
    notices: Mapped[list[RequestNotice]] = relationship(back_populates="law_transfer", order_by="RequestNotice.id")

    @property
    def where(self) -> str:
        return self.destination_country or "an international organisation"


install_on_create(DisclosureAuthorisation.__table__)
install_on_create(LawTransfer.__table__)
install_on_create(TransferConsent.__table__)
