"""Issue 12, clause 9.1: data-subject requests forwarded to the client (acceptance 5), the guard against
answering the data subject, minimisation, help requests (3.1(6)-(7)), the API twins and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    AuditEvent,
    DataSubjectRequest,
    Evidence,
    HelpRequest,
    RequestNotice,
    Role,
    TriggerEvent,
)
from tests.factories import make_agreement, make_client, make_user
from tests.support import AuthActions

RECEIVED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def world(app, clock):
    """Two clients with one agreement each (forwarding target: 2 days), staff, a client user, tokens."""
    clock.set(RECEIVED + timedelta(minutes=30))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        ids = {}
        for key, name in (("a", "Alpha Foods"), ("b", "Beta Bank")):
            client = make_client(name, notice_emails=[f"dpo@{key}.example"])
            agreement = make_agreement(client, staff, reference=f"DPA-{key.upper()}")
            user = make_user(Role.CLIENT, f"user@{key}.example", client=client)
            for o in agreement.obligations:  # readiness: the request procedure exists
                if o.clause_number in ("9.1", "3.1(6)", "3.1(7)"):
                    add_evidence(staff, o, EvidenceInput(note=f"Request procedure ({o.clause_number})"))
            db.session.commit()
            _, client_token = create_token(None, user, "test")
            ids[key] = {"client": client.id, "agreement": agreement.id, "token": client_token}
        _, token = create_token(None, staff, "test")
        db.session.commit()
    return {"ids": ids, "token": token}


def _form(agreement_id, **overrides):
    form = {
        "agreement_id": str(agreement_id),
        "received_at": "2026-03-02T09:30",
        "channel": "email",
        "type": "erasure",
        "subject_reference": "customer 4711",
    }
    form.update(overrides)
    return form


def _statuses(http, token, agreement_id):
    rows = http.get(f"/api/v1/agreements/{agreement_id}/obligations?limit=100", headers=_bearer(token)).json["items"]
    return {row["clause_number"]: (row["status"], row["reason"]) for row in rows}


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _send(app):
    result = app.test_cli_runner().invoke(args=["notices", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def _staff(app):
    http = app.test_client()
    auth = AuthActions(http)
    assert auth.login("staff@example.com").status_code == 302
    return http, auth


def _request_ids(app):
    with app.app_context():
        return list(db.session.scalars(select(DataSubjectRequest.id).order_by(DataSubjectRequest.id)))


def _counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(m))
            for m in (DataSubjectRequest, TriggerEvent, RequestNotice, HelpRequest, AuditEvent)
        )


def test_acceptance_5_unforwarded_request_turns_9_1_overdue_then_late_or_met(app, client, auth, clock, smtp, world):
    ids, token = world["ids"], world["token"]
    auth.login("staff@example.com")
    assert auth.post("/requests/new", _form(ids["a"]["agreement"])).status_code == 302
    assert auth.post("/requests/new", _form(ids["b"]["agreement"], type="access")).status_code == 302
    late_id, met_id = _request_ids(app)
    page = client.get(f"/requests/{late_id}").get_data(as_text=True)
    # no processor country: the default calendar (Saturday-Sunday); the target ends with the 2nd working day
    assert "due Wed 04 Mar 2026 23:59 UTC (2 working days, default calendar)" in page
    assert "2026-04-02" in page  # the controller's own answer date, received + 1 month (Art. 12(3))
    assert _statuses(client, token, ids["a"]["agreement"])["9.1"][0] == "due_soon"

    # B is forwarded within its target: queued now, sent a day later
    r = auth.post(f"/requests/{met_id}/forward", {}, prefix="forward")
    assert r.status_code == 302, r.get_data(as_text=True)
    assert smtp.messages == []  # the page only queued it
    clock.set(RECEIVED + timedelta(days=1))
    assert "1 e-mail(s) sent" in _send(app)

    # A is not forwarded: the day after its target, 9.1 is overdue with a reason naming it
    clock.set(RECEIVED + timedelta(days=3))
    client, auth = _staff(app)
    status, reason = _statuses(client, token, ids["a"]["agreement"])["9.1"]
    assert status == "overdue"
    assert reason == (
        "Data-subject request received of 2026-03-02 09:30 UTC not forwarded; deadline was 2026-03-04 23:59 UTC"
    ), reason
    assert "overdue" in client.get(f"/requests/{late_id}").get_data(as_text=True)

    # forwarded after the target: late
    assert auth.post(f"/requests/{late_id}/forward", {}, prefix="forward").status_code == 302
    assert "1 e-mail(s) sent" in _send(app)
    client, auth = _staff(app)
    status, reason = _statuses(client, token, ids["a"]["agreement"])["9.1"]
    assert status == "late", reason
    assert _statuses(client, token, ids["b"]["agreement"])["9.1"][0] == "met"

    rcpts = sorted(rcpt[0] for rcpt, _ in smtp.messages)
    assert rcpts == ["dpo@a.example", "dpo@b.example"]
    for rcpt, message in smtp.messages:
        body = message.get_payload(decode=True).decode()
        assert "customer 4711" in body and "You, the controller, answer the data subject".lower() in body.lower()
        other = "Beta Bank" if rcpt[0] == "dpo@a.example" else "Alpha Foods"
        assert other not in body
    with app.app_context():  # each sent e-mail is 9.1 evidence, act = its sending time
        for notice in db.session.scalars(select(RequestNotice)):
            evidence = db.session.scalar(select(Evidence).where(Evidence.sha256 == notice.message_sha256))
            assert evidence.obligation.clause_number == "9.1"
            assert evidence.acted_at == notice.sent_at
            assert evidence.trigger_event_id == notice.event_id


def test_forwarding_twice_is_refused(app, client, auth, world):
    auth.login("staff@example.com")
    auth.post("/requests/new", _form(world["ids"]["a"]["agreement"]))
    (request_id,) = _request_ids(app)
    assert auth.post(f"/requests/{request_id}/forward", {}, prefix="forward").status_code == 302
    before = _counts(app)
    r = auth.post(f"/requests/{request_id}/forward", {}, prefix="forward")
    assert r.status_code == 422
    assert "already forwarded" in r.get_data(as_text=True)
    assert _counts(app) == before


def test_answering_the_data_subject_is_refused_and_writes_nothing(app, client, auth, world):
    auth.login("staff@example.com")
    auth.post("/requests/new", _form(world["ids"]["a"]["agreement"]))
    (request_id,) = _request_ids(app)
    before = _counts(app)
    r = auth.post(f"/requests/{request_id}/answer", {"answer-answer": "Your data is erased."}, prefix="answer")
    assert r.status_code == 422
    assert "the processor does not answer the data subject itself" in r.get_data(as_text=True)
    assert _counts(app) == before
    r = client.post(f"/api/v1/requests/{request_id}/answer", json={"answer": "Done"}, headers=_bearer(world["token"]))
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert "clause 9.1" in r.json["detail"]
    assert _counts(app) == before


def test_minimisation_a_reference_not_the_content(app, client, world):
    token = world["token"]
    body = {
        "agreement_id": world["ids"]["a"]["agreement"],
        "received_at": "2026-03-02T09:30:00+00:00",
        "channel": "web_form",
        "type": "access",
        "subject_reference": "ticket 88",
    }
    before = _counts(app)
    r = client.post("/api/v1/requests", json={**body, "content": "Please send me all my data"}, headers=_bearer(token))
    assert r.status_code == 422  # there is no field for the request's content
    assert _counts(app) == before
    r = client.post("/api/v1/requests", json=body, headers=_bearer(token))
    assert r.status_code == 201, r.json
    assert "content" not in r.json and r.json["subject_reference"] == "ticket 88"
    assert set(DataSubjectRequest.__table__.columns.keys()) == {
        "id",
        "agreement_id",
        "received_at",
        "channel",
        "type",
        "subject_reference",
        "event_id",
        "logged_by_id",
        "logged_at",
    }


def test_help_request_links_to_the_request_with_its_own_clock(app, client, auth, world):
    ids = world["ids"]
    auth.login("staff@example.com")
    auth.post("/requests/new", _form(ids["a"]["agreement"]))
    (request_id,) = _request_ids(app)
    r = auth.post(
        f"/requests/{request_id}/help",
        {"help-clause_number": "3.1(7)", "help-received_at": "2026-03-02T09:45"},
        prefix="help",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    data = client.get(f"/api/v1/requests/{request_id}", headers=_bearer(world["token"])).json
    assert [h["clause_number"] for h in data["help_requests"]] == ["3.1(7)"]
    with app.app_context():
        event = db.session.get(TriggerEvent, data["help_requests"][0]["event_id"])
        assert event.obligation.clause_number == "3.1(7)"
        assert f"data-subject request #{request_id}" in event.summary
    statuses = _statuses(client, world["token"], ids["a"]["agreement"])
    assert statuses["3.1(7)"][0] in ("pending", "due_soon"), statuses["3.1(7)"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"received_at": "2026-03-03T09:30"}, "cannot be received in the future"),
        ({"type": "gossip"}, "Not a valid choice"),
        ({"subject_reference": ""}, "This field is required"),
        ({"channel": "pigeon"}, "Not a valid choice"),
    ],
)
def test_bad_input_on_the_page_changes_nothing(app, client, auth, world, overrides, message):
    auth.login("staff@example.com")
    before = _counts(app)
    r = auth.post("/requests/new", _form(world["ids"]["a"]["agreement"], **overrides))
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert _counts(app) == before


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"received_at": "2026-03-03T09:30:00+00:00"}, 422, "received_at"),
        ({"type": "gossip"}, 422, "type"),
        ({"received_at": "2026-03-02T09:30:00"}, 422, "received_at"),  # no time zone
        ({"subject_reference": "two\nlines"}, 422, "subject_reference"),
    ],
)
def test_bad_input_on_the_api_changes_nothing(app, client, world, overrides, status, field):
    body = {
        "agreement_id": world["ids"]["a"]["agreement"],
        "received_at": "2026-03-02T09:30:00+00:00",
        "channel": "email",
        "type": "erasure",
        "subject_reference": "customer 4711",
        **overrides,
    }
    before = _counts(app)
    r = client.post("/api/v1/requests", json=body, headers=_bearer(world["token"]))
    assert r.status_code == status, r.json
    assert field in str(r.json)
    assert _counts(app) == before


def test_another_tenants_agreement_and_request_answer_404(app, client, auth, world):
    ids = world["ids"]
    auth.login("staff@example.com")
    auth.post("/requests/new", _form(ids["b"]["agreement"]))
    (b_request,) = _request_ids(app)
    a_token = ids["a"]["token"]
    assert client.get(f"/api/v1/requests/{b_request}", headers=_bearer(a_token)).status_code == 404
    assert client.get("/api/v1/requests", headers=_bearer(a_token)).json["items"] == []
    user = app.test_client()
    AuthActions(user).login("user@a.example")
    assert user.get(f"/requests/{b_request}").status_code == 404
    assert "customer 4711" not in user.get("/requests").get_data(as_text=True)
    # staff naming an agreement that does not exist: 404, nothing written
    before = _counts(app)
    body = {
        "agreement_id": 999999,
        "received_at": "2026-03-02T09:30:00+00:00",
        "channel": "email",
        "type": "erasure",
        "subject_reference": "x",
    }
    assert client.post("/api/v1/requests", json=body, headers=_bearer(world["token"])).status_code == 404
    assert _counts(app) == before


def test_api_list_filters(app, client, auth, clock, smtp, world):
    ids, token = world["ids"], world["token"]
    auth.login("staff@example.com")
    auth.post("/requests/new", _form(ids["a"]["agreement"]))
    auth.post("/requests/new", _form(ids["b"]["agreement"], type="access"))
    first, second = _request_ids(app)
    auth.post(f"/requests/{second}/forward", {}, prefix="forward")
    _send(app)

    def listed(query):
        r = client.get(f"/api/v1/requests?{query}", headers=_bearer(token))
        assert r.status_code == 200, r.json
        return [i["id"] for i in r.json["items"]]

    assert listed("") == [second, first]
    assert listed(f"agreement_id={ids['a']['agreement']}") == [first]
    assert listed("type=access") == [second]
    assert listed("forwarded=true") == [second]
    assert listed("forwarded=false") == [first]
    page = client.get("/api/v1/requests?limit=1", headers=_bearer(token)).json
    assert len(page["items"]) == 1 and page["next_cursor"]
    assert client.get("/api/v1/requests?type=gossip", headers=_bearer(token)).status_code == 422
