"""The auditor's checklist as a PDF: cover page, summary by status, one table per clause family, evidence annex.

Data in (``checklist.services.checklist_data``), bytes out; built with the record PDF kit (fonts with Arabic
support, pre-wrapped cells, "Page X of Y" footers).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, PageBreak, Spacer

from dpa_tracker.reports.record_pdf import (
    BODY_SIZE,
    BODY_W,
    CELL_PAD,
    EMPTY,
    VALUE_W,
    _heading,
    _join_nonempty,
    _kv,
    _para,
    _render,
    _table,
)
from dpa_tracker.reports.record_pdf import _cell as _kit_cell
from dpa_tracker.reports.text import FONT, FONT_BOLD, is_rtl, visual

CHECKLIST_TITLE = "Auditor's checklist"
CLAUSE_W = [1.5 * cm, 4.0 * cm, 2.0 * cm, BODY_W - 10.6 * cm, 3.1 * cm]


@lru_cache(maxsize=8192)
def _char_width(char: str, font: str) -> float:
    return stringWidth(char, font, BODY_SIZE)


def _text_width(text: str, font: str) -> float:
    return sum(_char_width(c, font) for c in text)


def _cell(value: Any, width: float, style: str = "cell") -> Any:
    """Like the record kit's cell, with widths summed from cached character widths: thousands of distinct file
    names and hashes would each miss the kit's per-word cache and cost a full ``stringWidth``."""
    text = "" if value is None else str(value)
    if not text.strip():
        return EMPTY
    if is_rtl(text):
        return _kit_cell(text, width, style)
    font = FONT if style == "cell" else FONT_BOLD
    room = width - 2 * CELL_PAD - 0.5
    space = _char_width(" ", font)
    out: list[str] = []
    for logical in text.split("\n"):
        line, used = "", 0.0
        for word in logical.split():
            w = _text_width(word, font)
            while w > room and len(word) > 1:  # a word wider than the column (a hash): cut where it overflows
                if line:
                    out.append(line)
                    line, used = "", 0.0
                acc, cut = 0.0, 0
                for char in word:
                    acc += _char_width(char, font)
                    if acc > room and cut > 0:
                        break
                    cut += 1
                out.append(word[:cut])
                word = word[cut:]
                w = _text_width(word, font)
            if line and used + space + w > room:
                out.append(line)
                line, used = word, w
            elif line:
                line, used = f"{line} {word}", used + space + w
            else:
                line, used = word, w
        out.append(line)
    return "\n".join(out)


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


class _Lines(Flowable):
    """Plain lines of text drawn with one text object per page: the evidence annex of thousands of items
    costs a fraction of a table's per-cell drawing. Splits between items, never inside one."""

    def __init__(self, items: list[list[str]]) -> None:
        super().__init__()
        self.items = items
        self.leading = BODY_SIZE * 1.25

    def _height(self, items: list[list[str]]) -> float:
        return sum(len(i) for i in items) * self.leading + max(len(items) - 1, 0) * 2

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return available_width, self._height(self.items)

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        used, count = 0.0, 0
        for item in self.items:
            need = len(item) * self.leading + (2 if count else 0)
            if used + need > available_height:
                break
            used, count = used + need, count + 1
        if count == 0 or count == len(self.items):
            return []
        return [_Lines(self.items[:count]), _Lines(self.items[count:])]

    def draw(self) -> None:
        text = self.canv.beginText(0, self._height(self.items) - BODY_SIZE)
        text.setFont(FONT, BODY_SIZE, self.leading)
        for n, item in enumerate(self.items):
            if n:
                text.moveCursor(0, 2)
            for line in item:
                text.textLine(line)
        self.canv.drawText(text)


def _annex_item(clause: str, e: dict[str, Any]) -> list[str]:
    state = f" ({e['state']})" if e["state"] != "active" else ""
    period = f" · covers {_period(e)}" if _period(e) != EMPTY else ""
    size = f" · {e['size']} bytes" if e["size"] is not None else ""
    lines = [
        f"#{e['id']} · clause {clause} · {e['name']}{state}",
        f"added by {e['added_by']}, {_moment(e['acted_at'] or e['added_at'])}{period}{size}",
        f"SHA-256 {e['sha256']}" if e["sha256"] else "no file (a note or a link)",
    ]
    out: list[str] = []
    for n, line in enumerate(lines):
        wrapped = str(_cell(visual(line), BODY_W - (12 if n else 0))).split("\n")
        out += [("    " if n else "") + part for part in wrapped]
    return out


def _annex(data: dict[str, Any]) -> list[Flowable]:
    items = [
        _annex_item(o["clause"], e) for part in data["agreements"] for o in part["obligations"] for e in o["evidence"]
    ]
    story: list[Flowable] = [PageBreak(), _heading("Evidence annex", "h1", None, "annex")]
    if not items:
        story.append(_para("No evidence was recorded by the as-of date.", "body"))
        return story
    story.append(
        _para(
            f"{len(items)} evidence items recorded by {data['as_of']}: number, clause, name; who added it and when "
            "(or when the act was done), the period it covers, its size; the SHA-256 of its file.",
            "body",
        )
    )
    story.append(Spacer(1, 6))
    story.append(_Lines(items))
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
