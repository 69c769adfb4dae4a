"""Load benchmark: generate a realistic data set fast, then time the busiest pages in-process.

    .venv/bin/python bench/run.py                      # SQLite scratch file in bench/out/
    .venv/bin/python bench/run.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Scale 1.0 = 400 clients, 2,000 agreements, 60,000 obligations (30 per agreement from the
catalogue), 200,000 evidence rows and 1,000,000 audit events (a valid hash chain). Data is
written with SQLAlchemy Core executemany (COPY on PostgreSQL for the two big tables), never
through the services. Requests go through app.test_client(); SQL statements are counted
with a ``before_cursor_execute`` listener. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, delete, event, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

OUT = ROOT / "bench" / "out"
PASSWORD = "bench-password-1234"
ADMIN_EMAIL = "bench-admin@example.com"
PG_SCRATCH = "dpa_bench"
# None: no target, shown for what it costs (a new process before the day's `flask obligations refresh` counts
# every obligation once).
TARGETS_MS: dict[str, float | None] = {
    "dashboard": 150.0,
    "dashboard after a change": 150.0,
    "dashboard, cold": 150.0,
    "dashboard, cold, none stored": None,
    "dashboard, filtered p.2": 150.0,
    "my obligations": 150.0,
    "agreement page": 100.0,
    "obligations API": 100.0,
}
BATCH = 10_000


# --------------------------------------------------------------------------- databases


def prepare_database(url: str, scale: float) -> tuple[str, Any]:
    """Return (url of an empty scratch database, cleanup callable)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # absolute: Flask-SQLAlchemy would read a relative SQLite path as relative to instance/
        path = Path(parsed.database).resolve() if parsed.database else OUT / f"bench-{scale:g}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

        def cleanup() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        return f"sqlite:///{path}", cleanup
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"unsupported database {url}")
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_SCRATCH} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_SCRATCH}"))

    def cleanup() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_SCRATCH} WITH (FORCE)"))
        admin.dispose()

    return parsed.set(database=PG_SCRATCH).render_as_string(hide_password=False), cleanup


# --------------------------------------------------------------------------- generation


@dataclass
class Ev:  # the attributes the status engine reads (EvidenceLike)
    added_at: datetime
    ended_at: datetime | None
    valid_until: date | None
    period_end: date | None
    trigger_event_id: int | None
    acted_at: datetime | None = None


@dataclass
class Trig:  # EventLike
    id: int
    occurred_at: datetime
    recorded_at: datetime
    aware_at: datetime | None = None


class _Audit:
    """Stand-in with the attributes AuditEvent.compute_hash reads (so the real hash logic runs)."""

    __slots__ = (
        "action",
        "actor_id",
        "actor_label",
        "changes",
        "client_id",
        "object_id",
        "object_type",
        "occurred_at",
        "prev_hash",
        "request_id",
    )


COUNTRIES = ["DE", "FR", "NL", "TR", "IE", "ES", "IT", "SE", "PL", "AT"]
AUDIT_ACTIONS = [
    ("evidence.add", "evidence"),
    ("obligation.update", "obligation"),
    ("agreement.update", "agreement"),
    ("evidence.withdraw", "evidence"),
    ("client.update", "client"),
    ("user.login", "user"),
]


def rnd_time(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = (end - start).total_seconds()
    return start + timedelta(seconds=rng.random() * span)


class Loader:
    """Writes rows with Core executemany; COPY on PostgreSQL for the big tables."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"

    def insert(self, table: Any, rows: list[dict[str, Any]]) -> None:
        for i in range(0, len(rows), BATCH):
            self.conn.execute(table.insert(), rows[i : i + BATCH])

    def copy(self, table: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        """COPY on PostgreSQL (values must already be database-ready), else executemany."""
        if self.pg:
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({", ".join(columns)}) FROM STDIN') as cp:
                for row in rows:
                    cp.write_row(row)
        else:
            self.insert(table, [dict(zip(columns, r, strict=True)) for r in rows])


def generate(app: Any, scale: float, seed: int) -> dict[str, Any]:
    from dpa_tracker.agreement.settings import defaults as setting_defaults
    from dpa_tracker.catalogue import DEFAULT_TEMPLATE, get_template
    from dpa_tracker.extensions import db
    from dpa_tracker.models import (
        Agreement,
        AgreementStatus,
        AuditEvent,
        Client,
        Evidence,
        Obligation,
        ProcessorProfile,
        TriggerEvent,
        User,
    )
    from dpa_tracker.models.audit import GENESIS_HASH
    from dpa_tracker.models.user import Role
    from dpa_tracker.obligation.status import AgreementTerms, assess

    rng = random.Random(seed)
    n_clients = max(1, round(400 * scale))
    n_agreements = max(1, round(2000 * scale))
    n_evidence = round(200_000 * scale)
    n_audit = round(1_000_000 * scale)
    template = get_template(DEFAULT_TEMPLATE)
    clauses = template.clauses
    now = datetime.now(UTC)
    today = now.date()
    window = int(app.config["DUE_SOON_DAYS"])
    counts: dict[str, int] = {}
    timings: dict[str, float] = {}

    def step(name: str, started: float) -> None:
        timings[name] = time.perf_counter() - started

    with app.app_context():
        t = time.perf_counter()
        db.metadata.create_all(db.engine)
        step("schema", t)
        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.exec_driver_sql("PRAGMA cache_size=-400000")
            load = Loader(conn)
            from argon2 import PasswordHasher

            t = time.perf_counter()
            load.insert(ProcessorProfile.__table__, [{"id": 1, "name": "AltınSoft Bench GmbH", "updated_at": now}])
            load.insert(
                User.__table__,
                [
                    {
                        "id": 1,
                        "email": ADMIN_EMAIL,
                        "name": "Bench Admin",
                        "role": Role.ADMIN,
                        "password_hash": PasswordHasher().hash(PASSWORD),
                        "client_id": None,
                        "active": True,
                        "created_at": now,
                    }
                ],
            )
            clients = [
                {
                    "id": i,
                    "legal_name": f"Client {i:05d} Ltd",
                    "country": rng.choice(COUNTRIES),
                    "address": f"{i} Bench Street",
                    "notice_emails": f"privacy@client{i}.example",
                    "dpo_name": f"DPO {i}",
                    "dpo_email": f"dpo@client{i}.example",
                    "representative": "",
                    "created_at": now - timedelta(days=900),
                }
                for i in range(1, n_clients + 1)
            ]
            load.insert(Client.__table__, clients)
            counts["client"] = len(clients)

            # Agreements: 85 % active, 10 % terminated (ends_on in the past), 5 % draft.
            agreements, terms = [], {}
            for i in range(1, n_agreements + 1):
                effective = today - timedelta(days=rng.randint(30, 1400))
                roll = rng.random()
                status = (
                    AgreementStatus.ACTIVE
                    if roll < 0.85
                    else AgreementStatus.TERMINATED
                    if roll < 0.95
                    else AgreementStatus.DRAFT
                )
                ends_on = None
                if status is AgreementStatus.TERMINATED:
                    ends_on = min(today - timedelta(days=1), effective + timedelta(days=rng.randint(10, 700)))
                settings = {**setting_defaults(), "deletion_days": rng.choice([10, 30, 90])}
                agreements.append(
                    {
                        "id": i,
                        "client_id": (i - 1) % n_clients + 1,
                        "reference": f"DPA-{i:06d}",
                        "title": f"Data processing agreement {i}",
                        "signed_on": effective - timedelta(days=7),
                        "effective_on": effective,
                        "ends_on": ends_on,
                        "status": status,
                        "template_key": template.key,
                        "template_version": template.version,
                        "permitted_locations": "EU\nTR",
                        "created_at": now - timedelta(days=900),
                        **settings,
                    }
                )
                terms[i] = AgreementTerms(effective_on=effective, ends_on=ends_on, settings=settings)
            load.insert(Agreement.__table__, agreements)
            counts["agreement"] = len(agreements)
            step("clients+agreements", t)

            # Obligations: 30 per agreement, ids assigned here so evidence can point at them.
            t = time.perf_counter()
            obligations = []
            for a in agreements:
                for pos, clause in enumerate(clauses, start=1):
                    obligations.append(
                        {
                            "id": len(obligations) + 1,
                            "agreement_id": a["id"],
                            "clause_number": clause.number,
                            "position": pos,
                            "section": clause.section,
                            "title": clause.title,
                            "summary": clause.summary,
                            "gdpr_article": clause.gdpr,
                            "rule": clause.rule,
                            "owner_id": 1 if rng.random() < 0.3 else None,
                            "notes": "",
                            "na_reason": None,
                            "na_set_at": None,
                        }
                    )
            for o in rng.sample(obligations, k=len(obligations) // 100):  # 1 % marked not applicable
                o["na_reason"], o["na_set_at"] = "Not relevant to this service", now - timedelta(days=100)

            # Trigger events on ~4 % of event/on_request obligations; half handled by evidence.
            events_by_ob: dict[int, list[Trig]] = defaultdict(list)
            trigger_rows = []
            for o in obligations:
                if o["rule"]["type"] in ("event", "on_request") and rng.random() < 0.04:
                    at = rnd_time(rng, now - timedelta(days=200), now - timedelta(hours=1))
                    trig = Trig(len(trigger_rows) + 1, at, at + timedelta(minutes=5))
                    events_by_ob[o["id"]].append(trig)
                    trigger_rows.append(
                        {
                            "id": trig.id,
                            "obligation_id": o["id"],
                            "occurred_at": at,
                            "summary": "Request received",
                            "recorded_by_id": 1,
                            "recorded_at": trig.recorded_at,
                        }
                    )

            # Evidence: ~3.3 per obligation on average; valid_until null / past / future.
            ev_by_ob: dict[int, list[Ev]] = defaultdict(list)
            ev_rows: list[tuple[Any, ...]] = []
            ev_cols = [
                "id",
                "obligation_id",
                "trigger_event_id",
                "note",
                "link",
                "sha256",
                "filename",
                "content_type",
                "size",
                "period_start",
                "period_end",
                "valid_until",
                "added_by_id",
                "added_at",
                "state",
                "ended_at",
                "ended_by_id",
                "end_reason",
                "superseded_by_id",
            ]
            pg = load.pg
            handled = [(o_id, trig) for o_id, trigs in events_by_ob.items() for trig in trigs if rng.random() < 0.5]
            targets = [o_id for o_id, _ in handled] + [
                rng.randrange(1, len(obligations) + 1) for _ in range(max(0, n_evidence - len(handled)))
            ]
            handled_trig = {i: trig for i, (_, trig) in enumerate(handled)}
            for i, o_id in enumerate(targets):
                a = agreements[(o_id - 1) // len(clauses)]
                start = datetime.combine(a["effective_on"], datetime.min.time(), tzinfo=UTC)
                trig = handled_trig.get(i)
                added = (
                    trig.occurred_at + timedelta(hours=rng.randint(1, 40))
                    if trig
                    else rnd_time(rng, start, now - timedelta(minutes=1))
                )
                added = min(added, now - timedelta(minutes=1))
                roll = rng.random()
                valid_until = (
                    None
                    if roll < 0.4
                    else today - timedelta(days=rng.randint(1, 400))
                    if roll < 0.65
                    else today + timedelta(days=rng.randint(1, 500))
                )
                if valid_until is not None and valid_until < added.date():
                    valid_until = added.date() + timedelta(days=rng.randint(1, 400))
                period_end = added.date() - timedelta(days=rng.randint(0, 20)) if rng.random() < 0.3 else None
                ended = rnd_time(rng, added, now) if rng.random() < 0.1 else None
                state = "active" if ended is None else ("superseded" if rng.random() < 0.7 else "withdrawn")
                digest = hashlib.sha256(f"ev{i}".encode()).hexdigest() if rng.random() < 0.5 else None
                ev = Ev(added, ended, valid_until, period_end, trig.id if trig else None)
                ev_by_ob[o_id].append(ev)
                ev_rows.append(
                    (
                        i + 1,
                        o_id,
                        ev.trigger_event_id,
                        "Evidence note for the bench",
                        "",
                        digest,
                        "proof.pdf" if digest else None,
                        "application/pdf" if digest else None,
                        12345 if digest else None,
                        None,
                        period_end,
                        valid_until,
                        1,
                        added,
                        state,
                        ended,
                        1 if ended else None,
                        "Replaced" if ended else None,
                        None,
                    )
                )

            # Cached projection from the real status engine, as refresh_cache would store it.
            for o in obligations:
                a_id = o["agreement_id"]
                blockers = (
                    ["The Art. 30(2) record has no processing activity"]
                    if o["rule"].get("requires") == "art30_record"
                    else []
                )
                result = assess(
                    o["rule"],
                    terms[a_id],
                    ev_by_ob.get(o["id"], []),
                    events_by_ob.get(o["id"], []),
                    today,
                    window,
                    na_reason=o["na_reason"],
                    na_set_at=o["na_set_at"],
                    blockers=blockers,
                )
                o.update(
                    cached_base=result.base,
                    cached_due_on=result.due_on,
                    cached_lapses_on=result.lapses_on,
                    cached_late_until=result.late_until,
                    cached_at=now,
                )
            step("compute (engine)", t)

            t = time.perf_counter()
            load.insert(Obligation.__table__, obligations)
            load.insert(TriggerEvent.__table__, trigger_rows)
            load.copy(Evidence.__table__, ev_cols, ev_rows)
            counts.update(obligation=len(obligations), trigger_event=len(trigger_rows), evidence=len(ev_rows))
            step("insert obligations+evidence", t)
            del ev_rows, ev_by_ob

            # Audit log: a valid chain, hashed with AuditEvent.compute_hash itself.
            t = time.perf_counter()
            cols = [
                "id",
                "occurred_at",
                "actor_id",
                "actor_label",
                "action",
                "object_type",
                "object_id",
                "client_id",
                "changes",
                "request_id",
                "prev_hash",
                "hash",
            ]
            compute_hash = AuditEvent.compute_hash
            prev = GENESIS_HASH
            moment = now - timedelta(days=900)
            step_s = (900 * 86400 - 3600) / max(1, n_audit)
            holder = _Audit()
            batch: list[tuple[Any, ...]] = []
            for i in range(1, n_audit + 1):
                moment += timedelta(seconds=step_s * (0.5 + rng.random()))
                moment = min(moment, now - timedelta(minutes=30))
                action, otype = AUDIT_ACTIONS[i % len(AUDIT_ACTIONS)]
                holder.prev_hash, holder.occurred_at = prev, moment
                holder.actor_id, holder.actor_label = 1, ADMIN_EMAIL
                holder.action, holder.object_type = action, otype
                holder.object_id, holder.client_id = rng.randint(1, 60_000), (i % n_clients) + 1
                holder.changes = {"note": ["", f"change {i}"]}
                holder.request_id = f"{i:032x}"
                digest = compute_hash(holder)  # type: ignore[arg-type]
                batch.append(
                    (
                        i,
                        moment,
                        1,
                        ADMIN_EMAIL,
                        action,
                        otype,
                        holder.object_id,
                        holder.client_id,
                        json.dumps(holder.changes) if pg else holder.changes,
                        holder.request_id,
                        prev,
                        digest,
                    )
                )
                prev = digest
                if len(batch) >= 50_000:
                    load.copy(AuditEvent.__table__, cols, batch)
                    batch = []
            if batch:
                load.copy(AuditEvent.__table__, cols, batch)
            counts["audit_event"] = n_audit
            step("audit chain", t)

            # The trend's month ends (issue 11): one status_snapshot row per client and month end, as
            # `flask obligations snapshot` stores them; the figures are drawn around the client's size.
            t = time.perf_counter()
            from dpa_tracker.dashboard.trend import month_ends
            from dpa_tracker.models import SNAPSHOT_STATUSES, StatusSnapshot

            snapshot_rows = []
            per_client_obligations = max(1, round(n_agreements * len(clauses) / n_clients))
            for end in month_ends(today):
                for client_id in range(1, n_clients + 1):
                    weights = [rng.random() for _ in SNAPSHOT_STATUSES]
                    total_w = sum(weights)
                    row = {
                        s: int(per_client_obligations * w / total_w)
                        for s, w in zip(SNAPSHOT_STATUSES, weights, strict=True)
                    }
                    snapshot_rows.append({"month_end": end, "client_id": client_id, "computed_at": now, **row})
            load.insert(StatusSnapshot.__table__, snapshot_rows)
            counts["status_snapshot"] = len(snapshot_rows)
            step("snapshots", t)

            if pg:  # explicit ids: move the sequences past them
                for table in ("user", "client", "agreement", "obligation", "trigger_event", "evidence", "audit_event"):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                            f'GREATEST((SELECT max(id) FROM "{table}"), 1))'
                        )
                    )
        t = time.perf_counter()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("ANALYZE"))  # what autovacuum would do soon after a bulk load
        step("analyze", t)
        db.engine.dispose()  # drop the connection that carried the bulk-load pragmas

        # Spot-check the chain through the ORM (first and last rows) and mint an API token.
        from dpa_tracker.auth.services import create_token

        first = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id).limit(500)).all()
        last = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(500)).all()
        for ev_ in (*first, *last):
            if ev_.compute_hash() != ev_.hash:
                raise SystemExit(f"audit chain broken at {ev_.id}")
        admin = db.session.get(User, 1)
        _, plain = create_token(None, admin, "bench")
        db.session.commit()
        # What the daily `flask obligations refresh` stores: today's dashboard counts of every client.
        from dpa_tracker.dashboard.counts import store_counts

        t = time.perf_counter()
        store_counts()
        db.session.commit()
        step("stored counts", t)
        agreement_ids = [a["id"] for a in agreements]
    return {"counts": counts, "timings": timings, "token": plain, "agreement_ids": agreement_ids}


# --------------------------------------------------------------------------- measuring


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def api_rule(app: Any) -> str | None:
    for rule in app.url_map.iter_rules():
        if (
            rule.rule.startswith("/api/v1/agreements/<")
            and rule.rule.endswith("/obligations")
            and "GET" in (rule.methods or ())
        ):
            return rule.rule
    return None


def measure(app: Any, data: dict[str, Any], requests: int, seed: int) -> dict[str, dict[str, Any]]:
    from dpa_tracker.extensions import db

    rng = random.Random(seed + 1)
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    if token is None:
        raise SystemExit("no csrf_token on /login")
    signed_in = client.post("/login", data={"email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token.group(1)})
    if signed_in.status_code != 302:
        raise SystemExit(f"sign-in failed: {signed_in.status_code}")

    counter = {"n": 0}
    with app.app_context():
        engine = db.engine

    def count(*_: Any) -> None:
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    ids = data["agreement_ids"]
    bearer = {"Authorization": f"Bearer {data['token']}"}
    rule = api_rule(app)
    from dpa_tracker.dashboard.counts import clear_counts_cache
    from dpa_tracker.evidence.services import EvidenceInput, add_evidence
    from dpa_tracker.models import Obligation, StoredCounts, User

    def change_something() -> None:
        """What a compliance officer does between two looks at the dashboard: evidence on a random obligation."""
        with app.app_context():
            actor = db.session.scalars(select(User).where(User.email == ADMIN_EMAIL)).one()
            obligation = db.session.scalars(
                select(Obligation).where(Obligation.agreement_id == rng.choice(ids)).order_by(Obligation.id)
            ).all()[rng.randrange(30)]
            add_evidence(actor, obligation, EvidenceInput(note="Reviewed during the benchmark"))
            db.session.commit()

    def forget_stored_counts() -> None:
        """A new process before the day's refresh: no counts stored for today."""
        clear_counts_cache()
        with app.app_context():
            db.session.execute(delete(StoredCounts))
            db.session.commit()

    # (name, untimed preparation before each request, the timed request)
    endpoints: list[tuple[str, Any, Any]] = [
        ("dashboard", None, lambda: client.get("/")),
        ("dashboard after a change", change_something, lambda: client.get("/")),
        ("dashboard, cold", clear_counts_cache, lambda: client.get("/")),
        ("dashboard, cold, none stored", forget_stored_counts, lambda: client.get("/")),
        ("dashboard, filtered p.2", None, lambda: client.get("/?status=all&family=7&page=2")),
        ("my obligations", None, lambda: client.get("/my/obligations")),
        ("agreement page", None, lambda: client.get(f"/agreements/{rng.choice(ids)}")),
    ]
    if rule is not None:
        prefix = rule.split("<", 1)[0]
        endpoints.append(
            # limit=500: the whole agreement on one page (the list is paginated, 50 by default), as measured before
            (
                "obligations API",
                None,
                lambda: client.get(f"{prefix}{rng.choice(ids)}/obligations?limit=500", headers=bearer),
            )
        )
    results: dict[str, dict[str, Any]] = {}
    try:
        for name, prepare, call in endpoints:
            warm = [(prepare and prepare(), call().status_code)[1] for _ in range(3)]
            if set(warm) != {200}:
                print(f"  {name}: warm-up answered {warm}; not measured", flush=True)
                results[name] = {"error": f"HTTP {warm}"}
                continue
            times, stmts, statuses = [], [], set()
            for _ in range(requests):
                if prepare is not None:
                    prepare()
                counter["n"] = 0
                started = time.perf_counter()
                response = call()
                times.append((time.perf_counter() - started) * 1000)
                stmts.append(counter["n"])
                statuses.add(response.status_code)
            if statuses != {200}:
                raise SystemExit(f"{name}: unexpected status {sorted(statuses)}")
            results[name] = {
                "p50": pct(times, 0.5),
                "p95": pct(times, 0.95),
                "max": max(times),
                "stmt_min": min(stmts),
                "stmt_max": max(stmts),
            }
        if rule is None:
            results["obligations API"] = {"missing": True}
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return results


def run_scale(
    url: str, scale: float, requests: int, seed: int, keep: bool = False, trend_month: bool = True
) -> dict[str, Any]:
    from dpa_tracker import create_app
    from dpa_tracker.extensions import db

    db_url, cleanup = prepare_database(url, scale)
    try:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": db_url,
                "TESTING": False,
                "SECRET_KEY": "bench",
                "EVIDENCE_DIR": str(OUT / "evidence"),
                "RATELIMIT_ENABLED": False,
            }
        )
        started = time.perf_counter()
        data = generate(app, scale, seed)
        generation = time.perf_counter() - started
        print(
            f"  scale {scale:g}: generated {data['counts']} in {generation:.1f} s "
            f"({', '.join(f'{k} {v:.1f}s' for k, v in data['timings'].items())})",
            flush=True,
        )
        gc.freeze()  # as dpa_tracker/wsgi.py does once the application is built (a full collection skips it)
        try:
            results = measure(app, data, requests, seed)
        finally:
            gc.unfreeze()
        trend_cost = None
        if trend_month:
            # What `flask obligations snapshot` pays per month end: every obligation assessed by the as-of engine.
            from dpa_tracker.dashboard.trend import counts_on, month_ends
            from dpa_tracker.obligation.services import today

            with app.app_context():
                started = time.perf_counter()
                per_client = counts_on(month_ends(today())[-1])
                trend_cost = time.perf_counter() - started
                db.session.rollback()
            print(
                f"  scale {scale:g}: one month end by the as-of engine: {trend_cost:.1f} s "
                f"({sum(sum(c.values()) for c in per_client.values())} obligations)",
                flush=True,
            )
        with app.app_context():
            db.engine.dispose()
        return {
            "generation": generation,
            "results": results,
            "counts": data["counts"],
            "timings": data["timings"],
            "trend_cost": trend_cost,
        }
    finally:
        if keep:
            print(f"  kept the scratch database {db_url}", flush=True)
        else:
            cleanup()


def fmt_stmts(r: dict[str, Any]) -> str:
    return str(r["stmt_min"]) if r["stmt_min"] == r["stmt_max"] else f"{r['stmt_min']}-{r['stmt_max']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=f"sqlite:///{OUT / 'bench.sqlite3'}",
        help="SQLite file (recreated) or a PostgreSQL server database from which a scratch "
        f"database {PG_SCRATCH!r} is created and dropped (default: %(default)s)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 2,000 agreements (default %(default)s)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per endpoint (default %(default)s)")
    parser.add_argument(
        "--also-tenth",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run at a tenth of the scale and print ratios (default on)",
    )
    parser.add_argument("--seed", type=int, default=28)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database(s) for inspection")
    parser.add_argument(
        "--trend-cost",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time one month end of the trend by the as-of engine (what the snapshot command pays; default on)",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.pop("DATABASE_URL", None)

    total = time.perf_counter()
    backend = make_url(args.database_url).get_backend_name()
    print(f"dpa_tracker bench: {backend}, {os.cpu_count()} CPUs, {args.requests} requests/endpoint", flush=True)
    scales = [args.scale] + ([args.scale / 10] if args.also_tenth else [])
    runs = {}
    for scale in scales:
        url = args.database_url
        if backend == "sqlite" and scale != args.scale:
            url = f"sqlite:///{OUT / f'bench-{scale:g}.sqlite3'}"
        runs[scale] = run_scale(url, scale, args.requests, args.seed, args.keep, args.trend_cost)

    full = runs[args.scale]
    tenth = runs.get(args.scale / 10)
    print()
    header = (
        f"{'endpoint':<30} {'scale':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'stmts/req':>9} "
        f"{'target p95':>10}  result"
    )
    print(header)
    print("-" * len(header))
    for name in TARGETS_MS:
        for scale, run in runs.items():
            r = run["results"].get(name)
            if r is not None and r.get("error"):
                print(f"{name:<30} {scale:>5g}  (failed: {r['error']})")
                continue
            if r is None or r.get("missing"):
                print(f"{name:<30} {scale:>5g}  (endpoint not registered: GET /api/v1/agreements/<id>/obligations)")
                continue
            target = TARGETS_MS[name]
            ok = "no target" if target is None else "ok" if r["p95"] < target else "OVER TARGET"
            print(
                f"{name:<30} {scale:>5g} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['max']:>8.1f} {fmt_stmts(r):>9} "
                f"{'-' if target is None else f'{target:.0f}':>10}  {ok}"
            )
    if tenth is not None:
        print()
        print(f"{'endpoint':<30} {'p50 full/tenth':>14} {'p95 full/tenth':>14}  statements equal?")
        for name in TARGETS_MS:
            a, b = full["results"].get(name), tenth["results"].get(name)
            if not a or not b or "p50" not in a or "p50" not in b:
                continue
            same = (
                "yes"
                if (a["stmt_min"], a["stmt_max"]) == (b["stmt_min"], b["stmt_max"])
                else f"NO ({fmt_stmts(a)} vs {fmt_stmts(b)})"
            )
            print(f"{name:<30} {a['p50'] / b['p50']:>14.2f} {a['p95'] / b['p95']:>14.2f}  {same}")
    print()
    for scale, run in runs.items():
        print(f"generation at scale {scale:g}: {run['generation']:.1f} s")
        if run.get("trend_cost") is not None:
            print(f"one trend month end by the as-of engine at scale {scale:g}: {run['trend_cost']:.1f} s")
    print(f"total time: {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
