"""Agents (clause 5): the people who process the clients' personal data, where they may work, and the
written acts that authorise them (designation, confidentiality commitment, yearly training)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create

if TYPE_CHECKING:
    from dpa_tracker.models.agreement import Agreement
    from dpa_tracker.models.record import ProcessingActivity
    from dpa_tracker.models.subprocessor import SubProcessor
    from dpa_tracker.models.user import User


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


class EmployerKind(enum.StrEnum):
    PROCESSOR = "processor"
    CONTRACTOR = "contractor"
    SUBPROCESSOR = "subprocessor"


class AttestationKind(enum.StrEnum):
    DESIGNATION = "designation"  # clause 5.2(3): designated in writing
    COMMITMENT = "commitment"  # clause 5.2(4): confidentiality committed to in writing
    TRAINING = "training"  # clause 5.2(2): at least one training a year


ATTESTATION_TITLES = {
    AttestationKind.DESIGNATION: "written designation",
    AttestationKind.COMMITMENT: "confidentiality commitment",
    AttestationKind.TRAINING: "training",
}


class Agent(Base):
    """A person who processes personal data for the processor (employee, contractor, sub-processor staff)."""

    __tablename__ = "agent"
    __table_args__ = (
        UniqueConstraint("email"),
        CheckConstraint(
            "(employer_kind = 'subprocessor' AND subprocessor_id IS NOT NULL)"
            " OR (employer_kind <> 'subprocessor' AND subprocessor_id IS NULL)",
            name="subprocessor_employer",
        ),
        CheckConstraint("access_removed_at IS NULL OR mission_ends_on IS NOT NULL", name="removal_after_mission"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    function: Mapped[str] = mapped_column(String(200))  # role in the processor's work
    employer_kind: Mapped[EmployerKind] = mapped_column(_enum(EmployerKind, "employer_kind"))
    employer_name: Mapped[str] = mapped_column(String(200), default="")
    subprocessor_id: Mapped[int | None] = mapped_column(ForeignKey("subprocessor.id", ondelete="RESTRICT"), index=True)
    experience_note: Mapped[str] = mapped_column(Text, default="")  # clause 5.2(1)
    mission_ends_on: Mapped[date | None]  # clause 5.3(3)
    access_removed_at: Mapped[datetime | None]
    access_removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))

    subprocessor: Mapped[SubProcessor | None] = relationship()
    access_removed_by: Mapped[User | None] = relationship(foreign_keys=[access_removed_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    assignments: Mapped[list[AgentAssignment]] = relationship(back_populates="agent", order_by="AgentAssignment.id")
    attestations: Mapped[list[AgentAttestation]] = relationship(
        back_populates="agent", order_by="AgentAttestation.done_on, AgentAttestation.id"
    )

    @property
    def employer(self) -> str:
        if self.employer_kind is EmployerKind.SUBPROCESSOR and self.subprocessor is not None:
            return self.subprocessor.legal_name
        if self.employer_kind is EmployerKind.CONTRACTOR:
            return self.employer_name or "contractor"
        return self.employer_name or "processor"


class AgentAssignment(Base):
    """An agreement (and optionally one processing activity) an agent may work on, with the access granted."""

    __tablename__ = "agent_assignment"
    __table_args__ = (UniqueConstraint("agent_id", "agreement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="RESTRICT"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("processing_activity.id", ondelete="RESTRICT"))
    scope: Mapped[str] = mapped_column(Text)  # clauses 5.1, 5.3(1): what the agent may access
    since_on: Mapped[date]
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))

    agent: Mapped[Agent] = relationship(back_populates="assignments")
    agreement: Mapped[Agreement] = relationship()
    activity: Mapped[ProcessingActivity | None] = relationship()


class AgentAttestation(Base):
    """A designation, confidentiality commitment or training: a legal record, written once and withdrawn
    (with who, when and why), never edited or deleted (database triggers)."""

    __tablename__ = "agent_attestation"
    __table_args__ = (
        CheckConstraint("kind <> 'training' OR (course <> '' AND provider <> '')", name="training_course"),
        CheckConstraint("withdrawn_at IS NULL OR withdrawn_reason IS NOT NULL", name="withdrawal_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[AttestationKind] = mapped_column(_enum(AttestationKind, "attestation_kind"))
    done_on: Mapped[date]  # designated on, signed on, trained on
    by_whom: Mapped[str] = mapped_column(String(200), default="")  # who designated the agent
    course: Mapped[str] = mapped_column(String(200), default="")
    provider: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    agent: Mapped[Agent] = relationship(back_populates="attestations")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])

    def counts_on(self, day: date) -> bool:
        """Known on ``day`` (recorded by then) and not yet withdrawn."""
        return self.recorded_at.date() <= day and (self.withdrawn_at is None or self.withdrawn_at.date() > day)


install_on_create(AgentAttestation.__table__)
