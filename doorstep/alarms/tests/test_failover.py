"""alarmd active/standby (alarms.leadership): exactly one alarmd runs the receivers, the other waits on the
lock and takes over when the active one is killed — and no press is lost or stored twice on the way.

The lock units run against the real lock of the pass: a PostgreSQL advisory lock (a key of the test's own,
so a real alarmd of the same database is never disturbed) and flock on a temporary file. The failover test
starts two real `doorstep alarmd` processes against the test database (PostgreSQL: the advisory lock; SQLite:
a file copy of the test database and the lock file next to it), the real Mosquitto at 127.0.0.1:1883 (a
client id and topic prefix of the test's own) and a DC-09 dialler from PyPI (my-dc09-spt) on a fixed port
both processes would bind.
"""

from __future__ import annotations

import asyncio
import json
import queue
import random
import re
import sqlite3
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.db import connection
from my_dc09_spt.dc09_spt import dc09_spt

from doorstep.alarms import services
from doorstep.alarms.choices import Protocol
from doorstep.alarms.leadership import ACTIVE, STANDBY, AdvisoryLock, FileLock, Leadership, LockLost
from doorstep.alarms.tests.procs import free_port
from doorstep.alarms.tests.test_alarmd_process import WEB_LISTENING, Database, Process
from doorstep.alarms.tests.test_daemon_dc09 import PLAIN, provision_panels
from doorstep.alarms.tests.test_daemon_mqtt import BROKER, Device, forget_session
from doorstep.conftest import build_world, require_service

ACTIVE_LINE = re.compile(r"alarmd active")
STANDBY_LINE = re.compile(r"alarmd standby: another alarmd holds the lock")
DC09_LISTENING = re.compile(r"SIA DC-09 接收机已监听")
MQTT_SUBSCRIBED = re.compile(r"MQTT 接收已连接")
TAKEOVER_LIMIT = 10.0  # seconds, from kill -9 of the active one to the standby's "alarmd active"


# --- the locks ------------------------------------------------------------------------------------------------


def test_a_lock_file_is_taken_once_and_freed_on_release(tmp_path):
    first, second = FileLock(tmp_path / "db.alarmd.lock"), FileLock(tmp_path / "db.alarmd.lock")

    taken = first.try_acquire()
    refused = not second.try_acquire()
    first.check()  # still ours: no error
    holder = second.holder()
    first.release()
    taken_after = second.try_acquire()
    second.release()

    assert taken and refused and taken_after
    assert holder.endswith(f":{__import__('os').getpid()}")


def test_a_removed_lock_file_counts_as_a_lost_lock(tmp_path):
    lock = FileLock(tmp_path / "alarmd.lock")
    assert lock.try_acquire()
    (tmp_path / "alarmd.lock").unlink()  # another process could now lock a new file of that name

    with pytest.raises(LockLost):
        lock.check()
    lock.release()


def _advisory_pair() -> tuple[AdvisoryLock, AdvisoryLock]:
    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; the SQLite pass tests the lock file")
    params = connection.get_connection_params()
    key = random.randrange(
        1, 2**62
    )  # not the real alarmd key: a running alarmd of this database is left alone
    return AdvisoryLock(params, key), AdvisoryLock(params, key)


@pytest.mark.django_db(transaction=True)
def test_an_advisory_lock_is_taken_once_and_lost_with_its_connection():
    first, second = _advisory_pair()
    try:
        taken = first.try_acquire()
        refused = not second.try_acquire()
        first.check()
        holder = second.holder()
        with connection.cursor() as cursor:  # the lock connection breaks (as if the network or server went)
            cursor.execute("SELECT pg_terminate_backend(%s)", [first.conn.info.backend_pid])
        with pytest.raises(LockLost):
            first.check()
        taken_after = second.try_acquire()
    finally:
        first.release()
        second.release()

    assert taken and refused and taken_after
    assert holder.startswith("doorstep-alarmd ")


class FakeService:
    """Stands for Alarmd: records when it runs, so the test can see that two never run at once."""

    running: set[str] = set()

    def __init__(self, name: str, events: list) -> None:
        self.name, self.events = name, events

    async def start(self) -> None:
        self.events.append(("start", self.name, sorted(FakeService.running)))
        FakeService.running.add(self.name)

    async def stop(self) -> None:
        FakeService.running.discard(self.name)
        self.events.append(("stop", self.name))


async def _until(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.01)


def _break_lock(lock) -> None:
    """The active process's lock goes away under it: its file removed, or its connection terminated (from a
    connection of its own: this runs inside the event loop, where Django's connection may not be used)."""
    if isinstance(lock, FileLock):
        lock.path.unlink()
        return
    import psycopg

    with psycopg.connect(**lock.params) as terminator:
        terminator.execute("SELECT pg_terminate_backend(%s)", [lock.conn.info.backend_pid])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["file", "advisory"])
def test_leadership_one_active_the_other_takes_over_and_a_lost_lock_stops_the_service_at_once(kind, tmp_path):
    if kind == "file":
        locks = FileLock(tmp_path / "alarmd.lock"), FileLock(tmp_path / "alarmd.lock")
    else:
        locks = _advisory_pair()
    events: list = []
    FakeService.running.clear()
    fast = {"poll_seconds": 0.05, "check_seconds": 0.05, "check_timeout": 0.5}

    async def scenario():
        a = Leadership(lambda: FakeService("a", events), locks[0], **fast)
        b = Leadership(lambda: FakeService("b", events), locks[1], **fast)
        await a.start()
        await b.start()
        states = [(a.active, b.active)]
        await a.stop()  # a clean stop: b takes over
        await _until(lambda: b.active)
        states.append((a.active, b.active))
        a = Leadership(lambda: FakeService("a", events), locks[0], **fast)
        await a.start()  # now a is the standby
        states.append((a.active, b.active))
        _break_lock(locks[1])  # b's lock breaks: b stops at once, a takes over
        await _until(lambda: a.active and not b.active)
        states.append((a.active, b.active))
        losses = b.losses
        await a.stop()
        await b.stop()
        return states, losses

    states, losses = asyncio.run(scenario())

    assert states == [(True, False), (False, True), (False, True), (True, False)]
    assert losses == 1
    starts = [event for event in events if event[0] == "start"]
    assert [name for _, name, _ in starts] == ["a", "b", "a"]
    assert all(others == [] for _, _, others in starts), events  # never started beside a running one


def test_leadership_state_is_standby_while_waiting_and_active_with_the_lock(tmp_path):
    from doorstep.alarms import leadership

    holder = FileLock(tmp_path / "alarmd.lock")
    assert holder.try_acquire()

    async def scenario():
        waiting = Leadership(
            lambda: FakeService("w", []),
            FileLock(tmp_path / "alarmd.lock"),
            poll_seconds=0.05,
            check_seconds=0.05,
            check_timeout=0.5,
        )
        await waiting.start()
        seen = [leadership.current_state()]
        holder.release()
        await _until(lambda: waiting.active)
        seen.append(leadership.current_state())
        await waiting.stop()
        seen.append(leadership.current_state())
        return seen

    assert asyncio.run(scenario()) == [STANDBY, ACTIVE, "off"]


# --- two real alarmd processes ---------------------------------------------------------------------------------


@pytest.fixture
def site(transactional_db):
    world = build_world()
    panels = provision_panels(world)
    button, credentials = services.provision_device(
        unit=panels[PLAIN][0].unit,
        device_id="MQ-0001",
        location="大门",
        protocol=Protocol.MQTT,
        by=world.director,
    )
    return button, credentials["secret"]


def dial_until_acked(port: int, zone: int, timeout: float = 20) -> None:
    """A panel's behaviour: the same event again until a receiver ACKs it. Each zone is a different event,
    so a resend of an event that was stored but not ACKed is recognised as a retry, not a new alarm."""
    deadline = time.monotonic() + timeout
    while True:
        spt = dc09_spt(PLAIN)
        spt.set_path("main", "primary", "127.0.0.1", port, account=PLAIN, key=None, line=0, type="tcp")
        try:
            spt.send_msg("SIA-DCS", {"code": "PA", "zone": zone, "area": 1})  # raises unless ACKed
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stored_event_ids(database: Database, device_id: str) -> list[str]:
    query = (
        "SELECT a.event_id FROM alarms_alarm a JOIN alarms_alarmdevice d ON d.id = a.device_id "
        "WHERE d.device_id = %s ORDER BY a.id"
    )
    if database.vendor == "sqlite":
        with sqlite3.connect(database.path) as db:
            return [row[0] for row in db.execute(query.replace("%s", "?"), (device_id,))]
    with connection.cursor() as cursor:
        cursor.execute(query, [device_id])
        return [row[0] for row in cursor.fetchall()]


def collect_acks(device: Device, count: int, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    acked: list[str] = []
    while len(acked) < count and time.monotonic() < deadline:
        try:
            acked.append(device.ack(timeout=0.2)["event_id"])
        except queue.Empty:
            continue
    return acked


def test_the_standby_alarmd_takes_over_within_10_s_of_a_kill_9_and_no_press_is_lost(site, tmp_path):
    require_service("Mosquitto", *BROKER)
    button, secret = site
    prefix = f"doorstep-test/{uuid.uuid4().hex[:12]}/devices"
    client_id = f"doorstep-failover-{uuid.uuid4().hex[:12]}"
    database = Database(tmp_path)
    dc09_port = free_port()  # one port for both: only the active process binds it
    env = {
        "DOORSTEP_MQTT_URL": f"mqtt://{BROKER[0]}:{BROKER[1]}",
        "DOORSTEP_MQTT_CLIENT_ID": client_id,
        "DOORSTEP_MQTT_TOPIC_PREFIX": prefix,
        "DOORSTEP_DC09_PORT": str(dc09_port),
    }
    device = Device(prefix, button.device_id, secret)
    first = Process(["alarmd"], database, tmp_path, **env)
    second = None
    try:
        first.wait_for(ACTIVE_LINE)
        first.wait_for(MQTT_SUBSCRIBED)
        second = Process(["alarmd"], database, tmp_path, **env)
        second.wait_for(STANDBY_LINE)

        before = [device.press()["event_id"] for _ in range(3)]
        acked_before = collect_acks(device, 3, timeout=10)
        dial_until_acked(dc09_port, zone=1)

        first.kill()  # kill -9 of the whole process group
        killed = time.monotonic()
        during = [device.press()["event_id"] for _ in range(3)]  # nobody receives: the broker keeps them
        second.wait_for(ACTIVE_LINE, timeout=TAKEOVER_LIMIT + 5)
        takeover = time.monotonic() - killed
        print(f"standby active {takeover:.1f} s after kill -9 of the active alarmd")  # shown with -rP / -s
        after = [device.press()["event_id"] for _ in range(3)]
        acked_later = collect_acks(device, 6, timeout=15)
        dial_until_acked(dc09_port, zone=2)  # the panel finds the new active one on the same port
        second_log = "".join(second.log)
    finally:
        device.close()
        first.kill()
        if second is not None:
            second.kill()
        forget_session(client_id)

    assert takeover < TAKEOVER_LIMIT, f"the standby took {takeover:.1f} s to take over:\n{second_log}"
    assert sorted(acked_before) == sorted(before)
    assert sorted(acked_later) == sorted(during + after), second_log
    stored = stored_event_ids(database, button.device_id)
    assert sorted(stored) == sorted(before + during + after)  # every press, each once
    dc09 = stored_event_ids(database, f"PNL-{PLAIN}")
    assert len(dc09) == len(set(dc09)) == 2


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:  # /readyz answers 503 with the same body
        return exc.code, exc.read().decode()


@pytest.mark.django_db(transaction=True)
def test_doorstep_run_serves_the_web_with_its_alarmd_parts_on_standby_and_takes_over(tmp_path):
    """A separate alarmd holds the lock: `doorstep run` serves the web, its alarmd parts wait (and say so in
    /readyz and /metrics); when the alarmd is killed, the parts in `doorstep run` take over the DC-09 port."""
    world = build_world()
    provision_panels(world)
    database = Database(tmp_path)
    dc09_port = free_port()
    alarmd = Process(["alarmd"], database, tmp_path, DOORSTEP_DC09_PORT=str(dc09_port))
    run = None
    try:
        alarmd.wait_for(ACTIVE_LINE)
        alarmd.wait_for(DC09_LISTENING)
        run = Process(["run", "--port", "0"], database, tmp_path, DOORSTEP_DC09_PORT=str(dc09_port))
        run.wait_for(STANDBY_LINE)
        web = f"http://127.0.0.1:{int(run.wait_for(WEB_LISTENING)[1])}"
        login_status, _ = _get(f"{web}/accounts/login/")
        _, ready_standby = _get(f"{web}/readyz")
        _, metrics_standby = _get(f"{web}/metrics")

        alarmd.kill()
        run.wait_for(ACTIVE_LINE, timeout=TAKEOVER_LIMIT + 5)
        run.wait_for(DC09_LISTENING)
        dial_until_acked(dc09_port, zone=1)
        _, ready_active = _get(f"{web}/readyz")
        returncode = run.terminate()
    finally:
        alarmd.kill()
        if run is not None:
            run.kill()

    assert login_status == 200
    assert json.loads(ready_standby)["alarmd"] == {"this_process": "standby", "active_somewhere": True}
    assert "doorstep_alarmd_active 1.0" in metrics_standby
    assert json.loads(ready_active)["alarmd"] == {"this_process": "active", "active_somewhere": True}
    assert len(stored_event_ids(database, f"PNL-{PLAIN}")) == 1
    assert returncode == 0
