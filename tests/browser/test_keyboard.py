"""Issue 11, acceptance 4: a compliance user does a whole job with the keyboard alone.

Only ``page.keyboard`` is used after the first page load (Tab, Shift+Tab, Enter, Space, typing):
no click, no ``element.focus()``. Reading ``document.activeElement`` only looks at where the focus
is, as a sighted keyboard user would by its outline. The file chooser opens from the keyboard
(Space on the focused file input) inside ``page.expect_file_chooser()``.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import FileChooser, Page, expect

from dpa_tracker.models import Role
from dpa_tracker.obligation.services import today
from tests.factories import make_agreement, make_client, make_user
from tests.support import PASSWORD

pytestmark = pytest.mark.browser

# What the focused element is, in words: its tag, type, accessible-ish name and visible outline.
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return {tag: 'body', name: '', type: '', outline: 'none'};
  const label = e.labels && e.labels.length ? e.labels[0].textContent : '';
  const style = getComputedStyle(e);
  return {tag: e.tagName.toLowerCase(), type: e.type || '', name: (label || e.textContent || e.value || '').trim(),
          outline: style.outlineStyle + ' ' + style.outlineWidth};
}"""


def focused(page: Page) -> dict[str, str]:
    return page.evaluate(FOCUSED)


def tab_to(page: Page, tag: str, name: str | re.Pattern[str], *, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until the focused element is the ``tag`` named ``name``."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        now = focused(page)
        seen.append(f"{now['tag']}:{now['name'][:30]}")
        matches = re.search(name, now["name"]) if isinstance(name, re.Pattern) else now["name"] == name
        if now["tag"] == tag and matches:
            # WCAG 2.4.7: the keyboard focus is visible (the app's :focus-visible outline).
            assert now["outline"] != "none 0px", f"no visible focus on {tag} {name!r}: {now['outline']}"
            return
    raise AssertionError(f"{tag} {name!r} not reached by keyboard; focus went through: {seen}")


def test_compliance_user_uploads_evidence_with_the_keyboard_only(live_app: Flask, live_server: str, page: Page) -> None:
    with live_app.app_context():
        client = make_client("Acme Hosting SARL")
        agreement = make_agreement(client, reference="DPA-KEYS-1", signed_on=today(), effective_on=today())
        clause = next(o for o in agreement.obligations if o.clause_number == "7.1")
        clause_title = clause.title
        make_user(Role.COMPLIANCE, "karim@example.com")

    page.goto(f"{live_server}/login")
    # Sign in: the e-mail field has the focus on arrival (autofocus, applied once the page is laid out: wait for
    # it, a loaded machine can be slower than the first read); Tab to the password; Enter.
    expect(page.get_by_label("E-mail", exact=True)).to_be_focused()
    assert focused(page)["name"] == "E-mail"
    page.keyboard.type("karim@example.com")
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "Password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # The first Tab of a page reaches the skip link, which shows itself; Enter jumps past the menu.
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "Skip to main content"
    expect(page.get_by_role("link", name="Skip to main content")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert focused(page)["tag"] == "main"

    # Clients (back up into the menu), then the client, then its agreement.
    tab_to(page, "a", "Clients", backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clients")
    tab_to(page, "a", "Acme Hosting SARL")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Hosting SARL")
    tab_to(page, "a", "DPA-KEYS-1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("DPA-KEYS-1")
    expect(page.locator('tr[data-clause="7.1"] td.status')).to_have_text("open")

    # The obligation of clause 7.1.
    tab_to(page, "a", clause_title)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Clause 7.1 · {clause_title}")
    expect(page.locator("#status .badge")).to_have_text("open")
    expect(page.locator("li.evidence")).to_have_count(0)

    # The file input, opened with Space: the chooser gets the file.
    tab_to(page, "input", re.compile(r"^File \("))
    with page.expect_file_chooser() as chooser_info:
        page.keyboard.press("Space")
    chooser: FileChooser = chooser_info.value
    chooser.set_files({"name": "breach-register.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"})
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "Note"
    page.keyboard.type("Register kept by the security team.")
    tab_to(page, "button", "Add evidence")
    # Shift+Tab goes back through the form and Tab returns to the button: the order is the visual one.
    page.keyboard.press("Shift+Tab")
    assert focused(page)["tag"] in ("input", "select", "textarea")
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "Add evidence"
    page.keyboard.press("Enter")

    expect(page.locator(".flash-success")).to_contain_text("Evidence #1 added")
    expect(page.locator("#status .badge")).to_have_text("met")
    evidence = page.locator("li.evidence").first
    expect(evidence.get_by_role("link", name="breach-register.pdf")).to_be_visible()
    expect(evidence).to_contain_text("Register kept by the security team.")

    # Sign out: back up to the top bar's button.
    tab_to(page, "button", "Sign out", backwards=True)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def test_phone_menu_opens_and_signs_out_with_the_keyboard(live_app: Flask, live_server: str, page: Page) -> None:
    with live_app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/login")
    expect(page.get_by_label("E-mail", exact=True)).to_be_focused()  # autofocus: wait for it, as above
    assert focused(page)["name"] == "E-mail"
    page.keyboard.type("karim@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")

    # Folded on a phone: the links and the sign-out button are hidden until the menu opens.
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    expect(page.get_by_role("link", name="Activity")).to_be_hidden()
    tab_to(page, "summary", "Menu")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Activity")).to_be_visible()
    tab_to(page, "button", "Sign out")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
