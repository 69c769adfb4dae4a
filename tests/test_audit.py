"""Every change made through the pages leaves an audit event, and the hash chain exposes tampering."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import DBAPIError

from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AuditEvent, Client, Evidence, Role
from dpa_tracker.models.protection import drop_protection_ddl, protection_ddl
from tests.factories import AGREEMENT_FORM, make_user


@contextmanager
def tamperer() -> Iterator[Connection]:
    """Someone with the database owner's rights: drops the protecting triggers first (and we put them back)."""
    dialect = db.engine.dialect.name
    db.session.remove()  # end our own read transaction: PostgreSQL's DROP TRIGGER waits for every reader
    with db.engine.begin() as conn:
        for statement in drop_protection_ddl(dialect, "audit_event"):
            conn.execute(text(statement))
        yield conn
        for statement in protection_ddl(dialect, "audit_event"):
            conn.execute(text(statement))


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def verify(app, runner):
    with app.app_context():  # the test runner does not push one for nested command groups
        return runner.invoke(args=["audit", "verify"])


@pytest.fixture
def history(app, client, auth):
    """A day of work through the pages by an administrator."""
    with app.app_context():
        make_user(Role.ADMIN, "admin@example.com")
    assert auth.login("admin@example.com").status_code == 302
    assert (
        auth.post(
            "/clients/new", {"legal_name": "Acme Hosting", "country": "FR", "notice_emails": "dpo@acme.example"}
        ).status_code
        == 302
    )
    with app.app_context():
        client_id = db.session.scalar(select(Client.id))
    assert auth.post(f"/clients/{client_id}/agreements/new", AGREEMENT_FORM).status_code == 302
    with app.app_context():
        agreement = db.session.scalar(select(Agreement))
        obligation_id = agreement.obligations[1].id
    assert (
        auth.post(
            f"/obligations/{obligation_id}/evidence",
            {"evidence-file": (io.BytesIO(b"Access policy, version 3\n"), "policy.txt")},
            prefix="evidence",
            content_type="multipart/form-data",
        ).status_code
        == 302
    )
    with app.app_context():
        evidence_id = db.session.scalar(select(Evidence.id))
    assert (
        auth.post(
            f"/evidence/{evidence_id}/withdraw",
            {f"withdraw-{evidence_id}-reason": "Outdated"},
            prefix=f"withdraw-{evidence_id}",
        ).status_code
        == 302
    )
    assert (
        auth.post(
            "/admin/users/new", {"email": "lea@example.com", "role": "compliance", "password": "a long enough password"}
        ).status_code
        == 302
    )
    return {"client_id": client_id, "evidence_id": evidence_id}


def test_every_change_leaves_an_audit_event(app, client, history):
    logged = actions(app)
    for action in ("client.create", "agreement.create", "evidence.add", "evidence.withdraw", "user.create"):
        assert action in logged, (action, logged)
    with app.app_context():
        withdraw = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "evidence.withdraw"))
        assert withdraw.actor_label == "admin@example.com"
        assert withdraw.object_id == history["evidence_id"]
        assert withdraw.changes["reason"] == "Outdated"
        assert withdraw.client_id == history["client_id"]
    page = client.get("/activity").get_data(as_text=True)
    assert "evidence.withdraw" in page or "withdraw" in page


def test_audit_verify_detects_an_edited_row(app, runner, history):
    result = verify(app, runner)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    with app.app_context():
        target = db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "evidence.withdraw"))
        with tamperer() as conn:
            conn.execute(
                text("UPDATE audit_event SET changes = :c WHERE id = :id"),
                {"c": json.dumps({"reason": "Never happened"}), "id": target},
            )
    result = verify(app, runner)
    assert result.exit_code != 0
    assert f"event {target}: row altered" in result.output


def test_audit_verify_detects_a_deleted_row(app, runner, history):
    with app.app_context():
        ids = list(db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
        middle, after = ids[len(ids) // 2], ids[len(ids) // 2 + 1]
        with tamperer() as conn:
            conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": middle})
    result = verify(app, runner)
    assert result.exit_code != 0
    assert f"event {after}: link broken" in result.output


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET changes = '{}' WHERE id = (SELECT min(id) FROM audit_event)",
        "DELETE FROM audit_event WHERE id = (SELECT max(id) FROM audit_event)",
        "UPDATE evidence SET note = 'Rewritten' WHERE id = :evidence",
        "UPDATE evidence SET sha256 = NULL WHERE id = :evidence",
        "UPDATE evidence SET acted_at = added_at WHERE id = :evidence",  # moving the act time stops no clock
        "DELETE FROM evidence WHERE id = :evidence",
    ],
)
def test_the_database_refuses_to_rewrite_legal_records(app, history, statement):
    with app.app_context():
        before = (
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
            db.session.get(Evidence, history["evidence_id"]).note,
        )
        db.session.remove()
        with pytest.raises(DBAPIError, match="immutable"), db.engine.begin() as conn:
            conn.execute(text(statement), {"evidence": history["evidence_id"]} if ":evidence" in statement else {})
        assert (
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
            db.session.get(Evidence, history["evidence_id"]).note,
        ) == before


def test_closing_evidence_is_still_allowed(app, history):
    """Withdrawal sets the closing columns only; the history test above withdrew one through the page."""
    with app.app_context():
        evidence = db.session.get(Evidence, history["evidence_id"])
        assert evidence.state.value == "withdrawn" and evidence.end_reason == "Outdated"
