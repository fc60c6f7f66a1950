"""A patrol run on a phone in real Debian Chromium against pytest-django's live server: the patrol member
starts a patrol, walks (Playwright's geolocation mock moved a few times — a real phone GPS cannot run here),
the page sends the fixes in batches, stops with a summary, and the patrol's record shows the distance and the
track on its map (a WebGL canvas), with no request leaving the server and no console error."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest

from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    SCREENSHOTS,
    TIMEOUT_MS,
    Watch,
    _async_unsafe_allowed,
    chromium,
    sign_in,
)
from doorstep.patrol.choices import PatrolStatus
from doorstep.patrol.models import Patrol

pytestmark = pytest.mark.browser


def test_a_patrol_run_on_a_phone_is_drawn_on_its_record(pw_live, live_server, chromium):
    origin = live_server.url
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()
    phone = chromium.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": 24.905, "longitude": 118.605, "accuracy": 8},
        permissions=["geolocation"],
    )
    phone.set_default_timeout(TIMEOUT_MS)
    page = sign_in(phone, origin, watch, "patrol")
    page.goto(f"{origin}/patrol/run/")
    page.select_option("#id_community", str(pw_live.c1.pk))
    page.select_option("#id_grid", str(pw_live.grid_a.pk))
    page.fill("#id_participants", "3")
    page.fill("#id_volunteers", "1")
    page.locator("[data-testid=run-start]").click()
    page.locator("[data-testid=patrol-live]").wait_for()
    patrol = Patrol.objects.get(led_by=pw_live.patrol, status=PatrolStatus.RUNNING)
    # The patrol began three minutes ago (a finished patrol lasts at least a minute; the test does not sleep it).
    Patrol.objects.filter(pk=patrol.pk).update(started_at=patrol.started_at - dt.timedelta(minutes=3))

    # Walk east along the grid, about 20 m every few seconds.
    for step in range(1, 5):
        page.wait_for_timeout(2500)  # the page keeps at most one fix every 2 s
        phone.set_geolocation({"latitude": 24.905, "longitude": 118.605 + 0.0002 * step, "accuracy": 8})
    page.wait_for_function(
        "() => Number(document.getElementById('live-points').textContent) >= 4"
        " && document.getElementById('live-waiting').textContent === '0'",
        timeout=TIMEOUT_MS,
    )
    assert int(page.locator("[data-testid=live-distance]").inner_text()) > 0
    page.screenshot(path=str(SCREENSHOTS / "patrol-run-phone.png"), full_page=True)

    page.fill("#id_summary", "沿西福路巡逻，未见异常")
    page.locator("[data-testid=run-finish]").click()
    page.wait_for_url(f"{origin}/patrol/runs/{patrol.pk}/")
    assert page.locator("[data-testid=run-status]").inner_text() == "已完成"
    metres = int(page.locator("[data-testid=run-distance]").get_attribute("data-metres"))
    assert metres > 0
    assert "未见异常" in page.locator("[data-testid=run-summary]").inner_text()
    page.locator("#patrol-map[data-ready='1']").wait_for()
    page.locator("#patrol-map canvas").wait_for()
    drawn = page.evaluate(
        "() => window.doorstepPatrolMap.getStyle().sources.track.data.geometry.coordinates.flat().length"
    )
    assert drawn >= 4
    page.screenshot(path=str(SCREENSHOTS / "patrol-run-record.png"), full_page=True)

    patrol.refresh_from_db()
    assert patrol.status == PatrolStatus.DONE and patrol.distance_m == metres and patrol.points >= 4

    # And on the main map: the patrol layers, opened from the board's link, load this patrol's track.
    with page.expect_response(lambda r: "/patrol/map/tracks.geojson" in r.url) as tracks:
        page.goto(f"{origin}/map/?patrol=7")
    ids = [f["properties"]["id"] for f in tracks.value.json()["features"]]
    assert patrol.pk in ids
    page.screenshot(path=str(SCREENSHOTS / "patrol-run-map.png"), full_page=True)
    phone.close()
    watch.check(server)
