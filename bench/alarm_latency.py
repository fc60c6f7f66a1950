"""Alarm latency end to end: from a device's send to the alarm on a dispatch console's WebSocket, per protocol,
with the floor (bare echo servers) measured in the same run, and the sustained maximum rate.

    .venv/bin/python bench/alarm_latency.py                                   # SQLite in a temporary var dir
    .venv/bin/python bench/alarm_latency.py --database-url postgres://postgres@127.0.0.1:5432/doorstep_bench_alarm
    .venv/bin/python bench/alarm_latency.py --seconds 10 --step-seconds 5     # a short trial

Steps: a scratch database (SQLite under a temporary DOORSTEP_VAR_DIR, or the PostgreSQL database named in
`--database-url`, dropped and created by this script and dropped again at the end), migrated and seeded with
the demo district (`seed --scale demo`); 200 devices per protocol provisioned through
`alarms.services.provision_device` across the key units; then the real server, `manage.py run` (uvicorn,
with alarmd's SIA DC-09 and MQTT receivers in the same process), and the sub-bureau leader logged in through
the login form, whose console WebSocket `/ws/alarms/` receives every station's alarms. MQTT goes through the
local Mosquitto under topics and a client id of this run only (`doorstep-bench-<run>/devices/<id>/events`),
so that nobody else's subscriber or persistent session receives the bench's presses; `--own-broker` starts
a private Mosquitto with `set_tcp_nodelay true` instead.

Each protocol (HTTP, MQTT, SIA DC-09 over TCP and over UDP; a protocol the server does not answer is
reported as missing) is driven by 200 devices at 50 presses/s for 60 s: press k is due at t0 + k/rate from
device k mod 200, each device sending its presses one after another as a real one does (next press after
the answer). Latency = the console WebSocket delivering the alarm (matched by device id and pressed_at) -
the moment the device wrote the press to its socket; "answer" = the server's 201, DC-09 ACK or MQTT
ack-topic message. Presses sent more than 50 ms after they were due have backed up behind a slow answer.
The floor runs in the same run at the same rate from as many connections: a bare asyncio TCP echo, UDP echo
and HTTP/1.1 echo (a separate process, like the server) and an MQTT loop through the same broker (device ->
broker -> echo subscriber -> broker -> device). The sustained maximum rate steps the rate up (50, 100, 200,
400, 800 presses/s, 10 s each) until a step misses p99 <= 50 ms, loses or refuses a press, or backs up.

Nobody acknowledges the bench's alarms, so escalation is set to its longest (ALARM_ESCALATE_SECONDS=3600)
and the alarms are closed between runs: otherwise alarmd's timers would escalate and flag every press of
the previous minutes during the next run (`--escalation` keeps them as configured).

Prints Markdown tables for bench/RESULTS.md with the machine, date, database, versions and the server's
errors. Everything on the client side (devices, floor clients, console) is asyncio in this one process.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import hashlib
import hmac
import http.cookies
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROTOCOLS = ("http", "mqtt", "dc09", "dc09-udp")
PROTOCOL_NAMES = {
    "http": "HTTP `POST /api/v1/alarm-events` (HMAC)",
    "mqtt": "MQTT QoS 1 via Mosquitto, ack topic",
    "dc09": "SIA DC-09 over TCP (AES-128)",
    "dc09-udp": "SIA DC-09 over UDP (AES-128)",
}
FLOOR_OF = {"http": "http-echo", "mqtt": "mqtt-echo", "dc09": "tcp-echo", "dc09-udp": "udp-echo"}
FLOOR_NAMES = {
    "tcp-echo": "floor: bare asyncio TCP echo",
    "udp-echo": "floor: bare asyncio UDP echo",
    "http-echo": "floor: bare asyncio HTTP/1.1 echo (200)",
    "mqtt-echo": "floor: MQTT QoS 1 loop via Mosquitto (echo subscriber)",
}
NO_ANSWER = {
    "http": "no HTTP answer in 5 s",
    "mqtt": "no message on doorstep/devices/<id>/ack in 5 s (no MQTT receiver in the server?)",
    "dc09": "no DC-09 answer in 5 s",
    "dc09-udp": "no answer to a DC-09 datagram in 5 s (no UDP receiver in the server?)",
}
GOAL_MS = 50.0
LATE_MS = 50.0  # a press sent this much after it was due has backed up behind the device's last answer
ANSWER_TIMEOUT = 10.0
DRAIN_SECONDS = 10.0
PASSWORD = "Doorstep@2026"
SIA_PANIC = "Nri1/PA001"
# paho-mqtt leaves Nagle on: a PUBACK followed by a PUBLISH on one socket then waits for the broker's
# delayed ACK (40 ms on Linux). Devices and the echo subscriber here send at once.
MQTT_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def now() -> float:
    return time.perf_counter()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- phases run in subprocesses (Django against the scratch database) --------------------------------------


def phase_setup(devices_per_protocol: int, out: Path) -> None:
    """Migrate, seed the demo district, provision the bench devices; write their credentials to `out`."""
    import io

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from doorstep.alarms import services
    from doorstep.alarms.choices import Protocol
    from doorstep.org.models import Station
    from doorstep.registry.models import Unit

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("seed", scale="demo", stdout=io.StringIO())
    seeded = time.perf_counter() - t0
    units = list(Unit.objects.filter(is_key=True).order_by("pk"))
    if not units:
        sys.exit("the demo seed has no key units")
    devices = []
    for protocol, letter in ((Protocol.HTTP, "H"), (Protocol.MQTT, "M"), (Protocol.DC09, "D")):
        for i in range(devices_per_protocol):
            unit = units[i % len(units)]
            # A day's heartbeat interval: supervision must not raise "offline" alerts during the run.
            extra = {"sia_account": f"BE{i:04X}", "with_aes_key": True} if protocol == Protocol.DC09 else {}
            device, credentials = services.provision_device(
                unit=unit,
                device_id=f"BENCH-{letter}{i:04d}",
                location="压测设备",
                protocol=protocol,
                heartbeat_seconds=86400,
                **extra,
            )
            devices.append({**credentials, "protocol": str(protocol), "station": device.station_id})
    out.write_text(json.dumps(devices))
    if connection.vendor == "sqlite":
        database = f"SQLite {sqlite3.sqlite_version}"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    print(
        json.dumps(
            {
                "seed_s": seeded,
                "key_units": len(units),
                "stations": Station.objects.count(),
                "database": database,
            }
        )
    )


def phase_count() -> None:
    """How many alarms the bench devices left in the database, per protocol (each press stored once?)."""
    import django

    django.setup()

    from doorstep.alarms.models import Alarm

    bench = Alarm.objects.filter(device__device_id__startswith="BENCH-")
    counts = {}
    for protocol in bench.values_list("device__protocol", flat=True).distinct():
        mine = bench.filter(device__protocol=protocol)
        counts[protocol] = [mine.count(), mine.values("device_id", "event_id").distinct().count()]
    print(json.dumps(counts))


def phase_settle() -> None:
    """Close the bench's alarms between runs, so that no escalation or lateness timer of alarmd works
    through thousands of them during the next run (a dispatcher would have handled them). Written
    directly, like the seed's history: this is the benchmark's bookkeeping, not a dispatch."""
    import django

    django.setup()
    from django.utils import timezone

    from doorstep.alarms.choices import AlarmState, Disposition
    from doorstep.alarms.models import Alarm

    closed = (
        Alarm.objects.filter(device__device_id__startswith="BENCH-")
        .exclude(state=AlarmState.CLOSED)
        .update(state=AlarmState.CLOSED, closed_at=timezone.now(), disposition=Disposition.TEST)
    )
    print(json.dumps({"closed": closed}))


def phase_echo(mqtt_host: str, mqtt_port: int, topic_root: str) -> None:
    """The floor's servers in their own process: TCP echo, UDP echo, HTTP/1.1 200 echo, MQTT echo."""

    async def tcp_echo(reader, writer):
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                writer.write(await reader.readuntil(b"\r"))

    async def http_echo(reader, writer):
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ValueError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                body = b'{"id":1,"kind":"alarm"}'
                writer.write(
                    b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                    % (len(body), body)
                )

    class UdpEcho(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            self.transport.sendto(data, addr)

    async def main():
        import aiomqtt

        loop = asyncio.get_running_loop()
        tcp = await asyncio.start_server(tcp_echo, "127.0.0.1", 0, backlog=1024)
        http_ = await asyncio.start_server(http_echo, "127.0.0.1", 0, backlog=1024)
        udp, _ = await loop.create_datagram_endpoint(UdpEcho, local_addr=("127.0.0.1", 0))
        ports = {
            "tcp": tcp.sockets[0].getsockname()[1],
            "http": http_.sockets[0].getsockname()[1],
            "udp": udp.get_extra_info("sockname")[1],
        }
        async with aiomqtt.Client(
            mqtt_host, mqtt_port, identifier=f"{topic_root}-echo", socket_options=MQTT_SOCKET_OPTIONS
        ) as client:
            await client.subscribe(f"{topic_root}/echo/+/events", qos=1)
            print(json.dumps(ports), flush=True)
            async for message in client.messages:
                device = str(message.topic).split("/")[-2]
                await client.publish(f"{topic_root}/echo/{device}/ack", message.payload, qos=1)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def run_phase(args: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(  # noqa: S603 - runs this very script
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=env, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- a minimal HTTP/1.1 keep-alive client ------------------------------------------------------------------


class HttpConnection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def usable(self) -> bool:
        return self.writer is not None and not self.writer.is_closing() and not self.reader.at_eof()

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        head = f"{method} {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\ncontent-length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        for attempt in (0, 1):
            if not self.usable():
                await self.open()
            try:
                self.writer.write(head.encode("latin-1") + body)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed an idle keep-alive connection as we wrote: a device sends again.
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, list[tuple[str, str]], bytes]:
        reader = self.reader
        status = int((await reader.readuntil(b"\r\n")).split()[1])
        headers = []
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip().lower(), value.strip()))
        fields = dict(headers)
        if "content-length" in fields:
            body = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            body = await reader.read()
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body


# --- devices -----------------------------------------------------------------------------------------------


@dataclass
class Press:
    device: str
    due: float
    sent: float = 0.0
    occurred: str = ""  # occurred_at as sent (HTTP, MQTT): the console's pressed_at names the press exactly
    answered: float | None = None
    delivered: float | None = None
    error: str = ""


class Device:
    """One device of the bench: `press()` sends one press and returns when the server has answered it:
    (True, detail) for an acknowledgement, (False, detail) for a refusal (nothing stored)."""

    def __init__(self, creds: dict):
        self.id = creds["device_id"]
        self.creds = creds

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def press(self, press: Press) -> tuple[bool, str]:
        raise NotImplementedError


def signed_event(secret: str, press: Press) -> tuple[str, bytes, str, str]:
    """(event_id, body, timestamp, signature) of a panic press as an HTTP device signs it."""
    event_id = uuid.uuid4().hex
    press.occurred = dt.datetime.now(dt.UTC).isoformat()
    body = json.dumps(
        {"event_id": event_id, "type": "panic", "occurred_at": press.occurred}, separators=(",", ":")
    ).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return event_id, body, timestamp, signature


class HttpDevice(Device):
    """A button that POSTs its signed press over a keep-alive connection (reopened when the server closed it)."""

    def __init__(self, creds: dict, host: str, port: int, path: str = "/api/v1/alarm-events"):
        super().__init__(creds)
        self.conn, self.path = HttpConnection(host, port), path

    async def open(self) -> None:
        await self.conn.open()

    async def close(self) -> None:
        self.conn.close()

    async def press(self, press: Press) -> tuple[bool, str]:
        _event_id, body, timestamp, signature = signed_event(self.creds["secret"], press)
        status, _headers, answer = await self.conn.request(
            "POST",
            self.path,
            {
                "content-type": "application/json",
                "x-device-id": self.id,
                "x-timestamp": timestamp,
                "x-signature": signature,
            },
            body,
        )
        return status in (200, 201), f"HTTP {status}"


class Dc09Device(Device):
    """A panel sending SIA-DCS panic frames (AES with its key), over one TCP connection or UDP; waits for the
    ACK of each. The sequence number runs on across the whole run (TCP, UDP, every step), as a panel's does:
    the receiver stores a repeated sequence number from the same account once."""

    sequences: ClassVar[dict[str, int]] = {}

    def __init__(self, creds: dict, host: str, port: int, udp: bool = False):
        super().__init__(creds)
        self.host, self.port, self.udp = host, port, udp
        self.account = creds.get("sia_account", "")
        self.key = bytes.fromhex(creds["aes_key"]) if creds.get("aes_key") else None
        self.reader = self.writer = self.transport = None
        self.answers: asyncio.Queue[bytes] = asyncio.Queue()

    def frame(self) -> bytes:
        from doorstep.alarms import dc09

        sequence = self.sequences[self.account] = self.sequences.get(self.account, 0) % 9999 + 1
        return dc09.build_frame(
            "SIA-DCS",
            sequence=sequence,
            account=self.account,
            data=f"#{self.account}|{SIA_PANIC}",
            timestamp=dt.datetime.now(dt.UTC),
            key=self.key,
        )

    async def open(self) -> None:
        await self.close()
        if self.udp:
            answers = self.answers

            class Answers(asyncio.DatagramProtocol):
                def datagram_received(self, data, addr):
                    answers.put_nowait(data)

            self.transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                Answers, remote_addr=(self.host, self.port)
            )
        else:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        for closable in (self.writer, self.transport):
            if closable is not None:
                closable.close()
        self.reader = self.writer = self.transport = None

    async def press(self, press: Press) -> tuple[bool, str]:
        frame = self.frame()
        if self.udp:
            if self.transport is None:
                await self.open()
            self.transport.sendto(frame)
            answer = await self.answers.get()
        else:
            for attempt in (0, 1):
                if self.writer is None or self.writer.is_closing() or self.reader.at_eof():
                    await self.open()
                try:
                    self.writer.write(frame)
                    answer = await self.reader.readuntil(b"\r")
                    break
                except (ConnectionError, asyncio.IncompleteReadError):
                    await self.close()
                    if attempt:
                        raise
        token = answer[answer.find(b'"') + 1 : answer.find(b'"', answer.find(b'"') + 1)]
        return token in (b"ACK", b"*ACK"), f"DC-09 {token.decode(errors='replace') or answer[:40]!r}"


class EchoDevice(Dc09Device):
    """The TCP/UDP floor: the same frames, bounced back unread by the echo server."""

    sequences: ClassVar[dict[str, int]] = {}

    async def press(self, press: Press) -> tuple[bool, str]:
        frame = self.frame()
        if self.udp:
            self.transport.sendto(frame)
            answer = await self.answers.get()
        else:
            self.writer.write(frame)
            answer = await self.reader.readuntil(b"\r")
        return answer == frame, "echo"


def mqtt_payload(creds: dict, press: Press) -> tuple[str, bytes]:
    """(event_id, payload) of a panic press on MQTT (doorstep/alarms/mqtt.py): the HTTP body's fields plus
    `timestamp` and `signature` = HMAC-SHA256 of `timestamp "." device_id "\\n" event_id "\\n" type "\\n"
    occurred_at`, keyed with the device's secret."""
    event = {
        "event_id": uuid.uuid4().hex,
        "type": "panic",
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    press.occurred = event["occurred_at"]
    timestamp = str(int(time.time()))
    text = "\n".join((creds["device_id"], event["event_id"], event["type"], event["occurred_at"]))
    signature = hmac.new(creds["secret"].encode(), f"{timestamp}.{text}".encode(), hashlib.sha256).hexdigest()
    payload = {**event, "timestamp": timestamp, "signature": signature}
    return event["event_id"], json.dumps(payload, separators=(",", ":")).encode()


class MqttDevice(Device):
    """A button on MQTT: its own client connection, publishes QoS 1 and waits for its ack topic."""

    def __init__(self, creds: dict, host: str, port: int, prefix: str):
        super().__init__(creds)
        self.host, self.port = host, port
        self.events, self.ack = f"{prefix}/{self.id}/events", f"{prefix}/{self.id}/ack"
        self.client = None
        self.stack = contextlib.AsyncExitStack()
        self.waiting: dict[str, asyncio.Future] = {}
        self.reader_task: asyncio.Task | None = None

    async def open(self) -> None:
        if self.client is not None:
            return
        import aiomqtt

        self.client = await self.stack.enter_async_context(
            aiomqtt.Client(
                self.host,
                self.port,
                identifier=f"bench-{self.id}-{uuid.uuid4().hex[:6]}",
                socket_options=MQTT_SOCKET_OPTIONS,
            )
        )
        await self.client.subscribe(self.ack, qos=1)
        self.reader_task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.client.messages:
            with contextlib.suppress(ValueError, AttributeError):
                event_id = json.loads(message.payload).get("event_id")
                future = self.waiting.pop(event_id, None)
                if future is not None and not future.done():
                    future.set_result(message.payload)

    async def close(self) -> None:
        if self.reader_task is not None:
            self.reader_task.cancel()
        with contextlib.suppress(Exception):
            await self.stack.aclose()
        self.client = self.reader_task = None
        self.stack = contextlib.AsyncExitStack()

    async def press(self, press: Press) -> tuple[bool, str]:
        event_id, payload = mqtt_payload(self.creds, press)
        future = self.waiting[event_id] = asyncio.get_running_loop().create_future()
        await self.client.publish(self.events, payload, qos=1)
        answer = await future
        return True, f"ack {answer[:80]!r}"


# --- the dispatch console ----------------------------------------------------------------------------------


class Console:
    """The leader's dispatch console: logs in through the form, listens on /ws/alarms/, matches each new
    alarm to the press in flight from its device (with the same pressed_at where the device sent one; a
    device has at most one press in flight). An alarm not on the console 10 s after the last press is lost."""

    def __init__(self, host: str, port: int, username: str):
        self.host, self.port, self.username = host, port, username
        self.pending: dict[str, collections.deque[Press]] = collections.defaultdict(collections.deque)
        self.seen: set[int] = set()
        self.unexpected = 0
        self.kinds: collections.Counter[str] = collections.Counter()
        self.stations: list[int] = []
        self.ws = None
        self.task: asyncio.Task | None = None
        self.closed: str = ""
        self.arrived = asyncio.Event()

    async def login(self) -> str:
        conn = HttpConnection(self.host, self.port)
        status, headers, body = await conn.request("GET", "/accounts/login/", {})
        cookies = _cookies(headers)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or token is None or "csrftoken" not in cookies:
            raise RuntimeError(f"login page: HTTP {status}, no CSRF token")
        form = urllib.parse.urlencode(
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1).decode()}
        ).encode()
        status, headers, body = await conn.request(
            "POST",
            "/accounts/login/",
            {
                "content-type": "application/x-www-form-urlencoded",
                "cookie": f"csrftoken={cookies['csrftoken']}",
                "origin": f"http://{self.host}:{self.port}",
                "referer": f"http://{self.host}:{self.port}/accounts/login/",
            },
            form,
        )
        cookies |= _cookies(headers)
        conn.close()
        if status != 302 or "sessionid" not in cookies:
            raise RuntimeError(f"login as {self.username}: HTTP {status} (expected 302 and a session)")
        return "; ".join(f"{k}={v}" for k, v in cookies.items())

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        cookie = await self.login()
        self.ws = await connect(
            f"ws://{self.host}:{self.port}/ws/alarms/",
            origin=f"http://{self.host}:{self.port}",
            additional_headers={"Cookie": cookie},
            max_size=2**22,
        )
        hello = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        if hello.get("type") != "hello":
            raise RuntimeError(f"console: expected hello, got {hello}")
        self.stations = hello["stations"]
        self.task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        try:
            async for raw in self.ws:
                t = now()
                message = json.loads(raw)
                self.kinds[message.get("type", "?")] += 1
                if message.get("type") != "alarm":
                    continue
                payload = message["payload"]
                if payload["id"] in self.seen:  # a later state of the same alarm
                    continue
                self.seen.add(payload["id"])
                press = self._match(payload)
                if press is not None:
                    press.delivered = t
                    self.arrived.set()
                else:
                    self.unexpected += 1
        except Exception as exc:  # noqa: BLE001 - reported with the results
            self.closed = f"{type(exc).__name__}: {exc}"
        else:
            self.closed = f"closed by the server ({self.ws.close_code})"

    def _match(self, payload: dict) -> Press | None:
        """The press this alarm reports: the one with its pressed_at, else the device's oldest in flight."""
        queue = self.pending.get(payload.get("device"))
        if not queue:
            return None
        press = queue[0]
        with contextlib.suppress(TypeError, ValueError):
            pressed = dt.datetime.fromisoformat(payload["pressed_at"])
            press = next(
                (p for p in queue if p.occurred and dt.datetime.fromisoformat(p.occurred) == pressed), press
            )
        queue.remove(press)
        return press

    def expect(self, press: Press) -> None:
        self.pending[press.device].append(press)

    def forget(self, press: Press) -> None:
        """A press the server refused: no alarm will come for it."""
        with contextlib.suppress(ValueError):
            self.pending[press.device].remove(press)

    def waiting(self) -> int:
        return sum(len(q) for q in self.pending.values())

    async def drain(self, timeout: float) -> None:
        """Wait for the alarms still in flight; the rest are lost."""
        deadline = now() + timeout
        while self.waiting() and now() < deadline and not self.closed:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - now()))
        self.pending.clear()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    jar = http.cookies.SimpleCookie()
    for name, value in headers:
        if name == "set-cookie":
            jar.load(value)
    return {k: m.value for k, m in jar.items()}


# --- driving -----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    path: str
    rate: float
    seconds: float
    presses: list[Press] = field(default_factory=list)
    server_cpu: float | None = None
    client_cpu: float = 0.0
    wall: float = 0.0
    note: str = ""

    @property
    def answered(self) -> list[Press]:
        return [p for p in self.presses if p.answered is not None]

    @property
    def answer_ms(self) -> list[float]:
        return [(p.answered - p.sent) * 1000 for p in self.answered]

    @property
    def e2e_ms(self) -> list[float]:
        return [(p.delivered - p.sent) * 1000 for p in self.presses if p.delivered is not None]

    @property
    def delivered_per_s(self) -> float:
        """Alarms the console received per second, from the first send to the last delivery."""
        times = [p.delivered for p in self.presses if p.delivered is not None]
        if len(times) < 2:
            return 0.0
        return len(times) / (max(times) - min(p.sent for p in self.presses))

    @property
    def lost(self) -> int:
        return sum(p.delivered is None for p in self.presses)

    @property
    def late(self) -> int:
        return sum((p.sent - p.due) * 1000 > LATE_MS for p in self.presses)

    @property
    def errors(self) -> collections.Counter:
        return collections.Counter(p.error for p in self.presses if p.error)

    def held(self) -> tuple[bool, str]:
        """Did this step hold: p99 within the goal, nothing lost or refused, no backlog."""
        reasons = []
        if self.errors:
            reasons.append(f"{sum(self.errors.values())} refused/unanswered")
        if self.lost:
            reasons.append(f"{self.lost} lost")
        if self.late > 0.01 * len(self.presses):
            reasons.append(f"backed up ({self.late} sent > {LATE_MS:.0f} ms late)")
        latencies = self.e2e_ms
        if latencies and pct(latencies, 99) > GOAL_MS:
            reasons.append(f"p99 > {GOAL_MS:.0f} ms")
        return not reasons, ", ".join(reasons)


def _cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(
    path: str,
    devices: list[Device],
    rate: float,
    seconds: float,
    console: Console | None,
    server_pid: int | None,
) -> Outcome:
    """Press k is due at t0 + k/rate from device k mod n; each device presses in turn, after its last answer."""
    outcome = Outcome(path, rate, seconds)
    await _gather_limited([d.open() for d in devices], 25)
    total, n = int(rate * seconds), len(devices)
    cpu0, own0 = _cpu_seconds(server_pid), _own_cpu()
    t0 = now() + 0.5

    async def run_device(index: int, device: Device) -> None:
        for k in range(index, total, n):
            press = Press(device.id, t0 + k / rate)
            outcome.presses.append(press)
            if (delay := press.due - now()) > 0:
                await asyncio.sleep(delay)
            press.sent = now()
            if console is not None:
                console.expect(press)
            try:
                ok, detail = await asyncio.wait_for(device.press(press), ANSWER_TIMEOUT)
                if not ok and console is not None:
                    console.forget(press)
            except TimeoutError:  # before OSError: TimeoutError is one
                ok, detail = False, f"no answer in {ANSWER_TIMEOUT:.0f} s"
            except (OSError, asyncio.IncompleteReadError) as exc:
                ok, detail = False, f"{type(exc).__name__}"
            if ok:
                press.answered = now()
                if console is None:
                    press.delivered = press.answered
            else:
                press.error = detail

    await asyncio.gather(*(run_device(i, d) for i, d in enumerate(devices)))
    if console is not None:
        await console.drain(DRAIN_SECONDS)
    outcome.wall = now() - t0
    cpu1 = _cpu_seconds(server_pid)
    if cpu0 is not None and cpu1 is not None:
        outcome.server_cpu = (cpu1 - cpu0) / outcome.wall
    outcome.client_cpu = (_own_cpu() - own0) / outcome.wall
    await _gather_limited([d.close() for d in devices], 50)
    return outcome


async def _gather_limited(coroutines, limit: int) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def one(coroutine):
        async with semaphore:
            await coroutine

    await asyncio.gather(*(one(c) for c in coroutines))


async def probe(
    protocol: str, device: Device, console: Console, wait: float, sent: collections.Counter
) -> str:
    """One press, retried for `wait` seconds: '' when the server answered it and the console got it."""
    deadline, reason = now() + wait, ""
    while now() < deadline:
        press = Press(device.id, now(), now())
        sent[protocol] += 1
        try:
            await asyncio.wait_for(device.open(), 5)
            console.expect(press)
            ok, detail = await asyncio.wait_for(device.press(press), 5)
        except TimeoutError:
            ok, detail = False, NO_ANSWER[protocol]
        except (OSError, asyncio.IncompleteReadError) as exc:
            ok, detail = False, f"{type(exc).__name__} {exc}".strip()
        if ok:
            await console.drain(5)
            await device.close()
            if press.delivered is None:
                return f"answered ({detail}) but the console did not receive the alarm in 5 s"
            return ""
        console.pending.clear()
        reason = detail
        await device.close()
        await asyncio.sleep(1)
    return reason or "no answer"


# --- the run -----------------------------------------------------------------------------------------------


@dataclass
class Servers:
    host: str
    http: int
    dc09: int
    mqtt_host: str
    mqtt_port: int
    mqtt_prefix: str
    echo: dict


def make_devices(protocol: str, creds: list[dict], servers: Servers) -> list[Device]:
    kind = {"http": "http", "mqtt": "mqtt", "dc09": "dc09", "dc09-udp": "dc09"}[protocol]
    mine = [c for c in creds if c["protocol"] == kind]
    if protocol == "http":
        return [HttpDevice(c, servers.host, servers.http) for c in mine]
    if protocol == "mqtt":
        return [MqttDevice(c, servers.mqtt_host, servers.mqtt_port, servers.mqtt_prefix) for c in mine]
    return [Dc09Device(c, servers.host, servers.dc09, udp=protocol == "dc09-udp") for c in mine]


def make_floor(name: str, creds: list[dict], servers: Servers, topic_root: str) -> list[Device]:
    panels = [c for c in creds if c["protocol"] == "dc09"]
    buttons = [c for c in creds if c["protocol"] == "http"]
    if name in ("tcp-echo", "udp-echo"):
        udp = name == "udp-echo"
        port = servers.echo["udp" if udp else "tcp"]
        return [EchoDevice(c, servers.host, port, udp=udp) for c in panels]
    if name == "http-echo":
        return [HttpDevice(c, servers.host, servers.echo["http"], "/echo") for c in buttons]
    buttons = [c for c in creds if c["protocol"] == "mqtt"]
    return [MqttDevice(c, servers.mqtt_host, servers.mqtt_port, f"{topic_root}/echo") for c in buttons]


async def bench(
    args, creds: list[dict], servers: Servers, server_pid: int, topic_root: str, env: dict[str, str]
) -> dict:
    async def settle() -> None:
        if not args.escalation:
            await asyncio.to_thread(run_phase, ["--phase", "settle"], env)
        await asyncio.sleep(1)

    console = Console(servers.host, servers.http, args.console_user)
    await console.connect()
    floors, runs, steps, missing = {}, {}, {}, {}
    probes: collections.Counter[str] = collections.Counter()

    for name in ("tcp-echo", "udp-echo", "http-echo", "mqtt-echo"):
        print(f"  floor {name} at {args.rate:g}/s for {args.seconds:g} s …", file=sys.stderr, flush=True)
        try:
            floors[name] = await drive(
                name, make_floor(name, creds, servers, topic_root), args.rate, args.seconds, None, None
            )
        except (OSError, ImportError) as exc:
            floors[name] = Outcome(name, args.rate, args.seconds, note=f"failed: {exc}")

    for protocol in args.protocols:
        if console.closed:  # the rest would only report "not on the console"
            raise RuntimeError(f"the console WebSocket closed: {console.closed}")
        devices = make_devices(protocol, creds, servers)
        reason = await probe(protocol, devices[0], console, args.probe_seconds, probes)
        if reason:
            missing[protocol] = reason
            print(f"  {protocol}: not measured — {reason}", file=sys.stderr, flush=True)
            continue
        print(f"  {protocol} at {args.rate:g}/s for {args.seconds:g} s …", file=sys.stderr, flush=True)
        runs[protocol] = await drive(protocol, devices, args.rate, args.seconds, console, server_pid)
        await settle()
        if console.closed:
            raise RuntimeError(f"the console WebSocket closed: {console.closed}")
        steps[protocol] = []
        for rate in args.steps if not args.no_max else ():
            print(f"  {protocol} step {rate:g}/s for {args.step_seconds:g} s …", file=sys.stderr, flush=True)
            outcome = await drive(protocol, devices, rate, args.step_seconds, console, server_pid)
            await settle()
            steps[protocol].append(outcome)
            if not outcome.held()[0] or console.closed:
                break
    await console.close()
    return {
        "floors": floors,
        "runs": runs,
        "steps": steps,
        "missing": missing,
        "stations": console.stations,
        "unexpected": console.unexpected,
        "kinds": dict(console.kinds),
        "probes": probes,
    }


# --- report ------------------------------------------------------------------------------------------------


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{pct(values, 50):.1f} / {pct(values, 99):.1f} / {max(values):.1f} ms"


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
    parts = [
        f"{os.cpu_count()} cores",
        model.group(1).strip() if model else platform.processor() or platform.machine(),
    ]
    if mem:
        parts.append(f"{int(mem.group(1)) / 2**20:.0f} GiB")
    return " · ".join(parts)


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    names = ["Django", "channels", "uvicorn", "websockets", "aiomqtt", "uvloop", "psycopg"]
    found = []
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            found.append(f"{name} {version(name)}")
    return f"Python {platform.python_version()} · " + " · ".join(found)


async def broker_version(host: str, port: int) -> str:
    try:
        import aiomqtt

        async with aiomqtt.Client(host, port, identifier=f"bench-version-{uuid.uuid4().hex[:6]}") as client:
            await client.subscribe("$SYS/broker/version")
            async with asyncio.timeout(2):
                async for message in client.messages:
                    return message.payload.decode()
    except Exception:  # noqa: BLE001 - a version line is optional
        return "MQTT broker (version unknown)"
    return "MQTT broker (version unknown)"


def report(args, result: dict, context: dict) -> None:
    floors, runs, steps, missing = result["floors"], result["runs"], result["steps"], result["missing"]
    print()
    print(
        f"machine: {machine()} · {platform.system()} {platform.release()} · {versions()} · "
        f"{context['database']} · {context['broker']}"
        f"{' (private, set_tcp_nodelay true)' if args.own_broker else ' (set_tcp_nodelay as configured)'} · channel layer "
        f"{'Redis' if args.redis_url else 'in-memory (one process)'} · {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(
        f"load average (1 min) at start {context['load_start']}, at end {context['load_end']} · "
        f"demo seed {context['seed_s']:.1f} s, {context['key_units']} key units, "
        f"console as `{args.console_user}` on {len(result['stations'])} stations · "
        f"{args.devices} devices per protocol · "
        + (
            "escalation after 30 s, alarms left open"
            if args.escalation
            else "alarms closed between runs, no escalation within a run"
        )
    )
    print()
    print(
        f"At {args.rate:g} presses/s for {args.seconds:g} s ({int(args.rate * args.seconds):,} presses) from "
        f"{args.devices} devices; answer = send → 201 / ACK / ack topic; end to end = send → alarm on the "
        f"console's WebSocket (floors: send → echo back)."
    )
    print()
    print(
        "| path | presses | answered | on console | lost | late > 50 ms | answer p50 / p99 / max "
        "| end to end p50 / p99 / max | p99 ÷ floor p99 | server CPU | client CPU |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, outcome in floors.items():
        if outcome.note:
            print(f"| {FLOOR_NAMES[name]} | {outcome.note} |||||||||")
            continue
        print(
            f"| {FLOOR_NAMES[name]} | {len(outcome.presses):,} | {len(outcome.answered):,} | — | "
            f"{len(outcome.presses) - len(outcome.answered)} | {outcome.late} | {fmt_ms(outcome.answer_ms)} "
            f"| — | — | — | {outcome.client_cpu:.0%} |"
        )
    for protocol in args.protocols:
        if protocol in missing:
            print(f"| {PROTOCOL_NAMES[protocol]} | not measured: {missing[protocol]} |||||||||")
            continue
        outcome = runs[protocol]
        floor = floors.get(FLOOR_OF[protocol])
        ratio = "—"
        if floor is not None and floor.answer_ms and outcome.e2e_ms:
            ratio = f"{pct(outcome.e2e_ms, 99) / pct(floor.answer_ms, 99):.1f}× ({FLOOR_OF[protocol]})"
        errors = "; ".join(f"{n}× {e}" for e, n in outcome.errors.most_common(3))
        print(
            f"| {PROTOCOL_NAMES[protocol]} | {len(outcome.presses):,} | {len(outcome.answered):,}"
            f"{f' ({errors})' if errors else ''} | {len(outcome.e2e_ms):,} | {outcome.lost} | {outcome.late} | "
            f"{fmt_ms(outcome.answer_ms)} | {fmt_ms(outcome.e2e_ms)} | {ratio} | "
            f"{'—' if outcome.server_cpu is None else f'{outcome.server_cpu:.0%}'} | {outcome.client_cpu:.0%} |"
        )
    for protocol, outcome in runs.items():
        if outcome.e2e_ms:
            p99 = pct(outcome.e2e_ms, 99)
            verdict = "met" if p99 < GOAL_MS and not outcome.lost else "**missed**"
            print(
                f"\n{protocol}: goal p99 < {GOAL_MS:.0f} ms {verdict} (p99 {p99:.1f} ms, {outcome.lost} lost; "
                f"the console received {outcome.delivered_per_s:.1f} alarms/s of {outcome.rate:g}/s sent)"
            )
    if any(steps.values()):
        rates = args.steps
        print()
        print(
            f"Sustained maximum rate: {args.step_seconds:g} s per step; a step holds when end-to-end p99 ≤ "
            f"{GOAL_MS:.0f} ms, nothing is lost or refused, and ≤ 1 % of presses leave > {LATE_MS:.0f} ms late."
        )
        print()
        print("| protocol | " + " | ".join(f"{r:g}/s" for r in rates) + " | sustained max |")
        print("|---|" + "---|" * (len(rates) + 1))
        for protocol, outcomes in steps.items():
            cells, best = [], None
            for rate in rates:
                outcome = next((o for o in outcomes if o.rate == rate), None)
                if outcome is None:
                    cells.append("")
                    continue
                held, why = outcome.held()
                p99 = f"p99 {pct(outcome.e2e_ms, 99):.1f} ms" if outcome.e2e_ms else "nothing delivered"
                cpu = "" if outcome.server_cpu is None else f", server CPU {outcome.server_cpu:.0%}"
                got = f", {outcome.delivered_per_s:.0f}/s delivered"
                cells.append(f"{p99}{got}{cpu} ✓" if held else f"{p99}{got} ✗ {why}")
                if held:
                    best = rate
            top = f"≥ {best:g}/s" if best == rates[-1] else (f"{best:g}/s" if best else f"< {rates[0]:g}/s")
            print(f"| {protocol} | " + " | ".join(cells) + f" | {top} |")
    stored = context.get("stored", {})
    if stored:
        sent = collections.Counter()
        for protocol in runs:
            kind = "dc09" if protocol.startswith("dc09") else protocol
            sent[kind] += len(runs[protocol].presses) + sum(len(o.presses) for o in steps.get(protocol, []))
            sent[kind] += result["probes"][protocol]
        parts = [
            f"{kind}: {n:,} alarms ({events:,} distinct events) for {sent[kind]:,} presses sent"
            for kind, (n, events) in sorted(stored.items())
        ]
        print(f"\nstored in the database: {'; '.join(parts)}")
    if context.get("server_log"):
        print(f"\nserver log: {context['server_log']}")
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(result["kinds"].items()))
    print(f"\nconsole WebSocket messages: {kinds}")
    if result["unexpected"]:
        print(
            f"console: {result['unexpected']} alarms arrived that no press was waiting for (late or repeated)"
        )


# --- process management ------------------------------------------------------------------------------------


def create_database(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        sys.exit(f"database name {name!r}: use lower-case letters, digits and _")
    admin = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def drop_database(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    admin = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {parts.path.lstrip('/')} WITH (FORCE)")


def wait_port(host: str, port: int, timeout: float, process: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return True
        time.sleep(0.2)
    return False


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def forget_session(host: str, port: int, client_id: str) -> None:
    """Remove the server's persistent MQTT session from the shared broker (a clean-session connect)."""
    import aiomqtt

    async with aiomqtt.Client(host, port, identifier=client_id, clean_session=True, timeout=5):
        pass


def start_broker(var: Path) -> tuple[subprocess.Popen, str]:
    """A private Mosquitto that sends at once (set_tcp_nodelay true; the default is false)."""
    port = free_port()
    conf = var / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\n"
    )
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    process = subprocess.Popen(  # noqa: S603 - the Debian broker with our own configuration
        [mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if not wait_port("127.0.0.1", port, 10, process):
        sys.exit("could not start a private mosquitto")
    return process, f"mqtt://127.0.0.1:{port}"


def log_summary(path: Path) -> str:
    """Errors and warnings of the server during the run, the commonest exception first."""
    text = path.read_text(errors="replace") if path.exists() else ""
    errors = text.count("Internal Server Error")
    tracebacks = text.count("Traceback (most recent call last)")
    exceptions = collections.Counter(
        re.findall(r"^([a-zA-Z_.]+(?:Error|Exception)(?::[^\n]{0,100})?)$", text, re.M)
    )
    top = "; ".join(f"{n}× {line}" for line, n in exceptions.most_common(3))
    if not (errors or tracebacks):
        return "no errors"
    return f"{errors} HTTP 500, {tracebacks} tracebacks" + (f" — {top}" if top else "")


def load_average() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/loadavg").read_text().split()[0]
    return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL of a scratch database (dropped and created)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the run at --rate")
    parser.add_argument("--rate", type=float, default=50.0, help="presses per second")
    parser.add_argument("--devices", type=int, default=200, help="devices per protocol")
    parser.add_argument(
        "--protocols", default=",".join(PROTOCOLS), help="comma-separated: " + ",".join(PROTOCOLS)
    )
    parser.add_argument("--steps", default="50,100,200,400,800", help="rates of the maximum-rate search")
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--no-max", action="store_true", help="skip the maximum-rate search")
    parser.add_argument("--console-user", default="leader", help="demo account whose console listens")
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument(
        "--own-broker",
        action="store_true",
        help="start a private Mosquitto with set_tcp_nodelay true on a free port instead of --mqtt-url",
    )
    parser.add_argument(
        "--redis-url",
        help="REDIS_URL for the server (Redis channel layer and cache); give it a database of its own (…/13)",
    )
    parser.add_argument("--probe-seconds", type=float, default=20.0, help="how long to wait for a receiver")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch database, var dir and server log"
    )
    parser.add_argument(
        "--escalation",
        action="store_true",
        help="leave escalation on (30 s) and the alarms open: alarmd's timers then work through every press",
    )
    parser.add_argument("--phase", choices=["setup", "count", "echo", "settle"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--topic-root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    mqtt = urllib.parse.urlsplit(args.mqtt_url)
    mqtt_host, mqtt_port = mqtt.hostname or "127.0.0.1", mqtt.port or 1883

    if args.phase == "setup":
        return phase_setup(args.devices, Path(args.out))
    if args.phase == "count":
        return phase_count()
    if args.phase == "settle":
        return phase_settle()
    if args.phase == "echo":
        return phase_echo(mqtt_host, mqtt_port, args.topic_root)

    args.protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    if unknown := set(args.protocols) - set(PROTOCOLS):
        sys.exit(f"unknown protocols: {', '.join(sorted(unknown))}")
    args.steps = [float(r) for r in args.steps.split(",") if r.strip()]

    var = Path(tempfile.mkdtemp(prefix="doorstep-bench-alarm-"))
    # Topics and client id of this run only: the shared broker's other subscribers (a developer's
    # `doorstep run`, the test suite) must not receive the bench's presses, nor a persistent session of
    # theirs queue them.
    run_id = uuid.uuid4().hex[:8]
    topic_root, mqtt_client = f"doorstep-bench-{run_id}", f"doorstep-bench-{run_id}"
    broker = None
    if args.own_broker:
        broker, args.mqtt_url = start_broker(var)
        mqtt_host, mqtt_port = "127.0.0.1", int(args.mqtt_url.rsplit(":", 1)[1])
    host, http_port, dc09_port = "127.0.0.1", free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "DJANGO_SETTINGS_MODULE": "doorstep.settings",
        "DOORSTEP_ENV": "development",
        "DOORSTEP_VAR_DIR": str(var),
        "DEBUG": "0",
        "DOORSTEP_DC09_HOST": host,
        "DOORSTEP_DC09_PORT": str(dc09_port),
        "DOORSTEP_MQTT_URL": args.mqtt_url,
        "DOORSTEP_MQTT_CLIENT_ID": mqtt_client,
        "DOORSTEP_MQTT_TOPIC_PREFIX": f"{topic_root}/devices",
    }
    if not args.escalation:
        env["ALARM_ESCALATE_SECONDS"] = "3600"  # the longest allowed: no escalation within a run
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    server = echo = None
    finished = False
    context = {"load_start": load_average()}
    try:
        if args.database_url:
            create_database(args.database_url)
        print(f"setting up the scratch database ({var}) …", file=sys.stderr, flush=True)
        context |= run_phase(
            ["--phase", "setup", "--devices", str(args.devices), "--out", str(var / "d.json")], env
        )
        creds = json.loads((var / "d.json").read_text())
        echo = subprocess.Popen(  # noqa: S603 - this very script
            [
                sys.executable,
                __file__,
                "--phase",
                "echo",
                "--topic-root",
                topic_root,
                "--mqtt-url",
                args.mqtt_url,
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        echo_ports = json.loads(echo.stdout.readline())
        log = (var / "server.log").open("w")
        server = subprocess.Popen(  # noqa: S603 - manage.py of this checkout
            [sys.executable, "manage.py", "run", "--host", host, "--port", str(http_port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        if not wait_port(host, http_port, 60, server):
            sys.exit(
                f"the server did not start; see {var / 'server.log'}:\n{(var / 'server.log').read_text()[-3000:]}"
            )
        servers = Servers(
            host, http_port, dc09_port, mqtt_host, mqtt_port, f"{topic_root}/devices", echo_ports
        )

        async def run_all():
            context["broker"] = await broker_version(mqtt_host, mqtt_port)
            return await bench(args, creds, servers, server.pid, topic_root, env)

        with contextlib.suppress(ImportError):
            import uvloop  # the load generator's own overhead, as small as it gets

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        result = asyncio.run(run_all())
        context["load_end"] = load_average()
        context["stored"] = run_phase(["--phase", "count"], env)
        context["server_log"] = log_summary(var / "server.log")
        report(args, result, context)
        if server.poll() is not None:
            print(f"\nthe server exited during the run (code {server.returncode})")
        else:
            finished = True
    finally:
        stop(server)
        stop(echo)
        if broker is None:
            with contextlib.suppress(Exception):
                asyncio.run(forget_session(mqtt_host, mqtt_port, mqtt_client))
        stop(broker)
        if args.keep:
            print(
                f"kept: {var}" + (f" and {args.database_url}" if args.database_url else ""), file=sys.stderr
            )
        else:
            if args.database_url:
                with contextlib.suppress(Exception):
                    drop_database(args.database_url)
            if finished:
                shutil.rmtree(var, ignore_errors=True)
            else:  # the server's log says what went wrong
                print(f"kept the server log of the failed run: {var / 'server.log'}", file=sys.stderr)


if __name__ == "__main__":
    main()
