"""Never lose an alarm (issue #5), shown with real processes.

A private PostgreSQL server (fsync and synchronous_commit on) is created for the test, migrated and seeded
with the demo district by the real commands; the real web process (`manage.py run --no-alarmd`) and the
real `manage.py alarmd` serve it. Simulated devices in this process — HTTP buttons signing their events,
SIA DC-09 panels sending AES-encrypted frames over TCP and UDP — press in a burst; a device that gets no
answer keeps the press and sends the SAME press again (same event_id / sequence) until it is
acknowledged. During the burst the test `kill -9`s alarmd and the web process (and starts them again) and
crash-restarts PostgreSQL (`pg_ctl restart -m immediate`). Afterwards: every press was acknowledged, every
acknowledged press is stored exactly once, no retry across the crashes stored a press twice, and the
processes the test did not kill lived through the database crash on their own.

A second test fuzzes the same alarmd's DC-09 sockets (TCP streams and UDP datagrams).

It brings its own PostgreSQL, so it runs in the SQLite pass of the suite and is skipped in the PostgreSQL
pass (DATABASE_URL set). Nothing is mocked. Helpers for the processes: `procs.py`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import itertools
import json
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from doorstep.alarms import dc09
from doorstep.alarms.tests.procs import (
    MANAGE,
    PROJECT_DIR,
    PrivatePostgres,
    Service,
    die_with_parent,
    find_pg_bin,
    free_port,
    tail,
    wait_until,
)

pytestmark = pytest.mark.durability

# The burst runs in four phases, each begun by the test: healthy, alarmd killed, web killed, PostgreSQL
# crashed. A device presses PRESSES_PER_PHASE times in each, spread over PHASE_SECONDS from the phase's
# start; the next crash comes CHAOS_AFTER seconds into a phase, so that presses are in flight then. However
# slowly a loaded machine restarts a process, every crash thus lands in the middle of a burst.
PHASES = ("healthy", "alarmd killed", "web killed", "postgres crashed")
PRESSES_PER_PHASE = 7
PHASE_SECONDS = 3.5
CHAOS_AFTER = 3.0
GIVE_UP_SECONDS = 120.0  # a device stops retrying this long after the burst began (a generous bound)
ANSWER_TIMEOUT = 5.0  # how long a device waits for one answer before it counts the attempt as lost
READY_TIMEOUT = 90.0  # a process's start, on a loaded machine running the suite in parallel


# --- the private stack ------------------------------------------------------------------------------


@dataclass
class DeviceCredentials:
    device_id: str
    pk: int
    protocol: str
    secret: str
    sia_account: str
    aes_key: str


@dataclass
class Stack:
    base: Path
    pg: PrivatePostgres
    web: Service
    alarmd: Service
    web_port: int
    dc09_port: int
    devices: list[DeviceCredentials]

    def logs(self) -> str:
        return "\n".join(
            f"--- {name} log (tail) ---\n{tail(path)}"
            for name, path in (
                ("web", self.web.log),
                ("alarmd", self.alarmd.log),
                ("postgres", self.pg.log),
            )
        )

    def query(self, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.pg.url(), connect_timeout=10) as conn:
            return conn.execute(sql, params).fetchall()


def _loud_skip(message: str) -> None:
    banner = f"\n!!!!!!!! {message} !!!!!!!!\n"
    print(banner)
    pytest.skip(message)


def _command_exists(name: str) -> bool:
    return any((PROJECT_DIR / "doorstep").glob(f"*/management/commands/{name}.py"))


def _manage(env: dict[str, str], log: Path, *args: str, timeout: float = 300) -> None:
    with log.open("a") as out:
        out.write(f"\n===== manage.py {' '.join(args)}\n")
        out.flush()
        result = subprocess.run(
            die_with_parent([*MANAGE, *args]),
            cwd=PROJECT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{tail(log)}"


def _process_env(base: Path, database_url: str, dc09_port: int) -> dict[str, str]:
    """The environment of the commands: the private database, a private var/ directory, no Redis (the
    in-memory channel layer: the consoles are not what this test is about) and no MQTT broker (the shared
    Mosquitto carries other tests' devices)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DOORSTEP_")
        and name not in {"DATABASE_URL", "TEST_DATABASE_NAME", "REDIS_URL", "DEBUG"}
    }
    env |= {
        "DATABASE_URL": database_url,
        "DOORSTEP_ENV": "development",
        "DOORSTEP_VAR_DIR": str(base / "var"),
        "DOORSTEP_DC09_HOST": "127.0.0.1",
        "DOORSTEP_DC09_PORT": str(dc09_port),
        "DOORSTEP_MQTT_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    return env


@pytest.fixture(scope="module")
def stack():
    if os.environ.get("DATABASE_URL"):
        pytest.skip("durability: brings its own PostgreSQL server; it runs in the SQLite pass only")
    bin_dir = find_pg_bin()
    if bin_dir is None:
        _loud_skip(
            "durability test SKIPPED: no PostgreSQL server binaries (initdb, pg_ctl, postgres under "
            "/usr/lib/postgresql/*/bin or on PATH) — install postgresql to run it"
        )
    assert _command_exists("alarmd"), "there is no `manage.py alarmd` command (doorstep/alarms/management)"

    base = Path(tempfile.mkdtemp(prefix="doorstep-durability-"))
    pg: PrivatePostgres | None = None
    services: list[Service] = []
    try:
        started = time.monotonic()
        pg = PrivatePostgres(bin_dir, base)
        pg.init()
        pg.start()
        with psycopg.connect(pg.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute("CREATE DATABASE doorstep")
            durable = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit')"
                ).fetchall()
            )
        assert durable == {"fsync": "on", "synchronous_commit": "on"}, durable

        (base / "var").mkdir()
        web_port, dc09_port = free_port(), free_port()
        env = _process_env(base, pg.url(), dc09_port)
        setup_log = base / "setup.log"
        _manage(env, setup_log, "migrate", "--noinput", "-v0")
        _manage(env, setup_log, "seed", "--scale", "demo")
        prepared = time.monotonic()

        # The web process without the alarm daemon in it: each is killed on its own.
        web_argv = [*MANAGE, "run", "--host", "127.0.0.1", "--port", str(web_port), "--no-alarmd"]
        alarmd_argv = [*MANAGE, "alarmd", "--dc09-host", "127.0.0.1", "--dc09-port", str(dc09_port)]
        web = Service("web", web_argv, env=env, log=base / "web.log", port=web_port)
        alarmd = Service("alarmd", alarmd_argv, env=env, log=base / "alarmd.log", port=dc09_port)
        services += [web, alarmd]
        web.spawn()
        alarmd.spawn()
        web.wait_ready(READY_TIMEOUT)
        alarmd.wait_ready(READY_TIMEOUT)
        stack = Stack(base, pg, web, alarmd, web_port, dc09_port, [])
        rows = stack.query(
            "SELECT device_id, id, protocol, secret, sia_account, aes_key FROM alarms_alarmdevice "
            "WHERE active ORDER BY device_id"
        )
        stack.devices = [DeviceCredentials(*row) for row in rows]
        print(
            f"\n[durability] private PostgreSQL on :{pg.port} ({bin_dir.parent.name}), migrate+seed "
            f"{prepared - started:.1f} s, web :{web_port}, alarmd DC-09 :{dc09_port}, "
            f"ready after {time.monotonic() - started:.1f} s; {len(stack.devices)} devices"
        )
        yield stack
    finally:
        for service in services:
            service.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(base, ignore_errors=True)


# --- simulated devices ------------------------------------------------------------------------------

ACK, RETRY, REJECT = "ack", "retry", "reject"


@dataclass
class Press:
    """One press of a device's button: kept, and sent again, until the receiver acknowledges it."""

    device: str
    key: str  # the HTTP event_id, or the DC-09 sequence
    phase: int
    due: float  # seconds into its phase
    occurred_at: str = ""
    attempts: int = 0
    acked: bool = False
    acked_at: float = 0.0  # monotonic
    answer: str = ""  # the alarm id (HTTP) or the acknowledged sequence (DC-09)


@dataclass
class Tally:
    """What all devices saw, shared by their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    failures: Counter = field(default_factory=Counter)  # (phase, protocol, cause) -> attempts
    phase: int = 0  # the phase the burst is in now
    rejections: list[str] = field(default_factory=list)
    last_failure: dict[str, float] = field(default_factory=dict)  # protocol -> monotonic time

    def failed(self, protocol: str, cause: str) -> None:
        with self.lock:
            self.failures[(self.phase, protocol, cause)] += 1
            self.last_failure[protocol] = time.monotonic()

    def rejected(self, text: str) -> None:
        with self.lock:
            self.rejections.append(text)


class Phases:
    """The phases of the burst, begun by the test as it crashes things; devices wait for them."""

    def __init__(self, count: int = len(PHASES)) -> None:
        self.events = [threading.Event() for _ in range(count)]
        self.started = [0.0] * count

    def begin(self, phase: int, tally: Tally | None = None) -> None:
        self.started[phase] = time.monotonic()
        if tally is not None:
            tally.phase = phase
        self.events[phase].set()

    def wait(self, phase: int, stop: threading.Event) -> bool:
        while not self.events[phase].wait(0.05):
            if stop.is_set():
                return False
        return True


class Device(threading.Thread):
    protocol = ""

    def __init__(self, credentials: DeviceCredentials, presses: list[Press], tally: Tally, phases: Phases):
        super().__init__(name=f"device-{credentials.device_id}", daemon=True)
        self.credentials, self.presses, self.tally, self.phases = credentials, presses, tally, phases
        self.deadline = time.monotonic() + GIVE_UP_SECONDS
        self.stop = threading.Event()
        self.crash: BaseException | None = None

    def run(self) -> None:
        try:
            rng = random.Random(self.credentials.device_id)
            for press in self.presses:
                if not self.phases.wait(press.phase, self.stop):
                    return
                delay = self.phases.started[press.phase] + press.due - time.monotonic()
                if delay > 0 and self.stop.wait(delay):
                    return
                press.occurred_at = datetime.now(UTC).isoformat()
                backoff = 0.05
                while not self.stop.is_set() and time.monotonic() < self.deadline:
                    press.attempts += 1
                    outcome, detail = self.send(press)
                    if outcome == ACK:
                        press.acked, press.answer, press.acked_at = True, detail, time.monotonic()
                        break
                    if outcome == REJECT:
                        self.tally.rejected(f"{self.credentials.device_id} press {press.key}: {detail}")
                        break
                    self.tally.failed(self.protocol, detail)
                    self.stop.wait(backoff * rng.uniform(0.5, 1.5))
                    backoff = min(backoff * 2, 1.0)
        except BaseException as exc:  # surfaced by the test, not lost in a thread
            self.crash = exc

    def send(self, press: Press) -> tuple[str, str]:
        raise NotImplementedError


class HttpButton(Device):
    """A button that POSTs signed events, as issue #5 specifies them (an implementation of our own here,
    not the server's signing code)."""

    protocol = "http"

    def __init__(self, *args, port: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.port = port

    def send(self, press: Press) -> tuple[str, str]:
        body = json.dumps({"event_id": press.key, "type": "panic", "occurred_at": press.occurred_at}).encode()
        timestamp = str(int(time.time()))
        signature = hmac.new(
            self.credentials.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Device-Id": self.credentials.device_id,
            "X-Timestamp": timestamp,
            "X-Signature": signature,
        }
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=ANSWER_TIMEOUT)
        try:
            connection.request("POST", "/api/v1/alarm-events", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except TimeoutError:
            return RETRY, "timeout"
        except ConnectionRefusedError:
            return RETRY, "refused"
        except (OSError, http.client.HTTPException) as exc:
            return RETRY, type(exc).__name__
        finally:
            connection.close()
        if response.status in (200, 201):
            answer = json.loads(data)
            if answer.get("event_id") != press.key or not isinstance(answer.get("id"), int):
                return REJECT, f"HTTP {response.status} with a wrong answer {answer}"
            return ACK, str(answer["id"])
        if response.status >= 500:
            return RETRY, f"HTTP {response.status}"
        return REJECT, f"HTTP {response.status}: {data[:200]!r}"


_RESPONSE = re.compile(r'"(\*?)(ACK|NAK|DUH)"([0-9]{4})([^\[]*)\[(.*)', re.S)
_TIMESTAMP = re.compile(r"_[0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{2}-[0-9]{2}-[0-9]{4}")


def read_dc09_answer(raw: bytes, key: bytes | None) -> tuple[str, str]:
    """One answer of the receiver -> (token with its "*", sequence). Framing, CRC and length are checked,
    and a "*ACK" must decrypt with the panel's key to a block ending in a timestamp. Raises ValueError for
    anything else."""
    if len(raw) < 10 or raw[:1] != b"\n" or raw[-1:] != b"\r":
        raise ValueError(f"not a DC-09 frame: {raw!r}")
    body = raw[9:-1]
    try:
        crc, length = int(raw[1:5], 16), int(raw[5:9], 16)
    except ValueError:
        raise ValueError(f"CRC and length are not hex: {raw!r}") from None
    if crc != dc09.crc16(body) or length != len(body):
        raise ValueError(f"bad CRC or length: {raw!r}")
    match = _RESPONSE.fullmatch(body.decode("latin-1"))
    if match is None:
        raise ValueError(f"not an ACK, NAK or DUH: {raw!r}")
    star, token, sequence, _addressing, rest = match.groups()
    if star:
        if key is None or token != "ACK":
            raise ValueError(f"an encrypted {token} where none belongs: {raw!r}")
        try:
            plain = dc09.decrypt_region(rest, key)
        except dc09.FrameError as exc:
            raise ValueError(f"the *ACK does not decrypt with the panel's key: {exc}") from None
        if not plain.startswith("]") or not _TIMESTAMP.fullmatch(plain[1:]):
            raise ValueError(f"the *ACK decrypts to {plain!r}, not an empty block and a timestamp")
    return star + token, sequence


class Dc09Panel(Device):
    """A SIA DC-09 panel with its AES key, over TCP (a connection per message, as most diallers do) or
    UDP. A retry re-stamps the frame (the timestamp window would refuse an old one) but keeps its sequence
    number."""

    protocol = "dc09"

    def __init__(self, *args, port: int, transport: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.port, self.transport = port, transport
        self.key = bytes.fromhex(self.credentials.aes_key) if self.credentials.aes_key else None

    def frame(self, press: Press) -> bytes:
        account = self.credentials.sia_account
        return dc09.build_frame(
            "SIA-DCS",
            sequence=press.key,
            account=account,
            data=f"#{account}|Nri1/PA001",
            timestamp=datetime.now(UTC),
            key=self.key,
        )

    def send(self, press: Press) -> tuple[str, str]:
        try:
            answer = self._exchange(self.frame(press))
        except TimeoutError:
            return RETRY, f"{self.transport} timeout"
        except ConnectionRefusedError:
            return RETRY, f"{self.transport} refused"
        except OSError as exc:
            return RETRY, f"{self.transport} {type(exc).__name__}"
        if not answer:
            return RETRY, f"{self.transport} no answer"
        try:
            token, sequence = read_dc09_answer(answer, self.key)
        except ValueError as exc:
            return REJECT, str(exc)
        if token == ("*ACK" if self.key else "ACK") and sequence == press.key:
            return ACK, sequence
        if token == "NAK":
            return RETRY, "NAK"
        return REJECT, f"{token} for sequence {sequence} (sent {press.key}): {answer!r}"

    def _exchange(self, frame: bytes) -> bytes:
        if self.transport == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(ANSWER_TIMEOUT)
                sock.connect(("127.0.0.1", self.port))  # connected: a closed port shows as refused
                sock.send(frame)
                return sock.recv(2048)
        answer = b""
        with socket.create_connection(("127.0.0.1", self.port), timeout=ANSWER_TIMEOUT) as sock:
            sock.sendall(frame)
            while not answer.endswith(b"\r") and len(answer) < 2048:
                chunk = sock.recv(1024)
                if not chunk:
                    break
                answer += chunk
        return answer


# --- the test ---------------------------------------------------------------------------------------


def _plan(devices: list[DeviceCredentials]) -> dict[str, list[Press]]:
    """Each device's presses at random (seeded) moments of each phase, each with a key of its own: a unique
    event_id for a button, the next sequence number for a panel."""
    plan = {}
    run = f"{int(time.time())}"
    for device in devices:
        rng = random.Random(device.device_id)
        moments = [
            (phase, due)
            for phase in range(len(PHASES))
            for due in sorted(rng.uniform(0, PHASE_SECONDS) for _ in range(PRESSES_PER_PHASE))
        ]
        presses = []
        for n, (phase, due) in enumerate(moments, start=1):
            key = f"{n:04d}" if device.protocol == "dc09" else f"dur-{run}-{device.device_id}-{n}"
            presses.append(Press(device.device_id, key, phase, due))
        plan[device.device_id] = presses
    return plan


DC09_EVENT_ID = re.compile(r"dc09:([0-9]{4}):0:[0-9a-f]+(?:@[0-9]+)?")  # dc09_server.event_key + bucket


def test_burst_survives_kill_9_of_alarmd_and_web_and_a_postgres_crash(stack: Stack):
    # given: every HTTP button, and all DC-09 panels but the last (kept for the fuzz test) over TCP and
    # UDP, pressing in a burst
    buttons = [d for d in stack.devices if d.protocol == "http"]
    panels = [d for d in stack.devices if d.protocol == "dc09"][:-1]
    assert len(buttons) >= 3 and len(panels) >= 2, stack.devices
    assert all(p.aes_key for p in panels), "the demo panels are expected to encrypt"
    plan = _plan(buttons + panels)
    baseline = stack.query("SELECT coalesce(max(id), 0) FROM alarms_alarm")[0][0]
    tally, phases = Tally(), Phases()
    devices: list[Device] = [
        HttpButton(d, plan[d.device_id], tally, phases, port=stack.web_port) for d in buttons
    ] + [
        Dc09Panel(d, plan[d.device_id], tally, phases, port=stack.dc09_port, transport=("tcp", "udp")[i % 2])
        for i, d in enumerate(panels)
    ]
    chaos: list[str] = []

    def watch(until: float) -> None:
        """Wait, failing at once if a process dies that the test did not kill."""
        while time.monotonic() < until:
            for service in (stack.web, stack.alarmd):
                if not service.alive():  # only the test kills them, and it starts them again at once
                    raise AssertionError(
                        f"{service.name} exited with {service.process.returncode} by itself\n{stack.logs()}"
                    )
            time.sleep(0.02)

    def kill_and_restart(service: Service, protocol: str, phase: int) -> None:
        # when: kill -9 ... and, once a device has felt it (or 5 s on), start it again
        watch(phases.started[phase - 1] + CHAOS_AFTER)
        phases.begin(phase, tally)
        service.kill9()
        killed_at = phases.started[phase]
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: tally.last_failure.get(protocol, 0) > killed_at, 5, "a device to notice")
        service.start(timeout=READY_TIMEOUT)
        chaos.append(
            f"kill -9 {service.name} at {killed_at - phases.started[0]:.1f} s, "
            f"back after {time.monotonic() - killed_at:.1f} s"
        )

    for device in devices:
        device.start()
    try:
        phases.begin(0, tally)
        kill_and_restart(stack.alarmd, "dc09", 1)
        kill_and_restart(stack.web, "http", 2)
        watch(phases.started[2] + CHAOS_AFTER)
        pids = (stack.web.pid, stack.alarmd.pid)
        phases.begin(3, tally)
        crashed_at = phases.started[3]
        stack.pg.restart_immediate()
        chaos.append(
            f"pg_ctl restart -m immediate at {crashed_at - phases.started[0]:.1f} s, "
            f"up after {time.monotonic() - crashed_at:.1f} s"
        )
        while any(device.is_alive() for device in devices):
            watch(time.monotonic() + 0.5)  # and the processes must live on by themselves
    finally:
        for device in devices:
            device.stop.set()
        for device in devices:
            device.join(timeout=ANSWER_TIMEOUT + 5)
    elapsed = time.monotonic() - phases.started[0]

    presses = [press for device in devices for press in device.presses]
    retries = sum(max(0, p.attempts - 1) for p in presses)
    before_crash = sum(p.acked and p.acked_at < crashed_at for p in presses)
    causes = "; ".join(
        f"{name}: "
        + (", ".join(f"{p} {c} {n}" for (k2, p, c), n in sorted(tally.failures.items()) if k2 == k) or "-")
        for k, name in enumerate(PHASES)
    )
    print(
        f"\n[durability] {len(presses)} presses ({len(buttons)} HTTP buttons, {len(panels)} DC-09 panels "
        f"over TCP and UDP) done in {elapsed:.1f} s, {before_crash} of them acknowledged before the "
        f"PostgreSQL crash; {retries} retries, by the phase they fell in: {causes}; most "
        f"attempts for one press: {max(p.attempts for p in presses)}\n[durability] chaos: {'; '.join(chaos)}"
    )

    # then: no device thread crashed, nothing was refused, and the processes the test did not kill after
    # the PostgreSQL crash are the same processes: nobody had to help them
    assert [d.crash for d in devices if d.crash] == []
    assert tally.rejections == [], "\n".join(tally.rejections[:20]) + "\n" + stack.logs()
    assert stack.web.alive() and stack.alarmd.alive(), stack.logs()
    assert (stack.web.pid, stack.alarmd.pid) == pids, "a process was restarted after the PostgreSQL crash"
    assert stack.web.starts == 2 and stack.alarmd.starts == 2

    # then: every press was acknowledged in the end, after its retries (and many before the crash, whose
    # alarms the crash recovery must have kept)
    unacked = [f"{p.device} {p.key} ({p.attempts} attempts)" for p in presses if not p.acked]
    assert unacked == [], f"{len(unacked)} presses never acknowledged: {unacked[:20]}\n{stack.logs()}"
    assert before_crash > 0

    # then: the alarms written during the burst are exactly the presses, each once
    rows = stack.query(
        "SELECT a.id, d.device_id, a.event_id, a.event_type FROM alarms_alarm a "
        "JOIN alarms_alarmdevice d ON d.id = a.device_id WHERE a.id > %s AND d.device_id = ANY(%s) "
        "ORDER BY a.id",
        baseline,
        [d.device_id for d in buttons + panels],
    )
    assert {event_type for *_, event_type in rows} <= {"panic"}, rows
    assert len(rows) == len(presses), f"{len(rows)} alarms stored for {len(presses)} presses"
    stored = Counter()
    for alarm_id, device_id, event_id, _ in rows:
        if event_id.startswith("dur-"):
            stored[(device_id, event_id)] += 1
        else:
            match = DC09_EVENT_ID.fullmatch(event_id)
            assert match is not None, f"alarm {alarm_id}: a DC-09 event id of an unexpected form {event_id!r}"
            stored[(device_id, match.group(1))] += 1
    assert [key for key, n in stored.items() if n != 1] == [], "a press stored more than once"
    assert set(stored) == {(p.device, p.key) for p in presses}, "a stored alarm no device pressed"

    # then: the id an HTTP button was given is the id of its press's alarm
    by_id = {str(alarm_id): (device_id, event_id) for alarm_id, device_id, event_id, _ in rows}
    wrong = [p for p in presses if p.key.startswith("dur-") and by_id.get(p.answer) != (p.device, p.key)]
    assert wrong == []


# --- the DC-09 receiver's sockets under fuzzing -----------------------------------------------------

FUZZ_HEADERS = [
    '"SIA-DCS"0001L0#{a}[',
    '"*SIA-DCS"0001L0#{a}[',
    '"ADM-CID"0001R1L0#{a}[',
    '"NULL"0001[',
    '"ACK"0001[',
]
FUZZ_TEXT = "#|[]^/_:,-0123456789ABCDEFNPRTYXariid *\n\r"


def _valid_frame(variant: int, account: str, key: bytes, sequence: int) -> bytes:
    now = datetime.now(UTC)
    return (
        lambda: dc09.build_frame(
            "SIA-DCS",
            sequence=sequence,
            account=account,
            data=f"#{account}|Nri1/PA001",
            timestamp=now,
            key=key,
        ),
        lambda: dc09.build_frame(
            "ADM-CID",
            sequence=sequence,
            account=account,
            data=f"#{account}|1120 01 015",
            timestamp=now,
            key=key,
        ),
        lambda: dc09.build_frame("NULL", sequence=sequence, account=account, timestamp=now, key=key),
        lambda: dc09.build_frame(  # plain, from an account that has a key: refused without an answer
            "SIA-DCS", sequence=sequence, account=account, data=f"#{account}|Nri1/PA001", timestamp=now
        ),
    )[variant]()


def _wrap(body: bytes) -> bytes:
    return b"\n%04X%04X%s\r" % (dc09.crc16(body), len(body), body)


def _mutate(frame: bytes, edits: list[tuple[str, int, int]], fix_crc: bool) -> bytes:
    data = bytearray(frame)
    for op, position, byte in edits:
        index = position % (len(data) + 1)
        if op == "replace" and index < len(data):
            data[index] = byte
        elif op == "insert":
            data.insert(index, byte)
        elif op == "delete" and index < len(data):
            del data[index]
        elif op == "truncate":
            del data[index:]
    if fix_crc and len(data) >= 10:  # get past the CRC to the header, the decryption and the data
        return _wrap(bytes(data[9:-1]))
    return bytes(data)


def _parts(account: str):
    """Hypothesis strategy: tagged pieces of a byte stream, joined at send time (frames that must carry a
    fresh timestamp are built then)."""
    from hypothesis import strategies as st

    edits = st.lists(
        st.tuples(
            st.sampled_from(["replace", "insert", "delete", "truncate"]),
            st.integers(0, 1100),
            st.integers(0, 255),
        ),
        max_size=4,
    )
    piece = st.one_of(
        st.binary(max_size=1200).map(lambda raw: ("raw", raw)),
        st.binary(max_size=1100).map(lambda body: ("raw", _wrap(body))),
        st.builds(
            lambda header, rest: ("raw", _wrap((header.format(a=account) + rest).encode("latin-1"))),
            st.sampled_from(FUZZ_HEADERS),
            st.text(st.sampled_from(FUZZ_TEXT), max_size=200),
        ),
        # a valid frame of the panel, mutated, with or without its CRC made right again
        st.builds(lambda *args: ("mutated", *args), st.integers(0, 3), edits, st.booleans()),
        # the panel's key over any plaintext: the decrypted region's own parsing (pad, blocks, timestamp)
        st.builds(
            lambda text, stamp: ("encrypted", text, stamp),
            st.one_of(
                st.text(st.characters(max_codepoint=255), max_size=120),
                st.text(st.sampled_from(FUZZ_TEXT), max_size=120),
            ),
            st.booleans(),
        ),
    )
    return st.lists(piece, min_size=1, max_size=4)


def _assemble(parts, account: str, key: bytes, sequence: int) -> bytes:
    stream = []
    for tag, *args in parts:
        if tag == "raw":
            stream.append(args[0])
        elif tag == "mutated":
            variant, edits, fix_crc = args
            stream.append(_mutate(_valid_frame(variant, account, key, sequence), edits, fix_crc))
        else:
            text, stamp = args
            text += dc09.format_timestamp(datetime.now(UTC)) if stamp else ""
            header = f'"*SIA-DCS"{sequence:04d}L0#{account}['
            stream.append(_wrap((header + dc09.encrypt_region(text, key)).encode("latin-1")))
    return b"".join(stream)


def _check_answers(data: bytes, key: bytes, seen: Counter) -> None:
    """Whatever came back is a run of well-formed ACK / *ACK / NAK frames (never a DUH)."""
    assert data.endswith(b"\r") or not data, data
    for piece in data.split(b"\r")[:-1]:
        token, _sequence = read_dc09_answer(piece + b"\r", key)
        assert token in {"ACK", "*ACK", "NAK"}
        seen[token] += 1


def test_alarmd_answers_fuzzed_streams_and_datagrams_only_with_ack_nak_or_nothing(stack: Stack):
    """The fuzzing of `dc09.handle` in test_dc09.py, taken to the real daemon's sockets: its TCP framing
    (several frames per connection, noise between them, over-long garbage), its UDP side and its database
    step. It never crashes (same process, no traceback in its log), never hangs (each connection is
    answered and closed once the sender has finished), and answers only ACK/NAK or nothing."""
    from hypothesis import HealthCheck, given, settings

    panel = [d for d in stack.devices if d.protocol == "dc09"][-1]  # not used by the burst test
    account, key = panel.sia_account, bytes.fromhex(panel.aes_key)
    pid = stack.alarmd.pid
    tracebacks = stack.alarmd.log.read_text(errors="replace").count("Traceback")
    seen: Counter = Counter()
    counter = itertools.count()

    def next_sequence() -> int:  # 9000-9999, away from the burst's; a wrap is harmless
        return 9000 + next(counter) % 1000

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(parts=_parts(account))
    def over_tcp(parts):
        payload = _assemble(parts, account, key, next_sequence())
        data = b""
        with socket.create_connection(("127.0.0.1", stack.dc09_port), timeout=10) as sock:
            try:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
            except (BrokenPipeError, ConnectionResetError):
                pass  # it hung up on over-long garbage: allowed
            try:
                while chunk := sock.recv(4096):
                    data += chunk
            except ConnectionResetError:
                pass
            except TimeoutError:
                raise AssertionError(
                    f"alarmd kept the connection open 10 s after the sender finished: {payload!r}"
                )
        _check_answers(data, key, seen)
        seen["connections"] += 1

    over_tcp()

    # UDP: a seeded batch of datagrams, then every answer that comes back within 3 s of quiet
    rng = random.Random(0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("127.0.0.1", stack.dc09_port))
        for n in range(200):
            kind = n % 4
            if kind == 0:
                datagram = rng.randbytes(rng.randint(0, 1200))
            elif kind == 1:
                datagram = _wrap(rng.randbytes(rng.randint(0, 1100)))
            else:
                edits = [
                    (
                        rng.choice(["replace", "insert", "delete", "truncate"]),
                        rng.randint(0, 1100),
                        rng.randint(0, 255),
                    )
                    for _ in range(rng.randint(0, 3))
                ]
                datagram = _mutate(
                    _valid_frame(rng.randint(0, 3), account, key, next_sequence()), edits, kind == 2
                )
            sock.send(datagram)
            seen["datagrams"] += 1
        sock.settimeout(3)
        with contextlib.suppress(TimeoutError, ConnectionRefusedError):
            while answer := sock.recv(4096):
                _check_answers(answer, key, seen)

    print(f"\n[durability] DC-09 fuzz against alarmd: {dict(seen)}")

    # then: the same process, nothing raised, and a real press is still acknowledged
    assert stack.alarmd.alive() and stack.alarmd.pid == pid, stack.logs()
    log = stack.alarmd.log.read_text(errors="replace")
    assert log.count("Traceback") == tracebacks, tail(stack.alarmd.log, 80)
    press = Press(panel.device_id, "0042", 0, 0.0)
    phases = Phases(1)
    phases.begin(0)
    device = Dc09Panel(panel, [press], Tally(), phases, port=stack.dc09_port, transport="tcp")
    assert device.send(press) == (ACK, "0042")
