"""A press reaches the dispatch console in real Chromium, through the real ASGI server and Channels, and the
whole dispatch runs on two screens: the dispatcher's console and the officer's phone.

The WebSocket needs the ASGI server, so this test runs `doorstep run` (uvicorn) as a separate process on a
fresh SQLite file with the demo district, provisions a device there, opens the console as the demo
dispatcher and the phone page as the demo officer (a phone-sized context with geolocation granted and set
near the unit), presses the button over signed HTTP, acknowledges and dispatches the alarm on the console,
and reports the arrival from the phone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from doorstep.core.tests.browser import SCREENSHOTS, TIMEOUT_MS, Watch, chromium  # noqa: F401

pytestmark = pytest.mark.browser
ROOT = Path(settings.BASE_DIR)
PROVISION = """
import django
django.setup()
from doorstep.accounts.choices import Role
from doorstep.accounts.models import User
from doorstep.alarms import services
from doorstep.registry.models import Unit
unit = Unit.objects.filter(is_key=True).select_related("grid__community").order_by("id").first()
director = User.objects.get(role=Role.DIRECTOR, station_id=unit.grid.community.station_id)
_device, credentials = services.provision_device(unit=unit, device_id="E2E-BTN-1", location="东门保安亭", by=director)
officer = User.objects.get(username="officer")
print(credentials["secret"])
print(unit.name)
print(officer.pk)
print(unit.lng if unit.lng is not None else unit.address.lng)
print(unit.lat if unit.lat is not None else unit.address.lat)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME"}
    }
    env |= {
        "DOORSTEP_VAR_DIR": str(tmp_path),
        "DOORSTEP_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "doorstep.settings",
    }
    run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True, "text": True, "timeout": 300}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], **run)  # noqa: S603
    subprocess.run([sys.executable, "manage.py", "seed", "--scale", "demo"], **run)  # noqa: S603
    provisioned = subprocess.run([sys.executable, "-c", PROVISION], **run).stdout.split("\n")  # noqa: S603
    secret, unit_name, officer_id, lng, lat = provisioned[:5]
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        yield {
            "origin": f"http://127.0.0.1:{port}", "secret": secret, "unit": unit_name, "officer": officer_id,
            "lng": float(lng), "lat": float(lat),
        }  # fmt: skip
    finally:
        process.terminate()
        process.wait(10)


def _press(origin: str, secret: str, event_id: str) -> dict:
    body = json.dumps(
        {"event_id": event_id, "type": "panic", "occurred_at": dt.datetime.now(dt.UTC).isoformat()}
    )
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(  # noqa: S310 - our own local server
        f"{origin}/api/v1/alarm-events", data=body.encode(), method="POST",
        headers={"Content-Type": "application/json", "X-Device-Id": "E2E-BTN-1", "X-Timestamp": timestamp,
                 "X-Signature": signature},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 201
        return json.loads(response.read())


def _sign_in(context, origin: str, watch: Watch, username: str):
    page = context.new_page()
    watch.attach(page)
    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "Doorstep@2026")
    page.locator("form:has(#id_password) button[type=submit]").click()
    page.wait_for_url(f"{origin}/")
    return page


def test_a_press_is_acknowledged_dispatched_and_reached_on_two_screens(server, chromium):
    origin, watch = server["origin"], Watch()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    desk = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    # A few metres from the unit, as the officer's phone would report on arrival.
    position = {"longitude": server["lng"] + 0.0001, "latitude": server["lat"], "accuracy": 8}
    phone = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN",
        geolocation=position, permissions=["geolocation"],
    )  # fmt: skip
    for context in (desk, phone):
        context.set_default_timeout(TIMEOUT_MS)
    console = _sign_in(desk, origin, watch, "dispatcher")
    console.goto(f"{origin}/alarms/console/")
    console.wait_for_selector("#console[data-live='1']")
    mine = _sign_in(phone, origin, watch, "officer")
    mine.goto(f"{origin}/alarms/mine/")
    mine.wait_for_selector("#mine[data-live='1']")
    assert mine.locator("[data-testid=mine-empty]").is_visible()

    alarm = _press(origin, server["secret"], "e2e-1")

    card = console.locator(f"[data-alarm-id='{alarm['id']}']")
    card.wait_for()
    text = card.inner_text()
    assert server["unit"] in text and "东门保安亭" in text and "已接收" in text
    assert mine.locator("[data-testid=my-alarm]").count() == 0  # officers get no station traffic
    card.locator("[data-testid=ack]").click()
    card.locator("[data-testid=alarm-state]", has_text="已确认").wait_for()

    officer = card.locator("[data-testid=officer-select]")
    officer.locator(f"option[value='{server['officer']}']").wait_for(state="attached")
    officer.select_option(server["officer"])
    card.locator("[data-testid=dispatch]").click()
    card.locator("[data-testid=alarm-state]", has_text="已派警").wait_for()

    mine_card = mine.locator(f"[data-alarm-id='{alarm['id']}']")
    mine_card.wait_for()  # pushed to the officer's phone
    assert server["unit"] in mine_card.inner_text() and "东门保安亭" in mine_card.inner_text()
    assert mine_card.locator("[data-testid=navigate]").get_attribute("href").startswith("geo:")
    assert mine_card.locator("[data-testid=call-lead]").get_attribute("href").startswith("tel:")
    mine.screenshot(path=str(SCREENSHOTS / "alarm-mine-dispatched.png"))
    mine_card.locator("[data-testid=arrive]").click()
    mine_card.locator("[data-testid=alarm-state]", has_text="已到场").wait_for()
    assert "距单位" in mine_card.locator("[data-testid=arrive-status]").inner_text()
    mine.screenshot(path=str(SCREENSHOTS / "alarm-mine-arrived.png"))

    card.locator("[data-testid=alarm-state]", has_text="已到场").wait_for()
    arrived = card.locator("[data-testid=step-arrived]").inner_text()
    assert "距单位" in arrived and "无定位" not in card.inner_text()
    console.screenshot(path=str(SCREENSHOTS / "alarm-console.png"))

    console.reload()  # the console is rebuilt from the server
    console.wait_for_selector("#console[data-live='1']")
    rebuilt = console.locator(f"[data-alarm-id='{alarm['id']}']")
    assert "已到场" in rebuilt.locator("[data-testid=alarm-state]").inner_text()
    for step in ("acknowledged", "dispatched", "arrived"):  # every step kept its time
        assert ":" in rebuilt.locator(f"[data-testid=step-{step}] .when").inner_text(), step
    mine.reload()
    mine.wait_for_selector("#mine[data-live='1']")
    assert "已到场" in mine.locator(f"[data-alarm-id='{alarm['id']}']").inner_text()
    watch.check(urlsplit(origin).netloc)
    desk.close()
    phone.close()
