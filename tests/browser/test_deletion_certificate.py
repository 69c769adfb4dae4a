"""The deletion certificate in Chromium (issue 13, acceptance 6, second half): a client signs in to its portal,
opens the end-of-contract workflow of its ended agreement and downloads the deletion certificate, whose bytes
are a PDF with the SHA-256 the page shows and the processor stored when it issued it."""

from __future__ import annotations

import hashlib
import io
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from dpa_tracker.deletion.services import (
    CompletionInput,
    EndInput,
    ExceptionInput,
    complete_task,
    end_with_workflow,
    issue_certificate,
)
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.models import Role
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor
from tests.browser.test_flows import sign_in
from tests.factories import make_agreement, make_client, make_user

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/i13-end-shots")


def test_client_downloads_its_deletion_certificate(
    live_app: Flask, live_server: str, page: Page, tmp_path: Path, artifacts: Path
) -> None:
    with live_app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        acme = make_client("Acme Hosting")
        agreement = make_agreement(
            acme, staff, reference="DPA-ACME", signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1)
        )
        sub = create_subprocessor(staff, SubProcessorInput(legal_name="Cloudy Backup", country="DE", service="Backup"))
        authorise(staff, agreement, sub, date(2026, 1, 10))
        workflow = end_with_workflow(
            staff,
            agreement,
            EndInput(
                date.today() - timedelta(days=4),
                exceptions=[ExceptionInput("Invoices", "Commercial code: 10 years", date(2036, 12, 31))],
            ),
        )
        for task in workflow.tasks:
            proof = Upload(io.BytesIO(b"%PDF-1.4 confirmation\n"), "cloudy.pdf") if task.proof_required else None
            complete_task(staff, task, CompletionInput(date.today() - timedelta(days=1), "Ops"), proof)
        stored = issue_certificate(staff, workflow).sha256
        make_user(Role.CLIENT, "dpo@acme.example", client=acme)
        db.session.commit()
        agreement_id = agreement.id

    sign_in(page, live_server, "dpo@acme.example")
    page.goto(f"{live_server}/agreements/{agreement_id}")
    page.get_by_role("link", name="Open the deletion workflow").click()
    expect(page.locator("h1")).to_contain_text("End of contract")
    shown = page.locator("[data-certificate-sha256] code").inner_text().strip()
    assert shown == stored
    expect(page.locator("body")).not_to_contain_text("Issue the deletion certificate")  # clients only read
    page.screenshot(path=str(artifacts / "deletion-workflow-client.png"), full_page=True)
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(artifacts / "deletion-workflow-client.png", SHOTS / "workflow-client.png")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the certificate (PDF)").click()
    saved = tmp_path / "certificate.pdf"
    download_info.value.save_as(saved)
    body = saved.read_bytes()
    assert body.startswith(b"%PDF")
    assert hashlib.sha256(body).hexdigest() == stored
