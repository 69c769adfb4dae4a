"""Status counts per client for the dashboard, kept in the process and re-counted only where something changed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from typing import Any

from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session

from dpa_tracker.audit.services import CHANGED_CLIENTS, NO_STATUS_EFFECT
from dpa_tracker.dashboard.scores import Score, add, score
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AgreementStatus, AuditEvent, Client, Obligation, StoredCounts
from dpa_tracker.obligation.services import due_soon_days, status_expression, today


@dataclass(frozen=True)
class ClientCounts:
    """One client's status counts in all: the tiles, the ranking of clients and their scores.

    Kept between requests with the counts, and so is the score made from them (computed on first use)."""

    statuses: dict[str, int]

    @cached_property
    def score(self) -> Score:
        return score(self.statuses)


@dataclass(frozen=True)
class ClientDetails:
    """One client's status counts per agreement (its agreement scores) and per clause family (its heat-map row,
    and the list's family filter): needed only for the clients a page shows, so read on demand."""

    by_agreement: dict[int, dict[str, int]]
    by_family: dict[str, dict[str, int]]

    @cached_property
    def _agreement_scores(self) -> dict[int, Score]:
        return {agreement_id: score(counts) for agreement_id, counts in self.by_agreement.items()}

    def agreement_score(self, agreement_id: int) -> Score:
        return self._agreement_scores.get(agreement_id) or score({})

    @cached_property
    def family_scores(self) -> dict[str, Score]:
        """The heat-map row: a score per clause family."""
        return {family: score(counts) for family, counts in self.by_family.items()}


NO_DETAILS = ClientDetails({}, {})


@dataclass(frozen=True)
class _Counts:
    """Status counts of every client, valid up to (and including) one audit event, and the details of the clients
    read so far (read on demand: a page shows 50 clients, and only the family filter needs every client's).

    ``stored`` are the clients whose stored row was up to date when the counts were read: their details are read
    from that row rather than counted."""

    database: str
    day: date
    window: int
    upto_id: int
    upto_hash: str
    per_client: dict[int, ClientCounts]
    details: dict[int, ClientDetails]
    stored: frozenset[int]


_counts: _Counts | None = None  # per process; replaced whole, never mutated
RECENT_EVENTS = 500  # more changes than this since the last count: count everything again


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


def _grouped(columns: tuple[Any, ...], day: date, window: int, client_ids: Iterable[int] | None) -> Any:
    """(client id, *``columns``, status, count) over the obligations of agreements in force (not drafts)."""
    status = status_expression(day, window).label("status")
    stmt = (
        select(Agreement.client_id, *columns, status, func.count())
        .select_from(Obligation)
        .join(Obligation.agreement)
        .where(Agreement.status != AgreementStatus.DRAFT)
        .group_by(Agreement.client_id, *columns, status)
    )
    if client_ids is not None:
        stmt = stmt.where(Agreement.client_id.in_(sorted(client_ids)))
    return db.session.execute(stmt)


def _count(day: date, window: int, client_ids: set[int] | None = None) -> dict[int, ClientCounts]:
    """One GROUP BY query (per client and status), whatever the number of clients."""
    statuses: dict[int, dict[str, int]] = defaultdict(dict)
    for client_id, state, count in _grouped((), day, window, client_ids):
        statuses[client_id][state] = count
    return {cid: ClientCounts(counts) for cid, counts in statuses.items()}


def _count_details(day: date, window: int, client_ids: Iterable[int]) -> dict[int, ClientDetails]:
    """Two GROUP BY queries (per agreement, per clause family), for these clients (each gets an entry, even empty).

    Grouping by family rather than by clause number gives a third of the rows; and a client's details are read
    only when a page shows them: counting them for every client doubled the cost of a cold dashboard."""
    wanted = set(client_ids)
    by_agreement: dict[int, dict[int, dict[str, int]]] = {cid: defaultdict(dict) for cid in wanted}
    by_family: dict[int, dict[str, dict[str, int]]] = {cid: defaultdict(dict) for cid in wanted}
    if wanted:
        for client_id, agreement_id, state, count in _grouped((Agreement.id,), day, window, wanted):
            by_agreement[client_id][agreement_id][state] = count
        for client_id, family, state, count in _grouped((_family(Obligation.clause_number),), day, window, wanted):
            by_family[client_id][family][state] = count
    return {cid: ClientDetails(dict(by_agreement[cid]), dict(by_family[cid])) for cid in wanted}


def _count_all(database: str, day: date, window: int) -> dict[int, ClientCounts]:
    """Every client's counts for a process that has none: the stored counts of today that no later event of their
    client makes stale, and a count of the others (every client, before the day's first change or refresh)."""
    global _counts
    # Read the chain head first, then the counts: they include at least every change up to it.
    head = db.session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    if head is None:
        _counts = None
        return {}
    per_client = _fresh_stored_counts(day, window)
    stored = frozenset(per_client)
    if not stored:
        per_client = _count(day, window)
    else:
        others = set(db.session.scalars(select(Client.id))) - stored
        if others:
            per_client.update(_count(day, window, others))
    _counts = _Counts(database, day, window, head.id, head.hash, per_client, {}, stored)
    return per_client


def _fresh_stored_counts(day: date, window: int) -> dict[int, ClientCounts]:
    """Today's stored counts whose client has no event after them (an event of no client concerns them all)."""
    rows = db.session.execute(
        select(StoredCounts.client_id, StoredCounts.upto_event_id, StoredCounts.statuses).where(
            StoredCounts.day == day, StoredCounts.due_soon_days == window
        )
    ).all()
    if not rows:
        return {}
    # The events since the oldest row, read by id range (a GROUP BY here let SQLite walk the client index of the
    # whole log: 100 ms at a million events): a day's changes at most, as the daily refresh stores every row.
    latest: dict[int | None, int] = {}
    for client_id, event_id, action in db.session.execute(
        select(AuditEvent.client_id, AuditEvent.id, AuditEvent.action).where(
            AuditEvent.id > min(row.upto_event_id for row in rows)
        )
    ):
        if not action.startswith(NO_STATUS_EFFECT):
            latest[client_id] = max(event_id, latest.get(client_id, 0))
    anyone = latest.get(None, 0)
    return {
        row.client_id: ClientCounts(row.statuses)
        for row in rows
        if max(anyone, latest.get(row.client_id, 0)) <= row.upto_event_id
    }


def _stored_rows(day: date, window: int, client_ids: set[int]) -> dict[int, tuple[int, ClientCounts, ClientDetails]]:
    """{client id: (the event the row is up to, its counts, its details)} of these clients' rows of today."""
    return {
        client_id: (upto, ClientCounts(statuses), ClientDetails({int(k): v for k, v in agreements.items()}, families))
        for client_id, upto, statuses, agreements, families in db.session.execute(
            select(
                StoredCounts.client_id,
                StoredCounts.upto_event_id,
                StoredCounts.statuses,
                StoredCounts.by_agreement,
                StoredCounts.by_family,
            ).where(
                StoredCounts.client_id.in_(sorted(client_ids)),
                StoredCounts.day == day,
                StoredCounts.due_soon_days == window,
            )
        )
    }


def store_counts(client_ids: set[int] | None = None) -> None:
    """Store today's counts of these clients (of every client: None) in the current transaction, after its audit
    events, so that a new process reads them rather than counting (``_count_all``)."""
    day, window = today(), due_soon_days()
    session = db.session
    upto = session.scalar(select(func.max(AuditEvent.id))) or 0
    ids = set(session.scalars(select(Client.id))) if client_ids is None else set(client_ids)
    details = _count_details(day, window, ids)  # the status counts in all are its agreements' summed
    if client_ids is None:
        session.execute(delete(StoredCounts))
    elif ids:
        session.execute(delete(StoredCounts).where(StoredCounts.client_id.in_(sorted(ids))))
    if ids:
        session.execute(
            insert(StoredCounts),
            [
                {
                    "client_id": cid,
                    "day": day,
                    "due_soon_days": window,
                    "upto_event_id": upto,
                    "statuses": add(details[cid].by_agreement.values()),
                    "by_agreement": {str(k): v for k, v in details[cid].by_agreement.items()},
                    "by_family": details[cid].by_family,
                }
                for cid in sorted(ids)
            ],
        )
    pending = session.info.get(CHANGED_CLIENTS)
    if pending is not None:
        if client_ids is None:
            pending.clear()
        else:
            pending -= ids


@event.listens_for(Session, "before_commit")
def _store_changed_counts(session: Session) -> None:
    """Before a commit that recorded changes (``audit.services.record``): store the changed clients' counts."""
    changed = session.info.pop(CHANGED_CLIENTS, None)
    if changed:
        store_counts(None if None in changed else {cid for cid in changed if cid is not None})


@event.listens_for(Session, "after_soft_rollback")
def _forget_changed_clients(session: Session, previous_transaction: Any) -> None:
    session.info.pop(CHANGED_CLIENTS, None)


def status_counts(day: date, window: int) -> dict[int, ClientCounts]:
    """{client id: {status: count}} for every client, kept up to date by re-counting only what changed.

    Counting reads every obligation, so the counts are kept between requests together with the audit
    event they are valid up to. Every change writes an audit event in its own transaction, and the
    audit chain serialises those transactions (each event carries the hash of the one before), so the
    events after that one name exactly the clients whose counts may have changed: only those are
    counted again, with their details. An event without a client (e.g. a change to the shared measure
    or sub-processor libraries), a new day, or a different database means starting again from the stored
    counts (``_count_all``).
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
    latest = {e.client_id: e.id for e in relevant}  # events in id order: each changed client's last
    changed = set(latest)
    per_client = {cid: counts for cid, counts in state.per_client.items() if cid not in changed}
    details = {cid: counts for cid, counts in state.details.items() if cid not in changed}
    if changed:
        # What each change stored for its clients, in its own transaction (so including its event); the others
        # (a row missing or older than the client's last event) counted, details too, whoever they are.
        for cid, (upto, counts, client) in _stored_rows(day, window, changed).items():
            if upto >= latest[cid]:
                per_client[cid], details[cid] = counts, client
        stale = changed - per_client.keys()
        if stale:
            per_client.update(_count(day, window, stale))
            details.update(_count_details(day, window, stale))
    _counts = _Counts(
        database, day, window, events[-1].id, events[-1].hash, per_client, details, state.stored - changed
    )
    return per_client


def client_details(day: date, window: int, client_ids: Iterable[int]) -> dict[int, ClientDetails]:
    """The per-agreement and per-family counts of these clients, read for those not yet read (from their stored
    row when it was up to date, else counted) and kept with the status counts.

    Call after ``status_counts`` in the same request: it brings the kept counts up to date (the details of
    changed clients counted again). Details read here may include a change made since; the next
    ``status_counts`` sees that change's event and counts them again, so they are never older than the status
    counts."""
    global _counts
    wanted = set(client_ids)
    state = _counts
    if state is None or (state.database, state.day, state.window) != (db.engine.url.render_as_string(), day, window):
        return _count_details(day, window, wanted)  # nothing kept to add them to
    missing = wanted - state.details.keys()
    if not missing:
        return {cid: state.details[cid] for cid in wanted}
    # A stored row that was up to date when the counts were read (a row written since is newer still).
    from_store = missing & state.stored
    read = {cid: row[2] for cid, row in _stored_rows(day, window, from_store).items()} if from_store else {}
    if missing - read.keys():
        read.update(_count_details(day, window, missing - read.keys()))
    if _counts is state:  # not replaced meanwhile (another thread): keep what was read
        _counts = replace(state, details={**state.details, **read})
    return {cid: read[cid] if cid in read else state.details[cid] for cid in wanted}
