"""Inputs that used to answer 500: huge ids, dates at the ends of the calendar, non-ASCII digits, a
query string reaching url_for, control characters. Each now answers 404/400/422 with a clear message
and writes nothing (issue 8, item 6). The suite runs on SQLite and on PostgreSQL, where ids above
2,147,483,647 overflow the INTEGER columns."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AuditEvent, Client, Evidence, RecordVersion, Role
from tests.factories import AGREEMENT_FORM, make_agreement, make_client, make_user

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
TOO_BIG = [str(2**31), str(2**63), "9" * 30]
CALENDAR_ENDS = ["9999-12-31", "0001-01-01"]


@pytest.fixture
def world(app, auth):
    """A signed-in compliance user, one client with an agreement, and an admin API token."""
    with app.app_context():
        acme = make_client("Acme Hosting")
        staff = make_user(Role.COMPLIANCE, "karim@example.com")
        agreement = make_agreement(
            acme, staff, reference="DPA-ACME", signed_on=date(2025, 1, 1), effective_on=date(2025, 1, 1)
        )
        obligation_id = next(o.id for o in agreement.obligations if o.clause_number == "3.1(1)")
        token = create_token(None, make_user(Role.ADMIN, "root@example.com"))[1]
        db.session.commit()
        ids = {"client": acme.id, "agreement": agreement.id, "obligation": obligation_id}
    assert auth.login("karim@example.com").status_code == 302
    return {**ids, "bearer": {"Authorization": f"Bearer {token}"}}


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def text_of(response) -> str:
    return response.get_data(as_text=True)


# --- ids beyond the integer range -------------------------------------------------------------


def test_out_of_range_id_on_a_page_is_404(client, world):
    for page in (
        "/clients/{}",
        "/agreements/{}",
        "/obligations/{}",
        "/clients/{}/record",
        "/clients/{}/record.json",
        "/subprocessors/{}",
        "/activities/{}",
        "/documents/{}/download",
    ):
        for big in TOO_BIG:
            response = client.get(page.format(big))
            assert response.status_code == 404, page
            assert "Not Found" in text_of(response)


def test_out_of_range_id_on_an_api_route_is_404_problem_json(client, world):
    for route in (
        "/api/v1/clients/{}",
        "/api/v1/agreements/{}/obligations",
        "/api/v1/evidence/{}/download",
        "/api/v1/clients/{}/record/versions",
        "/api/v1/clients/{}/notices",
    ):
        for big in TOO_BIG:
            response = client.get(route.format(big), headers=world["bearer"])
            assert response.status_code == 404, route
            assert response.mimetype == "application/problem+json"


def test_out_of_range_id_posted_to_an_api_route_is_404_and_writes_nothing(app, client, world):
    before = count(app, AuditEvent)
    response = client.post(
        f"/api/v1/notice-recipients/{2**31}/answer", json={"decision": "approve"}, headers=world["bearer"]
    )
    assert response.status_code == 404
    assert count(app, AuditEvent) == before


@pytest.mark.parametrize("query", [{"client_id": str(2**31)}, {"before": "9" * 20}, {"before": "0"}])
def test_out_of_range_id_in_a_query_is_refused(client, world, query):
    page = client.get("/activity", query_string=query)
    assert page.status_code == 400
    assert "must be a whole number between 1 and 2147483647" in text_of(page)
    api = client.get("/api/v1/audit-events", query_string=query, headers=world["bearer"])
    assert api.status_code == 422
    assert list(query) == list(api.json["errors"]["query"])


def test_out_of_range_id_in_a_form_select_is_a_form_error(app, client, auth, world):
    with app.app_context():
        sub_id = make_subprocessor()
    response = auth.post(
        f"/subprocessors/{sub_id}", {"auth-agreement_id": str(2**40), "auth-since_on": "2025-02-01"}, prefix="auth"
    )
    assert response.status_code == 422
    assert "Not a valid choice" in text_of(response)
    api = client.post(
        "/api/v1/agreements",
        headers=world["bearer"],
        json={
            "client_id": 2**31,
            "reference": "X",
            "title": "X",
            "signed_on": "2026-01-01",
            "effective_on": "2026-01-01",
        },
    )
    assert api.status_code == 422
    assert "client_id" in api.json["errors"]["json"]
    assert count(app, Agreement) == 1


def make_subprocessor() -> int:
    from dpa_tracker.subprocessor.services import SubProcessorInput, create_subprocessor

    sub = create_subprocessor(
        None,
        SubProcessorInput(
            legal_name="Cloud Co",
            country="DZ",
            service="Hosting",
            data_categories=[],
            locations=["DZ"],
            transfer_mechanism="",
            contact_email="",
            dpo_name="",
            dpo_email="",
        ),
    )
    db.session.commit()
    return sub.id


# --- dates at the ends of the calendar --------------------------------------------------------


@pytest.mark.parametrize("day", CALENDAR_ENDS)
def test_as_of_out_of_range_is_400_on_pages(client, world, day):
    for page in (
        f"/agreements/{world['agreement']}",
        f"/obligations/{world['obligation']}",
        f"/clients/{world['client']}/record",
        f"/clients/{world['client']}/subprocessors",
        f"/clients/{world['client']}/subprocessors.csv",
    ):
        response = client.get(page, query_string={"as_of": day})
        assert response.status_code == 400, page
        assert "as_of must be a date written YYYY-MM-DD between 1900-01-01 and 2200-12-31" in text_of(response)


@pytest.mark.parametrize("day", CALENDAR_ENDS)
def test_as_of_out_of_range_is_422_on_the_api(client, world, day):
    for route in (
        f"/api/v1/agreements/{world['agreement']}/obligations",
        f"/api/v1/clients/{world['client']}/subprocessors",
    ):
        response = client.get(route, query_string={"as_of": day}, headers=world["bearer"])
        assert response.status_code == 422, route
        assert response.json["errors"]["query"]["as_of"] == ["Dates must lie between 1900-01-01 and 2200-12-31."]
    response = client.post(
        f"/api/v1/clients/{world['client']}/record/versions",
        headers=world["bearer"],
        json={"format": "json", "as_of": day},
    )
    assert response.status_code == 422
    assert response.json["errors"]["json"]["as_of"] == ["Dates must lie between 1900-01-01 and 2200-12-31."]


@pytest.mark.parametrize("day", CALENDAR_ENDS)
def test_agreement_dates_out_of_range_are_form_errors(app, auth, world, day):
    for field in ("signed_on", "effective_on", "ends_on"):
        form = {**AGREEMENT_FORM, "reference": "DPA-EDGE", field: day}
        response = auth.post(f"/clients/{world['client']}/agreements/new", form)
        assert response.status_code == 422, field
        assert "Dates must lie between 1900-01-01 and 2200-12-31." in text_of(response)
    assert count(app, Agreement) == 1


@pytest.mark.parametrize("day", CALENDAR_ENDS)
def test_agreement_dates_out_of_range_are_422_on_the_api(app, client, world, day):
    response = client.post(
        "/api/v1/agreements",
        headers=world["bearer"],
        json={
            "client_id": world["client"],
            "reference": "DPA-EDGE",
            "title": "Edge",
            "signed_on": day,
            "effective_on": day,
        },
    )
    assert response.status_code == 422
    assert response.json["errors"]["json"]["signed_on"] == ["Dates must lie between 1900-01-01 and 2200-12-31."]
    assert count(app, Agreement) == 1


def test_ending_an_agreement_in_year_9999_is_refused(app, client, auth, world):
    response = auth.post(f"/agreements/{world['agreement']}/end", {"ends_on": "9999-12-31"}, follow_redirects=True)
    assert "Give the date the agreement ended." in text_of(response)
    with app.app_context():
        assert db.session.get(Agreement, world["agreement"]).ends_on is None


@pytest.mark.parametrize("day", CALENDAR_ENDS)
def test_evidence_periods_out_of_range_are_refused(app, client, auth, world, day):
    page = auth.post(
        f"/obligations/{world['obligation']}/evidence",
        {"evidence-note": "Policy", "evidence-valid_until": day},
        prefix="evidence",
    )
    assert page.status_code == 422
    assert "Dates must lie between 1900-01-01 and 2200-12-31." in text_of(page)
    api = client.post(
        f"/api/v1/obligations/{world['obligation']}/evidence",
        headers=world["bearer"],
        data={"note": "Policy", "period_start": day},
        content_type="multipart/form-data",
    )
    assert api.status_code == 422
    assert api.json["errors"]["form"]["period_start"] == ["Dates must lie between 1900-01-01 and 2200-12-31."]
    assert count(app, Evidence) == 0


@pytest.mark.parametrize("day", CALENDAR_ENDS)
def test_activity_filter_dates_out_of_range_are_400(client, world, day):
    for name in ("since", "until"):
        response = client.get("/activity", query_string={name: day})
        assert response.status_code == 400
        assert f"{name} must be a date written YYYY-MM-DD between 1900-01-01 and 2200-12-31" in text_of(response)


def test_the_range_ends_themselves_are_accepted(client, world):
    for day in ("1900-01-01", "2200-12-31"):
        assert client.get(f"/agreements/{world['agreement']}", query_string={"as_of": day}).status_code == 200
        assert client.get("/activity", query_string={"since": day, "until": day}).status_code == 200


# --- numbers written with other digits ---------------------------------------------------------


def test_numeric_arguments_accept_ascii_digits_only(client, world):
    for digits in ("²", "٣", "1²", "+1", "1_0"):
        page = client.get("/activity", query_string={"before": digits})
        assert page.status_code == 400
        assert "before must be a whole number" in text_of(page)
        diff = client.get(f"/clients/{world['client']}/record/diff", query_string={"from": digits, "to": "1"})
        assert diff.status_code == 400
        assert "&#39;from&#39; must be a version number." in text_of(diff)
        api = client.get("/api/v1/audit-events", query_string={"before": digits}, headers=world["bearer"])
        assert api.status_code == 422, digits
        assert "before" in api.json["errors"]["query"]


def test_superscript_digit_in_a_path_is_404(client, world):
    assert client.get("/clients/²").status_code == 404
    assert client.get("/api/v1/clients/٣", headers=world["bearer"]).status_code == 404


# --- the query string never reaches url_for ----------------------------------------------------


@pytest.mark.parametrize("query", ["_method=POST", "_external=1&_scheme=javascript", "_anchor=x", "before_id=1"])
def test_activity_keeps_only_its_filters_in_the_older_events_link(app, client, world, query):
    app.config["PAGE_SIZE"] = 1  # the agreement's creation wrote several events: a second page exists
    response = client.get(f"/activity?{query}&action=agreement.")
    assert response.status_code == 200
    html = text_of(response)
    assert "Older events" in html
    link = html.split("Older events")[0].rsplit('href="', 1)[1].split('"')[0]
    assert link.startswith("/activity?")
    assert "action=agreement." in link
    assert "_method" not in link and "_external" not in link and "javascript" not in link


# --- control characters --------------------------------------------------------------------------


def test_control_character_in_a_form_field_is_400_and_writes_nothing(app, auth, world):
    before = count(app, AuditEvent)
    for bad in ("\x00", "\x07", "\x1b[31m", "\x7f", "\x85"):
        response = auth.post(
            "/clients/new", {"legal_name": f"Evil{bad}Corp", "country": "DZ", "notice_emails": "a@example.com"}
        )
        assert response.status_code == 400
        assert "The form contains a control character (such as NUL)" in text_of(response)
    assert count(app, Client) == 1
    assert count(app, AuditEvent) == before


def test_tab_and_line_breaks_stay_allowed_in_multi_line_text(app, auth, world):
    response = auth.post(
        "/clients/new",
        {
            "legal_name": "Tabbed Ltd",
            "country": "DZ",
            "notice_emails": "a@example.com\r\nb@example.com",
            "address": "1 rue\tX\r\nAlger",
        },
    )
    assert response.status_code == 302
    assert count(app, Client) == 2


@pytest.mark.parametrize("where", ["value", "name"])
def test_nul_in_a_query_argument_is_400(client, world, where):
    query = {"action": "agreement\x00"} if where == "value" else {"act\x00ion": "agreement"}
    page = client.get("/activity", query_string=query)
    assert page.status_code == 400
    assert "The query string contains a control character" in text_of(page)
    api = client.get("/api/v1/audit-events", query_string=query, headers=world["bearer"])
    assert api.status_code == 400
    assert api.mimetype == "application/problem+json"
    assert "control character" in api.json["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"legal_name": "Evil\x00Corp", "country": "DZ", "notice_emails": ["a@example.com"]},
        {"legal_name": "Evil Corp", "country": "DZ", "notice_emails": ["a@example.com"], "address": "x\ud800"},
        {"legal_name": "Evil Corp", "country": "DZ", "notice_emails": ["a@example.com\x00"]},
        {"legal_name": "Evil Corp", "country": "DZ", "notice_emails": ["a@example.com"], "x\x00": 1},
    ],
)
def test_control_character_in_a_json_field_is_400_problem_json(app, client, world, body):
    before = count(app, AuditEvent)
    response = client.post("/api/v1/clients", json=body, headers=world["bearer"])
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "The JSON body contains a control character" in response.json["detail"]
    assert count(app, Client) == 1
    assert count(app, AuditEvent) == before


def test_nul_in_an_uploaded_file_name_is_400(app, client, auth, world):
    page = auth.post(
        f"/obligations/{world['obligation']}/evidence",
        {"evidence-file": (io.BytesIO(PDF), "policy\x00.pdf")},
        prefix="evidence",
        content_type="multipart/form-data",
    )
    assert page.status_code == 400
    assert "The uploaded file&#39;s name contains a control character" in text_of(page)
    api = client.post(
        f"/api/v1/obligations/{world['obligation']}/evidence",
        headers=world["bearer"],
        data={"file": (io.BytesIO(PDF), "policy\x00.pdf")},
        content_type="multipart/form-data",
    )
    assert api.status_code == 400
    assert "uploaded file's name contains a control character" in api.json["detail"]
    assert count(app, Evidence) == 0
    assert not any(p.is_file() for p in Path(app.config["EVIDENCE_DIR"]).rglob("*"))


def test_nul_in_a_multipart_field_of_the_api_is_400(app, client, world):
    response = client.post(
        f"/api/v1/obligations/{world['obligation']}/evidence",
        headers=world["bearer"],
        data={"note": "a\x00b"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "The form contains a control character" in response.json["detail"]
    assert count(app, Evidence) == 0


def test_nul_in_the_path_is_404_and_creates_no_record_version(app, client, world):
    for path in (f"/clients/{world['client']}/record.p%00df", f"/clients/{world['client']}%00/record.pdf"):
        assert client.get(path).status_code == 404
        assert client.get(f"/api/v1{path}", headers=world["bearer"]).status_code == 404
    assert count(app, RecordVersion) == 0


# --- what the schemathesis run found besides server errors --------------------------------------


def test_an_unknown_json_field_is_422_not_ignored(app, client, world):
    response = client.post(
        "/api/v1/agreements",
        headers=world["bearer"],
        json={
            "client_id": world["client"],
            "reference": "DPA-2",
            "title": "Two",
            "signed_on": "2026-01-01",
            "effective_on": "2026-01-01",
            "end_on": "2026-12-31",
        },
    )
    assert response.status_code == 422
    assert response.json["errors"]["json"]["end_on"] == ["Unknown field."]
    assert count(app, Agreement) == 1


def test_405_names_the_allowed_methods(client, world):
    for path, headers in (("/api/v1/clients", world["bearer"]), ("/activity", {})):
        response = client.put(path, headers=headers)
        assert response.status_code == 405
        assert set(response.headers["Allow"].split(", ")) >= {"GET"}


def test_the_openapi_document_declares_problem_json_errors_and_text_without_control_characters(client):
    doc = client.get("/api/v1/openapi.json").json
    assert list(doc["components"]["responses"]["DEFAULT_ERROR"]["content"]) == ["application/problem+json"]
    properties = doc["components"]["schemas"]["ClientIn"]["properties"]
    assert properties["address"]["pattern"] == r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"  # multi-line text
    assert properties["legal_name"]["pattern"] == r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"  # a single line
    assert doc["components"]["schemas"]["ClientIn"]["additionalProperties"] is False


@pytest.mark.parametrize("limit", [9, 10, 99, 105, 2000, 2**31 - 1])
def test_the_id_pattern_matches_exactly_the_numbers_up_to_its_limit(limit):
    from dpa_tracker.ids import at_most

    pattern = re.compile(at_most(limit))
    numbers = [*range(0, 250), limit - 1, limit, limit + 1, limit * 10, int("9" * len(str(limit)))]
    assert [n for n in numbers if bool(pattern.fullmatch(str(n))) != (n <= limit)] == []
    assert pattern.fullmatch("0007") and not pattern.fullmatch("²") and not pattern.fullmatch("-1")
