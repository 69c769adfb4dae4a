"""Issue 12, clause 3.1(3): the register of the client's documented instructions, an unlawful one flagged with
its notice to the client (hours clock, kept as evidence), the API twins and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    AuditEvent,
    Evidence,
    Instruction,
    InstructionFlag,
    RequestNotice,
    Role,
    TriggerEvent,
)
from tests.factories import make_agreement, make_client, make_user
from tests.support import AuthActions

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def world(app, clock):
    clock.set(NOW)
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        ids = {}
        for key, name in (("a", "Alpha Foods"), ("b", "Beta Bank")):
            client = make_client(name, notice_emails=[f"dpo@{key}.example", f"legal@{key}.example"])
            agreement = make_agreement(client, staff, reference=f"DPA-{key.upper()}", instruction_alert_hours=4)
            user = make_user(Role.CLIENT, f"user@{key}.example", client=client)
            for o in agreement.obligations:
                if o.clause_number == "3.1(3)":
                    add_evidence(staff, o, EvidenceInput(note="Instruction-handling procedure"))
            db.session.commit()
            _, client_token = create_token(None, user, "test")
            ids[key] = {"client": client.id, "agreement": agreement.id, "token": client_token}
        _, token = create_token(None, staff, "test")
        db.session.commit()
    return {"ids": ids, "token": token}


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _form(agreement_id, **overrides):
    form = {
        "agreement_id": str(agreement_id),
        "received_on": "2026-03-01",
        "channel": "email",
        "content": "Send the customer file to our US marketing partner every week",
        "about_transfers": "y",
    }
    form.update(overrides)
    return form


def _statuses(http, token, agreement_id):
    rows = http.get(f"/api/v1/agreements/{agreement_id}/obligations?limit=100", headers=_bearer(token)).json["items"]
    return {row["clause_number"]: (row["status"], row["reason"]) for row in rows}


def _counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(m))
            for m in (Instruction, InstructionFlag, TriggerEvent, RequestNotice, AuditEvent)
        )


def _instruction_ids(app):
    with app.app_context():
        return list(db.session.scalars(select(Instruction.id).order_by(Instruction.id)))


def _send(app):
    result = app.test_cli_runner().invoke(args=["notices", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def test_unlawful_instruction_queues_the_notice_and_runs_its_hours_clock(app, client, auth, clock, smtp, world):
    ids, token = world["ids"], world["token"]
    auth.login("staff@example.com")
    r = auth.post("/instructions/new", _form(ids["a"]["agreement"]))
    assert r.status_code == 302, r.get_data(as_text=True)
    (instruction_id,) = _instruction_ids(app)
    page = client.get(f"/instructions/{instruction_id}").get_data(as_text=True)
    assert "US marketing partner" in page and "About transfers</dt><dd>yes" in page
    assert _statuses(client, token, ids["a"]["agreement"])["3.1(3)"][0] == "met"  # ready, no event

    r = auth.post(
        f"/instructions/{instruction_id}/flag",
        {"flag-reason": "A transfer to the US without the safeguards of Chapter V"},
        prefix="flag",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    assert smtp.messages == []
    with app.app_context():
        notices = list(db.session.scalars(select(RequestNotice)))
        assert sorted(n.email for n in notices) == ["dpo@a.example", "legal@a.example"]
        assert all(n.clause_number == "3.1(3)" and n.state.value == "queued" for n in notices)
        event = db.session.get(TriggerEvent, notices[0].event_id)
        assert event.obligation.clause_number == "3.1(3)" and event.aware_at == NOW
    status, reason = _statuses(client, token, ids["a"]["agreement"])["3.1(3)"]
    assert status == "due_soon", reason
    assert "2026-03-02 13:30 UTC" in reason  # flagged 09:30 + the agreement's 4 hours

    clock.set(NOW + timedelta(hours=1))
    assert "2 e-mail(s) sent" in _send(app)
    assert _statuses(client, token, ids["a"]["agreement"])["3.1(3)"][0] == "met"
    for _, message in smtp.messages:
        body = message.get_payload(decode=True).decode()
        assert "A transfer to the US without the safeguards of Chapter V" in body
        assert "Alpha Foods" in body and "Beta Bank" not in body
    with app.app_context():
        for notice in db.session.scalars(select(RequestNotice)):
            evidence = db.session.scalar(select(Evidence).where(Evidence.sha256 == notice.message_sha256))
            assert evidence.obligation.clause_number == "3.1(3)" and evidence.acted_at == notice.sent_at


def test_flag_not_sent_within_the_hours_target_is_late(app, client, auth, clock, smtp, world):
    ids, token = world["ids"], world["token"]
    client.post(
        "/api/v1/instructions",
        json={"agreement_id": ids["b"]["agreement"], "received_on": "2026-03-01", "channel": "post", "content": "x y"},
        headers=_bearer(token),
    )
    (instruction_id,) = _instruction_ids(app)
    r = client.post(f"/api/v1/instructions/{instruction_id}/flag", json={"reason": "unlawful"}, headers=_bearer(token))
    assert r.status_code == 201, r.json
    assert r.json["unlawful_reason"] == "unlawful" and len(r.json["notices"]) == 2
    clock.set(NOW + timedelta(hours=5))
    _send(app)
    status, reason = _statuses(client, token, ids["b"]["agreement"])["3.1(3)"]
    assert status == "late", reason
    again = client.post(f"/api/v1/instructions/{instruction_id}/flag", json={"reason": "again"}, headers=_bearer(token))
    assert again.status_code == 422 and "already flagged" in again.json["detail"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"received_on": "2026-03-03"}, "cannot be received in the future"),
        ({"content": ""}, "This field is required"),
        ({"channel": "pigeon"}, "Not a valid choice"),
        ({"agreement_id": "999999"}, "Not a valid choice"),
    ],
)
def test_bad_input_changes_nothing(app, client, auth, world, overrides, message):
    auth.login("staff@example.com")
    before = _counts(app)
    r = auth.post("/instructions/new", {**_form(world["ids"]["a"]["agreement"]), **overrides})
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert _counts(app) == before


def test_clients_see_only_their_own_instructions(app, client, auth, world):
    ids = world["ids"]
    auth.login("staff@example.com")
    auth.post("/instructions/new", _form(ids["b"]["agreement"], content="Beta's own instruction"))
    (b_instruction,) = _instruction_ids(app)
    user = app.test_client()
    AuthActions(user).login("user@a.example")
    assert user.get(f"/instructions/{b_instruction}").status_code == 404
    assert "Beta&#39;s own instruction" not in user.get("/instructions").get_data(as_text=True)
    a_token = ids["a"]["token"]
    assert client.get(f"/api/v1/instructions/{b_instruction}", headers=_bearer(a_token)).status_code == 404
    assert client.get("/api/v1/instructions", headers=_bearer(a_token)).json["items"] == []
    before = _counts(app)
    body = {"agreement_id": ids["b"]["agreement"], "received_on": "2026-03-01", "channel": "email", "content": "x"}
    assert client.post("/api/v1/instructions", json=body, headers=_bearer(a_token)).status_code == 403
    assert _counts(app) == before
    b = app.test_client()
    AuthActions(b).login("user@b.example")
    assert "Beta&#39;s own instruction" in b.get(f"/instructions/{b_instruction}").get_data(as_text=True)
    assert client.get("/api/v1/instructions?unlawful=false", headers=_bearer(ids["b"]["token"])).json["items"]
    assert client.get("/api/v1/instructions?unlawful=true", headers=_bearer(ids["b"]["token"])).json["items"] == []
