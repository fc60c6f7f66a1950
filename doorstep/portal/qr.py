"""QR codes for the portal: an A4 PDF sheet of labels for house plates; the inline SVG (`qr_svg`) lives in
doorstep.core.qr, which the portal's pages call directly.

Both are built from reportlab's QR encoder (reportlab is already a dependency for the PDF documents; no
extra library). The PDF uses the project's embedded CJK font (doorstep.core.pdf) so labels print the same on any viewer.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from doorstep.core import pdf
from doorstep.core.qr import QUIET_ZONE
from doorstep.core.qr import matrix as _matrix
from doorstep.core.qr import runs as _runs

# Label sheet layout: 3 columns x 4 rows on A4 portrait.
SHEET_COLUMNS = 3
SHEET_ROWS = 4
SHEET_MARGIN = 12 * mm
TITLE_HEIGHT = 10 * mm
LABEL_PADDING = 4 * mm
LABEL_QR_SIZE = 38 * mm


def _draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """Draw the QR of `text` with its lower-left corner at (x, y), `size` points square incl. quiet zone."""
    matrix = _matrix(text)
    total = len(matrix) + 2 * QUIET_ZONE
    box = size / total
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(matrix):
        for c, length in _runs(row):
            # A hair of overlap between rows avoids hairline gaps in some viewers.
            canvas.rect(
                x + (c + QUIET_ZONE) * box,
                y + size - (r + QUIET_ZONE + 1) * box,
                length * box,
                box * 1.02,
                stroke=0,
                fill=1,
            )
    canvas.restoreState()


def _fit(text: str, width: float, height: float) -> Paragraph:
    """The label text as a paragraph that fits the box: 10 pt, smaller for long addresses (down to 7 pt)."""
    para = None
    for size in (10, 9, 8, 7):
        style = pdf._style(f"qr-label-{size}", fontSize=size, leading=size * 1.3, alignment=TA_CENTER)
        para = Paragraph(escape(text), style)
        _, used = para.wrap(width, height)
        if used <= height:
            break
    assert para is not None
    return para


def qr_sheet_pdf(
    labels: list[tuple[str, str]], *, title: str, author: str = "Doorstep", caption: str | None = None
) -> bytes:
    """An A4 PDF of house-plate labels, SHEET_COLUMNS x SHEET_ROWS per page: each label shows its text (the
    address) above the QR code of its URL and a one-line caption below, inside a dashed cut line.
    `labels` are (text, url) pairs.

    Text the font lacks prints as blank boxes rather than refusing the whole sheet (an address with a rare
    character should not stop a grid's plates); callers may check with doorstep.core.pdf.missing_glyphs.
    An empty list still gives one page with the title, so a download never fails.
    """
    pdf.font()
    if caption is None:
        caption = _("扫码查看您的社区民警")
    page_w, page_h = A4
    cell_w = (page_w - 2 * SHEET_MARGIN) / SHEET_COLUMNS
    cell_h = (page_h - 2 * SHEET_MARGIN - TITLE_HEIGHT) / SHEET_ROWS
    qr_size = min(LABEL_QR_SIZE, cell_w - 2 * LABEL_PADDING)
    caption_h = 4 * mm
    text_w = cell_w - 2 * LABEL_PADDING
    text_h = cell_h - qr_size - caption_h - 2 * LABEL_PADDING - 2 * mm
    title_style = pdf._style("qr-title", fontSize=11, leading=14, alignment=TA_LEFT)
    per_page = SHEET_COLUMNS * SHEET_ROWS
    pages = [labels[i : i + per_page] for i in range(0, len(labels), per_page)] or [[]]

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1, lang="zh-CN")
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setCreator("Doorstep")
    for number, page in enumerate(pages, start=1):
        heading = Paragraph(f"{escape(title)}　（{number}/{len(pages)}）", title_style)
        _w, h = heading.wrap(page_w - 2 * SHEET_MARGIN, TITLE_HEIGHT)
        heading.drawOn(canvas, SHEET_MARGIN, page_h - SHEET_MARGIN - h)
        top = page_h - SHEET_MARGIN - TITLE_HEIGHT
        for index, (text, url) in enumerate(page):
            col, row = index % SHEET_COLUMNS, index // SHEET_COLUMNS
            x0 = SHEET_MARGIN + col * cell_w
            y0 = top - (row + 1) * cell_h
            canvas.saveState()
            canvas.setLineWidth(0.3)
            canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
            canvas.setDash(2, 2)
            canvas.rect(x0, y0, cell_w, cell_h, stroke=1, fill=0)
            canvas.restoreState()
            para = _fit(text, text_w, text_h)
            _w, used = para.wrap(text_w, text_h)
            # Centre the address in its box, above the code.
            box_top = y0 + cell_h - LABEL_PADDING
            para.drawOn(canvas, x0 + LABEL_PADDING, box_top - (text_h + used) / 2)
            qr_y = y0 + LABEL_PADDING + caption_h
            _draw_qr(canvas, url, x0 + (cell_w - qr_size) / 2, qr_y, qr_size)
            canvas.setFont(pdf.FONT_NAME, 7)
            canvas.setFillColorRGB(0.35, 0.35, 0.35)
            canvas.drawCentredString(x0 + cell_w / 2, y0 + LABEL_PADDING, caption)
            canvas.setFillColorRGB(0, 0, 0)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
