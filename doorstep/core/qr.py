"""QR codes as inline SVG, from reportlab's QR encoder (already a dependency for the PDF documents).

The SVG carries no style attribute and no <style> element — colours are `fill="..."` presentation
attributes — so it can be inlined in pages under a strict Content-Security-Policy. Used by the portal's
house-plate and survey codes and by the two-factor enrolment page (the otpauth:// URI).
"""

from __future__ import annotations

import itertools
from xml.sax.saxutils import escape

from reportlab.graphics.barcode import qrencoder

QUIET_ZONE = 4  # modules of white border the QR standard asks for


def matrix(text: str, level: str = "M") -> list[list[bool]]:
    """The QR module matrix of `text` (rows top to bottom, True = dark), version chosen automatically."""
    code = qrencoder.QRCode(None, getattr(qrencoder.QRErrorCorrectLevel, level))
    code.addData(text)
    code.make()
    return [[bool(cell) for cell in row] for row in code.modules]


def runs(row: list[bool]) -> list[tuple[int, int]]:
    """(start column, length) of each run of dark modules in a row."""
    out: list[tuple[int, int]] = []
    col = 0
    for dark, group in itertools.groupby(row):
        count = len(list(group))
        if dark:
            out.append((col, count))
        col += count
    return out


def qr_svg(text: str, *, size_mm: float | None = None, label: str | None = None, level: str = "M") -> str:
    """A standalone <svg> element drawing the QR code of `text`.

    The drawing is in module units (viewBox) so it scales crisply; `size_mm` fixes a printed size, otherwise
    it fills its container's width. Dark modules are one <path> of horizontal runs; a white <rect> behind
    provides the quiet zone. `label` becomes the accessible name (role="img" + aria-label).
    """
    modules = matrix(text, level)
    count = len(modules)
    total = count + 2 * QUIET_ZONE
    parts = []
    for r, row in enumerate(modules):
        for c, length in runs(row):
            parts.append(f"M{c + QUIET_ZONE} {r + QUIET_ZONE}h{length}v1h-{length}z")
    size = f' width="{size_mm:g}mm" height="{size_mm:g}mm"' if size_mm else ""
    name = escape(label if label is not None else text, {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total} {total}"{size} role="img" '
        f'aria-label="{name}" shape-rendering="crispEdges">'
        f'<rect x="0" y="0" width="{total}" height="{total}" fill="#ffffff"/>'
        f'<path d="{"".join(parts)}" fill="#000000"/>'
        "</svg>"
    )
