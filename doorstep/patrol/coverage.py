"""Coverage of grids by patrols (巡逻覆盖率): how much of each grid the patrols of a period came near.

For a grid G and the done patrols P₁…Pₙ of the period, with cleaned tracks T₁…Tₙ (GeoJSON MultiLineStrings):

    share(G)   = area(G ∩ ⋃ᵢ buffer(Tᵢ, B)) / area(G)               in [0, 1]; 0 for a grid of no area
    patrols(G) = #{ i : Tᵢ ∩ G ≠ ∅ }                                   tracks that enter the grid
    km(G)      = Σᵢ length(Tᵢ ∩ G) / 1000
    hours(G)   = Σᵢ (endedᵢ − startedᵢ) · length(Tᵢ ∩ G) / length(Tᵢ)   a patrol's time split by where it walked

B (`buffer_m`, 50 m by default) is how far a patrol sees from the street it walks: a track that runs just
outside a grid's edge still covers the strip of the grid within B of it. Areas and lengths are measured in a
local equirectangular projection in metres around the middle of the grids (x = R·cos φ₀·Δλ, y = R·Δφ); over
a district (≈ 20 km) its scale error is far below 1 %, and the share, a ratio of two areas in the same
projection, does not depend on it at all.

`grid_coverage` is the pure function (polygons and tracks in, figures out); `coverage` reads the patrols of
a period for a set of grids with one query and calls it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from django.db.models import QuerySet
from shapely.geometry import LineString, MultiLineString, shape
from shapely.geometry.base import BaseGeometry

DEFAULT_BUFFER_M = 50.0
PERIOD_DAYS = (7, 30)
_EARTH_RADIUS_M = 6371008.8


@dataclass(frozen=True)
class Track:
    """One done patrol for the computation: its cleaned track (GeoJSON, WGS-84) and its duration."""

    patrol_id: int
    geometry: dict[str, Any] | None
    seconds: float = 0.0


@dataclass(frozen=True)
class GridCoverage:
    """The figures of one grid (see the module docstring for the formulas)."""

    grid_id: int
    share: float
    patrols: int
    hours: float
    km: float


class _Projection:
    """Local equirectangular projection (metres) around (lng0, lat0)."""

    def __init__(self, lng0: float, lat0: float) -> None:
        self.lng0, self.lat0 = lng0, lat0
        self.kx = _EARTH_RADIUS_M * math.cos(math.radians(lat0)) * math.pi / 180.0
        self.ky = _EARTH_RADIUS_M * math.pi / 180.0

    def __call__(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(
            geom, lambda xy: (xy - (self.lng0, self.lat0)) * (self.kx, self.ky), include_z=False
        )


def _polygon(geojson: Any) -> BaseGeometry | None:
    if not isinstance(geojson, dict) or geojson.get("type") not in {"Polygon", "MultiPolygon"}:
        return None
    try:
        geom = shape(geojson)
    except Exception:  # shapely raises several types for malformed input; such a grid covers nothing
        return None
    if geom.is_empty:
        return None
    return geom if geom.is_valid else geom.buffer(0)


def _lines(geojson: Any) -> BaseGeometry | None:
    """A (Multi)LineString from GeoJSON, keeping only the parts with two distinct points; None when empty."""
    if not isinstance(geojson, dict):
        return None
    kind, coords = geojson.get("type"), geojson.get("coordinates")
    parts = [coords] if kind == "LineString" else coords if kind == "MultiLineString" else None
    if not isinstance(parts, list):
        return None
    lines = []
    for part in parts:
        try:
            points = [(float(p[0]), float(p[1])) for p in part]
        except (TypeError, ValueError, IndexError):
            continue
        if len(set(points)) >= 2 and all(math.isfinite(v) for p in points for v in p):
            lines.append(LineString(points))
    return MultiLineString(lines) if lines else None


def grid_coverage(
    grids: Mapping[int, dict[str, Any]],
    tracks: Iterable[Track],
    *,
    buffer_m: float = DEFAULT_BUFFER_M,
) -> dict[int, GridCoverage]:
    """Coverage of each grid (id → GeoJSON polygon) by the tracks; every grid gets a row, zeros when none."""
    polygons = {gid: _polygon(g) for gid, g in grids.items()}
    present = [p for p in polygons.values() if p is not None]
    if not present:
        return {gid: GridCoverage(gid, 0.0, 0, 0.0, 0.0) for gid in grids}
    min_x, min_y, max_x, max_y = shapely.union_all(present).bounds
    project = _Projection((min_x + max_x) / 2, (min_y + max_y) / 2)

    lines: list[BaseGeometry] = []
    seconds: list[float] = []
    for track in tracks:
        geom = _lines(track.geometry)
        if geom is None:
            continue
        lines.append(project(geom))
        seconds.append(max(0.0, float(track.seconds or 0.0)))
    buffers = [line.buffer(buffer_m, quad_segs=8) for line in lines]
    tree = shapely.STRtree(buffers) if buffers else None

    out: dict[int, GridCoverage] = {}
    for gid, polygon in polygons.items():
        if polygon is None or tree is None:
            out[gid] = GridCoverage(gid, 0.0, 0, 0.0, 0.0)
            continue
        grid = project(polygon)
        area = grid.area
        near = [int(i) for i in tree.query(grid, predicate="intersects")]
        if not near or area <= 0:
            out[gid] = GridCoverage(gid, 0.0, 0, 0.0, 0.0)
            continue
        covered = shapely.union_all([buffers[i] for i in near]).intersection(grid).area
        patrols, metres, hours = 0, 0.0, 0.0
        for i in near:
            if not lines[i].intersects(grid):  # only near it: covers a strip, but did not enter
                continue
            inside = lines[i].intersection(grid)
            patrols += 1
            length = inside.length
            metres += length
            if lines[i].length > 0:
                hours += seconds[i] / 3600.0 * length / lines[i].length
        share = min(1.0, max(0.0, covered / area))
        out[gid] = GridCoverage(gid, share, patrols, hours, metres / 1000.0)
    return out


def coverage(
    grids: QuerySet[Any],
    since: dt.datetime,
    until: dt.datetime | None = None,
    *,
    buffer_m: float = DEFAULT_BUFFER_M,
) -> dict[int, GridCoverage]:
    """Coverage of the given grids by the done patrols of their communities started in [since, until).

    Two queries: the grids' boundaries, and the patrols of the period in the grids' communities."""
    from doorstep.patrol.choices import PatrolStatus
    from doorstep.patrol.models import Patrol

    rows = list(grids.order_by().values_list("id", "boundary", "community_id"))
    boundaries = {pk: boundary for pk, boundary, _c in rows}
    community_ids = {c for _pk, _b, c in rows}
    patrols = Patrol.objects.filter(
        status=PatrolStatus.DONE,
        community_id__in=community_ids,
        started_at__gte=since,
        track__isnull=False,
    )
    if until is not None:
        patrols = patrols.filter(started_at__lt=until)
    tracks = [
        Track(pk, track, (ended - started).total_seconds() if ended and started else 0.0)
        for pk, track, started, ended in patrols.order_by().values_list(
            "id", "track", "started_at", "ended_at"
        )
    ]
    return grid_coverage(boundaries, tracks, buffer_m=buffer_m)


def mean_share(figures: Iterable[GridCoverage]) -> float | None:
    """The mean share over grids (each grid counts once, whatever its size); None for no grids."""
    shares = [f.share for f in figures]
    return sum(shares) / len(shares) if shares else None
