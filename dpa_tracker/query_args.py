"""Filters read from a page's query string: each bad value gives a message naming it and is left out.

The dashboard's list and the deadlines page read the same kinds of arguments (a client, an owner, a number
of days, a page) the same way; each adds its own (a clause family, a status, a kind) through ``choice``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from dpa_tracker.ids import parse_id

MAX_PAGE = 100_000
_NUMBER = re.compile(r"[0-9]{1,6}")


class QueryArgs:
    """Reads arguments into ``found`` (the filter's keyword arguments) and ``errors`` (messages)."""

    def __init__(self, args: Mapping[str, str]) -> None:
        self.args = args
        self.found: dict[str, Any] = {}
        self.errors: list[str] = []

    def text(self, name: str) -> str | None:
        value = (self.args.get(name) or "").strip()
        return value or None

    def choice(self, name: str, key: str, accept: Callable[[str], bool], message: str) -> None:
        """``name`` kept as text when ``accept`` says so; ``message`` (with ``{raw}``) otherwise."""
        if (raw := self.text(name)) is not None:
            if accept(raw):
                self.found[key] = raw
            else:
                self.errors.append(message.format(raw=raw[:40]))

    def object_id(self, name: str, key: str, label: str, what: str) -> None:
        """An id (a client, a user): "Client: “x” is not a client number." otherwise."""
        if (raw := self.text(name)) is not None:
            if (value := parse_id(raw)) is None:
                self.errors.append(f"{label}: “{raw[:40]}” is not {what}.")
            else:
                self.found[key] = value

    def days(self, name: str, key: str, label: str, most: int) -> None:
        """A number of days from 0 to ``most``."""
        if (raw := self.text(name)) is not None:
            if not _NUMBER.fullmatch(raw) or int(raw) > most:
                self.errors.append(f"{label}: “{raw[:40]}” is not a number of days from 0 to {most}.")
            else:
                self.found[key] = int(raw)

    def page(self) -> None:
        if (raw := self.text("page")) is not None:
            if not _NUMBER.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE:
                self.errors.append(f"Page: “{raw[:40]}” is not a page number.")
            else:
                self.found["page"] = int(raw)
