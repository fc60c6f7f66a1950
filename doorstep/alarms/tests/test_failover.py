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
    fast = {"poll_seconds": 0.05, "check_seconds": 0.05, "check_timeout": 0.5, "stop_seconds": 0.1}

    async def scenario():
        a = Leadership(lambda: FakeService("a", events), locks[0], **fast)
        b = Leadership(lambda: FakeService("b", events), locks[1], **fast)
        await a.start()  # returns at once: the lock, the grace and the start come in its task
        await _until(lambda: a.active)
        await b.start()
        await _until(lambda: b._standby_logged)  # b asked, and found the lock held
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
            stop_seconds=0.1,
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


class UnreachableLock(FileLock):
    """A lock whose database is away for the first `outage` asks (psycopg raises OperationalError)."""

    def __init__(self, path, outage: int) -> None:
        super().__init__(path)
        self.outage, self.asked = outage, 0

    def try_acquire(self) -> bool:
        self.asked += 1
        if self.asked <= self.outage:
            raise ConnectionRefusedError(111, "Connection refused")
        return super().try_acquire()


def test_an_unreachable_lock_is_logged_once_never_as_held_by_another_and_its_return_is_said(tmp_path, caplog):
    """The database away: the standby says it cannot ask for the lock — once, not at every poll — and never
    "another alarmd holds the lock … held by unknown" (nobody may hold it); when it answers again, it says so
    and takes the free lock."""
    from doorstep.alarms import leadership

    lock = UnreachableLock(tmp_path / "alarmd.lock", outage=6)

    async def scenario():
        lead = Leadership(
            lambda: FakeService("u", []),
            lock,
            poll_seconds=0.02,
            check_seconds=0.05,
            check_timeout=0.5,
            stop_seconds=0.05,
        )
        await lead.start()
        await _until(lambda: lock.asked >= 3)
        state = leadership.current_state()
        await _until(lambda: lead.active)
        await lead.stop()
        return state

    with caplog.at_level("WARNING", logger="doorstep.alarmd"):
        state = asyncio.run(scenario())

    assert state == STANDBY
    text = [r.getMessage() for r in caplog.records]
    assert len([t for t in text if "could not ask for the lock" in t]) == 1  # six failures, one line
    assert not [t for t in text if "another alarmd holds the lock" in t]
    assert [t for t in text if "can be asked for again" in t and "6 failed attempts" in t]


class SlowStopService(FakeService):
    """An Alarmd whose stop takes a while (MQTT disconnect, a DC-09 frame being committed)."""

    async def stop(self) -> None:
        self.events.append(("stopping", self.name))
        await asyncio.sleep(0.2)
        await super().stop()


async def _until_freed(lock) -> None:
    """The broken lock is free for a newcomer's very first attempt (a terminated backend exits a moment later)."""
    if isinstance(lock, FileLock):
        return
    import psycopg

    from doorstep.alarms.leadership import HOLDERS_SQL, _lock_args

    with psycopg.connect(**lock.params) as probe:
        deadline = time.monotonic() + 5
        while probe.execute(HOLDERS_SQL, _lock_args(lock.key)).fetchone()[0]:
            assert time.monotonic() < deadline, "the terminated backend kept the lock"
            await asyncio.sleep(0.01)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["file", "advisory"])
def test_a_fresh_process_that_gets_a_lost_lock_at_once_starts_only_after_the_old_holder_stopped(
    kind, tmp_path
):
    """The holder's lock goes away while it still runs; a process started just then finds the lock free at
    its first attempt (it never saw it held) — it must still wait until the old holder has noticed and
    stopped."""
    if kind == "file":
        locks = FileLock(tmp_path / "alarmd.lock"), FileLock(tmp_path / "alarmd.lock")
    else:
        locks = _advisory_pair()
    events: list = []
    FakeService.running.clear()
    timings = {"poll_seconds": 0.05, "check_seconds": 0.2, "check_timeout": 0.5, "stop_seconds": 0.4}

    async def scenario():
        old = Leadership(lambda: SlowStopService("old", events), locks[0], **timings)
        await old.start()
        await _until(lambda: old.active)
        _break_lock(locks[0])  # old still runs, and has not noticed yet
        await _until_freed(locks[0])
        fresh = Leadership(lambda: SlowStopService("fresh", events), locks[1], **timings)
        await fresh.start()
        await _until(lambda: fresh.active and not old.active)
        attempts = fresh.takeovers
        await fresh.stop()
        await old.stop()
        return attempts, old.losses

    attempts, losses = asyncio.run(scenario())

    assert attempts == 1 and losses == 1
    starts = [event for event in events if event[0] == "start"]
    assert starts == [("start", "old", []), ("start", "fresh", [])], events  # never beside the old one
    assert events.index(("stop", "old")) < events.index(starts[1]), events


def test_a_failed_start_releases_the_lock_and_is_retried(tmp_path):
    """`doorstep run`: a service whose start raises (an OSError other than a taken port) once: the lock is
    released, the process goes back to standby and, after the retry delay, becomes active."""
    from doorstep.alarms import leadership

    calls: list[str] = []
    probe = FileLock(tmp_path / "alarmd.lock")
    free_between: list[bool] = []

    class Flaky(FakeService):
        async def start(self) -> None:
            calls.append("start")
            if len(calls) == 1:
                raise OSError(99, "Cannot assign requested address")
            await super().start()

    async def scenario():
        lead = Leadership(
            lambda: Flaky("f", []),
            FileLock(tmp_path / "alarmd.lock"),
            poll_seconds=0.05,
            check_seconds=0.05,
            check_timeout=0.5,
            stop_seconds=0.05,
            retry_seconds=0.5,
        )
        await lead.start()
        await _until(lambda: lead.failures == 1)
        state = leadership.current_state()
        free_between.append(probe.try_acquire())  # released while waiting to retry
        probe.release()
        await _until(lambda: lead.active)
        ended = lead.task.done()
        await lead.stop()
        return state, ended

    state, ended = asyncio.run(scenario())

    assert state == STANDBY and free_between == [True]
    assert calls == ["start", "start"] and not ended


def test_make_service_raising_releases_the_lock_and_is_retried(tmp_path):
    made: list[int] = []

    def make():
        made.append(1)
        if len(made) == 1:
            raise RuntimeError("settings broken")
        return FakeService("m", [])

    async def scenario():
        lead = Leadership(
            make,
            FileLock(tmp_path / "alarmd.lock"),
            poll_seconds=0.05,
            check_seconds=0.05,
            check_timeout=0.5,
            stop_seconds=0.05,
            retry_seconds=0.5,
        )
        await lead.start()
        await _until(lambda: lead.failures == 1)
        other = FileLock(tmp_path / "alarmd.lock")
        free = other.try_acquire()
        other.release()
        await _until(lambda: lead.active)
        await lead.stop()
        return free

    assert asyncio.run(scenario()) is True
    assert len(made) == 2


def test_a_fatal_start_error_ends_the_loop_and_wait_raises_it(tmp_path):
    """Standalone alarmd: a taken DC-09 port (strict) is not retried; `wait` raises it and /readyz says off."""
    from doorstep.alarms import leadership
    from doorstep.alarms.dc09_server import PortInUseError

    class Taken(FakeService):
        async def start(self) -> None:
            raise PortInUseError(98, "taken")

    async def scenario():
        lead = Leadership(
            lambda: Taken("t", []),
            FileLock(tmp_path / "alarmd.lock"),
            check_seconds=0.05,
            check_timeout=0.5,
            stop_seconds=0.05,
            fatal=(PortInUseError,),
        )
        await lead.start()
        with pytest.raises(PortInUseError):
            await lead.wait()
        state = leadership.current_state()
        await lead.stop()
        return state

    assert asyncio.run(scenario()) == "off"


def test_a_lock_file_removed_between_open_and_flock_leaks_no_descriptor(tmp_path, monkeypatch):
    import fcntl
    import os

    path = tmp_path / "alarmd.lock"
    real_flock = fcntl.flock

    def flock_after_removal(fd, operation):
        path.unlink(missing_ok=True)  # another process's cleanup, between our open and our flock
        return real_flock(fd, operation)

    lock = FileLock(path)
    before = set(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(fcntl, "flock", flock_after_removal)
    got = lock.try_acquire()
    monkeypatch.setattr(fcntl, "flock", real_flock)
    leaked = set(os.listdir("/proc/self/fd")) - before

    assert got is False and lock.fd is None
    assert not leaked
    assert lock.try_acquire()  # the next poll takes a new file
    lock.release()


class _Part:
    """Stands for the MQTT or DC-09 receiver in Alarmd.stop: records when its stop begins and ends."""

    def __init__(self, name: str, events: list, seconds: float) -> None:
        self.name, self.events, self.seconds = name, events, seconds
        self.stats = type("Stats", (), {"summary": lambda self: ""})()

    async def stop(self) -> None:
        self.events.append(f"{self.name} stop begins")
        await asyncio.sleep(self.seconds)
        self.events.append(f"{self.name} stopped")


def test_alarmd_stop_stops_mqtt_and_the_tick_before_waiting_for_dc09_stragglers():
    """A DC-09 frame being committed keeps the DC-09 stop busy: meanwhile the MQTT receiver must already be
    stopping (no reconnect with the fixed client id) and the supervision tick cancelled."""
    from doorstep.alarms.daemon import Alarmd

    events: list[str] = []

    async def scenario():
        alarmd = Alarmd(dc09=False, mqtt_url="", supervise=False)
        alarmd.dc09 = _Part("dc09", events, 0.3)
        alarmd.mqtt = _Part("mqtt", events, 0.0)

        async def tick():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                events.append("tick cancelled")
                raise

        alarmd._tasks.append(asyncio.get_running_loop().create_task(tick()))
        await asyncio.sleep(0)
        await alarmd.stop()

    asyncio.run(scenario())

    assert events.index("mqtt stop begins") < events.index("dc09 stopped"), events
    assert events.index("tick cancelled") < events.index("dc09 stopped"), events


def test_without_strict_start_a_taken_dc09_port_is_asked_for_again_in_the_background(monkeypatch):
    """`doorstep run` after a takeover on the same host: the old holder still has the port for a moment. DC-09
    must not stay off for the whole term."""
    import socket

    from doorstep.alarms import daemon
    from doorstep.alarms.daemon import Alarmd

    monkeypatch.setattr(daemon, "DC09_RETRY_SECONDS", 0.1)
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]

    async def scenario():
        alarmd = Alarmd(dc09_host="127.0.0.1", dc09_port=port, mqtt_url="", supervise=False, strict=False)
        await alarmd.start()
        first = (alarmd.dc09, alarmd.dc09_error is not None)
        taken.close()  # the old holder lets go
        await _until(lambda: alarmd.dc09 is not None)
        bound = (alarmd.dc09.port, alarmd.dc09_error)
        await alarmd.stop()
        return first, bound

    try:
        first, bound = asyncio.run(scenario())
    finally:
        taken.close()

    assert first == (None, True)
    assert bound == (port, None)


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


def _in_log(process: Process, pattern: re.Pattern, timeout: float = 30) -> None:
    """A line seen anywhere in the log so far (`wait_for` consumes lines in order)."""
    deadline = time.monotonic() + timeout
    while not pattern.search("".join(process.log)):
        assert time.monotonic() < deadline, f"no {pattern.pattern!r} in the log:\n{''.join(process.log)}"
        time.sleep(0.05)


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
        web = f"http://127.0.0.1:{int(run.wait_for(WEB_LISTENING)[1])}"
        _in_log(run, STANDBY_LINE)  # from the leadership task: before or after uvicorn's line
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
