"""End-to-end flows in headless Chromium against the app served on a local port."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from dpa_tracker.extensions import db
from dpa_tracker.models import Client, Role
from dpa_tracker.obligation.services import today
from tests.factories import CLAUSE_COUNT, make_agreement, make_client, make_user
from tests.support import PASSWORD

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
FILE_LABEL = "File (PDF, image, office document, ZIP or text)"


@dataclass
class Seeded:
    client_id: int
    client_name: str
    agreement_id: int
    reference: str


def seed(app: Flask, name: str, reference: str) -> Seeded:
    """A client with one agreement effective today (so clause 7.1 is "open": due in 30 days)."""
    with app.app_context():
        client = make_client(name)
        agreement = make_agreement(client, reference=reference, signed_on=today(), effective_on=today())
        return Seeded(client.id, name, agreement.id, reference)


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_compliance_user_uploads_evidence_and_clause_becomes_met(live_app: Flask, live_server: str, page: Page) -> None:
    acme = seed(live_app, "Acme Hosting SARL", "DPA-ACME-1")
    with live_app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")

    sign_in(page, live_server, "karim@example.com")
    expect(page).to_have_url(f"{live_server}/")

    # From the client page to the agreement's checklist.
    page.goto(f"{live_server}/clients/{acme.client_id}")
    page.get_by_role("link", name=acme.reference).click()
    expect(page).to_have_url(f"{live_server}/agreements/{acme.agreement_id}")
    row = page.locator('tr[data-clause="7.1"]')
    expect(row.locator("td.status")).to_have_text("open")
    expect(page.locator("tr[data-clause]")).to_have_count(CLAUSE_COUNT)

    # The obligation page: upload a PDF with a note.
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Clause 7.1")
    expect(page.locator("#status .badge")).to_have_text("open")
    page.get_by_label(FILE_LABEL).set_input_files(
        {"name": "security-measures.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_label("Note", exact=True).fill("ISO 27001 statement of applicability, signed by the CISO.")
    page.get_by_role("button", name="Add evidence").click()

    expect(page).to_have_url(re.compile(r"/obligations/\d+$"))
    expect(page.locator("#status .badge")).to_have_text("met")
    expect(page.locator(".flash-success")).to_contain_text("Evidence #1 added")
    evidence = page.locator("li.evidence").first
    expect(evidence.get_by_role("link", name="security-measures.pdf")).to_be_visible()
    expect(evidence).to_contain_text("application/pdf")
    expect(evidence).to_contain_text(f"{len(PDF)} bytes")
    expect(evidence).to_contain_text("ISO 27001 statement of applicability")

    # Back on the agreement, through the breadcrumb.
    page.locator(".crumbs").get_by_role("link", name=acme.reference).click()
    expect(page).to_have_url(f"{live_server}/agreements/{acme.agreement_id}")
    expect(page.locator('tr[data-clause="7.1"] td.status')).to_have_text("met")
    expect(page.locator('tr[data-clause="7.2"] td.status')).to_have_text("open")

    # Sign out, then the agreement is behind the login page again.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(f"{live_server}/agreements/{acme.agreement_id}")
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/login\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_client_user_cannot_reach_another_clients_agreement(live_app: Flask, live_server: str, page: Page) -> None:
    mine = seed(live_app, "Alpha Retail SPA", "DPA-ALPHA-1")
    other = seed(live_app, "Beta Logistics EURL", "DPA-BETA-1")
    with live_app.app_context():
        make_user(Role.CLIENT, "amina@alpha.example", client=db.session.get(Client, mine.client_id))

    sign_in(page, live_server, "amina@alpha.example")

    response = page.goto(f"{live_server}/agreements/{other.agreement_id}")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_contain_text("Not Found")
    expect(page.locator("body")).not_to_contain_text(other.client_name)
    expect(page.locator("body")).not_to_contain_text(other.reference)

    response = page.goto(f"{live_server}/agreements/{mine.agreement_id}")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text(mine.reference)
    expect(page.locator('tr[data-clause="7.1"] td.status')).to_have_text("open")
    expect(page.get_by_role("heading", name="Manage")).to_have_count(0)  # read-only for clients

    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    expect(page.locator("main")).to_contain_text(mine.client_name)
    expect(page.locator("body")).not_to_contain_text(other.client_name)


def test_screenshots_of_agreement_and_obligation_pages(
    live_app: Flask, live_server: str, page: Page, artifacts: Path
) -> None:
    acme = seed(live_app, "Acme Hosting SARL", "DPA-ACME-1")
    with live_app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    sign_in(page, live_server, "karim@example.com")

    page.goto(f"{live_server}/agreements/{acme.agreement_id}")
    expect(page.locator('tr[data-clause="7.1"]')).to_be_visible()
    page.screenshot(path=str(artifacts / "agreement-desktop.png"), full_page=True)

    page.locator('tr[data-clause="7.1"]').get_by_role("link").click()
    expect(page.locator("#status")).to_be_visible()
    page.screenshot(path=str(artifacts / "obligation-desktop.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "obligation-phone.png"), full_page=True)
    no_sideways_scroll = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.goto(f"{live_server}/agreements/{acme.agreement_id}")
    expect(page.locator('tr[data-clause="7.1"]')).to_be_attached()
    page.screenshot(path=str(artifacts / "agreement-phone.png"), full_page=True)
    assert no_sideways_scroll, "the obligation page scrolls sideways on a 390 px wide phone"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
        "the agreement page scrolls sideways on a 390 px wide phone (tables should scroll in .table-wrap)"
    )
