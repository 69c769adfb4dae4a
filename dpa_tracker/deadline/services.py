"""Reading the deadlines a user may see (page, API, calendar feed) and the user's calendar feed token."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, true

from dpa_tracker.audit.services import record
from dpa_tracker.deadline.sources import KINDS, Deadline, Scope, collect
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, CalendarFeed, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import due_soon_days
from dpa_tracker.permissions import client_filter
from dpa_tracker.query_args import QueryArgs

PAGE_SIZE = 50
MAX_WITHIN = 366
FEED_PREFIX = "cal_"


@dataclass(frozen=True)
class DeadlineFilters:
    client_id: int | None = None
    owner_id: int | None = None
    kind: str | None = None
    within: int | None = None  # days ahead; None: the due-soon window (DUE_SOON_DAYS)
    page: int = 1

    def args(self, **override: Any) -> dict[str, Any]:
        values = {
            "client": self.client_id,
            "owner": self.owner_id,
            "kind": self.kind,
            "within": self.within,
            "page": self.page if self.page != 1 else None,
        }
        values.update(override)
        return {k: v for k, v in values.items() if v is not None}

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.client_id, self.owner_id, self.kind, self.within))


def parse_filters(args: Mapping[str, str]) -> tuple[DeadlineFilters, list[str]]:
    """Filters from the page's GET arguments; a bad value gives a message naming it."""
    read = QueryArgs(args)
    read.object_id("client", "client_id", "Client", "a client number")
    read.object_id("owner", "owner_id", "Owner", "a user number")
    read.choice("kind", "kind", lambda raw: raw in KINDS, f"Kind: “{{raw}}” is not one of {', '.join(KINDS)}.")
    read.days("within", "within", "Within", MAX_WITHIN)
    read.page()
    return DeadlineFilters(**read.found), read.errors


def scope_for(user: User | None, filters: DeadlineFilters, now: datetime | None = None) -> Scope:
    """The reading scope of ``user`` (None: the system, every client) with ``filters``."""
    window = due_soon_days()
    return Scope(
        now=now or utcnow(),
        horizon=filters.within if filters.within is not None else window,
        soon_window=window,
        visible=true() if user is None else client_filter(user, Agreement.client_id),
        client_id=filters.client_id,
        owner_id=filters.owner_id,
    )


def deadlines_for(user: User | None, filters: DeadlineFilters) -> list[Deadline]:
    """Every deadline ``user`` may see that the filters keep, soonest first."""
    return collect(scope_for(user, filters), [filters.kind] if filters.kind else None)


@dataclass(frozen=True)
class DeadlinePage:
    filters: DeadlineFilters
    total: int
    rows: list[Deadline]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def deadline_page(user: User, filters: DeadlineFilters) -> DeadlinePage:
    rows = deadlines_for(user, filters)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(filters.page, pages)
    start = (page - 1) * PAGE_SIZE
    return DeadlinePage(replace(filters, page=page), len(rows), rows[start : start + PAGE_SIZE])


# --- the calendar feed token ---------------------------------------------------------------------------


def _digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def current_feed(user: User) -> CalendarFeed | None:
    return db.session.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
        .order_by(CalendarFeed.id.desc())
        .limit(1)
    )


def create_feed(actor: User) -> tuple[CalendarFeed, str]:
    """A new feed token for the actor (revoking the previous one); the plain token is returned once."""
    if not actor.active:
        raise DomainError("Cannot create a calendar feed for an inactive user.")
    previous = current_feed(actor)
    if previous is not None:
        revoke_feed(actor, previous)
    plain = FEED_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed(user=actor, prefix=plain[:12], token_hash=_digest(plain))
    db.session.add(feed)
    db.session.flush()
    record(actor, "calendar_feed.create", feed, {"prefix": feed.prefix}, client_id=actor.client_id)
    return feed, plain


def revoke_feed(actor: User, feed: CalendarFeed | None) -> None:
    if feed is None or feed.revoked_at is not None:
        raise DomainError("You have no calendar feed to revoke.", field="feed")
    feed.revoked_at = utcnow()
    db.session.flush()
    record(actor, "calendar_feed.revoke", feed, {"prefix": feed.prefix}, client_id=actor.client_id)


def user_for_feed(plain: str) -> User | None:
    """The active user a live feed token belongs to; None for an unknown or revoked token."""
    if len(plain) > 200:
        return None
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _digest(plain)))
    if feed is None or feed.revoked_at is not None or not feed.user.active:
        return None
    return feed.user
