"""core.pdf: the glyph check and the A4 builder with the vendored Noto Sans SC (ADR 0015).

PDF text is read back with pypdf, an extractor independent of reportlab.
"""

from __future__ import annotations

import io
import re
import threading

import pytest
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from doorstep.core import pdf
from doorstep.core.errors import ServiceError

COMMON = "中华人民共和国人民调解法 Doorstep 2026 abc，。：；“”（）、！？《》【】"
PRIVATE_USE = "\ue000"
EXTENSION_B = "\U00020000"  # 𠀀, CJK Unified Ideographs Extension B


def _text(data: bytes) -> str:
    pages = PdfReader(io.BytesIO(data)).pages
    text = "".join(page.extract_text() for page in pages)
    return "".join(re.sub(r"第\d+页", "", text).split())


def test_common_chinese_ascii_and_fullwidth_punctuation_have_glyphs():
    assert pdf.missing_glyphs(COMMON) == []


def test_whitespace_and_control_characters_are_not_drawn():
    assert pdf.missing_glyphs("甲\n乙\t丙\u3000丁 \x00\r") == []


def test_characters_absent_from_the_font_are_listed_once_in_order():
    cmap = pdf.font().face.charToGlyph
    assert not cmap.get(ord(PRIVATE_USE))
    assert not cmap.get(ord(EXTENSION_B))

    missing = pdf.missing_glyphs(f"张{EXTENSION_B}三{PRIVATE_USE}李{EXTENSION_B}")

    assert missing == [EXTENSION_B, PRIVATE_USE]


def test_check_text_raises_a_service_error_naming_the_characters():
    with pytest.raises(pdf.MissingGlyphs) as caught:
        pdf.check_text("常用字", None, "", f"王{EXTENSION_B}", f"{PRIVATE_USE}{EXTENSION_B}")

    error = caught.value
    assert isinstance(error, ServiceError)
    assert error.code == "missing_glyphs"
    assert error.status == 400
    assert error.chars == [EXTENSION_B, PRIVATE_USE]
    assert "无法在PDF中正确显示" in str(error)
    assert f"{EXTENSION_B}、{PRIVATE_USE}" in str(error)


def test_check_text_accepts_drawable_text_none_and_empty():
    pdf.check_text(COMMON, None, "")


def test_font_is_registered_once_across_threads():
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(pdf.font())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(font) for font in seen}) == 1
    assert pdf.FONT_NAME in pdfmetrics.getRegisteredFontNames()


def test_build_embeds_a_subset_of_the_font_with_metadata():
    s = pdf.styles()

    data = pdf.build(
        [pdf.para("标题", s["title"]), pdf.para(COMMON, s["body"])], title="测试文档", author="城东派出所"
    )

    assert data.startswith(b"%PDF-")
    assert b"/FontFile2" in data
    assert len(data) < 100_000  # the whole font is 10 MB
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "测试文档"
    assert reader.metadata.author == "城东派出所"
    assert "".join(COMMON.split()) in _text(data)


def test_same_input_gives_the_same_bytes():
    s = pdf.styles()

    def make() -> bytes:
        return pdf.build([pdf.para("调解协议", s["body"])], title="t", author="a")

    assert make() == make()


def test_markup_characters_and_line_breaks_are_plain_text():
    s = pdf.styles()

    data = pdf.build([pdf.para("a<b>&c</b>\n第二行", s["body"])], title="t", author="a")

    assert "a<b>&c</b>第二行" in _text(data)


def test_long_chinese_text_and_table_cells_wrap_over_pages():
    s = pdf.styles()
    long = "甲方在装修期间持续产生噪音，影响乙方正常休息。" * 150
    width = pdf.frame_width()

    data = pdf.build(
        [
            pdf.para(long, s["indent"]),
            pdf.table([["当事人", long[:300]]], [width * 0.2, width * 0.8], grid=True),
        ],
        title="t",
        author="a",
    )

    assert len(PdfReader(io.BytesIO(data)).pages) >= 3
    text = _text(data)
    assert long in text
    assert long[:300] in text
