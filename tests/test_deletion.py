"""Clause 13 (Art. 28(3)(g)): ending an agreement opens the end-of-contract workflow; its deletion tasks decide
clause 13 (met, late, overdue naming the open tasks); the deletion certificate is issued once every task is done
and the client downloads it."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from dpa_tracker.agent.services import AgentInput, assign, create_agent
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agreement,
    AuditEvent,
    DeletionCertificate,
    DeletionTask,
    DeletionTaskCompletion,
    DeletionWorkflow,
    ProcessingActivity,
    RetentionException,
    Role,
)
from dpa_tracker.record.services import ActivityInput, archive_activity, create_activity
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor
from tests.factories import make_agreement, make_client, make_user
from tests.support import AuthActions

D = date(2026, 6, 30)  # the end of the agreement; deletion is due D + 10
CONFIRMATION = b"%PDF-1.4\n% Cloudy Backup GmbH confirms deletion of every copy of Alpha Foods' data.\n%%EOF\n"


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def world(app, clock):
    clock.set(at(D - timedelta(days=40)))
    with app.app_context():
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        alpha = make_client("Alpha Foods")
        make_user(Role.CLIENT, "client@alpha.example", client=alpha)
        make_user(Role.CLIENT, "client@beta.example", client=make_client("Beta Bank"))
        agreement = make_agreement(alpha, staff, reference="DPA-A", permitted_locations=["Frankfurt, DE"])
        activity = create_activity(
            staff, alpha, ActivityInput(name="Payroll", locations=[{"country": "FR", "site": "Paris DC1"}])
        )
        sub = create_subprocessor(
            staff, SubProcessorInput(legal_name="Cloudy Backup GmbH", country="DE", service="Offsite backups")
        )
        authorise(staff, agreement, sub, date(2026, 1, 1))
        agent = create_agent(staff, AgentInput(name="Nadia Ops", function="Operator"))
        assign(staff, agent, agreement, "Payroll database", date(2026, 1, 1))
        db.session.commit()
        return {"agreement": agreement.id, "activity": activity.id}


def _login(app, email: str) -> AuthActions:
    """A fresh browser session (the clock jumps days, so older sessions have expired)."""
    auth = AuthActions(app.test_client())
    auth.login(email)
    return auth


def _clause13(auth: AuthActions, agreement_id: int) -> tuple[str, str]:
    html = auth._client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    row = re.search(r'<tr data-clause="13">(.*?)</tr>', html, re.S)
    assert row is not None
    status = re.search(r'class="badge status-([a-z_]+)"', row.group(1))
    reason = re.search(r'data-label="Reason">(.*?)</td>', row.group(1), re.S)
    assert status and reason
    return status.group(1), reason.group(1)


def _tasks(app, agreement_id: int) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(DeletionTask.kind, DeletionTask.id)
            .join(DeletionWorkflow)
            .where(DeletionWorkflow.agreement_id == agreement_id)
            .order_by(DeletionTask.position)
        ).all()
        return {kind.value: task_id for kind, task_id in rows}


def _complete(auth: AuthActions, task_id: int, done_on: date, **extra: object):
    prefix = f"task{task_id}"
    data: dict[str, object] = {f"{prefix}-done_on": done_on.isoformat(), f"{prefix}-done_by": "Karim (ops)"}
    data.update({f"{prefix}-{k}": v for k, v in extra.items()})
    return auth.post(f"/deletion-tasks/{task_id}/complete", data, prefix=prefix, content_type="multipart/form-data")


def _end(auth: AuthActions, agreement_id: int, **fields: object):
    data = {
        "ends_on": D.isoformat(),
        "end_kind": "expired",
        "choice": "return_then_delete",
        "what": "Invoices naming the client's staff",
        "legal_basis": "Commercial code, art. 12: keep accounting records 10 years",
        "until_on": "2036-12-31",
        **fields,
    }
    return auth.post(f"/agreements/{agreement_id}/end", data)


def test_acceptance_3_deletion_due_overdue_late_and_certificate(app, client, clock, world):
    agreement_id = world["agreement"]
    clock.set(at(D))
    staff = _login(app, "staff@example.com")
    response = _end(staff, agreement_id)
    assert response.status_code == 302
    page = staff._client.get(f"/agreements/{agreement_id}/deletion").get_data(as_text=True)
    assert "2026-07-10" in page  # D + 10 (deletion_days)
    tasks = _tasks(app, agreement_id)
    assert list(tasks) == ["return", "system", "location", "backups", "subprocessor", "agent_access"]
    assert "Paris DC1, FR" in page and "Frankfurt, DE" in page and "Cloudy Backup GmbH" in page
    assert "Nadia Ops" in page and "Commercial code, art. 12" in page
    assert "Return the data to the client" in page and "Delete from backups" in page  # what each task is, in words
    detail = staff._client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert "active until 2031-06-30" in detail  # clause 2.2: five years after the end

    clock.set(at(D + timedelta(days=1)))
    with app.app_context():
        staff_user = db.session.scalar(select(AuditEvent.actor_id).where(AuditEvent.action == "deletion.open"))
        activity = db.session.get_one(ProcessingActivity, world["activity"])
        from dpa_tracker.models import User

        archive_activity(db.session.get_one(User, staff_user), activity, "Contract ended")
        db.session.commit()

    clock.set(at(D + timedelta(days=5)))
    staff = _login(app, "staff@example.com")  # the session of 5 days ago has expired
    for kind in ("return", "system", "location", "agent_access"):
        assert _complete(staff, tasks[kind], D + timedelta(days=5)).status_code == 302
    response = _complete(
        staff, tasks["subprocessor"], D + timedelta(days=4), file=(io.BytesIO(CONFIRMATION), "cloudy-deletion.pdf")
    )
    assert response.status_code == 302

    clock.set(at(D + timedelta(days=11)))  # backups still open the day after the due date
    staff = _login(app, "staff@example.com")
    status, reason = _clause13(staff, agreement_id)
    assert status == "overdue"
    assert "Backups" in reason and "2026-07-10" in reason
    assert "overdue by 1 day" in staff._client.get(f"/agreements/{agreement_id}/deletion").get_data(as_text=True)
    refused = staff.post(f"/agreements/{agreement_id}/deletion/certificate", follow_redirects=True)
    assert "1 task(s) still open: Backups" in refused.get_data(as_text=True)

    clock.set(at(D + timedelta(days=12)))
    staff = _login(app, "staff@example.com")
    assert _complete(staff, tasks["backups"], D + timedelta(days=12), method="Snapshots purged").status_code == 302
    status, reason = _clause13(staff, agreement_id)
    assert status == "late"
    assert "Done on 2026-07-12" in reason

    issued = staff.post(f"/agreements/{agreement_id}/deletion/certificate", follow_redirects=True)
    assert "Deletion certificate issued" in issued.get_data(as_text=True)
    again = staff.post(f"/agreements/{agreement_id}/deletion/certificate", follow_redirects=True)
    assert "already issued" in again.get_data(as_text=True)
    staff.logout()

    portal = _login(app, "client@alpha.example")
    page = portal._client.get(f"/agreements/{agreement_id}/deletion").get_data(as_text=True)
    shown = re.search(r"SHA-256 of the PDF: <code>([0-9a-f]{64})</code>", page)
    assert shown is not None
    download = portal._client.get(f"/agreements/{agreement_id}/deletion/certificate.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert hashlib.sha256(download.data).hexdigest() == shown.group(1)
    pdf = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(download.data)).pages)
    flat = " ".join(pdf.split())
    assert "Deletion certificate" in flat and "Alpha Foods" in flat and "DPA-A" in flat
    assert "Invoices naming the client's staff" in flat and "Commercial code, art. 12" in flat and "2036-12-31" in flat
    assert "cloudy-deletion.pdf" in flat
    assert hashlib.sha256(CONFIRMATION).hexdigest() in flat.replace(" ", "")
    assert "2026-07-12" in flat and "Karim (ops)" in flat and "Return the data, then delete the copies" in flat
    portal.logout()

    beta = _login(app, "client@beta.example")  # another tenant: as if nothing existed
    assert beta._client.get(f"/agreements/{agreement_id}/deletion/certificate.pdf").status_code == 404
    assert beta._client.get(f"/agreements/{agreement_id}/deletion").status_code == 404


def test_all_tasks_done_in_time_is_met(app, client, clock, world):
    agreement_id = world["agreement"]
    clock.set(at(D))
    staff = _login(app, "staff@example.com")
    _end(staff, agreement_id, choice="delete", what="", legal_basis="", until_on="")
    with app.app_context():
        from dpa_tracker.models import User

        actor = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        assert actor is not None
        archive_activity(actor, db.session.get_one(ProcessingActivity, world["activity"]), "ended")
        db.session.commit()
    tasks = _tasks(app, agreement_id)
    assert "return" not in tasks
    clock.set(at(D + timedelta(days=3)))
    staff = _login(app, "staff@example.com")
    for kind, task_id in tasks.items():
        extra = {"file": (io.BytesIO(CONFIRMATION), "c.pdf")} if kind == "subprocessor" else {}
        assert _complete(staff, task_id, D + timedelta(days=3), **extra).status_code == 302
    status, reason = _clause13(staff, agreement_id)
    assert (status, "Done on 2026-07-03" in reason) == ("met", True)


def test_bad_input_changes_nothing(app, client, clock, world):
    agreement_id = world["agreement"]
    clock.set(at(D))
    staff = _login(app, "staff@example.com")
    before = staff._client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    response = _end(staff, agreement_id, ends_on="2025-12-31")
    assert response.status_code == 302
    assert "before the effective date" in staff._client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    response = _end(staff, agreement_id, until_on="2026-06-01")
    assert "runs past the end" in staff._client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(DeletionWorkflow.id)) is None
        assert db.session.get_one(Agreement, agreement_id).ends_on is None
    assert "Record the end" in before

    _end(staff, agreement_id)
    tasks = _tasks(app, agreement_id)
    # A sub-processor's confirmation without its document; a date in the future; a date before the end.
    no_proof = _complete(staff, tasks["subprocessor"], D)
    assert no_proof.status_code == 422
    assert "written confirmation of deletion" in no_proof.get_data(as_text=True)
    future = _complete(staff, tasks["backups"], D + timedelta(days=2))
    assert future.status_code == 422 and "cannot be in the future" in future.get_data(as_text=True)
    early = _complete(staff, tasks["backups"], D - timedelta(days=1))
    assert early.status_code == 422 and "before the agreement ended" in early.get_data(as_text=True)
    exception = staff.post(
        f"/agreements/{agreement_id}/deletion/exceptions",
        {"exc-what": "Logs", "exc-legal_basis": "", "exc-until_on": "2027-01-01"},
        prefix="exc",
    )
    assert exception.status_code == 422
    early_cert = staff.post(f"/agreements/{agreement_id}/deletion/certificate", follow_redirects=True)
    assert "still open" in early_cert.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(DeletionTaskCompletion.id)) is None
        assert db.session.scalar(select(DeletionCertificate.id)) is None
        assert len(db.session.scalars(select(RetentionException)).all()) == 1
    twice = _end(staff, agreement_id)
    assert twice.status_code == 302
    with app.app_context():
        assert len(db.session.scalars(select(DeletionWorkflow)).all()) == 1


def test_new_processing_refused_after_the_end(app, client, clock, world):
    agreement_id = world["agreement"]
    clock.set(at(D))
    staff = _login(app, "staff@example.com")
    _end(staff, agreement_id)
    clock.set(at(D + timedelta(days=1)))
    with app.app_context():
        from dpa_tracker.errors import DomainError
        from dpa_tracker.models import Client, User

        actor = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        alpha = db.session.scalar(select(Client).where(Client.legal_name == "Alpha Foods"))
        assert actor is not None and alpha is not None
        with pytest.raises(DomainError, match="clause 13 forbids new processing"):
            create_activity(actor, alpha, ActivityInput(name="Marketing"))
        db.session.rollback()
        # Another agreement of the client in force: processing may be recorded again.
        make_agreement(alpha, actor, reference="DPA-A2", effective_on=D + timedelta(days=1))
        create_activity(actor, alpha, ActivityInput(name="Marketing"))
        db.session.commit()


def test_rows_are_append_only(app, clock, world, client):
    clock.set(at(D))
    staff = _login(app, "staff@example.com")
    _end(staff, world["agreement"])
    with app.app_context():
        for table in ("deletion_workflow", "deletion_task", "retention_exception"):
            with pytest.raises(Exception, match="immutable"):
                db.session.execute(text(f"DELETE FROM {table}"))  # noqa: S608
            db.session.rollback()
            with pytest.raises(Exception, match="immutable"):
                db.session.execute(text(f"UPDATE {table} SET id = id"))  # noqa: S608
            db.session.rollback()


def test_api_twins_end_complete_issue_and_download(app, client, clock, world):
    from dpa_tracker.auth.services import create_token
    from dpa_tracker.models import User

    clock.set(at(D))
    with app.app_context():
        tokens = {
            email: create_token(None, db.session.scalar(select(User).where(User.email == email)))[1]
            for email in ("staff@example.com", "client@alpha.example", "client@beta.example")
        }
        db.session.commit()

    def h(email: str = "staff@example.com") -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[email]}"}

    agreement_id = world["agreement"]
    url = f"/api/v1/agreements/{agreement_id}"
    bad = client.post(
        f"{url}/end",
        json={"ends_on": D.isoformat(), "exceptions": [{"what": "x", "legal_basis": "y", "until_on": "2026-01-01"}]},
        headers=h(),
    )
    assert bad.status_code == 422 and "runs past the end" in bad.json["detail"]
    assert client.get(f"{url}/deletion", headers=h()).status_code == 404
    assert (
        client.post(f"{url}/end", json={"ends_on": D.isoformat()}, headers=h("client@alpha.example")).status_code == 403
    )
    ended = client.post(
        f"{url}/end",
        json={
            "ends_on": D.isoformat(),
            "end_kind": "terminated",
            "choice": "delete",
            "exceptions": [{"what": "Payslips", "legal_basis": "Labour code", "until_on": "2031-12-31"}],
        },
        headers=h(),
    )
    assert ended.status_code == 200, ended.json
    workflow = client.get(f"{url}/deletion", headers=h("client@alpha.example")).json
    assert workflow["due_on"] == "2026-07-10" and workflow["days_left"] == 10
    assert [e["what"] for e in workflow["exceptions"]] == ["Payslips"]
    assert client.get(f"{url}/deletion", headers=h("client@beta.example")).status_code == 404
    page = client.get(f"{url}/deletion/tasks?limit=2", headers=h()).json
    assert len(page["items"]) == 2 and page["next_cursor"]
    added = client.post(
        f"{url}/deletion/exceptions",
        json={"what": "Audit logs", "legal_basis": "Security law", "until_on": "2027-06-30"},
        headers=h(),
    )
    assert added.status_code == 201 and len(added.json["exceptions"]) == 2
    tasks = {t["kind"]: t["id"] for t in workflow["tasks"]}
    clock.set(at(D + timedelta(days=2)))
    form = {"done_on": (D + timedelta(days=2)).isoformat(), "done_by": "Ops"}
    no_proof = client.post(f"/api/v1/deletion-tasks/{tasks['subprocessor']}/complete", data=form, headers=h())
    assert no_proof.status_code == 422 and "written confirmation" in no_proof.json["detail"]
    assert client.post(f"{url}/deletion/certificate", headers=h()).status_code == 422  # tasks open
    for kind, task_id in tasks.items():
        data: dict[str, object] = dict(form)
        if kind == "subprocessor":
            data["file"] = (io.BytesIO(CONFIRMATION), "cloudy.pdf")
        done = client.post(f"/api/v1/deletion-tasks/{task_id}/complete", data=data, headers=h())
        assert done.status_code == 201, done.json
    again = client.post(f"/api/v1/deletion-tasks/{tasks['backups']}/complete", data=form, headers=h())
    assert again.status_code == 409
    issued = client.post(f"{url}/deletion/certificate", headers=h())
    assert issued.status_code == 201
    assert client.post(f"{url}/deletion/certificate", headers=h()).status_code == 409
    pdf = client.get(f"{url}/deletion/certificate.pdf", headers=h("client@alpha.example"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert hashlib.sha256(pdf.data).hexdigest() == issued.json["sha256"] == pdf.headers["X-Content-SHA256"]
    assert client.get(f"{url}/deletion/certificate.pdf", headers=h("client@beta.example")).status_code == 404
    obligations = client.get(f"/api/v1/agreements/{agreement_id}/obligations", headers=h()).json["items"]
    assert next(o for o in obligations if o["clause_number"] == "13")["status"] != "overdue"
