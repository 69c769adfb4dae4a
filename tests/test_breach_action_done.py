"""Issue 12, clause 8.1(2): an open containment, remedy or investigation action is marked done from the breach page
(or its API twin) with its date and evidence (text and/or a document); the clause follows at once, the action
never changes again, and bad input writes nothing."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.breach.services import ActionInput, BreachInput, add_action, record_breach
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, BreachAction, Obligation, Role
from dpa_tracker.obligation.services import assess_obligation
from tests.factories import make_agreement, make_client, make_user
from tests.support import AuthActions

AWARE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # the 30 days run to 2026-04-01 09:30
REPORT = b"Forensic report: the bucket was public for 25 hours.\n"


@pytest.fixture
def world(app, clock):
    clock.set(AWARE + timedelta(hours=1))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        client = make_client("Alpha Foods")
        agreement = make_agreement(client, staff, reference="DPA-A")
        user = make_user(Role.CLIENT, "user@a.example", client=client)
        other = make_user(Role.CLIENT, "user@b.example", client=make_client("Beta Bank"))
        duty = next(o for o in agreement.obligations if o.clause_number == "8.1(2)")
        add_evidence(staff, duty, EvidenceInput(note="Incident-handling procedure"))  # readiness
        entry = record_breach(
            staff,
            BreachInput(
                title="Backup bucket exposed",
                occurred_at=AWARE - timedelta(days=1),
                detected_at=AWARE - timedelta(hours=1),
                aware_at=AWARE,
                natures=["confidentiality"],
                description="A bucket was public",
                contact_point="DPO",
            ),
            [agreement],
        )
        actions = [
            add_action(staff, entry, ActionInput(kind=kind, description=f"{kind} step", owner="Ops"))
            for kind in ("containment", "remedy", "investigation")
        ]
        _, token = create_token(None, staff, "test")
        _, client_token = create_token(None, user, "test")
        _, other_token = create_token(None, other, "test")
        db.session.commit()
        return {
            "breach": entry.id,
            "duty": duty.id,
            "actions": [a.id for a in actions],
            "token": token,
            "client_token": client_token,
            "other_token": other_token,
        }


def _status(app, world, day):
    with app.app_context():
        result = assess_obligation(db.session.get_one(Obligation, world["duty"]), day)
        return result.status.value, result.reason


def _staff(app):
    http = app.test_client()
    auth = AuthActions(http)
    auth.login("staff@example.com")
    return http, auth


def _done(auth, world, action_id, **fields):
    data = {"done-action_id": str(action_id), "done-done_on": "2026-03-10", "done-evidence": "Ticket OPS-1", **fields}
    return auth.post(
        f"/breaches/{world['breach']}/actions/done", data, prefix="done", content_type="multipart/form-data"
    )


def _counts(app):
    with app.app_context():
        done = db.session.scalar(
            select(func.count()).select_from(BreachAction).where(BreachAction.done_on.is_not(None))
        )
        return done, db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_marking_the_actions_done_from_the_page_meets_8_1_2(app, clock, world):
    clock.set(datetime(2026, 4, 10, 9, tzinfo=UTC))  # past the 30 days, nothing done: overdue
    status, reason = _status(app, world, date(2026, 4, 10))
    assert status == "overdue" and "containment “containment step” (Ops) not done" in reason, reason

    http, auth = _staff(app)
    page = http.get(f"/breaches/{world['breach']}").get_data(as_text=True)
    assert "Mark an action done (clause 8.1(2))" in page and "containment: containment step" in page
    containment, remedy, investigation = world["actions"]
    assert _done(auth, world, containment).status_code == 302
    response = _done(
        auth, world, remedy, **{"done-evidence": "", "done-file": (io.BytesIO(REPORT), "forensic-report.pdf")}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    status, reason = _status(app, world, date(2026, 4, 10))
    assert status == "overdue" and "investigation" in reason and "containment step" not in reason

    assert _done(auth, world, investigation, **{"done-done_on": "2026-03-20"}).status_code == 302
    status, reason = _status(app, world, date(2026, 4, 10))
    assert status == "met", reason  # all three done by 20 March, within the 30 days of awareness

    # as known on a day before they were marked done, they were still open: no green written into the past
    assert _status(app, world, date(2026, 3, 25))[0] in ("due_soon", "open")

    page = http.get(f"/breaches/{world['breach']}").get_data(as_text=True)
    assert "Document forensic-report.pdf" in page and "Mark an action done" not in page  # none left open
    with app.app_context():
        action = db.session.get_one(BreachAction, remedy)
        assert action.evidence_sha256 is not None and action.done_recorded_at is not None
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "breach.action_done")).first()
        assert event is not None and event.changes["done_on"] == "2026-03-10"
    download = http.get(f"/breach-actions/{remedy}/evidence")
    assert download.get_data() == REPORT
    download.close()
    # the client reads the breach, not the processor's documents (they may speak of other clients)
    client_http = app.test_client()
    AuthActions(client_http).login("user@a.example")
    assert client_http.get(f"/breach-actions/{remedy}/evidence").status_code == 403


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"done-done_on": "2026-04-30"}, "cannot be done in the future"),
        ({"done-done_on": "2026-02-01"}, "before the breach was detected"),
        ({"done-evidence": ""}, "Say what shows the action done"),
        ({"done-done_on": ""}, "This field is required"),
        ({"done-action_id": "999999"}, "Not a valid choice"),
    ],
)
def test_bad_input_on_the_page_changes_nothing(app, clock, world, fields, message):
    clock.set(datetime(2026, 4, 10, 9, tzinfo=UTC))
    _http, auth = _staff(app)
    before = _counts(app)
    response = _done(auth, world, world["actions"][0], **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _counts(app) == before


def test_a_done_action_is_never_marked_again(app, clock, world):
    clock.set(datetime(2026, 4, 10, 9, tzinfo=UTC))
    with app.app_context():
        staff_id = db.session.scalar(select(BreachAction.created_by_id).where(BreachAction.id == world["actions"][0]))
    _http, auth = _staff(app)
    assert _done(auth, world, world["actions"][0]).status_code == 302
    headers = {"Authorization": f"Bearer {world['token']}"}
    again = app.test_client().post(
        f"/api/v1/breach-actions/{world['actions'][0]}/done", data={"done_on": "2026-03-11"}, headers=headers
    )
    assert again.status_code == 422 and "already marked done on 2026-03-10" in again.get_data(as_text=True)
    assert staff_id is not None


def test_the_api_twin_marks_an_action_done(app, clock, world):
    clock.set(datetime(2026, 4, 10, 9, tzinfo=UTC))
    action_id = world["actions"][1]
    url = f"/api/v1/breach-actions/{action_id}/done"
    http = app.test_client()
    # a client's token may not; another client's token does not see it
    assert (
        http.post(
            url, data={"done_on": "2026-03-10", "evidence": "x"}, headers=_bearer(world["client_token"])
        ).status_code
        == 403
    )
    assert (
        http.post(
            url, data={"done_on": "2026-03-10", "evidence": "x"}, headers=_bearer(world["other_token"])
        ).status_code
        == 404
    )
    bad = http.post(url, data={"done_on": "2026-03-10"}, headers=_bearer(world["token"]))
    assert bad.status_code == 422 and "evidence" in bad.get_data(as_text=True)
    made = http.post(
        url,
        data={"done_on": "2026-03-10", "file": (io.BytesIO(REPORT), "report.pdf")},
        headers=_bearer(world["token"]),
    )
    assert made.status_code == 200, made.get_json()
    (row,) = [a for a in made.json["actions"] if a["id"] == action_id]
    assert row["done_on"] == "2026-03-10" and row["evidence"] == "Document report.pdf" and row["evidence_sha256"]


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}
