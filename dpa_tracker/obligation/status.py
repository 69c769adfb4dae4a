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


class EvidenceLike(Protocol):
    added_at: datetime
    ended_at: datetime | None
    valid_until: date | None
    period_end: date | None
    trigger_event_id: int | None


class EventLike(Protocol):
    id: int
    occurred_at: datetime
    recorded_at: datetime


@dataclass(frozen=True)
class AgreementTerms:
    effective_on: date
    ends_on: date | None
    settings: Mapping[str, int]


@dataclass(frozen=True)
class Assessment:
    status: S
    reason: str
    due_on: date | None
    base: str  # "met" or "open": the status when no date threshold applies
    lapses_on: date | None


def project(base: str, due_on: date | None, lapses_on: date | None, as_of: date, due_soon_days: int) -> S:
    """Status on ``as_of`` from a projection; mirrored in SQL by ``obligation.services``."""
    if lapses_on is not None and as_of > lapses_on:
        return S.NOT_APPLICABLE
    if due_on is not None:
        if as_of > due_on:
            return S.OVERDUE
        if as_of >= due_on - timedelta(days=due_soon_days):
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


def _setting(rule: Mapping[str, Any], terms: AgreementTerms, key: str) -> int | None:
    if f"{key}_setting" in rule:
        return int(terms.settings[rule[f"{key}_setting"]])
    if key in rule:
        return int(rule[key])
    return None


def _fmt_at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


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
) -> Assessment:
    """Decide the status of one obligation on ``as_of`` from its rule and its inputs.

    ``blockers`` are facts outside the evidence that break the duty (for clause 4.1: what the
    Art. 30(2) record lacks); any blocker makes a standing or recurring duty overdue.
    """
    if na_reason is not None and (na_set_at is None or na_set_at.date() <= as_of):
        return Assessment(S.NOT_APPLICABLE, f"Marked not applicable: {na_reason}", None, "open", None)
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
        return _assess_deadline(rule, terms, counted, as_of, due_soon_days)
    if kind in ("event", "on_request"):
        known = [e for e in events if e.recorded_at.date() <= as_of]
        return _assess_events(rule, terms, counted, known, as_of, due_soon_days)
    raise ValueError(f"unknown rule type {kind!r}")


def _lapse(rule: Mapping[str, Any], terms: AgreementTerms) -> tuple[date | None, str]:
    """The last day the duty applies, and why it stops."""
    if terms.ends_on is None:
        return None, ""
    years = _setting(rule, terms, "lasts_years")
    if years is not None:
        until = add_years(terms.ends_on, years)
        return until, f"Duty ended on {until}, {years} years after the agreement ended on {terms.ends_on}"
    return terms.ends_on, f"Agreement ended on {terms.ends_on}"


def _assess_continuous(
    rule: Mapping[str, Any], terms: AgreementTerms, counted: Sequence[EvidenceLike], as_of: date, window: int
) -> Assessment:
    lapses_on, lapse_reason = _lapse(rule, terms)
    recurring = rule["type"] == "recurring"
    every = int(rule.get("every_months", 12))

    def expiry(e: EvidenceLike) -> date | None:
        if e.valid_until is not None:
            return e.valid_until
        if recurring:
            return add_months(e.period_end or e.added_at.date(), every)
        return None

    if counted:
        expiries = [expiry(e) for e in counted]
        due_on = None if any(x is None for x in expiries) else max(x for x in expiries if x is not None)
        base, latest = "met", max(counted, key=lambda e: e.added_at)
        described = f"evidence of {latest.period_end or latest.added_at.date()}"
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
    return Assessment(status, reason, due_on, base, lapses_on)


def _assess_deadline(
    rule: Mapping[str, Any], terms: AgreementTerms, counted: Sequence[EvidenceLike], as_of: date, window: int
) -> Assessment:
    days = _setting(rule, terms, "days") or 0
    if terms.ends_on is None:
        return Assessment(S.OPEN, f"Due {days} days after the agreement ends; no end date is set", None, "open", None)
    due_on = terms.ends_on + timedelta(days=days)
    if counted:
        latest = max(counted, key=lambda e: e.added_at)
        late = f" (late: due {due_on})" if latest.added_at.date() > due_on else ""
        return Assessment(S.MET, f"Evidence added on {latest.added_at.date()}{late}", None, "met", None)
    status = project("open", due_on, None, as_of, window)
    if status is S.OVERDUE:
        reason = f"No evidence; due on {due_on}, {days} days after the agreement ended on {terms.ends_on}"
    else:
        reason = f"Due on {due_on}, {days} days after the agreement ends on {terms.ends_on}"
    return Assessment(status, reason, due_on, "open", None)


def _assess_events(
    rule: Mapping[str, Any],
    terms: AgreementTerms,
    counted: Sequence[EvidenceLike],
    events: Sequence[EventLike],
    as_of: date,
    window: int,
) -> Assessment:
    label = rule.get("event_label", "event")
    hours = _setting(rule, terms, "hours")
    delta = timedelta(hours=hours) if hours is not None else timedelta(days=_setting(rule, terms, "days") or 0)
    handled_at: dict[int, datetime] = {}
    for e in counted:
        if e.trigger_event_id is not None:
            first = handled_at.get(e.trigger_event_id)
            handled_at[e.trigger_event_id] = e.added_at if first is None else min(first, e.added_at)
    open_events = sorted((ev for ev in events if ev.id not in handled_at), key=lambda ev: ev.occurred_at + delta)
    if not open_events:
        if not events:
            return Assessment(S.MET, f"No {label} recorded", None, "met", None)
        late = sum(1 for ev in events if handled_at[ev.id] > ev.occurred_at + delta)
        late_text = f", {late} late" if late else ""
        return Assessment(S.MET, f"All {len(events)} {label}(s) handled{late_text}", None, "met", None)
    first = open_events[0]
    deadline = first.occurred_at + delta
    due_on = deadline.date()
    status = project("open", due_on, None, as_of, window)
    more = f" ({len(open_events)} open)" if len(open_events) > 1 else ""
    what = f"{label.capitalize()} of {_fmt_at(first.occurred_at)}"
    if status is S.OVERDUE:
        reason = f"{what} not handled; deadline was {_fmt_at(deadline)}{more}"
    else:
        reason = f"{what} to handle by {_fmt_at(deadline)}{more}"
    return Assessment(status, reason, due_on, "open", None)
