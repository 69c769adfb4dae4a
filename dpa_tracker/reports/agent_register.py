"""The agent register (clause 5) as CSV and PDF: data in, bytes out."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import cm
from reportlab.platypus import Flowable, Spacer

from dpa_tracker.reports.csv_file import render_csv
from dpa_tracker.reports.record_pdf import (
    BODY_W,
    EMPTY,
    VALUE_W,
    _cell,
    _heading,
    _join_nonempty,
    _kv,
    _render,
    _table,
)

TITLE = "Agent register (clause 5)"
COLUMNS = (
    ("name", "Name"),
    ("email", "E-mail"),
    ("function", "Role"),
    ("employer", "Employer"),
    ("agreements", "Agreements and access"),
    ("designated_on", "Designated on"),
    ("committed_on", "Commitment signed on"),
    ("trained_on", "Last training"),
    ("training_expires_on", "Training valid until"),
    ("mission_ends_on", "Mission ends on"),
    ("access_removed_at", "Access removal confirmed"),
    ("authorised", "Authorised"),
    ("missing", "What is missing"),
)


def render_agent_register_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark: spreadsheet programs read Arabic and accented names as written."""
    return render_csv([label for _, label in COLUMNS], [[row[key] for key, _ in COLUMNS] for row in rows])


def render_agent_register_pdf(rows: list[dict[str, Any]], as_of: str, scope: str) -> bytes:
    authorised = sum(1 for row in rows if row["authorised"] == "yes")
    story: list[Flowable] = [
        _heading(TITLE, "title", None, "agents"),
        _kv(
            [
                ("As of", _cell(as_of, VALUE_W)),
                ("Shown", _cell(scope, VALUE_W)),
                ("Agents", _cell(f"{len(rows)} ({authorised} authorised)", VALUE_W)),
            ]
        ),
        Spacer(1, 12),
    ]
    widths = [3.4 * cm, 2.6 * cm, 4.2 * cm, 2.2 * cm, 2.0 * cm, BODY_W - 14.4 * cm]
    table = [["Agent", "Employer", "Agreements and access", "Training valid until", "Authorised", "What is missing"]]
    table += [
        [
            _cell(f"{r['name']}\n{r['function']}", widths[0]),
            _cell(r["employer"], widths[1]),
            _cell(r["agreements"] or EMPTY, widths[2]),
            _cell(r["training_expires_on"] or EMPTY, widths[3]),
            _cell(r["authorised"], widths[4], "label"),
            _cell(r["missing"] or EMPTY, widths[5]),
        ]
        for r in rows
    ]
    story.append(_table(table, widths, header=True))

    def footer(page: int, total: int) -> tuple[str, str]:
        return (
            _join_nonempty(TITLE, f"as of {as_of}"),
            "Authorised: designated and committed in writing, trained within 12 months, mission not ended.",
        )

    return _render(story, TITLE, f"as of {as_of}", footer)
