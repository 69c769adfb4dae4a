"""Clause 8.1(2) takes its status from each breach's containment, remedy and investigation actions: all done
within 30 days of awareness is met, done after is late, not done past the 30 days is overdue naming the action."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dpa_tracker.breach.services import ActionInput, BreachInput, add_action, record_breach
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import Breach, Obligation, ObligationStatus, Role, User
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
