"""Synthetic camera pictures for tests, benchmarks and the demo: a textured static scene with sensor noise,
optionally a dark object moving through it and the lighting changing. Deterministic for a given seed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from doorstep.video.detection import Detection, MotionDetector

ObjectPath = Callable[
    [int], tuple[float, float] | None
]  # frame index → normalised centre of the object, or None


def scene(size: tuple[int, int] = (640, 360), seed: int = 0) -> np.ndarray:
    """A static BGR scene (width, height = size): soft large shapes, blocky mid-scale texture, fine grain.
    Grey levels stay within about 45..205 so that ±40 of lighting does not clip."""
    width, height = size
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(rng.uniform(70, 180, (9, 16)).astype(np.float32), size, interpolation=cv2.INTER_CUBIC)
    blocks = rng.normal(0, 18, (max(1, height // 6), max(1, width // 6))).astype(np.float32)
    blocks = cv2.resize(blocks, size, interpolation=cv2.INTER_NEAREST)
    grain = rng.normal(0, 6, (height, width)).astype(np.float32)
    grey = coarse + blocks + grain
    tint = np.array([6.0, -3.0, -6.0], np.float32)  # a little colour: B, G, R offsets
    picture = grey[:, :, None] + tint
    return np.clip(picture, 45, 205).astype(np.uint8)


def scene_frames(
    n: int,
    *,
    size: tuple[int, int] = (640, 360),
    object_path: ObjectPath | None = None,
    object_size: tuple[int, int] = (40, 80),
    object_value: int = 25,
    flicker: Callable[[int], float | np.ndarray] | None = None,
    gain: Callable[[int], float] | None = None,
    noise: float = 3.0,
    seed: int = 0,
) -> Iterator[np.ndarray]:
    """`n` BGR frames of one scene. `object_path(i)` places a dark object_size (w, h px) rectangle centred at
    normalised (x, y) in frame i, or nowhere (None); `gain(i)` multiplies and `flicker(i)` adds to every
    pixel (lighting; an array of one value per column, or per pixel (h, w), lights the scene unevenly); `noise` is the sensor noise's standard deviation in grey levels, new every frame."""
    width, height = size
    rng = np.random.default_rng(seed + 1)
    base = scene(size, seed).astype(np.int16)
    bank = (
        [rng.normal(0, noise, (height, width, 3)).round().astype(np.int16) for _ in range(8)] if noise else []
    )
    ow, oh = object_size
    for i in range(n):
        picture = base.copy()
        place = object_path(i) if object_path else None
        if place is not None:
            cx, cy = round(place[0] * width), round(place[1] * height)
            x0, y0 = max(0, cx - ow // 2), max(0, cy - oh // 2)
            picture[y0 : y0 + oh, x0 : x0 + ow] = object_value
        if gain is not None:
            picture = (picture * gain(i)).astype(np.int16)
        if flicker is not None:
            offset = np.rint(np.asarray(flicker(i))).astype(np.int16)
            picture += offset[..., None] if offset.ndim else offset
        if bank:
            picture += bank[int(rng.integers(len(bank)))]
        yield np.clip(picture, 0, 255).astype(np.uint8)


def back_and_forth(
    x0: float, x1: float, y: float, *, first: int = 0, last: int | None = None, period: int = 20
) -> ObjectPath:
    """An object walking from x0 to x1 and back (one way in `period` frames) at height y, present from
    frame `first` to frame `last` (inclusive; None: to the end)."""

    def path(i: int) -> tuple[float, float] | None:
        if i < first or (last is not None and i > last):
            return None
        phase = ((i - first) % (2 * period)) / period
        t = phase if phase <= 1 else 2 - phase
        return (x0 + (x1 - x0) * t, y)

    return path


def timestamps(start: dt.datetime, n: int, fps: float = 5) -> list[dt.datetime]:
    return [start + dt.timedelta(seconds=i / fps) for i in range(n)]


def run(
    detector: MotionDetector, frames: Iterable[np.ndarray], start: dt.datetime, fps: float = 5
) -> list[Detection]:
    """Feed the frames as if they came at `fps` from `start`; every detection, in order."""
    found: list[Detection] = []
    for i, frame in enumerate(frames):
        found += detector.feed(frame, start + dt.timedelta(seconds=i / fps))
    return found


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 5) -> int:
    """Write BGR frames to a Motion-JPEG .avi (what OpenCV can always write); the number of frames."""
    writer = None
    count = 0
    try:
        for frame in frames:
            if writer is None:
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
                if not writer.isOpened():
                    raise OSError(f"无法写入视频文件：{path}")
            writer.write(frame)
            count += 1
    finally:
        if writer is not None:
            writer.release()
    return count
