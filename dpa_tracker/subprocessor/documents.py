"""Clauses 6.2 and 6.3 decided by the documents held per sub-processor, for every agreement that uses it.

A guarantee (6.2: questionnaire, certification, audit report) or a flow-down contract (6.3) is kept once, on
the sub-processor, with its validity date. On a date, an agreement's 6.2 (6.3) is decided by the documents of
every sub-processor it authorises on that date: each one needs a current document; one missing or expired makes
the duty overdue for every agreement using that sub-processor, naming it. When all are current, the duty is met
until the first of them expires (a 6.2 document without a validity date counts for the rule's ``every_months``).

An agreement that authorises no sub-processor on the date is not decided here: its obligation's own evidence
decides (e.g. a statement that no sub-processor is engaged), or it is marked not applicable. "No sub-processor
recorded" is not proof that none is used, so it never turns the duty green by itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from dpa_tracker.extensions import db
from dpa_tracker.models import DocumentKind, Obligation, SupportingDocument
from dpa_tracker.obligation.status import add_months
from dpa_tracker.subprocessor.authorised import AuthorisedEntry, authorised_for_agreements

REQUIRED_KIND = {"subprocessor_guarantees": DocumentKind.GUARANTEE, "subprocessor_flow_down": DocumentKind.FLOW_DOWN}
LABEL = {
    DocumentKind.GUARANTEE: "guarantees document (clause 6.2)",
    DocumentKind.FLOW_DOWN: "flow-down contract (clause 6.3)",
}


@dataclass(frozen=True)
class CombinedDocuments:
    """The sub-processors' documents seen by the status engine as one piece of evidence (``EvidenceLike``)."""

    added_at: datetime
    valid_until: date | None
    ended_at: datetime | None = None
    period_end: date | None = None
    trigger_event_id: int | None = None
    acted_at: datetime | None = None


@dataclass(frozen=True)
class DocumentInputs:
    evidence: list[CombinedDocuments]
    blockers: list[str]
    summary: str = ""
    names: list[str] = field(default_factory=list)


def _counts_on(document: SupportingDocument, day: date) -> bool:
    return document.added_at.date() <= day and (document.withdrawn_at is None or document.withdrawn_at.date() > day)


def document_inputs(obligation: Obligation, as_of: date) -> DocumentInputs | None:
    """The engine's evidence and blockers for a 6.2/6.3 obligation on ``as_of``; None when the rule does not
    ask for them or the agreement authorises no sub-processor that day (its own evidence then decides)."""
    return inputs_by_obligation([obligation], as_of).get(obligation.id)


def inputs_by_obligation(
    obligations: Sequence[Obligation], as_of: date, authorised: Mapping[int, list[AuthorisedEntry]] | None = None
) -> dict[int, DocumentInputs | None]:
    """``document_inputs`` for many obligations in a fixed number of queries (pages that list many);
    ``authorised``: their agreements' authorised sub-processors (``authorised_for_agreements``) when already read."""
    wanted = [o for o in obligations if o.rule.get("requires") in REQUIRED_KIND]
    if not wanted:
        return {}
    if authorised is None:
        authorised = authorised_for_agreements({o.agreement_id for o in wanted}, as_of)
    sub_ids = {e.subprocessor.id for agreement_id in {o.agreement_id for o in wanted} for e in authorised[agreement_id]}
    documents = (
        [
            d
            for d in db.session.scalars(
                select(SupportingDocument).where(
                    SupportingDocument.kind.in_(list(REQUIRED_KIND.values())),
                    SupportingDocument.subprocessor_id.in_(sub_ids),
                )
            )
            if _counts_on(d, as_of)
        ]
        if sub_ids
        else []
    )
    result: dict[int, DocumentInputs | None] = {}
    for obligation in wanted:
        kind = REQUIRED_KIND[obligation.rule["requires"]]
        entries = authorised.get(obligation.agreement_id, [])
        result[obligation.id] = (
            _decide(obligation.rule, kind, entries, [d for d in documents if d.kind is kind], as_of)
            if entries
            else None
        )
    return result


def _expiry(rule: Mapping[str, Any], document: SupportingDocument) -> date | None:
    if document.valid_until is not None:
        return document.valid_until
    if rule["type"] == "recurring":
        return add_months(document.added_at.date(), int(rule.get("every_months", 12)))
    return None


def _decide(
    rule: Mapping[str, Any], kind: DocumentKind, entries: list[Any], documents: list[SupportingDocument], as_of: date
) -> DocumentInputs:
    label = LABEL[kind]
    blockers: list[str] = []
    expiries: list[date] = []
    added: list[datetime] = []
    for entry in entries:
        name = entry.subprocessor.legal_name
        mine = [d for d in documents if d.subprocessor_id == entry.subprocessor.id]
        if not mine:
            blockers.append(f"No {label} on file for {name}, authorised since {entry.since_on}")
            continue
        ends = [_expiry(rule, d) for d in mine]
        best = None if None in ends else max(e for e in ends if e is not None)
        if best is not None and best < as_of:
            blockers.append(f"The {label} of {name} expired on {best}")
            continue
        if best is not None:
            expiries.append(best)
        added.append(max(d.added_at for d in mine))
    names = [e.subprocessor.legal_name for e in entries]
    if blockers:
        return DocumentInputs([], blockers, names=names)
    summary = f"Current {label} for each of {len(names)} sub-processor(s): {', '.join(names)}"
    return DocumentInputs([CombinedDocuments(max(added), min(expiries) if expiries else None)], [], summary, names)
