"""/api/v1 twin of the deadline page: the same sources, filters and tenant rules, paginated."""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import Schema, fields, validate

from dpa_tracker.api.common import blp, current, refused
from dpa_tracker.api.paging import LINK_HEADER, PageQuery, page_of, paginate_list
from dpa_tracker.api.schemas import ID_RANGE, QueryInteger
from dpa_tracker.deadline.services import (
    MAX_WITHIN,
    DeadlineFilters,
    create_feed,
    current_feed,
    deadlines_for,
    revoke_feed,
)
from dpa_tracker.deadline.sources import KINDS, Deadline
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db


class DeadlineListQuery(PageQuery):
    client_id = QueryInteger(load_default=None, validate=ID_RANGE, metadata={"description": "Only this client's"})
    owner_id = QueryInteger(
        load_default=None,
        validate=ID_RANGE,
        metadata={"description": "Only what this user owns (obligations; other kinds have no owner)"},
    )
    kind = fields.String(
        load_default=None,
        validate=validate.OneOf(list(KINDS), error="One of: {choices}."),
        metadata={"description": "Only this kind: " + ", ".join(KINDS)},
    )
    within = QueryInteger(
        load_default=None,
        validate=validate.Range(0, MAX_WITHIN),
        metadata={"description": f"Due within this many days, 0-{MAX_WITHIN} (default: the due-soon window)"},
    )


class DeadlineOut(Schema):
    kind = fields.String(metadata={"description": "One of: " + ", ".join(KINDS)})
    ref = fields.String(metadata={"description": "The object it is about (stable; the calendar event's UID)"})
    due_on = fields.Date(attribute="when")
    due_at = fields.AwareDateTime(attribute="at", allow_none=True, metadata={"description": "For clocks in hours"})
    state = fields.String(metadata={"description": "overdue or due_soon"})
    title = fields.String()
    client_id = fields.Integer()
    client_name = fields.String()
    agreement_id = fields.Integer(allow_none=True)
    agreement_reference = fields.String()
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String()
    url = fields.Function(
        lambda d: url_for(d.endpoint, **{d.arg: d.object_id}), metadata={"description": "The page that shows it"}
    )


@blp.route("/deadlines", methods=["GET"])
@blp.arguments(DeadlineListQuery, location="query")
@blp.response(200, page_of(DeadlineOut), headers=LINK_HEADER)
def list_deadlines(query: dict[str, Any]) -> Any:
    """Everything with a date this token may see (obligations due soon or overdue, change-notice answers, breach
    notification clocks, agents' trainings lapsing within 30 days, data-subject requests to forward), soonest
    first."""
    filters = DeadlineFilters(
        client_id=query["client_id"], owner_id=query["owner_id"], kind=query["kind"], within=query["within"]
    )
    rows: list[Deadline] = deadlines_for(current(), filters)
    return paginate_list(rows, query)


class FeedOut(Schema):
    url = fields.String(metadata={"description": "The feed address with its token: shown only in this answer"})
    prefix = fields.String(metadata={"description": "The token's first characters, to recognise it later"})
    created_at = fields.AwareDateTime()


class FeedRevokedOut(Schema):
    revoked = fields.Boolean()


@blp.route("/me/calendar-feed", methods=["POST"])
@blp.response(
    201,
    FeedOut,
    example={
        "url": "https://dpa.example/calendar/cal_Xk3v9Q2b7mN8pL0sT4wY6zA1cE5gH.ics",
        "prefix": "cal_Xk3v9Q2b",
        "created_at": "2026-03-02T08:00:00+00:00",
    },
)
def create_feed_api() -> Any:
    """Create the token user's iCalendar feed address (replacing a previous one); audited. The address holds a
    secret token, returned only in this answer."""
    try:
        feed, plain = create_feed(current())
    except DomainError as error:
        refused(error)
    db.session.commit()
    return {
        "url": url_for("calendar.feed", token=plain, _external=True),
        "prefix": feed.prefix,
        "created_at": feed.created_at,
    }


@blp.route("/me/calendar-feed/revoke", methods=["POST"])
@blp.response(200, FeedRevokedOut, example={"revoked": True})
def revoke_feed_api() -> Any:
    """Revoke the token user's iCalendar feed: its address answers 404 from now on; audited. 422 when there is
    no live feed."""
    try:
        revoke_feed(current(), current_feed(current()))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return {"revoked": True}
