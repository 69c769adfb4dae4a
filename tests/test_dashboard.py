"""Dashboard counts: right after every change, and only for the clients a user sees."""

from __future__ import annotations

import re
from datetime import date

from dpa_tracker.models import Role
from dpa_tracker.obligation.services import today
from tests.factories import CLAUSE_COUNT, make_agreement, make_client, make_user


def tile(html: str, status: str) -> int:
    match = re.search(rf'data-status="{status}">(\d+)<', html)
    assert match, status
    return int(match.group(1))


def without_csrf(html: str) -> str:
    return re.sub(r"<input[^>]*csrf_token[^>]*>", "", html)


def test_counts_follow_each_change_immediately(app, client, auth):
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        agreement = make_agreement(make_client("Alpha"), staff, effective_on=date(2026, 1, 1))
        obligation_id = next(o.id for o in agreement.obligations if o.clause_number == "7.1")
    auth.login("staff@example.com")
    before = client.get("/").get_data(as_text=True)
    # served again without a change (the CSRF tokens carry the second they were made: compare without them)
    assert without_csrf(client.get("/").get_data(as_text=True)) == without_csrf(before)
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
    staff_total = sum(
        tile(client.get("/").get_data(as_text=True), s)
        for s in ("met", "due_soon", "overdue", "open", "not_applicable")
    )
    auth.logout()
    auth.login("alpha@example.com")
    html = client.get("/").get_data(as_text=True)
    client_total = sum(tile(html, s) for s in ("met", "due_soon", "overdue", "open", "not_applicable"))
    assert staff_total == 2 * CLAUSE_COUNT and client_total == CLAUSE_COUNT
    assert "Beta" not in html


def test_kept_counts_match_a_fresh_count_after_every_kind_of_change(app):
    """The dashboard re-counts only the clients named by new audit events; it must always agree with a full count."""
    from dpa_tracker.agreement.services import end_agreement
    from dpa_tracker.dashboard.counts import (
        ClientCounts,
        _count,
        _count_details,
        _fresh_stored_counts,
        _stored_rows,
        clear_counts_cache,
        client_details,
        status_counts,
    )
    from dpa_tracker.evidence.services import EvidenceInput, add_evidence
    from dpa_tracker.extensions import db
    from dpa_tracker.obligation.services import due_soon_days, set_not_applicable, today
    from dpa_tracker.record.services import MeasureInput, create_measure

    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        alpha, beta = make_agreement(make_client("Alpha"), staff), make_agreement(make_client("Beta"), staff)
        day, window = today(), due_soon_days()
        clear_counts_cache()
        first = status_counts(day, window)
        assert first == _count(day, window)

        def check() -> dict[int, ClientCounts]:
            db.session.commit()
            kept = status_counts(day, window)
            assert kept == _count(day, window)
            # the details (per agreement, per family), kept for the clients read so far, agree with a fresh count too
            assert client_details(day, window, kept) == _count_details(day, window, kept)
            # and so do the counts the change stored for a new process, for every client
            stored = _fresh_stored_counts(day, window)
            assert {cid: counts for cid, counts in stored.items() if cid in kept} == kept
            details = {cid: row[2] for cid, row in _stored_rows(day, window, set(stored)).items()}
            assert details == _count_details(day, window, stored)
            return kept

        obligation = next(o for o in beta.obligations if o.clause_number == "7.1")
        add_evidence(staff, obligation, EvidenceInput(note="Security policy v3"))
        after_evidence = check()
        assert after_evidence[beta.client_id].statuses["met"] == first[beta.client_id].statuses.get("met", 0) + 1
        assert after_evidence[alpha.client_id] == first[alpha.client_id]
        set_not_applicable(staff, next(o for o in alpha.obligations if o.clause_number == "9.1"), "No data subjects")
        check()
        end_agreement(staff, beta, date(2026, 6, 30))
        check()
        create_measure(staff, MeasureInput(heading="d_regular_testing", title="Pen test", description="Yearly"))
        check()  # an event without a client: everything is counted again
        make_agreement(make_client("Gamma"), staff)
        assert len(check()) == 3
        make_user(Role.AUDITOR, "auditor@example.com")  # an account event: nothing to count again
        add_evidence(
            staff,
            next(o for o in alpha.obligations if o.clause_number == "5.2"),
            EvidenceInput(note="Training attendance sheet"),
        )
        check()


def test_a_sign_in_does_not_make_the_dashboard_count_everything_again(app, client, auth, monkeypatch):
    import dpa_tracker.dashboard.counts as dashboard

    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        make_user(Role.ADMIN, "admin@example.com")
        make_agreement(make_client("Alpha"), staff)
    auth.login("staff@example.com")
    before = client.get("/").get_data(as_text=True)
    counted: list[object] = []
    real_count = dashboard._count
    monkeypatch.setattr(dashboard, "_count", lambda *args: counted.append(args) or real_count(*args))
    auth.logout()
    auth.login("admin@example.com")  # writes a user.login audit event without a client
    after = client.get("/").get_data(as_text=True)
    assert counted == []
    assert [tile(after, s) for s in ("met", "overdue", "open")] == [tile(before, s) for s in ("met", "overdue", "open")]


def test_dashboard_queries_do_not_grow_with_the_clients_it_lists(app, client, auth, monkeypatch):
    """Clause 4.1 rows need each client's record: those are checked together, not one client at a time."""
    from sqlalchemy import event

    from dpa_tracker.dashboard import listing
    from dpa_tracker.extensions import db

    monkeypatch.setattr(listing, "PAGE_SIZE", 500)  # every new agreement's rows are listed on one page

    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        staff_id, engine = staff.id, db.engine
    auth.login("staff@example.com")

    def statements_for_dashboard() -> tuple[int, int]:
        count = {"n": 0}

        def on_execute(*_: object) -> None:
            count["n"] += 1

        event.listen(engine, "before_cursor_execute", on_execute)
        try:
            html = client.get("/").get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
        return count["n"], html.count("Keep the Art. 30(2) record for this client")

    def add_clients(numbers: range) -> None:
        with app.app_context():
            actor = db.session.get(type(staff), staff_id)
            for n in numbers:
                # Effective today: the clause 4.1 rows (overdue from the record) lead the list, whatever the date.
                make_agreement(make_client(f"Client {n}"), actor, signed_on=today(), effective_on=today())

    add_clients(range(1))
    client.get("/")  # counts computed once
    one, rows_one = statements_for_dashboard()
    add_clients(range(1, 4))
    client.get("/")
    four, rows_four = statements_for_dashboard()
    assert (rows_one, rows_four) == (1, 4)
    assert four == one


def test_dashboard_queries_do_not_grow_with_the_ended_agreements_it_lists(app, client, auth, monkeypatch):
    """Clause 13 of each ended agreement on the page (the day its data was deleted, and whether the client's
    processing stopped) is read for all those agreements together, not one agreement at a time: the page makes
    the same statements with none, one or five ended agreements listed."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import event

    from dpa_tracker.agreement.services import end_agreement
    from dpa_tracker.dashboard import listing
    from dpa_tracker.evidence.services import EvidenceInput, add_evidence
    from dpa_tracker.extensions import db
    from dpa_tracker.record.services import ActivityInput, create_activity

    monkeypatch.setattr(listing, "PAGE_SIZE", 500)  # every agreement's rows are listed on one page

    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        staff_id, engine = staff.id, db.engine
    auth.login("staff@example.com")

    def statements_for_dashboard() -> tuple[int, str]:
        count = {"n": 0}

        def on_execute(*_: object) -> None:
            count["n"] += 1

        event.listen(engine, "before_cursor_execute", on_execute)
        try:
            html = client.get("/").get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
        return count["n"], html

    def add_ended(numbers: range) -> None:
        with app.app_context():
            actor = db.session.get(type(staff), staff_id)
            for n in numbers:
                hosting = make_client(f"Ended Hosting {n}")
                create_activity(actor, hosting, ActivityInput(name=f"Mail relay {n}", purposes="Relay"))
                agreement = make_agreement(
                    hosting,
                    actor,
                    reference=f"ENDED-{n}",
                    signed_on=today() - timedelta(days=400),
                    effective_on=today() - timedelta(days=400),
                )
                end_agreement(actor, agreement, today() - timedelta(days=40))
                # The data was deleted 3 days after the end, but the client's record still holds an activity.
                deletion = next(o for o in agreement.obligations if o.clause_number == "13")
                done = datetime.combine(agreement.ends_on + timedelta(days=3), datetime.min.time(), UTC)
                add_evidence(actor, deletion, EvidenceInput(note="Deletion certificate", acted_at=done))
                db.session.commit()

    with app.app_context():
        # In force, with an activity in its record like the ended ones below (the record's own checks, clause 4.1,
        # read more when a listed client has activities: that is not what this test counts).
        actor = db.session.get(type(staff), staff_id)
        active = make_client("Active Hosting")
        create_activity(actor, active, ActivityInput(name="Web hosting", purposes="Hosting"))
        make_agreement(active, actor, reference="ACTIVE-0")
    client.get("/")  # counts computed once
    none, html_none = statements_for_dashboard()
    add_ended(range(1))
    client.get("/")
    one, html_one = statements_for_dashboard()
    add_ended(range(1, 5))
    client.get("/")
    five, html_five = statements_for_dashboard()
    listed = [n for n in range(5) if f">ENDED-{n}</a>" in html_five]
    assert ">ACTIVE-0</a>" in html_none and ">ENDED-0</a>" not in html_none
    assert ">ENDED-0</a>" in html_one and listed == [0, 1, 2, 3, 4]
    # Each clause 13 row shows its own client's activity still in the record.
    stopped = re.findall(r"processing activity “Mail relay (\d)” is still active", html_five)
    assert sorted(set(stopped)) == ["0", "1", "2", "3", "4"]
    assert none == one == five


def _dashboard_tiles(client) -> list[int]:
    html = client.get("/").get_data(as_text=True)
    return [tile(html, s) for s in ("met", "due_soon", "overdue", "open", "not_applicable")]


def test_a_new_process_reads_the_stored_counts_and_counts_only_a_client_changed_since(app, client, auth, monkeypatch):
    """What each change stores lets a new process skip counting every obligation; a stored row older than a later
    event of its client is not trusted."""
    import dpa_tracker.dashboard.counts as counts
    from dpa_tracker.evidence.services import EvidenceInput, add_evidence
    from dpa_tracker.extensions import db
    from dpa_tracker.models import AuditEvent, Obligation, StoredCounts

    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        alpha = make_agreement(make_client("Alpha"), staff)
        beta = make_agreement(make_client("Beta"), staff)
        add_evidence(staff, next(o for o in beta.obligations if o.clause_number == "7.1"), EvidenceInput(note="v3"))
        db.session.commit()
        alpha_id, beta_id, staff_id = alpha.client_id, beta.client_id, staff.id
        alpha_obligation = next(o.id for o in alpha.obligations if o.clause_number == "7.1")
        assert set(db.session.scalars(db.select(StoredCounts.client_id))) == {alpha_id, beta_id}
    auth.login("staff@example.com")
    truth = without_csrf(client.get("/").get_data(as_text=True))  # tiles, scores, agreement scores, heat-map
    counted: list[object] = []
    detailed: list[object] = []
    real_count, real_details = counts._count, counts._count_details
    monkeypatch.setattr(counts, "_count", lambda *args: counted.append(args[2:]) or real_count(*args))
    monkeypatch.setattr(counts, "_count_details", lambda *args: detailed.append(args[2]) or real_details(*args))

    counts.clear_counts_cache()  # a new process
    assert without_csrf(client.get("/").get_data(as_text=True)) == truth
    assert counted == [] and detailed == []  # nothing counted: every stored row is fresh

    with app.app_context():  # Alpha's row is made older than Alpha's last event, and wrong
        row = db.session.get(StoredCounts, alpha_id)
        last = db.session.scalar(db.select(db.func.max(AuditEvent.id)).where(AuditEvent.client_id == alpha_id))
        row.upto_event_id = last - 1
        row.statuses = {"met": 999}
        row.by_family = {family: {"met": 999} for family in row.by_family}
        db.session.commit()
    counts.clear_counts_cache()
    assert without_csrf(client.get("/").get_data(as_text=True)) == truth  # not the 999s of the stale row
    assert counted == [({alpha_id},)] and detailed == [{alpha_id}]  # only Alpha counted again

    # A running process reads a changed client's row too, if the change stored it; else it counts the client.
    with app.app_context():
        actor = db.session.get(type(staff), staff_id)
        add_evidence(actor, db.session.get(Obligation, alpha_obligation), EvidenceInput(note="Policy v4"))
        db.session.commit()
        row = db.session.get(StoredCounts, alpha_id)
        row.upto_event_id -= 1  # as if written before the change's event, and wrong
        row.statuses = {"met": 999}
        row.by_family = {family: {"met": 999} for family in row.by_family}
        db.session.commit()
    counted.clear()
    detailed.clear()
    running = without_csrf(client.get("/").get_data(as_text=True))
    assert counted == [({alpha_id},)] and detailed == [{alpha_id}]
    counts.clear_counts_cache()
    assert running == without_csrf(client.get("/").get_data(as_text=True)) and ">999<" not in running


def test_stored_counts_of_another_day_are_not_used(app, client, auth, clock, monkeypatch):
    """A status can change with the date alone (due then, overdue later): counts stored on another day are not
    today's, until the daily refresh stores today's."""
    from datetime import UTC, datetime

    import dpa_tracker.dashboard.counts as counts
    from dpa_tracker.extensions import db
    from dpa_tracker.models import StoredCounts

    clock.set(datetime(2026, 3, 1, 9, tzinfo=UTC))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        client_id = make_agreement(make_client("Alpha"), staff, effective_on=date(2026, 2, 1)).client_id
        march = db.session.get(StoredCounts, client_id).statuses
    clock.set(datetime(2026, 9, 1, 9, tzinfo=UTC))  # months later: duties due since are overdue
    counts.clear_counts_cache()
    counted: list[object] = []
    real_count = counts._count
    monkeypatch.setattr(counts, "_count", lambda *args: counted.append(args[2:]) or real_count(*args))
    auth.login("staff@example.com")
    later = _dashboard_tiles(client)
    assert counted == [()]  # everything counted: no row of today
    assert later[2] > march.get("overdue", 0)  # the stored March figures were not shown
    result = app.test_cli_runner().invoke(args=["obligations", "refresh"])
    assert result.exit_code == 0, result.output
    counted.clear()
    counts.clear_counts_cache()
    assert _dashboard_tiles(client) == later
    assert counted == []  # today's rows, stored by the refresh
