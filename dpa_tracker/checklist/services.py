"""Building the auditor's checklist as of a date, and auditors' comments on an obligation.

The checklist is read-only: it assesses each obligation as the status engine does on the date asked for
(``assess_agreement(as_of=...)``) and lists only the evidence recorded on or before that date, with its state on
that date. Evidence added later neither appears nor counts. Comments are the one thing written here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from flask import current_app
from sqlalchemy.orm import selectinload

from dpa_tracker.audit.anchor import chain_head
from dpa_tracker.audit.services import record
from dpa_tracker.errors import Conflict, DomainError
from dpa_tracker.evidence.store import EvidenceStore
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    ChecklistComment,
    Client,
    Evidence,
    EvidenceState,
    Obligation,
    Role,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import assess_agreement
from dpa_tracker.permissions import can_see_client, can_write
from dpa_tracker.reports.bundle import BundleFile, evidence_path

COMMENT_MAX = 5000


@dataclass(frozen=True)
class EvidenceLine:
    id: int
    name: str
    note: str
    link: str
    filename: str | None
    content_type: str | None
    size: int | None
    sha256: str | None
    added_by: str
    added_at: datetime
    acted_at: datetime | None
    period_start: date | None
    period_end: date | None
    valid_until: date | None
    state: str  # its state on the as-of date: active, superseded or withdrawn


@dataclass(frozen=True)
class CommentLine:
    id: int
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class ChecklistLine:
    obligation_id: int
    clause: str
    family: str  # the clause's top-level number: "8" for 8.1, 8.2 and 8.3
    section: str
    title: str
    summary: str
    gdpr_article: str
    status: str
    reason: str
    due_on: date | None
    evidence: list[EvidenceLine]
    comments: list[CommentLine]


@dataclass(frozen=True)
class AgreementChecklist:
    id: int
    reference: str
    title: str
    effective_on: date
    ends_on: date | None
    lines: list[ChecklistLine]


@dataclass(frozen=True)
class Checklist:
    client_id: int
    client: str
    scope: str  # "agreement" or "client"
    as_of: date
    generated_at: datetime
    audit_head_id: int | None
    audit_head_hash: str | None
    agreements: list[AgreementChecklist]

    @property
    def lines(self) -> list[ChecklistLine]:
        return [line for part in self.agreements for line in part.lines]

    @property
    def evidence(self) -> list[tuple[ChecklistLine, EvidenceLine]]:
        return [(line, e) for line in self.lines for e in line.evidence]

    @property
    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for line in self.lines:
            counts[line.status] += 1
        return dict(sorted(counts.items()))

    @property
    def subject(self) -> str:
        if self.scope == "agreement":
            return f"{self.agreements[0].reference} — {self.client}"
        return f"every agreement of {self.client}"


def clause_family(clause: str) -> str:
    head = clause.split(".", 1)[0]
    return head.split("(", 1)[0] or clause


def _state_on(evidence: Evidence, day: date) -> str:
    if evidence.ended_at is not None and evidence.ended_at.date() <= day:
        return evidence.state.value
    return EvidenceState.ACTIVE.value


def _evidence_line(evidence: Evidence, day: date) -> EvidenceLine:
    note_line = evidence.note.strip().splitlines()[0][:120] if evidence.note.strip() else ""
    return EvidenceLine(
        id=evidence.id,
        name=evidence.filename or note_line or evidence.link[:120] or f"evidence #{evidence.id}",
        note=evidence.note,
        link=evidence.link,
        filename=evidence.filename,
        content_type=evidence.content_type,
        size=evidence.size,
        sha256=evidence.sha256,
        added_by=evidence.added_by.email if evidence.added_by else "system",
        added_at=evidence.added_at,
        acted_at=evidence.acted_at,
        period_start=evidence.period_start,
        period_end=evidence.period_end,
        valid_until=evidence.valid_until,
        state=_state_on(evidence, day),
    )


def _comments_by_obligation(obligation_ids: Sequence[int]) -> dict[int, list[CommentLine]]:
    found: dict[int, list[CommentLine]] = defaultdict(list)
    if not obligation_ids:
        return found
    rows = db.session.scalars(
        db.select(ChecklistComment)
        .where(ChecklistComment.obligation_id.in_(obligation_ids))
        .options(selectinload(ChecklistComment.author))
        .order_by(ChecklistComment.created_at, ChecklistComment.id)
    )
    for c in rows:
        found[c.obligation_id].append(CommentLine(c.id, c.author.email, c.body, c.created_at))
    return found


def _agreement_part(agreement: Agreement, day: date) -> AgreementChecklist:
    assessed = assess_agreement(agreement, day)
    # The engine loaded the evidence; who added it is loaded once for all (no query per row).
    evidence_ids = [e.id for o, _ in assessed for e in o.evidence]
    if evidence_ids:
        db.session.scalars(
            db.select(Evidence).where(Evidence.id.in_(evidence_ids)).options(selectinload(Evidence.added_by))
        ).all()
    comments = _comments_by_obligation([o.id for o, _ in assessed])
    lines = [
        ChecklistLine(
            obligation_id=o.id,
            clause=o.clause_number,
            family=clause_family(o.clause_number),
            section=o.section,
            title=o.title,
            summary=o.summary,
            gdpr_article=o.gdpr_article,
            status=a.status.value,
            reason=a.reason,
            due_on=a.due_on,
            evidence=[_evidence_line(e, day) for e in o.evidence if e.added_at.date() <= day],
            comments=comments.get(o.id, []),
        )
        for o, a in assessed
    ]
    return AgreementChecklist(
        agreement.id, agreement.reference, agreement.title, agreement.effective_on, agreement.ends_on, lines
    )


def _checklist(client: Client, scope: str, agreements: Sequence[Agreement], day: date) -> Checklist:
    head = chain_head()
    return Checklist(
        client_id=client.id,
        client=client.legal_name,
        scope=scope,
        as_of=day,
        generated_at=utcnow(),
        audit_head_id=head.id if head else None,
        audit_head_hash=head.hash if head else None,
        agreements=[_agreement_part(a, day) for a in agreements],
    )


def agreement_checklist(agreement: Agreement, day: date) -> Checklist:
    return _checklist(agreement.client, "agreement", [agreement], day)


def client_checklist(client: Client, day: date) -> Checklist:
    """Every agreement of the client in force at some point by ``day`` (drafts and later ones are left out)."""
    agreements = db.session.scalars(
        db.select(Agreement)
        .where(
            Agreement.client_id == client.id,
            Agreement.status != AgreementStatus.DRAFT,
            Agreement.effective_on <= day,
        )
        .order_by(Agreement.effective_on, Agreement.id)
    ).all()
    return _checklist(client, "client", agreements, day)


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def checklist_data(checklist: Checklist) -> dict[str, Any]:
    """The checklist as plain JSON values (the API, the bundle's manifest, the PDF's input)."""
    return {
        "client": {"id": checklist.client_id, "legal_name": checklist.client},
        "scope": checklist.scope,
        "as_of": checklist.as_of.isoformat(),
        "generated_at": checklist.generated_at.isoformat(),
        "audit_head": {"event_id": checklist.audit_head_id, "hash": checklist.audit_head_hash},
        "status_counts": checklist.status_counts,
        "agreements": [
            {
                "id": part.id,
                "reference": part.reference,
                "title": part.title,
                "effective_on": part.effective_on.isoformat(),
                "ends_on": _iso(part.ends_on),
                "obligations": [
                    {
                        "obligation_id": line.obligation_id,
                        "clause": line.clause,
                        "family": line.family,
                        "section": line.section,
                        "title": line.title,
                        "summary": line.summary,
                        "gdpr_article": line.gdpr_article,
                        "status": line.status,
                        "reason": line.reason,
                        "due_on": _iso(line.due_on),
                        "evidence": [
                            {
                                "id": e.id,
                                "name": e.name,
                                "note": e.note,
                                "link": e.link,
                                "filename": e.filename,
                                "content_type": e.content_type,
                                "size": e.size,
                                "sha256": e.sha256,
                                "added_by": e.added_by,
                                "added_at": e.added_at.isoformat(),
                                "acted_at": _iso(e.acted_at),
                                "period_start": _iso(e.period_start),
                                "period_end": _iso(e.period_end),
                                "valid_until": _iso(e.valid_until),
                                "state": e.state,
                            }
                            for e in line.evidence
                        ],
                        "comments": [
                            {"id": c.id, "author": c.author, "body": c.body, "created_at": c.created_at.isoformat()}
                            for c in line.comments
                        ],
                    }
                    for line in part.lines
                ],
            }
            for part in checklist.agreements
        ],
    }


def can_comment(user: User, client_id: int) -> bool:
    """Auditors assigned to the client and processor staff comment; clients never do."""
    if can_write(user):
        return True
    return user.role is Role.AUDITOR and can_see_client(user, client_id)


def add_comment(actor: User, obligation: Obligation, body: str) -> ChecklistComment:
    """Keep an auditor's remark on an obligation; it is never edited nor deleted afterwards."""
    client_id = obligation.agreement.client_id
    if not can_comment(actor, client_id):
        raise DomainError("Only the client's auditors and the compliance team comment on the checklist.")
    text = (body or "").strip()
    if not text:
        raise DomainError("Write the comment.", field="body")
    if len(text) > COMMENT_MAX:
        raise DomainError(f"A comment holds at most {COMMENT_MAX} characters.", field="body")
    comment = ChecklistComment(obligation_id=obligation.id, author_id=actor.id, body=text, created_at=utcnow())
    db.session.add(comment)
    db.session.flush()
    record(actor, "checklist.comment", obligation, {"comment_id": comment.id, "body": text}, client_id=client_id)
    return comment


def comments_of(obligation: Obligation) -> list[CommentLine]:
    return _comments_by_obligation([obligation.id]).get(obligation.id, [])


def bundle_files(checklist: Checklist, store: EvidenceStore) -> list[BundleFile]:
    """Every evidence file of the checklist, checked against its recorded hash before a byte is sent.

    Raises Conflict (409) naming the first file missing or altered: the bundle is refused, never sent
    with a file that does not match what the checklist says. The stream checks each hash again."""
    files = [
        BundleFile(
            path=evidence_path(line.clause, e.id, e.filename or f"evidence-{e.id}"),
            open=partial(store.open, e.sha256),
            sha256=e.sha256,
            size=e.size,
            evidence_id=e.id,
        )
        for line, e in checklist.evidence
        if e.sha256 is not None
    ]
    for problem in store.verify(sorted({f.sha256 for f in files})):
        current_app.logger.error("evidence file %s is %s", problem.sha256, problem.problem)
        raise Conflict(
            f"The stored file with SHA-256 {problem.sha256} is {problem.problem}: the bundle is refused. "
            "Run `flask evidence verify` and restore it from backup."
        )
    return files
