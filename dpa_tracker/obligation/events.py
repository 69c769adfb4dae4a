"""Trigger events: each starts the clock of an event-driven or on-request obligation."""

from __future__ import annotations

from datetime import datetime

from dpa_tracker.audit.services import record
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Obligation, TriggerEvent, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import refresh_cache


def _check_awareness(event_time: datetime, aware_at: datetime, now: datetime) -> None:
    if aware_at.tzinfo is None:
        raise DomainError("The time of awareness needs a time zone.", field="aware_at")
    if aware_at > now:
        raise DomainError("Awareness cannot be in the future.", field="aware_at")
    if aware_at < event_time:
        raise DomainError("Awareness cannot come before the event itself.", field="aware_at")


def record_event(
    actor: User | None, obligation: Obligation, *, occurred_at: datetime, summary: str, aware_at: datetime | None = None
) -> TriggerEvent:
    """Record an event: when it happened, when the processor became aware (the clock's start; back-datable)
    and, implicitly, when it was recorded (now)."""
    if obligation.rule["type"] not in ("event", "on_request"):
        raise DomainError(f"Clause {obligation.clause_number} is not driven by events or requests.")
    summary = summary.strip()
    if not summary:
        raise DomainError("Describe the event.", field="summary")
    if occurred_at.tzinfo is None:
        raise DomainError("The time of the event needs a time zone.", field="occurred_at")
    if occurred_at > utcnow():
        raise DomainError("The event cannot be in the future.", field="occurred_at")
    if occurred_at.date() < obligation.agreement.effective_on:
        raise DomainError("The event is earlier than the agreement's effective date.", field="occurred_at")
    if obligation.rule.get("events_from"):
        raise DomainError(
            f"Clause {obligation.clause_number} takes its events from clause "
            f"{obligation.rule['events_from']}: record the event there."
        )
    if aware_at is not None:
        _check_awareness(occurred_at, aware_at, utcnow())
    event = TriggerEvent(
        obligation=obligation, occurred_at=occurred_at, aware_at=aware_at, summary=summary, recorded_by=actor
    )
    db.session.add(event)
    db.session.flush()
    refresh_cache([obligation])
    record(
        actor,
        "event.record",
        event,
        {"obligation_id": obligation.id, "occurred_at": occurred_at, "aware_at": aware_at, "summary": summary},
        client_id=obligation.agreement.client_id,
    )
    return event


def set_awareness(actor: User, event: TriggerEvent, aware_at: datetime) -> TriggerEvent:
    """Correct when the processor became aware of the event (back-dating allowed); audited with the old value."""
    _check_awareness(event.occurred_at, aware_at, utcnow())
    before = event.aware_at
    if before == aware_at:
        return event
    event.aware_at = aware_at
    db.session.flush()
    refresh_cache([event.obligation])
    record(
        actor,
        "event.awareness",
        event,
        {"aware_at": [before, aware_at]},
        client_id=event.obligation.agreement.client_id,
    )
    return event
