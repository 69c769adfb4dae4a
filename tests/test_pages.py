"""Forms refuse bad input with a message and write nothing; dates in the address are checked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dpa_tracker import clock as app_clock
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Client, Obligation, Role
from tests.factories import AGREEMENT_FORM, CLAUSE_COUNT, CLAUSES, make_agreement, make_client, make_user

GOOD_CLIENT = {"legal_name": "Acme Hosting", "country": "FR", "notice_emails": "dpo@acme.example"}


@pytest.fixture
def staff(app, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    assert auth.login("karim@example.com").status_code == 302


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"legal_name": ""}, "This field is required."),
        ({"country": "F1"}, "The country must be a two-letter ISO code"),
        ({"notice_emails": "not-an-address"}, "not-an-address"),
    ],
    ids=["missing name", "bad country", "bad e-mail"],
)
def test_new_client_with_bad_input_is_refused(app, auth, staff, change, message):
    response = auth.post("/clients/new", {**GOOD_CLIENT, **change})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, Client) == 0


def test_new_client_is_created(app, auth, staff):
    assert auth.post("/clients/new", GOOD_CLIENT).status_code == 302
    assert count(app, Client) == 1


@pytest.fixture
def acme_id(app, staff):
    with app.app_context():
        return make_client("Acme Hosting").id


def test_agreement_created_through_the_form_has_one_obligation_per_clause(app, client, auth, acme_id):
    response = auth.post(f"/clients/{acme_id}/agreements/new", AGREEMENT_FORM)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"created with {CLAUSE_COUNT} obligations" in page
    assert page.count('data-clause="') == CLAUSE_COUNT
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Obligation)) == CLAUSE_COUNT


def test_agreement_taking_effect_before_signature_is_refused(app, auth, acme_id):
    response = auth.post(f"/clients/{acme_id}/agreements/new", {**AGREEMENT_FORM, "effective_on": "2025-12-31"})
    assert response.status_code == 422
    assert "An agreement cannot take effect before it is signed." in response.get_data(as_text=True)
    assert count(app, Agreement) == 0
    assert count(app, Obligation) == 0


def test_duplicate_reference_is_refused(app, auth, acme_id):
    assert auth.post(f"/clients/{acme_id}/agreements/new", AGREEMENT_FORM).status_code == 302
    response = auth.post(f"/clients/{acme_id}/agreements/new", {**AGREEMENT_FORM, "title": "Another"})
    assert response.status_code in (409, 422)
    assert "already exists" in response.get_data(as_text=True)
    assert count(app, Agreement) == 1
    assert count(app, Obligation) == CLAUSE_COUNT


def test_malformed_as_of_is_a_400(app, client, auth, acme_id):
    with app.app_context():
        agreement_id = make_agreement(db.session.get(Client, acme_id)).id
    response = client.get(f"/agreements/{agreement_id}?as_of=31/12/2026")
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.get_data(as_text=True)


def test_as_of_in_the_past_shows_the_status_of_that_day(app, client, auth, acme_id):
    start = app_clock.today() - timedelta(days=400)
    with app.app_context():
        agreement = make_agreement(db.session.get(Client, acme_id), signed_on=start, effective_on=start)
        agreement_id = agreement.id
        obligation_id = next(o.id for o in agreement.obligations if o.clause_number == "3.1(1)")

    def status(url: str) -> str:
        html = client.get(url).get_data(as_text=True)
        return html.split('id="status"', 1)[1].split("</p>", 1)[0]

    assert "status-overdue" in status(f"/obligations/{obligation_id}")
    earlier = status(f"/obligations/{obligation_id}?as_of={start + timedelta(days=1)}")
    assert "status-due_soon" in earlier
    grace = timedelta(days=CLAUSES["3.1(1)"].rule["grace_days"])  # the template's time to show readiness
    assert f"due by {start + grace}" in earlier
    page = client.get(f"/agreements/{agreement_id}?as_of={start - timedelta(days=60)}")
    assert page.status_code == 200
