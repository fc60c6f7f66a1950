"""Coverage of grids by patrol tracks: the pure function against hand-computed shares, and its properties."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from doorstep.conftest import square
from doorstep.patrol.coverage import Track, grid_coverage, mean_share

# A grid of 0.01° × 0.01° at 24.9°N: about 1010 m (east–west) × 1113 m (north–south).
GRID = square(118.60, 24.90)
M_PER_DEG_LAT = 6371008.8 * math.pi / 180
WIDTH_M = 0.01 * M_PER_DEG_LAT * math.cos(math.radians(24.905))
HEIGHT_M = 0.01 * M_PER_DEG_LAT


def line(*points):
    return {"type": "MultiLineString", "coordinates": [list(points)]}


def test_a_track_through_the_middle_covers_a_strip_of_twice_the_buffer():
    # given a track from the south edge to the north edge through the middle of the grid
    track = Track(1, line([118.605, 24.90], [118.605, 24.91]), seconds=3600)
    # when
    result = grid_coverage({7: GRID}, [track], buffer_m=50)[7]
    # then the strip is 100 m wide (plus the round caps outside the grid): 100 / width
    assert math.isclose(result.share, 100 / WIDTH_M, rel_tol=0.02)
    assert result.patrols == 1
    assert math.isclose(result.km, HEIGHT_M / 1000, rel_tol=0.01)
    assert math.isclose(result.hours, 1.0, rel_tol=1e-6)


def test_hours_are_split_by_the_length_walked_inside():
    # half of the track inside, half outside (east of the grid)
    track = Track(1, line([118.605, 24.905], [118.615, 24.905]), seconds=7200)
    result = grid_coverage({1: GRID}, [track])[1]
    assert math.isclose(result.hours, 1.0, rel_tol=0.01)
    assert math.isclose(result.km, WIDTH_M / 2000, rel_tol=0.01)


def test_a_track_outside_covers_nothing():
    track = Track(1, line([118.63, 24.93], [118.64, 24.94]), seconds=600)
    result = grid_coverage({1: GRID}, [track])[1]
    assert (result.share, result.patrols, result.hours, result.km) == (0.0, 0, 0.0, 0.0)


def test_a_track_just_outside_the_edge_covers_a_strip_but_is_no_patrol_of_the_grid():
    # 20 m east of the east edge, north–south: covers the 30 m strip inside
    east = 118.61 + 20 / (M_PER_DEG_LAT * math.cos(math.radians(24.905)))
    result = grid_coverage({1: GRID}, [Track(1, line([east, 24.90], [east, 24.91]))], buffer_m=50)[1]
    assert math.isclose(result.share, 30 / WIDTH_M, rel_tol=0.05)
    assert result.patrols == 0


def test_no_tracks_bad_tracks_and_bad_grids_give_zero_rows():
    bad = [
        Track(1, None),
        Track(2, {"type": "Point", "coordinates": [118.605, 24.905]}),
        Track(3, line([118.605, 24.905])),
        Track(4, {"type": "MultiLineString", "coordinates": [[["x", 1], [2]]]}),
    ]
    result = grid_coverage({1: GRID, 2: {"type": "Polygon", "coordinates": []}, 3: None}, bad)
    assert {k: v.share for k, v in result.items()} == {1: 0.0, 2: 0.0, 3: 0.0}
    assert grid_coverage({}, bad) == {}


def test_mean_share_over_grids():
    result = grid_coverage(
        {1: GRID, 2: square(118.61, 24.90)}, [Track(1, line([118.605, 24.90], [118.605, 24.91]))]
    )
    assert math.isclose(mean_share(result.values()), result[1].share / 2)
    assert mean_share([]) is None


coords = st.tuples(st.floats(118.595, 118.615), st.floats(24.895, 24.915))
tracks = st.lists(st.lists(coords, min_size=2, max_size=6), min_size=0, max_size=5)


@settings(max_examples=60, deadline=None)
@given(tracks, tracks, st.floats(5, 200))
def test_share_is_in_0_1_and_grows_when_tracks_are_added(first, more, buffer_m):
    before_tracks = [Track(i, line(*t)) for i, t in enumerate(first)]
    after_tracks = before_tracks + [Track(100 + i, line(*t)) for i, t in enumerate(more)]
    before = grid_coverage({1: GRID}, before_tracks, buffer_m=buffer_m)[1]
    after = grid_coverage({1: GRID}, after_tracks, buffer_m=buffer_m)[1]
    assert 0.0 <= before.share <= 1.0 and 0.0 <= after.share <= 1.0
    assert after.share >= before.share - 1e-9
    assert after.patrols >= before.patrols and after.km >= before.km - 1e-9
