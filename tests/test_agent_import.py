"""CSV import of agents and of training attestations: the whole file is checked first; one bad row imports
nothing and is reported with its number and reason; a good file imports every row at once (page and CLI)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from dpa_tracker.extensions import db
from dpa_tracker.models import Agent, AgentAssignment, AgentAttestation, AuditEvent, Obligation, Role
from tests.factories import make_agreement, make_client, make_user

NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
AGENTS_HEADER = "name,email,role,employer_kind,employer,agreements,scope,since_on"
GOOD_AGENTS = (
    f"\ufeff{AGENTS_HEADER}\n"
    "سارة بن علي,sara@example.com,Support,processor,,DPA-IMP,Tickets (read only),2026-02-01\n"
    "Éloïse Martin,eloise@example.com,DBA,contractor,Conseil SARL,DPA-IMP,Database,2026-03-01\n"
    "Omar Kaci,omar@example.com,Ops,processor,,,,\n"
)
TRAININGS = "email,trained_on,course,provider\nsara@example.com,2026-10-01,GDPR basics,CNIL MOOC\n"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def staff(app, clock):
    clock.set(NOW)
    with app.app_context():
        user = make_user(Role.COMPLIANCE, "compliance@example.com")
        make_agreement(make_client("Acme"), user, reference="DPA-IMP")
    return "compliance@example.com"


def _upload(auth, body: bytes, name: str = "agents.csv"):
    return auth.post(
        "/agents/import",
        {"imp-file": (io.BytesIO(body), name)},
        prefix="imp",
        content_type="multipart/form-data",
    )


def test_a_good_agents_file_then_a_trainings_file_import_every_row(app, client, auth, staff):
    assert auth.login(staff).status_code == 302
    response = _upload(auth, GOOD_AGENTS.encode("utf-8"))
    assert response.status_code == 302
    page = client.get("/agents").get_data(as_text=True)
    assert "Imported 3 row(s): 3 agent(s), 2 assignment(s), 0 training(s)." in page
    assert "سارة بن علي" in page and "Éloïse Martin" in page and "Conseil SARL" in page
    assert _upload(auth, TRAININGS.encode(), "trainings.csv").status_code == 302
    with app.app_context():
        assert count(Agent) == 3 and count(AgentAssignment) == 2 and count(AgentAttestation) == 1
        summary = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("agent.import%"))).all()
        assert [(e.action, e.changes["rows"]) for e in summary] == [
            ("agent.import_agents", 3),
            ("agent.import_trainings", 1),
        ]
        # the agreement's clause 5.2 was re-assessed: Sara has a training but no designation
        five_two = db.session.scalar(select(Obligation).where(Obligation.clause_number == "5.2"))
        assert five_two.cached_due_on is not None and five_two.cached_due_on < NOW.date()


@pytest.mark.parametrize(
    ("body", "reported"),
    [
        (
            GOOD_AGENTS.replace("2026-03-01", "2026-02-30"),
            "row 3: since_on '2026-02-30' is not a date written YYYY-MM-DD",
        ),
        (GOOD_AGENTS.replace("DBA,contractor", ",contractor"), "row 3: role is missing"),
        (GOOD_AGENTS.replace("eloise@example.com", "sara@example.com"), "row 3: duplicate of row 2 (same e-mail"),
        (GOOD_AGENTS.replace("Database,2026-03-01", "Database,2026-03-01,extra"), "row 3: 9 fields, the header has 8"),
        (GOOD_AGENTS.replace(",DPA-IMP,Database", ",DPA-NOPE,Database"), "row 3: unknown agreement 'DPA-NOPE'"),
        (
            GOOD_AGENTS.replace("name,email,role", "nom,email,role"),
            "row 1: wrong columns (unknown column(s): 'nom'; missing column(s): name)",
        ),
    ],
    ids=["bad date", "missing field", "duplicate", "extra field", "unknown agreement", "wrong columns"],
)
def test_one_bad_row_imports_nothing_and_is_reported_with_its_number(app, client, auth, staff, body, reported):
    assert auth.login(staff).status_code == 302
    response = _upload(auth, body.encode("utf-8"))
    assert response.status_code == 422
    text = response.get_data(as_text=True).replace("&#39;", "'")
    assert "Nothing was imported" in text
    assert reported in text
    with app.app_context():
        assert count(Agent) == 0 and count(AgentAssignment) == 0
        assert (
            db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("agent.%")))
            == 0
        )


def test_latin1_file_is_refused_naming_the_row(app, auth, staff):
    assert auth.login(staff).status_code == 302
    body = GOOD_AGENTS.replace("سارة بن علي", "Sara").lstrip("\ufeff").encode("latin-1")
    response = _upload(auth, body)
    assert response.status_code == 422
    assert "row 3: the file is not UTF-8 (byte 0xC9)" in response.get_data(as_text=True)
    with app.app_context():
        assert count(Agent) == 0


def test_trainings_of_unknown_people_or_recorded_twice_are_refused(app, client, auth, staff):
    assert auth.login(staff).status_code == 302
    assert _upload(auth, GOOD_AGENTS.encode()).status_code == 302
    assert _upload(auth, TRAININGS.encode()).status_code == 302
    again = _upload(auth, (TRAININGS + "nobody@example.com,2026-10-01,GDPR,X\n").encode())
    text = again.get_data(as_text=True).replace("&#39;", "'")
    assert again.status_code == 422
    assert "row 2: this training of sara@example.com on 2026-10-01 is already recorded" in text
    assert "row 3: unknown person 'nobody@example.com'" in text
    with app.app_context():
        assert count(AgentAttestation) == 1


def test_cli_reports_the_bad_row_and_imports_the_corrected_file(app, runner, staff, tmp_path):
    bad = tmp_path / "agents.csv"
    bad.write_bytes(GOOD_AGENTS.replace("2026-03-01", "01/03/2026").encode())
    result = runner.invoke(args=["agents", "import", str(bad)])
    assert result.exit_code == 1
    assert "Nothing was imported: 1 problem(s)." in result.output
    assert "row 3: since_on '01/03/2026' is not a date written YYYY-MM-DD" in result.output
    with app.app_context():
        assert count(Agent) == 0
    bad.write_bytes(GOOD_AGENTS.encode())
    result = runner.invoke(args=["agents", "import", str(bad)])
    assert result.exit_code == 0, result.output
    assert "Imported 3 row(s): 3 agent(s), 2 assignment(s), 0 training(s)." in result.output
    with app.app_context():
        assert count(Agent) == 3


def test_api_import_answers_422_with_the_rows_and_writes_nothing(app, client, staff):
    from dpa_tracker.auth.services import create_token
    from dpa_tracker.models import User

    with app.app_context():
        token = create_token(None, db.session.scalar(select(User)), "t")[1]
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    bad = client.post(
        "/api/v1/agents/import",
        headers=headers,
        data={"file": (io.BytesIO(GOOD_AGENTS.replace("2026-03-01", "x").encode()), "a.csv")},
    )
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert "row 3: since_on 'x'" in bad.get_json()["detail"]
    good = client.post(
        "/api/v1/agents/import", headers=headers, data={"file": (io.BytesIO(GOOD_AGENTS.encode()), "a.csv")}
    )
    assert good.status_code == 201
    assert good.get_json() == {"kind": "agents", "rows": 3, "agents": 3, "assignments": 2, "trainings": 0}
