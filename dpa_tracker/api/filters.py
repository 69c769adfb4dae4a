"""Query arguments of the /api/v1 lists: ``limit`` and ``cursor`` (paging.PageQuery) plus each list's filters.

A bad filter value answers 422 naming it; filters only ever narrow what the token may already see."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from dpa_tracker import dates
from dpa_tracker.api.paging import PageQuery
from dpa_tracker.api.schemas import ID_RANGE, Line, QueryInteger
from dpa_tracker.models import AgreementStatus, EvidenceState, ObligationStatus
from dpa_tracker.models.subprocessor import AnswerState

CLAUSE_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,3}){0,3}$"
_COUNTRY = validate.Regexp("^[A-Za-z]{2}$", error="An ISO 3166-1 alpha-2 code, e.g. DZ.")


def _one_of(values: list[str]) -> validate.OneOf:
    return validate.OneOf(values, error="One of: {choices}.")


class ClientListQuery(PageQuery):
    country = fields.String(load_default=None, validate=_COUNTRY, metadata={"description": "ISO 3166-1 alpha-2"})


class AgreementListQuery(PageQuery):
    client_id = QueryInteger(load_default=None, validate=ID_RANGE)
    status = fields.String(load_default=None, validate=_one_of([s.value for s in AgreementStatus]))


class _ObligationFilters(PageQuery):
    status = fields.String(
        load_default=None,
        validate=_one_of([s.value for s in ObligationStatus]),
        metadata={"description": "Only obligations with this status"},
    )
    clause = fields.String(
        load_default=None,
        validate=validate.Regexp(CLAUSE_PATTERN, error="A clause number such as 8 or 8.1."),
        metadata={"description": "A clause number (8.1) or a family (8: 8, 8.1, 8.2...)"},
    )
    owner = fields.Email(
        load_default=None,
        metadata={"description": "Only obligations this user (e-mail) owns"},
    )
    due_after = dates.Date(load_default=None, metadata={"description": "Due on or after this date"})
    due_before = dates.Date(load_default=None, metadata={"description": "Due on or before this date"})

    @validates_schema
    def _range(self, data: dict, **kwargs: object) -> None:
        if data.get("due_after") and data.get("due_before") and data["due_after"] > data["due_before"]:
            raise ValidationError("due_before is before due_after.", "due_before")


class AgreementObligationQuery(_ObligationFilters):
    as_of = dates.Date(load_default=None, metadata={"description": "Status as of this date (YYYY-MM-DD)"})


class ObligationListQuery(_ObligationFilters):
    """Across agreements: statuses and due dates as of today (the cached projection the dashboard counts)."""

    agreement_id = QueryInteger(load_default=None, validate=ID_RANGE)
    client_id = QueryInteger(load_default=None, validate=ID_RANGE)


class EvidenceListQuery(PageQuery):
    state = fields.String(load_default=None, validate=_one_of([s.value for s in EvidenceState]))


class AuditListQuery(PageQuery):
    client_id = QueryInteger(load_default=None, validate=ID_RANGE)
    action = Line(
        load_default="",
        validate=validate.Length(max=60),
        metadata={"description": "Actions starting with this text, e.g. `evidence.`"},
    )
    before = QueryInteger(
        load_default=None, validate=ID_RANGE, metadata={"description": "Only events with a smaller id"}
    )


class RecordVersionListQuery(PageQuery):
    pass


class SubProcessorListQuery(PageQuery):
    as_of = dates.Date(load_default=None, metadata={"description": "Authorised on this date (default today)"})
    country = fields.String(load_default=None, validate=_COUNTRY, metadata={"description": "ISO 3166-1 alpha-2"})


class NoticeListQuery(PageQuery):
    agreement_id = QueryInteger(load_default=None, validate=ID_RANGE)
    state = fields.String(
        load_default=None,
        validate=_one_of([s.value for s in AnswerState]),
        metadata={"description": "The client's answer: pending, approved or objected"},
    )
