"""Ids arriving in URLs, query strings and form values, parsed strictly.

Primary keys are 32-bit INTEGER columns on PostgreSQL: a larger number sent to the database is an
error there (and beyond 64 bits on SQLite), so such ids are refused before any query, as "not found".
Only ASCII digits count: ``"²".isdigit()`` and ``"٣".isdigit()`` are True in Python.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_id(raw: object) -> int | None:
    """The id written in ``raw`` (ASCII digits, 1 to MAX_ID), or None."""
    if not isinstance(raw, str) or not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def parse_ids(values: list[str] | None) -> list[int]:
    """The valid ids among ``values`` (multi-select form values); the others are dropped."""
    return [i for i in (parse_id(v) for v in values or []) if i is not None]


def at_most(limit: int) -> str:
    """A regular expression matching exactly the decimal numbers 0..``limit`` (leading zeros allowed)."""
    digits = str(limit)
    branches = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - i - 1
            branches.append(digits[:i] + f"[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    branches.append(digits)
    return "0*(?:" + "|".join(branches) + ")"


class IdConverter(IntegerConverter):
    """``<int:...>`` in routes: ASCII digits up to MAX_ID, anything else does not match (404).

    The bound is in the regular expression, not only in ``max``: a path that fails a converter's
    check still counts as found for the rule's other methods, and would answer 405 instead of 404."""

    regex = at_most(MAX_ID)

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # IntegerConverter's own arguments
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
