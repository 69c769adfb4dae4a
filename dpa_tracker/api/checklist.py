"""/api/v1 twins of the auditor's checklist: the checklist as of a date (an agreement, or every agreement of a
client), and auditors' comments on an obligation (list, add). Same role and tenant rules as the pages."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from dpa_tracker import dates
from dpa_tracker.api.common import blp, checked_first, current, fail, refused, visible
from dpa_tracker.api.paging import LINK_HEADER, Key, PageQuery, page_of, paginate
from dpa_tracker.api.schemas import QuerySchema, StrictSchema, Text
from dpa_tracker.checklist.services import (
    COMMENT_MAX,
    add_comment,
    agreement_checklist,
    can_comment,
    checklist_data,
    client_checklist,
)
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, ChecklistComment, Client, Obligation
from dpa_tracker.obligation.services import today


class ChecklistQuery(QuerySchema):
    as_of = dates.Date(
        load_default=None,
        metadata={"description": "The checklist as documented on this date (YYYY-MM-DD, default today)"},
    )


class ChecklistEvidenceOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    note = fields.String(required=True)
    link = fields.String(required=True)
    filename = fields.String(allow_none=True)
    content_type = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    added_by = fields.String(required=True)
    added_at = fields.String(required=True)
    acted_at = fields.String(allow_none=True)
    period_start = fields.String(allow_none=True)
    period_end = fields.String(allow_none=True)
    valid_until = fields.String(allow_none=True)
    state = fields.String(required=True, metadata={"description": "Its state on the as-of date"})


class CommentOut(Schema):
    id = fields.Integer(required=True)
    author = fields.String(required=True)
    body = fields.String(required=True)
    created_at = fields.String(required=True)


class ChecklistObligationOut(Schema):
    obligation_id = fields.Integer(required=True)
    clause = fields.String(required=True)
    family = fields.String(required=True)
    section = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    gdpr_article = fields.String(required=True)
    status = fields.String(required=True)
    reason = fields.String(required=True)
    due_on = fields.String(allow_none=True)
    evidence = fields.List(fields.Nested(ChecklistEvidenceOut), required=True)
    comments = fields.List(fields.Nested(CommentOut), required=True)


class ChecklistAgreementOut(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    effective_on = fields.String(required=True)
    ends_on = fields.String(allow_none=True)
    obligations = fields.List(fields.Nested(ChecklistObligationOut), required=True)


class ChecklistOut(Schema):
    client = fields.Dict(required=True)
    scope = fields.String(required=True, metadata={"description": "agreement or client"})
    as_of = fields.String(required=True)
    generated_at = fields.String(required=True)
    audit_head = fields.Dict(required=True, metadata={"description": "The audit chain's last event: id and hash"})
    status_counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    agreements = fields.List(fields.Nested(ChecklistAgreementOut), required=True)


class CommentIn(StrictSchema):
    body = Text(required=True, validate=validate.Length(min=1, max=COMMENT_MAX))


class CommentRowOut(Schema):
    id = fields.Integer(required=True)
    obligation_id = fields.Integer(required=True)
    author = fields.Function(lambda c: c.author.email, required=True)
    body = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


@blp.route("/agreements/<int:agreement_id>/checklist", methods=["GET"])
@blp.arguments(ChecklistQuery, location="query")
@blp.response(200, ChecklistOut)
def agreement_checklist_api(query: dict[str, Any], agreement_id: int) -> Any:
    """The auditor's checklist of one agreement as of a date: every obligation with its status and reason and
    the evidence recorded by that date (name, who, when, period covered, SHA-256), and auditors' comments."""
    agreement = visible(Agreement, agreement_id, lambda a: a.client_id)
    return checklist_data(agreement_checklist(agreement, query["as_of"] or today()))


@blp.route("/clients/<int:client_id>/checklist", methods=["GET"])
@blp.arguments(ChecklistQuery, location="query")
@blp.response(200, ChecklistOut)
def client_checklist_api(query: dict[str, Any], client_id: int) -> Any:
    """The auditor's checklist of every agreement of a client in force by the date."""
    client = visible(Client, client_id, lambda c: c.id)
    return checklist_data(client_checklist(client, query["as_of"] or today()))


@blp.route("/obligations/<int:obligation_id>/comments", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(CommentRowOut), headers=LINK_HEADER)
def list_comments_api(query: dict[str, Any], obligation_id: int) -> Any:
    """Auditors' comments on the obligation, oldest first."""
    visible(Obligation, obligation_id, lambda o: o.agreement.client_id)
    stmt = db.select(ChecklistComment).where(ChecklistComment.obligation_id == obligation_id)
    return paginate(stmt, [Key(ChecklistComment.id)], query)


def commentable_obligation(obligation_id: int) -> None:
    obligation = visible(Obligation, obligation_id, lambda o: o.agreement.client_id)
    if not can_comment(current(), obligation.agreement.client_id):
        fail(403, "Only the client's auditors and the compliance team comment on the checklist.")


@blp.route("/obligations/<int:obligation_id>/comments", methods=["POST"])
@checked_first(commentable_obligation)
@blp.arguments(CommentIn, example={"body": "Asked for the 2025 pen-test report; the summary is not enough."})
@blp.response(201, CommentRowOut)
def add_comment_api(data: dict[str, Any], obligation_id: int) -> Any:
    """Add a comment (assigned auditors and the compliance team; clients may not). Kept, never edited."""
    obligation = db.get_or_404(Obligation, obligation_id)
    try:
        comment = add_comment(current(), obligation, data["body"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return comment
