"""The patrol console in real Chromium, through the real ASGI server and Channels: a motion event recorded by
another process reaches the console at once, the patroller answers it with a broadcast to the camera's
speakers and watches the deliveries' status change live; a camera going offline turns red; and a tour is
walked camera by camera (正常 / 异常 with a note) and finished.

As in the alarm console's browser test, the server is `doorstep run` (uvicorn) as a separate process on a
fresh SQLite file. Here the facts come from outside the server — the video worker is another process in
production (`doorstep videod`) — so the processes share a real Redis channel layer (a redis-server started
for this test on a free port), as every multi-process deployment does: each fact is written by the real
service (`record_motion`, `finish_delivery`, `supervise_cameras`) in a separate Python process, and its
WebSocket message reaches the server through Redis after the commit. No broadcast sender runs: the test
plays the sender's part by recording a delivery's outcome through the service the sender calls.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from doorstep.conftest import PASSWORD
from doorstep.core.tests.browser import SCREENSHOTS, TIMEOUT_MS, Watch, chromium  # noqa: F401

pytestmark = pytest.mark.browser
ROOT = Path(settings.BASE_DIR)

PREAMBLE = """
import json, sys
import django
django.setup()
"""
PROVISION = """
import datetime as dt
import cv2
from django.utils import timezone
from doorstep.conftest import build_world
from doorstep.video import frames, services
from doorstep.video.testing import scene
from doorstep.video.tests.conftest import build_video

world = build_world()
video = build_video(world)
for n, camera in enumerate((video.cam_a, video.cam_b)):
    ok, jpeg = cv2.imencode(".jpg", scene((640, 360), seed=n))
    frames.write(camera.pk, jpeg.tobytes())
services.camera_seen(video.cam_b.pk, timezone.now(), width=640, height=360)
# Around the clock every 10 minutes: one run is due whatever the time of day.
tour = services.save_tour(
    by=world.director, station_id=world.s1.pk, name="全天巡查", cameras=[video.cam_b, video.cam_a],
    start_time=dt.time(0), end_time=dt.time(0), interval_minutes=10, grace_minutes=5, duty_post="视频巡查岗",
)
services.plan_runs(timezone.now())
run = tour.runs.order_by("-due_at").first()
print(json.dumps({"cam_a": video.cam_a.pk, "cam_b": video.cam_b.pk, "run": run.pk}))
"""
MOTION = """
import datetime as dt
import cv2
from django.utils import timezone
from doorstep.video import services
from doorstep.video.detection import Detection
from doorstep.video.testing import scene

now = timezone.now()
ok, jpeg = cv2.imencode(".jpg", scene((640, 360), seed=7))
detection = Detection(zone="东侧围墙", started_at=now - dt.timedelta(seconds=2), detected_at=now, area=0.06,
                      bbox=(0.1, 0.2, 0.3, 0.6))
event = services.record_motion(int(sys.argv[1]), detection, jpeg.tobytes())  # commits, then publishes
print(json.dumps({"event": event.pk}))
"""
BROADCAST = """
from doorstep.video.models import Broadcast
b = Broadcast.objects.get(event_id=int(sys.argv[1]))
print(json.dumps({
    "id": b.pk, "source": b.source, "camera": b.camera_id, "by": b.by.username, "text": b.text,
    "preset": b.preset.title if b.preset else None,
    "deliveries": {d.speaker.code: [d.pk, d.status] for d in b.deliveries.select_related("speaker")},
}))
"""
DELIVERED = """
from django.utils import timezone
from doorstep.video import services
services.finish_delivery(int(sys.argv[1]), delivered=True, detail="已播放", now=timezone.now())
"""
OFFLINE = """
import datetime as dt
from django.utils import timezone
from doorstep.video import services
now = timezone.now()
services.camera_trouble(int(sys.argv[1]), "连接超时", now)
services.supervise_cameras(now + dt.timedelta(seconds=600))
"""
EVENT = """
from doorstep.video.models import MotionEvent
e = MotionEvent.objects.get(pk=int(sys.argv[1]))
print(json.dumps({"status": e.status, "handled_by": e.handled_by.username}))
"""
RUN = """
from doorstep.video.models import TourRun
run = TourRun.objects.get(pk=int(sys.argv[1]))
print(json.dumps({
    "status": run.status, "by": run.by.username,
    "findings": [[f.camera_id, f.result, f.note, bool(f.snapshot)] for f in run.findings.order_by("recorded_at")],
}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int) -> None:
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        message = (
            "!!! redis-server is not installed — this test shares the channel layer through a real Redis"
        )
        if os.environ.get("DOORSTEP_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def server(tmp_path, redis_url):
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME"}
    }
    env |= {
        "DOORSTEP_VAR_DIR": str(tmp_path),
        "DOORSTEP_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "doorstep.settings",
        "REDIS_URL": redis_url,
        "DOORSTEP_ALARMD": "false",
        "DOORSTEP_VIDEOD": "false",  # no worker reading the test cameras' (unreachable) streams
        "PYTHONPATH": str(ROOT),
    }
    run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True, "text": True, "timeout": 300}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], **run)  # noqa: S603

    def script(body: str, *args: object) -> dict:
        code = PREAMBLE + textwrap.dedent(body)
        done = subprocess.run([sys.executable, "-c", code, *map(str, args)], **run)  # noqa: S603
        return json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}

    ids = script(PROVISION)
    port = _free_port()
    log = (tmp_path / "server.log").open("w")  # read it when this test fails
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for_port(port)
        yield {"origin": f"http://127.0.0.1:{port}", "script": script, **ids}
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:  # an open response keeps uvicorn's graceful shutdown waiting
            process.kill()
            process.wait(10)
        log.close()


def _sign_in(context, origin: str, watch: Watch, username: str):
    page = context.new_page()
    watch.attach(page)
    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form:has(#id_password) button[type=submit]").click()
    page.wait_for_url(f"{origin}/")
    return page


def test_the_patrol_console_gets_a_live_event_and_broadcasts_a_warning(server, chromium):
    origin, script, watch = server["origin"], server["script"], Watch()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    desk = chromium.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    desk.set_default_timeout(TIMEOUT_MS)
    page = _sign_in(desk, origin, watch, "dispatcher")
    page.goto(f"{origin}/video/patrol/")
    page.wait_for_selector("#patrol[data-live='1']")
    assert page.locator("[data-testid=camera]").count() == 2  # station S1: cameras A and B
    assert "河滨步道" in page.locator("[data-testid=camera-list]").inner_text()

    # A motion event, committed by another process, appears at once at the top with its picture.
    event = script(MOTION, server["cam_a"])["event"]
    card = page.locator(f"[data-testid=event][data-event-id='{event}']")
    card.wait_for()
    text = card.inner_text()
    assert "西福东门" in text and "东侧围墙" in text and "待处理" in text
    loaded = (
        "img => img.complete ? img.naturalWidth : new Promise(r => img.onload = () => r(img.naturalWidth))"
    )
    assert card.locator("img.event-thumb").evaluate(loaded) == 640
    assert "flash" in card.get_attribute("class")
    assert page.locator("[data-testid=event-new-count]").is_visible()

    # 查看画面: the camera's live picture in the big view.
    card.locator("[data-testid=event-view]").click()
    page.locator("[data-testid=viewer-title]", has_text="西福东门").wait_for()
    page.wait_for_function(
        "() => { const img = document.getElementById('viewer-img');"
        " return !img.hidden && img.src.includes('/live.mjpg') && img.naturalWidth === 640; }"
    )

    # 广播喊话 from the event: the camera's two speakers are ticked; a preset; send.
    card.locator("[data-testid=event-broadcast]").click()
    dialog = page.locator("[data-testid=broadcast-dialog][data-ready='1']")
    dialog.wait_for()
    ticked = dialog.locator("[data-testid=broadcast-speakers] input[type=checkbox]:checked")
    assert ticked.count() == 2
    dialog.locator("[data-testid=broadcast-presets] button", has_text="禁止攀爬").click()
    assert "禁止攀爬围墙" in dialog.locator("[data-testid=broadcast-text]").input_value()
    dialog.locator("[data-testid=broadcast-send]").click()
    rows = dialog.locator("[data-testid=broadcast-deliveries] tr[data-delivery-id]")
    rows.nth(1).wait_for()
    statuses = dialog.locator("[data-testid=broadcast-deliveries]").inner_text()
    assert "西福东门音柱" in statuses and "西福北门音柱" in statuses
    assert "待发送" in statuses or "发送中" in statuses

    sent = script(BROADCAST, event)
    assert sent["source"] == "event" and sent["camera"] == server["cam_a"] and sent["by"] == "dispatcher"
    assert sent["preset"] == "禁止攀爬" and sent["text"].startswith("警告：禁止攀爬围墙")
    assert set(sent["deliveries"]) == {"SP-A", "SP-A2"}
    assert {status for _pk, status in sent["deliveries"].values()} <= {"pending", "sending"}

    # The sender's outcome for one speaker reaches the open dialog live.
    script(DELIVERED, sent["deliveries"]["SP-A"][0])
    delivered = dialog.locator(
        f"tr[data-delivery-id='{sent['deliveries']['SP-A'][0]}'][data-status='delivered']"
    )
    delivered.wait_for()
    assert "已送达" in delivered.inner_text() and "已播放" in delivered.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "video-patrol-broadcast.png"))
    dialog.locator("[data-bs-dismiss=modal]").last.click()
    dialog.wait_for(state="hidden")

    # Speakers that answer before the page has the answer to its POST (a fast speaker, a slow network): the
    # socket's news comes first and the older state in the POST's answer must not hide it. Played by holding
    # the answer back in the browser until the page has heard that every delivery is done.
    page.evaluate(  # (ends in null: Playwright would call the unsubscribe function onMessage returns)
        "window.heard = []; DoorstepBroadcast.onMessage((m) => m.type === 'broadcast'"
        " && m.payload.deliveries.every((x) => x.status === 'delivered') && window.heard.push(m.payload.id)); null"
    )

    def answer_late(route):
        response = route.fetch()
        sent = response.json()
        for delivery in sent["deliveries"]:
            script(DELIVERED, delivery["id"])
        page.wait_for_function(f"window.heard.includes({sent['id']})")
        route.fulfill(response=response)

    page.route("**/video/broadcasts/new/", answer_late)
    card.locator("[data-testid=event-broadcast]").click()
    dialog.locator("[data-testid=broadcast-presets] button", has_text="禁止攀爬").click()
    dialog.locator("[data-testid=broadcast-send]").click()
    dialog.locator("[data-testid=broadcast-deliveries] tr[data-status='delivered']").nth(1).wait_for()
    assert dialog.locator("[data-testid=broadcast-deliveries] tr[data-status='pending']").count() == 0
    page.unroute("**/video/broadcasts/new/")
    dialog.locator("[data-bs-dismiss=modal]").last.click()
    dialog.wait_for(state="hidden")

    # Camera B goes offline: red in the camera list.
    script(OFFLINE, server["cam_b"])
    offline = page.locator(f"[data-testid=camera][data-camera-id='{server['cam_b']}'].offline")
    offline.wait_for()
    assert "离线" in offline.inner_text()
    assert page.locator("[data-testid=offline-count]").is_visible()

    # The tour: start, B 正常, A 异常 (a note is required), finish.
    run = page.locator(f"[data-testid=run][data-run-id='{server['run']}']")
    run.locator("[data-testid=run-start]").click()
    page.locator("[data-testid=run-panel]").wait_for()
    page.locator("[data-testid=viewer-title]", has_text="河滨步道").wait_for()  # the tour's first camera
    page.locator("[data-testid=finding-normal]").click()
    page.locator("[data-testid=viewer-title]", has_text="西福东门").wait_for()  # on to the next by itself
    page.locator("[data-testid=finding-abnormal]").click()
    assert page.locator("[data-testid=run-error]").inner_text() == "异常情况请填写说明"
    page.fill("[data-testid=finding-note]", "东侧围墙有人攀爬，已广播警告")
    page.locator("[data-testid=finding-abnormal]").click()
    page.locator("[data-testid=stop][data-result=abnormal]").wait_for()
    assert page.locator("[data-testid=stop][data-result=normal]").count() == 1
    assert "所有点位都已记录" in page.locator("[data-testid=run-hint]").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "video-patrol-tour.png"))
    page.locator("[data-testid=run-finish]").click()
    page.locator("[data-testid=run-done]", has_text="全天巡查").wait_for()
    assert page.locator(f"[data-testid=run][data-run-id='{server['run']}']").count() == 0

    done = script(RUN, server["run"])
    assert done["status"] == "done" and done["by"] == "dispatcher"
    assert done["findings"] == [
        [server["cam_b"], "normal", "", True],
        [server["cam_a"], "abnormal", "东侧围墙有人攀爬，已广播警告", True],
    ]
    # 确认: the event is marked, on this console and in the database.
    card.locator("[data-testid=event-confirm]").click()
    card.locator("[data-testid=event-status]", has_text="确认异常").wait_for()
    assert card.locator("[data-testid=event-confirm]").count() == 0
    assert script(EVENT, event) == {"status": "confirmed", "handled_by": "dispatcher"}
    page.screenshot(path=str(SCREENSHOTS / "video-patrol-console.png"))
    watch.check(urlsplit(origin).netloc)

    # The camera's own page, and its fallback when the MJPEG stream fails (a proxy that does not pass it on,
    # played here by refusing the stream in the browser; this page is not watched for failed requests).
    alone = desk.new_page()
    alone.route("**/live.mjpg*", lambda route: route.abort())
    alone.goto(f"{origin}/video/cameras/{server['cam_a']}/watch/")
    alone.locator("[data-testid=viewer-mode]").wait_for()
    alone.wait_for_function(
        "() => { const img = document.getElementById('viewer-img');"
        " return img.src.includes('/snapshot.jpg') && img.naturalWidth === 640 && !img.hidden; }"
    )
    first = alone.evaluate("document.getElementById('viewer-img').src")
    alone.wait_for_function(f"document.getElementById('viewer-img').src !== {json.dumps(first)}")  # refreshed
    assert (
        "西福小区东门" in alone.inner_text("body")
        and alone.locator("[data-testid=watch-broadcast]").count() == 1
    )
    alone.screenshot(path=str(SCREENSHOTS / "video-camera-watch.png"))
    desk.close()  # the browser's streams end with it, so the server stops at once
