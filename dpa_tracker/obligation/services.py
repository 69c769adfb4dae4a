"""Assessing obligations, keeping their cached projection fresh, and user-set fields."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import ColumnElement, and_, case, literal, or_
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from dpa_tracker.agent.clause5 import (
    AUTHORISED_RULE,
    REMOVAL_RULE,
    AgentInputs,
    agent_inputs,
    clause5_inputs,
    removal_blockers,
)
from dpa_tracker.agent.clause5 import RULES as AGENT_RULES
from dpa_tracker.agreement.settings import SETTINGS, WORKING_DAY_SETTINGS
from dpa_tracker.audit.services import record
from dpa_tracker.breach.clause812 import ACTIONS_RULE, ActionInputs, action_inputs
from dpa_tracker.client.services import processor_calendar
from dpa_tracker.deletion.clause13 import DeletionInputs, deletion_inputs
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.inspection.findings import OpenFinding, apply_findings, finding_inputs
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    ApplicabilityMark,
    Client,
    Obligation,
    ObligationStatus,
    TriggerEvent,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.status import AgreementTerms, Assessment, assess
from dpa_tracker.record.builder import active_activity_names_by_client, problems_by_client, scope_gaps_by_client
from dpa_tracker.subprocessor.authorised import (
    AuthorisedEntry,
    agreements_of_clients,
    authorised_for_agreements,
    merged_by_client,
)
from dpa_tracker.subprocessor.documents import REQUIRED_KIND, DocumentInputs, document_inputs, inputs_by_obligation
from dpa_tracker.transfer.clause10 import (
    CONSENT_RULE,
    LAW_CLAUSE,
    NOT_NOTIFIED,
    ConsentInputs,
    consent_inputs,
    not_notified_grounds,
)

DONE = (ObligationStatus.MET, ObligationStatus.LATE)


class Facts(NamedTuple):
    """Facts outside an obligation's evidence, loaded for many obligations at once (``clause_facts``), by
    obligation id."""

    consents: Mapping[int, ConsentInputs]  # clause 10(2)
    actions: Mapping[int, ActionInputs]  # clause 8.1(2): breach actions
    deletions: Mapping[int, DeletionInputs | None]  # clause 13: deletion tasks (None: no workflow)
    findings: Mapping[int, Sequence[OpenFinding]]  # clause 11.2: open audit findings on any clause


def due_soon_days() -> int:
    return int(current_app.config["DUE_SOON_DAYS"])


def today() -> date:
    return utcnow().date()


def terms_of(agreement: Agreement, data_deleted_on: date | None = None) -> AgreementTerms:
    return AgreementTerms(
        effective_on=agreement.effective_on,
        ends_on=agreement.ends_on,
        settings={setting.name: getattr(agreement, setting.name) for setting in SETTINGS},
        data_deleted_on=data_deleted_on,
        late_lookback_months=int(current_app.config["LATE_LOOKBACK_MONTHS"]),
        working_day_settings=WORKING_DAY_SETTINGS,
        workdays=processor_calendar(),
    )


def is_end_deadline(obligation: Obligation) -> bool:
    """Clause 13: the deadline that runs from the agreement's end."""
    return obligation.rule["type"] == "deadline" and obligation.rule.get("after") == "agreement_end"


def _deletion_day(
    agreement: Agreement,
    day: date,
    siblings: Sequence[Obligation] | None = None,
    stopped: list[str] | None = None,
    facts: Facts | None = None,
) -> date | None:
    """The day the client's data was deleted at the end (clause 13 done), as documented on ``day``.

    ``siblings`` must hold the agreement's clause 13 end deadline if it has one (other obligations are ignored);
    ``stopped`` is clause 13's "processing stopped" check (``processing_after_end``) when already known."""
    if agreement.ends_on is None or agreement.ends_on > day:
        return None
    if siblings is None:
        siblings = db.session.scalars(
            db.select(Obligation).where(Obligation.agreement_id == agreement.id).options(*obligation_loader())
        ).all()
    for obligation in siblings:
        if is_end_deadline(obligation):
            result = assess_obligation(obligation, day, stopped, facts_by_id=facts)
            if result.status is ObligationStatus.NOT_APPLICABLE:
                return agreement.ends_on  # no deletion duty: the standing duties end with the agreement
            return result.done_on if result.status in DONE else None
    return agreement.ends_on


def processing_after_end(agreement: Agreement, as_of: date) -> list[str]:
    """Clause 13: processing must stop at the end. An activity of the client still in its record after
    the end is processing not stopped, unless another agreement of the client is still in force."""
    return processing_after_end_by_agreement([agreement], as_of)[agreement.id]


def processing_after_end_by_agreement(
    agreements: Sequence[Agreement], as_of: date, fixed_queries: bool = False
) -> dict[int, list[str]]:
    """``processing_after_end`` of many agreements: two queries for all the ended ones, none if none has ended
    (with ``fixed_queries``: the same two queries even then, so that a page's statement count does not depend on
    whether it lists an ended agreement)."""
    found: dict[int, list[str]] = {a.id: [] for a in agreements}
    ended = [a for a in agreements if a.ends_on is not None and as_of > a.ends_on]
    if not ended and not fixed_queries:
        return found
    clients = sorted({a.client_id for a in ended})
    in_force = db.session.execute(
        db.select(Agreement.id, Agreement.client_id).where(
            Agreement.client_id.in_(clients),
            Agreement.status != AgreementStatus.DRAFT,
            Agreement.effective_on <= as_of,
            or_(Agreement.ends_on.is_(None), Agreement.ends_on >= as_of),
        )
    ).all()
    names = active_activity_names_by_client(clients, as_of)
    for agreement in ended:
        if any(client_id == agreement.client_id and other != agreement.id for other, client_id in in_force):
            continue
        found[agreement.id] = [
            f"processing activity “{name}” is still active on {as_of}, after the agreement ended on {agreement.ends_on}"
            for name in names[agreement.client_id]
        ]
    return found


def terms_by_agreement(
    agreements: Sequence[Agreement],
    day: date,
    fixed_queries: bool = True,
    listed: Sequence[Obligation] = (),
    listed_facts: Facts | None = None,
) -> tuple[dict[int, AgreementTerms], dict[int, list[str]]]:
    """Each agreement's terms on ``day`` (``agreement_terms``) and clause 13's "processing stopped" blockers
    (``processing_after_end``) in the same statements whatever the agreements, ended or not: their clause 13 end
    deadlines in one query (with their evidence, events and marks: three more), the "processing stopped" checks of
    the ended ones in two. Pages that list obligations of many agreements use it (the dashboard, the API).

    Without ``fixed_queries`` only the agreements ended by ``day`` are read (the terms of an agreement not ended do
    not depend on its clause 13), and not those whose clause 13 end deadline is in ``listed`` (obligations already
    read, with their ``clause_facts`` as ``listed_facts``): no statement when none of the others has ended."""
    if not agreements:
        return {}, {}
    known: dict[int, list[Obligation]] = defaultdict(list)
    if not fixed_queries:
        for obligation in listed:
            if is_end_deadline(obligation):
                known[obligation.agreement_id].append(obligation)
    read = [
        a for a in agreements if fixed_queries or (a.ends_on is not None and a.ends_on <= day and a.id not in known)
    ]
    deadlines: dict[int, list[Obligation]] = {a.id: [] for a in agreements}
    if read:
        for obligation in db.session.scalars(
            db.select(Obligation)
            .where(
                Obligation.agreement_id.in_(sorted(a.id for a in read)),
                Obligation.rule["after"].as_string() == "agreement_end",
            )
            .options(*obligation_loader())
        ):
            deadlines[obligation.agreement_id].append(obligation)
    stopped = processing_after_end_by_agreement(agreements, day, fixed_queries)
    ended = [o for found in deadlines.values() for o in found]
    # clause 13's tasks and the audit findings on clause 13: one query each, whatever the agreements
    facts = Facts(
        {},
        {},
        deletion_inputs(ended, day, fixed_queries=fixed_queries),
        finding_inputs(ended, day, fixed_queries=fixed_queries),
    )
    terms = {
        a.id: terms_of(
            a,
            _deletion_day(a, day, known[a.id], stopped[a.id], listed_facts)
            if a.id in known
            else _deletion_day(a, day, deadlines[a.id], stopped[a.id], facts),
        )
        for a in agreements
    }
    return terms, stopped


def blockers_for(obligation: Obligation, as_of: date) -> list[str]:
    """Facts outside the evidence that the rule depends on (``requires`` in the catalogue)."""
    if obligation.rule.get("requires") == "art30_record":
        client = obligation.agreement.client
        return problems_by_client([client], as_of)[client.id]
    if obligation.rule.get("requires") == "processing_stopped":
        return processing_after_end(obligation.agreement, as_of)
    if obligation.rule.get("requires") == "processing_scope":  # clause 2.1
        client = obligation.agreement.client
        return scope_gaps_by_client([client], as_of)[client.id]
    if obligation.rule.get("requires") == REMOVAL_RULE:  # clause 5.3(3)
        return removal_blockers([obligation.agreement_id], as_of)[obligation.agreement_id]
    return []


def events_of(obligation: Obligation) -> Sequence[TriggerEvent]:
    """The events that start this obligation's clocks: its own, or another clause's (``events_from``:
    clause 8.3's breach register is fed by the breaches of clause 8.1)."""
    if obligation.rule.get("events_from") is None:
        return obligation.events
    return borrowed_events([obligation]).get(obligation.id, [])


def borrowed_events(obligations: Sequence[Obligation], fixed_queries: bool = False) -> dict[int, list[TriggerEvent]]:
    """{obligation id: the events of the clause it takes its events from}, in one query for all (none when no
    obligation borrows; with ``fixed_queries`` the query is made even then, so that a page's statement count
    does not depend on whether it lists clause 8.1(2) or 8.3)."""
    borrowing: dict[tuple[int, str], list[int]] = defaultdict(list)
    for o in obligations:
        if o.rule.get("events_from"):
            borrowing[o.agreement_id, o.rule["events_from"]].append(o.id)
    found: dict[int, list[TriggerEvent]] = {oid: [] for ids in borrowing.values() for oid in ids}
    if not borrowing and not fixed_queries:
        return found
    rows = db.session.execute(
        db.select(Obligation.agreement_id, Obligation.clause_number, TriggerEvent)
        .join(TriggerEvent.obligation)
        .where(
            Obligation.agreement_id.in_(sorted({a for a, _ in borrowing})),
            Obligation.clause_number.in_(sorted({c for _, c in borrowing})),
        )
        .order_by(TriggerEvent.occurred_at, TriggerEvent.id)
    ).all()
    for agreement_id, clause, event in rows:
        for oid in borrowing.get((agreement_id, clause), []):
            found[oid].append(event)
    return found


def agreement_terms(
    agreement: Agreement, day: date, siblings: Sequence[Obligation] | None = None, facts: Facts | None = None
) -> AgreementTerms:
    """The agreement's terms on ``day``, with the day its data was deleted (read from clause 13)."""
    return terms_of(agreement, _deletion_day(agreement, day, siblings, facts=facts))


def assess_obligation(
    obligation: Obligation,
    as_of: date | None = None,
    blockers: list[str] | None = None,
    documents_by_id: Mapping[int, Any] | None = None,
    events_by_id: Mapping[int, Sequence[TriggerEvent]] | None = None,
    terms: AgreementTerms | None = None,
    agents_by_id: Mapping[int, AgentInputs] | None = None,
    facts_by_id: Facts | None = None,
) -> Assessment:
    """Status of one obligation; its agreement, evidence and events should already be loaded.

    For many obligations at once, ``EngineInputs`` reads what they share once and passes it here:
    ``documents_by_id`` (clause 6.2/6.3 inputs), ``events_by_id`` (``borrowed_events``), ``terms``, ``agents_by_id``
    (clause 5.2) and ``facts_by_id`` (``clause_facts``)."""
    day = as_of or today()
    evidence: Sequence[Any] = obligation.evidence
    blockers = blockers_for(obligation, day) if blockers is None else blockers
    # Clauses 6.2/6.3: the documents held per sub-processor decide, not evidence on the obligation.
    documents = document_inputs(obligation, day) if documents_by_id is None else documents_by_id.get(obligation.id)
    if documents is not None:
        evidence, blockers = documents.evidence, [*blockers, *documents.blockers]
    # Clause 5.2: the agents working on the agreement decide, not evidence on the obligation.
    agents = None
    if obligation.rule.get("requires") == AUTHORISED_RULE:
        agents = (agent_inputs([obligation], day) if agents_by_id is None else agents_by_id).get(obligation.id)
    if agents is not None:
        evidence, blockers = agents.evidence, [*blockers, *agents.blockers]
    # Clause 10(2): the record's storage and transfers outside the EU/EEA and the client's consents decide.
    if facts_by_id is None:  # clauses 10(2), 8.1(2), and any clause an audit finding concerns
        facts_by_id = clause_facts([obligation], day)
    if is_end_deadline(obligation) and (facts_by_id is None or obligation.id not in facts_by_id.deletions):
        facts_by_id = clause_facts([obligation], day)
    consents = facts_by_id.consents.get(obligation.id) if facts_by_id is not None else None
    if consents is not None and not consents.no_record:
        evidence, blockers = consents.evidence, [*blockers, *consents.blockers]
    # Clause 8.1(2): each breach's containment, remedy and investigation actions answer its event.
    actions = facts_by_id.actions.get(obligation.id) if facts_by_id is not None else None
    if actions is not None:
        own = [e for e in evidence if e.trigger_event_id is None or e.trigger_event_id not in actions.event_ids]
        evidence = [*own, *actions.evidence]
    # Clause 13: once the end-of-contract workflow exists, its deletion tasks decide, not evidence.
    deletion = facts_by_id.deletions.get(obligation.id) if facts_by_id is not None else None
    if deletion is not None:
        evidence = deletion.evidence
    if terms is None:
        standing = obligation.rule["type"] in ("standing", "recurring")
        terms = agreement_terms(obligation.agreement, day) if standing else terms_of(obligation.agreement)
    result = assess(
        obligation.rule,
        terms,
        evidence,
        events_of(obligation)
        if events_by_id is None or obligation.id not in events_by_id
        else events_by_id[obligation.id],
        day,
        due_soon_days(),
        na_reason=obligation.na_reason,
        na_set_at=obligation.na_set_at,
        blockers=blockers,
        na_history=[(m.reason, m.set_at, m.cleared_at) for m in obligation.na_marks if m.cleared_at is not None],
    )
    if (
        documents is not None
        and documents.summary
        and result.status in (ObligationStatus.MET, ObligationStatus.DUE_SOON)
    ):
        result = replace(result, reason=f"{documents.summary}. {result.reason}")
    if agents is not None and result.status is not ObligationStatus.NOT_APPLICABLE:
        if agents.none_recorded:  # no event is not compliance: no agent is not "no agent untrained"
            result = replace(result, reason=f"No agent recorded for this agreement; {_lower_first(result.reason)}")
        elif agents.summary and result.status in (ObligationStatus.MET, ObligationStatus.DUE_SOON):
            result = replace(result, reason=f"{agents.summary}. {result.reason}")
    if actions is not None and actions.pending and result.status not in (*DONE, ObligationStatus.NOT_APPLICABLE):
        more = f" (+{len(actions.pending) - 2} more)" if len(actions.pending) > 2 else ""
        result = replace(result, reason=f"{result.reason}. Open: {'; '.join(actions.pending[:2])}{more}")
    if deletion is not None and deletion.pending and result.status not in (*DONE, ObligationStatus.NOT_APPLICABLE):
        more = f" (+{len(deletion.pending) - 3} more)" if len(deletion.pending) > 3 else ""
        due = f"due on {result.due_on}" if result.due_on else "no end date"
        result = replace(
            result,
            reason=f"{len(deletion.pending)} deletion task(s) open, {due}: {'; '.join(deletion.pending[:3])}{more}",
        )
    if obligation.clause_number == LAW_CLAUSE and result.status is not ObligationStatus.NOT_APPLICABLE:
        result = _with_legal_grounds(obligation, evidence, day, result)
    if consents is not None and result.status is not ObligationStatus.NOT_APPLICABLE:
        if consents.no_record:  # an empty record states nothing about transfers: claim nothing
            result = replace(
                result,
                reason=f"No record: no processing activity is recorded for this client; {_lower_first(result.reason)}",
            )
        elif consents.summary and result.status in (ObligationStatus.MET, ObligationStatus.DUE_SOON):
            result = replace(result, reason=f"{consents.summary}.")
    # Clause 11.2: an audit finding on this clause, open past its due date, makes it overdue.
    return apply_findings(result, facts_by_id.findings.get(obligation.id, []), day, due_soon_days())


def _with_legal_grounds(obligation: Obligation, evidence: Sequence[Any], day: date, result: Assessment) -> Assessment:
    """Clause 10(2)(b): an event answered by a legal ground was not notified; the reason says so, never "notified
    in time" (no silent green)."""
    grounds = not_notified_grounds(evidence, day)
    if not grounds:
        return result
    said = "; ".join(f"{NOT_NOTIFIED}{ground}" for ground in grounds)
    if result.status is ObligationStatus.MET and "; " in result.reason:
        events = [e for e in events_of(obligation) if e.recorded_at.date() <= day]
        others = len(events) - len(grounds)
        notified = f"{others} other transfer(s) required by law notified in time; " if others > 0 else ""
        return replace(result, reason=f"{said}. {notified}{result.reason.split('; ', 1)[1]}")
    return replace(result, reason=f"{result.reason}. {said}")


def clause_facts(
    obligations: Sequence[Obligation],
    day: date,
    fixed_queries: bool = False,
    authorised: Mapping[int, list[AuthorisedEntry]] | None = None,
) -> Facts:
    """Clause 10(2)'s consents, clause 8.1(2)'s breach actions, clause 13's deletion tasks and the open audit
    findings (clause 11.2) of many obligations, in a fixed number of queries (their agreements and clients
    loaded); with ``fixed_queries`` the same queries whatever the obligations' clauses (pages whose statement
    count must not depend on the rows they list); ``authorised``: their agreements' authorised sub-processors
    when already read."""
    return Facts(
        consent_inputs(obligations, day, fixed_queries, authorised),
        action_inputs(obligations, day, fixed_queries),
        deletion_inputs(obligations, day, fixed_queries=fixed_queries),
        finding_inputs(obligations, day, fixed_queries=fixed_queries),
    )


def _clients_requiring(obligations: Sequence[Obligation], requires: str) -> dict[int, Client]:
    """The clients of the obligations whose rule requires ``requires``, by id."""
    return {o.agreement.client_id: o.agreement.client for o in obligations if o.rule.get("requires") == requires}


@dataclass(frozen=True)
class EngineInputs:
    """What the engine reads besides each obligation's evidence, events and marks, read once for many
    obligations (``load``) and shared by their assessments (``assess``)."""

    day: date
    terms: Mapping[int, AgreementTerms]  # by agreement id
    record_problems: Mapping[int, list[str]]  # clause 4.1: the Art. 30(2) record's gaps, by client id
    scope_gaps: Mapping[int, list[str]]  # clause 2.1, by client id
    stopped: Mapping[int, list[str]]  # clause 13: processing not stopped after the end, by agreement id
    removals: Mapping[int, list[str]]  # clause 5.3(3): access removals not confirmed, by agreement id
    agents: Mapping[int, AgentInputs]  # clause 5.2, by obligation id
    documents: Mapping[int, DocumentInputs | None]  # clauses 6.2/6.3, by obligation id
    events: Mapping[int, list[TriggerEvent]]  # clauses 8.1(2)/8.3: the events they borrow, by obligation id
    facts: Facts  # clauses 10(2), 8.1(2), 13 and 11.2, by obligation id

    @classmethod
    def load(cls, obligations: Sequence[Obligation], day: date, *, fixed_queries: bool = False) -> EngineInputs:
        """Read what ``obligations`` share (load them with ``obligation_loader()``) in a number of statements
        that does not grow with them; with ``fixed_queries`` the same statements whatever their clauses (pages
        whose statement count must not depend on the rows they list)."""
        record_clients = _clients_requiring(obligations, "art30_record")
        scope_clients = _clients_requiring(obligations, "processing_scope")
        # The sub-processors authorised under the agreements, read once for clause 4.1 (the record lists those
        # of every agreement of the client), clauses 6.2/6.3 (their documents) and clause 10(2) (their countries).
        client_of = agreements_of_clients(record_clients) if record_clients or fixed_queries else {}
        users = {o.agreement_id for o in obligations if o.rule.get("requires") in (*REQUIRED_KIND, CONSENT_RULE)}
        read_authorised = bool(users or record_clients or fixed_queries)
        authorised = authorised_for_agreements(sorted(users | set(client_of)), day) if read_authorised else {}
        agents, removals = clause5_inputs(obligations, day, fixed_queries)  # the agents once, for 5.2 and 5.3(3)
        facts = clause_facts(obligations, day, fixed_queries, authorised)
        agreements = list({o.agreement_id: o.agreement for o in obligations}.values())
        terms, stopped = terms_by_agreement(agreements, day, fixed_queries, obligations, facts)
        return cls(
            day=day,
            terms=terms,
            record_problems=problems_by_client(
                list(record_clients.values()), day, merged_by_client(record_clients, client_of, authorised)
            )
            if record_clients or fixed_queries
            else {},
            scope_gaps=scope_gaps_by_client(list(scope_clients.values()), day)
            if scope_clients or fixed_queries
            else {},
            stopped=stopped,
            removals=removals,
            agents=agents,
            documents=inputs_by_obligation(obligations, day, authorised),
            events=borrowed_events(obligations, fixed_queries),
            facts=facts,
        )

    def blockers_for(self, obligation: Obligation) -> list[str]:
        """``blockers_for`` from what was read."""
        requires = obligation.rule.get("requires")
        if requires == "art30_record":
            return self.record_problems[obligation.agreement.client_id]
        if requires == "processing_stopped":
            return self.stopped[obligation.agreement_id]
        if requires == "processing_scope":  # clause 2.1
            return self.scope_gaps[obligation.agreement.client_id]
        if requires == REMOVAL_RULE:  # clause 5.3(3)
            return self.removals[obligation.agreement_id]
        return []

    def assess(self, obligation: Obligation) -> Assessment:
        """``assess_obligation`` with what was read (``obligation`` must be one of those given to ``load``)."""
        return assess_obligation(
            obligation,
            self.day,
            self.blockers_for(obligation),
            self.documents,
            self.events,
            self.terms[obligation.agreement_id],
            self.agents,
            self.facts,
        )


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def obligation_loader() -> tuple[LoaderOption, ...]:
    """Loader options that fetch everything the engine needs in a fixed number of queries."""
    return (
        selectinload(Obligation.evidence),
        selectinload(Obligation.events),
        selectinload(Obligation.na_marks),
    )


def assess_agreement(agreement: Agreement, as_of: date | None = None) -> list[tuple[Obligation, Assessment]]:
    obligations = db.session.scalars(
        db.select(Obligation)
        .where(Obligation.agreement_id == agreement.id)
        .options(*obligation_loader())
        .order_by(Obligation.position)
    ).all()
    return assess_many(obligations, as_of)


def assess_many(obligations: Sequence[Obligation], as_of: date | None = None) -> list[tuple[Obligation, Assessment]]:
    """Assess obligations of any agreements at once (an API page), in a number of queries that does not grow
    with the number of obligations; load them with ``obligation_loader()`` and their agreement and client.

    Ended agreements read their clause 13 (one query for all of them) and its "processing stopped" check (two
    queries for all of them)."""
    inputs = EngineInputs.load(obligations, as_of or today())
    return [(obligation, inputs.assess(obligation)) for obligation in obligations]


def refresh_working_day_clocks() -> None:
    """The processor's calendar changed: refresh every obligation whose clock counts working days (clause 9.1)."""
    refresh_cache(
        db.session.scalars(
            db.select(Obligation).where(Obligation.rule["days_setting"].as_string().in_(sorted(WORKING_DAY_SETTINGS)))
        ).all()
    )


def refresh_cache(obligations: Sequence[Obligation]) -> None:
    """Store today's projection so the dashboard can count statuses in SQL.

    Clause 13 decides when the other duties of its agreement lapse, and clause 8.1's breaches feed
    clause 8.3: a change to either refreshes the whole agreement."""
    now = utcnow()
    wanted = {o.id: o for o in obligations}
    spread = {o.agreement_id for o in obligations if is_end_deadline(o) or o.rule["type"] == "event"}
    if spread:
        wanted.update(
            {
                o.id: o
                for o in db.session.scalars(db.select(Obligation).where(Obligation.agreement_id.in_(sorted(spread))))
            }
        )
    inputs = EngineInputs.load(list(wanted.values()), now.date())
    for obligation in wanted.values():
        result = inputs.assess(obligation)
        obligation.cached_base = result.base
        obligation.cached_due_on = result.due_on
        obligation.cached_lapses_on = result.lapses_on
        obligation.cached_late_until = result.late_until
        obligation.cached_at = now
    db.session.flush()


def refresh_all(batch_size: int = 200) -> tuple[int, int]:
    """Recompute every obligation's cached projection (daily, from cron): a safety net for facts that change
    with the date alone, e.g. another agreement of the client ending. Returns (obligations, changed)."""
    total = changed = 0
    agreement_ids = list(db.session.scalars(db.select(Agreement.id).order_by(Agreement.id)))
    for start in range(0, len(agreement_ids), batch_size):
        batch = agreement_ids[start : start + batch_size]
        obligations = db.session.scalars(
            db.select(Obligation).where(Obligation.agreement_id.in_(batch)).options(*obligation_loader())
        ).all()
        before = {o.id: (o.cached_base, o.cached_due_on, o.cached_lapses_on, o.cached_late_until) for o in obligations}
        refresh_cache(obligations)
        total += len(obligations)
        changed += sum(
            1
            for o in obligations
            if before[o.id] != (o.cached_base, o.cached_due_on, o.cached_lapses_on, o.cached_late_until)
        )
    if changed:
        # An event without a client makes every process count all statuses again (dashboard cache).
        record(None, "obligations.refresh", None, {"obligations": total, "changed": changed})
    return total, changed


def status_expression(as_of: date, window: int) -> ColumnElement[str]:
    """SQL twin of ``status.project`` over the cached projection (for today and later)."""
    soon = as_of + timedelta(days=window)
    return case(
        (Obligation.na_set_at.is_not(None), literal(ObligationStatus.NOT_APPLICABLE.value)),
        (
            and_(Obligation.cached_lapses_on.is_not(None), Obligation.cached_lapses_on < as_of),
            literal(ObligationStatus.NOT_APPLICABLE.value),
        ),
        (
            and_(Obligation.cached_due_on.is_not(None), Obligation.cached_due_on < as_of),
            literal(ObligationStatus.OVERDUE.value),
        ),
        (
            and_(Obligation.cached_late_until.is_not(None), Obligation.cached_late_until >= as_of),
            literal(ObligationStatus.LATE.value),
        ),
        (
            and_(Obligation.cached_due_on.is_not(None), Obligation.cached_due_on <= soon),
            literal(ObligationStatus.DUE_SOON.value),
        ),
        else_=Obligation.cached_base,
    )


def update_obligation(actor: User, obligation: Obligation, *, owner: User | None, notes: str) -> Obligation:
    if owner is not None and not owner.can_write:
        raise DomainError("The owner must be a member of the compliance team.", field="owner_id")
    changes = {}
    if obligation.owner_id != (owner.id if owner else None):
        changes["owner"] = [obligation.owner.email if obligation.owner else None, owner.email if owner else None]
        obligation.owner = owner
    if obligation.notes != notes:
        changes["notes"] = [obligation.notes, notes]
        obligation.notes = notes
    if changes:
        db.session.flush()
        record(actor, "obligation.update", obligation, changes, client_id=obligation.agreement.client_id)
    return obligation


def set_not_applicable(actor: User, obligation: Obligation, reason: str | None) -> Obligation:
    """Mark (reason given) or unmark (None) an obligation as not applicable."""
    if reason is not None:
        reason = reason.strip()
        if not reason:
            raise DomainError("Say why the obligation does not apply.", field="reason")
    if reason == obligation.na_reason:
        return obligation
    before = obligation.na_reason
    now = utcnow()
    for mark in obligation.na_marks:
        if mark.cleared_at is None:  # a new reason replaces the old mark; clearing ends it
            mark.cleared_at, mark.cleared_by_id = now, actor.id
    if reason is not None:
        obligation.na_marks.append(ApplicabilityMark(reason=reason, set_at=now, set_by_id=actor.id))
    obligation.na_reason = reason
    obligation.na_set_at = now if reason is not None else None
    refresh_cache([obligation])
    record(
        actor,
        "obligation.not_applicable" if reason else "obligation.applicable",
        obligation,
        {"reason": [before, reason]},
        client_id=obligation.agreement.client_id,
    )
    return obligation


def refresh_subprocessor_obligations(agreement_ids: list[int] | None = None) -> None:
    """Re-assess 6.2/6.3 and 10(2) after a document or an authorisation changed (all agreements, or the ones given)."""
    stmt = db.select(Obligation).join(Obligation.agreement)
    if agreement_ids is not None:
        if not agreement_ids:
            return
        stmt = stmt.where(Agreement.id.in_(agreement_ids))
    obligations = db.session.scalars(stmt).all()
    # Clause 10(2) too: a sub-processor outside the EU/EEA needs the client's consent.
    refresh_cache([o for o in obligations if o.rule.get("requires") in (*REQUIRED_KIND, CONSENT_RULE)])


def refresh_agent_obligations(agreement_ids: list[int]) -> None:
    """Re-assess clauses 5.2 and 5.3 of these agreements after an agent, assignment or attestation changed."""
    if not agreement_ids:
        return
    wanted = [
        obligation_id
        for obligation_id, rule in db.session.execute(
            db.select(Obligation.id, Obligation.rule).where(Obligation.agreement_id.in_(sorted(set(agreement_ids))))
        )
        if (rule if isinstance(rule, dict) else {}).get("requires") in AGENT_RULES
    ]
    if wanted:
        refresh_cache(
            db.session.scalars(
                db.select(Obligation)
                .where(Obligation.id.in_(wanted))
                .options(*obligation_loader(), selectinload(Obligation.agreement))
            ).all()
        )


def refresh_transfer_obligations(client_ids: list[int]) -> None:
    """Re-assess clause 10(2) of these clients' agreements after a transfer, a data location, a sub-processor
    authorisation or a consent changed."""
    if not client_ids:
        return
    wanted = [
        obligation_id
        for obligation_id, rule in db.session.execute(
            db.select(Obligation.id, Obligation.rule)
            .join(Obligation.agreement)
            .where(Agreement.client_id.in_(sorted(set(client_ids))))
        )
        if (rule if isinstance(rule, dict) else {}).get("requires") == CONSENT_RULE
    ]
    if wanted:
        refresh_cache(
            db.session.scalars(
                db.select(Obligation)
                .where(Obligation.id.in_(wanted))
                .options(*obligation_loader(), selectinload(Obligation.agreement))
            ).all()
        )


def refresh_finding_obligations(obligation_ids: list[int]) -> None:
    """Re-assess the obligations audit findings concern after a finding was recorded or closed (clause 11.2)."""
    if not obligation_ids:
        return
    refresh_cache(
        db.session.scalars(
            db.select(Obligation)
            .where(Obligation.id.in_(sorted(set(obligation_ids))))
            .options(*obligation_loader(), selectinload(Obligation.agreement))
        ).all()
    )


def refresh_breach_action_obligations(agreement_ids: list[int]) -> None:
    """Re-assess clause 8.1(2) of these agreements after a breach action was recorded."""
    if not agreement_ids:
        return
    obligations = db.session.scalars(
        db.select(Obligation)
        .where(Obligation.agreement_id.in_(sorted(set(agreement_ids))))
        .options(*obligation_loader(), selectinload(Obligation.agreement))
    ).all()
    refresh_cache([o for o in obligations if o.rule.get("requires") == ACTIONS_RULE])
