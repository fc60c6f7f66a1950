"""Video motion detection throughput on one core: frames/s of `MotionDetector.feed` (2 zones) against the
simplest alternative (full-resolution frame differencing), the cost of decoding the frames, and how many
5-fps cameras one core can watch.

    .venv/bin/python bench/video_detect.py                  # about 1.5 minutes
    .venv/bin/python bench/video_detect.py --seconds 0.5    # a short trial

Frames are synthetic 640×360 BGR pictures from doorstep/video/testing.py (a textured scene with sensor noise,
a dark 40×80 px object walking through one zone), made before timing. The process is pinned to one core
(`sched_setaffinity`) and OpenCV to one thread. Each figure is the median of --repeats runs of --seconds,
cycling through the frames. Decoding: `cv2.imdecode` of the same pictures as JPEG (quality --quality), in
colour and reduced to ¼ size in grey (libjpeg's DCT scaling, what an MJPEG camera's detector could use),
and FFmpeg's MPEG-4 Part 2 through `cv2.VideoCapture` (this OpenCV build has no H.264 encoder to make an
H.264 file with). Prints Markdown tables for bench/RESULTS.md with the machine and the date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from doorstep.video.detection import DetectorConfig, MotionDetector, Zone, absdiff_full_frame  # noqa: E402
from doorstep.video.testing import back_and_forth, scene_frames  # noqa: E402

CAMERA_FPS = 5
ZONES = (
    Zone("门口", ((0.05, 0.1), (0.5, 0.1), (0.5, 0.95), (0.05, 0.95))),
    Zone("院子", ((0.6, 0.3), (0.95, 0.2), (0.95, 0.9), (0.65, 0.95))),
)
START = dt.datetime(2026, 11, 28, 22, 0)
STEP = dt.timedelta(seconds=1 / CAMERA_FPS)
FLICKER = lambda i: 40 if (i // 3) % 2 else -40  # noqa: E731


def rate(work: Callable[[int], object], n: int, seconds: float, repeats: int) -> float:
    """Median over `repeats` runs of calls per second of work(i), i = 0, 1, 2, … for about `seconds` each."""
    results = []
    i = 0
    for _ in range(repeats):
        done = 0
        t0 = time.perf_counter()
        while True:
            for _ in range(n):
                work(i)
                i += 1
            done += n
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                break
        results.append(done / elapsed)
    return statistics.median(results)


def feeding(frames: Sequence[np.ndarray]) -> Callable[[int], object]:
    detector = MotionDetector(DetectorConfig(zones=ZONES, cooldown=30.0))
    return lambda i: detector.feed(frames[i % len(frames)], START + i * STEP)


def flagged(frames: Sequence[np.ndarray]) -> tuple[int, int, int]:
    """Frames the simplest alternative flags (≥ 1 % of the picture changed since the previous frame), frames
    in which a zone of the detector moves over min_area (1 %), and the detector's events."""
    detector = MotionDetector(DetectorConfig(zones=ZONES, cooldown=30.0))
    simple = zone = events = 0
    for i, frame in enumerate(frames):
        simple += i > 0 and absdiff_full_frame(frames[i - 1], frame) >= 0.01
        events += len(detector.feed(frame, START + i * STEP))
        zone += max(detector.last_areas.values(), default=0.0) >= 0.01
    return simple, zone, events


def machine() -> str:
    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout  # noqa: S603 - fixed commands
        except (OSError, subprocess.CalledProcessError):
            return ""

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in run("lscpu").splitlines()
            if line.startswith("Model name")
        ),
        platform.processor() or platform.machine(),
    )
    return (
        f"{run('nproc').strip() or os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, OpenCV {cv2.__version__}, numpy {np.__version__}; "
        f"{run('date').strip()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="distinct synthetic frames (cycled)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quality", type=int, default=80, help="JPEG quality of the decoded pictures")
    parser.add_argument("--core", type=int, default=0)
    args = parser.parse_args()
    host = machine()  # before pinning: nproc counts the cores this process may use
    os.sched_setaffinity(0, {args.core})
    cv2.setNumThreads(1)
    n, seconds, repeats = args.frames, args.seconds, args.repeats

    walking = back_and_forth(0.1, 0.4, 0.5, period=20)
    moving = list(scene_frames(n, object_path=walking))
    quiet = list(scene_frames(n))
    flicker = list(scene_frames(n, object_path=walking, flicker=FLICKER))
    grey = [cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) for frame in moving]
    jpegs = [cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, args.quality])[1] for frame in moving]
    reduced = [cv2.imdecode(jpeg, cv2.IMREAD_REDUCED_GRAYSCALE_4) for jpeg in jpegs]

    rows: list[tuple[str, float]] = []

    def measure(name: str, work: Callable[[int], object]) -> float:
        fps = rate(work, n, seconds, repeats)
        rows.append((name, fps))
        print(f"  {name}: {fps:,.0f} frames/s", file=sys.stderr, flush=True)
        return fps

    detect = measure("`MotionDetector.feed`, 2 zones, object walking in one (BGR in)", feeding(moving))
    measure("`MotionDetector.feed`, 2 zones, quiet scene (sensor noise only)", feeding(quiet))
    measure("`MotionDetector.feed`, 2 zones, object walking + lighting flicker ±40", feeding(flicker))
    measure("`MotionDetector.feed`, 2 zones, object walking (grey in)", feeding(grey))

    state = {"previous": cv2.cvtColor(moving[-1], cv2.COLOR_BGR2GRAY)}

    def simplest(i: int) -> float:
        current = cv2.cvtColor(moving[i % n], cv2.COLOR_BGR2GRAY)
        changed = absdiff_full_frame(state["previous"], current)
        state["previous"] = current
        return changed

    alternative = measure("simplest alternative: grey + `absdiff_full_frame` at 640×360", simplest)
    measure(
        "`absdiff_full_frame(previous BGR, frame BGR)` (converts both)",
        lambda i: absdiff_full_frame(moving[(i - 1) % n], moving[i % n]),
    )

    decode = measure(
        f"`cv2.imdecode` JPEG q{args.quality} 640×360 → BGR",
        lambda i: cv2.imdecode(jpegs[i % n], cv2.IMREAD_COLOR),
    )
    decode_small = measure(
        "`cv2.imdecode` same JPEG, `IMREAD_REDUCED_GRAYSCALE_4` → 160×90 grey",
        lambda i: cv2.imdecode(jpegs[i % n], cv2.IMREAD_REDUCED_GRAYSCALE_4),
    )
    detect_small = measure("`MotionDetector.feed`, 2 zones, on those 160×90 grey frames", feeding(reduced))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "camera.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), CAMERA_FPS, (640, 360))
        mpeg4 = writer.isOpened()
        if mpeg4:
            for frame in moving:
                writer.write(frame)
        writer.release()
        capture = {"video": cv2.VideoCapture(str(path))}

        def read(i: int) -> np.ndarray:
            ok, frame = capture["video"].read()
            if not ok:  # end of file: start again (reopening is counted; it is once per `n` frames)
                capture["video"].release()
                capture["video"] = cv2.VideoCapture(str(path))
                ok, frame = capture["video"].read()
            return frame

        decode_video = measure("FFmpeg MPEG-4 Part 2 via `cv2.VideoCapture.read` → BGR", read) if mpeg4 else 0
        capture["video"].release()
        mjpeg_bytes = sum(len(j) for j in jpegs) // n

    print()
    print(f"Machine: {host}; pinned to core {args.core}, OpenCV with {cv2.getNumThreads()} thread.")
    print(
        f"Frames: {n} synthetic 640×360 pictures, JPEG q{args.quality} ≈ {mjpeg_bytes:,} bytes each (sensor "
        f"noise makes them larger than a real scene's); median of {repeats} runs of {seconds:g} s."
    )
    print()
    print("| measurement | frames/s | µs/frame | 5-fps cameras per core |")
    print("|---|---|---|---|")
    for name, fps in rows:
        if fps:
            print(f"| {name} | {fps:,.0f} | {1e6 / fps:,.0f} | {fps / CAMERA_FPS:,.0f} |")
    print()

    clips = {
        "object walking in a zone from frame 15": list(
            scene_frames(n, object_path=back_and_forth(0.1, 0.4, 0.5, first=15))
        ),
        "empty scene, sensor noise": quiet,
        "empty scene, lighting ±40 every 3 frames": list(scene_frames(n, flicker=FLICKER)),
        "empty scene, lights dimmed to 40 % at frame 50": list(
            scene_frames(n, gain=lambda i: 1 if i < 50 else 0.4)
        ),
    }
    print(f"What each reports on {n} frames (40 s at 5 fps):")
    print()
    print(
        "| clip | simplest alternative: frames ≥ 1 % changed | detector: frames a zone moves ≥ 1 % | detector: events |"
    )
    print("|---|---|---|---|")
    for name, frames in clips.items():
        simple, zone, events = flagged(frames)
        print(f"| {name} | {simple} | {zone} | {events} |")
    print()

    def combined(*fps: float) -> float:
        return 1 / sum(1 / f for f in fps)

    both = combined(decode, detect)
    small_both = combined(decode_small, detect_small)
    print("| per camera frame | frames/s | 5-fps cameras per core |")
    print("|---|---|---|")
    print(f"| detection alone (BGR 640×360) | {detect:,.0f} | {detect / CAMERA_FPS:,.0f} |")
    print(f"| JPEG decode + detection | {both:,.0f} | {both / CAMERA_FPS:,.0f} |")
    print(
        f"| JPEG decode at ¼ in grey + detection on it | {small_both:,.0f} | {small_both / CAMERA_FPS:,.0f} |"
    )
    if decode_video:
        video_both = combined(decode_video, detect)
        print(f"| MPEG-4 Part 2 decode + detection | {video_both:,.0f} | {video_both / CAMERA_FPS:,.0f} |")
    print()
    print(
        f"Detector ÷ simplest alternative: {detect / alternative:.2f}× the frames/s "
        f"({1e6 / detect:,.0f} vs {1e6 / alternative:,.0f} µs/frame). Decoding a JPEG costs "
        f"{detect / decode:.1f}× the detection of its frame."
    )


if __name__ == "__main__":
    main()
