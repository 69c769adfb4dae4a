"""Marshmallow schemas: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from dpa_tracker import dates
from dpa_tracker.ids import MAX_ID
from dpa_tracker.models import AgreementStatus, ObligationStatus

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
    class Meta:
        unknown = EXCLUDE


class ClientIn(StrictSchema):
    legal_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    country = fields.String(required=True, validate=validate.Length(equal=2))
    address = fields.String(load_default="", validate=validate.Length(max=2000))
    notice_emails = fields.List(fields.Email(), required=True, validate=validate.Length(min=1, max=20))
    dpo_name = fields.String(load_default="", validate=validate.Length(max=200))
    dpo_email = fields.Email(load_default="")
    representative = fields.String(load_default="", validate=validate.Length(max=200))


class ClientOut(Schema):
    id = fields.Integer()
    legal_name = fields.String()
    country = fields.String()
    address = fields.String()
    notice_emails = fields.List(fields.String(), attribute="notice_email_list")
    dpo_name = fields.String()
    dpo_email = fields.String()
    representative = fields.String()
    created_at = fields.DateTime()


class AgreementIn(StrictSchema):
    client_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=60))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    signed_on = dates.Date(required=True)
    effective_on = dates.Date(required=True)
    ends_on = dates.Date(load_default=None, allow_none=True)
    status = fields.String(load_default=AgreementStatus.ACTIVE.value,
                           validate=validate.OneOf([s.value for s in AgreementStatus]))
    template_key = fields.String(load_default="altinsoft-dpa")
    subprocessor_objection_days = fields.Integer(load_default=30, strict=True, validate=validate.Range(1, 365))
    breach_notice_hours = fields.Integer(load_default=24, strict=True, validate=validate.Range(1, 720))
    deletion_days = fields.Integer(load_default=10, strict=True, validate=validate.Range(1, 365))
    confidentiality_years = fields.Integer(load_default=5, strict=True, validate=validate.Range(0, 50))
    permitted_locations = fields.List(fields.String(validate=validate.Length(max=200)), load_default=list)


class AgreementOut(Schema):
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
    subprocessor_objection_days = fields.Integer()
    breach_notice_hours = fields.Integer()
    deletion_days = fields.Integer()
    confidentiality_years = fields.Integer()
    permitted_locations = fields.List(fields.String(), attribute="permitted_location_list")
    obligation_count = fields.Function(lambda a: len(a.obligations))


class AsOfQuery(StrictSchema):
    as_of = dates.Date(load_default=None, metadata={"description": "Status as of this date (YYYY-MM-DD)"})


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


class EvidenceForm(StrictSchema):
    note = fields.String(load_default="", validate=validate.Length(max=10000))
    link = fields.String(load_default="", validate=validate.Length(max=2000))
    valid_until = dates.Date(load_default=None)
    period_start = dates.Date(load_default=None)
    period_end = dates.Date(load_default=None)
    trigger_event_id = QueryInteger(load_default=None, validate=ID_RANGE)
    supersedes_id = QueryInteger(load_default=None, validate=ID_RANGE)


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
    added_at = fields.DateTime()
    added_by = fields.Function(lambda e: e.added_by.email if e.added_by else None)
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)


class AuditQuery(StrictSchema):
    client_id = QueryInteger(load_default=None, validate=ID_RANGE)
    action = fields.String(load_default="", validate=validate.Length(max=60))
    before = QueryInteger(load_default=None, validate=ID_RANGE,
                            metadata={"description": "Only events with a smaller id (paging)"})
    limit = QueryInteger(load_default=50, validate=validate.Range(1, 200))


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


class RecordQuery(StrictSchema):
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


class AnswerIn(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "object"]))
    reason = fields.String(load_default="", validate=validate.Length(max=4000))
