"""Geometry helpers on GeoJSON in WGS-84 (lng, lat), built on shapely, and the conversions from the
coordinate systems of Chinese web maps (GCJ-02, BD-09) to WGS-84."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from shapely.geometry import shape
from shapely.validation import explain_validity

# Generous envelope around China; anything outside is a swapped or mistyped coordinate.
LNG_RANGE = (73.0, 136.0)
LAT_RANGE = (3.0, 54.0)


class GeometryError(ValueError):
    pass


def polygon_bounds(geojson: dict[str, Any]) -> tuple[float, float, float, float, float, float]:
    """Validate a GeoJSON (Multi)Polygon; return (min_lng, min_lat, max_lng, max_lat, c_lng, c_lat)."""
    if not isinstance(geojson, dict) or geojson.get("type") not in {"Polygon", "MultiPolygon"}:
        raise GeometryError(_("边界必须是 GeoJSON Polygon 或 MultiPolygon"))
    try:
        geom = shape(geojson)
    except Exception as exc:  # shapely raises several types for malformed input
        raise GeometryError(_("边界格式错误：%(error)s") % {"error": exc}) from exc
    if geom.is_empty or not geom.is_valid:
        raise GeometryError(_("边界多边形无效：%(reason)s") % {"reason": explain_validity(geom)})
    min_lng, min_lat, max_lng, max_lat = geom.bounds
    if not (
        LNG_RANGE[0] <= min_lng
        and max_lng <= LNG_RANGE[1]
        and LAT_RANGE[0] <= min_lat <= LAT_RANGE[1]
        and max_lat <= LAT_RANGE[1]
    ):
        raise GeometryError(_("边界坐标超出范围（应为 WGS-84 经纬度，经度在前）"))
    point = geom.representative_point()
    return min_lng, min_lat, max_lng, max_lat, point.x, point.y


def check_point(lng: float, lat: float) -> None:
    if not (LNG_RANGE[0] <= lng <= LNG_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
        raise GeometryError(_("坐标超出范围（应为 WGS-84 经纬度）"))


# --- coordinate systems ------------------------------------------------------------------------------------
# Chinese web maps do not show WGS-84: Gaode (AMap) and Tencent use GCJ-02, the state's obfuscated datum,
# and Baidu adds its own BD-09 offset on top of GCJ-02. The formulas below are the well-known public ones
# (GCJ-02 on the Krasovsky 1940 ellipsoid; BD-09 with x_pi = π·3000/180). Every function takes and returns
# (lng, lat) in degrees, longitude first, like GeoJSON.

CRS_CHOICES = ("wgs84", "gcj02", "bd09")

_KRASOVSKY_A = 6378245.0  # semi-major axis, metres
_KRASOVSKY_EE = 0.00669342162296594323  # first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
# The box of the public formulas: outside it GCJ-02 is WGS-84 (no shift).
CHINA_LNG = (73.66, 135.05)
CHINA_LAT = (3.86, 53.55)
# The inverses iterate until a step moves the point less than this (about 0.1 mm), at most this often.
_TOLERANCE_DEG = 1e-9
_MAX_ITERATIONS = 30
_BORDER_SLACK_DEG = 1e-8
_EARTH_RADIUS_M = 6371008.8  # mean radius (IUGG)


def out_of_china(lng: float, lat: float) -> bool:
    """True for a point outside the rectangle in which GCJ-02 shifts coordinates."""
    return not _in_box(lng, lat, 0.0)


def _in_box(lng: float, lat: float, margin: float) -> bool:
    return (
        CHINA_LNG[0] - margin < lng < CHINA_LNG[1] + margin
        and CHINA_LAT[0] - margin < lat < CHINA_LAT[1] + margin
    )


def _shift_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _shift_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _gcj02_shift(lng: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 offset (degrees) at a WGS-84 point, without the out-of-China test."""
    dlat = _shift_lat(lng - 105.0, lat - 35.0)
    dlng = _shift_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _KRASOVSKY_EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_KRASOVSKY_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlng, dlat


def _invert(
    forward: Callable[[float, float], tuple[float, float]], lng: float, lat: float, start: tuple[float, float]
) -> tuple[float, float]:
    """Solve forward(p) = (lng, lat) by fixed-point iteration from `start`.

    Both offsets vary slowly (their derivatives are at most a few hundredths), so each step shrinks the
    error by a factor of tens to hundreds and a handful of steps reach the tolerance."""
    x, y = start
    for _i in range(_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        dx, dy = fx - lng, fy - lat
        x, y = x - dx, y - dy
        if abs(dx) < _TOLERANCE_DEG and abs(dy) < _TOLERANCE_DEG:
            break
    return x, y


def _shift_only(lng: float, lat: float) -> tuple[float, float]:
    # The forward formula without the box test, so the iteration sees a smooth function near the border.
    dlng, dlat = _gcj02_shift(lng, lat)
    return lng + dlng, lat + dlat


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """WGS-84 → GCJ-02 (Gaode, Tencent): the exact public forward formula. In China it moves a point by
    20–710 m (about 550 m in Quanzhou); outside China the point is returned unchanged."""
    if out_of_china(lng, lat):
        return lng, lat
    dlng, dlat = _gcj02_shift(lng, lat)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → WGS-84, the inverse of `wgs84_to_gcj02`, solved by iteration: the result maps back onto
    the input to within 1e-9° (about 0.1 mm), where the usual one-step
    subtraction is 1–2 m off (up to 5 m at the edges of the country).

    A point whose WGS-84 position lies outside China is returned unchanged, as the forward formula left it.
    """
    # The shift is under 0.01°: a point further than that outside the box cannot have been shifted.
    if not _in_box(lng, lat, 0.05):
        return lng, lat
    dlng, dlat = _gcj02_shift(lng, lat)
    x, y = _invert(_shift_only, lng, lat, (lng - dlng, lat - dlat))
    # The solution is only as exact as the iteration: a point that was just inside the box may come back
    # a hair outside it, and must still count as shifted.
    if not _in_box(x, y, _BORDER_SLACK_DEG):
        return lng, lat
    return x, y


def gcj02_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → BD-09 (Baidu): the exact public forward formula (about 0.006° north-east). Baidu's offset
    has no out-of-China test: it is applied everywhere, as the public formula does."""
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """BD-09 → GCJ-02, the inverse of `gcj02_to_bd09`, solved by iteration to within 1e-9° (about 0.1 mm);
    the usual closed-form approximation is up to about 0.2 m off."""
    x, y = lng - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return _invert(gcj02_to_bd09, lng, lat, (z * math.cos(theta), z * math.sin(theta)))


def wgs84_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    """WGS-84 → BD-09: through GCJ-02, exact (forward formulas only)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lng, lat))


def bd09_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """BD-09 → WGS-84: through GCJ-02, both steps iterated; within 1e-9° (about 0.1 mm) of the point that
    `wgs84_to_bd09` maps onto the input."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lng, lat))


_TO_WGS84: dict[str, Callable[[float, float], tuple[float, float]]] = {
    "wgs84": lambda lng, lat: (lng, lat),
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}


def to_wgs84(lng: float, lat: float, crs: str) -> tuple[float, float]:
    """(lng, lat) in `crs` ("wgs84", "gcj02" or "bd09") as WGS-84; ValueError for any other crs."""
    try:
        convert = _TO_WGS84[crs]
    except (KeyError, TypeError):
        raise ValueError(_("不支持的坐标系：%(crs)s（应为 wgs84、gcj02 或 bd09）") % {"crs": crs}) from None
    return convert(lng, lat)


def distance_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres on a sphere of the Earth's mean radius; within 0.5% of
    the ellipsoidal distance, plenty for "is it within a metre"."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
