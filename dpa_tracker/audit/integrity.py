"""What the audit chain says was stored, checked against what is stored now.

Each event that records a stored thing (evidence and its file, a record version handed out, a
supporting document and its file, a client's answer to a notice, a sent notice e-mail) carries
its SHA-256 in ``changes``. The chain, not the row, is then the reference: a tamperer who drops
the triggers and rewrites a row *and* its hash column still disagrees with the event, and
rewriting the event breaks the chain (or, recomputed, the anchors kept elsewhere).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from dpa_tracker.evidence.store import EvidenceStore
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    AuditEvent,
    DeliveryState,
    Evidence,
    EvidenceState,
    NoticeDelivery,
    NoticeRecipient,
    RecordVersion,
    SupportingDocument,
)

# Record versions hold a whole record each: load few at a time.
_ROWS_PER_QUERY = {RecordVersion: 50}
_DEFAULT_ROWS_PER_QUERY = 500


def answer_sha256(recipient: NoticeRecipient) -> str:
    """The canonical fingerprint of a client's answer to a notice (clause 6.1), as its audit event records it."""
    payload = {
        "recipient_id": recipient.id,
        "notice_id": recipient.notice_id,
        "agreement_id": recipient.agreement_id,
        "state": recipient.state.value,
        "answered_at": recipient.answered_at.isoformat(timespec="microseconds") if recipient.answered_at else None,
        "answered_by_id": recipient.answered_by_id,
        "reason": recipient.answer_reason,
    }
    if recipient.objection_consequence is not None:  # absent before migration 0011: older hashes stay valid
        payload["consequence"] = recipient.objection_consequence.value
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def text_sha256(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Reference:
    """One event's claim about a stored row (and maybe a file)."""

    event_id: int
    action: str
    model: type[Any]
    object_id: int
    changes: dict[str, Any]


# The events that record a stored thing, and the model of the row they name.
REFERENCING_ACTIONS: dict[str, type[Any]] = {
    "evidence.add": Evidence,
    "evidence.withdraw": Evidence,
    "record.hand_out": RecordVersion,
    "document.add": SupportingDocument,
    "notice.approve": NoticeRecipient,
    "notice.object": NoticeRecipient,
    "notice.delivered": NoticeDelivery,
}
_LABEL = {
    Evidence: "evidence",
    RecordVersion: "record version",
    SupportingDocument: "supporting document",
    NoticeRecipient: "notice answer",
    NoticeDelivery: "notice e-mail",
}


def references(events: Iterable[AuditEvent]) -> list[Reference]:
    return [
        Reference(e.id, e.action, REFERENCING_ACTIONS[e.action], e.object_id, e.changes)
        for e in events
        if e.action in REFERENCING_ACTIONS and e.object_id is not None
    ]


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _differs(row: Any, changes: dict[str, Any], columns: dict[str, str]) -> list[str]:
    """The recorded fields (``changes`` key -> row column) that the row no longer holds."""
    return [key for key, column in columns.items() if key in changes and _plain(getattr(row, column)) != changes[key]]


def _row_problems(ref: Reference, row: Any, heads: dict[int, str]) -> list[str]:
    c = ref.changes
    if ref.action == "evidence.add":
        changed = _differs(
            row,
            c,
            {
                "sha256": "sha256",
                "filename": "filename",
                "note": "note",
                "link": "link",
                "obligation_id": "obligation_id",
                "valid_until": "valid_until",
            },
        )
    elif ref.action == "evidence.withdraw":
        changed = [] if row.state is EvidenceState.WITHDRAWN else ["state"]
        changed += _differs(row, c, {"reason": "end_reason"})
    elif ref.action == "document.add":
        changed = _differs(row, c, {"sha256": "sha256", "filename": "filename", "valid_until": "valid_until"})
    elif ref.action == "record.hand_out":
        changed = _differs(
            row, c, {"sha256": "content_sha256", "number": "number", "format": "handed_out_as", "as_of": "as_of"}
        )
        if "sha256" in c and text_sha256(row.content) != c["sha256"]:
            changed.append("content")
        head = c.get("audit_head")
        if head:
            changed += _differs(row, head, {"event_id": "audit_head_id", "hash": "audit_head_hash"})
            if heads.get(head["event_id"]) != head["hash"]:
                return [
                    f"the chain head printed on record version {row.number} (event {head['event_id']}, "
                    f"{head['hash'][:12]}…) is no longer in the log: the chain was rewritten"
                ]
    elif ref.action in ("notice.approve", "notice.object"):
        wanted = "approved" if ref.action == "notice.approve" else "objected"
        changed = [] if row.state.value == wanted else ["state"]
        if "sha256" in c and answer_sha256(row) != c["sha256"]:
            changed.append("answer")
    else:  # notice.delivered
        changed = [] if row.state is DeliveryState.SENT else ["state"]
        changed += _differs(row, c, {"sha256": "message_sha256", "email": "email", "message_id": "message_id"})
    if not changed:
        return []
    return [f"{_LABEL[ref.model]} {ref.object_id} no longer matches what the event recorded ({', '.join(changed)})"]


def _recorded_heads(refs: Sequence[Reference]) -> dict[int, str]:
    ids = sorted({r.changes["audit_head"]["event_id"] for r in refs if r.changes.get("audit_head")})
    heads: dict[int, str] = {}
    for start in range(0, len(ids), _DEFAULT_ROWS_PER_QUERY):
        chunk = ids[start : start + _DEFAULT_ROWS_PER_QUERY]
        found = db.session.execute(select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.id.in_(chunk)))
        heads.update((event_id, hash_) for event_id, hash_ in found)
    return heads


def reference_problems(refs: Sequence[Reference], store: EvidenceStore) -> Iterator[tuple[int, str]]:
    """(event id, problem) for each referenced row missing or changed, and each referenced file missing or altered.

    Rows are loaded a chunk at a time, one query per table, and let go once checked."""
    wanted: dict[type[Any], dict[int, list[Reference]]] = {}
    for ref in refs:
        wanted.setdefault(ref.model, {}).setdefault(ref.object_id, []).append(ref)
    heads = _recorded_heads(refs)
    files: dict[str, list[int]] = {}
    for model, by_id in wanted.items():
        ids = sorted(by_id)
        step = _ROWS_PER_QUERY.get(model, _DEFAULT_ROWS_PER_QUERY)
        for start in range(0, len(ids), step):
            chunk = ids[start : start + step]
            rows = {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(chunk)))}
            for object_id in chunk:
                for ref in by_id[object_id]:
                    row = rows.get(object_id)
                    if row is None:
                        yield ref.event_id, f"{_LABEL[model]} {object_id} is missing from the database"
                        continue
                    for problem in _row_problems(ref, row, heads):
                        yield ref.event_id, problem
                    sha = ref.changes.get("sha256")
                    if (
                        sha
                        and model in (Evidence, SupportingDocument, NoticeDelivery)
                        and ref.action != "evidence.withdraw"
                    ):
                        files.setdefault(sha, []).append(ref.event_id)
            for row in rows.values():
                db.session.expunge(row)
    for blob in store.verify(files):
        for event_id in files[blob.sha256]:
            yield event_id, f"file {blob.sha256} is {blob.problem} ({store.path_for(blob.sha256)})"
