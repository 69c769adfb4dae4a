"""/api/v1 twins of the Art. 30(2) record page actions: the staff's review (clause 4.1) and the client's
requests for a copy (clause 4.2) or for documents (clause 11.1). Each calls the page's own service."""

from __future__ import annotations

from typing import Any

from marshmallow import validate

from dpa_tracker.api.common import blp, checked_first, current, fail, refused, require_write, visible
from dpa_tracker.api.obligations import EventOut
from dpa_tracker.api.schemas import EvidenceOut, StrictSchema, Text
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Client, Role
from dpa_tracker.record.services import client_request, mark_reviewed


class ReviewIn(StrictSchema):
    note = Text(
        load_default="",
        validate=validate.Length(max=4000),
        metadata={"description": "What was reviewed; empty: 'Record of processing reviewed.'"},
    )


class ClientRequestIn(StrictSchema):
    summary = Text(required=True, validate=validate.Length(min=1, max=4000))


def writable_record(client_id: int) -> None:
    visible(Client, client_id, lambda c: c.id)
    require_write()


def client_requester(client_id: int) -> None:
    visible(Client, client_id, lambda c: c.id)
    if current().role is not Role.CLIENT:
        fail(403, "Only the client's own users make its requests.")


@blp.route("/clients/<int:client_id>/record/reviews", methods=["POST"])
@checked_first(writable_record)
@blp.arguments(ReviewIn, example={"note": "Checked every activity against the March inventory."})
@blp.response(201, EvidenceOut(many=True))
def review_record_api(data: dict[str, Any], client_id: int) -> Any:
    """Record a review of the client's record: evidence on clause 4.1 of each agreement in force
    (compliance team and admins)."""
    client = db.get_or_404(Client, client_id)  # visibility and role: writable_record
    before = {e.id for o in _clause_obligations(client, "4.1") for e in o.evidence}
    try:
        mark_reviewed(current(), client, data["note"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return [e for o in _clause_obligations(client, "4.1") for e in o.evidence if e.id not in before]


def _clause_obligations(client: Client, clause: str) -> list[Any]:
    return [o for agreement in client.agreements for o in agreement.obligations if o.clause_number == clause]


def _request(client_id: int, clause: str, label: str, summary: str) -> Any:
    client = db.get_or_404(Client, client_id)  # visibility and role: client_requester
    try:
        events = client_request(current(), client, clause, label, summary)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return events


@blp.route("/clients/<int:client_id>/record/copy-requests", methods=["POST"])
@checked_first(client_requester)
@blp.arguments(ClientRequestIn, example={"summary": "For our DPO's annual review"})
@blp.response(201, EventOut(many=True))
def request_record_copy_api(data: dict[str, Any], client_id: int) -> Any:
    """Clause 4.2: ask for a copy of the record; the processor's clock starts now on each agreement in force
    (the client's own users only)."""
    return _request(client_id, "4.2", "Request for a copy of the record", data["summary"])


@blp.route("/clients/<int:client_id>/document-requests", methods=["POST"])
@checked_first(client_requester)
@blp.arguments(ClientRequestIn, example={"summary": "Your current ISO 27001 certificate"})
@blp.response(201, EventOut(many=True))
def request_documents_api(data: dict[str, Any], client_id: int) -> Any:
    """Clause 11.1: ask for documents showing compliance; the processor's clock starts now on each agreement
    in force (the client's own users only)."""
    return _request(client_id, "11.1", "Document request", data["summary"])
