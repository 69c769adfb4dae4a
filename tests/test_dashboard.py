"""Dashboard counts: right after every change, and only for the clients a user sees."""

from __future__ import annotations

import re
from datetime import date

from dpa_tracker.models import Role
from tests.factories import make_agreement, make_client, make_user


def tile(html: str, status: str) -> int:
    match = re.search(rf'data-status="{status}">(\d+)<', html)
    assert match, status
    return int(match.group(1))


def test_counts_follow_each_change_immediately(app, client, auth):
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        agreement = make_agreement(make_client("Alpha"), staff, effective_on=date(2026, 1, 1))
        obligation_id = next(o.id for o in agreement.obligations if o.clause_number == "7.1")
    auth.login("staff@example.com")
    before = client.get("/").get_data(as_text=True)
    assert client.get("/").get_data(as_text=True) == before  # served again without a change
    auth.post(f"/obligations/{obligation_id}/evidence", {"evidence-note": "Security policy v3"}, prefix="evidence")
    after = client.get("/").get_data(as_text=True)
    assert tile(after, "met") == tile(before, "met") + 1
    assert tile(after, "overdue") == tile(before, "overdue") - 1
    auth.post(f"/obligations/{obligation_id}/applicability", {"na-reason": "Hosting only"}, prefix="na")
    latest = client.get("/").get_data(as_text=True)
    assert tile(latest, "not_applicable") == 1


def test_client_user_counts_only_its_own_obligations(app, client, auth):
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        alpha, beta = make_client("Alpha"), make_client("Beta")
        make_agreement(alpha, staff)
        make_agreement(beta, staff)
        make_user(Role.CLIENT, "alpha@example.com", client=alpha)
    auth.login("staff@example.com")
    staff_total = sum(tile(client.get("/").get_data(as_text=True), s)
                      for s in ("met", "due_soon", "overdue", "open", "not_applicable"))
    auth.logout()
    auth.login("alpha@example.com")
    html = client.get("/").get_data(as_text=True)
    client_total = sum(tile(html, s) for s in ("met", "due_soon", "overdue", "open", "not_applicable"))
    assert staff_total == 60 and client_total == 30
    assert "Beta" not in html
