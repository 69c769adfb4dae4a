"""Issue 12, clause 9.1: the forwarding target counts working days on the processor's calendar (weekends and
public holidays per country, dpa_tracker/workdays.yaml); the status turns overdue only after that target."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.client.services import ProcessorInput, save_processor
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, Obligation, ProcessorProfile, Role, User
from dpa_tracker.workdays import calendar_for
from tests.factories import make_agreement, make_client, make_user
from tests.support import AuthActions

THURSDAY = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
BEFORE_REVOLUTION_DAY = datetime(2026, 10, 28, 10, 0, tzinfo=UTC)  # Wednesday; Sunday 1 Nov is a DZ holiday


@pytest.fixture
def world(app, clock):
    clock.set(datetime(2026, 10, 1, 8, 0, tzinfo=UTC))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        make_user(Role.ADMIN, "admin@example.com")
        save_processor(None, ProcessorInput(name="AltınSoft", country="DZ"))
        client = make_client("Alpha Foods", notice_emails=["dpo@a.example"])
        agreement = make_agreement(client, staff, reference="DPA-A")
        for o in agreement.obligations:
            if o.clause_number == "9.1":
                add_evidence(staff, o, EvidenceInput(note="Request procedure"))
        _, token = create_token(None, staff, "test")
        db.session.commit()
        return {"agreement": agreement.id, "token": token}


def _log(app, clock, world, received: datetime) -> int:
    clock.set(received + timedelta(minutes=5))
    http = app.test_client()
    auth = AuthActions(http)
    auth.login("staff@example.com")
    form = {
        "agreement_id": str(world["agreement"]),
        "received_at": received.strftime("%Y-%m-%dT%H:%M"),
        "channel": "email",
        "type": "access",
        "subject_reference": "customer 42",
    }
    response = auth.post("/requests/new", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _status(app, world, day: datetime) -> tuple[str, str]:
    http = app.test_client()
    rows = http.get(
        f"/api/v1/agreements/{world['agreement']}/obligations?limit=100",
        headers={"Authorization": f"Bearer {world['token']}"},
    ).json["items"]
    row = next(r for r in rows if r["clause_number"] == "9.1")
    return row["status"], row["reason"]


def _page(app, request_id: int) -> str:
    http = app.test_client()
    AuthActions(http).login("staff@example.com")
    return http.get(f"/requests/{request_id}").get_data(as_text=True)


def test_a_request_received_on_thursday_in_algeria_is_due_at_the_end_of_monday(app, clock, world):
    """DZ weekend is Friday-Saturday: 2 working days after Thursday are Sunday and Monday."""
    request_id = _log(app, clock, world, THURSDAY)
    page = _page(app, request_id)
    assert "due Mon 30 Nov 2026 23:59 UTC (2 working days, DZ calendar)" in page
    api = app.test_client().get(f"/api/v1/requests/{request_id}", headers={"Authorization": f"Bearer {world['token']}"})
    assert api.json["forward_due_at"] == "2026-11-30T23:59:59+00:00"
    assert api.json["forward_target"] == "2 working days, DZ calendar"

    for moment in (datetime(2026, 11, 29, 12, tzinfo=UTC), datetime(2026, 11, 30, 23, 0, tzinfo=UTC)):
        clock.set(moment)  # Sunday, then late on Monday: still within the target
        status, reason = _status(app, world, moment)
        assert status == "due_soon", reason
        assert "to be forwarded by 2026-11-30 23:59 UTC" in reason
    clock.set(datetime(2026, 12, 1, 8, tzinfo=UTC))  # Tuesday: the target has passed
    status, reason = _status(app, world, THURSDAY)
    assert status == "overdue"
    assert reason == (
        "Data-subject request received of 2026-11-26 10:00 UTC not forwarded; deadline was 2026-11-30 23:59 UTC"
    )
    assert "overdue" in _page(app, request_id)


def test_a_public_holiday_pushes_the_target_and_forwarding_on_that_day_is_met(app, clock, smtp, world):
    """Wednesday 28 Oct 2026: Thursday is the first working day; Friday-Saturday are the weekend and Sunday
    1 November (Revolution Day) a holiday, so the second is Monday 2 November. Counted in calendar days the
    request would have been late since Friday."""
    request_id = _log(app, clock, world, BEFORE_REVOLUTION_DAY)
    assert "due Mon 02 Nov 2026 23:59 UTC (2 working days, DZ calendar; skips Sun 01 Nov (Revolution Day))" in (
        _page(app, request_id)
    )
    clock.set(datetime(2026, 11, 1, 18, tzinfo=UTC))
    assert _status(app, world, BEFORE_REVOLUTION_DAY)[0] == "due_soon"
    clock.set(datetime(2026, 11, 2, 15, tzinfo=UTC))  # forwarded on the due day
    http = app.test_client()
    auth = AuthActions(http)
    auth.login("staff@example.com")
    assert auth.post(f"/requests/{request_id}/forward", {}, prefix="forward").status_code == 302
    result = app.test_cli_runner().invoke(args=["notices", "send"])
    assert "1 e-mail(s) sent" in result.output
    clock.set(datetime(2026, 11, 10, 9, tzinfo=UTC))
    status, reason = _status(app, world, BEFORE_REVOLUTION_DAY)
    assert status == "met", reason
    assert "in time" in reason


def test_changing_the_processors_country_moves_the_target_and_the_cached_status(app, clock, world):
    """Thursday 26 Nov, 2 working days: DZ says Monday 30 Nov; the default calendar (Saturday-Sunday) says Monday
    too, but 1 working day differs: Sunday 29 (DZ) against Friday 27 (default)."""
    with app.app_context():
        agreement_id = world["agreement"]
        obligation = db.session.scalar(
            select(Obligation).where(Obligation.agreement_id == agreement_id, Obligation.clause_number == "9.1")
        )
        assert obligation is not None
        obligation.agreement.dsr_forward_days = 1
        db.session.commit()
    request_id = _log(app, clock, world, THURSDAY)
    assert "due Sun 29 Nov 2026 23:59 UTC (1 working day, DZ calendar)" in _page(app, request_id)
    clock.set(datetime(2026, 11, 28, 9, tzinfo=UTC))  # Saturday: overdue on the default calendar only
    assert _status(app, world, THURSDAY)[0] == "due_soon"
    http = app.test_client()
    auth = AuthActions(http)
    auth.login("admin@example.com")
    response = auth.post("/admin/processor", {"name": "AltınSoft", "country": "fr"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "due Fri 27 Nov 2026 23:59 UTC (1 working day, FR calendar)" in _page(app, request_id)
    assert _status(app, world, THURSDAY)[0] == "overdue"
    with app.app_context():  # the dashboard's cached projection followed at once
        cached = db.session.scalar(
            select(Obligation.cached_due_on).where(
                Obligation.agreement_id == agreement_id, Obligation.clause_number == "9.1"
            )
        )
        assert cached == date(2026, 11, 27)


@pytest.mark.parametrize("country", ["Algeria", "D1", "é1"])
def test_a_bad_country_is_refused_and_changes_nothing(app, clock, world, country):
    http = app.test_client()
    auth = AuthActions(http)
    auth.login("admin@example.com")
    with app.app_context():
        audits = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = auth.post("/admin/processor", {"name": "AltınSoft", "country": country})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "two-letter ISO code" in page or "longer than 2" in page
    with app.app_context():
        assert db.session.get(ProcessorProfile, 1).country == "DZ"
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audits


def test_the_api_twin_sets_the_country_and_refuses_a_bad_one(app, clock, world):
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
        _, token = create_token(None, admin, "test")
        db.session.commit()
    http = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    bad = http.put("/api/v1/processor", json={"name": "AltınSoft", "country": "D1"}, headers=headers)
    assert bad.status_code == 422
    assert "two-letter ISO code" in bad.get_data(as_text=True)
    good = http.put("/api/v1/processor", json={"name": "AltınSoft", "country": "fr"}, headers=headers)
    assert good.status_code == 200, good.get_data(as_text=True)
    assert good.json["country"] == "FR"


def test_the_calendar_table():
    dz, fr, default = calendar_for("DZ"), calendar_for("FR"), calendar_for("")
    thursday = date(2026, 11, 26)
    assert dz.add_working_days(thursday, 1) == date(2026, 11, 29)  # Sunday
    assert default.add_working_days(thursday, 1) == date(2026, 11, 27)  # Friday
    assert fr.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 28)  # Christmas, then the weekend
    assert calendar_for("XX") == default  # a country without a calendar: Saturday-Sunday, no holidays
    # a year the table does not cover counts weekends only: never later than the true calendar
    assert dz.add_working_days(date(2030, 10, 31), 1) == date(2030, 11, 3)  # Thu -> Sun, 1 Nov 2030 not listed
    assert dz.years == {2025, 2026, 2027}
