"""/api/v1 twins of the data-subject request and instruction pages (clauses 9.1, 3.1(3), 3.1(6)-(7)). Each
calls the page's service with the page's role and tenant checks; a client's token sees only its own."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from dpa_tracker.api.common import blp, checked_first, current, fail, refused, require_write
from dpa_tracker.api.paging import LINK_HEADER, Key, PageQuery, page_of, paginate
from dpa_tracker.api.schemas import ID_RANGE, Line, QueryInteger, StrictSchema, Text
from dpa_tracker.dsr.notices import queue_flag_notice, queue_forward
from dpa_tracker.dsr.services import (
    HELP_CLAUSES,
    InstructionInput,
    RequestInput,
    add_help_request,
    controller_answer_on,
    flag_unlawful,
    forward_due_at,
    forward_state,
    forward_target,
    forwarded_at,
    instructions_query,
    live_agreements,
    log_request,
    record_instruction,
    refuse_answer,
    requests_query,
)
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, DataSubjectRequest, Instruction, RequestChannel, RequestType

_CHANNELS = validate.OneOf([c.value for c in RequestChannel])


class RequestIn(StrictSchema):
    agreement_id = fields.Integer(strict=True, required=True, validate=ID_RANGE)
    received_at = fields.AwareDateTime(required=True, metadata={"description": "Receipt (ISO 8601 with zone)"})
    channel = fields.String(required=True, validate=_CHANNELS)
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in RequestType]))
    subject_reference = Line(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "A reference to the data subject, never the request's content"},
    )


class SubjectAnswerIn(StrictSchema):
    answer = Text(load_default="", validate=validate.Length(max=4000))


class DsrHelpIn(StrictSchema):
    clause_number = fields.String(required=True, validate=validate.OneOf(HELP_CLAUSES))
    received_at = fields.AwareDateTime(required=True)


class RequestNoticeOut(Schema):
    id = fields.Integer()
    email = fields.String()
    state = fields.String()
    sent_at = fields.DateTime(allow_none=True)
    message_sha256 = fields.String(allow_none=True)


class DsrHelpOut(Schema):
    id = fields.Integer()
    clause_number = fields.String()
    event_id = fields.Integer()


class RequestOut(Schema):
    id = fields.Integer()
    agreement_id = fields.Integer()
    agreement = fields.String()
    client = fields.String()
    received_at = fields.DateTime()
    channel = fields.String()
    type = fields.String()
    subject_reference = fields.String()
    event_id = fields.Integer()
    forward_due_at = fields.DateTime(
        metadata={
            "description": "End (23:59:59 UTC) of the dsr_forward_days-th working day after receipt, on the "
            "processor's working-day calendar (its country's weekends and public holidays)"
        }
    )
    forward_target = fields.String(metadata={"description": 'How the target is counted: "2 working days, DZ calendar"'})
    forwarded_at = fields.DateTime(allow_none=True)
    forward_state = fields.String(metadata={"description": "running, queued, overdue, met or late"})
    controller_answer_on = fields.Date(metadata={"description": "Receipt + 1 month (Art. 12(3)), for context"})
    notices = fields.List(fields.Nested(RequestNoticeOut))
    help_requests = fields.List(fields.Nested(DsrHelpOut))


class RequestQuery(PageQuery):
    agreement_id = QueryInteger(load_default=None, validate=ID_RANGE)
    type = fields.String(load_default=None, validate=validate.OneOf([t.value for t in RequestType]))
    forwarded = fields.Boolean(load_default=None, metadata={"description": "Forwarding e-mail sent (true) or not"})


class InstructionIn(StrictSchema):
    agreement_id = fields.Integer(strict=True, required=True, validate=ID_RANGE)
    received_on = fields.Date(required=True)
    channel = fields.String(required=True, validate=_CHANNELS)
    content = Text(required=True, validate=validate.Length(min=1, max=10000))
    about_transfers = fields.Boolean(load_default=False)


class InstructionFlagIn(StrictSchema):
    reason = Text(required=True, validate=validate.Length(min=1, max=4000))


class InstructionOut(Schema):
    id = fields.Integer()
    agreement_id = fields.Integer()
    agreement = fields.String()
    received_on = fields.Date()
    channel = fields.String()
    content = fields.String()
    about_transfers = fields.Boolean()
    unlawful_reason = fields.String(allow_none=True)
    flagged_at = fields.DateTime(allow_none=True)
    flag_event_id = fields.Integer(allow_none=True)
    notices = fields.List(fields.Nested(RequestNoticeOut))


class InstructionQuery(PageQuery):
    agreement_id = QueryInteger(load_default=None, validate=ID_RANGE)
    unlawful = fields.Boolean(load_default=None)


def _notices(notices: list[Any]) -> list[dict[str, Any]]:
    return [
        {"id": n.id, "email": n.email, "state": n.state.value, "sent_at": n.sent_at, "message_sha256": n.message_sha256}
        for n in notices
    ]


def request_out(r: DataSubjectRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "agreement_id": r.agreement_id,
        "agreement": r.agreement.reference,
        "client": r.agreement.client.legal_name,
        "received_at": r.received_at,
        "channel": r.channel.value,
        "type": r.type.value,
        "subject_reference": r.subject_reference,
        "event_id": r.event_id,
        "forward_due_at": forward_due_at(r),
        "forward_target": forward_target(r),
        "forwarded_at": forwarded_at(r),
        "forward_state": forward_state(r),
        "controller_answer_on": controller_answer_on(r),
        "notices": _notices(r.notices),
        "help_requests": [
            {"id": h.id, "clause_number": h.clause_number, "event_id": h.event_id} for h in r.help_requests
        ],
    }


def instruction_out(i: Instruction) -> dict[str, Any]:
    return {
        "id": i.id,
        "agreement_id": i.agreement_id,
        "agreement": i.agreement.reference,
        "received_on": i.received_on,
        "channel": i.channel.value,
        "content": i.content,
        "about_transfers": i.about_transfers,
        "unlawful_reason": i.flag.reason if i.flag else None,
        "flagged_at": i.flag.flagged_at if i.flag else None,
        "flag_event_id": i.flag.event_id if i.flag else None,
        "notices": _notices(i.notices),
    }


def _agreement(agreement_id: int) -> Agreement:
    found = next((a for a in live_agreements(current()) if a.id == agreement_id), None)
    if found is None:
        fail(404, f"No agreement with id {agreement_id}.")
    return found


def _request(request_id: int) -> DataSubjectRequest:
    db.session.expire_all()
    found = db.session.scalar(requests_query(current()).where(DataSubjectRequest.id == request_id))
    if found is None:
        fail(404, f"No data-subject request with id {request_id}.")
    return found


def _instruction(instruction_id: int) -> Instruction:
    db.session.expire_all()
    found = db.session.scalar(instructions_query(current()).where(Instruction.id == instruction_id))
    if found is None:
        fail(404, f"No instruction with id {instruction_id}.")
    return found


def writable_request(request_id: int) -> None:
    _request(request_id)
    require_write()


def writable_instruction(instruction_id: int) -> None:
    _instruction(instruction_id)
    require_write()


REQUEST_EXAMPLE = {
    "id": 7,
    "agreement_id": 1,
    "agreement": "DPA-2026-01",
    "client": "Acme Hosting",
    "received_at": "2026-03-02T09:30:00+00:00",
    "channel": "email",
    "type": "erasure",
    "subject_reference": "customer 4711",
    "event_id": 12,
    "forward_due_at": "2026-03-04T23:59:59+00:00",
    "forward_target": "2 working days, DZ calendar",
    "forwarded_at": None,
    "forward_state": "queued",
    "controller_answer_on": "2026-04-02",
    "notices": [{"id": 3, "email": "dpo@acme.example", "state": "queued", "sent_at": None, "message_sha256": None}],
    "help_requests": [],
}


@blp.route("/requests", methods=["GET"])
@blp.arguments(RequestQuery, location="query")
@blp.response(200, page_of(RequestOut), headers=LINK_HEADER)
def list_requests(query: dict[str, Any]) -> Any:
    """Data-subject requests of the clients this token may see; filters: agreement, type, forwarded or not."""
    stmt = requests_query(current(), query["agreement_id"], query["type"], query["forwarded"])
    return paginate(
        stmt,
        [Key(DataSubjectRequest.id, descending=True)],
        query,
        render=lambda page: [request_out(r) for r in page],
    )


@blp.route("/requests", methods=["POST"])
@checked_first(require_write)
@blp.arguments(
    RequestIn,
    example={
        "agreement_id": 1,
        "received_at": "2026-03-02T09:30:00+00:00",
        "channel": "email",
        "type": "erasure",
        "subject_reference": "customer 4711",
    },
)
@blp.response(201, RequestOut)
def log_request_api(data: dict[str, Any]) -> Any:
    """Log a request (clause 9.1): its forwarding clock runs from receipt (staff only)."""
    agreement = _agreement(data.pop("agreement_id"))
    try:
        request = log_request(current(), agreement, RequestInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return request_out(_request(request.id))


@blp.route("/requests/<int:request_id>", methods=["GET"])
@blp.response(200, RequestOut)
def get_request(request_id: int) -> Any:
    """One data-subject request with its forwarding clock and e-mails."""
    return request_out(_request(request_id))


@blp.route("/requests/<int:request_id>/forward", methods=["POST"])
@checked_first(writable_request)
@blp.response(201, RequestOut, example=REQUEST_EXAMPLE)
def forward_request_api(request_id: int) -> Any:
    """Queue the forwarding e-mail to the client's addresses; `flask notices send` sends it and keeps it as
    clause 9.1 evidence (staff only)."""
    request = _request(request_id)
    try:
        queue_forward(current(), request)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return request_out(_request(request_id))


@blp.route("/requests/<int:request_id>/answer", methods=["POST"])
@checked_first(writable_request)
@blp.arguments(SubjectAnswerIn, example={"answer": "We erased your account"})
@blp.response(200, RequestOut)
def answer_request_api(data: dict[str, Any], request_id: int) -> Any:
    """Always refused (422): under clause 9.1 the client, not the processor, answers the data subject."""
    try:
        refuse_answer(_request(request_id))
    except DomainError as error:
        refused(error)
    return request_out(_request(request_id))  # pragma: no cover - refuse_answer always raises


@blp.route("/requests/<int:request_id>/help", methods=["POST"])
@checked_first(writable_request)
@blp.arguments(DsrHelpIn, example={"clause_number": "3.1(7)", "received_at": "2026-03-03T10:00:00+00:00"})
@blp.response(201, RequestOut)
def add_help_request_api(data: dict[str, Any], request_id: int) -> Any:
    """The client asks for help with this request: the 3.1(6)/3.1(7) event with its own clock (staff only)."""
    request = _request(request_id)
    try:
        add_help_request(current(), request, data["clause_number"], data["received_at"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return request_out(_request(request_id))


@blp.route("/instructions", methods=["GET"])
@blp.arguments(InstructionQuery, location="query")
@blp.response(200, page_of(InstructionOut), headers=LINK_HEADER)
def list_instructions(query: dict[str, Any]) -> Any:
    """Documented instructions of the clients this token may see; filters: agreement, unlawful or not."""
    stmt = instructions_query(current(), query["agreement_id"], query["unlawful"])
    return paginate(
        stmt, [Key(Instruction.id, descending=True)], query, render=lambda page: [instruction_out(i) for i in page]
    )


@blp.route("/instructions", methods=["POST"])
@checked_first(require_write)
@blp.arguments(
    InstructionIn,
    example={
        "agreement_id": 1,
        "received_on": "2026-03-02",
        "channel": "email",
        "content": "Keep order data 5 years",
        "about_transfers": False,
    },
)
@blp.response(201, InstructionOut)
def record_instruction_api(data: dict[str, Any]) -> Any:
    """Register a documented instruction (clause 3.1(3), Art. 28(3)(a)) (staff only)."""
    agreement = _agreement(data.pop("agreement_id"))
    try:
        instruction = record_instruction(current(), agreement, InstructionInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return instruction_out(_instruction(instruction.id))


@blp.route("/instructions/<int:instruction_id>", methods=["GET"])
@blp.response(200, InstructionOut)
def get_instruction(instruction_id: int) -> Any:
    """One instruction with its unlawful flag and notices."""
    return instruction_out(_instruction(instruction_id))


@blp.route("/instructions/<int:instruction_id>/flag", methods=["POST"])
@checked_first(writable_instruction)
@blp.arguments(InstructionFlagIn, example={"reason": "It asks us to keep data after the end of the service"})
@blp.response(201, InstructionOut)
def flag_instruction_api(data: dict[str, Any], instruction_id: int) -> Any:
    """Flag the instruction unlawful: records the clause 3.1(3) event (hours clock) and queues the notice to the
    client (staff only)."""
    instruction = _instruction(instruction_id)
    try:
        flag_unlawful(current(), instruction, data["reason"])
        queue_flag_notice(current(), instruction)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return instruction_out(_instruction(instruction_id))
