"""The JSON API: tokens, problem+json errors, tenants, evidence, OpenAPI."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token, revoke_token
from dpa_tracker.extensions import db
from dpa_tracker.models import ApiToken, Client, Evidence, Role
from dpa_tracker.models.base import utcnow
from tests.factories import CLAUSE_COUNT, make_agreement, make_client, make_user

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def api(app):
    """Tokens for each role; client A and B each with an agreement; the auditor reviews B."""
    with app.app_context():
        a, b = make_client("Alpha"), make_client("Beta")
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        agreement_a = make_agreement(a, staff, reference="DPA-A", effective_on=date(2026, 1, 1))
        agreement_b = make_agreement(b, staff, reference="DPA-B")
        tokens = {}
        for role, kwargs in (("compliance", {}), ("client", {"client": a}), ("auditor", {"audits": [b]})):
            user = staff if role == "compliance" else make_user(Role(role), f"{role}@example.com", **kwargs)
            tokens[role] = create_token(None, user)[1]
        db.session.commit()
        obligations = {o.clause_number: o.id for o in agreement_a.obligations}
        return {
            "a": a.id,
            "b": b.id,
            "agreement_a": agreement_a.id,
            "agreement_b": agreement_b.id,
            "obligations": obligations,
            "tokens": tokens,
        }


def h(api, role):
    return {"Authorization": f"Bearer {api['tokens'][role]}"}


def obligation_row(client, api, clause, **query):
    rows = client.get(
        f"/api/v1/agreements/{api['agreement_a']}/obligations", query_string=query, headers=h(api, "compliance")
    ).json["items"]
    return next(r for r in rows if r["clause_number"] == clause)


def test_requests_without_a_valid_token_answer_401_problem_json(app, client, api):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/clients", headers=headers)
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.json["detail"]
    with app.app_context():
        token = db.session.scalars(select(ApiToken)).first()
        revoke_token(None, token)
        db.session.commit()
        revoked_user = token.user.email
    role = {"staff@example.com": "compliance"}.get(revoked_user, revoked_user.split("@")[0])
    assert client.get("/api/v1/clients", headers=h(api, role)).status_code == 401


def test_create_client_and_bad_input_writes_nothing(app, client, api):
    good = {"legal_name": "Gamma Cloud", "country": "dz", "notice_emails": ["dpo@gamma.example"]}
    response = client.post("/api/v1/clients", json=good, headers=h(api, "compliance"))
    assert response.status_code == 201
    assert response.json["country"] == "DZ"
    bad_inputs = [
        ({"country": "DZ", "notice_emails": ["a@b.example"]}, "legal_name"),
        ({"legal_name": "X", "country": 12, "notice_emails": ["a@b.example"]}, "country"),
        ({"legal_name": "X", "country": "Algeria", "notice_emails": ["a@b.example"]}, "country"),
        ({"legal_name": "X", "country": "DZ", "notice_emails": ["not-an-email"]}, "notice_emails"),
        ({"legal_name": "Gamma Cloud", "country": "DZ", "notice_emails": ["a@b.example"]}, "legal_name"),
    ]
    for body, field in bad_inputs:
        response = client.post("/api/v1/clients", json=body, headers=h(api, "compliance"))
        assert response.status_code in (409, 422), body
        assert response.mimetype == "application/problem+json"
        assert field in response.json["detail"] or field in str(response.json.get("errors")), body
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 3


def test_creating_an_agreement_generates_its_obligations(client, api):
    response = client.post(
        "/api/v1/agreements",
        headers=h(api, "compliance"),
        json={
            "client_id": api["b"],
            "reference": "DPA-NEW",
            "title": "New",
            "signed_on": "2026-02-01",
            "effective_on": "2026-02-01",
        },
    )
    assert response.status_code == 201
    assert response.json["obligation_count"] == CLAUSE_COUNT
    rows = client.get(f"/api/v1/agreements/{response.json['id']}/obligations", headers=h(api, "compliance")).json[
        "items"
    ]
    assert len(rows) == CLAUSE_COUNT
    assert {r["status"] for r in rows} <= {"met", "due_soon", "overdue", "open", "not_applicable"}
    assert all(r["reason"] for r in rows)
    bad = client.post(
        "/api/v1/agreements",
        headers=h(api, "compliance"),
        json={
            "client_id": api["b"],
            "reference": "DPA-BAD",
            "title": "Bad",
            "signed_on": "2026-02-01",
            "effective_on": "2026-01-01",
        },
    )
    assert bad.status_code == 422 and "effective_on" in str(bad.json)
    unknown = client.post(
        "/api/v1/agreements",
        headers=h(api, "compliance"),
        json={
            "client_id": 9999,
            "reference": "DPA-X",
            "title": "X",
            "signed_on": "2026-02-01",
            "effective_on": "2026-02-01",
        },
    )
    assert unknown.status_code == 422


def test_evidence_makes_an_obligation_met_expiry_makes_it_overdue_and_as_of_goes_back(app, client, api):
    obligation_id = api["obligations"]["7.1"]
    assert obligation_row(client, api, "7.1")["status"] == "overdue"  # effective 2026-01-01, no evidence
    response = client.post(
        f"/api/v1/obligations/{obligation_id}/evidence",
        headers=h(api, "compliance"),
        data={
            "file": (io.BytesIO(PDF), "policy.pdf"),
            "note": "Security policy v3",
            "valid_until": (utcnow().date() + timedelta(days=200)).isoformat(),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    assert len(response.json["sha256"]) == 64
    row = obligation_row(client, api, "7.1")
    assert row["status"] == "met" and "valid until" in row["reason"]
    yesterday = (utcnow().date() - timedelta(days=1)).isoformat()
    assert obligation_row(client, api, "7.1", as_of=yesterday)["status"] == "overdue"
    expired = client.post(
        f"/api/v1/obligations/{api['obligations']['7.2']}/evidence",
        headers=h(api, "compliance"),
        data={"note": "Risk assessment", "valid_until": yesterday},
        content_type="multipart/form-data",
    )
    assert expired.status_code == 201
    row = obligation_row(client, api, "7.2")
    assert row["status"] == "overdue" and row["reason"].startswith(f"Evidence expired on {yesterday}")
    bad_date = client.get(
        f"/api/v1/agreements/{api['agreement_a']}/obligations?as_of=1-March", headers=h(api, "compliance")
    )
    assert bad_date.status_code == 422 and bad_date.mimetype == "application/problem+json"


def test_download_and_disguised_upload(app, client, api):
    obligation_id = api["obligations"]["7.1"]
    created = client.post(
        f"/api/v1/obligations/{obligation_id}/evidence",
        headers=h(api, "compliance"),
        data={"file": (io.BytesIO(PDF), "policy.pdf")},
        content_type="multipart/form-data",
    ).json
    download = client.get(f"/api/v1/evidence/{created['id']}/download", headers=h(api, "client"))
    assert download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    download.close()
    listed = client.get(f"/api/v1/obligations/{obligation_id}/evidence", headers=h(api, "client")).json["items"]
    assert [e["sha256"] for e in listed] == [created["sha256"]]
    disguised = client.post(
        f"/api/v1/obligations/{obligation_id}/evidence",
        headers=h(api, "compliance"),
        data={"file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 5000), "report.pdf")},
        content_type="multipart/form-data",
    )
    assert disguised.status_code == 422
    assert "not accepted" in disguised.json["detail"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Evidence)) == 1
        root = Path(app.config["EVIDENCE_DIR"])
        stored = [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "tmp"]
        assert len(stored) == 1
    nothing = client.post(
        f"/api/v1/obligations/{obligation_id}/evidence",
        headers=h(api, "compliance"),
        data={},
        content_type="multipart/form-data",
    )
    assert nothing.status_code == 422


def test_tenants_and_read_only_roles(client, api):
    other = {"client": api["b"], "auditor": api["a"]}
    other_agreement = {"client": api["agreement_b"], "auditor": api["agreement_a"]}
    for role in ("client", "auditor"):
        cid, aid = other[role], other_agreement[role]
        for url in (
            f"/api/v1/clients/{cid}",
            f"/api/v1/agreements/{aid}",
            f"/api/v1/agreements/{aid}/obligations",
            f"/api/v1/clients/{cid}/record/versions/1.json",
            f"/api/v1/clients/{cid}/subprocessors",
            f"/api/v1/clients/{cid}/notices",
            f"/api/v1/clients/{cid}/record/versions",
        ):
            response = client.get(url, headers=h(api, role))
            assert response.status_code == 404, (role, url)
            assert response.mimetype == "application/problem+json"
        names = [c["legal_name"] for c in client.get("/api/v1/clients", headers=h(api, role)).json["items"]]
        assert names == (["Alpha"] if role == "client" else ["Beta"])
        writes = [
            ("/api/v1/clients", {"legal_name": "Z", "country": "DZ", "notice_emails": ["z@z.example"]}),
            (
                "/api/v1/agreements",
                {
                    "client_id": api["a"],
                    "reference": "Z",
                    "title": "Z",
                    "signed_on": "2026-01-01",
                    "effective_on": "2026-01-01",
                },
            ),
        ]
        for url, body in writes:
            assert client.post(url, json=body, headers=h(api, role)).status_code == 403, (role, url)
            # the role is checked before the body: a read-only token gets 403, not a validation error
            assert client.post(url, json={"bogus": 1}, headers=h(api, role)).status_code == 403, (role, url)
    own = api["obligations"]["7.1"]
    assert (
        client.post(
            f"/api/v1/obligations/{own}/evidence",
            headers=h(api, "client"),
            data={"note": "x"},
            content_type="multipart/form-data",
        ).status_code
        == 403
    )
    assert client.get("/api/v1/clients/9999", headers=h(api, "compliance")).status_code == 404
    events = client.get("/api/v1/audit-events", headers=h(api, "client")).json["items"]
    assert events and all(e["client_id"] == api["a"] for e in events)


def test_record_handed_out_via_api_is_a_version(client, api):
    created = client.post(
        f"/api/v1/clients/{api['a']}/record/versions", json={"format": "json"}, headers=h(api, "client")
    )
    assert created.status_code == 201
    response = client.get(created.headers["Location"], headers=h(api, "client"))
    assert response.status_code == 200
    versions = client.get(f"/api/v1/clients/{api['a']}/record/versions", headers=h(api, "client")).json["items"]
    assert [v["number"] for v in versions] == [1]
    assert versions[0]["content_sha256"] == response.headers["X-Record-SHA256"] == created.json["content_sha256"]


def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/clients",
        "/api/v1/agreements",
        "/api/v1/agreements/{agreement_id}/obligations",
        "/api/v1/obligations/{obligation_id}/evidence",
        "/api/v1/evidence/{evidence_id}/download",
        "/api/v1/audit-events",
    ):
        assert path in spec["paths"], path
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    upload = spec["paths"]["/api/v1/obligations/{obligation_id}/evidence"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
