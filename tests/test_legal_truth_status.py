"""Statuses tell the legal truth (issue 9): `late`, readiness for event duties, clocks from awareness
to the act, clause 13 after the end, and duties that stay in force until the data is deleted.

Every check reads what a user reads: the obligation page, the dashboard, or the API."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from dpa_tracker import clock as app_clock
from dpa_tracker.agreement.services import end_agreement
from dpa_tracker.auth.services import create_token
from dpa_tracker.catalogue import get_template
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agreement,
    AuditEvent,
    Evidence,
    Obligation,
    ObligationStatus,
    ProcessingActivity,
    Role,
    TriggerEvent,
    User,
)
from dpa_tracker.obligation.events import record_event
from dpa_tracker.record.services import ActivityInput, archive_activity, create_activity
from tests.factories import make_agreement, make_client, make_user

STATUS = re.compile(r'id="status">\s*<span class="badge status-([a-z_]+)">[^<]*</span>\s*<span class="reason">([^<]*)<')
TODAY = app_clock.today()
NOW = app_clock.now()


@pytest.fixture
def staff(app):
    with app.app_context():
        user = make_user(Role.COMPLIANCE, "staff@example.com")
        db.session.commit()
        return user.id


def _staff() -> User:
    return db.session.scalar(select(User).where(User.email == "staff@example.com"))


def _new_agreement(name: str, **kwargs) -> Agreement:
    kwargs.setdefault("signed_on", TODAY - timedelta(days=200))
    kwargs.setdefault("effective_on", TODAY - timedelta(days=200))
    return make_agreement(make_client(name), _staff(), **kwargs)


def _clause(agreement_id: int, number: str) -> Obligation:
    return db.session.scalar(
        select(Obligation).where(Obligation.agreement_id == agreement_id, Obligation.clause_number == number)
    )


def _shown(http, obligation_id: int, as_of: date | None = None) -> tuple[str, str, str]:
    """(status, reason, whole page) as the obligation page shows them."""
    query = f"?as_of={as_of.isoformat()}" if as_of else ""
    page = http.get(f"/obligations/{obligation_id}{query}").get_data(as_text=True)
    match = STATUS.search(page)
    assert match, "no status on the obligation page"
    return match.group(1), html.unescape(match.group(2).strip()), page


def _api_statuses(http, token: str, agreement_id: int) -> dict[str, tuple[str, str]]:
    rows = http.get(
        f"/api/v1/agreements/{agreement_id}/obligations", headers={"Authorization": f"Bearer {token}"}
    ).json["items"]
    return {r["clause_number"]: (r["status"], r["reason"]) for r in rows}


@pytest.fixture
def token(app, staff):
    with app.app_context():
        secret = create_token(None, _staff(), "legal truth")[1]
        db.session.commit()
        return secret


# --- acceptance 1: no evidence is not compliance -------------------------------------------------


def test_a_new_agreement_with_no_evidence_has_no_obligation_met(app, client, staff, token):
    with app.app_context():
        agreement_id = _new_agreement("Fresh Hosting").id
    statuses = _api_statuses(client, token, agreement_id)
    assert len(statuses) == len(get_template("altinsoft-dpa").clauses)
    assert [n for n, (s, _) in statuses.items() if s == "met"] == []
    status, reason = statuses["8.1"]
    assert status == "overdue"
    assert "No breach-response procedure documented" in reason


def test_a_current_breach_response_procedure_makes_8_1_met_saying_no_breach_was_recorded(app, client, auth, staff):
    with app.app_context():
        agreement = _new_agreement("Ready Hosting")
        breach_duty = _clause(agreement.id, "8.1")
        add_evidence(
            _staff(),
            breach_duty,
            EvidenceInput(note="Breach-response procedure v3", valid_until=TODAY + timedelta(days=200)),
        )
        db.session.commit()
        duty_id, effective = breach_duty.id, agreement.effective_on
    auth.login("staff@example.com")
    status, reason, _ = _shown(client, duty_id)
    assert status == "met"
    assert reason == (
        f"No personal data breach recorded since {effective}; breach-response procedure valid until "
        f"{TODAY + timedelta(days=200)}"
    )


# --- acceptance 2: a breach notified late is late, and it is in the 8.3 register ----------------


def _breach(agreement_id: int, aware_at: datetime, notified_after: timedelta) -> int:
    duty = _clause(agreement_id, "8.1")
    add_evidence(_staff(), duty, EvidenceInput(note="Breach-response procedure"))
    event = record_event(
        _staff(),
        duty,
        occurred_at=aware_at - timedelta(hours=2),
        aware_at=aware_at,
        summary="Backup tape lost in transit",
    )
    add_evidence(
        _staff(),
        duty,
        EvidenceInput(
            note="Notice e-mailed to the client's notice addresses",
            trigger_event_id=event.id,
            acted_at=aware_at + notified_after,
        ),
    )
    db.session.commit()
    return duty.id


def test_a_breach_notified_30_hours_after_awareness_is_late_with_the_delay_and_in_the_8_3_register(
    app, client, auth, staff, token
):
    aware = datetime(TODAY.year, TODAY.month, TODAY.day, 8, tzinfo=UTC) - timedelta(days=20)
    with app.app_context():
        agreement = _new_agreement("Late Notice Hosting", breach_notice_hours=24)
        duty_id, agreement_id = _breach(agreement.id, aware, timedelta(hours=30)), agreement.id
        register_id = _clause(agreement_id, "8.3").id
    auth.login("staff@example.com")
    status, reason, _ = _shown(client, duty_id)
    assert status == "late"
    assert reason == f"Personal data breach of {aware:%d %b %Y} notified 30 h after awareness; target 24 h"
    assert _api_statuses(client, token, agreement_id)["8.1"][0] == "late"
    # 8.3 is the register fed by the same breach: it lists it and asks for its entry.
    _, register_reason, register_page = _shown(client, register_id)
    assert "Backup tape lost in transit" in register_page
    assert "Register: personal data breachs recorded under clause 8.1" in register_page
    assert f"personal data breach of {aware:%Y-%m-%d %H:%M} UTC to be entered in the breach register" in register_reason


def test_a_breach_notified_10_hours_after_awareness_is_met(app, client, auth, staff):
    aware = NOW - timedelta(days=20)
    with app.app_context():
        duty_id = _breach(_new_agreement("Prompt Hosting").id, aware, timedelta(hours=10))
    auth.login("staff@example.com")
    status, reason, _ = _shown(client, duty_id)
    assert status == "met"
    assert reason.startswith("All 1 personal data breach(s) notified in time")


def test_the_clock_starts_at_awareness_which_staff_can_back_date_and_which_is_audited(app, client, auth, staff):
    happened = datetime(TODAY.year, TODAY.month, TODAY.day, 6, tzinfo=UTC) - timedelta(days=10)
    with app.app_context():
        agreement = _new_agreement("Aware Hosting")
        duty = _clause(agreement.id, "8.1")
        add_evidence(_staff(), duty, EvidenceInput(note="Breach-response procedure"))
        # Aware two days after it happened; notified 20 h after awareness: in time.
        event = record_event(
            _staff(),
            duty,
            occurred_at=happened,
            aware_at=happened + timedelta(days=2),
            summary="Phishing of a support account",
        )
        add_evidence(
            _staff(),
            duty,
            EvidenceInput(
                note="Notice sent", trigger_event_id=event.id, acted_at=happened + timedelta(days=2, hours=20)
            ),
        )
        db.session.commit()
        duty_id, event_id = duty.id, event.id
    auth.login("staff@example.com")
    assert _shown(client, duty_id)[0] == "met"
    # The investigation shows awareness came a day earlier: the same notice is now 44 h after it.
    earlier = happened + timedelta(days=1)
    response = auth.post(
        f"/obligations/{duty_id}/events/{event_id}/awareness",
        {"awareness-aware_on": earlier.date().isoformat(), "awareness-aware_time": earlier.strftime("%H:%M")},
        prefix="awareness",
    )
    assert response.status_code == 302
    status, reason, page = _shown(client, duty_id)
    assert status == "late" and "44 h after awareness" in reason
    assert earlier.strftime("%Y-%m-%d %H:%M") in page
    with app.app_context():
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "event.awareness")).all()
        assert len(audit) == 1 and audit[0].actor_label == "staff@example.com"
        assert audit[0].changes["aware_at"][0].startswith((happened + timedelta(days=2)).date().isoformat())
    # Awareness before the event itself is refused and changes nothing.
    refused = auth.post(
        f"/obligations/{duty_id}/events/{event_id}/awareness",
        {"awareness-aware_on": (happened - timedelta(days=1)).date().isoformat(), "awareness-aware_time": "09:00"},
        prefix="awareness",
    )
    assert refused.status_code == 422
    assert "Awareness cannot come before the event itself." in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(TriggerEvent, event_id).aware_at == earlier


def test_an_act_time_in_the_future_or_before_its_event_is_refused_and_writes_nothing(app, staff):
    with app.app_context():
        duty = _clause(_new_agreement("Careful Hosting").id, "8.1")
        event = record_event(_staff(), duty, occurred_at=NOW - timedelta(days=3), summary="Stolen laptop")
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(Evidence))
        for acted_at, message in [
            (NOW + timedelta(hours=2), "no future times"),
            (NOW - timedelta(days=4), "earlier than the event it answers"),
        ]:
            with pytest.raises(DomainError, match=message):
                add_evidence(_staff(), duty, EvidenceInput(note="Notice", trigger_event_id=event.id, acted_at=acted_at))
            db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Evidence)) == before


def test_a_past_view_says_which_view_it_gives(app, client, auth, staff):
    with app.app_context():
        duty_id = _clause(_new_agreement("History Hosting").id, "7.1").id
    auth.login("staff@example.com")
    day = TODAY - timedelta(days=30)
    _, _, page = _shown(client, duty_id, as_of=day)
    assert f"as documented on {day.day} {day:%b %Y}" in page


# --- acceptance 3: clause 13 counts only what was done after the end, in time ----------------------


def _ended(name: str, days_ago: int = 40) -> Agreement:
    agreement = _new_agreement(name)
    end_agreement(_staff(), agreement, TODAY - timedelta(days=days_ago))
    db.session.commit()
    return agreement


def _deletion(agreement: Agreement, days_after_end: int) -> int:
    duty = _clause(agreement.id, "13")
    done = datetime.combine(agreement.ends_on + timedelta(days=days_after_end), datetime.min.time(), UTC)
    add_evidence(
        _staff(),
        duty,
        EvidenceInput(note="Deletion certificate: every copy wiped", acted_at=done + timedelta(hours=15)),
    )
    db.session.commit()
    return duty.id


@pytest.mark.parametrize(
    ("days_after_end", "status", "reason"),
    [
        (-100, "overdue", "predates the end and does not count"),
        (4, "met", "within 10 days of the end"),
        (15, "late", "15 days after the end"),
    ],
    ids=["before the end", "within the period", "after the period"],
)
def test_clause_13_counts_deletion_done_after_the_end_and_within_the_period(
    app, client, auth, staff, days_after_end, status, reason
):
    with app.app_context():
        agreement = _ended(f"Ending Hosting {days_after_end}")
        duty_id = _deletion(agreement, days_after_end)
    auth.login("staff@example.com")
    shown, shown_reason, _ = _shown(client, duty_id)
    assert shown == status
    assert reason in shown_reason


def test_an_activity_still_active_after_the_end_keeps_13_from_being_met_until_it_is_archived(app, client, auth, staff):
    with app.app_context():
        agreement = _new_agreement("Still Processing Hosting")
        # Recorded while the agreement was in force (after the end, clause 13 refuses new processing).
        activity = create_activity(_staff(), agreement.client, ActivityInput(name="Mail relay", purposes="Relay"))
        end_agreement(_staff(), agreement, TODAY - timedelta(days=40))
        db.session.commit()
        duty_id = _deletion(agreement, 3)
        activity_id = activity.id
    auth.login("staff@example.com")
    status, reason, _ = _shown(client, duty_id)
    assert status == "overdue"
    assert "processing activity “Mail relay” is still active" in reason
    with app.app_context():
        archive_activity(_staff(), db.session.get(ProcessingActivity, activity_id), "Stopped at the end")
        db.session.commit()
    assert _shown(client, duty_id)[0] == "met"


def test_another_agreement_in_force_lets_the_clients_activities_go_on(app, client, auth, staff):
    with app.app_context():
        agreement = _ended("Two Contracts Hosting")
        make_agreement(
            agreement.client, _staff(), signed_on=TODAY - timedelta(days=10), effective_on=TODAY - timedelta(days=10)
        )
        create_activity(_staff(), agreement.client, ActivityInput(name="Web hosting", purposes="Host"))
        duty_id = _deletion(agreement, 2)
    auth.login("staff@example.com")
    assert _shown(client, duty_id)[0] == "met"


# --- acceptance 4: standing duties stay in force until 13 is met ---------------------------------


def test_security_and_transfer_duties_stay_in_force_after_the_end_until_the_data_is_deleted(
    app, client, auth, staff, token
):
    with app.app_context():
        agreement = _new_agreement("Held Data Hosting")
        add_evidence(_staff(), _clause(agreement.id, "7.1"), EvidenceInput(note="Security policy v4"))
        end_agreement(_staff(), agreement, TODAY - timedelta(days=30))
        db.session.commit()
        agreement_id = agreement.id
    statuses = _api_statuses(client, token, agreement_id)
    assert statuses["7.1"][0] == "met"
    assert "until the client's data is deleted" in statuses["7.1"][1]
    assert statuses["10(2)"][0] == "overdue"  # no evidence, and still a duty while the data is held
    with app.app_context():
        _deletion(db.session.get(Agreement, agreement_id), 3)
    statuses = _api_statuses(client, token, agreement_id)
    deleted_on = TODAY - timedelta(days=27)
    for number in ("7.1", "10(2)"):
        assert statuses[number] == (
            "not_applicable",
            f"Agreement ended on {TODAY - timedelta(days=30)}; the "
            f"client's data was deleted on {deleted_on} (clause 13)",
        )
    assert statuses["2.2"][0] == "overdue"  # confidentiality lasts its years after expiry
    # The dashboard counts from the cached projection: it agrees with the engine.
    auth.login("staff@example.com")
    page = client.get("/").get_data(as_text=True)
    counts = dict(re.findall(r'data-status="([a-z_]+)">(\d+)<', page))
    engine = {s.value: sum(1 for v, _ in statuses.values() if v == s.value) for s in ObligationStatus}
    assert {k: int(v) for k, v in counts.items()} == engine


# --- acceptance 9: every face shows `late` ---------------------------------------------------------


def test_late_is_in_the_openapi_enum_the_dashboard_tiles_and_its_late_list(app, client, auth, staff):
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    obligation = next(v for k, v in schema.items() if k.startswith("Obligation"))
    assert "late" in obligation["properties"]["status"]["enum"]
    with app.app_context():
        agreement = _new_agreement("Dashboard Late Hosting")
        _breach(agreement.id, NOW - timedelta(days=5), timedelta(hours=40))
    auth.login("staff@example.com")
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'data-status="late">1<', page)
    late_list = client.get("/", query_string={"status": "late"}).get_data(as_text=True)  # the tile's link
    listed = late_list[late_list.index('id="list-count"') :]
    assert "Dashboard Late Hosting" in listed and "40 h after awareness; target 24 h" in listed


def test_the_status_report_pdf_shows_late_with_its_reason_and_counts_it(app, client, auth, staff):
    aware = datetime(TODAY.year, TODAY.month, TODAY.day, 7, tzinfo=UTC) - timedelta(days=6)
    with app.app_context():
        agreement = _new_agreement("PDF Late Hosting")
        _breach(agreement.id, aware, timedelta(hours=31))
        agreement_id = agreement.id
    auth.login("staff@example.com")
    detail = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert f"/agreements/{agreement_id}/status.pdf" in detail
    response = client.get(f"/agreements/{agreement_id}/status.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "PDF Late Hosting" in text and "late: 1" in text
    assert "notified 31 h after awareness; target 24 h" in text
    # Another client's user gets 404 and nothing of it.
    with app.app_context():
        make_user(Role.CLIENT, "other@client.example", client=make_client("Other Client"))
        db.session.commit()
    auth.logout()
    auth.login("other@client.example")
    other = client.get(f"/agreements/{agreement_id}/status.pdf")
    assert other.status_code == 404 and b"PDF Late Hosting" not in other.data


def test_clearing_a_not_applicable_mark_keeps_it_in_past_views(app, client, auth, staff, clock):
    from dpa_tracker.obligation.services import set_not_applicable

    marked, cleared = NOW - timedelta(days=20), NOW - timedelta(days=10)
    with app.app_context():
        duty = _clause(_new_agreement("Marked Hosting").id, "9.1")
        clock.set(marked)
        set_not_applicable(_staff(), duty, "No end users' data is processed")
        db.session.commit()
        clock.set(cleared)
        set_not_applicable(_staff(), duty, None)
        db.session.commit()
        duty_id = duty.id
    clock.set(NOW)
    auth.login("staff@example.com")
    status, reason, _ = _shown(client, duty_id, as_of=(NOW - timedelta(days=15)).date())
    assert status == "not_applicable"
    assert reason == f"Marked not applicable: No end users' data is processed (cleared on {cleared.date()})"
    assert _shown(client, duty_id, as_of=(NOW - timedelta(days=5)).date())[0] != "not_applicable"
    assert _shown(client, duty_id)[0] != "not_applicable"


@pytest.mark.parametrize(
    ("number", "label", "act", "target_days"),
    [
        ("6.1", "client request for the sub-processor list", "sent", 15),
        ("7.2(3)", "request for information on security measures", "answered", 15),
        ("10(2)(b)", "transfer required by law", "notified to the client with proof of the legal obligation", 2),
    ],
)
def test_requests_and_legal_transfers_run_their_own_clocks(app, client, auth, staff, number, label, act, target_days):
    received = datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC) - timedelta(days=40)
    with app.app_context():
        agreement = _new_agreement(f"Clock Hosting {number}")
        duty = _clause(agreement.id, number)
        add_evidence(_staff(), duty, EvidenceInput(note="Documented procedure"))
        request = record_event(_staff(), duty, occurred_at=received, summary="Asked by e-mail")
        db.session.commit()
        duty_id, request_id = duty.id, request.id
    auth.login("staff@example.com")
    status, reason, _ = _shown(client, duty_id)
    assert status == "overdue"
    assert reason.startswith(f"{label.capitalize()} of {received:%Y-%m-%d %H:%M} UTC not {act}")
    with app.app_context():
        add_evidence(
            _staff(),
            db.session.get(Obligation, duty_id),
            EvidenceInput(
                note="Answered", trigger_event_id=request_id, acted_at=received + timedelta(days=target_days + 3)
            ),
        )
        db.session.commit()
    status, reason, _ = _shown(client, duty_id)
    assert status == "late"
    assert f"{act} {target_days + 3} days after" in reason and f"target {target_days} days" in reason


def test_containment_remedy_and_investigation_of_a_breach_run_from_its_awareness(app, client, auth, staff):
    aware = datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC) - timedelta(days=45)
    with app.app_context():
        agreement = _new_agreement("Investigating Hosting")
        duty_id = _breach(agreement.id, aware, timedelta(hours=3))
        follow_up = _clause(agreement.id, "8.1(2)")
        add_evidence(_staff(), follow_up, EvidenceInput(note="Incident-handling procedure"))
        db.session.commit()
        follow_up_id = follow_up.id
        breach_id = db.session.scalar(select(TriggerEvent.id).where(TriggerEvent.obligation_id == duty_id))
    auth.login("staff@example.com")
    assert _shown(client, duty_id)[0] == "met"  # notified in time
    status, reason, page = _shown(client, follow_up_id)
    assert status == "overdue" and "not contained, remedied and investigated" in reason
    assert "Backup tape lost in transit" in page
    with app.app_context():
        add_evidence(
            _staff(),
            db.session.get(Obligation, follow_up_id),
            EvidenceInput(
                note="Investigation report: root cause, remedy",
                trigger_event_id=breach_id,
                acted_at=aware + timedelta(days=12),
            ),
        )
        db.session.commit()
    assert _shown(client, follow_up_id)[0] == "met"


def test_the_daily_refresh_catches_a_status_that_changes_with_the_date_alone(app, staff, clock):
    """Clause 13 of an ended agreement is met while another agreement of the client is in force; the day
    after that one ends, the client's activities are processing without an agreement, with no new input."""
    import dpa_tracker.obligation.services as services

    with app.app_context():
        ended = _ended("Two Ends Hosting")
        other = make_agreement(
            ended.client, _staff(), signed_on=TODAY - timedelta(days=100), effective_on=TODAY - timedelta(days=100)
        )
        end_agreement(_staff(), other, TODAY + timedelta(days=1))
        create_activity(_staff(), ended.client, ActivityInput(name="Web hosting", purposes="Host"))
        duty_id = _deletion(ended, 2)
        later = NOW + timedelta(days=3)

        def sql_status(day: date) -> str:
            return db.session.scalar(select(services.status_expression(day, 30)).where(Obligation.id == duty_id))

        assert sql_status(TODAY) == "met"
        clock.set(later)
        duty = db.session.get(Obligation, duty_id)
        assert services.assess_obligation(duty, later.date()).status is ObligationStatus.OVERDUE
        assert sql_status(later.date()) == "met"  # the cached projection cannot know
    result = app.test_cli_runner().invoke(args=["obligations", "refresh"])
    assert result.exit_code == 0, result.output
    assert "changed" in result.output and " 0 changed" not in result.output
    with app.app_context():
        assert (
            db.session.scalar(select(services.status_expression(later.date(), 30)).where(Obligation.id == duty_id))
            == "overdue"
        )
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "obligations.refresh")
            )
            == 1
        )
