"""Typed SQLAlchemy models, one module per entity family."""

from dpa_tracker.models.agent import Agent, AgentAssignment, AgentAttestation, AttestationKind, EmployerKind
from dpa_tracker.models.agreement import (
    Agreement,
    AgreementStatus,
    ApplicabilityMark,
    Obligation,
    ObligationStatus,
    TriggerEvent,
)
from dpa_tracker.models.audit import AuditEvent
from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.models.breach import (
    ActionKind,
    Breach,
    BreachAction,
    BreachAgreement,
    BreachNature,
    BreachNotice,
    NoticePhase,
    RiskLevel,
)
from dpa_tracker.models.checklist import ChecklistComment
from dpa_tracker.models.client import Client, ProcessorProfile
from dpa_tracker.models.dsr import (
    REQUEST_TYPE_TITLES,
    DataSubjectRequest,
    HelpRequest,
    Instruction,
    InstructionFlag,
    RequestChannel,
    RequestNotice,
    RequestType,
)
from dpa_tracker.models.evidence import Evidence, EvidenceState
from dpa_tracker.models.record import (
    DocumentKind,
    MeasureHeading,
    ProcessingActivity,
    ProcessingCategory,
    RecordVersion,
    SecurityMeasure,
    SupportingDocument,
    Transfer,
    TransferMechanism,
)
from dpa_tracker.models.snapshot import SNAPSHOT_STATUSES, StatusSnapshot
from dpa_tracker.models.subprocessor import (
    AnswerState,
    Authorisation,
    ChangeKind,
    ChangeNotice,
    DeliveryState,
    NoticeDelivery,
    NoticeRecipient,
    SubProcessor,
)
from dpa_tracker.models.transfer import DisclosureAuthorisation, LawTransfer, TransferConsent
from dpa_tracker.models.user import ApiToken, Role, User, auditor_client

__all__ = [
    "REQUEST_TYPE_TITLES",
    "SNAPSHOT_STATUSES",
    "ActionKind",
    "Agent",
    "AgentAssignment",
    "AgentAttestation",
    "Agreement",
    "AgreementStatus",
    "AnswerState",
    "ApiToken",
    "ApplicabilityMark",
    "AttestationKind",
    "AuditEvent",
    "Authorisation",
    "Base",
    "Breach",
    "BreachAction",
    "BreachAgreement",
    "BreachNature",
    "BreachNotice",
    "ChangeKind",
    "ChangeNotice",
    "ChecklistComment",
    "Client",
    "DataSubjectRequest",
    "DeliveryState",
    "DisclosureAuthorisation",
    "DocumentKind",
    "EmployerKind",
    "Evidence",
    "EvidenceState",
    "HelpRequest",
    "Instruction",
    "InstructionFlag",
    "LawTransfer",
    "MeasureHeading",
    "NoticeDelivery",
    "NoticePhase",
    "NoticeRecipient",
    "Obligation",
    "ObligationStatus",
    "ProcessingActivity",
    "ProcessingCategory",
    "ProcessorProfile",
    "RecordVersion",
    "RequestChannel",
    "RequestNotice",
    "RequestType",
    "RiskLevel",
    "Role",
    "SecurityMeasure",
    "StatusSnapshot",
    "SubProcessor",
    "SupportingDocument",
    "Transfer",
    "TransferConsent",
    "TransferMechanism",
    "TriggerEvent",
    "User",
    "auditor_client",
    "utcnow",
]
