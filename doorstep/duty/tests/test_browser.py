"""The live police-room board in real Debian Chromium against pytest-django's live server: the director
watches the board (htmx polling, shortened to 1 s here) while the officer, on a phone-sized screen with a
mocked GPS fix at the room, clocks in; the room turns 在岗 on the director's board without a reload.
Geolocation is Playwright's context mock: a real phone GPS cannot run here."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    SCREENSHOTS,
    TIMEOUT_MS,
    Watch,
    _async_unsafe_allowed,
    chromium,
    sign_in,
    world,
)
from doorstep.duty import services

pytestmark = pytest.mark.browser


def test_board_turns_staffed_when_the_officer_clocks_in_on_a_phone(world, live_server, chromium, settings):
    settings.DUTY_BOARD_POLL_SECONDS = 1
    now = timezone.now()
    services.create_shift(
        room=world.room_c1,
        staff=world.officer_a_staff,
        starts_at=now - dt.timedelta(minutes=30),
        ends_at=now + dt.timedelta(hours=4),
        by=world.director,
    )
    origin = live_server.url
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()

    desk = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    desk.set_default_timeout(TIMEOUT_MS)
    board = sign_in(desk, origin, watch, "director")
    board.goto(f"{origin}/duty/")
    card = board.locator(f"[data-testid=room-card][data-room='{world.room_c1.pk}']")
    assert card.get_attribute("data-state") == "late"
    assert "刘芳" in card.inner_text()

    phone = chromium.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": 118.6052, "latitude": 24.9051, "accuracy": 12},
        permissions=["geolocation"],
    )
    phone.set_default_timeout(TIMEOUT_MS)
    mobile = sign_in(phone, origin, watch, "officer_a")
    mobile.goto(f"{origin}/duty/clock/")
    button = mobile.locator("[data-testid=clock-in]")
    box = button.bounding_box()
    assert box is not None and box["width"] <= 390
    button.click()
    result = mobile.locator("[data-testid=clock-result]")
    result.filter(has_text="已签到").wait_for()
    assert "迟到" in result.inner_text()  # 30 minutes after the shift's start
    mobile.locator("[data-testid=clock-open]").wait_for()
    mobile.screenshot(path=str(SCREENSHOTS / "duty-clock-phone.png"), full_page=True)

    board.locator(f"[data-testid=room-card][data-room='{world.room_c1.pk}'][data-state=staffed]").wait_for()
    board.screenshot(path=str(SCREENSHOTS / "duty-board.png"), full_page=True)

    # Outside the geofence: refused on the phone with the distance.
    mobile.locator("[data-testid=clock-out]").click()
    mobile.locator("[data-testid=clock-in]").wait_for()
    phone.set_geolocation({"longitude": 118.605, "latitude": 24.915, "accuracy": 10})
    mobile.locator("[data-testid=clock-in]").click()
    result.filter(has_text="超出签到范围").wait_for()
    # The refusal is a 409 by design (Chromium also logs it to the console).
    watch.failed = [f for f in watch.failed if "/duty/clock/in/" not in f]
    watch.console_errors = [e for e in watch.console_errors if "/duty/clock/in/" not in e]
    # pytest-django's live server speaks WSGI only: the board's /ws/duty/ socket gets a 404 there and the
    # script falls back to the poll (which is what this test exercises). Delivery over the socket is tested
    # through Channels in test_realtime.py.
    watch.console_errors = [e for e in watch.console_errors if "/ws/duty/" not in e]
    desk.close()
    phone.close()
    watch.check(server)
