"""The Art. 30(2) record tells the truth about transfers, sub-processors and representatives (issue 9, clause 4.1).

A location or sub-processor outside the EU/EEA needs a transfer to that country; a sub-processor must be
authorised for the client on the record's day; a past-dated record shows only what existed then; the CSV
carries everything the JSON does; the PDF says "complete" only when the check passes.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from dpa_tracker import clock as app_clock
from dpa_tracker.auth.services import create_token
from dpa_tracker.client.services import ProcessorInput, save_processor
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Client, Obligation, ProcessingActivity, Role, SubProcessor, User
from dpa_tracker.record.services import (
    ActivityInput,
    MeasureInput,
    TransferInput,
    add_transfer,
    create_activity,
    create_measure,
    update_activity,
)
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor
from tests.factories import make_agreement, make_client, make_user

STATUS = re.compile(r'id="status">\s*<span class="badge status-([a-z_]+)"')
US_GAP = "Web hosting: data location in US is outside the EU/EEA and no transfer to US is recorded"


@pytest.fixture
def world(app):
    """A German client with a complete record (one activity hosted in Frankfurt), reviewed; an admin with a token."""
    with app.app_context():
        admin = make_user(Role.ADMIN, "admin@example.com")
        save_processor(
            admin,
            ProcessorInput(
                name="AltınSoft Information Technologies",
                contact_email="privacy@altinsoft.example",
                representative="AltınSoft Europe SAS",
                representative_contact="eu-rep@altinsoft.example, Lyon",
            ),
        )
        kundin = make_client(
            "Kundin GmbH",
            country="DE",
            notice_emails=["privacy@kundin.example"],
            representative="Kundin Vertretung",
            representative_contact="+49 30 1234 5678",
        )
        agreement = make_agreement(kundin, admin, reference="DPA-K")
        measure = create_measure(
            admin,
            MeasureInput("a_pseudonymisation_encryption", "Disk encryption", "AES-256 at rest, TLS 1.3 in transit."),
        )
        activity = create_activity(
            admin,
            kundin,
            ActivityInput(
                name="Web hosting",
                processing_categories=["hosting"],
                data_subject_categories=["shop customers"],
                personal_data_categories=["identity"],
                purposes="Host the shop.",
                retention="Term of the agreement",
                locations=[{"country": "DE", "site": "Frankfurt"}],
                measure_ids=[measure.id],
            ),
        )
        activity.created_at = app_clock.now() - timedelta(days=10)  # the activity has existed for ten days
        token = create_token(None, admin, "test")[1]
        db.session.commit()
        rule = db.session.scalar(
            select(Obligation.id).where(Obligation.agreement_id == agreement.id, Obligation.clause_number == "4.1")
        )
        return {
            "client": kundin.id,
            "agreement": agreement.id,
            "activity": activity.id,
            "measure": measure.id,
            "clause_4_1": rule,
            "token": token,
        }


@pytest.fixture
def staff(world, client, auth):
    auth.login("admin@example.com")
    assert (
        auth.post(
            f"/clients/{world['client']}/record/review", {"review-note": "Yearly review"}, prefix="review"
        ).status_code
        == 302
    )
    assert clause_4_1(client, world) == ("met", "")
    return auth


def clause_4_1(http, world) -> tuple[str, str]:
    """The clause 4.1 status as its obligation page shows it, and the page text when it is not met."""
    page = http.get(f"/obligations/{world['clause_4_1']}").get_data(as_text=True)
    match = STATUS.search(page)
    assert match, "no status on the obligation page"
    return match.group(1), "" if match.group(1) == "met" else " ".join(page.split())


def admin_user() -> User:
    return db.session.scalar(select(User).where(User.email == "admin@example.com"))


def change_activity(world, *, locations=None, subprocessor_ids=()) -> None:
    """Edit the activity through the service, keeping every other field."""
    activity = db.session.get(ProcessingActivity, world["activity"])
    update_activity(
        admin_user(),
        activity,
        ActivityInput(
            name=activity.name,
            processing_categories=list(activity.processing_categories),
            data_subject_categories=list(activity.data_subject_categories),
            personal_data_categories=list(activity.personal_data_categories),
            purposes=activity.purposes,
            retention=activity.retention,
            locations=locations or list(activity.locations),
            measure_ids=[world["measure"]],
            subprocessor_ids=list(subprocessor_ids),
        ),
    )
    db.session.commit()


def new_subprocessor(name, country, locations, mechanism="") -> int:
    sub = create_subprocessor(
        admin_user(),
        SubProcessorInput(
            legal_name=name,
            country=country,
            service="Managed servers",
            locations=locations,
            transfer_mechanism=mechanism,
        ),
    )
    db.session.commit()
    return sub.id


def authorise_for(world, sub_id, since_on) -> None:
    authorise(
        admin_user(), db.session.get(Agreement, world["agreement"]), db.session.get(SubProcessor, sub_id), since_on
    )
    db.session.commit()


def hand_out(auth, world, fmt, as_of=None):
    """A copy handed out through the record page, followed to its download."""
    form = {"handout-as_of": (as_of or app_clock.today()).isoformat(), "handout-format": fmt}
    response = auth.post(f"/clients/{world['client']}/record/versions", form, prefix="handout", follow_redirects=True)
    assert response.status_code == 200
    return response


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_a_us_location_without_a_transfer_makes_4_1_overdue_naming_the_activity_and_the_country(
    app, client, world, staff
):
    with app.app_context():
        change_activity(world, locations=[{"country": "DE", "site": "Frankfurt"}, {"country": "US", "site": "Ohio"}])
    status, page = clause_4_1(client, world)
    assert status == "overdue"
    assert US_GAP in page
    record_page = client.get(f"/clients/{world['client']}/record").get_data(as_text=True)
    assert US_GAP in record_page
    with app.app_context():
        add_transfer(
            admin_user(),
            db.session.get(ProcessingActivity, world["activity"]),
            TransferInput(
                destination="US",
                recipient="Hosting Ohio",
                mechanism="adequacy_decision",
                mechanism_detail="EU-US Data Privacy Framework",
            ),
        )
        db.session.commit()
    assert clause_4_1(client, world) == ("met", "")


def test_an_adequacy_country_still_needs_its_transfer_recorded(app, client, world, staff):
    with app.app_context():
        change_activity(world, locations=[{"country": "CH", "site": "Zürich"}, {"country": "NO", "site": "Oslo"}])
    status, page = clause_4_1(client, world)
    assert status == "overdue"
    assert "Web hosting: data location in CH is outside the EU/EEA and no transfer to CH is recorded" in page
    assert "in NO" not in page  # Norway is in the EEA


def test_a_subprocessors_own_transfer_mechanism_flows_into_the_record_and_covers_its_country(app, client, world, staff):
    with app.app_context():
        cloud = new_subprocessor(
            "Cloudy Inc", "US", ["US east", "IE — Dublin"], mechanism="standard_contractual_clauses"
        )
        plain = new_subprocessor("Mumbai Ops", "IN", ["IN — Mumbai"])
        for sub in (cloud, plain):
            authorise_for(world, sub, date(2026, 1, 1))
        change_activity(world, subprocessor_ids=[cloud, plain])
    status, page = clause_4_1(client, world)
    assert status == "overdue"
    assert (
        "Web hosting: sub-processor Mumbai Ops holds data in IN, outside the EU/EEA, and no transfer to IN is recorded"
    ) in page
    assert "Cloudy Inc holds data" not in page
    record = hand_out(staff, world, "json").json["record"]
    transfers = record["activities"][0]["transfers"]
    assert [(t["destination"], t["recipient"], t["mechanism"], t["source"]) for t in transfers] == [
        ("US", "Cloudy Inc", "standard_contractual_clauses", "subprocessor")
    ]
    pdf = pdf_text(hand_out(staff, world, "pdf").data)
    assert "Standard contractual clauses (Art. 46(2)(c))" in pdf and "Cloudy Inc" in pdf


def test_an_activity_naming_an_unauthorised_subprocessor_is_a_gap_on_that_day(app, client, world, staff):
    today = app_clock.today()
    with app.app_context():
        sub = new_subprocessor("Backup Partner SARL", "FR", ["FR — Paris"])
        backups = create_activity(
            admin_user(),
            db.session.get(Client, world["client"]),
            ActivityInput(
                name="Backups",
                processing_categories=["backup"],
                data_subject_categories=["shop customers"],
                personal_data_categories=["identity"],
                locations=[{"country": "FR", "site": "Paris"}],
                measure_ids=[world["measure"]],
                subprocessor_ids=[sub],
            ),
        )
        backups.created_at = app_clock.now() - timedelta(days=10)  # linked to the sub-processor ten days ago
        db.session.commit()
    gap = f"Backups: sub-processor Backup Partner SARL is not authorised for this client on {today}"
    status, page = clause_4_1(client, world)
    assert status == "overdue" and gap in page
    with app.app_context():
        authorise_for(world, sub, today - timedelta(days=1))
    assert clause_4_1(client, world) == ("met", "")
    two_days_ago = today - timedelta(days=2)
    earlier = hand_out(staff, world, "json", as_of=two_days_ago).json["record"]
    assert earlier["problems"] == [
        f"Backups: sub-processor Backup Partner SARL is not authorised for this client on {two_days_ago} "
        "(clause 6.1, Art. 28(2))."
    ]
    assert hand_out(staff, world, "json").json["record"]["problems"] == []


def test_a_record_as_of_a_past_day_leaves_out_transfers_created_after_it(app, client, world, staff):
    yesterday = app_clock.today() - timedelta(days=1)
    with app.app_context():
        activity = db.session.get(ProcessingActivity, world["activity"])
        activity.locations = [{"country": "US", "site": "Ohio"}]  # as if it had always been there
        db.session.commit()
        add_transfer(
            admin_user(),
            activity,
            TransferInput(destination="US", recipient="Hosting Ohio", mechanism="standard_contractual_clauses"),
        )
        db.session.commit()
    response = client.post(
        f"/api/v1/clients/{world['client']}/record/versions",
        headers={"Authorization": f"Bearer {world['token']}"},
        json={"format": "json", "as_of": yesterday.isoformat()},
    )
    assert response.status_code == 201
    then = client.get(response.headers["Location"], headers={"Authorization": f"Bearer {world['token']}"})
    assert then.json["record"]["activities"][0]["transfers"] == []
    assert any(p.startswith(US_GAP) for p in then.json["record"]["problems"])
    now = hand_out(staff, world, "json").json["record"]
    assert [t["recipient"] for t in now["activities"][0]["transfers"]] == ["Hosting Ohio"]
    assert now["problems"] == []


def test_every_representative_and_its_contact_details_appear_in_json_csv_and_pdf(app, client, world, staff):
    expected = ["AltınSoft Europe SAS", "eu-rep@altinsoft.example, Lyon", "Kundin Vertretung", "+49 30 1234 5678"]
    record = hand_out(staff, world, "json").json["record"]
    assert (
        record["processor"]["representative"],
        record["processor"]["representative_contact"],
        record["client"]["representative"],
        record["client"]["representative_contact"],
    ) == tuple(expected)
    rows = {
        r["path"]: r["value"]
        for r in csv.DictReader(io.StringIO(hand_out(staff, world, "csv").data.decode("utf-8-sig")))
    }
    assert [
        rows["processor.representative"],
        rows["processor.representative_contact"],
        rows["client.representative"],
        rows["client.representative_contact"],
    ] == [*expected[:3], "'+49 30 1234 5678"]  # a cell starting with "+" is neutralised for spreadsheets
    pdf = pdf_text(hand_out(staff, world, "pdf").data)
    for value in expected:
        assert value in pdf, value


def test_processor_representative_is_edited_on_the_processor_page(app, client, world, staff):
    form = {
        "name": "AltınSoft Information Technologies",
        "contact_email": "privacy@altinsoft.example",
        "representative": "AltınSoft Ireland Ltd",
        "representative_contact": "rep@altinsoft.example",
    }
    assert staff.post("/admin/processor", form).status_code == 302
    page = client.get(f"/clients/{world['client']}/record").get_data(as_text=True)
    assert "AltınSoft Ireland Ltd · rep@altinsoft.example" in page


def _leaves(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def test_the_csv_carries_every_leaf_value_of_the_json(app, client, world, staff):
    with app.app_context():
        cloud = new_subprocessor("Cloudy Inc", "US", ["US east"], mechanism="binding_corporate_rules")
        authorise_for(world, cloud, date(2026, 1, 1))
        change_activity(
            world,
            locations=[{"country": "DE", "site": "Frankfurt"}, {"country": "TR", "site": "Izmir"}],
            subprocessor_ids=[cloud],
        )
    record = hand_out(staff, world, "json").json["record"]
    assert record["problems"] and record["subprocessors"] and record["activities"][0]["transfers"]
    csv_rows = list(csv.DictReader(io.StringIO(hand_out(staff, world, "csv").data.decode("utf-8-sig"))))
    cells = {row["path"]: row["value"] for row in csv_rows}
    leaves = list(_leaves(record))
    assert len(leaves) > 50
    for path, value in leaves:
        shown = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        if shown.startswith(("=", "+", "-", "@")):
            shown = "'" + shown  # neutralised for spreadsheet programs
        assert cells.get(path) == shown, path
    assert {row["record_version"] for row in csv_rows} == {"2"}


def test_the_pdf_says_complete_only_when_the_check_passes_and_lists_the_gaps_otherwise(app, client, world, staff):
    complete = pdf_text(hand_out(staff, world, "pdf").data)
    assert "Completeness Complete" in complete
    assert "Complete: every element required by Art. 30(2)(a)-(d) is recorded." in complete
    with app.app_context():
        change_activity(world, locations=[{"country": "US", "site": "Ohio"}])
    gaps = pdf_text(hand_out(staff, world, "pdf").data)
    assert "Completeness Complete" not in gaps and "Complete:" not in gaps
    assert "1 problem(s) keep this record from meeting Art. 30(2):" in gaps
    assert US_GAP in gaps
