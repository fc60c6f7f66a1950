"""WGS-84 ⇄ GCJ-02 ⇄ BD-09: round trips within 1 m over the whole of China, plausible shifts, no shift
outside China, and the dispatcher the imports use."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doorstep.core import geo

# Inside the box of the public formulas (exclusive bounds), so every point is really shifted.
LNG = st.floats(min_value=73.66, max_value=135.05, exclude_min=True, exclude_max=True)
LAT = st.floats(min_value=3.86, max_value=53.55, exclude_min=True, exclude_max=True)

BEIJING = (116.397428, 39.90923)  # Tiananmen
QUANZHOU = (118.5894, 24.9089)  # Fengze district


@settings(max_examples=500, deadline=None)
@given(LNG, LAT)
def test_gcj02_round_trip_is_within_a_metre_over_the_whole_of_china(lng, lat):
    gcj = geo.wgs84_to_gcj02(lng, lat)

    back = geo.gcj02_to_wgs84(*gcj)

    assert geo.distance_m(lng, lat, *back) < 1.0
    assert geo.distance_m(lng, lat, *back) < 0.01  # in fact the iteration is far better than that


@settings(max_examples=500, deadline=None)
@given(LNG, LAT)
def test_bd09_round_trip_is_within_a_metre_over_the_whole_of_china(lng, lat):
    bd = geo.wgs84_to_bd09(lng, lat)

    back = geo.bd09_to_wgs84(*bd)

    assert geo.distance_m(lng, lat, *back) < 1.0
    assert geo.distance_m(*geo.gcj02_to_bd09(*geo.bd09_to_gcj02(*bd)), *bd) < 0.01


@pytest.mark.parametrize("inset", [1e-12, 1e-6, 0.005])
def test_round_trips_hold_right_at_the_edges_of_the_box(inset):
    """Just inside the box the shifted point may lie outside it; it must still come back."""
    (west, east), (south, north) = geo.CHINA_LNG, geo.CHINA_LAT
    edges = [(west + inset, 30.0), (east - inset, 45.0), (105.0, south + inset), (100.0, north - inset)]
    edges += [(west + inset, south + inset), (east - inset, north - inset)]
    for lng, lat in edges:
        assert geo.distance_m(lng, lat, *geo.gcj02_to_wgs84(*geo.wgs84_to_gcj02(lng, lat))) < 1.0
        assert geo.distance_m(lng, lat, *geo.bd09_to_wgs84(*geo.wgs84_to_bd09(lng, lat))) < 1.0


@settings(max_examples=500, deadline=None)
@given(LNG, LAT)
def test_gcj02_moves_every_point_in_china_by_tens_to_hundreds_of_metres(lng, lat):
    shift = geo.distance_m(lng, lat, *geo.wgs84_to_gcj02(lng, lat))

    assert 10 < shift < 1000


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.tuples(st.floats(-180, 73.0), st.floats(-85, 85)),  # west of China
        st.tuples(st.floats(136.0, 180), st.floats(-85, 85)),  # east
        st.tuples(st.floats(-180, 180), st.floats(-85, 3.0)),  # south
        st.tuples(st.floats(-180, 180), st.floats(54.5, 85)),  # north
    )
)
def test_points_outside_china_are_not_shifted_by_gcj02(point):
    lng, lat = point

    assert geo.wgs84_to_gcj02(lng, lat) == (lng, lat)
    assert geo.gcj02_to_wgs84(lng, lat) == (lng, lat)


def test_outside_china_known_points():
    london, tokyo = (-0.1276, 51.5072), (139.6917, 35.6895)

    assert geo.wgs84_to_gcj02(*london) == london
    assert geo.wgs84_to_gcj02(*tokyo) == tokyo
    assert geo.to_wgs84(*tokyo, "gcj02") == tokyo


@pytest.mark.parametrize(
    ("point", "gcj_metres", "bd_metres"),
    [(BEIJING, (500, 600), (1300, 1450)), (QUANZHOU, (500, 600), (1100, 1200))],
)
def test_known_points_shift_by_the_expected_amount(point, gcj_metres, bd_metres):
    """The published offsets: GCJ-02 moves Beijing and Quanzhou about 0.5 km, mostly east; BD-09 adds
    another 0.006° or so to the north-east."""
    lng, lat = point

    gcj, bd = geo.wgs84_to_gcj02(lng, lat), geo.wgs84_to_bd09(lng, lat)

    assert gcj_metres[0] < geo.distance_m(lng, lat, *gcj) < gcj_metres[1]
    assert bd_metres[0] < geo.distance_m(lng, lat, *bd) < bd_metres[1]
    assert 0.004 < gcj[0] - lng < 0.007  # east
    assert 0.008 < bd[0] - lng < 0.014 and 0.002 < bd[1] - lat < 0.009  # further north-east
    assert geo.distance_m(lng, lat, *geo.gcj02_to_wgs84(*gcj)) < 0.001
    assert geo.distance_m(lng, lat, *geo.bd09_to_wgs84(*bd)) < 0.001


def test_beijing_matches_the_widely_quoted_gcj02_offset():
    # Tiananmen: GCJ-02 (Gaode) is about 0.0062° east and 0.0014° north of WGS-84.
    gcj = geo.wgs84_to_gcj02(*BEIJING)

    assert gcj[0] - BEIJING[0] == pytest.approx(0.00624, abs=0.0001)
    assert gcj[1] - BEIJING[1] == pytest.approx(0.00140, abs=0.0001)


def test_the_one_step_inverse_would_not_be_good_enough():
    """Why the inverse iterates: subtracting the shift once is metres off somewhere in China."""
    worst = 0.0
    for lng in range(74, 135):
        for lat in range(4, 54):
            gcj = geo.wgs84_to_gcj02(lng, lat)
            shifted_again = geo.wgs84_to_gcj02(*gcj)
            one_step = (2 * gcj[0] - shifted_again[0], 2 * gcj[1] - shifted_again[1])
            worst = max(worst, geo.distance_m(lng, lat, *one_step))
            assert geo.distance_m(lng, lat, *geo.gcj02_to_wgs84(*gcj)) < 0.001
    assert worst > 1.0


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
def test_to_wgs84_dispatches_on_the_crs(crs):
    forward = {"wgs84": lambda lng, lat: (lng, lat), "gcj02": geo.wgs84_to_gcj02, "bd09": geo.wgs84_to_bd09}

    back = geo.to_wgs84(*forward[crs](*QUANZHOU), crs)

    assert geo.distance_m(*QUANZHOU, *back) < 0.001


@pytest.mark.parametrize("crs", ["WGS84", "gcj-02", "", None, "cgcs2000"])
def test_to_wgs84_refuses_an_unknown_crs_in_chinese(crs):
    with pytest.raises(ValueError, match="不支持的坐标系"):
        geo.to_wgs84(*QUANZHOU, crs)


def test_distance_helper():
    # One degree of latitude is about 111.2 km; a point is 0 m from itself.
    assert geo.distance_m(118.0, 24.0, 118.0, 25.0) == pytest.approx(111_195, rel=1e-3)
    assert geo.distance_m(*QUANZHOU, *QUANZHOU) == 0.0
