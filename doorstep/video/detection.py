"""Motion (intrusion) detection for one camera: something moving inside its zones during its hours.

The design follows the motion detector of an established open-source NVR (Frigate): each frame is shrunk to
about 100 px high, turned grey and lightly blurred, then compared with a running-average background
(`cv2.accumulateWeighted`); the difference is thresholded and dilated, and the moving pixels are counted per
zone through masks drawn once at the shrunken size. Shrinking first is what makes it cheap (14,400 pixels
instead of 230,400 for 640×360) and it averages sensor noise away. Noise is filtered in four ways: the global
brightness difference (a shift or a gain) is taken out before differencing, and a change over much of the
frame that no such correction explains is read as lighting (the background is re-learnt, nothing reported);
a zone must move over `min_area` of its surface, for `min_duration` seconds; and a zone that fired stays
quiet for `cooldown` seconds.

Pure Python + numpy + OpenCV, no Django: the video worker feeds it decoded frames.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

WHOLE_FRAME = "全画面"
MAX_POINTS = 50

# Tuning, at the shrunken size; comparable to Frigate's (threshold 25-30, background alpha 0.01-0.2).
HEIGHT = 100  # frames are shrunk to about this height (aspect kept); smaller frames are used as they are
THRESHOLD = 25  # grey levels a pixel must differ from the background by to count as moving
ALPHA = 0.05  # background learning rate per frame (at 5 fps: a stopped object fades in after ~5 s)
LEARN_FRAMES = 10  # frames after start / reset / a size change that only learn the background
RELEARN_FRAMES = 5  # frames after a lighting change that only learn the background
RELEARN_ALPHA = 0.5
RETRY_SHARE = 0.01  # above this share changed after the mean correction, try the robust corrections too
UNEXPLAINED_SHARE = 0.1  # …or this much still changed after a large global brightness correction
LIGHTING_SHARE = 0.5  # more of the frame than this changing at once is lighting, not an intruder
GAP = dt.timedelta(seconds=0.5)  # a quiet spell of one frame, or of up to this, does not end a zone's motion

_KERNEL = np.ones((3, 3), np.uint8)
_CELLS = (16, 9)  # the grid over which the robust brightness corrections are estimated
_SHIFT = 4  # fillPoly sub-pixel bits: zone corners are placed to 1/16 px of the shrunken frame


def validate_polygon(points: object) -> tuple[tuple[float, float], ...]:
    """A zone polygon in normalised coordinates ([[x, y], …], 0..1), as a tuple; ValueError if unusable."""
    if isinstance(points, np.ndarray):
        points = points.tolist()
    if isinstance(points, str | bytes | dict) or not isinstance(points, Sequence):
        raise ValueError("区域须为坐标点列表，如 [[0.1, 0.2], [0.5, 0.2], [0.3, 0.8]]")
    if len(points) < 3:
        raise ValueError("区域至少需要 3 个点")
    if len(points) > MAX_POINTS:
        raise ValueError(f"区域最多 {MAX_POINTS} 个点")
    result = []
    for point in points:
        if isinstance(point, str | bytes | dict) or not isinstance(point, Sequence) or len(point) != 2:
            raise ValueError("每个点须为 [x, y] 两个数")
        xy = []
        for value in point:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError("坐标须为数字")
            if not math.isfinite(value) or not 0.0 <= value <= 1.0:
                raise ValueError("坐标须在 0 到 1 之间")
            xy.append(float(value))
        result.append((xy[0], xy[1]))
    # Shoelace area as a fraction of the frame: collinear or repeated points enclose nothing.
    area = 0.5 * abs(
        sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(result, result[1:] + result[:1], strict=True))
    )
    if area < 1e-6:
        raise ValueError("区域面积不能为零")
    return tuple(result)


@dataclass(frozen=True)
class Zone:
    """A detection zone (检测区域): a named polygon in normalised frame coordinates."""

    name: str
    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("区域名称不能为空")
        object.__setattr__(self, "points", validate_polygon(self.points))


@dataclass(frozen=True)
class DetectorConfig:
    """One camera's detection settings. Hours: a missing bound is the start / end of the day; equal bounds
    are the whole day; active_from > active_to wraps midnight (20:00-06:00)."""

    zones: tuple[Zone, ...] = ()
    min_area: float = 0.01
    min_duration: float = 1.0
    cooldown: float = 30.0
    active_from: dt.time | None = None
    active_to: dt.time | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "zones", tuple(self.zones))
        names = [zone.name for zone in self.zones]
        if len(set(names)) != len(names):
            raise ValueError("区域名称不能重复")
        if not 0.0 < self.min_area <= 1.0:
            raise ValueError("最小面积须大于 0 且不超过 1")
        if self.min_duration < 0 or self.cooldown < 0:
            raise ValueError("持续时间和冷却时间不能为负数")


@dataclass(frozen=True)
class Detection:
    """Motion in a zone that lasted long enough: an intrusion event (入侵事件) to record."""

    zone: str
    started_at: dt.datetime
    detected_at: dt.datetime
    area: float
    bbox: tuple[float, float, float, float]


@dataclass
class _ZoneState:
    name: str
    mask: np.ndarray | None  # None: the whole frame
    pixels: int
    since: dt.datetime | None = None  # the current motion began
    last_moving: dt.datetime | None = None
    quiet_frames: int = 0  # frames below min_area since last_moving
    quiet_until: dt.datetime | None = None  # cooldown

    def clear(self) -> None:
        self.since = self.last_moving = None
        self.quiet_frames = 0


class MotionDetector:
    """Feed it one camera's frames in order; it returns the zones' new detections for each frame."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.last_areas: dict[str, float] = {}  # moving share of each zone in the last frame compared
        self._min_duration = dt.timedelta(seconds=config.min_duration)
        self._cooldown = dt.timedelta(seconds=config.cooldown)
        self._background: np.ndarray | None = None  # float32, at the shrunken size
        self._size: tuple[int, ...] = ()  # height, width of the frames it was learnt from
        self._learning = 0  # frames still to learn before comparing
        self._learnt = 0  # frames averaged into the background since start (while learning from scratch)
        self._relearning = False
        self._zones: list[_ZoneState] = []
        self._last_at: dt.datetime | None = None

    def reset(self) -> None:
        """Forget the background (after a reconnection: the scene may have changed meanwhile)."""
        self._background = None
        for zone in self._zones:
            zone.clear()

    def active(self, at: dt.datetime) -> bool:
        """Whether `at` (its time of day, as given) falls inside the configured hours."""
        start, end = self.config.active_from, self.config.active_to
        if start is None and end is None:
            return True
        now = at.time().replace(tzinfo=None)
        start = start or dt.time.min
        if end is None:
            return now >= start
        if start == end:
            return True
        if start < end:
            return start <= now < end
        return now >= start or now < end

    def feed(self, frame: np.ndarray, at: dt.datetime) -> list[Detection]:
        """frame: BGR (H×W×3) or grey (H×W) uint8, any size (a new size restarts learning); `at`: its
        wall-clock time (hours are checked on at.time() as given)."""
        small = _shrink(frame)
        if self._last_at is not None and at < self._last_at:
            # The clock went back (NTP, camera clock): durations and cooldowns measured so far mean nothing.
            for zone in self._zones:
                zone.clear()
                zone.quiet_until = None
        self._last_at = at
        background = self._background
        if background is None or frame.shape[:2] != self._size:
            self._size = frame.shape[:2]
            self._start(small)
            return []
        if self._learning:
            self._learning -= 1
            self._learnt += 1
            # From scratch: the plain mean of the first frames; after a lighting change: follow it quickly.
            alpha = RELEARN_ALPHA if self._relearning else 1.0 / self._learnt
            cv2.accumulateWeighted(small, background, alpha)
            return []
        if not self.active(at):
            # Keep learning, so that the background is current when the hours begin.
            cv2.accumulateWeighted(small, background, ALPHA)
            for zone in self._zones:
                zone.clear()
            return []

        # Take out the global brightness difference before differencing (flicker, clouds, auto-exposure).
        shift = cv2.mean(small)[0] - cv2.mean(background)[0]
        lighting = False
        moving, changed = _compare(small, cv2.convertScaleAbs(background, alpha=1.0, beta=shift))
        if changed > RETRY_SHARE * moving.size:
            # Light scales pixels rather than adding to them, and clipped or dark pixels bias a mean: try the
            # median gain and the median shift over a coarse grid of cells too, and keep whichever leaves
            # the fewest pixels changed. One global correction cannot explain away a local object without
            # making the rest of the frame differ, and a median ignores the cells the object covers.
            cells_now = cv2.resize(small, _CELLS, interpolation=cv2.INTER_AREA).astype(np.float32)
            cells_before = cv2.resize(background, _CELLS, interpolation=cv2.INTER_AREA)
            ratios = cells_now / np.maximum(cells_before, 1.0)
            unclipped = ratios[(cells_now > 8) & (cells_now < 247)]  # a saturated cell hides its gain
            gain = float(np.median(unclipped if unclipped.size >= 8 else ratios))
            shift = float(np.median(cells_now - cells_before))
            for alpha, beta in ((gain, 0.0), (1.0, shift)):
                other, other_changed = _compare(
                    small, cv2.convertScaleAbs(background, alpha=alpha, beta=beta)
                )
                if other_changed < changed:
                    moving, changed = other, other_changed
            # The brightness of the whole scene jumped and no single correction explains much of the frame
            # (clipping, a camera switching to infrared): lighting too. A large object alone moves neither
            # median, so it is not mistaken for lighting.
            lighting = changed > UNEXPLAINED_SHARE * moving.size and (
                abs(shift) > THRESHOLD or not 0.75 < gain < 1.33
            )
        moving = cv2.dilate(moving, _KERNEL)
        changed = cv2.countNonZero(moving)
        if lighting or changed > LIGHTING_SHARE * moving.size:
            # Lights switched, the camera's exposure jumped: start over from this picture.
            background[:] = small
            self._learning = RELEARN_FRAMES
            self._relearning = True
            for zone in self._zones:
                zone.clear()
            return []
        cv2.accumulateWeighted(small, background, ALPHA)

        detections = []
        for zone in self._zones:
            if not changed:
                count = 0
                in_zone = None
            elif zone.mask is None:
                count, in_zone = changed, moving
            else:
                in_zone = cv2.bitwise_and(moving, zone.mask)
                count = cv2.countNonZero(in_zone)
            area = count / zone.pixels
            self.last_areas[zone.name] = area
            if zone.quiet_until is not None:
                if at < zone.quiet_until:
                    continue
                zone.quiet_until = None
            if area < self.config.min_area:
                if zone.since is not None:
                    zone.quiet_frames += 1
                    if zone.quiet_frames > 1 and at - zone.last_moving > GAP:
                        zone.clear()
                continue
            if zone.since is None:
                zone.since = at
            zone.last_moving = at
            zone.quiet_frames = 0
            if at - zone.since < self._min_duration:
                continue
            x, y, w, h = cv2.boundingRect(in_zone)
            height, width = moving.shape
            detections.append(
                Detection(
                    zone=zone.name,
                    started_at=zone.since,
                    detected_at=at,
                    area=area,
                    bbox=(x / width, y / height, w / width, h / height),
                )
            )
            zone.clear()
            zone.quiet_until = at + self._cooldown
        return detections

    def _start(self, small: np.ndarray) -> None:
        """A new stream or frame size: zone masks at this size, background from this frame."""
        self._background = small.astype(np.float32)
        self._learning = LEARN_FRAMES - 1
        self._learnt = 1
        self._relearning = False
        old = {zone.name: zone for zone in self._zones}
        self._zones = []
        self.last_areas = {}
        height, width = small.shape
        for name, mask in _zone_masks(self.config.zones, width, height):
            state = _ZoneState(name, mask, width * height if mask is None else cv2.countNonZero(mask))
            if name in old:  # a cooldown outlives a reconnection or a new frame size
                state.quiet_until = old[name].quiet_until
            self._zones.append(state)


def _shrink(frame: np.ndarray) -> np.ndarray:
    """Grey, about HEIGHT px high (shrunk by a whole factor: 360 → 90, 720 → 102, 1080 → 98), blurred."""
    if frame.dtype != np.uint8:
        raise ValueError("画面须为 8 位图像")
    if frame.ndim == 3:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    elif frame.ndim != 2:
        raise ValueError("画面须为 BGR 或灰度图像")
    height, width = frame.shape
    factor = max(1, round(height / HEIGHT))
    if factor > 1:
        # INTER_AREA averages each block of source pixels, which is what takes the sensor noise out
        # (INTER_LINEAR samples 4 pixels and keeps most of it). By a whole factor it is ~4× faster than by
        # an arbitrary one: the right and bottom edges lose fewer than `factor` pixels.
        height, width = height // factor, width // factor
        frame = cv2.resize(
            frame[: height * factor, : width * factor], (width, height), interpolation=cv2.INTER_AREA
        )
    return cv2.GaussianBlur(frame, (3, 3), 0)


def _compare(small: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, int]:
    _, moving = cv2.threshold(cv2.absdiff(small, reference), THRESHOLD, 255, cv2.THRESH_BINARY)
    return moving, cv2.countNonZero(moving)


def _zone_masks(zones: Iterable[Zone], width: int, height: int) -> list[tuple[str, np.ndarray | None]]:
    masks: list[tuple[str, np.ndarray | None]] = []
    scale = np.array([width, height], np.float64) * (1 << _SHIFT)
    for zone in zones:
        mask = np.zeros((height, width), np.uint8)
        polygon = np.round(np.array(zone.points) * scale).astype(np.int32)
        cv2.fillPoly(mask, [polygon], 255, cv2.LINE_8, _SHIFT)
        if not cv2.countNonZero(mask):  # a sliver thinner than a pixel: count the pixels it crosses
            cv2.polylines(mask, [polygon], True, 255, 1, cv2.LINE_8, _SHIFT)
        masks.append((zone.name, mask))
    return masks or [(WHOLE_FRAME, None)]


def absdiff_full_frame(previous: np.ndarray, frame: np.ndarray, threshold: int = 25) -> float:
    """The simplest alternative, for comparison: the share of pixels that changed by more than `threshold`
    between two consecutive frames, at full resolution, with no background, zones or noise filtering."""
    if previous.ndim == 3:
        previous = cv2.cvtColor(previous, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    _, changed = cv2.threshold(cv2.absdiff(previous, frame), threshold, 255, cv2.THRESH_BINARY)
    return cv2.countNonZero(changed) / changed.size
