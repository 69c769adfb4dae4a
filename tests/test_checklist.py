"""The auditor's checklist (issue 13, acceptance 1): as of a past date, page, PDF, evidence bundle verified with
the real ``sha256sum -c``, another client's checklist hidden, auditors' comments kept and never edited."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from dpa_tracker.auth.services import create_token
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence, evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, ChecklistComment, Evidence, Role
from tests.factories import make_agreement, make_client, make_user

AS_OF = date(2026, 3, 1)
CANARY = "CANARY-GLOBEX-7731"


@pytest.fixture
def world(app, clock):
    """Acme (audited) with evidence added before and after AS_OF; Globex (another client) with its canary."""
    clock.set(datetime(2026, 1, 5, 9, tzinfo=UTC))
    with app.app_context():
        acme = make_client("Acme Hosting")
        globex = make_client(f"Globex {CANARY}")
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        auditor = make_user(Role.AUDITOR, "auditor@example.com", audits=[acme])
        make_user(Role.CLIENT, "acme@example.com", client=acme)
        agreement = make_agreement(acme, staff, signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1))
        other = make_agreement(globex, staff, signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1))
        o31 = next(o for o in agreement.obligations if o.clause_number == "3.1(1)")
        clock.set(datetime(2026, 2, 10, 11, tzinfo=UTC))
        early = add_evidence(
            staff,
            o31,
            EvidenceInput(note="Instructions procedure", period_start=date(2026, 1, 1), period_end=date(2026, 12, 31)),
            Upload(io.BytesIO(b"Instruction procedure v1\n"), "policy.txt"),
        )
        db.session.commit()
        clock.set(datetime(2026, 4, 10, 11, tzinfo=UTC))
        late = add_evidence(
            staff, o31, EvidenceInput(note="Added later"), Upload(io.BytesIO(b"Later procedure v2\n"), "late.txt")
        )
        add_evidence(
            staff,
            next(o for o in other.obligations if o.clause_number == "3.1(1)"),
            EvidenceInput(note=f"Globex note {CANARY}"),
            Upload(io.BytesIO(f"{CANARY}\n".encode()), f"{CANARY}.txt"),
        )
        db.session.commit()
        clock.set(datetime(2026, 5, 4, 9, tzinfo=UTC))
        _, auditor_token = create_token(None, auditor, "ci")
        db.session.commit()
        return {
            "agreement": agreement.id,
            "client": acme.id,
            "other": other.id,
            "globex": globex.id,
            "o31": o31.id,
            "early": early.id,
            "early_sha": early.sha256,
            "late": late.id,
            "late_sha": late.sha256,
            "token": auditor_token,
        }


def _zip(response) -> bytes:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/zip"
    return b"".join(response.response)


def _sha256sum(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True, check=False, timeout=60
    )


def test_auditor_sees_past_checklist_pdf_and_a_bundle_sha256sum_verifies(app, client, auth, world, tmp_path):
    assert auth.login("auditor@example.com").status_code == 302
    a = world["agreement"]

    page = client.get(f"/agreements/{a}/checklist?as_of={AS_OF}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "policy.txt" in html and world["early_sha"] in html
    assert "late.txt" not in html and world["late_sha"] not in html  # recorded after the as-of date
    assert "staff@example.com" in html and "covers 2026-01-01 – 2026-12-31" in html
    today_html = client.get(f"/agreements/{a}/checklist").get_data(as_text=True)
    assert "late.txt" in today_html

    pdf = client.get(f"/agreements/{a}/checklist.pdf?as_of={AS_OF}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.data))
    pages = [p.extract_text() for p in reader.pages]
    total = len(pages)
    assert total >= 3
    assert "Auditor's checklist" in pages[0] and "Acme Hosting" in pages[0] and "2026-03-01" in pages[0]
    assert "Audit chain head" in pages[0] and "Generated at" in pages[0]
    for number, page_text in enumerate(pages, 1):
        assert f"Page {number} of {total}" in page_text
    whole = "\n".join(pages)
    assert "Summary by status" in whole and "Evidence annex" in whole
    assert "overdue" in whole or "open" in whole or "met" in whole
    assert world["early_sha"][:20] in whole.replace("\n", "")
    assert "late.txt" not in whole

    body = _zip(client.get(f"/agreements/{a}/checklist.zip?as_of={AS_OF}"))
    archive = zipfile.ZipFile(io.BytesIO(body))
    names = set(archive.namelist())
    evidence_name = f"evidence/3.1(1)/{world['early']}-policy.txt"
    assert {"README.txt", "checklist.pdf", "manifest.json", "SHA256SUMS", evidence_name} <= names
    assert not any("late" in n for n in names)
    manifest = json.loads(archive.read("manifest.json"))
    by_path = {f["path"]: f for f in manifest["files"]}
    assert by_path[evidence_name]["sha256"] == world["early_sha"]
    assert manifest["checklist"]["as_of"] == "2026-03-01"
    assert "sha256sum -c SHA256SUMS" in archive.read("README.txt").decode()

    folder = tmp_path / "bundle"
    archive.extractall(folder)
    checked = _sha256sum(folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{evidence_name}: OK" in checked.stdout and "checklist.pdf: OK" in checked.stdout
    assert checked.stdout.count(": OK") == len(names) - 1  # every file but SHA256SUMS itself

    target = folder / evidence_name
    data = bytearray(target.read_bytes())
    data[0] ^= 0x01
    target.write_bytes(bytes(data))
    tampered = _sha256sum(folder)
    assert tampered.returncode != 0
    assert f"{evidence_name}: FAILED" in tampered.stdout


def test_auditor_cannot_see_another_client_nor_change_anything(app, client, auth, world):
    assert auth.login("auditor@example.com").status_code == 302
    for url in (
        f"/agreements/{world['other']}/checklist",
        f"/agreements/{world['other']}/checklist.pdf",
        f"/agreements/{world['other']}/checklist.zip",
        f"/clients/{world['globex']}/checklist",
        f"/clients/{world['globex']}/checklist.zip",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert CANARY not in response.get_data(as_text=True)
    api = client.get(
        f"/api/v1/agreements/{world['other']}/checklist", headers={"Authorization": f"Bearer {world['token']}"}
    )
    assert api.status_code == 404 and CANARY not in api.get_data(as_text=True)

    with app.app_context():
        evidence_before = db.session.scalar(select(func.count()).select_from(Evidence))
        ends_on = db.session.get(Agreement, world["agreement"]).ends_on
    refused = [
        auth.post(
            f"/obligations/{world['o31']}/evidence",
            {"evidence-note": "auditor upload", "evidence-file": (io.BytesIO(b"x\n"), "x.txt")},
            prefix="evidence",
            content_type="multipart/form-data",
        ),
        auth.post(f"/agreements/{world['agreement']}/end", {"ends_on": "2026-04-01"}),
        auth.post(f"/obligations/{world['o31']}", {"obligation-notes": "auditor"}, prefix="obligation"),
        auth.post(f"/obligations/{world['o31']}/applicability", {"na-reason": "x"}, prefix="na"),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Evidence)) == evidence_before
        assert db.session.get(Agreement, world["agreement"]).ends_on == ends_on


def test_comments_are_kept_shown_and_never_edited(app, client, auth, world):
    assert auth.login("auditor@example.com").status_code == 302
    response = auth.post(
        f"/obligations/{world['o31']}/comments", {"comment-body": "Asked for the signed procedure."}, prefix="comment"
    )
    assert response.status_code == 302
    assert "Asked for the signed procedure." in client.get(f"/agreements/{world['agreement']}/checklist").get_data(
        as_text=True
    )
    assert "Asked for the signed procedure." in client.get(f"/obligations/{world['o31']}").get_data(as_text=True)
    empty = auth.post(f"/obligations/{world['o31']}/comments", {"comment-body": "   "}, prefix="comment")
    assert empty.status_code == 302
    assert "The comment was not kept" in client.get(empty.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        comments = db.session.scalars(select(ChecklistComment)).all()
        assert [c.body for c in comments] == ["Asked for the signed procedure."]
        comment_id = comments[0].id
    with app.app_context(), pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE checklist_comment SET body = 'edited' WHERE id = :i"), {"i": comment_id})
    with app.app_context(), pytest.raises(DBAPIError):
        db.session.execute(text("DELETE FROM checklist_comment WHERE id = :i"), {"i": comment_id})

    auth.logout()
    assert auth.login("acme@example.com").status_code == 302
    page = client.get(f"/agreements/{world['agreement']}/checklist")
    assert page.status_code == 200 and "Asked for the signed procedure." in page.get_data(as_text=True)
    assert "Add comment" not in page.get_data(as_text=True)
    refused = auth.post(f"/obligations/{world['o31']}/comments", {"comment-body": "client"}, prefix="comment")
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ChecklistComment)) == 1


def test_api_checklist_and_comments(app, client, world):
    headers = {"Authorization": f"Bearer {world['token']}"}
    body = client.get(f"/api/v1/agreements/{world['agreement']}/checklist?as_of={AS_OF}", headers=headers).get_json()
    line = next(o for o in body["agreements"][0]["obligations"] if o["clause"] == "3.1(1)")
    assert [e["id"] for e in line["evidence"]] == [world["early"]]
    assert (
        line["evidence"][0]["sha256"] == world["early_sha"] and line["evidence"][0]["added_by"] == "staff@example.com"
    )
    whole = client.get(f"/api/v1/clients/{world['client']}/checklist", headers=headers).get_json()
    assert {e["id"] for a in whole["agreements"] for o in a["obligations"] for e in o["evidence"]} == {
        world["early"],
        world["late"],
    }
    bad = client.get(f"/api/v1/agreements/{world['agreement']}/checklist?as_of=2026-13-01", headers=headers)
    assert bad.status_code == 422
    empty = client.post(f"/api/v1/obligations/{world['o31']}/comments", headers=headers, json={"body": ""})
    assert empty.status_code == 422
    for n in range(3):
        created = client.post(f"/api/v1/obligations/{world['o31']}/comments", headers=headers, json={"body": f"c{n}"})
        assert created.status_code == 201 and created.get_json()["author"] == "auditor@example.com"
    first = client.get(f"/api/v1/obligations/{world['o31']}/comments?limit=2", headers=headers).get_json()
    assert [c["body"] for c in first["items"]] == ["c0", "c1"] and first["next_cursor"]
    rest = client.get(
        f"/api/v1/obligations/{world['o31']}/comments?limit=2&cursor={first['next_cursor']}", headers=headers
    ).get_json()
    assert [c["body"] for c in rest["items"]] == ["c2"] and rest["next_cursor"] is None


def test_bundle_is_refused_when_a_stored_file_was_altered(app, client, auth, world):
    with app.app_context():
        path = evidence_store().path_for(world["early_sha"])
    path.write_bytes(b"Instruction procedure v1 (edited)\n")
    assert hashlib.sha256(path.read_bytes()).hexdigest() != world["early_sha"]
    assert auth.login("auditor@example.com").status_code == 302
    response = client.get(f"/agreements/{world['agreement']}/checklist.zip?as_of={AS_OF}")
    assert response.status_code == 409
    assert "no longer matches" in response.get_data(as_text=True) or "altered" in response.get_data(as_text=True)


def test_stream_stops_when_a_file_changes_while_it_streams():
    """The pre-check passed, then the file changed: the stream raises instead of finishing a wrong bundle."""
    from dpa_tracker.reports.bundle import BundleError, BundleFile, stream_bundle

    recorded = hashlib.sha256(b"original\n").hexdigest()
    stream = stream_bundle(
        checklist_pdf=b"%PDF-1.4\n",
        files=[BundleFile("evidence/1/1-a.txt", lambda: io.BytesIO(b"changed\n"), recorded, 9, 1)],
        checklist={"as_of": "2026-03-01", "audit_head": {"event_id": None, "hash": None}},
        subject="test",
        generated_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    with pytest.raises(BundleError):
        b"".join(stream)
