"""Small helpers shared by the HTML views."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from flask import abort, flash, request
from flask_wtf import FlaskForm

from dpa_tracker.dates import EARLIEST, LATEST, parse_date
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.ids import MAX_ID, parse_id

T = TypeVar("T")


def show_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's refusal next to the field it concerns (or on top of the form)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        if isinstance(field.errors, tuple):
            field.errors = list(field.errors)
        field.errors.append(error.message)
    else:
        form.form_errors.append(error.message)


def run_action(form: FlaskForm, action: Callable[[], T], success: str | Callable[[T], str]) -> T | None:
    """Run a page's change: the one commit of the request and its flash, or the refusal shown on ``form``.

    ``action`` calls the service and returns what it wrote (never None). On a ``DomainError`` nothing is kept
    (rollback), the message goes next to its field, and the result is None: the view re-displays the form.
    Otherwise the session is committed, ``success`` (text, or made from the result) is flashed, and the result
    is returned for the view to redirect.
    """
    try:
        result = action()
    except DomainError as error:
        db.session.rollback()
        show_domain_error(form, error)
        return None
    db.session.commit()
    flash(success if isinstance(success, str) else success(result), "success")
    return result


def as_of_from_request() -> date | None:
    """The ``?as_of=YYYY-MM-DD`` parameter; a malformed date is a 400 with a clear message."""
    return date_from_request("as_of")


def date_from_request(name: str) -> date | None:
    """A date query argument: None when absent, 400 with a clear message when malformed or out of range."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    day = parse_date(raw)
    if day is None:
        abort(
            400,
            description=f"{name} must be a date written YYYY-MM-DD between {EARLIEST} and {LATEST}, not {raw[:40]!r}.",
        )
    return day


def id_from_request(name: str) -> int | None:
    """An id query argument: None when absent, 400 when it is not a whole number in the id range."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        abort(400, description=f"{name} must be a whole number between 1 and {MAX_ID}.")
    return value


def form_status(form: FlaskForm) -> int:
    """HTTP status of a page that re-displays a form: 422 when it has errors."""
    return 422 if form.errors or form.form_errors else 200
