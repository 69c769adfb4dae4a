"""Clause 6.1 change notices e-mailed through a real (local) SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, Evidence, NoticeDelivery, NoticeRecipient, Role
from dpa_tracker.models.base import utcnow
from dpa_tracker.subprocessor.authorised import authorised_for_client
from dpa_tracker.subprocessor.services import SubProcessorInput, create_subprocessor
from tests.factories import make_agreement, make_client, make_user
from tests.support import Inbox, free_port


@pytest.fixture
def three_clients(app):
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        ids = {}
        for key, name in (("approver", "Approver SARL"), ("silent", "Silent SpA"), ("objector", "Objector GmbH")):
            client_ = make_client(name, notice_emails=[f"dpo@{key}.example"])
            agreement = make_agreement(client_, staff, reference=f"DPA-{key}", subprocessor_objection_days=15)
            make_user(Role.CLIENT, f"user@{key}.example", client=client_)
            ids[key] = (client_.id, agreement.id)
        sub = create_subprocessor(
            staff,
            SubProcessorInput(
                legal_name="Mail Relay SAS", country="FR", service="E-mail relay", locations=["FR — Paris"]
            ),
        )
        db.session.commit()
        return {"ids": ids, "sub": sub.id}


def _propose(auth, three_clients, send=True):
    """Propose through the page, then run the cron command that sends what the page queued."""
    auth.login("staff@example.com")
    response = auth.post(
        "/notices/new",
        {
            "kind": "add",
            "subprocessor_id": str(three_clients["sub"]),
            "agreement_ids": [str(agreement_id) for _, agreement_id in three_clients["ids"].values()],
            "reason": "Faster delivery of service e-mails.",
        },
    )
    if send:
        auth._client.application.test_cli_runner().invoke(args=["notices", "send"])
    return response


def test_notice_reaches_each_client_once_and_takes_effect_as_answered(app, client, auth, smtp, three_clients):
    response = _propose(auth, three_clients)
    assert response.status_code == 302
    assert sorted(rcpt[0] for rcpt, _ in smtp.messages) == [
        "dpo@approver.example",
        "dpo@objector.example",
        "dpo@silent.example",
    ]
    body = smtp.messages[0][1].get_payload()
    assert "Mail Relay SAS" in body and "Faster delivery of service e-mails." in body
    deadline = (utcnow().date() + timedelta(days=15)).isoformat()
    assert deadline in body
    # a retry (which only re-queues failed e-mails) and another run send nothing more
    assert client.post("/notices/retry", data={"csrf_token": auth.csrf}).status_code == 302
    assert "0 e-mail(s) sent" in app.test_cli_runner().invoke(args=["notices", "send"]).output
    assert len(smtp.messages) == 3
    auth.logout()

    for key, decision, reason in (("approver", "approve", ""), ("objector", "object", "Data must stay in DZ")):
        auth.login(f"user@{key}.example")
        client_id = three_clients["ids"][key][0]
        page = client.get(f"/clients/{client_id}/notices").get_data(as_text=True)
        assert "Mail Relay SAS" in page and "Faster delivery" in page
        with app.app_context():
            recipient_id = db.session.scalar(
                select(NoticeRecipient.id).where(NoticeRecipient.agreement_id == three_clients["ids"][key][1])
            )
        prefix = f"answer-{recipient_id}"
        answered = auth.post(
            f"/notice-recipients/{recipient_id}/answer",
            {f"{prefix}-decision": decision, f"{prefix}-reason": reason},
            prefix=prefix,
        )
        assert answered.status_code == 302
        auth.logout()

    with app.app_context():
        today = utcnow().date()
        after_deadline = today + timedelta(days=16)

        def names(key, day):
            return [e.subprocessor.legal_name for e in authorised_for_client(three_clients["ids"][key][0], day)]

        assert names("approver", today) == ["Mail Relay SAS"]
        assert names("silent", today) == []
        assert names("silent", after_deadline) == ["Mail Relay SAS"]
        assert names("objector", after_deadline) == []
        # the sent messages are kept as evidence on clause 6.1
        stored = db.session.scalars(select(Evidence).where(Evidence.filename.like("notice-%"))).all()
        assert len(stored) == 3 and all(e.sha256 for e in stored)


def test_objection_needs_a_reason_and_an_answer_cannot_change(app, client, auth, smtp, three_clients):
    _propose(auth, three_clients)
    auth.logout()
    auth.login("user@objector.example")
    with app.app_context():
        recipient_id = db.session.scalar(
            select(NoticeRecipient.id).where(NoticeRecipient.agreement_id == three_clients["ids"]["objector"][1])
        )
    prefix = f"answer-{recipient_id}"
    response = auth.post(f"/notice-recipients/{recipient_id}/answer", {f"{prefix}-decision": "object"}, prefix=prefix)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Give the reason for your objection." in page
    auth.post(f"/notice-recipients/{recipient_id}/answer", {f"{prefix}-decision": "approve"}, prefix=prefix)
    response = auth.post(
        f"/notice-recipients/{recipient_id}/answer",
        {f"{prefix}-decision": "object", f"{prefix}-reason": "changed my mind"},
        prefix=prefix,
    )
    assert "already been answered" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(NoticeRecipient, recipient_id).state.value == "approved"
        db.session.remove()
        # not even a direct SQL session can rewrite the answer or a sent e-mail
        for statement in (
            "UPDATE notice_recipient SET state = 'objected', answer_reason = 'x' WHERE id = :id",
            "DELETE FROM notice_recipient WHERE id = :id",
            "UPDATE notice_delivery SET email = 'other@example.com' WHERE recipient_id = :id",
        ):
            with pytest.raises(DBAPIError, match="immutable"), db.engine.begin() as conn:
                conn.execute(text(statement), {"id": recipient_id})
        assert db.session.get(NoticeRecipient, recipient_id).state.value == "approved"


def test_another_client_cannot_answer(app, client, auth, smtp, three_clients):
    _propose(auth, three_clients)
    auth.logout()
    auth.login("user@approver.example")
    with app.app_context():
        other = db.session.scalar(
            select(NoticeRecipient.id).where(NoticeRecipient.agreement_id == three_clients["ids"]["silent"][1])
        )
    prefix = f"answer-{other}"
    response = auth.post(f"/notice-recipients/{other}/answer", {f"{prefix}-decision": "approve"}, prefix=prefix)
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(NoticeRecipient, other).state.value == "pending"


def test_smtp_outage_keeps_the_notice_queued_and_a_retry_delivers_exactly_once(app, client, auth, three_clients):
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)  # nothing listens yet
    response = _propose(auth, three_clients, send=False)
    assert response.status_code == 302
    result = app.test_cli_runner().invoke(args=["notices", "send"])
    assert result.exit_code == 1
    assert "0 e-mail(s) sent, 3 failed (3 retried by the next run, 0 held" in result.output
    with app.app_context():
        states = db.session.scalars(select(NoticeDelivery.state)).all()
        assert [s.value for s in states] == ["failed"] * 3
        assert all(d.last_error for d in db.session.scalars(select(NoticeDelivery)))
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        result = app.test_cli_runner().invoke(args=["notices", "send"])
        assert result.exit_code == 0, result.output
        assert "3 e-mail(s) sent" in result.output
        again = app.test_cli_runner().invoke(args=["notices", "send"])
        assert "0 e-mail(s) sent" in again.output
    finally:
        controller.stop()
    assert sorted(rcpt[0] for rcpt, _ in inbox.messages) == [
        "dpo@approver.example",
        "dpo@objector.example",
        "dpo@silent.example",
    ]
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(NoticeDelivery).where(NoticeDelivery.state == "sent"))
            == 3
        )


def test_bad_notice_input_changes_nothing(app, client, auth, smtp, three_clients):
    auth.login("staff@example.com")
    response = auth.post(
        "/notices/new",
        {
            "kind": "replace",
            "subprocessor_id": str(three_clients["sub"]),
            "agreement_ids": [str(three_clients["ids"]["silent"][1])],
            "reason": "x",
        },
    )
    assert response.status_code == 422
    assert "names the sub-processor it replaces" in response.get_data(as_text=True)
    response = auth.post(
        "/notices/new",
        {"kind": "add", "subprocessor_id": str(three_clients["sub"]), "agreement_ids": [], "reason": "x"},
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(NoticeRecipient)) == 0
    assert smtp.messages == []


def test_a_notice_delivered_late_still_gives_the_whole_objection_period(app, client, auth, three_clients, clock):
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)  # the SMTP server is down on the day of proposal
    proposed_on = utcnow().date()
    assert _propose(auth, three_clients).status_code == 302
    with app.app_context():
        assert {r.objection_deadline for r in db.session.scalars(select(NoticeRecipient))} == {
            proposed_on + timedelta(days=15)
        }

    three_days_later = clock.set(utcnow() + timedelta(days=3))  # an SMTP outage delayed it three days
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert "3 e-mail(s) sent" in app.test_cli_runner().invoke(args=["notices", "send"]).output
    finally:
        controller.stop()
    deadline = three_days_later.date() + timedelta(days=15)
    for _, message in inbox.messages:
        assert f"You may object until {deadline:%Y-%m-%d}" in message.get_payload()
    with app.app_context():
        assert {r.objection_deadline for r in db.session.scalars(select(NoticeRecipient))} == {deadline}
        moved = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "notice.deadline_moved")).all()
        assert len(moved) == 3
        assert moved[0].changes["objection_deadline"] == [
            (proposed_on + timedelta(days=15)).isoformat(),
            deadline.isoformat(),
        ]
