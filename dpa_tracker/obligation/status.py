"""The status engine: a pure function deciding an obligation's status as of a date.

Every rule reduces to a *projection* ``(base, due_on, lapses_on)`` from which the status on
any day follows (see ``project``). The same projection is cached on the obligation row so
that the dashboard can count statuses in SQL; because the status is always derived through
``project``, the page, the API and the dashboard cannot disagree.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from dpa_tracker.models.agreement import ObligationStatus as S
from dpa_tracker.workdays import WorkCalendar


class EvidenceLike(Protocol):
    added_at: datetime
    acted_at: datetime | None
    ended_at: datetime | None
    valid_until: date | None
    period_end: date | None
    trigger_event_id: int | None


class EventLike(Protocol):
    id: int
    occurred_at: datetime
    aware_at: datetime | None
    recorded_at: datetime


@dataclass(frozen=True)
class AgreementTerms:
    effective_on: date
    ends_on: date | None
    settings: Mapping[str, int]
    # The day the client's data was deleted at the end (clause 13 done), as documented on the
    # date assessed: standing and recurring duties stay in force until then.
    data_deleted_on: date | None = None
    late_lookback_months: int = 12
    # Settings counted in working days (clause 9.1) and the calendar that counts them (the processor's);
    # without a calendar they count calendar days.
    working_day_settings: frozenset[str] = frozenset()
    workdays: WorkCalendar | None = None


@dataclass(frozen=True)
class Assessment:
    status: S
    reason: str
    due_on: date | None
    base: str  # "met" or "open": the status when no date threshold applies
    lapses_on: date | None
    late_until: date | None = None  # a late act shows `late` up to and including this day
    done_on: date | None = None  # deadline rules: the day the act that counts was done


def project(
    base: str,
    due_on: date | None,
    lapses_on: date | None,
    as_of: date,
    due_soon_days: int,
    late_until: date | None = None,
) -> S:
    """Status on ``as_of`` from a projection; mirrored in SQL by ``obligation.services``.

    Precedence: lapsed, overdue, late, due soon, then the base (met or open)."""
    if lapses_on is not None and as_of > lapses_on:
        return S.NOT_APPLICABLE
    if due_on is not None and as_of > due_on:
        return S.OVERDUE
    if late_until is not None and as_of <= late_until:
        return S.LATE
    if due_on is not None and as_of >= due_on - timedelta(days=due_soon_days):
        return S.DUE_SOON
    return S(base)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def _counts_on(evidence: EvidenceLike, day: date) -> bool:
    """Evidence counts from the day it was added until the day it was withdrawn or superseded."""
    if evidence.added_at.date() > day:
        return False
    return evidence.ended_at is None or evidence.ended_at.date() > day


def done_at(evidence: EvidenceLike) -> datetime:
    """When the act the evidence proves was done; the upload time unless stated."""
    return evidence.acted_at or evidence.added_at


def clock_start(event: EventLike) -> datetime:
    """A clock starts when the processor became aware of the event (clause 8.1), else when it occurred."""
    return event.aware_at or event.occurred_at


def _setting(rule: Mapping[str, Any], terms: AgreementTerms, key: str) -> int | None:
    if f"{key}_setting" in rule:
        return int(terms.settings[rule[f"{key}_setting"]])
    if key in rule:
        return int(rule[key])
    return None


def _fmt_at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _late_until(act: date, terms: AgreementTerms) -> date:
    return add_months(act, terms.late_lookback_months)


def assess(
    rule: Mapping[str, Any],
    terms: AgreementTerms,
    evidence: Iterable[EvidenceLike],
    events: Iterable[EventLike],
    as_of: date,
    due_soon_days: int = 30,
    na_reason: str | None = None,
    na_set_at: datetime | None = None,
    blockers: Sequence[str] = (),
    na_history: Sequence[tuple[str, datetime, datetime | None]] = (),
) -> Assessment:
    """Decide the status of one obligation on ``as_of`` from its rule and its inputs.

    ``blockers`` are facts outside the evidence that break the duty (for clause 4.1: what the
    Art. 30(2) record lacks; for clause 13: processing still active after the end); a blocker
    makes a standing or recurring duty overdue and keeps a deadline from being met.
    """
    if na_reason is not None and (na_set_at is None or na_set_at.date() <= as_of):
        return Assessment(S.NOT_APPLICABLE, f"Marked not applicable: {na_reason}", None, "open", None)
    # A mark cleared later still held on the days it was in place (``na_history``: reason, set, cleared).
    for reason, set_at, cleared_at in na_history:
        if set_at.date() <= as_of and (cleared_at is None or cleared_at.date() > as_of):
            return Assessment(
                S.NOT_APPLICABLE,
                f"Marked not applicable: {reason} (cleared on {cleared_at.date() if cleared_at else '—'})",
                None,
                "open",
                None,
            )
    counted = [e for e in evidence if _counts_on(e, as_of)]
    kind = rule["type"]
    if kind in ("standing", "recurring"):
        result = _assess_continuous(rule, terms, counted, as_of, due_soon_days)
        if blockers and result.status is not S.NOT_APPLICABLE:
            more = f" (+{len(blockers) - 1} more)" if len(blockers) > 1 else ""
            # due yesterday: the projection stays overdue until the blocker is fixed (which refreshes it)
            return Assessment(S.OVERDUE, f"{blockers[0]}{more}", as_of - timedelta(days=1), "open", result.lapses_on)
        return result
    if kind == "deadline":
        return _assess_deadline(rule, terms, counted, as_of, due_soon_days, blockers)
    if kind in ("event", "on_request"):
        known = [e for e in events if e.recorded_at.date() <= as_of]
        return _assess_events(rule, terms, counted, known, as_of, due_soon_days)
    raise ValueError(f"unknown rule type {kind!r}")


def _lapse(rule: Mapping[str, Any], terms: AgreementTerms) -> tuple[date | None, str]:
    """The last day the duty applies, and why it stops.

    A duty with a survival period (clause 2.2) lasts that many years after expiry. Every other
    standing or recurring duty stays in force while the client's data is held: until the data
    is deleted at the end (clause 13), not merely until the end date."""
    if terms.ends_on is None:
        return None, ""
    years = _setting(rule, terms, "lasts_years")
    if years is not None:
        until = add_years(terms.ends_on, years)
        return until, f"Duty ended on {until}, {years} years after the agreement ended on {terms.ends_on}"
    if terms.data_deleted_on is None:
        return None, ""
    return terms.data_deleted_on, (
        f"Agreement ended on {terms.ends_on}; the client's data was deleted on {terms.data_deleted_on} (clause 13)"
    )


def _expiry(e: EvidenceLike, every_months: int | None) -> date | None:
    """The last day evidence is good for: its valid-until, else ``every_months`` after the period it covers."""
    if e.valid_until is not None:
        return e.valid_until
    if every_months is not None:
        return add_months(e.period_end or done_at(e).date(), every_months)
    return None


def _assess_continuous(
    rule: Mapping[str, Any], terms: AgreementTerms, counted: Sequence[EvidenceLike], as_of: date, window: int
) -> Assessment:
    lapses_on, lapse_reason = _lapse(rule, terms)
    recurring = rule["type"] == "recurring"
    every = int(rule.get("every_months", 12))

    if counted:
        expiries = [_expiry(e, every if recurring else None) for e in counted]
        due_on = None if any(x is None for x in expiries) else max(x for x in expiries if x is not None)
        base, latest = "met", max(counted, key=lambda e: e.added_at)
        described = f"evidence of {latest.period_end or done_at(latest).date()}"
    else:
        due_on = terms.effective_on + timedelta(days=int(rule.get("grace_days", 30)))
        base, described = "open", ""
    status = project(base, due_on, lapses_on, as_of, window)

    if status is S.NOT_APPLICABLE:
        reason = lapse_reason
    elif counted and due_on is None:
        reason = f"Met by {described} (no expiry)"
    elif counted:
        renew = f"; renewed every {every} months" if recurring else ""
        reason = {
            S.OVERDUE: f"Evidence expired on {due_on}{renew}",
            S.DUE_SOON: f"Evidence expires on {due_on}{renew}",
        }.get(status, f"Met by {described}, valid until {due_on}")
    else:
        reason = {
            S.OVERDUE: f"No evidence; it was due on {due_on}",
        }.get(status, f"No evidence yet; due by {due_on}")
    if terms.ends_on is not None and terms.ends_on < as_of and status is not S.NOT_APPLICABLE:
        reason += f"; in force after the end ({terms.ends_on}) until the client's data is deleted"
    return Assessment(status, reason, due_on, base, lapses_on)


def _assess_deadline(
    rule: Mapping[str, Any],
    terms: AgreementTerms,
    counted: Sequence[EvidenceLike],
    as_of: date,
    window: int,
    blockers: Sequence[str] = (),
) -> Assessment:
    """Clause 13: the act must be done on or after the end and within ``days`` of it."""
    days = _setting(rule, terms, "days") or 0
    if terms.ends_on is None:
        return Assessment(S.OPEN, f"Due {days} days after the agreement ends; no end date is set", None, "open", None)
    ends_on = terms.ends_on
    due_on = ends_on + timedelta(days=days)
    after_end = [e for e in counted if done_at(e).date() >= ends_on]
    before_end = [e for e in counted if done_at(e).date() < ends_on]
    if after_end and as_of >= ends_on and blockers:
        more = f" (+{len(blockers) - 1} more)" if len(blockers) > 1 else ""
        status = project("open", due_on, None, as_of, window)
        return Assessment(status, f"Not done: {blockers[0]}{more}; due on {due_on}", due_on, "open", None)
    if after_end:
        first = min(done_at(e) for e in after_end).date()
        if first <= due_on:
            return Assessment(
                S.MET, f"Done on {first}, within {days} days of the end on {ends_on}", None, "met", None, done_on=first
            )
        late_until = _late_until(first, terms)
        status = project("met", None, None, as_of, window, late_until)
        reason = (
            f"Done on {first}, {(first - ends_on).days} days after the end on {ends_on}; "
            f"target {days} days (late until {late_until})"
        )
        return Assessment(
            status,
            reason if status is S.LATE else f"Done on {first} (late: due {due_on})",
            None,
            "met",
            None,
            late_until,
            done_on=first,
        )
    status = project("open", due_on, None, as_of, window)
    early = (
        f"; evidence of {max(done_at(e) for e in before_end).date()} predates the end and does not count"
        if before_end
        else ""
    )
    if status is S.OVERDUE:
        reason = f"No evidence; due on {due_on}, {days} days after the agreement ended on {ends_on}{early}"
    else:
        reason = f"Due on {due_on}, {days} days after the agreement ends on {ends_on}{early}"
    return Assessment(status, reason, due_on, "open", None)


def _duration(delta: timedelta, in_hours: bool) -> str:
    if in_hours:
        return f"{int(delta.total_seconds() // 3600)} h"
    days = delta.total_seconds() / 86400
    return f"{days:.1f} days".replace(".0 days", " days")


def _assess_events(
    rule: Mapping[str, Any],
    terms: AgreementTerms,
    counted: Sequence[EvidenceLike],
    events: Sequence[EventLike],
    as_of: date,
    window: int,
) -> Assessment:
    """Each event has its own clock from awareness; without events, the readiness evidence decides.

    Evidence linked to an event answers it (the clock stops when the act was done); evidence
    linked to no event documents readiness (the breach-response plan, the request procedure):
    it is current for ``readiness_months`` (12) after its period or act, or until its valid-until."""
    label = rule.get("event_label", "event")
    readiness = rule.get("readiness", "documented procedure")
    verb = rule.get("act", "handled")
    start_word = "awareness" if rule["type"] == "event" else "receipt"
    hours = _setting(rule, terms, "hours")
    in_hours = hours is not None
    days = _setting(rule, terms, "days") or 0
    delta = timedelta(hours=hours) if hours is not None else timedelta(days=days)
    target = _duration(delta, in_hours)
    calendar = terms.workdays if not in_hours and rule.get("days_setting") in terms.working_day_settings else None
    if calendar is not None:
        target = f"{days} working days, {calendar.label}"

    def due_at(ev: EventLike) -> datetime:
        start = clock_start(ev)
        return start + delta if calendar is None else calendar.due_at(start, days)

    answered: dict[int, datetime] = {}
    for e in counted:
        if e.trigger_event_id is not None:
            first = answered.get(e.trigger_event_id)
            answered[e.trigger_event_id] = done_at(e) if first is None else min(first, done_at(e))
    open_events, late_events = [], []
    for ev in events:
        handled = answered.get(ev.id)
        if handled is None:
            open_events.append(ev)
        elif handled > due_at(ev):
            late_events.append((ev, handled))
    open_events.sort(key=lambda ev: clock_start(ev))

    # Readiness: evidence that answers no event.
    ready = [e for e in counted if e.trigger_event_id is None]
    every = int(rule.get("readiness_months", 12))
    if ready:
        expiries = [_expiry(e, every) for e in ready]
        ready_until: date | None = max(x for x in expiries if x is not None)
        ready_due = ready_until
    else:
        ready_until = None
        ready_due = terms.effective_on + timedelta(days=int(rule.get("grace_days", 30)))

    late_until = None
    worst_late = None
    for ev, handled in late_events:
        until = _late_until(handled.date(), terms)
        if late_until is None or until > late_until:
            late_until, worst_late = until, (ev, handled)
    dues = [d for d in [ready_due, *(due_at(ev).date() for ev in open_events)] if d is not None]
    due_on = min(dues) if dues else None
    base = "met" if ready and not open_events else "open"
    status = project(base, due_on, None, as_of, window, late_until)

    first_open = open_events[0] if open_events else None
    event_due = due_at(first_open) if first_open else None
    event_drives = first_open is not None and event_due is not None and event_due.date() == due_on
    more = f" ({len(open_events)} open)" if len(open_events) > 1 else ""
    ready_text = f"{readiness} valid until {ready_until}" if ready_until else f"no {readiness} documented"
    if status is S.LATE and worst_late is not None:
        ev, handled = worst_late
        reason = (
            f"{label.capitalize()} of {clock_start(ev):%d %b %Y} {verb} "
            f"{_duration(handled - clock_start(ev), in_hours)} after {start_word}; target {target}"
        )
        if first_open is not None and event_due is not None:
            reason += f"; {label} of {_fmt_at(clock_start(first_open))} to be {verb} by {_fmt_at(event_due)}{more}"
    elif event_drives and first_open is not None and event_due is not None:
        what = f"{label.capitalize()} of {_fmt_at(clock_start(first_open))}"
        reason = (
            f"{what} not {verb}; deadline was {_fmt_at(event_due)}{more}"
            if status is S.OVERDUE
            else f"{what} to be {verb} by {_fmt_at(event_due)}{more}"
        )
    elif status in (S.OVERDUE, S.DUE_SOON, S.OPEN):
        if ready:
            reason = (
                f"The {readiness} expired on {ready_until}"
                if status is S.OVERDUE
                else f"The {readiness} expires on {ready_until}"
            )
        else:
            reason = (
                f"No {readiness} documented; it was due on {ready_due}"
                if status is S.OVERDUE
                else f"No {readiness} documented yet; due by {ready_due}"
            )
        if open_events and first_open is not None and event_due is not None:
            reason += f"; {label} of {_fmt_at(clock_start(first_open))} to be {verb} by {_fmt_at(event_due)}{more}"
    elif events:
        reason = f"All {len(events)} {label}(s) {verb} in time; {ready_text}"
    else:
        reason = f"No {label} recorded since {terms.effective_on}; {ready_text}"
    return Assessment(status, reason, due_on, base, None, late_until)
