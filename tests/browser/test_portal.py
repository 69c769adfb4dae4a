"""Client portal in Chromium: object to a sub-processor notice, take a copy of the record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from dpa_tracker.client.services import ProcessorInput, save_processor
from dpa_tracker.extensions import db
from dpa_tracker.models import ChangeKind, NoticeRecipient, RecordVersion, Role
from dpa_tracker.record.services import ActivityInput, create_activity
from dpa_tracker.subprocessor.notices import propose_change
from dpa_tracker.subprocessor.services import SubProcessorInput, create_subprocessor
from tests.browser.test_flows import sign_in
from tests.factories import make_agreement, make_client, make_user

pytestmark = pytest.mark.browser

ARABIC_NAME = "ميتال كلاود للإتصالات السحابية"
# From the bilingual reference policy (tests/data/voip-privacy-policy-mittalcloud.txt).
ARABIC_ACTIVITY = "سياسة خصوصية اتصالات ميتال كلاود"
ARABIC_PURPOSE = "قد نشارك بياناتك الشخصية مع مقدمي الخدمات الخارجيين الذين يساعدوننا في تقديم وتشغيل الخدمات."


def test_client_objects_to_a_notice_and_downloads_the_record(
    live_app: Flask, live_server: str, page: Page, tmp_path: Path, artifacts: Path
) -> None:
    with live_app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        save_processor(
            staff, ProcessorInput(name="AltınSoft Information Technologies", contact_email="privacy@altinsoft.example")
        )
        mittal = make_client(f"Mittal Cloud — {ARABIC_NAME}", notice_emails=["dpo@mittal.example"])
        agreement = make_agreement(mittal, staff, reference="DPA-MITTAL")
        relay = create_subprocessor(
            staff, SubProcessorInput(legal_name="Relay Mail SAS", country="FR", service="E-mail relay")
        )
        propose_change(staff, ChangeKind.ADD, relay, [agreement], "Faster notification e-mails.")
        create_activity(staff, mittal, ActivityInput(name=ARABIC_ACTIVITY, purposes=ARABIC_PURPOSE))
        make_user(Role.CLIENT, "dpo@mittal.example", client=mittal)
        db.session.commit()
        client_id = mittal.id

    sign_in(page, live_server, "dpo@mittal.example")
    page.get_by_role("link", name="Notices", exact=True).click()
    pending = page.locator("#pending")
    expect(pending).to_contain_text("Relay Mail SAS")
    expect(pending).to_contain_text("Faster notification e-mails.")
    pending.get_by_label("Decision").select_option("object")
    pending.get_by_label("Reason (required to object)").fill("Our data must stay in Algeria.")
    pending.get_by_label("If you object").select_option("termination")
    pending.get_by_role("button", name="Send answer").click()
    expect(page.get_by_role("status")).to_contain_text("Your objection is recorded")
    expect(page.locator("#past")).to_contain_text("not applied: objected (termination)")
    with live_app.app_context():
        recipient = db.session.query(NoticeRecipient).one()
        assert recipient.state.value == "objected"
        assert recipient.answer_reason == "Our data must stay in Algeria."
        assert recipient.objection_consequence.value == "termination"

    page.get_by_role("link", name="Record", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Record of processing")
    expect(page.locator("body")).to_contain_text(ARABIC_NAME)
    # Right to left on the page: an Arabic activity name starts at the right of its heading.
    heading = page.locator("article.activity h3", has_text=ARABIC_ACTIVITY)
    expect(heading).to_be_visible()
    text_box, box = heading.locator("a").bounding_box(), heading.bounding_box()
    assert text_box is not None and box is not None
    assert box["x"] + box["width"] - (text_box["x"] + text_box["width"]) < 2, "Arabic heading is not right-aligned"
    assert text_box["x"] - box["x"] > box["width"] / 3
    expect(page.locator("article.activity dd", has_text=ARABIC_PURPOSE)).to_be_visible()
    page.screenshot(path=str(artifacts / "portal-record-arabic.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="JSON", exact=True).click()
    saved = tmp_path / "record.json"
    download_info.value.save_as(saved)
    body = json.loads(saved.read_text(encoding="utf-8"))
    assert body["version"] == 1
    assert body["record"]["client"]["id"] == client_id
    with page.expect_download() as pdf_info:
        page.get_by_role("button", name="PDF", exact=True).click()
    pdf = tmp_path / "record.pdf"
    pdf_info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    page.reload()
    expect(page.locator("table").last).to_contain_text("pdf")
    # each press of a button kept one version, taken by the client itself
    with live_app.app_context():
        assert [v.handed_out_by.email for v in db.session.query(RecordVersion).order_by(RecordVersion.number)] == [
            "dpo@mittal.example",
            "dpo@mittal.example",
        ]
