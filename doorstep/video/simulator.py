"""Simulated IP speakers (模拟广播喇叭) for tests, the demo and benchmarks: they speak the protocol of
`doorstep.video.speakers` and record what they were sent.

- `SimulatedMqttSpeaker`: subscribes to its topic on a real broker and acks each message on
  ``<topic>/ack`` (``played``, or ``busy``/``error``; or never, with ``ack=False``). Async `start`/`stop`
  (or ``async with``); from sync code, ``with speaker.run_in_thread(): ...`` runs it on a loop of its own.
- `SimulatedHttpSpeaker`: an HTTP server on 127.0.0.1 (a free port) taking the POSTed body; ``with``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import aiomqtt

from doorstep.alarms.mqtt import BrokerAddress
from doorstep.video.speakers import StartStop

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
STATUSES = ("played", "busy", "error")
DEFAULT_DETAILS = {"busy": "喇叭正在播放其他广播", "error": "功放故障"}


class SimulatedMqttSpeaker(StartStop):
    """A speaker on ``topic``. ``messages``: each body received, with ``received_at`` (time.time())."""

    def __init__(
        self,
        topic: str,
        *,
        url: str = DEFAULT_MQTT_URL,
        ack: bool = True,
        status: str = "played",
        detail: str | None = None,
        delay: float = 0.0,
        on_message: Callable[[dict[str, Any], str | None], None] | None = None,
    ) -> None:
        if status not in STATUSES:
            raise ValueError(f"status is one of {STATUSES}, got {status!r}")
        self.topic = topic
        self.broker = BrokerAddress.parse(url)
        self.ack, self.status, self.delay = ack, status, delay
        self.detail = detail if detail is not None else DEFAULT_DETAILS.get(status)
        self.on_message = on_message  # called with (body, the status acked or None)
        self.messages: list[dict[str, Any]] = []
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._acks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Connected and subscribed when this returns: a message published afterwards reaches it."""
        client = self.broker.client(f"sim-speaker-{secrets.token_hex(6)}")
        await client.__aenter__()
        try:
            await client.subscribe(self.topic, qos=1)
        except BaseException:
            await client.__aexit__(None, None, None)
            raise
        self._client = client
        self._task = asyncio.get_running_loop().create_task(self._serve(client), name="simulated-speaker")

    async def stop(self) -> None:
        for task in (self._task, *self._acks):
            if task is not None:
                task.cancel()
        for task in (self._task, *self._acks):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                    await task
        self._task, self._acks = None, set()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def _serve(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            try:
                body = json.loads(message.payload)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            if not isinstance(body, dict):
                continue
            self.messages.append({**body, "received_at": time.time()})
            if self.on_message is not None:
                self.on_message(body, self.status if self.ack else None)
            if self.ack and isinstance(body.get("id"), str):
                task = asyncio.get_running_loop().create_task(self._answer(client, body["id"]))
                self._acks.add(task)
                task.add_done_callback(self._acks.discard)

    async def _answer(self, client: aiomqtt.Client, delivery_id: str) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)  # "playing"
        ack: dict[str, Any] = {"id": delivery_id, "status": self.status}
        if self.detail:
            ack["detail"] = self.detail
        await client.publish(f"{self.topic}/ack", json.dumps(ack, ensure_ascii=False), qos=1)

    @contextlib.contextmanager
    def run_in_thread(self, timeout: float = 10) -> Iterator[Self]:
        """Run the speaker on an event loop in a thread of its own, for sync code (demos, benchmarks)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="simulated-speaker", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout)
            try:
                yield self
            finally:
                asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            loop.close()


class SimulatedHttpSpeaker:
    """A speaker's HTTP interface at `url`: records each POSTed JSON body (``messages``, with
    ``received_at``) and answers ``status`` — 200 ``{"detail": "已播放"}`` by default — after ``delay``."""

    def __init__(
        self, *, status: int = 200, detail: str = "已播放", delay: float = 0.0, port: int = 0
    ) -> None:
        self.status, self.detail, self.delay = status, detail, delay
        self.messages: list[dict[str, Any]] = []
        self.content_types: list[str] = []
        self._release = threading.Event()  # cuts a delay short at stop
        speaker = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with contextlib.suppress(ValueError):
                    body = json.loads(raw)
                    if isinstance(body, dict):
                        speaker.messages.append({**body, "received_at": time.time()})
                speaker.content_types.append(self.headers.get("Content-Type", ""))
                if speaker.delay:
                    speaker._release.wait(speaker.delay)
                answer = json.dumps({"detail": speaker.detail}, ensure_ascii=False).encode()
                with contextlib.suppress(OSError):  # the driver may have given up and gone
                    self.send_response(speaker.status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/speak"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="simulated-http-speaker"
        )
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
