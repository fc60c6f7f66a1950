"""PDF documents with Chinese text (agreements, bulletins): reportlab + the vendored Noto Sans SC (ADR 0015).

The font is embedded and subset into every PDF, so any viewer on an isolated network shows the same glyphs.
Text the font cannot draw is refused *before* a PDF is built (`check_text`): a PDF with blank boxes in a
party's name is worse than no PDF.
"""

from __future__ import annotations

import io
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from doorstep.core.errors import ServiceError

FONT_NAME = "NotoSansSC"
# Vendored from npm by frontend/vendor.mjs (SIL OFL, licence next to it). TrueType outlines on purpose:
# reportlab can subset glyf fonts but not the CFF-outline Noto CJK that Debian ships.
FONT_PATH = Path(__file__).resolve().parents[1] / "static" / "vendor" / "fonts" / "NotoSansSC-Regular.ttf"

PAGE_SIZE = A4
MARGIN = 25 * mm
BODY_SIZE = 12
BODY_LEADING = 21

_lock = threading.Lock()
_font: TTFont | None = None


def font() -> TTFont:
    """The registered font, loaded once per process (about 0.1 s; threads share it)."""
    global _font
    if _font is None:
        with _lock:
            if _font is None:
                loaded = TTFont(FONT_NAME, str(FONT_PATH))
                pdfmetrics.registerFont(loaded)
                _font = loaded
    return _font


class MissingGlyphs(ServiceError):
    """The text holds characters the PDF font has no glyph for; they would print as blank boxes."""

    code = "missing_glyphs"

    def __init__(self, chars: Sequence[str]) -> None:
        self.chars = list(chars)
        super().__init__(
            _("以下字符无法在PDF中正确显示：%(chars)s（请改用常用字或说明）")
            % {"chars": "、".join(self.chars)}
        )


def _drawn(ch: str) -> bool:
    # Whitespace is laid out, not drawn, and control characters never reach the page; format characters
    # (zero-width joiners, BOM) and private-use ones would be drawn, so the font must have them.
    return not ch.isspace() and unicodedata.category(ch) != "Cc"


def missing_glyphs(text: str) -> list[str]:
    """Characters of `text` the font has no glyph for, each once, in order of first appearance."""
    cmap = font().face.charToGlyph
    missing: dict[str, None] = {}
    for ch in text:
        if ch not in missing and _drawn(ch) and not cmap.get(ord(ch)):
            missing[ch] = None
    return list(missing)


def check_text(*texts: str | None) -> None:
    """Raise MissingGlyphs if any of the texts cannot be drawn with the font (None and "" are fine)."""
    missing: dict[str, None] = {}
    for text in texts:
        if text:
            missing.update(dict.fromkeys(missing_glyphs(text)))
    if missing:
        raise MissingGlyphs(list(missing))


def _style(name: str, **kw: object) -> ParagraphStyle:
    base: dict[str, object] = {
        "fontName": FONT_NAME,
        "fontSize": BODY_SIZE,
        "leading": BODY_LEADING,
        "wordWrap": "CJK",  # Chinese has no spaces: break between any two characters
        "alignment": TA_JUSTIFY,
    }
    base.update(kw)
    return ParagraphStyle(name, **base)  # type: ignore[arg-type]


def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles in the CJK font. There is no bold face: headings are set larger instead."""
    font()
    return {
        "title": _style("title", fontSize=22, leading=30, alignment=TA_CENTER, spaceAfter=6 * mm),
        "heading": _style("heading", fontSize=14, leading=22, spaceBefore=3 * mm, spaceAfter=1 * mm),
        "body": _style("body"),
        "indent": _style("indent", firstLineIndent=2 * BODY_SIZE),  # 首行缩进两字
        "item": _style("item", leftIndent=2 * BODY_SIZE),
        "left": _style("left", alignment=TA_LEFT),
        "right": _style("right", alignment=TA_RIGHT),
        "center": _style("center", alignment=TA_CENTER),
        "small": _style("small", fontSize=9, leading=12, alignment=TA_CENTER),
    }


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: markup characters are escaped, line breaks kept."""
    return Paragraph(escape(text).replace("\r\n", "\n").replace("\n", "<br/>"), style)


def table(
    rows: Iterable[Sequence[str]],
    col_widths: Sequence[float],
    *,
    style: ParagraphStyle | None = None,
    grid: bool = False,
) -> Table:
    """A table of plain-text cells in the CJK font; cells wrap inside their column."""
    cell = style or styles()["left"]
    data = [[para(value, cell) for value in row] for row in rows]
    commands: list[tuple[object, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0 if not grid else 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0 if not grid else 4),
    ]
    if grid:
        commands.append(("GRID", (0, 0), (-1, -1), 0.5, colors.black))
    return Table(data, colWidths=list(col_widths), style=TableStyle(commands))


def frame_width() -> float:
    return PAGE_SIZE[0] - 2 * MARGIN


def _page_number(canvas: Canvas, doc: BaseDocTemplate) -> None:
    canvas.saveState()
    canvas.setFont(FONT_NAME, 9)
    canvas.drawCentredString(PAGE_SIZE[0] / 2, MARGIN / 2, f"第{doc.page}页")
    canvas.restoreState()


def build(flowables: Sequence[Flowable], *, title: str, author: str, subject: str = "") -> bytes:
    """Lay the flowables out on A4 pages (page number at the foot) and return the PDF bytes.

    `invariant` leaves out the creation time and random file id, so the same input gives the same bytes.
    """
    font()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=PAGE_SIZE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=author,
        subject=subject,
        creator="Doorstep",
        lang="zh-CN",
        invariant=1,
        pageCompression=1,
    )
    doc.build(list(flowables), onFirstPage=_page_number, onLaterPages=_page_number)
    return buffer.getvalue()
