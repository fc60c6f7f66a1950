"""Track cleaning (doorstep.patrol.tracks): pure functions, property tests with hypothesis."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from doorstep.conftest import square
from doorstep.core.geo import distance_m
from doorstep.patrol import tracks
from doorstep.patrol.tracks import Fix

T0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
LNG0, LAT0 = 118.605, 24.905
GRID_A = square(118.60, 24.90)


@st.composite
def walks(draw, min_size=2, max_size=40):
    """A plausible walk: fixes 3–20 s apart, each step at most ~2 m/s in each axis, good accuracy."""
    n = draw(st.integers(min_size, max_size))
    fixes, at, lng, lat = [], T0, LNG0, LAT0
    for seq in range(1, n + 1):
        fixes.append(Fix(seq, at, lng, lat, draw(st.floats(1, 40))))
        step = draw(st.integers(3, 20))
        at += dt.timedelta(seconds=step)
        lng += draw(st.floats(-1, 1)) * step * 1e-5  # ≤ ~1 m/s east-west
        lat += draw(st.floats(-1, 1)) * step * 1e-5
    return fixes


@settings(max_examples=60, deadline=None)
@given(walks(min_size=3), st.data())
def test_a_far_jump_is_flagged_and_does_not_add_distance(fixes, data):
    base = tracks.clean(fixes)
    i = data.draw(st.integers(1, len(fixes) - 1))  # after the first fix: it needs an anchor
    before, after = fixes[i - 1], fixes[i]
    at = before.at + (after.at - before.at) / 2
    far = Fix(10_000, at, before.lng + data.draw(st.sampled_from([0.5, -0.5])), before.lat + 0.3, 5.0)
    result = tracks.clean([*fixes, far])
    assert result.flags[10_000] == tracks.JUMP
    # Bounded: the jump never moves the line, so the distance does not grow at all (a metre of float noise).
    assert result.distance_m <= base.distance_m + 1.0
    assert result.track == base.track


@settings(max_examples=60, deadline=None)
@given(walks(), st.randoms(use_true_random=False), st.integers(0, 10))
def test_duplicates_and_any_order_give_the_result_of_sorted_unique(fixes, rnd, extra):
    shuffled = list(fixes) + [rnd.choice(fixes) for _ in range(extra)]
    rnd.shuffle(shuffled)
    assert tracks.clean(shuffled) == tracks.clean(sorted(fixes, key=lambda f: (f.at, f.seq)))


@settings(max_examples=40, deadline=None)
@given(walks(min_size=4), st.data(), st.integers(121, 3600))
def test_a_gap_splits_the_line(fixes, data, pause):
    i = data.draw(st.integers(2, len(fixes) - 2))  # at least two points on each side
    shifted = fixes[:i] + [
        Fix(f.seq, f.at + dt.timedelta(seconds=pause), f.lng, f.lat, f.accuracy) for f in fixes[i:]
    ]
    result = tracks.clean(shifted)
    assert result.flags[fixes[i].seq] == tracks.GAP
    assert len(result.track["coordinates"]) == 2
    assert result.gaps == 1
    # The hole is not bridged: the distance is the two pieces' sum only.
    bridged = distance_m(fixes[i - 1].lng, fixes[i - 1].lat, fixes[i].lng, fixes[i].lat)
    assert abs(result.distance_m - (tracks.clean(fixes).distance_m - bridged)) < 0.01


@settings(max_examples=40, deadline=None)
@given(walks(), st.floats(0.03, 5.0), st.data())
def test_points_far_outside_the_area_are_flagged_not_dropped(fixes, offset, data):
    i = data.draw(st.integers(0, len(fixes) - 1))
    away = fixes[i]
    moved = Fix(away.seq, away.at, away.lng + offset, away.lat, away.accuracy)  # ≥ 3 km east of grid A
    points = fixes[:i] + [moved] + fixes[i + 1 :]
    result = tracks.clean(points, area=GRID_A)
    assert result.flags[moved.seq] == tracks.OUTSIDE
    assert set(result.flags) == {f.seq for f in points}  # every fix keeps its flag: none is lost
    assert result.counts[tracks.OUTSIDE] == 1


def test_a_point_near_the_area_is_not_outside():
    # 1 km east of grid A's edge: inside the 2 km allowance.
    fixes = [
        Fix(1, T0, 118.61 + 0.0099, 24.905, 5),
        Fix(2, T0 + dt.timedelta(seconds=5), 118.6199, 24.9051, 5),
    ]
    result = tracks.clean(fixes, area=GRID_A)
    assert set(result.flags.values()) == {tracks.OK}


@settings(max_examples=30, deadline=None)
@given(st.integers(5, 60), st.floats(0.5, 3.0), st.floats(0, 360))
def test_distance_of_a_straight_walk_matches_haversine(n, speed, bearing):
    import math

    step_s = 5
    metres = speed * step_s
    d_lng = metres * math.sin(math.radians(bearing)) / (111_320 * math.cos(math.radians(LAT0)))
    d_lat = metres * math.cos(math.radians(bearing)) / 110_540
    fixes = [
        Fix(k, T0 + dt.timedelta(seconds=k * step_s), LNG0 + k * d_lng, LAT0 + k * d_lat, 8) for k in range(n)
    ]
    result = tracks.clean(fixes)
    straight = distance_m(fixes[0].lng, fixes[0].lat, fixes[-1].lng, fixes[-1].lat)
    assert abs(result.distance_m - straight) <= 0.01 * straight
    assert set(result.flags.values()) == {tracks.OK}


def test_inaccurate_fixes_are_flagged_and_left_out_of_the_line():
    fixes = [
        Fix(1, T0, LNG0, LAT0, 5),
        Fix(2, T0 + dt.timedelta(seconds=5), LNG0 + 0.0003, LAT0, 300),
        Fix(3, T0 + dt.timedelta(seconds=10), LNG0 + 0.0001, LAT0, 5),
    ]
    result = tracks.clean(fixes)
    assert result.flags == {1: tracks.OK, 2: tracks.INACCURATE, 3: tracks.OK}
    assert result.track["coordinates"] == [[[LNG0, LAT0], [LNG0 + 0.0001, LAT0]]]
    assert result.dropped == 1 and result.good == 2


def test_a_single_point_draws_nothing():
    result = tracks.clean([Fix(1, T0, LNG0, LAT0, 5)])
    assert result.track is None and result.distance_m == 0 and result.good == 1


def test_a_malformed_area_is_ignored_rather_than_failing():
    result = tracks.clean([Fix(1, T0, LNG0, LAT0, 5)], area={"type": "Polygon", "coordinates": "x"})
    assert result.flags == {1: tracks.OK}


def test_mappings_and_objects_are_accepted():
    class Row:
        def __init__(self, seq, at):
            self.seq, self.at, self.lng, self.lat, self.accuracy = seq, at, LNG0, LAT0, None

    rows = [Row(1, T0), {"seq": 2, "at": T0 + dt.timedelta(seconds=3), "lng": LNG0, "lat": LAT0}]
    assert tracks.clean(rows).flags == {1: tracks.OK, 2: tracks.OK}
