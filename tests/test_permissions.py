"""Who may do what: every HTML route against every kind of user, plus tenant isolation in lists."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import Client, Role
from dpa_tracker.obligation.events import record_event
from tests.conftest import PASSWORD, AuthActions, empty_tables, make_app
from tests.factories import AGREEMENT_FORM, AGREEMENT_SETTINGS_FORM, make_agreement, make_client, make_user

# --- small tests first: they use the per-test ``app`` fixture, which empties the tables.


def test_client_user_never_sees_another_clients_name(app):
    with app.app_context():
        acme, globex = make_client("Acme Hosting"), make_client("Globex Secretive Corp")
        staff = make_user(Role.COMPLIANCE)
        make_agreement(acme, staff, reference="DPA-ACME")
        make_agreement(globex, staff, reference="DPA-GLOBEX")
        make_user(Role.CLIENT, "anna@acme.example", client=acme)
        make_user(Role.AUDITOR, "otto@audit.example", audits=[acme])
    for email in ("anna@acme.example", "otto@audit.example"):
        client = app.test_client()
        assert AuthActions(client).login(email).status_code == 302
        for url in ("/", "/clients/", "/activity"):
            page = client.get(url)
            assert page.status_code == 200, url
            html = page.get_data(as_text=True)
            assert "Globex" not in html, (email, url)
            assert "DPA-GLOBEX" not in html, (email, url)
        assert "Acme Hosting" in client.get("/clients/").get_data(as_text=True)


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    auth.login("karim@example.com")
    response = client.post(
        "/clients/new", data={"legal_name": "Sneaky Ltd", "country": "FR", "notice_emails": "a@sneaky.example"}
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0


def test_repeated_failed_logins_are_rate_limited(app, client, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    codes = [auth.login("karim@example.com", "wrong password").status_code for _ in range(6)]
    assert codes[-1] == 429
    assert 429 not in codes[:5]


def test_logout_by_get_is_not_allowed(app, client, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    auth.login("karim@example.com")
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200  # still signed in


# --- the matrix: one data set for the whole module (only allowed writes change it, harmlessly).

ROLES = ["anonymous", "admin", "compliance", "client_own", "client_other", "auditor_assigned", "auditor_other"]
SEES_TENANT = {"admin", "compliance", "client_own", "auditor_assigned"}
STAFF = {"admin", "compliance"}
AUDITORS = {"auditor_assigned", "auditor_other"}
CLIENTS = {"client_own", "client_other"}

# What each kind of route answers to each signed-in role that may not use it. ``ok`` means allowed.
#   list          - a page every signed-in user may open (its rows are filtered by tenant)
#   read          - one client's object: 404 for users of other clients
#   staff         - a form page or a change only processor staff may make: 403 for everyone else
#   staff_on      - a staff change checked against the object's client first: 404 if it is not yours
#   admin         - administration: 403 for everyone but admins
#   catalogue     - processor-wide libraries (sub-processors, measures, notices): staff and auditors
#   processor_doc - a processor-wide document: clients are told it does not exist
#   client_write  - a client's own request or answer: its own users only (403 by role, 404 by tenant)
#   client_write_on - the same, tenant checked before role (the API answers this way)
#   hand_out      - handing out a copy of the record: staff and the client's own users; auditors read only
KINDS: dict[str, dict[str, str]] = {
    "list": {},
    "read": {role: "404" for role in ROLES if role not in SEES_TENANT},
    "staff": {role: "403" for role in ROLES if role not in STAFF},
    "staff_on": {"client_own": "403", "auditor_assigned": "403", "client_other": "404", "auditor_other": "404"},
    "admin": {role: "403" for role in ROLES if role != "admin"},
    "catalogue": {role: "403" for role in CLIENTS},
    "processor_doc": {role: "404" for role in CLIENTS},
    "client_write": {
        "admin": "403",
        "compliance": "403",
        "auditor_assigned": "403",
        "auditor_other": "403",
        "client_other": "404",
    },
    "client_write_on": {
        "admin": "403",
        "compliance": "403",
        "auditor_assigned": "403",
        "auditor_other": "404",
        "client_other": "404",
    },
    "hand_out": {"auditor_assigned": "403", "auditor_other": "404", "client_other": "404"},
}

# (method, url, kind, form data). Placeholders are ids from the ``world`` fixture, and {role}.
ROUTES = [
    ("GET", "/", "list", None),
    ("GET", "/my/obligations", "list", None),
    ("GET", "/clients/", "list", None),
    ("GET", "/activity", "list", None),
    ("GET", "/clients/new", "staff", None),
    (
        "POST",
        "/clients/new",
        "staff",
        {"legal_name": "New client by {role}", "country": "FR", "notice_emails": "dpo@{role}.example"},
    ),
    ("GET", "/clients/{client}", "read", None),
    ("GET", "/clients/{client}/edit", "staff", None),
    (
        "POST",
        "/clients/{client}/edit",
        "staff",
        {"legal_name": "Acme Hosting", "country": "DZ", "notice_emails": "dpo@acme.example"},
    ),
    ("GET", "/clients/{client}/agreements/new", "staff", None),
    (
        "POST",
        "/clients/{client}/agreements/new",
        "staff",
        {**AGREEMENT_FORM, "reference": "DPA-{role}", "title": "Backup", "data_locations": "DZ"},
    ),
    ("GET", "/agreements/{agreement}", "read", None),
    ("GET", "/agreements/{agreement}/status.pdf", "read", None),
    ("POST", "/agreements/{ending}/end", "staff", {"ends_on": "2026-06-30"}),
    ("POST", "/agreements/{agreement}/sync", "staff", {}),
    ("GET", "/agreements/{agreement}/settings", "staff", None),
    ("POST", "/agreements/{agreement}/settings", "staff", {**AGREEMENT_SETTINGS_FORM, "dsr_forward_days": "3"}),
    ("GET", "/obligations/{obligation}", "read", None),
    ("POST", "/obligations/{obligation}", "staff", {"obligation-owner_id": "", "obligation-notes": "Checked"}),
    ("POST", "/obligations/{obligation}/evidence", "staff", {"evidence-note": "Notified the DPO by phone"}),
    (
        "POST",
        "/obligations/{obligation}/events",
        "staff",
        {"event-occurred_on": "2026-02-01", "event-occurred_time": "10:00", "event-summary": "Lost laptop"},
    ),
    ("POST", "/obligations/{obligation}/applicability", "staff", {"na-reason": "No such data"}),
    (
        "POST",
        "/obligations/{obligation}/events/{event}/awareness",
        "staff",
        {"awareness-aware_on": "2026-02-01", "awareness-aware_time": "12:00"},
    ),
    ("GET", "/evidence/{evidence}/download", "read", None),
    ("POST", "/evidence/{evidence}/withdraw", "staff", {"withdraw-{evidence}-reason": "Outdated"}),
    ("GET", "/admin/users", "admin", None),
    ("GET", "/admin/users/new", "admin", None),
    (
        "POST",
        "/admin/users/new",
        "admin",
        {
            "email": "new-{role}@example.com",
            "role": "compliance",
            "password": "a long enough passphrase",
            "client_id": "",
        },
    ),
    ("GET", "/admin/users/{user}", "admin", None),
    ("POST", "/admin/users/{user}", "admin", {"role": "compliance", "client_id": "", "active": "y"}),
    ("GET", "/admin/processor", "admin", None),
    ("POST", "/admin/processor", "admin", {"name": "AltınSoft", "contact_email": "privacy@altinsoft.example"}),
    ("POST", "/admin/tokens/{token}/revoke", "admin", {}),
    (
        "POST",
        "/admin/users/{spare_user}/password",
        "admin",
        {
            "reset-new_password": "reset by {role} horse staple",
            "reset-new_password_again": "reset by {role} horse staple",
        },
    ),
    ("GET", "/account/password", "list", None),
    (
        "POST",
        "/account/password",
        "list",
        {
            "current_password": PASSWORD,
            "new_password": "{role} horse battery stable",
            "new_password_again": "{role} horse battery stable",
        },
    ),
    # Art. 30(2) record
    ("GET", "/clients/{client}/record", "read", None),
    ("POST", "/clients/{client}/record/versions", "hand_out", {"handout-as_of": "2026-02-01", "handout-format": "csv"}),
    ("GET", "/clients/{client}/record/versions/1.json", "read", None),
    ("GET", "/clients/{client}/record/diff?from=1&to=2", "read", None),
    ("POST", "/clients/{client}/record/review", "staff", {"review-note": "Checked every activity"}),
    ("POST", "/clients/{client}/record/request-copy", "client_write", {"copy-summary": "For our DPO"}),
    ("POST", "/clients/{client}/documents/request", "client_write", {"docs-summary": "Your ISO 27001 report"}),
    ("GET", "/clients/{client}/activities/new", "staff", None),
    ("POST", "/clients/{client}/activities/new", "staff", {"name": "Backups by {role}", "purposes": "Restore"}),
    ("GET", "/activities/{activity}", "read", None),
    ("POST", "/activities/{activity}", "staff_on", {"name": "Web hosting", "purposes": "Host the shop"}),
    (
        "POST",
        "/activities/{activity}/transfers",
        "staff",
        {"transfer-destination": "TN", "transfer-recipient": "Support desk", "transfer-mechanism": "ad_hoc_clauses"},
    ),
    ("POST", "/transfers/{transfer}/documents", "staff", {"doc-note": "no file: refused with a message"}),
    ("GET", "/measures", "catalogue", None),
    (
        "POST",
        "/measures",
        "staff",
        {"heading": "d_regular_testing", "title": "Pen test by {role}", "description": "Yearly external test"},
    ),
    ("POST", "/measures/{measure}/documents", "staff", {"doc-note": "no file: refused with a message"}),
    ("GET", "/documents/{transfer_document}/download", "read", None),
    ("GET", "/documents/{measure_document}/download", "processor_doc", None),
    # sub-processors and change notices
    ("GET", "/subprocessors", "catalogue", None),
    (
        "POST",
        "/subprocessors",
        "staff",
        {"legal_name": "Sub of {role}", "country": "FR", "service": "Backup", "transfer_mechanism": ""},
    ),
    ("GET", "/subprocessors/{subprocessor}", "catalogue", None),
    ("POST", "/subprocessors/{fresh}", "staff", {"auth-agreement_id": "{agreement}", "auth-since_on": "2026-02-01"}),
    ("POST", "/subprocessors/{subprocessor}/documents/subprocessor_guarantee", "staff", {"doc-note": "no file"}),
    ("GET", "/notices", "catalogue", None),
    ("GET", "/notices/new", "staff", None),
    (
        "POST",
        "/notices/new",
        "staff",
        {
            "kind": "add",
            "subprocessor_id": "{spare}",
            "replaces_id": "",
            "agreement_ids": "{agreement}",
            "reason": "Cheaper storage",
            "corrects_id": "",
        },
    ),
    ("POST", "/notices/retry", "staff", {}),
    ("GET", "/notices/deliveries", "staff", None),
    ("POST", "/notices/deliveries/{delivery}/retry", "staff", {}),
    ("GET", "/clients/{client}/subprocessors", "read", None),
    ("GET", "/clients/{client}/subprocessors.pdf", "read", None),
    ("GET", "/clients/{client}/notices", "read", None),
    ("POST", "/notice-recipients/{recipient}/answer", "client_write", {"answer-{recipient}-decision": "approve"}),
]

# The API: bearer tokens, problem+json; anonymous answers 401. (method, url, kind, JSON or form body).
API_ROUTES = [
    ("GET", "/api/v1/clients", "list", None),
    (
        "POST",
        "/api/v1/clients",
        "staff",
        {"legal_name": "API client of {role}", "country": "FR", "notice_emails": ["dpo-{role}@example.com"]},
    ),
    ("GET", "/api/v1/clients/{client}", "read", None),
    ("GET", "/api/v1/agreements", "list", None),
    (
        "POST",
        "/api/v1/agreements",
        "staff",
        {
            "client_id": "{client}",
            "reference": "API-{role}",
            "title": "API",
            "signed_on": "2026-01-01",
            "effective_on": "2026-01-01",
        },
    ),
    ("GET", "/api/v1/agreements/{agreement}", "read", None),
    ("GET", "/api/v1/agreements/{agreement}/obligations", "read", None),
    ("PATCH", "/api/v1/agreements/{agreement}/settings", "staff_on", {"dsr_forward_days": 3}),
    ("GET", "/api/v1/obligations/{obligation}/evidence", "read", None),
    ("POST", "/api/v1/obligations/{obligation}/evidence", "staff_on", {"note": "Checked by {role}"}),
    ("GET", "/api/v1/evidence/{evidence}/download", "read", None),
    ("GET", "/api/v1/audit-events", "list", None),
    ("POST", "/api/v1/clients/{client}/record/versions", "hand_out", {"format": "json"}),
    ("GET", "/api/v1/clients/{client}/record/versions/1.pdf", "read", None),
    ("GET", "/api/v1/clients/{client}/record/versions", "read", None),
    ("GET", "/api/v1/clients/{client}/subprocessors", "read", None),
    ("GET", "/api/v1/clients/{client}/notices", "read", None),
    ("POST", "/api/v1/notice-recipients/{api_recipient}/answer", "client_write_on", {"decision": "approve"}),
    # the twins of the page actions (tests/test_api_twins.py); {own_*}: each staff role changes its own object
    (
        "PUT",
        "/api/v1/clients/{client}",
        "staff_on",
        {"legal_name": "Acme Hosting", "country": "DZ", "notice_emails": ["dpo@acme.example"]},
    ),
    ("POST", "/api/v1/agreements/{own_ending}/end", "staff_on", {"ends_on": "2026-06-30"}),
    ("POST", "/api/v1/agreements/{agreement}/sync", "staff_on", {}),
    ("PATCH", "/api/v1/obligations/{obligation}", "staff_on", {"notes": "Checked by {role}"}),
    (
        "POST",
        "/api/v1/obligations/{obligation}/events",
        "staff_on",
        {"occurred_at": "2026-02-02T10:00:00+00:00", "summary": "Lost phone ({role})"},
    ),
    (
        "PUT",
        "/api/v1/obligations/{obligation}/events/{event}/awareness",
        "staff_on",
        {"aware_at": "2026-02-01T12:00:00+00:00"},
    ),
    ("PUT", "/api/v1/obligations/{obligation}/not-applicable", "staff_on", {"reason": "No such data"}),
    ("DELETE", "/api/v1/obligations/{obligation}/not-applicable", "staff_on", {}),
    ("POST", "/api/v1/evidence/{own_evidence}/withdraw", "staff_on", {"reason": "Outdated"}),
    ("POST", "/api/v1/clients/{client}/record/reviews", "staff_on", {"note": "Checked by {role}"}),
    ("POST", "/api/v1/clients/{client}/record/copy-requests", "client_write_on", {"summary": "For our DPO"}),
    ("POST", "/api/v1/clients/{client}/document-requests", "client_write_on", {"summary": "Your ISO report"}),
    ("POST", "/api/v1/notices/retry", "staff", {}),
    ("POST", "/api/v1/notice-deliveries/{delivery}/retry", "staff", {}),
    ("POST", "/api/v1/tokens/{api_token}/revoke", "admin", {}),
]
# POSTs that change an existing object answer 200; the other POSTs create one and answer 201.
API_POST_CHANGES = ("/answer", "/end", "/retry", "/revoke", "/sync", "/withdraw")

PUBLIC = {"static", "auth.login", "auth.logout", "api-docs.openapi_json"}  # tested in test_pages / test_api_v1


def expected(role: str, kind: str) -> str:
    if role == "anonymous":
        return "login"
    return KINDS[kind].get(role, "ok")


@pytest.fixture(scope="module")
def world(database_url, _schema, tmp_path_factory):
    from dpa_tracker.models import ChangeKind, DocumentKind
    from dpa_tracker.record.services import (
        ActivityInput,
        MeasureInput,
        TransferInput,
        add_document,
        add_transfer,
        create_activity,
        create_measure,
        hand_out,
    )
    from dpa_tracker.subprocessor.notices import propose_change
    from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor

    app = make_app(database_url, tmp_path_factory.mktemp("perm"))
    with app.app_context():
        empty_tables()
        own, other = make_client("Acme Hosting"), make_client("Globex Corp")
        staff = make_user(Role.COMPLIANCE, "compliance@example.com")
        users = {
            "admin": make_user(Role.ADMIN, "admin@example.com"),
            "compliance": staff,
            "client_own": make_user(Role.CLIENT, "client_own@example.com", client=own),
            "client_other": make_user(Role.CLIENT, "client_other@example.com", client=other),
            "auditor_assigned": make_user(Role.AUDITOR, "auditor_assigned@example.com", audits=[own]),
            "auditor_other": make_user(Role.AUDITOR, "auditor_other@example.com", audits=[other]),
        }
        agreement = make_agreement(own, staff, signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1))
        ending = make_agreement(own, staff, signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1))
        obligation = next(o for o in agreement.obligations if o.clause_number == "8.1")
        evidence = add_evidence(
            staff,
            obligation,
            EvidenceInput(note="Breach procedure"),
            Upload(io.BytesIO(b"Breach procedure v1\n"), "procedure.txt"),
        )
        event = record_event(staff, obligation, occurred_at=datetime(2026, 2, 1, 10, tzinfo=UTC), summary="Lost laptop")
        token, _ = create_token(None, staff, "ci")
        measure = create_measure(
            staff,
            MeasureInput(
                heading="a_pseudonymisation_encryption", title="Disk encryption", description="LUKS on every server"
            ),
        )
        measure_document = add_document(
            staff, measure, DocumentKind.MEASURE, Upload(io.BytesIO(b"Encryption policy\n"), "encryption.txt")
        )
        sub = create_subprocessor(staff, SubProcessorInput(legal_name="Backup GmbH", country="DE", service="Backup"))
        spare = create_subprocessor(staff, SubProcessorInput(legal_name="Relay SAS", country="FR", service="E-mail"))
        authorise(staff, agreement, sub, date(2026, 1, 15))
        activity = create_activity(
            staff,
            own,
            ActivityInput(
                name="Web hosting", purposes="Host the shop", measure_ids=[measure.id], subprocessor_ids=[sub.id]
            ),
        )
        transfer = add_transfer(
            staff,
            activity,
            TransferInput(destination="TN", recipient="Support desk", mechanism="standard_contractual_clauses"),
        )
        transfer_document = add_document(
            staff, transfer, DocumentKind.SAFEGUARDS, Upload(io.BytesIO(b"Signed SCC\n"), "scc.txt")
        )
        pages_notice = propose_change(staff, ChangeKind.ADD, spare, [agreement], "Faster e-mail")
        api_notice = propose_change(staff, ChangeKind.ADD, spare, [agreement], "Faster e-mail (API)")
        hand_out(staff, own, date.today(), "json")
        hand_out(staff, own, date.today(), "csv")
        db.session.commit()
        fresh = {
            role: create_subprocessor(
                staff, SubProcessorInput(legal_name=f"Fresh {role}", country="FR", service="Storage")
            ).id
            for role in STAFF
        }
        ids = {
            "client": own.id,
            "agreement": agreement.id,
            "ending": ending.id,
            "obligation": obligation.id,
            "event": event.id,
            "evidence": evidence.id,
            "user": staff.id,
            "token": token.id,
            "activity": activity.id,
            "spare_user": make_user(Role.AUDITOR, "spare@example.com").id,
            "transfer": transfer.id,
            "measure": measure.id,
            "measure_document": measure_document.id,
            "transfer_document": transfer_document.id,
            "subprocessor": sub.id,
            "spare": spare.id,
            "recipient": pages_notice.recipients[0].id,
            "api_recipient": api_notice.recipients[0].id,
            "delivery": pages_notice.recipients[0].deliveries[0].id,
            **{f"fresh_{role}": sub_id for role, sub_id in fresh.items()},
        }
        for role in STAFF:  # an agreement to end and evidence to withdraw of each staff role's own, for the API
            ids[f"own_ending_{role}"] = make_agreement(
                own, staff, signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1)
            ).id
            ids[f"own_evidence_{role}"] = add_evidence(staff, obligation, EvidenceInput(note=f"Policy ({role})")).id
        ids["own_ending"], ids["own_evidence"] = ending.id, evidence.id  # for everyone else (refused anyway)
        ids["api_token"] = create_token(None, staff, "revoked through the API")[0].id
        tokens = {role: create_token(None, user, "matrix")[1] for role, user in users.items()}
        db.session.commit()
    yield app, ids, tokens, {}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _fill(value: object, values: dict[str, object], *, json: bool = False) -> object:
    """Put the world's ids into a form or JSON body; in JSON a lone ``{client}`` stays an integer."""
    if isinstance(value, list):
        return [_fill(v, values, json=json) for v in value]
    if not isinstance(value, str):
        return value
    if json and value.startswith("{") and value.endswith("}") and isinstance(values.get(value[1:-1]), int):
        return values[value[1:-1]]
    return value.format(**values)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "kind", "data"), ROUTES, ids=[f"{m} {u}" for m, u, _, _ in ROUTES])
def test_access_matrix(world, role, method, url, kind, data):
    app, ids, _, sessions = world
    if role not in sessions:  # one sign-in per role for the whole matrix
        http = app.test_client()
        auth = AuthActions(http)
        if role == "anonymous":
            auth.csrf = auth.csrf_from(http.get("/login").get_data(as_text=True))
        else:
            assert auth.login(f"{role}@example.com").status_code == 302
        sessions[role] = (http, auth)
    http, auth = sessions[role]
    # each staff role authorises its own fresh sub-processor (a second authorisation would be refused)
    values = {**ids, "role": role, "fresh": ids.get(f"fresh_{role}", ids["subprocessor"])}
    target = url.format(**values)
    if method == "GET":
        with http.get(target) as response:
            status, location = response.status_code, response.headers.get("Location", "")
    else:
        form = {key.format(**values): _fill(value, values) for key, value in (data or {}).items()}
        response = auth.post(target, form, prefix=form_prefix(form))
        status, location = response.status_code, response.headers.get("Location", "")
    outcome = expected(role, kind)
    if outcome == "login":
        assert status == 302 and "/login" in location, (status, location)
    elif outcome == "ok":
        if method == "GET":
            assert status == 200, status
        else:  # 303 where a POST sends the browser on to a GET (a handed-out copy's download)
            assert status in (302, 303) and "/login" not in location, (status, location)
    else:
        assert status == int(outcome), status


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "kind", "data"), API_ROUTES, ids=[f"{m} {u}" for m, u, _, _ in API_ROUTES])
def test_api_access_matrix(world, role, method, url, kind, data):
    app, ids, tokens, _ = world
    values = {
        **ids,
        "role": role,
        "own_ending": ids.get(f"own_ending_{role}", ids["own_ending"]),
        "own_evidence": ids.get(f"own_evidence_{role}", ids["own_evidence"]),
    }
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {tokens[role]}"}
    http = app.test_client()
    target = url.format(**values)
    if method == "GET":
        with http.get(target, headers=headers) as response:
            response.get_data()
    elif url.endswith("/evidence"):  # multipart, like a real upload
        response = http.post(target, headers=headers, data={k: _fill(v, values) for k, v in data.items()})
    else:
        response = http.open(
            target, method=method, headers=headers, json={k: _fill(v, values, json=True) for k, v in data.items()}
        )
    outcome = expected(role, kind)
    if outcome == "login":
        assert response.status_code == 401, response.status_code
        assert response.mimetype == "application/problem+json"
    elif outcome == "ok":
        created = method == "POST" and not url.endswith(API_POST_CHANGES)
        assert response.status_code == (201 if created else 200), response.get_data(as_text=True)[:300]
    else:
        assert response.status_code == int(outcome), response.get_data(as_text=True)[:300]
        assert response.mimetype == "application/problem+json"


def test_the_matrices_cover_every_route(world):
    """A new route cannot slip in without being added to a matrix above."""
    app, ids, _, _ = world
    adapter = app.url_map.bind("localhost")
    covered = set()
    for method, url, _, _ in ROUTES + API_ROUTES:
        path = url.format(**ids, role="x", fresh=ids["subprocessor"]).split("?")[0]
        endpoint, _ = adapter.match(path, method=method)
        covered.add((endpoint, method))
    missing = [
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        if (rule.endpoint, method) not in covered
    ]
    assert missing == []


def form_prefix(form: dict[str, object]) -> str:
    """The prefix of a prefixed form (``evidence-note`` -> ``evidence``), for its CSRF field name."""
    keys = list(form)
    if not keys or "-" not in keys[0]:
        return ""
    return keys[0].rsplit("-", 1)[0]
