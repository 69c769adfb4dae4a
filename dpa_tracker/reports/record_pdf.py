"""PDF renderings: the Art. 30(2) record of processing and the list of authorised sub-processors.

Pure functions: plain data in (the dict of ``dpa_tracker.record.builder.build_record``), PDF bytes out.
Every user-provided string goes through ``text.para_text`` (escaped, and shaped when it is Arabic) or
``text.RtlParagraph`` (for right-to-left text that may wrap), and is drawn with the bundled DejaVu fonts.
Output is deterministic (``invariant``): the same record, version and hash give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, cast
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from dpa_tracker.reports.text import (
    FONT,
    FONT_BOLD,
    RtlParagraph,
    is_rtl,
    para_text,
    reads_rtl,
    register_fonts,
    visual,
)

RECORD_TITLE = "Record of processing activities — Art. 30(2) GDPR"
LIST_TITLE = "Authorised sub-processors"
TOC_THRESHOLD = 3  # a table of contents when there are more activities than this

PAGE_W, PAGE_H = A4
MARGIN = 2 * cm
BODY_W = PAGE_W - 2 * MARGIN
CELL_PAD = 3
BODY_SIZE = 8.5
EMPTY = "—"
GRID = colors.HexColor("#b8bec6")
HEAD_BG = colors.HexColor("#e8ecf1")
SPECIAL_BG = colors.HexColor("#fde2e2")
SPECIAL_FG = colors.HexColor("#a40000")
SPECIAL_BANNER = "⚠ SPECIAL CATEGORIES OF DATA (Art. 9 / Art. 10 GDPR)"


# ----------------------------------------------------------------------------------------------- styles


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=BODY_SIZE, leading=BODY_SIZE * 1.25)
    styles = {
        "body": body,
        "cell": ParagraphStyle("cell", parent=body),
        "label": ParagraphStyle("label", parent=body, fontName=FONT_BOLD),
        "special": ParagraphStyle("special", parent=body, fontName=FONT_BOLD, textColor=SPECIAL_FG),
        "title": ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=20, leading=26, spaceAfter=18),
        "subtitle": ParagraphStyle("subtitle", parent=body, fontSize=11, leading=15, spaceAfter=14),
        "h1": ParagraphStyle(
            "h1", parent=body, fontName=FONT_BOLD, fontSize=14, leading=18, spaceBefore=12, spaceAfter=8, keepWithNext=1
        ),
        "h2": ParagraphStyle(
            "h2", parent=body, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=10, spaceAfter=5, keepWithNext=1
        ),
    }
    return styles


@lru_cache(maxsize=32)
def _rtl_style(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}-rtl", parent=style, alignment=TA_RIGHT)


def _para(value: Any, style: str = "cell") -> Flowable:
    """One user-provided value as a Paragraph (right-aligned and properly wrapped when right-to-left)."""
    st = _styles()[style]
    text = "" if value is None else str(value)
    if not text.strip():
        return Paragraph(EMPTY, st)
    if is_rtl(text) and reads_rtl(text):
        return RtlParagraph(text, _rtl_style(st))
    return Paragraph(para_text(text), st)  # Latin, or Latin first with right-to-left words inside


@lru_cache(maxsize=16384)
def _width(word: str, font: str) -> float:
    return stringWidth(word, font, BODY_SIZE)


@lru_cache(maxsize=16384)
def _wrap(text: str, width: float, font: str = FONT, indent: str = "") -> str:
    """Left-to-right text broken into lines (joined by newlines) that fit ``width``; over-long words are cut.

    Table cells holding plain strings cost a fraction of a Paragraph to lay out and draw, which is what keeps
    a record with hundreds of activities fast.
    """
    space = _width(" ", font)
    indent_w = _width(indent, font) if indent else 0.0
    out: list[str] = []
    for logical in text.split("\n"):
        line, used = "", 0.0
        for word in logical.split():
            w = _width(word, font)
            while w > width - (indent_w if out or line else 0) and len(word) > 1:
                # a word wider than the column (an e-mail address, a hash): cut it where it overflows
                if line:
                    out.append(line)
                    line, used = "", 0.0
                room = width - (indent_w if out else 0)
                cut = len(word) - 1
                while cut > 1 and _width(word[:cut], font) > room:
                    cut -= 1
                out.append((indent if out else "") + word[:cut])
                word = word[cut:]
                w = _width(word, font)
            if line and used + space + w > width:
                out.append(line)
                line, used = indent + word, indent_w + w
            elif line:
                line, used = f"{line} {word}", used + space + w
            else:
                prefix = indent if out else ""
                line, used = prefix + word, (indent_w if out else 0.0) + w
        out.append(line)
    return "\n".join(out)


def _cell(value: Any, width: float, style: str = "cell") -> Any:
    """A table cell: pre-wrapped plain text (cheap) for left-to-right text, a paragraph for right-to-left."""
    text = "" if value is None else str(value)
    if not text.strip():
        return EMPTY
    if is_rtl(text):
        return _para(text, style)
    font = FONT if style == "cell" else FONT_BOLD
    return _wrap(text, width - 2 * CELL_PAD - 0.5, font)


def _lines(items: Iterable[Any], width: float, style: str = "cell") -> Any:
    """A cell holding a list, one bulleted item a line."""
    values = [str(i) for i in items if i is not None and str(i).strip()]
    if not values:
        return EMPTY
    if len(values) == 1:
        return _cell(values[0], width, style)
    if any(is_rtl(v) for v in values):
        return [_para(f"• {v}", style) for v in values]
    font = FONT if style == "cell" else FONT_BOLD
    return "\n".join(_wrap(f"• {v}", width - 2 * CELL_PAD - 0.5, font, "   ") for v in values)


def _table(
    rows: list[list[Any]],
    widths: list[float],
    *,
    header: bool = False,
    label_col: bool = False,
    extra: Iterable[tuple[Any, ...]] = (),
) -> Table:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, BODY_SIZE, BODY_SIZE * 1.25),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        rows[0] = [_wrap(h, w - 2 * CELL_PAD - 0.5, FONT_BOLD) for h, w in zip(rows[0], widths, strict=True)]
        commands += [
            ("FONT", (0, 0), (-1, 0), FONT_BOLD, BODY_SIZE, BODY_SIZE * 1.25),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ]
    if label_col:
        commands += [
            ("FONT", (0, 0), (0, -1), FONT_BOLD, BODY_SIZE, BODY_SIZE * 1.25),
            ("BACKGROUND", (0, 0), (0, -1), HEAD_BG),
        ]
    commands += list(extra)
    return Table(rows, colWidths=widths, repeatRows=1 if header else 0, style=TableStyle(commands), hAlign="LEFT")


LABEL_W = 4.6 * cm
VALUE_W = BODY_W - LABEL_W


def _kv(pairs: list[tuple[str, Any]], extra: Iterable[tuple[Any, ...]] = ()) -> Table:
    """A two-column table of our labels (plain strings, may hold newlines) and ready-made value cells."""
    rows = [[_wrap(label, LABEL_W - 2 * CELL_PAD - 0.5, FONT_BOLD), value] for label, value in pairs]
    return _table(rows, [LABEL_W, VALUE_W], label_col=True, extra=extra)


def _heading(text: str, style: str, toc_level: int | None, key: str, prefix: str = "") -> Paragraph:
    """A heading: bookmarked in the PDF outline and, with a ``toc_level``, listed in the contents."""
    p = Paragraph(escape(prefix) + para_text(text), _styles()[style])
    # Our own marker on reportlab's Paragraph, read back by _Doc.afterFlowable with getattr.
    p._dpa_toc = (toc_level, prefix + visual(text), key, prefix + text)  # type: ignore[attr-defined]
    return p


class _PageRef(Flowable):
    """The page number of a heading, drawn as a PDF form that is only filled in once the page is known.

    This keeps the contents in a single layout pass: ``multiBuild`` with a ``TableOfContents`` lays out and
    draws the whole document three times, which is too slow for a record with hundreds of activities.
    """

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return availWidth, BODY_SIZE * 1.25

    def draw(self) -> None:
        self.canv.saveState()
        self.canv.translate(self.width, 0)
        self.canv.doForm(_form_name(self.key))
        self.canv.restoreState()


def _form_name(key: str) -> str:
    return f"pageref-{key}"


TOC_W = [BODY_W - 1.6 * cm, 1.6 * cm]


def _contents(story: list[Flowable]) -> Table:
    """The table of contents of every heading in ``story`` that has a contents level."""
    rows: list[list[Any]] = []
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, 9, 11.5),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#dde1e6")),
    ]
    for flowable in story:
        entry = getattr(flowable, "_dpa_toc", None)
        if entry is None or entry[0] is None:
            continue
        level, text, key, _ = entry
        indent = "" if level == 0 else "    "
        if level == 0:
            commands += [
                ("FONT", (0, len(rows)), (0, len(rows)), FONT_BOLD, 9, 11.5),
                ("TOPPADDING", (0, len(rows)), (-1, len(rows)), 5),
            ]
        rows.append([indent + _wrap(text, TOC_W[0] - 20, FONT_BOLD, indent), _PageRef(key)])
    return Table(rows, colWidths=TOC_W, style=TableStyle(commands), hAlign="LEFT")


# ----------------------------------------------------------------------------------------------- document


class _HeadingCanvas(Canvas):
    """The type of the numbered canvas as ``_Doc`` sees it: heading key -> page number."""

    heading_pages: dict[str, int]


def _numbered_canvas(footer: Callable[[int, int], tuple[str, str]]) -> type[Canvas]:
    """A canvas that holds its pages back until the end so each footer can say "Page X of Y", and fills in
    the page numbers of the contents (``_PageRef`` forms) once every heading has been placed."""

    class NumberedCanvas(_HeadingCanvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []
            self.heading_pages: dict[str, int] = {}

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            # reportlab's own "Page X of Y" recipe; its stubs omit this private method.
            self._startPage()  # type: ignore[attr-defined]

        def save(self) -> None:
            for key, page in self.heading_pages.items():
                self.beginForm(_form_name(key), -60, -4, 0, 4 + BODY_SIZE * 1.25)
                self.setFont(FONT, 9)
                self.drawRightString(0, 2, str(page))
                self.endForm()
            total = len(self._held)
            for state in self._held:
                self.__dict__.update(state)
                line1, line2 = footer(self.getPageNumber(), total)
                self.saveState()
                self.setStrokeColor(GRID)
                self.setLineWidth(0.4)
                self.line(MARGIN, 1.45 * cm, PAGE_W - MARGIN, 1.45 * cm)
                self.setFillColor(colors.HexColor("#444444"))
                self.setFont(FONT, 7)
                self.drawString(MARGIN, 1.1 * cm, line1)
                self.drawRightString(PAGE_W - MARGIN, 1.1 * cm, f"Page {self.getPageNumber()} of {total}")
                self.drawString(MARGIN, 0.75 * cm, line2)
                self.restoreState()
                Canvas.showPage(self)
            Canvas.save(self)

    return NumberedCanvas


class _Doc(BaseDocTemplate):
    def __init__(self, buf: io.BytesIO, title: str, subject: str) -> None:
        super().__init__(
            buf,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN,
            title=title,
            subject=subject,
            author="dpa_tracker",
            creator="dpa_tracker",
            invariant=True,
        )
        frame = Frame(
            MARGIN,
            MARGIN,
            BODY_W,
            PAGE_H - 2 * MARGIN,
            id="body",
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        self.addPageTemplates([PageTemplate(id="page", frames=[frame])])

    def afterFlowable(self, flowable: Flowable) -> None:
        entry = getattr(flowable, "_dpa_toc", None)
        if entry is None:
            return
        level, _, key, outline = entry
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(outline, key, level=level or 0, closed=True)
        # build() always runs with the canvas of _numbered_canvas (see _render), which keeps this dict.
        canvas = cast("_HeadingCanvas", self.canv)
        canvas.heading_pages[key] = self.page


def _render(story: list[Flowable], title: str, subject: str, footer: Callable[[int, int], tuple[str, str]]) -> bytes:
    buf = io.BytesIO()
    doc = _Doc(buf, title, subject)
    doc.build(story, canvasmaker=_numbered_canvas(footer))
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------- record


def _join_nonempty(*parts: Any, sep: str = " · ") -> str:
    return sep.join(str(p) for p in parts if p)


def _party_rows(prefix: str, party: dict[str, Any] | None, *, client: bool) -> list[tuple[str, Any]]:
    def v(value: Any) -> Any:
        return _cell(value, VALUE_W)

    if party is None:
        return [(prefix, "Not recorded")]
    if client:
        return [
            (prefix, v(party.get("legal_name"))),
            ("Country", v(party.get("country"))),
            ("Address", v(party.get("address"))),
            ("Contact", _lines(party.get("contact_emails") or [], VALUE_W)),
            ("Data protection officer", _lines([party.get("dpo_name"), party.get("dpo_email")], VALUE_W)),
            (
                "Representative (Art. 27)",
                _lines([party.get("representative"), party.get("representative_contact")], VALUE_W),
            ),
        ]
    return [
        (prefix, v(party.get("name"))),
        ("Address", v(party.get("address"))),
        ("Contact", _lines([party.get("contact_email"), party.get("contact_phone")], VALUE_W)),
        ("Data protection officer", _lines([party.get("dpo_name"), party.get("dpo_email")], VALUE_W)),
        (
            "Representative (Art. 27)",
            _lines([party.get("representative"), party.get("representative_contact")], VALUE_W),
        ),
    ]


def _title_page(record: dict[str, Any], version: int, content_sha256: str, audit_head: str | None) -> list[Flowable]:
    s = _styles()
    processor = record.get("processor")
    client = record["client"]
    story: list[Flowable] = [
        Spacer(1, 2.5 * cm),
        Paragraph(para_text(RECORD_TITLE), s["title"]),
        Paragraph(
            "Record kept by the processor of all categories of processing activities carried out on "
            "behalf of the controller.",
            s["subtitle"],
        ),
        _kv(_party_rows("Processor", processor, client=False)),
        Spacer(1, 10),
        _kv(_party_rows("Controller (client)", client, client=True)),
        Spacer(1, 10),
        _kv(
            [
                ("As of", _cell(record.get("as_of"), VALUE_W)),
                ("Version", f"Version {version}"),
                ("Content SHA-256", _cell(content_sha256, VALUE_W)),
                *([("Audit chain head", _cell(audit_head, VALUE_W))] if audit_head else []),
                ("Processing activities", str(len(record["activities"]))),
                (
                    "Completeness",
                    "Complete"
                    if not record.get("problems")
                    else f"{len(record['problems'])} problem(s), see section 6",
                ),
            ]
        ),
        PageBreak(),
    ]
    return story


def _activity(index: int, activity: dict[str, Any], measures: dict[int, dict[str, Any]]) -> list[Flowable]:
    special = [c for c in activity.get("special_categories") or [] if c]
    extra: list[tuple[Any, ...]] = []
    special_cell: Any = "None"
    if special and any(is_rtl(c) for c in special):
        special_cell = [Paragraph(SPECIAL_BANNER, _styles()["special"])] + [_para(c, "special") for c in special]
    elif special:
        special_cell = SPECIAL_BANNER + "\n" + _lines(special, VALUE_W, "special")
    transfers = [
        _join_nonempty(t.get("destination"), t.get("mechanism_title"), sep=" — ")
        for t in activity.get("transfers") or []
    ]
    pairs: list[tuple[str, Any]] = [
        ("Categories of processing\n(Art. 30(2)(b))", _lines(activity.get("processing_categories") or [], VALUE_W)),
        ("Categories of data subjects", _lines(activity.get("data_subject_categories") or [], VALUE_W)),
        ("Categories of personal data", _lines(activity.get("personal_data_categories") or [], VALUE_W)),
        ("Special categories", special_cell),
        ("Purposes", _cell(activity.get("purposes"), VALUE_W)),
        ("Retention", _cell(activity.get("retention"), VALUE_W)),
        (
            "Locations",
            _lines(
                [
                    _join_nonempty(loc.get("country"), loc.get("site"), sep=" — ")
                    for loc in activity.get("locations") or []
                ],
                VALUE_W,
            ),
        ),
        (
            "Sub-processors involved",
            _lines(
                [
                    _join_nonempty(sp.get("legal_name"), sp.get("country") and f"({sp['country']})", sep=" ")
                    + (f" — {sp['service']}" if sp.get("service") else "")
                    for sp in activity.get("subprocessors") or []
                ],
                VALUE_W,
            ),
        ),
        ("Transfers (see section 3)", _lines(transfers, VALUE_W) if transfers else "None"),
        (
            "Security measures\n(see section 4)",
            _lines(
                [measures[m]["title"] for m in activity.get("security_measure_ids") or [] if m in measures], VALUE_W
            ),
        ),
    ]
    if special:
        extra = [
            ("BACKGROUND", (0, 3), (1, 3), SPECIAL_BG),
            ("TEXTCOLOR", (0, 3), (1, 3), SPECIAL_FG),
            ("FONT", (1, 3), (1, 3), FONT_BOLD, BODY_SIZE, BODY_SIZE * 1.25),
        ]
    key = f"activity-{index}"
    heading = _heading(activity.get("name") or "", "h2", 1, key, prefix=f"2.{index} ")
    return [heading, _kv(pairs, extra)]


TRANSFER_W = [w * cm for w in (3.0, 3.0, 3.6, 4.0, 3.4)]


def _doc_lines(doc: dict[str, Any], *, valid_until: bool) -> str:
    """A supporting document on a few short lines: file name, SHA-256 prefix, validity."""
    lines = [doc.get("filename") or "document", f"SHA-256 {(doc.get('sha256') or '')[:12]}…"]
    if valid_until and doc.get("valid_until"):
        lines.append(f"valid until {doc['valid_until']}")
    return "\n".join(lines)


def _transfers(record: dict[str, Any]) -> list[Flowable]:
    rows: list[list[Any]] = [["Destination", "Recipient", "Mechanism", "Detail", "Safeguards documents"]]
    extra: list[tuple[Any, ...]] = []
    w = TRANSFER_W
    for activity in record["activities"]:
        transfers = activity.get("transfers") or []
        if not transfers:
            continue
        row = len(rows)
        rows.append([_cell(activity.get("name"), BODY_W, "label"), "", "", "", ""])
        extra += [
            ("SPAN", (0, row), (-1, row)),
            ("BACKGROUND", (0, row), (-1, row), colors.HexColor("#f4f6f8")),
            ("FONT", (0, row), (-1, row), FONT_BOLD, BODY_SIZE, BODY_SIZE * 1.25),
        ]
        for t in transfers:
            destination = t.get("destination") or ""
            if t.get("is_international_organisation"):
                destination = f"{destination}\n(international organisation)"
            docs = [_doc_lines(d, valid_until=True) for d in t.get("safeguards_documents") or []]
            rows.append(
                [
                    _cell(destination, w[0]),
                    _cell(t.get("recipient"), w[1]),
                    _cell(t.get("mechanism_title"), w[2]),
                    _cell(t.get("mechanism_detail"), w[3]),
                    _lines(docs, w[4]) if docs else "none",
                ]
            )
    if len(rows) == 1:
        return [Paragraph("Transfers to third countries or international organisations: none.", _styles()["body"])]
    return [
        Paragraph(
            "Transfers of personal data to a third country or an international organisation, with the "
            "documentation of suitable safeguards, grouped by processing activity.",
            _styles()["body"],
        ),
        Spacer(1, 5),
        _table(rows, w, header=True, extra=extra),
    ]


MEASURE_W = [w * cm for w in (4.6, 8.4, 4.0)]


def _measures(record: dict[str, Any]) -> list[Flowable]:
    measures = record.get("security_measures") or []
    if not measures:
        return [Paragraph("No technical or organisational security measure is described.", _styles()["body"])]
    story: list[Flowable] = []
    groups: dict[str, list[dict[str, Any]]] = {}
    for m in measures:
        groups.setdefault(m.get("heading_title") or m.get("heading") or "Other", []).append(m)
    for n, (title, items) in enumerate(sorted(groups.items()), start=1):  # "(a) …" to "(d) …"
        story.append(_heading(title, "h2", 1, f"measures-{n}"))
        rows: list[list[Any]] = [["Measure", "Description", "Documents"]]
        for m in items:
            docs = [_doc_lines(d, valid_until=True) for d in m.get("documents") or []]
            rows.append(
                [
                    _cell(m.get("title"), MEASURE_W[0], "label"),
                    _cell(m.get("description"), MEASURE_W[1]),
                    _lines(docs, MEASURE_W[2]) if docs else EMPTY,
                ]
            )
        story.append(
            _table(
                rows, MEASURE_W, header=True, extra=[("FONT", (0, 1), (0, -1), FONT_BOLD, BODY_SIZE, BODY_SIZE * 1.25)]
            )
        )
    return story


SUBPROCESSOR_W = [w * cm for w in (3.1, 1.8, 3.0, 2.9, 4.2, 2.0)]


def _subprocessor_table(subprocessors: list[dict[str, Any]]) -> Flowable:
    if not subprocessors:
        return Paragraph("No sub-processor is authorised.", _styles()["body"])
    w = SUBPROCESSOR_W
    rows: list[list[Any]] = [["Legal name", "Country", "Service", "Locations", "Contact / DPO", "Since"]]
    for sp in subprocessors:
        contact = [
            v
            for v in (sp.get("contact_email"), sp.get("dpo_name") and f"DPO: {sp['dpo_name']}", sp.get("dpo_email"))
            if v
        ]
        rows.append(
            [
                _cell(sp.get("legal_name"), w[0]),
                _cell(sp.get("country"), w[1]),
                _cell(sp.get("service"), w[2]),
                _lines(sp.get("locations") or [], w[3]),
                _lines(contact, w[4]),
                _cell(sp.get("authorised_since"), w[5]),
            ]
        )
    return _table(rows, w, header=True)


def render_record_pdf(
    record: dict[str, Any], version: int, content_sha256: str, audit_head: str | None = None
) -> bytes:
    """The client's Art. 30(2) record as a PDF: title page, contents (beyond three activities), sections (a)-(d),
    the authorised sub-processors and the completeness check; every page footed with page X of Y, the version and
    the record's content SHA-256. ``audit_head`` (``ID:HASH``, the audit chain head at hand-out) goes on the title
    page and its event id in every footer: the client's copy then anchors the processor's audit log."""
    s = _styles()
    activities = record.get("activities") or []
    measures = {m["id"]: m for m in record.get("security_measures") or []}
    client_name = (record.get("client") or {}).get("legal_name") or ""
    with_toc = len(activities) > TOC_THRESHOLD

    story = _title_page(record, version, content_sha256, audit_head)
    if with_toc:
        toc_at = len(story)
        story += [Paragraph("Contents", s["h1"]), PageBreak()]

    story.append(_heading("1. Controller and processor", "h1", 0, "s1"))
    story.append(
        Paragraph(
            "Art. 30(2)(a): name and contact details of the processor and of the controller on "
            "whose behalf it acts, their representatives and data protection officers.",
            s["body"],
        )
    )
    story.append(Spacer(1, 6))
    story.append(_kv(_party_rows("Processor", record.get("processor"), client=False)))
    story.append(Spacer(1, 8))
    story.append(_kv(_party_rows("Controller (client)", record.get("client"), client=True)))

    story.append(_heading("2. Processing activities", "h1", 0, "s2"))
    if not activities:
        story.append(Paragraph("No processing activity is recorded.", s["body"]))
    for i, activity in enumerate(activities, start=1):
        story += _activity(i, activity, measures)

    story.append(_heading("3. Transfers (Art. 30(2)(c))", "h1", 0, "s3"))
    story += _transfers(record)

    story.append(_heading("4. Security measures (Art. 30(2)(d))", "h1", 0, "s4"))
    story += _measures(record)

    story.append(_heading("5. Sub-processors authorised", "h1", 0, "s5"))
    story.append(_subprocessor_table(record.get("subprocessors") or []))

    story.append(_heading("6. Completeness", "h1", 0, "s6"))
    problems = record.get("problems") or []
    if problems:
        story.append(Paragraph(f"{len(problems)} problem(s) keep this record from meeting Art. 30(2):", s["body"]))
        story.append(Spacer(1, 4))
        story += [_para(f"• {p}", "body") for p in problems]
    else:
        story.append(Paragraph("Complete: every element required by Art. 30(2)(a)-(d) is recorded.", s["body"]))

    if with_toc:
        story.insert(toc_at + 1, _contents(story))
    footer_name = visual(client_name)

    def footer(page: int, total: int) -> tuple[str, str]:
        return (
            _join_nonempty(
                f"Record of processing — {footer_name}" if footer_name else "Record of processing",
                f"as of {record.get('as_of')}",
                f"Version {version}",
                f"audit event {audit_head.partition(':')[0]}" if audit_head else "",
            ),
            f"Record SHA-256: {content_sha256}",
        )

    return _render(story, RECORD_TITLE, f"{client_name} — as of {record.get('as_of')}", footer)


def render_subprocessor_list_pdf(
    client_name: str, as_of: str, subprocessors: list[dict[str, Any]], content_sha256: str
) -> bytes:
    """The sub-processors authorised for a client on ``as_of``, with the same footer as the record."""
    story: list[Flowable] = [
        _heading(LIST_TITLE, "title", None, "list"),
        _kv(
            [
                ("Controller (client)", _cell(client_name, VALUE_W)),
                ("As of", _cell(as_of, VALUE_W)),
                ("Sub-processors", str(len(subprocessors))),
                ("Content SHA-256", _cell(content_sha256, VALUE_W)),
            ]
        ),
        Spacer(1, 12),
        _subprocessor_table(subprocessors),
    ]
    footer_name = visual(client_name)

    def footer(page: int, total: int) -> tuple[str, str]:
        return (
            _join_nonempty(f"{LIST_TITLE} — {footer_name}" if footer_name else LIST_TITLE, f"as of {as_of}"),
            f"List SHA-256: {content_sha256}",
        )

    return _render(story, LIST_TITLE, f"{client_name} — as of {as_of}", footer)


STATUS_TITLE = "Obligations and their status"


def render_status_report_pdf(agreement: dict[str, Any], as_of: str, rows: list[dict[str, Any]]) -> bytes:
    """One agreement's obligations as of a date: a count per status, then clause, status, reason, due date.

    ``agreement``: reference, title, client, effective_on, ends_on; ``rows``: clause, title, status, reason, due_on.
    """
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    summary = " · ".join(f"{status.replace('_', ' ')}: {count}" for status, count in sorted(counts.items()))
    story: list[Flowable] = [
        _heading(STATUS_TITLE, "title", None, "status"),
        _kv(
            [
                ("Controller (client)", _cell(agreement["client"], VALUE_W)),
                ("Agreement", _cell(f"{agreement['reference']} — {agreement['title']}", VALUE_W)),
                ("In force", _cell(f"{agreement['effective_on']} – {agreement['ends_on'] or 'no end date'}", VALUE_W)),
                ("As of", _cell(as_of, VALUE_W)),
                ("Statuses", _cell(summary or EMPTY, VALUE_W)),
            ]
        ),
        Spacer(1, 12),
    ]
    widths = [1.6 * cm, 4.4 * cm, 2.2 * cm, BODY_W - 10.4 * cm, 2.2 * cm]
    table = [["Clause", "Obligation", "Status", "Reason", "Due"]]
    table += [
        [
            _cell(r["clause"], widths[0]),
            _cell(r["title"], widths[1]),
            _cell(r["status"].replace("_", " "), widths[2], "label"),
            _cell(r["reason"], widths[3]),
            _cell(r["due_on"] or EMPTY, widths[4]),
        ]
        for r in rows
    ]
    story.append(_table(table, widths, header=True))
    footer_name = visual(agreement["client"])

    def footer(page: int, total: int) -> tuple[str, str]:
        return (
            _join_nonempty(f"{STATUS_TITLE} — {footer_name}", agreement["reference"], f"as of {as_of}"),
            f"Statuses are computed from the evidence and events recorded by {as_of}, never typed in.",
        )

    return _render(story, STATUS_TITLE, f"{agreement['reference']} — as of {as_of}", footer)
