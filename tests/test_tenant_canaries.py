"""Content-level tenant isolation: every tenant's text carries a canary word, and no page, file or API
answer shown to a restricted user may contain the canary of a tenant that user cannot see.

The permission matrix (test_permissions.py) checks status codes; this checks what comes back in the body.
Routes are read from ``app.url_map``, so a new GET route is requested here without being listed; a route
whose URL argument has no values fails the test until ``seed_tenant`` or ``NEUTRAL`` gives it some.
"""

from __future__ import annotations

import io
import itertools
import re
from datetime import date, timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from dpa_tracker import clock as app_clock
from dpa_tracker.agent.services import AgentInput, AttestationInput, add_attestation, create_agent
from dpa_tracker.agent.services import assign as assign_agent
from dpa_tracker.auth.services import create_token, update_user
from dpa_tracker.breach.notices import queue_notice
from dpa_tracker.breach.services import ActionInput, BreachInput, add_action, mark_action_done, record_breach
from dpa_tracker.checklist.services import add_comment
from dpa_tracker.deadline.services import create_feed
from dpa_tracker.deletion.services import (
    CompletionInput,
    EndInput,
    ExceptionInput,
    complete_task,
    end_with_workflow,
    issue_certificate,
)
from dpa_tracker.dsr.notices import queue_flag_notice, queue_forward
from dpa_tracker.dsr.services import (
    InstructionInput,
    RequestInput,
    add_help_request,
    flag_unlawful,
    log_request,
    record_instruction,
)
from dpa_tracker.evidence.services import EvidenceInput, Upload, add_evidence, withdraw_evidence
from dpa_tracker.extensions import db
from dpa_tracker.inspection.services import (
    CertificationInput,
    EngagementInput,
    FindingInput,
    InspectionInput,
    RemediationInput,
    add_certification,
    add_finding,
    add_remediation,
    close_finding,
    provide_documents,
    record_inspection,
    save_engagement,
)
from dpa_tracker.models import Agreement, ChangeKind, Client, DocumentKind, NoticePhase, Role, User
from dpa_tracker.models.subprocessor import ObjectionConsequence
from dpa_tracker.obligation.events import record_event
from dpa_tracker.obligation.services import set_not_applicable, update_obligation
from dpa_tracker.record.services import (
    ActivityInput,
    MeasureInput,
    TransferInput,
    add_document,
    add_transfer,
    create_activity,
    create_measure,
    hand_out,
    mark_reviewed,
)
from dpa_tracker.subprocessor.notices import answer, propose_change
from dpa_tracker.subprocessor.services import SubProcessorInput, authorise, create_subprocessor
from dpa_tracker.transfer.lawful import LawTransferInput, queue_law_notice, record_law_transfer
from dpa_tracker.transfer.services import ConsentInput, DisclosureInput, record_consent, record_disclosure
from dpa_tracker.transfer.services import withdraw as withdraw_clause_ten
from tests.factories import make_agreement, make_client, make_user
from tests.support import AuthActions, emptied_app

# One canary word per tenant, in every text field the tenant owns. Lowercase (e-mail addresses are
# normalised to lowercase) and made of letters no random token or hex digest is likely to contain.
TENANTS = ("a", "b", "c")
MARK = {t: f"zq{t}mark" for t in TENANTS}
# The sub-processor only this tenant's agreement uses. The catalogue is the processor's (auditors see
# all of it), but a client user sees only the sub-processors authorised for its own agreements.
SUB_MARK = {t: f"zq{t}subp" for t in TENANTS}

# The restricted viewers: what each may see, and so which canaries must never reach it.
VIEWERS = {
    "client_a": {"email": "client-zqamark@zqamark.example", "visible": {"a"}},
    "auditor_ab": {"email": "auditor-ab@audit.example", "visible": {"a", "b"}},
}


def forbidden_marks(viewer: str) -> list[str]:
    hidden = [t for t in TENANTS if t not in VIEWERS[viewer]["visible"]]
    marks = [MARK[t] for t in hidden]
    if viewer.startswith("client"):
        marks += [SUB_MARK[t] for t in hidden]
    return marks


def seed_tenant(t: str, staff: Any, shared_sub: Any, spare_sub: Any, measure: Any) -> dict[str, list[int]]:
    """One client with a canary in every field that can be shown: returns its object ids by URL argument."""
    m = MARK[t]
    client = make_client(
        f"{m} Legal Name",
        address=f"{m} street address",
        representative=f"{m} representative",
        notice_emails=[f"notice-{m}@{m}.example"],
        dpo_name=f"{m} dpo",
        dpo_email=f"dpo-{m}@{m}.example",
    )
    agreement = make_agreement(
        client, staff, reference=f"REF-{m}", title=f"{m} agreement title", permitted_locations=[f"DZ {m} location"]
    )
    user = make_user(Role.CLIENT, f"client-{m}@{m}.example", client=client)
    update_user(staff, user, name=f"{m} client user name", active=True, audited_clients=[])
    own_auditor = make_user(Role.AUDITOR, f"auditor-{m}@{m}.example", audits=[client])
    token, _ = create_token(None, user, f"{m} token name")
    by_clause = {o.clause_number: o for o in agreement.obligations}
    breach, copy = by_clause["8.1"], by_clause["4.2"]
    update_obligation(staff, breach, owner=staff, notes=f"{m} obligation notes")
    event = record_event(staff, breach, occurred_at=app_clock.now() - timedelta(hours=1), summary=f"{m} breach summary")
    evidence = add_evidence(
        staff,
        breach,
        EvidenceInput(note=f"{m} evidence note", link=f"https://{m}.example/proof", trigger_event_id=event.id),
        Upload(io.BytesIO(f"{m} evidence file body\n".encode()), f"{m}-evidence.txt"),
    )
    withdrawn = add_evidence(
        staff,
        breach,
        EvidenceInput(note=f"{m} withdrawn note"),
        Upload(io.BytesIO(f"{m} withdrawn body\n".encode()), f"{m}-withdrawn.txt"),
    )
    withdraw_evidence(staff, withdrawn, f"{m} withdraw reason")
    other = next(o for o in agreement.obligations if o.clause_number not in ("8.1", "4.1", "4.2"))
    set_not_applicable(staff, other, f"{m} not applicable reason")
    own_sub = create_subprocessor(
        staff,
        SubProcessorInput(
            legal_name=f"{SUB_MARK[t]} Sub-processor",
            country="FR",
            service=f"{SUB_MARK[t]} service",
            contact_email=f"contact@{SUB_MARK[t]}.example",
        ),
    )
    authorise(staff, agreement, shared_sub, date(2026, 1, 10))
    authorise(staff, agreement, own_sub, date(2026, 1, 10))
    activity = create_activity(
        staff,
        client,
        ActivityInput(
            name=f"{m} activity",
            processing_categories=["hosting"],
            data_subject_categories=[f"{m} subjects"],
            personal_data_categories=[f"{m} data categories"],
            purposes=f"{m} purposes",
            retention=f"{m} retention",
            locations=[{"country": "DZ", "site": f"{m} site"}],
            measure_ids=[measure.id],
            subprocessor_ids=[shared_sub.id, own_sub.id],
        ),
    )
    transfer = add_transfer(
        staff,
        activity,
        TransferInput(
            destination="TN",
            recipient=f"{m} transfer recipient",
            mechanism="standard_contractual_clauses",
            mechanism_detail=f"{m} mechanism detail",
        ),
    )
    document = add_document(
        staff,
        transfer,
        DocumentKind.SAFEGUARDS,
        Upload(io.BytesIO(f"{m} safeguards body\n".encode()), f"{m}-safeguards.txt"),
        note=f"{m} document note",
    )
    notice = propose_change(staff, ChangeKind.ADD, spare_sub, [agreement], f"{m} notice reason")
    record_event(user, copy, occurred_at=app_clock.now() - timedelta(minutes=5), summary=f"{m} copy request")
    mark_reviewed(staff, client, f"{m} review note")
    db.session.flush()
    answer(user, notice.recipients[0], False, f"{m} objection reason", ObjectionConsequence.NOT_USED)
    hand_out(user, client, app_clock.today(), "json")
    hand_out(staff, client, app_clock.today(), "pdf")
    agent = create_agent(
        staff, AgentInput(name=f"{m} agent name", function=f"{m} function", email=f"agent-{m}@{m}.example")
    )
    assign_agent(staff, agent, agreement, f"{m} access scope", date(2026, 1, 10))
    commitment = add_attestation(
        staff,
        agent,
        AttestationInput("commitment", date(2026, 1, 10), note=f"{m} commitment note"),
        Upload(io.BytesIO(f"{m} commitment body\n".encode()), f"{m}-commitment.txt"),
    )
    add_attestation(staff, agent, AttestationInput("training", date(2026, 1, 11), course=f"{m} course", provider="X"))
    entry = record_breach(staff, _breach_input(m, sub=own_sub.id, agent=agent.id), [agreement])
    breach_notices = queue_notice(staff, entry, entry.affected[0], NoticePhase.INITIAL)
    action = add_action(staff, entry, ActionInput(kind="containment", description=f"{m} action", owner=f"{m} owner"))
    mark_action_done(
        staff,
        action,
        app_clock.today(),
        f"{m} action evidence",
        Upload(io.BytesIO(f"{m} action evidence body\n".encode()), f"{m}-action.txt"),
    )
    received = app_clock.now() - timedelta(hours=2)
    dsr = log_request(staff, agreement, RequestInput(received, "email", "erasure", f"{m} subject reference"))
    queue_forward(staff, dsr)
    add_help_request(staff, dsr, "3.1(7)", received + timedelta(minutes=30))
    instruction = record_instruction(
        staff, agreement, InstructionInput(app_clock.today(), "email", f"{m} instruction content", True)
    )
    flag_unlawful(staff, instruction, f"{m} unlawful reason")
    queue_flag_notice(staff, instruction)
    add_comment(own_auditor, breach, f"{m} auditor comment")
    consent = record_consent(
        staff,
        client,
        ConsentInput(date(2026, 1, 10), f"{m} given by", ["TN"], [transfer.id], f"{m} consent scope"),
        Upload(io.BytesIO(f"{m} consent body\n".encode()), f"{m}-consent.txt"),
    )
    disclosure = record_disclosure(
        staff,
        client,
        DisclosureInput(f"{m} disclosure recipient", f"{m} disclosure purpose", date(2026, 1, 10)),
        Upload(io.BytesIO(f"{m} authorisation body\n".encode()), f"{m}-authorisation.txt"),
    )
    withdraw_clause_ten(staff, disclosure, f"{m} withdrawal reason")
    # Clause 13: a second agreement ended, every deletion task done with canaries, its certificate issued.
    ended = make_agreement(client, staff, reference=f"REF-{m}-ENDED", title=f"{m} ended agreement")
    authorise(staff, ended, own_sub, date(2026, 1, 10))
    workflow = end_with_workflow(
        staff,
        ended,
        EndInput(
            app_clock.today() - timedelta(days=2),
            exceptions=[ExceptionInput(f"{m} retained data", f"{m} legal basis", date(2031, 1, 1))],
        ),
    )
    for task in workflow.tasks:
        complete_task(
            staff,
            task,
            CompletionInput(app_clock.today(), f"{m} done by", f"{m} deletion method"),
            Upload(io.BytesIO(f"{m} deletion proof\n".encode()), f"{m}-deletion.txt"),
        )
    issue_certificate(staff, workflow)
    inspection = record_inspection(
        staff,
        agreement,
        InspectionInput("audit", date(2026, 1, 12), f"{m} requester", f"req@{m}.example", f"{m} audit scope asked"),
    )
    engagement = save_engagement(
        staff,
        inspection,
        EngagementInput(
            auditor_organisation=f"{m} auditor organisation",
            auditor_people=f"{m} auditor people",
            planned_on=date(2026, 1, 13),
            scope=f"{m} audit scope",
            continuity_conditions=f"{m} continuity conditions",
            cost_note=f"{m} cost note",
        ),
        Upload(io.BytesIO(f"{m} declaration body\n".encode()), f"{m}-declaration.txt"),
    )
    finding = add_finding(staff, engagement, FindingInput("7.1", "high", f"{m} finding description", date(2026, 2, 1)))
    add_remediation(staff, finding, RemediationInput(f"{m} remediation action", staff.id, date(2026, 2, 1)))
    close_finding(
        staff,
        finding,
        date(2026, 1, 14),
        f"{m} closure note",
        Upload(io.BytesIO(f"{m} closure body\n".encode()), f"{m}-closure.txt"),
    )
    docs = record_inspection(
        staff,
        agreement,
        InspectionInput("documents", date(2026, 1, 12), f"{m} doc requester", "", f"{m} documents requested"),
    )
    provide_documents(
        staff,
        docs,
        date(2026, 1, 13),
        f"{m} provided note",
        Upload(io.BytesIO(f"{m} provided body\n".encode()), f"{m}-provided.txt"),
    )
    law_transfers = [
        record_law_transfer(
            staff,
            agreement,
            LawTransferInput(
                received,
                f"{m} authority",
                f"{m} law",
                f"{m} destination",
                "US",
                f"{m} data concerned",
                notice_forbidden=forbidden,
                forbidden_ground=f"{m} public-interest ground" if forbidden else "",
            ),
            Upload(io.BytesIO(f"{m} legal proof body\n".encode()), f"{m}-proof.txt"),
        )
        for forbidden in (False, True)
    ]
    queue_law_notice(staff, law_transfers[0])
    db.session.commit()
    return {
        "task_id": [t.id for t in workflow.tasks],
        "inspection_id": [inspection.id, docs.id],
        "sha256": [engagement.declaration_sha256 or "", finding.closure.sha256 if finding.closure else ""],
        "request_id": [dsr.id],
        "instruction_id": [instruction.id],
        "breach_notice_id": [n.id for n in breach_notices],
        "consent_id": [consent.id],
        "authorisation_id": [disclosure.id],
        "law_transfer_id": [t.id for t in law_transfers],
        "action_id": [action.id],
        "agent_id": [agent.id],
        "attestation_id": [commitment.id],
        "client_id": [client.id],
        "agreement_id": [agreement.id, ended.id],
        "obligation_id": [breach.id, copy.id, other.id],
        "evidence_id": [evidence.id, withdrawn.id],
        "event_id": [event.id],
        "activity_id": [activity.id],
        "transfer_id": [transfer.id],
        "document_id": [document.id],
        "recipient_id": [notice.recipients[0].id],
        "notice_id": [notice.id],
        "delivery_id": [d.id for d in notice.recipients[0].deliveries],
        "user_id": [user.id, own_auditor.id],
        "token_id": [token.id],
        "subprocessor_id": [own_sub.id],
        "breach_id": [entry.id],
    }


def _breach_input(m: str, sub: int | None = None, agent: int | None = None) -> BreachInput:
    """A breach with the canary ``m`` in every text field (``m`` empty: the processor's neutral text)."""
    now = app_clock.now()
    return BreachInput(
        title=f"{m} breach title",
        occurred_at=now - timedelta(hours=3),
        detected_at=now - timedelta(hours=2),
        aware_at=now - timedelta(hours=1),
        natures=["confidentiality"],
        description=f"{m} breach description",
        contact_point=f"{m} contact point",
        systems=f"{m} systems",
        agents=f"{m} agents",
        data_subject_categories=f"{m} subjects",
        record_categories=f"{m} records",
        likely_consequences=f"{m} consequences",
        measures_taken=f"{m} measures taken",
        measures_proposed=f"{m} measures proposed",
        agreement_failures=f"{m} failures",
        subprocessor_ids=[sub] if sub else [],
        agent_ids=[agent] if agent else [],
    )


# URL arguments that do not name a tenant's object: the same values for every tenant.
NEUTRAL = {
    "fmt": ["pdf", "json", "csv", "txt"],
    "number": [1, 2],
    "kind": ["subprocessor_guarantee"],
    "filename": ["app.css"],
    "token": ["cal_unknown-token"],  # the calendar feed: a token, not a tenant's object (see the feed test below)
}
# Query strings worth trying on top of the bare URL ({client} takes each tenant's client id).
EXTRA_QUERIES = {
    "audit.index": ["client_id={client}"],
    "api_v1.list_audit_events": ["limit=200", "client_id={client}&limit=200"],
    "record.diff": ["from=1&to=2"],
    "record.show": ["as_of=2026-01-20"],
    # a client user is held to its own client whatever it asks; an auditor asking for another client gets 404
    "breach.index": ["client_id={client}"],
    "breach.register_csv": ["client_id={client}"],
    "breach.register_pdf": ["client_id={client}"],
    "deadline.index": ["client={client}", "client={client}&within=366"],
    "api_v1.list_deadlines": ["client_id={client}&limit=500", "limit=500&within=366"],
}


@pytest.fixture(scope="module")
def tenants(database_url, _schema, tmp_path_factory):
    with emptied_app(database_url, tmp_path_factory.mktemp("canary"), PAGE_SIZE=1000) as app:
        with app.app_context():
            staff = make_user(Role.COMPLIANCE, "compliance@processor.example")
            make_user(Role.ADMIN, "admin@processor.example")
            measure = create_measure(
                staff,
                MeasureInput(
                    heading="a_pseudonymisation_encryption", title="Disk encryption", description="LUKS on every server"
                ),
            )
            measure_document = add_document(
                staff, measure, DocumentKind.MEASURE, Upload(io.BytesIO(b"Encryption policy\n"), "encryption.txt")
            )
            shared_sub = create_subprocessor(
                staff, SubProcessorInput(legal_name="Shared Hosting SARL", country="FR", service="Hosting")
            )
            guarantee = add_document(
                staff, shared_sub, DocumentKind.GUARANTEE, Upload(io.BytesIO(b"ISO 27001 certificate\n"), "iso.txt")
            )
            spares = [
                create_subprocessor(
                    staff, SubProcessorInput(legal_name=f"Spare {n} SAS", country="FR", service="E-mail")
                )
                for n in range(2)
            ]
            db.session.commit()
            ids = {t: seed_tenant(t, staff, shared_sub, spares[0], measure) for t in TENANTS}
            # One notice to A and C: the auditor of A and B sees A's row of it, never C's.
            agreements = [db.session.get(Agreement, ids[t]["agreement_id"][0]) for t in ("a", "c")]
            shared = propose_change(staff, ChangeKind.ADD, spares[1], agreements, "Shared notice reason")
            for recipient in shared.recipients:
                owner = next(t for t in ("a", "c") if ids[t]["agreement_id"][0] == recipient.agreement_id)
                client_user = db.session.get(User, ids[owner]["user_id"][0])  # seed_tenant lists its client user first
                answer(client_user, recipient, False, f"{MARK[owner]} shared objection", ObjectionConsequence.NOT_USED)
                ids[owner]["recipient_id"].append(recipient.id)
            # One breach touching A and C: the auditor of A and B sees A's clock and notice of it, never C's.
            shared_breach = record_breach(staff, _breach_input("Shared"), agreements)
            for affected in shared_breach.affected:
                queue_notice(staff, shared_breach, affected, NoticePhase.INITIAL)
            # Each tenant's own sub-processor is still an entry of the processor's catalogue.
            catalogue = [shared_sub.id, *(ids[t].pop("subprocessor_id")[0] for t in TENANTS)]
            certification = add_certification(
                staff,
                CertificationInput("iso27001", "Processor ISO 27001", "Cert Body", date(2025, 6, 1)),
                Upload(io.BytesIO(b"Processor ISO certificate\n"), "iso-cert.txt"),
            )
            db.session.commit()
            ids["p"] = {
                "certification_id": [certification.id],
                "document_id": [measure_document.id, guarantee.id],
                "subprocessor_id": catalogue,
                "measure_id": [measure.id],
                "notice_id": [shared.id],
                "breach_id": [shared_breach.id],
            }
            viewer_users = {
                "client_a": db.session.get(User, ids["a"]["user_id"][0]),
                "auditor_ab": make_user(
                    Role.AUDITOR,
                    VIEWERS["auditor_ab"]["email"],
                    audits=[db.session.get(Client, ids[t]["client_id"][0]) for t in ("a", "b")],
                ),
            }
            tokens = {viewer: create_token(None, user, "canary")[1] for viewer, user in viewer_users.items()}
            db.session.commit()
        yield app, ids, tokens


def _argument_values(ids: dict[str, dict[str, list[int]]], name: str) -> list[tuple[Any, str]]:
    """(value, owning tenant) pairs for one URL argument; "p" is the processor, "-" no tenant at all."""
    if name in NEUTRAL:
        return [(value, "-") for value in NEUTRAL[name]]
    return [(value, owner) for owner, by_name in ids.items() for value in by_name.get(name, [])]


def get_urls(app: Any, ids: dict[str, dict[str, list[int]]]) -> tuple[list[tuple[str, str, set[str]]], list[str]]:
    """Every GET URL to request: (endpoint, url, tenants named in it); and the arguments nobody filled."""
    urls: list[tuple[str, str, set[str]]] = []
    unfilled = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or set()):
                continue
            choices = []
            for name in sorted(rule.arguments):
                values = _argument_values(ids, name)
                if not values:
                    unfilled.append(f"{rule.rule}: <{name}>")
                choices.append([(name, value, owner) for value, owner in values])
            for combination in itertools.product(*choices):
                args = {name: value for name, value, _ in combination}
                owners = {owner for _, _, owner in combination} - {"-"}
                url = rule.build(args, append_unknown=False)[1] if args else rule.rule
                urls.append((rule.endpoint, url, owners))
                for query in EXTRA_QUERIES.get(rule.endpoint, []):
                    if "{client}" in query:
                        for t in TENANTS:
                            urls.append((rule.endpoint, f"{url}?{query.format(client=ids[t]['client_id'][0])}", owners))
                    else:
                        urls.append((rule.endpoint, f"{url}?{query}", owners))
    return urls, unfilled


def visible_text(response: Any) -> str:
    """What the user gets: the body (PDF text extracted) plus the download name, lowercased."""
    body = response.get_data()
    if response.mimetype == "application/pdf" and body.startswith(b"%PDF"):
        pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages]
        text = "\n".join(pages)
        text += "\n" + re.sub(r"\s+", "", text)  # a canary wrapped over two lines still counts
    else:
        text = body.decode("utf-8", errors="replace")
    return (response.headers.get("Content-Disposition", "") + "\n" + text).lower()


def _leaks(text: str, marks: list[str]) -> list[str]:
    found = []
    for mark in marks:
        for match in re.finditer(mark, text):
            found.append(text[max(0, match.start() - 60) : match.end() + 60].replace("\n", " "))
    return found


DOWNLOADS = {
    "inspection.file",
    "inspection.certification_file",
    "evidence.download",
    "api_v1.download_evidence",
    "record.document_download",
    "record.download",
    "record.download_version",
    "api_v1.download_record",
    "subprocessor.client_list_download",
    "agent.document",
    "deletion.proof",
    "deletion.certificate_pdf",
    "api_v1.deletion_certificate_pdf_api",
}


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_no_page_file_or_api_answer_shows_another_tenants_canary(tenants, viewer):
    app, ids, tokens = tenants
    urls, unfilled = get_urls(app, ids)
    assert unfilled == [], "give these URL arguments values in seed_tenant() or NEUTRAL"
    http = app.test_client()
    assert AuthActions(http).login(VIEWERS[viewer]["email"]).status_code == 302
    api_headers = {"Authorization": f"Bearer {tokens[viewer]}"}
    marks = forbidden_marks(viewer)
    visible_marks = {MARK[t] for t in VIEWERS[viewer]["visible"]}
    leaks: list[str] = []
    wrong_status: list[str] = []
    requested: set[str] = set()
    seen_marks: set[str] = set()
    read_formats: set[str] = set()  # formats in which a visible canary was found: the extraction works
    for endpoint, url, owners in urls:
        headers = api_headers if url.startswith("/api/") else {}
        with http.get(url, headers=headers) as response:
            status = response.status_code
            text = visible_text(response) if status != 304 else ""
            location = response.headers.get("Location", "")
            mimetype = response.mimetype
        requested.add(endpoint)
        assert status < 500, (url, status)
        assert not (status == 302 and "/login" in location), f"{url}: signed out"
        leaks += [f"{url} [{status}]: ...{snippet}..." for snippet in _leaks(text, marks)]
        seen_marks |= {mark for mark in visible_marks if mark in text}
        if any(mark in text for mark in visible_marks):
            read_formats.add(mimetype)
        hidden = owners - VIEWERS[viewer]["visible"] - {"p"}
        if hidden and (status not in (403, 404) or (endpoint in DOWNLOADS and status != 404)):
            wrong_status.append(f"{url}: {status}")
    assert leaks == []
    assert wrong_status == []
    every_get = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or set())}
    assert every_get - requested == set()
    # The pages did show the viewer's own tenants: the check above looked at real content.
    assert seen_marks == visible_marks
    assert {"text/html", "application/json", "text/csv", "application/pdf"} <= read_formats


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_a_viewers_calendar_feed_holds_only_its_own_tenants_deadlines(tenants, viewer):
    """The feed answers without a session (its token is the credential), so it gets its own canary check."""
    app, _, _ = tenants
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == VIEWERS[viewer]["email"]))
        _, plain = create_feed(user)
        db.session.commit()
    response = app.test_client().get(f"/calendar/{plain}.ics?within=366")
    assert response.status_code == 200
    text = response.get_data().replace(b"\r\n ", b"").decode().lower()
    assert _leaks(text, forbidden_marks(viewer)) == []
    assert {MARK[t] for t in VIEWERS[viewer]["visible"] if MARK[t] in text} == {
        MARK[t] for t in VIEWERS[viewer]["visible"]
    }


def test_auditor_sees_only_assigned_clients_rows_of_a_shared_notice(tenants):
    app, _, _ = tenants
    http = app.test_client()
    assert AuthActions(http).login(VIEWERS["auditor_ab"]["email"]).status_code == 302
    html = http.get("/notices").get_data(as_text=True)
    assert "Shared notice reason" in html
    assert "zqamark shared objection" in html
    assert "zqbmark notice reason" in html and "zqbmark objection reason" in html
    assert "zqcmark" not in html  # neither C's own notice nor C's row of the shared one


def test_staff_still_see_every_clients_notices(tenants):
    app, _, _ = tenants
    http = app.test_client()
    assert AuthActions(http).login("compliance@processor.example").status_code == 302
    html = http.get("/notices").get_data(as_text=True)
    for t in TENANTS:
        assert f"{MARK[t]} notice reason" in html
        assert f"{MARK[t]} shared objection" in html or t == "b"
