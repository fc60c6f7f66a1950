"""`doorstep alarmd` and `doorstep run` as real processes: a DC-09 dialler gets its ACK, the alarm is in the
database, a console connected to `doorstep run` sees it (one event loop for web and alarmd), a taken DC-09
port is reported while the web serves on, and SIGTERM stops everything cleanly.

The processes use the test's database: on PostgreSQL the test database itself; on SQLite (an in-memory
test database no other process can open) a file copy of it made with SQLite's backup API once the test's
rows are committed, read back with the sqlite3 module.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from my_dc09_spt.dc09_spt import dc09_spt
from websockets.sync.client import connect as ws_connect

from doorstep.alarms.tests.test_daemon_dc09 import AES128, PLAIN, provision_panels
from doorstep.conftest import build_world

DC09_LISTENING = re.compile(r"SIA DC-09 接收机已监听 127\.0\.0\.1:(\d+)")
WEB_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


class Database:
    """The test database as another process sees it."""

    def __init__(self, tmp_path: Path) -> None:
        self.vendor = connection.vendor
        if self.vendor == "sqlite":
            self.path = tmp_path / "alarmd.sqlite3"
            connection.ensure_connection()
            with sqlite3.connect(self.path) as copy:
                connection.connection.backup(copy)
            copy.close()
            self.url = f"sqlite:///{self.path}"
        else:
            params = connection.settings_dict
            user = params["USER"] + (f":{params['PASSWORD']}" if params["PASSWORD"] else "")
            self.url = (
                f"postgres://{user}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"
            )

    def alarms(self, sia_account: str) -> list[tuple[str, str]]:
        """(event_type, protocol) of the device's alarms, as committed by the other process."""
        query = (
            "SELECT a.event_type, a.protocol FROM alarms_alarm a JOIN alarms_alarmdevice d ON d.id = a.device_id "
            "WHERE d.sia_account = %s ORDER BY a.id"
        )
        if self.vendor == "sqlite":
            with sqlite3.connect(self.path) as db:
                return db.execute(query.replace("%s", "?"), (sia_account,)).fetchall()
        with connection.cursor() as cursor:
            cursor.execute(query, [sia_account])
            return [tuple(row) for row in cursor.fetchall()]


class Process:
    """A `doorstep` subcommand in its own process group, its log read line by line."""

    def __init__(self, args: list[str], database: Database, tmp_path: Path, **env: str) -> None:
        script = Path(sys.executable).with_name("doorstep")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "doorstep.cli"]
        environment = {
            **os.environ,
            "DOORSTEP_ENV": "test",
            "DATABASE_URL": database.url,
            "DOORSTEP_VAR_DIR": str(tmp_path / "var"),
            "DOORSTEP_DC09_PORT": "0",
            "DOORSTEP_MQTT_URL": "",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        environment.pop("TEST_DATABASE_NAME", None)
        self.process = subprocess.Popen(
            [*command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.log.append(line)
            self.lines.put(line)

    def wait_for(self, pattern: re.Pattern, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if match := pattern.search(line):
                return match
        raise AssertionError(f"no {pattern.pattern!r} in the log:\n{''.join(self.log)}")

    def terminate(self, timeout: float = 15) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


@pytest.fixture
def panels(transactional_db):
    world = build_world()
    return world, provision_panels(world)


def dial(account: str, key: bytes | None, port: int, transport: str = "tcp", silent: bool = False) -> None:
    """A fresh dialler (its sequence starts at 1): a plain panic, or a Contact ID silent panic."""
    spt = dc09_spt(account)
    spt.set_path("main", "primary", "127.0.0.1", port, account=account, key=key, line=0, type=transport)
    if silent:
        spt.send_msg("ADM-CID", {"code": 122, "zone": 1, "area": 1})  # raises unless ACKed
    else:
        spt.send_msg("SIA-DCS", {"code": "PA", "zone": 1, "area": 1})


def test_alarmd_acks_a_dialler_after_storing_the_alarm_and_stops_on_sigterm(panels, tmp_path):
    _world, devices = panels
    database = Database(tmp_path)
    alarmd = Process(["alarmd"], database, tmp_path)
    try:
        port = int(alarmd.wait_for(DC09_LISTENING)[1])

        dial(AES128, devices[AES128][1], port, "tcp")
        dial(AES128, devices[AES128][1], port, "udp", silent=True)
        stored = database.alarms(AES128)
        returncode = alarmd.terminate()
    finally:
        alarmd.kill()

    assert stored == [("panic", "dc09"), ("silent_panic", "dc09")]
    assert returncode == 0
    log = "".join(alarmd.log)
    assert "alarmd 已停止" in log and "新报警 2 条" in log


def test_doorstep_run_serves_the_web_and_alarmd_in_one_loop(panels, tmp_path):
    """A console connected over WebSocket to `doorstep run` sees an alarm that a DC-09 dialler sent to the
    same process: the in-memory channel layer works only because both share the event loop."""
    world, devices = panels
    client = Client()
    client.force_login(world.dispatcher)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    database = Database(tmp_path)
    run = Process(["run", "--port", "0"], database, tmp_path)
    try:
        web_port = int(run.wait_for(WEB_LISTENING)[1])  # first: alarmd's parts start after the lock's grace
        dc09_port = int(run.wait_for(DC09_LISTENING)[1])
        with ws_connect(
            f"ws://127.0.0.1:{web_port}/ws/alarms/",
            additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{web_port}"},
            open_timeout=10,
        ) as console:
            hello = console.recv(timeout=10)
            dial(PLAIN, None, dc09_port)
            message = console.recv(timeout=10)
        returncode = run.terminate()
    finally:
        run.kill()

    assert '"hello"' in hello
    assert '"alarm"' in message and devices[PLAIN][0].device_id in message
    assert database.alarms(PLAIN) == [("panic", "dc09")]
    assert returncode == 0 and "alarmd 已停止" in "".join(run.log)


def test_doorstep_run_reports_a_taken_dc09_port_and_serves_the_web(panels, tmp_path):
    database = Database(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        run = Process(["run", "--port", "0"], database, tmp_path, DOORSTEP_DC09_PORT=str(port))
        try:
            web_port = int(
                run.wait_for(WEB_LISTENING)[1]
            )  # first: alarmd's parts start after the lock's grace
            run.wait_for(re.compile(f"127.0.0.1:{port} 已被占用"))
            with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/accounts/login/", timeout=10) as page:
                status = page.status
            returncode = run.terminate()
        finally:
            run.kill()

    assert status == 200 and returncode == 0


def test_alarmd_alone_exits_with_an_error_when_its_port_is_taken(panels, tmp_path):
    database = Database(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        alarmd = Process(["alarmd"], database, tmp_path, DOORSTEP_DC09_PORT=str(port))
        try:
            returncode = alarmd.process.wait(timeout=30)
        finally:
            alarmd.kill()
        time.sleep(0.05)  # the reader thread takes the last lines

    assert returncode == 1
    assert f"127.0.0.1:{port} 已被占用" in "".join(alarmd.log)
