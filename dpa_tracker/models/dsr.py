"""Data-subject requests received by the processor (clause 9.1), the client's help requests linked to them
(clauses 3.1(6)-(7)), the client's documented instructions (clause 3.1(3), Art. 28(3)(a)) and the e-mails that
forward a request or flag an unlawful instruction to the client. All are legal records: never edited nor
deleted (an e-mail only until it is sent)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create
from dpa_tracker.models.subprocessor import DeliveryState

if TYPE_CHECKING:
    from dpa_tracker.models.agreement import Agreement, TriggerEvent
    from dpa_tracker.models.transfer import LawTransfer
    from dpa_tracker.models.user import User


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=30,
        values_callable=lambda members: [m.value for m in members],
    )


class RequestChannel(enum.StrEnum):
    EMAIL = "email"
    POST = "post"
    PHONE = "phone"
    WEB_FORM = "web_form"
    IN_PERSON = "in_person"
    OTHER = "other"


class RequestType(enum.StrEnum):
    """The data subject's right invoked (GDPR Arts. 15-22)."""

    ACCESS = "access"  # Art. 15
    RECTIFICATION = "rectification"  # Art. 16
    ERASURE = "erasure"  # Art. 17
    RESTRICTION = "restriction"  # Art. 18
    NOTIFICATION_TO_RECIPIENTS = "notification_to_recipients"  # Art. 19
    PORTABILITY = "portability"  # Art. 20
    OBJECTION = "objection"  # Art. 21
    AUTOMATED_DECISION = "automated_decision"  # Art. 22


REQUEST_TYPE_TITLES = {
    RequestType.ACCESS: "access (Art. 15)",
    RequestType.RECTIFICATION: "rectification (Art. 16)",
    RequestType.ERASURE: "erasure (Art. 17)",
    RequestType.RESTRICTION: "restriction (Art. 18)",
    RequestType.NOTIFICATION_TO_RECIPIENTS: "notification to recipients (Art. 19)",
    RequestType.PORTABILITY: "portability (Art. 20)",
    RequestType.OBJECTION: "objection (Art. 21)",
    RequestType.AUTOMATED_DECISION: "automated decision-making (Art. 22)",
}


class DataSubjectRequest(Base):
    """A request from a data subject that reached the processor. Minimisation: a reference to the data subject
    (e.g. the client's customer number or a ticket id), never the request's content."""

    __tablename__ = "data_subject_request"
    __table_args__ = (CheckConstraint("length(subject_reference) > 0", name="reference_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"), index=True)
    received_at: Mapped[datetime]  # the clause 9.1 clock starts here (the event's aware_at)
    channel: Mapped[RequestChannel] = mapped_column(_enum(RequestChannel, "dsr_channel"))
    type: Mapped[RequestType] = mapped_column(_enum(RequestType, "dsr_type"))
    subject_reference: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[int] = mapped_column(ForeignKey("trigger_event.id", ondelete="RESTRICT"))
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    logged_at: Mapped[datetime] = mapped_column(default=utcnow)

    agreement: Mapped[Agreement] = relationship()
    event: Mapped[TriggerEvent] = relationship()
    logged_by: Mapped[User | None] = relationship()
    notices: Mapped[list[RequestNotice]] = relationship(back_populates="request", order_by="RequestNotice.id")
    help_requests: Mapped[list[HelpRequest]] = relationship(back_populates="request", order_by="HelpRequest.id")


class HelpRequest(Base):
    """The client asks for help with a data-subject request (clause 3.1(6) or 3.1(7)): the event of that
    obligation, with its own clock, linked to the request."""

    __tablename__ = "dsr_help_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("data_subject_request.id", ondelete="RESTRICT"), index=True)
    clause_number: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[int] = mapped_column(ForeignKey("trigger_event.id", ondelete="RESTRICT"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[DataSubjectRequest] = relationship(back_populates="help_requests")
    event: Mapped[TriggerEvent] = relationship()


class Instruction(Base):
    """A documented instruction from the client (clause 3.1(3), Art. 28(3)(a))."""

    __tablename__ = "instruction"
    __table_args__ = (CheckConstraint("length(content) > 0", name="content_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"), index=True)
    received_on: Mapped[date]
    channel: Mapped[RequestChannel] = mapped_column(_enum(RequestChannel, "instruction_channel"))
    content: Mapped[str] = mapped_column(Text)
    about_transfers: Mapped[bool] = mapped_column(default=False, server_default=false())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    agreement: Mapped[Agreement] = relationship()
    recorded_by: Mapped[User | None] = relationship()
    flag: Mapped[InstructionFlag | None] = relationship(back_populates="instruction")
    notices: Mapped[list[RequestNotice]] = relationship(back_populates="instruction", order_by="RequestNotice.id")


class InstructionFlag(Base):
    """The processor judges an instruction unlawful (Art. 28(3) last subparagraph): the clause 3.1(3) event."""

    __tablename__ = "instruction_flag"
    __table_args__ = (CheckConstraint("length(reason) > 0", name="reason_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instruction_id: Mapped[int] = mapped_column(ForeignKey("instruction.id", ondelete="RESTRICT"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    event_id: Mapped[int] = mapped_column(ForeignKey("trigger_event.id", ondelete="RESTRICT"))
    flagged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    flagged_at: Mapped[datetime] = mapped_column(default=utcnow)

    instruction: Mapped[Instruction] = relationship(back_populates="flag")
    event: Mapped[TriggerEvent] = relationship()


ONE_SUBJECT = (
    "(CASE WHEN request_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN instruction_id IS NULL THEN 0 ELSE 1 END) "
    "+ (CASE WHEN law_transfer_id IS NULL THEN 0 ELSE 1 END) = 1"
)


class RequestNotice(Base):
    """One e-mail to one client address: a data-subject request forwarded (clause 9.1), an unlawful
    instruction flagged (clause 3.1(3)) or a transfer required by law announced with its proof (clause
    10(2)(b)); queued by a page or the API, sent by ``flask notices send``."""

    __tablename__ = "request_notice"
    __table_args__ = (
        CheckConstraint(ONE_SUBJECT, name="one_subject"),
        CheckConstraint("(state = 'sent') = (sent_at IS NOT NULL)", name="sent_iff_sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_subject_request.id", ondelete="RESTRICT"), index=True
    )
    instruction_id: Mapped[int | None] = mapped_column(ForeignKey("instruction.id", ondelete="RESTRICT"), index=True)
    law_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("law_transfer.id", ondelete="RESTRICT"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"))
    clause_number: Mapped[str] = mapped_column(String(20))  # 9.1, 3.1(3), 10(2)(b): the obligation it meets
    event_id: Mapped[int] = mapped_column(ForeignKey("trigger_event.id", ondelete="RESTRICT"))
    email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState, "request_notice_state"), default=DeliveryState.QUEUED
    )
    held: Mapped[bool] = mapped_column(default=False, server_default=false())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None]
    message_sha256: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[DataSubjectRequest | None] = relationship(back_populates="notices")
    instruction: Mapped[Instruction | None] = relationship(back_populates="notices")
    law_transfer: Mapped[LawTransfer | None] = relationship(back_populates="notices")
    agreement: Mapped[Agreement] = relationship()
    created_by: Mapped[User | None] = relationship()


install_on_create(DataSubjectRequest.__table__)
install_on_create(HelpRequest.__table__)
install_on_create(Instruction.__table__)
install_on_create(InstructionFlag.__table__)
install_on_create(RequestNotice.__table__)
