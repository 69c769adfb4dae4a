"""Issue 9, acceptance 6 and 7: sub-processor authorisation tells the legal truth (clause 6, Art. 28(2) and (4)).

General authorisation: silence binds only once the notice reached the client, counted from delivery; an
undelivered notice never binds. Specific authorisation: silence never binds. A removal needs no consent. An
objection records its consequence. Clauses 6.2/6.3 are decided by the documents held per sub-processor.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from dpa_tracker.auth.services import create_token
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Evidence, NoticeRecipient, Obligation, Role, SubProcessor, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.subprocessor.authorised import objected_subprocessor_ids
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor
from tests.factories import AGREEMENT_FORM, make_agreement, make_client, make_user

SUB = "Mail Relay SAS"


@pytest.fixture
def parties(app):
    """A general-authorisation client and a specific-authorisation client (15-day period), a sub-processor."""
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        ids = {}
        for key, kind in (("general", "general"), ("specific", "specific")):
            client_ = make_client(f"{key.capitalize()} Client SARL", notice_emails=[f"dpo@{key}.example"])
            agreement = make_agreement(
                client_, staff, reference=f"DPA-{key}", subprocessor_objection_days=15, subprocessor_authorisation=kind
            )
            make_user(Role.CLIENT, f"user@{key}.example", client=client_)
            ids[key] = (client_.id, agreement.id)
        sub = create_subprocessor(staff, SubProcessorInput(legal_name=SUB, country="FR", service="E-mail relay"))
        db.session.commit()
        return {"ids": ids, "sub": sub.id}


def _propose(auth, parties, keys=("general", "specific"), kind="add"):
    auth.login("staff@example.com")
    response = auth.post(
        "/notices/new",
        {
            "kind": kind,
            "subprocessor_id": str(parties["sub"]),
            "agreement_ids": [str(parties["ids"][key][1]) for key in keys],
            "reason": "Faster service e-mails.",
        },
    )
    assert response.status_code == 302
    auth.logout()


def _send(app, clock=None, days_later=0):
    """Run the cron command, optionally as if it ran ``days_later`` days after today (the clock stays there)."""
    if days_later:
        clock.set(utcnow() + timedelta(days=days_later))
    return app.test_cli_runner().invoke(args=["notices", "send"])


def _listed(client, auth, parties, key, day):
    """The client's own sub-processor list page as of ``day`` (what the client sees)."""
    auth.login(f"user@{key}.example")
    page = client.get(f"/clients/{parties['ids'][key][0]}/subprocessors?as_of={day}").get_data(as_text=True)
    auth.logout()
    return SUB in page


def _recipient(app, parties, key):
    with app.app_context():
        return db.session.scalar(
            select(NoticeRecipient.id).where(NoticeRecipient.agreement_id == parties["ids"][key][1])
        )


# --- acceptance 6: general authorisation --------------------------------------------------------------------


def test_general_silent_client_whose_notice_was_never_delivered_is_not_bound(app, client, auth, parties):
    _propose(auth, parties, keys=("general",))  # queued, never sent: no SMTP run
    today = utcnow().date()
    for later in (16, 100, 400):
        assert not _listed(client, auth, parties, "general", today + timedelta(days=later))
    auth.login("staff@example.com")
    page = client.get("/notices").get_data(as_text=True)
    assert "not applied: the notice has not reached the client yet" in page
    auth.logout()
    # the client can still answer: its period has not started
    auth.login("user@general.example")
    page = client.get(f"/clients/{parties['ids']['general'][0]}/notices").get_data(as_text=True)
    assert f"answer-{_recipient(app, parties, 'general')}-decision" in page


def test_general_delivered_notice_binds_the_day_after_its_period_counted_from_delivery(
    app, client, auth, smtp, parties, clock
):
    _propose(auth, parties, keys=("general",))
    today = utcnow().date()
    assert "1 e-mail(s) sent" in _send(app, clock, days_later=5).output  # an SMTP outage delayed it 5 days
    deadline = today + timedelta(days=5 + 15)
    assert f"You may object until {deadline.isoformat()}" in smtp.messages[0][1].get_payload(decode=True).decode()
    # the original deadline (today + 15) never bound: no past list is rewritten by the move
    assert not _listed(client, auth, parties, "general", today + timedelta(days=16))
    assert not _listed(client, auth, parties, "general", deadline)
    assert _listed(client, auth, parties, "general", deadline + timedelta(days=1))


# --- acceptance 6: specific authorisation -------------------------------------------------------------------


def test_specific_silence_never_binds_and_only_an_approval_does(app, client, auth, smtp, parties):
    _propose(auth, parties, keys=("specific",))
    assert "1 e-mail(s) sent" in _send(app).output
    body = smtp.messages[0][1].get_payload(decode=True).decode()
    assert "without your approval it never applies" in body and "You may object until" not in body
    today = utcnow().date()
    for later in (16, 400):
        assert not _listed(client, auth, parties, "specific", today + timedelta(days=later))
    auth.login("user@specific.example")
    page = client.get(f"/clients/{parties['ids']['specific'][0]}/notices").get_data(as_text=True)
    assert "Your approval is needed" in page
    recipient_id = _recipient(app, parties, "specific")
    prefix = f"answer-{recipient_id}"
    auth.post(f"/notice-recipients/{recipient_id}/answer", {f"{prefix}-decision": "approve"}, prefix=prefix)
    auth.logout()
    assert _listed(client, auth, parties, "specific", today)


def test_agreement_states_its_authorisation_type_on_the_page_api_and_database(app, client, auth, parties):
    auth.login("staff@example.com")
    client_id = parties["ids"]["general"][0]
    response = auth.post(
        f"/clients/{client_id}/agreements/new",
        {**AGREEMENT_FORM, "reference": "DPA-SPEC", "subprocessor_authorisation": "specific"},
    )
    assert response.status_code == 302
    assert "specific authorisation (clause 6.1)" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        admin = make_user(Role.ADMIN, "admin@example.com")
        token = create_token(None, admin)[1]
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "client_id": client_id,
        "reference": "DPA-API",
        "title": "API DPA",
        "signed_on": "2026-01-01",
        "effective_on": "2026-01-01",
    }
    created = client.post("/api/v1/agreements", json=body, headers=headers)
    assert created.status_code == 201 and created.json["subprocessor_authorisation"] == "general"  # the default
    refused = client.post(
        "/api/v1/agreements",
        json={**body, "reference": "DPA-API2", "subprocessor_authorisation": "tacit"},
        headers=headers,
    )
    assert refused.status_code == 422
    with app.app_context(), pytest.raises(DBAPIError), db.engine.begin() as conn:
        conn.execute(text("UPDATE agreement SET subprocessor_authorisation = 'tacit' WHERE reference = 'DPA-API'"))


def test_direct_authorisation_keeps_the_written_authorisation_and_specific_requires_it(app, client, auth, parties):
    auth.login("staff@example.com")
    url = f"/subprocessors/{parties['sub']}"
    form = {"auth-agreement_id": str(parties["ids"]["specific"][1]), "auth-since_on": "2026-02-01"}
    refused = auth.post(url, form, prefix="auth")
    assert refused.status_code == 422
    assert "requires the client&#39;s specific written authorisation: attach it." in refused.get_data(as_text=True)
    done = auth.post(
        url,
        {**form, "auth-written": (io.BytesIO(b"%PDF-1.4 signed"), "signed-authorisation.pdf")},
        prefix="auth",
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    auth.logout()
    assert _listed(client, auth, parties, "specific", "2026-02-01")
    with app.app_context():
        kept = db.session.scalars(
            select(Evidence)
            .join(Evidence.obligation)
            .where(Obligation.agreement_id == parties["ids"]["specific"][1], Obligation.clause_number == "6.1")
        ).all()
        assert [(e.filename, e.note) for e in kept] == [
            ("signed-authorisation.pdf", f"Written authorisation of {SUB} for DPA-specific, since 2026-02-01.")
        ]
        assert kept[0].sha256


# --- acceptance 6: removal ----------------------------------------------------------------------------------


def test_removal_takes_effect_without_consent_and_an_objection_is_kept(app, client, auth, parties):
    with app.app_context():
        for key in ("general", "specific"):
            agreement = db.session.get(Agreement, parties["ids"][key][1])
            authorise(
                None,
                agreement,
                db.session.get_one(SubProcessor, parties["sub"]),
                agreement.signed_on,
                Upload(io.BytesIO(b"%PDF-1.4 written authorisation"), "authorisation.pdf"),
            )
        db.session.commit()
    today = utcnow().date()
    assert _listed(client, auth, parties, "specific", today - timedelta(days=1))
    _propose(auth, parties, kind="remove")  # never delivered, never approved
    for key in ("general", "specific"):
        assert not _listed(client, auth, parties, key, today)
        assert _listed(client, auth, parties, key, today - timedelta(days=1))  # the past list is unchanged
    recipient_id = _recipient(app, parties, "specific")
    prefix = f"answer-{recipient_id}"
    auth.login("user@specific.example")
    response = auth.post(
        f"/notice-recipients/{recipient_id}/answer",
        {f"{prefix}-decision": "object", f"{prefix}-reason": "We rely on it"},
        prefix=prefix,
    )
    assert "a removal needs no consent, so it still applies" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    auth.logout()
    assert not _listed(client, auth, parties, "specific", today)
    auth.login("staff@example.com")
    page = client.get("/notices").get_data(as_text=True)
    assert "objected: We rely on it" in page and "a removal needs no consent; the objection is kept" in page


# --- objection consequence -----------------------------------------------------------------------------------


def test_objection_records_its_consequence_on_the_api_and_the_pages(app, client, auth, smtp, parties):
    _propose(auth, parties, keys=("general",))
    _send(app)
    recipient_id = _recipient(app, parties, "general")
    client_id = parties["ids"]["general"][0]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "user@general.example"))
        token = create_token(None, user)[1]
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/notice-recipients/{recipient_id}/answer"
    missing = client.post(url, json={"decision": "object", "reason": "Data must stay in DZ"}, headers=headers)
    assert missing.status_code == 422 and "what follows from your objection" in missing.json["detail"]
    answered = client.post(
        url,
        json={"decision": "object", "reason": "Data must stay in DZ", "consequence": "termination"},
        headers=headers,
    )
    assert answered.status_code == 200 and answered.json["objection_consequence"] == "termination"
    listed = client.get(f"/api/v1/clients/{client_id}/notices", headers=headers)
    assert listed.json["items"][0]["objection_consequence"] == "termination"
    auth.login("user@general.example")
    page = client.get(f"/clients/{client_id}/notices").get_data(as_text=True)
    assert "consequence: termination" in page and "not applied: objected (termination)" in page
    auth.logout()
    with app.app_context():
        # the seam the record builder calls: an activity linking it for this client is a gap
        assert objected_subprocessor_ids(client_id, utcnow().date()) == {parties["sub"]}
        assert objected_subprocessor_ids(parties["ids"]["specific"][0], utcnow().date()) == set()
        db.session.remove()
        with pytest.raises(DBAPIError, match="immutable"), db.engine.begin() as conn:
            conn.execute(
                text("UPDATE notice_recipient SET objection_consequence = 'not_used' WHERE id = :id"),
                {"id": recipient_id},
            )


# --- acceptance 7: 6.2/6.3 from the sub-processor's documents ------------------------------------------------


def _status(client, headers, agreement_id, clause):
    rows = client.get(f"/api/v1/agreements/{agreement_id}/obligations", headers=headers).json["items"]
    row = next(r for r in rows if r["clause_number"] == clause)
    return row["status"], row["reason"]


def test_expired_flow_down_of_a_subprocessor_makes_6_3_overdue_for_every_agreement_using_it(app, client, auth):
    today = utcnow().date()
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        admin = make_user(Role.ADMIN, "admin@example.com")
        shared = create_subprocessor(
            staff, SubProcessorInput(legal_name="Shared Cloud SAS", country="FR", service="Hosting")
        )
        other = create_subprocessor(
            staff, SubProcessorInput(legal_name="Other Mail SAS", country="FR", service="E-mail")
        )
        agreements = {}
        for key in ("one", "two", "three", "none"):
            agreements[key] = make_agreement(make_client(f"Client {key}"), staff, reference=f"DPA-{key}").id
        for key, sub in (("one", shared), ("two", shared), ("three", other)):
            agreement = db.session.get(Agreement, agreements[key])
            authorise(staff, agreement, sub, agreement.signed_on)
        ids = {"shared": shared.id, "other": other.id}
        token = create_token(None, admin)[1]
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    status, reason = _status(client, headers, agreements["one"], "6.3")
    assert status == "overdue" and "No flow-down contract (clause 6.3) on file for Shared Cloud SAS" in reason

    auth.login("staff@example.com")
    for sub, valid_until in (("shared", today - timedelta(days=1)), ("other", today + timedelta(days=200))):
        response = auth.post(
            f"/subprocessors/{ids[sub]}/documents/subprocessor_flow_down",
            {
                "doc-file": (io.BytesIO(b"%PDF-1.4 signed flow-down"), "flow-down.pdf"),
                "doc-note": "signed",
                "doc-valid_until": valid_until.isoformat(),
            },
            prefix="doc",
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
    for key in ("one", "two"):
        status, reason = _status(client, headers, agreements[key], "6.3")
        assert status == "overdue"
        expired = today - timedelta(days=1)
        assert reason == f"The flow-down contract (clause 6.3) of Shared Cloud SAS expired on {expired}"
    status, reason = _status(client, headers, agreements["three"], "6.3")
    assert status == "met" and "Other Mail SAS" in reason
    # no sub-processor recorded is not proof that none is used: the obligation's own evidence decides
    assert _status(client, headers, agreements["none"], "6.3")[0] != "met"
    # the dashboard's cached projection agrees with the live status
    page = client.get(f"/agreements/{agreements['two']}").get_data(as_text=True)
    assert "Shared Cloud SAS expired on" in page
    with app.app_context():
        cached = db.session.scalar(
            select(Obligation.cached_due_on).where(
                Obligation.agreement_id == agreements["one"], Obligation.clause_number == "6.3"
            )
        )
        assert cached is not None and cached < today
