"""/api/v1 twins of the agreement and client pages: end an agreement, sync it with its template, edit a
client. Each calls the page's own service function, staff only; another tenant's object answers 404."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from dpa_tracker import dates
from dpa_tracker.agreement.services import sync_obligations
from dpa_tracker.api.common import (
    ETAG_HEADER,
    agreement_representation,
    blp,
    checked_first,
    current,
    if_match,
    refused,
    require_write,
    visible,
    writable_agreement,
)
from dpa_tracker.api.schemas import AgreementOut, ClientIn, ClientOut, StrictSchema, Text
from dpa_tracker.client.services import ClientInput, update_client
from dpa_tracker.deletion.services import EndInput, ExceptionInput, end_with_workflow
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Client, EndChoice, EndKind


class EndExceptionIn(StrictSchema):
    what = Text(required=True, validate=validate.Length(min=1, max=2000))
    legal_basis = Text(required=True, validate=validate.Length(min=1, max=2000))
    until_on = dates.Date(required=True)


class EndAgreementIn(StrictSchema):
    ends_on = dates.Date(
        required=True,
        metadata={
            "description": "The date the agreement ended (YYYY-MM-DD); the clause 13 deletion clock starts there."
        },
    )
    end_kind = fields.String(load_default=EndKind.TERMINATED.value, validate=validate.OneOf([k.value for k in EndKind]))
    choice = fields.String(
        load_default=EndChoice.DELETE.value,
        validate=validate.OneOf([c.value for c in EndChoice]),
        metadata={"description": "The client's choice: delete, or return_then_delete (clause 13)"},
    )
    exceptions = fields.List(
        fields.Nested(EndExceptionIn),
        load_default=list,
        metadata={"description": "Legal retention exceptions (what, legal basis, until when); more can be added later"},
    )


class SyncOut(Schema):
    agreement_id = fields.Integer()
    added = fields.List(fields.String(), metadata={"description": "Clause numbers of the obligations added"})


def client_representation(client_id: int) -> Client:
    return db.session.get_one(Client, client_id)  # checked_first answered 404 already


def writable_client(client_id: int) -> None:
    visible(Client, client_id, lambda c: c.id)
    require_write()


@blp.route("/agreements/<int:agreement_id>/end", methods=["POST"])
@checked_first(writable_agreement)
@if_match(AgreementOut(), agreement_representation)
@blp.arguments(
    EndAgreementIn,
    example={
        "ends_on": "2026-06-30",
        "end_kind": "expired",
        "choice": "return_then_delete",
        "exceptions": [{"what": "Invoices", "legal_basis": "Commercial code: 10 years", "until_on": "2036-12-31"}],
    },
)
@blp.response(200, AgreementOut, headers=ETAG_HEADER)
def end_agreement_api(data: dict[str, Any], agreement_id: int) -> Any:
    """Record the end of the agreement (terminated or expired) with the client's choice and any retention
    exceptions, and open its clause 13 workflow (`GET /agreements/{id}/deletion`): deletion due end + deletion_days,
    one task per place the data lives. The clause 13 and 2.2 clocks start from that date."""
    agreement = db.get_or_404(Agreement, agreement_id)  # visibility and role: writable_agreement
    try:
        end_with_workflow(
            current(),
            agreement,
            EndInput(
                data["ends_on"],
                data["end_kind"],
                data["choice"],
                [ExceptionInput(**e) for e in data["exceptions"]],
            ),
        )
    except DomainError as error:
        refused(error)
    db.session.commit()
    return agreement


@blp.route("/agreements/<int:agreement_id>/sync", methods=["POST"])
@checked_first(writable_agreement)
@if_match(AgreementOut(), agreement_representation)
@blp.response(200, SyncOut, example={"agreement_id": 7, "added": ["10.3"]})
def sync_agreement_api(agreement_id: int) -> Any:
    """Add an obligation for every clause of the agreement's template it does not have yet (audited)."""
    agreement = db.get_or_404(Agreement, agreement_id)  # visibility and role: writable_agreement
    try:
        added = sync_obligations(current(), agreement)
    except DomainError as error:
        refused(error)
    db.session.commit()
    return {"agreement_id": agreement.id, "added": [o.clause_number for o in added]}


@blp.route("/clients/<int:client_id>", methods=["PUT"])
@checked_first(writable_client)
@if_match(ClientOut(), client_representation)
@blp.arguments(
    ClientIn,
    example={
        "legal_name": "Acme Hosting SARL",
        "country": "DZ",
        "address": "12 rue Didouche Mourad, Alger",
        "notice_emails": ["dpo@acme.example"],
        "dpo_name": "Amina B.",
        "dpo_email": "dpo@acme.example",
    },
)
@blp.response(200, ClientOut, headers=ETAG_HEADER)
def update_client_api(data: dict[str, Any], client_id: int) -> Any:
    """Replace the client's details (every field; left-out optional ones become empty). Audited."""
    client = db.get_or_404(Client, client_id)  # visibility and role: writable_client
    try:
        update_client(current(), client, ClientInput(**data))
    except DomainError as error:
        refused(error)
    db.session.commit()
    return client
