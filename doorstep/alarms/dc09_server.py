"""The SIA DC-09 receiver of `alarmd` (报警接收机): TCP and UDP on one port; a frame is ACKed only after what
it reports has been committed.

Transport
- TCP: a connection may carry any number of frames, one after another, each ``<LF>`` ... ``<CR>``, split
  across reads however the network likes. Bytes before an ``<LF>`` are skipped; a frame longer than
  `dc09.MAX_FRAME_BYTES` without its ``<CR>`` closes the connection. Frames of one connection are handled
  in order, one at a time (a panel waits for each answer anyway); a connection idle for ``idle_seconds``
  is closed; at most ``max_connections`` at once.
- UDP: one frame per datagram, answered from the same port to the sender's address.

Each frame goes through `dc09.handle` (CRC, decryption with the account's AES key read from the database,
timestamp window, decoding); its events are stored through `services.receive_event`, all events of a
frame in one transaction, in a thread of the receiver's own (`DbWorker`). Only after the commit is the ACK
sent. A frame that is not ACKed: NAK (timestamp) as `dc09.handle` answers (it never sends a DUH); no
answer at all for a bad CRC, a wrong key, an unknown account (also a plain frame from an account no active
device has: an ACK would tell the panel that an event nobody stored was received), or when the database
fails (the panel retries).

Events → what is stored (`event_type_of`)
=====================================================  ==========================================
panic, hold-up, duress (SIA PA/HA, Contact ID 120/121)  alarm ``panic``
Contact ID 122 (silent panic)                           alarm ``silent_panic``
restore of any of those (SIA PR/PH/HR/HH, CID 3xxx)     device event of the same type, restore=True:
                                                        the button was reset, nothing to dispatch
periodic test (SIA RP, CID 602), NULL link test         device event ``heartbeat`` (code ``NULL`` for
                                                        a link test)
tamper (TA/TR, 137/144), low battery (YT/YR/XT/XR,      device event ``tamper`` / ``low_battery`` with
302/384)                                                the restore flag: supervision raises or clears
                                                        the device alert
anything else, and data that cannot be read             device event ``unknown`` with the code as
                                                        received: a device alert for a human
=====================================================  ==========================================

Event ids: a retry of a frame carries the same sequence number, but sequence numbers wrap at 9999, so the
sequence alone cannot be a key for ever. Each event of a frame is keyed
``dc09:<seq>:<index in the frame>:<digest of token, kind, code, zone, area, restore>`` and stored with
`services.receive_event(..., repeat_window=...)`: the same key from the same device within the window
(`DC09_REPEAT_WINDOW_SECONDS`, default 3 minutes: longer than a panel's retries, and short because a
panel that restarts its counter inside it would have a new press taken for a retry) is the retry and is
stored once; after it, the key is a new event. The digest means a panel that restarted its counter and reuses a sequence number within the
window for a *different* event still gets that event stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from doorstep.alarms import dc09, services
from doorstep.alarms.choices import EventType, Protocol
from doorstep.alarms.dc09 import EventKind
from doorstep.alarms.models import Alarm, AlarmDevice
from doorstep.core.dbwrites import serialized_writes

if TYPE_CHECKING:
    from doorstep.alarms.daemon import DbWorker

log = logging.getLogger("doorstep.alarmd")

READ_SIZE = 4096
MAX_UDP_IN_FLIGHT = 1000
STOP_GRACE_SECONDS = 5.0


class PortInUseError(OSError):
    """The DC-09 port (TCP or UDP) is taken by another program."""


class FrameTooLongError(ValueError):
    """More than a frame's worth of bytes without the closing CR."""


# --- what a frame's events become ---------------------------------------------------------------------


def event_type_of(event: dc09.Event) -> str:
    """The EventType stored for a decoded DC-09 event (table in the module docstring)."""
    if event.kind == EventKind.PANIC:
        return EventType.SILENT_PANIC if event.code == "122" else EventType.PANIC
    return {
        EventKind.HEARTBEAT: EventType.HEARTBEAT,
        EventKind.LINK_TEST: EventType.HEARTBEAT,
        EventKind.TAMPER: EventType.TAMPER,
        EventKind.LOW_BATTERY: EventType.LOW_BATTERY,
    }.get(event.kind, EventType.UNKNOWN)


def wire_code(event: dc09.Event) -> str:
    """The code as a person would read it off the panel: ``PA/001``, ``120/015``, ``NULL``."""
    return event.code + (f"/{event.zone}" if event.zone else "")


def event_key(frame: dc09.Frame, index: int, event: dc09.Event) -> str:
    """``dc09:<seq>:<index>:<digest>``: the same for a retry of the frame, different for another event."""
    content = f"{frame.token}|{event.kind}|{event.code}|{event.zone}|{event.area}|{int(event.restore)}"
    digest = hashlib.sha256(content.encode("utf-8", "replace")).hexdigest()[:10]
    return f"dc09:{frame.sequence}:{index}:{digest}"


# --- framing ------------------------------------------------------------------------------------------


class FrameSplitter:
    """Cuts a TCP byte stream into ``<LF>`` ... ``<CR>`` frames, whatever the reads' boundaries."""

    def __init__(self, max_frame: int = dc09.MAX_FRAME_BYTES) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames = []
        while (end := self._buffer.find(b"\r")) >= 0:
            start = self._buffer.rfind(b"\n", 0, end)  # a frame holds no LF: the last one before CR opens it
            if start >= 0:
                frames.append(bytes(self._buffer[start : end + 1]))
            del self._buffer[: end + 1]
        start = self._buffer.rfind(b"\n")
        if start < 0:
            self._buffer.clear()  # noise between frames
        else:
            del self._buffer[:start]
            if len(self._buffer) > self.max_frame:
                raise FrameTooLongError(f"more than {self.max_frame} bytes without CR")
        return frames


# --- the receiver -------------------------------------------------------------------------------------


@dataclass
class Dc09Stats:
    """Counts since the receiver started, for the log."""

    frames: int = 0
    acked: int = 0
    naks: int = 0
    unanswered: int = 0
    alarms: int = 0
    events: int = 0
    repeats: int = 0
    connections: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"DC-09 帧 {self.frames} 个（ACK {self.acked}，NAK {self.naks}，"
            f"不应答 {self.unanswered}），新报警 {self.alarms} 条，新设备事件 {self.events} 条，"
            f"重发去重 {self.repeats} 条，TCP 连接 {self.connections} 个"
        )


@dataclass
class _Connection:
    task: asyncio.Task[Any]
    busy: bool = False


class Dc09Receiver:
    """SIA DC-09 over TCP and UDP on ``host:port`` (port 0: any free port, the same for both)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        db: DbWorker,
        idle_seconds: float = 180.0,
        repeat_window: dt.timedelta = dt.timedelta(minutes=3),
        max_connections: int = 4096,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.host, self.requested_port, self.port = host, port, 0
        self.db = db
        self.idle_seconds = idle_seconds
        self.repeat_window = repeat_window
        self.max_connections = max_connections
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.stats = Dc09Stats()
        self._tcp: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._connections: dict[asyncio.Task[Any], _Connection] = {}
        self._datagrams: set[asyncio.Task[Any]] = set()
        self._stopping = False

    # --- life ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind TCP and UDP; raises PortInUseError when either is taken."""
        loop = asyncio.get_running_loop()
        attempts = 5 if self.requested_port == 0 else 1
        for attempt in range(attempts):
            try:
                tcp = await asyncio.start_server(self._serve_tcp, self.host, self.requested_port)
            except OSError as exc:
                raise self._in_use(exc, self.requested_port) from exc
            port = tcp.sockets[0].getsockname()[1]
            try:
                udp, _protocol = await loop.create_datagram_endpoint(
                    lambda: _UdpProtocol(self), local_addr=(self.host, port)
                )
            except OSError as exc:
                tcp.close()
                await tcp.wait_closed()
                if exc.errno == errno.EADDRINUSE and attempt + 1 < attempts:
                    continue  # port 0: TCP got a port whose UDP twin is taken; draw again
                raise self._in_use(exc, port) from exc
            self._tcp, self._udp, self.port = tcp, udp, port
            break
        log.info("SIA DC-09 接收机已监听 %s:%s（TCP 与 UDP）", self.host, self.port)

    def _in_use(self, exc: OSError, port: int) -> OSError:
        if exc.errno != errno.EADDRINUSE:
            return exc
        return PortInUseError(
            errno.EADDRINUSE,
            _(
                "SIA DC-09 端口 %(host)s:%(port)s 已被占用（TCP 或 UDP），报警接收机无法启动。"
                "请停止占用该端口的程序，或用 DOORSTEP_DC09_PORT 换一个端口。"
            )
            % {"host": self.host, "port": port},
        )

    async def stop(self) -> None:
        """Stop listening; frames being committed finish and get their answer, idle connections close."""
        self._stopping = True
        if self._tcp is not None:
            self._tcp.close()
        for connection in list(self._connections.values()):
            if not connection.busy:
                connection.task.cancel()
        pending = set(self._connections) | self._datagrams
        if pending:
            _done, late = await asyncio.wait(pending, timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._tcp is not None:
            await self._tcp.wait_closed()
        if self._udp is not None:
            self._udp.close()
        log.info("SIA DC-09 接收机已停止：%s", self.stats.summary())

    # --- one frame ----------------------------------------------------------------------------------

    async def process(self, raw: bytes, peer: Any = None) -> bytes | None:
        """Answer one frame: its events are committed before this returns an ACK."""
        response, _stored = await self._answer(raw, peer)
        return response

    async def _answer(self, raw: bytes, peer: Any) -> tuple[bytes | None, bool]:
        """(the answer, False when the database failed and nothing could be stored)."""
        self.stats.frames += 1
        try:
            response = await self.db.run(self._receive, raw, peer)
        except Exception:
            # The database failed (after one retry on a new connection): no answer, the panel sends again.
            log.exception("DC-09 帧（来自 %s）入库失败，未应答，等待设备重发", _peer(peer))
            self.stats.unanswered += 1
            return None, False
        if response is None:
            self.stats.unanswered += 1
        else:
            token = response[9:14]
            if token == b'"NAK"':
                self.stats.naks += 1
            else:
                self.stats.acked += 1
        return response, True

    def _receive(self, raw: bytes, peer: Any) -> bytes | None:
        """In the database thread: decode, commit, and return the answer (None: say nothing)."""
        devices: dict[str, AlarmDevice | None] = {}

        def key_for(account: str) -> bytes | None:
            device = devices[account] = _device_for(account)
            return bytes.fromhex(device.aes_key) if device is not None and device.aes_key else None

        now = self.clock()
        result = dc09.handle(raw, now, key_for)
        frame = result.frame
        if result.error is not None:
            name = type(result.error).__name__
            self.stats.errors[name] = self.stats.errors.get(name, 0) + 1
            account = frame.account if frame is not None else None
            # The error's text names the account and what was wrong, never a key or the decrypted data.
            log.warning(
                "DC-09 帧未受理（来自 %s，账号 %s）：%s，%s",
                _peer(peer),
                account or "-",
                result.error,
                "回复 " + result.error.answer if result.error.answer else "不应答",
            )
            return result.response
        assert frame is not None  # handle gives a frame with every ACK
        if frame.account is None:
            log.warning("DC-09 帧（来自 %s）没有账号，无法入库，不应答", _peer(peer))
            return None
        device = devices[frame.account] if frame.account in devices else _device_for(frame.account)
        if device is None:
            log.warning("DC-09 帧来自未登记的账号 %s（%s），不应答", frame.account, _peer(peer))
            return None
        occurred_at = frame.timestamp or now
        stored = []
        # every event of the frame, or none (then no ACK and the panel retries)
        with serialized_writes(), transaction.atomic():
            for index, event in enumerate(result.events):
                row, created = services.receive_event(
                    device,
                    event_id=event_key(frame, index, event),
                    event_type=event_type_of(event),
                    occurred_at=occurred_at,
                    protocol=Protocol.DC09,
                    code=wire_code(event),
                    restore=event.restore,
                    repeat_window=self.repeat_window,
                )
                stored.append((row, created, event))
        for row, created, event in stored:
            kind = "报警" if isinstance(row, Alarm) else "设备事件"
            if not created:
                self.stats.repeats += 1
            elif isinstance(row, Alarm):
                self.stats.alarms += 1
            else:
                self.stats.events += 1
            level = logging.DEBUG if row.event_type == EventType.HEARTBEAT else logging.INFO
            log.log(
                level,
                "DC-09 %s：设备 %s 账号 %s 序号 %s 代码 %s → %s #%s（%s），已提交，回复 ACK",
                "重发" if not created else "收到",
                device.device_id,
                frame.account,
                frame.sequence,
                wire_code(event),
                kind,
                row.pk,
                row.event_type + ("，恢复" if event.restore else ""),
            )
        return result.response

    # --- TCP ----------------------------------------------------------------------------------------

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        if self._stopping or len(self._connections) >= self.max_connections:
            log.warning("DC-09 连接过多（%s 个），拒绝 %s", len(self._connections), _peer(peer))
            writer.close()
            return
        connection = self._connections[task] = _Connection(task)
        self.stats.connections += 1
        splitter = FrameSplitter()
        try:
            while not self._stopping:
                try:
                    chunk = await asyncio.wait_for(reader.read(READ_SIZE), self.idle_seconds)
                except TimeoutError:
                    log.debug("DC-09 连接 %s 空闲超过 %s 秒，已关闭", _peer(peer), self.idle_seconds)
                    break
                if not chunk:
                    break
                try:
                    frames = splitter.feed(chunk)
                except FrameTooLongError:
                    log.warning("DC-09 连接 %s 发来超长数据（无帧尾），已断开", _peer(peer))
                    break
                stored = True
                for raw in frames:
                    connection.busy = True
                    try:
                        response, stored = await self._answer(raw, peer)
                        if response is not None:
                            writer.write(response)
                            await writer.drain()
                    finally:
                        connection.busy = False
                    if not stored:
                        break
                if not stored:
                    # Hang up rather than leave the panel waiting out its answer timeout: it reconnects and
                    # sends again at once, or fails over to its backup path.
                    break
        except (ConnectionError, OSError):
            pass  # the panel hung up; an unanswered frame will be sent again
        finally:
            del self._connections[task]
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    # --- UDP ----------------------------------------------------------------------------------------

    def _datagram(self, data: bytes, addr: Any) -> None:
        if self._stopping or len(self._datagrams) >= MAX_UDP_IN_FLIGHT:
            log.warning("DC-09 UDP 待处理过多，丢弃来自 %s 的数据报（设备会重发）", _peer(addr))
            return
        task = asyncio.get_running_loop().create_task(self._answer_datagram(data, addr))
        self._datagrams.add(task)
        task.add_done_callback(self._datagrams.discard)

    async def _answer_datagram(self, data: bytes, addr: Any) -> None:
        response = await self.process(data, addr)
        if response is not None and self._udp is not None and not self._udp.is_closing():
            self._udp.sendto(response, addr)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: Dc09Receiver) -> None:
        self.receiver = receiver

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.receiver._datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("DC-09 UDP 错误：%s", exc)


def _device_for(account: str) -> AlarmDevice | None:
    return AlarmDevice.objects.filter(sia_account=account.upper(), active=True).first()


def _peer(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer) if peer else "-"
