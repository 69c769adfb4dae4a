"""Personal data breaches (clause 8): the register entry, the agreements it touches, the 8.1(2) actions and the
e-mails that notify each client. The entry and its links are legal records: never edited nor deleted."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, Column, Enum, ForeignKey, String, Table, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create
from dpa_tracker.models.subprocessor import DeliveryState

if TYPE_CHECKING:
    from dpa_tracker.models.agent import Agent
    from dpa_tracker.models.agreement import Agreement, TriggerEvent
    from dpa_tracker.models.subprocessor import SubProcessor
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


class BreachNature(enum.StrEnum):
    CONFIDENTIALITY = "confidentiality"
    INTEGRITY = "integrity"
    AVAILABILITY = "availability"


class RiskLevel(enum.StrEnum):
    """The risk to data subjects' rights (Art. 33(1), 34(1)); never delays or blocks the notice."""

    NOT_ASSESSED = "not_assessed"
    UNLIKELY = "unlikely"
    RISK = "risk"
    HIGH_RISK = "high_risk"


RISK_TITLES = {
    RiskLevel.NOT_ASSESSED: "not assessed yet",
    RiskLevel.UNLIKELY: "unlikely to result in a risk",
    RiskLevel.RISK: "likely to result in a risk",
    RiskLevel.HIGH_RISK: "likely to result in a high risk",
}


class ActionKind(enum.StrEnum):
    """Clause 8.1(2): limit the risks, remedy, investigate the cause."""

    CONTAINMENT = "containment"
    REMEDY = "remedy"
    INVESTIGATION = "investigation"


class NoticePhase(enum.StrEnum):
    """Art. 33(4): information may be given in phases."""

    INITIAL = "initial"
    FOLLOW_UP = "follow_up"


breach_subprocessor = Table(
    "breach_subprocessor",
    Base.metadata,
    Column("breach_id", ForeignKey("breach.id", ondelete="RESTRICT"), primary_key=True),
    Column("subprocessor_id", ForeignKey("subprocessor.id", ondelete="RESTRICT"), primary_key=True),
)


# The agents (clause 5) involved in a breach, linked when it is recorded; people who are not agents stay in the
# free text of ``Breach.agents``.
breach_agent = Table(
    "breach_agent",
    Base.metadata,
    Column("breach_id", ForeignKey("breach.id", ondelete="RESTRICT"), primary_key=True),
    Column("agent_id", ForeignKey("agent.id", ondelete="RESTRICT"), primary_key=True),
)


class Breach(Base):
    """One personal data breach as entered in the register (clause 8.3)."""

    __tablename__ = "breach"
    __table_args__ = (
        CheckConstraint("detected_at >= occurred_at", name="detected_after_occurred"),
        CheckConstraint("aware_at >= detected_at", name="aware_after_detected"),
        CheckConstraint("length(title) > 0", name="title_not_empty"),
        CheckConstraint("length(description) > 0", name="description_not_empty"),
        CheckConstraint("data_subjects_approx IS NULL OR data_subjects_approx >= 0", name="subjects_not_negative"),
        CheckConstraint("records_approx IS NULL OR records_approx >= 0", name="records_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime]
    detected_at: Mapped[datetime]
    aware_at: Mapped[datetime]  # every client's notice clock starts here (clause 8.1)
    natures: Mapped[list[str]] = mapped_column(JSON)  # BreachNature values, one or more
    description: Mapped[str] = mapped_column(Text)
    systems: Mapped[str] = mapped_column(Text, default="")
    agents: Mapped[str] = mapped_column(Text, default="")  # people involved who are not agents (free text)
    data_subject_categories: Mapped[str] = mapped_column(Text, default="")
    data_subjects_approx: Mapped[int | None]
    record_categories: Mapped[str] = mapped_column(Text, default="")
    records_approx: Mapped[int | None]
    likely_consequences: Mapped[str] = mapped_column(Text, default="")
    measures_taken: Mapped[str] = mapped_column(Text, default="")
    measures_proposed: Mapped[str] = mapped_column(Text, default="")
    agreement_failures: Mapped[str] = mapped_column(Text, default="")  # clause 8.3
    risk: Mapped[RiskLevel] = mapped_column(_enum(RiskLevel, "breach_risk"), default=RiskLevel.NOT_ASSESSED)
    contact_point: Mapped[str] = mapped_column(Text)
    # The sub-processor that caused or reported it, and its own notice to us (a stored file).
    source_subprocessor_id: Mapped[int | None] = mapped_column(ForeignKey("subprocessor.id", ondelete="RESTRICT"))
    source_notice_sha256: Mapped[str | None] = mapped_column(String(64))
    source_notice_filename: Mapped[str | None] = mapped_column(String(255))
    source_notice_content_type: Mapped[str | None] = mapped_column(String(100))
    source_notice_size: Mapped[int | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    subprocessors: Mapped[list[SubProcessor]] = relationship(
        secondary=breach_subprocessor, order_by="SubProcessor.legal_name"
    )
    involved_agents: Mapped[list[Agent]] = relationship(secondary=breach_agent, order_by="Agent.name")
    source_subprocessor: Mapped[SubProcessor | None] = relationship(foreign_keys=[source_subprocessor_id])
    recorded_by: Mapped[User | None] = relationship()
    affected: Mapped[list[BreachAgreement]] = relationship(back_populates="breach", order_by="BreachAgreement.id")
    actions: Mapped[list[BreachAction]] = relationship(back_populates="breach", order_by="BreachAction.id")
    notices: Mapped[list[BreachNotice]] = relationship(back_populates="breach", order_by="BreachNotice.id")


class BreachAgreement(Base):
    """One agreement (one client) the breach touches, with the clause 8.1 event that runs its clock."""

    __tablename__ = "breach_agreement"
    __table_args__ = (UniqueConstraint("breach_id", "agreement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breach.id", ondelete="RESTRICT"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("trigger_event.id", ondelete="RESTRICT"))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    breach: Mapped[Breach] = relationship(back_populates="affected")
    agreement: Mapped[Agreement] = relationship()
    event: Mapped[TriggerEvent] = relationship()
    notices: Mapped[list[BreachNotice]] = relationship(back_populates="affected", order_by="BreachNotice.id")


class BreachAction(Base):
    """A containment, remedy or investigation action (clause 8.1(2))."""

    __tablename__ = "breach_action"
    __table_args__ = (
        CheckConstraint("length(description) > 0", name="description_not_empty"),
        CheckConstraint("done_on IS NULL OR evidence <> ''", name="done_has_evidence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breach.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[ActionKind] = mapped_column(_enum(ActionKind, "breach_action_kind"))
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200), default="")
    due_on: Mapped[date | None]
    done_on: Mapped[date | None]
    evidence: Mapped[str] = mapped_column(Text, default="")  # what shows it done (a report, a ticket, a link)
    # A document showing it done (evidence store), and when and by whom it was marked done after being recorded
    # open (None: recorded done at once, ``created_at``). Once done, the row never changes (trigger).
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    evidence_filename: Mapped[str | None] = mapped_column(String(255))
    evidence_content_type: Mapped[str | None] = mapped_column(String(100))
    evidence_size: Mapped[int | None]
    done_recorded_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    breach: Mapped[Breach] = relationship(back_populates="actions")

    @property
    def known_done_at(self) -> datetime:
        """When the register learnt it was done: evidence never predates it."""
        return self.done_recorded_at or self.created_at


class BreachNotice(Base):
    """One e-mail notifying one client's address of a breach (clause 8.1), queued by a page or the API and
    sent by ``flask notices send``. Its text is fixed when queued; once sent the row never changes."""

    __tablename__ = "breach_notice"
    __table_args__ = (
        UniqueConstraint("affected_id", "sequence", "email"),
        CheckConstraint("(phase = 'initial') = (sequence = 1)", name="initial_is_first"),
        CheckConstraint("(state = 'sent') = (sent_at IS NOT NULL)", name="sent_iff_sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breach.id", ondelete="RESTRICT"), index=True)
    affected_id: Mapped[int] = mapped_column(ForeignKey("breach_agreement.id", ondelete="RESTRICT"), index=True)
    phase: Mapped[NoticePhase] = mapped_column(_enum(NoticePhase, "breach_notice_phase"))
    sequence: Mapped[int]  # 1 = the initial notice, 2.. = follow-ups to this client
    email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState, "breach_notice_state"), default=DeliveryState.QUEUED
    )
    held: Mapped[bool] = mapped_column(default=False, server_default=false())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None]
    message_sha256: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    breach: Mapped[Breach] = relationship(back_populates="notices")
    affected: Mapped[BreachAgreement] = relationship(back_populates="notices")
    created_by: Mapped[User | None] = relationship()


install_on_create(Breach.__table__)  # the register entry: never edited, never deleted
install_on_create(BreachAction.__table__)  # an action, once done
install_on_create(BreachAgreement.__table__)  # which clients it touched
install_on_create(BreachNotice.__table__)  # an e-mail, once sent
