"""Issue 8 items 3 and 6: single-line fields refuse CR/LF and control characters; pages only queue notice
e-mails and `flask notices send` tries each delivery on its own; failed e-mails are listed and retried by staff;
two concurrent answers to one notice give one success and one 409."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from sqlalchemy import func, select, text

from dpa_tracker.auth.services import create_token
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AuditEvent, Client, NoticeDelivery, NoticeRecipient, Role, SubProcessor, User
from dpa_tracker.subprocessor.services import SubProcessorInput, create_subprocessor
from tests.factories import AGREEMENT_FORM, make_agreement, make_client, make_user
from tests.support import AuthActions, free_port

SINGLE_LINE = "must be a single line without control characters."


@pytest.fixture
def two_clients(app):
    """Two clients with one active agreement each, a sub-processor to add, and a client user for each."""
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        make_user(Role.ADMIN, "admin@example.com")
        make_user(Role.AUDITOR, "auditor@example.com")
        ids = {}
        for key, name in (("broken", "Broken Ltd"), ("healthy", "Healthy SAS")):
            client_ = make_client(name, notice_emails=[f"dpo@{key}.example"])
            agreement = make_agreement(client_, staff, reference=f"DPA-{key}", subprocessor_objection_days=15)
            make_user(Role.CLIENT, f"user@{key}.example", client=client_)
            ids[key] = (client_.id, agreement.id)
        make_user(Role.CLIENT, "other@healthy.example", client=db.session.get(Client, ids["healthy"][0]))
        sub = create_subprocessor(
            staff, SubProcessorInput(legal_name="Mail Relay SAS", country="FR", service="E-mail relay")
        )
        db.session.commit()
        return {"ids": ids, "sub": sub.id}


def _propose(auth, two_clients):
    return auth.post(
        "/notices/new",
        {
            "kind": "add",
            "subprocessor_id": str(two_clients["sub"]),
            # the broken client first: its delivery is tried before the healthy one
            "agreement_ids": [str(two_clients["ids"][key][1]) for key in ("broken", "healthy")],
            "reason": "Faster delivery of service e-mails.",
        },
    )


def _send(app):
    return app.test_cli_runner().invoke(args=["notices", "send"])


def _deliveries(app):
    with app.app_context():
        rows = db.session.scalars(select(NoticeDelivery).order_by(NoticeDelivery.id)).all()
        return {d.email: (d.state.value, d.held, d.attempts, d.last_error) for d in rows}


# --- 1. single-line fields -----------------------------------------------------------------------


# Line breaks, tabs and Unicode separators reach the form and are refused by the single-line rule (422);
# other control characters are refused for every field by the request guard before any form (400).
@pytest.mark.parametrize(
    ("value", "status", "message"),
    [
        ("ACME\r\nBcc: victim@example.com", 422, f"Legal name {SINGLE_LINE}"),
        ("ACME\nSA", 422, f"Legal name {SINGLE_LINE}"),
        ("ACME\tSA", 422, f"Legal name {SINGLE_LINE}"),
        ("ACME\u2028SA", 422, f"Legal name {SINGLE_LINE}"),
        ("ACME\x0bSA", 400, "contains a control character"),
        ("ACME\x85SA", 400, "contains a control character"),
    ],
)
def test_client_form_refuses_a_legal_name_with_a_line_break_or_control_character(
    app, client, auth, value, status, message
):
    with app.app_context():
        make_user(Role.COMPLIANCE, "staff@example.com")
    auth.login("staff@example.com")
    response = auth.post("/clients/new", {"legal_name": value, "country": "DZ", "notice_emails": "dpo@acme.example"})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0


def test_agreement_form_refuses_a_reference_with_cr_lf_and_accepts_a_clean_one(app, client, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "staff@example.com")
        client_id = make_client("Acme SA").id
    auth.login("staff@example.com")
    url = f"/clients/{client_id}/agreements/new"
    response = auth.post(url, {**AGREEMENT_FORM, "reference": "DPA-1\r\nBcc: victim@example.com"})
    assert response.status_code == 422
    assert f"Reference {SINGLE_LINE}" in response.get_data(as_text=True)
    response = auth.post(url, {**AGREEMENT_FORM, "title": "Hosting\u2029DPA"})
    assert response.status_code == 422
    assert f"Title {SINGLE_LINE}" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agreement)) == 0
    assert auth.post(url, AGREEMENT_FORM).status_code == 302
    # multi-line fields keep their line breaks
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agreement)) == 1


def test_subprocessor_form_names_the_field_it_refuses(app, client, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "staff@example.com")
    auth.login("staff@example.com")
    response = auth.post(
        "/subprocessors",
        {
            "legal_name": "Relay SAS",
            "country": "FR",
            "service": "E-mail\r\nrelay",
            "locations": "FR — Paris\nDE — Berlin",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"Service {SINGLE_LINE}" in page and "Legal name must" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SubProcessor)) == 0


@pytest.mark.parametrize(
    ("path", "body", "field", "label"),
    [
        (
            "/api/v1/clients",
            {"legal_name": "Acme\r\nSA", "country": "DZ", "notice_emails": ["dpo@acme.example"]},
            "legal_name",
            "Legal name",
        ),
        (
            "/api/v1/clients",
            {
                "legal_name": "Acme SA",
                "country": "DZ",
                "notice_emails": ["dpo@acme.example"],
                "representative": "Jane\u2028Doe",
            },
            "representative",
            "Representative",
        ),
        (
            "/api/v1/agreements",
            {"reference": "DPA-1\nX", "title": "Hosting", "signed_on": "2026-01-01", "effective_on": "2026-01-01"},
            "reference",
            "Reference",
        ),
        (
            "/api/v1/agreements",
            {
                "reference": "DPA-1",
                "title": "Hosting",
                "signed_on": "2026-01-01",
                "effective_on": "2026-01-01",
                "permitted_locations": ["DZ\r\nFR"],
            },
            "permitted_locations",
            "Permitted location",
        ),
    ],
)
def test_api_refuses_single_line_fields_with_control_characters(app, client, path, body, field, label):
    with app.app_context():
        user = make_user(Role.COMPLIANCE, "staff@example.com")
        acme = make_client("Existing Client")
        _, token = create_token(None, user)
        db.session.commit()
        body = {**body, "client_id": acme.id} if "agreements" in path else body
    response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert f"{label} {SINGLE_LINE}" in str(response.json["errors"]["json"][field])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 1
        assert db.session.scalar(select(func.count()).select_from(Agreement)) == 0


def test_cli_refuses_a_user_name_with_a_line_break(app, runner):
    result = runner.invoke(
        args=["create-user", "new@example.com", "--role", "compliance", "--name", "Jane\nDoe", "--password-stdin"],
        input="correct horse battery staple\n",
    )
    assert result.exit_code != 0
    assert f"Name {SINGLE_LINE}" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


# --- 2. pages only queue --------------------------------------------------------------------------


def _silent_smtp_server():
    """A TCP server that accepts connections (the kernel completes the handshake) and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


@pytest.mark.parametrize("server", ["closed port", "silent server"])
def test_notice_form_only_queues_and_answers_within_a_second_with_smtp_down(app, client, auth, two_clients, server):
    silent = _silent_smtp_server() if server == "silent server" else None
    port = silent.getsockname()[1] if silent else free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        auth.login("staff@example.com")
        started = time.perf_counter()
        response = _propose(auth, two_clients)
        elapsed = time.perf_counter() - started
        assert response.status_code == 302
        assert elapsed < 1.0, f"the notice form took {elapsed:.1f} s"
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "queued: 2 e-mail(s)" in page
        if silent is not None:
            silent.setblocking(False)
            with pytest.raises(BlockingIOError):  # nobody even connected to the SMTP server
                silent.accept()
    finally:
        if silent is not None:
            silent.close()
    assert _deliveries(app) == {
        "dpo@broken.example": ("queued", False, 0, ""),
        "dpo@healthy.example": ("queued", False, 0, ""),
    }


# --- 3. the cron command: each delivery on its own ---------------------------------------------------


def test_a_message_that_cannot_be_built_is_held_and_the_other_client_is_delivered(app, client, auth, two_clients, smtp):
    auth.login("staff@example.com")
    assert _propose(auth, two_clients).status_code == 302
    # an old row, written before single-line fields were enforced
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            text("UPDATE agreement SET reference = :ref WHERE id = :id"),
            {"ref": "DPA-broken\r\nBcc: victim@example.com", "id": two_clients["ids"]["broken"][1]},
        )

    result = _send(app)
    assert result.exit_code == 1
    assert "1 e-mail(s) sent, 1 failed (0 retried by the next run, 1 held for an admin's retry)" in result.output
    assert [rcpt for rcpt, _ in smtp.messages] == [["dpo@healthy.example"]]
    assert "DPA-healthy" in smtp.messages[0][1]["Subject"]
    state, held, attempts, error = _deliveries(app)["dpo@broken.example"]
    assert (state, held, attempts) == ("failed", True, 1)
    assert error.startswith("The message cannot be built: ValueError")
    assert _deliveries(app)["dpo@healthy.example"][0] == "sent"
    with app.app_context():
        failure = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "notice.delivery_failed")).one()
        assert failure.changes["email"] == "dpo@broken.example" and failure.changes["held"] is True
        assert failure.client_id == two_clients["ids"]["broken"][0]

    # a held delivery is not retried by every run (it would fail the same way)
    again = _send(app)
    assert again.exit_code == 0, again.output
    assert "0 e-mail(s) sent, 0 failed" in again.output
    assert _deliveries(app)["dpo@broken.example"][2] == 1

    # staff see it, correct the data, and retry: the retry only queues, the next run sends
    auth.logout()
    auth.login("admin@example.com")
    page = client.get("/notices/deliveries").get_data(as_text=True)
    for shown in ("dpo@broken.example", "Broken Ltd", "The message cannot be built", "held"):
        assert shown in page
    assert "dpo@healthy.example" not in page
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            text("UPDATE agreement SET reference = 'DPA-broken' WHERE id = :id"),
            {"id": two_clients["ids"]["broken"][1]},
        )
    with app.app_context():
        delivery_id = db.session.scalar(select(NoticeDelivery.id).where(NoticeDelivery.email == "dpo@broken.example"))
    response = auth.post(f"/notices/deliveries/{delivery_id}/retry")
    assert response.status_code == 302
    assert "queued again" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert len(smtp.messages) == 1
    assert _deliveries(app)["dpo@broken.example"][:2] == ("queued", False)
    result = _send(app)
    assert result.exit_code == 0 and "1 e-mail(s) sent, 0 failed" in result.output
    assert [rcpt for rcpt, _ in smtp.messages] == [["dpo@healthy.example"], ["dpo@broken.example"]]
    assert "No failed e-mail." in client.get("/notices/deliveries").get_data(as_text=True)
    with app.app_context():
        requeued = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "notice.delivery_requeued")).one()
        assert requeued.actor_label == "admin@example.com"


def test_an_smtp_failure_is_retried_by_the_next_run_and_retry_all_requeues(app, client, auth, two_clients):
    auth.login("staff@example.com")
    assert _propose(auth, two_clients).status_code == 302
    result = _send(app)  # MAIL_PORT=1: nothing listens
    assert result.exit_code == 1
    assert "0 e-mail(s) sent, 2 failed (2 retried by the next run, 0 held" in result.output
    assert "2 failed (2 retried" in _send(app).output
    assert {v[:3] for v in _deliveries(app).values()} == {("failed", False, 2)}
    page = client.get("/notices/deliveries").get_data(as_text=True)
    assert "dpo@broken.example" in page and "dpo@healthy.example" in page and "Healthy SAS" in page
    response = auth.post("/notices/retry")
    assert "2 e-mail(s) queued again" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert {v[0] for v in _deliveries(app).values()} == {"queued"}


def test_without_a_configured_smtp_server_nothing_is_sent_and_mail_stays_queued(app, client, auth, two_clients):
    auth.login("staff@example.com")
    assert _propose(auth, two_clients).status_code == 302
    app.config["MAIL_SERVER"] = ""  # the default: no server configured
    result = _send(app)
    assert result.exit_code == 1
    assert "No SMTP server is configured (set DPA_MAIL_SERVER" in result.output
    assert {v[:3] for v in _deliveries(app).values()} == {("queued", False, 0)}


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("auditor@example.com", 403),
        ("user@healthy.example", 403),
        ("staff@example.com", 200),
        ("admin@example.com", 200),
    ],
)
def test_only_staff_see_and_retry_failed_deliveries(app, client, auth, two_clients, user, status):
    auth.login(user)
    assert client.get("/notices/deliveries").status_code == status
    assert auth.post("/notices/retry").status_code == (302 if status == 200 else status)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "notice.delivery_requeued")
            )
            == 0
        )


# --- 5. concurrent answers ----------------------------------------------------------------------------


def _answer_twice_at_once(app, monkeypatch, send_approve, send_object):
    """Run both answers in threads that meet after their 'still pending?' check, so both race for the row."""
    import dpa_tracker.subprocessor.notices as notices

    real_utcnow = notices.utcnow
    barrier = threading.Barrier(2, timeout=10)
    waited = threading.local()

    def meeting_utcnow():
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()
        return real_utcnow()

    monkeypatch.setattr(notices, "utcnow", meeting_utcnow)
    results: dict[str, object] = {}

    def run(name, call):
        results[name] = call()

    threads = [
        threading.Thread(target=run, args=("approve", send_approve)),
        threading.Thread(target=run, args=("object", send_object)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def _recipient_id(app, two_clients):
    with app.app_context():
        return db.session.scalar(
            select(NoticeRecipient.id).where(NoticeRecipient.agreement_id == two_clients["ids"]["healthy"][1])
        )


def test_concurrent_api_answers_give_one_success_and_one_409(app, client, auth, two_clients, monkeypatch):
    auth.login("staff@example.com")
    assert _propose(auth, two_clients).status_code == 302
    recipient_id = _recipient_id(app, two_clients)
    with app.app_context():
        tokens = [
            create_token(None, db.session.scalar(select(User).where(User.email == email)))[1]
            for email in ("user@healthy.example", "other@healthy.example")
        ]
        db.session.commit()
    url = f"/api/v1/notice-recipients/{recipient_id}/answer"

    def post(token, body):
        return lambda: app.test_client().post(url, json=body, headers={"Authorization": f"Bearer {token}"})

    results = _answer_twice_at_once(
        app,
        monkeypatch,
        post(tokens[0], {"decision": "approve"}),
        post(tokens[1], {"decision": "object", "reason": "Data must stay in DZ", "consequence": "not_used"}),
    )
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 409], [r.get_data(as_text=True) for r in results.values()]
    loser = next(r for r in results.values() if r.status_code == 409)
    assert loser.mimetype == "application/problem+json"
    assert "already been answered" in loser.json["detail"]
    winner = next(name for name, r in results.items() if r.status_code == 200)
    with app.app_context():
        assert (
            db.session.get(NoticeRecipient, recipient_id).state.value
            == {"approve": "approved", "object": "objected"}[winner]
        )
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action.in_(["notice.approve", "notice.object"]))
            )
            == 1
        )


def test_concurrent_page_answers_give_one_success_and_one_refusal(app, client, auth, two_clients, monkeypatch):
    auth.login("staff@example.com")
    assert _propose(auth, two_clients).status_code == 302
    recipient_id = _recipient_id(app, two_clients)
    prefix = f"answer-{recipient_id}"
    sessions = []
    for email in ("user@healthy.example", "other@healthy.example"):
        actions = AuthActions(app.test_client())
        assert actions.login(email).status_code == 302
        sessions.append(actions)
    url = f"/notice-recipients/{recipient_id}/answer"
    results = _answer_twice_at_once(
        app,
        monkeypatch,
        lambda: sessions[0].post(url, {f"{prefix}-decision": "approve"}, prefix=prefix),
        lambda: sessions[1].post(url, {f"{prefix}-decision": "object", f"{prefix}-reason": "No"}, prefix=prefix),
    )
    assert sorted(r.status_code for r in results.values()) == [302, 302]
    flashes = sorted(
        sessions[i]._client.get(results[name].headers["Location"]).get_data(as_text=True)
        for i, name in enumerate(("approve", "object"))
    )
    recorded = [page for page in flashes if "is recorded" in page]
    refused = [page for page in flashes if "already been answered" in page]
    assert len(recorded) == 1 and len(refused) == 1
    with app.app_context():
        assert db.session.get(NoticeRecipient, recipient_id).state.value in ("approved", "objected")
