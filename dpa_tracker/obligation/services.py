"""Assessing obligations, keeping their cached projection fresh, and user-set fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, and_, case, literal
from sqlalchemy.orm import selectinload

from dpa_tracker.agreement.settings import SETTINGS
from dpa_tracker.audit.services import record
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Obligation, ObligationStatus, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.status import AgreementTerms, Assessment, assess


def due_soon_days() -> int:
    return int(current_app.config["DUE_SOON_DAYS"])


def today() -> date:
    return utcnow().date()


def terms_of(agreement: Agreement) -> AgreementTerms:
    return AgreementTerms(
        effective_on=agreement.effective_on,
        ends_on=agreement.ends_on,
        settings={setting.name: getattr(agreement, setting.name) for setting in SETTINGS},
    )


def blockers_for(obligation: Obligation, as_of: date) -> list[str]:
    """Facts outside the evidence that the rule depends on (``requires`` in the catalogue)."""
    if obligation.rule.get("requires") == "art30_record":
        from dpa_tracker.record.builder import problems_by_client

        client = obligation.agreement.client
        return problems_by_client([client], as_of)[client.id]
    if obligation.rule.get("requires") == "processing_scope":  # clause 2.1
        from dpa_tracker.record.builder import scope_gaps_by_client

        client = obligation.agreement.client
        return scope_gaps_by_client([client], as_of)[client.id]
    return []


def assess_obligation(
    obligation: Obligation, as_of: date | None = None, blockers: list[str] | None = None,
    documents_by_id: Mapping[int, Any] | None = None,
) -> Assessment:
    """Status of one obligation; its agreement, evidence and events should already be loaded
    (``documents_by_id``: clause 6.2/6.3 inputs loaded for many obligations at once, ``inputs_by_obligation``)."""
    from dpa_tracker.subprocessor.documents import document_inputs

    day = as_of or today()
    evidence: Sequence[Any] = obligation.evidence
    blockers = blockers_for(obligation, day) if blockers is None else blockers
    # Clauses 6.2/6.3: the documents held per sub-processor decide, not evidence on the obligation.
    documents = document_inputs(obligation, day) if documents_by_id is None else documents_by_id.get(obligation.id)
    if documents is not None:
        evidence, blockers = documents.evidence, [*blockers, *documents.blockers]
    result = assess(
        obligation.rule,
        terms_of(obligation.agreement),
        evidence,
        obligation.events,
        day,
        due_soon_days(),
        na_reason=obligation.na_reason,
        na_set_at=obligation.na_set_at,
        blockers=blockers,
    )
    if documents is not None and documents.summary and result.status in (ObligationStatus.MET,
                                                                          ObligationStatus.DUE_SOON):
        result = replace(result, reason=f"{documents.summary}. {result.reason}")
    return result


def obligation_loader() -> tuple[object, ...]:
    """Loader options that fetch everything the engine needs in a fixed number of queries."""
    return (
        selectinload(Obligation.evidence),
        selectinload(Obligation.events),
    )


def assess_agreement(agreement: Agreement, as_of: date | None = None) -> list[tuple[Obligation, Assessment]]:
    from dpa_tracker.subprocessor.documents import inputs_by_obligation

    obligations = db.session.scalars(
        db.select(Obligation).where(Obligation.agreement_id == agreement.id)
        .options(*obligation_loader()).order_by(Obligation.position)
    ).all()
    day = as_of or today()
    record_problems: list[str] | None = None
    documents = inputs_by_obligation(obligations, day)
    results = []
    for obligation in obligations:
        blockers: list[str] | None = None  # blockers_for decides (no query unless the rule requires a fact)
        if obligation.rule.get("requires") == "art30_record":
            if record_problems is None:
                record_problems = blockers_for(obligation, day)
            blockers = record_problems
        results.append((obligation, assess_obligation(obligation, day, blockers, documents)))
    return results


def refresh_cache(obligations: Sequence[Obligation]) -> None:
    """Store today's projection so the dashboard can count statuses in SQL."""
    now = utcnow()
    for obligation in obligations:
        result = assess_obligation(obligation, now.date())
        obligation.cached_base = result.base
        obligation.cached_due_on = result.due_on
        obligation.cached_lapses_on = result.lapses_on
        obligation.cached_at = now
    db.session.flush()


def status_expression(as_of: date, window: int) -> ColumnElement[str]:
    """SQL twin of ``status.project`` over the cached projection (for today and later)."""
    soon = as_of + timedelta(days=window)
    return case(
        (Obligation.na_set_at.is_not(None), literal(ObligationStatus.NOT_APPLICABLE.value)),
        (and_(Obligation.cached_lapses_on.is_not(None), Obligation.cached_lapses_on < as_of),
         literal(ObligationStatus.NOT_APPLICABLE.value)),
        (and_(Obligation.cached_due_on.is_not(None), Obligation.cached_due_on < as_of),
         literal(ObligationStatus.OVERDUE.value)),
        (and_(Obligation.cached_due_on.is_not(None), Obligation.cached_due_on <= soon),
         literal(ObligationStatus.DUE_SOON.value)),
        else_=Obligation.cached_base,
    )


def update_obligation(actor: User, obligation: Obligation, *, owner: User | None, notes: str) -> None:
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


def set_not_applicable(actor: User, obligation: Obligation, reason: str | None) -> None:
    """Mark (reason given) or unmark (None) an obligation as not applicable."""
    if reason is not None:
        reason = reason.strip()
        if not reason:
            raise DomainError("Say why the obligation does not apply.", field="reason")
    if reason == obligation.na_reason:
        return
    before = obligation.na_reason
    obligation.na_reason = reason
    obligation.na_set_at = utcnow() if reason is not None else None
    refresh_cache([obligation])
    record(actor, "obligation.not_applicable" if reason else "obligation.applicable", obligation,
           {"reason": [before, reason]}, client_id=obligation.agreement.client_id)
