"""Agreements, the obligations generated from their clause template, and trigger events."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.agreement.settings import BY_NAME as SETTINGS_BY_NAME
from dpa_tracker.agreement.settings import SETTINGS
from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create

if TYPE_CHECKING:
    from dpa_tracker.models.client import Client
    from dpa_tracker.models.evidence import Evidence
    from dpa_tracker.models.user import User


class AgreementStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    TERMINATED = "terminated"


class AuthorisationType(enum.StrEnum):
    """How the client authorised sub-processors (clause 6.1, Art. 28(2)); default ``general`` (documented)."""

    SPECIFIC = "specific"  # each sub-processor needs the client's written approval; silence never authorises
    GENERAL = "general"  # a change notice binds after its objection period, counted from delivery


AUTHORISATION_TITLES = {
    AuthorisationType.GENERAL: "General: notice + objection period; silence binds once the notice is delivered",
    AuthorisationType.SPECIFIC: "Specific: each sub-processor needs the client's written approval",
}


class ObligationStatus(enum.StrEnum):
    MET = "met"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    LATE = "late"  # a clock ran out before the duty was done; a failure, like overdue, for a look-back period
    OPEN = "open"
    NOT_APPLICABLE = "not_applicable"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as the value ("due_soon"), checked by a named constraint on every database.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


def _setting_column(name: str) -> Any:
    setting = SETTINGS_BY_NAME[name]
    return mapped_column(default=setting.default, server_default=str(setting.default))


class Agreement(Base):
    """One data-processing agreement signed with a client."""

    __tablename__ = "agreement"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= effective_on", name="ends_after_effective"),
        *(CheckConstraint(s.check_sql, name=s.check_name) for s in SETTINGS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"), index=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    signed_on: Mapped[date]
    effective_on: Mapped[date]
    ends_on: Mapped[date | None]
    status: Mapped[AgreementStatus] = mapped_column(
        _enum(AgreementStatus, "agreement_status"), default=AgreementStatus.ACTIVE
    )
    template_key: Mapped[str] = mapped_column(String(60))
    template_version: Mapped[int]
    # Settings that parameterise deadlines: names, defaults and ranges in agreement/settings.py.
    confidentiality_years: Mapped[int] = _setting_column("confidentiality_years")
    instruction_alert_hours: Mapped[int] = _setting_column("instruction_alert_hours")
    rectification_days: Mapped[int] = _setting_column("rectification_days")
    assistance_days: Mapped[int] = _setting_column("assistance_days")
    compliance_info_days: Mapped[int] = _setting_column("compliance_info_days")
    record_copy_days: Mapped[int] = _setting_column("record_copy_days")
    art30_info_days: Mapped[int] = _setting_column("art30_info_days")
    subprocessor_objection_days: Mapped[int] = _setting_column("subprocessor_objection_days")
    breach_notice_hours: Mapped[int] = _setting_column("breach_notice_hours")
    dsr_forward_days: Mapped[int] = _setting_column("dsr_forward_days")
    document_request_days: Mapped[int] = _setting_column("document_request_days")
    audit_notice_days: Mapped[int] = _setting_column("audit_notice_days")
    deletion_days: Mapped[int] = _setting_column("deletion_days")
    permitted_locations: Mapped[str] = mapped_column(Text, default="")  # clause 7.2(2), one per line
    subprocessor_authorisation: Mapped[AuthorisationType] = mapped_column(
        _enum(AuthorisationType, "subprocessor_authorisation"),
        default=AuthorisationType.GENERAL,
        server_default=AuthorisationType.GENERAL.value,
    )  # clause 6.1
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(back_populates="agreements")
    obligations: Mapped[list[Obligation]] = relationship(back_populates="agreement", order_by="Obligation.position")

    @property
    def permitted_location_list(self) -> list[str]:
        return [line.strip() for line in self.permitted_locations.splitlines() if line.strip()]


class Obligation(Base):
    """One binding clause of one agreement; its status is computed, never typed in."""

    __tablename__ = "obligation"
    __table_args__ = (
        UniqueConstraint("agreement_id", "clause_number"),
        CheckConstraint("cached_base IN ('met', 'open')", name="cached_base_values"),
        CheckConstraint("(na_reason IS NULL) = (na_set_at IS NULL)", name="na_reason_with_time"),
        Index("ix_obligation_cached_due_on", "cached_due_on"),
        # Covers the dashboard's status counts (per agreement and per clause family): an index-only scan, no
        # table reads (migration 0025).
        Index(
            "ix_obligation_status_projection",
            "agreement_id",
            "clause_number",
            "cached_due_on",
            "cached_lapses_on",
            "cached_late_until",
            "cached_base",
            "na_set_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="RESTRICT"), index=True)
    clause_number: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    section: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    gdpr_article: Mapped[str] = mapped_column(String(120), default="")
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    na_reason: Mapped[str | None] = mapped_column(Text)
    na_set_at: Mapped[datetime | None]
    # Projection of the status engine as of cached_at, valid until new input arrives:
    # status(D) follows from (base, due_on, lapses_on) for any D >= cached_at.
    cached_base: Mapped[str] = mapped_column(String(10), default="open")
    cached_due_on: Mapped[date | None]
    cached_lapses_on: Mapped[date | None]
    cached_late_until: Mapped[date | None]  # a late act shows `late` up to and including this day
    cached_at: Mapped[datetime] = mapped_column(default=utcnow)

    agreement: Mapped[Agreement] = relationship(back_populates="obligations")
    owner: Mapped[User | None] = relationship()
    evidence: Mapped[list[Evidence]] = relationship(back_populates="obligation", order_by="Evidence.added_at")
    events: Mapped[list[TriggerEvent]] = relationship(back_populates="obligation", order_by="TriggerEvent.occurred_at")
    na_marks: Mapped[list[ApplicabilityMark]] = relationship(
        back_populates="obligation", order_by="ApplicabilityMark.set_at"
    )


class ApplicabilityMark(Base):
    """A not-applicable mark with its reason, kept after it is cleared so that past views still show it."""

    __tablename__ = "applicability_mark"
    __table_args__ = (
        CheckConstraint("length(reason) > 0", name="reason_not_empty"),
        CheckConstraint("cleared_at IS NULL OR cleared_at >= set_at", name="cleared_after_set"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligation.id", ondelete="RESTRICT"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime]
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    cleared_at: Mapped[datetime | None]
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))

    obligation: Mapped[Obligation] = relationship(back_populates="na_marks")

    def covers(self, day: date) -> bool:
        return self.set_at.date() <= day and (self.cleared_at is None or self.cleared_at.date() > day)


class TriggerEvent(Base):
    """An event that starts a clock on an event-driven or on-request obligation
    (a breach for clause 8.1, a data-subject request for clause 9.1, a document request...)."""

    __tablename__ = "trigger_event"
    __table_args__ = (CheckConstraint("length(summary) > 0", name="summary_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligation.id", ondelete="RESTRICT"), index=True)
    occurred_at: Mapped[datetime]
    # When the processor became aware: the clock starts here (clause 8.1); None means when it occurred.
    aware_at: Mapped[datetime | None]
    summary: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    obligation: Mapped[Obligation] = relationship(back_populates="events")
    recorded_by: Mapped[User | None] = relationship()

    @property
    def clock_starts_at(self) -> datetime:
        return self.aware_at or self.occurred_at


install_on_create(ApplicabilityMark.__table__)  # never deleted; only the clearing columns are set later
