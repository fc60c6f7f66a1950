"""Video event latency end to end: from an object entering a camera's detection zone in the stream to the
event on a patrol console's WebSocket (`/ws/video/`): p50, p90, p99, max (issue #6).

    .venv/bin/python bench/video_latency.py                               # SQLite in a temporary var dir
    .venv/bin/python bench/video_latency.py --database-url postgres://postgres@127.0.0.1:5432/doorstep_bench_video
    .venv/bin/python bench/video_latency.py --min-duration 1              # with the camera's duration filter
    .venv/bin/python bench/video_latency.py --trials 10                   # a short trial

Steps: an HTTP MJPEG camera (doorstep/video/tests/mjpeg.py) starts on 127.0.0.1 in this process, streaming
a synthetic 640×360 scene (doorstep/video/testing.py) at --fps. A scratch database (SQLite under a temporary
DOORSTEP_VAR_DIR, or the PostgreSQL database named in `--database-url`, dropped and created by this script
and dropped again at the end) is migrated and given the demo organisation (`org.seed`, no registry, alarm or
video seed), and one camera, BENCH-1, through `video.services.save_camera` (analysis at --fps, min duration
--min-duration, cooldown 0.5 s) with a zone over the left half (`services.set_zones`). The floor is measured
next, before the server: the worker's own `capture.Stream` reads the same camera for --floor-seconds, each
frame carrying its number as a bar code, and send → frame returned is the FFmpeg/OpenCV read. Then the real
server, `manage.py run` (uvicorn + videod in one process, in-memory channel layer; alarmd off), and the
sub-bureau leader, logged in through the login form, on `/ws/video/`.

Each trial: from the next frame on, the camera shows a dark 40×80 px object walking through the zone
(2 % of the width per frame) until the console has the event, then the scene is empty again for --settle
seconds, for the detector's background to settle. Latency = the console receiving {"type": "event"} - the
moment the camera sent the first frame with the object (both time.time() on this machine). The event's
`detected_at` (the worker's clock when it took the frame for analysis) splits it into: frames waited
(the object seen first in a later frame: the min duration, or a skipped frame), the stream read (sent →
analysed) and the server's part (detection, the event's JPEG, the commit, the channel layer, the
WebSocket). The frame that fired is known from the leading edge of the event's bounding box (the object moves
2 % a frame). A trial with no event 10 s after the object appeared is lost; an event while no object is shown
is false. "Placed" is measured from the moment the bench puts the object in the scene, at a random phase of
the camera's frame clock: it adds the wait for the next frame (the frame interval) and the frame's JPEG.
After the run, with the server stopped, `services.record_motion` (snapshot, INSERT, commit, on-commit
publish) and `realtime.publish_event` are timed alone against the same database.

Prints a Markdown table and a line for bench/RESULTS.md with the machine, date, database and versions.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

import alarm_latency  # noqa: E402 - the console's login, process helpers, machine and versions
from alarm_latency import create_database, drop_database, free_port, log_summary, pct, stop, wait_port  # noqa: E402

from doorstep.video.detection import LEARN_FRAMES  # noqa: E402

CAMERA_CODE = "BENCH-1"
ZONE_NAME = "压测区域"
ZONE = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]  # the left half
X0, X1, Y = 0.08, 0.42, 0.55  # the object walks from X0 to X1 and back at height Y, inside the zone
PERIOD = 17  # frames one way: 2 % of the width (3 px of the detector's 160 px wide picture) per frame
DX = (X1 - X0) / PERIOD
# The leading (right) edge of the object's box in the detector's picture: half the object's 40 px width, plus
# the detector's dilation by one of its pixels (a quarter of 640 px). The trail the object leaves in the
# running-average background can widen the box backwards, never forwards.
LEAD = 20 / 640 + 1 / 160
COOLDOWN = 0.5
LOST_AFTER = 10.0
SCENE_SEED = 5
BARCODE_BITS = 20


# --- phases run in subprocesses (Django against the scratch database) --------------------------------------


def phase_setup(stream_url: str, fps: int, min_duration: float) -> None:
    """Migrate, seed the demo organisation, register the bench camera with its zone."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from doorstep.accounts.choices import Role
    from doorstep.accounts.models import User
    from doorstep.org import seed as org_seed
    from doorstep.org.models import Grid, Station
    from doorstep.video import services

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    with transaction.atomic():
        org_seed.seed("demo", 42)
    seeded = time.perf_counter() - t0
    admin = User.objects.filter(role=Role.ADMIN).order_by("pk").first()
    grid = Grid.objects.select_related("community").order_by("pk").first()
    camera = services.save_camera(
        by=admin,
        grid=grid,
        code=CAMERA_CODE,
        name="压测摄像机",
        location="压测",
        lng=grid.center_lng,
        lat=grid.center_lat,
        stream_url=stream_url,
        fps=fps,
        min_duration=min_duration,
        cooldown=COOLDOWN,
        detect=True,
    )
    services.set_zones(camera, [{"name": ZONE_NAME, "points": ZONE}], by=admin)
    if connection.vendor == "sqlite":
        database = f"SQLite {sqlite3.sqlite_version}"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    print(
        json.dumps(
            {
                "seed_s": seeded,
                "camera": camera.pk,
                "station": camera.station_id,
                "stations": Station.objects.count(),
                "min_area": camera.min_area,
                "database": database,
            }
        )
    )


def phase_count() -> None:
    """How many events the bench camera left in the database."""
    import django

    django.setup()
    from doorstep.video.models import MotionEvent

    print(json.dumps({"stored": MotionEvent.objects.filter(camera__code=CAMERA_CODE).count()}))


def phase_store(n: int) -> None:
    """The server's database part alone, after the run: `record_motion` of an event with a snapshot the
    size of the run's (its on-commit publish included), and the publish alone (its queries and the
    in-memory channel layer, nobody listening), ms."""
    import django

    django.setup()
    from doorstep.video import realtime, services
    from doorstep.video.capture import annotate, encode
    from doorstep.video.detection import Detection
    from doorstep.video.models import Camera
    from doorstep.video.testing import back_and_forth, scene_frames

    camera = Camera.objects.get(code=CAMERA_CODE)
    picture = list(scene_frames(1, object_path=back_and_forth(X0, X1, Y), seed=SCENE_SEED))[0]
    stored, published = [], []
    for i in range(n + 1):  # the first is a warm-up: Django's first query of each kind, the first loop
        now = dt.datetime.now(dt.UTC)
        detection = Detection(ZONE_NAME, now, now, 0.03, (0.05, 0.44, 0.08, 0.23))
        jpeg = encode(annotate(picture, detection))
        t0 = time.perf_counter()
        event = services.record_motion(camera.pk, detection, jpeg)
        t1 = time.perf_counter()
        realtime.publish_event(event.pk)
        t2 = time.perf_counter()
        if i:
            stored.append((t1 - t0) * 1000)
            published.append((t2 - t1) * 1000)
        time.sleep(0.05)
    print(json.dumps({"store_ms": stored, "publish_ms": published}))


def run_phase(args: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(  # noqa: S603 - runs this very script
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=env, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the camera's pictures ---------------------------------------------------------------------------------


class Scene:
    """The camera's frame function: the empty scene, or (between show() and hide()) the object walking
    through the zone; in bar-code mode, the empty scene with the frame number drawn in the right half."""

    def __init__(self) -> None:
        from doorstep.video.testing import back_and_forth, scene_frames

        self.still = list(scene_frames(8, seed=SCENE_SEED))
        self.moving = list(
            scene_frames(2 * PERIOD, object_path=back_and_forth(X0, X1, Y, period=PERIOD), seed=SCENE_SEED)
        )
        self.lock = threading.Lock()
        self.showing = False
        self.barcode = False
        self.first: int | None = None  # number of the first frame of this trial with the object
        self.count = 0  # frames with the object so far in this trial

    def __call__(self, n: int):
        with self.lock:
            if self.showing:
                if self.first is None:
                    self.first = n
                frame = self.moving[self.count % len(self.moving)]
                self.count += 1
                return frame
            if self.barcode:
                return draw_barcode(self.still[n % len(self.still)], n)
            return self.still[n % len(self.still)]

    def show(self) -> None:
        with self.lock:
            self.showing, self.first, self.count = True, None, 0

    def hide(self) -> tuple[int | None, int]:
        with self.lock:
            self.showing = False
            return self.first, self.count


def draw_barcode(frame, n: int):
    frame = frame.copy()
    for bit in range(BARCODE_BITS):
        x = 340 + bit * 14
        frame[8:22, x : x + 12] = 235 if (n >> bit) & 1 else 15
    return frame


def read_barcode(frame) -> int:
    n = 0
    for bit in range(BARCODE_BITS):
        x = 340 + bit * 14
        if frame[11:19, x + 3 : x + 9].mean() > 125:
            n |= 1 << bit
    return n


def measure_floor(camera, scene: Scene, seconds: float) -> list[float]:
    """Send → frame returned by the worker's own reader class (capture.Stream: OpenCV + FFmpeg), ms."""
    from doorstep.video.capture import Stream

    scene.barcode = True
    stream = Stream(camera.url)
    samples = []
    try:
        stream.open()
        deadline = time.monotonic() + seconds
        skip = 3  # what FFmpeg read while probing the stream
        while time.monotonic() < deadline:
            frame = stream.read()
            got = time.time()
            if frame is None:
                continue
            if skip:
                skip -= 1
                continue
            n = read_barcode(frame)
            for _ in range(100):  # the camera notes the send right after its flush
                if n in camera.sent_at:
                    break
                time.sleep(0.001)
            if n in camera.sent_at:
                samples.append((got - camera.sent_at[n]) * 1000)
    finally:
        stream.close()
        scene.barcode = False
    return samples


def analysis_costs(frames: int = 60) -> dict[str, float]:
    """Median ms, in this process, of what the worker does per analysed frame and per event (no database)."""
    from doorstep.video.capture import annotate, encode
    from doorstep.video.detection import DetectorConfig, MotionDetector, Zone
    from doorstep.video.testing import back_and_forth, scene_frames

    config = DetectorConfig(
        zones=(Zone(ZONE_NAME, tuple(tuple(p) for p in ZONE)),), min_duration=0, cooldown=COOLDOWN
    )
    detector = MotionDetector(config)
    pictures = list(
        scene_frames(frames, object_path=back_and_forth(X0, X1, Y, first=20, period=PERIOD), seed=SCENE_SEED)
    )
    start = dt.datetime(2026, 1, 1, 12, 0)
    feed, live, marked = [], [], []
    for i, picture in enumerate(pictures):
        t0 = time.perf_counter()
        encode(picture)
        t1 = time.perf_counter()
        detections = detector.feed(picture, start + dt.timedelta(seconds=i / 10))
        t2 = time.perf_counter()
        live.append((t1 - t0) * 1000)
        feed.append((t2 - t1) * 1000)
        for detection in detections:
            t3 = time.perf_counter()
            encode(annotate(picture, detection))
            marked.append((time.perf_counter() - t3) * 1000)
    return {
        "live_jpeg": statistics.median(live),
        "detect": statistics.median(feed),
        "event_jpeg": statistics.median(marked) if marked else float("nan"),
    }


# --- the console and the trials ----------------------------------------------------------------------------


def epoch(iso: str | None) -> float | None:
    with contextlib.suppress(TypeError, ValueError):
        return dt.datetime.fromisoformat(iso).timestamp()
    return None


async def sent_time(camera, n: int | None) -> float | None:
    """When the camera sent frame n (it notes the time right after the frame's flush)."""
    if n is None:
        return None
    for _ in range(200):
        if n in camera.sent_at:
            return camera.sent_at[n]
        await asyncio.sleep(0.005)
    return None


def fired_index(bbox: list[float], detected: float | None, trigger: float, fps: int) -> int:
    """Which frame of the trial (0: the first with the object) the detector fired on, from the leading edge
    of the event's box: the right edge while the object walks right (frames 0 … PERIOD - 1), the left one
    on the way back. Past the first leg, the leg and the lap are the ones nearest the event's timing."""
    right = round((bbox[0] + bbox[2] - LEAD - X0) / DX)
    left = PERIOD + round((X1 - bbox[0] - LEAD) / DX)
    if detected is None:
        return right
    estimate = (detected - trigger) * fps
    candidates = [
        c + lap * 2 * PERIOD for c in (right, left) for lap in range(int(estimate // (2 * PERIOD)) + 2)
    ]
    return min(candidates, key=lambda c: (abs(c - estimate), c))


async def run_trials(
    args, host: str, port: int, camera, scene: Scene, server, connections_before: int
) -> dict:
    from websockets.asyncio.client import connect

    cookie = await alarm_latency.Console(host, port, args.console_user).login()
    ws = await connect(
        f"ws://{host}:{port}/ws/video/",
        origin=f"http://{host}:{port}",
        additional_headers={"Cookie": cookie},
        max_size=2**22,
    )
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    if hello.get("type") != "hello":
        raise RuntimeError(f"console: expected hello, got {hello}")
    events: asyncio.Queue[tuple[float, dict]] = asyncio.Queue()
    kinds: collections.Counter[str] = collections.Counter()
    closed = []

    async def listen() -> None:
        try:
            async for raw in ws:
                t = time.time()
                message = json.loads(raw)
                kinds[message.get("type", "?")] += 1
                payload = message.get("payload") or {}
                if message.get("type") == "event" and payload.get("camera", {}).get("code") == CAMERA_CODE:
                    events.put_nowait((t, payload))
        except Exception as exc:  # noqa: BLE001 - reported with the results
            closed.append(f"{type(exc).__name__}: {exc}")
        else:
            closed.append(f"closed by the server ({ws.close_code})")

    listener = asyncio.create_task(listen())
    # The worker connects to the camera (it may have come online before the console was there), and its
    # detector learns the background from its first frames (LEARN_FRAMES) before it compares.
    deadline = time.monotonic() + 60
    while camera.connections <= connections_before:
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError("the video worker did not connect to the camera within 60 s")
        await asyncio.sleep(0.1)
    served = camera.served
    while camera.served < served + 2 * LEARN_FRAMES:
        await asyncio.sleep(0.1)
    await asyncio.sleep(args.settle)

    trials: list[dict] = []
    false_events: list[str] = []
    hidden_at: float | None = None

    def take_false() -> None:
        while not events.empty():
            t, payload = events.get_nowait()
            when = "during warm-up" if hidden_at is None else f"{t - hidden_at:.2f} s after the object left"
            false_events.append(f"event {payload.get('id')} {when}")

    for k in range(args.trials):
        take_false()
        if closed or server.poll() is not None:
            break
        scene.show()
        shown = time.time()
        got = None
        while True:
            first_sent = await sent_time(camera, scene.first) if scene.first is not None else None
            deadline = (first_sent or shown) + LOST_AFTER
            try:
                t, payload = await asyncio.wait_for(events.get(), max(0.05, deadline - time.time()))
            except TimeoutError:
                if time.time() >= deadline:
                    break
                continue
            first_sent = await sent_time(camera, scene.first)
            if first_sent is None or t < first_sent:
                false_events.append(f"event {payload.get('id')} before the object of trial {k + 1} was sent")
                continue
            got = (t, payload)
            break
        first, count = scene.hide()
        hidden_at = time.time()
        trigger = await sent_time(camera, first)
        trial = {"k": k + 1, "first": first, "frames": count, "trigger": trigger}
        if got is not None and trigger is not None:
            t, payload = got
            trial["latency"] = (t - trigger) * 1000
            trial["placed"] = (t - shown) * 1000
            detected = epoch(payload.get("detected_at"))
            index = fired_index(payload.get("bbox") or [0, 0, 0, 0], detected, trigger, args.fps)
            trial["fired_on"] = index
            fired_sent = await sent_time(camera, first + index) if index >= 0 else None
            if fired_sent is not None and detected is not None:
                trial["waited"] = (fired_sent - trigger) * 1000
                trial["read"] = (detected - fired_sent) * 1000
                trial["server"] = (t - detected) * 1000
        trials.append(trial)
        print(
            f"  trial {k + 1}/{args.trials}: "
            + (
                f"{trial['latency']:.0f} ms (object frame {trial.get('fired_on', -1) + 1})"
                if "latency" in trial
                else "lost"
            ),
            file=sys.stderr,
            flush=True,
        )
        # A random phase against the camera's frame clock for the next trial's "placed" figure.
        await asyncio.sleep(args.settle + random.uniform(0, 1 / args.fps))
    take_false()
    await ws.close()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    return {
        "trials": trials,
        "false": false_events,
        "kinds": dict(kinds),
        "stations": hello.get("stations", []),
        "closed": closed[0] if closed and not closed[0].startswith("closed by the server (1000") else "",
    }


# --- report ------------------------------------------------------------------------------------------------


def row(label: str, values: list[float]) -> str:
    if not values:
        return f"| {label} | 0 | — | — | — | — |"
    return (
        f"| {label} | {len(values)} | {pct(values, 50):.0f} ms | {pct(values, 90):.0f} ms | "
        f"{pct(values, 99):.0f} ms | {max(values):.0f} ms |"
    )


def versions() -> str:
    import cv2

    return f"{alarm_latency.versions()} · OpenCV {cv2.__version__} (FFmpeg)"


def report(args, result: dict, context: dict) -> None:
    trials = result["trials"]
    done = [t for t in trials if "latency" in t]
    lost = len(trials) - len(done)
    latency = [t["latency"] for t in done]
    parts = [t for t in done if "server" in t]
    fired = collections.Counter(t["fired_on"] + 1 for t in done)
    print()
    print(
        f"machine: {alarm_latency.machine()} · {platform.system()} {platform.release()} · {versions()} · "
        f"{context['database']} · channel layer in-memory (one process) · {time.strftime('%Y-%m-%d %H:%M')} · "
        f"load average (1 min) {context['load_start']} at start, {context['load_end']} at end"
    )
    print(
        f"camera: HTTP MJPEG 640×360 JPEG q80 at {args.fps} fps, analysed at {args.fps} fps, "
        f"min area {context['min_area']:g}, min duration {args.min_duration:g} s, cooldown {COOLDOWN:g} s; "
        f"zone = left half; console as `{args.console_user}` on {len(result['stations'])} stations; "
        f"{args.trials} trials, {args.settle:g} s apart; camera connections {context['connections']}"
    )
    print()
    print("| measurement | n | p50 | p90 | p99 | max |")
    print("|---|---|---|---|---|---|")
    print(row("**object enters the zone → event on the console's WebSocket**", latency))
    print(
        row(
            "object placed in the scene at a random moment → event (+ wait for the next frame, its JPEG)",
            [t["placed"] for t in done],
        )
    )
    print(
        row("  of which frames waited (the object first seen in a later frame)", [t["waited"] for t in parts])
    )
    print(row("  of which stream read: camera send → frame taken for analysis", [t["read"] for t in parts]))
    print(
        row(
            "  of which server: live JPEG, detection, event JPEG, commit, channel layer, WebSocket",
            [t["server"] for t in parts],
        )
    )
    print(row("floor: `capture.Stream` read alone (send → frame returned), no server", context["floor"]))
    print(
        row(
            "after the run, no server: `services.record_motion` (commit + on-commit publish)",
            context["store_ms"],
        )
    )
    print(row("after the run, no server: `realtime.publish_event` alone", context["publish_ms"]))
    print()
    costs = context["costs"]
    print(
        f"lost (no event {LOST_AFTER:.0f} s after the object appeared): {lost} · false events (no object "
        f"shown): {len(result['false'])}"
        + (f" — {'; '.join(result['false'][:5])}" if result["false"] else "")
    )
    print(
        "fired on the object's frame: "
        + ", ".join(f"#{n}: {c}×" for n, c in sorted(fired.items()))
        + f" · stored events {context.get('stored', '?')} for {len(done)} delivered"
    )
    print(
        f"per analysed frame in this process (median): live JPEG {costs['live_jpeg']:.1f} ms, "
        f"detector {costs['detect']:.1f} ms; per event: annotated JPEG {costs['event_jpeg']:.1f} ms"
    )
    print(f"console WebSocket messages: {', '.join(f'{n} {k}' for k, n in sorted(result['kinds'].items()))}")
    if result["closed"]:
        print(f"console: {result['closed']}")
    print(f"server log: {context['server_log']}")
    print()
    print("RESULTS.md line:")
    print(
        f"| {context['database']} | {args.fps} fps | {args.min_duration:g} s | {len(trials)} | "
        + (
            f"{pct(latency, 50):.0f} / {pct(latency, 90):.0f} / {pct(latency, 99):.0f} / {max(latency):.0f} ms"
            if latency
            else "—"
        )
        + f" | {lost} | {len(result['false'])} | {time.strftime('%Y-%m-%d')} |"
    )


# --- main --------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument(
        "--fps", type=int, default=10, help="the camera's stream rate = its analysis rate (1-15)"
    )
    parser.add_argument(
        "--min-duration",
        type=float,
        default=0.0,
        help="the camera's min duration (s): 0 measures the pipeline; a configured one adds to it by design",
    )
    parser.add_argument("--settle", type=float, default=3.0, help="seconds between trials")
    parser.add_argument("--floor-seconds", type=float, default=10.0)
    parser.add_argument("--database-url", help="PostgreSQL URL of a scratch database (dropped and created)")
    parser.add_argument("--console-user", default="leader", help="demo account whose console listens")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch database, var dir and server log"
    )
    parser.add_argument("--phase", choices=["setup", "count", "store"], help=argparse.SUPPRESS)
    parser.add_argument("--stream-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase == "setup":
        return phase_setup(args.stream_url, args.fps, args.min_duration)
    if args.phase == "count":
        return phase_count()
    if args.phase == "store":
        return phase_store(args.trials)
    if not 1 <= args.fps <= 15:
        sys.exit("--fps: a camera is analysed at 1 to 15 fps")

    from doorstep.video.tests.mjpeg import MjpegCamera

    var = Path(tempfile.mkdtemp(prefix="doorstep-bench-video-"))
    host, http_port = "127.0.0.1", free_port()
    drop = (
        "DATABASE_URL",
        "REDIS_URL",
        "DOORSTEP_MQTT_URL",
        "DOORSTEP_VIDEO_MQTT_URL",
        "DOORSTEP_VIDEO_FRAME_DIR",
        "DOORSTEP_VIDEO_DEMO_SPEAKER_PORT",
    )
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env |= {
        "DJANGO_SETTINGS_MODULE": "doorstep.settings",
        "DOORSTEP_ENV": "development",
        "DOORSTEP_VAR_DIR": str(var),
        "DEBUG": "0",
        "DOORSTEP_ALARMD": "false",  # no alarm receivers: nothing else in the process
    }
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    context: dict = {"load_start": alarm_latency.load_average()}
    print("making the camera's pictures …", file=sys.stderr, flush=True)
    scene = Scene()
    context["costs"] = analysis_costs()
    camera = MjpegCamera(scene, fps=args.fps).start()
    server = None
    finished = False
    try:
        if args.database_url:
            create_database(args.database_url)
        print(f"setting up the scratch database ({var}) …", file=sys.stderr, flush=True)
        context |= run_phase(
            [
                "--phase",
                "setup",
                "--stream-url",
                camera.url,
                "--fps",
                str(args.fps),
                "--min-duration",
                str(args.min_duration),
            ],
            env,
        )
        print(f"floor: reading the stream for {args.floor_seconds:g} s …", file=sys.stderr, flush=True)
        context["floor"] = measure_floor(camera, scene, args.floor_seconds)
        floor_connections = camera.connections
        log = (var / "server.log").open("w")
        server = subprocess.Popen(  # noqa: S603 - manage.py of this checkout
            [sys.executable, "manage.py", "run", "--host", host, "--port", str(http_port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        if not wait_port(host, http_port, 60, server):
            sys.exit(
                f"the server did not start; see {var / 'server.log'}:\n{(var / 'server.log').read_text()[-3000:]}"
            )
        print(f"{args.trials} trials …", file=sys.stderr, flush=True)
        result = asyncio.run(run_trials(args, host, http_port, camera, scene, server, floor_connections))
        context["connections"] = camera.connections - floor_connections
        context["load_end"] = alarm_latency.load_average()
        context |= run_phase(["--phase", "count"], env)
        context["server_log"] = log_summary(var / "server.log")
        exited = server.poll()
        stop(server)
        context |= run_phase(["--phase", "store", "--trials", "20"], env)
        report(args, result, context)
        if exited is not None:
            print(f"\nthe server exited during the run (code {exited})")
        else:
            finished = True
    finally:
        stop(server)
        camera.stop()
        if args.keep:
            print(
                f"kept: {var}" + (f" and {args.database_url}" if args.database_url else ""), file=sys.stderr
            )
        else:
            if args.database_url:
                with contextlib.suppress(Exception):
                    drop_database(args.database_url)
            if finished:
                shutil.rmtree(var, ignore_errors=True)
            else:  # the server's log says what went wrong
                print(f"kept the server log of the failed run: {var / 'server.log'}", file=sys.stderr)


if __name__ == "__main__":
    main()
