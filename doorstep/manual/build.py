"""Build the guides into one HTML site (var/docs/site/) and PDFs (var/docs/*.pdf) that need nothing outside
themselves: the pictures the tour took, the project's own Chinese font (static/vendor/fonts), no script.

The PDFs are printed by the same Debian Chromium as the pictures, from one page holding every guide, with the
font embedded (a reader on an isolated network sees the same glyphs)."""

from __future__ import annotations

import datetime
import html
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from markdown_it import MarkdownIt

from doorstep.manual.guides import IMAGE, shot_name
from doorstep.manual.roles import GUIDES, ROLES, ROOT
from doorstep.manual.shoot import CHROMIUM, CHROMIUM_ARGS
from doorstep.manual.tour import all_shots

FONT = ROOT / "doorstep" / "static" / "vendor" / "fonts" / "NotoSansSC-Regular.ttf"
OPERATIONS = ROOT / "docs" / "operations"
USER_PDF = "doorstep-user-manual.pdf"
OPERATIONS_PDF = "doorstep-operations-manual.pdf"
TITLE = "家门口派出所 · 使用手册"

CSS = """
@font-face { font-family: "Noto Sans SC"; src: url("NotoSansSC-Regular.ttf") format("truetype"); }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Noto Sans SC", sans-serif; color: #1d2733; line-height: 1.75; font-size: 15px; }
.layout { display: flex; min-height: 100vh; }
nav.side { width: 230px; flex: none; background: #1e3a5f; color: #fff; padding: 20px 16px; }
nav.side a { color: #dbe7f5; text-decoration: none; display: block; padding: 3px 6px; border-radius: 4px; }
nav.side a.here, nav.side a:hover { background: #2f5685; color: #fff; }
nav.side h2 { font-size: 13px; color: #9fb6d1; margin: 18px 0 6px; font-weight: normal; }
nav.side .brand { font-size: 18px; color: #fff; margin-bottom: 8px; display: block; }
main { flex: 1; max-width: 1020px; padding: 24px 40px 60px; }
h1 { font-size: 26px; border-bottom: 3px solid #1e3a5f; padding-bottom: 8px; }
h2 { font-size: 20px; margin-top: 32px; color: #1e3a5f; }
h3 { font-size: 17px; }
img { max-width: 100%; border: 1px solid #c9d3df; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
img.phone { max-width: 330px; }
figure { margin: 12px 0 20px; }
figcaption { color: #5b6b7c; font-size: 13px; }
.ui { background: #eef3f9; border: 1px solid #c6d5e6; border-radius: 3px; padding: 0 3px; white-space: nowrap; }
code, pre { font-family: "DejaVu Sans Mono", "Noto Sans SC", monospace; font-size: 13px; }
pre { background: #f3f5f8; padding: 10px 12px; overflow-x: auto; border-radius: 4px; }
table { border-collapse: collapse; margin: 10px 0; }
th, td { border: 1px solid #c9d3df; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef3f9; }
.toc { background: #f6f8fb; border: 1px solid #dde5ee; padding: 8px 16px; border-radius: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; }
.card { border: 1px solid #c9d3df; border-radius: 6px; padding: 12px 14px; text-decoration: none; color: inherit; }
.card b { display: block; font-size: 17px; color: #1e3a5f; }
.built { color: #5b6b7c; font-size: 13px; }
@media print {
  nav.side, .toc { display: none; }
  main { max-width: none; padding: 0; }
  .guide { break-before: page; }
  figure, img, tr { break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
  .cover { height: 250mm; display: flex; flex-direction: column; justify-content: center; }
  .cover h1 { font-size: 34px; border: none; }
}
"""


@dataclass
class Page:
    slug: str  # the file name without .html
    title: str
    source: Path
    group: str  # "user" or "operations"


def pages() -> list[Page]:
    found = [Page(role.slug, role.title, role.guide, "user") for role in ROLES if role.guide.exists()]
    readme = OPERATIONS / "README.md"
    ops = ([readme] if readme.exists() else []) + sorted(
        p for p in OPERATIONS.glob("*.md") if p.name != "README.md"
    )
    for path in ops:
        first = (
            path.read_text(encoding="utf-8").lstrip().splitlines()[0] if path.stat().st_size else path.stem
        )
        # a short title for the menu: no command names in brackets, no Markdown
        title = (
            re.sub(r"（[^）]*`[^）]*）|\([^)]*`[^)]*\)", "", first.lstrip("# ").strip())
            .replace("`", "")
            .strip()
        )
        found.append(Page("ops-" + path.stem.lower(), title, path, "operations"))
    return found


def github_anchor(text: str, seen: dict[str, int]) -> str:
    """A heading's id as GitHub makes it (so `file.md#section` links written for the repository work in the
    site): lower case, punctuation dropped, spaces to hyphens, -1, -2 … for repeats."""
    slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


def _renderer() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def render(
    markdown: str, page: Page, known: dict[Path, str], images: Path, phones: frozenset[str] = frozenset()
) -> tuple[str, list[tuple[str, str]]]:
    """The page's HTML body and its table of contents [(id, heading)]."""
    missing = [
        src for _alt, src in IMAGE.findall(markdown) if not (images / f"{shot_name(src)}.png").exists()
    ]
    if missing:
        raise FileNotFoundError(f"{page.source.name}: pictures not taken yet: {missing} (run the tour first)")
    body = _renderer().render(markdown)
    toc: list[tuple[str, str]] = []
    seen: dict[str, int] = {}

    def heading(match: re.Match) -> str:
        level, text = match.group(1), match.group(2)
        anchor = github_anchor(html.unescape(re.sub(r"<[^>]+>", "", text)), seen)
        if level == "2":
            toc.append((anchor, html.unescape(re.sub(r"<[^>]+>", "", text))))
        return f'<h{level} id="{anchor}">{text}</h{level}>'

    body = re.sub(r"<h([1-6])>(.*?)</h\1>", heading, body)

    def link(match: re.Match) -> str:
        href, text = html.unescape(match.group(1)), match.group(2)
        if href.startswith(("#", "http://", "https://", "mailto:")):
            return match.group(0)
        target, _, anchor = href.partition("#")
        target, anchor = unquote(target), unquote(anchor)
        resolved = (page.source.parent / target).resolve()
        if resolved in known:
            return f'<a href="{known[resolved]}.html{"#" + html.escape(anchor) if anchor else ""}">{text}</a>'
        return text  # a file of the repository (deploy/…): no page of the site, so no link

    body = re.sub(r'<a href="([^"]*)">(.*?)</a>', link, body, flags=re.S)
    body = re.sub(
        r'<p><img src="(img/[^"]+)" alt="([^"]*)" /></p>',
        lambda m: (
            f'<figure><img src="{m.group(1)}" alt="{m.group(2)}"'
            f"{' class=phone' if shot_name(m.group(1)) in phones else ''} />"
            f"<figcaption>{m.group(2)}</figcaption></figure>"
        ),
        body,
    )
    return _mark_labels(body), toc


def _mark_labels(body: str) -> str:
    """「…」 in the text (not inside a tag's attributes, nor in code) marked as an on-screen label."""
    pieces = re.split(r"(<[^>]+>)", body)
    in_code = 0
    for i, piece in enumerate(pieces):
        if piece.startswith("<"):
            if re.match(r"<(code|pre)\b", piece):
                in_code += 1
            elif re.match(r"</(code|pre)>", piece):
                in_code = max(0, in_code - 1)
        elif not in_code:
            pieces[i] = re.sub(r"「([^「」]+)」", r'<span class="ui">「\1」</span>', piece)
    return "".join(pieces)


def _document(title: str, nav: str, main: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)}</title><link rel="stylesheet" href="manual.css"></head>'
        f'<body><div class="layout">{nav}<main>{main}</main></div></body></html>'
    )


def _nav(all_pages: list[Page], here: str) -> str:
    def item(page: Page) -> str:
        css = ' class="here"' if page.slug == here else ""
        return f'<a href="{page.slug}.html"{css}>{html.escape(page.title)}</a>'

    users = "".join(item(p) for p in all_pages if p.group == "user")
    ops = "".join(item(p) for p in all_pages if p.group == "operations")
    home = ' class="here"' if here == "index" else ""
    return (
        f'<nav class="side"><a class="brand" href="index.html">家门口派出所</a><a href="index.html"{home}>首页</a>'
        f"<h2>用户手册</h2>{users}<h2>运维手册</h2>{ops}</nav>"
    )


def _pictures_taken(page: Page, images: Path) -> bool:
    text = page.source.read_text(encoding="utf-8")
    return all((images / f"{shot_name(src)}.png").exists() for _alt, src in IMAGE.findall(text))


def build(out: Path, today: datetime.date | None = None, partial: bool = False) -> dict[str, Path]:
    """Write out/site/ (index, a page per guide and per operations file, pictures, font, CSS) and the print pages
    the PDFs are made from; return their paths. `partial` (a tour of some roles only) leaves out the guides
    whose pictures were not taken; otherwise a missing picture is an error."""
    out = Path(out)
    images = out / "img"
    site = out / "site"
    if site.exists():
        if any(site.iterdir()) and not (site / "manual.css").exists():
            raise FileExistsError(f"{site} exists and is not a site this build made: not replacing it")
        shutil.rmtree(site)
    site.mkdir(parents=True)
    (site / "manual.css").write_text(CSS, encoding="utf-8")
    if images.exists():
        shutil.copytree(images, site / "img")
    all_pages = [page for page in pages() if not partial or _pictures_taken(page, images)]
    known = {page.source.resolve(): page.slug for page in all_pages}
    built = (today or datetime.date.today()).isoformat()
    phones = frozenset(shot.name for shot in all_shots() if shot.phone)
    rendered: dict[str, str] = {}
    for page in all_pages:
        body, toc = render(page.source.read_text(encoding="utf-8"), page, known, images, phones)
        rendered[page.slug] = body
        toc_html = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in toc)
        toc_box = f'<div class="toc"><b>本页内容</b><ul>{toc_html}</ul></div>' if toc else ""
        head, h1_end, rest = body.partition("</h1>")
        main = head + h1_end + toc_box + rest if h1_end else toc_box + body
        (site / f"{page.slug}.html").write_text(
            _document(f"{page.title} · {TITLE}", _nav(all_pages, page.slug), main), encoding="utf-8"
        )
    intro = Page("index", TITLE, GUIDES / "README.md", "user")
    intro_html = f"<h1>{TITLE}</h1>"
    if intro.source.exists() and (not partial or _pictures_taken(intro, images)):
        intro_html = render(intro.source.read_text(encoding="utf-8"), intro, known, images, phones)[0]
    shown = {page.slug for page in all_pages}
    cards = "".join(
        f'<a class="card" href="{role.slug}.html"><b>{html.escape(role.title)}</b>{html.escape(role.summary)}</a>'
        for role in ROLES
        if role.slug in shown
    )
    (site / "index.html").write_text(
        _document(
            TITLE,
            _nav(all_pages, "index"),
            f'{intro_html}<div class="cards">{cards}</div><p class="built">根据 {built} 的系统界面生成。</p>',
        ),
        encoding="utf-8",
    )
    prints = {}
    if intro.source.exists() and (not partial or _pictures_taken(intro, images)):
        rendered["index"] = intro_html
    for group, name, heading in (("user", USER_PDF, "使用手册"), ("operations", OPERATIONS_PDF, "运维手册")):
        chapters = [p for p in all_pages if p.group == group]
        if group == "user" and "index" in rendered:
            chapters.insert(0, intro)
        contents = "".join(f"<li>{html.escape(p.title)}</li>" for p in chapters)
        cover = (
            f'<section class="cover"><h1>家门口派出所<br>{heading}</h1><p>社区警务平台 · 根据 {built} 的系统界面生成'
            f"</p><ol>{contents}</ol></section>"
        )
        slugs = {p.slug for p in chapters}
        chapters_html = "".join(
            f'<section class="guide" id="{p.slug}">{_for_print(rendered[p.slug], p.slug, slugs)}</section>'
            for p in chapters
        )
        path = site / f"print-{group}.html"
        path.write_text(_document(heading, "", cover + chapters_html), encoding="utf-8")
        prints[name] = path
    subset_font(site / FONT.name, "".join(p.read_text(encoding="utf-8") for p in site.glob("*.html")))
    return prints


def _for_print(body: str, slug: str, chapters: set[str]) -> str:
    """A chapter of a PDF: its ids made unique in the book and its links between pages turned into links within
    the book (a link to a page of the site would be a file on the machine that built it)."""
    body = re.sub(r'id="([^"]+)"', lambda m: f'id="{slug}--{m.group(1)}"', body)

    def link(match: re.Match) -> str:
        target, _, anchor = match.group(1).partition("#")
        if not target:
            return f'href="#{slug}--{anchor}"'
        page = target.removesuffix(".html")
        if page in chapters:
            return f'href="#{page}--{anchor}"' if anchor else f'href="#{page}"'
        return 'href="#"'  # a page that is not in this book

    return re.sub(r'href="((?!https?:|mailto:)[^"]*)"', link, body)


def subset_font(target: Path, text: str) -> None:
    """The project's font cut to the characters of `text` (and printable ASCII). Besides making a 10 MB font
    a few hundred KB, it drops the CJK radicals that share glyphs with ideographs (⻔ and 门): Chromium's PDF
    maps a glyph back to the first character the font's table gives, so the whole font made 门 copy as ⻔."""
    from fontTools import subset

    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    font = subset.load_font(str(FONT), options)
    subsetter = subset.Subsetter(options)
    characters = {ord(c) for c in text if not 0x2E80 <= ord(c) <= 0x2FDF} | set(range(0x20, 0x7F))
    subsetter.populate(unicodes=characters)
    subsetter.subset(font)
    subset.save_font(font, str(target), options)


def print_pdfs(out: Path, prints: dict[str, Path]) -> list[Path]:
    """Print each print page to out/<name>.pdf in Chromium (A4, page numbers, the font embedded)."""
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            for name, source in prints.items():
                page.goto(source.resolve().as_uri())
                page.wait_for_load_state("load")
                page.evaluate("document.fonts.ready.then(() => true)")
                target = Path(out) / name
                page.pdf(
                    path=str(target),
                    format="A4",
                    print_background=True,
                    margin={"top": "16mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=(
                        '<div style="font-size:9px;width:100%;text-align:center;color:#666">'
                        '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
                    ),
                )
                written.append(target)
        finally:
            browser.close()
    return written
