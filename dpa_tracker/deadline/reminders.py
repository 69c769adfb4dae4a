"""``flask reminders send``: one digest e-mail per person of what became due soon or overdue since the last run.

Who is reminded: the owner of an obligation (an active member of the compliance team); every other deadline
(unowned obligations, notice answers, breach clocks, trainings, requests to forward) goes to each active user
of the compliance role, or to the active admins when there is none (the processor's compliance contact).

What was reminded is kept (``ReminderItem``: user, deadline key, state), in the same transaction as the queued
digest, so a second run the same day queues nothing, and a deadline that turns from due soon to overdue, or a
new one, is in the next digest. The digest is an outbox row sent by the one outbox sender: an SMTP failure
leaves it failed and the next run sends it; it is never queued twice.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dpa_tracker import outbox
from dpa_tracker.audit.services import record
from dpa_tracker.deadline.services import DeadlineFilters, deadlines_for
from dpa_tracker.deadline.sources import KINDS, STATE_LABELS, Deadline
from dpa_tracker.extensions import db
from dpa_tracker.models import DeliveryState, ReminderDigest, ReminderItem, Role, User
from dpa_tracker.models.base import utcnow
from dpa_tracker.outbox import Outbox, Prepared, SendReport, plain_message


@dataclass(frozen=True)
class QueueReport:
    digests: int
    items: int


def _contacts() -> list[User]:
    """Who receives the deadlines nobody owns: the compliance team, else the admins."""
    for role in (Role.COMPLIANCE, Role.ADMIN):
        users = list(db.session.scalars(select(User).where(User.role == role, User.active.is_(True)).order_by(User.id)))
        if users:
            return users
    return []


def _recipients(deadlines: list[Deadline]) -> dict[int, list[Deadline]]:
    owners = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({d.owner_id for d in deadlines if d.owner_id is not None}))
        )
    }
    contacts = _contacts()
    by_user: dict[int, list[Deadline]] = defaultdict(list)
    for deadline in deadlines:
        owner = owners.get(deadline.owner_id) if deadline.owner_id is not None else None
        if owner is not None and owner.active and owner.can_write:
            by_user[owner.id].append(deadline)
        else:
            for contact in contacts:
                by_user[contact.id].append(deadline)
    return by_user


def _body(user: User, items: list[Deadline]) -> str:
    lines = [
        f"Hello {user.display_name},",
        "",
        "These deadlines became due soon or overdue since the last reminder:",
        "",
    ]
    for state in ("overdue", "due_soon"):
        chosen = [d for d in items if d.state == state]
        if not chosen:
            continue
        lines.append(f"{STATE_LABELS[state]}:")
        for d in chosen:
            when = f"{d.at:%Y-%m-%d %H:%M} UTC" if d.at is not None else f"{d.when:%Y-%m-%d}"
            where = f"{d.client_name}, {d.agreement_reference}" if d.agreement_reference else d.client_name
            lines.append(f"  - {when}  {d.title} ({KINDS[d.kind][0].lower()}; {where})")
        lines.append("")
    lines.append("Sign in to dpa_tracker and open Deadlines for the whole list.")
    return "\n".join(lines)


def queue_digests() -> QueueReport:
    """Queue one digest per user with something new; commit per user (a crash keeps what was queued)."""
    deadlines = deadlines_for(None, DeadlineFilters())
    by_user = _recipients(deadlines)
    if not by_user:
        return QueueReport(0, 0)
    seen = {
        (user_id, key, state)
        for user_id, key, state in db.session.execute(
            select(ReminderItem.user_id, ReminderItem.item_key, ReminderItem.state).where(
                ReminderItem.user_id.in_(list(by_user))
            )
        )
    }
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(list(by_user))))}
    domain = current_app.config["MAIL_SENDER"].rsplit("@", 1)[-1]
    digests = items = 0
    for user_id, found in sorted(by_user.items()):
        fresh = [d for d in found if (user_id, d.key, d.state) not in seen]
        if not fresh:
            continue
        user = users[user_id]
        overdue = sum(1 for d in fresh if d.state == "overdue")
        digest = ReminderDigest(
            user=user,
            email=user.email,
            subject=f"dpa_tracker deadlines: {overdue} overdue, {len(fresh) - overdue} due soon",
            body=_body(user, fresh),
            message_id=make_msgid(domain=domain),
        )
        db.session.add(digest)
        db.session.flush()
        for d in fresh:
            db.session.add(
                ReminderItem(
                    user_id=user_id, digest=digest, item_key=d.key, state=d.state, due_on=d.when, title=d.title[:300]
                )
            )
        record(
            None,
            "reminder.digest_queued",
            digest,
            {"user": user.email, "items": [f"{d.key} {d.state}" for d in fresh]},
            client_id=user.client_id,
        )
        db.session.commit()
        digests += 1
        items += len(fresh)
    return QueueReport(digests, items)


def _mark_sent(digest: ReminderDigest, raw: bytes) -> None:
    digest.message_sha256 = hashlib.sha256(raw).hexdigest()
    digest.sent_at = utcnow()
    digest.last_error = ""
    digest.state = DeliveryState.SENT
    record(
        None,
        "reminder.digest_sent",
        digest,
        {"email": digest.email, "message_id": digest.message_id, "sha256": digest.message_sha256},
    )


def _prepare(digest: ReminderDigest) -> Prepared:
    message = plain_message(digest.subject, digest.email, digest.message_id, digest.body)
    return Prepared(message, lambda: _mark_sent(digest, message.as_bytes()))


OUTBOX: Outbox[ReminderDigest] = Outbox(
    model=ReminderDigest,
    failed_event="reminder.digest_failed",
    prepare=_prepare,
    client_id=lambda digest: None,
    load=(selectinload(ReminderDigest.user),),
)


def send_pending(limit: int = 500) -> SendReport:
    """Send queued digests and retry failed ones not held (``flask reminders send``)."""
    return outbox.send_pending(OUTBOX, limit)
