"""Issue 12, clause 8: the breach register and its notification clock (acceptance 3 and 4), bad input, and the
legal records the database keeps."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, text

from dpa_tracker.auth.services import create_token
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import Breach, BreachAgreement, BreachNotice, Evidence, Role, TriggerEvent, User
from tests.factories import make_agreement, make_client, make_user
from tests.support import AuthActions

AWARE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DESCRIPTION = "A storage bucket holding nightly backups was readable from the internet for 25 hours."


@pytest.fixture
def three(app, clock):
    """Three clients with one agreement each (24 h notice target), their users, staff and a staff token."""
    clock.set(AWARE + timedelta(minutes=30))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        ids = {}
        for key, name in (("a", "Alpha Foods"), ("b", "Beta Bank"), ("c", "Gamma Clinic")):
            client = make_client(name, notice_emails=[f"dpo@{key}.example"])
            agreement = make_agreement(client, staff, reference=f"DPA-{key.upper()}")
            make_user(Role.CLIENT, f"user@{key}.example", client=client)
            for o in agreement.obligations:  # readiness: the procedure and the register exist
                if o.clause_number in ("8.1", "8.3"):
                    add_evidence(staff, o, EvidenceInput(note=f"Breach-response procedure ({o.clause_number})"))
            ids[key] = {"client": client.id, "agreement": agreement.id}
        db.session.commit()
        _, token = create_token(None, staff, "test")
        db.session.commit()
    return {"ids": ids, "token": token}


def _form(agreement_ids, **overrides):
    form = {
        "title": "Backup bucket exposed",
        "occurred_at": "2026-03-01T08:00",
        "detected_at": "2026-03-02T09:00",
        "aware_at": "2026-03-02T09:30",
        "natures": ["confidentiality"],
        "description": DESCRIPTION,
        "systems": "Object storage",
        "data_subject_categories": "customers of the shop",
        "data_subjects_approx": "1200",
        "record_categories": "names and e-mail addresses",
        "records_approx": "5000",
        "likely_consequences": "Targeted phishing against customers",
        "measures_taken": "Bucket made private; access keys rotated",
        "measures_proposed": "Weekly scan for public buckets",
        "agreement_failures": "Clause 7.1: storage not reviewed after the change",
        "risk": "risk",
        "contact_point": "Nadia Benali, DPO, dpo@processor.example",
        "agreement_ids": [str(i) for i in agreement_ids],
        "source_subprocessor_id": "",
    }
    form.update(overrides)
    return form


def _statuses(client, token, agreement_id):
    rows = client.get(
        f"/api/v1/agreements/{agreement_id}/obligations",
        query_string={"limit": 500},
        headers={"Authorization": f"Bearer {token}"},
    ).json["items"]
    return {row["clause_number"]: (row["status"], row["reason"]) for row in rows}


def _send(app):
    result = app.test_cli_runner().invoke(args=["notices", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def _staff(app):
    http = app.test_client()
    auth = AuthActions(http)
    assert auth.login("staff@example.com").status_code == 302
    return http, auth


def _breach_id(app):
    with app.app_context():
        return db.session.scalar(select(Breach.id))


def test_acceptance_3_three_clients_two_notified_in_time_one_late(app, client, auth, clock, smtp, three):
    ids, token = three["ids"], three["token"]
    auth.login("staff@example.com")
    response = auth.post("/breaches/new", _form([ids[k]["agreement"] for k in "abc"]))
    assert response.status_code == 302, response.get_data(as_text=True)
    breach_id = _breach_id(app)
    page = client.get(f"/breaches/{breach_id}").get_data(as_text=True)
    # the clock runs per client from awareness (09:30 + 24 h), 30 minutes spent
    assert page.count("Time left: 23 h 30 min (target 2026-03-03 09:30 UTC)") == 3
    for k in "abc":  # 8.1 runs, 8.3 is met by the register entry itself
        statuses = _statuses(client, token, ids[k]["agreement"])
        assert statuses["8.1"] == (
            "due_soon",
            "Personal data breach of 2026-03-02 09:30 UTC to be notified by 2026-03-03 09:30 UTC",
        )
        assert statuses["8.3"][0] == "met", statuses["8.3"]

    for k in "ab":
        r = auth.post(
            f"/breaches/{breach_id}/notify",
            {"notify-agreement_id": str(ids[k]["agreement"]), "notify-phase": "initial"},
            prefix="notify",
        )
        assert r.status_code == 302, r.get_data(as_text=True)
    assert smtp.messages == []  # the page only queued them
    clock.set(AWARE + timedelta(hours=2))
    assert "2 e-mail(s) sent" in _send(app)

    clock.set(AWARE + timedelta(hours=26))  # C's target has passed
    client, auth = _staff(app)  # a day later: a new session
    page = client.get(f"/breaches/{breach_id}").get_data(as_text=True)
    assert "Overdue by 2 h 00 min (target was 2026-03-03 09:30 UTC)" in page
    assert page.count("Notified 2026-03-02 11:30 UTC, 2 h 00 min after awareness (within the 24 h target)") == 2
    # the status engine counts in days: the next day an unnotified breach makes 8.1 overdue
    clock.set(AWARE + timedelta(hours=46, minutes=30))  # 2026-03-04 08:00
    client, auth = _staff(app)
    assert _statuses(client, token, ids["c"]["agreement"])["8.1"] == (
        "overdue",
        "Personal data breach of 2026-03-02 09:30 UTC not notified; deadline was 2026-03-03 09:30 UTC",
    )
    r = auth.post(
        f"/breaches/{breach_id}/notify",
        {"notify-agreement_id": str(ids["c"]["agreement"]), "notify-phase": "initial"},
        prefix="notify",
    )
    assert r.status_code == 302
    clock.set(AWARE + timedelta(hours=47))
    assert "1 e-mail(s) sent" in _send(app)
    client, auth = _staff(app)

    assert _statuses(client, token, ids["a"]["agreement"])["8.1"][0] == "met"
    assert _statuses(client, token, ids["b"]["agreement"])["8.1"][0] == "met"
    status, reason = _statuses(client, token, ids["c"]["agreement"])["8.1"]
    assert status == "late"
    assert reason.startswith("Personal data breach of 02 Mar 2026 notified 47 h after awareness; target 24 h"), reason
    page = client.get(f"/breaches/{breach_id}").get_data(as_text=True)
    assert "Notified 2026-03-04 08:30 UTC, 1 d 23 h 00 min after awareness (after the 24 h target)" in page
    assert page.count("within the 24 h target") == 2

    assert sorted(rcpt[0] for rcpt, _ in smtp.messages) == ["dpo@a.example", "dpo@b.example", "dpo@c.example"]
    names = {"dpo@a.example": "Alpha Foods", "dpo@b.example": "Beta Bank", "dpo@c.example": "Gamma Clinic"}
    for rcpt, message in smtp.messages:
        body = message.get_payload(decode=True).decode()
        assert "Initial notice" in message["Subject"]
        assert names[rcpt[0]] in body
        assert not any(other in body for other in names.values() if other != names[rcpt[0]])
        for item in (
            "Type: confidentiality",  # (a) nature
            DESCRIPTION,
            "Categories of data subjects: customers of the shop",
            "Approximate number of data subjects: about 1,200",
            "Categories of personal data records: names and e-mail addresses",
            "Approximate number of personal data records: about 5,000",
            "Nadia Benali, DPO, dpo@processor.example",  # (b) contact point
            "Targeted phishing against customers",  # (c) likely consequences
            "Taken: Bucket made private; access keys rotated",  # (d) measures
            "Proposed: Weekly scan for public buckets",
        ):
            assert item in body, item
    # every message sent is kept as evidence on that agreement's 8.1, with its hash on the notice row
    with app.app_context():
        for notice in db.session.scalars(select(BreachNotice)):
            evidence = db.session.scalar(select(Evidence).where(Evidence.sha256 == notice.message_sha256))
            assert evidence.obligation.clause_number == "8.1"
            assert evidence.acted_at == notice.sent_at

    # the breach is in each client's 8.3 register: its page and its CSV, and no other client's name
    for k in "abc":
        user = app.test_client()
        AuthActions(user).login(f"user@{k}.example")
        html = user.get("/breaches").get_data(as_text=True)
        assert "Backup bucket exposed" in html
        csv = user.get("/breaches/register.csv").get_data(as_text=True)
        assert DESCRIPTION in csv and "Clause 7.1: storage not reviewed" in csv
        for other in "abc":
            if other != k:
                assert names[f"dpo@{other}.example"] not in html + csv
                assert f"DPA-{other.upper()}" not in html + csv


def test_follow_up_needs_the_initial_notice_and_new_information(app, client, auth, three):
    ids = three["ids"]
    auth.login("staff@example.com")
    auth.post("/breaches/new", _form([ids["a"]["agreement"]]))
    breach_id = _breach_id(app)
    url = f"/breaches/{breach_id}/notify"
    agreement = str(ids["a"]["agreement"])
    r = auth.post(
        url,
        {"notify-agreement_id": agreement, "notify-phase": "follow_up", "notify-new_information": "x"},
        prefix="notify",
    )
    assert r.status_code == 422 and "Send the initial notice to this client first." in r.get_data(as_text=True)
    assert (
        auth.post(url, {"notify-agreement_id": agreement, "notify-phase": "initial"}, prefix="notify").status_code
        == 302
    )
    r = auth.post(url, {"notify-agreement_id": agreement, "notify-phase": "initial"}, prefix="notify")
    assert r.status_code == 422 and "already queued or sent" in r.get_data(as_text=True)
    r = auth.post(
        url,
        {"notify-agreement_id": agreement, "notify-phase": "follow_up", "notify-new_information": ""},
        prefix="notify",
    )
    assert r.status_code == 422 and "Say what is new" in r.get_data(as_text=True)
    r = auth.post(
        url,
        {
            "notify-agreement_id": agreement,
            "notify-phase": "follow_up",
            "notify-new_information": "The logs show 300 downloads.",
        },
        prefix="notify",
    )
    assert r.status_code == 302
    with app.app_context():
        follow_up = db.session.scalar(select(BreachNotice).where(BreachNotice.sequence == 2))
        assert "Follow-up 1" in follow_up.subject
        assert "New information since our last notice:\nThe logs show 300 downloads." in follow_up.body


def _counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Breach, BreachAgreement, TriggerEvent, Evidence, BreachNotice)
        )


def test_bad_input_is_refused_with_a_clear_error_and_writes_nothing(app, client, auth, three):
    ids, token = three["ids"], three["token"]
    auth.login("staff@example.com")
    before = _counts(app)
    r = auth.post("/breaches/new", _form([ids["a"]["agreement"]], aware_at="2026-03-02T08:59"))
    assert r.status_code == 422
    assert "Awareness cannot come before detection." in r.get_data(as_text=True)
    r = auth.post("/breaches/new", _form([ids["a"]["agreement"]], detected_at="2026-02-28T10:00"))
    assert r.status_code == 422 and "cannot be detected before it happened" in r.get_data(as_text=True)
    r = auth.post("/breaches/new", _form([ids["a"]["agreement"]], aware_at="2026-03-02T11:00"))
    assert r.status_code == 422 and "cannot be in the future" in r.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "title": "Lost laptop",
        "occurred_at": "2026-03-01T08:00:00+00:00",
        "detected_at": "2026-03-02T09:00:00+00:00",
        "aware_at": "2026-03-02T09:30:00+00:00",
        "natures": ["availability"],
        "description": "Laptop lost",
        "contact_point": "DPO",
        "agreement_ids": [ids["a"]["agreement"], 999999],
    }
    r = client.post("/api/v1/breaches", json=body, headers=headers)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert "Unknown agreement id 999999." in r.get_data(as_text=True)
    r = client.post(
        "/api/v1/breaches",
        json={**body, "aware_at": "2026-03-02T08:00:00+00:00", "agreement_ids": [ids["a"]["agreement"]]},
        headers=headers,
    )
    assert r.status_code == 422 and "Awareness cannot come before detection." in r.get_data(as_text=True)
    # a client's token cannot record a breach, not even for its own agreement
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "user@a.example"))
        _, client_token = create_token(None, user, "client")
        db.session.commit()
    r = client.post(
        "/api/v1/breaches",
        json={**body, "agreement_ids": [ids["a"]["agreement"]]},
        headers={"Authorization": f"Bearer {client_token}"},
    )
    assert r.status_code == 403
    assert _counts(app) == before

    # another client's agreement that the breach does not touch: refused, nothing queued
    r = client.post("/api/v1/breaches", json={**body, "agreement_ids": [ids["a"]["agreement"]]}, headers=headers)
    assert r.status_code == 201, r.json
    breach_id = r.json["id"]
    after = _counts(app)
    r = client.post(
        f"/api/v1/breaches/{breach_id}/notices", json={"agreement_id": ids["b"]["agreement"]}, headers=headers
    )
    assert r.status_code == 422 and "not affected by this breach" in r.get_data(as_text=True)
    r = auth.post(
        f"/breaches/{breach_id}/notify",
        {"notify-agreement_id": str(ids["b"]["agreement"]), "notify-phase": "initial"},
        prefix="notify",
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/breaches/{breach_id}/agreements", json={"agreement_id": ids["a"]["agreement"]}, headers=headers
    )
    assert r.status_code == 422 and "already affected" in r.get_data(as_text=True)
    assert _counts(app) == after
    # a client of another tenant does not even learn that the breach exists
    r = client.get(f"/api/v1/breaches/{breach_id}", headers={"Authorization": f"Bearer {client_token}"})
    assert r.status_code == 200
    with app.app_context():
        b_user = db.session.scalar(select(User).where(User.email == "user@b.example"))
        _, b_token = create_token(None, b_user, "client b")
        db.session.commit()
    r = client.get(f"/api/v1/breaches/{breach_id}", headers={"Authorization": f"Bearer {b_token}"})
    assert r.status_code == 404


def test_api_twins_record_add_notify_act_and_the_clock_stops(app, client, clock, smtp, three):
    ids, token = three["ids"], three["token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "title": "Ransomware on a file server",
        "occurred_at": "2026-03-02T07:00:00+00:00",
        "detected_at": "2026-03-02T08:00:00+00:00",
        "aware_at": "2026-03-02T09:30:00+00:00",
        "natures": ["availability", "integrity"],
        "description": "Files encrypted by ransomware.",
        "contact_point": "security@processor.example",
        "agreement_ids": [ids["a"]["agreement"]],
    }
    r = client.post("/api/v1/breaches", json=body, headers=headers)
    assert r.status_code == 201, r.json
    breach_id = r.json["id"]
    assert r.json["natures"] == ["integrity", "availability"]
    r = client.post(
        f"/api/v1/breaches/{breach_id}/agreements", json={"agreement_id": ids["b"]["agreement"]}, headers=headers
    )
    assert r.status_code == 201
    assert [c["state"] for c in r.json["clocks"]] == ["running", "running"]
    r = client.post(
        f"/api/v1/breaches/{breach_id}/notices", json={"agreement_id": ids["b"]["agreement"]}, headers=headers
    )
    assert r.status_code == 201 and r.json["notices"][0]["state"] == "queued"
    r = client.post(
        f"/api/v1/breaches/{breach_id}/actions",
        json={
            "kind": "containment",
            "description": "Server isolated",
            "owner": "Ops",
            "done_on": "2026-03-02",
            "evidence": "Ticket OPS-12",
        },
        headers=headers,
    )
    assert r.status_code == 201 and r.json["actions"][0]["done_on"] == "2026-03-02"
    r = client.post(
        f"/api/v1/breaches/{breach_id}/actions",
        json={"kind": "remedy", "description": "Restore", "done_on": "2026-03-02"},
        headers=headers,
    )
    assert r.status_code == 422 and "what shows the action done" in r.get_data(as_text=True)
    _send(app)
    clocks = {c["agreement_id"]: c for c in client.get(f"/api/v1/breaches/{breach_id}", headers=headers).json["clocks"]}
    assert clocks[ids["b"]["agreement"]]["state"] == "met"
    assert clocks[ids["a"]["agreement"]]["state"] == "running"
    assert [b["id"] for b in client.get("/api/v1/breaches", headers=headers).json["items"]] == [breach_id]


def _pdf_text(data: bytes) -> str:
    """The PDF's text with line breaks and wrapping undone (a label may wrap inside its cell)."""
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages).split())


def test_acceptance_4_register_pdf_has_the_8_3_fields_and_a_client_gets_only_its_own(app, client, auth, three):
    ids = three["ids"]
    auth.login("staff@example.com")
    assert (
        auth.post(
            "/breaches/new",
            _form([ids["a"]["agreement"]], title="Alpha only breach", description="Zqalpha description of the breach"),
        ).status_code
        == 302
    )
    assert (
        auth.post(
            "/breaches/new",
            _form([ids["b"]["agreement"]], title="Beta only breach", description="Zqbeta description of the breach"),
        ).status_code
        == 302
    )
    assert (
        auth.post(
            "/breaches/new", _form([ids["a"]["agreement"], ids["b"]["agreement"]], title="Shared breach")
        ).status_code
        == 302
    )
    response = client.get("/breaches/register.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    staff_text = _pdf_text(response.get_data())
    for label in (
        "What happened",
        "Likely consequences",
        "Measures taken",
        "Measures proposed",
        "Failures against the agreement",
        "Actions (clause 8.1(2))",
        "Affected agreements and notices",
    ):
        assert label in staff_text, label
    for title in ("Alpha only breach", "Beta only breach", "Shared breach"):
        assert title in staff_text
    assert "Targeted phishing against customers" in staff_text
    assert "Clause 7.1: storage not reviewed after the change" in staff_text
    # staff filter by client
    only_b = _pdf_text(client.get(f"/breaches/register.pdf?client_id={ids['b']['client']}").get_data())
    assert "Beta only breach" in only_b and "Alpha only breach" not in only_b

    alpha = app.test_client()
    AuthActions(alpha).login("user@a.example")
    for url in ("/breaches/register.pdf", f"/breaches/register.pdf?client_id={ids['b']['client']}"):
        text_ = _pdf_text(alpha.get(url).get_data())
        assert "Alpha only breach" in text_ and "Shared breach" in text_
        assert "Zqbeta" not in text_ and "Beta only breach" not in text_
        assert "Beta Bank" not in text_ and "DPA-B" not in text_
    csv = alpha.get("/breaches/register.csv").get_data(as_text=True)
    assert "Zqalpha" in csv and "Zqbeta" not in csv and "Beta Bank" not in csv
    html = alpha.get("/breaches").get_data(as_text=True)
    assert "Alpha only breach" in html and "Beta only breach" not in html and "Beta Bank" not in html
    with app.app_context():
        beta_only = db.session.scalar(select(Breach.id).where(Breach.title == "Beta only breach"))
    assert alpha.get(f"/breaches/{beta_only}").status_code == 404


def test_register_rows_and_sent_notices_cannot_be_changed(app, client, auth, clock, smtp, three):
    ids = three["ids"]
    auth.login("staff@example.com")
    auth.post("/breaches/new", _form([ids["a"]["agreement"]]))
    breach_id = _breach_id(app)
    auth.post(
        f"/breaches/{breach_id}/notify",
        {"notify-agreement_id": str(ids["a"]["agreement"]), "notify-phase": "initial"},
        prefix="notify",
    )
    _send(app)
    with app.app_context():
        for statement in (
            "UPDATE breach SET description = 'rewritten'",
            "DELETE FROM breach_agreement",
            "UPDATE breach_notice SET body = 'rewritten'",
            "DELETE FROM breach_notice",
        ):
            with pytest.raises(Exception, match="immutable"), db.engine.begin() as conn:
                conn.execute(text(statement))


def test_the_subprocessors_own_notice_is_kept_and_only_staff_download_it(app, client, auth, three):
    from dpa_tracker.subprocessor.services import SubProcessorInput, create_subprocessor

    ids = three["ids"]
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        sub = create_subprocessor(staff, SubProcessorInput(legal_name="Cloud Store SAS", country="FR", service="S3"))
        db.session.commit()
        sub_id = sub.id
    auth.login("staff@example.com")
    body = b"Cloud Store SAS incident report 2026-03-02: bucket ACL changed by an operator.\n"
    form = _form([ids["a"]["agreement"]], source_subprocessor_id=str(sub_id))
    form["source_notice"] = (io.BytesIO(body), "cloudstore-incident.txt")
    r = auth.post("/breaches/new", form)
    assert r.status_code == 302, r.get_data(as_text=True)
    breach_id = _breach_id(app)
    html = client.get(f"/breaches/{breach_id}").get_data(as_text=True)
    assert "Caused or reported by</dt><dd>Cloud Store SAS" in html and "cloudstore-incident.txt" in html
    with client.get(f"/breaches/{breach_id}/source-notice") as download:  # a file response: close it
        assert download.status_code == 200 and download.get_data() == body
    user = app.test_client()
    AuthActions(user).login("user@a.example")
    assert user.get(f"/breaches/{breach_id}/source-notice").status_code == 403
    assert "Cloud Store SAS" in user.get("/breaches/register.csv").get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["evidence", "verify"])
    assert result.exit_code == 0, result.output
    # a notice file without the sub-processor that sent it is refused, nothing written
    before = _counts(app)
    form = _form([ids["a"]["agreement"]])
    form["source_notice"] = (io.BytesIO(body), "orphan.txt")
    r = auth.post("/breaches/new", form)
    assert r.status_code == 422 and "needs the sub-processor that sent it" in r.get_data(as_text=True)
    assert _counts(app) == before
