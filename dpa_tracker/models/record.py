"""The Art. 30(2) record: processing activities, transfers, security measures, supporting
documents and the immutable versions of the record handed out."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, Column, Enum, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.protection import install_on_create

if TYPE_CHECKING:
    from dpa_tracker.models.client import Client
    from dpa_tracker.models.subprocessor import SubProcessor
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


class ProcessingCategory(enum.StrEnum):
    HOSTING = "hosting"
    STORAGE = "storage"
    BACKUP = "backup"
    SUPPORT_ACCESS = "support_access"
    EMAIL_DELIVERY = "email_delivery"
    TELEPHONY = "telephony"
    ANALYTICS = "analytics"
    SOFTWARE_MAINTENANCE = "software_maintenance"
    OTHER = "other"


class TransferMechanism(enum.StrEnum):
    """Arts. 45-49 GDPR."""

    ADEQUACY = "adequacy_decision"
    SCC = "standard_contractual_clauses"
    BCR = "binding_corporate_rules"
    CODE_OF_CONDUCT = "code_of_conduct"
    CERTIFICATION = "certification"
    AD_HOC = "ad_hoc_clauses"
    DEROGATION = "art49_derogation"
    COMPELLING_INTEREST = "art49_1_second_subparagraph"  # needs its safeguards document (Art. 30(2)(c))


class MeasureHeading(enum.StrEnum):
    """Art. 32(1)(a)-(d)."""

    ENCRYPTION = "a_pseudonymisation_encryption"
    RESILIENCE = "b_confidentiality_integrity_availability_resilience"
    RESTORE = "c_restore_availability"
    TESTING = "d_regular_testing"


class DocumentKind(enum.StrEnum):
    SAFEGUARDS = "transfer_safeguards"
    MEASURE = "measure_evidence"
    GUARANTEE = "subprocessor_guarantee"  # clause 6.2: questionnaire, certification, audit report
    FLOW_DOWN = "subprocessor_flow_down"  # clause 6.3: the written agreement


activity_measure = Table(
    "activity_measure",
    Base.metadata,
    Column("activity_id", ForeignKey("processing_activity.id", ondelete="CASCADE"), primary_key=True),
    Column("measure_id", ForeignKey("security_measure.id", ondelete="RESTRICT"), primary_key=True),
)

activity_subprocessor = Table(
    "activity_subprocessor",
    Base.metadata,
    Column("activity_id", ForeignKey("processing_activity.id", ondelete="CASCADE"), primary_key=True),
    Column("subprocessor_id", ForeignKey("subprocessor.id", ondelete="RESTRICT"), primary_key=True),
)


class ProcessingActivity(Base):
    """One category of processing carried out for one client (Art. 30(2)(b))."""

    __tablename__ = "processing_activity"
    __table_args__ = (
        UniqueConstraint("client_id", "name"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    processing_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    data_subject_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    personal_data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    special_categories: Mapped[list[str]] = mapped_column(JSON, default=list)  # Art. 9 data, flagged
    purposes: Mapped[str] = mapped_column(Text, default="")
    retention: Mapped[str] = mapped_column(Text, default="")
    locations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{"country", "site"}]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship()
    transfers: Mapped[list[Transfer]] = relationship(back_populates="activity", order_by="Transfer.id")
    measures: Mapped[list[SecurityMeasure]] = relationship(secondary=activity_measure, order_by="SecurityMeasure.id")
    subprocessors: Mapped[list[SubProcessor]] = relationship(
        secondary=activity_subprocessor, order_by="SubProcessor.legal_name"
    )


class Transfer(Base):
    """A transfer to a third country or international organisation (Art. 30(2)(c))."""

    __tablename__ = "transfer"
    __table_args__ = (CheckConstraint("length(destination) > 0", name="destination_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("processing_activity.id", ondelete="RESTRICT"), index=True)
    destination: Mapped[str] = mapped_column(String(200))  # ISO country code or organisation name
    is_international_organisation: Mapped[bool] = mapped_column(default=False)
    recipient: Mapped[str] = mapped_column(String(200))
    mechanism: Mapped[TransferMechanism] = mapped_column(_enum(TransferMechanism, "transfer_mechanism"))
    mechanism_detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]

    activity: Mapped[ProcessingActivity] = relationship(back_populates="transfers")
    documents: Mapped[list[SupportingDocument]] = relationship(
        primaryjoin="SupportingDocument.transfer_id == Transfer.id", viewonly=True, order_by="SupportingDocument.id"
    )


class SecurityMeasure(Base):
    """A reusable measure from the processor's library, under one Art. 32(1) heading."""

    __tablename__ = "security_measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    heading: Mapped[MeasureHeading] = mapped_column(_enum(MeasureHeading, "measure_heading"))
    title: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]

    documents: Mapped[list[SupportingDocument]] = relationship(
        primaryjoin="SupportingDocument.measure_id == SecurityMeasure.id",
        viewonly=True,
        order_by="SupportingDocument.id",
    )


class SupportingDocument(Base):
    """A file kept as proof for a transfer, a measure or a sub-processor. Withdrawn, never deleted."""

    __tablename__ = "supporting_document"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN transfer_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN measure_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN subprocessor_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_owner",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind, "document_kind"))
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfer.id", ondelete="RESTRICT"), index=True)
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("security_measure.id", ondelete="RESTRICT"), index=True)
    subprocessor_id: Mapped[int | None] = mapped_column(ForeignKey("subprocessor.id", ondelete="RESTRICT"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    valid_until: Mapped[date | None]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    added_by: Mapped[User | None] = relationship()


# Proof behind the record (Art. 30(2)(c)-(d), clause 6.2-6.3): withdrawn, never deleted or rewritten.
install_on_create(SupportingDocument.__table__)


class RecordVersion(Base):
    """One copy of a client's record as handed out: immutable (database triggers refuse changes)."""

    __tablename__ = "record_version"
    __table_args__ = (UniqueConstraint("client_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int]
    as_of: Mapped[date]
    content: Mapped[str] = mapped_column(Text)  # canonical JSON of the record
    content_sha256: Mapped[str] = mapped_column(String(64))
    handed_out_as: Mapped[str] = mapped_column(String(20))  # pdf / json / csv / email
    handed_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    handed_out_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The audit chain head when the copy was made, printed on it: whoever holds the copy can later show that
    # the log still has that event with that hash (no truncation, no recomputed chain). Set at INSERT.
    audit_head_id: Mapped[int | None]
    audit_head_hash: Mapped[str | None] = mapped_column(String(64))

    handed_out_by: Mapped[User | None] = relationship()


# Record versions prove what a client received: the database itself refuses to change them.
install_on_create(RecordVersion.__table__)
