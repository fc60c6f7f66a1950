"""What a guide says, read from its Markdown: the pictures it shows, the on-screen texts it quotes (「…」, only
ever for what the screen shows: a menu, a button, a tab, a column, a page title), the addresses and the commands
it names — so the tests can hold each against the tour, the URL configuration and the commands that exist.

Conventions of docs/user/*.md: a picture is `![说明](img/<role>/<what>.png)`; 「…」 quotes a label on the screen,
“…” anything else; an address is `/inline/code/` (a placeholder part as `<编号>`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

IMAGE = re.compile(r"!\[([^\]]*)\]\((img/[A-Za-z0-9_/-]+\.png)\)")
LABEL = re.compile(r"「([^「」\n]+)」")
HEADING = re.compile(r"^#{1,6} ", re.M)
FENCE = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
PATH = re.compile(r"^/[A-Za-z0-9_./<>\-一-鿿?=&]*$")
# `make <target>` and `doorstep|manage.py <command>` in code.
MAKE = re.compile(r"(?<![\w/.-])make[ \t]+([a-z][a-z0-9_-]*)")
PROGRAM = re.compile(r"(?<![\w.:@-])(doorstep|manage\.py)(?=[ \t]+([a-z][a-z0-9_-]*))")
# A control named in “…” right after the verb that uses it: it is on the screen, so it must be quoted 「…」 (and
# checked by the tour).
ACTION_IN_QUOTES = re.compile(r"(?:点击|点开|点|按|选择|勾选|打开|进入|切换到)“([^”\n]{1,20})”")


@dataclass
class Section:
    heading: str
    images: list[str] = field(default_factory=list)  # shot names: "dispatcher/console"
    labels: list[str] = field(default_factory=list)


@dataclass
class Guide:
    path: Path
    title: str
    sections: list[Section]
    paths: list[str]
    commands: list[tuple[str, str]]  # ("make", "docs"), ("doorstep", "backup")
    controls_in_quotes: list[str]  # “保存” after 点击: should be 「保存」

    @property
    def images(self) -> list[str]:
        return [name for section in self.sections for name in section.images]

    @property
    def labels(self) -> list[str]:
        return [label for section in self.sections for label in section.labels]


def shot_name(src: str) -> str:
    return src.removeprefix("img/").removesuffix(".png")


def code_text(text: str) -> str:
    fenced = [m.group(0).split("\n", 1)[1] for m in FENCE.finditer(text)]
    prose = FENCE.sub("", text)
    return "\n".join(fenced + INLINE_CODE.findall(prose))


def read(path: Path) -> Guide:
    text = path.read_text(encoding="utf-8")
    title_match = re.search(r"^# (.+)$", text, re.M)
    prose = FENCE.sub("", text)
    sections = []
    starts = [0, *[m.start() for m in HEADING.finditer(prose)], len(prose)]
    for begin, end in zip(starts, starts[1:], strict=False):
        chunk = prose[begin:end]
        if not chunk.strip():
            continue
        first = chunk.strip().splitlines()[0]
        sections.append(
            Section(
                heading=first.lstrip("# ").strip() if first.startswith("#") else "",
                images=[shot_name(src) for _alt, src in IMAGE.findall(chunk)],
                labels=LABEL.findall(INLINE_CODE.sub("", chunk)),
            )
        )
    code = code_text(text)
    commands = [("make", target) for target in MAKE.findall(code)]
    commands += [(program, word) for program, word in PROGRAM.findall(code) if word != "doorstep"]
    paths = [piece.split("?")[0] for piece in INLINE_CODE.findall(prose) if PATH.match(piece)]
    return Guide(
        path=path,
        title=title_match.group(1).strip() if title_match else path.stem,
        sections=sections,
        paths=paths,
        commands=commands,
        controls_in_quotes=ACTION_IN_QUOTES.findall(INLINE_CODE.sub("", prose)),
    )


def makefile_targets(makefile: Path) -> set[str]:
    return set(re.findall(r"^([a-zA-Z][a-zA-Z0-9_.-]*):", makefile.read_text(encoding="utf-8"), re.M))
