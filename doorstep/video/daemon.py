"""`videod`, the video worker: a reader thread per enabled camera (capture.py), the broadcast sender, and
the minute tick (tours fall due or are missed, cameras down too long go offline) — in one asyncio loop.

`doorstep videod` runs it alone (with `--group` for one camera group: one worker per group in
production); `doorstep run` runs it in the web server's loop, so that what it commits reaches the consoles
through the in-process channel layer, as alarmd does. Database work runs in `DbWorker` threads
(alarms/daemon.py): one for what the cameras report, one for the sender, one for the tick.

Cameras are re-read from the database every few seconds: a camera added, changed (its row's
`updated_at`, which zone changes touch too), disabled or removed is started, restarted or stopped.
The sender claims due deliveries (services.claim_due_deliveries: a lease, so two senders never send one
twice at once), sends them through the speaker's driver, and records each outcome; a failure is retried
with back-off by the same claim. It wakes at once when a broadcast is committed (realtime.wake_sender),
and looks every second anyway.
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
from doorstep.video import services, tts
from doorstep.video.capture import CameraConfig, CameraReader, Report
from doorstep.video.detection import DetectorConfig, Zone
from doorstep.video.models import BroadcastDelivery, Camera, DetectionZone
from doorstep.video.realtime import SENDER_GROUP
from doorstep.video.speakers import HttpSpeakerDriver, Message, MqttSpeakerDriver, Outcome, SpeakerTarget

log = logging.getLogger("doorstep.videod")

T = TypeVar("T")


def load_cameras(group: str | None = None) -> dict[int, CameraConfig]:
    """The enabled cameras (of one group), as reader configs. A camera whose settings are invalid is
    skipped with a warning (its page shows why it is not read)."""
    qs = Camera.objects.filter(enabled=True)
    if group:
        qs = qs.filter(group__name=group)
    zones: dict[int, list[Zone]] = {}
    for zone in DetectionZone.objects.filter(camera__in=qs).order_by("camera_id", "name"):
        try:
            zones.setdefault(zone.camera_id, []).append(Zone(zone.name, tuple(tuple(p) for p in zone.points)))
        except (TypeError, ValueError):
            log.warning("摄像机 %s 的检测区域“%s”无效，已忽略", zone.camera_id, zone.name)
    configs = {}
    for camera in qs:
        try:
            detector = DetectorConfig(
                zones=tuple(zones.get(camera.pk, ())),
                min_area=camera.min_area,
                min_duration=camera.min_duration,
                cooldown=camera.cooldown,
                active_from=camera.active_from,
                active_to=camera.active_to,
            )
        except ValueError as exc:
            log.warning("摄像机 %s 的检测设置无效：%s", camera.pk, exc)
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
        self.reports: asyncio.Queue[Report] | None = None
        self.mqtt: MqttSpeakerDriver | None = None
        self.http = HttpSpeakerDriver()
        self.sent = 0
        self.events = 0
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._workers: list[DbWorker] = []
        self._audio: dict[int, bytes | None] = {}

    def _worker(self, name: str) -> DbWorker:
        worker = DbWorker(name)
        self._workers.append(worker)
        return worker

    async def start(self) -> None:
        self._stop.clear()
        loop = asyncio.get_running_loop()
        if self.with_cameras:
            self.reports = asyncio.Queue()
            db = self._worker("videod-cameras")
            await self._reload(db)
            self._tasks.append(loop.create_task(self._reload_loop(db), name="videod-reload"))
            self._report_db = self._worker("videod-reports")
            self._tasks.append(loop.create_task(self._store_reports(self._report_db), name="videod-store"))
        if self.with_sender:
            if self.mqtt_url:
                self.mqtt = MqttSpeakerDriver(self.mqtt_url, client_id="doorstep-videod")
            self._tasks.append(
                loop.create_task(self._send_loop(self._worker("videod-sender")), name="videod-sender")
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
        for reader in self.readers.values():
            reader.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._sending:
            await asyncio.wait(self._sending, timeout=settings.VIDEO_ACK_SECONDS + 1)
        if self.mqtt is not None:
            await self.mqtt.stop()
        for reader in self.readers.values():
            await asyncio.to_thread(reader.join, 2)
        self.readers.clear()
        if self.reports is not None:
            # What the readers reported last (an event seen just before the stop) is stored, not dropped.
            while not self.reports.empty():
                with contextlib.suppress(Exception):
                    await self._report_db.run(serialized, handle_report, self.reports.get_nowait())
        for worker in self._workers:
            await worker.close()
        self._workers.clear()
        log.info("videod 已停止：事件 %s 个，广播送达尝试 %s 次", self.events, self.sent)

    # --- cameras -------------------------------------------------------------------------------------
    def _report(self, report: Report) -> None:
        """Called from a reader thread: hand the report to the loop (which stores it in order)."""
        loop = self._loop
        if not loop.is_closed():
            loop.call_soon_threadsafe(self.reports.put_nowait, report)

    async def _reload(self, db: DbWorker) -> None:
        self._loop = asyncio.get_running_loop()
        configs = await db.run(serialized, load_cameras, self.group)
        for camera_id in list(self.readers):
            reader = self.readers[camera_id]
            if camera_id not in configs or configs[camera_id] != reader.config:
                reader.stop()
                del self.readers[camera_id]
        for camera_id, config in configs.items():
            if camera_id not in self.readers:
                reader = CameraReader(config, self._report)
                self.readers[camera_id] = reader
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
        assert self.reports is not None
        while True:
            report = await self.reports.get()
            try:
                await db.run(serialized, handle_report, report)
                if report.kind == "motion":
                    self.events += 1
            except Exception:
                if report.kind == "motion":
                    # An event must not be lost to a database hiccup: put it back and try again shortly.
                    log.exception("保存入侵事件出错，稍后重试")
                    await asyncio.sleep(1)
                    self.reports.put_nowait(report)
                else:
                    log.exception("保存摄像机状态出错")

    # --- broadcast sender ----------------------------------------------------------------------------
    async def _listen_wake(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        channel = await layer.new_channel()
        await layer.group_add(SENDER_GROUP, channel)
        try:
            while True:
                await layer.receive(channel)
                self._wake.set()
        finally:
            with contextlib.suppress(Exception):
                await layer.group_discard(SENDER_GROUP, channel)

    async def _send_loop(self, db: DbWorker) -> None:
        lease = settings.VIDEO_ACK_SECONDS + 30
        while not self._stop.is_set():
            self._wake.clear()
            try:
                due = await db.run(
                    lambda: serialized(services.claim_due_deliveries, timezone.now(), lease_seconds=lease)
                )
            except Exception:
                log.exception("读取待发送广播出错")
                due = []
            for delivery in due:
                task = asyncio.get_running_loop().create_task(self._send_one(db, delivery))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _send_one(self, db: DbWorker, delivery: BroadcastDelivery) -> None:
        speaker, broadcast = delivery.speaker, delivery.broadcast
        target = SpeakerTarget(speaker.pk, speaker.driver, speaker.address, speaker.wants_audio)
        audio = await self._audio_for(broadcast.pk, broadcast.text) if speaker.wants_audio else None
        message = Message(
            delivery_id=str(delivery.delivery_id),
            text=broadcast.text,
            repeat=broadcast.repeat,
            audio=audio,
            volume=speaker.volume,
        )
        started = time.monotonic()
        try:
            if speaker.driver == "mqtt":
                if self.mqtt is None:
                    outcome = Outcome(False, "未配置 MQTT 消息服务器（DOORSTEP_VIDEO_MQTT_URL）")
                else:
                    outcome = await self.mqtt.send(target, message, timeout=settings.VIDEO_ACK_SECONDS)
            elif speaker.driver == "http":
                outcome = await self.http.send(target, message, timeout=settings.VIDEO_ACK_SECONDS)
            else:
                outcome = Outcome(False, "未知的广播驱动")
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

    async def _audio_for(self, broadcast_id: int, text: str) -> bytes | None:
        if broadcast_id not in self._audio:
            self._audio[broadcast_id] = (
                await asyncio.to_thread(tts.synthesize, text) if tts.available() else None
            )
            if len(self._audio) > 64:
                self._audio.pop(next(iter(self._audio)))
        return self._audio[broadcast_id]

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
