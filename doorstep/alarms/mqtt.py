"""The MQTT receiver of `alarmd`: signed device events from a broker, acknowledged to the device only after
the commit, and never lost on the way.

Topics (``prefix`` = `MQTT_TOPIC_PREFIX`, default ``doorstep/devices``)
- the device publishes to ``<prefix>/<device_id>/events`` with QoS 1; the receiver subscribes to
  ``<prefix>/+/events`` with QoS 1. The device id is taken from the topic, never from the payload.
- after the commit the receiver publishes, QoS 1, to ``<prefix>/<device_id>/ack``:
  ``{"event_id": ..., "alarm_id": 17}`` for an alarm (panic, silent_panic, test) and
  ``{"event_id": ..., "device_event_id": 42}`` for a device event (heartbeat, tamper, low_battery). A
  retry of the same ``event_id`` is stored once and acknowledged again with the same id.

Payload: a JSON object with the fields of the HTTP body plus two signature fields::

    {"event_id": "b7e1...", "type": "panic", "occurred_at": "2026-11-28T16:30:00+08:00",
     "timestamp": "1795854600", "signature": "<64 hex digits>"}

``timestamp`` is Unix seconds (a JSON string of digits, or an integer); ``signature`` is the hex
HMAC-SHA256, keyed with the device's secret, of the text (UTF-8)::

    timestamp "." device_id "\\n" event_id "\\n" type "\\n" occurred_at

with each value exactly as it is in the JSON and the device id as it is in the topic (`signed_text`). That
is the HTTP rule (``timestamp + "." + message``) with a message that needs no canonical JSON, and that
binds the topic's device id. The checks are the HTTP receiver's (`signing`): an unknown device and a bad
signature are dropped alike and logged alike; a timestamp more than 5 minutes from the server's clock is
dropped (a device re-signs each retry, so a message that waited in the broker longer is brought by the
retry); then the fields (``event_id`` 1-80 characters without control characters, a device ``type``, a
timezone-aware ``occurred_at``). A dropped message gets no acknowledgement on the ack topic.

Never lose a message: the client id is fixed (`MQTT_CLIENT_ID`) and the session persistent (MQTT 3.1.1,
clean session off), so the broker keeps what devices publish while the receiver is away and delivers it
when it comes back. The broker's QoS 1 delivery is acknowledged (PUBACK) only after the commit and the ack
publication: aiomqtt 2.5 has no manual acknowledgement of its own (aiomqtt issue #345), so the receiver
switches on paho-mqtt 2's ``manual_ack`` on the client aiomqtt wraps and calls its ``ack(mid, qos)``. If
the database fails, the receiver drops the connection and reconnects (with backoff, as when the broker
goes away): the broker then sends the unacknowledged message again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import paho.mqtt.client as paho_mqtt

from doorstep.alarms import services, signing
from doorstep.alarms.choices import Protocol
from doorstep.alarms.models import Alarm, AlarmDevice
from doorstep.alarms.services import DEVICE_ID
from doorstep.core.dbwrites import serialized_writes

if TYPE_CHECKING:
    from doorstep.alarms.daemon import DbWorker

log = logging.getLogger("doorstep.alarmd")

MAX_PAYLOAD = 4096
STOP_GRACE_SECONDS = 5.0


def signed_text(device_id: str, event_id: str, event_type: str, occurred_at: str) -> bytes:
    """What follows ``timestamp + "."`` in the signed text of an MQTT event."""
    return "\n".join((device_id, event_id, event_type, occurred_at)).encode()


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://[user[:password]@]host[:1883]`` or ``mqtts://...[:8883]`` (TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
            # Not the URL itself in the message: it may hold the broker's password.
            raise ValueError("an MQTT broker URL is mqtt://[user:password@]host[:port] or mqtts://…")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )

    def __str__(self) -> str:  # for the log: never the password
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def client(self, identifier: str, **options: Any) -> aiomqtt.Client:
        """An aiomqtt client for this broker — MQTT 3.1.1, its credentials, TLS for mqtts:// — for the alarm
        receiver, the speakers' driver and the simulated speakers alike; `options` go to aiomqtt."""
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=identifier,
            protocol=aiomqtt.ProtocolVersion.V311,
            tls_context=ssl.create_default_context() if self.tls else None,
            **options,
        )


@dataclass
class MqttStats:
    messages: int = 0
    alarms: int = 0
    events: int = 0
    repeats: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    connections: int = 0

    def summary(self) -> str:
        dropped = sum(self.dropped.values())
        reasons = "，".join(f"{reason} {count}" for reason, count in sorted(self.dropped.items()))
        return (
            f"MQTT 消息 {self.messages} 条，新报警 {self.alarms} 条，新设备事件 {self.events} 条，"
            f"重发去重 {self.repeats} 条，丢弃 {dropped} 条{f'（{reasons}）' if reasons else ''}，"
            f"连接代理 {self.connections} 次"
        )


class _Dropped(Exception):
    """A message that can never be stored: acknowledged to the broker, nothing sent to the device."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


class MqttReceiver:
    """Subscribes to ``<prefix>/+/events`` and keeps reconnecting until `stop`."""

    def __init__(
        self,
        *,
        url: str,
        db: DbWorker,
        client_id: str,
        prefix: str = "doorstep/devices",
        keepalive: int = 30,
        min_backoff: float = 1.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.broker = BrokerAddress.parse(url)
        self.db = db
        self.client_id = client_id
        self.prefix = prefix.rstrip("/")
        self.keepalive = keepalive
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.stats = MqttStats()
        self.subscribed = threading.Event()  # set while subscribed (tests wait on it from another thread)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._busy = False
        self._wake = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="alarmd-mqtt")

    async def stop(self) -> None:
        """Finish the message being committed (and acknowledge it), then disconnect."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        if not self._busy:
            self._task.cancel()
        _done, late = await asyncio.wait({self._task}, timeout=STOP_GRACE_SECONDS)
        for task in late:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.subscribed.clear()
        log.info("MQTT 接收已停止：%s", self.stats.summary())

    async def _run(self) -> None:
        backoff = self.min_backoff
        while not self._stopping:
            try:
                await self._session()
            except Exception as exc:
                if self.subscribed.is_set():  # it was up: the first retry comes soon again
                    backoff = self.min_backoff
                if isinstance(exc, aiomqtt.MqttError):
                    log.warning(
                        "MQTT 代理 %s 连接中断或不可用（%s），%.1f 秒后重连", self.broker, exc, backoff
                    )
                else:
                    log.exception("MQTT 接收出错，%.1f 秒后重连（未确认的消息由代理重新投递）", backoff)
            finally:
                self.subscribed.clear()
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), backoff)
            backoff = min(backoff * 2, self.max_backoff)

    def _client(self) -> aiomqtt.Client:
        client = self.broker.client(
            self.client_id,
            clean_session=False,  # a persistent session: the broker keeps messages while we are away
            keepalive=self.keepalive,
        )
        # Not offered by aiomqtt 2.5 itself (its issue #345): PUBACK only after the commit, by hand.
        client._client.manual_ack_set(True)
        return client

    async def _session(self) -> None:
        client = self._client()
        async with client:
            self.stats.connections += 1
            topic = f"{self.prefix}/+/events"
            await client.subscribe(topic, qos=1)
            sock = client._client.socket()
            if sock is not None:  # our acks and PUBACKs go out at once, not held back by Nagle
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.subscribed.set()
            log.info("MQTT 接收已连接 %s，订阅 %s（QoS 1，持久会话 %s）", self.broker, topic, self.client_id)
            async for message in client.messages:
                self._busy = True
                try:
                    await self._handle(client, message)
                finally:
                    self._busy = False
                if self._stopping:
                    return

    async def _handle(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        self.stats.messages += 1
        topic = str(message.topic)
        device_id = topic[len(self.prefix) + 1 : -len("/events")]
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        try:
            ack_topic, ack = await self.db.run(self._receive, device_id, payload)
        except _Dropped as exc:
            self.stats.dropped[exc.reason] = self.stats.dropped.get(exc.reason, 0) + 1
            log.warning("MQTT 消息已丢弃（主题 %s）：%s%s", topic[:120], exc.reason, exc.detail)
        else:
            # Queued (QoS 1, paho resends it within the session) without waiting for the broker's PUBACK: the
            # alarm is committed, and waiting here put every next message behind a broker round trip (up to
            # 40 ms with Mosquitto's default Nagle). A crash before it goes out: the device's retry is stored
            # once and acknowledged again.
            info = client._client.publish(ack_topic, ack, qos=1)
            if info.rc != paho_mqtt.MQTT_ERR_SUCCESS:
                raise aiomqtt.MqttCodeError(info.rc, "could not queue the device's ack")
        # Only now does the broker hear that the message arrived; a crash before this makes it send again.
        client._client.ack(message.mid, message.qos)

    def _receive(self, device_id: str, payload: bytes) -> tuple[str, bytes]:
        """In the database thread: check and store; the ack to publish, or _Dropped."""
        if len(payload) > MAX_PAYLOAD:
            raise _Dropped("消息过长")
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            raise _Dropped("不是合法的 JSON") from None
        if not isinstance(data, dict):
            raise _Dropped("不是 JSON 对象")
        timestamp = data.get("timestamp")
        if isinstance(timestamp, int) and not isinstance(timestamp, bool):
            timestamp = str(timestamp)
        sent = data.get("signature")

        def text(name: str) -> str:
            value = data.get(name)
            return value if isinstance(value, str) else ""

        device = (
            AlarmDevice.objects.filter(device_id=device_id, active=True, protocol=Protocol.MQTT).first()
            if DEVICE_ID.match(device_id)
            else None
        )
        message = signed_text(device_id, text("event_id"), text("type"), text("occurred_at"))
        if not (
            isinstance(timestamp, str)
            and isinstance(sent, str)
            and signing.signature_ok(device, timestamp, message, sent)
        ):
            raise _Dropped("设备认证失败")  # the same for an unknown device and a bad signature
        assert device is not None
        skew = signing.skew_seconds(timestamp)
        if skew is None:
            raise _Dropped("设备认证失败")
        if skew > signing.MAX_SKEW_SECONDS:
            raise _Dropped("时间戳与服务器时间相差超过5分钟", f"（设备 {device_id}）")
        fields, errors = signing.check_event_fields(data)
        if fields is not None and any(ord(c) < 32 or ord(c) == 127 for c in fields["event_id"]):
            fields, errors = None, {"event_id": "event_id 不能含控制字符"}
        if fields is None:
            raise _Dropped("字段不合法", f"（设备 {device_id}：{'；'.join(errors.values())}）")
        with serialized_writes():
            row, created = services.receive_event(
                device,
                event_id=fields["event_id"],
                event_type=fields["type"],
                occurred_at=fields["occurred_at"],
                protocol=Protocol.MQTT,
            )
        if not created:
            self.stats.repeats += 1
        elif isinstance(row, Alarm):
            self.stats.alarms += 1
        else:
            self.stats.events += 1
        key = "alarm_id" if isinstance(row, Alarm) else "device_event_id"
        log.log(
            logging.DEBUG if row.event_type == "heartbeat" else logging.INFO,
            "MQTT %s：设备 %s 事件 %s → %s #%s（%s），已提交并回复",
            "收到" if created else "重发",
            device_id,
            fields["event_id"][:80],
            "报警" if isinstance(row, Alarm) else "设备事件",
            row.pk,
            row.event_type,
        )
        ack = json.dumps({"event_id": fields["event_id"], key: row.pk}, separators=(",", ":"))
        return f"{self.prefix}/{device_id}/ack", ack.encode()
