"""One warm ``GET /`` taken apart: statements, ms in SQL and in Python per phase (load-independent enough to compare).

Run on a database kept by ``bench/run.py --keep`` (SQLite file or the PostgreSQL scratch database):

    .venv/bin/python bench/run.py --no-also-tenth --no-trend-cost --requests 3 --keep \\
        --database-url sqlite:///bench/out/profile.sqlite3
    .venv/bin/python bench/profile_dashboard.py sqlite:///bench/out/profile.sqlite3 [--cprofile]

The request is made 3 times to warm the kept counts, then ``--repeat`` times with every phase timed (the
phases are the functions ``dashboard.views.index`` calls, wrapped here); the figures printed are the medians.
"SQL" is the time between ``before_cursor_execute`` and ``after_cursor_execute``: the database's work up to the
first row; fetching the remaining rows is counted as Python. Each figure is given twice: wall-clock, and this
process's CPU time (``time.process_time``), which a loaded host inflates much less (SQLite runs in the process, so
its CPU is counted; a PostgreSQL server's is not: its SQL CPU reads near 0 and its SQL wall time is the one to read).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

PASSWORD = "bench-password-1234"
ADMIN_EMAIL = "bench-admin@example.com"
PHASES = ("status_counts", "trend", "obligation_page", "_owners", "render_template")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--path", default="/", help="the page to profile (default /)")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--cprofile", action="store_true", help="also print the top functions by cumulative time")
    args = parser.parse_args()

    from dpa_tracker import create_app
    from dpa_tracker.dashboard import listing, views
    from dpa_tracker.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": args.database_url,
            "TESTING": False,
            "SECRET_KEY": "bench",
            "EVIDENCE_DIR": str(ROOT / "bench" / "out" / "evidence"),
            "RATELIMIT_ENABLED": False,
        }
    )
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token is not None
    signed_in = client.post("/login", data={"email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token.group(1)})
    assert signed_in.status_code == 302, signed_in.status_code

    current = {"phase": "other"}
    sql_ms: dict[str, float] = defaultdict(float)
    wall_ms: dict[str, float] = defaultdict(float)
    sql_cpu: dict[str, float] = defaultdict(float)
    cpu_ms: dict[str, float] = defaultdict(float)
    stmts: dict[str, int] = defaultdict(int)
    started_at: list[tuple[float, float]] = []

    def before(*_: Any) -> None:
        started_at.append((time.perf_counter(), time.process_time()))

    def after(*_: Any) -> None:
        t, c = started_at.pop()
        sql_ms[current["phase"]] += (time.perf_counter() - t) * 1000
        sql_cpu[current["phase"]] += (time.process_time() - c) * 1000
        stmts[current["phase"]] += 1

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            outer, current["phase"] = current["phase"], name
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                wall_ms[name] += (time.perf_counter() - t) * 1000
                cpu_ms[name] += (time.process_time() - c) * 1000
                current["phase"] = outer

        return wrapper

    for name in PHASES:
        setattr(views, name, timed(name, getattr(views, name)))
    listing.assess_rows = timed("assess_rows", listing.assess_rows)  # inside obligation_page

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    for _ in range(3):
        assert client.get(args.path).status_code == 200
    runs: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        for kept in (sql_ms, wall_ms, sql_cpu, cpu_ms, stmts):
            kept.clear()
        t, c = time.perf_counter(), time.process_time()
        assert client.get(args.path).status_code == 200
        wall_ms["total"], cpu_ms["total"] = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
        runs.append(
            {
                "sql": dict(sql_ms),
                "wall": dict(wall_ms),
                "sqlcpu": dict(sql_cpu),
                "cpu": dict(cpu_ms),
                "stmts": dict(stmts),
            }
        )
    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.enable()
        client.get(args.path)
        profiler.disable()
    event.remove(engine, "before_cursor_execute", before)
    event.remove(engine, "after_cursor_execute", after)

    def med(key: str, phase: str) -> float:
        return statistics.median(r[key].get(phase, 0.0) for r in runs)

    print(f"{args.path} on {engine.url.get_backend_name()}, median of {args.repeat} warm requests (ms)")
    print(f"{'phase':<18} {'stmts':>5} {'wall':>7} {'SQL wall':>8} {'CPU':>7} {'SQL CPU':>7} {'Python CPU':>10}")
    inner = {"obligation_page": "assess_rows"}  # assess_rows runs inside obligation_page: shown apart
    rows = []
    for phase in (*PHASES, "assess_rows"):
        values = [med(key, phase) for key in ("stmts", "wall", "sql", "cpu", "sqlcpu")]
        if phase in inner:
            # statements and SQL are counted in the innermost phase already; wall and CPU include the inner one
            values[1] -= med("wall", inner[phase])
            values[3] -= med("cpu", inner[phase])
        rows.append((phase + ("*" if phase in inner else ""), values))
    totals = [med(key, "total") if key in ("wall", "cpu") else 0.0 for key in ("stmts", "wall", "sql", "cpu", "sqlcpu")]
    totals[0] = statistics.median(sum(r["stmts"].values()) for r in runs)
    totals[2] = statistics.median(sum(r["sql"].values()) for r in runs)
    totals[4] = statistics.median(sum(r["sqlcpu"].values()) for r in runs)
    rest = [t - sum(v[i] for _, v in rows) for i, t in enumerate(totals)]
    for label, (n, wall, sql, cpu, sqlcpu) in [*rows, ("rest of request", rest), ("total", totals)]:
        print(f"{label:<18} {int(n):>5} {wall:>7.1f} {sql:>8.1f} {cpu:>7.1f} {sqlcpu:>7.1f} {cpu - sqlcpu:>10.1f}")
    print("* without the assess_rows inside it (its page query, evidence/events/marks loads)")
    if args.cprofile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
