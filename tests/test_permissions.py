"""Who may do what: every HTML route against every kind of user, plus tenant isolation in lists."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import Client, Role
from tests.conftest import AuthActions, empty_tables, make_app
from tests.factories import make_agreement, make_client, make_user

# --- small tests first: they use the per-test ``app`` fixture, which empties the tables.


@pytest.fixture
def closing(app):
    """Each test builds its own app and engine: close its pooled connections (PostgreSQL warns otherwise)."""
    yield
    with app.app_context():
        db.engine.dispose()



@pytest.mark.usefixtures("closing")
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


@pytest.mark.usefixtures("closing")
def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    auth.login("karim@example.com")
    response = client.post("/clients/new", data={"legal_name": "Sneaky Ltd", "country": "FR",
                                                 "notice_emails": "a@sneaky.example"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0


@pytest.mark.usefixtures("closing")
def test_repeated_failed_logins_are_rate_limited(app, client, auth):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    codes = [auth.login("karim@example.com", "wrong password").status_code for _ in range(6)]
    assert codes[-1] == 429
    assert 429 not in codes[:5]


@pytest.mark.usefixtures("closing")
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

# (method, url, kind, form data). kinds:
#   list  - a page every signed-in user may open
#   read  - a page about one client's object (404 for users of other clients)
#   staff - a form page or change only staff may use (403 for others)
#   admin - administration (403 for everyone but admins)
ROUTES = [
    ("GET", "/", "list", None),
    ("GET", "/clients/", "list", None),
    ("GET", "/activity", "list", None),
    ("GET", "/clients/new", "staff", None),
    ("GET", "/clients/{client}", "read", None),
    ("GET", "/clients/{client}/edit", "staff", None),
    ("GET", "/clients/{client}/agreements/new", "staff", None),
    ("GET", "/agreements/{agreement}", "read", None),
    ("POST", "/agreements/{agreement}/end", "staff", {"ends_on": "2026-06-30"}),
    ("POST", "/agreements/{agreement}/sync", "staff", {}),
    ("GET", "/obligations/{obligation}", "read", None),
    ("POST", "/obligations/{obligation}", "staff", {"obligation-owner_id": "", "obligation-notes": "Checked"}),
    ("POST", "/obligations/{obligation}/evidence", "staff", {"evidence-note": "Notified the DPO by phone"}),
    ("POST", "/obligations/{obligation}/events", "staff",
     {"event-occurred_on": "2026-02-01", "event-occurred_time": "10:00", "event-summary": "Lost laptop"}),
    ("POST", "/obligations/{obligation}/applicability", "staff", {"na-reason": "No such data"}),
    ("GET", "/evidence/{evidence}/download", "read", None),
    ("POST", "/evidence/{evidence}/withdraw", "staff", {"withdraw-{evidence}-reason": "Outdated"}),
    ("GET", "/admin/users", "admin", None),
    ("GET", "/admin/users/new", "admin", None),
    ("GET", "/admin/users/{user}", "admin", None),
    ("GET", "/admin/processor", "admin", None),
    ("POST", "/admin/tokens/{token}/revoke", "admin", {}),
]


def expected(role: str, method: str, kind: str) -> str:
    if role == "anonymous":
        return "login"
    allowed = {
        "list": True,
        "read": role in SEES_TENANT,
        "staff": role in STAFF,
        "admin": role == "admin",
    }[kind]
    if allowed:
        return "ok"
    if kind == "read":
        return "404"
    return "403"


@pytest.fixture(scope="module")
def world(database_url, _schema, tmp_path_factory):
    app = make_app(database_url, tmp_path_factory.mktemp("perm"))
    with app.app_context():
        empty_tables()
        own, other = make_client("Acme Hosting"), make_client("Globex Corp")
        staff = make_user(Role.COMPLIANCE, "compliance@example.com")
        make_user(Role.ADMIN, "admin@example.com")
        make_user(Role.CLIENT, "client_own@example.com", client=own)
        make_user(Role.CLIENT, "client_other@example.com", client=other)
        make_user(Role.AUDITOR, "auditor_assigned@example.com", audits=[own])
        make_user(Role.AUDITOR, "auditor_other@example.com", audits=[other])
        agreement = make_agreement(own, staff, signed_on=date(2026, 1, 1), effective_on=date(2026, 1, 1))
        obligation = next(o for o in agreement.obligations if o.clause_number == "8.1")
        evidence = add_evidence(staff, obligation, EvidenceInput(note="Breach procedure"),
                                Upload(io.BytesIO(b"Breach procedure v1\n"), "procedure.txt"))
        token, _ = create_token(None, staff, "ci")
        db.session.commit()
        ids = {"client": own.id, "agreement": agreement.id, "obligation": obligation.id, "evidence": evidence.id,
               "user": staff.id, "token": token.id}
    yield app, ids, {}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "kind", "data"), ROUTES,
                         ids=[f"{m} {u}" for m, u, _, _ in ROUTES])
def test_access_matrix(world, role, method, url, kind, data):
    app, ids, sessions = world
    if role not in sessions:  # one sign-in per role for the whole matrix
        http = app.test_client()
        auth = AuthActions(http)
        if role == "anonymous":
            auth.csrf = auth.csrf_from(http.get("/login").get_data(as_text=True))
        else:
            assert auth.login(f"{role}@example.com").status_code == 302
        sessions[role] = (http, auth)
    http, auth = sessions[role]
    target = url.format(**ids)
    if method == "GET":
        with http.get(target) as response:
            status, location = response.status_code, response.headers.get("Location", "")
    else:
        form = {key.format(**ids): value for key, value in (data or {}).items()}
        response = auth.post(target, form, prefix=form_prefix(form))
        status, location = response.status_code, response.headers.get("Location", "")
    outcome = expected(role, method, kind)
    if outcome == "login":
        assert status == 302 and "/login" in location, (status, location)
    elif outcome == "ok":
        if method == "GET":
            assert status == 200, status
        else:
            assert status == 302 and "/login" not in location, (status, location)
    else:
        assert status == int(outcome), status


def form_prefix(form: dict[str, object]) -> str:
    """The prefix of a prefixed form (``evidence-note`` -> ``evidence``), for its CSRF field name."""
    keys = list(form)
    if not keys or "-" not in keys[0]:
        return ""
    return keys[0].rsplit("-", 1)[0]
