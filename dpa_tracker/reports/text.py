"""Text helpers for the PDF reports: the bundled DejaVu fonts, and right-to-left shaping.

ReportLab draws glyphs left to right in the order given and does no Arabic shaping. Arabic (and Hebrew)
text is therefore shaped into its joined presentation forms (``arabic_reshaper``) and put into visual
order (``python-bidi``) before it reaches a Paragraph. Latin text is returned untouched, so the cost is
only paid where right-to-left letters are present.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi import get_display
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FONTS_DIR = Path(__file__).parent / "fonts"

# Hebrew, Arabic, Syriac, Thaana, N'Ko, Samaritan, Arabic Extended and the presentation forms.
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_registered = False


def register_fonts() -> None:
    """Register the DejaVu fonts (regular and bold) and their family with ReportLab; safe to call repeatedly."""
    global _registered
    if _registered:
        return
    registered = pdfmetrics.getRegisteredFontNames()
    if FONT not in registered:
        pdfmetrics.registerFont(TTFont(FONT, str(FONTS_DIR / "DejaVuSans.ttf")))
    if FONT_BOLD not in registered:
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONTS_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, FONT_BOLD)
    addMapping(FONT, 0, 1, FONT)
    addMapping(FONT, 1, 1, FONT_BOLD)
    _registered = True


def is_rtl(text: str | None) -> bool:
    """True when the text contains Arabic or Hebrew letters (and so should be shaped and right-aligned)."""
    return text is not None and _RTL.search(text) is not None


def reads_rtl(text: str | None) -> bool:
    """True when the text's first strong letter is right-to-left (the Unicode rule, like CSS ``dir=auto``):
    such a value is right-aligned and wrapped right to left. ``Mittal Cloud — ميتال`` reads left to right."""
    for char in text or "":
        direction = unicodedata.bidirectional(char)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


@lru_cache(maxsize=4096)
def _shape(text: str) -> str:
    return get_display(arabic_reshaper.reshape(text))


def visual(text: str | None) -> str:
    """The text as ReportLab must draw it: Arabic joined and in right-to-left visual order; others unchanged."""
    if not text:
        return ""
    if not is_rtl(text):
        return text
    return "\n".join(_shape(line) for line in text.split("\n"))


def para_text(text: Any) -> str:
    """Paragraph markup for one user-provided value: shaped (when right-to-left) and then XML-escaped."""
    if text is None:
        return ""
    return escape(visual(str(text))).replace("\n", "<br/>")


class RtlParagraph(Flowable):
    """A paragraph of right-to-left text that wraps correctly.

    ``visual()`` reverses a whole string, so if ReportLab wrapped the result the first printed line would hold
    the *end* of the text. This flowable breaks the logical text into lines first (measuring the shaped
    words), then shapes and reorders each line on its own.
    """

    def __init__(self, text: str, style: Any) -> None:
        super().__init__()
        self.text = text
        self.style = style
        self._para: Paragraph | None = None
        self._width: float | None = None

    def _lines(self, width: float) -> list[str]:
        font, size = self.style.fontName, self.style.fontSize
        space = pdfmetrics.stringWidth(" ", font, size)
        lines: list[str] = []
        for logical in self.text.split("\n"):
            current: list[str] = []
            used = 0.0
            for word in logical.split():
                w = pdfmetrics.stringWidth(arabic_reshaper.reshape(word), font, size)
                if current and used + space + w > width:
                    lines.append(" ".join(current))
                    current, used = [word], w
                else:
                    used += (space if current else 0) + w
                    current.append(word)
            lines.append(" ".join(current))
        return lines

    def _build(self, width: float) -> Paragraph:
        if self._para is None or self._width != width:
            usable = width - self.style.leftIndent - self.style.rightIndent
            markup = "<br/>".join(escape(visual(line)) for line in self._lines(max(usable, 1)))
            self._para = Paragraph(markup, self.style)
            self._width = width
        return self._para

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        para = self._build(availWidth)
        self.width, self.height = para.wrap(availWidth, availHeight)
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        return self._build(availWidth).split(availWidth, availHeight)

    def draw(self) -> None:
        assert self._para is not None
        self._para.drawOn(self.canv, 0, 0)

    def getSpaceBefore(self) -> float:
        return self.style.spaceBefore

    def getSpaceAfter(self) -> float:
        return self.style.spaceAfter
