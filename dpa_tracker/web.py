"""Small helpers shared by the HTML views."""

from __future__ import annotations

from datetime import date

from flask import abort, request
from flask_wtf import FlaskForm

from dpa_tracker.errors import DomainError


def show_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's refusal next to the field it concerns (or on top of the form)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        if isinstance(field.errors, tuple):
            field.errors = list(field.errors)
        field.errors.append(error.message)
    else:
        form.form_errors.append(error.message)


def as_of_from_request() -> date | None:
    """The ``?as_of=YYYY-MM-DD`` parameter; a malformed date is a 400 with a clear message."""
    raw = request.args.get("as_of", "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, description=f"as_of must be a date written YYYY-MM-DD, not {raw!r}.")


def form_status(form: FlaskForm) -> int:
    """HTTP status of a page that re-displays a form: 422 when it has errors."""
    return 422 if form.errors or form.form_errors else 200
