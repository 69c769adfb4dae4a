"""The range of dates the application accepts from anyone, declared once.

Agreements, evidence periods and ``as_of`` dates outside it are typing mistakes or probes; near the
ends of ``datetime.date`` (0001-01-01, 9999-12-31) the clause arithmetic (``due_on + timedelta``)
overflows. Forms, API schemas, query-string helpers and services all read these bounds.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import fields, validate
from wtforms.validators import ValidationError

from dpa_tracker.errors import DomainError

EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)
RANGE_MESSAGE = f"Dates must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}."


def in_range(day: date) -> bool:
    return EARLIEST <= day <= LATEST


def check_date(day: date | None, field: str) -> None:
    """Services call this for every date they are given (forms and schemas check first)."""
    if day is not None and not in_range(day):
        raise DomainError(RANGE_MESSAGE, field=field)


def parse_date(raw: str) -> date | None:
    """A YYYY-MM-DD string inside the range, or None."""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if in_range(day) else None


def within_range(_form: Any, field: Any) -> None:
    """WTForms validator for DateFields."""
    if field.data is not None and not in_range(field.data):
        raise ValidationError(RANGE_MESSAGE)


def Date(**kwargs: Any) -> fields.Date:
    """marshmallow Date field limited to the range (its bounds appear in the OpenAPI description)."""
    metadata = dict(kwargs.pop("metadata", {}))
    metadata["description"] = f"{metadata.get('description', 'A date (YYYY-MM-DD)')}, {EARLIEST} to {LATEST}"
    return fields.Date(validate=validate.Range(EARLIEST, LATEST, error=RANGE_MESSAGE), metadata=metadata, **kwargs)
