"""The video worker: camera readers on real streams (a video file, an HTTP MJPEG camera that drops, an
address nobody answers, frames that cannot be decoded), camera trouble → offline alert → back, the worker
end to end (a file camera → a stored event with its picture), and the broadcast sender through the real
Mosquitto broker to simulated speakers that ack, never ack, or answer over HTTP."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
import time
import uuid

import cv2
import numpy as np
import pytest
from django.utils import timezone

from doorstep.alarms.tests.test_daemon_dc09 import LoopThread
from doorstep.conftest import build_world, require_service
from doorstep.core.dbwrites import serialized_writes
from doorstep.video import frames, services
from doorstep.video.capture import CameraConfig, CameraReader, Report
from doorstep.video.choices import CameraStatus, DeliveryStatus
from doorstep.video.daemon import Videod
from doorstep.video.detection import DetectorConfig, Zone
from doorstep.video.models import BroadcastDelivery, CameraAlert, MotionEvent
from doorstep.video.simulator import SimulatedHttpSpeaker, SimulatedMqttSpeaker
from doorstep.video.testing import back_and_forth, scene_frames, write_video
from doorstep.video.tests.conftest import build_video
from doorstep.video.tests.mjpeg import MjpegCamera

LEFT_HALF = Zone("东门", ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)))


def wait_for(predicate, timeout: float = 20.0, step: float = 0.05):
    """Poll `predicate` (its database reads queued with the worker's threads, as on SQLite they must be)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with serialized_writes():
            value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s")


def intruder_video(path, *, fps: int = 20, n: int = 120):
    """Quiet for a second and a half, then someone walks about in the left half (the zone)."""
    moving = back_and_forth(0.1, 0.4, 0.5, first=30, period=15)
    write_video(path, scene_frames(n, object_path=moving), fps=fps)
    return f"file://{path}"


class Collector:
    def __init__(self) -> None:
        self.reports: list[Report] = []
        self.lock = threading.Lock()

    def __call__(self, report: Report) -> None:
        with self.lock:
            self.reports.append(report)

    def kinds(self, kind: str) -> list[Report]:
        with self.lock:
            return [r for r in self.reports if r.kind == kind]


@contextlib.contextmanager
def reading(config: CameraConfig, **options):
    collector = Collector()
    reader = CameraReader(config, collector, **options)
    reader.start()
    try:
        yield reader, collector
    finally:
        reader.stop()
        reader.join(5)
        assert not reader.is_alive()


def config_for(url: str, *, detect: bool = True, fps: int = 10) -> CameraConfig:
    detector = DetectorConfig(zones=(LEFT_HALF,), min_area=0.01, min_duration=0.3, cooldown=600)
    return CameraConfig(camera_id=1, url=url, fps=fps, detect=detect, detector=detector)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- readers -----------------------------------------------------------------------------------------
def test_a_file_camera_is_read_at_its_own_pace_and_motion_in_the_zone_is_reported(tmp_path, frame_dir):
    url = intruder_video(tmp_path / "gate.avi")
    with reading(config_for(url)) as (reader, collected):
        motion = wait_for(lambda: collected.kinds("motion"), timeout=20)
        assert collected.kinds("seen")[0].width == 640
    assert motion[0].detection.zone == "东门"
    assert motion[0].jpeg[:2] == b"\xff\xd8"  # the event's picture, a JPEG (with the area framed)
    latest, _ = frames.read(1)
    assert cv2.imdecode(np.frombuffer(latest, np.uint8), cv2.IMREAD_COLOR).shape == (360, 640, 3)
    assert not collected.kinds("trouble")


def test_a_camera_that_drops_its_stream_is_reconnected(frame_dir):
    with MjpegCamera(lambda n: next(scene_frames(1, seed=n % 3)), fps=20) as camera:
        with reading(config_for(camera.url, detect=False, fps=20), backoff=(0.2,)) as (reader, collected):
            wait_for(lambda: reader.frames_read >= 5)
            camera.drop()  # the camera rebooted
            wait_for(lambda: collected.kinds("trouble"))
            before = reader.frames_read
            wait_for(lambda: camera.connections >= 2 and reader.frames_read > before + 5)
        assert reader.reconnections >= 1
    assert collected.kinds("trouble")[0].detail == "视频流中断"


def test_an_address_nobody_answers_is_retried_with_back_off_and_reported(frame_dir):
    url = f"http://127.0.0.1:{closed_port()}/video.mjpg"
    with reading(config_for(url), backoff=(0.05, 0.1, 0.2)) as (reader, collected):
        wait_for(lambda: len(collected.kinds("trouble")) >= 3)
    assert "无法连接视频流" in collected.kinds("trouble")[0].detail
    assert not collected.kinds("seen") and frames.read(1) is None


def test_frames_that_cannot_be_decoded_end_in_a_reconnection_not_a_crash(frame_dir):
    camera = MjpegCamera(lambda n: next(scene_frames(1)), fps=50, corrupt=lambda n: n >= 3)
    with camera, reading(config_for(camera.url, fps=50), backoff=(0.2,)) as (reader, collected):
        wait_for(lambda: collected.kinds("trouble"))
        assert reader.is_alive()
    assert collected.kinds("seen")  # the good frames before came through


def test_a_missing_video_file_is_reported_in_chinese(tmp_path, frame_dir):
    with reading(config_for(f"file://{tmp_path}/nothing.avi"), backoff=(0.1,)) as (reader, collected):
        wait_for(lambda: collected.kinds("trouble"))
    assert collected.kinds("trouble")[0].detail == "视频文件不存在或无法解码"


# --- camera supervision ------------------------------------------------------------------------------------
def test_a_camera_down_too_long_goes_offline_with_one_alert_and_comes_back(video, settings):
    settings.VIDEO_OFFLINE_SECONDS = 60
    camera, t0 = video.cam_a, timezone.now()
    services.camera_trouble(camera.pk, "无法连接视频流（地址错误或设备离线）", t0)
    camera.refresh_from_db()
    assert camera.status == CameraStatus.RECONNECTING and camera.down_since == t0
    assert services.supervise_cameras(t0 + dt.timedelta(seconds=30)) == 0
    services.camera_trouble(camera.pk, "视频流中断", t0 + dt.timedelta(seconds=61))
    assert services.supervise_cameras(t0 + dt.timedelta(seconds=62)) == 0  # one alert, not two
    camera.refresh_from_db()
    assert camera.status == CameraStatus.OFFLINE
    alert = CameraAlert.objects.get(camera=camera)
    assert alert.cleared_at is None and "60 秒" in alert.detail
    assert services.camera_seen(camera.pk, t0 + dt.timedelta(seconds=90), width=640, height=360)
    camera.refresh_from_db()
    alert.refresh_from_db()
    assert camera.status == CameraStatus.ONLINE and camera.down_since is None
    assert alert.cleared_at == t0 + dt.timedelta(seconds=90)


def test_a_camera_that_is_fine_is_written_at_most_every_half_minute(video):
    t0 = timezone.now()
    assert services.camera_seen(video.cam_a.pk, t0, width=640, height=360)
    assert not services.camera_seen(video.cam_a.pk, t0 + dt.timedelta(seconds=5), width=640, height=360)
    video.cam_a.refresh_from_db()
    assert video.cam_a.last_frame_at == t0


# --- the worker end to end ------------------------------------------------------------------------
@pytest.fixture
def live_world(transactional_db):
    world = build_world()
    return world, build_video(world)


@pytest.fixture
def loop_thread():
    thread = LoopThread()
    yield thread
    thread.close()


def test_videod_reads_a_camera_and_stores_an_event_with_its_picture(
    live_world, loop_thread, tmp_path, frame_dir
):
    world, video = live_world
    camera = services.save_camera(
        by=world.admin, grid=world.grid_a, code="CAM-FILE", name="测试门口", location="测试门口",
        lng=118.605, lat=24.905, stream_url=intruder_video(tmp_path / "gate.avi"), fps=10, min_duration=0.3,
    )  # fmt: skip
    services.set_zones(
        camera, [{"name": "东门", "points": [list(p) for p in LEFT_HALF.points]}], by=world.admin
    )
    worker = Videod(sender=False, reload_seconds=0.5)
    loop_thread.call(worker.start())
    try:
        assert camera.pk in worker.readers
        event = wait_for(lambda: MotionEvent.objects.filter(camera=camera).first(), timeout=25)
        camera.refresh_from_db()
        assert camera.status == CameraStatus.ONLINE
        assert event.zone == "东门" and event.snapshot.read()[:2] == b"\xff\xd8"
        # A camera disabled while the worker runs is let go at the next reload.
        with serialized_writes():
            services.save_camera(
                by=world.admin, camera=camera, grid=camera.grid, code=camera.code, enabled=False,
            )  # fmt: skip
        wait_for(lambda: camera.pk not in worker.readers, timeout=5)
    finally:
        loop_thread.call(worker.stop(), timeout=30)
    # The cameras of the fixture point at addresses nobody answers: trouble, recorded, no crash.
    assert video.cam_a.__class__.objects.get(pk=video.cam_b.pk).status in (
        CameraStatus.RECONNECTING,
        CameraStatus.UNKNOWN,
    )


# --- the broadcast sender ----------------------------------------------------------------------------------
BROKER = ("127.0.0.1", 1883)


@pytest.fixture
def mosquitto():
    require_service("Mosquitto", *BROKER)
    return "mqtt://127.0.0.1:1883"


def topic() -> str:
    return f"doorstep-test/{uuid.uuid4().hex[:12]}/speaker"


def point_speaker(world, speaker, *, driver: str, address: str):
    return services.save_speaker(
        by=world.admin, speaker=speaker, grid=speaker.grid, code=speaker.code, name=speaker.name,
        location=speaker.location, lng=speaker.lng, lat=speaker.lat, driver=driver, address=address,
        zone=speaker.zone,
    )  # fmt: skip


@contextlib.contextmanager
def sender(loop_thread, mqtt_url: str):
    worker = Videod(cameras=False, mqtt_url=mqtt_url, poll_seconds=0.2)
    loop_thread.call(worker.start())
    try:
        yield worker
    finally:
        loop_thread.call(worker.stop(), timeout=30)


def test_a_broadcast_reaches_the_speakers_that_ack_and_fails_for_one_that_never_does(
    live_world, loop_thread, mosquitto, settings, monkeypatch
):
    world, video = live_world
    settings.VIDEO_ACK_SECONDS = 1
    settings.VIDEO_DELIVERY_ATTEMPTS = 2
    monkeypatch.setattr(services, "RETRY_SECONDS", (0.3,))
    good, silent = topic(), topic()
    point_speaker(world, video.sp_a, driver="mqtt", address=good)
    point_speaker(world, video.sp_a2, driver="mqtt", address=silent)
    with (
        SimulatedMqttSpeaker(good, url=mosquitto).run_in_thread() as played,
        SimulatedMqttSpeaker(silent, url=mosquitto, ack=False).run_in_thread() as deaf,
        sender(loop_thread, mosquitto),
    ):
        with serialized_writes():
            broadcast = services.send_broadcast(
                by=world.dispatcher, text="禁止攀爬围墙", zone="西福小区", source="console"
            )
            deliveries = {d.speaker_id: d for d in broadcast.deliveries.all()}
        assert set(deliveries) == {video.sp_a.pk, video.sp_a2.pk}

        def settled():
            rows = BroadcastDelivery.objects.filter(broadcast=broadcast)
            return all(d.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED) for d in rows)

        wait_for(settled, timeout=20)
    delivered = BroadcastDelivery.objects.get(broadcast=broadcast, speaker=video.sp_a)
    failed = BroadcastDelivery.objects.get(broadcast=broadcast, speaker=video.sp_a2)
    assert delivered.status == DeliveryStatus.DELIVERED and delivered.attempts == 1
    assert failed.status == DeliveryStatus.FAILED and failed.attempts == 2  # tried again, then reported
    assert "未收到确认" in failed.detail
    assert [m["text"] for m in played.messages] == ["禁止攀爬围墙"]
    assert played.messages[0]["id"] == str(delivered.delivery_id)
    assert len(deaf.messages) == 2  # the retry really went out
    video.sp_a2.refresh_from_db()
    assert video.sp_a2.last_delivered is False


def test_an_http_speaker_and_a_speaker_without_a_broker(live_world, loop_thread, settings):
    world, video = live_world
    settings.VIDEO_DELIVERY_ATTEMPTS = 1
    with SimulatedHttpSpeaker() as http_speaker:
        point_speaker(world, video.sp_b, driver="http", address=http_speaker.url)
        with sender(loop_thread, mqtt_url=""):
            with serialized_writes():
                broadcast = services.send_broadcast(
                    by=world.director, text="请勿在此聚集", speakers=[video.sp_b, video.sp_a], source="map"
                )
            wait_for(
                lambda: (
                    not BroadcastDelivery.objects.filter(
                        broadcast=broadcast, status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
                    ).exists()
                )
            )
        assert [m["text"] for m in http_speaker.messages] == ["请勿在此聚集"]
    by_speaker = {d.speaker_id: d for d in broadcast.deliveries.all()}
    assert by_speaker[video.sp_b.pk].status == DeliveryStatus.DELIVERED
    assert by_speaker[video.sp_a.pk].status == DeliveryStatus.FAILED
    assert "未配置 MQTT" in by_speaker[video.sp_a.pk].detail
