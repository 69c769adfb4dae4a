"""The Art. 30(2) record: copies handed out, versions, completeness and clause 4.1/4.2."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from dpa_tracker import clock as app_clock
from dpa_tracker.client.services import ProcessorInput, save_processor
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import DocumentKind, Obligation, RecordVersion, Role, Transfer, TriggerEvent, User
from dpa_tracker.obligation.services import assess_obligation
from dpa_tracker.record.services import (
    ActivityInput,
    MeasureInput,
    TransferInput,
    add_document,
    add_transfer,
    create_activity,
    create_measure,
)
from tests.factories import make_agreement, make_client, make_user


@pytest.fixture
def setup(app):
    """Two clients, each with an agreement; client A has a complete record; users for each role."""
    with app.app_context():
        admin = make_user(Role.ADMIN, "admin@example.com")
        save_processor(
            admin,
            ProcessorInput(
                name="AltınSoft Information Technologies",
                contact_email="privacy@altinsoft.example",
                dpo_name="Délégué DPO",
            ),
        )
        a = make_client("Hébergeur Alpha", notice_emails=["dpo@alpha.example"])
        b = make_client("Beta Hosting", notice_emails=["dpo@beta.example"])
        agreement_a = make_agreement(a, admin, reference="DPA-A")
        make_agreement(b, admin, reference="DPA-B")
        measure = create_measure(
            admin, MeasureInput("a_pseudonymisation_encryption", "Chiffrement AES-256", "Disques chiffrés, TLS 1.3.")
        )
        activity = create_activity(
            admin,
            a,
            ActivityInput(
                name="Hébergement des sites",
                processing_categories=["hosting", "backup"],
                data_subject_categories=["clients finaux"],
                personal_data_categories=["identité", "journaux"],
                purposes="Héberger les sites du client.",
                retention="Durée du contrat",
                locations=[{"country": "DZ", "site": "Alger"}],
                measure_ids=[measure.id],
            ),
        )
        add_transfer(
            admin,
            activity,
            TransferInput(
                destination="TR", recipient="Support team Istanbul", mechanism="standard_contractual_clauses"
            ),
        )
        # Alger is outside the EU/EEA: hosting there is itself a transfer the record must show (Art. 30(2)(c)).
        add_transfer(
            admin,
            activity,
            TransferInput(destination="DZ", recipient="Data centre Alger", mechanism="standard_contractual_clauses"),
        )
        make_user(Role.CLIENT, "client-a@example.com", client=a)
        make_user(Role.CLIENT, "client-b@example.com", client=b)
        make_user(Role.AUDITOR, "auditor@example.com", audits=[b])
        db.session.commit()
        return {"a": a.id, "b": b.id, "activity": activity.id, "agreement_a": agreement_a.id}


def hand_out_copy(auth, client_id, fmt, as_of=None, **extra):
    """Hand out a copy through the record page's form and follow the redirect to its download."""
    form = {"handout-as_of": (as_of or app_clock.today()).isoformat(), "handout-format": fmt, **extra}
    return auth.post(f"/clients/{client_id}/record/versions", form, prefix="handout", follow_redirects=True)


def _clause(app, agreement_id, number):
    with app.app_context():
        obligation = db.session.scalar(
            select(Obligation).where(Obligation.agreement_id == agreement_id, Obligation.clause_number == number)
        )
        return assess_obligation(obligation)


def test_client_takes_record_in_three_formats_and_each_copy_is_a_version(app, client, auth, setup):
    auth.login("client-a@example.com")
    json_response = hand_out_copy(auth, setup["a"], "json")
    assert json_response.status_code == 200
    body = json.loads(json_response.data)
    activity = body["record"]["activities"][0]
    assert activity["name"] == "Hébergement des sites"
    assert activity["processing_categories"] == ["hosting", "backup"]
    assert activity["transfers"][0]["destination"] == "TR"
    assert body["record"]["processor"]["name"] == "AltınSoft Information Technologies"
    csv_response = hand_out_copy(auth, setup["a"], "csv")
    rows = {row["path"]: row["value"] for row in csv.DictReader(io.StringIO(csv_response.data.decode("utf-8-sig")))}
    assert rows["activities[0].name"] == "Hébergement des sites"
    assert rows["security_measures[0].title"] == "Chiffrement AES-256"
    pdf_response = hand_out_copy(auth, setup["a"], "pdf")
    assert pdf_response.status_code == 200
    assert pdf_response.data.startswith(b"%PDF")
    assert "attachment" in pdf_response.headers["Content-Disposition"]
    with app.app_context():
        versions = db.session.scalars(select(RecordVersion).order_by(RecordVersion.number)).all()
        assert [(v.number, v.handed_out_as) for v in versions] == [(1, "json"), (2, "csv"), (3, "pdf")]
        assert all(len(v.content_sha256) == 64 for v in versions)
        assert versions[0].content_sha256 == body["sha256"]
        assert versions[0].handed_out_by.email == "client-a@example.com"


def test_pdf_text_has_every_art_30_2_item(app, client, auth, setup):
    from pypdf import PdfReader

    auth.login("client-a@example.com")
    pdf = hand_out_copy(auth, setup["a"], "pdf").data
    extracted = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(extracted.split())
    for expected in [
        "AltınSoft Information Technologies",
        "privacy@altinsoft.example",
        "Hébergeur Alpha",
        "dpo@alpha.example",
        "Hébergement des sites",
        "hosting",
        "backup",
        "TR",
        "Support team Istanbul",
        "Chiffrement AES-256",
    ]:
        assert expected in flat, expected


def test_another_clients_record_and_lists_answer_404(app, client, auth, setup):
    auth.login("client-a@example.com")
    assert (
        auth.post(
            f"/clients/{setup['b']}/record/versions",
            {"handout-as_of": app_clock.today().isoformat(), "handout-format": "pdf"},
            prefix="handout",
        ).status_code
        == 404
    )
    for url in [
        f"/clients/{setup['b']}/record",
        f"/clients/{setup['b']}/subprocessors",
        f"/clients/{setup['b']}/subprocessors.csv",
        f"/clients/{setup['b']}/notices",
        f"/clients/{setup['b']}/record/versions/1.json",
    ]:
        assert client.get(url).status_code == 404, url
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 0


def test_auditor_sees_only_assigned_clients_record(client, auth, setup):
    auth.login("auditor@example.com")
    assert client.get(f"/clients/{setup['b']}/record").status_code == 200
    assert client.get(f"/clients/{setup['a']}/record").status_code == 404


def test_versions_can_be_compared_and_never_changed(app, client, auth, setup):
    auth.login("admin@example.com")
    hand_out_copy(auth, setup["a"], "json")
    with app.app_context():
        activity_id = setup["activity"]
        db.session.execute(
            text("UPDATE processing_activity SET retention = 'Cinq ans' WHERE id = :i"), {"i": activity_id}
        )
        db.session.commit()
    hand_out_copy(auth, setup["a"], "json")
    page = client.get(f"/clients/{setup['a']}/record/diff?from=1&to=2").get_data(as_text=True)
    assert "Durée du contrat" in page and "Cinq ans" in page
    again = json.loads(client.get(f"/clients/{setup['a']}/record/versions/1.json").data)
    assert again["record"]["activities"][0]["retention"] == "Durée du contrat"
    with app.app_context():
        for statement in ("UPDATE record_version SET content = '{}' WHERE number = 1", "DELETE FROM record_version"):
            with pytest.raises(DBAPIError):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 2


def test_art_49_compelling_interest_transfer_without_safeguards_makes_4_1_overdue(app, client, auth, setup):
    auth.login("admin@example.com")
    assert (
        auth.post(f"/clients/{setup['a']}/record/review", {"review-note": "Yearly review"}, prefix="review").status_code
        == 302
    )
    assert _clause(app, setup["agreement_a"], "4.1").status.value == "met"
    with app.app_context():
        from dpa_tracker.models import ProcessingActivity, User

        admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
        activity = db.session.get(ProcessingActivity, setup["activity"])
        transfer = add_transfer(
            admin,
            activity,
            TransferInput(
                destination="US", recipient="Incident forensics firm", mechanism="art49_1_second_subparagraph"
            ),
        )
        db.session.commit()
        transfer_id = transfer.id
    result = _clause(app, setup["agreement_a"], "4.1")
    assert result.status.value == "overdue"
    assert "second subparagraph of Art. 49(1) has no safeguards document" in result.reason
    page = client.get(f"/agreements/{setup['agreement_a']}").get_data(as_text=True)
    assert "no safeguards document" in page
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
        add_document(
            admin,
            db.session.get(Transfer, transfer_id),
            DocumentKind.SAFEGUARDS,
            Upload(io.BytesIO(b"%PDF-1.4 safeguards assessment"), "safeguards.pdf"),
        )
        db.session.commit()
    assert _clause(app, setup["agreement_a"], "4.1").status.value == "met"


def test_client_request_for_a_copy_starts_the_4_2_clock_and_taking_a_copy_answers_it(app, client, auth, setup):
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
        copy = db.session.scalar(
            select(Obligation).where(Obligation.agreement_id == setup["agreement_a"], Obligation.clause_number == "4.2")
        )
        add_evidence(admin, copy, EvidenceInput(note="Request-handling procedure"))  # readiness
        db.session.commit()
    assert _clause(app, setup["agreement_a"], "4.2").status.value == "met"
    auth.login("client-a@example.com")
    response = auth.post(f"/clients/{setup['a']}/record/request-copy", {"copy-summary": "For our DPO"}, prefix="copy")
    assert response.status_code == 302
    assert _clause(app, setup["agreement_a"], "4.2").status.value == "due_soon"
    client.get(f"/clients/{setup['a']}/record")  # looking at the record answers nothing
    assert _clause(app, setup["agreement_a"], "4.2").status.value == "due_soon"
    hand_out_copy(auth, setup["a"], "pdf")
    result = _clause(app, setup["agreement_a"], "4.2")
    assert result.status.value == "met"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TriggerEvent)) == 1


def test_bad_record_requests_answer_clear_errors(app, client, auth, setup):
    auth.login("admin@example.com")
    assert client.get(f"/clients/{setup['a']}/record/versions/1.docx").status_code == 404
    assert client.get(f"/clients/{setup['a']}/record?as_of=yesterday").status_code == 400
    future = hand_out_copy(auth, setup["a"], "json", as_of=date(2100, 1, 1))
    assert "A record cannot be dated in the future." in future.get_data(as_text=True)
    assert "Choose a format" in hand_out_copy(auth, setup["a"], "docx").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 0
    assert client.get(f"/clients/{setup['a']}/record/diff?from=1&to=x").status_code == 400
    assert client.get(f"/clients/{setup['a']}/record/diff?from=1&to=2").status_code == 404


def test_record_as_of_a_past_day_shows_the_activity_as_it_stood_then(app, client, auth, setup):
    from datetime import timedelta

    from dpa_tracker.models import ProcessingActivity
    from dpa_tracker.record.services import update_activity

    with app.app_context():
        activity = db.session.get(ProcessingActivity, setup["activity"])
        activity.created_at = app_clock.now() - timedelta(days=10)  # it has existed for ten days
        db.session.commit()
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        newer = create_measure(staff, MeasureInput("d_regular_testing", "Tests d'intrusion annuels", "Audit externe."))
        update_activity(
            staff,
            db.session.get(ProcessingActivity, setup["activity"]),
            ActivityInput(
                name="Hébergement et sauvegarde",
                processing_categories=["hosting", "backup"],
                data_subject_categories=["clients finaux"],
                personal_data_categories=["identité", "journaux"],
                purposes="Héberger et sauvegarder les sites.",
                retention="Durée du contrat + 1 an",
                locations=[{"country": "DZ", "site": "Oran"}],
                measure_ids=[newer.id],
            ),
        )
        db.session.commit()
    auth.login("client-a@example.com")
    yesterday = app_clock.now().date() - timedelta(days=1)
    then = hand_out_copy(auth, setup["a"], "json", as_of=yesterday).json["record"]["activities"][0]
    now = hand_out_copy(auth, setup["a"], "json").json["record"]["activities"][0]
    assert (then["name"], then["purposes"], then["retention"]) == (
        "Hébergement des sites",
        "Héberger les sites du client.",
        "Durée du contrat",
    )
    assert then["locations"] == [{"country": "DZ", "site": "Alger"}]
    assert (now["name"], now["purposes"], now["locations"]) == (
        "Hébergement et sauvegarde",
        "Héberger et sauvegarder les sites.",
        [{"country": "DZ", "site": "Oran"}],
    )
    then_measures = hand_out_copy(auth, setup["a"], "json", as_of=yesterday).json["record"]
    now_measures = hand_out_copy(auth, setup["a"], "json").json["record"]
    assert [m["title"] for m in then_measures["security_measures"]] == ["Chiffrement AES-256"]
    assert [m["title"] for m in now_measures["security_measures"]] == ["Tests d'intrusion annuels"]
