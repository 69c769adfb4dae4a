"""The filtered, paginated obligation list of the dashboard and of "My obligations"."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import contains_eager

from dpa_tracker.catalogue import load_templates
from dpa_tracker.dashboard.counts import NO_DETAILS, ClientCounts, ClientDetails
from dpa_tracker.dashboard.scores import clause_family, family_key
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AgreementStatus, Client, Obligation, ObligationStatus
from dpa_tracker.obligation.services import EngineInputs, obligation_loader, status_expression
from dpa_tracker.obligation.status import Assessment
from dpa_tracker.query_args import QueryArgs

PAGE_SIZE = 25
MAX_DUE_DAYS = 3650
ATTENTION = (ObligationStatus.OVERDUE, ObligationStatus.LATE, ObligationStatus.DUE_SOON)
_FAMILY = re.compile(r"[0-9]{1,3}")


def families() -> list[str]:
    """Clause families of every catalogue template (4, 5, 6 ...), in clause order."""
    found = {clause_family(c.number) for t in load_templates().values() for c in t.clauses}
    return sorted(found, key=family_key)


@dataclass(frozen=True)
class Filters:
    client_id: int | None = None
    family: str | None = None
    owner_id: int | None = None
    status: str | None = None  # a status value, "all", or None for the default
    due_within: int | None = None
    page: int = 1
    default_statuses: tuple[ObligationStatus, ...] = field(default=ATTENTION, compare=False)

    @property
    def statuses(self) -> tuple[ObligationStatus, ...]:
        if self.status == "all":
            return tuple(ObligationStatus)
        if self.status is not None:
            return (ObligationStatus(self.status),)
        return self.default_statuses

    def args(self, **override: Any) -> dict[str, Any]:
        """The query arguments that give this list (page links keep every filter)."""
        values = {
            "client": self.client_id,
            "family": self.family,
            "owner": self.owner_id,
            "status": self.status,
            "due": self.due_within,
            "page": self.page if self.page != 1 else None,
        }
        values.update(override)
        return {k: v for k, v in values.items() if v is not None}

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.client_id, self.family, self.owner_id, self.status, self.due_within))


def parse_filters(
    args: Mapping[str, str], default_statuses: tuple[ObligationStatus, ...] = ATTENTION
) -> tuple[Filters, list[str]]:
    """Filters from GET arguments; a bad value gives a message and leaves that filter out."""
    read = QueryArgs(args)
    read.object_id("client", "client_id", "Client", "a client number")
    read.choice(
        "family",
        "family",
        lambda raw: _FAMILY.fullmatch(raw) is not None,
        "Clause family: “{raw}” is not a clause number such as 4 or 8.",
    )
    read.object_id("owner", "owner_id", "Owner", "a user number")
    read.choice(
        "status",
        "status",
        lambda raw: raw == "all" or raw in {s.value for s in ObligationStatus},
        "Status: “{raw}” is not a status (met, due_soon, overdue, late, open, not_applicable).",
    )
    read.days("due", "due_within", "Due within", MAX_DUE_DAYS)
    read.page()
    return Filters(default_statuses=default_statuses, **read.found), read.errors


@dataclass(frozen=True)
class Page:
    filters: Filters
    total: int
    rows: list[tuple[Obligation, Assessment]]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _where(filters: Filters, day: date, window: int, visible: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [Agreement.status != AgreementStatus.DRAFT, visible]
    statuses = filters.statuses
    if set(statuses) != set(ObligationStatus):
        clauses.append(status_expression(day, window).in_([s.value for s in statuses]))
    if set(statuses) <= set(ATTENTION):
        # overdue, late and due-soon rows always satisfy this; it lets the indexes bound the scan
        clauses.append(
            or_(Obligation.cached_due_on <= day + timedelta(days=window), Obligation.cached_late_until >= day)
        )
    if filters.client_id is not None:
        clauses.append(Agreement.client_id == filters.client_id)
    if filters.family is not None:
        f = filters.family
        clauses.append(
            or_(
                Obligation.clause_number == f,
                Obligation.clause_number.like(f"{f}.%"),
                Obligation.clause_number.like(f"{f}(%"),
            )
        )
    if filters.owner_id is not None:
        clauses.append(Obligation.owner_id == filters.owner_id)
    if filters.due_within is not None:
        clauses.append(Obligation.cached_due_on <= day + timedelta(days=filters.due_within))
    return clauses


def rows_per_client(
    filters: Filters,
    counts: Mapping[int, ClientCounts],
    client_ids: Sequence[int],
    details: Mapping[int, ClientDetails],
) -> list[tuple[int, int]] | None:
    """How many rows the list holds for each client, in the list's client order (``client_ids``, the visible
    clients by name then id as the database sorts them), read from the kept status counts; None when a filter
    (owner, due within) is not in those counts. With a family filter, ``details`` holds every client's
    ``client_details``."""
    if filters.owner_id is not None or filters.due_within is not None:
        return None
    wanted = {s.value for s in filters.statuses}
    f = filters.family
    rows = []
    for client_id in client_ids:
        if filters.client_id is not None and client_id != filters.client_id:
            continue
        kept = counts.get(client_id)
        if kept is None:
            continue
        # A family counts what _where's test selects: the clause itself and its sub-clauses "7.1" and "7(2)".
        by_status = kept.statuses if f is None else details.get(client_id, NO_DETAILS).by_family.get(f, {})
        rows.append((client_id, sum(n for state, n in by_status.items() if state in wanted)))
    return rows


def obligation_page(
    filters: Filters,
    day: date,
    window: int,
    visible: ColumnElement[bool],
    per_client: Sequence[tuple[int, int]] | None = None,
) -> Page:
    """One page of the list, grouped by client (client name, then due date).

    With ``per_client`` (``rows_per_client``: the kept counts) the total is known and the page query reads only
    the clients the page falls on: one query, its sort bounded by those clients' rows. Without it (owner or due
    filters): a count query over every matching row, then the page query."""
    where = _where(filters, day, window, visible)
    offset = 0
    if per_client is None:
        base: Select[Any] = select(Obligation).join(Obligation.agreement).join(Agreement.client).where(*where)
        total = db.session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
        page_no = min(filters.page, max(1, -(-total // PAGE_SIZE)))
        offset = (page_no - 1) * PAGE_SIZE
    else:
        total = sum(n for _, n in per_client)
        page_no = min(filters.page, max(1, -(-total // PAGE_SIZE)))
        skip, start, first, on_page = (page_no - 1) * PAGE_SIZE, 0, None, []
        for client_id, n in per_client:
            if n and start + n > skip:
                first = start if first is None else first
                on_page.append(client_id)
            start += n
            if start >= skip + PAGE_SIZE:
                break
        if not on_page:
            return Page(replace(filters, page=page_no), total, [])
        offset = skip - (first or 0)
        where.append(Agreement.client_id.in_(on_page))
        base = select(Obligation).join(Obligation.agreement).join(Agreement.client).where(*where)
    obligations = (
        db.session.scalars(
            base.options(contains_eager(Obligation.agreement).contains_eager(Agreement.client), *obligation_loader())
            .order_by(
                Client.legal_name,
                Client.id,
                Obligation.cached_due_on.is_(None),
                Obligation.cached_due_on,
                Obligation.id,
            )
            .limit(PAGE_SIZE)
            .offset(offset)
        )
        .unique()
        .all()
    )
    return Page(replace(filters, page=page_no), total, assess_rows(obligations, day))


def assess_rows(obligations: Sequence[Obligation], day: date) -> list[tuple[Obligation, Assessment]]:
    """Live statuses and reasons of the listed rows, with what they share read once for all of them."""
    # Every input is read even when no row needs it (clause 4.1's record check on no client...), so that the
    # page's statement count does not depend on which rows it lists.
    inputs = EngineInputs.load(obligations, day, fixed_queries=True)
    return [(o, inputs.assess(o)) for o in obligations]
