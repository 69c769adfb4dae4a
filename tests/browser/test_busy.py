"""Issue 11, progress on long work: a slow download shows "Preparing…" until the file arrives."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from dpa_tracker.models import Role
from tests.browser.test_flows import seed, sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_status_pdf_link_is_busy_until_the_download_starts(live_app: Flask, live_server: str, page: Page) -> None:
    acme = seed(live_app, "Acme Hosting SARL", "DPA-ACME-1")
    with live_app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    sign_in(page, live_server, "karim@example.com")
    page.goto(f"{live_server}/agreements/{acme.agreement_id}")

    # Every state the link goes through is logged in the page (a download leaves the page in place, so
    # Playwright cannot look at it while the navigation is pending).
    page.evaluate(
        """() => {
        const link = document.querySelector('a[data-busy]');
        window.busyLog = [];
        new MutationObserver(() => window.busyLog.push([link.getAttribute('aria-busy'), link.textContent,
            document.getElementById('busy-status').textContent]))
          .observe(link, {attributes: true, childList: true, characterData: true, subtree: true});
    }"""
    )
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    link = page.locator("a[data-busy]")
    expect(link).to_have_text("Status report (PDF)")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.startswith(f"status-{acme.agreement_id}-")
    assert any("/status.pdf?download_token=" in url for url in requested), requested

    # The download answer's cookie brings the link back, well before the 60 s fallback.
    expect(link).to_have_text("Status report (PDF)", timeout=5_000)
    expect(link).not_to_have_attribute("aria-busy", "true")
    log = page.evaluate("window.busyLog")
    assert ["true", "Preparing the PDF…", "Preparing the PDF…"] in log, log  # shown, and read out
    assert log[-1] == [None, "Status report (PDF)", ""], log
    expect(page.get_by_role("heading", level=1)).to_contain_text("DPA-ACME-1")  # still the same page
