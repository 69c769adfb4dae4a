"""Writing and verifying the audit chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import select, text

from dpa_tracker.audit.integrity import reference_problems, references
from dpa_tracker.evidence.store import EvidenceStore
from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, User
from dpa_tracker.models.audit import GENESIS_HASH
from dpa_tracker.models.base import utcnow


def _plain(value: Any) -> Any:
    """Values stored in ``changes`` must survive a JSON round trip unchanged (the hash depends on it)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


# Events about accounts and tokens (a sign-in, a new user) never change an obligation's status.
NO_STATUS_EFFECT = ("user.", "token.")
# session.info key: the clients whose status counts this transaction may have changed (None: any client), for
# the dashboard's stored counts (``dashboard.counts``, written before the commit).
CHANGED_CLIENTS = "dpa_changed_clients"


def record(
    actor: User | None,
    action: str,
    obj: Any,
    changes: dict[str, Any] | None = None,
    client_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain in the current transaction."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        # Serialise writers so two transactions never read the same chain head.
        session.execute(text("SELECT pg_advisory_xact_lock(7301)"))
    session.flush()  # give new objects their ids
    head = session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    event = AuditEvent(
        occurred_at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else "system",
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=getattr(obj, "id", None),
        client_id=client_id,
        changes=_plain(changes or {}),
        request_id=g.get("request_id", "") if has_request_context() else "cli",
        prev_hash=head or GENESIS_HASH,
    )
    event.hash = event.compute_hash()
    session.add(event)
    session.flush()
    if not action.startswith(NO_STATUS_EFFECT):
        session.info.setdefault(CHANGED_CLIENTS, set()).add(client_id)
    return event


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    problem: str


def verify_chain(batch_size: int = 5000, store: EvidenceStore | None = None) -> Iterator[ChainProblem]:
    """Walk the whole log in id order and yield every broken link or altered row; with ``store``, also every
    row or file an event recorded that no longer matches the hash the event holds (one batch at a time)."""
    expected_prev = GENESIS_HASH
    last_id = 0
    while True:
        rows = (
            db.session.execute(
                select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch_size)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        for event in rows:
            if event.prev_hash != expected_prev:
                yield ChainProblem(event.id, "link broken: previous hash does not match the row before")
            if event.compute_hash() != event.hash:
                yield ChainProblem(event.id, "row altered: content does not match its hash")
            expected_prev = event.hash
            last_id = event.id
        if store is not None:
            for event_id, problem in reference_problems(references(rows), store):
                yield ChainProblem(event_id, problem)
        db.session.expunge_all()


def describe_changes(changes: dict[str, Any]) -> str:
    return json.dumps(changes, ensure_ascii=False, sort_keys=True)
