"""Issue 12, clause 10(2)(b): a transfer required by law starts a 2-day clock; notifying the client queues an
e-mail with the proof (SHA-256 and download path) that answers the event once sent; a law that forbids telling
the client answers it with the recorded ground ("Not notified: ...") and hides the record from the client."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, Evidence, LawTransfer, RequestNotice, Role, TriggerEvent
from tests.factories import make_agreement, make_client, make_user
from tests.support import AuthActions

LEARNT = datetime(2026, 10, 28, 10, 0, tzinfo=UTC)
PROOF = b"Order of the court: hand over the mailbox.\n"


@pytest.fixture
def world(app, clock):
    clock.set(LEARNT + timedelta(minutes=30))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        ids = {}
        for key, name in (("a", "Alpha Foods"), ("b", "Beta Bank")):
            client = make_client(name, notice_emails=[f"dpo@{key}.example"])
            agreement = make_agreement(client, staff, reference=f"DPA-{key.upper()}")
            user = make_user(Role.CLIENT, f"user@{key}.example", client=client)
            for o in agreement.obligations:  # readiness: the procedure for requests from public authorities
                if o.clause_number == "10(2)(b)":
                    add_evidence(staff, o, EvidenceInput(note="Procedure for requests from public authorities"))
            db.session.commit()
            _, client_token = create_token(None, user, "test")
            ids[key] = {"client": client.id, "agreement": agreement.id, "token": client_token}
        _, token = create_token(None, staff, "test")
        db.session.commit()
    return {"ids": ids, "token": token}


def _form(agreement_id, **overrides):
    data = {
        "law-agreement_id": str(agreement_id),
        "law-learnt_at": "2026-10-28T10:00",
        "law-authority": "Tribunal of Algiers",
        "law-law": "Code of criminal procedure, art. 47",
        "law-destination": "US Department of Justice",
        "law-destination_country": "us",
        "law-data_concerned": "Mailbox of one employee",
        "law-proof": (io.BytesIO(PROOF), "order.pdf"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _staff(app):
    http = app.test_client()
    auth = AuthActions(http)
    assert auth.login("staff@example.com").status_code == 302
    return http, auth


def _record(app, world, key="a", **overrides):
    _http, auth = _staff(app)
    ids = world["ids"][key]
    return auth.post(
        f"/clients/{ids['client']}/law-transfers",
        _form(ids["agreement"], **overrides),
        prefix="law",
        content_type="multipart/form-data",
    )


def _status(app, world, key="a"):
    rows = (
        app.test_client()
        .get(
            f"/api/v1/agreements/{world['ids'][key]['agreement']}/obligations?limit=100",
            headers={"Authorization": f"Bearer {world['token']}"},
        )
        .json["items"]
    )
    row = next(r for r in rows if r["clause_number"] == "10(2)(b)")
    return row["status"], row["reason"]


def _ids(app):
    with app.app_context():
        return list(db.session.scalars(select(LawTransfer.id).order_by(LawTransfer.id)))


def _counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(m))
            for m in (LawTransfer, TriggerEvent, Evidence, RequestNotice, AuditEvent)
        )


def _send(app):
    result = app.test_cli_runner().invoke(args=["notices", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def test_recording_starts_the_clock_and_the_notice_with_proof_answers_it(app, clock, smtp, world):
    response = _record(app, world)
    assert response.status_code == 302, response.get_data(as_text=True)
    (transfer_id,) = _ids(app)
    status, reason = _status(app, world)
    assert status == "due_soon"
    assert "Transfer required by law of 2026-10-28 10:00 UTC to be notified" in reason
    assert "by 2026-10-30 10:00 UTC" in reason  # days: 2

    # not notified two days later: overdue
    clock.set(LEARNT + timedelta(days=3))
    status, reason = _status(app, world)
    assert status == "overdue" and "not notified to the client" in reason, reason

    # the client's own portal page shows it with its proof; the other client's does not
    client_http = app.test_client()
    AuthActions(client_http).login("user@a.example")
    page = client_http.get(f"/clients/{world['ids']['a']['client']}/transfers").get_data(as_text=True)
    assert "Tribunal of Algiers" in page and "order.pdf" in page and "not yet" in page
    download = client_http.get(f"/law-transfers/{transfer_id}/proof")
    assert download.get_data() == PROOF
    download.close()
    other = app.test_client()
    AuthActions(other).login("user@b.example")
    assert other.get(f"/law-transfers/{transfer_id}/proof").status_code == 404
    assert "Tribunal of Algiers" not in other.get(f"/clients/{world['ids']['b']['client']}/transfers").get_data(
        as_text=True
    )

    # notified (late): the e-mail carries the proof's SHA-256 and where to download it
    _http, auth = _staff(app)
    assert auth.post(f"/law-transfers/{transfer_id}/notify", {}, prefix="notify").status_code == 302
    assert smtp.messages == []
    assert "1 e-mail(s) sent" in _send(app)
    ((rcpt, message),) = smtp.messages
    body = message.get_payload(decode=True).decode()
    assert rcpt == ["dpo@a.example"]
    assert hashlib.sha256(PROOF).hexdigest() in body and f"/law-transfers/{transfer_id}/proof" in body
    assert "Tribunal of Algiers" in body and "US Department of Justice (US)" in body and "Beta Bank" not in body
    status, reason = _status(app, world)
    assert status == "late", reason
    # notifying twice is refused
    again = auth.post(f"/law-transfers/{transfer_id}/notify", {}, prefix="notify")
    assert again.status_code == 422 and "already notified" in again.get_data(as_text=True)


def test_notified_within_two_days_is_met(app, clock, smtp, world):
    assert _record(app, world).status_code == 302
    (transfer_id,) = _ids(app)
    clock.set(LEARNT + timedelta(days=1))
    _http, auth = _staff(app)
    assert auth.post(f"/law-transfers/{transfer_id}/notify", {}, prefix="notify").status_code == 302
    _send(app)
    clock.set(LEARNT + timedelta(days=5))
    status, reason = _status(app, world)
    assert status == "met", reason
    api = app.test_client().get(
        f"/api/v1/law-transfers/{transfer_id}", headers={"Authorization": f"Bearer {world['ids']['a']['token']}"}
    )
    assert api.json["notice_state"] == "sent" and api.json["proof_sha256"] == hashlib.sha256(PROOF).hexdigest()


def test_a_law_that_forbids_telling_the_client_answers_with_the_ground_and_hides_the_record(app, clock, world):
    ground = "Law 09-04 art. 10: secrecy of the investigation (national security)"
    response = _record(app, world, **{"law-notice_forbidden": "y", "law-forbidden_ground": ground})
    assert response.status_code == 302, response.get_data(as_text=True)
    (transfer_id,) = _ids(app)
    clock.set(LEARNT + timedelta(days=10))
    status, reason = _status(app, world)
    assert status == "met"
    assert reason.startswith(f"Not notified: {ground}"), reason
    assert "notified in time" not in reason  # no silent green: it was not notified

    http, auth = _staff(app)
    refused = auth.post(f"/law-transfers/{transfer_id}/notify", {}, prefix="notify")
    assert refused.status_code == 422 and "forbids telling the client" in refused.get_data(as_text=True)
    staff_page = http.get(f"/clients/{world['ids']['a']['client']}/transfers").get_data(as_text=True)
    assert "not notified" in staff_page and ground in staff_page

    # the client's users never see it, on the page or the API
    client_http = app.test_client()
    AuthActions(client_http).login("user@a.example")
    page = client_http.get(f"/clients/{world['ids']['a']['client']}/transfers").get_data(as_text=True)
    assert "Tribunal of Algiers" not in page and ground not in page
    assert client_http.get(f"/law-transfers/{transfer_id}/proof").status_code == 404
    headers = {"Authorization": f"Bearer {world['ids']['a']['token']}"}
    assert app.test_client().get(f"/api/v1/law-transfers/{transfer_id}", headers=headers).status_code == 404
    assert app.test_client().get("/api/v1/law-transfers", headers=headers).json["items"] == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"law-proof": None}, "Attach the proof of the legal obligation"),
        ({"law-notice_forbidden": "y"}, "Give the public-interest ground"),
        ({"law-forbidden_ground": "Secrecy"}, "A ground is only recorded when the law forbids"),
        ({"law-destination_country": "U1"}, "two-letter ISO code"),
        ({"law-learnt_at": "2027-01-01T10:00"}, "in the future"),
        ({"law-authority": ""}, "This field is required"),
        ({"law-agreement_id": "999999"}, "Not a valid choice"),
    ],
)
def test_bad_input_on_the_page_changes_nothing(app, world, overrides, message):
    _staff(app)  # the login is audited before counting
    before = _counts(app)
    response = _record(app, world, **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    after = _counts(app)
    assert after[:4] == before[:4]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"proof": None}, "proof"),
        ({"notice_forbidden": "true"}, "forbidden_ground"),
        ({"destination_country": "U1"}, "destination_country"),
        ({"learnt_at": "2026-10-28T10:00"}, "learnt_at"),  # no time zone
        ({"agreement_id": "OTHER"}, "agreement_id"),
        ({"content": "x"}, "content"),  # unknown field
    ],
)
def test_bad_input_on_the_api_changes_nothing(app, world, overrides, field):
    data = {
        "agreement_id": str(world["ids"]["a"]["agreement"]),
        "learnt_at": "2026-10-28T10:00:00+00:00",
        "authority": "Tribunal of Algiers",
        "law": "Code of criminal procedure, art. 47",
        "destination": "Interpol",
        "data_concerned": "Login history",
        "proof": (io.BytesIO(PROOF), "order.pdf"),
    }
    if overrides.get("agreement_id") == "OTHER":
        overrides = {"agreement_id": str(world["ids"]["b"]["agreement"])}
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    before = _counts(app)
    response = app.test_client().post(
        f"/api/v1/clients/{world['ids']['a']['client']}/law-transfers",
        data=data,
        headers={"Authorization": f"Bearer {world['token']}"},
    )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_data(as_text=True)
    assert _counts(app) == before


def test_the_api_records_lists_and_notifies(app, clock, smtp, world):
    headers = {"Authorization": f"Bearer {world['token']}"}
    http = app.test_client()
    made = http.post(
        f"/api/v1/clients/{world['ids']['a']['client']}/law-transfers",
        headers=headers,
        data={
            "agreement_id": str(world["ids"]["a"]["agreement"]),
            "learnt_at": "2026-10-28T10:00:00+00:00",
            "authority": "Tribunal of Algiers",
            "law": "Code of criminal procedure, art. 47",
            "destination": "Interpol",
            "data_concerned": "Login history",
            "proof": (io.BytesIO(PROOF), "order.pdf"),
        },
    )
    assert made.status_code == 201, made.get_json()
    body = made.json
    assert body["destination_country"] == "" and body["notice_state"] == "not_notified"
    listed = http.get("/api/v1/law-transfers?limit=1", headers=headers).json
    assert [i["id"] for i in listed["items"]] == [body["id"]]
    notified = http.post(f"/api/v1/law-transfers/{body['id']}/notify", headers=headers)
    assert notified.status_code == 200 and notified.json["notice_state"] == "queued"
    # another tenant's token: 404; a client's token may not notify
    other = {"Authorization": f"Bearer {world['ids']['b']['token']}"}
    assert http.get(f"/api/v1/law-transfers/{body['id']}", headers=other).status_code == 404
    own = {"Authorization": f"Bearer {world['ids']['a']['token']}"}
    assert http.post(f"/api/v1/law-transfers/{body['id']}/notify", headers=own).status_code == 403
