"""A dispatch reaches the officer's phone workspace, in real Debian Chromium (Playwright, sync API) on a
phone-sized screen with the GPS emulated inside the officer's grid.

(a) The workspace is open. The WebSocket needs the ASGI server, so this test runs `uvicorn
doorstep.asgi:application` as a separate process on the test's database (PostgreSQL: the test database
itself; SQLite: a file copy of the in-memory test database made once the world and the alarm are committed),
with the in-memory channel layer of that one process. The dispatcher signs in on a second browser context and
dispatches through the console's own endpoint, so the dispatch runs inside the server as in production. The
banner shows the unit within seconds; the vibration and the WebAudio tone are recorded by an init script
(headless Chromium has neither a vibration motor nor a loudspeaker to listen to — the calls are what the page
controls). 收到 and 到场 go through the sealed offline queue to the server: the receipt and the arrival with
the emulated position are then in the database.

(b) The workspace is closed: the dispatch still reaches the officer by text message through the SMS gateway
(the memory gateway of the test settings), on the dispatch's worker thread — with the officer's work phone
and the unit, and nothing of any resident.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import sys
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from doorstep.alarms import notify
from doorstep.alarms import services as alarm_services
from doorstep.alarms.tests.procs import Service, free_port, tail
from doorstep.alarms.tests.test_alarmd_process import Database
from doorstep.alarms.tests.test_dispatch import key_unit, provision, raise_alarm
from doorstep.core import sms
from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    TIMEOUT_MS,
    Watch,
    _async_unsafe_allowed,
    chromium,
    sign_in,
    world,
)
from doorstep.registry import services as registry_services
from doorstep.registry.choices import PersonCategory
from doorstep.registry.tests.conftest import make_house, new_id

pytestmark = pytest.mark.browser

HERE = {"longitude": 118.6051, "latitude": 24.9049, "accuracy": 12}  # at the school in grid A
BANNER_WITHIN_MS = 10_000  # "within seconds", with margin for a loaded CI machine
STORED_WITHIN_S = 30.0
# No vibration motor or loudspeaker in a headless browser: record what the page asks of them.
RECORD = """
window.__vibrations = [];
Object.defineProperty(Navigator.prototype, "vibrate", { configurable: true, writable: true,
  value: function (pattern) { window.__vibrations.push(pattern); return true; } });
window.__tones = 0;
const start = AudioScheduledSourceNode.prototype.start;
AudioScheduledSourceNode.prototype.start = function (...args) {
  if (this instanceof OscillatorNode) window.__tones += 1;
  return start.apply(this, args);
};
"""


def _phone(chromium):
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN",
        geolocation=HERE, permissions=["geolocation"],
    )  # fmt: skip
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(RECORD)
    return context


@pytest.fixture
def site(world):
    """An alarm pressed at 西福小学 in grid A (officer_a's grid), not yet dispatched."""
    unit = key_unit(world.grid_a, "西福小学")
    device = provision(unit, "BTN-M-1", world.director)
    return unit, raise_alarm(device)


def _web(database: Database, tmp_path) -> Service:
    port = free_port()
    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DATABASE_URL": database.url,
        "DOORSTEP_VAR_DIR": str(tmp_path / "var"),
        "DOORSTEP_ALARMD": "false",
        "DOORSTEP_VIDEOD": "false",
        "DOORSTEP_MQTT_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("TEST_DATABASE_NAME", "REDIS_URL"):  # one process: its in-memory channel layer
        env.pop(name, None)
    argv = [sys.executable, "-m", "uvicorn", "doorstep.asgi:application", "--host", "127.0.0.1"]
    return Service("web", [*argv, "--port", str(port)], env=env, log=tmp_path / "web.log", port=port)


def _alarm(database: Database, pk: int) -> dict:
    """The alarm's receipt and arrival as the server committed them."""
    columns = ("state", "received_by_officer_at", "receipt_lng", "receipt_lat", "arrived_at", "arrival_lng",
               "arrival_lat", "arrival_accuracy")  # fmt: skip
    query = f"SELECT {', '.join(columns)} FROM alarms_alarm WHERE id = %s"  # noqa: S608 - fixed columns
    if database.vendor == "sqlite":
        with sqlite3.connect(database.path) as db:
            row = db.execute(query.replace("%s", "?"), (pk,)).fetchone()
    else:
        with connection.cursor() as cursor:
            cursor.execute(query, [pk])
            row = cursor.fetchone()
    return dict(zip(columns, row, strict=True))


def _wait_for(database: Database, pk: int, field: str, web: Service) -> dict:
    deadline = time.monotonic() + STORED_WITHIN_S
    while time.monotonic() < deadline:
        row = _alarm(database, pk)
        if row[field] is not None:
            return row
        time.sleep(0.2)
    raise AssertionError(f"{field} of alarm {pk} not set within {STORED_WITHIN_S} s\n{tail(web.log)}")


def _session(user) -> str:
    """A signed-in session row in the database the server reads (the suite's fast password hasher is not
    the server's, so the browsers do not sign in through the login form there)."""
    client = Client()
    client.force_login(user)
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def _signed_in(context, origin: str, session: str, csrf: str = "") -> None:
    cookies = [{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": origin}]
    if csrf:
        cookies.append({"name": django_settings.CSRF_COOKIE_NAME, "value": csrf, "url": origin})
    context.add_cookies(cookies)


def test_a_dispatch_rings_the_open_workspace_and_is_received_and_arrived_from_it(
    world, site, chromium, tmp_path
):
    unit, alarm = site
    officer, dispatcher = _session(world.officer_a), _session(world.dispatcher)
    database = Database(tmp_path)  # after the sessions and the alarm: the SQLite copy must hold them
    web = _web(database, tmp_path)
    web.start(timeout=60)
    watch = Watch()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        origin = f"http://127.0.0.1:{web.port}"
        phone = _phone(chromium)
        _signed_in(phone, origin, officer)
        page = phone.new_page()
        watch.attach(page)
        page.goto(f"{origin}/m/")
        page.wait_for_function("() => document.documentElement.dataset.alarmSocket === 'live'")
        assert page.locator("#dispatch-banner").is_hidden()
        # A phone vibrates only for a page that has had a tap (Chromium refuses and logs it otherwise): the
        # officer has touched the workspace since opening it.
        page.mouse.click(2, 420)
        assert page.evaluate("navigator.userActivation.hasBeenActive") is True

        desk = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        token = secrets.token_hex(16)
        _signed_in(desk, origin, dispatcher, csrf=token)
        answer = desk.request.post(
            f"{origin}/alarms/{alarm.pk}/dispatch/",
            headers={
                "X-CSRFToken": token,
                "Accept": "application/json",
                "Referer": f"{origin}/alarms/console/",
            },
            form={"officer": ""},  # the grid's community officer: officer_a
        )
        assert answer.ok, answer.text()

        # The banner, the vibration and the tone, while the page stays open.
        page.wait_for_selector("#dispatch-banner [data-testid=dispatch-unit]", timeout=BANNER_WITHIN_MS)
        assert page.inner_text("[data-testid=dispatch-unit]") == unit.name
        assert unit.address.full_text in page.inner_text("[data-testid=dispatch-address]")
        assert [500, 200, 500, 200, 500] in page.evaluate("window.__vibrations")
        page.wait_for_function("() => window.__tones > 0")
        page.screenshot(path=str(SCREENSHOTS / "mobile-dispatch.png"))
        assert _alarm(database, alarm.pk)["received_by_officer_at"] is None

        # 收到: through the sealed queue to the server, with the phone's position; the ringing stops.
        page.click("[data-testid=dispatch-receive]")
        row = _wait_for(database, alarm.pk, "received_by_officer_at", web)
        assert (row["receipt_lng"], row["receipt_lat"]) == (HERE["longitude"], HERE["latitude"])
        assert "已收到" in page.inner_text("[data-testid=dispatch-receive]")
        tones = page.evaluate("window.__tones")
        page.wait_for_timeout(5000)  # longer than the ring interval: no new tone after 收到
        assert page.evaluate("window.__tones") == tones

        # Opened again, the workspace has the alarm in today's list with its receipt (no banner: received);
        # 到场 from there: the alarm is arrived, at the emulated GPS position.
        page.reload()
        actions = page.locator(f'[data-alarm-actions="{alarm.pk}"]')
        actions.locator("[data-testid=today-receive]").wait_for()
        assert re.fullmatch(r"已收到 \d\d:\d\d", actions.locator("[data-testid=today-receive]").inner_text())
        assert actions.locator("[data-testid=today-receive]").is_disabled()
        assert page.locator("#dispatch-banner").is_hidden()
        actions.locator("[data-testid=today-arrive]").click()
        row = _wait_for(database, alarm.pk, "arrived_at", web)
        assert row["state"] == "arrived"
        assert (row["arrival_lng"], row["arrival_lat"], row["arrival_accuracy"]) == (
            HERE["longitude"],
            HERE["latitude"],
            HERE["accuracy"],
        )
        assert "已到场" in actions.locator("[data-testid=today-arrive]").inner_text()
        watch.check(urlsplit(origin).netloc)
    finally:
        web.stop()


def test_with_the_workspace_closed_a_dispatch_reaches_the_officer_by_text_message(
    world, site, live_server, settings
):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    settings.SMS_GATEWAY = "memory"
    unit, alarm = site
    # A resident of the unit's house: nothing of them may be in the text.
    household = registry_services.create_household(house=make_house(world.grid_a), household_no="350503301")
    resident = registry_services.create_person(
        name="周丽华", id_number=new_id(), category=PersonCategory.RESIDENT, household=household,
        relation_to_head="户主", phone="13700137000",
    )  # fmt: skip
    # The officer opened the workspace once, then closed it — here the whole browser goes (and with it the
    # event loop Playwright's sync API runs in this thread, which the dispatch's broadcast must not meet).
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = sign_in(_phone(browser), live_server.url, Watch(), "officer_a")
        page.goto(f"{live_server.url}/m/")
        page.wait_for_selector("#tab-lookup [data-testid=lookup-form]", state="attached")
        browser.close()
    sms.outbox.clear()

    alarm_services.dispatch(alarm, by=world.dispatcher)
    notify.wait()

    assert len(sms.outbox) == 1, sms.outbox
    message = sms.outbox[0]
    assert message.phone == world.officer_a.staff.phone  # the officer's work phone (工作电话)
    assert unit.name in message.text and unit.address.full_text in message.text
    for personal in (resident.name, resident.id_number, resident.phone, "陈建国", unit.security_phone):
        assert personal not in message.text
