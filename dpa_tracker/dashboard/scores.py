"""Compliance scores: applicable obligations met over applicable, with late and overdue shown apart."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from dpa_tracker.models import ObligationStatus as S


@dataclass(frozen=True)
class Score:
    """``met`` of ``applicable``; not-applicable obligations are left out, open and due-soon ones are not met.

    Scores are kept with the status counts and read many times per page: what they derive is computed once."""

    met: int
    applicable: int
    late: int
    overdue: int
    not_applicable: int

    @cached_property
    def percent(self) -> int | None:
        """None when nothing applies: such a client has no score, never 100 %."""
        return None if self.applicable == 0 else round(100 * self.met / self.applicable)

    @cached_property
    def label(self) -> str:
        return "no applicable obligations" if self.percent is None else f"{self.percent} %"

    @cached_property
    def band(self) -> str:
        """A class for the colour; the page always prints the figure or a symbol next to it."""
        if self.percent is None:
            return "none"
        if self.overdue or self.late:
            return "bad" if self.percent < 50 else "warn"
        return "good" if self.percent >= 90 else "warn"

    @cached_property
    def symbol(self) -> str:
        """A text mark for the heat-map cell, so the state never depends on colour alone."""
        if self.percent is None:
            return "–"
        if self.overdue:
            return "✗"
        if self.late:
            return "!"
        return "✓" if self.met == self.applicable else "…"


def score(counts: Mapping[str, int]) -> Score:
    total = sum(counts.values())
    na = counts.get(S.NOT_APPLICABLE.value, 0)
    return Score(
        met=counts.get(S.MET.value, 0),
        applicable=total - na,
        late=counts.get(S.LATE.value, 0),
        overdue=counts.get(S.OVERDUE.value, 0),
        not_applicable=na,
    )


def clause_family(clause_number: str) -> str:
    """Clause 8.1(2) belongs to family 8: the heat-map's columns."""
    return clause_number.split(".", 1)[0].split("(", 1)[0].strip()


def family_key(family: str) -> tuple[int, str]:
    return (int(family), family) if family.isdigit() else (10**6, family)


def add(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for one in counts:
        for state, count in one.items():
            total[state] = total.get(state, 0) + count
    return total
