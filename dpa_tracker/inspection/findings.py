"""Audit findings as a fact of the clause they concern (clause 11.2): a finding open past its due date turns that
clause's obligation ``overdue``, the reason naming the finding; an open finding not yet due is a due date of the
obligation (``due soon`` when near). A finding closed with evidence (a date and a file) no longer counts from its
closing day, so the obligation goes back to what its own evidence says. Read for many obligations in one query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dpa_tracker.extensions import db
from dpa_tracker.models import Finding, Obligation, ObligationStatus
from dpa_tracker.obligation.status import Assessment, project


@dataclass(frozen=True)
class OpenFinding:
    id: int
    severity: str
    description: str
    due_on: date


def finding_inputs(
    obligations: Sequence[Obligation], as_of: date, fixed_queries: bool = False
) -> dict[int, list[OpenFinding]]:
    """{obligation id: its findings open on ``as_of``} in one query (made even when none is listed, so that a
    page's statement count does not depend on the findings; with ``fixed_queries`` even for no obligations)."""
    if not obligations and not fixed_queries:
        return {}
    rows = db.session.scalars(
        select(Finding)
        .where(Finding.obligation_id.in_(sorted({o.id for o in obligations})))
        .options(selectinload(Finding.closure))
        .order_by(Finding.due_on, Finding.id)
    ).all()
    found: dict[int, list[OpenFinding]] = defaultdict(list)
    for f in rows:
        if f.open_on(as_of):
            found[f.obligation_id].append(OpenFinding(f.id, f.severity.value, f.description, f.due_on))
    return dict(found)


def _words(finding: OpenFinding) -> str:
    text = finding.description if len(finding.description) <= 80 else finding.description[:77] + "…"
    return f"audit finding #{finding.id} ({finding.severity}) “{text}”"


def apply_findings(result: Assessment, findings: Sequence[OpenFinding], as_of: date, window: int) -> Assessment:
    """Pure: the assessment with the open findings of its clause folded in (earliest due date first)."""
    if not findings or result.status is ObligationStatus.NOT_APPLICABLE:
        return result
    first = min(findings, key=lambda f: (f.due_on, f.id))
    due_on = first.due_on if result.due_on is None else min(result.due_on, first.due_on)
    status = project(result.base, due_on, result.lapses_on, as_of, window, result.late_until)
    more = f" (+{len(findings) - 1} more open)" if len(findings) > 1 else ""
    if status is ObligationStatus.OVERDUE and as_of > first.due_on:
        reason = f"Open {_words(first)} past its due date {first.due_on}{more}. {result.reason}"
    else:
        reason = f"{result.reason}. Open {_words(first)} due on {first.due_on}{more}"
    return replace(result, status=status, reason=reason, due_on=due_on)
