"""The deadline view in Chromium at 1366 and 390 wide (screenshots kept), and a calendar feed created on the
account page and fetched without a session."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from dpa_tracker.dsr.services import RequestInput, log_request
from dpa_tracker.extensions import db
from dpa_tracker.models import Role
from dpa_tracker.obligation.services import update_obligation
from tests.browser.test_flows import sign_in
from tests.factories import make_agreement, make_client, make_user

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("DEADLINE_SHOTS", "/tmp/i13-reminders-shots"))


def test_deadlines_fit_desktop_and_phone_and_the_feed_serves_the_users_deadlines(
    live_app: Flask, live_server: str, page: Page
) -> None:
    with live_app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        acme = make_client("Acme Hosting SARL with a rather long legal name for a small screen")
        globex = make_client("Globex Corp")
        agreement = make_agreement(acme, staff, reference="DPA-ACME-2026-000000000001")
        make_agreement(globex, staff, reference="DPA-GLOBEX")
        owned = next(o for o in agreement.obligations if o.clause_number == "7.1")
        update_obligation(staff, owned, owner=staff, notes="")
        log_request(
            staff,
            agreement,
            RequestInput(datetime.now(UTC) - timedelta(hours=1), "email", "erasure", "customer-4711"),
        )
        db.session.commit()

    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server, "staff@example.com")
    for name, width in (("desktop", 1366), ("phone", 390)):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/deadlines")
        expect(page.get_by_role("heading", name="Deadlines")).to_be_visible()
        expect(page.locator("table.deadline-list")).to_contain_text("Forward data-subject request")
        expect(page.locator("table.deadline-list")).to_contain_text("Globex Corp")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name}: wider than the screen"
        page.screenshot(path=str(SHOTS / f"deadlines-{width}.png"), full_page=True)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_label("Kind").select_option("dsr_forward")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#list-count")).to_have_text("1 deadline, page 1 of 1")

    page.get_by_role("link", name="Subscribe in your calendar").click()
    page.get_by_role("button", name="Create a feed address").click()
    expect(page.get_by_role("status")).to_contain_text("shown only once")
    url = page.get_by_label("Your feed address (shown only once)").input_value()
    assert url.startswith(f"{live_server}/calendar/") and url.endswith(".ics")
    feed = page.context.request.get(url)  # what a calendar app fetches: the token is the credential
    assert feed.status == 200 and "BEGIN:VEVENT" in feed.text() and "customer" not in feed.text()
    page.get_by_role("button", name="Revoke the feed").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    assert page.context.request.get(url).status == 404
