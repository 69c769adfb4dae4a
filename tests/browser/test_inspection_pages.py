"""Clause 11 in Chromium: an open finding past its due date shows on the agreement page as overdue; a client asks
for a certification in the portal, staff share it, the client downloads it. Screenshots of the pages at 1366 and
390 wide go to test-artifacts/inspection-*.png."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser

from dpa_tracker.evidence.services import Upload
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
from dpa_tracker.models import Role
from tests.factories import make_agreement, make_client, make_user
from tests.support import PASSWORD

pytestmark = pytest.mark.browser
SIZES = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}


def _seed(app: Flask) -> dict[str, int]:
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "compliance@processor.example")
        client = make_client("Alpha Foods SARL")
        make_user(Role.CLIENT, "dpo@alpha.example", client=client)
        agreement = make_agreement(client, staff, reference="DPA-2026-001")
        today = date.today()
        audit = record_inspection(
            staff,
            agreement,
            InspectionInput("audit", today - timedelta(days=40), "Amina Khelifi, DPO", "dpo@alpha.example", "Hosting"),
        )
        engagement = save_engagement(
            staff,
            audit,
            EngagementInput(
                auditor_organisation="Independent Audit & Associés",
                auditor_people="J. Martin (lead), S. Haddad",
                planned_on=today - timedelta(days=30),
                starts_on=today - timedelta(days=30),
                scope="Hosting platform and backups",
                continuity_conditions="Two days on site; no access to other clients' data",
                cost_amount="4500",
                cost_currency="EUR",
            ),
            Upload(io.BytesIO(b"Declaration of independence\n"), "independence-declaration.txt"),
        )
        finding = add_finding(
            staff, engagement, FindingInput("7.1", "high", "No restore test of the backups", today - timedelta(days=2))
        )
        add_remediation(staff, finding, RemediationInput("Run a restore test", staff.id, today - timedelta(days=2)))
        certification = add_certification(
            staff,
            CertificationInput("iso27001", "ISO/IEC 27001:2022 certificate", "Cert Body SA", date(2025, 6, 1)),
            Upload(io.BytesIO(b"ISO certificate\n"), "iso27001.txt"),
        )
        db.session.commit()
        return {"agreement": agreement.id, "audit": audit.id, "certification": certification.id}


def _shoot(page, artifacts: Path, name: str) -> None:
    for width, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(artifacts / f"inspection-{name}-{width}.png"), full_page=True)
    page.set_viewport_size(SIZES["1366"])


def test_overdue_finding_and_a_certification_requested_shared_and_downloaded(
    live_app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    ids = _seed(live_app)
    staff = browser.new_context(viewport=SIZES["1366"], accept_downloads=True)
    page = staff.new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "compliance@processor.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/agreements/{ids['agreement']}")
    row = page.locator('tr[data-clause="7.1"]')
    assert "overdue" in row.inner_text() and "audit finding" in row.inner_text()
    page.goto(f"{live_server}/inspections/{ids['audit']}")
    assert "Independent Audit" in page.inner_text("#engagement")
    assert "Art. 28(3)(h)" in page.inner_text("#tension")
    _shoot(page, artifacts, "audit")
    page.goto(f"{live_server}/inspections")
    _shoot(page, artifacts, "list")

    client = browser.new_context(viewport=SIZES["1366"], accept_downloads=True)
    portal = client.new_page()
    portal.goto(f"{live_server}/login")
    portal.fill("input[name=email]", "dpo@alpha.example")
    portal.fill("input[name=password]", PASSWORD)
    portal.click("button[type=submit]")
    portal.goto(f"{live_server}/certifications")
    _shoot(portal, artifacts, "certifications-client")
    portal.click("text=Request it")
    assert "Requested" in portal.inner_text("body")

    page.goto(f"{live_server}/inspections")
    page.locator("#inspections tr", has_text="Certification or report").locator("a").first.click()
    page.click("text=Share the certification")
    assert "Certification shared" in page.inner_text("body")
    _shoot(page, artifacts, "documents-request")
    page.goto(f"{live_server}/certifications")
    _shoot(page, artifacts, "certifications-staff")

    portal.goto(f"{live_server}/certifications")
    with portal.expect_download() as download:
        portal.click("text=iso27001.txt")
    assert Path(download.value.path()).read_bytes() == b"ISO certificate\n"
    staff.close()
    client.close()
