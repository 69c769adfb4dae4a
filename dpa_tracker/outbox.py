"""The one outbox sender: every queued e-mail (change notices, breach notices, request notices, reminder
digests) is sent by ``send_pending`` with the same rules, and each domain only says how its rows are read,
built and settled (an ``Outbox`` adapter).

The rules, which keep an e-mail from being lost or sent twice:
- one row per e-mail with a fixed Message-ID; each row is claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
  so two parallel runs never send the same row), tried and committed on its own;
- an SMTP failure (``MailError``) marks the row failed and the next run retries it;
- a message that cannot be built from the stored row, or an exception we do not know, would fail the same way
  every run: the row is held until an admin requeues it;
- an e-mail that left but whose recording failed is held too, never retried blindly (it would arrive twice).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Generic, Protocol, TypeVar, cast

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.base import ExecutableOption

from dpa_tracker.audit.services import record
from dpa_tracker.extensions import db
from dpa_tracker.models import DeliveryState
from dpa_tracker.models.base import Base, utcnow
from dpa_tracker.subprocessor.mail import MailError, send_message


class OutboxRow(Protocol):
    """What the sender reads and writes on every outbox row (the columns each row model declares)."""

    id: int
    email: str
    state: DeliveryState
    held: bool
    attempts: int
    last_error: str


Row = TypeVar("Row", bound=Base)


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int  # SMTP failures, retried by the next run
    held: int = 0  # failures that wait for an admin's retry

    def __add__(self, other: SendReport) -> SendReport:
        return SendReport(self.sent + other.sent, self.failed + other.failed, self.held + other.held)


@dataclass(frozen=True)
class Prepared:
    """The e-mail built from a row, and what to do once it left: keep the evidence and settle the row. Built
    together, so the hook records exactly what the message said (e.g. the objection deadline it announced)."""

    message: EmailMessage
    on_sent: Callable[[], None]


@dataclass(frozen=True)
class Outbox(Generic[Row]):
    """How one kind of outbox row is sent (one adapter per row model)."""

    model: type[Row]
    failed_event: str  # the audit action written when an attempt fails
    prepare: Callable[[Row], Prepared]
    client_id: Callable[[Row], int | None]
    load: Sequence[ExecutableOption] = field(default=())  # eager loads for what prepare/client_id read


def plain_message(subject: str, to: str, message_id: str, body: str) -> EmailMessage:
    """A text e-mail from the configured sender, with the row's fixed Message-ID."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = to
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    message.set_content(body)
    return message


def _column(outbox: Outbox[Row], name: str) -> InstrumentedAttribute[Any]:
    column: InstrumentedAttribute[Any] = getattr(outbox.model, name)
    return column


def send_pending(outbox: Outbox[Row], limit: int = 500) -> SendReport:
    """Send the queued rows and retry the failed ones not held, oldest first, each committed on its own."""
    sent = failed = held = 0
    state, is_held, row_id = _column(outbox, "state"), _column(outbox, "held"), _column(outbox, "id")
    ids: Sequence[int] = db.session.scalars(
        select(row_id)
        .where(
            or_(state == DeliveryState.QUEUED, and_(state == DeliveryState.FAILED, is_held.is_(False))),
        )
        .order_by(row_id)
        .limit(limit)
    ).all()
    for pk in ids:
        row = _claim(outbox, pk)
        if row is None:
            continue
        try:
            prepared = outbox.prepare(row)
        except Exception as exc:  # the stored row is what is wrong: the next run would fail the same way
            _fail(outbox, pk, f"The message cannot be built: {type(exc).__name__}: {exc}", hold=True)
            held += 1
            continue
        try:
            send_message(prepared.message)
        except MailError as exc:
            _fail(outbox, pk, str(exc), hold=False)
            failed += 1
            continue
        except Exception as exc:  # not an SMTP answer we know: do not try it again blindly every run
            _fail(outbox, pk, f"Sending failed: {type(exc).__name__}: {exc}", hold=True)
            held += 1
            continue
        try:
            cast(OutboxRow, row).attempts += 1
            prepared.on_sent()
            db.session.commit()
        except Exception as exc:  # the e-mail left: a retry by cron would send it a second time
            _fail(outbox, pk, f"Sent, but recording it failed: {type(exc).__name__}: {exc}", hold=True)
            held += 1
            continue
        sent += 1
    return SendReport(sent, failed, held)


def _claim(outbox: Outbox[Row], pk: int) -> Row | None:
    """The row, locked against a parallel run on PostgreSQL; None when another run has it or sent it."""
    stmt = select(outbox.model).where(_column(outbox, "id") == pk).options(*outbox.load)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = db.session.scalar(stmt)
    if row is None or cast(OutboxRow, row).state is DeliveryState.SENT:
        db.session.rollback()
        return None
    return row


def _fail(outbox: Outbox[Row], pk: int, error: str, *, hold: bool) -> None:
    """Record a failed attempt in a fresh transaction (whatever the failure left in the session is dropped)."""
    db.session.rollback()
    claimed = _claim(outbox, pk)
    if claimed is None:
        return
    row = cast(OutboxRow, claimed)
    row.attempts += 1
    row.state = DeliveryState.FAILED
    row.held = hold
    row.last_error = error[:2000]
    record(
        None,
        outbox.failed_event,
        row,
        {"email": row.email, "error": row.last_error, "attempts": row.attempts, "held": hold},
        client_id=outbox.client_id(claimed),
    )
    db.session.commit()
