"""Clause 11: document and audit requests, audits, findings and certifications (issue 13).

Acceptance 5: a finding past its due date turns its clause `overdue`; closing it with evidence brings it back."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, Finding, FindingClosure, InspectionRequest, Obligation, Role, User
from dpa_tracker.obligation.services import due_soon_days, status_expression
from tests.factories import make_agreement, make_client, make_user

PDF = b"%PDF-1.4\n% test document\n%%EOF\n"


def _file(name: str = "proof.pdf") -> tuple[io.BytesIO, str]:
    return io.BytesIO(PDF), name


@pytest.fixture
def world(app, clock):
    clock.set(datetime(2026, 3, 1, 9, tzinfo=UTC))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        alpha = make_client("Alpha Foods")
        beta = make_client("Beta Bank")
        agreement = make_agreement(alpha, staff, reference="DPA-A")
        other = make_agreement(beta, staff, reference="DPA-B")
        make_user(Role.CLIENT, "alpha@example.com", client=alpha)
        make_user(Role.CLIENT, "beta@example.com", client=beta)
        make_user(Role.AUDITOR, "auditor@example.com", audits=[alpha])
        duty = next(o for o in agreement.obligations if o.clause_number == "7.1")
        add_evidence(staff, duty, EvidenceInput(note="Security measures reviewed"))
        for number in ("11.1", "11.2"):  # readiness: the audit and document-request policy
            policy = next(o for o in agreement.obligations if o.clause_number == number)
            add_evidence(staff, policy, EvidenceInput(note="Audit and document-request policy"))
        db.session.commit()
        tokens = {
            email: create_token(None, db.session.scalar(select(User).where(User.email == email)), "t")[1]
            for email in ("staff@example.com", "alpha@example.com", "beta@example.com", "auditor@example.com")
        }
        db.session.commit()
        return {"agreement": agreement.id, "other": other.id, "7.1": duty.id, "tokens": tokens, "staff": staff.id}


def _p(prefix: str, fields: dict) -> dict:
    return {f"{prefix}-{k}": v for k, v in fields.items()}


def _h(world, email="staff@example.com"):
    return {"Authorization": f"Bearer {world['tokens'][email]}"}


def _row(html: str, clause: str) -> str:
    match = re.search(rf'<tr data-clause="{re.escape(clause)}">(.*?)</tr>', html, re.S)
    assert match, clause
    return match.group(1)


def _api_status(client, world, clause):
    rows = client.get(
        f"/api/v1/agreements/{world['agreement']}/obligations", query_string={"limit": 500}, headers=_h(world)
    ).json["items"]
    return next((r["status"], r["reason"]) for r in rows if r["clause_number"] == clause)


def _cached(app, world, day):
    """What the dashboard counts: the SQL twin of the engine over the cached projection."""
    with app.app_context():
        return db.session.scalar(select(status_expression(day, due_soon_days())).where(Obligation.id == world["7.1"]))


def _audit(client, world, **overrides):
    r = client.post(
        "/api/v1/inspections",
        json={
            "agreement_id": world["agreement"],
            "kind": "audit",
            "received_on": "2026-03-01",
            "requester_name": "Amina Khelifi",
            "subject": "Security of the hosting platform",
        },
        headers=_h(world),
    )
    assert r.status_code == 201, r.json
    inspection = r.json["id"]
    form = {
        "auditor_organisation": "Audit & Co",
        "appointed_by": "processor",
        "planned_on": "2026-03-01",
        "starts_on": "2026-03-01",
        **overrides,
    }
    r = client.post(f"/api/v1/inspections/{inspection}/audit", data=form, headers=_h(world))
    assert r.status_code == 200, r.json
    return inspection


def test_acceptance_5_finding_past_due_turns_its_clause_overdue_and_closing_it_with_evidence_brings_it_back(
    app, client, auth, clock, world
):
    inspection = _audit(client, world)
    assert _api_status(client, world, "7.1")[0] == "met"
    r = client.post(
        f"/api/v1/inspections/{inspection}/findings",
        json={"clause": "7.1", "severity": "high", "description": "No restore test this year", "due_on": "2026-04-30"},
        headers=_h(world),
    )
    assert r.status_code == 201, r.json
    finding = r.json["audit"]["findings"][0]["id"]

    clock.set(datetime(2026, 5, 2, 9, tzinfo=UTC))  # past the due date, still open
    status, reason = _api_status(client, world, "7.1")
    assert status == "overdue"
    assert f"audit finding #{finding} (high)" in reason and "past its due date 2026-04-30" in reason
    auth.login("staff@example.com")
    row = _row(client.get(f"/agreements/{world['agreement']}").get_data(as_text=True), "7.1")
    assert "status-overdue" in row and f"audit finding #{finding}" in row
    assert _cached(app, world, date(2026, 5, 2)) == "overdue"  # the dashboard's SQL count reads the same

    r = auth.post(
        f"/findings/{finding}/close",
        _p(
            f"close{finding}",
            {"closed_on": "2026-05-02", "file": _file("restore-test.pdf"), "note": "Restore test done"},
        ),
        prefix=f"close{finding}",
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, re.findall(r'role="alert">(.*?)<', r.get_data(as_text=True))
    row = _row(client.get(f"/agreements/{world['agreement']}").get_data(as_text=True), "7.1")
    assert "status-met" in row and "audit finding" not in row
    assert _api_status(client, world, "7.1")[0] == "met"
    assert _cached(app, world, date(2026, 5, 2)) == "met"
    with app.app_context():  # a closure is a record: the database refuses to change it
        assert db.session.scalar(select(func.count()).select_from(FindingClosure)) == 1


def test_a_finding_not_yet_due_is_due_soon_not_overdue(app, client, clock, world):
    inspection = _audit(client, world)
    client.post(
        f"/api/v1/inspections/{inspection}/findings",
        json={"clause": "7.1", "severity": "low", "description": "Minor", "due_on": "2026-03-20"},
        headers=_h(world),
    )
    status, reason = _api_status(client, world, "7.1")
    assert status == "due_soon" and "due on 2026-03-20" in reason


def _documents_request(client, world, received_on="2026-03-01"):
    r = client.post(
        "/api/v1/inspections",
        json={
            "agreement_id": world["agreement"],
            "kind": "documents",
            "received_on": received_on,
            "requester_name": "Amina Khelifi",
            "subject": "The penetration test summary",
        },
        headers=_h(world),
    )
    assert r.status_code == 201, r.json
    return r.json


def test_a_document_request_answered_late_is_late_not_met(app, client, clock, world):
    body = _documents_request(client, world)
    assert body["clause"] == "11.1"
    clock.set(datetime(2026, 3, 20, 9, tzinfo=UTC))  # 15 days ran on 2026-03-16
    assert _api_status(client, world, "11.1")[0] == "overdue"
    r = client.post(
        f"/api/v1/inspections/{body['id']}/documents",
        data={"provided_on": "2026-03-19", "file": _file("pentest.pdf")},
        headers=_h(world),
    )
    assert r.status_code == 201, r.json
    assert r.json["status"] == "late" and r.json["answered_on"] == "2026-03-19"
    assert _api_status(client, world, "11.1")[0] == "late"


def test_a_document_request_answered_on_time_is_met(app, client, clock, world):
    body = _documents_request(client, world)
    clock.set(datetime(2026, 3, 10, 9, tzinfo=UTC))
    r = client.post(
        f"/api/v1/inspections/{body['id']}/documents",
        data={"provided_on": "2026-03-09", "file": _file()},
        headers=_h(world),
    )
    assert r.json["status"] != "late"
    assert "in time" in r.json["reason"] or r.json["status"] in ("met", "open", "due_soon", "overdue")
    assert _api_status(client, world, "11.1")[0] != "late"


def _counts(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Finding)),
            db.session.scalar(select(func.count()).select_from(FindingClosure)),
            db.session.scalar(select(func.count()).select_from(InspectionRequest)),
            db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.not_like("user.%"))),
        )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"clause": "7.1", "severity": "high", "description": "x", "due_on": "2026-02-01"}, "before the audit"),
        ({"clause": "99.9", "severity": "high", "description": "x", "due_on": "2026-04-01"}, "no clause"),
        ({"clause": "7.1", "severity": "dreadful", "description": "x", "due_on": "2026-04-01"}, "Must be one of"),
    ],
)
def test_bad_findings_change_nothing(app, client, world, body, message):
    inspection = _audit(client, world)
    before = _counts(app)
    r = client.post(f"/api/v1/inspections/{inspection}/findings", json=body, headers=_h(world))
    assert r.status_code == 422 and message in str(r.json)
    assert _counts(app) == before


def test_closing_a_finding_without_a_file_changes_nothing_on_the_page(app, client, auth, world):
    inspection = _audit(client, world)
    r = client.post(
        f"/api/v1/inspections/{inspection}/findings",
        json={"clause": "7.1", "severity": "medium", "description": "Gap", "due_on": "2026-04-01"},
        headers=_h(world),
    )
    finding = r.json["audit"]["findings"][0]["id"]
    before = _counts(app)
    auth.login("staff@example.com")
    r = auth.post(
        f"/findings/{finding}/close", _p(f"close{finding}", {"closed_on": "2026-03-01"}), prefix=f"close{finding}"
    )
    assert r.status_code == 422 and "Attach the evidence of closure" in r.get_data(as_text=True)
    assert _counts(app) == before
    r = client.post(f"/api/v1/findings/{finding}/close", data={"closed_on": "2026-03-01"}, headers=_h(world))
    assert r.status_code == 422
    assert _counts(app) == before


def test_the_audit_page_shows_the_appointment_tension_in_words(app, client, auth, world):
    inspection = _audit(client, world, auditor_people="J. Martin", cost_amount="4500", cost_currency="eur")
    auth.login("auditor@example.com")
    html = client.get(f"/inspections/{inspection}").get_data(as_text=True)
    assert "Art. 28(3)(h)" in html and "appointed this auditor alone" in html and "4500.00 EUR" in html
    assert "Record a finding" not in html  # auditors read only
    r = client.post(
        f"/api/v1/inspections/{inspection}/audit",
        data={"auditor_organisation": "X", "appointed_by": "client", "planned_on": "2026-03-01"},
        headers=_h(world, "auditor@example.com"),
    )
    assert r.status_code == 403


def test_another_tenant_never_sees_the_requests_audits_or_findings(app, client, auth, world):
    inspection = _audit(client, world, auditor_organisation="Canary Audit Ltd")
    for email in ("beta@example.com",):
        assert client.get(f"/api/v1/inspections/{inspection}", headers=_h(world, email)).status_code == 404
        listing = client.get("/api/v1/inspections", headers=_h(world, email)).json
        assert listing["items"] == []
        auth.login(email)
        assert client.get(f"/inspections/{inspection}").status_code == 404
        assert "Canary Audit Ltd" not in client.get("/inspections").get_data(as_text=True)
        auth.logout()
    auth.login("alpha@example.com")
    assert "Canary Audit Ltd" in client.get(f"/inspections/{inspection}").get_data(as_text=True)


def test_a_client_requests_a_certification_and_downloads_it_only_once_shared(app, client, auth, clock, world):
    r = client.post(
        "/api/v1/certifications",
        data={
            "kind": "iso27001",
            "name": "ISO 27001 certificate",
            "issuer": "Cert Body",
            "issued_on": "2025-06-01",
            "expires_on": "2028-06-01",
            "file": _file("iso.pdf"),
        },
        headers=_h(world),
    )
    assert r.status_code == 201, r.json
    cert = r.json["id"]
    auth.login("alpha@example.com")
    page = client.get("/certifications").get_data(as_text=True)
    assert "ISO 27001 certificate" in page and "valid" in page and "Request it" in page
    assert client.get(f"/certifications/{cert}/file").status_code == 404
    r = auth.post(f"/certifications/{cert}/request", _p("ask", {"agreement_id": str(world["agreement"])}), prefix="ask")
    assert r.status_code == 302
    with app.app_context():
        asked = db.session.scalar(select(InspectionRequest).where(InspectionRequest.certification_id == cert))
        assert asked is not None and asked.event.obligation.clause_number == "11.1"
        asked_id = asked.id
    assert client.get(f"/certifications/{cert}/file").status_code == 404  # not shared yet
    r = client.post(f"/api/v1/inspections/{asked_id}/share", headers=_h(world))
    assert r.status_code == 201 and r.json["answered_on"] == "2026-03-01"
    download = client.get(f"/certifications/{cert}/file")
    assert download.status_code == 200 and download.data == PDF
    download.close()
    auth.logout()
    auth.login("beta@example.com")  # another client: not shared with it
    assert client.get(f"/certifications/{cert}/file").status_code == 404
    items = client.get("/api/v1/certifications", headers=_h(world, "beta@example.com")).json["items"]
    assert items[0]["shared"] is False and items[0]["download"] is None


def test_a_certification_without_its_file_changes_nothing(app, client, world):
    before = _counts(app)
    r = client.post(
        "/api/v1/certifications",
        data={"kind": "soc2", "name": "SOC 2", "issuer": "X", "issued_on": "2025-06-01"},
        headers=_h(world),
    )
    assert r.status_code == 422
    assert _counts(app) == before


def test_staff_record_requests_findings_and_actions_through_the_pages(app, client, auth, world):
    auth.login("staff@example.com")
    r = auth.post(
        "/inspections",
        _p(
            "new",
            {
                "agreement_id": str(world["agreement"]),
                "kind": "audit",
                "received_on": "2026-03-01",
                "requester_name": "Amina",
                "subject": "Hosting",
            },
        ),
        prefix="new",
    )
    assert r.status_code == 302
    inspection = int(r.headers["Location"].rsplit("/", 1)[1])
    r = auth.post(
        f"/inspections/{inspection}/audit",
        _p(
            "audit",
            {
                "auditor_organisation": "Audit & Co",
                "appointed_by": "jointly",
                "controller_mandate": "y",
                "planned_on": "2026-03-01",
                "declaration": _file("independence.pdf"),
            },
        ),
        prefix="audit",
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    r = auth.post(
        f"/inspections/{inspection}/findings",
        _p("finding", {"clause": "7.1", "severity": "critical", "description": "No MFA", "due_on": "2026-04-01"}),
        prefix="finding",
    )
    assert r.status_code == 302
    with app.app_context():
        finding = db.session.scalar(select(Finding.id))
    r = auth.post(
        f"/findings/{finding}/actions",
        _p(f"rem{finding}", {"description": "Enable MFA", "owner_id": str(world["staff"]), "due_on": "2026-03-20"}),
        prefix=f"rem{finding}",
    )
    assert r.status_code == 302
    html = client.get(f"/inspections/{inspection}").get_data(as_text=True)
    assert "No MFA" in html and "Enable MFA" in html and "independence.pdf" in html
    with app.app_context():
        assert db.session.get_one(Obligation, world["7.1"]).cached_due_on == date(2026, 4, 1)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"provided_on": "2026-03-02"}, "file"),
        ({"provided_on": "2026-02-27", "file": None}, "before the request was received"),
        ({"provided_on": "2027-01-01", "file": None}, "future"),
    ],
)
def test_bad_documents_provided_change_nothing(app, client, clock, world, form, message):
    body = _documents_request(client, world)
    clock.set(datetime(2026, 3, 3, 9, tzinfo=UTC))
    if "file" in form:
        form = {**form, "file": _file()}
    before = _counts(app)
    r = client.post(f"/api/v1/inspections/{body['id']}/documents", data=form, headers=_h(world))
    assert r.status_code == 422 and message in str(r.json), r.json
    assert _counts(app) == before
    assert client.get(f"/api/v1/inspections/{body['id']}", headers=_h(world)).json["documents"] == []
