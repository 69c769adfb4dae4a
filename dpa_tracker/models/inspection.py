"""Clause 11: the client's document and audit requests, the audits themselves, their findings and remediation
actions, and the certifications and third-party reports the processor holds. Requests, findings and findings'
closures are legal records: never edited nor deleted (corrections are new rows)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Numeric, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create

if TYPE_CHECKING:
    from dpa_tracker.models.agreement import Agreement, Obligation, TriggerEvent
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


class InspectionKind(enum.StrEnum):
    DOCUMENTS = "documents"  # clause 11.1
    AUDIT = "audit"  # clause 11.2


class AppointedBy(enum.StrEnum):
    """Who appointed the auditor: clause 11 lets the processor appoint; Art. 28(3)(h) mandates the controller."""

    PROCESSOR = "processor"
    CLIENT = "client"
    JOINTLY = "jointly"


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class CertificationKind(enum.StrEnum):
    ISO27001 = "iso27001"
    SOC2 = "soc2"
    PENTEST = "pentest"
    OTHER = "other"


CERTIFICATION_TITLES = {
    CertificationKind.ISO27001: "ISO/IEC 27001 certificate",
    CertificationKind.SOC2: "SOC 2 report",
    CertificationKind.PENTEST: "Penetration test report",
    CertificationKind.OTHER: "Other third-party report",
}


class Certification(Base):
    """A certification or third-party report the processor holds (a stored file, by SHA-256)."""

    __tablename__ = "certification"
    __table_args__ = (
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint("length(issuer) > 0", name="issuer_not_empty"),
        CheckConstraint("expires_on IS NULL OR expires_on >= issued_on", name="expires_after_issued"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CertificationKind] = mapped_column(_enum(CertificationKind, "certification_kind"))
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date]
    expires_on: Mapped[date | None]
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    added_by: Mapped[User | None] = relationship()

    def valid_on(self, day: date) -> bool:
        return self.issued_on <= day and (self.expires_on is None or self.expires_on >= day)


class InspectionRequest(Base):
    """A client's request for documents (clause 11.1) or for an audit (11.2); it starts that clause's clock."""

    __tablename__ = "inspection_request"
    __table_args__ = (
        CheckConstraint("length(requester_name) > 0", name="requester_not_empty"),
        CheckConstraint("length(subject) > 0", name="subject_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[InspectionKind] = mapped_column(_enum(InspectionKind, "inspection_kind"))
    received_on: Mapped[date]
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_email: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(Text)  # the documents requested, or the audit's scope as asked
    event_id: Mapped[int] = mapped_column(ForeignKey("trigger_event.id", ondelete="RESTRICT"), unique=True)
    certification_id: Mapped[int | None] = mapped_column(ForeignKey("certification.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agreement: Mapped[Agreement] = relationship()
    event: Mapped[TriggerEvent] = relationship()
    certification: Mapped[Certification | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    engagement: Mapped[AuditEngagement | None] = relationship(back_populates="inspection")


class AuditEngagement(Base):
    """The audit that answers an audit request (clause 11.2): auditor, appointment, terms, documents, report."""

    __tablename__ = "audit_engagement"
    __table_args__ = (
        CheckConstraint("length(auditor_organisation) > 0", name="organisation_not_empty"),
        CheckConstraint("ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint("cost_amount IS NULL OR cost_amount >= 0", name="cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection_request.id", ondelete="RESTRICT"), unique=True)
    auditor_organisation: Mapped[str] = mapped_column(String(200))
    auditor_people: Mapped[str] = mapped_column(Text, default="")
    appointed_by: Mapped[AppointedBy] = mapped_column(_enum(AppointedBy, "audit_appointed_by"))
    controller_mandate: Mapped[bool] = mapped_column(default=False, server_default=false())  # Art. 28(3)(h)
    planned_on: Mapped[date]
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    scope: Mapped[str] = mapped_column(Text, default="")
    continuity_conditions: Mapped[str] = mapped_column(Text, default="")
    cost_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    cost_currency: Mapped[str] = mapped_column(String(3), default="")
    cost_note: Mapped[str] = mapped_column(Text, default="")
    declaration_sha256: Mapped[str | None] = mapped_column(String(64))
    declaration_filename: Mapped[str | None] = mapped_column(String(255))
    declaration_content_type: Mapped[str | None] = mapped_column(String(100))
    report_sha256: Mapped[str | None] = mapped_column(String(64))
    report_filename: Mapped[str | None] = mapped_column(String(255))
    report_content_type: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    inspection: Mapped[InspectionRequest] = relationship(back_populates="engagement")
    findings: Mapped[list[Finding]] = relationship(back_populates="engagement", order_by="Finding.id")

    @property
    def audit_day(self) -> date:
        return self.starts_on or self.planned_on


class Finding(Base):
    """A finding of an audit on one clause of the agreement; open past its due date it turns that clause overdue."""

    __tablename__ = "audit_finding"
    __table_args__ = (CheckConstraint("length(description) > 0", name="description_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("audit_engagement.id", ondelete="RESTRICT"), index=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligation.id", ondelete="RESTRICT"), index=True)
    severity: Mapped[Severity] = mapped_column(_enum(Severity, "finding_severity"))
    description: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    engagement: Mapped[AuditEngagement] = relationship(back_populates="findings")
    obligation: Mapped[Obligation] = relationship()
    closure: Mapped[FindingClosure | None] = relationship(back_populates="finding")
    actions: Mapped[list[RemediationAction]] = relationship(back_populates="finding", order_by="RemediationAction.id")

    def open_on(self, day: date) -> bool:
        """Known on ``day`` and not closed with evidence by then."""
        if self.created_at.date() > day:
            return False
        c = self.closure
        return c is None or c.closed_on > day or c.closed_at.date() > day


class FindingClosure(Base):
    """A finding closed with evidence (date and file): a record, never changed."""

    __tablename__ = "finding_closure"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("audit_finding.id", ondelete="RESTRICT"), unique=True)
    closed_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)

    finding: Mapped[Finding] = relationship(back_populates="closure")
    closed_by: Mapped[User | None] = relationship()


class RemediationAction(Base):
    """A remediation action of a finding: owner, due date, and once done its evidence of closure."""

    __tablename__ = "remediation_action"
    __table_args__ = (
        CheckConstraint("length(description) > 0", name="description_not_empty"),
        CheckConstraint("(status = 'done') = (done_on IS NOT NULL AND sha256 IS NOT NULL)", name="done_has_evidence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("audit_finding.id", ondelete="RESTRICT"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    due_on: Mapped[date]
    status: Mapped[ActionStatus] = mapped_column(_enum(ActionStatus, "remediation_status"), default=ActionStatus.OPEN)
    done_on: Mapped[date | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    finding: Mapped[Finding] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])


install_on_create(InspectionRequest.__table__)  # the client's request: never edited, never deleted
install_on_create(Finding.__table__)  # what the auditor found
install_on_create(FindingClosure.__table__)  # closed with evidence
