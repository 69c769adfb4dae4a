"""/api/v1 twins of the breach register pages (clause 8): list, get, record, add an affected agreement, queue a
notice, record an action. Each calls the page's own service with the page's role and tenant checks; a client's
token sees only breaches touching its own agreements, and only its own clocks and notices."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dpa_tracker import dates
from dpa_tracker.api.common import blp, checked_first, current, fail, refused, require_write
from dpa_tracker.api.paging import LINK_HEADER, PageQuery, page_of, paginate_list
from dpa_tracker.api.schemas import ID_RANGE, Line, StrictSchema, Text
from dpa_tracker.breach.notices import failed_notices, queue_notice, requeue
from dpa_tracker.breach.services import (
    ActionInput,
    BreachInput,
    add_action,
    add_affected_agreement,
    affected_for,
    agreements_for,
    breach_loader,
    clock_of,
    mark_action_done,
    record_breach,
    visible_breaches,
)
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import Upload
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    ActionKind,
    Agreement,
    AgreementStatus,
    Breach,
    BreachAction,
    BreachNature,
    BreachNotice,
    NoticePhase,
    RiskLevel,
)
from dpa_tracker.permissions import can_see_client, client_filter, visible_client_ids

_TEXT = validate.Length(max=10000)


class BreachIn(StrictSchema):
    title = Line(required=True, validate=validate.Length(min=1, max=200))
    occurred_at = fields.AwareDateTime(required=True, metadata={"description": "When it happened (ISO 8601, zone)"})
    detected_at = fields.AwareDateTime(required=True, metadata={"description": "When it was detected (>= occurred)"})
    aware_at = fields.AwareDateTime(
        required=True, metadata={"description": "When we became aware (>= detected): every client's clock starts here"}
    )
    natures = fields.List(
        fields.String(validate=validate.OneOf([n.value for n in BreachNature])),
        required=True,
        validate=validate.Length(min=1),
    )
    description = Text(required=True, validate=validate.Length(min=1, max=10000))
    contact_point = Text(required=True, validate=validate.Length(min=1, max=2000))
    systems = Text(load_default="", validate=_TEXT)
    agents = Text(load_default="", validate=_TEXT, metadata={"description": "People involved who are not agents"})
    agent_ids = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE),
        load_default=list,
        metadata={"description": "The agents (clause 5 register) involved"},
    )
    data_subject_categories = Text(load_default="", validate=_TEXT)
    data_subjects_approx = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(0))
    record_categories = Text(load_default="", validate=_TEXT)
    records_approx = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(0))
    likely_consequences = Text(load_default="", validate=_TEXT)
    measures_taken = Text(load_default="", validate=_TEXT)
    measures_proposed = Text(load_default="", validate=_TEXT)
    agreement_failures = Text(load_default="", validate=_TEXT)
    risk = fields.String(
        load_default=RiskLevel.NOT_ASSESSED.value, validate=validate.OneOf([r.value for r in RiskLevel])
    )
    subprocessor_ids = fields.List(fields.Integer(strict=True, validate=ID_RANGE), load_default=list)
    source_subprocessor_id = fields.Integer(strict=True, load_default=None, allow_none=True, validate=ID_RANGE)
    agreement_ids = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE), required=True, validate=validate.Length(min=1)
    )


class BreachAgreementIn(StrictSchema):
    agreement_id = fields.Integer(strict=True, required=True, validate=ID_RANGE)


class BreachNotifyIn(StrictSchema):
    agreement_id = fields.Integer(strict=True, required=True, validate=ID_RANGE)
    phase = fields.String(
        load_default=NoticePhase.INITIAL.value, validate=validate.OneOf([p.value for p in NoticePhase])
    )
    new_information = Text(load_default="", validate=_TEXT)


class BreachActionIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ActionKind]))
    description = Text(required=True, validate=validate.Length(min=1, max=4000))
    owner = Line(load_default="", validate=validate.Length(max=200))
    due_on = fields.Date(load_default=None, allow_none=True)
    done_on = fields.Date(load_default=None, allow_none=True)
    evidence = Text(load_default="", validate=validate.Length(max=4000))


class BreachClockOut(Schema):
    agreement_id = fields.Integer()
    agreement = fields.String()
    client = fields.String()
    target_at = fields.DateTime()
    notified_at = fields.DateTime(allow_none=True)
    state = fields.String(metadata={"description": "running, overdue, met (notified in time) or late"})
    text = fields.String()


class BreachNoticeOut(Schema):
    id = fields.Integer()
    agreement_id = fields.Integer()
    phase = fields.String()
    sequence = fields.Integer()
    email = fields.String()
    state = fields.String()
    sent_at = fields.DateTime(allow_none=True)
    message_sha256 = fields.String(allow_none=True)


class BreachActionOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    description = fields.String()
    owner = fields.String()
    due_on = fields.Date(allow_none=True)
    done_on = fields.Date(allow_none=True)
    evidence = fields.String()
    evidence_sha256 = fields.String(allow_none=True, metadata={"description": "The document showing it done"})
    evidence_filename = fields.String(allow_none=True)


class InvolvedAgentOut(Schema):
    id = fields.Integer()
    name = fields.String()
    function = fields.String()


class BreachOut(Schema):
    id = fields.Integer()
    title = fields.String()
    occurred_at = fields.DateTime()
    detected_at = fields.DateTime()
    aware_at = fields.DateTime()
    natures = fields.List(fields.String())
    description = fields.String()
    systems = fields.String()
    agents = fields.String(metadata={"description": "People involved who are not agents"})
    involved_agents = fields.List(fields.Nested(InvolvedAgentOut))
    subprocessors = fields.List(fields.String())
    source_subprocessor = fields.String(allow_none=True)
    data_subject_categories = fields.String()
    data_subjects_approx = fields.Integer(allow_none=True)
    record_categories = fields.String()
    records_approx = fields.Integer(allow_none=True)
    likely_consequences = fields.String()
    measures_taken = fields.String()
    measures_proposed = fields.String()
    agreement_failures = fields.String()
    risk = fields.String()
    contact_point = fields.String()
    recorded_at = fields.DateTime()
    clocks = fields.List(fields.Nested(BreachClockOut))
    notices = fields.List(fields.Nested(BreachNoticeOut))
    actions = fields.List(fields.Nested(BreachActionOut))


def breach_out(breach: Breach) -> dict[str, Any]:
    """The breach with only the clocks and notices of the clients the token may see."""
    affected = affected_for(breach, visible_client_ids(current()))
    clocks = [clock_of(a) for a in affected]
    return {
        **{name: getattr(breach, name) for name in BreachOut._declared_fields if hasattr(Breach, name)},
        "subprocessors": [s.legal_name for s in breach.subprocessors],
        "involved_agents": [{"id": a.id, "name": a.name, "function": a.function} for a in breach.involved_agents],
        "source_subprocessor": breach.source_subprocessor.legal_name if breach.source_subprocessor else None,
        "risk": breach.risk.value,
        "clocks": [
            {
                "agreement_id": c.affected.agreement_id,
                "agreement": c.affected.agreement.reference,
                "client": c.affected.agreement.client.legal_name,
                "target_at": c.target_at,
                "notified_at": c.notified_at,
                "state": c.state,
                "text": c.text,
            }
            for c in clocks
        ],
        "notices": [
            {
                "id": n.id,
                "agreement_id": a.agreement_id,
                "phase": n.phase.value,
                "sequence": n.sequence,
                "email": n.email,
                "state": n.state.value,
                "sent_at": n.sent_at,
                "message_sha256": n.message_sha256,
            }
            for a in affected
            for n in a.notices
        ],
        "actions": [
            {
                "id": x.id,
                "kind": x.kind.value,
                "description": x.description,
                "owner": x.owner,
                "due_on": x.due_on,
                "done_on": x.done_on,
                "evidence": x.evidence,
                "evidence_sha256": x.evidence_sha256,
                "evidence_filename": x.evidence_filename,
            }
            for x in breach.actions
        ],
    }


def _load(breach_id: int) -> Breach:
    breach = db.session.scalar(select(Breach).where(Breach.id == breach_id).options(*breach_loader()))
    if breach is None or not any(can_see_client(current(), a.agreement.client_id) for a in breach.affected):
        fail(404, f"No breach with id {breach_id}.")
    return breach


def writable_breach(breach_id: int) -> None:
    _load(breach_id)
    require_write()


def _agreements() -> list[Agreement]:
    return list(
        db.session.scalars(
            select(Agreement)
            .where(Agreement.status != AgreementStatus.DRAFT, client_filter(current(), Agreement.client_id))
            .options(selectinload(Agreement.client))
        )
    )


EXAMPLE = {
    "title": "Backup bucket readable from the internet",
    "occurred_at": "2026-03-01T08:00:00+00:00",
    "detected_at": "2026-03-02T09:00:00+00:00",
    "aware_at": "2026-03-02T09:30:00+00:00",
    "natures": ["confidentiality"],
    "description": "A storage bucket holding nightly backups was public for 25 hours.",
    "contact_point": "DPO, dpo@processor.example, +213 21 00 00 00",
    "data_subject_categories": "customers",
    "data_subjects_approx": 1200,
    "record_categories": "names, e-mail addresses",
    "records_approx": 5000,
    "likely_consequences": "phishing against customers",
    "measures_taken": "bucket made private; keys rotated",
    "measures_proposed": "weekly public-exposure scan",
    "agent_ids": [4],
    "agents": "a visitor from the cleaning company",
    "agreement_ids": [1, 2],
}


@blp.route("/breaches", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(BreachOut), headers=LINK_HEADER)
def list_breaches(query: dict[str, Any]) -> Any:
    """Breaches touching an agreement of a client this token may see, newest awareness first (paginated)."""
    body, status, headers = paginate_list(visible_breaches(current()), query)
    return {**body, "items": [breach_out(b) for b in body["items"]]}, status, headers


@blp.route("/breaches", methods=["POST"])
@checked_first(require_write)
@blp.arguments(BreachIn, example=EXAMPLE)
@blp.response(201, BreachOut)
def record_breach_api(data: dict[str, Any]) -> Any:
    """Enter a breach in the register (clause 8.3) with its affected agreements: each gets its clause 8.1 event,
    so its notice clock runs from awareness (compliance team and admins)."""
    ids = data.pop("agreement_ids")
    try:
        agreements = agreements_for(ids, _agreements())
        breach = record_breach(current(), BreachInput(**data), agreements)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return breach_out(_load(breach.id))


@blp.route("/breaches/<int:breach_id>", methods=["GET"])
@blp.response(200, BreachOut)
def get_breach(breach_id: int) -> Any:
    """One breach with the clocks and notices of the clients this token may see."""
    return breach_out(_load(breach_id))


@blp.route("/breaches/<int:breach_id>/agreements", methods=["POST"])
@checked_first(writable_breach)
@blp.arguments(BreachAgreementIn, example={"agreement_id": 3})
@blp.response(201, BreachOut)
def add_breach_agreement_api(data: dict[str, Any], breach_id: int) -> Any:
    """Add an affected agreement: its clause 8.1 clock runs from the breach's awareness (staff only)."""
    breach = _load(breach_id)
    try:
        (agreement,) = agreements_for([data["agreement_id"]], _agreements())
        add_affected_agreement(current(), breach, agreement)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return breach_out(_load(breach_id))


@blp.route("/breaches/<int:breach_id>/notices", methods=["POST"])
@checked_first(writable_breach)
@blp.arguments(BreachNotifyIn, example={"agreement_id": 1, "phase": "initial"})
@blp.response(201, BreachOut)
def notify_breach_api(data: dict[str, Any], breach_id: int) -> Any:
    """Queue the notice (initial, or a follow-up with new information) to the client's addresses; the next
    `flask notices send` sends it and keeps it as clause 8.1 evidence (staff only)."""
    breach = _load(breach_id)
    affected = next((a for a in breach.affected if a.agreement_id == data["agreement_id"]), None)
    try:
        if affected is None:
            raise DomainError("That agreement is not affected by this breach.", field="agreement_id")
        queue_notice(current(), breach, affected, NoticePhase(data["phase"]), data["new_information"])
    except DomainError as error:
        refused(error)
    db.session.commit()
    return breach_out(_load(breach_id))


@blp.route("/breaches/<int:breach_id>/actions", methods=["POST"])
@checked_first(writable_breach)
@blp.arguments(
    BreachActionIn,
    example={"kind": "containment", "description": "Bucket made private", "owner": "Ops", "due_on": None},
)
@blp.response(201, BreachOut)
def add_breach_action_api(data: dict[str, Any], breach_id: int) -> Any:
    """Record a containment, remedy or investigation action of clause 8.1(2) (staff only)."""
    breach = _load(breach_id)
    try:
        add_action(current(), breach, ActionInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return breach_out(_load(breach_id))


class ActionDoneIn(StrictSchema):
    done_on = dates.Date(required=True)
    evidence = Text(load_default="", validate=validate.Length(max=4000))


class ActionDoneFile(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"})


def writable_breach_action(action_id: int) -> None:
    action = db.session.get(BreachAction, action_id)
    if action is None:
        fail(404, f"No breach action with id {action_id}.")
    writable_breach(action.breach_id)


@blp.route("/breach-actions/<int:action_id>/done", methods=["POST"])
@checked_first(writable_breach_action)
@blp.arguments(ActionDoneIn, location="form")
@blp.arguments(ActionDoneFile, location="files")
@blp.response(
    200,
    BreachOut,
    example={
        "id": 7,
        "title": "Backup bucket readable from the internet",
        "actions": [
            {
                "id": 12,
                "kind": "containment",
                "description": "Bucket made private",
                "owner": "Ops",
                "due_on": None,
                "done_on": "2026-03-04",
                "evidence": "Ticket OPS-1432",
                "evidence_sha256": None,
                "evidence_filename": None,
            }
        ],
    },
)
def mark_breach_action_done_api(form: dict[str, Any], files: dict[str, Any], action_id: int) -> Any:
    """Mark an open clause 8.1(2) action done (staff only): multipart with `done_on`, `evidence` (text) and/or an
    optional `file`; once done it never changes. Answers the breach."""
    action = db.session.get_one(BreachAction, action_id)
    file = request.files.get("file")
    upload = Upload(file.stream, file.filename or "evidence") if file is not None and file.filename else None
    try:
        mark_action_done(current(), action, form["done_on"], form["evidence"], upload)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return breach_out(_load(action.breach_id))


class FailedBreachNoticeOut(Schema):
    id = fields.Integer()
    breach_id = fields.Integer()
    breach_title = fields.Function(lambda n: n.breach.title)
    agreement_id = fields.Function(lambda n: n.affected.agreement_id)
    agreement_reference = fields.Function(lambda n: n.affected.agreement.reference)
    phase = fields.Function(lambda n: n.phase.value)
    email = fields.String()
    attempts = fields.Integer()
    held = fields.Boolean()
    last_error = fields.String()


class BreachRequeueOut(Schema):
    queued = fields.Integer(metadata={"description": "1 when the e-mail was queued again, 0 when it had not failed"})


def staff_breach_notice(breach_notice_id: int) -> None:
    require_write()
    if db.session.get(BreachNotice, breach_notice_id) is None:
        fail(404, f"No breach notice with id {breach_notice_id}.")


@blp.route("/breach-notices/failed", methods=["GET"])
@checked_first(require_write)
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(FailedBreachNoticeOut), headers=LINK_HEADER)
def list_failed_breach_notices(query: dict[str, Any]) -> Any:
    """Breach notice e-mails whose last attempt failed, held ones included (staff only), oldest first."""
    return paginate_list(failed_notices(), query, key=lambda n: n.id)


@blp.route("/breach-notices/<int:breach_notice_id>/retry", methods=["POST"])
@checked_first(staff_breach_notice)
@blp.response(200, BreachRequeueOut, example={"queued": 1})
def retry_breach_notice_api(breach_notice_id: int) -> Any:
    """Queue one failed (or held) breach notice e-mail again (staff only); the next `flask notices send` sends it."""
    notice = db.get_or_404(BreachNotice, breach_notice_id)  # role and existence: staff_breach_notice
    count = requeue(current(), [notice])
    db.session.commit()
    return {"queued": count}
