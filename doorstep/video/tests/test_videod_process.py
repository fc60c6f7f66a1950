"""`doorstep run` and `doorstep videod` as real processes reading a real HTTP MJPEG camera: someone walks
into the zone → the event is on the patrol console's WebSocket (web and video worker share one loop), the
live picture is relayed, and SIGTERM stops the worker cleanly; `doorstep videod` alone stores the events.
The processes use the test's database as in alarms/tests/test_alarmd_process.py."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.request

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from websockets.sync.client import connect as ws_connect

from doorstep.alarms.tests.test_alarmd_process import WEB_LISTENING, Database, Process
from doorstep.conftest import build_world
from doorstep.video import services
from doorstep.video.testing import back_and_forth, scene_frames
from doorstep.video.tests.mjpeg import MjpegCamera

VIDEOD_STARTED = re.compile(r"videod 已启动：(\d+) 台摄像机")
ZONE = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]


class Intruder:
    """Frames of a quiet scene; after `walk_in()`, someone walks about inside the zone (left half)."""

    def __init__(self) -> None:
        self.base = list(scene_frames(4, seed=5))
        self.since: int | None = None
        self.path = back_and_forth(0.1, 0.4, 0.5, period=6)

    def walk_in(self, camera: MjpegCamera) -> None:
        self.since = camera.served

    def __call__(self, n: int):
        if self.since is None or n < self.since:
            return self.base[n % 4]
        return next(scene_frames(1, object_path=lambda i: self.path(n - self.since), seed=5))


@pytest.fixture
def camera_world(transactional_db):
    world = build_world()
    intruder = Intruder()
    camera = MjpegCamera(intruder, fps=10).start()
    cam = services.save_camera(
        by=world.admin, grid=world.grid_a, code="CAM-LIVE", name="西福东门", location="西福小区东门",
        lng=118.605, lat=24.905, stream_url=camera.url, fps=10, min_duration=0.3, cooldown=300,
    )  # fmt: skip
    services.set_zones(cam, [{"name": "门前通道", "points": ZONE}], by=world.admin)
    yield world, cam, camera, intruder
    camera.stop()


def events_in(database: Database, camera_id: int) -> list[str]:
    query = "SELECT zone FROM video_motionevent WHERE camera_id = %s ORDER BY id"
    if database.vendor == "sqlite":
        with sqlite3.connect(database.path) as db:
            return [row[0] for row in db.execute(query.replace("%s", "?"), (camera_id,))]
    with connection.cursor() as cursor:
        cursor.execute(query, [camera_id])
        return [row[0] for row in cursor.fetchall()]


def test_an_intruder_reaches_the_patrol_console_of_doorstep_run_and_the_picture_is_relayed(
    camera_world, tmp_path
):
    world, cam, camera, intruder = camera_world
    client = Client()
    client.force_login(world.dispatcher)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    database = Database(tmp_path)
    run = Process(["run", "--port", "0"], database, tmp_path, DOORSTEP_DC09_ENABLED="false")
    try:
        assert run.wait_for(VIDEOD_STARTED)[1] == "1"
        web_port = int(run.wait_for(WEB_LISTENING)[1])
        with ws_connect(
            f"ws://127.0.0.1:{web_port}/ws/video/",
            additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{web_port}"},
            open_timeout=10,
        ) as console:
            assert json.loads(console.recv(timeout=10))["type"] == "hello"
            time.sleep(2)  # the detector learns the quiet scene
            intruder.walk_in(camera)
            deadline = time.monotonic() + 20
            message = None
            while time.monotonic() < deadline:
                received = json.loads(console.recv(timeout=20))
                if received["type"] == "event":
                    message = received
                    break
        request = urllib.request.Request(
            f"http://127.0.0.1:{web_port}/video/cameras/{cam.pk}/snapshot.jpg", headers={"Cookie": cookie}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own server
            picture = response.read()
        returncode = run.terminate()
    finally:
        run.kill()

    assert message is not None, "".join(run.log)
    assert message["payload"]["camera"]["id"] == cam.pk and message["payload"]["zone"] == "门前通道"
    assert picture[:2] == b"\xff\xd8"
    assert events_in(database, cam.pk) == ["门前通道"]
    assert returncode == 0 and "videod 已停止" in "".join(run.log)


def test_videod_alone_stores_the_events_and_stops_on_sigterm(camera_world, tmp_path):
    _world, cam, camera, intruder = camera_world
    database = Database(tmp_path)
    videod = Process(["videod", "--no-sender"], database, tmp_path)
    try:
        assert videod.wait_for(VIDEOD_STARTED)[1] == "1"
        time.sleep(2)
        intruder.walk_in(camera)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not events_in(database, cam.pk):
            time.sleep(0.2)
        stored = events_in(database, cam.pk)
        returncode = videod.terminate()
    finally:
        videod.kill()
    assert stored == ["门前通道"], "".join(videod.log)
    assert returncode == 0 and "videod 已停止" in "".join(videod.log)
