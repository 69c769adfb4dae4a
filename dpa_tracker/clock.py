"""The application's clock: every "now" and "today" in the package comes from here.

Tests set the time with the ``clock`` fixture (``tests/conftest.py``) instead of patching modules; the
code never reads the machine's local date.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

_fixed: datetime | None = None


def now() -> datetime:
    """The current moment, timezone-aware UTC."""
    return _fixed if _fixed is not None else datetime.now(UTC)


def today() -> date:
    """Today's date in UTC."""
    return now().date()


@contextmanager
def fixed_at(moment: datetime) -> Iterator[None]:
    """Make ``now()`` answer ``moment`` inside the block (tests and the demo seeder only)."""
    global _fixed
    if moment.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    before, _fixed = _fixed, moment.astimezone(UTC)
    try:
        yield
    finally:
        _fixed = before
