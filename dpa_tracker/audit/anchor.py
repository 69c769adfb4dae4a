"""Anchors: the chain head written down somewhere the database owner cannot reach.

The hash chain proves that no row was changed *inside* the log, but whoever controls the database
can delete the newest events, or rewrite an old one and recompute every later hash: the chain is
then intact again. An anchor (event id + hash + number of events up to it), kept on another host
or printed on a record copy a client holds, makes both visible: the anchored event is gone, holds
another hash, or has a different number of events before it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent
from dpa_tracker.models.base import utcnow

_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Anchor:
    event_id: int
    hash: str
    count: int | None = None  # None for a head read off a record copy (which does not print the count)
    event_at: str | None = None
    anchored_at: str | None = None

    def as_json(self) -> str:
        return json.dumps(
            {
                "event_id": self.event_id,
                "hash": self.hash,
                "count": self.count,
                "event_at": self.event_at,
                "anchored_at": self.anchored_at,
            },
            sort_keys=True,
        )


def chain_head() -> AuditEvent | None:
    return db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


def take_anchor() -> Anchor:
    head = chain_head()
    if head is None:
        raise DomainError("The audit log is empty: there is nothing to anchor yet.")
    count = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= head.id)) or 0
    return Anchor(head.id, head.hash, count, head.occurred_at.isoformat(), utcnow().isoformat())


def parse_anchors(raw: str, source: str) -> list[Anchor]:
    """An anchor file: one anchor as ``flask audit anchor`` writes it, or one per line (a cron job appending)."""
    try:
        return [parse_anchor(raw, source)]
    except DomainError:
        lines = [line for line in raw.splitlines() if line.strip()]
        if len(lines) < 2:
            raise
        return [parse_anchor(line, f"{source} line {n}") for n, line in enumerate(raw.splitlines(), 1) if line.strip()]


def parse_anchor(raw: str, source: str) -> Anchor:
    """One anchor: the JSON ``flask audit anchor`` prints, or ``ID:HASH`` as printed on a record copy."""
    raw = raw.strip()
    if re.fullmatch(r"\d+:[0-9a-f]{64}", raw):
        event_id, _, hash_ = raw.partition(":")
        return Anchor(int(event_id), hash_)
    try:
        data: Any = json.loads(raw)
    except ValueError:
        data = None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("event_id"), int)
        and isinstance(data.get("hash"), str)
        and _HASH.match(data["hash"])
        and isinstance(data.get("count"), int | None)
    ):
        raise DomainError(f"{source} is not an audit anchor (JSON from `flask audit anchor`, or ID:HASH).")
    return Anchor(data["event_id"], data["hash"], data.get("count"), data.get("event_at"), data.get("anchored_at"))


def anchor_problems(anchor: Anchor) -> list[str]:
    """What the log no longer agrees with in ``anchor``; empty when the anchored head is still there, unchanged."""
    event = db.session.get(AuditEvent, anchor.event_id)
    if event is None:
        last = db.session.scalar(select(func.max(AuditEvent.id)))
        if last is None or last < anchor.event_id:
            return [
                f"the anchored head event {anchor.event_id} is missing (the log now ends at "
                f"{last or 'nothing'}): the newest events were deleted"
            ]
        return [f"the anchored head event {anchor.event_id} is missing: events were deleted"]
    problems = []
    if event.hash != anchor.hash:
        problems.append(
            f"event {anchor.event_id} no longer has the anchored hash {anchor.hash[:12]}…: "
            "the chain was rewritten and recomputed"
        )
    if anchor.count is not None:
        count = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= event.id))
        if count != anchor.count:
            problems.append(
                f"{count} events up to event {anchor.event_id}, the anchor counted {anchor.count}: "
                "events were deleted or inserted"
            )
    return problems
