"""A press reaches the dispatch console in real Chromium, through the real ASGI server and Channels.

The WebSocket needs the ASGI server, so this test runs `doorstep run` (uvicorn) as a separate process on a
fresh SQLite file with the demo district, provisions a device there, opens the console as the demo
dispatcher, presses the button over signed HTTP, and acknowledges the alarm when it pops up.
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
print(credentials["secret"])
print(unit.name)
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
    secret, unit_name = subprocess.run([sys.executable, "-c", PROVISION], **run).stdout.split("\n")[:2]  # noqa: S603
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
        yield {"origin": f"http://127.0.0.1:{port}", "secret": secret, "unit": unit_name}
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


def test_a_press_pops_up_on_the_console_and_is_acknowledged(server, chromium):
    origin, watch = server["origin"], Watch()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch.attach(page)
    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_username", "dispatcher")
    page.fill("#id_password", "Doorstep@2026")
    page.locator("form:has(#id_password) button[type=submit]").click()
    page.wait_for_url(f"{origin}/")
    page.goto(f"{origin}/alarms/console/")
    page.wait_for_selector("#console[data-live='1']")

    alarm = _press(origin, server["secret"], "e2e-1")

    card = page.locator(f"[data-alarm-id='{alarm['id']}']")
    card.wait_for()
    text = card.inner_text()
    assert server["unit"] in text and "东门保安亭" in text and "已接收" in text
    card.locator("button.btn-danger").click()
    card.locator("[data-testid=alarm-state]", has_text="已确认").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "alarm-console.png"))

    page.reload()  # the console is rebuilt from the server
    page.wait_for_selector("#console[data-live='1']")
    assert "已确认" in page.locator(f"[data-alarm-id='{alarm['id']}']").inner_text()
    watch.check(urlsplit(origin).netloc)
    context.close()
