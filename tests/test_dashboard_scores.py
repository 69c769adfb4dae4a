"""Issue 11: scores, the 12-month trend, the heat-map, the filtered attention list and "My obligations"."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import Obligation, Role, User
from dpa_tracker.obligation.events import record_event
from dpa_tracker.obligation.services import set_not_applicable, update_obligation
from tests.factories import CLAUSE_COUNT, make_agreement, make_client, make_user

MET = ("7.1", "2.2", "3.2")


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    following = [html.find('<section class="card" id=', start + 1)]
    end = min([i for i in following if i != -1] or [len(html)])
    return html[start:end]


def _scored_client(staff: User, name: str = "Scored Hosting") -> tuple[int, int]:
    """3 met, 1 late (8.1: a breach notified after 30 h of a 24 h target), 1 overdue (5.1), the rest n/a."""
    agreement = make_agreement(make_client(name), staff, breach_notice_hours=24)
    by_number = {o.clause_number: o for o in agreement.obligations}
    for number in MET:
        add_evidence(staff, by_number[number], EvidenceInput(note=f"Policy for {number}"))
    aware = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=20)
    breach = by_number["8.1"]
    add_evidence(staff, breach, EvidenceInput(note="Breach-response procedure"))
    event = record_event(staff, breach, occurred_at=aware - timedelta(hours=2), aware_at=aware, summary="Tape lost")
    add_evidence(
        staff,
        breach,
        EvidenceInput(note="Notice sent", trigger_event_id=event.id, acted_at=aware + timedelta(hours=30)),
    )
    for number, obligation in by_number.items():
        if number not in (*MET, "8.1", "5.1"):
            set_not_applicable(staff, obligation, "Out of scope for this test")
    db.session.commit()
    return agreement.client_id, agreement.id


def test_score_is_met_over_applicable_with_late_and_overdue_apart(app, client, auth):
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        client_id, _ = _scored_client(staff)
        empty = make_agreement(make_client("Nothing Applies"), staff)
        for obligation in empty.obligations:
            set_not_applicable(staff, obligation, "Dormant")
        db.session.commit()
        empty_id = empty.client_id
    auth.login("staff@example.com")
    html = client.get("/").get_data(as_text=True)
    scores = _section(html, "scores")
    assert re.search(rf'data-score="{client_id}">60 %<', scores)  # 3 met of 5 applicable (25 not applicable)
    assert re.search(rf'data-late="{client_id}">1<', scores)
    assert re.search(rf'data-overdue="{client_id}">1<', scores)
    assert re.search(rf'data-score="{empty_id}">no applicable obligations<', scores)
    assert f'data-score="{empty_id}">100 %' not in scores
    assert "(1 late, 1 overdue)" in scores  # the agreement's own score
    # every number links to the list it counts
    overdue_link = f"/?client={client_id}&amp;status=overdue#list"
    assert overdue_link in scores
    listed = client.get(overdue_link.replace("&amp;", "&")).get_data(as_text=True)
    rows = _section(listed, "list")
    assert "1 obligation," in rows and "5.1 " in rows and "7.1 " not in rows


def test_heat_map_cells_carry_text_not_only_colour(app, client, auth):
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        client_id, _ = _scored_client(staff)
    auth.login("staff@example.com")
    heat = _section(client.get("/").get_data(as_text=True), "heatmap")
    seven = re.search(rf'data-cell="{client_id}-7"><a [^>]*>(.*?)</a>', heat).group(1)
    five = re.search(rf'data-cell="{client_id}-5"><a [^>]*>(.*?)</a>', heat).group(1)
    eight = re.search(rf'data-cell="{client_id}-8"><a [^>]*>(.*?)</a>', heat).group(1)
    assert "✓</span> 1/1" in seven  # 7.1 met, 7.2 and 7.2(3) not applicable
    assert "✗</span> 0/1" in five and "1 overdue" in five
    assert "!</span> 0/1" in eight and "1 late" in eight
    assert "/?client=" in heat and "family=7" in heat


def test_heat_map_and_family_filter_follow_a_change_made_after_the_first_view(app, client, auth):
    """The per-family counts are kept between requests: a change to the client must show on the next view."""
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        client_id, agreement_id = _scored_client(staff)
    auth.login("staff@example.com")

    def cell(family: str) -> str:
        heat = _section(client.get("/").get_data(as_text=True), "heatmap")
        return re.search(rf'data-cell="{client_id}-{family}"><a [^>]*>(.*?)</a>', heat).group(1)

    def overdue_in_family(family: str) -> str:
        html = client.get(f"/?status=overdue&family={family}").get_data(as_text=True)
        return re.search(r'id="list-count">(\d+ obligations?)', html).group(1)

    assert "1 overdue" in cell("5") and overdue_in_family("5") == "1 obligation"
    with app.app_context():
        actor = db.session.scalars(db.select(User).where(User.email == "staff@example.com")).one()
        five = db.session.scalars(
            db.select(Obligation).where(Obligation.agreement_id == agreement_id, Obligation.clause_number == "5.1")
        ).one()
        add_evidence(actor, five, EvidenceInput(note="Designation letters signed"))
        db.session.commit()
    assert "✓</span> 1/1" in cell("5") and "overdue" not in cell("5")
    assert overdue_in_family("5") == "0 obligations"


def test_trend_shows_evidence_added_last_month_in_that_month(app, client, auth, runner, clock):
    clock.set(datetime(2026, 8, 10, 9, tzinfo=UTC))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        agreement = make_agreement(make_client("Trend Hosting"), staff, effective_on=date(2026, 1, 1))
        staff_id = staff.id
        obligation_id = next(o.id for o in agreement.obligations if o.clause_number == "7.1")
    clock.set(datetime(2026, 10, 12, 9, tzinfo=UTC))
    with app.app_context():
        add_evidence(
            db.session.get(User, staff_id), db.session.get(Obligation, obligation_id), EvidenceInput(note="Policy v1")
        )
        db.session.commit()
    clock.set(datetime(2026, 11, 20, 9, tzinfo=UTC))
    result = runner.invoke(args=["obligations", "snapshot"])
    assert result.exit_code == 0, result.output
    assert "2026-09-30" in result.output and "2026-10-31" in result.output
    auth.login("staff@example.com")
    trend = _section(client.get("/").get_data(as_text=True), "trend")

    def cell(day: str, status: str) -> str:
        return re.search(rf'<tr data-day="{day}">.*?data-status="{status}">([^<]*)<', trend, re.S).group(1)

    assert cell("2026-09-30", "met") == "0"
    assert cell("2026-10-31", "met") == "1"  # the month the evidence was added
    assert int(cell("2026-10-31", "overdue")) == int(cell("2026-09-30", "overdue")) - 1
    assert cell("2026-07-31", "met") == "not computed"  # the agreement did not exist yet
    assert '<svg class="chart"' in trend and 'role="img"' in trend and "<title id=" in trend and "<desc id=" in trend
    assert 'aria-labelledby="trend-chart-title trend-chart-desc"' in trend
    assert "style=" not in trend and "<script" not in trend
    # a second run stores nothing again
    assert "0 month end(s) stored" in runner.invoke(args=["obligations", "snapshot"]).output


def test_filters_narrow_the_list_and_survive_pagination(app, client, auth):
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        alpha = make_agreement(make_client("Alpha Filter Co"), staff)
        make_agreement(make_client("Beta Filter Co"), staff)
        alpha_id = alpha.client_id
    auth.login("staff@example.com")
    everything = _section(client.get("/").get_data(as_text=True), "list")
    assert "Alpha Filter Co" in everything and "Beta Filter Co" in everything
    first = client.get(f"/?client={alpha_id}")
    rows = _section(first.get_data(as_text=True), "list")
    assert "Beta Filter Co" not in rows.split('id="list-count"')[1]
    total = int(re.search(r"(\d+) obligations, page 1 of 2", rows).group(1))
    assert total == CLAUSE_COUNT - 1  # every clause but 13 (open) is overdue
    next_link = re.search(r'rel="next" href="([^"]+)"', rows).group(1).replace("&amp;", "&")
    assert f"client={alpha_id}" in next_link and "page=2" in next_link
    second = _section(client.get(next_link).get_data(as_text=True), "list")
    assert "page 2 of 2" in second and "Beta Filter Co" not in second.split('id="list-count"')[1]
    assert f"client={alpha_id}" in re.search(r'rel="prev" href="([^"]+)"', second).group(1)
    family = _section(client.get(f"/?client={alpha_id}&family=7").get_data(as_text=True), "list")
    clauses = re.findall(r'/obligations/\d+">([0-9.()]+) ', family)
    assert sorted(clauses) == ["7.1", "7.2", "7.2(3)"]
    soon = _section(client.get(f"/?client={alpha_id}&status=open").get_data(as_text=True), "list")
    assert re.findall(r'/obligations/\d+">([0-9.()]+) ', soon) == ["13"]


def test_bad_filter_values_answer_a_clear_message(app, client, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "staff@example.com")
    auth.login("staff@example.com")
    for query, message in [
        ("due=soon", "Due within: “soon” is not a number of days"),
        ("due=99999", "is not a number of days from 0 to 3650"),
        ("status=broken", "Status: “broken” is not a status"),
        ("client=abc", "Client: “abc” is not a client number"),
        ("family=x%27", "Clause family: “x&#39;” is not a clause number"),
        ("page=0", "Page: “0” is not a page number"),
    ]:
        response = client.get(f"/?{query}")
        assert response.status_code == 422, query
        assert message in response.get_data(as_text=True), query
    assert client.get("/my/obligations?owner=1").status_code == 422


def test_my_obligations_lists_exactly_the_signed_in_owners(app, client, auth):
    with app.app_context():
        alice = make_user(Role.COMPLIANCE, "alice@example.com")
        bob = make_user(Role.COMPLIANCE, "bob@example.com")
        # bob creates both agreements (a new obligation may start with its creator as owner)
        mine = make_agreement(make_client("Alpha Owned"), bob)
        theirs = make_agreement(make_client("Canary Bob Only Ltd"), bob)
        owned = [o for o in mine.obligations if o.clause_number in ("7.1", "13")]
        for obligation in owned:
            update_obligation(alice, obligation, owner=alice, notes="")
        other = theirs.obligations[0]
        update_obligation(alice, other, owner=bob, notes="")
        db.session.commit()
        owned_ids, other_id = sorted(o.id for o in owned), other.id
    auth.login("alice@example.com")
    html = client.get("/my/obligations").get_data(as_text=True)
    listed = html.split('id="list-count"')[1]
    assert "2 obligations" in listed
    assert sorted(int(i) for i in re.findall(r'/obligations/(\d+)"', listed)) == owned_ids
    assert f"/obligations/{other_id}" not in listed and "Canary Bob Only Ltd" not in listed
    assert "overdue" in listed and "open" in listed  # status and reason shown
    filtered = client.get("/my/obligations?status=open").get_data(as_text=True).split('id="list-count"')[1]
    assert re.findall(r'/obligations/(\d+)"', filtered) == [str(owned_ids[1])]


def test_auditor_and_client_see_no_other_tenant_in_scores_trend_or_heat_map(app, client, auth, runner, clock):
    clock.set(datetime(2026, 9, 10, 9, tzinfo=UTC))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        alpha = make_client("Alpha Tenant")
        make_agreement(alpha, staff)
        make_agreement(make_client("Zeta Canary Corp"), staff)
        make_user(Role.AUDITOR, "auditor@example.com", audits=[alpha])
        make_user(Role.CLIENT, "alpha@example.com", client=alpha)
    clock.set(datetime(2026, 11, 20, 9, tzinfo=UTC))
    assert runner.invoke(args=["obligations", "snapshot"]).exit_code == 0

    def month_total(html: str) -> int:
        trend = _section(html, "trend")
        row = re.search(r'<tr data-day="2026-10-31">(.*?)</tr>', trend, re.S).group(1)
        return sum(int(v) for v in re.findall(r'data-status="\w+">(\d+)<', row))

    auth.login("staff@example.com")
    assert month_total(client.get("/").get_data(as_text=True)) == 2 * CLAUSE_COUNT
    auth.logout()
    for email in ("auditor@example.com", "alpha@example.com"):
        auth.login(email)
        html = client.get("/").get_data(as_text=True)
        assert "Zeta Canary Corp" not in html, email
        assert month_total(html) == CLAUSE_COUNT, email
        assert "Zeta Canary Corp" not in client.get("/my/obligations").get_data(as_text=True)
        auth.logout()
    auth.login("alpha@example.com")
    html = client.get("/").get_data(as_text=True)
    for section in ("scores", "heatmap", "list"):
        assert "Alpha Tenant" not in _section(html, section), section  # the portal does not repeat its own name


def test_pages_from_the_kept_counts_list_what_the_database_counts(app, client, auth, monkeypatch):
    """Without an owner or due filter the list's total and page come from the kept counts; with one, from a
    count query and an unrestricted page query. Owning every obligation makes ?owner= list the same rows, so
    the two ways must show the same total and the same rows on every page, across clients' boundaries."""
    from sqlalchemy import update

    from dpa_tracker.dashboard import listing

    monkeypatch.setattr(listing, "PAGE_SIZE", 7)  # pages that start and end inside a client's rows
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        for name in ("Gamma Paging Co", "Alpha Paging Co", "Beta Paging Co"):
            make_agreement(make_client(name), staff)
        _scored_client(staff, "Delta Paging Co")
        db.session.execute(update(Obligation).values(owner_id=staff.id))  # owner: not a status, not counted
        db.session.commit()
        staff_id = staff.id
    auth.login("staff@example.com")

    def listed(query: str) -> tuple[str, list[str]]:
        body = _section(client.get(f"/?{query}").get_data(as_text=True), "list").split('id="list-count"')[1]
        return re.search(r">([^<]*)<", body).group(1), re.findall(r'href="(/obligations/\d+)"', body)

    for filters in ("", "status=all", "status=all&family=7", "status=overdue&family=8", "status=met"):
        page, seen = 1, []
        while True:
            kept = listed(f"{filters}&page={page}")
            counted = listed(f"{filters}&owner={staff_id}&page={page}")
            assert kept == counted, (filters, page)
            seen += kept[1]
            if kept[0].endswith(f"page {page} of {page}") or not kept[1]:
                break
            page += 1
        total = int(re.match(r"(\d+) obligation", kept[0]).group(1))
        assert len(seen) == len(set(seen)) == total, filters


def test_overall_score_reads_as_a_sentence(app, client, auth):
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        _scored_client(staff)
        db.session.commit()
    auth.login("staff@example.com")
    html = client.get("/").get_data(as_text=True)
    overall = html[html.index("Overall:") : html.index("</p>", html.index("Overall:"))]
    text = re.sub(r"<[^>]+>", "", overall)
    assert text == (
        f"Overall: 60 %: 3 of 5 applicable obligations met (1 late, 1 overdue); {CLAUSE_COUNT - 5} not applicable."
    )


def test_trend_labels_of_lines_ending_on_the_same_value_do_not_overlap():
    from dpa_tracker.dashboard.charts import HEIGHT, LABEL_GAP, Series, line_chart

    labels = ["Jan", "Feb", "today"]
    chart = line_chart(
        "t",
        "Trend",
        "All at zero",
        labels,
        [Series(key, key, [None, None, 0]) for key in ("met", "due_soon", "overdue", "late")],
    )
    ys = sorted(float(y) for y in re.findall(r'class="series-label[^"]*" x="[^"]+" y="([^"]+)"', chart))
    assert len(ys) == 4
    assert all(b - a >= LABEL_GAP for a, b in pairwise(ys))
    assert ys[-1] <= HEIGHT
