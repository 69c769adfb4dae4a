"""Keyset pagination for every /api/v1 list: one query-argument schema, one envelope, one helper.

A list answers ``{"items": [...], "next_cursor": "..." | null}`` and, when there is a next page, a
``Link: <url>; rel="next"`` header. The cursor is opaque: the last row's sort key and a fingerprint of the
list's filters, signed with the app's secret key, so a tampered cursor, or one replayed on another list or
with other filters, answers 422 naming ``cursor`` instead of a wrong page (or a 500)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, and_, or_
from sqlalchemy.sql.elements import ColumnElement

from dpa_tracker.api.common import fail
from dpa_tracker.api.schemas import QueryInteger, QuerySchema
from dpa_tracker.extensions import db

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_SALT = "dpa-tracker-api-cursor"
CURSOR_PATTERN = "^[A-Za-z0-9_.-]+$"  # what itsdangerous' URL-safe tokens are made of

LINK_HEADER = {
    "Link": {
        "description": 'RFC 8288 link to the next page (`<url>; rel="next"`); absent on the last page',
        "schema": {"type": "string"},
    }
}


class PageQuery(QuerySchema):
    """``limit`` and ``cursor``; list-specific filters subclass it."""

    limit = QueryInteger(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"Items per page, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})"},
    )
    cursor = fields.String(
        load_default=None,
        validate=[
            validate.Length(min=1, max=2000),
            validate.Regexp(CURSOR_PATTERN, error="Not a cursor this API gave out (copy next_cursor exactly)."),
        ],
        metadata={"description": "The `next_cursor` of the previous page, sent with the same filters"},
    )


_PAGE_SCHEMAS: dict[type[Schema], type[Schema]] = {}


def page_of(item: type[Schema]) -> type[Schema]:
    """The envelope schema for a list of ``item`` (one class per item schema, so OpenAPI names it once)."""
    if item not in _PAGE_SCHEMAS:
        name = item.__name__.removesuffix("Out") + "Page"
        _PAGE_SCHEMAS[item] = type(
            name,
            (Schema,),
            {
                "items": fields.List(fields.Nested(item), required=True),
                "next_cursor": fields.String(
                    required=True,
                    allow_none=True,
                    metadata={
                        "description": "Send it as `cursor` (with the same filters) for the next page; null: last"
                    },
                ),
            },
        )
    return _PAGE_SCHEMAS[item]


@dataclass(frozen=True)
class Key:
    """One column of a list's stable order; the last key of a list must be unique (an id)."""

    column: Any
    descending: bool = False


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(query: dict[str, Any]) -> str:
    """Which list and which filters a cursor belongs to (limit may change between pages)."""
    filters = {k: v for k, v in query.items() if k not in ("limit", "cursor")}
    text = json.dumps([request.endpoint, request.view_args, filters], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _bad_cursor(detail: str) -> NoReturn:
    fail(422, detail, "cursor")


def read_cursor(query: dict[str, Any], size: int) -> list[Any] | None:
    """The sort key the page starts after, or None for the first page; 422 (``cursor``) when it is not ours."""
    token = query.get("cursor")
    if token is None:
        return None
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        _bad_cursor("The cursor is not one this API gave out (copy next_cursor exactly).")
    if not isinstance(payload, dict) or not isinstance(payload.get("k"), list) or len(payload["k"]) != size:
        _bad_cursor("The cursor is not one this API gave out (copy next_cursor exactly).")
    if payload.get("f") != _fingerprint(query):
        _bad_cursor("The cursor belongs to another list or to other filters: send the same filters as before.")
    return payload["k"]


def _make_cursor(query: dict[str, Any], key: Sequence[Any]) -> str:
    return _serializer().dumps({"k": [_jsonable(v) for v in key], "f": _fingerprint(query)})


def _after(keys: Sequence[Key], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order ``keys`` (portable row-value comparison)."""
    alternatives = []
    for i, key in enumerate(keys):
        equal = [keys[j].column == values[j] for j in range(i)]
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        alternatives.append(and_(*equal, beyond))
    return or_(*alternatives)


def _envelope(query: dict[str, Any], items: list[Any], last_key: Sequence[Any] | None) -> tuple[dict[str, Any], dict]:
    cursor = _make_cursor(query, last_key) if last_key is not None else None
    headers = {}
    if cursor is not None:
        # Only the list's own arguments, as sent: an unknown one is dropped, and none can steer url_for.
        args = {k: v for k, v in request.args.items() if k in query and k != "cursor"}
        url = url_for(request.endpoint or "", **{**args, **(request.view_args or {}), "cursor": cursor})
        headers["Link"] = f'<{url}>; rel="next"'
    return {"items": items, "next_cursor": cursor}, headers


def paginate(
    stmt: Select[Any],
    keys: Sequence[Key],
    query: dict[str, Any],
    render: Callable[[list[Any]], list[Any]] | None = None,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """One page of ``stmt`` (already filtered and tenant-scoped) in the order ``keys``, as the API answers it:
    ``return paginate(...)`` from a handler with ``@blp.response(200, page_of(ItemOut), headers=LINK_HEADER)``.

    One query for the page (``limit + 1`` rows tell whether there is a next one), plus whatever loader options
    ``stmt`` carries; ``render`` turns the page's rows into items (e.g. assess them all at once)."""
    after = read_cursor(query, len(keys))
    if after is not None:
        stmt = stmt.where(_after(keys, after))
    order = [k.column.desc() if k.descending else k.column.asc() for k in keys]
    rows = list(db.session.scalars(stmt.order_by(None).order_by(*order).limit(query["limit"] + 1)).unique())
    limit = query["limit"]
    more = len(rows) > limit
    rows = rows[:limit]
    last = [_attribute(rows[-1], k) for k in keys] if more else None
    body, headers = _envelope(query, render(rows) if render else rows, last)
    return body, 200, headers


def _attribute(row: Any, key: Key) -> Any:
    return getattr(row, key.column.key)


def paginate_list(
    rows: Sequence[Any], query: dict[str, Any], key: Callable[[Any], int] | None = None
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """One page of a list computed in Python, bounded by one agreement or client (the status engine's rows,
    the authorised sub-processors): the cursor is the last row's ``key`` (a unique whole number, ascending in
    ``rows``' order), or its position in the list when there is none."""
    numbered = [(key(r) if key else i, r) for i, r in enumerate(rows)]
    after = read_cursor(query, 1)
    if after is not None:
        if not isinstance(after[0], int):
            _bad_cursor("The cursor is not one this API gave out (copy next_cursor exactly).")
        numbered = [(k, r) for k, r in numbered if k > after[0]]
    limit = query["limit"]
    more = len(numbered) > limit
    page = numbered[:limit]
    body, headers = _envelope(query, [r for _, r in page], [page[-1][0]] if more else None)
    return body, 200, headers
