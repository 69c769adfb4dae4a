"""Status counts per client for the dashboard, kept in the process and re-counted only where something changed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from typing import Any

from sqlalchemy import func, select

from dpa_tracker.dashboard.scores import Score, score
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AgreementStatus, AuditEvent, Obligation
from dpa_tracker.obligation.services import status_expression


@dataclass(frozen=True)
class ClientCounts:
    """One client's status counts: in all and per agreement.

    Kept between requests with the counts, and so are the scores made from them (computed on first use)."""

    statuses: dict[str, int]
    by_agreement: dict[int, dict[str, int]]

    @cached_property
    def score(self) -> Score:
        return score(self.statuses)

    @cached_property
    def _agreement_scores(self) -> dict[int, Score]:
        return {agreement_id: score(counts) for agreement_id, counts in self.by_agreement.items()}

    def agreement_score(self, agreement_id: int) -> Score:
        return self._agreement_scores.get(agreement_id) or score({})


@dataclass(frozen=True)
class FamilyCounts:
    """One client's status counts per clause family: its heat-map row, and the list's family filter."""

    by_family: dict[str, dict[str, int]]

    @cached_property
    def scores(self) -> dict[str, Score]:
        """The heat-map row: a score per clause family."""
        return {family: score(counts) for family, counts in self.by_family.items()}


@dataclass(frozen=True)
class _Counts:
    """Status counts of every client, valid up to (and including) one audit event, and the per-family counts of
    the clients read so far (read on demand: the heat-map shows 50 clients, and only the family filter needs
    every client's)."""

    database: str
    day: date
    window: int
    upto_id: int
    upto_hash: str
    per_client: dict[int, ClientCounts]
    families: dict[int, FamilyCounts]


_counts: _Counts | None = None  # per process; replaced whole, never mutated
RECENT_EVENTS = 500  # more changes than this since the last count: count everything again
# Events about accounts and tokens (a sign-in, a new user) never change an obligation's status.
NO_STATUS_EFFECT = ("user.", "token.")
NO_FAMILIES = FamilyCounts({})


def clear_counts_cache() -> None:
    global _counts
    _counts = None


def _family(clause_number: Any) -> Any:
    """SQL twin of ``scores.clause_family``: "8.1(2)" → "8" (what precedes the first "." and then the first "(")."""
    if db.session.get_bind().dialect.name == "postgresql":
        head = func.split_part(func.split_part(clause_number, ".", 1), "(", 1)
    else:
        before_dot = func.substr(clause_number, 1, func.instr(clause_number.concat("."), ".") - 1)
        head = func.substr(before_dot, 1, func.instr(before_dot.concat("("), "(") - 1)
    return func.trim(head)


def _grouped(column: Any, day: date, window: int, client_ids: Iterable[int] | None) -> Any:
    """(client id, ``column``, status, count) over the obligations of agreements in force (not drafts)."""
    status = status_expression(day, window).label("status")
    stmt = (
        select(Agreement.client_id, column, status, func.count())
        .select_from(Obligation)
        .join(Obligation.agreement)
        .where(Agreement.status != AgreementStatus.DRAFT)
        .group_by(Agreement.client_id, column, status)
    )
    if client_ids is not None:
        stmt = stmt.where(Agreement.client_id.in_(sorted(client_ids)))
    return db.session.execute(stmt)


def _count(day: date, window: int, client_ids: set[int] | None = None) -> dict[int, ClientCounts]:
    """One GROUP BY query (per agreement and status), whatever the number of clients."""
    statuses: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_agreement: dict[int, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for client_id, agreement_id, state, count in _grouped(Agreement.id, day, window, client_ids):
        by_agreement[client_id][agreement_id][state] = count
        statuses[client_id][state] += count
    return {cid: ClientCounts(dict(statuses[cid]), dict(by_agreement[cid])) for cid in by_agreement}


def _count_families(day: date, window: int, client_ids: Iterable[int]) -> dict[int, FamilyCounts]:
    """One GROUP BY query per clause family and status, for these clients (each gets an entry, even empty).

    Grouping by family rather than by clause number gives a third of the rows; and a client's families are read
    only when a page shows them: counting them for every client doubled the cost of a cold dashboard."""
    wanted = set(client_ids)
    by_family: dict[int, dict[str, dict[str, int]]] = {cid: defaultdict(dict) for cid in wanted}
    if wanted:
        for client_id, family, state, count in _grouped(_family(Obligation.clause_number), day, window, wanted):
            by_family[client_id][family][state] = count
    return {cid: FamilyCounts(dict(families)) for cid, families in by_family.items()}


def _count_all(database: str, day: date, window: int) -> dict[int, ClientCounts]:
    global _counts
    # Read the chain head first, then count: the counts include at least every change up to it.
    head = db.session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    per_client = _count(day, window)
    _counts = _Counts(database, day, window, head.id, head.hash, per_client, {}) if head else None
    return per_client


def status_counts(day: date, window: int) -> dict[int, ClientCounts]:
    """{client id: {status: count}} for every client, kept up to date by re-counting only what changed.

    Counting reads every obligation, so the counts are kept between requests together with the audit
    event they are valid up to. Every change writes an audit event in its own transaction, and the
    audit chain serialises those transactions (each event carries the hash of the one before), so the
    events after that one name exactly the clients whose counts may have changed: only those are
    counted again, with their family counts. An event without a client
    (e.g. a change to the shared measure or sub-processor libraries), a new day, or a different database
    means counting everything again.
    """
    global _counts
    database = db.engine.url.render_as_string()
    state = _counts
    if state is None or (state.database, state.day, state.window) != (database, day, window):
        return _count_all(database, day, window)
    events = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash, AuditEvent.client_id, AuditEvent.action)
        .where(AuditEvent.id >= state.upto_id)
        .order_by(AuditEvent.id)
        .limit(RECENT_EVENTS + 1)
    ).all()
    if not events or (events[0].id, events[0].hash) != (state.upto_id, state.upto_hash) or len(events) > RECENT_EVENTS:
        return _count_all(database, day, window)
    if len(events) == 1:
        return state.per_client
    relevant = [e for e in events[1:] if not e.action.startswith(NO_STATUS_EFFECT)]
    if any(e.client_id is None for e in relevant):
        return _count_all(database, day, window)
    changed = {e.client_id for e in relevant}
    per_client = {cid: counts for cid, counts in state.per_client.items() if cid not in changed}
    families = {cid: counts for cid, counts in state.families.items() if cid not in changed}
    if changed:  # families too, now rather than when shown: as many statements whoever the changed clients are
        per_client.update(_count(day, window, changed))
        families.update(_count_families(day, window, changed))
    _counts = _Counts(database, day, window, events[-1].id, events[-1].hash, per_client, families)
    return per_client


def family_counts(day: date, window: int, client_ids: Iterable[int]) -> dict[int, FamilyCounts]:
    """The per-family counts of these clients, read for those not yet read and kept with the status counts.

    Call after ``status_counts`` in the same request: it brings the kept counts up to date (the families of
    changed clients read again). Counts read here may include a change made since; the next ``status_counts``
    sees that change's event and reads them again, so they are never older than the status counts."""
    global _counts
    wanted = set(client_ids)
    state = _counts
    if state is None or (state.database, state.day, state.window) != (db.engine.url.render_as_string(), day, window):
        return _count_families(day, window, wanted)  # nothing kept to add them to
    missing = wanted - state.families.keys()
    if not missing:
        return {cid: state.families[cid] for cid in wanted}
    read = _count_families(day, window, missing)
    if _counts is state:  # not replaced meanwhile (another thread): keep what was read
        _counts = replace(state, families={**state.families, **read})
    return {cid: read[cid] if cid in read else state.families[cid] for cid in wanted}
