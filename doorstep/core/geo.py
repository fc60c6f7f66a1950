"""Geometry helpers on GeoJSON in WGS-84 (lng, lat), built on shapely."""

from __future__ import annotations

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
