"""Which sub-processors a client's agreements authorise on a date.

One source of truth, computed, never stored twice: the authorisations entered directly, then
every change notice in the order it took effect (clause 6.1, Art. 28(2)):

* an addition or replacement takes effect for an agreement on the day the client approved it;
  an objection blocks it for that agreement;
* silence binds only under a *general* authorisation, and only once the notice reached the
  client (an e-mail ``sent``): the day after the objection deadline, which the first delivery
  fixed at delivery day + the agreement's period. An undelivered notice never binds, whatever
  the date; so the deadline, moved only at first delivery, never changes a past list;
* under a *specific* authorisation silence never binds: only an approval does;
* a removal needs no consent: it takes effect for every notified agreement on the day it is
  proposed; an objection to it is kept, but does not block it.
A replacement's old sub-processor leaves when the new one takes effect (if the client objects,
the old one, still authorised, stays on the list).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agreement,
    AgreementStatus,
    AnswerState,
    Authorisation,
    ChangeKind,
    Client,
    DeliveryState,
    NoticeRecipient,
    SubProcessor,
)
from dpa_tracker.models.agreement import AuthorisationType


@dataclass(frozen=True)
class AuthorisedEntry:
    agreement_id: int
    subprocessor: SubProcessor
    since_on: date
    via_notice_id: int | None


def delivered_on(recipient: NoticeRecipient) -> date | None:
    """The day the notice first reached the client (an e-mail sent), or None."""
    sent = [d.sent_at for d in recipient.deliveries if d.state is DeliveryState.SENT and d.sent_at is not None]
    return min(sent).date() if sent else None


def silence_binds(recipient: NoticeRecipient) -> bool:
    """Whether the client's silence can ever authorise this change (general authorisation, notice delivered)."""
    return (
        recipient.agreement.subprocessor_authorisation is AuthorisationType.GENERAL
        and delivered_on(recipient) is not None
    )


def effective_on(recipient: NoticeRecipient) -> date | None:
    """The day the notice takes effect for this agreement, or None (objected, or not (yet) binding)."""
    if recipient.notice.kind is ChangeKind.REMOVE:
        return recipient.notice.created_at.date()  # no consent needed to stop using a sub-processor
    if recipient.state is AnswerState.OBJECTED:
        return None
    if recipient.state is AnswerState.APPROVED and recipient.answered_at is not None:
        return recipient.answered_at.date()
    if not silence_binds(recipient):
        return None
    return recipient.objection_deadline + timedelta(days=1)


def describe_effect(recipient: NoticeRecipient, today: date) -> str:
    """What the notice does for this agreement, as the pages say it."""
    when = effective_on(recipient)
    removal = recipient.notice.kind is ChangeKind.REMOVE
    if when is not None:
        done = f"in effect since {when}" if when <= today else f"takes effect on {when}"
        if removal and recipient.state is AnswerState.OBJECTED:
            return f"{done} (a removal needs no consent; the objection is kept)"
        return done
    if recipient.state is AnswerState.OBJECTED:
        consequence = recipient.objection_consequence
        return "not applied: objected" + (f" ({consequence.value.replace('_', ' ')})" if consequence else "")
    if recipient.agreement.subprocessor_authorisation is AuthorisationType.SPECIFIC:
        return "not applied until the client approves it (specific authorisation: silence never authorises)"
    return "not applied: the notice has not reached the client yet (the period runs from delivery)"


def objected_subprocessor_ids(client_id: int, on: date) -> set[int]:
    """Sub-processors the client objected to (an addition or replacement, answered by ``on``) and that are not
    authorised for it on ``on``: any activity of the client still linking one is a record gap (clause 6.1)."""
    objected = set(
        db.session.scalars(
            select(NoticeRecipient)
            .join(NoticeRecipient.agreement)
            .where(Agreement.client_id == client_id, NoticeRecipient.state == AnswerState.OBJECTED)
            .options(selectinload(NoticeRecipient.notice))
        )
    )
    ids = {
        r.notice.subprocessor_id
        for r in objected
        if r.notice.kind is not ChangeKind.REMOVE and r.answered_at is not None and r.answered_at.date() <= on
    }
    return ids - {e.subprocessor.id for e in authorised_for_client(client_id, on)}


def authorised_for_agreements(agreement_ids: Iterable[int], as_of: date) -> dict[int, list[AuthorisedEntry]]:
    ids = list(agreement_ids)
    result: dict[int, dict[int, AuthorisedEntry]] = {aid: {} for aid in ids}
    # No shortcut for no agreements: pages that check the sub-processors of whatever rows they list (the
    # dashboard) make the same statements whether or not a row needs them.
    direct = db.session.scalars(
        select(Authorisation)
        .where(Authorisation.agreement_id.in_(ids))
        .options(selectinload(Authorisation.subprocessor))
    ).all()
    recipients = db.session.scalars(
        select(NoticeRecipient)
        .where(NoticeRecipient.agreement_id.in_(ids))
        .options(
            selectinload(NoticeRecipient.notice),
            selectinload(NoticeRecipient.deliveries),
            selectinload(NoticeRecipient.agreement),
        )
    ).all()
    # (day, order of the day, (action, item)): the item is an Authorisation for add/remove, a NoticeRecipient
    # for notice.
    changes: list[tuple[date, int, tuple[str, Any]]] = []
    for auth in direct:
        changes.append((auth.since_on, 0, ("add", auth)))
        if auth.until_on is not None:
            changes.append((auth.until_on, 1, ("remove", auth)))
    for recipient in recipients:
        when = effective_on(recipient)
        if when is not None:
            changes.append((when, 2, ("notice", recipient)))
    subprocessors = {s.id: s for s in db.session.scalars(select(SubProcessor))}
    for when, _order, (action, item) in sorted(changes, key=lambda c: (c[0], c[1], getattr(c[2][1], "id", 0))):
        if when > as_of:
            continue
        if action == "add":
            result[item.agreement_id][item.subprocessor_id] = AuthorisedEntry(
                item.agreement_id, item.subprocessor, item.since_on, None
            )
        elif action == "remove":
            result[item.agreement_id].pop(item.subprocessor_id, None)
        else:
            notice = item.notice
            current = result[item.agreement_id]
            if notice.kind in (ChangeKind.REMOVE, ChangeKind.REPLACE):
                current.pop(notice.replaces_id if notice.kind is ChangeKind.REPLACE else notice.subprocessor_id, None)
            if notice.kind in (ChangeKind.ADD, ChangeKind.REPLACE):
                current[notice.subprocessor_id] = AuthorisedEntry(
                    item.agreement_id, subprocessors[notice.subprocessor_id], when, notice.id
                )
    return {aid: sorted(entries.values(), key=lambda e: e.subprocessor.legal_name) for aid, entries in result.items()}


def authorised_for_client(client_id: int, as_of: date) -> list[AuthorisedEntry]:
    """Sub-processors authorised on ``as_of`` under any of the client's agreements in force."""
    return authorised_for_clients([client_id], as_of)[client_id]


def authorised_for_clients(client_ids: Iterable[int], as_of: date) -> dict[int, list[AuthorisedEntry]]:
    """``authorised_for_client`` for several clients in a fixed number of queries (the record's completeness
    check runs for every client the dashboard lists)."""
    ids = list(client_ids)
    client_of = agreements_of_clients(ids)
    return merged_by_client(ids, client_of, authorised_for_agreements(client_of, as_of))


def agreements_of_clients(client_ids: Iterable[int]) -> dict[int, int]:
    """{agreement id: client id} of the clients' agreements that are not drafts (one query)."""
    agreements = db.session.execute(
        select(Agreement.id, Agreement.client_id).where(
            Agreement.client_id.in_(list(client_ids)), Agreement.status != AgreementStatus.DRAFT
        )
    ).all()
    return {agreement_id: client_id for agreement_id, client_id in agreements}


def merged_by_client(
    client_ids: Iterable[int], client_of: Mapping[int, int], authorised: Mapping[int, list[AuthorisedEntry]]
) -> dict[int, list[AuthorisedEntry]]:
    """Each client's sub-processors from its agreements' (``client_of``, ``agreements_of_clients``) in
    ``authorised`` (``authorised_for_agreements`` of those agreements at least): a sub-processor authorised
    under several agreements counts from its earliest day."""
    merged: dict[int, dict[int, AuthorisedEntry]] = {cid: {} for cid in client_ids}
    for agreement_id, client_id in client_of.items():
        for entry in authorised[agreement_id]:
            known = merged[client_id].get(entry.subprocessor.id)
            if known is None or entry.since_on < known.since_on:
                merged[client_id][entry.subprocessor.id] = entry
    return {cid: sorted(entries.values(), key=lambda e: e.subprocessor.legal_name) for cid, entries in merged.items()}


def subprocessor_row(entry: AuthorisedEntry) -> dict[str, Any]:
    """One authorised sub-processor as the list shows it (page, files, API) and the record carries it."""
    sub = entry.subprocessor
    return {
        "legal_name": sub.legal_name,
        "country": sub.country,
        "service": sub.service,
        "locations": list(sub.locations),
        "contact_email": sub.contact_email,
        "dpo_name": sub.dpo_name,
        "dpo_email": sub.dpo_email,
        "authorised_since": entry.since_on.isoformat(),
    }


def subprocessor_rows(client: Client, as_of: date) -> list[dict[str, Any]]:
    """The sub-processors authorised for the client on ``as_of``, as the list shows them (page, files, API)."""
    return [subprocessor_row(e) for e in authorised_for_client(client.id, as_of)]
