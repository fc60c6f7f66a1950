"""The guides stay true to the system without a browser: every picture a guide shows is taken by the tour, every
on-screen text it quotes (「…」) is checked on the page of a picture of the same section, every address resolves,
every command and make target exists, and every role has its guide. (That the pages still show those texts is
checked by the tour itself: test_tour.py.)"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.core.management import get_commands
from django.urls import Resolver404, resolve

from doorstep.manual import guides
from doorstep.manual.roles import GUIDES, ROLES, ROOT, TOURS
from doorstep.manual.tour import all_shots, shots_of

GUIDE_FILES = [GUIDES / "README.md", *(role.guide for role in ROLES)]
SHOTS = {shot.name: shot for shot in all_shots()}
IDS = lambda p: p.name  # noqa: E731


def test_every_role_has_its_guide_and_the_index_links_each():
    index = (GUIDES / "README.md").read_text(encoding="utf-8")
    for role in ROLES:
        assert role.guide.is_file(), f"no guide for {role.title}: {role.guide.relative_to(ROOT)}"
        assert f"({role.slug}.md)" in index, f"docs/user/README.md does not link {role.slug}.md"
        assert shots_of(role.slug), f"the guide of {role.title} shows no picture"


def test_shot_names_are_unique_and_safe():
    names = Counter(shot.name for tour in TOURS for shot in shots_of(tour))
    assert not [name for name, n in names.items() if n > 1], "a picture is taken twice"
    bad = [name for name in names if not re.fullmatch(r"[a-z]+/[a-z0-9][a-z0-9_-]*", name)]
    assert not bad


def test_every_picture_taken_is_shown_by_a_guide():
    shown = {name for path in GUIDE_FILES if path.exists() for name in guides.read(path).images}
    unused = sorted(set(SHOTS) - shown)
    assert not unused, f"pictures no guide shows: {unused}"


@pytest.mark.parametrize("path", GUIDE_FILES, ids=IDS)
def test_every_picture_of_the_guide_is_taken_by_the_tour(path):
    missing = [name for name in guides.read(path).images if name not in SHOTS]
    assert not missing, f"{path.name} shows pictures no tour takes: {missing}"


@pytest.mark.parametrize("path", GUIDE_FILES, ids=IDS)
def test_every_quoted_label_is_checked_on_a_picture_of_its_section(path):
    unchecked = []
    for section in guides.read(path).sections:
        checked = {label for name in section.images if name in SHOTS for label in SHOTS[name].labels}
        unchecked += [
            f"{section.heading or '(top)'}: 「{label}」" for label in section.labels if label not in checked
        ]
    assert not unchecked, (
        f"{path.name} quotes labels no picture of the same section checks (add them to the shot's labels, or "
        f"quote with “…” what is not on the screen): {unchecked}"
    )


@pytest.mark.parametrize("path", GUIDE_FILES, ids=IDS)
def test_a_control_the_user_is_told_to_use_is_quoted_as_on_the_screen(path):
    quoted = guides.read(path).controls_in_quotes
    assert not quoted, (
        f"{path.name} tells the user to use controls quoted “…”: {quoted} — quote them 「…」 and add them to the "
        "labels of the section's picture, so the tour checks they are still there"
    )


def resolves(address: str) -> bool:
    for filler in ("1", "abc", "A7K2M9Q4T6W8"):
        try:
            resolve(re.sub(r"<[^>]+>", filler, address.split("#")[0]))
            return True
        except Resolver404:
            continue
    return False


@pytest.mark.parametrize("path", GUIDE_FILES, ids=IDS)
def test_every_address_the_guide_names_exists(path):
    unknown = [address for address in guides.read(path).paths if not resolves(address)]
    assert not unknown, f"{path.name} names addresses that do not exist: {unknown}"


def test_every_page_the_tour_opens_exists():
    unknown = [
        f"{shot.name}: {shot.path}" for shot in SHOTS.values() if shot.path and not resolves(shot.path)
    ]
    assert not unknown


@pytest.mark.parametrize("path", GUIDE_FILES, ids=IDS)
def test_every_command_the_guide_names_exists(path):
    commands = get_commands()
    targets = guides.makefile_targets(ROOT / "Makefile")
    unknown = [
        f"{program} {word}"
        for program, word in guides.read(path).commands
        if (program == "make" and word not in targets)
        or (program != "make" and word.replace("-", "_") not in commands and word not in commands)
    ]
    assert not unknown, f"{path.name} names commands that do not exist: {unknown}"


def test_the_parser_finds_what_a_guide_names(tmp_path):
    # The checks above are only as good as the reading: a guide with one of each is read as written.
    guide = tmp_path / "x.md"
    guide.write_text(
        "# 标题\n\n## 接警\n1. 打开 `/alarms/console/`，点击「派警」。\n\n![调度台](img/dispatcher/console.png)\n\n"
        "## 备份\n运行 `doorstep backup` 或 `make docs`，不要 `make nothing-here`；点击“保存”。\n\n"
        "```sh\nmanage.py migrate\n./manage.py seed\n.venv/bin/doorstep tick\nsudo -u doorstep doorstep backup\n```\n\n"
        "~~~\n# 不是标题\n~~~\n",
        encoding="utf-8",
    )
    read = guides.read(guide)
    assert read.title == "标题"
    assert [(s.heading, s.images, s.labels) for s in read.sections] == [
        ("标题", [], []),
        ("接警", ["dispatcher/console"], ["派警"]),
        ("备份", [], []),
    ]
    assert read.paths == ["/alarms/console/"]
    assert sorted(read.commands) == [
        ("doorstep", "backup"),
        ("doorstep", "backup"),
        ("doorstep", "tick"),
        ("make", "docs"),
        ("make", "nothing-here"),
        ("manage.py", "migrate"),
        ("manage.py", "seed"),
    ]
    assert read.controls_in_quotes == ["保存"]
    assert resolves("/alarms/console/") and not resolves("/no/such/page/")
