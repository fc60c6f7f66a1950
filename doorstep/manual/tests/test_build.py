"""The guides build into one HTML site that needs nothing from outside the server and into PDFs whose Chinese
renders (the project's font is embedded, the text extracts as Chinese). The pictures here are stand-ins of the
right names: taking the real ones is test_tour.py's job."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from pypdf import PdfReader

from doorstep.manual import build, guides
from doorstep.manual.roles import GUIDES, ROLES
from doorstep.manual.tests import require_chromium
from doorstep.manual.tour import all_shots


def stand_ins(out) -> None:
    for shot in all_shots():
        path = out / "img" / f"{shot.name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (320, 200), (40, 90, 160)).save(path)


def test_a_guide_whose_pictures_were_not_taken_is_not_built(tmp_path):
    with pytest.raises(FileNotFoundError, match="pictures not taken yet"):
        build.build(tmp_path)


def test_the_site_has_every_guide_and_asks_nothing_from_outside(tmp_path):
    stand_ins(tmp_path)
    build.build(tmp_path)
    site = tmp_path / "site"
    index = (site / "index.html").read_text(encoding="utf-8")
    for role in ROLES:
        page = (site / f"{role.slug}.html").read_text(encoding="utf-8")
        assert f'href="{role.slug}.html"' in index
        assert guides.read(role.guide).title in page
        for name in guides.read(role.guide).images:
            assert f'src="img/{name}.png"' in page and (site / "img" / f"{name}.png").is_file()
        assert '<span class="ui">「' in page  # on-screen labels are marked
    for path in site.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r'(?:src|href)="(?:https?:)?//', text), f"{path.name} refers outside the site"
        assert "<script" not in text
        for target in re.findall(r'href="([^"#]+\.html)', text):
            assert (site / target).is_file(), f"{path.name} links a missing page {target}"
    # the operations guide is in the site too, its links between files kept
    operations = sorted(p.name for p in site.glob("ops-*.html"))
    assert "ops-readme.html" in operations and "ops-failures.html" in operations
    assert 'href="ops-backup.html' in (site / "ops-readme.html").read_text(encoding="utf-8")
    assert (site / build.FONT.name).is_file()


@pytest.mark.browser
def test_the_pdfs_embed_the_font_and_their_chinese_reads_back(tmp_path):
    require_chromium()
    stand_ins(tmp_path)
    written = build.print_pdfs(tmp_path, build.build(tmp_path))
    assert {p.name for p in written} == {build.USER_PDF, build.OPERATIONS_PDF}
    reader = PdfReader(tmp_path / build.USER_PDF)
    text = "".join(page.extract_text() for page in reader.pages)
    assert "家门口派出所" in text and "使用手册" in text
    for role in ROLES:
        assert guides.read(role.guide).title in text, role.title
    fonts = set()
    for page in reader.pages[:3]:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font.get("/DescendantFonts")
            descriptor = (descendant[0].get_object() if descendant else font).get("/FontDescriptor")
            if descriptor and any(
                k in descriptor.get_object() for k in ("/FontFile2", "/FontFile3", "/FontFile")
            ):
                fonts.add(str(font.get("/BaseFont")))
    assert any("NotoSansSC" in name for name in fonts), fonts
    assert len(reader.pages) > len(ROLES)  # a cover, then each guide from a new page
    assert guides.read(GUIDES / "README.md").title in text  # signing in etc. come first
    # Each character reads back as the one shown (a CJK radical instead of 门 is what the whole font gave, and
    # code blocks in a fallback font), in both books; no link points to a file of the machine that built it.
    for name in (build.USER_PDF, build.OPERATIONS_PDF):
        book = PdfReader(tmp_path / name)
        content = "".join(page.extract_text() for page in book.pages)
        radicals = sorted({c for c in content if 0x2E80 <= ord(c) <= 0x2FDF})
        assert not radicals, f"{name}: {radicals}"
        for page in book.pages:
            for annotation in page.get("/Annots") or []:
                action = annotation.get_object().get("/A") or {}
                assert not str(action.get("/URI", "")).startswith("file:"), f"{name}: {action}"
