"""The smaller hardening items: CSV formula cells, active file types on download, no-store caching,
production secret-key length."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from werkzeug.http import parse_options_header

from dpa_tracker import clock as app_clock
from dpa_tracker import create_app
from dpa_tracker.auth.services import create_token
from dpa_tracker.config import ConfigError
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import DocumentKind, Role
from dpa_tracker.record.services import (
    ActivityInput,
    TransferInput,
    add_document,
    add_transfer,
    create_activity,
    hand_out,
)
from dpa_tracker.reports.record_csv import render_subprocessors_csv
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor
from tests.factories import make_agreement, make_client, make_user

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+41 22 000", "-2+3", "@SUM(A1:A2)", "=1+1", "-@x"]


def _csv_cells(response) -> list[str]:
    text = response.get_data().decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def test_every_csv_export_neutralises_formula_cells(app, client, auth):
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "karim@example.com")
        acme = make_client("Acme Hosting", dpo_name="=cmd|' /C calc'!A0")
        agreement = make_agreement(acme, staff)
        sub = create_subprocessor(
            staff,
            SubProcessorInput(
                legal_name='=HYPERLINK("http://evil.example")',
                country="FR",
                service="@SUM(1)",
                locations=["-1+1"],
                dpo_name="+2+2",
                contact_email="",
            ),
        )
        authorise(staff, agreement, sub, date(2026, 1, 10))
        create_activity(
            staff,
            acme,
            ActivityInput(
                name=FORMULAS[0],
                purposes=FORMULAS[1],
                retention=FORMULAS[2],
                data_subject_categories=[FORMULAS[3]],
                personal_data_categories=[FORMULAS[4]],
                special_categories=[FORMULAS[5]],
                subprocessor_ids=[sub.id],
            ),
        )
        hand_out(staff, acme, app_clock.today(), "csv")
        db.session.commit()
        acme_id = acme.id
    auth.login("karim@example.com")
    record = client.get(f"/clients/{acme_id}/record/versions/1.csv")
    subs = client.get(f"/clients/{acme_id}/subprocessors.csv")
    record_cells, sub_cells = _csv_cells(record), _csv_cells(subs)
    for formula in FORMULAS:
        assert "'" + formula in record_cells
        assert formula not in record_cells
    assert "'=cmd|' /C calc'!A0" in record_cells  # the client's DPO
    for cell in ('\'=HYPERLINK("http://evil.example")', "'@SUM(1)", "'-1+1", "'+2+2"):
        assert cell in sub_cells
    # harmless cells are left alone
    assert "Acme Hosting" in record_cells and "FR" in sub_cells
    for response in (record, subs):
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Cache-Control"] == "no-store"


def test_csv_cells_starting_with_a_tab_or_carriage_return_are_neutralised():
    # The forms strip leading white space, so these reach a CSV only from older rows or imports.
    rows = [
        {
            "legal_name": "\t=1+1",
            "country": "\r=1+1",
            "service": "Backup\t=1",
            "locations": ["\t@x", "DE"],
            "contact_email": "",
            "dpo_name": "",
            "dpo_email": "",
            "authorised_since": "2026-01-10",
        }
    ]
    cells = next(
        row
        for row in csv.reader(io.StringIO(render_subprocessors_csv(rows).decode("utf-8-sig"), newline=""))
        if row[0] != "legal_name"
    )
    assert cells[:4] == ["'\t=1+1", "'\r=1+1", "Backup\t=1", "'\t@x; DE"]


ACTIVE = ["run.hta", "setup.BAT", "page.html", "logo.svg", "tool.jar", "script.js", "install.ps1", "trick.hta. "]


def fetch(client, url: str, **kwargs):
    """GET ``url`` and close the answer (a file download holds its file open until then)."""
    with client.get(url, **kwargs) as response:
        response.get_data()
    return response


def _download_name(response) -> str:
    _, options = parse_options_header(response.headers["Content-Disposition"])
    return options["filename"]


def test_active_files_are_downloaded_under_a_safe_name_as_opaque_bytes(app, client, auth):
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "karim@example.com")
        acme = make_client("Acme Hosting")
        user = make_user(Role.CLIENT, "anna@acme.example", client=acme)
        obligation = next(o for o in make_agreement(acme, staff).obligations if o.clause_number == "8.1")
        evidence = {
            name: add_evidence(
                staff, obligation, EvidenceInput(note=name), Upload(io.BytesIO(b"<script>alert(1)</script>\n"), name)
            ).id
            for name in [*ACTIVE, "report.txt"]
        }
        activity = create_activity(staff, acme, ActivityInput(name="Web hosting"))
        transfer = add_transfer(
            staff, activity, TransferInput(destination="TN", recipient="Desk", mechanism="standard_contractual_clauses")
        )
        document = add_document(
            staff, transfer, DocumentKind.SAFEGUARDS, Upload(io.BytesIO(b"<svg onload=alert(1)></svg>\n"), "scc.svg")
        ).id
        _, token = create_token(None, user, "hardening")
        db.session.commit()
    auth.login("anna@acme.example")
    for name in ACTIVE:
        for response in (
            fetch(client, f"/evidence/{evidence[name]}/download"),
            fetch(client, f"/api/v1/evidence/{evidence[name]}/download", headers={"Authorization": f"Bearer {token}"}),
        ):
            assert response.status_code == 200
            assert response.headers["Content-Disposition"].startswith("attachment")
            assert _download_name(response) == name.rstrip(". ") + ".txt"
            assert response.mimetype == "application/octet-stream"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Cache-Control"] == "no-store"
    doc = fetch(client, f"/documents/{document}/download")
    assert _download_name(doc) == "scc.svg.txt"
    assert doc.mimetype == "application/octet-stream"
    assert doc.headers["X-Content-Type-Options"] == "nosniff"
    plain = fetch(client, f"/evidence/{evidence['report.txt']}/download")
    assert _download_name(plain) == "report.txt"
    assert plain.mimetype == "text/plain"


def test_signed_in_pages_downloads_and_api_answers_are_not_cached(app, client, auth):
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "karim@example.com")
        acme = make_client("Acme Hosting")
        make_agreement(acme, staff)
        _, token = create_token(None, staff, "cache")
        db.session.commit()
        acme_id = acme.id
    login_page = client.get("/login")
    assert "no-store" not in login_page.headers.get("Cache-Control", "")  # anonymous, nothing private
    auth.login("karim@example.com")
    for url in (
        "/",
        "/clients/",
        f"/clients/{acme_id}",
        f"/clients/{acme_id}/record",
        "/activity",
        f"/clients/{acme_id}/subprocessors.pdf",
        f"/clients/{acme_id}/subprocessors.json",
        f"/clients/{acme_id}/subprocessors.csv",
        "/no-such-page",
    ):
        response = fetch(client, url)
        assert response.headers["Cache-Control"] == "no-store", url
    api = client.get("/api/v1/clients", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert api.headers["Cache-Control"] == "no-store"
    anonymous_api = app.test_client().get("/api/v1/clients")
    assert anonymous_api.status_code == 401
    assert anonymous_api.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("key", "refused"),
    [
        ("x" * 31, True),
        ("é" * 15 + "x", True),  # 31 bytes
        ("x" * 32, False),
        ("é" * 16, False),
    ],
)
def test_production_refuses_secret_keys_shorter_than_32_bytes(tmp_path, monkeypatch, key, refused):
    monkeypatch.setenv("DPA_ENV_NAME", "production")
    monkeypatch.setenv("DPA_SECRET_KEY", key)
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "EVIDENCE_DIR": str(tmp_path / "evidence")}
    if refused:
        with pytest.raises(ConfigError, match=r"31-byte SECRET_KEY.*at least 32 bytes"):
            create_app(config)
    else:
        assert create_app(config).config["SECRET_KEY"] == key
