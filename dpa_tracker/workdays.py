"""Working-day calendars per country, for clocks the agreement counts in working days (clause 9.1).

Weekends and public holidays come from ``workdays.yaml`` (maintained yearly). A count of N working days
skips the day the clock starts (the day of receipt never counts) and ends at the end of the N-th working
day after it, 23:59:59 UTC. A year the table does not cover counts weekends only: holidays only push a due
date later, so a missing table errs early (strict), never late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_FILE = Path(__file__).with_name("workdays.yaml")
DEFAULT = "default"
_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_NAMES = {number: name.capitalize() for name, number in _DAYS.items()}
END_OF_DAY = time(23, 59, 59, tzinfo=UTC)


@dataclass(frozen=True)
class WorkCalendar:
    country: str  # ISO code, or "" for the default calendar
    weekend: frozenset[int]  # date.weekday() numbers
    holidays: Mapping[date, str]
    years: frozenset[int]  # years whose public holidays are in the table

    @property
    def label(self) -> str:
        return f"{self.country} calendar" if self.country else "default calendar"

    def describe(self) -> str:
        days = "+".join(_NAMES[d] for d in sorted(self.weekend))
        covered = f"public holidays {min(self.years)}-{max(self.years)}" if self.years else "no public holidays"
        return f"{self.label}: weekend {days}, {covered}"

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself never counts)."""
        day, left = start, count
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def due_at(self, start: datetime, count: int) -> datetime:
        """End (UTC) of the ``count``-th working day after the day of ``start`` (in UTC)."""
        return datetime.combine(self.add_working_days(start.astimezone(UTC).date(), count), END_OF_DAY)

    def skipped(self, start: date, until: date) -> list[str]:
        """The public holidays between the two days, as "Sun 1 Nov (Revolution Day)", for pages."""
        return [f"{day:%a %d %b} ({name})" for day, name in sorted(self.holidays.items()) if start < day <= until]


@cache
def _table() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return data


@cache
def calendar_for(country: str) -> WorkCalendar:
    """The calendar of ``country`` (ISO alpha-2); an unknown or empty code gives the default calendar
    (Saturday and Sunday, no public holidays)."""
    code = country.strip().upper()
    table = _table()
    weekend = table["weekends"].get(code, table["weekends"][DEFAULT])
    by_year = table["holidays"].get(code, {})
    holidays = {date.fromisoformat(str(day)): str(name) for year in by_year.values() for day, name in year.items()}
    return WorkCalendar(
        country=code if code in table["weekends"] or code in table["holidays"] else "",
        weekend=frozenset(_DAYS[d] for d in weekend),
        holidays=holidays,
        years=frozenset(int(y) for y in by_year),
    )


def countries() -> list[str]:
    """The countries with their own calendar in the table."""
    table = _table()
    return sorted({*table["weekends"], *table["holidays"]} - {DEFAULT})
