"""The auditor's checklist as a PDF: cover page, summary by status, one table per clause family, evidence annex.

Data in (``checklist.services.checklist_data``), bytes out; built with the record PDF kit (fonts with Arabic
support, pre-wrapped cells, "Page X of Y" footers).
"""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import cm
from reportlab.platypus import Flowable, PageBreak, Spacer

from dpa_tracker.reports.record_pdf import (
    BODY_W,
    EMPTY,
    VALUE_W,
    _cell,
    _heading,
    _join_nonempty,
    _kv,
    _para,
    _render,
    _table,
)
from dpa_tracker.reports.text import visual

CHECKLIST_TITLE = "Auditor's checklist"
CLAUSE_W = [1.5 * cm, 4.0 * cm, 2.0 * cm, BODY_W - 10.6 * cm, 3.1 * cm]
ANNEX_W = [1.2 * cm, 1.4 * cm, 3.6 * cm, 3.4 * cm, 2.6 * cm, BODY_W - 12.2 * cm]


def _words(status: str) -> str:
    return status.replace("_", " ")


def _day(value: str | None) -> str:
    return value[:10] if value else EMPTY


def _moment(value: str | None) -> str:
    return f"{value[:16].replace('T', ' ')} UTC" if value else EMPTY


def _period(e: dict[str, Any]) -> str:
    if not (e["period_start"] or e["period_end"]):
        return EMPTY
    return f"{e['period_start'] or '…'} – {e['period_end'] or '…'}"


def _cover(data: dict[str, Any]) -> list[Flowable]:
    parts = data["agreements"]
    head = data["audit_head"]
    subject = (
        f"{parts[0]['reference']} — {parts[0]['title']}"
        if data["scope"] == "agreement" and parts
        else f"Every agreement of the client ({len(parts)})"
    )
    counts = data["status_counts"]
    evidence = sum(len(o["evidence"]) for a in parts for o in a["obligations"])
    return [
        _heading(CHECKLIST_TITLE, "title", None, "cover"),
        _kv(
            [
                ("Controller (client)", _cell(data["client"]["legal_name"], VALUE_W)),
                ("Agreement", _cell(subject, VALUE_W)),
                *[
                    (
                        "In force" if len(parts) == 1 else f"In force ({a['reference']})",
                        _cell(f"{a['effective_on']} – {a['ends_on'] or 'no end date'}", VALUE_W),
                    )
                    for a in parts
                ],
                ("As of", _cell(data["as_of"], VALUE_W)),
                ("Generated at", _cell(_moment(data["generated_at"]), VALUE_W)),
                (
                    "Audit chain head",
                    _cell(f"event #{head['event_id']} — {head['hash']}" if head["event_id"] else "empty", VALUE_W),
                ),
                ("Obligations", _cell(str(sum(counts.values())), VALUE_W)),
                ("Evidence items", _cell(str(evidence), VALUE_W)),
            ]
        ),
        Spacer(1, 12),
        _para(
            "Each status is computed by the status engine from the evidence and events recorded by the as-of date, "
            "never typed in; evidence recorded after that date is neither listed nor counted. Every file is listed "
            "with its SHA-256: compare it with the file (evidence bundle: sha256sum -c SHA256SUMS).",
            "body",
        ),
        PageBreak(),
    ]


def _summary(data: dict[str, Any]) -> list[Flowable]:
    widths = [6 * cm, 3 * cm]
    rows: list[list[Any]] = [["Status", "Obligations"]]
    rows += [[_words(s), str(n)] for s, n in data["status_counts"].items()]
    rows.append(["total", str(sum(data["status_counts"].values()))])
    return [_heading("Summary by status", "h1", None, "summary"), _table(rows, widths, header=True), Spacer(1, 8)]


def _evidence_brief(e: dict[str, Any]) -> str:
    return f"#{e['id']} {e['name']}" + (f" ({e['state']})" if e["state"] != "active" else "")


def _families(part: dict[str, Any], prefix: str) -> list[Flowable]:
    story: list[Flowable] = []
    families: dict[str, list[dict[str, Any]]] = {}
    for o in part["obligations"]:
        families.setdefault(o["family"], []).append(o)
    for family, obligations in families.items():
        section = obligations[0]["section"]
        story.append(_heading(f"{prefix}Clause {family} — {section}", "h2", None, f"{part['id']}-{family}"))
        rows: list[list[Any]] = [["Clause", "Obligation", "Status", "Reason", "Evidence"]]
        for o in obligations:
            comments = "".join(
                f"\nComment by {c['author']} ({_day(c['created_at'])}): {c['body']}" for c in o["comments"]
            )
            rows.append(
                [
                    _cell(o["clause"], CLAUSE_W[0]),
                    _cell(f"{o['title']}\n{o['summary']}", CLAUSE_W[1]),
                    _cell(_words(o["status"]), CLAUSE_W[2], "label"),
                    _cell(f"{o['reason']}" + (f"\nDue {o['due_on']}" if o["due_on"] else "") + comments, CLAUSE_W[3]),
                    _cell(
                        "\n".join(_evidence_brief(e) for e in o["evidence"][:8])
                        + (f"\n… {len(o['evidence']) - 8} more (annex)" if len(o["evidence"]) > 8 else ""),
                        CLAUSE_W[4],
                    ),
                ]
            )
        story.append(_table(rows, CLAUSE_W, header=True))
    return story


def _annex(data: dict[str, Any]) -> list[Flowable]:
    rows: list[list[Any]] = [["Clause", "#", "Name", "Who, when", "Period covered", "SHA-256, size"]]
    for part in data["agreements"]:
        for o in part["obligations"]:
            for e in o["evidence"]:
                hash_text = f"{e['sha256']} {e['size']} bytes" if e["sha256"] else "no file (note or link)"
                rows.append(
                    [
                        _cell(o["clause"], ANNEX_W[0]),
                        _cell(str(e["id"]), ANNEX_W[1]),
                        _cell(e["name"] + (f" ({e['state']})" if e["state"] != "active" else ""), ANNEX_W[2]),
                        _cell(f"{e['added_by']}\n{_moment(e['acted_at'] or e['added_at'])}", ANNEX_W[3]),
                        _cell(_period(e), ANNEX_W[4]),
                        _cell(hash_text, ANNEX_W[5]),
                    ]
                )
    story: list[Flowable] = [PageBreak(), _heading("Evidence annex", "h1", None, "annex")]
    if len(rows) == 1:
        story.append(_para("No evidence was recorded by the as-of date.", "body"))
    else:
        story.append(_table(rows, ANNEX_W, header=True))
    return story


def render_checklist_pdf(data: dict[str, Any]) -> bytes:
    story = _cover(data) + _summary(data)
    many = len(data["agreements"]) > 1
    for part in data["agreements"]:
        story.append(
            _heading(f"Agreement {part['reference']} — {part['title']}", "h1", None, f"agreement-{part['id']}")
        )
        story += _families(part, f"{part['reference']} · " if many else "")
    story += _annex(data)
    footer_name = visual(data["client"]["legal_name"])
    reference = data["agreements"][0]["reference"] if data["scope"] == "agreement" and data["agreements"] else ""

    def footer(page: int, total: int) -> tuple[str, str]:
        return (
            _join_nonempty(f"{CHECKLIST_TITLE} — {footer_name}", reference, f"as of {data['as_of']}"),
            f"Statuses computed from what was recorded by {data['as_of']}; audit chain head "
            f"#{data['audit_head']['event_id'] or '—'}.",
        )

    return _render(story, CHECKLIST_TITLE, _join_nonempty(footer_name, reference, f"as of {data['as_of']}"), footer)
