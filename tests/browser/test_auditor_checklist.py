"""The auditor's checklist in Chromium (issue 13, acceptance 6, first half): an auditor signs in, opens the
checklist of the client it audits, comments on a clause and downloads the evidence bundle."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import Role
from tests.browser.test_flows import sign_in
from tests.factories import make_agreement, make_client, make_user

pytestmark = pytest.mark.browser


def test_auditor_opens_the_checklist_and_downloads_the_bundle(
    live_app: Flask, live_server: str, page: Page, tmp_path: Path, artifacts: Path
) -> None:
    with live_app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        acme = make_client("Acme Hosting")
        agreement = make_agreement(
            acme, staff, reference="DPA-ACME", signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1)
        )
        obligation = next(o for o in agreement.obligations if o.clause_number == "3.1(1)")
        evidence = add_evidence(
            staff,
            obligation,
            EvidenceInput(note="Instruction procedure"),
            Upload(io.BytesIO(b"Instruction procedure v1\n"), "procedure.txt"),
        )
        make_user(Role.AUDITOR, "auditor@audit.example", audits=[acme])
        db.session.commit()
        client_id, sha = acme.id, evidence.sha256

    sign_in(page, live_server, "auditor@audit.example")
    page.goto(f"{live_server}/clients/{client_id}")
    page.get_by_role("link", name="DPA-ACME").first.click()
    page.get_by_role("link", name="Auditor's checklist").click()
    expect(page.locator("h1")).to_contain_text("Auditor's checklist")
    row = page.locator("tr", has_text="procedure.txt")
    expect(row).to_contain_text(sha)
    row.locator("summary", has_text="Comment").click()
    row.get_by_label("Comment on clause 3.1(1)").fill("Please show the signed version.")
    row.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("status")).to_contain_text("Comment kept")
    expect(page.locator("tr", has_text="procedure.txt")).to_contain_text("Please show the signed version.")
    page.screenshot(path=str(artifacts / "auditor-checklist.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Evidence bundle (ZIP)").click()
    saved = tmp_path / "bundle.zip"
    download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.testzip() is None
    assert sha in {f["sha256"] for f in manifest["files"]}
    assert any("Please show the signed version." in json.dumps(a) for a in manifest["checklist"]["agreements"])
