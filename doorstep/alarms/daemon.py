"""`alarmd`, the alarm daemon: the SIA DC-09 receiver (TCP and UDP), the MQTT receiver and the supervision
tick, together in one asyncio event loop.

`doorstep alarmd` runs it alone; `doorstep run` runs it in the event loop of the web server, so that what
the receivers commit reaches the dispatch consoles through the in-process channel layer (its queues belong
to one event loop: an alarm published from a loop of its own would not reliably reach them). With
`REDIS_URL` set, a separate `alarmd` process reaches every web process through Redis. Both run it under
`alarms.leadership`: only the process holding the alarmd lock of the database starts these parts.

Database work never runs on the event loop: each part has one thread of its own (`DbWorker`), entered
through asgiref's `sync_to_async`, so that `transaction.on_commit` publishing (`async_to_sync`) runs on
this loop. One thread per part keeps a part's work in order, keeps SQLite to one writer per part, and
keeps a slow supervision tick from delaying an alarm.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.utils import timezone

from doorstep.alarms import supervision
from doorstep.alarms.dc09_server import Dc09Receiver, PortInUseError
from doorstep.alarms.mqtt import MqttReceiver

log = logging.getLogger("doorstep.alarmd")

T = TypeVar("T")

SUMMARY_SECONDS = 600
DC09_RETRY_SECONDS = 5.0  # without strict start, a taken DC-09 port is asked for again this often


class DbWorker:
    """One thread for one part's database work. A call whose connection broke (the database restarted) is
    tried once more on a new connection; after any database error the thread's connections are closed, so
    the next call starts clean."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await sync_to_async(_guarded, thread_sensitive=False, executor=self._executor)(fn, *args)

    async def close(self) -> None:
        """Close the thread's database connections and end the thread."""
        await sync_to_async(connections.close_all, thread_sensitive=False, executor=self._executor)()
        self._executor.shutdown(wait=False)


def _guarded(fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except (InterfaceError, OperationalError):
        connections.close_all()
        log.warning("数据库连接异常，重新连接后重试一次")
        try:
            return fn(*args)
        except DatabaseError:
            connections.close_all()
            raise
    except DatabaseError:
        connections.close_all()
        raise


class Alarmd:
    """The receivers and the supervision loop. ``start`` binds and launches them; ``stop`` lets what is
    being committed finish, then closes everything."""

    def __init__(
        self,
        *,
        dc09: bool | None = None,
        dc09_host: str | None = None,
        dc09_port: int | None = None,
        mqtt_url: str | None = None,
        mqtt_client_id: str | None = None,
        mqtt_prefix: str | None = None,
        supervise: bool = True,
        tick_seconds: float = 1.0,
        strict: bool = True,
    ) -> None:
        self.dc09_enabled = settings.DC09_ENABLED if dc09 is None else dc09
        self.dc09_host = settings.DC09_HOST if dc09_host is None else dc09_host
        self.dc09_port = settings.DC09_PORT if dc09_port is None else dc09_port
        self.mqtt_url = settings.MQTT_URL if mqtt_url is None else mqtt_url
        self.mqtt_client_id = mqtt_client_id or settings.MQTT_CLIENT_ID
        self.mqtt_prefix = mqtt_prefix or settings.MQTT_TOPIC_PREFIX
        self.supervise = supervise
        self.tick_seconds = tick_seconds
        self.strict = strict
        self.dc09: Dc09Receiver | None = None
        self.mqtt: MqttReceiver | None = None
        self.dc09_error: PortInUseError | None = None
        self.ticks = 0
        self.tick_errors = 0
        self._workers: list[DbWorker] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._dc09_retry: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def _worker(self, name: str) -> DbWorker:
        worker = DbWorker(name)
        self._workers.append(worker)
        return worker

    async def start(self, *, strict: bool | None = None) -> None:
        """Start every part. With ``strict`` (by default the constructor's), a taken DC-09 port raises
        PortInUseError; without, it is logged as an error, kept in ``dc09_error``, and the other parts (and
        the web server) run on, and the port is asked for again every DC09_RETRY_SECONDS in the background
        (after a takeover on the same host, the previous holder may still be closing it)."""
        strict = self.strict if strict is None else strict
        self._stop.clear()
        if self.dc09_enabled:
            receiver = Dc09Receiver(
                host=self.dc09_host,
                port=self.dc09_port,
                db=self._worker("alarmd-dc09"),
                idle_seconds=settings.DC09_IDLE_SECONDS,
                repeat_window=dt.timedelta(seconds=settings.DC09_REPEAT_WINDOW_SECONDS),
            )
            try:
                await receiver.start()
                self.dc09 = receiver
            except PortInUseError as exc:
                self.dc09_error = exc
                if strict:
                    await self._close_workers()
                    raise
                log.error("%s", exc.strerror)
                self._dc09_retry = asyncio.get_running_loop().create_task(
                    self._bind_dc09_later(receiver), name="alarmd-dc09-retry"
                )
        if self.mqtt_url:
            self.mqtt = MqttReceiver(
                url=self.mqtt_url,
                db=self._worker("alarmd-mqtt"),
                client_id=self.mqtt_client_id,
                prefix=self.mqtt_prefix,
            )
            await self.mqtt.start()
        else:
            log.info("未设置 DOORSTEP_MQTT_URL：MQTT 接收未启用")
        loop = asyncio.get_running_loop()
        if self.supervise:
            self._tasks.append(loop.create_task(self._supervise(self._worker("alarmd-tick")), name="tick"))
        self._tasks.append(loop.create_task(self._summaries(), name="alarmd-summary"))
        log.info(
            "alarmd 已启动：DC-09 %s，MQTT %s，监督循环%s",
            f"{self.dc09_host}:{self.dc09.port}" if self.dc09 else "未启用",
            str(self.mqtt.broker) if self.mqtt else "未启用",
            f"每 {self.tick_seconds:g} 秒" if self.supervise else "未启用",
        )

    async def stop(self) -> None:
        """No new work from the first instant — the supervision tick cancelled, the MQTT receiver told to stop
        (it will not reconnect: after a lost lock, a reconnect with the fixed client id would kick the new
        active process off the broker), the DC-09 listener closed — then what is in flight (an MQTT message,
        DC-09 frames being committed) is finished and answered, both at the same time."""
        self._stop.set()
        for task in self._tasks:
            task.cancel()  # the tick's thread finishes its round; `_close_workers` below waits for it
        if self._dc09_retry is not None:
            await asyncio.gather(self._dc09_retry, return_exceptions=True)  # returns at once on `_stop`
            self._dc09_retry = None
        parts = [part for part in (self.mqtt, self.dc09) if part is not None]  # MQTT first
        results = await asyncio.gather(*(part.stop() for part in parts), return_exceptions=True)
        for part, result in zip(parts, results, strict=True):
            if isinstance(result, BaseException):
                log.error("%s 停止时出错", type(part).__name__, exc_info=result)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self._close_workers()
        log.info("alarmd 已停止：%s", self.summary())

    async def _bind_dc09_later(self, receiver: Dc09Receiver) -> None:
        """Ask for the taken DC-09 port again until it is ours or alarmd stops."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), DC09_RETRY_SECONDS)
            if self._stop.is_set():
                return
            try:
                await receiver.start()
            except OSError:
                continue
            if self._stop.is_set():  # stopped while binding
                await receiver.stop()
                return
            self.dc09, self.dc09_error = receiver, None
            log.info("SIA DC-09 端口已可用，接收机已启动")
            return

    async def _close_workers(self) -> None:
        for worker in self._workers:
            await worker.close()
        self._workers.clear()

    def summary(self) -> str:
        parts = []
        if self.dc09 is not None:
            parts.append(self.dc09.stats.summary())
        if self.mqtt is not None:
            parts.append(self.mqtt.stats.summary())
        if self.supervise:
            parts.append(f"监督 {self.ticks} 次（出错 {self.tick_errors} 次）")
        return "；".join(parts) or "无"

    async def _supervise(self, db: DbWorker) -> None:
        """Every ``tick_seconds``: `supervision.tick(now)` (escalation, lateness, heartbeats, drills) in its
        own thread; an error is logged and the next round comes all the same."""
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                await db.run(supervision.tick, timezone.now())
                self.ticks += 1
            except Exception:
                self.tick_errors += 1
                log.exception("监督任务出错（第 %s 次出错），下一秒继续", self.tick_errors)
            delay = max(0.0, self.tick_seconds - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _summaries(self) -> None:
        while True:
            await asyncio.sleep(SUMMARY_SECONDS)
            log.info("alarmd 运行中：%s", self.summary())
