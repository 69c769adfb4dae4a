"""Trigger events: each starts the clock of an event-driven or on-request obligation."""

from __future__ import annotations

from datetime import datetime

from dpa_tracker.audit.services import record
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Obligation, TriggerEvent, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import refresh_cache


def record_event(actor: User | None, obligation: Obligation, *, occurred_at: datetime, summary: str) -> TriggerEvent:
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
    event = TriggerEvent(obligation=obligation, occurred_at=occurred_at, summary=summary, recorded_by=actor)
    db.session.add(event)
    db.session.flush()
    refresh_cache([obligation])
    record(actor, "event.record", event, {"obligation_id": obligation.id, "occurred_at": occurred_at,
                                          "summary": summary}, client_id=obligation.agreement.client_id)
    return event
