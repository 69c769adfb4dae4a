"""Who may do what: every HTML route against every kind of user, plus tenant isolation in lists."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from dpa_tracker.agent.services import AgentInput, AttestationInput, add_attestation, create_agent
from dpa_tracker.agent.services import assign as assign_agent
from dpa_tracker.auth.services import create_token, hash_password
from dpa_tracker.breach.notices import queue_notice
from dpa_tracker.breach.notices import send_pending as send_breach_notices
from dpa_tracker.breach.services import ActionInput, BreachInput, add_action, mark_action_done, record_breach
from dpa_tracker.deadline.services import create_feed
from dpa_tracker.deletion.services import (
    CompletionInput,
    EndInput,
    ExceptionInput,
    complete_task,
    end_with_workflow,
    issue_certificate,
)
from dpa_tracker.dsr.notices import queue_forward
from dpa_tracker.dsr.services import InstructionInput, RequestInput, log_request, record_instruction
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.inspection.services import (
    CertificationInput,
    EngagementInput,
    FindingInput,
    InspectionInput,
    RemediationInput,
    add_certification,
    add_finding,
    add_remediation,
    record_inspection,
    request_certification,
    save_engagement,
)
from dpa_tracker.models import (
    Agent,
    AgentAssignment,
    AgentAttestation,
    Agreement,
    ApiToken,
    AuditEngagement,
    AuditEvent,
    Authorisation,
    Breach,
    BreachAction,
    BreachAgreement,
    BreachNotice,
    CalendarFeed,
    Certification,
    ChangeKind,
    ChangeNotice,
    ChecklistComment,
    Client,
    DataSubjectRequest,
    DeletionCertificate,
    DeletionTaskCompletion,
    DeletionWorkflow,
    DeliveryState,
    DisclosureAuthorisation,
    DocumentKind,
    Evidence,
    Finding,
    FindingClosure,
    HelpRequest,
    InspectionRequest,
    Instruction,
    InstructionFlag,
    LawTransfer,
    NoticeDelivery,
    NoticePhase,
    NoticeRecipient,
    Obligation,
    ProcessingActivity,
    ProcessorProfile,
    RecordVersion,
    RemediationAction,
    RequestNotice,
    RetentionException,
    Role,
    SecurityMeasure,
    SubProcessor,
    SupportingDocument,
    Transfer,
    TransferConsent,
    TriggerEvent,
    User,
)
from dpa_tracker.obligation.events import record_event
from dpa_tracker.obligation.services import set_not_applicable, today
from dpa_tracker.record.services import (
    ActivityInput,
    MeasureInput,
    TransferInput,
    add_document,
    add_transfer,
    create_activity,
    create_measure,
    hand_out,
)
from dpa_tracker.subprocessor.notices import propose_change, send_pending
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor
from dpa_tracker.transfer.lawful import LawTransferInput, record_law_transfer
from dpa_tracker.transfer.services import ConsentInput, DisclosureInput, record_consent, record_disclosure
from tests.factories import AGREEMENT_FORM, AGREEMENT_SETTINGS_FORM, make_agreement, make_client, make_user
from tests.support import PASSWORD, AuthActions, emptied_app

# --- small tests first: they use the per-test ``app`` fixture, which empties the tables.


def test_client_user_never_sees_another_clients_name(app):
    with app.app_context():
        acme, globex = make_client("Acme Hosting"), make_client("Globex Secretive Corp")
        staff = make_user(Role.COMPLIANCE)
        make_agreement(acme, staff, reference="DPA-ACME")
        make_agreement(globex, staff, reference="DPA-GLOBEX")
        make_user(Role.CLIENT, "anna@acme.example", client=acme)
        make_user(Role.AUDITOR, "otto@audit.example", audits=[acme])
    for email in ("anna@acme.example", "otto@audit.example"):
        client = app.test_client()
        assert AuthActions(client).login(email).status_code == 302
        for url in ("/", "/clients/", "/activity"):
            page = client.get(url)
            assert page.status_code == 200, url
            html = page.get_data(as_text=True)
            assert "Globex" not in html, (email, url)
            assert "DPA-GLOBEX" not in html, (email, url)
        assert "Acme Hosting" in client.get("/clients/").get_data(as_text=True)


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    auth.login("karim@example.com")
    response = client.post(
        "/clients/new", data={"legal_name": "Sneaky Ltd", "country": "FR", "notice_emails": "a@sneaky.example"}
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0


def test_repeated_failed_logins_are_rate_limited(app, client, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    codes = [auth.login("karim@example.com", "wrong password").status_code for _ in range(6)]
    assert codes[-1] == 429
    assert 429 not in codes[:5]


def test_logout_by_get_is_not_allowed(app, client, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    auth.login("karim@example.com")
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200  # still signed in


# --- the matrix: one data set for the whole module (only allowed writes change it, harmlessly).

ROLES = ["anonymous", "admin", "compliance", "client_own", "client_other", "auditor_assigned", "auditor_other"]
SEES_TENANT = {"admin", "compliance", "client_own", "auditor_assigned"}
STAFF = {"admin", "compliance"}
AUDITORS = {"auditor_assigned", "auditor_other"}
CLIENTS = {"client_own", "client_other"}

# What each kind of route answers to each signed-in role that may not use it. ``ok`` means allowed.
#   list          - a page every signed-in user may open (its rows are filtered by tenant)
#   read          - one client's object: 404 for users of other clients
#   staff         - a form page or a change only processor staff may make: 403 for everyone else
#   staff_on      - a staff change checked against the object's client first: 404 if it is not yours
#   admin         - administration: 403 for everyone but admins
#   catalogue     - processor-wide libraries (sub-processors, measures, notices): staff and auditors
#   processor_doc - a processor-wide document: clients are told it does not exist
#   client_write  - a client's own request or answer: its own users only (403 by role, 404 by tenant)
#   client_write_on - the same, tenant checked before role (the API answers this way)
#   hand_out      - handing out a copy of the record: staff and the client's own users; auditors read only
#   review        - a comment on the auditor's checklist: staff and the client's auditors; its clients read only
KINDS: dict[str, dict[str, str]] = {
    "list": {},
    "read": {role: "404" for role in ROLES if role not in SEES_TENANT},
    "staff": {role: "403" for role in ROLES if role not in STAFF},
    "staff_on": {"client_own": "403", "auditor_assigned": "403", "client_other": "404", "auditor_other": "404"},
    "admin": {role: "403" for role in ROLES if role != "admin"},
    "catalogue": {role: "403" for role in CLIENTS},
    "processor_doc": {role: "404" for role in CLIENTS},
    "client_write": {
        "admin": "403",
        "compliance": "403",
        "auditor_assigned": "403",
        "auditor_other": "403",
        "client_other": "404",
    },
    "client_write_on": {
        "admin": "403",
        "compliance": "403",
        "auditor_assigned": "403",
        "auditor_other": "404",
        "client_other": "404",
    },
    "hand_out": {"auditor_assigned": "403", "auditor_other": "404", "client_other": "404"},
    # clause 9.1: nobody may record an answer to the data subject; staff hear why (422)
    "refused_on": {
        "admin": "422",
        "compliance": "422",
        "client_own": "403",
        "auditor_assigned": "403",
        "client_other": "404",
        "auditor_other": "404",
    },
    # review - an auditor's remark on the checklist: staff and the client's auditors; clients read only
    "review": {"client_own": "403", "client_other": "404", "auditor_other": "404"},
}


@dataclass(frozen=True)
class UploadFile:
    """A file a form uploads (a fresh stream for every request)."""

    name: str
    content: bytes


FILE = UploadFile("signed.txt", b"Signed document\n")
# a training attestation of the world's agent, imported (``{role}`` makes each import its own)
API_TRAININGS_CSV = UploadFile(
    "trainings.csv", b"email,trained_on,course,provider\nagent@world.example,2026-02-01,API import by {role},CNIL\n"
)
TRAININGS_CSV = UploadFile(
    "trainings.csv", b"email,trained_on,course,provider\nagent@world.example,2026-02-01,Imported by {role},CNIL\n"
)

# (method, url, kind, form data). Placeholders are ids from the ``world`` fixture, and {role}.
ROUTES = [
    ("GET", "/", "list", None),
    # deadlines (issue 13): every role sees its own tenants' deadlines; the feed token is one's own
    ("GET", "/deadlines", "list", None),
    ("GET", "/deadlines?client={client}&kind=obligation&within=60", "list", None),
    ("GET", "/account/calendar", "list", None),
    ("POST", "/account/calendar", "list", {"feed-submit": ""}),
    ("POST", "/account/calendar/revoke", "list", {"revoke-submit": ""}),
    ("GET", "/my/obligations", "list", None),
    ("GET", "/clients/", "list", None),
    ("GET", "/activity", "list", None),
    ("GET", "/clients/new", "staff", None),
    (
        "POST",
        "/clients/new",
        "staff",
        {"legal_name": "New client by {role}", "country": "FR", "notice_emails": "dpo@{role}.example"},
    ),
    ("GET", "/clients/{client}", "read", None),
    ("GET", "/clients/{client}/edit", "staff", None),
    (
        "POST",
        "/clients/{client}/edit",
        "staff",
        {
            "legal_name": "Acme Hosting",
            "country": "DZ",
            "notice_emails": "dpo@acme.example",
            "dpo_name": "DPO named by {role}",
        },
    ),
    ("GET", "/clients/{client}/agreements/new", "staff", None),
    (
        "POST",
        "/clients/{client}/agreements/new",
        "staff",
        {**AGREEMENT_FORM, "reference": "DPA-{role}", "title": "Backup", "data_locations": "DZ"},
    ),
    ("GET", "/agreements/{agreement}", "read", None),
    ("GET", "/agreements/{agreement}/status.pdf", "read", None),
    # the auditor's checklist (issue 13)
    ("GET", "/agreements/{agreement}/checklist", "read", None),
    ("GET", "/agreements/{agreement}/checklist?as_of=2026-02-01", "read", None),
    ("GET", "/agreements/{agreement}/checklist.pdf", "read", None),
    ("GET", "/agreements/{agreement}/checklist.zip", "read", None),
    ("GET", "/clients/{client}/checklist", "read", None),
    ("GET", "/clients/{client}/checklist.pdf", "read", None),
    ("GET", "/clients/{client}/checklist.zip", "read", None),
    ("POST", "/obligations/{obligation}/comments", "review", {"comment-body": "Comment by {role}"}),
    ("POST", "/agreements/{ending}/end", "staff", {"ends_on": "2026-06-30"}),
    # the end-of-contract workflow (clause 13, issue 13)
    ("GET", "/agreements/{deleted}/deletion", "read", None),
    ("GET", "/agreements/{deleted}/deletion/certificate.pdf", "read", None),
    ("GET", "/deletion-tasks/{proof_task}/proof", "read", None),
    (
        "POST",
        "/agreements/{deleting}/deletion/exceptions",
        "staff",
        {"exc-what": "Kept by {role}", "exc-legal_basis": "Tax law", "exc-until_on": "2031-01-01"},
    ),
    (
        "POST",
        "/deletion-tasks/{task_of_role}/complete",
        "staff",
        {"task{task_of_role}-done_on": "{today}", "task{task_of_role}-done_by": "Ops ({role})"},
    ),
    ("POST", "/agreements/{certifiable}/deletion/certificate", "staff", {}),
    ("POST", "/agreements/{lacking}/sync", "staff", {}),
    ("GET", "/agreements/{agreement}/settings", "staff", None),
    ("POST", "/agreements/{agreement}/settings", "staff", {**AGREEMENT_SETTINGS_FORM, "dsr_forward_days": "{n}"}),
    ("GET", "/obligations/{obligation}", "read", None),
    (
        "POST",
        "/obligations/{obligation}",
        "staff",
        {"obligation-owner_id": "", "obligation-notes": "Checked by {role}"},
    ),
    ("POST", "/obligations/{obligation}/evidence", "staff", {"evidence-note": "Notified the DPO by phone ({role})"}),
    (
        "POST",
        "/obligations/{obligation}/events",
        "staff",
        {"event-occurred_on": "2026-02-01", "event-occurred_time": "10:00", "event-summary": "Lost laptop ({role})"},
    ),
    ("POST", "/obligations/{na_toggle}/applicability", "staff", {"na-reason": "No such data ({role})"}),
    (
        "POST",
        "/obligations/{obligation}/events/{event}/awareness",
        "staff",
        {"awareness-aware_on": "2026-02-01", "awareness-aware_time": "12:{n:02d}"},
    ),
    ("GET", "/evidence/{evidence}/download", "read", None),
    ("POST", "/evidence/{withdrawn}/withdraw", "staff", {"withdraw-{withdrawn}-reason": "Outdated ({role})"}),
    ("GET", "/admin/users", "admin", None),
    ("GET", "/admin/users/new", "admin", None),
    (
        "POST",
        "/admin/users/new",
        "admin",
        {
            "email": "new-{role}@example.com",
            "role": "compliance",
            "password": "a long enough passphrase",
            "client_id": "",
        },
    ),
    ("GET", "/admin/users/{user}", "admin", None),
    ("POST", "/admin/users/{user}", "admin", {"name": "Named by {role}", "active": "y"}),
    ("GET", "/admin/processor", "admin", None),
    ("POST", "/admin/processor", "admin", {"name": "AltınSoft", "contact_email": "privacy-{role}@altinsoft.example"}),
    ("POST", "/admin/tokens/{revoked_token}/revoke", "admin", {}),
    (
        "POST",
        "/admin/users/{spare_user}/password",
        "admin",
        {
            "reset-new_password": "reset by {role} horse staple",
            "reset-new_password_again": "reset by {role} horse staple",
        },
    ),
    ("GET", "/account/password", "list", None),
    (
        "POST",
        "/account/password",
        "list",
        {
            "current_password": PASSWORD,
            "new_password": "{role} horse battery stable",
            "new_password_again": "{role} horse battery stable",
        },
    ),
    # Art. 30(2) record
    ("GET", "/clients/{client}/record", "read", None),
    ("POST", "/clients/{client}/record/versions", "hand_out", {"handout-as_of": "2026-02-01", "handout-format": "csv"}),
    ("GET", "/clients/{client}/record/versions/1.json", "read", None),
    ("GET", "/clients/{client}/record/diff?from=1&to=2", "read", None),
    ("POST", "/clients/{client}/record/review", "staff", {"review-note": "Checked every activity ({role})"}),
    ("POST", "/clients/{client}/record/request-copy", "client_write", {"copy-summary": "For our DPO ({role})"}),
    ("POST", "/clients/{client}/documents/request", "client_write", {"docs-summary": "Your ISO 27001 report ({role})"}),
    ("GET", "/clients/{client}/activities/new", "staff", None),
    ("POST", "/clients/{client}/activities/new", "staff", {"name": "Backups by {role}", "purposes": "Restore"}),
    ("GET", "/activities/{activity}", "read", None),
    ("POST", "/activities/{activity}", "staff_on", {"name": "Web hosting", "purposes": "Host the shop ({role})"}),
    (
        "POST",
        "/activities/{activity}/transfers",
        "staff",
        {"transfer-destination": "TN", "transfer-recipient": "Desk of {role}", "transfer-mechanism": "ad_hoc_clauses"},
    ),
    ("POST", "/transfers/{transfer}/documents", "staff", {"doc-file": FILE, "doc-note": "SCC ({role})"}),
    ("GET", "/measures", "catalogue", None),
    (
        "POST",
        "/measures",
        "staff",
        {"heading": "d_regular_testing", "title": "Pen test by {role}", "description": "Yearly external test"},
    ),
    ("POST", "/measures/{measure}/documents", "staff", {"doc-file": FILE, "doc-note": "Policy ({role})"}),
    ("GET", "/documents/{transfer_document}/download", "read", None),
    ("GET", "/documents/{measure_document}/download", "processor_doc", None),
    # sub-processors and change notices
    ("GET", "/subprocessors", "catalogue", None),
    (
        "POST",
        "/subprocessors",
        "staff",
        {"legal_name": "Sub of {role}", "country": "FR", "service": "Backup", "transfer_mechanism": ""},
    ),
    ("GET", "/subprocessors/{subprocessor}", "catalogue", None),
    ("POST", "/subprocessors/{fresh}", "staff", {"auth-agreement_id": "{agreement}", "auth-since_on": "2026-02-01"}),
    (
        "POST",
        "/subprocessors/{subprocessor}/documents/subprocessor_guarantee",
        "staff",
        {"doc-file": FILE, "doc-note": "Guarantee ({role})"},
    ),
    ("GET", "/notices", "catalogue", None),
    ("GET", "/notices/new", "staff", None),
    (
        "POST",
        "/notices/new",
        "staff",
        {
            "kind": "add",
            "subprocessor_id": "{spare}",
            "replaces_id": "",
            "agreement_ids": "{agreement}",
            "reason": "Cheaper storage ({role})",
            "corrects_id": "",
        },
    ),
    ("POST", "/notices/retry", "staff", {}),
    ("GET", "/notices/deliveries", "staff", None),
    ("POST", "/notices/deliveries/{failed_delivery}/retry", "staff", {}),
    ("GET", "/clients/{client}/subprocessors", "read", None),
    ("GET", "/clients/{client}/subprocessors.pdf", "read", None),
    ("GET", "/clients/{client}/notices", "read", None),
    ("POST", "/notice-recipients/{recipient}/answer", "client_write", {"answer-{recipient}-decision": "approve"}),
    # agents (clause 5); {agent_of_role} and {attestation_of_role}: each staff role changes its own
    ("GET", "/agents", "list", None),
    ("POST", "/agents", "staff", {"name": "Agent of {role}", "function": "Support", "employer_kind": "processor"}),
    ("POST", "/agents/import", "staff", {"imp-file": TRAININGS_CSV}),
    ("GET", "/agents/register.csv", "list", None),
    ("GET", "/agents/{agent}", "read", None),
    (
        "POST",
        "/agents/{agent_of_role}/assignments",
        "staff",
        {"assign-agreement_id": "{agreement}", "assign-scope": "Tickets", "assign-since_on": "2026-02-01"},
    ),
    (
        "POST",
        "/agents/{agent}/attestations",
        "staff",
        {"att-kind": "training", "att-done_on": "2026-02-01", "att-course": "Course by {role}", "att-provider": "CNIL"},
    ),
    ("POST", "/agents/{agent_of_role}/mission", "staff", {"mission-mission_ends_on": "2030-06-30"}),
    ("POST", "/agent-attestations/{attestation_of_role}/withdraw", "staff", {"wd-reason": "Wrong agent"}),
    ("GET", "/agent-attestations/{attestation}/document", "read", None),
    # disclosures and transfers (clause 10); {consent_of_role}/{disclosure_of_role}: each staff role withdraws its own
    ("GET", "/clients/{client}/transfers", "read", None),
    (
        "POST",
        "/clients/{client}/transfers/consents",
        "staff",
        {"consent-given_on": "2026-02-01", "consent-given_by": "CEO ({role})", "consent-countries": "US"},
    ),
    (
        "POST",
        "/clients/{client}/transfers/disclosures",
        "staff",
        {
            "disclosure-recipient": "Tax office ({role})",
            "disclosure-purpose": "Audit",
            "disclosure-authorised_on": "2026-02-01",
        },
    ),
    ("POST", "/transfer-consents/{consent_of_role}/withdraw", "staff", {"wd-reason": "Revoked"}),
    ("POST", "/disclosure-authorisations/{disclosure_of_role}/withdraw", "staff", {"wd-reason": "Revoked"}),
    ("GET", "/transfer-consents/{consent}/document", "read", None),
    ("GET", "/disclosure-authorisations/{disclosure}/document", "read", None),
    # transfers required by law (clause 10(2)(b)); {law_transfer_of_role}: each staff role notifies its own
    (
        "POST",
        "/clients/{client}/law-transfers",
        "staff",
        {
            "law-agreement_id": "{agreement}",
            "law-learnt_at": "2026-02-03T09:00",
            "law-authority": "Court ({role})",
            "law-law": "Code of criminal procedure, art. 47",
            "law-destination": "Interpol",
            "law-data_concerned": "Login history",
            "law-proof": FILE,
        },
    ),
    ("POST", "/law-transfers/{law_transfer_of_role}/notify", "staff", {}),
    ("GET", "/law-transfers/{law_transfer}/proof", "read", None),
    # the breach register (clause 8)
    ("GET", "/breaches", "list", None),
    ("GET", "/breaches/register.csv", "list", None),
    ("GET", "/breaches/register.pdf", "list", None),
    ("GET", "/breaches/new", "staff", None),
    (
        "POST",
        "/breaches/new",
        "staff",
        {
            "title": "Breach recorded by {role}",
            "occurred_at": "2026-02-03T10:00",
            "detected_at": "2026-02-03T11:00",
            "aware_at": "2026-02-03T12:00",
            "natures": "confidentiality",
            "description": "Mail sent to the wrong customer",
            "contact_point": "DPO",
            "risk": "not_assessed",
            "source_subprocessor_id": "",
            "agreement_ids": "{agreement}",
        },
    ),
    ("GET", "/breaches/{breach}", "read", None),
    ("GET", "/breaches/{breach}/source-notice", "staff_on", None),
    ("POST", "/breaches/{breach}/agreements", "staff_on", {"add-agreement_id": "{spare_agreement}"}),
    (
        "POST",
        "/breaches/{breach}/notify",
        "staff_on",
        {"notify-agreement_id": "{agreement}", "notify-phase": "follow_up", "notify-new_information": "By {role}"},
    ),
    (
        "POST",
        "/breaches/{breach}/actions",
        "staff_on",
        {"action-kind": "remedy", "action-description": "Page action by {role}"},
    ),
    (
        "POST",
        "/breaches/{breach}/actions/done",
        "staff_on",
        {"done-action_id": "{breach_action_of_role}", "done-done_on": "2026-02-05", "done-evidence": "Done ({role})"},
    ),
    ("GET", "/breach-actions/{done_action}/evidence", "staff_on", None),
    # data-subject requests (clause 9.1) and instructions (clause 3.1(3))
    ("GET", "/requests", "list", None),
    ("GET", "/requests/new", "staff", None),
    (
        "POST",
        "/requests/new",
        "staff",
        {
            "agreement_id": "{agreement}",
            "received_at": "2026-02-03T10:00",
            "channel": "email",
            "type": "erasure",
            "subject_reference": "Page request by {role}",
        },
    ),
    ("GET", "/requests/{dsr}", "read", None),
    ("POST", "/requests/{dsr_of_role}/forward", "staff_on", {}),
    ("POST", "/requests/{dsr}/answer", "refused_on", {"answer-answer": "Your data is erased ({role})"}),
    (
        "POST",
        "/requests/{dsr}/help",
        "staff_on",
        {"help-clause_number": "3.1(7)", "help-received_at": "2026-02-{n}T10:00"},
    ),
    ("GET", "/instructions", "list", None),
    ("GET", "/instructions/new", "staff", None),
    (
        "POST",
        "/instructions/new",
        "staff",
        {
            "agreement_id": "{agreement}",
            "received_on": "2026-02-03",
            "channel": "email",
            "content": "Page instruction by {role}",
        },
    ),
    ("GET", "/instructions/{instruction}", "read", None),
    ("POST", "/instructions/{instruction_of_role}/flag", "staff_on", {"flag-reason": "Unlawful ({role})"}),
    ("POST", "/breach-notices/{failed_breach_notice}/retry", "staff", {}),
    # clause 11: document and audit requests, audits, findings, certifications (issue 13)
    ("GET", "/inspections", "list", None),
    ("GET", "/inspections?agreement_id={agreement}", "read", None),
    (
        "POST",
        "/inspections",
        "staff",
        {
            "new-agreement_id": "{agreement}",
            "new-kind": "documents",
            "new-received_on": "2026-02-03",
            "new-requester_name": "DPO",
            "new-subject": "Docs for {role}",
        },
    ),
    ("GET", "/inspections/{inspection}", "read", None),
    ("GET", "/inspections/{inspection}/files/{declaration}", "read", None),
    (
        "POST",
        "/inspections/{inspection}/documents",
        "staff_on",
        {"docs-provided_on": "2026-02-05", "docs-file": FILE, "docs-note": "Provided to {role}"},
    ),
    ("POST", "/inspections/{cert_request_of_role}/share", "staff_on", {}),
    (
        "POST",
        "/inspections/{inspection}/audit",
        "staff_on",
        {
            "audit-auditor_organisation": "Audit by {role}",
            "audit-appointed_by": "client",
            "audit-planned_on": "2026-02-03",
        },
    ),
    (
        "POST",
        "/inspections/{inspection}/findings",
        "staff_on",
        {
            "finding-clause": "8.1",
            "finding-severity": "low",
            "finding-description": "Finding by {role}",
            "finding-due_on": "2026-03-01",
        },
    ),
    (
        "POST",
        "/findings/{finding_of_role}/close",
        "staff_on",
        {"close{finding_of_role}-closed_on": "2026-02-10", "close{finding_of_role}-file": FILE},
    ),
    (
        "POST",
        "/findings/{finding}/actions",
        "staff_on",
        {
            "rem{finding}-description": "Action by {role}",
            "rem{finding}-owner_id": "{user}",
            "rem{finding}-due_on": "2026-03-01",
        },
    ),
    (
        "POST",
        "/remediation-actions/{action_of_role}/done",
        "staff_on",
        {"done{action_of_role}-done_on": "2026-02-10", "done{action_of_role}-file": FILE},
    ),
    ("GET", "/certifications", "list", None),
    (
        "POST",
        "/certifications",
        "staff",
        {
            "cert-kind": "pentest",
            "cert-name": "Cert by {role}",
            "cert-issuer": "Pentest Ltd",
            "cert-issued_on": "2026-01-10",
            "cert-file": FILE,
        },
    ),
    ("POST", "/certifications/{certification}/request", "client_write", {"ask-agreement_id": "{agreement}"}),
    ("GET", "/certifications/{unshared_certification}/file", "processor_doc", None),
]

# The API: bearer tokens, problem+json; anonymous answers 401. (method, url, kind, JSON or form body).
API_ROUTES = [
    ("GET", "/api/v1/clients", "list", None),
    ("GET", "/api/v1/deadlines", "list", None),
    ("GET", "/api/v1/deadlines?client_id={client}&kind=obligation", "list", None),
    ("POST", "/api/v1/me/calendar-feed", "list", {}),
    ("POST", "/api/v1/me/calendar-feed/revoke", "list", {}),
    (
        "POST",
        "/api/v1/clients",
        "staff",
        {"legal_name": "API client of {role}", "country": "FR", "notice_emails": ["dpo-{role}@example.com"]},
    ),
    ("GET", "/api/v1/clients/{client}", "read", None),
    ("GET", "/api/v1/agreements", "list", None),
    (
        "POST",
        "/api/v1/agreements",
        "staff",
        {
            "client_id": "{client}",
            "reference": "API-{role}",
            "title": "API",
            "signed_on": "2026-01-01",
            "effective_on": "2026-01-01",
        },
    ),
    ("GET", "/api/v1/agreements/{agreement}", "read", None),
    ("GET", "/api/v1/agreements/{agreement}/obligations", "read", None),
    ("GET", "/api/v1/agreements/{agreement}/checklist", "read", None),
    ("GET", "/api/v1/clients/{client}/checklist", "read", None),
    ("GET", "/api/v1/obligations/{obligation}/comments", "read", None),
    ("POST", "/api/v1/obligations/{obligation}/comments", "review", {"body": "API comment by {role}"}),
    ("PATCH", "/api/v1/agreements/{agreement}/settings", "staff_on", {"assistance_days": "{n}"}),
    ("GET", "/api/v1/obligations", "list", None),
    ("GET", "/api/v1/obligations/{obligation}", "read", None),
    ("GET", "/api/v1/obligations/{obligation}/evidence", "read", None),
    ("POST", "/api/v1/obligations/{obligation}/evidence", "staff_on", {"note": "Uploaded by {role}"}),
    ("GET", "/api/v1/evidence/{evidence}/download", "read", None),
    ("GET", "/api/v1/audit-events", "list", None),
    ("POST", "/api/v1/clients/{client}/record/versions", "hand_out", {"format": "json"}),
    ("GET", "/api/v1/clients/{client}/record/versions/1.pdf", "read", None),
    ("GET", "/api/v1/clients/{client}/record/versions", "read", None),
    ("GET", "/api/v1/clients/{client}/subprocessors", "read", None),
    ("GET", "/api/v1/clients/{client}/notices", "read", None),
    ("POST", "/api/v1/notice-recipients/{api_recipient}/answer", "client_write_on", {"decision": "approve"}),
    # the twins of the page actions (tests/test_api_twins.py); {own_*}: each staff role changes its own object
    (
        "PUT",
        "/api/v1/clients/{client}",
        "staff_on",
        {
            "legal_name": "Acme Hosting",
            "country": "DZ",
            "notice_emails": ["dpo@acme.example"],
            "dpo_name": "API DPO of {role}",
        },
    ),
    ("POST", "/api/v1/agreements/{ending}/end", "staff_on", {"ends_on": "2026-06-30"}),
    ("POST", "/api/v1/agreements/{lacking}/sync", "staff_on", {}),
    ("PATCH", "/api/v1/obligations/{obligation}", "staff_on", {"notes": "API: checked by {role}"}),
    (
        "POST",
        "/api/v1/obligations/{obligation}/events",
        "staff_on",
        {"occurred_at": "2026-02-02T10:00:00+00:00", "summary": "Lost phone ({role})"},
    ),
    (
        "PUT",
        "/api/v1/obligations/{obligation}/events/{event}/awareness",
        "staff_on",
        {"aware_at": "2026-02-01T13:{n:02d}:00+00:00"},
    ),
    ("PUT", "/api/v1/obligations/{na_set}/not-applicable", "staff_on", {"reason": "No such data ({role})"}),
    ("DELETE", "/api/v1/obligations/{na_cleared}/not-applicable", "staff_on", {}),
    ("POST", "/api/v1/evidence/{withdrawn}/withdraw", "staff_on", {"reason": "Outdated ({role})"}),
    ("POST", "/api/v1/clients/{client}/record/reviews", "staff_on", {"note": "API review by {role}"}),
    ("POST", "/api/v1/clients/{client}/record/copy-requests", "client_write_on", {"summary": "API copy ({role})"}),
    ("POST", "/api/v1/clients/{client}/document-requests", "client_write_on", {"summary": "API docs ({role})"}),
    ("POST", "/api/v1/notices/retry", "staff", {}),
    ("POST", "/api/v1/notice-deliveries/{failed_delivery}/retry", "staff", {}),
    ("POST", "/api/v1/tokens/{revoked_token}/revoke", "admin", {}),
    (
        "POST",
        "/api/v1/users",
        "admin",
        {"email": "api-{role}@example.com", "role": "compliance", "password": "{role} orbit staple lantern"},
    ),
    ("PATCH", "/api/v1/users/{spare_user}", "admin", {"name": "API spare of {role}"}),
    ("POST", "/api/v1/users/{spare_user}/password", "admin", {"new_password": "api reset {role} orbit lantern"}),
    (
        "PUT",
        "/api/v1/processor",
        "admin",
        {"name": "AltınSoft", "contact_email": "api-privacy-{role}@altinsoft.example"},
    ),
    (
        "POST",
        "/api/v1/me/password",
        "list",
        {"current_password": PASSWORD, "new_password": "{role} quartz meadow ripple"},
    ),
    ("POST", "/api/v1/clients/{client}/activities", "staff_on", {"name": "API backups by {role}"}),
    ("PATCH", "/api/v1/activities/{activity}", "staff_on", {"purposes": "Host the shop ({role})"}),
    (
        "POST",
        "/api/v1/activities/{activity}/transfers",
        "staff_on",
        {"destination": "TN", "recipient": "API desk of {role}", "mechanism": "ad_hoc_clauses"},
    ),
    ("POST", "/api/v1/transfers/{transfer}/documents", "staff_on", {"note": "API SCC ({role})", "file": FILE}),
    (
        "POST",
        "/api/v1/measures",
        "staff",
        {"heading": "d_regular_testing", "title": "API pen test by {role}", "description": "Yearly external test"},
    ),
    ("POST", "/api/v1/measures/{measure}/documents", "staff", {"note": "API policy ({role})", "file": FILE}),
    (
        "POST",
        "/api/v1/subprocessors",
        "staff",
        {"legal_name": "API sub of {role}", "country": "FR", "service": "Backup"},
    ),
    (
        "POST",
        "/api/v1/subprocessors/{fresh}/authorisations",
        "staff",
        {"agreement_id": "{agreement}", "since_on": "2026-02-01"},
    ),
    (
        "POST",
        "/api/v1/subprocessors/{subprocessor}/documents",
        "staff",
        {"kind": "subprocessor_guarantee", "note": "API guarantee ({role})", "file": FILE},
    ),
    (
        "POST",
        "/api/v1/notices",
        "staff",
        {
            "kind": "add",
            "subprocessor_id": "{notice_sub}",
            "agreement_ids": ["{agreement}"],
            "reason": "API notice ({role})",
        },
    ),
    # agents (clause 5)
    ("GET", "/api/v1/agents", "list", None),
    ("GET", "/api/v1/agents/{agent}", "read", None),
    (
        "POST",
        "/api/v1/agents",
        "staff",
        {"name": "API agent of {role}", "function": "Ops", "employer_kind": "processor"},
    ),
    (
        "POST",
        "/api/v1/agents/{agent_of_role}/assignments",
        "staff_on",
        {"agreement_id": "{agreement}", "scope": "Tickets", "since_on": "2026-02-01"},
    ),
    (
        "POST",
        "/api/v1/agents/{agent}/attestations",
        "staff_on",
        {"kind": "training", "done_on": "2026-02-01", "course": "API course by {role}", "provider": "CNIL"},
    ),
    ("POST", "/api/v1/agents/{agent_of_role}/mission", "staff_on", {"mission_ends_on": "2030-06-30"}),
    ("POST", "/api/v1/agent-attestations/{attestation_of_role}/withdraw", "staff_on", {"reason": "Wrong"}),
    ("POST", "/api/v1/agents/import", "staff", {"file": API_TRAININGS_CSV}),
    # disclosures and transfers (clause 10)
    ("GET", "/api/v1/clients/{client}/transfer-consents", "read", None),
    (
        "POST",
        "/api/v1/clients/{client}/transfer-consents",
        "staff_on",
        {"given_on": "2026-02-01", "given_by": "API CEO ({role})", "countries": "US", "file": FILE},
    ),
    ("POST", "/api/v1/transfer-consents/{consent_of_role}/withdraw", "staff_on", {"reason": "Revoked"}),
    ("GET", "/api/v1/clients/{client}/disclosure-authorisations", "read", None),
    (
        "POST",
        "/api/v1/clients/{client}/disclosure-authorisations",
        "staff_on",
        {"recipient": "API tax office ({role})", "purpose": "Audit", "authorised_on": "2026-02-01"},
    ),
    ("POST", "/api/v1/disclosure-authorisations/{disclosure_of_role}/withdraw", "staff_on", {"reason": "Revoked"}),
    ("GET", "/api/v1/law-transfers", "list", None),
    ("GET", "/api/v1/law-transfers/{law_transfer}", "read", None),
    (
        "POST",
        "/api/v1/clients/{client}/law-transfers",
        "staff_on",
        {
            "agreement_id": "{agreement}",
            "learnt_at": "2026-02-03T09:00:00+00:00",
            "authority": "API court ({role})",
            "law": "Code of criminal procedure, art. 47",
            "destination": "Interpol",
            "data_concerned": "Login history",
            "proof": FILE,
        },
    ),
    ("POST", "/api/v1/law-transfers/{law_transfer_of_role}/notify", "staff_on", {}),
    # the breach register (clause 8)
    ("GET", "/api/v1/breaches", "list", None),
    (
        "POST",
        "/api/v1/breaches",
        "staff",
        {
            "title": "API breach by {role}",
            "occurred_at": "2026-02-03T10:00:00+00:00",
            "detected_at": "2026-02-03T11:00:00+00:00",
            "aware_at": "2026-02-03T12:00:00+00:00",
            "natures": ["integrity"],
            "description": "Records overwritten",
            "contact_point": "DPO",
            "agreement_ids": ["{agreement}"],
        },
    ),
    ("GET", "/api/v1/breaches/{breach}", "read", None),
    ("POST", "/api/v1/breaches/{breach}/agreements", "staff_on", {"agreement_id": "{spare_agreement}"}),
    (
        "POST",
        "/api/v1/breaches/{breach}/notices",
        "staff_on",
        {"agreement_id": "{agreement}", "phase": "follow_up", "new_information": "By {role}"},
    ),
    (
        "POST",
        "/api/v1/breaches/{breach}/actions",
        "staff_on",
        {"kind": "containment", "description": "API action by {role}"},
    ),
    (
        "POST",
        "/api/v1/breach-actions/{breach_action_of_role}/done",
        "staff_on",
        {"done_on": "2026-02-05", "evidence": "API done ({role})"},
    ),
    # data-subject requests (clause 9.1) and instructions (clause 3.1(3))
    ("GET", "/api/v1/requests", "list", None),
    (
        "POST",
        "/api/v1/requests",
        "staff",
        {
            "agreement_id": "{agreement}",
            "received_at": "2026-02-03T10:00:00+00:00",
            "channel": "phone",
            "type": "access",
            "subject_reference": "API request by {role}",
        },
    ),
    ("GET", "/api/v1/requests/{dsr}", "read", None),
    ("POST", "/api/v1/requests/{dsr_of_role}/forward", "staff_on", {}),
    ("POST", "/api/v1/requests/{dsr}/answer", "refused_on", {"answer": "Done ({role})"}),
    (
        "POST",
        "/api/v1/requests/{dsr}/help",
        "staff_on",
        {"clause_number": "3.1(6)", "received_at": "2026-02-{n}T10:00:00+00:00"},
    ),
    ("GET", "/api/v1/instructions", "list", None),
    (
        "POST",
        "/api/v1/instructions",
        "staff",
        {"agreement_id": "{agreement}", "received_on": "2026-02-03", "channel": "post", "content": "API by {role}"},
    ),
    ("GET", "/api/v1/instructions/{instruction}", "read", None),
    ("POST", "/api/v1/instructions/{instruction_of_role}/flag", "staff_on", {"reason": "Unlawful ({role})"}),
    ("GET", "/api/v1/breach-notices/failed", "staff", None),
    ("GET", "/api/v1/agreements/{deleted}/deletion", "read", None),
    ("GET", "/api/v1/agreements/{deleted}/deletion/tasks", "read", None),
    ("GET", "/api/v1/agreements/{deleted}/deletion/certificate.pdf", "read", None),
    (
        "POST",
        "/api/v1/agreements/{deleting}/deletion/exceptions",
        "staff_on",
        {"what": "API kept by {role}", "legal_basis": "Tax law", "until_on": "2031-01-01"},
    ),
    ("POST", "/api/v1/deletion-tasks/{task_of_role}/complete", "staff_on", {"done_on": "{today}", "done_by": "Ops"}),
    ("POST", "/api/v1/agreements/{certifiable}/deletion/certificate", "staff_on", {}),
    ("POST", "/api/v1/breach-notices/{failed_breach_notice}/retry", "staff", {}),
    # clause 11 (issue 13)
    ("GET", "/api/v1/inspections", "list", None),
    ("GET", "/api/v1/inspections?agreement_id={agreement}", "list", None),
    (
        "POST",
        "/api/v1/inspections",
        "staff",
        {
            "agreement_id": "{agreement}",
            "kind": "documents",
            "received_on": "2026-02-03",
            "requester_name": "DPO",
            "subject": "API docs for {role}",
        },
    ),
    ("GET", "/api/v1/inspections/{inspection}", "read", None),
    (
        "POST",
        "/api/v1/inspections/{inspection}/documents",
        "staff_on",
        {"provided_on": "2026-02-05", "file": FILE, "note": "API provided to {role}"},
    ),
    ("POST", "/api/v1/inspections/{cert_request_of_role}/share", "staff_on", {}),
    (
        "POST",
        "/api/v1/inspections/{inspection}/audit",
        "staff_on",
        {"auditor_organisation": "API audit by {role}", "appointed_by": "client", "planned_on": "2026-02-03"},
    ),
    (
        "POST",
        "/api/v1/inspections/{inspection}/findings",
        "staff_on",
        {"clause": "8.1", "severity": "low", "description": "API finding by {role}", "due_on": "2026-03-01"},
    ),
    ("POST", "/api/v1/findings/{finding_of_role}/close", "staff_on", {"closed_on": "2026-02-10", "file": FILE}),
    (
        "POST",
        "/api/v1/findings/{finding}/actions",
        "staff_on",
        {"description": "API action by {role}", "owner_id": "{user}", "due_on": "2026-03-01"},
    ),
    ("POST", "/api/v1/remediation-actions/{action_of_role}/done", "staff_on", {"done_on": "2026-02-10", "file": FILE}),
    ("GET", "/api/v1/certifications", "list", None),
    (
        "POST",
        "/api/v1/certifications",
        "staff",
        {
            "kind": "soc2",
            "name": "API cert by {role}",
            "issuer": "Auditors LLP",
            "issued_on": "2026-01-10",
            "file": FILE,
        },
    ),
    ("POST", "/api/v1/certifications/{certification}/request", "client_write", {"agreement_id": "{agreement}"}),
]
MULTIPART = (
    "/evidence",
    "/documents",
    "/authorisations",
    "/attestations",
    "/import",
    "/transfer-consents",
    "/disclosure-authorisations",
    "/complete",
    "/audit",
    "/close",
    "/done",
    "/certifications",
    "/law-transfers",
)  # API routes that take a multipart body
# POSTs that change an existing object answer 200; the other POSTs create one and answer 201.
API_POST_CHANGES = (
    "/answer",
    "/done",
    "/end",
    "/mission",
    "/notify",
    "/password",
    "/retry",
    "/revoke",
    "/sync",
    "/withdraw",
    "/audit",
)

# tested in test_pages / test_api_v1 / test_deadlines (the calendar feed: its token is the credential)
PUBLIC = {"static", "auth.login", "auth.logout", "api-docs.openapi_json", "calendar.feed"}


def expected(role: str, kind: str) -> str:
    if role == "anonymous":
        return "login"
    return KINDS[kind].get(role, "ok")


# --- what each write really does -------------------------------------------------------------------------
#
# Every route that changes state has an entry here, keyed "METHOD endpoint": ``probe`` reads, in the
# database, the fact the write changes (made specific to the role by the ``{role}``/``{n}`` in the data
# above, so each allowed role makes a change of its own); ``arrange`` (optional) first builds what the write
# consumes (an agreement to end, a failed e-mail to retry...) and returns the ids it puts in the URL.
# An allowed write must change its probe and write an audit event; a refused one must change neither.
# A write route without an entry fails the matrix with its name: add its outcome here.


@dataclass(frozen=True)
class Case:
    """One matrix cell: the role and the values put in its URL and body."""

    role: str
    values: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass(frozen=True)
class Outcome:
    probe: Callable[[Case], object]
    arrange: Callable[[Case], dict[str, int]] | None = None


SERIAL = itertools.count(1)  # unique names for what ``arrange`` builds


def count(model: type, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def staff_user() -> User:
    return db.session.scalars(select(User).where(User.email == "compliance@example.com")).one()


def column(model: type, attribute: str, key: str) -> Callable[[Case], object]:
    """The value of one column of the object whose id is ``case[key]``."""
    return lambda case: getattr(db.session.get(model, case[key]), attribute)


def fresh_agreement(case: Case) -> Agreement:
    client = db.session.get(Client, case["client"])
    return make_agreement(client, staff_user(), signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1))


def arrange_ending(case: Case) -> dict[str, int]:
    return {"ending": fresh_agreement(case).id}


def _ended_with_workflow(case: Case) -> DeletionWorkflow:
    """A fresh agreement of the client, ended yesterday: its clause 13 workflow is open."""
    agreement = fresh_agreement(case)
    return end_with_workflow(staff_user(), agreement, EndInput(today() - timedelta(days=1)))


def arrange_deletion_task(case: Case) -> dict[str, int]:
    workflow = _ended_with_workflow(case)
    db.session.commit()
    return {"task_of_role": next(t.id for t in workflow.tasks if t.kind.value == "backups")}


def arrange_certifiable(case: Case) -> dict[str, int]:
    workflow = _ended_with_workflow(case)
    for task in workflow.tasks:
        complete_task(staff_user(), task, CompletionInput(today(), "Ops"))
    db.session.commit()
    return {"certifiable": workflow.agreement_id}


def certificates_of(case: Case) -> int:
    return count(
        DeletionCertificate,
        DeletionCertificate.workflow_id.in_(
            select(DeletionWorkflow.id).where(DeletionWorkflow.agreement_id == case["certifiable"])
        ),
    )


def arrange_lacking(case: Case) -> dict[str, int]:
    """An agreement that lacks one clause of its template (as if the template gained it later)."""
    agreement = fresh_agreement(case)
    db.session.delete(next(o for o in agreement.obligations if o.clause_number == "11.2"))
    db.session.commit()
    return {"lacking": agreement.id}


def arrange_withdrawn(case: Case) -> dict[str, int]:
    obligation = db.session.get(Obligation, case["obligation"])
    evidence = add_evidence(staff_user(), obligation, EvidenceInput(note=f"Policy to withdraw ({case.role})"))
    db.session.commit()
    return {"withdrawn": evidence.id}


def arrange_own_password(case: Case) -> dict[str, int]:
    """The signed-in user's password is PASSWORD again (the page matrix may have changed it already)."""
    user = db.session.scalar(select(User).where(User.email == f"{case.role}@example.com"))
    if user is not None:
        user.password_hash = hash_password(PASSWORD)
        db.session.commit()
    return {}


def arrange_agent(case: Case) -> dict[str, int]:
    """An agent of the test's own (a mission ends once; an assignment to the same agreement is refused twice)."""
    agent = create_agent(staff_user(), AgentInput(name=f"Agent {next(SERIAL)} of {case.role}", function="Ops"))
    # working on another agreement of the same client, so that client's users and auditors see the agent
    assign_agent(staff_user(), agent, fresh_agreement(case), "Tickets", date(2026, 1, 1))
    db.session.commit()
    return {"agent_of_role": agent.id}


def arrange_attestation(case: Case) -> dict[str, int]:
    agent = db.session.get(Agent, case["agent"])
    attestation = add_attestation(
        staff_user(),
        agent,
        AttestationInput(
            "training", date(2026, 1, 2), course=f"To withdraw {next(SERIAL)} ({case.role})", provider="CNIL"
        ),
    )
    db.session.commit()
    return {"attestation_of_role": attestation.id}


def arrange_consent(case: Case) -> dict[str, int]:
    consent = record_consent(
        staff_user(),
        db.session.get_one(Client, case["client"]),
        ConsentInput(date(2026, 1, 2), f"Consent to withdraw ({case.role})", ["US"]),
    )
    db.session.commit()
    return {"consent_of_role": consent.id}


def arrange_disclosure(case: Case) -> dict[str, int]:
    authorisation = record_disclosure(
        staff_user(),
        db.session.get_one(Client, case["client"]),
        DisclosureInput(f"Recipient to withdraw ({case.role})", "Audit", date(2026, 1, 2)),
    )
    db.session.commit()
    return {"disclosure_of_role": authorisation.id}


def arrange_open_action(case: Case) -> dict[str, int]:
    """An open clause 8.1(2) action of the test's own (an action is marked done once)."""
    action = add_action(
        staff_user(),
        db.session.get_one(Breach, case["breach"]),
        ActionInput(kind="remedy", description=f"Open action ({case.role}) {next(SERIAL)}"),
    )
    db.session.commit()
    return {"breach_action_of_role": action.id}


def arrange_law_transfer(case: Case) -> dict[str, int]:
    """A transfer required by law of the test's own (the client is notified once)."""
    row = record_law_transfer(
        staff_user(),
        db.session.get_one(Agreement, case["agreement"]),
        LawTransferInput(
            datetime(2026, 2, 3, 9, tzinfo=UTC),
            f"Court ({case.role}) {next(SERIAL)}",
            "Code of criminal procedure, art. 47",
            "Interpol",
            data_concerned="Login history",
        ),
        Upload(io.BytesIO(b"Court order\n"), "order.txt"),
    )
    db.session.commit()
    return {"law_transfer_of_role": row.id}


def arrange_spare_agreement(case: Case) -> dict[str, int]:
    """An agreement the breach does not touch yet (adding the same one twice is refused)."""
    agreement = fresh_agreement(case)
    db.session.commit()
    return {"spare_agreement": agreement.id}


def breach_agreements(case: Case) -> int:
    return count(BreachAgreement, BreachAgreement.agreement_id == case["spare_agreement"])


def breach_notices(case: Case) -> int:
    return count(BreachNotice, BreachNotice.breach_id == case["breach"])


def arrange_request(case: Case) -> dict[str, int]:
    """A request of the test's own (a request is forwarded once)."""
    agreement = db.session.get(Agreement, case["agreement"])
    request = log_request(
        staff_user(),
        agreement,
        RequestInput(datetime(2026, 2, 3, 9, tzinfo=UTC), "email", "access", f"To forward ({case.role})"),
    )
    db.session.commit()
    return {"dsr_of_role": request.id}


def arrange_instruction(case: Case) -> dict[str, int]:
    """An instruction of the test's own (an instruction is flagged once)."""
    agreement = db.session.get(Agreement, case["agreement"])
    instruction = record_instruction(
        staff_user(), agreement, InstructionInput(date(2026, 2, 3), "email", f"To flag ({case.role})")
    )
    db.session.commit()
    return {"instruction_of_role": instruction.id}


def role_feeds(case: Case, *where: Any) -> int:
    return count(
        CalendarFeed,
        CalendarFeed.user_id == select(User.id).where(User.email == f"{case.role}@example.com").scalar_subquery(),
        *where,
    )


def arrange_feed(case: Case) -> dict[str, int]:
    """The signed-in user has a live calendar feed to revoke."""
    user = db.session.scalar(select(User).where(User.email == f"{case.role}@example.com"))
    if user is not None:
        create_feed(user)
        db.session.commit()
    return {}


def arrange_token(case: Case) -> dict[str, int]:
    token, _ = create_token(None, staff_user(), f"to revoke ({case.role})")
    db.session.commit()
    return {"revoked_token": token.id}


def arrange_failed_delivery(case: Case) -> dict[str, int]:
    """A change notice whose e-mail failed (nothing listens on the configured SMTP port)."""
    notice = propose_change(
        staff_user(),
        ChangeKind.ADD,
        arrange_subprocessor_row(f"Relay {next(SERIAL)} for {case.role}"),
        [db.session.get(Agreement, case["agreement"])],
        f"Relay for {case.role}",
    )
    db.session.commit()
    delivery_id = notice.recipients[0].deliveries[0].id
    send_pending()
    assert db.session.get(NoticeDelivery, delivery_id).state is DeliveryState.FAILED
    return {"failed_delivery": delivery_id}


def arrange_failed_breach_notice(case: Case) -> dict[str, int]:
    """A breach notice whose e-mail failed (nothing listens on the configured SMTP port)."""
    breach = db.session.get_one(Breach, case["breach"])
    notice = queue_notice(staff_user(), breach, breach.affected[0], NoticePhase.FOLLOW_UP, f"Update for {case.role}")[0]
    db.session.commit()
    send_breach_notices()
    assert db.session.get_one(BreachNotice, notice.id).state is DeliveryState.FAILED
    return {"failed_breach_notice": notice.id}


def arrange_not_applicable(case: Case) -> dict[str, int]:
    agreement = fresh_agreement(case)
    obligation = next(o for o in agreement.obligations if o.clause_number == "10(1)")
    set_not_applicable(staff_user(), obligation, f"Arranged for {case.role}")
    db.session.commit()
    return {"na_cleared": obligation.id}


def arrange_subprocessor_row(legal_name: str) -> SubProcessor:
    sub = create_subprocessor(staff_user(), SubProcessorInput(legal_name=legal_name, country="FR", service="Storage"))
    db.session.commit()
    return sub


def arrange_subprocessor(case: Case) -> dict[str, int]:
    return {"fresh": arrange_subprocessor_row(f"Fresh {next(SERIAL)} for {case.role}").id}


def documents(case: Case, note: str, **where: Any) -> int:
    return count(SupportingDocument, SupportingDocument.note == note.format(**case.values), *where_eq(where))


def where_eq(where: dict[str, Any]) -> list[Any]:
    return [getattr(SupportingDocument, key) == value for key, value in where.items()]


def events_with(summary: str) -> Callable[[Case], object]:
    return lambda case: count(
        TriggerEvent, TriggerEvent.summary.endswith(summary.format(**case.values), autoescape=True)
    )


def evidence_with(note: str) -> Callable[[Case], object]:
    return lambda case: count(Evidence, Evidence.note == note.format(**case.values))


def comments_with(body: str) -> Callable[[Case], object]:
    return lambda case: count(ChecklistComment, ChecklistComment.body == body.format(role=case.role))


def failed_deliveries(case: Case) -> int:
    return count(NoticeDelivery, NoticeDelivery.state == DeliveryState.FAILED)


def password_hashes(case: Case) -> object:
    return tuple(db.session.scalars(select(User.password_hash).order_by(User.id)))


def courses(course: str) -> Callable[[Case], object]:
    return lambda case: count(AgentAttestation, AgentAttestation.course == course.format(**case.values))


def assignments(case: Case) -> int:
    return count(AgentAssignment, AgentAssignment.agent_id == case["agent_of_role"])


def arrange_finding(case: Case) -> dict[str, int]:
    """A finding of the test's own (a finding is closed once)."""
    engagement = db.session.get_one(InspectionRequest, case["inspection"]).engagement
    assert engagement is not None
    found = add_finding(
        staff_user(), engagement, FindingInput("8.1", "medium", f"To close ({case.role})", date(2026, 3, 1))
    )
    db.session.commit()
    return {"finding_of_role": found.id}


def arrange_action(case: Case) -> dict[str, int]:
    """A remediation action of the test's own (an action is done once)."""
    found = db.session.get_one(Finding, case["finding"])
    action = add_remediation(
        staff_user(), found, RemediationInput(f"To do ({case.role})", staff_user().id, date(2026, 3, 1))
    )
    db.session.commit()
    return {"action_of_role": action.id}


def arrange_cert_request(case: Case) -> dict[str, int]:
    """A client's certification request of the test's own (a certification is shared once per request)."""
    asked = request_certification(
        staff_user(),
        db.session.get_one(Certification, case["certification"]),
        db.session.get_one(Agreement, case["agreement"]),
    )
    db.session.commit()
    return {"cert_request_of_role": asked.id}


def shared_evidence(case: Case) -> int:
    asked = db.session.get_one(InspectionRequest, case["cert_request_of_role"])
    return count(Evidence, Evidence.trigger_event_id == asked.event_id)


def record_versions(case: Case) -> int:
    return count(RecordVersion, RecordVersion.client_id == case["client"])


OUTCOMES: dict[str, Outcome] = {
    # pages
    "POST deadline.create_feed_view": Outcome(role_feeds),
    "POST deadline.revoke_feed_view": Outcome(
        lambda c: role_feeds(c, CalendarFeed.revoked_at.is_not(None)), arrange_feed
    ),
    "POST client.create": Outcome(lambda c: count(Client, Client.legal_name == f"New client by {c.role}")),
    "POST client.edit": Outcome(column(Client, "dpo_name", "client")),
    "POST agreement.create": Outcome(lambda c: count(Agreement, Agreement.reference == f"DPA-{c.role}")),
    "POST agreement.end": Outcome(column(Agreement, "ends_on", "ending"), arrange_ending),
    "POST deletion.add_exception_page": Outcome(
        lambda c: count(RetentionException, RetentionException.what == f"Kept by {c.role}")
    ),
    "POST deletion.complete": Outcome(
        lambda c: count(DeletionTaskCompletion, DeletionTaskCompletion.task_id == c["task_of_role"]),
        arrange_deletion_task,
    ),
    "POST deletion.issue": Outcome(certificates_of, arrange_certifiable),
    "POST api_v1.add_retention_exception_api": Outcome(
        lambda c: count(RetentionException, RetentionException.what == f"API kept by {c.role}")
    ),
    "POST api_v1.complete_deletion_task_api": Outcome(
        lambda c: count(DeletionTaskCompletion, DeletionTaskCompletion.task_id == c["task_of_role"]),
        arrange_deletion_task,
    ),
    "POST api_v1.issue_deletion_certificate_api": Outcome(certificates_of, arrange_certifiable),
    "POST agreement.sync": Outcome(
        lambda c: count(Obligation, Obligation.agreement_id == c["lacking"]), arrange_lacking
    ),
    "POST agreement.settings": Outcome(column(Agreement, "dsr_forward_days", "agreement")),
    "POST obligation.update": Outcome(column(Obligation, "notes", "obligation")),
    "POST obligation.upload": Outcome(evidence_with("Notified the DPO by phone ({role})")),
    "POST obligation.add_event": Outcome(events_with("Lost laptop ({role})")),
    "POST obligation.applicability": Outcome(column(Obligation, "na_reason", "na_toggle")),
    "POST obligation.awareness": Outcome(column(TriggerEvent, "aware_at", "event")),
    "POST evidence.withdraw": Outcome(column(Evidence, "state", "withdrawn"), arrange_withdrawn),
    "POST admin.create_user_page": Outcome(lambda c: count(User, User.email == f"new-{c.role}@example.com")),
    "POST admin.edit_user": Outcome(column(User, "name", "user")),
    "POST admin.processor": Outcome(lambda c: tuple(db.session.scalars(select(ProcessorProfile.contact_email)))),
    "POST admin.revoke": Outcome(column(ApiToken, "revoked_at", "revoked_token"), arrange_token),
    "POST admin.reset_password": Outcome(column(User, "password_hash", "spare_user")),
    "POST auth.password": Outcome(password_hashes),
    "POST record.create_version": Outcome(record_versions),
    "POST record.review": Outcome(evidence_with("Checked every activity ({role})")),
    "POST record.request_copy": Outcome(events_with("For our DPO ({role})")),
    "POST record.request_documents": Outcome(events_with("Your ISO 27001 report ({role})")),
    "POST record.new_activity": Outcome(
        lambda c: count(ProcessingActivity, ProcessingActivity.name == f"Backups by {c.role}")
    ),
    "POST record.edit_activity": Outcome(column(ProcessingActivity, "purposes", "activity")),
    "POST record.new_transfer": Outcome(lambda c: count(Transfer, Transfer.recipient == f"Desk of {c.role}")),
    "POST record.transfer_document": Outcome(
        lambda c: documents(c, "SCC ({role})", transfer_id=c["transfer"], kind=DocumentKind.SAFEGUARDS)
    ),
    "POST record.measures": Outcome(lambda c: count(SecurityMeasure, SecurityMeasure.title == f"Pen test by {c.role}")),
    "POST record.measure_document": Outcome(lambda c: documents(c, "Policy ({role})", measure_id=c["measure"])),
    "POST subprocessor.catalogue": Outcome(
        lambda c: count(SubProcessor, SubProcessor.legal_name == f"Sub of {c.role}")
    ),
    "POST subprocessor.detail": Outcome(
        lambda c: count(
            Authorisation, Authorisation.subprocessor_id == c["fresh"], Authorisation.agreement_id == c["agreement"]
        ),
        arrange_subprocessor,
    ),
    "POST subprocessor.document": Outcome(
        lambda c: documents(c, "Guarantee ({role})", subprocessor_id=c["subprocessor"])
    ),
    "POST subprocessor.new_notice": Outcome(
        lambda c: count(ChangeNotice, ChangeNotice.reason == f"Cheaper storage ({c.role})")
    ),
    "POST subprocessor.retry": Outcome(failed_deliveries, arrange_failed_delivery),
    "POST subprocessor.retry_delivery": Outcome(
        column(NoticeDelivery, "state", "failed_delivery"), arrange_failed_delivery
    ),
    "POST subprocessor.answer_notice": Outcome(column(NoticeRecipient, "state", "recipient")),
    "POST agent.register": Outcome(lambda c: count(Agent, Agent.name == f"Agent of {c.role}")),
    "POST agent.import_file": Outcome(courses("Imported by {role}")),
    "POST agent.assign_agent": Outcome(assignments, arrange_agent),
    "POST agent.attest": Outcome(courses("Course by {role}")),
    "POST agent.mission": Outcome(column(Agent, "mission_ends_on", "agent_of_role"), arrange_agent),
    "POST agent.withdraw": Outcome(
        column(AgentAttestation, "withdrawn_at", "attestation_of_role"), arrange_attestation
    ),
    "POST checklist.add_comment": Outcome(comments_with("Comment by {role}")),
    "POST inspection.create": Outcome(
        lambda c: count(InspectionRequest, InspectionRequest.subject == f"Docs for {c.role}")
    ),
    "POST inspection.documents": Outcome(evidence_with("Provided to {role}")),
    "POST inspection.share": Outcome(shared_evidence, arrange_cert_request),
    "POST inspection.audit": Outcome(lambda c: db.session.scalar(select(AuditEngagement.auditor_organisation))),
    "POST inspection.finding": Outcome(lambda c: count(Finding, Finding.description == f"Finding by {c.role}")),
    "POST inspection.close": Outcome(
        lambda c: count(FindingClosure, FindingClosure.finding_id == c["finding_of_role"]), arrange_finding
    ),
    "POST inspection.remediation": Outcome(
        lambda c: count(RemediationAction, RemediationAction.description == f"Action by {c.role}")
    ),
    "POST inspection.remediation_done": Outcome(column(RemediationAction, "status", "action_of_role"), arrange_action),
    "POST inspection.certification_add": Outcome(
        lambda c: count(Certification, Certification.name == f"Cert by {c.role}")
    ),
    "POST inspection.certification_request": Outcome(
        lambda c: count(InspectionRequest, InspectionRequest.certification_id == c["certification"])
    ),
    "POST api_v1.record_inspection_api": Outcome(
        lambda c: count(InspectionRequest, InspectionRequest.subject == f"API docs for {c.role}")
    ),
    "POST api_v1.provide_documents_api": Outcome(evidence_with("API provided to {role}")),
    "POST api_v1.share_certification_api": Outcome(shared_evidence, arrange_cert_request),
    "POST api_v1.save_audit_api": Outcome(lambda c: db.session.scalar(select(AuditEngagement.auditor_organisation))),
    "POST api_v1.add_finding_api": Outcome(lambda c: count(Finding, Finding.description == f"API finding by {c.role}")),
    "POST api_v1.close_finding_api": Outcome(
        lambda c: count(FindingClosure, FindingClosure.finding_id == c["finding_of_role"]), arrange_finding
    ),
    "POST api_v1.add_remediation_api": Outcome(
        lambda c: count(RemediationAction, RemediationAction.description == f"API action by {c.role}")
    ),
    "POST api_v1.complete_remediation_api": Outcome(
        column(RemediationAction, "status", "action_of_role"), arrange_action
    ),
    "POST api_v1.add_certification_api": Outcome(
        lambda c: count(Certification, Certification.name == f"API cert by {c.role}")
    ),
    "POST api_v1.request_certification_api": Outcome(
        lambda c: count(InspectionRequest, InspectionRequest.certification_id == c["certification"])
    ),
    "POST transfer.add_consent": Outcome(
        lambda c: count(TransferConsent, TransferConsent.given_by == f"CEO ({c.role})")
    ),
    "POST transfer.add_disclosure": Outcome(
        lambda c: count(DisclosureAuthorisation, DisclosureAuthorisation.recipient == f"Tax office ({c.role})")
    ),
    "POST transfer.withdraw_consent": Outcome(
        column(TransferConsent, "withdrawn_at", "consent_of_role"), arrange_consent
    ),
    "POST transfer.add_law_transfer": Outcome(
        lambda c: count(LawTransfer, LawTransfer.authority == f"Court ({c.role})")
    ),
    "POST transfer.notify_law_transfer": Outcome(
        lambda c: count(RequestNotice, RequestNotice.law_transfer_id == c["law_transfer_of_role"]), arrange_law_transfer
    ),
    "POST transfer.withdraw_disclosure": Outcome(
        column(DisclosureAuthorisation, "withdrawn_at", "disclosure_of_role"), arrange_disclosure
    ),
    "POST breach.retry_notice": Outcome(
        column(BreachNotice, "state", "failed_breach_notice"), arrange_failed_breach_notice
    ),
    "POST breach.new": Outcome(lambda c: count(Breach, Breach.title == f"Breach recorded by {c.role}")),
    "POST breach.add_agreement": Outcome(breach_agreements, arrange_spare_agreement),
    "POST breach.notify": Outcome(breach_notices),
    "POST breach.action_done": Outcome(column(BreachAction, "done_on", "breach_action_of_role"), arrange_open_action),
    "POST api_v1.mark_breach_action_done_api": Outcome(
        column(BreachAction, "done_on", "breach_action_of_role"), arrange_open_action
    ),
    "POST breach.action": Outcome(
        lambda c: count(BreachAction, BreachAction.description == f"Page action by {c.role}")
    ),
    "POST dsr.new_request": Outcome(
        lambda c: count(DataSubjectRequest, DataSubjectRequest.subject_reference == f"Page request by {c.role}")
    ),
    "POST dsr.forward": Outcome(
        lambda c: count(RequestNotice, RequestNotice.request_id == c["dsr_of_role"]), arrange_request
    ),
    "POST dsr.answer": Outcome(lambda c: (count(DataSubjectRequest), count(RequestNotice), count(TriggerEvent))),
    "POST dsr.help_request": Outcome(lambda c: count(HelpRequest, HelpRequest.request_id == c["dsr"])),
    "POST dsr.new_instruction": Outcome(
        lambda c: count(Instruction, Instruction.content == f"Page instruction by {c.role}")
    ),
    "POST dsr.flag": Outcome(
        lambda c: count(InstructionFlag, InstructionFlag.instruction_id == c["instruction_of_role"]),
        arrange_instruction,
    ),
    # the API
    "POST api_v1.create_client_api": Outcome(lambda c: count(Client, Client.legal_name == f"API client of {c.role}")),
    "POST api_v1.create_agreement_api": Outcome(lambda c: count(Agreement, Agreement.reference == f"API-{c.role}")),
    "PATCH api_v1.change_agreement_settings": Outcome(column(Agreement, "assistance_days", "agreement")),
    "POST api_v1.add_evidence_api": Outcome(evidence_with("Uploaded by {role}")),
    "POST api_v1.create_record_version": Outcome(record_versions),
    "POST api_v1.answer_notice_api": Outcome(column(NoticeRecipient, "state", "api_recipient")),
    "PUT api_v1.update_client_api": Outcome(column(Client, "dpo_name", "client")),
    "POST api_v1.end_agreement_api": Outcome(column(Agreement, "ends_on", "ending"), arrange_ending),
    "POST api_v1.sync_agreement_api": Outcome(
        lambda c: count(Obligation, Obligation.agreement_id == c["lacking"]), arrange_lacking
    ),
    "PATCH api_v1.update_obligation_api": Outcome(column(Obligation, "notes", "obligation")),
    "POST api_v1.record_event_api": Outcome(events_with("Lost phone ({role})")),
    "PUT api_v1.correct_awareness_api": Outcome(column(TriggerEvent, "aware_at", "event")),
    "PUT api_v1.mark_not_applicable_api": Outcome(column(Obligation, "na_reason", "na_set")),
    "DELETE api_v1.clear_not_applicable_api": Outcome(
        column(Obligation, "na_reason", "na_cleared"), arrange_not_applicable
    ),
    "POST api_v1.withdraw_evidence_api": Outcome(column(Evidence, "state", "withdrawn"), arrange_withdrawn),
    "POST api_v1.review_record_api": Outcome(evidence_with("API review by {role}")),
    "POST api_v1.request_record_copy_api": Outcome(events_with("API copy ({role})")),
    "POST api_v1.request_documents_api": Outcome(events_with("API docs ({role})")),
    "POST api_v1.retry_failed_notices_api": Outcome(failed_deliveries, arrange_failed_delivery),
    "POST api_v1.retry_notice_delivery_api": Outcome(
        column(NoticeDelivery, "state", "failed_delivery"), arrange_failed_delivery
    ),
    "POST api_v1.revoke_token_api": Outcome(column(ApiToken, "revoked_at", "revoked_token"), arrange_token),
    "POST api_v1.create_agent_api": Outcome(lambda c: count(Agent, Agent.name == f"API agent of {c.role}")),
    "POST api_v1.import_agents_api": Outcome(courses("API import by {role}")),
    "POST api_v1.assign_agent_api": Outcome(assignments, arrange_agent),
    "POST api_v1.add_attestation_api": Outcome(courses("API course by {role}")),
    "POST api_v1.agent_mission_api": Outcome(column(Agent, "mission_ends_on", "agent_of_role"), arrange_agent),
    "POST api_v1.withdraw_attestation_api": Outcome(
        column(AgentAttestation, "withdrawn_at", "attestation_of_role"), arrange_attestation
    ),
    "POST api_v1.add_comment_api": Outcome(comments_with("API comment by {role}")),
    "POST api_v1.record_transfer_consent_api": Outcome(
        lambda c: count(TransferConsent, TransferConsent.given_by == f"API CEO ({c.role})")
    ),
    "POST api_v1.record_law_transfer_api": Outcome(
        lambda c: count(LawTransfer, LawTransfer.authority == f"API court ({c.role})")
    ),
    "POST api_v1.notify_law_transfer_api": Outcome(
        lambda c: count(RequestNotice, RequestNotice.law_transfer_id == c["law_transfer_of_role"]), arrange_law_transfer
    ),
    "POST api_v1.withdraw_transfer_consent_api": Outcome(
        column(TransferConsent, "withdrawn_at", "consent_of_role"), arrange_consent
    ),
    "POST api_v1.record_disclosure_authorisation_api": Outcome(
        lambda c: count(DisclosureAuthorisation, DisclosureAuthorisation.recipient == f"API tax office ({c.role})")
    ),
    "POST api_v1.withdraw_disclosure_authorisation_api": Outcome(
        column(DisclosureAuthorisation, "withdrawn_at", "disclosure_of_role"), arrange_disclosure
    ),
    "POST api_v1.retry_breach_notice_api": Outcome(
        column(BreachNotice, "state", "failed_breach_notice"), arrange_failed_breach_notice
    ),
    "POST api_v1.record_breach_api": Outcome(lambda c: count(Breach, Breach.title == f"API breach by {c.role}")),
    "POST api_v1.add_breach_agreement_api": Outcome(breach_agreements, arrange_spare_agreement),
    "POST api_v1.notify_breach_api": Outcome(breach_notices),
    "POST api_v1.add_breach_action_api": Outcome(
        lambda c: count(BreachAction, BreachAction.description == f"API action by {c.role}")
    ),
    "POST api_v1.log_request_api": Outcome(
        lambda c: count(DataSubjectRequest, DataSubjectRequest.subject_reference == f"API request by {c.role}")
    ),
    "POST api_v1.forward_request_api": Outcome(
        lambda c: count(RequestNotice, RequestNotice.request_id == c["dsr_of_role"]), arrange_request
    ),
    "POST api_v1.answer_request_api": Outcome(
        lambda c: (count(DataSubjectRequest), count(RequestNotice), count(TriggerEvent))
    ),
    "POST api_v1.add_help_request_api": Outcome(lambda c: count(HelpRequest, HelpRequest.request_id == c["dsr"])),
    "POST api_v1.record_instruction_api": Outcome(
        lambda c: count(Instruction, Instruction.content == f"API by {c.role}")
    ),
    "POST api_v1.flag_instruction_api": Outcome(
        lambda c: count(InstructionFlag, InstructionFlag.instruction_id == c["instruction_of_role"]),
        arrange_instruction,
    ),
    "POST api_v1.create_user_api": Outcome(lambda c: count(User, User.email == f"api-{c.role}@example.com")),
    "PATCH api_v1.update_user_api": Outcome(column(User, "name", "spare_user")),
    "POST api_v1.create_feed_api": Outcome(role_feeds),
    "POST api_v1.revoke_feed_api": Outcome(lambda c: role_feeds(c, CalendarFeed.revoked_at.is_not(None)), arrange_feed),
    "POST api_v1.reset_password_api": Outcome(column(User, "password_hash", "spare_user")),
    "PUT api_v1.save_processor_api": Outcome(
        lambda c: tuple(db.session.scalars(select(ProcessorProfile.contact_email)))
    ),
    "POST api_v1.change_own_password_api": Outcome(password_hashes, arrange_own_password),
    "POST api_v1.create_activity_api": Outcome(
        lambda c: count(ProcessingActivity, ProcessingActivity.name == f"API backups by {c.role}")
    ),
    "PATCH api_v1.update_activity_api": Outcome(column(ProcessingActivity, "purposes", "activity")),
    "POST api_v1.add_transfer_api": Outcome(lambda c: count(Transfer, Transfer.recipient == f"API desk of {c.role}")),
    "POST api_v1.add_transfer_document_api": Outcome(
        lambda c: documents(c, "API SCC ({role})", transfer_id=c["transfer"], kind=DocumentKind.SAFEGUARDS)
    ),
    "POST api_v1.create_measure_api": Outcome(
        lambda c: count(SecurityMeasure, SecurityMeasure.title == f"API pen test by {c.role}")
    ),
    "POST api_v1.add_measure_document_api": Outcome(
        lambda c: documents(c, "API policy ({role})", measure_id=c["measure"])
    ),
    "POST api_v1.create_subprocessor_api": Outcome(
        lambda c: count(SubProcessor, SubProcessor.legal_name == f"API sub of {c.role}")
    ),
    "POST api_v1.authorise_subprocessor_api": Outcome(
        lambda c: count(
            Authorisation, Authorisation.subprocessor_id == c["fresh"], Authorisation.agreement_id == c["agreement"]
        ),
        arrange_subprocessor,
    ),
    "POST api_v1.add_subprocessor_document_api": Outcome(
        lambda c: documents(c, "API guarantee ({role})", subprocessor_id=c["subprocessor"])
    ),
    "POST api_v1.propose_notice_api": Outcome(
        lambda c: count(ChangeNotice, ChangeNotice.reason == f"API notice ({c.role})")
    ),
}


@pytest.fixture(scope="module")
def world(database_url, _schema, tmp_path_factory):
    with emptied_app(database_url, tmp_path_factory.mktemp("perm")) as app:
        with app.app_context():
            ids, tokens = _build_world()
        yield app, ids, tokens, {}


def _build_world() -> tuple[dict[str, int], dict[str, str]]:
    own, other = make_client("Acme Hosting"), make_client("Globex Corp")
    staff = make_user(Role.COMPLIANCE, "compliance@example.com")
    users = {
        "admin": make_user(Role.ADMIN, "admin@example.com"),
        "compliance": staff,
        "client_own": make_user(Role.CLIENT, "client_own@example.com", client=own),
        "client_other": make_user(Role.CLIENT, "client_other@example.com", client=other),
        "auditor_assigned": make_user(Role.AUDITOR, "auditor_assigned@example.com", audits=[own]),
        "auditor_other": make_user(Role.AUDITOR, "auditor_other@example.com", audits=[other]),
    }
    agreement = make_agreement(own, staff, signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1))
    ending = make_agreement(own, staff, signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1))
    clause = {o.clause_number: o for o in agreement.obligations}
    obligation = clause["8.1"]
    evidence = add_evidence(
        staff,
        obligation,
        EvidenceInput(note="Breach procedure"),
        Upload(io.BytesIO(b"Breach procedure v1\n"), "procedure.txt"),
    )
    event = record_event(staff, obligation, occurred_at=datetime(2026, 2, 1, 10, tzinfo=UTC), summary="Lost laptop")
    token, _ = create_token(None, staff, "ci")
    measure = create_measure(
        staff,
        MeasureInput(
            heading="a_pseudonymisation_encryption", title="Disk encryption", description="LUKS on every server"
        ),
    )
    measure_document = add_document(
        staff, measure, DocumentKind.MEASURE, Upload(io.BytesIO(b"Encryption policy\n"), "encryption.txt")
    )
    sub = create_subprocessor(staff, SubProcessorInput(legal_name="Backup GmbH", country="DE", service="Backup"))
    spare = create_subprocessor(staff, SubProcessorInput(legal_name="Relay SAS", country="FR", service="E-mail"))
    authorise(staff, agreement, sub, date(2026, 1, 15))
    activity = create_activity(
        staff,
        own,
        ActivityInput(
            name="Web hosting", purposes="Host the shop", measure_ids=[measure.id], subprocessor_ids=[sub.id]
        ),
    )
    transfer = add_transfer(
        staff,
        activity,
        TransferInput(destination="TN", recipient="Support desk", mechanism="standard_contractual_clauses"),
    )
    transfer_document = add_document(
        staff, transfer, DocumentKind.SAFEGUARDS, Upload(io.BytesIO(b"Signed SCC\n"), "scc.txt")
    )
    pages_notice = propose_change(staff, ChangeKind.ADD, spare, [agreement], "Faster e-mail")
    api_notice = propose_change(staff, ChangeKind.ADD, spare, [agreement], "Faster e-mail (API)")
    hand_out(staff, own, today(), "json")
    hand_out(staff, own, today(), "csv")
    agent = create_agent(staff, AgentInput(name="World Agent", function="Support", email="agent@world.example"))
    assign_agent(staff, agent, agreement, "Tickets", date(2026, 1, 1))
    attestation = add_attestation(
        staff,
        agent,
        AttestationInput("commitment", date(2026, 1, 1)),
        Upload(io.BytesIO(b"Signed commitment\n"), "commitment.txt"),
    )
    breach = record_breach(
        staff,
        BreachInput(
            title="Lost backup tape",
            occurred_at=datetime(2026, 2, 1, 8, tzinfo=UTC),
            detected_at=datetime(2026, 2, 1, 9, tzinfo=UTC),
            aware_at=datetime(2026, 2, 1, 10, tzinfo=UTC),
            natures=["confidentiality"],
            description="A backup tape was lost in transit",
            contact_point="DPO",
            source_subprocessor_id=sub.id,
        ),
        [agreement],
        Upload(io.BytesIO(b"Backup GmbH: we lost tape 17\n"), "backup-gmbh-notice.txt"),
    )
    queue_notice(staff, breach, breach.affected[0], NoticePhase.INITIAL)
    done_action = add_action(staff, breach, ActionInput(kind="containment", description="Tape wiped", owner="Ops"))
    mark_action_done(
        staff, done_action, date(2026, 2, 2), "Wipe log", Upload(io.BytesIO(b"Wipe log\n"), "wipe-log.txt")
    )
    dsr = log_request(
        staff, agreement, RequestInput(datetime(2026, 2, 2, 9, tzinfo=UTC), "email", "erasure", "customer 17")
    )
    queue_forward(staff, dsr)
    instruction = record_instruction(staff, agreement, InstructionInput(date(2026, 2, 2), "email", "Keep 5 years"))
    consent = record_consent(
        staff,
        own,
        ConsentInput(date(2026, 1, 10), "H. Mansouri, CEO", ["TN"]),
        Upload(io.BytesIO(b"Signed consent\n"), "consent.txt"),
    )
    disclosure = record_disclosure(
        staff,
        own,
        DisclosureInput("Tax office", "Yearly tax audit", date(2026, 1, 10)),
        Upload(io.BytesIO(b"Signed authorisation\n"), "authorisation.txt"),
    )
    # Clause 13: an agreement ended with every task done and its certificate issued, another still open.
    deleted = make_agreement(own, staff, signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1))
    authorise(staff, deleted, sub, date(2026, 1, 15))
    finished = end_with_workflow(staff, deleted, EndInput(today() - timedelta(days=3)))
    for task in finished.tasks:
        proof = Upload(io.BytesIO(b"Deleted: every copy\n"), "deletion-proof.txt") if task.proof_required else None
        complete_task(staff, task, CompletionInput(today() - timedelta(days=1), "Ops"), proof)
    issue_certificate(staff, finished)
    deleting = make_agreement(own, staff, signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1))
    open_workflow = end_with_workflow(
        staff,
        deleting,
        EndInput(today() - timedelta(days=1), exceptions=[ExceptionInput("Logs", "Law", date(2030, 1, 1))]),
    )
    inspection = record_inspection(staff, agreement, InspectionInput("audit", date(2026, 2, 2), "Amina", "", "Hosting"))
    engagement = save_engagement(
        staff,
        inspection,
        EngagementInput(auditor_organisation="World Audit", planned_on=date(2026, 2, 3)),
        Upload(io.BytesIO(b"Independence and confidentiality\n"), "independence.txt"),
    )
    finding = add_finding(staff, engagement, FindingInput("8.1", "high", "World finding", date(2026, 3, 1)))
    remediation = add_remediation(staff, finding, RemediationInput("World action", staff.id, date(2026, 3, 1)))
    certification = add_certification(
        staff,
        CertificationInput("iso27001", "World ISO 27001", "Cert Body", date(2025, 6, 1)),
        Upload(io.BytesIO(b"ISO 27001 certificate\n"), "iso.txt"),
    )
    law_transfer = record_law_transfer(
        staff,
        agreement,
        LawTransferInput(
            datetime(2026, 2, 3, 9, tzinfo=UTC),
            "Tribunal of Algiers",
            "Code of criminal procedure, art. 47",
            "Interpol",
            data_concerned="Login history",
        ),
        Upload(io.BytesIO(b"Court order\n"), "order.txt"),
    )
    db.session.commit()
    ids = {
        "inspection": inspection.id,
        "declaration": engagement.declaration_sha256,  # type: ignore[dict-item]
        "finding": finding.id,
        "finding_of_role": finding.id,
        "action_of_role": remediation.id,
        "certification": certification.id,
        "unshared_certification": add_certification(
            staff,
            CertificationInput("pentest", "World pen test", "Pentest Ltd", date(2025, 9, 1)),
            Upload(io.BytesIO(b"Pen test report\n"), "pentest.txt"),
        ).id,
        "cert_request_of_role": inspection.id,
        "client": own.id,
        "deleted": deleted.id,
        "deleting": deleting.id,
        "proof_task": next(t.id for t in finished.tasks if t.proof_required),
        "task_of_role": open_workflow.tasks[0].id,
        "certifiable": deleting.id,
        "agreement": agreement.id,
        "obligation": obligation.id,
        "na_toggle": clause["9.1"].id,
        "na_set": clause["10(2)"].id,
        "event": event.id,
        "evidence": evidence.id,
        "user": staff.id,
        "token": token.id,
        "activity": activity.id,
        "spare_user": make_user(Role.AUDITOR, "spare@example.com").id,
        "transfer": transfer.id,
        "measure": measure.id,
        "measure_document": measure_document.id,
        "transfer_document": transfer_document.id,
        "subprocessor": sub.id,
        "spare": spare.id,
        "recipient": pages_notice.recipients[0].id,
        "api_recipient": api_notice.recipients[0].id,
        "delivery": pages_notice.recipients[0].deliveries[0].id,
        # what an ``arrange`` replaces by an object of the test's own (these only name a route's endpoint)
        "ending": ending.id,
        "lacking": ending.id,
        "withdrawn": evidence.id,
        "revoked_token": token.id,
        "failed_delivery": pages_notice.recipients[0].deliveries[0].id,
        "na_cleared": obligation.id,
        "fresh": sub.id,
        "agent": agent.id,
        "breach": breach.id,
        "dsr": dsr.id,
        "dsr_of_role": dsr.id,
        "instruction": instruction.id,
        "instruction_of_role": instruction.id,
        "spare_agreement": agreement.id,
        "agent_of_role": agent.id,
        "attestation": attestation.id,
        "attestation_of_role": attestation.id,
        "failed_breach_notice": breach.notices[0].id,
        "consent": consent.id,
        "consent_of_role": consent.id,
        "disclosure": disclosure.id,
        "disclosure_of_role": disclosure.id,
        "law_transfer": law_transfer.id,
        "done_action": done_action.id,
        "breach_action_of_role": done_action.id,
        "law_transfer_of_role": law_transfer.id,
        "notice_sub": create_subprocessor(
            staff, SubProcessorInput(legal_name="Proposed GmbH", country="DE", service="Monitoring")
        ).id,
    }
    tokens = {role: create_token(None, user, "matrix")[1] for role, user in users.items()}
    db.session.commit()
    return ids, tokens


def _fill(value: object, values: dict[str, object], *, json: bool = False) -> object:
    """Put the world's ids into a form or JSON body; in JSON a lone ``{client}`` stays an integer."""
    if isinstance(value, list):
        return [_fill(v, values, json=json) for v in value]
    if isinstance(value, UploadFile):
        return (io.BytesIO(value.content.decode().format(**values).encode()), value.name)
    if not isinstance(value, str):
        return value
    if json and value.startswith("{") and value.endswith("}") and isinstance(values.get(value[1:-1]), int):
        return values[value[1:-1]]
    return value.format(**values)


def _case(world, role: str, method: str, url: str) -> tuple[Case, Outcome | None]:
    """The cell's values, after its outcome's ``arrange`` ran; the outcome (None for a read)."""
    app, ids, _, _ = world
    values = {**ids, "role": role, "n": 10 + ROLES.index(role), "today": today().isoformat()}
    case = Case(role, values)
    if method == "GET":
        return case, None
    endpoint = _endpoint(app, method, url, ids)
    outcome = OUTCOMES.get(f"{method} {endpoint}")
    if outcome is None:
        pytest.fail(f"{method} {endpoint} has no outcome check: add one to OUTCOMES in tests/test_permissions.py")
    if outcome.arrange:
        with app.app_context():
            values.update(outcome.arrange(case))
    return case, outcome


def _endpoint(app, method: str, url: str, ids: dict[str, object]) -> str:
    path = url.format(**ids, role="x", n=10, today="x").split("?")[0]
    endpoint, _ = app.url_map.bind("localhost").match(path, method=method)
    return endpoint


def _observe(app, case: Case, outcome: Outcome | None) -> tuple[object, int]:
    """What the write would change, and how many audit events exist."""
    with app.app_context():
        return (outcome.probe(case) if outcome else None), count(AuditEvent)


def _check_outcome(before: tuple[object, int], after: tuple[object, int], allowed: bool, label: str) -> None:
    (fact_before, audits_before), (fact_after, audits_after) = before, after
    if allowed:
        assert fact_after != fact_before, f"{label}: allowed, but the change is not in the database ({fact_after!r})"
        assert audits_after > audits_before, f"{label}: changed without an audit event"
    else:
        assert fact_after == fact_before, f"{label}: refused, yet it changed {fact_before!r} -> {fact_after!r}"
        assert audits_after == audits_before, f"{label}: refused, yet an audit event was written"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "kind", "data"), ROUTES, ids=[f"{m} {u}" for m, u, _, _ in ROUTES])
def test_access_matrix(world, role, method, url, kind, data):
    app, _, _, sessions = world
    if role not in sessions:  # one sign-in per role for the whole matrix
        http = app.test_client()
        auth = AuthActions(http)
        if role == "anonymous":
            auth.csrf = auth.csrf_from(http.get("/login").get_data(as_text=True))
        else:
            assert auth.login(f"{role}@example.com").status_code == 302
        sessions[role] = (http, auth)
    http, auth = sessions[role]
    case, outcome = _case(world, role, method, url)
    values = case.values
    target = url.format(**values)
    before = _observe(app, case, outcome)
    if method == "GET":
        with http.get(target) as response:
            status, location = response.status_code, response.headers.get("Location", "")
    else:
        form = {key.format(**values): _fill(value, values) for key, value in (data or {}).items()}
        response = auth.post(target, form, prefix=form_prefix(form))
        status, location = response.status_code, response.headers.get("Location", "")
    result = expected(role, kind)
    if result == "login":
        assert status == 302 and "/login" in location, (status, location)
    elif result == "ok":
        if method == "GET":
            assert status == 200, status
        else:  # 303 where a POST sends the browser on to a GET (a handed-out copy's download)
            assert status in (302, 303) and "/login" not in location, (status, location)
    else:
        assert status == int(result), status
    if outcome:
        _check_outcome(before, _observe(app, case, outcome), result == "ok", f"{method} {target} as {role}")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "kind", "data"), API_ROUTES, ids=[f"{m} {u}" for m, u, _, _ in API_ROUTES])
def test_api_access_matrix(world, role, method, url, kind, data):
    app, _, tokens, _ = world
    case, outcome = _case(world, role, method, url)
    values = case.values
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {tokens[role]}"}
    http = app.test_client()
    target = url.format(**values)
    before = _observe(app, case, outcome)
    if method == "GET":
        with http.get(target, headers=headers) as response:
            response.get_data()
    elif url.endswith(MULTIPART):  # multipart, like a real upload
        response = http.post(target, headers=headers, data={k: _fill(v, values) for k, v in data.items()})
    else:
        response = http.open(
            target, method=method, headers=headers, json={k: _fill(v, values, json=True) for k, v in data.items()}
        )
    result = expected(role, kind)
    if result == "login":
        assert response.status_code == 401, response.status_code
        assert response.mimetype == "application/problem+json"
    elif result == "ok":
        created = method == "POST" and not url.endswith(API_POST_CHANGES)
        assert response.status_code == (201 if created else 200), response.get_data(as_text=True)[:300]
    else:
        assert response.status_code == int(result), response.get_data(as_text=True)[:300]
        assert response.mimetype == "application/problem+json"
    if outcome:
        _check_outcome(before, _observe(app, case, outcome), result == "ok", f"{method} {target} as {role}")


def _write_routes(app) -> list[tuple[str, str, str]]:
    return [
        (method, rule.endpoint, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC
        for method in sorted(rule.methods - {"HEAD", "OPTIONS", "GET"})
    ]


def test_the_matrices_cover_every_route(world):
    """A new route cannot slip in without being added to a matrix above."""
    app, ids, _, _ = world
    covered = {(_endpoint(app, method, url, ids), method) for method, url, _, _ in ROUTES + API_ROUTES}
    missing = [
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        if (rule.endpoint, method) not in covered
    ]
    assert missing == []


def test_every_write_route_has_an_outcome_check(world):
    """A route that changes state cannot be in the matrix without saying how its effect is seen."""
    app = world[0]
    missing = [f"{method} {endpoint} ({rule})" for method, endpoint, rule in _write_routes(app)]
    missing = [name for name in missing if " ".join(name.split()[:2]) not in OUTCOMES]
    assert missing == []
    stale = set(OUTCOMES) - {f"{method} {endpoint}" for method, endpoint, _ in _write_routes(app)}
    assert stale == set()  # an outcome for a route that no longer exists


def form_prefix(form: dict[str, object]) -> str:
    """The prefix of a prefixed form (``evidence-note`` -> ``evidence``), for its CSRF field name."""
    keys = list(form)
    if not keys or "-" not in keys[0]:
        return ""
    return keys[0].rsplit("-", 1)[0]
