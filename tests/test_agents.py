"""Agents (clause 5): who is authorised, how clauses 5.2 and 5.3 follow from them, the register's pages,
exports, API and who may see what."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from dpa_tracker.agent.clause5 import authorisation
from dpa_tracker.agent.services import AgentInput, AttestationInput, add_attestation, assign, create_agent
from dpa_tracker.auth.services import create_token
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.models import AgentAttestation, Obligation, Role
from dpa_tracker.obligation.services import due_soon_days, status_expression
from tests.factories import make_agreement, make_client, make_user

NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


# --- the pure rule, at its boundaries ------------------------------------------------------------------------


def test_training_counts_for_twelve_months_exactly_and_not_a_day_more():
    def on(day):
        return authorisation("A. Benali", [date(2025, 9, 1)], [date(2025, 9, 1)], [date(2025, 10, 1)], None, day)

    assert on(date(2026, 10, 1)).authorised  # 12 months exactly
    assert on(date(2026, 10, 1)).training_expires_on == date(2026, 10, 1)
    late = on(date(2026, 10, 2))  # 12 months + 1 day
    assert not late.authorised
    assert late.missing == ("training of A. Benali expired on 2026-10-01",)


def test_acts_must_not_postdate_the_day_assessed():
    base = {"name": "A. Benali", "mission_ends_on": None, "as_of": date(2026, 3, 1)}
    ok = authorisation(
        designations=[date(2026, 3, 1)], commitments=[date(2026, 3, 1)], trainings=[date(2026, 3, 1)], **base
    )
    assert ok.authorised  # on the same day counts
    later = authorisation(
        designations=[date(2026, 3, 2)], commitments=[date(2026, 3, 2)], trainings=[date(2026, 3, 2)], **base
    )
    assert not later.authorised
    assert later.missing == (
        "no written designation of A. Benali on or before 2026-03-01",
        "no signed confidentiality commitment of A. Benali on or before 2026-03-01",
        "no training of A. Benali on or before 2026-03-01",
    )


def test_the_mission_end_stops_the_authorisation_the_day_after():
    args = ("A", [date(2026, 1, 1)], [date(2026, 1, 1)], [date(2026, 1, 1)], date(2026, 5, 31))
    assert authorisation(*args, date(2026, 5, 31)).authorised
    assert authorisation(*args, date(2026, 6, 1)).missing == ("mission of A ended on 2026-05-31",)


# --- pages -----------------------------------------------------------------------------------------------------


@pytest.fixture
def world(app, clock):
    clock.set(NOW)
    with app.app_context():
        client = make_client("Acme Hosting")
        staff = make_user(Role.COMPLIANCE, "compliance@example.com")
        agreement = make_agreement(client, staff, reference="DPA-AGENTS")
        five_two = next(o.id for o in agreement.obligations if o.clause_number == "5.2")
        five_three = next(o.id for o in agreement.obligations if o.clause_number == "5.3")
        return {"client": client.id, "agreement": agreement.id, "5.2": five_two, "5.3": five_three}


def _status(client, obligation_id):
    page = client.get(f"/obligations/{obligation_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    line = text[text.index('id="status"') :]
    line = html.unescape(line[: line.index("</p>")])
    return line


def _cached_status(app, obligation_id):
    """What the dashboard's SQL counts (the cached projection), for today."""
    with app.app_context():
        return db.session.scalar(
            select(status_expression(TODAY, due_soon_days())).where(Obligation.id == obligation_id)
        )


def _post_attestation(auth, agent_id, kind, done_on, **extra):
    data = {"att-kind": kind, "att-done_on": done_on, **{f"att-{k}": v for k, v in extra.items()}}
    data["att-file"] = (io.BytesIO(f"{kind} signed {done_on}\n".encode()), f"{kind}.txt")
    return auth.post(f"/agents/{agent_id}/attestations", data, prefix="att", content_type="multipart/form-data")


def test_acceptance_1_training_thirteen_months_old_makes_5_2_overdue_and_a_new_training_makes_it_met(
    app, client, auth, world
):
    assert auth.login("compliance@example.com").status_code == 302
    assert "No agent recorded for this agreement" in _status(client, world["5.2"])

    created = auth.post(
        "/agents",
        {"name": "A. Benali", "email": "a.benali@example.com", "function": "Support", "employer_kind": "processor"},
    )
    assert created.status_code == 302
    agent_id = int(created.headers["Location"].rsplit("/", 1)[-1])
    assigned = auth.post(
        f"/agents/{agent_id}/assignments",
        {
            "assign-agreement_id": str(world["agreement"]),
            "assign-scope": "Tickets, read only",
            "assign-since_on": "2026-01-05",
        },
        prefix="assign",
    )
    assert assigned.status_code == 302
    assert _post_attestation(auth, agent_id, "designation", "2025-09-01", by_whom="H. Mansouri, CEO").status_code == 302
    assert _post_attestation(auth, agent_id, "commitment", "2025-09-01").status_code == 302
    old = _post_attestation(auth, agent_id, "training", "2025-10-15", course="GDPR basics", provider="CNIL MOOC")
    assert old.status_code == 302

    detail = client.get(f"/agents/{agent_id}").get_data(as_text=True)
    assert "not authorised" in detail and "training of A. Benali expired on 2026-10-15" in detail
    status = _status(client, world["5.2"])
    assert "overdue" in status
    assert "Training of A. Benali expired on 2026-10-15" in status
    assert _cached_status(app, world["5.2"]) == "overdue"  # the dashboard's SQL agrees with the page

    # a training dated in the future is refused and changes nothing
    future = _post_attestation(auth, agent_id, "training", "2026-11-16", course="GDPR 2027", provider="CNIL MOOC")
    assert future.status_code == 422
    assert "cannot be in the future" in html.unescape(future.get_data(as_text=True))

    assert (
        _post_attestation(
            auth, agent_id, "training", "2026-11-10", course="GDPR refresher", provider="CNIL MOOC"
        ).status_code
        == 302
    )
    status = _status(client, world["5.2"])
    assert "met" in status and "overdue" not in status
    assert "All 1 agent(s) designated, committed and trained: A. Benali" in status
    assert _cached_status(app, world["5.2"]) == "met"
    with app.app_context():
        due = db.session.get(Obligation, world["5.2"]).cached_due_on
    assert due == date(2027, 11, 10)  # the earliest training expiry
    register = client.get("/agents").get_data(as_text=True)
    assert "A. Benali" in register and "2027-11-10" in register


def test_a_training_record_is_never_edited_and_a_withdrawal_keeps_it_with_its_reason(app, client, auth, world):
    assert auth.login("compliance@example.com").status_code == 302
    with app.app_context():
        agent = create_agent(None, AgentInput(name="Y. Kaci", function="Ops", email="y.kaci@example.com"))
        attestation = add_attestation(
            None, agent, AttestationInput("training", date(2026, 11, 1), course="GDPR", provider="In house")
        )
        db.session.commit()
        agent_id, attestation_id = agent.id, attestation.id
    refused = auth.post(f"/agent-attestations/{attestation_id}/withdraw", {"wd-reason": ""}, prefix="wd")
    assert refused.status_code == 422
    done = auth.post(f"/agent-attestations/{attestation_id}/withdraw", {"wd-reason": "Wrong person"}, prefix="wd")
    assert done.status_code == 302
    page = client.get(f"/agents/{agent_id}").get_data(as_text=True)
    assert "withdrawn 2026-11-15: Wrong person" in page
    assert "no training of Y. Kaci" in page
    with app.app_context():
        row = db.session.get(AgentAttestation, attestation_id)
        row.course = "Edited"
        with pytest.raises(Exception, match="immutable"):
            db.session.flush()
        db.session.rollback()


def test_an_ended_mission_without_confirmed_access_removal_makes_5_3_not_met(app, client, auth, world):
    with app.app_context():
        agent = create_agent(None, AgentInput(name="K. Haddad", function="DBA", email="k.haddad@example.com"))
        assign(None, agent, db.session.get(Obligation, world["5.3"]).agreement, "Database", date(2026, 1, 1))
        db.session.commit()
        agent_id = agent.id
    assert auth.login("compliance@example.com").status_code == 302
    assert (
        auth.post(
            f"/agents/{agent_id}/mission", {"mission-mission_ends_on": "2026-10-31"}, prefix="mission"
        ).status_code
        == 302
    )
    status = _status(client, world["5.3"])
    assert "overdue" in status
    assert "Mission of K. Haddad ended on 2026-10-31; removal of their access is not confirmed" in status
    assert _cached_status(app, world["5.3"]) == "overdue"
    confirmed = auth.post(
        f"/agents/{agent_id}/mission",
        {"mission-mission_ends_on": "2026-10-31", "mission-removed": "y"},
        prefix="mission",
    )
    assert confirmed.status_code == 302
    assert "Mission of K. Haddad" not in _status(client, world["5.3"])
    # the departed agent no longer works on the agreement: 5.2 has no agent again
    assert "No agent recorded for this agreement" in _status(client, world["5.2"])


def test_bad_input_is_refused_with_a_message_and_writes_nothing(app, client, auth, world):
    assert auth.login("compliance@example.com").status_code == 302
    bad = auth.post(
        "/agents", {"name": "X", "email": "not-an-address", "function": "Ops", "employer_kind": "processor"}
    )
    assert bad.status_code == 422
    no_sub = auth.post(
        "/agents", {"name": "X", "function": "Ops", "employer_kind": "subprocessor", "subprocessor_id": ""}
    )
    assert no_sub.status_code == 422
    assert "Choose the sub-processor" in no_sub.get_data(as_text=True)
    with app.app_context():
        agent = create_agent(None, AgentInput(name="Z", function="Ops"))
        db.session.commit()
        agent_id = agent.id
    no_course = _post_attestation(auth, agent_id, "training", "2026-11-01", provider="X")
    assert no_course.status_code == 422 and "Name the training course." in no_course.get_data(as_text=True)
    no_designator = _post_attestation(auth, agent_id, "designation", "2026-11-01")
    assert no_designator.status_code == 422 and "Say who designated the agent" in no_designator.get_data(as_text=True)
    with app.app_context():
        from dpa_tracker.models import Agent

        assert db.session.scalar(select(func.count()).select_from(Agent)) == 1
        assert db.session.scalar(select(func.count()).select_from(AgentAttestation)) == 0


# --- who sees what ---------------------------------------------------------------------------------------------


@pytest.fixture
def tenants(app, clock):
    clock.set(NOW)
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "compliance@example.com")
        own, other = make_client("Own SARL"), make_client("Other SPA")
        own_agreement = make_agreement(own, staff, reference="DPA-OWN")
        other_agreement = make_agreement(other, staff, reference="DPA-OTHER")
        make_user(Role.CLIENT, "client@own.example", client=own)
        auditor = make_user(Role.AUDITOR, "auditor@audit.example", audits=[own])
        mine = create_agent(None, AgentInput(name="سارة بن علي", function="Support", email="sara@example.com"))
        theirs = create_agent(None, AgentInput(name="Hidden Person", function="Support", email="hidden@example.com"))
        both = create_agent(None, AgentInput(name="Shared Person", function="Ops", email="shared@example.com"))
        assign(None, mine, own_agreement, "Own tickets", date(2026, 1, 1))
        assign(None, theirs, other_agreement, "Other secret scope", date(2026, 1, 1))
        assign(None, both, own_agreement, "Own backups", date(2026, 1, 1))
        assign(None, both, other_agreement, "Other backups scope", date(2026, 1, 1))
        hidden_doc = add_attestation(
            None,
            theirs,
            AttestationInput("commitment", date(2026, 1, 1)),
            Upload(io.BytesIO(b"hidden commitment\n"), "hidden.txt"),
        )
        tokens = {who: create_token(None, user, "t")[1] for who, user in (("auditor", auditor),)}
        db.session.commit()
        return {
            "mine": mine.id,
            "theirs": theirs.id,
            "both": both.id,
            "hidden_doc": hidden_doc.id,
            "tokens": tokens,
            "own_agreement": own_agreement.id,
        }


@pytest.mark.parametrize("email", ["client@own.example", "auditor@audit.example"])
def test_clients_and_auditors_see_only_the_agents_of_their_clients_agreements(client, auth, tenants, email):
    assert auth.login(email).status_code == 302
    register = client.get("/agents").get_data(as_text=True)
    assert "سارة بن علي" in register and "Shared Person" in register
    assert "Hidden Person" not in register and "DPA-OTHER" not in register
    assert client.get(f"/agents/{tenants['theirs']}").status_code == 404
    assert client.get(f"/agent-attestations/{tenants['hidden_doc']}/document").status_code == 404
    shared = client.get(f"/agents/{tenants['both']}").get_data(as_text=True)
    assert "Own backups" in shared and "Other backups scope" not in shared and "DPA-OTHER" not in shared
    csv_text = client.get("/agents/register.csv").get_data().decode("utf-8-sig")
    assert "سارة بن علي" in csv_text and "Hidden Person" not in csv_text and "Other backups" not in csv_text
    # read-only: no form, and a write is refused
    assert 'action="/agents/import"' not in register
    assert auth.post("/agents", {"name": "N", "function": "F", "employer_kind": "processor"}).status_code == 403
    assert (
        auth.post(
            f"/agents/{tenants['mine']}/attestations",
            {"att-kind": "commitment", "att-done_on": "2026-11-01"},
            prefix="att",
        ).status_code
        == 403
    )


def test_auditor_token_reads_the_api_and_cannot_write(client, tenants):
    headers = {"Authorization": f"Bearer {tenants['tokens']['auditor']}"}
    listed = client.get("/api/v1/agents", headers=headers).get_json()["items"]
    assert sorted(a["name"] for a in listed) == ["Shared Person", "سارة بن علي"]
    shared = next(a for a in listed if a["name"] == "Shared Person")
    assert [a["agreement_reference"] for a in shared["assignments"]] == ["DPA-OWN"]
    assert client.get(f"/api/v1/agents/{tenants['theirs']}", headers=headers).status_code == 404
    created = client.post(
        "/api/v1/agents", headers=headers, json={"name": "N", "function": "F", "employer_kind": "processor"}
    )
    assert created.status_code == 403


def test_exports_keep_arabic_names_and_open_in_spreadsheets(client, auth, tenants):
    assert auth.login("compliance@example.com").status_code == 302
    response = client.get("/agents/register.csv")
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {r["Name"] for r in rows} == {"سارة بن علي", "Hidden Person", "Shared Person"}
    assert all(r["Authorised"] == "no" for r in rows)
    pdf = client.get("/agents/register.pdf")
    assert pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_data())).pages)
    assert "Agent register" in text and "Hidden Person" in text and "Shared Person" in text
    filtered = (
        client.get(f"/agents/register.csv?agreement_id={tenants['own_agreement']}").get_data().decode("utf-8-sig")
    )
    assert "Hidden Person" not in filtered and "Shared Person" in filtered


def test_register_lists_agents_needing_attention(app, client, auth, tenants):
    with app.app_context():
        from dpa_tracker.models import Agent

        mine = db.session.get(Agent, tenants["mine"])
        for kind in ("designation", "commitment"):
            add_attestation(None, mine, AttestationInput(kind, date(2026, 1, 1), by_whom="CEO"))
        add_attestation(None, mine, AttestationInput("training", date(2025, 11, 20), course="GDPR", provider="X"))
        db.session.commit()
    assert auth.login("compliance@example.com").status_code == 302
    page = client.get("/agents").get_data(as_text=True)
    attention = page[page.index('id="attention"') : page.index("</section>", page.index('id="attention"'))]
    assert "training expires on 2026-11-20" in attention
    assert "Hidden Person" in attention and "no written designation of Hidden Person" in attention
    expiring = client.get("/agents?expiring=1").get_data(as_text=True)
    table = expiring[expiring.index("<table>") :]
    assert "سارة بن علي" in table and "Hidden Person" not in table
    not_authorised = client.get("/agents?authorised=no").get_data(as_text=True)
    assert "سارة بن علي" not in not_authorised[not_authorised.index("<table>") :]
    assert client.get("/agents?authorised=maybe").status_code == 400


def test_api_creates_an_agent_and_records_a_training_with_its_certificate(app, client, world):
    with app.app_context():
        from dpa_tracker.models import User

        staff = db.session.scalar(select(User).where(User.email == "compliance@example.com"))
        token = create_token(None, staff, "api")[1]
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post(
        "/api/v1/agents",
        headers=headers,
        json={
            "name": "A. Benali",
            "email": "a.benali@example.com",
            "function": "Support",
            "employer_kind": "processor",
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    agent_id = created.get_json()["id"]
    bad = client.post(
        f"/api/v1/agents/{agent_id}/assignments",
        headers=headers,
        json={"agreement_id": world["agreement"], "scope": "", "since_on": "2026-01-01"},
    )
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    ok = client.post(
        f"/api/v1/agents/{agent_id}/assignments",
        headers=headers,
        json={"agreement_id": world["agreement"], "scope": "Tickets", "since_on": "2026-01-01"},
    )
    assert ok.status_code == 201
    training = client.post(
        f"/api/v1/agents/{agent_id}/attestations",
        headers=headers,
        data={
            "kind": "training",
            "done_on": "2026-11-01",
            "course": "GDPR",
            "provider": "CNIL",
            "file": (io.BytesIO(b"certificate\n"), "certificate.txt"),
        },
    )
    assert training.status_code == 201, training.get_data(as_text=True)
    assert training.get_json()["filename"] == "certificate.txt"
    duplicate = client.post(
        f"/api/v1/agents/{agent_id}/attestations",
        headers=headers,
        data={"kind": "training", "done_on": "2026-11-01", "course": "GDPR", "provider": "CNIL"},
    )
    assert duplicate.status_code == 422
    got = client.get(f"/api/v1/agents/{agent_id}", headers=headers).get_json()
    assert got["missing"] == [
        "no written designation of A. Benali on or before 2026-11-15",
        "no signed confidentiality commitment of A. Benali on or before 2026-11-15",
    ]
    assert got["training_expires_on"] == "2027-11-01"
