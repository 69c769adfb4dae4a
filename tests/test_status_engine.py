"""The status engine, rule type by rule type, as a table of (inputs, date) -> (status, reason)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dpa_tracker import clock as app_clock
from dpa_tracker.catalogue import get_template
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import Obligation, Role
from dpa_tracker.models.agreement import ObligationStatus as S
from dpa_tracker.obligation.events import record_event
from dpa_tracker.obligation.services import assess_obligation, obligation_loader, refresh_cache, status_expression
from dpa_tracker.obligation.status import AgreementTerms, assess, project
from tests.factories import make_agreement, make_client, make_user

RULES = {c.number: c.rule for c in get_template("altinsoft-dpa").clauses}
STANDING = RULES["3.1(1)"]  # grace_days 30
CONFIDENTIALITY = RULES["2.2"]  # standing, lasts confidentiality_years
RECURRING = RULES["4.1"]  # every 12 months
DELETION = RULES["13"]  # deadline, deletion_days after the end
BREACH = RULES["8.1"]  # event, breach_notice_hours

SETTINGS = {
    "subprocessor_objection_days": 30,
    "breach_notice_hours": 24,
    "deletion_days": 10,
    "confidentiality_years": 5,
}
EFFECTIVE = date(2026, 1, 1)
OPEN_TERMS = AgreementTerms(EFFECTIVE, None, SETTINGS)
ENDED_TERMS = AgreementTerms(EFFECTIVE, date(2026, 6, 30), SETTINGS)
DELETED_TERMS = AgreementTerms(EFFECTIVE, date(2026, 6, 30), SETTINGS, data_deleted_on=date(2026, 7, 5))


@dataclass
class Ev:
    added_at: datetime
    ended_at: datetime | None = None
    valid_until: date | None = None
    period_end: date | None = None
    trigger_event_id: int | None = None
    acted_at: datetime | None = None


@dataclass
class Event:
    id: int
    occurred_at: datetime
    recorded_at: datetime
    aware_at: datetime | None = None


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


D = date  # short alias for the tables
READY = Ev(at(D(2026, 1, 5)))  # readiness evidence: the breach-response procedure, answering no event
BREACH_1 = Event(1, at(D(2026, 5, 1)), at(D(2026, 5, 1)))

CASES = [
    # --- standing: due 30 days after the effective date, due soon from 30 days before
    (
        "standing, nothing yet",
        STANDING,
        OPEN_TERMS,
        [],
        [],
        D(2025, 12, 1),
        S.OPEN,
        "No evidence yet; due by 2026-01-31",
    ),
    ("standing, due soon", STANDING, OPEN_TERMS, [], [], D(2026, 1, 15), S.DUE_SOON, "due by 2026-01-31"),
    ("standing, due day", STANDING, OPEN_TERMS, [], [], D(2026, 1, 31), S.DUE_SOON, "due by 2026-01-31"),
    (
        "standing, after grace",
        STANDING,
        OPEN_TERMS,
        [],
        [],
        D(2026, 2, 1),
        S.OVERDUE,
        "No evidence; it was due on 2026-01-31",
    ),
    ("standing, evidence", STANDING, OPEN_TERMS, [Ev(at(D(2026, 1, 10)))], [], D(2026, 3, 1), S.MET, "no expiry"),
    (
        "standing, evidence not yet added",
        STANDING,
        OPEN_TERMS,
        [Ev(at(D(2026, 3, 10)))],
        [],
        D(2026, 3, 1),
        S.OVERDUE,
        "No evidence",
    ),
    (
        "standing, valid well before expiry",
        STANDING,
        OPEN_TERMS,
        [Ev(at(D(2026, 1, 10)), valid_until=D(2026, 12, 31))],
        [],
        D(2026, 6, 1),
        S.MET,
        "valid until 2026-12-31",
    ),
    (
        "standing, expires today",
        STANDING,
        OPEN_TERMS,
        [Ev(at(D(2026, 1, 10)), valid_until=D(2026, 12, 31))],
        [],
        D(2026, 12, 31),
        S.DUE_SOON,
        "Evidence expires on 2026-12-31",
    ),
    (
        "standing, expired yesterday",
        STANDING,
        OPEN_TERMS,
        [Ev(at(D(2026, 1, 10)), valid_until=D(2026, 12, 31))],
        [],
        D(2027, 1, 1),
        S.OVERDUE,
        "Evidence expired on 2026-12-31",
    ),
    (
        "standing, withdrawn before as_of",
        STANDING,
        OPEN_TERMS,
        [Ev(at(D(2026, 1, 10)), ended_at=at(D(2026, 3, 1)))],
        [],
        D(2026, 3, 2),
        S.OVERDUE,
        "No evidence",
    ),
    (
        "standing, withdrawn after as_of",
        STANDING,
        OPEN_TERMS,
        [Ev(at(D(2026, 1, 10)), ended_at=at(D(2026, 3, 1)))],
        [],
        D(2026, 2, 15),
        S.MET,
        "Met by",
    ),
    (
        "standing, lasting duty still on",
        CONFIDENTIALITY,
        ENDED_TERMS,
        [Ev(at(D(2026, 1, 10)))],
        [],
        D(2031, 6, 30),
        S.MET,
        "Met by",
    ),
    (
        "standing, lasting duty over",
        CONFIDENTIALITY,
        ENDED_TERMS,
        [Ev(at(D(2026, 1, 10)))],
        [],
        D(2031, 7, 1),
        S.NOT_APPLICABLE,
        "Duty ended on 2031-06-30, 5 years after the agreement ended on 2026-06-30",
    ),
    (
        "standing, in force after the end while data is held",
        STANDING,
        ENDED_TERMS,
        [Ev(at(D(2026, 1, 10)))],
        [],
        D(2026, 9, 1),
        S.MET,
        "in force after the end (2026-06-30) until the client's data is deleted",
    ),
    (
        "standing, in force up to the deletion day",
        STANDING,
        DELETED_TERMS,
        [Ev(at(D(2026, 1, 10)))],
        [],
        D(2026, 7, 5),
        S.MET,
        "Met by",
    ),
    (
        "standing, lapses once the data is deleted",
        STANDING,
        DELETED_TERMS,
        [Ev(at(D(2026, 1, 10)))],
        [],
        D(2026, 7, 6),
        S.NOT_APPLICABLE,
        "the client's data was deleted on 2026-07-05 (clause 13)",
    ),
    (
        "standing, no evidence after the end is still overdue",
        STANDING,
        ENDED_TERMS,
        [],
        [],
        D(2026, 9, 1),
        S.OVERDUE,
        "No evidence",
    ),
    # --- recurring: 12 months from the period end (else the added date)
    ("recurring, nothing yet", RECURRING, OPEN_TERMS, [], [], D(2026, 2, 1), S.OVERDUE, "No evidence"),
    (
        "recurring, fresh",
        RECURRING,
        OPEN_TERMS,
        [Ev(at(D(2026, 1, 20)), period_end=D(2025, 12, 31))],
        [],
        D(2026, 6, 1),
        S.MET,
        "valid until 2026-12-31",
    ),
    (
        "recurring, renew soon",
        RECURRING,
        OPEN_TERMS,
        [Ev(at(D(2026, 1, 20)), period_end=D(2025, 12, 31))],
        [],
        D(2026, 12, 15),
        S.DUE_SOON,
        "Evidence expires on 2026-12-31; renewed every 12 months",
    ),
    (
        "recurring, expired",
        RECURRING,
        OPEN_TERMS,
        [Ev(at(D(2026, 1, 20)), period_end=D(2025, 12, 31))],
        [],
        D(2027, 1, 1),
        S.OVERDUE,
        "Evidence expired on 2026-12-31",
    ),
    (
        "recurring, anchored on added date",
        RECURRING,
        OPEN_TERMS,
        [Ev(at(D(2026, 1, 20)))],
        [],
        D(2027, 1, 21),
        S.OVERDUE,
        "Evidence expired on 2027-01-20",
    ),
    (
        "recurring, newer evidence renews",
        RECURRING,
        OPEN_TERMS,
        [Ev(at(D(2026, 1, 20)), period_end=D(2025, 12, 31)), Ev(at(D(2027, 1, 5)), period_end=D(2026, 12, 31))],
        [],
        D(2027, 2, 1),
        S.MET,
        "valid until 2027-12-31",
    ),
    # --- deadline (clause 13): deletion_days after the agreement ends
    ("deadline, no end date", DELETION, OPEN_TERMS, [], [], D(2030, 1, 1), S.OPEN, "no end date is set"),
    ("deadline, before the end", DELETION, ENDED_TERMS, [], [], D(2026, 5, 1), S.OPEN, "Due on 2026-07-10"),
    ("deadline, due soon", DELETION, ENDED_TERMS, [], [], D(2026, 7, 10), S.DUE_SOON, "Due on 2026-07-10"),
    (
        "deadline, overdue",
        DELETION,
        ENDED_TERMS,
        [],
        [],
        D(2026, 7, 11),
        S.OVERDUE,
        "No evidence; due on 2026-07-10, 10 days after the agreement ended on 2026-06-30",
    ),
    (
        "deadline, proof in time",
        DELETION,
        ENDED_TERMS,
        [Ev(at(D(2026, 7, 5)))],
        [],
        D(2026, 8, 1),
        S.MET,
        "Done on 2026-07-05, within 10 days of the end on 2026-06-30",
    ),
    (
        "deadline, act in time recorded later",
        DELETION,
        ENDED_TERMS,
        [Ev(at(D(2026, 7, 20)), acted_at=at(D(2026, 7, 8)))],
        [],
        D(2026, 8, 1),
        S.MET,
        "Done on 2026-07-08",
    ),
    (
        "deadline, proof before the end does not count",
        DELETION,
        ENDED_TERMS,
        [Ev(at(D(2026, 3, 22)))],
        [],
        D(2026, 7, 11),
        S.OVERDUE,
        "evidence of 2026-03-22 predates the end and does not count",
    ),
    (
        "deadline, proof late",
        DELETION,
        ENDED_TERMS,
        [Ev(at(D(2026, 7, 20)))],
        [],
        D(2026, 8, 1),
        S.LATE,
        "Done on 2026-07-20, 20 days after the end on 2026-06-30; target 10 days",
    ),
    (
        "deadline, late stays for the look-back",
        DELETION,
        ENDED_TERMS,
        [Ev(at(D(2026, 7, 20)))],
        [],
        D(2027, 7, 20),
        S.LATE,
        "target 10 days",
    ),
    (
        "deadline, late past the look-back",
        DELETION,
        ENDED_TERMS,
        [Ev(at(D(2026, 7, 20)))],
        [],
        D(2027, 7, 21),
        S.MET,
        "late: due 2026-07-10",
    ),
    # --- event (clause 8.1): breach_notice_hours after awareness of each breach; readiness when none
    (
        "event, none and no procedure",
        BREACH,
        OPEN_TERMS,
        [],
        [],
        D(2026, 5, 1),
        S.OVERDUE,
        "No breach-response procedure documented; it was due on 2026-01-31",
    ),
    (
        "event, none and no procedure yet",
        BREACH,
        OPEN_TERMS,
        [],
        [],
        D(2025, 12, 15),
        S.OPEN,
        "No breach-response procedure documented yet; due by 2026-01-31",
    ),
    (
        "event, none with a current procedure",
        BREACH,
        OPEN_TERMS,
        [READY],
        [],
        D(2026, 5, 1),
        S.MET,
        "No personal data breach recorded since 2026-01-01; breach-response procedure valid until 2027-01-05",
    ),
    (
        "event, procedure expired",
        BREACH,
        OPEN_TERMS,
        [READY],
        [],
        D(2027, 1, 6),
        S.OVERDUE,
        "The breach-response procedure expired on 2027-01-05",
    ),
    (
        "event, open breach",
        BREACH,
        OPEN_TERMS,
        [READY],
        [BREACH_1],
        D(2026, 5, 1),
        S.DUE_SOON,
        "to be notified by 2026-05-02 09:00 UTC",
    ),
    (
        "event, breach not handled",
        BREACH,
        OPEN_TERMS,
        [READY],
        [BREACH_1],
        D(2026, 5, 3),
        S.OVERDUE,
        "not notified; deadline was 2026-05-02 09:00 UTC",
    ),
    (
        "event, breach recorded later",
        BREACH,
        OPEN_TERMS,
        [READY],
        [Event(1, at(D(2026, 5, 1)), at(D(2026, 5, 10)))],
        D(2026, 5, 3),
        S.MET,
        "No personal data breach recorded",
    ),
    (
        "event, handled in time",
        BREACH,
        OPEN_TERMS,
        [READY, Ev(at(D(2026, 5, 1), 19), trigger_event_id=1)],
        [BREACH_1],
        D(2026, 6, 1),
        S.MET,
        "All 1 personal data breach(s) notified in time",
    ),
    (
        "event, notified 30 h after awareness",
        BREACH,
        OPEN_TERMS,
        [READY, Ev(at(D(2026, 5, 2), 15), trigger_event_id=1)],
        [BREACH_1],
        D(2026, 6, 1),
        S.LATE,
        "Personal data breach of 01 May 2026 notified 30 h after awareness; target 24 h",
    ),
    (
        "event, late act recorded with its real time",
        BREACH,
        OPEN_TERMS,
        [READY, Ev(at(D(2026, 5, 1), 19), acted_at=at(D(2026, 5, 1), 10), trigger_event_id=1)],
        [BREACH_1],
        D(2026, 6, 1),
        S.MET,
        "notified in time",
    ),
    (
        "event, clock starts at awareness",
        BREACH,
        OPEN_TERMS,
        [READY, Ev(at(D(2026, 5, 4), 8), trigger_event_id=1)],
        [Event(1, at(D(2026, 5, 1)), at(D(2026, 5, 3)), aware_at=at(D(2026, 5, 3), 10))],
        D(2026, 6, 1),
        S.MET,
        "notified in time",
    ),
    (
        "event, late stays for the look-back",
        BREACH,
        OPEN_TERMS,
        [READY, Ev(at(D(2026, 5, 4)), trigger_event_id=1)],
        [BREACH_1],
        D(2027, 1, 4),
        S.LATE,
        "72 h after awareness",
    ),
    (
        "event, an expired procedure outranks late",
        BREACH,
        OPEN_TERMS,
        [READY, Ev(at(D(2026, 5, 4)), trigger_event_id=1)],
        [BREACH_1],
        D(2027, 1, 6),
        S.OVERDUE,
        "procedure expired on 2027-01-05",
    ),
    (
        "event, late even with the procedure renewed",
        BREACH,
        OPEN_TERMS,
        [READY, Ev(at(D(2026, 5, 4)), trigger_event_id=1), Ev(at(D(2026, 12, 20)))],
        [BREACH_1],
        D(2027, 5, 4),
        S.LATE,
        "72 h after awareness",
    ),
    (
        "event, late act out of the look-back",
        BREACH,
        OPEN_TERMS,
        [READY, Ev(at(D(2026, 5, 4)), trigger_event_id=1), Ev(at(D(2026, 12, 20)))],
        [BREACH_1],
        D(2027, 5, 5),
        S.MET,
        "All 1 personal data breach(s) notified in time",
    ),
    (
        "event, unrelated evidence",
        BREACH,
        OPEN_TERMS,
        [Ev(at(D(2026, 5, 1), 20))],
        [BREACH_1],
        D(2026, 6, 1),
        S.OVERDUE,
        "not notified",
    ),
]


@pytest.mark.parametrize(
    ("rule", "terms", "evidence", "events", "as_of", "status", "reason"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_assess(rule, terms, evidence, events, as_of, status, reason):
    result = assess(rule, terms, evidence, events, as_of, 30)
    assert result.status is status
    assert reason in result.reason


def test_breach_hours_come_from_the_agreement():
    terms = AgreementTerms(EFFECTIVE, None, {**SETTINGS, "breach_notice_hours": 72})
    assert assess(BREACH, terms, [READY], [BREACH_1], D(2026, 5, 4), 30).status is S.DUE_SOON
    assert assess(BREACH, terms, [READY], [BREACH_1], D(2026, 5, 5), 30).status is S.OVERDUE
    notified = Ev(at(D(2026, 5, 3), 15), trigger_event_id=1)  # 54 h: late at 24 h, in time at 72 h
    assert assess(BREACH, terms, [READY, notified], [BREACH_1], D(2026, 6, 1), 30).status is S.MET
    assert assess(BREACH, OPEN_TERMS, [READY, notified], [BREACH_1], D(2026, 6, 1), 30).status is S.LATE


@pytest.mark.parametrize(
    "rule", [STANDING, RECURRING, DELETION, BREACH], ids=["standing", "recurring", "deadline", "event"]
)
def test_not_applicable_from_the_day_it_was_marked(rule):
    marked = at(D(2026, 3, 1))
    result = assess(rule, ENDED_TERMS, [], [], D(2026, 3, 1), 30, na_reason="No data of this kind", na_set_at=marked)
    assert result.status is S.NOT_APPLICABLE
    assert result.reason == "Marked not applicable: No data of this kind"
    earlier = assess(rule, ENDED_TERMS, [], [], D(2026, 2, 1), 30, na_reason="No data of this kind", na_set_at=marked)
    assert earlier.status is not S.NOT_APPLICABLE


def test_unknown_rule_type_is_refused():
    with pytest.raises(ValueError, match="unknown rule type"):
        assess({"type": "whenever"}, OPEN_TERMS, [], [], EFFECTIVE)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_cached_projection_gives_the_same_status_on_every_later_day(case):
    """The dashboard counts from (base, due_on, lapses_on) computed once: it must agree with assess()."""
    _, rule, terms, evidence, events, computed_on, _, _ = case
    first = assess(rule, terms, evidence, events, computed_on, 30)
    # Evidence or events added after the computation day are new input (they refresh the cache);
    # only the inputs known on that day may be used for the later days.
    known_ev = [e for e in evidence if e.added_at.date() <= computed_on]
    known_events = [e for e in events if e.recorded_at.date() <= computed_on]
    for offset in [*range(0, 400, 7), 365 * 5 + 30, 365 * 6]:
        day = computed_on + timedelta(days=offset)
        if any(e.ended_at is not None and e.ended_at.date() <= day for e in known_ev):
            continue  # a withdrawal is new input: the cache is refreshed when it happens
        expected = assess(rule, terms, known_ev, known_events, day, 30).status
        assert project(first.base, first.due_on, first.lapses_on, day, 30, first.late_until) is expected, day


def test_sql_status_matches_the_engine_for_a_real_agreement(app):
    now = app_clock.now()
    today = now.date()
    with app.app_context():
        acme = make_client("SQL Twin Hosting")
        staff = make_user(Role.COMPLIANCE)
        agreement = make_agreement(
            acme, staff, signed_on=today - timedelta(days=400), effective_on=today - timedelta(days=400)
        )
        by_clause = {o.clause_number: o for o in agreement.obligations}
        add_evidence(staff, by_clause["3.1(1)"], EvidenceInput(note="policy"))
        add_evidence(staff, by_clause["3.1(2)"], EvidenceInput(note="expired", valid_until=today - timedelta(days=1)))
        add_evidence(staff, by_clause["3.1(5)"], EvidenceInput(note="soon", valid_until=today + timedelta(days=10)))
        add_evidence(staff, by_clause["4.1"], EvidenceInput(note="record", period_end=today - timedelta(days=30)))
        record_event(staff, by_clause["8.1"], occurred_at=now - timedelta(days=3), summary="Laptop lost")
        handled = record_event(staff, by_clause["9.1"], occurred_at=now - timedelta(hours=2), summary="DSAR")
        add_evidence(staff, by_clause["9.1"], EvidenceInput(note="forwarded", trigger_event_id=handled.id))
        record_event(staff, by_clause["11.1"], occurred_at=now - timedelta(hours=1), summary="Docs asked")
        db.session.commit()
        db.session.expire_all()

        obligations = db.session.scalars(
            select(Obligation).where(Obligation.agreement_id == agreement.id).options(*obligation_loader())
        ).all()
        refresh_cache(obligations)
        db.session.commit()
        for offset in (0, 5, 20, 45, 400):
            day = today + timedelta(days=offset)
            rows = dict(
                db.session.execute(
                    select(Obligation.id, status_expression(day, 30)).where(Obligation.agreement_id == agreement.id)
                ).all()
            )
            engine = {o.id: assess_obligation(o, day).status.value for o in obligations}
            assert rows == engine, day
        statuses = {assess_obligation(o, today).status for o in obligations}
        db.session.remove()
        db.engine.dispose()
    assert {S.MET, S.OVERDUE, S.DUE_SOON} <= statuses
