"""Benchmark: bulk import of 5,000 agents and 5,000 training attestations from CSV (issue 12, acceptance 2).

    .venv/bin/python bench/agent_import.py                 # SQLite scratch file in bench/out/
    .venv/bin/python bench/agent_import.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

For each file (agents, then trainings of those agents) it imports once with one bad row (and checks that
nothing was imported and which row was reported), then the corrected file, timed: validation, writes, the
audit event and the refresh of the affected agreements' clause 5.2/5.3 statuses, committed once, as
``flask agents import`` does. Prints seconds and rows/s. Target: each corrected file in under 10 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

OUT = ROOT / "bench" / "out"
TARGET_S = 10.0
AGREEMENTS = 50


def scratch(url: str) -> tuple[str, object]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database).resolve() if parsed.database else OUT / "agent-import.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    name = f"{parsed.database}_agent_bench"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))

    def cleanup() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return parsed.set(database=name).render_as_string(hide_password=False), cleanup


def agents_csv(rows: int, bad_row: int | None) -> bytes:
    lines = ["name,email,role,employer_kind,employer,agreements,scope,since_on"]
    for n in range(rows):
        since = "2026-02-30" if n + 2 == bad_row else "2026-02-01"  # row numbers count the header as row 1
        name = f"وكيل {n}" if n % 3 == 0 else f"Agent Éloïse {n}"
        refs = f"DPA-{n % AGREEMENTS:03d}" + (f";DPA-{(n + 1) % AGREEMENTS:03d}" if n % 2 else "")
        lines.append(f"{name},agent{n}@example.com,Support,processor,,{refs},Tickets (read only),{since}")
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def trainings_csv(rows: int, bad_row: int | None) -> bytes:
    lines = ["email,trained_on,course,provider"]
    day = date(2026, 3, 1)
    for n in range(rows):
        email = "nobody@example.com" if n + 2 == bad_row else f"agent{n}@example.com"
        lines.append(f"{email},{day + timedelta(days=n % 200)},GDPR basics,CNIL MOOC")
    return ("\n".join(lines) + "\n").encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=f"sqlite:///{OUT / 'agent-import.sqlite3'}")
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    if args.rows < 2:
        parser.error("--rows must be at least 2")
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.pop("DATABASE_URL", None)

    from sqlalchemy import func, select

    from dpa_tracker import create_app
    from dpa_tracker.agent.imports import ImportRefused, import_csv
    from dpa_tracker.agreement.services import AgreementInput, create_agreement
    from dpa_tracker.auth.services import create_user
    from dpa_tracker.client.services import ClientInput, create_client
    from dpa_tracker.extensions import db
    from dpa_tracker.models import Agent, AgentAttestation, Role

    db_url, cleanup = scratch(args.database_url)
    try:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": db_url,
                "TESTING": False,
                "SECRET_KEY": "bench",
                "EVIDENCE_DIR": str(OUT / "evidence-agents"),
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            db.create_all()
            staff = create_user(None, "bench@example.com", Role.COMPLIANCE, "bench-password-1234")
            client = create_client(None, ClientInput(legal_name="Bench client", country="DZ", notice_emails=["d@e.dz"]))
            for n in range(AGREEMENTS):
                create_agreement(
                    staff,
                    client,
                    AgreementInput(
                        settings={},
                        reference=f"DPA-{n:03d}",
                        title=f"Agreement {n}",
                        signed_on=date(2026, 1, 1),
                        effective_on=date(2026, 1, 1),
                    ),
                )
            db.session.commit()
            backend = make_url(db_url).get_backend_name()
            worst = 0.0
            for label, build, model in (("agents", agents_csv, Agent), ("trainings", trainings_csv, AgentAttestation)):
                bad_row = args.rows // 2 + 2
                try:
                    import_csv(staff, build(args.rows, bad_row), f"{label}-bad.csv")
                except ImportRefused as refused:
                    db.session.rollback()
                    print(f"{backend} {label}: refused, {len(refused.problems)} problem(s): {refused.problems[0]}")
                    assert refused.problems[0].startswith(f"row {bad_row}:"), refused.problems
                else:
                    raise SystemExit(f"{label}: the file with a bad row was imported")
                assert db.session.scalar(select(func.count()).select_from(model)) == 0, "something was imported"
                started = time.perf_counter()
                result = import_csv(staff, build(args.rows, None), f"{label}.csv")
                db.session.commit()
                seconds = time.perf_counter() - started
                worst = max(worst, seconds)
                assert db.session.scalar(select(func.count()).select_from(model)) == args.rows
                print(
                    f"{backend} {label}: imported {result.rows} rows in {seconds:.2f} s "
                    f"({result.rows / seconds:,.0f} rows/s; {result.assignments} assignments, "
                    f"{len(result.agreement_ids)} agreements re-assessed)"
                )
            print(
                f"slowest corrected file: {worst:.2f} s "
                f"(target < {TARGET_S:.0f} s: {'met' if worst < TARGET_S else 'MISSED'})"
            )
    finally:
        cleanup()  # type: ignore[operator]


if __name__ == "__main__":
    main()
