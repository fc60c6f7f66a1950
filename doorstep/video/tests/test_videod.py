"""The video worker: camera readers on real streams (a video file, an HTTP MJPEG camera that drops, an
address nobody answers, frames that cannot be decoded), camera trouble → offline alert → back, the worker
end to end (a file camera → a stored event with its picture), and the broadcast sender through the real
Mosquitto broker to simulated speakers that ack, never ack, or answer over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import threading
import time
import uuid

import cv2
import numpy as np
import pytest
from django.db import OperationalError
from django.utils import timezone

from doorstep.alarms.tests.test_daemon_dc09 import LoopThread
from doorstep.conftest import build_world, require_service
from doorstep.core.dbwrites import serialized_writes
from doorstep.video import daemon, frames, services, tts
from doorstep.video.capture import CameraConfig, CameraReader, Report, Stream, redact
from doorstep.video.choices import CameraStatus, DeliveryStatus
from doorstep.video.daemon import Videod, load_cameras
from doorstep.video.detection import Detection, DetectorConfig, Zone
from doorstep.video.models import Broadcast, BroadcastDelivery, Camera, CameraAlert, MotionEvent
from doorstep.video.simulator import SimulatedHttpSpeaker, SimulatedMqttSpeaker
from doorstep.video.speakers import Outcome
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


def test_the_stream_credentials_never_reach_the_log_or_the_camera_page(frame_dir, caplog, monkeypatch):
    """OpenCV and FFmpeg messages may quote the URL. A stream whose open fails with an error quoting it is
    simulated (monkeypatched `Stream.open`): OpenCV cannot be made to say it on demand."""
    url = "rtsp://admin:s3cr%40t@10.0.0.5:554/live?token=QSECRET"

    def failing_open(stream):
        raise RuntimeError(f"cap_ffmpeg: could not open {stream.url} (admin / s3cr@t)")

    monkeypatch.setattr(Stream, "open", failing_open)
    with reading(config_for(url), backoff=(0.05,)) as (reader, collected):
        wait_for(lambda: len(collected.kinds("trouble")) >= 2)
    details = " ".join(r.detail for r in collected.kinds("trouble"))
    assert "RuntimeError" in details and "读取出错" in caplog.text
    for secret in ("s3cr", "QSECRET", "admin"):
        assert secret not in caplog.text and secret not in details
    assert "s3cr" not in repr(config_for(url))
    assert redact(f"open {url} failed", url) == "open *** failed"


def test_a_picture_larger_than_720p_is_kept_at_1280_by_720(tmp_path, frame_dir):
    url = f"file://{tmp_path}/big.avi"
    write_video(tmp_path / "big.avi", scene_frames(4, size=(1600, 900)), fps=10)
    with reading(config_for(url, detect=False)) as (reader, collected):
        wait_for(lambda: collected.kinds("seen") and frames.read(1))
    assert (collected.kinds("seen")[0].width, collected.kinds("seen")[0].height) == (1600, 900)
    latest, _ = frames.read(1)
    assert cv2.imdecode(np.frombuffer(latest, np.uint8), cv2.IMREAD_COLOR).shape == (720, 1280, 3)


def test_detection_goes_on_when_the_live_picture_cannot_be_written(tmp_path, settings, caplog):
    (tmp_path / "full").write_text("")  # the picture directory cannot be made (as on a full tmpfs)
    settings.VIDEO_FRAME_DIR = tmp_path / "full" / "live"
    url = intruder_video(tmp_path / "gate.avi")
    with reading(config_for(url)) as (reader, collected):
        wait_for(lambda: collected.kinds("motion"), timeout=20)
    assert not collected.kinds("trouble")
    assert caplog.text.count("实时画面无法写入") == 1


def test_a_reader_being_stopped_says_nothing_more_about_its_camera(frame_dir):
    """Stopped (the camera was disabled, or its settings changed) while it waits for the next picture, and
    then the stream ends: that is no trouble of the camera's, and must not mark it 重连中."""
    camera = MjpegCamera(lambda n: next(scene_frames(1, seed=n % 3)), fps=4)
    with camera, reading(config_for(camera.url, detect=False, fps=4), backoff=(0.05,)) as (reader, collected):
        wait_for(lambda: reader.frames_read >= 2)
        reader.stop()
        camera.drop()
        reader.join(5)
    assert collected.kinds("seen") and not collected.kinds("trouble")


def test_a_reader_that_replaces_another_opens_the_stream_only_once_the_old_one_has_let_go(
    tmp_path, frame_dir, monkeypatch
):
    """Cheap cameras take one session: the new reader of a changed camera waits for the old one."""
    opened = []
    real_open = Stream.open

    def recording_open(stream):
        opened.append(time.monotonic())
        real_open(stream)

    monkeypatch.setattr(Stream, "open", recording_open)
    old = threading.Thread(target=time.sleep, args=(0.5,))
    old.start()
    ended = []
    threading.Thread(target=lambda: (old.join(), ended.append(time.monotonic()))).start()
    url = intruder_video(tmp_path / "gate.avi", n=20)
    with reading(config_for(url, detect=False), predecessor=old) as (reader, collected):
        wait_for(lambda: collected.kinds("seen"))
    assert ended and opened[0] >= ended[0]


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


def test_a_disabled_camera_stays_disabled_whatever_its_last_reader_still_says(world, video):
    services.save_camera(
        by=world.admin, camera=video.cam_a, grid=video.cam_a.grid, code="CAM-A", enabled=False
    )
    assert not services.camera_seen(video.cam_a.pk, timezone.now(), width=640, height=360)
    video.cam_a.refresh_from_db()
    assert video.cam_a.status == CameraStatus.DISABLED and video.cam_a.last_frame_at is None


def test_disabling_an_offline_camera_closes_its_alert_and_enabling_it_raises_none_at_once(
    world, video, settings
):
    settings.VIDEO_OFFLINE_SECONDS = 60
    camera, t0 = video.cam_a, timezone.now() - dt.timedelta(minutes=10)
    services.camera_trouble(camera.pk, "视频流中断", t0)
    assert services.supervise_cameras(t0 + dt.timedelta(seconds=61)) == 1
    camera.refresh_from_db()
    services.save_camera(by=world.admin, camera=camera, grid=camera.grid, code=camera.code, enabled=False)
    assert not CameraAlert.objects.filter(camera=camera, cleared_at__isnull=True).exists()
    camera.refresh_from_db()
    services.save_camera(by=world.admin, camera=camera, grid=camera.grid, code=camera.code, enabled=True)
    camera.refresh_from_db()
    assert camera.status == CameraStatus.UNKNOWN and camera.down_since is None
    assert services.supervise_cameras(timezone.now()) == 0  # no alert before the worker has even tried


def test_editing_a_camera_keeps_what_the_worker_wrote_since_the_page_read_it(world, video):
    page_copy = Camera.objects.get(pk=video.cam_a.pk)  # read by the edit page
    at = timezone.now()
    services.camera_trouble(video.cam_a.pk, "视频流中断", at)  # meanwhile, the worker
    services.save_camera(
        by=world.admin, camera=page_copy, grid=page_copy.grid, code="CAM-A", name="西福东门口"
    )
    video.cam_a.refresh_from_db()
    assert video.cam_a.name == "西福东门口"
    assert video.cam_a.status == CameraStatus.RECONNECTING and video.cam_a.down_since == at


def test_a_camera_back_before_the_tick_marks_it_raises_no_alert(video, settings):
    """The tick (one database thread) read the camera as down; the reports thread brought it back before
    the tick wrote: the tick's write is conditional and does nothing."""
    settings.VIDEO_OFFLINE_SECONDS = 60
    t0 = timezone.now() - dt.timedelta(minutes=5)
    services.camera_trouble(video.cam_a.pk, "视频流中断", t0)
    read_by_the_tick = Camera.objects.get(pk=video.cam_a.pk)
    services.camera_seen(video.cam_a.pk, timezone.now(), width=640, height=360)
    assert services.mark_offline(read_by_the_tick, timezone.now()) is None
    video.cam_a.refresh_from_db()
    assert video.cam_a.status == CameraStatus.ONLINE and not CameraAlert.objects.exists()


def test_a_stopped_worker_leaves_its_cameras_unconnected_not_online(video):
    at = timezone.now()
    services.camera_seen(video.cam_a.pk, at, width=640, height=360)
    services.camera_trouble(video.cam_b.pk, "视频流中断", at)
    assert services.release_cameras([video.cam_a.pk, video.cam_b.pk], at) == 2
    for camera in (video.cam_a, video.cam_b):
        camera.refresh_from_db()
        assert camera.status == CameraStatus.UNKNOWN and camera.status_detail == "视频工作进程已停止"
        assert camera.down_since is None


def test_the_worker_does_not_read_a_video_file_in_production_and_says_why(world, video, settings, tmp_path):
    camera = services.save_camera(
        by=world.admin, grid=world.grid_a, code="CAM-FILE", name="演示", location="演示", lng=118.605,
        lat=24.905, stream_url=f"file://{tmp_path}/demo.avi",
    )  # fmt: skip
    assert camera.pk in load_cameras()
    settings.PRODUCTION = True
    refused = {}
    assert camera.pk not in load_cameras(refused=refused)
    assert "生产环境" in refused[camera.pk]


def test_the_demo_seed_makes_no_video_file_cameras_in_production(world, settings, tmp_path):
    from doorstep.video import seed

    settings.PRODUCTION = True
    settings.VAR_DIR = tmp_path
    assert seed.seed() == seed.VideoSeedResult(False, 0, 0)
    assert not (tmp_path / "video").exists()


def test_a_worker_for_one_group_can_name_it_by_id(world, video):
    other = services.save_group(by=world.admin, station_id=world.s2.pk, name=video.group.name)
    services.save_camera(by=world.admin, camera=video.cam_d, grid=video.cam_d.grid, code="CAM-D", group=other)
    assert set(load_cameras(video.group.name)) == {video.cam_a.pk, video.cam_b.pk, video.cam_d.pk}
    assert set(load_cameras(str(video.group.pk))) == {video.cam_a.pk, video.cam_b.pk}


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
        # A camera changed while the worker runs gets a new reader, which takes over from the old one.
        first = worker.readers[camera.pk]
        with serialized_writes():
            services.save_camera(by=world.admin, camera=camera, grid=camera.grid, code=camera.code, fps=5)
        second = wait_for(
            lambda: worker.readers.get(camera.pk) not in (None, first) and worker.readers[camera.pk]
        )
        assert second.config.fps == 5 and first.stopping.is_set()
        wait_for(lambda: second.frames_read > 0)
        # Renaming it changes nothing the reader uses: it reads on, without reconnecting.
        with serialized_writes():
            services.save_camera(
                by=world.admin, camera=camera, grid=camera.grid, code=camera.code, name="东门"
            )
        reloads = worker.reloads
        wait_for(lambda: worker.reloads >= reloads + 2)
        assert worker.readers[camera.pk] is second and second.reconnections == 0
        # A camera disabled while the worker runs is let go at the next reload, and so is its picture.
        with serialized_writes():
            services.save_camera(
                by=world.admin, camera=camera, grid=camera.grid, code=camera.code, enabled=False,
            )  # fmt: skip
        wait_for(lambda: camera.pk not in worker.readers, timeout=5)
        wait_for(lambda: frames.read(camera.pk) is None, timeout=5)
        camera.refresh_from_db()
        assert camera.status == CameraStatus.DISABLED
    finally:
        loop_thread.call(worker.stop(), timeout=30)
    # The cameras of the fixture point at addresses nobody answers (trouble, recorded, no crash); once the
    # worker has stopped, they say that nobody reads them.
    cam_b = Camera.objects.get(pk=video.cam_b.pk)
    assert cam_b.status == CameraStatus.UNKNOWN and cam_b.status_detail == "视频工作进程已停止"
    assert Camera.objects.get(pk=camera.pk).status == CameraStatus.DISABLED


def test_an_event_reported_as_the_worker_stops_is_stored_even_if_its_first_commit_fails(
    live_world, loop_thread, monkeypatch
):
    """The first commit fails as on a database restart (a monkeypatched `handle_report` raising
    OperationalError once: a real restart cannot be timed to the stop)."""
    _world, video = live_world
    real = daemon.handle_report
    failures = []

    def flaky(report):
        if report.kind == "motion" and not failures:
            failures.append(report)
            raise OperationalError("server closed the connection unexpectedly")
        real(report)

    monkeypatch.setattr(daemon, "handle_report", flaky)
    worker = Videod(sender=False, reload_seconds=60)
    loop_thread.call(worker.start())
    at = timezone.now()
    detection = Detection("东门", at - dt.timedelta(seconds=1), at, 0.2, (0.1, 0.1, 0.2, 0.3))
    worker._report(Report("motion", video.cam_a.pk, at, detection=detection, jpeg=b"\xff\xd8jpeg"))
    loop_thread.call(worker.stop(), timeout=30)
    assert failures
    assert MotionEvent.objects.filter(camera=video.cam_a, zone="东门").count() == 1
    assert worker.events == 1 and worker.lost == 0


# --- the broadcast sender ----------------------------------------------------------------------------------
BROKER = ("127.0.0.1", 1883)


@pytest.fixture
def mosquitto():
    require_service("Mosquitto", *BROKER)
    return "mqtt://127.0.0.1:1883"


def topic() -> str:
    return f"doorstep-test/{uuid.uuid4().hex[:12]}/speaker"


def point_speaker(world, speaker, *, driver: str, address: str, wants_audio: bool = False):
    return services.save_speaker(
        by=world.admin, speaker=speaker, grid=speaker.grid, code=speaker.code, name=speaker.name,
        location=speaker.location, lng=speaker.lng, lat=speaker.lat, driver=driver, address=address,
        zone=speaker.zone, wants_audio=wants_audio,
    )  # fmt: skip


def settled(broadcast) -> bool:
    return not BroadcastDelivery.objects.filter(
        broadcast=broadcast, status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    ).exists()


@contextlib.contextmanager
def sender(loop_thread, mqtt_url: str = ""):
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


WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "


def test_a_broadcast_to_several_audio_speakers_is_synthesised_once(live_world, loop_thread, monkeypatch):
    """Text to speech is counted through a monkeypatched `tts.synthesize` (espeak-ng need not be here)."""
    world, video = live_world
    calls = []

    def synthesize(text):
        calls.append(text)
        time.sleep(0.3)
        return WAV

    monkeypatch.setattr(tts, "available", lambda: True)
    monkeypatch.setattr(tts, "synthesize", synthesize)
    with SimulatedHttpSpeaker() as http_speaker:
        for speaker in (video.sp_a, video.sp_a2):
            point_speaker(world, speaker, driver="http", address=http_speaker.url, wants_audio=True)
        with sender(loop_thread):
            with serialized_writes():
                broadcast = services.send_broadcast(by=world.dispatcher, text="禁止攀爬", zone="西福小区")
            wait_for(lambda: settled(broadcast))
        assert len(http_speaker.messages) == 2 and all(m["audio"] for m in http_speaker.messages)
    assert calls == ["禁止攀爬"]
    assert Broadcast.objects.get(pk=broadcast.pk).audio
    assert {d.status for d in broadcast.deliveries.all()} == {DeliveryStatus.DELIVERED}


def test_text_to_speech_that_fails_sends_the_text_alone(live_world, loop_thread, monkeypatch):
    """A monkeypatched `tts.synthesize` raising, as espeak-ng's wrapper does for a text with nothing
    speakable in it."""
    world, video = live_world
    monkeypatch.setattr(tts, "available", lambda: True)
    monkeypatch.setattr(tts, "synthesize", lambda text: (_ for _ in ()).throw(ValueError("播报内容不能为空")))
    with SimulatedHttpSpeaker() as http_speaker:
        point_speaker(world, video.sp_a, driver="http", address=http_speaker.url, wants_audio=True)
        with sender(loop_thread):
            with serialized_writes():
                broadcast = services.send_broadcast(by=world.dispatcher, text="\u200b", speakers=[video.sp_a])
            wait_for(lambda: settled(broadcast), timeout=10)
        assert [m["text"] for m in http_speaker.messages] == [
            "\u200b"
        ] and "audio" not in http_speaker.messages[0]
    assert broadcast.deliveries.get().status == DeliveryStatus.DELIVERED


class HangingDriver:
    """A driver that never returns (a bug, or a library that ignores its timeout): a stand-in, as no real
    driver can be made to hang on purpose."""

    async def send(self, target, message, *, timeout):
        await asyncio.Event().wait()
        return Outcome(True, "never")

    async def stop(self):
        return None


def test_a_driver_that_hangs_costs_one_attempt_not_the_sender(live_world, loop_thread, monkeypatch, settings):
    world, video = live_world
    settings.VIDEO_DELIVERY_ATTEMPTS = 3
    monkeypatch.setattr(daemon, "send_seconds", lambda: 0.5)
    point_speaker(world, video.sp_a, driver="http", address="http://127.0.0.1:9/speak")
    with sender(loop_thread) as worker:
        worker.http = HangingDriver()
        with serialized_writes():
            broadcast = services.send_broadcast(by=world.dispatcher, text="请离开", speakers=[video.sp_a])
        delivery = wait_for(
            lambda: BroadcastDelivery.objects.filter(broadcast=broadcast, attempts__gte=1).first(), timeout=10
        )
    assert delivery.status == DeliveryStatus.PENDING and "发送超时" in delivery.detail  # to be tried again


def test_the_sender_hears_broadcasts_again_after_the_channel_layer_failed(loop_thread, monkeypatch):
    """A stand-in channel layer that fails once, as Redis does when it restarts."""

    class FlakyLayer:
        def __init__(self):
            self.failed = False
            self.queue = None

        async def new_channel(self):
            if not self.failed:
                self.failed = True
                raise ConnectionError("Redis is restarting")
            self.queue = asyncio.Queue()
            return "sender!1"

        async def group_add(self, group, channel):
            return None

        async def group_discard(self, group, channel):
            return None

        async def receive(self, channel):
            return await self.queue.get()

    layer = FlakyLayer()
    monkeypatch.setattr(daemon, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(daemon, "WAKE_BACKOFF", (0.05,))
    worker = Videod(cameras=False, sender=False)

    async def scenario():
        task = asyncio.get_running_loop().create_task(worker._listen_wake())
        while layer.queue is None:
            await asyncio.sleep(0.01)
        worker._wake.clear()
        layer.queue.put_nowait({"type": "video.wake"})
        await asyncio.wait_for(worker._wake.wait(), 2)
        task.cancel()
        return layer.failed

    assert loop_thread.call(scenario())
