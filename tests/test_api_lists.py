"""Paginated, filterable /api/v1 lists (limit, signed cursor, Link) and ETag/If-Match on updates (issue 10)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event, func, select

from dpa_tracker.auth.services import create_token
from dpa_tracker.extensions import db
from dpa_tracker.models import AuditEvent, Obligation, Role
from tests.factories import CLAUSE_COUNT, make_agreement, make_client, make_user


def h(world, role="staff"):
    return {"Authorization": f"Bearer {world['tokens'][role]}"}


@pytest.fixture
def world(app):
    """Two clients: Alpha with three agreements, Beta with one; a staff token and Alpha's client user."""
    with app.app_context():
        alpha, beta = make_client("Alpha"), make_client("Beta")
        staff = make_user(Role.COMPLIANCE, "staff@example.com")
        other_staff = make_user(Role.COMPLIANCE, "karim@example.com")
        agreements = [
            make_agreement(alpha, staff, reference=f"DPA-A{n}", effective_on=date(2026, 1, 1)) for n in range(3)
        ]
        agreements.append(make_agreement(beta, staff, reference="DPA-B0", effective_on=date(2026, 1, 1)))
        client_user = make_user(Role.CLIENT, "dpo@alpha.example", client=alpha)
        tokens = {"staff": create_token(None, staff)[1], "client": create_token(None, client_user)[1]}
        db.session.commit()
        return {
            "alpha": alpha.id,
            "beta": beta.id,
            "agreements": [a.id for a in agreements],
            "other_staff": other_staff.id,
            "tokens": tokens,
            "engine": db.engine,
        }


def walk(client, url, headers, **query):
    """Every page of a list: (items, number of pages); checks the envelope and the Link header on the way."""
    items, pages, cursor = [], 0, None
    while True:
        response = client.get(url, query_string={**query, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert response.status_code == 200, response.json
        body = response.json
        assert set(body) == {"items", "next_cursor"}
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            assert "Link" not in response.headers
            return items, pages
        link = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers["Link"])
        assert link and f"cursor={cursor}" in link.group(1)
        assert pages < 1000


def test_walking_120_clients_gets_each_exactly_once_in_order(app, client, world):
    with app.app_context():
        for n in range(118):
            make_client(f"Client {n:03d}")
    items, pages = walk(client, "/api/v1/clients", h(world), limit=50)
    names = [c["legal_name"] for c in items]
    assert pages == 3 and len(names) == 120 == len(set(names))
    assert names == sorted(names)
    first = client.get("/api/v1/clients", headers=h(world)).json
    assert len(first["items"]) == 50  # the default limit


def test_the_link_header_keeps_the_filters_and_nothing_else(client, world):
    agreement = world["agreements"][0]
    response = client.get(  # an unknown argument named like the path's id, and url_for's own ones
        f"/api/v1/agreements/{agreement}/obligations",
        query_string={"limit": 1, "agreement_id": 99, "_external": "1", "_scheme": "javascript"},
        headers=h(world),
    )
    assert response.status_code == 200
    assert response.headers["Link"].startswith(f"</api/v1/agreements/{agreement}/obligations?")
    assert "javascript" not in response.headers["Link"] and "agreement_id=" not in response.headers["Link"]
    response = client.get(
        "/api/v1/obligations",
        query_string={"limit": 2, "clause": "8", "bogus": "x", "_anchor": "y"},
        headers=h(world),
    )
    link = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers["Link"]).group(1)
    assert link.startswith("/api/v1/obligations?") and "clause=8" in link and "limit=2" in link
    assert "bogus" not in link and "anchor" not in link and "#" not in link


def test_following_the_link_header_walks_the_same_list(app, client, world):
    url, seen = "/api/v1/agreements/{}/obligations?limit=7".format(world["agreements"][0]), []
    while url:
        response = client.get(url, headers=h(world))
        seen += [row["clause_number"] for row in response.json["items"]]
        link = response.headers.get("Link")
        url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1) if link else None
    assert len(seen) == CLAUSE_COUNT == len(set(seen))


def test_obligations_across_agreements_walk_once_and_filter(client, world):
    everything, _ = walk(client, "/api/v1/obligations", h(world), limit=25)
    assert len(everything) == 4 * CLAUSE_COUNT == len({o["id"] for o in everything})

    alpha, _ = walk(client, "/api/v1/obligations", h(world), limit=10, client_id=world["alpha"])
    assert {o["agreement_id"] for o in alpha} == set(world["agreements"][:3]) and len(alpha) == 3 * CLAUSE_COUNT

    one, _ = walk(client, "/api/v1/obligations", h(world), agreement_id=world["agreements"][3], limit=500)
    assert {o["agreement_id"] for o in one} == {world["agreements"][3]} and len(one) == CLAUSE_COUNT

    family, _ = walk(client, "/api/v1/obligations", h(world), clause="8", agreement_id=world["agreements"][0])
    numbers = {o["clause_number"] for o in family}
    assert numbers == {o["clause_number"] for o in one if re.match(r"8(\.|$)", o["clause_number"])}
    assert "8.1" in numbers and len(numbers) > 1
    exact, _ = walk(client, "/api/v1/obligations", h(world), clause="8.1")
    assert {o["clause_number"] for o in exact} == {"8.1"} and len(exact) == 4

    # status and due dates: the filter agrees with the status each row shows
    statuses = {o["status"] for o in everything}
    assert len(statuses) > 1
    for status in statuses:
        rows, _ = walk(client, "/api/v1/obligations", h(world), status=status, limit=30)
        assert sorted(o["id"] for o in rows) == sorted(o["id"] for o in everything if o["status"] == status), status
    due = sorted(o["due_on"] for o in everything if o["due_on"])
    low, high = due[len(due) // 4], due[3 * len(due) // 4]
    rows, _ = walk(client, "/api/v1/obligations", h(world), due_after=low, due_before=high)
    expected = [o["id"] for o in everything if o["due_on"] and low <= o["due_on"] <= high]
    assert sorted(o["id"] for o in rows) == sorted(expected) and expected


def test_owner_filter_on_both_obligation_lists(client, world):
    agreement = world["agreements"][1]
    rows = client.get(f"/api/v1/agreements/{agreement}/obligations", headers=h(world)).json["items"]
    mine = [rows[2]["id"], rows[5]["id"]]
    for obligation_id in mine:
        response = client.patch(
            f"/api/v1/obligations/{obligation_id}", json={"owner_id": world["other_staff"]}, headers=h(world)
        )
        assert response.status_code == 200
    for url in ("/api/v1/obligations", f"/api/v1/agreements/{agreement}/obligations"):
        owned, _ = walk(client, url, h(world), owner="karim@example.com", limit=1)
        assert sorted(o["id"] for o in owned) == sorted(mine)
        assert {o["owner"] for o in owned} == {"karim@example.com"}


def test_filters_of_the_agreement_obligation_list_combine_with_its_cursor(client, world):
    url = f"/api/v1/agreements/{world['agreements'][0]}/obligations"
    everything = client.get(url, query_string={"limit": 500}, headers=h(world)).json["items"]
    status = everything[0]["status"]
    rows, pages = walk(client, url, h(world), status=status, limit=2)
    assert [o["id"] for o in rows] == [o["id"] for o in everything if o["status"] == status]
    assert pages == max(1, -(-len(rows) // 2))


def test_agreement_and_notice_and_evidence_filters(client, world):
    alpha, _ = walk(client, "/api/v1/agreements", h(world), client_id=world["alpha"], limit=2)
    assert [a["reference"] for a in alpha] == ["DPA-A0", "DPA-A1", "DPA-A2"]
    active, _ = walk(client, "/api/v1/agreements", h(world), status="active")
    assert len(active) == 4
    assert walk(client, "/api/v1/agreements", h(world), status="draft")[0] == []
    assert walk(client, f"/api/v1/clients/{world['alpha']}/notices", h(world), state="pending")[0] == []
    obligation = walk(client, "/api/v1/obligations", h(world), clause="7.2", limit=1)[0][0]["id"]
    for note in ("first", "second", "third"):
        assert (
            client.post(f"/api/v1/obligations/{obligation}/evidence", data={"note": note}, headers=h(world)).status_code
            == 201
        )
    notes, pages = walk(client, f"/api/v1/obligations/{obligation}/evidence", h(world), limit=2)
    assert [e["note"] for e in notes] == ["first", "second", "third"] and pages == 2
    assert walk(client, f"/api/v1/obligations/{obligation}/evidence", h(world), state="withdrawn")[0] == []


def test_audit_events_page_newest_first(client, world):
    events, _ = walk(client, "/api/v1/audit-events", h(world), limit=3)
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids)) > 3


@pytest.mark.parametrize("limit", ["0", "501", "-1", "abc", "1.5", ""])
def test_a_bad_limit_answers_422_naming_it(client, world, limit):
    for url in ("/api/v1/clients", "/api/v1/obligations", f"/api/v1/agreements/{world['agreements'][0]}/obligations"):
        response = client.get(url, query_string={"limit": limit}, headers=h(world))
        assert response.status_code == 422, (url, limit)
        assert response.mimetype == "application/problem+json"
        assert "limit" in response.json["detail"]


def test_a_bad_or_foreign_cursor_answers_422_naming_it(client, world):
    first = client.get("/api/v1/obligations", query_string={"limit": 5}, headers=h(world)).json
    cursor = first["next_cursor"]
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    signature = cursor.partition(".")[2]
    lists = [
        "/api/v1/clients",
        "/api/v1/agreements",
        "/api/v1/obligations",
        f"/api/v1/agreements/{world['agreements'][0]}/obligations",
        f"/api/v1/clients/{world['alpha']}/subprocessors",
        "/api/v1/audit-events",
    ]
    for url in lists:
        for bad in ("garbage", tampered, "e30." + signature, "%00", "x" * 1999):
            response = client.get(url, query_string={"cursor": bad}, headers=h(world))
            assert response.status_code == 422, (url, bad)
            assert response.mimetype == "application/problem+json"
            assert "cursor" in response.json["detail"], (url, bad)
    # a real cursor replayed on another list, or with other filters, is refused too
    for url, query in (
        ("/api/v1/clients", {}),
        (f"/api/v1/agreements/{world['agreements'][0]}/obligations", {}),
        ("/api/v1/obligations", {"client_id": world["alpha"]}),
    ):
        response = client.get(url, query_string={"cursor": cursor, **query}, headers=h(world))
        assert response.status_code == 422 and "cursor" in response.json["detail"], url
    # the same cursor with the same filters (another limit) continues the list
    again = client.get("/api/v1/obligations", query_string={"cursor": cursor, "limit": 7}, headers=h(world))
    assert again.status_code == 200 and again.json["items"][0]["id"] > first["items"][-1]["id"]


@pytest.mark.parametrize(
    "query",
    [
        {"status": "done"},
        {"clause": "8."},
        {"clause": "x"},
        {"owner": "not-an-email"},
        {"due_before": "2026-13-01"},
        {"due_after": "2026-06-01", "due_before": "2026-05-01"},
        {"client_id": "0"},
        {"agreement_id": "abc"},
    ],
)
def test_a_bad_filter_answers_422_naming_it(client, world, query):
    response = client.get("/api/v1/obligations", query_string=query, headers=h(world))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert any(name in response.json["detail"] for name in query)


def test_filters_never_show_another_tenant(client, world):
    beta, beta_agreement = world["beta"], world["agreements"][3]
    for url, query in (
        ("/api/v1/agreements", {"client_id": beta}),
        ("/api/v1/obligations", {"client_id": beta}),
        ("/api/v1/obligations", {"agreement_id": beta_agreement}),
        ("/api/v1/audit-events", {"client_id": beta}),
    ):
        response = client.get(url, query_string=query, headers=h(world, "client"))
        assert response.status_code == 200 and response.json == {"items": [], "next_cursor": None}, url
    own, _ = walk(client, "/api/v1/obligations", h(world, "client"), limit=40)
    assert {o["agreement_id"] for o in own} == set(world["agreements"][:3])
    assert client.get(f"/api/v1/clients/{beta}/notices", headers=h(world, "client")).status_code == 404


def test_an_obligation_page_costs_the_same_statements_whatever_it_spans(app, client, world):
    def statements(limit: int) -> tuple[int, set[int]]:
        count = {"n": 0}

        def on_execute(*_: object) -> None:
            count["n"] += 1

        event.listen(world["engine"], "before_cursor_execute", on_execute)
        try:
            response = client.get("/api/v1/obligations", query_string={"limit": limit}, headers=h(world))
        finally:
            event.remove(world["engine"], "before_cursor_execute", on_execute)
        assert response.status_code == 200
        return count["n"], {o["agreement_id"] for o in response.json["items"]}

    few, one_agreement = statements(CLAUSE_COUNT)  # the first agreement's obligations: every kind of clause
    many, four_agreements = statements(4 * CLAUSE_COUNT)
    assert len(one_agreement) == 1 and len(four_agreements) == 4
    assert many == few


def _notes(app, obligation_id):
    with app.app_context():
        return db.session.get(Obligation, obligation_id).notes


def _audit_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_lost_update_the_second_writer_gets_412_and_nothing_is_written(app, client, world):
    obligation = walk(client, "/api/v1/obligations", h(world), clause="8.1", limit=1)[0][0]["id"]
    url = f"/api/v1/obligations/{obligation}"
    first_read, second_read = client.get(url, headers=h(world)), client.get(url, headers=h(world))
    etag = first_read.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag) and second_read.headers["ETag"] == etag

    won = client.patch(url, json={"notes": "Checked with the DPO"}, headers={**h(world), "If-Match": etag})
    assert won.status_code == 200 and won.json["id"] == obligation
    assert won.headers["ETag"] != etag
    assert client.get(url, headers=h(world)).headers["ETag"] == won.headers["ETag"]

    audited = _audit_count(app)
    lost = client.patch(url, json={"notes": "Someone else's note"}, headers={**h(world), "If-Match": etag})
    assert lost.status_code == 412
    assert lost.mimetype == "application/problem+json" and "changed since you read it" in lost.json["detail"]
    assert _notes(app, obligation) == "Checked with the DPO"
    assert _audit_count(app) == audited
    for method, path, body in (
        ("put", f"{url}/not-applicable", {"reason": "No special-category data"}),
        ("delete", f"{url}/not-applicable", None),
    ):
        refused = getattr(client, method)(path, json=body, headers={**h(world), "If-Match": etag})
        assert refused.status_code == 412, path
    assert client.get(url, headers=h(world)).json["status"] != "not_applicable"
    assert _audit_count(app) == audited

    # the current ETag, a list of tags holding it, or * are accepted; no If-Match at all is accepted too
    current = won.headers["ETag"]
    marked = client.put(
        f"{url}/not-applicable",
        json={"reason": "No special-category data"},
        headers={**h(world), "If-Match": f'"stale", {current}'},
    )
    assert marked.status_code == 200 and marked.json["status"] == "not_applicable"
    assert marked.headers["ETag"] == client.get(url, headers=h(world)).headers["ETag"]
    assert client.patch(url, json={"notes": "star"}, headers={**h(world), "If-Match": "*"}).status_code == 200
    assert client.patch(url, json={"notes": "unconditional"}, headers=h(world)).status_code == 200
    assert _notes(app, obligation) == "unconditional"
    # a weak validator never matches (strong comparison, RFC 9110 13.1.1)
    weak = "W/" + client.get(url, headers=h(world)).headers["ETag"]
    assert client.patch(url, json={"notes": "weak"}, headers={**h(world), "If-Match": weak}).status_code == 412


def test_agreement_and_client_updates_honour_if_match(app, client, world):
    agreement = world["agreements"][0]
    url = f"/api/v1/agreements/{agreement}"
    etag = client.get(url, headers=h(world)).headers["ETag"]
    changed = client.patch(f"{url}/settings", json={"rectification_days": 9}, headers={**h(world), "If-Match": etag})
    assert changed.status_code == 200 and changed.json["rectification_days"] == 9
    for method, path, body in (
        ("patch", f"{url}/settings", {"rectification_days": 3}),
        ("post", f"{url}/end", {"ends_on": "2026-06-30"}),
        ("post", f"{url}/sync", None),
    ):
        response = getattr(client, method)(path, json=body, headers={**h(world), "If-Match": etag})
        assert response.status_code == 412, path
    after = client.get(url, headers=h(world))
    assert after.json["rectification_days"] == 9 and after.json["ends_on"] is None
    assert after.headers["ETag"] == changed.headers["ETag"]

    client_url = f"/api/v1/clients/{world['alpha']}"
    read = client.get(client_url, headers=h(world))
    body = {"legal_name": "Alpha SARL", "country": "DZ", "notice_emails": ["dpo@alpha.example"]}
    assert client.put(client_url, json=body, headers={**h(world), "If-Match": read.headers["ETag"]}).status_code == 200
    stale = client.put(
        client_url, json={**body, "legal_name": "Alpha Stale"}, headers={**h(world), "If-Match": read.headers["ETag"]}
    )
    assert stale.status_code == 412
    assert client.get(client_url, headers=h(world)).json["legal_name"] == "Alpha SARL"


def test_a_stale_if_match_never_hides_the_403_or_404(client, world):
    beta_agreement = world["agreements"][3]
    response = client.patch(
        f"/api/v1/agreements/{beta_agreement}/settings",
        json={"rectification_days": 9},
        headers={**h(world, "client"), "If-Match": '"stale"'},
    )
    assert response.status_code == 404
    own = world["agreements"][0]
    response = client.patch(
        f"/api/v1/agreements/{own}/settings",
        json={"rectification_days": 9},
        headers={**h(world, "client"), "If-Match": '"stale"'},
    )
    assert response.status_code == 403


def test_openapi_documents_paging_filters_etag_and_412(client):
    spec = client.get("/api/v1/openapi.json").json
    listing = spec["paths"]["/api/v1/obligations"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"limit", "cursor", "status", "clause", "agreement_id", "client_id", "owner", "due_before"} <= names
    ok = listing["responses"]["200"]
    assert "Link" in ok["headers"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/ObligationPage")
    page = spec["components"]["schemas"]["ObligationPage"]
    assert set(page["properties"]) == {"items", "next_cursor"}
    patch = spec["paths"]["/api/v1/obligations/{obligation_id}"]["patch"]
    assert "If-Match" in {p["name"] for p in patch["parameters"]}
    assert "412" in patch["responses"] and "ETag" in patch["responses"]["200"]["headers"]
    assert "ETag" in spec["paths"]["/api/v1/obligations/{obligation_id}"]["get"]["responses"]["200"]["headers"]


def test_no_api_list_answers_a_bare_array(client):
    """Every list is paginated: a GET answering many things answers the page envelope, never a JSON array."""
    spec = client.get("/api/v1/openapi.json").json
    bare = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if not get or "200" not in get["responses"]:
            continue
        schema = get["responses"]["200"].get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("type") == "array":
            bare.append(path)
        elif schema.get("$ref", "").endswith("Page"):
            names = {p["name"] for p in get.get("parameters", [])}
            assert {"limit", "cursor"} <= names, path
    assert bare == []
