"""/api/v1 twins of the obligation and evidence pages: events, awareness, applicability, owner and notes,
withdrawal. Each calls the page's own service function, with the page's role and tenant checks."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager, selectinload

from dpa_tracker.api.common import (
    ETAG_HEADER,
    blp,
    checked_first,
    current,
    etagged,
    fail,
    if_match,
    obligation_row,
    refused,
    require_write,
    visible,
    writable_obligation,
)
from dpa_tracker.api.filters import ObligationListQuery
from dpa_tracker.api.paging import LINK_HEADER, Key, page_of, paginate
from dpa_tracker.api.schemas import ID_RANGE, EvidenceOut, ObligationOut, StrictSchema, Text
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import withdraw_evidence
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Evidence, Obligation, TriggerEvent, User
from dpa_tracker.obligation.events import record_event, set_awareness
from dpa_tracker.obligation.services import (
    assess_many,
    assess_obligation,
    due_soon_days,
    obligation_loader,
    set_not_applicable,
    status_expression,
    today,
    update_obligation,
)
from dpa_tracker.permissions import client_filter


class EventIn(StrictSchema):
    occurred_at = fields.AwareDateTime(
        required=True,
        metadata={
            "description": "When the event happened (ISO 8601 with a time zone); not in the future, not before the "
            "agreement's effective date."
        },
    )
    aware_at = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "When the processor became aware (the clock starts here); empty: when it happened."},
    )
    summary = Text(required=True, validate=validate.Length(min=1, max=5000))


class AwarenessIn(StrictSchema):
    aware_at = fields.AwareDateTime(
        required=True,
        metadata={
            "description": "When the processor became aware (back-dating allowed; never before the event, never "
            "in the future)."
        },
    )


class NotApplicableIn(StrictSchema):
    reason = Text(required=True, validate=validate.Length(min=1, max=2000))


class ObligationPatch(StrictSchema):
    owner_id = fields.Integer(
        strict=True,
        allow_none=True,
        validate=ID_RANGE,
        metadata={"description": "A compliance or admin user's id; null: nobody. Left out: unchanged."},
    )
    notes = Text(validate=validate.Length(max=10000), metadata={"description": "Left out: unchanged."})


class WithdrawIn(StrictSchema):
    reason = Text(required=True, validate=validate.Length(min=1, max=2000))


class EventOut(Schema):
    id = fields.Integer()
    obligation_id = fields.Integer()
    occurred_at = fields.DateTime()
    aware_at = fields.DateTime(allow_none=True)
    clock_starts_at = fields.DateTime()
    summary = fields.String()
    recorded_at = fields.DateTime()
    recorded_by = fields.Function(lambda e: e.recorded_by.email if e.recorded_by else None)


def obligation_out(obligation: Obligation) -> dict[str, Any]:
    """The obligation as GET /agreements/<id>/obligations lists it, assessed as of today."""
    return obligation_row(obligation, assess_obligation(obligation))


def obligation_representation(obligation_id: int) -> dict[str, Any]:
    """What GET /obligations/<id> answers: its ETag guards the updates (If-Match)."""
    return obligation_out(db.session.get_one(Obligation, obligation_id))  # checked_first answered 404 already


_OBLIGATION_ETAG = if_match(ObligationOut(), obligation_representation)


@blp.route("/obligations", methods=["GET"])
@blp.arguments(ObligationListQuery, location="query")
@blp.response(200, page_of(ObligationOut), headers=LINK_HEADER)
def list_all_obligations(query: dict[str, Any]) -> Any:
    """The obligations of every agreement this token may see, by id, with today's status. Status and due-date
    filters read the projection the dashboard counts (refreshed on every change and daily)."""
    stmt = (
        select(Obligation)
        .join(Obligation.agreement)
        .join(Agreement.client)
        .where(client_filter(current(), Agreement.client_id))
        .options(
            contains_eager(Obligation.agreement).contains_eager(Agreement.client),
            selectinload(Obligation.owner),
            *obligation_loader(),
        )
    )
    if query["agreement_id"] is not None:
        stmt = stmt.where(Obligation.agreement_id == query["agreement_id"])
    if query["client_id"] is not None:
        stmt = stmt.where(Agreement.client_id == query["client_id"])
    if query["clause"]:
        clause = query["clause"]
        stmt = stmt.where(
            or_(Obligation.clause_number == clause, Obligation.clause_number.startswith(clause + ".", autoescape=True))
        )
    if query["owner"]:
        stmt = stmt.where(Obligation.owner.has(User.email == query["owner"].lower()))
    if query["status"]:
        stmt = stmt.where(status_expression(today(), due_soon_days()) == query["status"])
    if query["due_after"]:
        stmt = stmt.where(Obligation.cached_due_on >= query["due_after"])
    if query["due_before"]:
        stmt = stmt.where(Obligation.cached_due_on <= query["due_before"])
    return paginate(
        stmt, [Key(Obligation.id)], query, render=lambda page: [obligation_row(o, a) for o, a in assess_many(page)]
    )


@blp.route("/obligations/<int:obligation_id>", methods=["GET"])
@etagged
@blp.response(200, ObligationOut, headers=ETAG_HEADER)
def get_obligation(obligation_id: int) -> Any:
    """One obligation with today's status; its ETag is what If-Match compares on the obligation's updates."""
    return obligation_out(visible(Obligation, obligation_id, lambda o: o.agreement.client_id))


def writable_event(obligation_id: int, event_id: int) -> None:
    writable_obligation(obligation_id)
    event = db.session.get(TriggerEvent, event_id)
    if event is None or event.obligation_id != obligation_id:
        fail(404, f"Obligation {obligation_id} has no event with id {event_id}.")


def writable_evidence(evidence_id: int) -> None:
    visible(Evidence, evidence_id, lambda e: e.obligation.agreement.client_id)
    require_write()


@blp.route("/obligations/<int:obligation_id>/events", methods=["POST"])
@checked_first(writable_obligation)
@blp.arguments(
    EventIn,
    example={
        "occurred_at": "2026-02-01T10:00:00+00:00",
        "aware_at": "2026-02-01T14:30:00+00:00",
        "summary": "Laptop with customer exports lost on a train",
    },
)
@blp.response(201, EventOut)
def record_event_api(data: dict[str, Any], obligation_id: int) -> Any:
    """Record an event (a breach, a request...): its clock starts when the processor became aware
    (compliance team and admins; event-driven and on-request obligations only)."""
    obligation = db.get_or_404(Obligation, obligation_id)  # visibility and role: writable_obligation
    try:
        event = record_event(
            current(), obligation, occurred_at=data["occurred_at"], aware_at=data["aware_at"], summary=data["summary"]
        )
    except DomainError as error:
        refused(error)
    db.session.commit()
    return event


@blp.route("/obligations/<int:obligation_id>/events/<int:event_id>/awareness", methods=["PUT"])
@checked_first(writable_event)
@blp.arguments(AwarenessIn, example={"aware_at": "2026-02-01T12:00:00+00:00"})
@blp.response(200, EventOut)
def correct_awareness_api(data: dict[str, Any], obligation_id: int, event_id: int) -> Any:
    """Correct when the processor became aware of an event; its clock starts there (audited with the old value)."""
    event = db.get_or_404(TriggerEvent, event_id)  # visibility, role and parent: writable_event
    try:
        set_awareness(current(), event, data["aware_at"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return event


@blp.route("/obligations/<int:obligation_id>/not-applicable", methods=["PUT"])
@checked_first(writable_obligation)
@_OBLIGATION_ETAG
@blp.arguments(NotApplicableIn, example={"reason": "The client sends us no special-category data."})
@blp.response(200, ObligationOut, headers=ETAG_HEADER)
def mark_not_applicable_api(data: dict[str, Any], obligation_id: int) -> Any:
    """Mark the obligation not applicable, with the reason (a new reason replaces the old mark; audited)."""
    obligation = db.get_or_404(Obligation, obligation_id)  # visibility and role: writable_obligation
    try:
        set_not_applicable(current(), obligation, data["reason"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return obligation_out(obligation)


@blp.route("/obligations/<int:obligation_id>/not-applicable", methods=["DELETE"])
@checked_first(writable_obligation)
@_OBLIGATION_ETAG
@blp.response(
    200,
    ObligationOut,
    example={
        "id": 42,
        "agreement_id": 7,
        "clause_number": "8.1",
        "section": "Personal data breaches",
        "title": "Notify the controller of a breach",
        "summary": "Without undue delay, within 48 hours",
        "gdpr_article": "33(2)",
        "rule_type": "event",
        "status": "ok",
        "reason": "No event recorded",
        "due_on": None,
        "owner": "karim@altinsoft.example",
        "notes": "Checked with the DPO in March.",
    },
)
def clear_not_applicable_api(obligation_id: int) -> Any:
    """The obligation applies again (audited; the earlier mark stays in its history)."""
    obligation = db.get_or_404(Obligation, obligation_id)  # visibility and role: writable_obligation
    try:
        set_not_applicable(current(), obligation, None)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return obligation_out(obligation)


@blp.route("/obligations/<int:obligation_id>", methods=["PATCH"])
@checked_first(writable_obligation)
@_OBLIGATION_ETAG
@blp.arguments(ObligationPatch, example={"owner_id": 3, "notes": "Checked with the DPO in March."})
@blp.response(200, ObligationOut, headers=ETAG_HEADER)
def update_obligation_api(data: dict[str, Any], obligation_id: int) -> Any:
    """Change the obligation's owner and/or notes (audited)."""
    obligation = db.get_or_404(Obligation, obligation_id)  # visibility and role: writable_obligation
    owner = obligation.owner
    if "owner_id" in data:
        owner = db.session.get(User, data["owner_id"]) if data["owner_id"] is not None else None
        if data["owner_id"] is not None and owner is None:
            fail(422, "owner_id names no user.", "owner_id")
    try:
        update_obligation(current(), obligation, owner=owner, notes=data.get("notes", obligation.notes))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return obligation_out(obligation)


@blp.route("/evidence/<int:evidence_id>/withdraw", methods=["POST"])
@checked_first(writable_evidence)
@blp.arguments(WithdrawIn, example={"reason": "Uploaded to the wrong obligation."})
@blp.response(200, EvidenceOut)
def withdraw_evidence_api(data: dict[str, Any], evidence_id: int) -> Any:
    """Withdraw active evidence with the reason; it stays in the history (audited)."""
    evidence = db.get_or_404(Evidence, evidence_id)  # visibility and role: writable_evidence
    try:
        withdraw_evidence(current(), evidence, data["reason"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return evidence
