"""Clause 8.1(2) takes its status from each breach's containment, remedy and investigation actions: all done
within 30 days of awareness is met, done after is late, not done past the 30 days is overdue naming the action."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dpa_tracker.auth.services import create_token
from dpa_tracker.breach.notices import queue_notice
from dpa_tracker.breach.services import ActionInput, BreachInput, add_action, record_breach
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Breach,
    BreachNotice,
    DeliveryState,
    NoticePhase,
    Obligation,
    ObligationStatus,
    Role,
    User,
)
from dpa_tracker.obligation.services import assess_obligation, due_soon_days, status_expression
from tests.factories import make_agreement, make_client, make_user

AWARE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # the 30 days run to 2026-04-01 09:30


@pytest.fixture
def breach(app, clock):
    clock.set(AWARE + timedelta(hours=1))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        agreement = make_agreement(make_client("Alpha Foods"), staff, reference="DPA-A")
        duty = next(o for o in agreement.obligations if o.clause_number == "8.1(2)")
        add_evidence(staff, duty, EvidenceInput(note="Incident-handling procedure"))  # readiness
        entry = record_breach(
            staff,
            BreachInput(
                title="Backup bucket exposed",
                occurred_at=AWARE - timedelta(days=1),
                detected_at=AWARE - timedelta(hours=1),
                aware_at=AWARE,
                natures=["confidentiality"],
                description="A bucket was public",
                contact_point="DPO",
            ),
            [agreement],
        )
        db.session.commit()
        return {"breach": entry.id, "agreement": agreement.id, "8.1(2)": duty.id}


def _act(app, world, kind, description, done_on=None, due_on=None):
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        add_action(
            staff,
            db.session.get_one(Breach, world["breach"]),
            ActionInput(
                kind=kind,
                description=description,
                owner="Ops",
                due_on=due_on,
                done_on=done_on,
                evidence="Ticket OPS-1" if done_on else "",
            ),
        )
        db.session.commit()


def _status(app, world, day):
    """The engine's answer on ``day`` and what the dashboard's SQL counts from the cache."""
    with app.app_context():
        duty = db.session.get_one(Obligation, world["8.1(2)"])
        result = assess_obligation(duty, day)
        cached = db.session.scalar(select(status_expression(day, due_soon_days())).where(Obligation.id == duty.id))
        return result.status, result.reason, cached


def test_all_three_kinds_done_within_30_days_is_met(app, clock, breach):
    clock.set(datetime(2026, 3, 20, 12, tzinfo=UTC))
    _act(app, breach, "containment", "Bucket made private", done_on=date(2026, 3, 2))
    _act(app, breach, "remedy", "Keys rotated", done_on=date(2026, 3, 5))
    status, reason, _ = _status(app, breach, date(2026, 3, 20))
    assert status is not ObligationStatus.MET  # the investigation is not done yet
    assert "investigation action recorded" in reason
    _act(app, breach, "investigation", "Root cause found", done_on=date(2026, 3, 19))
    status, reason, cached = _status(app, breach, date(2026, 3, 20))
    assert status is ObligationStatus.MET, reason
    assert cached == "met"


def test_actions_done_after_the_30_days_make_it_late(app, clock, breach):
    clock.set(datetime(2026, 4, 15, 12, tzinfo=UTC))
    _act(app, breach, "containment", "Bucket made private", done_on=date(2026, 3, 2))
    _act(app, breach, "remedy", "Keys rotated", done_on=date(2026, 3, 5))
    _act(app, breach, "investigation", "Root cause found", done_on=date(2026, 4, 10))
    status, reason, cached = _status(app, breach, date(2026, 4, 15))
    assert status is ObligationStatus.LATE, reason
    assert "contained, remedied and investigated" in reason and "target 30 days" in reason
    assert cached == "late"


def test_an_open_action_past_the_30_days_makes_it_overdue_naming_it(app, clock, breach):
    clock.set(datetime(2026, 3, 10, 12, tzinfo=UTC))
    _act(app, breach, "containment", "Bucket made private", done_on=date(2026, 3, 2))
    _act(app, breach, "remedy", "Keys rotated", done_on=date(2026, 3, 5))
    _act(app, breach, "investigation", "Root-cause analysis", due_on=date(2026, 3, 20))
    status, reason, _ = _status(app, breach, date(2026, 3, 10))
    assert status is not ObligationStatus.OVERDUE  # the 30 days still run
    status, reason, cached = _status(app, breach, date(2026, 4, 2))
    assert status is ObligationStatus.OVERDUE, reason
    assert "investigation “Root-cause analysis” (Ops, due 2026-03-20) not done" in reason
    assert cached == "overdue"  # the projection cached on 10 March turns overdue once the 30 days have run


# --- failed breach notice e-mails: seen and retried by staff --------------------------------------------------


def test_a_failed_breach_notice_is_listed_for_staff_and_retried(app, client, auth, clock, breach):
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        entry = db.session.get_one(Breach, breach["breach"])
        notice_id = queue_notice(staff, entry, entry.affected[0], NoticePhase.INITIAL)[0].id
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["notices", "send"])  # nothing listens on the SMTP port
    assert result.exit_code == 1
    assert "see and retry them on /notices/deliveries" in result.output
    with app.app_context():
        notice = db.session.get_one(BreachNotice, notice_id)
        assert notice.state is DeliveryState.FAILED
        email = notice.email
    assert auth.login("staff@example.com").status_code == 302
    page = client.get("/notices/deliveries").get_data(as_text=True)
    assert f'id="breach-notice-{notice_id}"' in page and email in page and "Backup bucket exposed" in page
    token = db_user(app)
    listed = client.get("/api/v1/breach-notices/failed", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [n["id"] for n in listed["items"]] == [notice_id]
    retried = auth.post(f"/breach-notices/{notice_id}/retry")
    assert retried.status_code == 302
    with app.app_context():
        assert db.session.get_one(BreachNotice, notice_id).state is DeliveryState.QUEUED
    assert f'id="breach-notice-{notice_id}"' not in client.get("/notices/deliveries").get_data(as_text=True)
    again = client.post(
        f"/api/v1/breach-notices/{notice_id}/retry", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert again == {"queued": 0}  # not failed any more: nothing to retry


def db_user(app):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        token = create_token(None, user, "api")[1]
        db.session.commit()
        return token
