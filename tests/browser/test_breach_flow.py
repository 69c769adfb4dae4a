"""Acceptance 7 of issue 12 in headless Chromium: a compliance user records a breach, notifies the client, the
mail run sends the notice (as cron would), and the page shows that client's clock stopped."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from playwright.sync_api import Page, expect

from dpa_tracker import clock
from dpa_tracker.models import Role
from tests.browser.test_flows import sign_in
from tests.factories import make_agreement, make_client, make_user
from tests.support import Inbox, free_port

pytestmark = pytest.mark.browser


def test_compliance_user_records_a_breach_notifies_and_sees_the_clock_stop(
    live_app: Flask, live_server: str, page: Page
) -> None:
    with live_app.app_context():
        client = make_client("Delta Pharma", notice_emails=["dpo@delta.example"])
        agreement_id = make_agreement(client, reference="DPA-DELTA").id
        make_user(Role.COMPLIANCE, "karim@example.com")
    now = clock.now().replace(second=0, microsecond=0)
    moment = "%Y-%m-%dT%H:%M"

    sign_in(page, live_server, "karim@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Breaches").click()
    page.get_by_role("link", name="Record a breach").click()
    page.get_by_label("Title", exact=True).fill("Misdirected payroll export")
    page.get_by_label("Happened at (UTC)").fill((now - timedelta(hours=3)).strftime(moment))
    page.get_by_label("Detected at (UTC)").fill((now - timedelta(hours=2)).strftime(moment))
    page.get_by_label("We became aware at (UTC; the clock starts here)").fill(
        (now - timedelta(hours=1)).strftime(moment)
    )
    page.get_by_label("Nature").select_option(["confidentiality"])
    page.get_by_label("What happened").fill("A payroll export was e-mailed to the wrong customer.")
    page.get_by_label("Categories of data subjects").fill("employees")
    page.get_by_label("Approximate number of data subjects").fill("40")
    page.get_by_label("Contact point for the client").fill("Karim, DPO, karim@example.com")
    page.get_by_label("Affected agreements").select_option([str(agreement_id)])
    page.get_by_role("button", name="Record the breach").click()

    expect(page).to_have_url(re.compile(r"/breaches/\d+$"))
    expect(page.locator(".flash-success")).to_contain_text("entered in the register")
    row = page.locator('#clocks tr[data-agreement="DPA-DELTA"]')
    expect(row.locator(".badge")).to_have_text("running")
    expect(row.locator(".clock-text")).to_contain_text("Time left: 22 h")

    page.get_by_label("Client (agreement)").select_option(str(agreement_id))
    page.get_by_role("button", name="Queue the notice").click()
    expect(page.locator(".flash-success")).to_contain_text("Notice queued to dpo@delta.example")
    expect(page.locator("#notices")).to_contain_text("queued")
    expect(row.locator(".badge")).to_have_text("running")  # queued is not sent: the clock still runs

    # the mail run, as cron starts it, against a local SMTP server
    inbox, port = Inbox(), free_port()
    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        result = live_app.test_cli_runner().invoke(args=["notices", "send"])
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    assert [rcpt for rcpt, _ in inbox.messages] == [["dpo@delta.example"]]

    page.reload()
    expect(row.locator(".badge")).to_have_text("met")
    expect(row.locator(".clock-text")).to_contain_text("within the 24 h target")
    expect(page.locator("#notices")).to_contain_text("sent")
