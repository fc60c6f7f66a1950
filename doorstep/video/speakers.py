"""The broadcast drivers (广播驱动): send one warning to one wireless IP speaker and say whether it played.

Plain data in, plain data out, no database: the broadcast worker turns a delivery into a `SpeakerTarget` and
a `Message`, awaits ``driver.send(...)`` and stores the `Outcome`; retries and back-off are the worker's.
``send`` never raises for a speaker or network fault: the failure is an `Outcome` with a Chinese detail for
the operator.

The body a speaker receives is the same for both drivers (`body_for`), UTF-8 JSON::

    {"id": "<delivery id>", "text": "前方监控区域，禁止攀爬", "repeat": 2, "volume": 80,
     "audio": "<base64 WAV>", "audio_format": "wav"}

``volume`` only when set; ``audio`` and ``audio_format`` only when there is audio and the speaker plays
audio it is sent (``wants_audio``); otherwise it speaks ``text`` itself.

MQTT: the speaker subscribes to its topic (``address``) and, once it has played the message, publishes
``{"id": "<delivery id>", "status": "played" | "busy" | "error", "detail": "..."}`` to ``<address>/ack``.
HTTP: the speaker takes a POST of the body at its URL and answers 2xx once played (an optional JSON
``{"detail": "..."}`` is shown to the operator).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import logging
import math
import secrets
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Self
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from doorstep.video.choices import Driver

if TYPE_CHECKING:
    from doorstep.alarms.mqtt import BrokerAddress

log = logging.getLogger("doorstep.video.speakers")

DRIVERS = tuple(Driver.values)  # ("mqtt", "http")
DRIVER_CHOICES = Driver.choices  # [("mqtt", "MQTT"), ("http", "HTTP 接口")]

MAX_TOPIC_LENGTH = 200
MAX_URL_LENGTH = 500
MAX_DETAIL_LENGTH = 200  # what a speaker may put in front of the operator
MAX_ACK_BYTES = 4096
MAX_RESPONSE_BYTES = 65536
CONNECT_TIMEOUT = 5.0  # seconds for the TCP connection to the broker (paho's connect_timeout)
SUBSCRIBE_TIMEOUT = 10.0
KEEPALIVE = 30
PENDING_CALLS_WARNING = 1000


@dataclass(frozen=True)
class SpeakerTarget:
    """Where a delivery goes: one speaker (广播喇叭) and how it is reached."""

    speaker_id: int
    driver: str  # "mqtt" | "http"
    address: str  # mqtt: the topic the speaker listens on; http: the speaker's URL
    wants_audio: bool  # the speaker plays audio it is sent (else it speaks the text itself)


@dataclass(frozen=True)
class Message:
    """What one delivery says (播报内容)."""

    delivery_id: str  # unique id of this delivery (a UUID string); the speaker echoes it in its ack
    text: str
    repeat: int = 1
    audio: bytes | None = None  # WAV bytes when TTS was available
    volume: int | None = None


@dataclass(frozen=True)
class Outcome:
    """How a send ended; ``detail`` is Chinese and shown to the operator."""

    delivered: bool
    detail: str


class SpeakerDriver(Protocol):
    async def send(self, target: SpeakerTarget, message: Message, *, timeout: float) -> Outcome: ...


class StartStop:
    """``async with x:`` starts x and stops it at the end (the drivers, the simulated speakers)."""

    async def start(self) -> Any:
        return True

    async def stop(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


def driver_for(name: str, drivers: dict[str, SpeakerDriver]) -> SpeakerDriver:
    try:
        return drivers[name]
    except KeyError:
        raise ValueError("未知的广播驱动") from None


def validate_address(driver: str, address: str) -> str:
    """The address, stripped, if it suits the driver; else ValueError with a Chinese message."""
    if driver not in DRIVERS:
        raise ValueError("未知的广播驱动")
    address = (address or "").strip()
    if not address:
        raise ValueError("MQTT 主题不能为空" if driver == "mqtt" else "HTTP 地址不能为空")
    if any(ord(c) < 32 or ord(c) == 127 for c in address):
        raise ValueError("地址不能含控制字符")
    if driver == "mqtt":
        if len(address) > MAX_TOPIC_LENGTH:
            raise ValueError(f"MQTT 主题不能超过 {MAX_TOPIC_LENGTH} 个字符")
        if "+" in address or "#" in address:
            raise ValueError("MQTT 主题不能含通配符 + 或 #")
        if address.startswith("/") or address.endswith("/"):
            raise ValueError("MQTT 主题不能以 / 开头或结尾")
        if address.startswith("$"):  # $SYS/… belongs to the broker
            raise ValueError("MQTT 主题不能以 $ 开头")
        return address
    if len(address) > MAX_URL_LENGTH:
        raise ValueError(f"HTTP 地址不能超过 {MAX_URL_LENGTH} 个字符")
    if any(c.isspace() for c in address):
        raise ValueError("HTTP 地址不能含空格")
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        raise ValueError("HTTP 地址格式不正确") from None
    if parts.scheme not in {"http", "https"}:
        raise ValueError("HTTP 地址应以 http:// 或 https:// 开头")
    if not parts.hostname:
        raise ValueError("HTTP 地址缺少主机名")
    return address


def body_for(target: SpeakerTarget, message: Message) -> dict[str, Any]:
    """The JSON object a speaker receives (both drivers)."""
    body: dict[str, Any] = {"id": message.delivery_id, "text": message.text, "repeat": message.repeat}
    if message.volume is not None:
        body["volume"] = message.volume
    if message.audio is not None and target.wants_audio:
        body["audio"] = base64.b64encode(message.audio).decode("ascii")
        body["audio_format"] = "wav"
    return body


def encode_body(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _seconds(timeout: float) -> str:
    return f"{timeout:g}"


def _clean_detail(value: object) -> str:
    """A speaker's own words, safe to show: text only, no control characters, not too long."""
    if not isinstance(value, str):
        return ""
    return "".join(c for c in value if ord(c) >= 32 and ord(c) != 127).strip()[:MAX_DETAIL_LENGTH]


def outcome_of_ack(ack: dict[str, Any]) -> Outcome:
    status, detail = ack.get("status"), _clean_detail(ack.get("detail"))
    if status == "played":
        return Outcome(True, "已确认播放")
    if status == "busy":
        return Outcome(False, detail or "喇叭忙，未播放")
    if status == "error":
        return Outcome(False, detail or "喇叭报告播放出错")
    return Outcome(False, f"喇叭回复无法识别：{_clean_detail(str(status))[:40]}")


def _broker_failure(exc: BaseException) -> str:
    """Why the broker could not be reached, in Chinese (aiomqtt keeps only the text of the OSError)."""
    if isinstance(exc, aiomqtt.MqttCodeError):
        code = exc.rc.value if isinstance(exc.rc, ReasonCode) else exc.rc
        if code in (4, 134):
            return "无法连接消息服务器：用户名或密码错误"
        if code in (5, 135):
            return "无法连接消息服务器：未授权"
        return f"无法连接消息服务器：代理拒绝连接（{exc}）"
    text = str(exc)
    for needle, chinese in (
        ("refused", "连接被拒绝"),
        ("timed out", "连接超时"),
        ("Name or service not known", "找不到主机"),
        ("nodename nor servname", "找不到主机"),
        ("Temporary failure in name resolution", "找不到主机"),
        ("unreachable", "网络不可达"),
        ("CERTIFICATE_VERIFY_FAILED", "证书校验失败"),
    ):
        if needle in text:
            return f"无法连接消息服务器：{chinese}"
    return f"无法连接消息服务器：{text or type(exc).__name__}"[:MAX_DETAIL_LENGTH]


class _ConnectionLost(Exception):
    """The broker connection dropped while a send waited for its ack."""


class MqttSpeakerDriver(StartStop):
    """One MQTT connection shared by all sends (QoS 1, clean session).

    ``send`` subscribes to ``<address>/ack`` (once per topic and connection, kept), publishes the body to
    ``address``, and waits for the ack with the delivery's id; one listener task hands each ack to the
    send waiting for it. The connection is made on `start` or on the first send, and again on the next
    send after it dropped (sends waiting for an ack when it drops end at once as not delivered).

    A driver belongs to the event loop it first runs in (its connection and listener live there): one
    driver per worker loop, started once, not one per ``asyncio.run``.

    The client id is ``client_id`` plus a random suffix: two processes (or a worker and a test) with one
    id would take the session from each other in turn, and nothing here needs a persistent session.
    """

    def __init__(self, url: str, *, client_id: str = "doorstep-broadcast") -> None:
        # Imported here, not at the top: doorstep.alarms.mqtt brings the alarm services and models with
        # it, and this module is imported by the video app's own modules (choices for the forms).
        from doorstep.alarms.mqtt import BrokerAddress

        self.broker: BrokerAddress = BrokerAddress.parse(url)
        self.client_id = f"{client_id}-{secrets.token_hex(4)}"
        self.connections = 0  # successful connections so far (a reconnection counts again)
        self._client: aiomqtt.Client | None = None
        self._connecting: asyncio.Task[aiomqtt.Client] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._subscriptions: dict[str, asyncio.Task[None]] = {}
        self._waiters: dict[tuple[str, str], list[asyncio.Future[dict[str, Any]]]] = {}
        self._stopped = False

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def start(self) -> bool:
        """Connect now (not only at the first send). False if the broker is unreachable: sends retry."""
        self._stopped = False
        try:
            await self._connection()
        except (aiomqtt.MqttError, OSError) as exc:
            log.warning("广播：无法连接 MQTT 代理 %s（%s），发送时重试", self.broker, exc)
            return False
        return True

    async def stop(self) -> None:
        self._stopped = True
        if self._connecting is not None and not self._connecting.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._connecting)
        client = self._client
        if client is not None:
            await self._drop(client, "广播驱动已停止")
            with contextlib.suppress(aiomqtt.MqttError, OSError, TimeoutError):
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await client.__aexit__(None, None, None)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def send(self, target: SpeakerTarget, message: Message, *, timeout: float) -> Outcome:
        if self._stopped:
            return Outcome(False, "广播驱动已停止")
        ack_topic = f"{target.address}/ack"
        key = (ack_topic, message.delivery_id)
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        stage = "connect"
        try:
            async with asyncio.timeout(timeout):
                client = await self._connection()
                stage = "subscribe"
                await self._subscribe(client, ack_topic)
                # Waiting before publishing: a quick speaker's ack may come before the broker's PUBACK.
                self._waiters.setdefault(key, []).append(waiter)
                stage = "publish"
                await client.publish(
                    target.address, encode_body(body_for(target, message)), qos=1, timeout=math.inf
                )
                stage = "ack"
                ack = await waiter
        except TimeoutError:
            if stage == "connect":
                return Outcome(False, f"无法连接消息服务器：连接超时（{_seconds(timeout)} 秒）")
            if stage == "ack":
                return Outcome(False, f"未收到确认（{_seconds(timeout)} 秒）")
            return Outcome(False, f"消息服务器无响应（{_seconds(timeout)} 秒）")
        except _ConnectionLost as exc:
            return Outcome(False, str(exc))
        except (aiomqtt.MqttError, OSError) as exc:
            if stage == "connect":
                return Outcome(False, _broker_failure(exc))
            return Outcome(False, f"与消息服务器的连接中断：{exc}"[:MAX_DETAIL_LENGTH])
        except Exception as exc:  # a bug here must not stop the worker's other deliveries
            log.exception("广播：发送到 %s 时出错", target.address[:120])
            return Outcome(False, f"发送出错：{type(exc).__name__}")
        finally:
            waiting = self._waiters.get(key)
            if waiting is not None and waiter in waiting:
                waiting.remove(waiter)
                if not waiting:
                    del self._waiters[key]
        return outcome_of_ack(ack)

    async def _connection(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        # Concurrent sends share one attempt; a send that gives up (its timeout) does not cancel it.
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.get_running_loop().create_task(self._connect(), name="speaker-mqtt")
            self._connecting.add_done_callback(_retrieve)
        return await asyncio.shield(self._connecting)

    async def _connect(self) -> aiomqtt.Client:
        client = self.broker.client(
            self.client_id, clean_session=True, keepalive=KEEPALIVE, timeout=SUBSCRIBE_TIMEOUT
        )
        client._client.connect_timeout = CONNECT_TIMEOUT
        # aiomqtt warns past 10 publishes awaiting their PUBACK; a broadcast to 100 speakers is normal here.
        client.pending_calls_threshold = PENDING_CALLS_WARNING
        await client.__aenter__()
        sock = client._client.socket()
        if isinstance(sock, socket.socket):  # the ack wait is short: no 40 ms Nagle delays on our packets
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = client
        self._subscriptions = {}
        self.connections += 1
        self._listener = asyncio.get_running_loop().create_task(self._listen(client), name="speaker-acks")
        log.info("广播：已连接 MQTT 代理 %s（客户端 %s）", self.broker, self.client_id)
        return client

    async def _subscribe(self, client: aiomqtt.Client, topic: str) -> None:
        task = self._subscriptions.get(topic)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = asyncio.get_running_loop().create_task(self._subscribe_once(client, topic))
            task.add_done_callback(_retrieve)
            self._subscriptions[topic] = task
        await asyncio.shield(task)

    @staticmethod
    async def _subscribe_once(client: aiomqtt.Client, topic: str) -> None:
        granted = await client.subscribe(topic, qos=1)
        if any(isinstance(code, ReasonCode) and code.is_failure for code in granted or ()):
            raise aiomqtt.MqttError(f"代理拒绝订阅 {topic}")

    async def _listen(self, client: aiomqtt.Client) -> None:
        reason = "与消息服务器的连接中断，未收到确认"
        try:
            async for message in client.messages:
                self._dispatch(str(message.topic), message.payload)
        except aiomqtt.MqttError as exc:
            if self._client is client:  # not the disconnection of `stop`
                log.warning("广播：与 MQTT 代理 %s 的连接中断（%s），下次发送时重连", self.broker, exc)
        finally:
            if self._client is client:
                await self._drop(client, reason)
                with contextlib.suppress(aiomqtt.MqttError, OSError):
                    await client.__aexit__(None, None, None)  # only releases it: it is disconnected

    async def _drop(self, client: aiomqtt.Client, reason: str) -> None:
        """Forget a connection: the next send makes a new one; sends waiting for an ack end now."""
        if self._client is client:
            self._client = None
            self._subscriptions = {}
        waiters, self._waiters = self._waiters, {}
        for futures in waiters.values():
            for future in futures:
                if not future.done():
                    future.set_exception(_ConnectionLost(reason))

    def _dispatch(self, topic: str, payload: object) -> None:
        if not isinstance(payload, bytes | bytearray) or len(payload) > MAX_ACK_BYTES:
            log.warning("广播：忽略主题 %s 上过长或非字节的确认", topic[:120])
            return
        try:
            ack = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            log.warning("广播：忽略主题 %s 上不是 JSON 的确认", topic[:120])
            return
        if not isinstance(ack, dict) or not isinstance(ack.get("id"), str):
            log.warning("广播：忽略主题 %s 上缺少 id 的确认", topic[:120])
            return
        futures = self._waiters.pop((topic, ack["id"]), [])
        if not futures:  # late (after the send's timeout) or a repeat: nobody waits any more
            log.info("广播：确认 %s（主题 %s）已无人等待", ack["id"][:80], topic[:120])
        for future in futures:
            if not future.done():
                future.set_result(ack)


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a shared task's exception as seen: the senders who awaited it may all have given up."""
    if not task.cancelled():
        task.exception()


HTTP_HEADERS = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Doorstep-broadcast"}
HTTP_THREADS = 32  # POSTs at once (a broadcast to many HTTP speakers goes out in parallel)


class HttpSpeakerDriver(StartStop):
    """POSTs the body as JSON to the speaker's URL; 2xx means played, a redirect is not followed (it would
    turn the POST into a GET without the body) and no proxy is used. Each POST runs in a thread of the
    driver's own pool (not the event loop's default one, which the web's live pictures use), and is cut short
    at its timeout: a speaker that accepts and then dawdles does not keep a thread."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None

    async def stop(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)

    async def send(self, target: SpeakerTarget, message: Message, *, timeout: float) -> Outcome:
        try:
            url = validate_address("http", target.address)
        except ValueError as exc:
            return Outcome(False, str(exc))
        if self._executor is None:
            self._executor = ThreadPoolExecutor(HTTP_THREADS, thread_name_prefix="speaker-http")
        post = _Post(url, encode_body(body_for(target, message)), timeout)
        try:
            # The socket timeout is per operation; this one bounds the whole exchange.
            return await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(self._executor, post.run), timeout
            )
        except TimeoutError:
            return Outcome(False, f"无响应（{_seconds(timeout)} 秒）")
        finally:
            post.abort()  # a no-op once it has ended; otherwise its thread is freed now


class _Post:
    """One POST to a speaker, in a worker thread; `abort` (from any thread) ends it at once."""

    def __init__(self, url: str, body: bytes, timeout: float) -> None:
        self.url, self.body, self.timeout = url, body, timeout
        self._lock = threading.Lock()
        self._connection: http.client.HTTPConnection | None = None
        self._aborted = False

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            connection = self._connection
        sock = connection.sock if connection is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # a blocked read returns: the thread ends

    def run(self) -> Outcome:
        parts = urlsplit(self.url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)  # explicit: http.client would read "::1" as host ":"
        if https:
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname, port, timeout=self.timeout)
        try:
            with self._lock:
                if self._aborted:
                    return Outcome(False, f"无响应（{_seconds(self.timeout)} 秒）")
                self._connection = connection
            connection.connect()
            with self._lock:  # aborted while connecting: there was no socket to shut yet
                if self._aborted:
                    return Outcome(False, f"无响应（{_seconds(self.timeout)} 秒）")
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("POST", path, body=self.body, headers=HTTP_HEADERS)
            response = connection.getresponse()
            status, raw = response.status, response.read(MAX_RESPONSE_BYTES)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, not HTTP, cut short, …
            return Outcome(False, _http_failure(exc, self.timeout))
        finally:
            connection.close()
        if not 200 <= status < 300:
            return Outcome(False, f"HTTP {status}")
        detail = ""
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            answer = json.loads(raw)
            if isinstance(answer, dict):
                detail = _clean_detail(answer.get("detail"))
        return Outcome(True, detail or "已送达")


def _http_failure(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"无响应（{_seconds(timeout)} 秒）"
    if isinstance(exc, ConnectionRefusedError):
        return "无法连接：连接被拒绝"
    if isinstance(exc, socket.gaierror):
        return "无法连接：找不到主机"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "无法连接：证书校验失败"
    if isinstance(exc, ssl.SSLError):
        return "无法连接：TLS 握手失败"
    if isinstance(exc, ConnectionError):
        return "连接被对方断开"
    if isinstance(exc, http.client.HTTPException):
        return "喇叭的回复不是合法的 HTTP"
    if isinstance(exc, OSError) and exc.strerror:
        return f"无法连接：{exc.strerror}"
    return f"无法连接：{exc or type(exc).__name__}"[:MAX_DETAIL_LENGTH]
