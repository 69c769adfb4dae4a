"""The end of an agreement (clause 13, Art. 28(3)(g)): the end-of-contract workflow, one deletion task per
place the client's data lives, the legal retention exceptions, each task's completion and the deletion
certificate. Every table is a legal record: rows are written once and never edited nor deleted (triggers);
a task is done when its completion row exists."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create

if TYPE_CHECKING:
    from dpa_tracker.models.agent import Agent
    from dpa_tracker.models.agreement import Agreement
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


class EndKind(enum.StrEnum):
    TERMINATED = "terminated"
    EXPIRED = "expired"


class EndChoice(enum.StrEnum):
    """Clause 13 / Art. 28(3)(g): the client chooses deletion, or return then deletion of the copies."""

    DELETE = "delete"
    RETURN_THEN_DELETE = "return_then_delete"


CHOICE_TITLES = {
    EndChoice.DELETE: "Delete all personal data",
    EndChoice.RETURN_THEN_DELETE: "Return the data, then delete the copies",
}


class TaskKind(enum.StrEnum):
    RETURN = "return"  # first, when the client chose return then delete
    SYSTEM = "system"  # a system or site of the client's processing activities (the record)
    LOCATION = "location"  # a data location the agreement permits (clause 7.2)
    BACKUPS = "backups"
    SUBPROCESSOR = "subprocessor"  # its written confirmation is required
    AGENT_ACCESS = "agent_access"  # clause 5.3(3): the agent's access to the client's data removed


TASK_TITLES = {
    TaskKind.RETURN: "Return the data to the client",
    TaskKind.SYSTEM: "Delete from a system of the record",
    TaskKind.LOCATION: "Delete from a permitted data location",
    TaskKind.BACKUPS: "Delete from backups",
    TaskKind.SUBPROCESSOR: "Sub-processor's deletion confirmation",
    TaskKind.AGENT_ACCESS: "Agent's access removed (clause 5.3(3))",
}


class DeletionWorkflow(Base):
    """Opened when the agreement ends on ``ends_on``; deletion is due ``deletion_days`` later (``due_on``)."""

    __tablename__ = "deletion_workflow"
    __table_args__ = (CheckConstraint("due_on >= ends_on", name="due_after_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"), unique=True)
    end_kind: Mapped[EndKind] = mapped_column(_enum(EndKind, "deletion_end_kind"))
    ends_on: Mapped[date]
    choice: Mapped[EndChoice] = mapped_column(_enum(EndChoice, "deletion_choice"))
    due_on: Mapped[date]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))

    agreement: Mapped[Agreement] = relationship()
    opened_by: Mapped[User | None] = relationship()
    tasks: Mapped[list[DeletionTask]] = relationship(back_populates="workflow", order_by="DeletionTask.position")
    exceptions: Mapped[list[RetentionException]] = relationship(
        back_populates="workflow", order_by="RetentionException.id"
    )
    certificate: Mapped[DeletionCertificate | None] = relationship(back_populates="workflow")


class DeletionTask(Base):
    """One place the client's data lives, to be cleared (or the return, or an agent's access)."""

    __tablename__ = "deletion_task"
    __table_args__ = (CheckConstraint("length(place) > 0", name="place_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("deletion_workflow.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int]
    kind: Mapped[TaskKind] = mapped_column(_enum(TaskKind, "deletion_task_kind"))
    place: Mapped[str] = mapped_column(String(300))
    subprocessor_id: Mapped[int | None] = mapped_column(ForeignKey("subprocessor.id", ondelete="RESTRICT"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="RESTRICT"))
    proof_required: Mapped[bool] = mapped_column(default=False)

    workflow: Mapped[DeletionWorkflow] = relationship(back_populates="tasks")
    subprocessor: Mapped[SubProcessor | None] = relationship()
    agent: Mapped[Agent | None] = relationship()
    completion: Mapped[DeletionTaskCompletion | None] = relationship(back_populates="task")

    def done_on_day(self, day: date) -> DeletionTaskCompletion | None:
        """The completion known on ``day`` (recorded by then, done by then), if any."""
        c = self.completion
        return c if c is not None and c.recorded_at.date() <= day and c.done_on <= day else None


class DeletionTaskCompletion(Base):
    """A task done: on which day, by whom, how, with its proof (a stored file; required from a sub-processor)."""

    __tablename__ = "deletion_task_completion"
    __table_args__ = (
        CheckConstraint("length(done_by) > 0", name="done_by_not_empty"),
        CheckConstraint("(sha256 IS NULL) = (filename IS NULL)", name="file_named"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("deletion_task.id", ondelete="RESTRICT"), unique=True)
    done_on: Mapped[date]
    done_by: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))

    task: Mapped[DeletionTask] = relationship(back_populates="completion")
    recorded_by: Mapped[User | None] = relationship()


class RetentionException(Base):
    """Data kept after the end because a law requires it: excluded from deletion, listed on the certificate."""

    __tablename__ = "retention_exception"
    __table_args__ = (
        CheckConstraint("length(what) > 0", name="what_not_empty"),
        CheckConstraint("length(legal_basis) > 0", name="basis_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("deletion_workflow.id", ondelete="RESTRICT"), index=True)
    what: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    until_on: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))

    workflow: Mapped[DeletionWorkflow] = relationship(back_populates="exceptions")


class DeletionCertificate(Base):
    """The deletion certificate as issued: the PDF's bytes and their SHA-256, once per workflow."""

    __tablename__ = "deletion_certificate"
    __table_args__ = (CheckConstraint("length(sha256) = 64", name="sha256_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("deletion_workflow.id", ondelete="RESTRICT"), unique=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))

    workflow: Mapped[DeletionWorkflow] = relationship(back_populates="certificate")
    issued_by: Mapped[User | None] = relationship()


for _table in (DeletionWorkflow, DeletionTask, DeletionTaskCompletion, RetentionException, DeletionCertificate):
    install_on_create(_table.__table__)
