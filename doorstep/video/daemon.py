"""`videod`, the video worker: a reader thread per enabled camera (capture.py), the broadcast sender, and
the minute tick (tours fall due or are missed, cameras down too long go offline) — in one asyncio loop.

`doorstep videod` runs it alone (with `--group` for one camera group: one worker per group in
production); `doorstep run` runs it in the web server's loop, so that what it commits reaches the consoles
through the in-process channel layer, as alarmd does. Database work runs in `DbWorker` threads
(alarms/daemon.py): one for what the cameras report, one for the sender, one for the tick.

Cameras are re-read from the database every few seconds: a camera added, changed (its row's
`updated_at`, which zone changes touch too), disabled or removed is started, restarted or stopped. A
restarted camera's new reader opens the stream only once the old one has let go of it (cheap cameras take
one session); a camera no longer read loses its live picture, so that nobody takes a frozen one for live.
The sender claims due deliveries (services.claim_due_deliveries: a lease, so two senders never send one
twice at once), sends them through the speaker's driver, and records each outcome; a failure is retried
with back-off by the same claim. It wakes at once when a broadcast is committed (realtime.wake_sender),
and looks every second anyway. Each send has a deadline of its own (text to speech, then the driver): a
driver that hangs costs that attempt, not the sender.

Stopping: the readers are stopped and joined together; everything they reported (an event seen at the last
moment too) is stored before the database threads close; the sends under way finish; the cameras this
worker read show "未连接：视频工作进程已停止" until a worker reads them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from doorstep.alarms.daemon import DbWorker
from doorstep.core.dbwrites import serialized_writes
from doorstep.core.errors import ServiceError
from doorstep.core.ids import ascii_digits
from doorstep.video import services, tts
from doorstep.video.capture import READ_TIMEOUT_MS, CameraConfig, CameraReader, Report
from doorstep.video.detection import DetectorConfig, Zone
from doorstep.video.models import Broadcast, BroadcastDelivery, Camera, DetectionZone, Speaker
from doorstep.video.realtime import SENDER_GROUP
from doorstep.video.speakers import (
    HttpSpeakerDriver,
    Message,
    MqttSpeakerDriver,
    Outcome,
    SpeakerDriver,
    SpeakerTarget,
    driver_for,
)

log = logging.getLogger("doorstep.videod")

T = TypeVar("T")

JOIN_SECONDS = READ_TIMEOUT_MS / 1000 + 2  # a reader blocked in a read ends within its read timeout
STORE_SECONDS = 30.0  # at stop, what the readers reported is stored within this (the database is away: lost)
STOP_ATTEMPTS = 3  # at stop, an event whose commit fails is tried this often, then logged as lost
SEND_MARGIN = 5.0  # a send's deadline beyond the speaker's ack time and text to speech
AUDIO_CACHE = 64  # broadcasts whose audio is kept (a broadcast to many speakers is synthesised once)
WAKE_BACKOFF = (1, 2, 5, 15, 60)


def send_seconds() -> float:
    """How long one send may take in all: text to speech, then the driver (which has its own timeout)."""
    return tts.TIMEOUT_SECONDS + settings.VIDEO_ACK_SECONDS + SEND_MARGIN


def lease_seconds() -> float:
    """How long a claimed delivery is this sender's: a send, and the commit of its outcome, fit in it."""
    return send_seconds() + 15


def load_cameras(group: str | None = None, refused: dict[int, str] | None = None) -> dict[int, CameraConfig]:
    """The enabled cameras (of one group: its id, or its name in every station), as reader configs. A camera
    that cannot be read as it is set up (a video file in production, invalid detection settings) is left
    out, with the reason in `refused`."""
    qs = Camera.objects.filter(enabled=True)
    if group:
        qs = qs.filter(group_id=int(group)) if ascii_digits(group) else qs.filter(group__name=group)
    refused = {} if refused is None else refused
    zones: dict[int, list[Zone]] = {}
    for zone in DetectionZone.objects.filter(camera__in=qs).order_by("camera_id", "name"):
        try:
            zones.setdefault(zone.camera_id, []).append(Zone(zone.name, tuple(tuple(p) for p in zone.points)))
        except (TypeError, ValueError) as exc:
            refused[zone.camera_id] = f"检测区域“{zone.name}”无效：{exc}"
    configs = {}
    for camera in qs:
        if camera.pk in refused:
            continue
        try:
            services.check_stream_url(camera.stream_url)  # a file:// camera is never read in production
            detector = DetectorConfig(
                zones=tuple(zones.get(camera.pk, ())),
                min_area=camera.min_area,
                min_duration=camera.min_duration,
                cooldown=camera.cooldown,
                active_from=camera.active_from,
                active_to=camera.active_to,
            )
        except (ServiceError, ValueError) as exc:
            refused[camera.pk] = str(exc)
            continue
        configs[camera.pk] = CameraConfig(
            camera_id=camera.pk,
            url=camera.stream_url,
            fps=camera.fps,
            detect=camera.detect,
            detector=detector,
            version=camera.updated_at.isoformat(),
        )
    return configs


def serialized(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn` with SQLite's writers queued in Python (core/dbwrites.py): the worker's threads, alarmd's and
    the web's writers take turns instead of failing on a locked database. A no-op on PostgreSQL."""
    with serialized_writes():
        return fn(*args, **kwargs)


def handle_report(report: Report) -> None:
    """Store what a reader saw (runs in the worker's database thread, in order per worker)."""
    if report.kind == "seen":
        services.camera_seen(report.camera_id, report.at, width=report.width, height=report.height)
    elif report.kind == "trouble":
        services.camera_trouble(report.camera_id, report.detail, report.at)
    elif report.kind == "motion" and report.detection is not None:
        services.record_motion(report.camera_id, report.detection, report.jpeg)


def _join_all(readers: list[CameraReader], seconds: float) -> list[CameraReader]:
    """Wait for the (stopped) readers together, at most `seconds` in all; those still running."""
    deadline = time.monotonic() + seconds
    for reader in readers:
        reader.join(max(0.0, deadline - time.monotonic()))
    return [reader for reader in readers if reader.is_alive()]


class Videod:
    def __init__(
        self,
        *,
        group: str | None = None,
        cameras: bool = True,
        sender: bool = True,
        tick_seconds: float = 30.0,
        reload_seconds: float = 5.0,
        poll_seconds: float = 1.0,
        mqtt_url: str | None = None,
    ) -> None:
        self.group = group
        self.with_cameras = cameras
        self.with_sender = sender
        self.tick_seconds = tick_seconds
        self.reload_seconds = reload_seconds
        self.poll_seconds = poll_seconds
        self.mqtt_url = settings.VIDEO_MQTT_URL if mqtt_url is None else mqtt_url
        self.readers: dict[int, CameraReader] = {}
        self.reports: asyncio.Queue[Report | None] | None = None
        self.mqtt: MqttSpeakerDriver | None = None
        self.http = HttpSpeakerDriver()
        self.sent = 0
        self.events = 0
        self.reloads = 0  # camera lists read so far
        self.lost = 0  # events that could not be stored at the stop (logged one by one)
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._store_task: asyncio.Task[None] | None = None
        self._sender_task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._workers: list[DbWorker] = []
        self._audio: dict[int, asyncio.Task[bytes | None]] = {}
        self._retiring: list[CameraReader] = []  # stopped readers that may still be in a blocking read
        self._read: set[int] = set()  # every camera this worker has read (released at the stop)
        self._refused: dict[int, str] = {}

    def _worker(self, name: str) -> DbWorker:
        worker = DbWorker(name)
        self._workers.append(worker)
        return worker

    async def start(self) -> None:
        self._stop.clear()
        loop = self._loop = asyncio.get_running_loop()
        if self.with_cameras:
            self.reports = asyncio.Queue()
            self._cameras_db = self._worker("videod-cameras")
            await self._reload(self._cameras_db)
            self._tasks.append(loop.create_task(self._reload_loop(self._cameras_db), name="videod-reload"))
            self._store_task = loop.create_task(
                self._store_reports(self._worker("videod-reports")), name="videod-store"
            )
        if self.with_sender:
            if self.mqtt_url:
                self.mqtt = MqttSpeakerDriver(self.mqtt_url, client_id="doorstep-videod")
                # Connected now, in the background: a broker that is away is in the log from the start
                # (not only at the first broadcast); sends connect again by themselves.
                self._tasks.append(loop.create_task(self.mqtt.start(), name="videod-mqtt"))
            else:
                log.warning("未设置 DOORSTEP_VIDEO_MQTT_URL：MQTT 音柱的广播将报告失败")
            self._sender_task = loop.create_task(
                self._send_loop(self._worker("videod-sender")), name="videod-sender"
            )
            self._tasks.append(loop.create_task(self._listen_wake(), name="videod-wake"))
        self._tasks.append(loop.create_task(self._tick_loop(self._worker("videod-tick")), name="videod-tick"))
        log.info(
            "videod 已启动：%s 台摄像机%s，广播发送%s",
            len(self.readers),
            f"（分组“{self.group}”）" if self.group else "",
            "已启用" if self.with_sender else "未启用",
        )

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        # The readers first, all at once: what they report until they end is still stored below.
        readers = [*self.readers.values(), *self._retiring]
        self.readers.clear()
        self._retiring.clear()
        for reader in readers:
            reader.stop()
        still = await asyncio.to_thread(_join_all, readers, JOIN_SECONDS)
        if still:
            log.warning("%s 个摄像机读取线程未能及时结束（阻塞在视频流上）", len(still))
        if self._store_task is not None and self.reports is not None:
            self.reports.put_nowait(None)  # the end: everything queued before it is stored first
            try:
                await asyncio.wait_for(self._store_task, STORE_SECONDS)
            except TimeoutError:
                left = sum(1 for r in self._pending_reports() if r.kind == "motion")
                self.lost += left
                log.error("停止时数据库无响应：%s 个入侵事件未能保存", left)
        if self._sender_task is not None:  # it claims nothing more once stopped
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sender_task, STORE_SECONDS)
        if self._sending:
            await asyncio.wait(self._sending, timeout=send_seconds() + 1)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.mqtt is not None:
            await self.mqtt.stop()
        await self.http.stop()
        if self._read:
            try:
                await self._cameras_db.run(
                    serialized, services.release_cameras, sorted(self._read), timezone.now()
                )
            except Exception:
                log.exception("停止时更新摄像机状态出错")
        for worker in self._workers:
            await worker.close()
        self._workers.clear()
        log.info("videod 已停止：事件 %s 个，广播送达尝试 %s 次", self.events, self.sent)

    # --- cameras -------------------------------------------------------------------------------------
    def _report(self, report: Report) -> None:
        """Called from a reader thread: hand the report to the loop (which stores it in order)."""
        with contextlib.suppress(RuntimeError):  # the loop has closed: the worker is gone
            self._loop.call_soon_threadsafe(self.reports.put_nowait, report)

    def _pending_reports(self) -> list[Report]:
        pending = []
        while self.reports is not None and not self.reports.empty():
            report = self.reports.get_nowait()
            if report is not None:
                pending.append(report)
        return pending

    def _load(self) -> dict[int, CameraConfig]:
        """In the database thread: the cameras to read. One that cannot be read as it is set up shows why
        on its page (as trouble: it goes offline with an alert, since nobody watches it)."""
        refused: dict[int, str] = {}
        configs = load_cameras(self.group, refused)
        for camera_id, reason in refused.items():
            if self._refused.get(camera_id) != reason:
                log.warning("摄像机 %s 不能读取：%s", camera_id, reason)
                services.camera_trouble(camera_id, reason, timezone.now())
        self._refused = refused
        return configs

    async def _reload(self, db: DbWorker) -> None:
        configs = await db.run(serialized, self._load)
        self.reloads += 1
        self._retiring = [reader for reader in self._retiring if reader.is_alive()]
        replaced: dict[int, CameraReader] = {}
        for camera_id in list(self.readers):
            reader = self.readers[camera_id]
            if configs.get(camera_id) != reader.config:
                reader.forget_picture = camera_id not in configs  # disabled or removed: no frozen picture
                reader.stop()
                del self.readers[camera_id]
                self._retiring.append(reader)
                replaced[camera_id] = reader
        for camera_id, config in configs.items():
            if camera_id not in self.readers:
                reader = CameraReader(config, self._report, predecessor=replaced.get(camera_id))
                self.readers[camera_id] = reader
                self._read.add(camera_id)
                reader.start()

    async def _reload_loop(self, db: DbWorker) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.reload_seconds)
            if self._stop.is_set():
                break
            try:
                await self._reload(db)
            except Exception:
                log.exception("读取摄像机列表出错，稍后重试")

    async def _store_reports(self, db: DbWorker) -> None:
        """Store the reports in the order they came, until the end marker (None) of the stop. An event
        whose commit fails goes to the back of the queue and is tried again (after the others, not in their
        way): events carry their own times, and a camera's status reports keep their order."""
        assert self.reports is not None
        while True:
            report = await self.reports.get()
            if report is None:
                if self.reports.empty():
                    return
                self.reports.put_nowait(None)  # events put back for another try come before the end
                continue
            try:
                await db.run(serialized, handle_report, report)
            except Exception:
                if report.kind != "motion":
                    log.exception("保存摄像机状态出错")
                    continue
                report.failures += 1
                if self._stop.is_set() and report.failures >= STOP_ATTEMPTS:
                    self.lost += 1
                    log.exception(
                        "入侵事件未能保存：摄像机 %s，区域“%s”，%s",
                        report.camera_id,
                        report.detection.zone if report.detection else "",
                        report.at.isoformat(),
                    )
                    continue
                log.exception("保存入侵事件出错（第 %s 次），稍后重试", report.failures)
                await asyncio.sleep(min(report.failures, 5) if not self._stop.is_set() else 0.2)
                self.reports.put_nowait(report)
            else:
                if report.kind == "motion":
                    self.events += 1

    # --- broadcast sender ----------------------------------------------------------------------------
    async def _listen_wake(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        failures = 0
        while not self._stop.is_set():
            channel = None
            wait = 0
            try:
                channel = await layer.new_channel()
                await layer.group_add(SENDER_GROUP, channel)
                failures = 0
                while True:
                    await layer.receive(channel)
                    self._wake.set()
            except Exception as exc:  # Redis away: the sender still looks every second
                wait = WAKE_BACKOFF[min(failures, len(WAKE_BACKOFF) - 1)]
                failures += 1
                log.warning(
                    "无法接收广播唤醒（%s），%s 秒后重试；待发广播仍每秒查询", type(exc).__name__, wait
                )
            finally:
                if channel is not None:
                    with contextlib.suppress(Exception):
                        await layer.group_discard(SENDER_GROUP, channel)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)

    async def _send_loop(self, db: DbWorker) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                due = await db.run(
                    lambda: serialized(
                        services.claim_due_deliveries, timezone.now(), lease_seconds=lease_seconds()
                    )
                )
            except Exception:
                log.exception("读取待发送广播出错")
                due = []
            for delivery in due:  # claimed: sent even when the worker is stopping (stop waits for them)
                task = asyncio.get_running_loop().create_task(self._send_one(db, delivery))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    def _drivers(self) -> dict[str, SpeakerDriver]:
        drivers: dict[str, SpeakerDriver] = {"http": self.http}
        if self.mqtt is not None:
            drivers["mqtt"] = self.mqtt
        return drivers

    async def _deliver(
        self, speaker: Speaker, delivery: BroadcastDelivery, broadcast: Broadcast, audio: bytes | None
    ) -> Outcome:
        if speaker.driver == "mqtt" and self.mqtt is None:
            return Outcome(False, "未配置 MQTT 消息服务器（DOORSTEP_VIDEO_MQTT_URL）")
        try:
            driver = driver_for(speaker.driver, self._drivers())
        except ValueError as exc:
            return Outcome(False, str(exc))
        target = SpeakerTarget(speaker.pk, speaker.driver, speaker.address, speaker.wants_audio)
        message = Message(
            delivery_id=str(delivery.delivery_id),
            text=broadcast.text,
            repeat=broadcast.repeat,
            audio=audio,
            volume=speaker.volume,
        )
        return await driver.send(target, message, timeout=settings.VIDEO_ACK_SECONDS)

    async def _send_one(self, db: DbWorker, delivery: BroadcastDelivery) -> None:
        speaker, broadcast = delivery.speaker, delivery.broadcast
        started = time.monotonic()
        audio = None
        deadline = send_seconds()
        try:
            async with asyncio.timeout(deadline):
                audio = await self._audio_for(broadcast) if speaker.wants_audio else None
                outcome = await self._deliver(speaker, delivery, broadcast, audio)
        except TimeoutError:  # a driver that did not keep to its own timeout
            log.error("广播 %s → 音柱 %s：%.0f 秒内未完成发送", broadcast.pk, speaker.code, deadline)
            outcome = Outcome(False, f"发送超时（{deadline:.0f} 秒）")
        except Exception as exc:  # a driver bug must not end the sender
            log.exception("广播发送出错")
            outcome = Outcome(False, f"发送出错：{type(exc).__name__}")
        self.sent += 1
        log.info(
            "广播 %s → 音柱 %s：%s（%.0f ms）",
            broadcast.pk,
            speaker.code,
            outcome.detail,
            (time.monotonic() - started) * 1000,
        )
        try:
            await db.run(
                lambda: serialized(
                    services.finish_delivery,
                    delivery.pk,
                    delivered=outcome.delivered,
                    detail=outcome.detail,
                    now=timezone.now(),
                    with_audio=audio is not None,
                )
            )
        except Exception:
            # The lease lapses and the delivery is claimed again: sent twice rather than reported never.
            log.exception("保存广播送达结果出错")

    async def _audio_for(self, broadcast: Broadcast) -> bytes | None:
        """The broadcast's audio, synthesised once however many speakers want it at the same moment."""
        task = self._audio.get(broadcast.pk)
        if task is None:
            task = asyncio.get_running_loop().create_task(_synthesize(broadcast.text))
            self._audio[broadcast.pk] = task
            if len(self._audio) > AUDIO_CACHE:
                self._audio.pop(next(iter(self._audio)))
        return await asyncio.shield(task)  # one send giving up does not take the others' audio with it

    # --- tick ----------------------------------------------------------------------------------------
    async def _tick_loop(self, db: DbWorker) -> None:
        while not self._stop.is_set():
            try:
                await db.run(serialized, services.tick, timezone.now())
            except Exception:
                log.exception("视频巡查定时任务出错，稍后继续")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.tick_seconds)

    def summary(self) -> dict[str, Any]:
        return {
            "cameras": len(self.readers),
            "events": self.events,
            "sent": self.sent,
            "frames": sum(r.frames_read for r in self.readers.values()),
        }


async def _synthesize(text: str) -> bytes | None:
    """The WAV of `text`, or None (no espeak-ng, or it cannot say it): the text then goes alone."""
    if not tts.available():
        return None
    try:
        return await asyncio.to_thread(tts.synthesize, text)
    except Exception:  # e.g. a text with nothing speakable in it
        log.warning("语音合成失败，广播只发送文字", exc_info=True)
        return None
