"""/api/v1 twins of the agent register (clause 5): list, get, create, assign, attest, withdraw, mission, import.
Each calls the page's own service with the page's role and tenant rules; bad input is a 422 that writes nothing."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields, validate

from dpa_tracker import dates
from dpa_tracker.agent.clause5 import agent_authorisation
from dpa_tracker.agent.imports import ImportRefused, import_csv
from dpa_tracker.agent.services import (
    AgentInput,
    AttestationInput,
    add_attestation,
    agent_rows,
    assign,
    create_agent,
    end_mission,
    get_visible_agent,
    visible_assignments,
    withdraw_attestation,
)
from dpa_tracker.api.common import blp, checked_first, current, fail, refused, require_write
from dpa_tracker.api.paging import LINK_HEADER, PageQuery, page_of, paginate_list
from dpa_tracker.api.schemas import ID_RANGE, Line, QueryInteger, StrictSchema, Text
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.models import Agent, AgentAttestation, Agreement, AttestationKind, EmployerKind
from dpa_tracker.obligation.services import today
from dpa_tracker.permissions import can_see_client


class AgentQuery(PageQuery):
    agreement_id = QueryInteger(load_default=None, validate=ID_RANGE)
    authorised = fields.Boolean(load_default=None)
    expiring = fields.Boolean(load_default=False, metadata={"description": "Training expiring within 30 days"})
    as_of = dates.Date(load_default=None)


class AttestationOut(Schema):
    id = fields.Integer()
    kind = fields.Function(lambda a: a.kind.value)
    done_on = fields.Date()
    by_whom = fields.String()
    course = fields.String()
    provider = fields.String()
    note = fields.String()
    sha256 = fields.String(allow_none=True)
    filename = fields.String(allow_none=True)
    recorded_at = fields.DateTime()
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawn_reason = fields.String(allow_none=True)


class AssignmentOut(Schema):
    agreement_id = fields.Integer()
    agreement_reference = fields.Function(lambda a: a.agreement.reference)
    scope = fields.String()
    since_on = fields.Date()


class AgentOut(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String(allow_none=True)
    function = fields.String()
    employer_kind = fields.String()
    employer = fields.String()
    subprocessor_id = fields.Integer(allow_none=True)
    experience_note = fields.String()
    mission_ends_on = fields.Date(allow_none=True)
    access_removed_at = fields.DateTime(allow_none=True)
    authorised = fields.Boolean()
    missing = fields.List(fields.String())
    training_expires_on = fields.Date(allow_none=True)
    assignments = fields.List(fields.Nested(AssignmentOut))
    attestations = fields.List(fields.Nested(AttestationOut))


class AgentIn(StrictSchema):
    name = Line(required=True, validate=validate.Length(min=1, max=200))
    email = Line(load_default="", validate=validate.Length(max=254))
    function = Line(required=True, validate=validate.Length(min=1, max=200))
    employer_kind = fields.String(required=True, validate=validate.OneOf([k.value for k in EmployerKind]))
    employer_name = Line(load_default="", validate=validate.Length(max=200))
    subprocessor_id = fields.Integer(load_default=None, validate=ID_RANGE)
    experience_note = Text(load_default="", validate=validate.Length(max=4000))
    mission_ends_on = dates.Date(load_default=None)


class AssignIn(StrictSchema):
    agreement_id = fields.Integer(required=True, validate=ID_RANGE)
    scope = Text(required=True, validate=validate.Length(min=1, max=4000))
    since_on = dates.Date(required=True)


class AttestationFormIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in AttestationKind]))
    done_on = dates.Date(required=True)
    by_whom = Line(load_default="", validate=validate.Length(max=200))
    course = Line(load_default="", validate=validate.Length(max=200))
    provider = Line(load_default="", validate=validate.Length(max=200))
    note = Text(load_default="", validate=validate.Length(max=4000))


class CsvOrDocumentFile(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"})


class MissionIn(StrictSchema):
    mission_ends_on = dates.Date(required=True)
    access_removed = fields.Boolean(load_default=False)


class AttestationWithdrawIn(StrictSchema):
    reason = Line(required=True, validate=validate.Length(min=1, max=500))


class ImportOut(Schema):
    kind = fields.String()
    rows = fields.Integer()
    agents = fields.Integer()
    assignments = fields.Integer()
    trainings = fields.Integer()


def _out(agent: Agent) -> dict[str, Any]:
    status = agent_authorisation(agent, today())
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "function": agent.function,
        "employer_kind": agent.employer_kind.value,
        "employer": agent.employer,
        "subprocessor_id": agent.subprocessor_id,
        "experience_note": agent.experience_note,
        "mission_ends_on": agent.mission_ends_on,
        "access_removed_at": agent.access_removed_at,
        "authorised": status.authorised,
        "missing": list(status.missing),
        "training_expires_on": status.training_expires_on,
        "assignments": visible_assignments(current(), agent),
        "attestations": agent.attestations,
    }


def _visible_agent(agent_id: int) -> Agent:
    agent = get_visible_agent(current(), agent_id)
    if agent is None:
        fail(404, f"No agent with id {agent_id}.")
    return agent


def writable_agent(agent_id: int) -> None:
    _visible_agent(agent_id)
    require_write()


def writable_attestation(attestation_id: int) -> None:
    attestation = db.session.get(AgentAttestation, attestation_id)
    if attestation is None or get_visible_agent(current(), attestation.agent_id) is None:
        fail(404, f"No agent attestation with id {attestation_id}.")
    require_write()


@blp.route("/agents", methods=["GET"])
@blp.arguments(AgentQuery, location="query")
@blp.response(200, page_of(AgentOut), headers=LINK_HEADER)
def list_agents(query: dict[str, Any]) -> Any:
    """The agent register as the token's user may see it (clients and auditors: agents of their clients'
    agreements only), filtered by agreement, authorised or not, training expiring within 30 days."""
    rows = agent_rows(
        current(),
        query["as_of"] or today(),
        agreement_id=query["agreement_id"],
        authorised=query["authorised"],
        expiring=query["expiring"],
    )
    body, status, headers = paginate_list(rows, query)
    return {**body, "items": [_out(row.agent) for row in body["items"]]}, status, headers


@blp.route("/agents/<int:agent_id>", methods=["GET"])
@blp.response(200, AgentOut)
def get_agent(agent_id: int) -> Any:
    """One agent with its agreements and the history of its designation, commitment and trainings."""
    return _out(_visible_agent(agent_id))


@blp.route("/agents", methods=["POST"])
@checked_first(require_write)
@blp.arguments(
    AgentIn,
    example={"name": "A. Benali", "email": "a.benali@example.com", "function": "Support", "employer_kind": "processor"},
)
@blp.response(201, AgentOut)
def create_agent_api(data: dict[str, Any]) -> Any:
    """Add an agent to the register (compliance team and admins)."""
    try:
        agent = create_agent(current(), AgentInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return _out(agent)


@blp.route("/agents/<int:agent_id>/assignments", methods=["POST"])
@checked_first(writable_agent)
@blp.arguments(AssignIn, example={"agreement_id": 1, "scope": "Ticket history, read only", "since_on": "2026-02-01"})
@blp.response(201, AgentOut)
def assign_agent_api(data: dict[str, Any], agent_id: int) -> Any:
    """Let the agent work on an agreement, with the access granted (clauses 5.1, 5.3(1))."""
    agent = _visible_agent(agent_id)
    agreement = db.session.get(Agreement, data["agreement_id"])
    try:
        if agreement is None or not can_see_client(current(), agreement.client_id):
            raise DomainError(f"No agreement with id {data['agreement_id']}.", field="agreement_id")
        assign(current(), agent, agreement, data["scope"], data["since_on"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return _out(agent)


@blp.route("/agents/<int:agent_id>/attestations", methods=["POST"])
@checked_first(writable_agent)
@blp.arguments(AttestationFormIn, location="form")
@blp.arguments(CsvOrDocumentFile, location="files")
@blp.response(
    201,
    AttestationOut,
    example={
        "id": 7,
        "kind": "training",
        "done_on": "2026-10-01",
        "by_whom": "",
        "course": "GDPR basics",
        "provider": "CNIL MOOC",
        "note": "",
        "sha256": "9f2c8e1d4b7a6c5e3f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a",
        "filename": "certificate.pdf",
        "recorded_at": "2026-10-02T09:00:00+00:00",
        "withdrawn_at": None,
        "withdrawn_reason": None,
    },
)
def add_attestation_api(form: dict[str, Any], files: dict[str, Any], agent_id: int) -> Any:
    """Record a designation, confidentiality commitment or training (multipart, optional `file`)."""
    agent = _visible_agent(agent_id)
    file = request.files.get("file")
    upload = Upload(file.stream, file.filename or "document") if file is not None and file.filename else None
    try:
        attestation = add_attestation(current(), agent, AttestationInput(**form), upload)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return attestation


@blp.route("/agents/<int:agent_id>/mission", methods=["POST"])
@checked_first(writable_agent)
@blp.arguments(MissionIn, example={"mission_ends_on": "2026-06-30", "access_removed": True})
@blp.response(200, AgentOut)
def agent_mission_api(data: dict[str, Any], agent_id: int) -> Any:
    """Set the end of the agent's mission and confirm that their access was removed (clause 5.3(3))."""
    agent = _visible_agent(agent_id)
    try:
        end_mission(current(), agent, data["mission_ends_on"], data["access_removed"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return _out(agent)


@blp.route("/agent-attestations/<int:attestation_id>/withdraw", methods=["POST"])
@checked_first(writable_attestation)
@blp.arguments(AttestationWithdrawIn, example={"reason": "Recorded for the wrong agent."})
@blp.response(200, AttestationOut)
def withdraw_attestation_api(data: dict[str, Any], attestation_id: int) -> Any:
    """Withdraw a designation, commitment or training with the reason; it stays in the history."""
    attestation = db.session.get_one(AgentAttestation, attestation_id)  # checked_first answered 404 already
    try:
        withdraw_attestation(current(), attestation, data["reason"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return attestation


@blp.route("/agents/import", methods=["POST"])
@checked_first(require_write)
@blp.arguments(CsvOrDocumentFile, location="files")
@blp.response(
    201, ImportOut, example={"kind": "trainings", "rows": 5000, "agents": 0, "assignments": 0, "trainings": 5000}
)
def import_agents_api(files: dict[str, Any]) -> Any:
    """Import a CSV of agents or of trainings (multipart `file`): all rows, or nothing and a 422 listing
    each bad row with its number and reason."""
    file = request.files.get("file")
    if file is None or not file.filename:
        fail(422, "Send the CSV file as multipart field `file`.", "file")
    try:
        result = import_csv(current(), file.read(), file.filename)
    except ImportRefused as error:
        refused(error)
    db.session.commit()
    return result
