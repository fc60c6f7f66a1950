"""Motion detection on synthetic 640×360 camera pictures at 5 fps (doorstep/video/testing.py): a textured
static scene with sensor noise, a dark 40×80 px object walking through it, lighting that flickers or jumps."""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np
import pytest

from doorstep.video.detection import (
    LEARN_FRAMES,
    WHOLE_FRAME,
    DetectorConfig,
    MotionDetector,
    Zone,
    absdiff_full_frame,
    validate_polygon,
)
from doorstep.video.testing import back_and_forth, run, scene_frames, timestamps, write_video

DOOR = Zone("门口", ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)))  # left half
YARD = Zone("院子", ((0.6, 0.0), (1.0, 0.0), (1.0, 1.0), (0.6, 1.0)))  # right 40 %
AFTERNOON = dt.datetime(2026, 11, 28, 14, 0)
FPS = 5
FIRST = 15  # the object appears at this frame, after the detector has learnt the scene

IN_DOOR = back_and_forth(0.1, 0.4, 0.5, first=FIRST)
IN_YARD = back_and_forth(0.7, 0.9, 0.5, first=FIRST)
FLICKER = lambda i: 40 if (i // 3) % 2 else -40  # noqa: E731 - ±40 grey levels, every 3 frames


def detect(n: int, config: DetectorConfig, start: dt.datetime = AFTERNOON, **scene) -> list:
    return run(MotionDetector(config), scene_frames(n, **scene), start, FPS)


def test_object_moving_inside_zone_raises_one_event():
    config = DetectorConfig(zones=(DOOR, YARD), min_duration=1.0)

    found = detect(60, config, object_path=IN_DOOR)

    assert [d.zone for d in found] == ["门口"]
    event = found[0]
    at = timestamps(AFTERNOON, 60, FPS)
    assert event.started_at == at[FIRST]
    assert event.detected_at == at[FIRST + FPS]  # 1 s later
    assert config.min_area <= event.area <= 1
    x, y, w, h = event.bbox
    assert x >= 0.05 and x + w <= 0.5 + 1 / 160  # inside the zone (one pixel of the shrunken frame)
    assert 0.3 <= y <= 0.4 and 0.5 <= y + h <= 0.7  # the object is 80 of 360 px high, centred
    assert w > 0.05


def test_object_moving_outside_zone_raises_nothing():
    assert detect(60, DetectorConfig(zones=(DOOR,)), object_path=IN_YARD) == []


def test_each_zone_fires_for_its_own_motion():
    found = detect(60, DetectorConfig(zones=(DOOR, YARD)), object_path=IN_YARD)

    assert [d.zone for d in found] == ["院子"]
    assert found[0].bbox[0] >= 0.6 - 1 / 160


def test_lighting_flicker_and_step_raise_nothing():
    config = DetectorConfig(zones=(DOOR, YARD))

    assert detect(80, config, flicker=FLICKER) == []
    assert detect(60, config, flicker=lambda i: 0 if i < 25 else 45) == []


@pytest.mark.parametrize(
    "gain",
    [
        lambda i: 1.0 if i < 25 else 0.4,  # lights off, the street lamp stays
        lambda i: 1.0 if i < 25 else 1.5,  # lights on
        lambda i: 1.0 + 0.4 * min(1.0, max(0.0, (i - 20) / 15)),  # auto-exposure opening over 3 s
        lambda i: 1.0 if i < 25 else 3.0,  # overexposed: most of the picture clips to white
    ],
    ids=["dimmed", "brightened", "exposure-drift", "overexposed"],
)
def test_lights_switching_raise_nothing(gain):
    assert detect(60, DetectorConfig(zones=(DOOR, YARD)), gain=gain) == []


def test_lamp_lighting_one_side_raises_nothing():
    """Uneven light (a lamp switched on at one side: +0 on the left to +120 on the right) is no single
    brightness correction: the detector re-learns the scene instead of reporting it."""
    lamp = np.linspace(0, 120, 640)
    light = lambda i: lamp if i >= 25 else 0.0  # noqa: E731

    assert detect(60, DetectorConfig(zones=(DOOR, YARD)), flicker=light) == []


def test_large_object_close_to_the_camera_is_not_lighting():
    """A 200×300 px object covers a quarter of the picture and darkens it, but moves no median."""
    big = back_and_forth(0.1, 0.3, 0.5, first=FIRST)

    found = detect(40, DetectorConfig(zones=(DOOR,)), object_path=big, object_size=(200, 300))

    assert [d.zone for d in found] == ["门口"]
    assert found[0].started_at == AFTERNOON + dt.timedelta(seconds=FIRST / FPS)


def test_object_still_detected_while_lights_flicker():
    found = detect(60, DetectorConfig(zones=(DOOR, YARD)), object_path=IN_DOOR, flicker=FLICKER)

    assert [d.zone for d in found] == ["门口"]


@pytest.mark.parametrize(
    ("start", "events"),
    [
        (dt.datetime(2026, 11, 28, 14, 0), 0),
        (dt.datetime(2026, 11, 28, 23, 0), 1),
        (dt.datetime(2026, 11, 29, 5, 0), 1),
        (dt.datetime(2026, 11, 29, 6, 0), 0),
    ],
)
def test_only_during_active_hours(start, events):
    config = DetectorConfig(zones=(DOOR,), active_from=dt.time(20, 0), active_to=dt.time(6, 0))

    assert len(detect(40, config, start, object_path=IN_DOOR)) == events


def test_active_hours_wrap_midnight():
    config = DetectorConfig(zones=(DOOR,), active_from=dt.time(20, 0), active_to=dt.time(6, 0))
    detector = MotionDetector(config)
    start = dt.datetime(2026, 11, 28, 23, 59, 58)  # the object appears at 00:00:01

    found = run(detector, scene_frames(40, object_path=IN_DOOR), start, FPS)

    assert len(found) == 1
    assert found[0].detected_at.date() == dt.date(2026, 11, 29)
    day = dt.date(2026, 11, 28)
    for hhmm, active in [("19:59", False), ("20:00", True), ("23:59", True), ("00:00", True)]:
        assert detector.active(dt.datetime.combine(day, dt.time.fromisoformat(hhmm))) is active
    for hhmm, active in [("05:59", True), ("06:00", False), ("12:00", False)]:
        assert detector.active(dt.datetime.combine(day, dt.time.fromisoformat(hhmm))) is active
    aware = dt.datetime(2026, 11, 28, 21, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert detector.active(aware)  # the time of day as given, whatever the zone


def test_open_ended_and_day_long_hours():
    def active(**hours):
        return [
            MotionDetector(DetectorConfig(**hours)).active(dt.datetime(2026, 11, 28, h)) for h in (3, 12, 22)
        ]

    assert active() == [True, True, True]
    assert active(active_from=dt.time(20, 0)) == [False, False, True]  # until midnight
    assert active(active_to=dt.time(6, 0)) == [True, False, False]  # from midnight
    assert active(active_from=dt.time(8, 0), active_to=dt.time(8, 0)) == [True, True, True]


def test_background_is_current_when_the_hours_begin():
    """Outside the hours the detector keeps learning: the first motion after 20:00 fires on time."""
    config = DetectorConfig(zones=(DOOR,), active_from=dt.time(20, 0), active_to=dt.time(6, 0))
    start = dt.datetime(2026, 11, 28, 19, 59, 50)
    # The light fades before 20:00 (dusk), the object walks in at 20:00:02.
    gain = lambda i: 1.0 - 0.3 * min(1.0, i / 40)  # noqa: E731

    found = detect(80, config, start, object_path=back_and_forth(0.1, 0.4, 0.5, first=60), gain=gain)

    assert len(found) == 1
    assert found[0].started_at == start + dt.timedelta(seconds=12)


def test_cooldown_holds_back_the_next_event():
    config = DetectorConfig(zones=(DOOR,), min_duration=1.0, cooldown=10.0)

    found = detect(150, config, object_path=IN_DOOR)  # 27 s of motion

    assert len(found) == 3
    for before, after in zip(found, found[1:], strict=False):
        assert after.started_at >= before.detected_at + dt.timedelta(seconds=10)
        assert after.detected_at - after.started_at >= dt.timedelta(seconds=1)


@pytest.mark.parametrize("fps", [1, 2, 12])
def test_any_frame_rate(fps):
    """The analysis rate is set per camera: durations are measured in seconds, whatever the frame rate."""
    config = DetectorConfig(zones=(DOOR,), min_duration=2.0)
    start = AFTERNOON

    found = run(MotionDetector(config), scene_frames(FIRST + 4 * fps, object_path=IN_DOOR), start, fps)

    assert len(found) == 1
    assert found[0].started_at == start + dt.timedelta(seconds=FIRST / fps)
    assert found[0].detected_at == start + dt.timedelta(seconds=FIRST / fps + 2)


def test_one_missed_frame_does_not_restart_the_motion():
    """The object stands still behind something for one frame: still one motion, from its first frame."""
    hidden = lambda i: None if i == FIRST + 2 else IN_DOOR(i)  # noqa: E731
    config = DetectorConfig(zones=(DOOR,), min_duration=1.0)

    found = detect(40, config, object_path=hidden)

    assert [d.started_at for d in found] == [AFTERNOON + dt.timedelta(seconds=FIRST / FPS)]


def test_single_frame_blip_raises_nothing():
    blip = lambda i: (0.25, 0.5) if i == 30 else None  # noqa: E731

    assert detect(50, DetectorConfig(zones=(DOOR,)), object_path=blip) == []
    # ...though it is large enough: with no duration asked, it fires.
    assert len(detect(50, DetectorConfig(zones=(DOOR,), min_duration=0), object_path=blip)) == 1


def test_small_noise_stays_below_min_area():
    """A flickering 8×8 px spot (an insect, a blinking LED) and strong sensor noise: seen, but too small."""
    detector = MotionDetector(DetectorConfig(zones=(DOOR,), min_area=0.01))
    spot = lambda i: (0.25, 0.5) if i % 2 else None  # noqa: E731
    largest = 0.0

    for frame, at in zip(
        scene_frames(60, object_path=spot, object_size=(8, 8), noise=8.0),
        timestamps(AFTERNOON, 60, FPS),
        strict=True,
    ):
        assert detector.feed(frame, at) == []
        largest = max(largest, detector.last_areas.get("门口", 0.0))

    assert 0 < largest < 0.01


def test_no_zones_means_the_whole_frame():
    found = detect(60, DetectorConfig(), object_path=IN_YARD)

    assert [d.zone for d in found] == [WHOLE_FRAME]
    assert found[0].bbox[0] >= 0.6


def test_first_frames_only_learn():
    """An object already moving when the stream starts (or after a reset) is not reported while learning."""
    detector = MotionDetector(DetectorConfig(zones=(DOOR,), min_duration=0))
    path = back_and_forth(0.1, 0.4, 0.5)
    at = timestamps(AFTERNOON, 40, FPS)
    frames = list(scene_frames(40, object_path=path))

    assert all(detector.feed(frames[i], at[i]) == [] for i in range(LEARN_FRAMES))
    assert detector.feed(frames[LEARN_FRAMES], at[LEARN_FRAMES])  # learnt: the object shows

    detector.reset()
    assert all(detector.feed(frames[i], at[i]) == [] for i in range(20, 20 + LEARN_FRAMES))


def test_frame_size_change_restarts_learning():
    """640×360 colour, then 320×180 grey (a camera switched to its sub-stream): no crash, detects again."""
    detector = MotionDetector(DetectorConfig(zones=(DOOR,)))
    big = scene_frames(30, object_path=IN_DOOR)
    small = (
        cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        for frame in scene_frames(40, size=(320, 180), object_size=(20, 40), object_path=IN_DOOR)
    )

    first = run(detector, big, AFTERNOON, FPS)
    second = run(detector, small, AFTERNOON + dt.timedelta(minutes=5), FPS)

    assert len(first) == 1 and len(second) == 1
    assert second[0].started_at == AFTERNOON + dt.timedelta(minutes=5, seconds=FIRST / FPS)


def test_video_file_written_and_read_back_through_opencv(tmp_path):
    path = tmp_path / "camera.avi"
    assert write_video(path, scene_frames(50, object_path=IN_DOOR), fps=FPS) == 50
    detector = MotionDetector(DetectorConfig(zones=(DOOR, YARD)))
    capture = cv2.VideoCapture(str(path))
    found, count = [], 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            assert frame.shape == (360, 640, 3)
            found += detector.feed(frame, AFTERNOON + dt.timedelta(seconds=count / FPS))
            count += 1
    finally:
        capture.release()

    assert count == 50
    assert [d.zone for d in found] == ["门口"]


def test_simplest_alternative_reads_flicker_as_motion():
    """Why not plain frame differencing: it measures every lighting change as motion."""
    frames = list(scene_frames(4, flicker=FLICKER))  # frames 0-2 dark, 3 bright

    assert absdiff_full_frame(frames[0], frames[1]) < 0.01
    assert absdiff_full_frame(frames[2], frames[3]) > 0.9
    grey = [cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) for frame in frames]
    assert absdiff_full_frame(grey[2], grey[3]) == absdiff_full_frame(frames[2], frames[3])


def test_validate_polygon_accepts_lists_and_tuples():
    assert validate_polygon([[0, 0], [1, 0], [0.5, 1]]) == ((0.0, 0.0), (1.0, 0.0), (0.5, 1.0))
    assert validate_polygon(((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9))) == (
        (0.1, 0.1),
        (0.9, 0.1),
        (0.9, 0.9),
        (0.1, 0.9),
    )
    assert len(validate_polygon([[0.5 + 0.4 * np.cos(a), 0.5 + 0.4 * np.sin(a)] for a in range(50)])) == 50
    assert validate_polygon(np.array([[0, 0], [1, 0], [1, 1]], np.float32))[1] == (1.0, 0.0)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ("0,0 1,0 1,1", "坐标点列表"),
        ({"x": 0}, "坐标点列表"),
        (None, "坐标点列表"),
        ([[0, 0], [1, 1]], "至少需要 3 个点"),
        ([[0.5, 0.5]] * 51, "最多 50 个点"),
        ([[0, 0], [1, 0], [1]], "两个数"),
        ([[0, 0], [1, 0], [1, 1, 1]], "两个数"),
        ([[0, 0], [1, 0], ["1", 1]], "须为数字"),
        ([[0, 0], [1, 0], [True, 1]], "须为数字"),
        ([[0, 0], [1, 0], [None, 1]], "须为数字"),
        ([[0, 0], [1, 0], [float("nan"), 1]], "0 到 1"),
        ([[0, 0], [1.5, 0], [1, 1]], "0 到 1"),
        ([[0, 0], [1, 0], [1, -0.1]], "0 到 1"),
        ([[0, 0], [0.5, 0.5], [1, 1]], "面积不能为零"),
        ([[0.2, 0.2], [0.2, 0.2], [0.2, 0.2]], "面积不能为零"),
    ],
)
def test_validate_polygon_rejects(points, message):
    with pytest.raises(ValueError, match=message):
        validate_polygon(points)


def test_zones_and_config_are_checked():
    assert Zone("门口", [[0, 0], [1, 0], [1, 1]]).points == ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0))
    with pytest.raises(ValueError, match="至少需要 3 个点"):
        Zone("门口", ((0, 0), (1, 1)))
    with pytest.raises(ValueError, match="名称不能为空"):
        Zone(" ", ((0, 0), (1, 0), (1, 1)))
    with pytest.raises(ValueError, match="不能重复"):
        DetectorConfig(zones=(DOOR, DOOR))
    with pytest.raises(ValueError, match="最小面积"):
        DetectorConfig(min_area=0)
    with pytest.raises(ValueError, match="不能为负数"):
        DetectorConfig(cooldown=-1)


def test_tiny_zone_still_has_pixels():
    """A zone thinner than a pixel of the shrunken frame still watches the pixels it crosses."""
    sliver = Zone("栏杆", ((0.30, 0.2), (0.302, 0.2), (0.302, 0.8), (0.30, 0.8)))
    found = detect(
        60, DetectorConfig(zones=(sliver,)), object_path=back_and_forth(0.2, 0.4, 0.5, first=FIRST)
    )

    assert [d.zone for d in found] == ["栏杆"]
