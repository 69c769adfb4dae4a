"""CSV files for spreadsheet programs: UTF-8 with a byte-order mark, formula cells neutralised.

Every CSV the application hands out goes through ``render_csv``: clients open these files in
spreadsheet programs, which run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return in front of one) as a formula. OWASP's rule: prefix such a cell with a single quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """The cell as text, with a leading single quote when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The byte-order mark makes spreadsheet programs read accents and Arabic as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(cell) for cell in header])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
