"""Tampering by someone with the database owner's rights (issue 8, item 4) is found by `flask audit verify`
(with an anchor kept elsewhere where it needs one) or `flask evidence verify`; stale upload temp files go."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from pypdf import PdfReader
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import DBAPIError

from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence, evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    AuditEvent,
    ChangeKind,
    DocumentKind,
    Evidence,
    RecordVersion,
    Role,
    SupportingDocument,
)
from dpa_tracker.models.audit import GENESIS_HASH
from dpa_tracker.models.base import utcnow
from dpa_tracker.models.protection import drop_protection_ddl, protection_ddl
from dpa_tracker.record.services import (
    ActivityInput,
    TransferInput,
    add_document,
    add_transfer,
    create_activity,
    hand_out,
)
from dpa_tracker.subprocessor.notices import answer, propose_change
from dpa_tracker.subprocessor.services import SubProcessorInput, create_subprocessor
from tests.factories import make_agreement, make_client, make_user
from tests.support import make_app

POLICY = b"Access policy, version 3\n"
SAFEGUARDS = b"%PDF-1.4 safeguards assessment for the Art. 49(1) transfer"


@pytest.fixture
def stored(app):
    """One of each stored thing: evidence with a file, a transfer safeguards document, a client's settled answer
    to a notice, and a record version handed out; all through the services, committed."""
    with app.app_context():
        admin = make_user(Role.ADMIN, "admin@example.com")
        client_ = make_client("Tamper Target SARL", notice_emails=["dpo@target.example"])
        agreement = make_agreement(client_, admin, reference="DPA-T")
        evidence = add_evidence(
            admin,
            agreement.obligations[1],
            EvidenceInput(note="Access policy"),
            Upload(io.BytesIO(POLICY), "policy.txt"),
        )
        activity = create_activity(admin, client_, ActivityInput(name="Hosting", processing_categories=["hosting"]))
        transfer = add_transfer(
            admin,
            activity,
            TransferInput(destination="US", recipient="Forensics firm", mechanism="art49_1_second_subparagraph"),
        )
        document = add_document(admin, transfer, DocumentKind.SAFEGUARDS, Upload(io.BytesIO(SAFEGUARDS), "sg.pdf"))
        sub = create_subprocessor(
            admin, SubProcessorInput(legal_name="Mail Relay SAS", country="FR", service="E-mail relay")
        )
        notice = propose_change(admin, ChangeKind.ADD, sub, [agreement], "Faster delivery of service e-mails.")
        db.session.commit()
        client_user = make_user(Role.CLIENT, "client@target.example", client=client_)
        recipient = notice.recipients[0]
        answer(client_user, recipient, approve=True, reason="")
        version, _ = hand_out(admin, client_, utcnow().date(), "json")
        db.session.commit()
        return {
            "client": client_.id,
            "evidence": evidence.id,
            "document": document.id,
            "recipient": recipient.id,
            "version": version.id,
            "version_number": version.number,
        }


@contextmanager
def tamperer(*tables: str) -> Iterator[Connection]:
    """The database owner: drops the protecting triggers of ``tables`` first (and we put them back)."""
    dialect = db.engine.dialect.name
    db.session.remove()  # PostgreSQL's DROP TRIGGER waits for every open reader
    with db.engine.begin() as conn:
        for table in tables:
            for statement in drop_protection_ddl(dialect, table):
                conn.execute(text(statement))
        yield conn
        for table in tables:
            for statement in protection_ddl(dialect, table):
                conn.execute(text(statement))


def invoke(app, runner, *args: str):
    with app.app_context():  # the test runner does not push one for nested command groups
        return runner.invoke(args=list(args))


def take_anchor(app, runner, tmp_path: Path) -> Path:
    path = tmp_path / "anchor.json"
    result = invoke(app, runner, "audit", "anchor", "--output", str(path))
    assert result.exit_code == 0, result.output
    return path


def recompute_chain_from(event_id: int, changes: dict) -> None:
    """Rewrite one event's changes and recompute every later hash, as a careful tamperer would."""
    previous = (
        db.session.scalar(
            select(AuditEvent.hash).where(AuditEvent.id < event_id).order_by(AuditEvent.id.desc()).limit(1)
        )
        or GENESIS_HASH
    )
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.id >= event_id).order_by(AuditEvent.id)))
    db.session.expunge_all()
    rewritten = []
    for event in events:
        if event.id == event_id:
            event.changes = changes
        event.prev_hash = previous
        event.hash = event.compute_hash()
        previous = event.hash
        rewritten.append(event)
    table = AuditEvent.__table__
    with tamperer("audit_event") as conn:
        for event in rewritten:
            conn.execute(
                table.update()
                .where(table.c.id == event.id)
                .values(changes=event.changes, prev_hash=event.prev_hash, hash=event.hash)
            )


def test_untouched_stores_pass_both_verifiers_and_an_anchor_holds(app, runner, stored, tmp_path):
    anchor = take_anchor(app, runner, tmp_path)
    result = invoke(app, runner, "audit", "verify", "--anchor", str(anchor))
    assert result.exit_code == 0, result.output
    assert "intact and every row and file its events recorded matches; 1 anchor(s) hold." in result.output
    result = invoke(app, runner, "evidence", "verify")
    assert result.exit_code == 0, result.output
    assert "All 2 stored file(s) and 1 record version(s) match their SHA-256." in result.output


def test_anchor_is_the_chain_head_as_json_printed_and_written(app, runner, stored, tmp_path):
    path = take_anchor(app, runner, tmp_path)
    written = json.loads(path.read_text(encoding="utf-8"))
    with app.app_context():
        head = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        count = db.session.scalar(select(func.count()).select_from(AuditEvent))
        assert (written["event_id"], written["hash"], written["count"]) == (head.id, head.hash, count)
        assert written["event_at"] == head.occurred_at.isoformat()
    printed = invoke(app, runner, "audit", "anchor").output
    assert json.loads(printed)["hash"] == written["hash"]


def test_deleting_the_newest_audit_events_is_found_with_an_anchor(app, runner, stored, tmp_path):
    anchor = take_anchor(app, runner, tmp_path)
    with app.app_context():
        last = db.session.scalar(select(func.max(AuditEvent.id)))
        with tamperer("audit_event") as conn:
            conn.execute(text("DELETE FROM audit_event WHERE id > :keep"), {"keep": last - 3})
    assert invoke(app, runner, "audit", "verify").exit_code == 0  # the chain alone cannot see a cut end
    result = invoke(app, runner, "audit", "verify", "--anchor", str(anchor))
    assert result.exit_code == 1
    assert (
        f"anchor {anchor}: the anchored head event {last} is missing (the log now ends at {last - 3}): "
        "the newest events were deleted"
    ) in result.output


def test_rewriting_an_old_event_and_recomputing_the_chain_is_found_with_an_anchor(app, runner, tmp_path):
    with app.app_context():
        make_client("Honest Name SARL")
        client_event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "client.create"))
        make_client("Later Client SpA")
        event_id, changes = client_event.id, {**client_event.changes, "legal_name": "Rewritten Name SARL"}
    anchor = take_anchor(app, runner, tmp_path)
    with app.app_context():
        recompute_chain_from(event_id, changes)
    assert invoke(app, runner, "audit", "verify").exit_code == 0  # recomputed: the chain alone is intact again
    result = invoke(app, runner, "audit", "verify", "--anchor", str(anchor))
    assert result.exit_code == 1
    assert "the chain was rewritten and recomputed" in result.output


def test_replacing_an_evidence_file_and_its_sha256_is_found(app, runner, stored):
    forged = b"Access policy, version 3, with the exceptions we needed\n"
    forged_sha = hashlib.sha256(forged).hexdigest()
    with app.app_context():
        store = evidence_store()
        original_sha = db.session.get(Evidence, stored["evidence"]).sha256
        store.path_for(forged_sha).parent.mkdir(parents=True, exist_ok=True)
        store.path_for(forged_sha).write_bytes(forged)
        store.path_for(original_sha).unlink()
        with tamperer("evidence") as conn:
            conn.execute(
                text("UPDATE evidence SET sha256 = :sha, size = :size WHERE id = :id"),
                {"sha": forged_sha, "size": len(forged), "id": stored["evidence"]},
            )
    result = invoke(app, runner, "audit", "verify")
    assert result.exit_code == 1
    assert f"evidence {stored['evidence']} no longer matches what the event recorded (sha256)" in result.output
    assert f"file {original_sha} is missing" in result.output


@pytest.mark.parametrize("also_rehash", [False, True], ids=["content", "content-and-sha256"])
def test_editing_a_record_version_is_found(app, runner, stored, also_rehash):
    with app.app_context():
        version = db.session.get(RecordVersion, stored["version"])
        content = version.content.replace('"Hosting"', '"Hosting (nothing else)"')
        assert content != version.content
        with tamperer("record_version") as conn:
            conn.execute(
                text("UPDATE record_version SET content = :content, content_sha256 = :sha WHERE id = :id"),
                {
                    "content": content,
                    "id": stored["version"],
                    "sha": hashlib.sha256(content.encode()).hexdigest() if also_rehash else version.content_sha256,
                },
            )
    result = invoke(app, runner, "audit", "verify")
    assert result.exit_code == 1
    changed = "sha256, content" if also_rehash else "content"
    assert f"record version {stored['version']} no longer matches what the event recorded ({changed})" in result.output
    result = invoke(app, runner, "evidence", "verify")
    if also_rehash:
        assert result.exit_code == 0  # the row agrees with itself: only the audit event still knows
    else:
        assert result.exit_code == 1
        assert f"ALTERED: record version {stored['version_number']} of client {stored['client']}" in result.output


def test_flipping_a_settled_answer_with_the_triggers_dropped_is_found(app, runner, stored):
    with app.app_context(), tamperer("notice_recipient") as conn:
        conn.execute(
            text("UPDATE notice_recipient SET state = 'objected', answer_reason = 'We object' WHERE id = :id"),
            {"id": stored["recipient"]},
        )
    result = invoke(app, runner, "audit", "verify")
    assert result.exit_code == 1
    assert (
        f"notice answer {stored['recipient']} no longer matches what the event recorded (state, answer)"
        in result.output
    )


def test_corrupting_a_transfer_safeguards_document_file_is_found(app, runner, stored):
    with app.app_context():
        sha = db.session.get(SupportingDocument, stored["document"]).sha256
        evidence_store().path_for(sha).write_bytes(SAFEGUARDS.replace(b"assessment", b"afterthought"))
    result = invoke(app, runner, "evidence", "verify")
    assert result.exit_code == 1
    assert f"ALTERED: {sha}" in result.output
    result = invoke(app, runner, "audit", "verify")
    assert result.exit_code == 1
    assert f"file {sha} is altered" in result.output


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM supporting_document WHERE id = :id",
        "UPDATE supporting_document SET sha256 = 'forged' WHERE id = :id",
        "UPDATE supporting_document SET filename = 'other.pdf' WHERE id = :id",
    ],
)
def test_the_database_refuses_to_delete_or_rewrite_a_supporting_document(app, stored, statement):
    with app.app_context():
        db.session.remove()
        with pytest.raises(DBAPIError, match="immutable"), db.engine.begin() as conn:
            conn.execute(text(statement), {"id": stored["document"]})
        document = db.session.get(SupportingDocument, stored["document"])
        assert (document.filename, document.sha256) == ("sg.pdf", hashlib.sha256(SAFEGUARDS).hexdigest())


def test_withdrawing_a_supporting_document_is_still_allowed(app, stored):
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(
                text("UPDATE supporting_document SET withdrawn_at = :at, withdrawn_reason = 'Expired' WHERE id = :id"),
                {"at": utcnow(), "id": stored["document"]},
            )
        assert db.session.get(SupportingDocument, stored["document"]).withdrawn_reason == "Expired"


def test_every_record_copy_shows_the_audit_chain_head_at_hand_out(app, client, auth, stored):
    with app.app_context():
        version = db.session.get(RecordVersion, stored["version"])
        before = db.session.scalar(
            select(AuditEvent)
            .where(
                AuditEvent.id < db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "record.hand_out"))
            )
            .order_by(AuditEvent.id.desc())
        )
        assert (version.audit_head_id, version.audit_head_hash) == (before.id, before.hash)
        head = f"{before.id}:{before.hash}"
    auth.login("admin@example.com")
    base = f"/clients/{stored['client']}/record/versions/{stored['version_number']}"
    response = client.get(f"{base}.json")
    assert response.json["audit_head"] == {"event_id": before.id, "hash": before.hash}
    assert response.headers["X-Audit-Head"] == head
    rows = client.get(f"{base}.csv").data.decode("utf-8-sig").splitlines()
    assert rows[0].endswith("record_version,record_sha256,audit_chain_head")
    assert rows[1].endswith(f",{stored['version_number']},{version.content_sha256},{head}")
    reader = PdfReader(io.BytesIO(client.get(f"{base}.pdf").data))
    cover = "".join(reader.pages[0].extract_text().split())
    assert f"Auditchainhead{head}" in cover
    assert f"audit event {before.id}" in reader.pages[-1].extract_text()


def test_the_head_printed_on_a_record_copy_finds_a_recomputed_chain(app, runner, stored):
    with app.app_context():
        version = db.session.get(RecordVersion, stored["version"])
        head = f"{version.audit_head_id}:{version.audit_head_hash}"
        first = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "client.create"))
        event_id, changes = first.id, {**first.changes, "legal_name": "Someone Else SARL"}
    assert invoke(app, runner, "audit", "verify", "--head", head).exit_code == 0
    with app.app_context():
        recompute_chain_from(event_id, changes)
    result = invoke(app, runner, "audit", "verify", "--head", head)
    assert result.exit_code == 1
    assert f"anchor {head}: event {version.audit_head_id} no longer has the anchored hash" in result.output
    # Even without the client's copy, the version row itself still remembers the old head.
    result = invoke(app, runner, "audit", "verify")
    assert result.exit_code == 1
    assert f"the chain head printed on record version {stored['version_number']}" in result.output


def test_an_anchor_file_may_hold_one_anchor_per_line_and_a_bad_one_is_refused(app, runner, stored, tmp_path):
    first = take_anchor(app, runner, tmp_path).read_text(encoding="utf-8")
    with app.app_context():
        make_client("Another Client SpA")
    second = take_anchor(app, runner, tmp_path).read_text(encoding="utf-8")
    both = tmp_path / "anchors.jsonl"
    both.write_text(first + second, encoding="utf-8")
    result = invoke(app, runner, "audit", "verify", "--anchor", str(both))
    assert result.exit_code == 0, result.output
    assert "2 anchor(s) hold" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"event_id": "one"}', encoding="utf-8")
    result = invoke(app, runner, "audit", "verify", "--anchor", str(bad))
    assert result.exit_code == 1
    assert "is not an audit anchor" in result.output


def test_anchoring_an_empty_log_says_so(app, runner):
    result = invoke(app, runner, "audit", "anchor")
    assert result.exit_code == 1
    assert "nothing to anchor yet" in result.output


def test_stale_upload_temp_files_are_reported_and_removed_at_start_up(app, runner, database_url, tmp_path):
    with app.app_context():
        tmp_dir = evidence_store().root / "tmp"
    tmp_dir.mkdir(parents=True)
    stale, running = tmp_dir / "upload-killed", tmp_dir / "upload-running"
    stale.write_bytes(b"x" * 2048)
    running.write_bytes(b"y")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    result = invoke(app, runner, "evidence", "verify")
    assert result.exit_code == 0, result.output
    assert f"STALE TEMP FILE: {stale} (2048 bytes)" in result.output
    assert "1 stale upload temp file(s)" in result.output
    assert str(running) not in result.output
    restarted = make_app(database_url, tmp_path)  # same EVIDENCE_DIR
    with restarted.app_context():
        db.engine.dispose()
    assert not stale.exists()
    assert running.exists()  # an upload still under way is left alone


def _triggers(conn: Connection, table: str) -> set[str]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = to_regclass(:t)"), {"t": table}
        )
    else:
        rows = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table}
        )
    return set(rows.scalars())


def test_migration_0007_protects_supporting_documents_and_every_downgrade_drops_what_it_made(
    fresh_database_url, tmp_path
):
    app = make_app(fresh_database_url, tmp_path)
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as conn:
                assert _triggers(conn, "supporting_document") == {
                    "supporting_document_no_delete",
                    "supporting_document_content_fixed",
                }
                record_triggers = _triggers(conn, "record_version")
            downgrade(revision="0007-1")
            with db.engine.connect() as conn:
                assert _triggers(conn, "supporting_document") == set()
                assert _triggers(conn, "record_version") == record_triggers  # not lost to a table rebuild
                columns = {c["name"] for c in db.inspect(conn).get_columns("record_version")}
                assert not columns & {"audit_head_id", "audit_head_hash"}
            downgrade(revision="base")
            with db.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    assert (
                        conn.execute(text("SELECT count(*) FROM pg_proc WHERE proname = 'dpa_refuse_change'")).scalar()
                        == 0
                    )
                assert set(db.inspect(conn).get_table_names()) - {"alembic_version"} == set()
        finally:
            db.session.remove()
            db.engine.dispose()
