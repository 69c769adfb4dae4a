"""Deadlines (issue 13): the deadline view and its API twin, the per-user iCalendar feed, and
``flask reminders send`` (one digest per owner, never twice, retried after an SMTP failure)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.dsr.services import RequestInput, log_request
from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, CalendarFeed, DeliveryState, ReminderDigest, ReminderItem, Role, User
from dpa_tracker.reports.ical import CalendarEvent, calendar, escape
from tests.factories import make_agreement, make_client, make_user
from tests.support import free_port

DAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def invoke(app, runner, *args):
    with app.app_context():
        return runner.invoke(args=list(args))


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(app, clock):
    """Two clients with an agreement each (many obligations overdue by DAY), and one user of every kind."""
    clock.set(DAY)
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        acme = make_client("Acme, Canary; Ltd")
        globex = make_client("Globex Canary Corp")
        own = make_agreement(acme, staff, reference="DPA-ACME", effective_on=date(2026, 1, 1))
        other = make_agreement(globex, staff, reference="DPA-GLOBEX", effective_on=date(2026, 1, 1))
        make_user(Role.CLIENT, "anna@acme.example", client=acme)
        make_user(Role.AUDITOR, "otto@audit.example", audits=[acme])
        make_user(Role.ADMIN, "admin@example.com")
        return {"acme": acme.id, "globex": globex.id, "own": own.id, "other": other.id, "staff": staff.id}


def _log_request(app, agreement_id: int, received_at: datetime, reference: str) -> int:
    with app.app_context():
        from dpa_tracker.models import Agreement

        staff = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        request = log_request(
            staff, db.session.get(Agreement, agreement_id), RequestInput(received_at, "email", "erasure", reference)
        )
        db.session.commit()
        return request.id


# --- the page and its API twin --------------------------------------------------------------------------


def test_staff_see_every_clients_deadlines_and_filter_them(app, client, auth, world):
    auth.login("staff@example.com")
    page = client.get("/deadlines")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Globex Canary Corp" in html and "Acme, Canary; Ltd" in html
    assert "Overdue" in html
    only = client.get(f"/deadlines?client={world['acme']}&kind=obligation").get_data(as_text=True)
    assert "DPA-GLOBEX" not in only and "DPA-ACME" in only


@pytest.mark.parametrize("email", ["anna@acme.example", "otto@audit.example"])
def test_a_client_user_and_an_auditor_see_only_their_clients_deadlines(app, client, auth, world, email):
    _log_request(app, world["other"], DAY - timedelta(hours=1), "globex-customer-7")
    auth.login(email)
    html = client.get("/deadlines").get_data(as_text=True)
    assert "DPA-ACME" in html
    assert "Globex" not in html and "DPA-GLOBEX" not in html
    # asking for the other client's deadlines shows nothing of it
    html = client.get(f"/deadlines?client={world['globex']}").get_data(as_text=True)
    assert "Globex" not in html and "DPA-GLOBEX" not in html


def test_bad_filters_give_a_form_error_on_the_page_and_422_on_the_api(app, client, auth, world):
    auth.login("staff@example.com")
    page = client.get("/deadlines?within=abc&kind=nonsense&client=-1")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "is not a number of days" in html and "is not one of" in html and "is not a client number" in html
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        _, token = create_token(None, staff)
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    for query, field in [("within=999", "within"), ("kind=nonsense", "kind"), ("client_id=x", "client_id")]:
        response = client.get(f"/api/v1/deadlines?{query}", headers=headers)
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json"
        assert field in response.get_data(as_text=True)


def test_the_api_lists_the_same_deadlines_paginated_with_tenant_rules(app, client, world):
    request_id = _log_request(app, world["own"], DAY - timedelta(hours=1), "acme-customer-3")
    with app.app_context():
        anna = db.session.scalar(select(User).where(User.email == "anna@acme.example"))
        _, token = create_token(None, anna)
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    seen, url = [], "/api/v1/deadlines?limit=5"
    while url:
        body = client.get(url, headers=headers).json
        assert len(body["items"]) <= 5
        seen += body["items"]
        url = f"/api/v1/deadlines?limit=5&cursor={body['next_cursor']}" if body["next_cursor"] else None
    assert seen and {d["client_name"] for d in seen} == {"Acme, Canary; Ltd"}
    forward = [d for d in seen if d["kind"] == "dsr_forward"]
    assert [d["ref"] for d in forward] == [f"request-{request_id}"]
    assert forward[0]["state"] == "due_soon" and forward[0]["url"] == f"/requests/{request_id}"
    kinds = client.get("/api/v1/deadlines?kind=dsr_forward", headers=headers).json["items"]
    assert [d["kind"] for d in kinds] == ["dsr_forward"]
    spec = client.get("/api/v1/openapi.json").json
    assert "/deadlines" in str(spec["paths"].keys())


# --- the iCalendar feed ---------------------------------------------------------------------------------


def _feed_url(client, auth) -> str:
    assert auth.post("/account/calendar", {}, prefix="feed").status_code == 302
    page = client.get("/account/calendar").get_data(as_text=True)
    assert "shown only once" in page
    match = re.search(r'value="(http://localhost/calendar/[A-Za-z0-9_-]+\.ics)"', page)
    assert match
    return match.group(1).removeprefix("http://localhost")


def test_a_clients_feed_holds_only_its_own_deadlines_and_a_revoked_feed_is_404(app, client, auth, world):
    request_id = _log_request(app, world["own"], DAY - timedelta(hours=1), "acme-customer-3")
    _log_request(app, world["other"], DAY - timedelta(hours=1), "globex-customer-7")
    auth.login("anna@acme.example")
    url = _feed_url(client, auth)
    again = client.get("/account/calendar").get_data(as_text=True)
    assert url not in again and "A feed is active" in again  # the address is shown once only
    client.post("/logout", data={"csrf_token": auth.csrf})
    anonymous = app.test_client()
    response = anonymous.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    raw = response.get_data()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n")), "lines are folded at 75 octets"
    assert b"\n" not in raw.replace(b"\r\n", b"")
    unfolded = raw.replace(b"\r\n ", b"").decode()
    assert "Acme\\, Canary\\; Ltd" in unfolded  # escaped TEXT
    assert "Globex" not in unfolded and "DPA-GLOBEX" not in unfolded  # the canary of the other client
    assert f"UID:request-{request_id}@dpa-tracker" in unfolded
    assert unfolded.count("BEGIN:VEVENT") == unfolded.count("END:VEVENT") > 1
    assert "DTSTAMP:20260302T080000Z" in unfolded
    # stable UIDs: the same feed twice gives the same events
    assert anonymous.get(url).get_data() == raw
    auth.login("anna@acme.example")
    assert auth.post("/account/calendar/revoke", {}, prefix="revoke").status_code == 302
    assert anonymous.get(url).status_code == 404
    assert anonymous.get("/calendar/cal_not-a-token.ics").status_code == 404
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("calendar_feed.%"))))
        assert actions == {"calendar_feed.create", "calendar_feed.revoke"}


def test_revoking_without_a_feed_says_so_and_changes_nothing(app, client, auth, world):
    auth.login("otto@audit.example")
    response = auth.post("/account/calendar/revoke", {}, prefix="revoke")
    assert response.status_code == 422
    assert "no calendar feed to revoke" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CalendarFeed)) == 0


def test_ical_text_is_escaped_and_folded_without_splitting_characters():
    assert escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    event = CalendarEvent("x-1@dpa", date(2026, 3, 2), "é" * 80, "line one\nline two", "http://h/x", "Kind")
    raw = calendar("Deadlines", [event], datetime(2026, 3, 2, tzinfo=UTC))
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    for line in lines:
        line.decode()  # never a UTF-8 character cut in two
    assert "SUMMARY:" + "é" * 80 in raw.replace(b"\r\n ", b"").decode()
    assert b"DTSTART;VALUE=DATE:20260302\r\nDTEND;VALUE=DATE:20260303\r\n" in raw


# --- flask reminders send ---------------------------------------------------------------------------------


def _digests(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (d.email, d.state.value) for d in db.session.scalars(select(ReminderDigest).order_by(ReminderDigest.id))
        ]


def test_acceptance_4_reminders_send_each_digest_once_and_a_new_one_when_something_becomes_overdue(
    app, runner, world, smtp, clock
):
    request_id = _log_request(app, world["own"], DAY - timedelta(hours=1), "acme-customer-3")
    first = invoke(app, runner, "reminders", "send")
    assert first.exit_code == 0, first.output
    assert "1 digest(s) queued" in first.output and "1 sent" in first.output
    assert len(smtp.messages) == 1
    recipients, message = smtp.messages[0]
    assert recipients == ["staff@example.com"]  # the only compliance user gets the unowned deadlines
    body = message.get_payload(decode=True).decode()
    assert f"Forward data-subject request #{request_id}" in body
    assert "Due soon:" in body and "Overdue:" in body

    again = invoke(app, runner, "reminders", "send")  # the same day: nothing new, nothing sent twice
    assert again.exit_code == 0, again.output
    assert "0 digest(s) queued" in again.output and "0 sent" in again.output
    assert len(smtp.messages) == 1

    clock.set(DAY + timedelta(days=3))  # the request was not forwarded within 2 days: now overdue
    later = invoke(app, runner, "reminders", "send")
    assert later.exit_code == 0, later.output
    assert len(smtp.messages) == 2
    new_body = smtp.messages[1][1].get_payload(decode=True).decode()
    overdue_part = new_body.split("Overdue:", 1)[1].split("Due soon:", 1)[0]
    assert f"Forward data-subject request #{request_id}" in overdue_part
    # what was already reminded as overdue is not reminded again
    old_overdue = body.split("Overdue:", 1)[1].split("Due soon:", 1)[0]
    old_lines = {line.split("  ", 2)[-1] for line in old_overdue.splitlines() if line.startswith("  - ")}
    new_lines = {line.split("  ", 2)[-1] for line in overdue_part.splitlines() if line.startswith("  - ")}
    assert old_lines and not (old_lines & new_lines)
    with app.app_context():
        keys = db.session.execute(select(ReminderItem.user_id, ReminderItem.item_key, ReminderItem.state)).all()
        assert len(keys) == len(set(keys))
    assert [state for _, state in _digests(app)] == ["sent", "sent"]


def test_acceptance_4_an_smtp_failure_is_reported_and_the_digest_is_sent_on_the_next_run(
    app, runner, world, smtp, clock
):
    good_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    failed = invoke(app, runner, "reminders", "send")
    assert failed.exit_code == 1
    assert "1 digest(s) queued" in failed.output and "1 failed (1 retried by the next run" in failed.output
    assert "could not be sent" in failed.output
    assert _digests(app) == [("staff@example.com", "failed")]
    assert smtp.messages == []
    app.config["MAIL_PORT"] = good_port
    retried = invoke(app, runner, "reminders", "send")
    assert retried.exit_code == 0, retried.output
    assert "0 digest(s) queued" in retried.output and "1 sent" in retried.output
    assert len(smtp.messages) == 1 and _digests(app) == [("staff@example.com", "sent")]
    assert invoke(app, runner, "reminders", "send").exit_code == 0
    assert len(smtp.messages) == 1
    with app.app_context():
        actions = list(
            db.session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("reminder.%")).order_by(AuditEvent.id)
            )
        )
        assert actions == ["reminder.digest_queued", "reminder.digest_failed", "reminder.digest_sent"]


def test_an_owned_obligation_is_reminded_to_its_owner_only(app, runner, world, smtp):
    with app.app_context():
        from dpa_tracker.models import Obligation
        from dpa_tracker.obligation.services import update_obligation

        owner = make_user(Role.COMPLIANCE, "owner@example.com")
        staff = db.session.get(User, world["staff"])
        obligation = db.session.scalar(
            select(Obligation).where(Obligation.agreement_id == world["own"], Obligation.clause_number == "7.1")
        )
        update_obligation(staff, obligation, owner=owner, notes="")
        db.session.commit()
        title = f"Clause 7.1 {obligation.title} (obligation due; Acme, Canary; Ltd, DPA-ACME)"
    result = invoke(app, runner, "reminders", "send")
    assert result.exit_code == 0, result.output
    bodies = {rcpt[0]: m.get_payload(decode=True).decode() for rcpt, m in smtp.messages}
    assert set(bodies) == {"owner@example.com", "staff@example.com", "admin@example.com"} - {"admin@example.com"}
    assert title in bodies["owner@example.com"]
    assert title not in bodies["staff@example.com"]
    assert "DPA-GLOBEX" not in bodies["owner@example.com"]


def test_bad_cli_arguments_and_no_smtp_server_are_refused_and_queue_nothing(app, runner, world):
    bad = invoke(app, runner, "reminders", "send", "--limit", "0")
    assert bad.exit_code == 2 and "--limit" in bad.output
    app.config["MAIL_SERVER"] = ""
    none = invoke(app, runner, "reminders", "send")
    assert none.exit_code == 1 and "No SMTP server is configured" in none.output
    assert _digests(app) == []


def test_a_sent_digest_and_its_items_cannot_be_changed(app, runner, world, smtp):
    assert invoke(app, runner, "reminders", "send").exit_code == 0
    with app.app_context():
        digest = db.session.scalars(select(ReminderDigest)).one()
        assert digest.state is DeliveryState.SENT
        digest.body = "rewritten"
        with pytest.raises(Exception, match="immutable"):
            db.session.commit()
        db.session.rollback()
        item = db.session.scalars(select(ReminderItem)).first()
        assert item is not None
        item.state = "gone"
        with pytest.raises(Exception, match="immutable"):
            db.session.commit()
        db.session.rollback()


def test_the_feed_api_twins_create_and_revoke_and_refuse_a_second_revoke(app, client, world):
    with app.app_context():
        otto = db.session.scalar(select(User).where(User.email == "otto@audit.example"))
        _, token = create_token(None, otto)
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/me/calendar-feed", headers=headers)
    assert created.status_code == 201
    url = created.json["url"].removeprefix("http://localhost")
    feed = client.get(url).get_data(as_text=True)
    assert "DPA-ACME" in feed and "DPA-GLOBEX" not in feed  # the auditor's feed: its assigned client only
    assert client.post("/api/v1/me/calendar-feed/revoke", headers=headers).json == {"revoked": True}
    assert client.get(url).status_code == 404
    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    again = client.post("/api/v1/me/calendar-feed/revoke", headers=headers)
    assert again.status_code == 422 and "no calendar feed" in again.json["detail"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def _statements(app, call) -> int:
    from sqlalchemy import event

    counted: list[str] = []

    def before(conn, cursor, statement, *args):
        counted.append(statement)

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            call()
        finally:
            event.remove(engine, "before_cursor_execute", before)
    return len(counted)


def test_each_source_reads_a_fixed_number_of_statements_however_many_rows(app, world):
    from dpa_tracker.deadline.services import DeadlineFilters, deadlines_for

    def read() -> None:
        assert deadlines_for(None, DeadlineFilters(within=366))

    _log_request(app, world["own"], DAY - timedelta(hours=1), "acme-customer-1")
    small = _statements(app, read)
    with app.app_context():
        staff = db.session.get(User, world["staff"])
        for n in range(3):
            agreement = make_agreement(make_client(f"More {n}"), staff, effective_on=date(2026, 1, 1))
            log_request(staff, agreement, RequestInput(DAY - timedelta(hours=1), "email", "erasure", f"more-{n}"))
        db.session.commit()
    assert _statements(app, read) == small


def test_audit_remediation_actions_and_deletion_tasks_are_deadlines_until_done(app, client, auth, world):
    """The two clause sources added with clause 11 and clause 13: an open remediation action past due and the
    open tasks of an ended agreement are listed, each only to those who may see its client, until done."""
    import io

    from dpa_tracker.deletion.services import CompletionInput, EndInput, end_with_workflow
    from dpa_tracker.deletion.services import complete_task as complete_deletion_task
    from dpa_tracker.evidence.services import Upload
    from dpa_tracker.inspection.services import (
        EngagementInput,
        FindingInput,
        InspectionInput,
        RemediationInput,
        add_finding,
        add_remediation,
        complete_remediation,
        record_inspection,
        save_engagement,
    )
    from dpa_tracker.models import Agreement, RemediationAction

    with app.app_context():
        staff = db.session.get_one(User, world["staff"])
        own = db.session.get_one(Agreement, world["own"])
        inspection = record_inspection(
            staff, own, InspectionInput("audit", date(2026, 2, 2), "DPO", "", "Hosting platform")
        )
        engagement = save_engagement(
            staff,
            inspection,
            EngagementInput(auditor_organisation="Audit & Co", planned_on=date(2026, 2, 3)),
            Upload(io.BytesIO(b"Independence\n"), "independence.txt"),
        )
        finding = add_finding(staff, engagement, FindingInput("7.1", "high", "No restore test", date(2026, 3, 20)))
        action = add_remediation(staff, finding, RemediationInput("Run a restore test", staff.id, date(2026, 3, 1)))
        workflow = end_with_workflow(staff, db.session.get_one(Agreement, world["other"]), EndInput(date(2026, 2, 15)))
        tasks = [(t.id, t.place, t.proof_required) for t in workflow.tasks]
        token = create_token(None, staff, "deadlines")[1]
        db.session.commit()
        action_id = action.id

    auth.login("staff@example.com")
    html = client.get("/deadlines?kind=remediation").get_data(as_text=True)
    assert "Audit finding #" in html and "Run a restore test" in html
    html = client.get("/deadlines?kind=deletion_task").get_data(as_text=True)
    assert html.count("Delete the client&#39;s data at the end (clause 13)") == len(tasks) > 0
    api = client.get(
        "/api/v1/deadlines", query_string={"kind": "remediation"}, headers={"Authorization": f"Bearer {token}"}
    ).json
    assert [d["state"] for d in api["items"]] == ["overdue"]  # due 2026-03-01, read on 2026-03-02
    auth.logout()

    auth.login("anna@acme.example")  # Acme's client user: its audit's action, never Globex's deletion tasks
    assert "Run a restore test" in client.get("/deadlines?kind=remediation").get_data(as_text=True)
    assert "clause 13" not in client.get("/deadlines?kind=deletion_task").get_data(as_text=True)
    auth.logout()

    with app.app_context():
        staff = db.session.get_one(User, world["staff"])
        complete_remediation(
            staff,
            db.session.get_one(RemediationAction, action_id),
            date(2026, 3, 2),
            Upload(io.BytesIO(b"ok\n"), "r.txt"),
        )
        from dpa_tracker.models import DeletionTask

        for task_id, _place, proof in tasks:
            complete_deletion_task(
                staff,
                db.session.get_one(DeletionTask, task_id),
                CompletionInput(date(2026, 3, 2), "Ops"),
                Upload(io.BytesIO(b"deleted\n"), "proof.txt") if proof else None,
            )
        db.session.commit()
    auth.login("staff@example.com")
    assert "Run a restore test" not in client.get("/deadlines?kind=remediation").get_data(as_text=True)
    assert "clause 13" not in client.get("/deadlines?kind=deletion_task").get_data(as_text=True)
