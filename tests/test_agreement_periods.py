"""Per-agreement periods (issue 9): every clock the agreement leaves open runs on the agreement's own setting,
the pages and the API show and refuse them by the one registry, and migration 0013 brings old agreements along."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import Boolean, DateTime, Integer, MetaData, String, Text, func, select, text

from dpa_tracker.agreement.settings import BY_NAME, SETTINGS
from dpa_tracker.auth.services import create_token
from dpa_tracker.catalogue import DEFAULT_TEMPLATE, get_template
from dpa_tracker.evidence.services import EvidenceInput, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AuditEvent, Client, Obligation, ProcessingActivity, Role, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.events import record_event
from dpa_tracker.record.services import ActivityInput, create_activity, update_activity
from dpa_tracker.workdays import calendar_for
from tests.factories import AGREEMENT_FORM, AGREEMENT_SETTINGS_FORM, make_agreement, make_client, make_user
from tests.support import make_app

TEMPLATE = get_template(DEFAULT_TEMPLATE)
# The clauses whose clock is one of the agreement's settings, with the rule key that names it.
CLOCKED = [
    (c.number, key, c.rule[key])
    for c in TEMPLATE.clauses
    for key in ("days_setting", "hours_setting")
    if key in c.rule and c.rule["type"] in ("event", "on_request")
]
PERIODS = [
    "instruction_alert_hours",
    "rectification_days",
    "assistance_days",
    "compliance_info_days",
    "record_copy_days",
    "art30_info_days",
    "dsr_forward_days",
    "document_request_days",
    "audit_notice_days",
]


def _due(start: datetime, name: str, value: int, unit: timedelta) -> datetime:
    """The end of the clock: calendar days or hours, or working days on the processor's calendar (clause 9.1;
    no processor country here: the default calendar, Saturday-Sunday)."""
    if BY_NAME[name].working_days:
        return calendar_for("").due_at(start, value)
    return start + value * unit


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _other_value(name: str) -> int:
    """A legal value that differs from the default, so a clock on the default would show."""
    setting = BY_NAME[name]
    return setting.default + 1 if setting.default < setting.high else setting.default - 1


@pytest.fixture
def staff(app):
    with app.app_context():
        return make_user(Role.COMPLIANCE, "staff@example.com").id


def _obligation_page(client, auth, obligation_id: int) -> str:
    auth.login("staff@example.com")
    return client.get(f"/obligations/{obligation_id}").get_data(as_text=True)


def test_every_period_the_agreement_leaves_open_is_a_setting_of_a_clause():
    assert {name for _, _, name in CLOCKED} >= set(PERIODS)
    by_clause = {number: name for number, _, name in CLOCKED}
    assert by_clause["3.1(3)"] == "instruction_alert_hours"  # "immediately": hours, not days
    assert by_clause["9.1"] == "dsr_forward_days"
    for number, key, name in CLOCKED:
        assert key == f"{BY_NAME[name].unit}_setting", number
        assert BY_NAME[name].clause == number


@pytest.mark.parametrize(("clause", "key", "name"), [c for c in CLOCKED if c[2] in PERIODS])
def test_the_clock_of_the_clause_runs_on_the_agreements_value(app, client, auth, staff, clause, key, name):
    value = _other_value(name)
    unit = timedelta(hours=1) if key == "hours_setting" else timedelta(days=1)
    now = utcnow().replace(second=0, microsecond=0)
    with app.app_context():
        actor = db.session.get(User, staff)
        agreement = make_agreement(
            make_client(), actor, signed_on=date(2025, 1, 1), effective_on=date(2025, 1, 1), **{name: value}
        )
        obligation = next(o for o in agreement.obligations if o.clause_number == clause)
        add_evidence(actor, obligation, EvidenceInput(note="Documented procedure"))  # readiness, answers no event
        on_time = record_event(actor, obligation, occurred_at=now - timedelta(hours=1), summary="Asked on time")
        long_ago = now - value * unit - timedelta(days=2 if name != "dsr_forward_days" else 9)  # deadline passed
        late = record_event(actor, obligation, occurred_at=long_ago, summary="Asked long ago")
        db.session.commit()
        obligation_id, on_time_id, late_id = obligation.id, on_time.id, late.id

    page = _obligation_page(client, auth, obligation_id)
    # The oldest open request is past the agreement's period: its deadline is counted with that value.
    assert _fmt(_due(long_ago, name, value, unit)) in page
    assert "overdue" in page

    with app.app_context():
        actor = db.session.get(User, staff)
        obligation = db.session.get(Obligation, obligation_id)
        add_evidence(actor, obligation, EvidenceInput(note="Answered", trigger_event_id=late_id))
        db.session.commit()
    page = client.get(f"/obligations/{obligation_id}").get_data(as_text=True)
    assert _fmt(_due(now - timedelta(hours=1), name, value, unit)) in page  # the on-time request keeps its own clock

    with app.app_context():
        actor = db.session.get(User, staff)
        obligation = db.session.get(Obligation, obligation_id)
        add_evidence(actor, obligation, EvidenceInput(note="Answered", trigger_event_id=on_time_id))
        db.session.commit()
    page = client.get(f"/obligations/{obligation_id}").get_data(as_text=True)
    assert re.search(r'id="status">\s*<span class="badge status-late">', page)  # answered after its period


def test_a_changed_setting_moves_the_open_clock_at_once_and_is_audited(app, client, auth, staff):
    now = utcnow().replace(second=0, microsecond=0)
    with app.app_context():
        actor = db.session.get(User, staff)
        agreement = make_agreement(make_client(), actor, signed_on=date(2025, 1, 1), effective_on=date(2025, 1, 1))
        obligation = next(o for o in agreement.obligations if o.clause_number == "9.1")
        add_evidence(actor, obligation, EvidenceInput(note="Data-subject request procedure"))  # readiness
        occurred = now - timedelta(days=3)
        record_event(actor, obligation, occurred_at=occurred, summary="Access request by e-mail")
        db.session.commit()
        agreement_id, obligation_id, cached_before = agreement.id, obligation.id, obligation.cached_due_on
    day = timedelta(days=1)
    assert cached_before == _due(occurred, "dsr_forward_days", BY_NAME["dsr_forward_days"].default, day).date()

    auth.login("staff@example.com")
    form = {**AGREEMENT_SETTINGS_FORM, "dsr_forward_days": "10"}
    assert auth.post(f"/agreements/{agreement_id}/settings", form).status_code == 302
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    row = re.search(r'<tr data-setting="dsr_forward_days">(.*?)</tr>', page, re.S).group(1)
    assert "9.1" in row and "10 working days" in row
    due = _due(occurred, "dsr_forward_days", 10, day)
    assert _fmt(due) in client.get(f"/obligations/{obligation_id}").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Obligation, obligation_id).cached_due_on == due.date()
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "agreement.settings")).one()
        assert event.changes == {"dsr_forward_days": [BY_NAME["dsr_forward_days"].default, 10]}


def test_the_pages_show_every_setting_with_its_unit_and_clause(app, client, auth, staff):
    with app.app_context():
        acme = make_client("Acme")
        agreement_id = make_agreement(acme, db.session.get(User, staff)).id
        acme_id = acme.id
    auth.login("staff@example.com")
    form_page = client.get(f"/clients/{acme_id}/agreements/new").get_data(as_text=True)
    detail = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    for setting in SETTINGS:
        assert f"({setting.unit_text}, clause {setting.clause})" in form_page
        assert f'name="{setting.name}"' in form_page
        row = re.search(rf'<tr data-setting="{setting.name}">(.*?)</tr>', detail, re.S).group(1)
        assert setting.clause in row and f"{setting.default} {setting.unit_text}" in row


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_the_forms_refuse_a_value_out_of_range_and_write_nothing(app, client, auth, staff, setting):
    with app.app_context():
        acme_id = make_client("Acme").id
        agreement_id = make_agreement(db.session.get(Client, acme_id)).id
    auth.login("staff@example.com")
    for bad in (setting.low - 1, setting.high + 1):
        response = auth.post(
            f"/clients/{acme_id}/agreements/new", {**AGREEMENT_FORM, "reference": "DPA-BAD", setting.name: str(bad)}
        )
        assert response.status_code == 422
        assert f"between {setting.low} and {setting.high}" in response.get_data(as_text=True)
        response = auth.post(f"/agreements/{agreement_id}/settings", {**AGREEMENT_SETTINGS_FORM, setting.name: bad})
        assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agreement)) == 1
        assert getattr(db.session.get(Agreement, agreement_id), setting.name) == setting.default
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "agreement.settings")) == 0


@pytest.fixture
def token(app, staff):
    with app.app_context():
        user = db.session.get(User, staff)
        value = create_token(None, user)[1]
        db.session.commit()
        return {"Authorization": f"Bearer {value}"}


def test_the_api_accepts_returns_and_refuses_settings(app, client, token):
    with app.app_context():
        acme_id = make_client("Acme").id
    body = {
        "client_id": acme_id,
        "reference": "DPA-API",
        "title": "API",
        "signed_on": "2026-01-01",
        "effective_on": "2026-01-01",
    }
    for setting in SETTINGS:
        for bad in (setting.low - 1, setting.high + 1, str(setting.default)):
            response = client.post("/api/v1/agreements", headers=token, json={**body, setting.name: bad})
            assert response.status_code == 422, (setting.name, bad)
            assert response.mimetype == "application/problem+json"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agreement)) == 0

    created = client.post("/api/v1/agreements", headers=token, json={**body, "record_copy_days": 3})
    assert created.status_code == 201
    assert created.json["record_copy_days"] == 3
    assert all(created.json[s.name] == s.default for s in SETTINGS if s.name != "record_copy_days")
    url = f"/api/v1/agreements/{created.json['id']}/settings"
    response = client.patch(url, headers=token, json={"audit_notice_days": 181})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    response = client.patch(url, headers=token, json={"audit_notice_days": 45, "instruction_alert_hours": 4})
    assert response.status_code == 200
    assert (response.json["audit_notice_days"], response.json["instruction_alert_hours"]) == (45, 4)
    assert response.json["record_copy_days"] == 3  # left out: unchanged


def test_the_openapi_document_lists_each_setting_with_its_range(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    for setting in SETTINGS:
        for name in ("AgreementIn", "AgreementSettingsIn"):
            described = schemas[name]["properties"][setting.name]
            assert (described["minimum"], described["maximum"]) == (setting.low, setting.high), name
            assert f"Clause {setting.clause}" in described["description"]
        assert schemas["AgreementIn"]["properties"][setting.name]["default"] == setting.default
        assert setting.name in schemas["AgreementOut"]["properties"]


def test_clause_2_1_names_the_activity_that_lacks_data_or_data_subject_categories(app, client, auth, staff):
    with app.app_context():
        actor = db.session.get(User, staff)
        acme = make_client("Acme")
        agreement = make_agreement(acme, actor)
        create_activity(
            actor,
            acme,
            ActivityInput(
                name="Call recording", processing_categories=["storage"], data_subject_categories=["Callers"]
            ),
        )
        create_activity(
            actor,
            acme,
            ActivityInput(name="Billing", processing_categories=["other"], personal_data_categories=["Invoices"]),
        )
        create_activity(
            actor,
            acme,
            ActivityInput(
                name="Hosting",
                processing_categories=["storage"],
                data_subject_categories=["Staff"],
                personal_data_categories=["Contact data"],
            ),
        )
        db.session.commit()
        agreement_id, acme_id = agreement.id, acme.id
        obligation_id = next(o.id for o in agreement.obligations if o.clause_number == "2.1")
    page = _obligation_page(client, auth, obligation_id)
    assert "overdue" in page
    # Activities in name order: Billing lacks its data subjects, Call recording its personal data; Hosting is fine.
    assert "Billing: no category of data subjects defined by the client (clause 2.1). (+1 more)" in page
    assert "Hosting:" not in page
    row = re.search(
        r'<tr data-clause="2.1">(.*?)</tr>', client.get(f"/agreements/{agreement_id}").get_data(as_text=True), re.S
    ).group(1)
    assert "overdue" in row and "Billing" in row
    with app.app_context():
        actor = db.session.get(User, staff)
        acme = db.session.get(Client, acme_id)
        for activity in db.session.scalars(select(ProcessingActivity).where(ProcessingActivity.client_id == acme_id)):
            update_activity(
                actor,
                activity,
                ActivityInput(
                    name=activity.name,
                    processing_categories=list(activity.processing_categories),
                    data_subject_categories=activity.data_subject_categories or ["Customers"],
                    personal_data_categories=activity.personal_data_categories or ["Contact data"],
                ),
            )
        db.session.commit()
    page = client.get(f"/obligations/{obligation_id}").get_data(as_text=True)
    assert "(clause 2.1)" not in page  # every activity names both: no gap left


def test_clause_2_1_with_no_activity_says_the_record_names_nothing(app, client, auth, staff):
    with app.app_context():
        agreement = make_agreement(make_client("Acme"), db.session.get(User, staff))
        obligation_id = next(o.id for o in agreement.obligations if o.clause_number == "2.1")
    assert "No processing activity records the data types" in _obligation_page(client, auth, obligation_id)


# --- migration 0013 ------------------------------------------------------------------------------------------

OLD_RULES = {  # what template v1 gave each obligation
    "3.1(3)": {"type": "event", "days": 2, "event_label": "instruction judged unlawful"},
    "9.1": {"type": "event", "days": 3, "event_label": "data-subject request received"},
    "11.2": {"type": "on_request", "days": 60, "event_label": "audit request"},
    "7.1": {"type": "standing", "grace_days": 30},
}


def _insert(conn, table, values):
    """A row with the given values; other required columns get a neutral value (the schema as of that revision)."""
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None or column.primary_key:
            continue
        kind = column.type
        row[column.name] = (
            datetime(2026, 1, 1, tzinfo=UTC)
            if isinstance(kind, DateTime)
            else False
            if isinstance(kind, Boolean)
            else 0
            if isinstance(kind, Integer)
            else ""
            if isinstance(kind, String | Text)
            else None
        )
    return conn.execute(table.insert().values(**row)).inserted_primary_key[0]


def _rules(conn) -> dict[str, dict]:
    rows = conn.execute(text("SELECT clause_number, rule FROM obligation")).all()
    return {number: json.loads(rule) if isinstance(rule, str) else rule for number, rule in rows}


def test_migration_0013_gives_old_agreements_the_settings_and_downgrades(fresh_database_url: str, tmp_path: Path):
    app = make_app(fresh_database_url, tmp_path)
    with app.app_context():
        try:
            upgrade(revision="0011")
            with db.engine.begin() as conn:
                tables = MetaData()
                tables.reflect(conn, only=["client", "agreement", "obligation"])
                client_id = _insert(conn, tables.tables["client"], {"legal_name": "Old client", "country": "FR"})
                agreement_id = _insert(
                    conn,
                    tables.tables["agreement"],
                    {
                        "client_id": client_id,
                        "reference": "DPA-OLD",
                        "title": "Old",
                        "signed_on": date(2025, 1, 1),
                        "effective_on": date(2025, 1, 1),
                        "status": "active",
                        "template_key": DEFAULT_TEMPLATE,
                        "template_version": 1,
                        "subprocessor_objection_days": 30,
                        "breach_notice_hours": 24,
                        "deletion_days": 10,
                        "confidentiality_years": 5,
                        "permitted_locations": "",
                    },
                )
                for position, (number, rule) in enumerate(OLD_RULES.items()):
                    _insert(
                        conn,
                        tables.tables["obligation"],
                        {
                            "agreement_id": agreement_id,
                            "clause_number": number,
                            "position": position,
                            "section": "S",
                            "title": "T",
                            "summary": "S",
                            "gdpr_article": "Art. 28",
                            "rule": rule,
                            "cached_base": "open",
                        },
                    )
            upgrade()
            with db.engine.connect() as conn:
                stored = conn.execute(text(f"SELECT {', '.join(PERIODS)} FROM agreement")).one()  # noqa: S608
                rules = _rules(conn)
            assert dict(zip(PERIODS, stored, strict=True)) == {name: BY_NAME[name].default for name in PERIODS}
            new = {c.number: c.rule for c in TEMPLATE.clauses}
            for number in ("3.1(3)", "9.1", "11.2"):
                assert rules[number] == new[number]
            assert rules["7.1"] == OLD_RULES["7.1"]
            # The upgraded agreement is read by today's code: its 9.1 clock runs on the default period.
            db.session.remove()
            agreement = db.session.get(Agreement, agreement_id)
            assert agreement.dsr_forward_days == BY_NAME["dsr_forward_days"].default
            db.session.remove()  # release the row's lock before the downgrade alters the table
            downgrade(revision="0011")
            with db.engine.connect() as conn:
                columns = {c["name"] for c in db.inspect(conn).get_columns("agreement")}
                rules = _rules(conn)
            assert not columns & set(PERIODS)
            assert rules == OLD_RULES
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_documentation_gives_each_setting_its_default():
    doc = (Path(__file__).parents[1] / "docs" / "obligation-rules.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert re.search(rf"`{setting.name}`[^\n]*\b{setting.default}\b", doc), setting.name
