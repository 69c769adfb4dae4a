"""Sub-processors, their authorisation per agreement, and change notices (clause 6)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create
from dpa_tracker.models.record import TransferMechanism

if TYPE_CHECKING:
    from dpa_tracker.models.agreement import Agreement
    from dpa_tracker.models.record import SupportingDocument
    from dpa_tracker.models.user import User


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=60,
        values_callable=lambda members: [m.value for m in members],
    )


class SubProcessor(Base):
    __tablename__ = "subprocessor"

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    service: Mapped[str] = mapped_column(String(200))
    data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    locations: Mapped[list[str]] = mapped_column(JSON, default=list)
    transfer_mechanism: Mapped[TransferMechanism | None] = mapped_column(
        _enum(TransferMechanism, "subprocessor_transfer_mechanism")
    )
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    dpo_name: Mapped[str] = mapped_column(String(200), default="")
    dpo_email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    documents: Mapped[list[SupportingDocument]] = relationship(
        primaryjoin="SupportingDocument.subprocessor_id == SubProcessor.id",
        viewonly=True,
        order_by="SupportingDocument.id",
    )


class Authorisation(Base):
    """A sub-processor authorised for one agreement from ``since_on`` (until ``until_on``)."""

    __tablename__ = "authorisation"
    __table_args__ = (CheckConstraint("until_on IS NULL OR until_on >= since_on", name="until_after_since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"), index=True)
    subprocessor_id: Mapped[int] = mapped_column(ForeignKey("subprocessor.id", ondelete="RESTRICT"), index=True)
    since_on: Mapped[date]
    until_on: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agreement: Mapped[Agreement] = relationship()
    subprocessor: Mapped[SubProcessor] = relationship()


class ChangeKind(enum.StrEnum):
    ADD = "add"
    REPLACE = "replace"
    REMOVE = "remove"


class AnswerState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    OBJECTED = "objected"


class ObjectionConsequence(enum.StrEnum):
    """What follows from a client's objection (Art. 28(2)): recorded with the objection, kept."""

    NOT_USED = "not_used"  # the sub-processor is not used for this client's data
    TERMINATION = "termination"  # the client terminates the agreement


CONSEQUENCE_TITLES = {
    ObjectionConsequence.NOT_USED: "the sub-processor is not used for our data",
    ObjectionConsequence.TERMINATION: "we terminate the agreement",
}


class DeliveryState(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # last attempt failed; retried by `flask notices send` unless held for an admin


class ChangeNotice(Base):
    """A proposed change to the sub-processors (clause 6.1). Never edited after it is created."""

    __tablename__ = "change_notice"
    __table_args__ = (
        CheckConstraint("(kind = 'replace') = (replaces_id IS NOT NULL)", name="replace_names_old"),
        CheckConstraint("length(reason) > 0", name="reason_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ChangeKind] = mapped_column(_enum(ChangeKind, "change_kind"))
    subprocessor_id: Mapped[int] = mapped_column(ForeignKey("subprocessor.id", ondelete="RESTRICT"))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("subprocessor.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("change_notice.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subprocessor: Mapped[SubProcessor] = relationship(foreign_keys=[subprocessor_id])
    replaces: Mapped[SubProcessor | None] = relationship(foreign_keys=[replaces_id])
    created_by: Mapped[User | None] = relationship()
    recipients: Mapped[list[NoticeRecipient]] = relationship(back_populates="notice", order_by="NoticeRecipient.id")


class NoticeRecipient(Base):
    """The notice as addressed to one agreement (one client), with that client's answer."""

    __tablename__ = "notice_recipient"
    __table_args__ = (
        UniqueConstraint("notice_id", "agreement_id"),
        CheckConstraint("(state = 'pending') = (answered_at IS NULL)", name="answered_iff_not_pending"),
        CheckConstraint("state != 'objected' OR length(answer_reason) > 0", name="objection_has_reason"),
        CheckConstraint("objection_consequence IS NULL OR state = 'objected'", name="consequence_of_objection"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("change_notice.id", ondelete="RESTRICT"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"), index=True)
    objection_deadline: Mapped[date]  # sent date + the agreement's objection period
    state: Mapped[AnswerState] = mapped_column(_enum(AnswerState, "answer_state"), default=AnswerState.PENDING)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    answer_reason: Mapped[str] = mapped_column(Text, default="")
    # NULL on objections recorded before it was asked (migration 0011) and on every approval.
    objection_consequence: Mapped[ObjectionConsequence | None] = mapped_column(
        _enum(ObjectionConsequence, "objection_consequence")
    )

    notice: Mapped[ChangeNotice] = relationship(back_populates="recipients")
    agreement: Mapped[Agreement] = relationship()
    answered_by: Mapped[User | None] = relationship()
    deliveries: Mapped[list[NoticeDelivery]] = relationship(back_populates="recipient", order_by="NoticeDelivery.id")


class NoticeDelivery(Base):
    """One e-mail of one notice to one address; unique so a retry never sends twice."""

    __tablename__ = "notice_delivery"
    __table_args__ = (UniqueConstraint("recipient_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("notice_recipient.id", ondelete="RESTRICT"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState, "delivery_state"), default=DeliveryState.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(255))
    sent_at: Mapped[datetime | None]
    message_sha256: Mapped[str | None] = mapped_column(String(64))
    # A failure that the next run would only repeat (the message cannot be built from the stored rows) or that
    # must not be repeated blindly (sent, but not recorded): it waits for an admin's retry instead of the cron.
    held: Mapped[bool] = mapped_column(default=False, server_default=false())

    recipient: Mapped[NoticeRecipient] = relationship(back_populates="deliveries")


install_on_create(ChangeNotice.__table__)  # a correction is a new notice
install_on_create(NoticeRecipient.__table__)  # the client's answer, once given
install_on_create(NoticeDelivery.__table__)  # an e-mail, once sent
