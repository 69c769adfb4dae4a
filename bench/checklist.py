"""Benchmark: the auditor's checklist of one agreement with 40 obligations and 2,000 evidence files
(issue 13, acceptance 2).

    .venv/bin/python bench/checklist.py                 # SQLite scratch file in bench/out/
    .venv/bin/python bench/checklist.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The agreement is made by the real services (its clause template), topped up to 40 obligations with copies of
its rules; the 2,000 evidence files are real files in the evidence store (content-addressed, varied sizes), their
rows bulk-inserted with SQLAlchemy Core. Then, through the WSGI app as a signed-in auditor:

* the checklist PDF (``GET /agreements/<id>/checklist.pdf``), 5 timed downloads after a warm-up, and the
  render alone (``render_checklist_pdf``); target < 3 s;
* the evidence bundle (``GET .../checklist.zip``) read chunk by chunk from the streamed response while
  ``tracemalloc`` records the peak of Python allocations, compared with the total size of the files.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import sys
import time
import tracemalloc
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.agent_import import scratch  # noqa: E402

OUT = ROOT / "bench" / "out"
TARGET_S = 3.0
OBLIGATIONS = 40
EVIDENCE = 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=f"sqlite:///{OUT / 'checklist.sqlite3'}")
    parser.add_argument("--evidence", type=int, default=EVIDENCE)
    parser.add_argument("--mean-kib", type=int, default=48, help="mean evidence file size in KiB")
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.pop("DATABASE_URL", None)

    from sqlalchemy import func, insert, select
    from sqlalchemy.engine import make_url

    from dpa_tracker import create_app
    from dpa_tracker.agreement.services import AgreementInput, create_agreement
    from dpa_tracker.auth.services import create_user
    from dpa_tracker.checklist.services import agreement_checklist, checklist_data
    from dpa_tracker.client.services import ClientInput, create_client
    from dpa_tracker.evidence.services import evidence_store
    from dpa_tracker.extensions import db
    from dpa_tracker.models import Evidence, Obligation, Role
    from dpa_tracker.reports.checklist_pdf import render_checklist_pdf

    db_url, cleanup = scratch(args.database_url)
    store_dir = OUT / "evidence-checklist"
    try:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": db_url,
                "TESTING": False,
                "SECRET_KEY": "bench",
                "EVIDENCE_DIR": str(store_dir),
                "RATELIMIT_ENABLED": False,
                "WTF_CSRF_ENABLED": False,
            }
        )
        backend = make_url(db_url).get_backend_name()
        with app.app_context():
            db.create_all()
            staff = create_user(None, "bench@example.com", Role.COMPLIANCE, "bench-password-1234")
            client = create_client(None, ClientInput(legal_name="Bench client", country="DZ", notice_emails=["d@e.dz"]))
            create_user(None, "auditor@example.com", Role.AUDITOR, "bench-password-1234", audited_clients=[client])
            agreement = create_agreement(
                staff,
                client,
                AgreementInput(
                    settings={},
                    reference="DPA-BENCH",
                    title="Bench agreement",
                    signed_on=date(2025, 1, 1),
                    effective_on=date(2025, 1, 1),
                ),
            )
            db.session.flush()
            template = [o for o in agreement.obligations if o.rule["type"] in ("standing", "recurring")]
            n = len(agreement.obligations)
            for extra in range(OBLIGATIONS - n):
                model = template[extra % len(template)]
                db.session.add(
                    Obligation(
                        agreement_id=agreement.id,
                        clause_number=f"{model.clause_number}-x{extra + 1}",
                        position=n + extra + 1,
                        section=model.section,
                        title=f"{model.title} (annex {extra + 1})",
                        summary=model.summary,
                        gdpr_article=model.gdpr_article,
                        rule=dict(model.rule),
                    )
                )
            db.session.commit()
            obligations = db.session.scalars(
                select(Obligation).where(Obligation.agreement_id == agreement.id).order_by(Obligation.position)
            ).all()
            assert len(obligations) == OBLIGATIONS, len(obligations)

            store = evidence_store()
            rows, total_bytes = [], 0
            started = time.perf_counter()
            base = datetime(2025, 2, 1, 9, tzinfo=UTC)
            for i in range(args.evidence):
                size = 1024 * (1 + (i * 7919) % (2 * args.mean_kib))  # 1 KiB .. 2×mean, deterministic
                line = f"Evidence {i}: signed procedure, log extract, training list. ".encode()
                body = (line * (size // len(line) + 1))[:size]
                digest = hashlib.sha256(body).hexdigest()
                path = store.path_for(digest)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
                total_bytes += size
                rows.append(
                    {
                        "obligation_id": obligations[i % OBLIGATIONS].id,
                        "note": f"Evidence item {i}",
                        "link": "",
                        "sha256": digest,
                        "filename": f"evidence-{i:04d}.txt",
                        "content_type": "text/plain",
                        "size": size,
                        "period_start": date(2025, 1, 1),
                        "period_end": date(2025, 12, 31),
                        "added_by_id": staff.id,
                        "added_at": base + timedelta(minutes=i),
                        "state": "active",
                    }
                )
            for start in range(0, len(rows), 500):
                db.session.execute(insert(Evidence), rows[start : start + 500])
            db.session.commit()
            assert db.session.scalar(select(func.count()).select_from(Evidence)) == args.evidence
            print(
                f"{backend}: {OBLIGATIONS} obligations, {args.evidence} evidence files, "
                f"{total_bytes / 2**20:.1f} MiB stored in {time.perf_counter() - started:.1f} s"
            )
            agreement_id = agreement.id

            as_of = date(2026, 1, 31)
            renders, render_cpu = [], []
            for _ in range(3):
                checklist = agreement_checklist(db.session.get_one(type(agreement), agreement_id), as_of)
                data = checklist_data(checklist)
                t0, c0 = time.perf_counter(), time.process_time()
                render_checklist_pdf(data)
                renders.append(time.perf_counter() - t0)
                render_cpu.append(time.process_time() - c0)
                db.session.expire_all()
            print(
                f"render_checklist_pdf alone: wall p50 {statistics.median(renders):.3f} s, max {max(renders):.3f} s; "
                f"CPU p50 {statistics.median(render_cpu):.3f} s"
            )

        http = app.test_client()
        signed = http.post("/login", data={"email": "auditor@example.com", "password": "bench-password-1234"})
        assert signed.status_code == 302, signed.status_code
        url = f"/agreements/{agreement_id}/checklist"
        warm = http.get(f"{url}.pdf?as_of={as_of}")
        assert warm.status_code == 200
        pages = len(__import__("pypdf").PdfReader(io.BytesIO(warm.data)).pages)
        downloads, download_cpu = [], []
        for _ in range(args.requests):
            t0, c0 = time.perf_counter(), time.process_time()
            response = http.get(f"{url}.pdf?as_of={as_of}")
            assert response.status_code == 200
            downloads.append(time.perf_counter() - t0)
            download_cpu.append(time.process_time() - c0)
        worst = max(downloads)
        print(
            f"checklist PDF download: {len(warm.data) / 1024:.0f} KiB, {pages} pages; "
            f"wall p50 {statistics.median(downloads):.3f} s, max {worst:.3f} s; "
            f"CPU p50 {statistics.median(download_cpu):.3f} s, max {max(download_cpu):.3f} s "
            f"(target < {TARGET_S:.0f} s wall: {'met' if worst < TARGET_S else 'MISSED'}; "
            f"system load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
        )

        # Time first (tracemalloc slows every allocation several times over), then memory.
        t0 = time.perf_counter()
        timed = http.get(f"{url}.zip?as_of={as_of}", buffered=False)
        assert timed.status_code == 200
        zip_bytes = sum(len(chunk) for chunk in timed.response)
        timed.close()
        seconds = time.perf_counter() - t0

        tracemalloc.start()
        response = http.get(f"{url}.zip?as_of={as_of}", buffered=False)
        assert response.status_code == 200
        _, before_stream = tracemalloc.get_traced_memory()  # checks every hash, renders the PDF
        tracemalloc.reset_peak()
        chunks, largest = 0, 0
        out_path = OUT / "checklist-bundle.zip"
        with out_path.open("wb") as out:
            for chunk in response.response:
                chunks += 1
                largest = max(largest, len(chunk))
                out.write(chunk)
        response.close()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        with zipfile.ZipFile(out_path) as archive:
            members = len(archive.namelist())
            assert archive.testzip() is None
        out_path.unlink()
        print(
            f"bundle: {zip_bytes / 2**20:.1f} MiB ZIP, {members} members, {chunks} chunks "
            f"(largest {largest / 1024:.0f} KiB), whole download {seconds:.2f} s; evidence files "
            f"{total_bytes / 2**20:.1f} MiB"
        )
        print(
            f"tracemalloc peak before the first byte (hash check + PDF): {before_stream / 2**20:.1f} MiB; "
            f"while streaming the files: {peak / 2**20:.2f} MiB = {peak / total_bytes:.2%} of the files"
        )
        if worst >= TARGET_S:
            raise SystemExit(1)
    finally:
        cleanup()  # type: ignore[operator]
        import shutil

        shutil.rmtree(store_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
