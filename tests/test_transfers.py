"""Clause 10: disclosures and transfers. Clause 10(2) takes its status from the client's record (transfers and
data locations), the sub-processors its agreement authorises, and the client's consents (issue 12, acceptance 6)."""

from __future__ import annotations

import html
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agreement,
    AuditEvent,
    DisclosureAuthorisation,
    Obligation,
    ProcessingActivity,
    Role,
    TransferConsent,
    User,
)
from dpa_tracker.obligation.services import due_soon_days, status_expression
from dpa_tracker.record.eea import EEA_COUNTRIES, in_eea
from dpa_tracker.record.services import ActivityInput, TransferInput, add_transfer, create_activity
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor
from tests.factories import make_agreement, make_client, make_user

NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


# --- the frozen country list ---------------------------------------------------------------------------------


def test_the_eu_eea_list_has_the_27_member_states_and_the_three_eea_states_and_nothing_else():
    assert len(EEA_COUNTRIES) == 30
    assert {"IS", "LI", "NO", "DE", "FR", "IE", "HR", "CY"} <= EEA_COUNTRIES
    # adequacy decisions (Switzerland, UK, Japan, the US Data Privacy Framework) do not put a country inside it
    for outside in ("CH", "GB", "JP", "US", "TR", "DZ", "TN", "IN"):
        assert not in_eea(outside)
    assert in_eea(" de ")


# --- the world -----------------------------------------------------------------------------------------------


@pytest.fixture
def world(app, clock):
    clock.set(NOW)
    with app.app_context():
        client = make_client("Kundin GmbH", country="DE")
        other = make_client("Globex Corp")
        staff = make_user(Role.COMPLIANCE, "compliance@example.com")
        make_user(Role.CLIENT, "client@kundin.example", client=client)
        make_user(Role.CLIENT, "client@globex.example", client=other)
        agreement = make_agreement(client, staff, reference="DPA-K")
        ten_two = next(o.id for o in agreement.obligations if o.clause_number == "10(2)")
        activity = create_activity(
            staff,
            client,
            ActivityInput(
                name="Web hosting",
                processing_categories=["hosting"],
                data_subject_categories=["shop customers"],
                personal_data_categories=["identity"],
                purposes="Host the shop.",
                locations=[{"country": "DE", "site": "Frankfurt"}],
            ),
        )
        db.session.commit()
        token = create_token(None, staff, "test")[1]
        client_token = create_token(None, db.session.scalar(select_user("client@globex.example")), "t")[1]
        db.session.commit()
        return {
            "client": client.id,
            "other": other.id,
            "agreement": agreement.id,
            "10(2)": ten_two,
            "activity": activity.id,
            "token": token,
            "other_token": client_token,
        }


def select_user(email):
    return select(User).where(User.email == email)


def staff():
    return db.session.scalar(select_user("compliance@example.com"))


def _status(http, obligation_id):
    page = http.get(f"/obligations/{obligation_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    line = text[text.index('id="status"') :]
    return " ".join(html.unescape(line[: line.index("</p>")]).split())


def _cached(app, obligation_id):
    """What the dashboard's SQL counts (the cached projection) today."""
    with app.app_context():
        return db.session.scalar(
            select(status_expression(TODAY, due_soon_days())).where(Obligation.id == obligation_id)
        )


def _add_transfer(app, world, destination="US", recipient="Support Inc.", mechanism="standard_contractual_clauses"):
    with app.app_context():
        transfer = add_transfer(
            staff(),
            db.session.get(ProcessingActivity, world["activity"]),
            TransferInput(destination=destination, recipient=recipient, mechanism=mechanism),
        )
        db.session.commit()
        return transfer.id


def _consent(auth, world, **fields):
    data = {"consent-given_on": "2026-11-01", "consent-given_by": "H. Mansouri, CEO", **fields}
    return auth.post(
        f"/clients/{world['client']}/transfers/consents", data, prefix="consent", content_type="multipart/form-data"
    )


def _counts(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(TransferConsent)),
            db.session.scalar(select(func.count()).select_from(DisclosureAuthorisation)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
        )


# --- acceptance 6 --------------------------------------------------------------------------------------------


def test_acceptance_6_a_non_eu_transfer_without_consent_makes_10_2_not_met_and_a_consent_covering_it_makes_it_met(
    app, client, auth, world
):
    assert auth.login("compliance@example.com").status_code == 302
    # an EU-only record: met, and the reason says why (the record states it)
    status = _status(client, world["10(2)"])
    assert "met" in status and "overdue" not in status
    assert "No storage or transfer outside the EU/EEA is recorded in the client's record on 2026-11-15" in status
    assert _cached(app, world["10(2)"]) == "met"

    transfer_id = _add_transfer(app, world, "US", "Support Inc.", "adequacy_decision")
    status = _status(client, world["10(2)"])
    assert "overdue" in status
    assert "Transfer of “Web hosting” to Support Inc. in US has no consent of the client (clause 10(2))" in status
    assert _cached(app, world["10(2)"]) == "overdue"  # the dashboard's SQL agrees with the page
    page = client.get(f"/clients/{world['client']}/transfers").get_data(as_text=True)
    assert "no consent" in page and "Support Inc." in page

    # a consent naming another country does not cover it
    assert _consent(auth, world, **{"consent-countries": "IN"}).status_code == 302
    assert "overdue" in _status(client, world["10(2)"])

    # a consent naming the transfer itself covers it
    covered = _consent(auth, world, **{"consent-transfer_ids": str(transfer_id), "consent-scope": "Support desk"})
    assert covered.status_code == 302
    status = _status(client, world["10(2)"])
    assert "met" in status and "overdue" not in status
    assert "All 1 storage(s) or transfer(s) outside the EU/EEA (US) are covered by the client's consent" in status
    assert _cached(app, world["10(2)"]) == "met"


def test_a_subprocessor_outside_the_eu_without_consent_makes_10_2_overdue_until_a_country_consent(
    app, client, auth, world
):
    with app.app_context():
        sub = create_subprocessor(
            staff(), SubProcessorInput(legal_name="Cloud LLC", country="DE", service="Backups", locations=["IN Pune"])
        )
        authorise(staff(), db.session.get(Agreement, world["agreement"]), sub, date(2026, 2, 1))
        db.session.commit()
    assert auth.login("compliance@example.com").status_code == 302
    status = _status(client, world["10(2)"])
    assert "overdue" in status
    assert "Sub-processor Cloud LLC in IN has no consent of the client (clause 10(2))" in status
    assert _cached(app, world["10(2)"]) == "overdue"
    assert _consent(auth, world, **{"consent-countries": "in"}).status_code == 302
    assert "met" in _status(client, world["10(2)"])
    assert _cached(app, world["10(2)"]) == "met"


def test_a_data_location_outside_the_eu_needs_a_consent_even_with_an_adequacy_decision(app, client, auth, world):
    with app.app_context():
        activity = db.session.get(ProcessingActivity, world["activity"])
        activity.locations = [{"country": "CH", "site": "Zürich"}]
        db.session.commit()
    assert auth.login("compliance@example.com").status_code == 302
    status = _status(client, world["10(2)"])
    assert "Data location of “Web hosting” (Zürich) in CH has no consent of the client (clause 10(2))" in status


def test_a_withdrawn_consent_stops_counting(app, client, auth, world):
    _add_transfer(app, world, "TN", "Desk Tunis")
    assert auth.login("compliance@example.com").status_code == 302
    assert _consent(auth, world, **{"consent-countries": "TN"}).status_code == 302
    assert "met" in _status(client, world["10(2)"])
    with app.app_context():
        consent_id = db.session.scalar(select(TransferConsent.id))
    refused = auth.post(f"/transfer-consents/{consent_id}/withdraw", {"wd-reason": " "}, prefix="wd")
    assert refused.status_code == 422
    withdrawn = auth.post(f"/transfer-consents/{consent_id}/withdraw", {"wd-reason": "Revoked by letter"}, prefix="wd")
    assert withdrawn.status_code == 302
    status = _status(client, world["10(2)"])
    assert "overdue" in status and "Desk Tunis in TN has no consent" in status
    assert _cached(app, world["10(2)"]) == "overdue"
    page = client.get(f"/clients/{world['client']}/transfers").get_data(as_text=True)
    assert "withdrawn 2026-11-15: Revoked by letter" in page  # kept in the history


def test_an_empty_record_claims_nothing(app, client, auth, world):
    with app.app_context():
        other_agreement = make_agreement(make_client("Empty Ltd"), staff())
        ten_two = next(o.id for o in other_agreement.obligations if o.clause_number == "10(2)")
    assert auth.login("compliance@example.com").status_code == 302
    status = _status(client, ten_two)
    assert "No record: no processing activity is recorded for this client" in status
    assert "met" not in status.split()  # no compliance claimed


# --- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"consent-countries": "FR"}, "FR is in the EU/EEA: clause 10(2) needs no consent for it."),
        ({"consent-countries": "USA"}, "“USA” is not a two-letter ISO country code."),
        ({}, "Name the countries or the transfers the consent covers."),
        ({"consent-countries": "US", "consent-given_on": "2026-11-16"}, "cannot be in the future"),
        ({"consent-countries": "US", "consent-given_by": ""}, "This field is required."),
    ],
)
def test_a_bad_consent_is_refused_with_its_reason_and_writes_nothing(app, client, auth, world, fields, message):
    assert auth.login("compliance@example.com").status_code == 302
    before = _counts(app)
    response = _consent(auth, world, **fields)
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))
    assert _counts(app) == before


def test_another_clients_transfer_cannot_be_named_in_a_consent(app, world):
    with app.app_context():
        other_activity = create_activity(staff(), make_client("Third"), ActivityInput(name="Elsewhere"))
        transfer = add_transfer(
            staff(),
            other_activity,
            TransferInput(destination="US", recipient="R", mechanism="standard_contractual_clauses"),
        )
        db.session.commit()
        transfer_id = transfer.id
    http = app.test_client()
    before = _counts(app)
    response = http.post(
        f"/api/v1/clients/{world['client']}/transfer-consents",
        headers={"Authorization": f"Bearer {world['token']}"},
        data={"given_on": "2026-11-01", "given_by": "CEO", "transfer_ids": str(transfer_id)},
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert f"No transfer in this client's record with id {transfer_id}." in response.get_data(as_text=True)
    assert _counts(app) == before


# --- API -----------------------------------------------------------------------------------------------------


def test_api_records_lists_and_withdraws_consents_and_disclosures(app, world):
    http = app.test_client()
    headers = {"Authorization": f"Bearer {world['token']}"}
    base = f"/api/v1/clients/{world['client']}"
    made = http.post(
        f"{base}/transfer-consents",
        headers=headers,
        data={
            "given_on": "2026-10-01",
            "given_by": "H. Mansouri",
            "countries": ["US", "IN"],
            "file": (io.BytesIO(b"signed consent\n"), "consent.pdf"),
        },
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["countries"] == ["IN", "US"] and body["filename"] == "consent.pdf" and body["sha256"]
    disclosure = http.post(
        f"{base}/disclosure-authorisations",
        headers=headers,
        data={"recipient": "Tax office", "purpose": "Yearly audit", "authorised_on": "2026-10-02"},
    )
    assert disclosure.status_code == 201
    page = http.get(f"{base}/transfer-consents?limit=1", headers=headers).get_json()
    assert [c["given_by"] for c in page["items"]] == ["H. Mansouri"] and page["next_cursor"] is None
    withdrawn = http.post(
        f"/api/v1/transfer-consents/{body['id']}/withdraw", headers=headers, json={"reason": "Revoked"}
    )
    assert withdrawn.status_code == 200 and withdrawn.get_json()["withdrawn_reason"] == "Revoked"
    again = http.post(f"/api/v1/transfer-consents/{body['id']}/withdraw", headers=headers, json={"reason": "x"})
    assert again.status_code == 422
    assert http.get(f"{base}/transfer-consents?withdrawn=false", headers=headers).get_json()["items"] == []
    listed = http.get(f"{base}/disclosure-authorisations", headers=headers).get_json()["items"]
    assert [d["recipient"] for d in listed] == ["Tax office"]
    # another client's user sees none of it
    other = {"Authorization": f"Bearer {world['other_token']}"}
    assert http.get(f"{base}/transfer-consents", headers=other).status_code == 404
    assert http.get(f"{base}/disclosure-authorisations", headers=other).status_code == 404


def test_the_client_reads_its_own_transfers_page_without_forms(app, client, auth, world):
    _add_transfer(app, world, "US", "Support Inc.")
    assert auth.login("client@kundin.example").status_code == 302
    page = client.get(f"/clients/{world['client']}/transfers")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Support Inc." in text and "no consent" in text and "Record consent" not in text
    assert client.get(f"/clients/{world['other']}/transfers").status_code == 404
