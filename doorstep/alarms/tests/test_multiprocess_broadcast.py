"""Several web processes, one Redis channel layer: an alarm received by one uvicorn process reaches the
dispatch consoles connected to every process.

Two real `uvicorn doorstep.asgi:application` processes (no alarmd, no videod) share the test's database
(PostgreSQL: the test database itself; SQLite: a file copy of the in-memory test database, made once the
users, the session rows and the device are committed) and Redis at 127.0.0.1:6379 (a database number of this
test's own). Two consoles log in with their session cookies (a dispatcher and the station's director), one on
each process; a device presses through the signed HTTP receiver of the first process only.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.test import Client
from websockets.sync.client import connect as ws_connect

from doorstep.alarms import services
from doorstep.alarms.tests.procs import Service, free_port, tail
from doorstep.alarms.tests.test_alarmd_process import Database
from doorstep.alarms.tests.test_daemon_dc09 import make_key_unit
from doorstep.conftest import build_world, require_service

REDIS = ("127.0.0.1", 6379)
REDIS_DB = 11  # not the suite's 0 (test_consumers), so other tests' groups never mix with these
DELIVERY_TIMEOUT = 5.0  # seconds for the alarm to reach a console ("within a couple of seconds", with margin)


@pytest.fixture
def site(transactional_db):
    world = build_world()
    unit = make_key_unit(world)
    button, credentials = services.provision_device(
        unit=unit, device_id=f"BTN-{uuid.uuid4().hex[:8]}", location="东门保安亭", by=world.director
    )
    return world, button, credentials["secret"]


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)  # a session row in the database both processes read
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def web_process(name: str, database: Database, tmp_path) -> Service:
    port = free_port()
    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DATABASE_URL": database.url,
        "REDIS_URL": f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}",
        "DOORSTEP_VAR_DIR": str(tmp_path / "var"),
        "DOORSTEP_ALARMD": "false",
        "DOORSTEP_VIDEOD": "false",
        "DOORSTEP_MQTT_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TEST_DATABASE_NAME", None)
    argv = [sys.executable, "-m", "uvicorn", "doorstep.asgi:application", "--host", "127.0.0.1"]
    return Service(name, [*argv, "--port", str(port)], env=env, log=tmp_path / f"{name}.log", port=port)


def signed_press(port: int, device_id: str, secret: str, event_id: str) -> dict:
    """The documented device signature (HMAC-SHA256 of `timestamp.body`), computed here, not with the
    receiver's helpers."""
    body = json.dumps(
        {"event_id": event_id, "type": "panic", "occurred_at": datetime.now(UTC).isoformat()}
    ).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/alarm-events",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Device-Id": device_id,
            "X-Timestamp": timestamp,
            "X-Signature": signature,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())


def wait_for_alarm(console, device_id: str, timeout: float) -> tuple[dict | None, float]:
    """The first console message about this device's alarm, and when it came (monotonic)."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            raw = console.recv(timeout=remaining)
        except TimeoutError:
            break
        if device_id in raw:
            return json.loads(raw), time.monotonic()
    return None, time.monotonic()


def test_an_alarm_received_by_one_web_process_reaches_consoles_on_both(site, tmp_path):
    require_service("Redis", *REDIS)
    world, button, secret = site
    cookies = session_cookie(world.dispatcher), session_cookie(world.director)
    database = Database(tmp_path)  # after the sessions: the SQLite copy must hold them
    processes = [web_process("web-1", database, tmp_path), web_process("web-2", database, tmp_path)]
    try:
        for process in processes:
            process.spawn()  # both start at once: the start-up is most of this test's time
        for process in processes:
            process.wait_ready(60)
        for process in processes:  # the first request loads the URLs and views: not part of the delivery
            with urllib.request.urlopen(f"http://127.0.0.1:{process.port}/accounts/login/", timeout=30):
                pass
        with contextlib.ExitStack() as stack:
            consoles = [
                stack.enter_context(
                    ws_connect(
                        f"ws://127.0.0.1:{process.port}/ws/alarms/",
                        additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{process.port}"},
                        open_timeout=10,
                    )
                )
                for process, cookie in zip(processes, cookies, strict=True)
            ]
            hellos = [console.recv(timeout=10) for console in consoles]
            stored = signed_press(processes[0].port, button.device_id, secret, uuid.uuid4().hex)
            answered = time.monotonic()  # published on commit, before this answer: the clock starts here
            received = [wait_for_alarm(console, button.device_id, DELIVERY_TIMEOUT) for console in consoles]
    finally:
        logs = "\n".join(f"--- {p.name}\n{tail(p.log)}" for p in processes)
        for process in processes:
            process.stop()

    assert all('"hello"' in hello for hello in hellos), hellos
    for (message, when), process in zip(received, processes, strict=True):
        assert message is not None, (
            f"no alarm on the console of {process.name} within {DELIVERY_TIMEOUT} s\n{logs}"
        )
        assert message["type"] == "alarm" and str(stored["id"]) in json.dumps(message), message
        assert when - answered < DELIVERY_TIMEOUT
