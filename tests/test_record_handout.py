"""Handing out the Art. 30(2) record is an explicit act (issue 8 item 2, clause 4.2).

A GET (page, kept version, API) never creates a version nor answers a client's request for a
copy; a POST by staff or by the client's own user does, and an auditor's POST is refused.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from dpa_tracker import clock as app_clock
from dpa_tracker.auth.services import create_token
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, Evidence, Obligation, RecordVersion, Role
from dpa_tracker.obligation.events import record_event
from dpa_tracker.record.services import ActivityInput, create_activity, hand_out
from tests.factories import make_agreement, make_client, make_user
from tests.support import AuthActions

STATUS = re.compile(r'id="status">\s*<span class="badge status-([a-z_]+)"')


@pytest.fixture
def world(app):
    """Client Alpha with one kept version and an open clause 4.2 request; a user and a token per role."""
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        alpha, beta = make_client("Alpha Hosting"), make_client("Beta Hosting")
        agreement = make_agreement(
            alpha, staff, reference="DPA-ALPHA", signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1)
        )
        create_activity(staff, alpha, ActivityInput(name="Web hosting", purposes="Host the shop"))
        client_user = make_user(Role.CLIENT, "dpo@alpha.example", client=alpha)
        make_user(Role.CLIENT, "dpo@beta.example", client=beta)
        auditor = make_user(Role.AUDITOR, "auditor@example.com", audits=[alpha])
        copy = db.session.scalar(
            select(Obligation).where(Obligation.agreement_id == agreement.id, Obligation.clause_number == "4.2")
        )
        add_evidence(staff, copy, EvidenceInput(note="Request-handling procedure"))  # readiness for clause 4.2
        record_event(
            client_user,
            copy,
            occurred_at=app_clock.now() - timedelta(minutes=5),
            summary="Request for a copy of the record: for our DPO",
        )
        hand_out(staff, alpha, app_clock.today(), "json")  # kept for the processor's file: answers nothing
        tokens = {
            role: create_token(None, user, "test")[1]
            for role, user in (("staff", staff), ("client", client_user), ("auditor", auditor))
        }
        db.session.commit()
        return {"alpha": alpha.id, "beta": beta.id, "copy": copy.id, "tokens": tokens}


def sign_in(app, email):
    http = app.test_client()
    auth = AuthActions(http)
    assert auth.login(email).status_code == 302
    return http, auth


def bearer(world, role):
    return {"Authorization": f"Bearer {world['tokens'][role]}"}


def copy_status(http, world):
    """The clause 4.2 status as the obligation page shows it to whoever is signed in."""
    page = http.get(f"/obligations/{world['copy']}")
    assert page.status_code == 200
    match = STATUS.search(page.get_data(as_text=True))
    assert match, "no status on the obligation page"
    return match.group(1)


def counts(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(RecordVersion)),
            db.session.scalar(select(func.count()).select_from(Evidence)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
        )


def hand_out_form(as_of=None, fmt="pdf", **extra):
    return {"handout-as_of": (as_of or app_clock.today()).isoformat(), "handout-format": fmt, **extra}


@pytest.mark.parametrize("email", ["auditor@example.com", "dpo@alpha.example"])
def test_a_get_of_any_record_page_or_download_creates_no_version_and_answers_no_request(app, world, email):
    http, _ = sign_in(app, email)
    before = counts(app)
    assert before[0] == 1
    alpha = world["alpha"]
    page = http.get(f"/clients/{alpha}/record")
    assert page.status_code == 200
    assert "Web hosting" in page.get_data(as_text=True)
    for fmt in ("pdf", "json", "csv"):
        kept = http.get(f"/clients/{alpha}/record/versions/1.{fmt}")
        assert kept.status_code == 200
        assert kept.headers["X-Record-Version"] == "1"
        # the old download-by-GET address no longer exists, so a crawler cannot hand out a copy
        assert http.get(f"/clients/{alpha}/record.{fmt}?as_of={app_clock.today()}").status_code == 404
    assert http.get(f"/clients/{alpha}/record/diff?from=1&to=1").status_code == 400
    assert counts(app) == before
    assert copy_status(http, world) == "due_soon"
    page = http.get(f"/clients/{alpha}/record").get_data(as_text=True)
    assert page.count('class="date">') == 2  # one version: its time and its as-of date


@pytest.mark.parametrize("role", ["auditor", "client"])
def test_an_api_get_creates_no_version_and_answers_no_request(app, client, world, role):
    before = counts(app)
    alpha = world["alpha"]
    versions = client.get(f"/api/v1/clients/{alpha}/record/versions", headers=bearer(world, role))
    assert [v["number"] for v in versions.json["items"]] == [1]
    for fmt in ("pdf", "json", "csv"):
        kept = client.get(f"/api/v1/clients/{alpha}/record/versions/1.{fmt}", headers=bearer(world, role))
        assert kept.status_code == 200
        assert kept.headers["X-Record-SHA256"] == versions.json["items"][0]["content_sha256"]
        old = client.get(f"/api/v1/clients/{alpha}/record.{fmt}", headers=bearer(world, role))
        assert old.status_code == 404
    assert counts(app) == before
    agreement_rows = client.get("/api/v1/agreements", headers=bearer(world, role)).json["items"]
    rows = client.get(f"/api/v1/agreements/{agreement_rows[0]['id']}/obligations", headers=bearer(world, role)).json[
        "items"
    ]
    assert next(r for r in rows if r["clause_number"] == "4.2")["status"] == "due_soon"


def test_client_post_creates_a_version_and_answers_its_own_request(app, world):
    http, auth = sign_in(app, "dpo@alpha.example")
    page = http.get(f"/clients/{world['alpha']}/record").get_data(as_text=True)
    assert "Take a copy" in page and "Handed to the client" not in page
    response = auth.post(f"/clients/{world['alpha']}/record/versions", hand_out_form(fmt="pdf"), prefix="handout")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/clients/{world['alpha']}/record/versions/2.pdf")
    download = http.get(response.headers["Location"])
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert copy_status(http, world) == "met"
    with app.app_context():
        version = db.session.scalar(select(RecordVersion).where(RecordVersion.number == 2))
        sha256 = version.content_sha256
        assert version.handed_out_by.email == "dpo@alpha.example"
    obligation_page = http.get(f"/obligations/{world['copy']}").get_data(as_text=True)
    assert "by dpo@alpha.example" in obligation_page
    assert (
        f"Copy of the record taken by the client: version 2 (pdf), SHA-256 {sha256}, by dpo@alpha.example"
        in obligation_page
    )
    versions = http.get(f"/clients/{world['alpha']}/record").get_data(as_text=True).split("Versions handed out")[1]
    assert '<td data-label="#">2</td>' in versions and "dpo@alpha.example" in versions and sha256[:16] in versions


def test_staff_post_answers_the_request_only_when_the_copy_is_handed_to_the_client(app, world):
    http, auth = sign_in(app, "staff@example.com")
    url = f"/clients/{world['alpha']}/record/versions"
    assert "Handed to the client" in http.get(f"/clients/{world['alpha']}/record").get_data(as_text=True)
    kept = auth.post(url, hand_out_form(fmt="json"), prefix="handout")
    assert kept.status_code == 303 and kept.headers["Location"].endswith("/record/versions/2.json")
    assert copy_status(http, world) == "due_soon"  # a copy staff keep for themselves answers nothing
    handed = auth.post(url, hand_out_form(fmt="csv", **{"handout-to_client": "y"}), prefix="handout")
    assert handed.status_code == 303 and handed.headers["Location"].endswith("/record/versions/3.csv")
    assert copy_status(http, world) == "met"
    page = http.get(f"/obligations/{world['copy']}").get_data(as_text=True)
    assert "Copy of the record handed to the client: version 3 (csv)" in page
    assert "by staff@example.com on " in page
    assert counts(app)[0] == 3


def test_auditor_post_is_refused_and_writes_nothing(app, client, world):
    http, auth = sign_in(app, "auditor@example.com")
    page = http.get(f"/clients/{world['alpha']}/record").get_data(as_text=True)
    assert 'id="hand-out"' not in page and "Read-only" in page
    before = counts(app)
    url = f"/clients/{world['alpha']}/record/versions"
    assert auth.post(url, hand_out_form(**{"handout-to_client": "y"}), prefix="handout").status_code == 403
    api = client.post(
        f"/api/v1/clients/{world['alpha']}/record/versions",
        headers=bearer(world, "auditor"),
        json={"format": "pdf", "to_client": True},
    )
    assert api.status_code == 403
    assert api.mimetype == "application/problem+json"
    assert "read-only" in api.json["detail"]
    assert counts(app) == before
    assert copy_status(http, world) == "due_soon"


def test_another_tenants_post_answers_404_and_writes_nothing(app, client, world):
    _, auth = sign_in(app, "dpo@beta.example")
    before = counts(app)
    assert auth.post(f"/clients/{world['alpha']}/record/versions", hand_out_form(), prefix="handout").status_code == 404
    assert counts(app) == before


def test_api_post_creates_a_version_with_its_location_and_answers_the_clients_request(app, client, world):
    alpha = world["alpha"]
    response = client.post(
        f"/api/v1/clients/{alpha}/record/versions", headers=bearer(world, "client"), json={"format": "json"}
    )
    assert response.status_code == 201
    assert response.json["number"] == 2
    assert response.json["handed_out_by"] == "dpo@alpha.example"
    assert response.json["as_of"] == app_clock.today().isoformat()
    location = response.headers["Location"]
    assert location.endswith(f"/api/v1/clients/{alpha}/record/versions/2.json")
    body = client.get(location, headers=bearer(world, "client")).json
    assert body["version"] == 2 and body["sha256"] == response.json["content_sha256"]
    evidence = [
        e
        for e in client.get(f"/api/v1/obligations/{world['copy']}/evidence", headers=bearer(world, "client")).json[
            "items"
        ]
        if e["trigger_event_id"]
    ]
    assert [e["added_by"] for e in evidence] == ["dpo@alpha.example"]
    assert f"version 2 (json), SHA-256 {response.json['content_sha256']}" in evidence[0]["note"]


def test_api_staff_post_handed_to_the_client_answers_the_request(app, client, world):
    url = f"/api/v1/clients/{world['alpha']}/record/versions"
    kept = client.post(url, headers=bearer(world, "staff"), json={"format": "pdf"})
    assert kept.status_code == 201
    answers = f"/api/v1/obligations/{world['copy']}/evidence"
    assert [e for e in client.get(answers, headers=bearer(world, "staff")).json["items"] if e["trigger_event_id"]] == []
    handed = client.post(
        url, headers=bearer(world, "staff"), json={"format": "pdf", "to_client": True, "as_of": "2026-02-01"}
    )
    assert handed.status_code == 201 and handed.json["as_of"] == "2026-02-01"
    evidence = [e for e in client.get(answers, headers=bearer(world, "staff")).json["items"] if e["trigger_event_id"]]
    assert [e["added_by"] for e in evidence] == ["staff@example.com"]
    assert "handed to the client: version 3 (pdf)" in evidence[0]["note"]
    pdf = client.get(handed.headers["Location"], headers=bearer(world, "staff"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_bad_hand_out_requests_answer_clear_errors_and_write_nothing(app, client, world):
    http, auth = sign_in(app, "staff@example.com")
    before = counts(app)
    url = f"/clients/{world['alpha']}/record/versions"
    future = app_clock.today() + timedelta(days=1)
    for form in (hand_out_form(as_of=future), hand_out_form(fmt="docx"), {"handout-as_of": "yesterday"}):
        response = auth.post(url, form, prefix="handout", follow_redirects=True)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "cannot be dated in the future" in page or "Choose a format and a valid date" in page, form
    assert http.post(url, data=hand_out_form()).status_code == 400  # no CSRF token
    api = f"/api/v1/clients/{world['alpha']}/record/versions"
    for body in ({"format": "docx"}, {}, {"format": "pdf", "as_of": future.isoformat()}):
        response = client.post(api, headers=bearer(world, "staff"), json=body)
        assert response.status_code == 422, body
        assert response.mimetype == "application/problem+json"
    assert (
        client.get(
            f"/api/v1/clients/{world['alpha']}/record/versions/9.pdf", headers=bearer(world, "staff")
        ).status_code
        == 404
    )
    assert counts(app) == before


def test_openapi_document_describes_the_hand_out(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    create = paths["/api/v1/clients/{client_id}/record/versions"]["post"]
    assert "201" in create["responses"] and "Location" in create["responses"]["201"]["headers"]
    assert "/api/v1/clients/{client_id}/record/versions/{number}.{fmt}" in paths
    assert "/api/v1/clients/{client_id}/record.{fmt}" not in paths
