"""Issue 11, acceptance 1: every page, for every role, on a laptop and on a phone.

Each role signs in and visits every GET page of ``app.url_map`` (ids from factory-built data) at
1366 x 900 and 390 x 844, and the test asserts what a user would meet: nothing wider than the
screen (``scrollWidth <= innerWidth``), no console error or page error, and no axe-core violation
of impact "serious" or "critical". A GET route that is neither visited nor listed in ``NOT_PAGES``
with its reason fails the test by name, so a new page is checked without being listed here.

axe-core comes from the npm registry (tests/browser/package-lock.json, installed by ``make axe``);
a missing file is an error, never a skip. It is loaded as a Playwright init script, so the app's CSP
stays in force while the pages are checked. Screenshots of each role's dashboard at both sizes are
saved in test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page

from dpa_tracker.agent.services import AgentInput, AttestationInput, add_attestation, create_agent
from dpa_tracker.agent.services import assign as assign_agent
from dpa_tracker.breach.services import BreachInput, record_breach
from dpa_tracker.checklist.services import add_comment
from dpa_tracker.deletion.services import CompletionInput, EndInput, ExceptionInput, complete_task, end_with_workflow
from dpa_tracker.dsr.notices import queue_flag_notice, queue_forward
from dpa_tracker.dsr.services import (
    InstructionInput,
    RequestInput,
    add_help_request,
    flag_unlawful,
    log_request,
    record_instruction,
)
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
    save_engagement,
)
from dpa_tracker.models import ChangeKind, DocumentKind, Role
from dpa_tracker.obligation.events import record_event
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
from dpa_tracker.subprocessor.notices import propose_change
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor
from dpa_tracker.transfer.lawful import LawTransferInput, record_law_transfer
from tests.factories import make_agreement, make_client, make_user
from tests.support import PASSWORD

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
ROLES = ("admin", "compliance", "auditor", "client")

# GET routes that are not HTML pages, each with its reason. Everything else must be visited.
NOT_PAGES = {
    "static": "stylesheet, script and icon files, not pages",
    "agreement.status_pdf": "a PDF download (its link carries the busy state, checked on the agreement page)",
    "record.download_version": "a PDF/JSON/CSV download of a handed-out record version",
    "subprocessor.client_list_download": "a PDF/CSV/JSON download of the sub-processor list",
    "record.document_download": "a file download (safeguards or measure document)",
    "evidence.download": "a file download (evidence)",
    "agent.document": "a file download (an agent's designation, commitment or training document)",
    "breach.source_notice": "a file download (the sub-processor's own breach notice)",
    "breach.register_csv": "a CSV download of the breach register",
    "breach.register_pdf": "a PDF download of the breach register",
    "agent.export": "a CSV/PDF download of the agent register",
    "checklist.agreement_pdf": "a PDF download of the checklist (linked from the checklist page)",
    "checklist.client_pdf": "a PDF download of the checklist (linked from the checklist page)",
    "checklist.agreement_bundle": "a ZIP download (tests/browser/test_auditor_checklist.py downloads it)",
    "checklist.client_bundle": "a ZIP download of the evidence bundle (same code as the agreement's)",
    "transfer.consent_document": "a file download (a client's signed consent, clause 10(2))",
    "transfer.disclosure_document": "a file download (a client's written authorisation, clause 10(1))",
    "deletion.certificate_pdf": "a PDF download (tests/browser/test_deletion_certificate.py downloads it)",
    "deletion.proof": "a file download (a deletion task's proof, e.g. a sub-processor's confirmation)",
    "inspection.file": "a file download (an audit's declaration, closing report or evidence of closure)",
    "inspection.certification_file": "a file download (a certification or third-party report)",
    "calendar.feed": "an iCalendar file (text/calendar) for calendar apps; tests/test_deadlines.py checks it",
    "transfer.law_transfer_proof": "a file download (the proof of a transfer required by law, clause 10(2)(b))",
    "breach.action_evidence": "a file download (the document showing a clause 8.1(2) action done)",
}
NOT_PAGE_PREFIXES = {
    "api_v1.": "the JSON API: machine answers, no HTML",
    "api-docs.": "the OpenAPI description (JSON)",
}
# Query strings some pages need to show their content rather than a form error.
QUERIES = {"record.diff": "?from=1&to=2"}
# Pages that need another object than the seed's usual one for a URL argument: {endpoint: {argument: ids key}}.
ARGUMENTS = {"deletion.workflow": {"agreement_id": "ended_agreement_id"}}


def seed(app: Flask) -> tuple[dict[str, int], dict[str, str]]:
    """One client with an agreement, evidence, an event, a record with two versions, a transfer, a
    sub-processor (authorised, with a guarantee) and a change notice; one user per role."""
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "compliance@processor.example")
        admin = make_user(Role.ADMIN, "admin@processor.example")
        client = make_client(
            "Acme Hosting SARL with a rather long legal name for a small screen",
            notice_emails=["notices-with-a-long-local-part@acme-hosting-and-cloud.example"],
        )
        agreement = make_agreement(client, staff, reference="DPA-ACME-2026-000000000001", title="Hosting DPA")
        auditor = make_user(Role.AUDITOR, "auditor@audit.example", audits=[client])
        client_user = make_user(Role.CLIENT, "dpo@acme.example", client=client)
        by_clause = {o.clause_number: o for o in agreement.obligations}
        breach = by_clause["8.1"]
        event = record_event(
            staff, breach, occurred_at=datetime.now(UTC) - timedelta(hours=2), summary="Laptop lost in a taxi"
        )
        add_evidence(
            staff,
            breach,
            EvidenceInput(
                note="Notified the client.", link="https://acme.example/" + "x" * 120, trigger_event_id=event.id
            ),
            Upload(io.BytesIO(b"notice sent\n"), "breach-notice-sent-to-the-client-2026.txt"),
        )
        measure = create_measure(
            staff, MeasureInput(heading="a_pseudonymisation_encryption", title="Disk encryption", description="LUKS")
        )
        sub = create_subprocessor(
            staff,
            SubProcessorInput(
                legal_name="Relay Mail SAS", country="FR", service="E-mail relay", contact_email="c@relay.example"
            ),
        )
        add_document(staff, sub, DocumentKind.GUARANTEE, Upload(io.BytesIO(b"ISO 27001\n"), "iso.txt"))
        spare = create_subprocessor(
            staff, SubProcessorInput(legal_name="Spare Hosting SAS", country="FR", service="Hosting")
        )
        authorise(staff, agreement, sub, date(2026, 1, 10))
        activity = create_activity(
            staff,
            client,
            ActivityInput(
                name="Hosting of the client's customer database",
                processing_categories=["hosting"],
                purposes="Hosting",
                measure_ids=[measure.id],
                subprocessor_ids=[sub.id],
            ),
        )
        add_transfer(
            staff,
            activity,
            TransferInput(destination="TN", recipient="Backup site", mechanism="standard_contractual_clauses"),
        )
        propose_change(staff, ChangeKind.ADD, spare, [agreement], "Second hosting site for resilience.")
        add_comment(auditor, breach, "Asked for the notice sent to the client and its delivery receipt.")
        hand_out(staff, client, date.today(), "pdf")
        hand_out(staff, client, date.today(), "json")
        agent = create_agent(
            staff,
            AgentInput(name="Samira Benali-Haddad", function="Support engineer", email="samira@processor.example"),
        )
        assign_agent(staff, agent, agreement, "Customer database, read-only", date(2026, 1, 10))
        add_attestation(
            staff,
            agent,
            AttestationInput("commitment", date(2026, 1, 10), note="Signed"),
            Upload(io.BytesIO(b"Signed commitment\n"), "commitment.txt"),
        )
        entry = record_breach(
            staff,
            BreachInput(
                title="Backup tape lost in transit between two data centres",
                occurred_at=datetime.now(UTC) - timedelta(hours=5),
                detected_at=datetime.now(UTC) - timedelta(hours=4),
                aware_at=datetime.now(UTC) - timedelta(hours=3),
                natures=["confidentiality"],
                description="A tape with the customer database backup was lost.",
                contact_point="dpo@processor.example",
            ),
            [agreement],
        )
        received = datetime.now(UTC) - timedelta(hours=3)
        dsr = log_request(staff, agreement, RequestInput(received, "web_form", "erasure", "customer 4711"))
        queue_forward(staff, dsr)
        add_help_request(staff, dsr, "3.1(6)", received + timedelta(hours=1))
        instruction = record_instruction(
            staff,
            agreement,
            InstructionInput(date.today(), "email", "Send the customer file to the US marketing partner weekly", True),
        )
        flag_unlawful(staff, instruction, "A transfer outside the EU without the client's safeguards")
        queue_flag_notice(staff, instruction)
        # Clause 13: a second agreement ended three days ago, one task done, the others open.
        ended = make_agreement(client, staff, reference="DPA-ACME-2025-ENDED", title="Former backup DPA")
        authorise(staff, ended, sub, date(2026, 1, 10))
        assign_agent(staff, agent, ended, "Backups", date(2026, 1, 10))
        workflow = end_with_workflow(
            staff,
            ended,
            EndInput(
                date.today() - timedelta(days=3),
                choice="return_then_delete",
                exceptions=[
                    ExceptionInput("Invoices naming the client's staff", "Commercial code", date(2036, 12, 31))
                ],
            ),
        )
        complete_task(staff, workflow.tasks[0], CompletionInput(date.today(), "Karim (operations)", "SFTP hand-over"))
        audit = record_inspection(
            staff,
            agreement,
            InspectionInput("audit", date(2026, 1, 12), "Amina Khelifi, DPO", "dpo@client.example", "Hosting security"),
        )
        engagement = save_engagement(
            staff,
            audit,
            EngagementInput(
                auditor_organisation="Independent Audit & Associés",
                auditor_people="J. Martin (lead), S. Haddad",
                planned_on=date(2026, 1, 20),
                starts_on=date(2026, 1, 20),
                scope="Hosting platform and backups",
                continuity_conditions="Two days on site; no access to other clients' data",
                cost_amount="4500",
                cost_currency="EUR",
            ),
            Upload(io.BytesIO(b"Declaration of independence\n"), "independence-declaration.txt"),
        )
        finding = add_finding(
            staff, engagement, FindingInput("7.1", "high", "No restore test of the backups this year", date(2026, 2, 1))
        )
        add_remediation(staff, finding, RemediationInput("Run and document a restore test", staff.id, date(2026, 2, 1)))
        add_certification(
            staff,
            CertificationInput("iso27001", "ISO/IEC 27001:2022 certificate", "Cert Body SA", date(2025, 6, 1)),
            Upload(io.BytesIO(b"ISO certificate\n"), "iso27001.txt"),
        )
        for forbidden in (False, True):  # the transfers page lists both kinds (clause 10(2)(b))
            record_law_transfer(
                staff,
                agreement,
                LawTransferInput(
                    received,
                    "Tribunal of Algiers",
                    "Code of criminal procedure, art. 47",
                    "Interpol",
                    "",
                    "Login history of one account",
                    notice_forbidden=forbidden,
                    forbidden_ground="Secrecy of the investigation, art. 11" if forbidden else "",
                ),
                Upload(io.BytesIO(b"Court order\n"), "order.txt"),
            )
        db.session.commit()
        ids = {
            "inspection_id": audit.id,
            "request_id": dsr.id,
            "instruction_id": instruction.id,
            "client_id": client.id,
            "agreement_id": agreement.id,
            "obligation_id": breach.id,
            "activity_id": activity.id,
            "subprocessor_id": sub.id,
            "user_id": client_user.id,
            "agent_id": agent.id,
            "breach_id": entry.id,
            "ended_agreement_id": ended.id,
        }
        emails = {
            "admin": admin.email,
            "compliance": staff.email,
            "auditor": auditor.email,
            "client": client_user.email,
        }
    return ids, emails


def page_urls(app: Flask, ids: dict[str, int]) -> tuple[dict[str, str], list[str]]:
    """endpoint -> URL for every GET page; and the routes neither built nor excluded (must be empty)."""
    urls: dict[str, str] = {}
    missing: list[str] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()):
            continue
        if rule.endpoint in NOT_PAGES or any(rule.endpoint.startswith(p) for p in NOT_PAGE_PREFIXES):
            continue
        if not set(rule.arguments) <= set(ids):
            missing.append(f"{rule.endpoint} ({rule.rule}): no value for {sorted(set(rule.arguments) - set(ids))}")
            continue
        keys = {name: ARGUMENTS.get(rule.endpoint, {}).get(name, name) for name in rule.arguments}
        url = rule.build({name: ids[keys[name]] for name in rule.arguments}, append_unknown=False)[1]
        urls[rule.endpoint] = url + QUERIES.get(rule.endpoint, "")
    return urls, missing


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"      at {', '.join(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


class Checker:
    """One signed-in context that loads pages and collects console and page errors."""

    def __init__(self, browser: Browser, base: str) -> None:
        # axe-core is added to every document by the browser itself (an init script, which the page's
        # CSP does not govern), so the context keeps the app's CSP in force: a page that breaks it
        # (inline script or style) logs a console error and fails this test. (add_script_tag would
        # insert an inline <script> that script-src 'self' blocks, and need bypass_csp.)
        self.context: BrowserContext = browser.new_context(viewport=SIZES["desktop"])
        self.context.add_init_script(path=str(AXE))
        self.context.set_default_timeout(15_000)
        self.page: Page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on(
            "console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def sign_in(self, email: str) -> None:
        self.page.goto(f"{self.base}/login")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        assert self.page.url == f"{self.base}/", f"sign-in as {email} failed: {self.page.url}"

    def check(self, label: str) -> list[str]:
        """Problems of the page as loaded, at both sizes."""
        problems = [f"{label}: {e}" for e in self.errors]
        self.errors.clear()
        assert self.page.evaluate("typeof axe === 'object' && typeof axe.run === 'function'"), f"{label}: no axe-core"
        for size_name, size in SIZES.items():
            self.page.set_viewport_size(size)
            widths = self.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if widths[0] > widths[1]:
                wide = self.page.evaluate(
                    """() => [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                        .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))"""
                )
                problems.append(f"{label} @{size_name}: scrollWidth {widths[0]} > innerWidth {widths[1]}: {wide}")
            result = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
            if bad:
                problems.append(f"{label} @{size_name}: axe-core violations\n{_describe(bad)}")
        self.page.set_viewport_size(SIZES["desktop"])
        return problems


@pytest.fixture
def checker(browser: Browser, live_server: str) -> Iterator[Checker]:
    if not AXE.is_file():
        pytest.fail(f"axe-core missing at {AXE}: run `make axe` (npm ci --prefix tests/browser)")
    c = Checker(browser, live_server)
    try:
        yield c
    finally:
        c.context.close()


def test_every_page_for_every_role_fits_a_phone_and_passes_axe(
    live_app: Flask, live_server: str, browser: Browser, checker: Checker, artifacts: Path
) -> None:
    ids, emails = seed(live_app)
    urls, missing = page_urls(live_app, ids)
    assert not missing, "GET routes neither visited nor excluded with a reason:\n" + "\n".join(missing)
    assert "dashboard.index" in urls and "obligation.detail" in urls  # the list is really read from url_map

    problems: list[str] = []
    visited: dict[str, list[str]] = {endpoint: [] for endpoint in urls}

    # Signed out: the sign-in page (every other page sends the visitor there).
    checker.page.goto(f"{live_server}{urls['auth.login']}")
    assert checker.page.get_by_role("heading", name="Sign in").is_visible()
    problems += checker.check("signed out /login")
    visited["auth.login"].append("anonymous")

    for role in ROLES:
        checker.context.clear_cookies()
        checker.sign_in(emails[role])
        for endpoint, url in sorted(urls.items()):
            if endpoint == "auth.login":
                continue
            checker.errors.clear()  # what the console says from here on belongs to this page
            response = checker.page.goto(f"{live_server}{url}")
            assert response is not None
            if response.status in (403, 404):
                checker.errors.clear()  # the browser logs the error status of a refused page
                continue
            assert response.status == 200, f"{role} {url}: HTTP {response.status}"
            assert checker.page.url.startswith(f"{live_server}{url.split('?')[0]}"), (
                f"{role} {url} went to {checker.page.url}"
            )
            visited[endpoint].append(role)
            problems += checker.check(f"{role} {url}")
            if endpoint == "dashboard.index":
                for size_name, size in SIZES.items():
                    checker.page.set_viewport_size(size)
                    checker.page.screenshot(path=str(artifacts / f"dashboard-{role}-{size_name}.png"), full_page=True)
                checker.page.set_viewport_size(SIZES["desktop"])

    never = [endpoint for endpoint, roles in visited.items() if not roles]
    assert not never, f"pages no role could open (ids or permissions wrong?): {never}"
    # Each role reached its own set; the client user sees its company but never the admin pages.
    assert "client" in visited["record.show"] and "client" not in visited["admin.users"]
    assert set(ROLES) <= set(visited["agreement.detail"])
    print(json.dumps(visited, indent=1))
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
    for role in ROLES:
        for size_name in SIZES:
            assert (artifacts / f"dashboard-{role}-{size_name}.png").stat().st_size > 0
