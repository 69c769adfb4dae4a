"""The breach register (clause 8.3) as CSV and PDF: rows in, bytes out. Each row is one breach with only the
affected agreements the reader may see (``affected``: reference, client, notified_at, clock)."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import cm
from reportlab.platypus import Flowable, Spacer

from dpa_tracker.reports.csv_file import render_csv
from dpa_tracker.reports.record_pdf import VALUE_W, _cell, _heading, _kv, _render

REGISTER_TITLE = "Personal data breach register — clause 8.3"

# (label, key) in the order of the register: circumstances, consequences, remedies, failures (clause 8.3).
FIELDS = (
    ("Breach", "id"),
    ("Title", "title"),
    ("Occurred at", "occurred_at"),
    ("Detected at", "detected_at"),
    ("Aware at (clock start)", "aware_at"),
    ("Nature", "natures"),
    ("What happened", "description"),
    ("Systems", "systems"),
    ("Sub-processors involved", "subprocessors"),
    ("Caused or reported by", "source_subprocessor"),
    ("Agents involved", "agents"),
    ("Categories of data subjects", "data_subject_categories"),
    ("Approx. data subjects", "data_subjects_approx"),
    ("Categories of records", "record_categories"),
    ("Approx. records", "records_approx"),
    ("Likely consequences", "likely_consequences"),
    ("Measures taken", "measures_taken"),
    ("Measures proposed", "measures_proposed"),
    ("Failures against the agreement", "agreement_failures"),
    ("Risk assessment", "risk"),
    ("Contact point", "contact_point"),
    ("Actions (clause 8.1(2))", "actions"),
    ("Affected agreements and notices", "affected"),
    ("Recorded at", "recorded_at"),
)


def _affected_text(row: dict[str, Any]) -> str:
    return "; ".join(f"{a['reference']} ({a['client']}): {a['clock']}" for a in row["affected"])


def _value(row: dict[str, Any], key: str) -> str:
    if key == "affected":
        return _affected_text(row)
    value = row[key]
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def render_register_csv(rows: list[dict[str, Any]]) -> bytes:
    return render_csv([label for label, _ in FIELDS], ([_value(r, key) for _, key in FIELDS] for r in rows))


def render_register_pdf(rows: list[dict[str, Any]], scope: str, as_of: str) -> bytes:
    story: list[Flowable] = [
        _heading(REGISTER_TITLE, "title", None, "register"),
        _kv([("Scope", _cell(scope, VALUE_W)), ("As of", _cell(as_of, VALUE_W)), ("Breaches", str(len(rows)))]),
        Spacer(1, 12),
    ]
    for row in rows:
        story.append(_heading(f"Breach #{row['id']}: {row['title']}", "h1", None, f"breach-{row['id']}"))
        story.append(_kv([(label, _cell(_value(row, key) or "—", VALUE_W)) for label, key in FIELDS[2:]]))
        story.append(Spacer(1, 0.4 * cm))

    def footer(page: int, total: int) -> tuple[str, str]:
        return (f"{REGISTER_TITLE} — {scope}", f"as of {as_of}; one entry per breach, never edited (clause 8.3)")

    return _render(story, REGISTER_TITLE, f"{scope} — as of {as_of}", footer)
