"""Evidence through the pages: upload, dedup, refusals, size limits, withdrawal, download, integrity."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from dpa_tracker import clock as app_clock
from dpa_tracker.evidence.services import evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import Evidence, EvidenceState, Role
from tests.factories import make_agreement, make_client, make_user

PDF = b"%PDF-1.4\n" + b"policy text " * 200 + b"\n%%EOF\n"


@pytest.fixture
def setup(app, auth):
    """A signed-in compliance user and an old agreement whose clause 3.1(1) is overdue without evidence."""
    with app.app_context():
        acme = make_client("Acme Hosting")
        user = make_user(Role.COMPLIANCE, "karim@example.com")
        start = app_clock.today() - timedelta(days=400)
        agreement = make_agreement(acme, user, signed_on=start, effective_on=start)
        obligation_id = next(o.id for o in agreement.obligations if o.clause_number == "3.1(1)")
    assert auth.login("karim@example.com").status_code == 302
    return obligation_id


def stored_files(app) -> list[Path]:
    root = Path(app.config["EVIDENCE_DIR"])
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "tmp"]


def evidence_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Evidence))


def upload(auth, obligation_id, content=PDF, filename="policy.pdf", **fields):
    data = {"evidence-file": (io.BytesIO(content), filename), **{f"evidence-{k}": v for k, v in fields.items()}}
    return auth.post(
        f"/obligations/{obligation_id}/evidence", data, prefix="evidence", content_type="multipart/form-data"
    )


def status_on_page(client, obligation_id) -> str:
    html = client.get(f"/obligations/{obligation_id}").get_data(as_text=True)
    line = html.split('id="status"', 1)[1].split("</p>", 1)[0]
    return line


def only_evidence_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Evidence.id))


def test_upload_makes_the_obligation_met(app, client, auth, setup):
    assert "status-overdue" in status_on_page(client, setup)
    response = upload(auth, setup, note="Signed processing policy")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "added" in page
    assert "status-met" in status_on_page(client, setup)
    assert "policy.pdf" in page
    assert len(stored_files(app)) == 1


def test_same_file_twice_is_stored_once(app, auth, setup):
    assert upload(auth, setup).status_code == 302
    assert upload(auth, setup, filename="copy.pdf").status_code == 302
    assert evidence_count(app) == 2
    assert len(stored_files(app)) == 1


def test_disguised_executable_is_refused_and_nothing_is_written(app, auth, setup):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 4096
    response = upload(auth, setup, content=exe, filename="policy.pdf")
    assert response.status_code == 422
    assert "This file type is not accepted as evidence" in response.get_data(as_text=True)
    assert evidence_count(app) == 0
    assert stored_files(app) == []


def test_oversize_upload_is_refused(app, client, auth, setup):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    # Encoded here (not by the test client, whose spooled body leaks when the app stops reading early).
    boundary, body = encode_multipart(
        {
            "evidence-csrf_token": auth.csrf,
            "evidence-file": FileStorage(io.BytesIO(PDF + b"x" * (2 * 1024 * 1024)), "policy.pdf"),
        }
    )
    response = client.post(
        f"/obligations/{setup}/evidence",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 413
    assert "1 MB limit" in response.get_data(as_text=True)
    assert evidence_count(app) == 0
    assert stored_files(app) == []


class LazyReader:
    """A request body of any declared size that is only produced when read."""

    def __init__(self, chunks: Iterator[bytes], length: int) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._length = length
        self._position = 0  # only for werkzeug's EnvironBuilder, which measures the stream by seeking
        self.read_bytes = 0

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        self._position = self._length if whence == 2 else offset
        return self._position

    def close(self) -> None:
        self._chunks = iter(())

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        self.read_bytes += len(out)
        return out


def endless(chunk: bytes = b"x" * 65536) -> Iterator[bytes]:
    while True:
        yield chunk


def test_200_mb_request_is_refused_without_reading_it(app, client, auth, setup):
    body = LazyReader(endless(), 200 * 1024 * 1024)
    response = client.post(
        f"/obligations/{setup}/evidence", input_stream=body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413
    assert "50 MB limit" in response.get_data(as_text=True)
    assert body.read_bytes < 1024 * 1024
    assert evidence_count(app) == 0


def multipart(csrf: str, size: int, boundary: str = "lazyboundary") -> LazyReader:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="evidence-csrf_token"\r\n\r\n{csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="evidence-file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    payload = size - len(b"%PDF-1.4\n")

    def chunks() -> Iterator[bytes]:
        yield head
        block = b"0123456789abcdef" * 4096  # 64 KiB
        left = payload
        while left > 0:
            yield block[: min(left, len(block))]
            left -= len(block)
        yield tail

    return LazyReader(chunks(), len(head) + payload + len(tail))


@pytest.mark.slow
def test_40_mb_upload_is_streamed_not_held_in_memory(app, client, auth, setup):
    body = multipart(auth.csrf, 40 * 1024 * 1024)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        response = client.post(
            f"/obligations/{setup}/evidence",
            input_stream=body,
            content_type="multipart/form-data; boundary=lazyboundary",
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert peak - baseline < 20 * 1024 * 1024
    with app.app_context():
        assert db.session.scalar(select(Evidence.size)) == 40 * 1024 * 1024


def test_withdrawn_evidence_stays_in_history_and_status_is_recomputed(app, client, auth, setup):
    upload(auth, setup)
    evidence_id = only_evidence_id(app)
    assert "status-met" in status_on_page(client, setup)
    response = auth.post(
        f"/evidence/{evidence_id}/withdraw",
        {f"withdraw-{evidence_id}-reason": "Wrong client's policy"},
        prefix=f"withdraw-{evidence_id}",
    )
    assert response.status_code == 302
    html = client.get(f"/obligations/{setup}").get_data(as_text=True)
    entry = html.split(f'id="evidence-{evidence_id}"', 1)[1].split("</li>", 1)[0]
    assert "withdrawn" in entry.lower()
    assert "Wrong client&#39;s policy" in entry or "Wrong client's policy" in entry
    assert "status-overdue" in status_on_page(client, setup)


def test_withdraw_without_reason_changes_nothing(app, client, auth, setup):
    upload(auth, setup)
    evidence_id = only_evidence_id(app)
    response = auth.post(
        f"/evidence/{evidence_id}/withdraw",
        {f"withdraw-{evidence_id}-reason": "  "},
        prefix=f"withdraw-{evidence_id}",
        follow_redirects=True,
    )
    assert "Say why the evidence is withdrawn." in response.get_data(as_text=True)
    with app.app_context():
        evidence = db.session.get(Evidence, evidence_id)
        assert evidence.state is EvidenceState.ACTIVE
        assert evidence.ended_at is None
    assert "status-met" in status_on_page(client, setup)


def test_download_is_an_attachment_that_is_never_sniffed(app, client, auth, setup):
    upload(auth, setup)
    with client.get(f"/evidence/{only_evidence_id(app)}/download") as response:
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert "policy.pdf" in response.headers["Content-Disposition"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.data == PDF


def test_altered_file_is_reported_and_not_served(app, client, auth, runner, setup):
    upload(auth, setup)
    evidence_id = only_evidence_id(app)
    with app.app_context():  # the test runner does not push one for nested command groups
        assert runner.invoke(args=["evidence", "verify"]).exit_code == 0
        sha = db.session.get(Evidence, evidence_id).sha256
        path = evidence_store().path_for(sha)
        path.write_bytes(PDF.replace(b"policy", b"forged"))
        result = runner.invoke(args=["evidence", "verify"])
    assert result.exit_code != 0
    assert f"ALTERED: {sha}" in result.output
    response = client.get(f"/evidence/{evidence_id}/download")
    assert response.status_code == 409
    assert b"forged" not in response.data
