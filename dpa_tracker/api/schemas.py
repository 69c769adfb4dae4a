"""Marshmallow schemas: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, missing, validate

from dpa_tracker import dates
from dpa_tracker.agreement.settings import SETTINGS
from dpa_tracker.ids import MAX_ID
from dpa_tracker.models import AgreementStatus, ObligationStatus
from dpa_tracker.models.agreement import AuthorisationType
from dpa_tracker.models.subprocessor import ObjectionConsequence
from dpa_tracker.record.services import FORMATS
from dpa_tracker.request_guard import TEXT_PATTERN
from dpa_tracker.validation import Line as _SingleLine

# Single-line values: no C0/C1 control character at all, and no Unicode line or paragraph separator.
LINE_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$"

# Ids sent in bodies and query strings: the INTEGER columns' range, so the database never sees more.
ID_RANGE = validate.Range(1, MAX_ID)
_ASCII_NUMBER = re.compile(r"[0-9]{1,10}")


class QueryInteger(fields.Integer):
    """A whole number sent as text (query, form field): ASCII digits only (``int()`` also takes "٣", "+1" and "1_0")."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, str) and not _ASCII_NUMBER.fullmatch(value):
            raise self.make_error("invalid")
        return super()._validated(value)


class StrictSchema(Schema):
    """A request body: a field the API does not know is an error (a misspelt ``ends_on`` is not ignored)."""

    class Meta:
        unknown = RAISE


class QuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE


class Text(fields.String):
    """A string input without control characters (request_guard refuses them with 400; the pattern says so)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.validators.append(validate.Regexp(TEXT_PATTERN, error="Control characters are not allowed."))


class Line(_SingleLine):
    """A single-line string input: no control character at all, not even a line break (validation.Line);
    the OpenAPI pattern says so."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.validators.append(validate.Regexp(LINE_PATTERN, error="Line breaks and control characters are refused."))


class Problem(Schema):
    """An error answer, RFC 9457 (written by dpa_tracker.http_errors.problem)."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "Invalid input: {location: {field: [message]}}"})


class ClientIn(StrictSchema):
    legal_name = Line(required=True, validate=validate.Length(min=1, max=200))
    country = fields.String(
        required=True,
        validate=validate.Regexp("^[A-Za-z]{2}$"),
        metadata={"description": "ISO 3166-1 alpha-2 code, e.g. DZ"},
    )
    address = Text(load_default="", validate=validate.Length(max=2000))
    notice_emails = fields.List(fields.Email(), required=True, validate=validate.Length(min=1, max=20))
    dpo_name = Line(load_default="", validate=validate.Length(max=200), metadata={"label": "DPO name"})
    dpo_email = fields.Email(load_default="")
    representative = Line(load_default="", validate=validate.Length(max=200))
    representative_contact = Line(load_default="", validate=validate.Length(max=500))


class ClientOut(Schema):
    id = fields.Integer()
    legal_name = fields.String()
    country = fields.String()
    address = fields.String()
    notice_emails = fields.List(fields.String(), attribute="notice_email_list")
    dpo_name = fields.String()
    dpo_email = fields.String()
    representative = fields.String()
    representative_contact = fields.String()
    created_at = fields.DateTime()


def _setting_fields(*, load_defaults: bool) -> dict[str, fields.Field]:
    """One whole-number field per agreement setting (agreement/settings.py), its range in the OpenAPI document."""
    return {
        s.name: fields.Integer(
            strict=True,
            validate=validate.Range(s.low, s.high),
            metadata={
                "description": f"Clause {s.clause}: {s.label.lower()}, in {s.unit_text} ({s.low}-{s.high}); "
                f"default {s.default}"
            },
            load_default=s.default if load_defaults else missing,
        )
        for s in SETTINGS
    }


class _AgreementIn(StrictSchema):
    client_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    reference = Line(required=True, validate=validate.Length(min=1, max=60))
    title = Line(required=True, validate=validate.Length(min=1, max=200))
    signed_on = dates.Date(required=True)
    effective_on = dates.Date(required=True)
    ends_on = dates.Date(load_default=None, allow_none=True)
    status = fields.String(
        load_default=AgreementStatus.ACTIVE.value, validate=validate.OneOf([s.value for s in AgreementStatus])
    )
    template_key = Line(load_default="altinsoft-dpa")
    subprocessor_authorisation = fields.String(
        load_default=AuthorisationType.GENERAL.value,
        validate=validate.OneOf([t.value for t in AuthorisationType]),
        metadata={
            "description": "Clause 6.1: 'specific' (silence never authorises) or 'general' "
            "(notice + objection period, counted from delivery)"
        },
    )
    permitted_locations = fields.List(
        Line(validate=validate.Length(max=200), metadata={"label": "Permitted location"}), load_default=list
    )


AgreementIn: type[Schema] = type("AgreementIn", (_AgreementIn,), _setting_fields(load_defaults=True))


class _AgreementSettingsIn(StrictSchema):
    """Some of an agreement's deadline settings; those left out keep their value."""


AgreementSettingsIn: type[Schema] = type(
    "AgreementSettingsIn", (_AgreementSettingsIn,), _setting_fields(load_defaults=False)
)


class _AgreementOut(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    reference = fields.String()
    title = fields.String()
    signed_on = fields.Date()
    effective_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    status = fields.Function(lambda a: a.status.value)
    template_key = fields.String()
    template_version = fields.Integer()
    subprocessor_authorisation = fields.Function(lambda a: a.subprocessor_authorisation.value)
    permitted_locations = fields.List(fields.String(), attribute="permitted_location_list")
    obligation_count = fields.Function(lambda a: len(a.obligations))


AgreementOut: type[Schema] = type(
    "AgreementOut",
    (_AgreementOut,),
    {
        s.name: fields.Integer(metadata={"description": f"Clause {s.clause}: {s.label.lower()}, in {s.unit_text}"})
        for s in SETTINGS
    },
)


class ObligationOut(Schema):
    id = fields.Integer()
    agreement_id = fields.Integer()
    clause_number = fields.String()
    section = fields.String()
    title = fields.String()
    summary = fields.String()
    gdpr_article = fields.String()
    rule_type = fields.String()
    status = fields.String(validate=validate.OneOf([s.value for s in ObligationStatus]))
    reason = fields.String()
    due_on = fields.Date(allow_none=True)
    owner = fields.String(allow_none=True)
    notes = fields.String(metadata={"description": "The compliance team's notes (PATCH sets them)"})


class EvidenceForm(StrictSchema):
    note = Text(load_default="", validate=validate.Length(max=10000))
    link = Line(load_default="", validate=validate.Length(max=2000))
    valid_until = dates.Date(load_default=None)
    period_start = dates.Date(load_default=None)
    period_end = dates.Date(load_default=None)
    trigger_event_id = QueryInteger(load_default=None, validate=ID_RANGE)
    supersedes_id = QueryInteger(load_default=None, validate=ID_RANGE)
    acted_at = fields.AwareDateTime(
        load_default=None,
        metadata={
            "description": "When the act the evidence proves was done (ISO 8601 with a time zone); "
            "a clock stops here. Defaults to the upload time; never later, never before its event."
        },
    )


class EvidenceFile(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"})


class EvidenceOut(Schema):
    id = fields.Integer()
    obligation_id = fields.Integer()
    state = fields.Function(lambda e: e.state.value)
    note = fields.String()
    link = fields.String()
    sha256 = fields.String(allow_none=True)
    filename = fields.String(allow_none=True)
    content_type = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)
    period_start = fields.Date(allow_none=True)
    period_end = fields.Date(allow_none=True)
    valid_until = fields.Date(allow_none=True)
    trigger_event_id = fields.Integer(allow_none=True)
    added_at = fields.DateTime()
    acted_at = fields.Function(lambda e: e.done_at.isoformat(), metadata={"type": "string", "format": "date-time"})
    added_by = fields.Function(lambda e: e.added_by.email if e.added_by else None)
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)


class AuditEventOut(Schema):
    id = fields.Integer()
    occurred_at = fields.DateTime()
    actor = fields.String(attribute="actor_label")
    action = fields.String()
    object_type = fields.String()
    object_id = fields.Integer(allow_none=True)
    client_id = fields.Integer(allow_none=True)
    changes = fields.Dict()
    request_id = fields.String()
    hash = fields.String()


class RecordVersionIn(StrictSchema):
    as_of = dates.Date(load_default=None, metadata={"description": "The record as of this date (default today)"})
    format = fields.String(
        required=True,
        validate=validate.OneOf(FORMATS),
        metadata={"description": "The format the copy is handed out in"},
    )
    to_client = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Staff: the copy is handed to the client, which answers its open clause 4.2 requests. "
            "A client's own copy always answers them."
        },
    )


class RecordQuery(QuerySchema):
    as_of = dates.Date(load_default=None)


class RecordVersionOut(Schema):
    number = fields.Integer()
    as_of = fields.Date()
    content_sha256 = fields.String()
    handed_out_as = fields.String()
    handed_out_at = fields.DateTime()
    handed_out_by = fields.Function(lambda v: v.handed_out_by.email if v.handed_out_by else None)


class SubProcessorEntryOut(Schema):
    legal_name = fields.String()
    country = fields.String()
    service = fields.String()
    locations = fields.List(fields.String())
    contact_email = fields.String()
    dpo_name = fields.String()
    dpo_email = fields.String()
    authorised_since = fields.String()


class NoticeOut(Schema):
    id = fields.Integer(metadata={"description": "Id of this client's copy of the notice (answer with it)"})
    notice_id = fields.Integer()
    agreement_id = fields.Integer()
    kind = fields.Function(lambda r: r.notice.kind.value)
    subprocessor = fields.Function(lambda r: r.notice.subprocessor.legal_name)
    replaces = fields.Function(lambda r: r.notice.replaces.legal_name if r.notice.replaces else None)
    reason = fields.Function(lambda r: r.notice.reason)
    objection_deadline = fields.Date()
    state = fields.Function(lambda r: r.state.value)
    answer_reason = fields.String()
    objection_consequence = fields.Function(
        lambda r: r.objection_consequence.value if r.objection_consequence else None
    )


class AnswerIn(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "object"]))
    reason = Text(load_default="", validate=validate.Length(max=4000))
    consequence = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf([c.value for c in ObjectionConsequence]),
        metadata={
            "description": "Required to object to an addition or replacement: "
            "'not_used' (not used for our data) or 'termination'"
        },
    )
