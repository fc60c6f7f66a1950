"""The tour is the test of the guides' pages: on a fresh demo district served by `manage.py run` (as `make docs`
does), every role's tour opens each page its guide shows, does what the steps say, finds every on-screen text
the guide quotes, and takes the picture — with no error on the page, no console error, no failed request and
nothing asked from outside the server. A renamed button, a removed page or a page that breaks fails here, with
the picture's name."""

from __future__ import annotations

import pytest
from PIL import Image

from doorstep.manual import shoot
from doorstep.manual.roles import TOURS
from doorstep.manual.server import DemoServer
from doorstep.manual.tests import require_chromium
from doorstep.manual.tour import DESKTOP, PHONE, shots_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    require_chromium()
    server = DemoServer(tmp_path_factory.mktemp("manual") / "demo")
    server.prepare()
    with server:
        yield server


@pytest.mark.parametrize("tour", TOURS)
def test_the_tour_takes_every_picture_of_its_guide(demo, tour, tmp_path):
    problems = shoot.run(demo.base, tmp_path, demo.env, [tour])
    assert not problems, "\n".join(problems)
    for shot in shots_of(tour):
        with Image.open(tmp_path / "img" / f"{shot.name}.png") as picture:
            width, height = picture.size
        window = PHONE if shot.phone else DESKTOP
        if not shot.clip:  # a picture of the whole window (phones at twice the pixels)
            assert width >= window["width"] and height >= window["height"], shot.name
        # not a blank page: a picture of a real screen has many colours
        with Image.open(tmp_path / "img" / f"{shot.name}.png") as picture:
            colours = picture.convert("RGB").resize((200, 200)).getcolors(maxcolors=40_000) or []
        assert len(colours) > 8, f"{shot.name} looks blank"
