"""Issue 12, clause 8: the breach record links the agents involved (clause 5 register); the free text keeps the
people who are not agents. Both show on the breach page and in the register PDF/CSV; bad ids write nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from dpa_tracker.agent.services import AgentInput, create_agent
from dpa_tracker.auth.services import create_token
from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, Breach, Role
from tests.factories import make_agreement, make_client, make_user
from tests.support import AuthActions

AWARE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def world(app, clock):
    clock.set(AWARE + timedelta(minutes=30))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        client = make_client("Alpha Foods", notice_emails=["dpo@a.example"])
        agreement = make_agreement(client, staff, reference="DPA-A")
        make_user(Role.CLIENT, "user@a.example", client=client)
        amina = create_agent(staff, AgentInput("Amina Belkacem", "Backup operator", email="amina@example.com"))
        karim = create_agent(staff, AgentInput("Karim Saadi", "Support engineer", email="karim@example.com"))
        _, token = create_token(None, staff, "test")
        db.session.commit()
        return {"agreement": agreement.id, "client": client.id, "agents": [amina.id, karim.id], "token": token}


def _form(world, **overrides):
    form = {
        "title": "Backup bucket exposed",
        "occurred_at": "2026-03-01T08:00",
        "detected_at": "2026-03-02T09:00",
        "aware_at": "2026-03-02T09:30",
        "natures": ["confidentiality"],
        "description": "A storage bucket holding nightly backups was public.",
        "contact_point": "DPO, dpo@processor.example",
        "risk": "risk",
        "agreement_ids": [str(world["agreement"])],
        "agent_ids": [str(i) for i in world["agents"]],
        "agents": "A visitor from the cleaning company",
        "source_subprocessor_id": "",
    }
    form.update(overrides)
    return form


def _counts(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Breach)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
        )


def test_the_page_links_the_agents_and_the_register_lists_them(app, world):
    http = app.test_client()
    auth = AuthActions(http)
    auth.login("staff@example.com")
    form_page = http.get("/breaches/new").get_data(as_text=True)
    assert "Amina Belkacem (Backup operator)" in form_page  # the agents to pick from
    response = auth.post("/breaches/new", _form(world))
    assert response.status_code == 302, response.get_data(as_text=True)
    breach_url = response.headers["Location"]
    page = http.get(breach_url).get_data(as_text=True)
    assert f'href="/agents/{world["agents"][0]}">Amina Belkacem</a> (Backup operator)' in page
    assert "Karim Saadi" in page and "A visitor from the cleaning company" in page

    # the client reads the names, without links to the processor's agent register
    client_http = app.test_client()
    AuthActions(client_http).login("user@a.example")
    client_page = client_http.get(breach_url).get_data(as_text=True)
    assert "Amina Belkacem" in client_page and "/agents/" not in client_page

    csv_text = http.get("/breaches/register.csv").get_data(as_text=True)
    assert (
        "Amina Belkacem (Backup operator); Karim Saadi (Support engineer); A visitor from the cleaning company"
        in csv_text
    )
    pdf = http.get("/breaches/register.pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    pdf.close()
    assert "Amina Belkacem" in text and "Karim Saadi" in text

    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "breach.record")).one()
        assert event.changes["agents_involved"] == [
            "Amina Belkacem (Backup operator)",
            "Karim Saadi (Support engineer)",
        ]


def test_the_api_links_the_agents(app, world):
    headers = {"Authorization": f"Bearer {world['token']}"}
    body = {
        "title": "Laptop lost",
        "occurred_at": "2026-03-01T08:00:00+00:00",
        "detected_at": "2026-03-02T09:00:00+00:00",
        "aware_at": "2026-03-02T09:30:00+00:00",
        "natures": ["confidentiality"],
        "description": "An unencrypted laptop was lost.",
        "contact_point": "DPO",
        "agreement_ids": [world["agreement"]],
        "agent_ids": [world["agents"][1]],
    }
    made = app.test_client().post("/api/v1/breaches", json=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    assert made.json["involved_agents"] == [
        {"id": world["agents"][1], "name": "Karim Saadi", "function": "Support engineer"}
    ]
    assert made.json["agents"] == ""


def test_an_unknown_agent_is_refused_and_writes_nothing(app, world):
    http = app.test_client()
    auth = AuthActions(http)
    auth.login("staff@example.com")
    before = _counts(app)
    page = auth.post("/breaches/new", _form(world, agent_ids=["999999"]))
    assert page.status_code == 422
    assert "999999" in page.get_data(as_text=True) and "not a valid choice" in page.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {world['token']}"}
    api = app.test_client().post(
        "/api/v1/breaches",
        json={
            "title": "Laptop lost",
            "occurred_at": "2026-03-01T08:00:00+00:00",
            "detected_at": "2026-03-02T09:00:00+00:00",
            "aware_at": "2026-03-02T09:30:00+00:00",
            "natures": ["confidentiality"],
            "description": "An unencrypted laptop was lost.",
            "contact_point": "DPO",
            "agreement_ids": [world["agreement"]],
            "agent_ids": [999999],
        },
        headers=headers,
    )
    assert api.status_code == 422
    assert "Unknown agent id 999999" in api.get_data(as_text=True)
    assert _counts(app) == before
