"""House vector tiles (MVT) generated from the database, scoped to the user's territory, cached per tile.

Zoom 15 and closer: every house as its footprint polygon with `colour`, `floors`, `occupancy`, `grid` and
`due` (next visit due, yyyymmdd; 0 = never) for the 3D extrusion and the popup; feature id = house id.
Zoom 13–14: houses aggregated into cells (32 × 32 per tile, ~150 m at z13) as points carrying the count
per colour, so a zoomed-out view of 200,000 houses stays a few kilobytes per tile.
Filters are the registry's `HouseFilterSet` (colour, occupancy, grid, overdue …), applied in the query, so
the tiles and the count beside the map always agree.

Caching (`tilecache`): a tile's cache key carries a version of its region that every house change bumps
after commit, so a change shows on the next request and nothing else is recomputed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    CharField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Floor
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.core import tilecache
from doorstep.maps import mvt
from doorstep.org.territory import Territory
from doorstep.registry.filtersets import HouseFilterSet
from doorstep.registry.models import House

EXTENT = 4096
MIN_ZOOM, MAX_ZOOM = 13, 18
POLYGON_MIN_ZOOM = 15
CELLS = 32  # aggregate cells per tile side below POLYGON_MIN_ZOOM
# Footprints are checked (registry.services) to lie within this many degrees of the house's centre, so a
# tile query by centre with this margin finds every footprint that reaches into the tile.
MARGIN = tilecache.HOUSE_MARGIN
LAYER = "houses"
FILTER_NAMES = frozenset(HouseFilterSet.base_filters)


class TileError(ValueError):
    """A tile address outside the served pyramid."""


@dataclass(frozen=True)
class TileBox:
    z: int
    x: int
    y: int
    west: float
    south: float
    east: float
    north: float

    @classmethod
    def of(cls, z: int, x: int, y: int) -> TileBox:
        if not MIN_ZOOM <= z <= MAX_ZOOM:
            raise TileError(_("缩放级别应在 %(min)d 至 %(max)d 之间") % {"min": MIN_ZOOM, "max": MAX_ZOOM})
        n = 1 << z
        if not (0 <= x < n and 0 <= y < n):
            raise TileError(_("瓦片行列号超出范围"))
        west, east = x / n * 360 - 180, (x + 1) / n * 360 - 180
        north = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
        south = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1) / n))))
        return cls(z, x, y, west, south, east, north)


def scope_key(territory: Territory) -> str:
    if territory.whole:
        return "all"
    return hashlib.blake2b(",".join(map(str, sorted(territory.grid_ids))).encode()).hexdigest()[:16]


def filter_key(params: Any) -> str:
    """The request's filter parameters (names the house filterset knows, non-empty) as a stable string;
    the date joins in when the overdue filter depends on it. Keyed on the raw values: a tile is cached
    only after its filters validated, so an entry under a key is always a valid answer for it."""
    used = sorted((k, v) for k, v in params.items() if k in FILTER_NAMES and v != "")
    if not used:
        return "-"
    if any(k == "overdue" for k, _v in used):
        used.append(("today", timezone.localdate().isoformat()))
    return hashlib.blake2b(json.dumps(used).encode()).hexdigest()[:16]


def houses_in(qs: QuerySet[House], box: TileBox, margin: float) -> QuerySet[House]:
    return qs.filter(
        lng__gte=box.west - margin,
        lng__lt=box.east + margin,
        lat__gte=box.south - margin,
        lat__lt=box.north + margin,
    )


def _clip(ring: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sutherland–Hodgman against the tile square [0, EXTENT]²; MapLibre draws no wall on a tile edge."""
    for axis, bound, keep_below in ((0, 0, False), (0, EXTENT, True), (1, 0, False), (1, EXTENT, True)):
        if not ring:
            return ring
        out: list[tuple[int, int]] = []
        for i, cur in enumerate(ring):
            prev = ring[i - 1]
            cur_in = cur[axis] <= bound if keep_below else cur[axis] >= bound
            prev_in = prev[axis] <= bound if keep_below else prev[axis] >= bound
            if cur_in != prev_in:
                t = (bound - prev[axis]) / (cur[axis] - prev[axis])
                other = 1 - axis
                cross = [0, 0]
                cross[axis] = bound
                cross[other] = round(prev[other] + t * (cur[other] - prev[other]))
                out.append((cross[0], cross[1]))
            if cur_in:
                out.append(cur)
        ring = out
    return ring


def ring_of(footprint: Any, lng: float, lat: float) -> Iterable[tuple[float, float]]:
    if isinstance(footprint, str):  # some backends hand JSON back as text in values_list
        footprint = json.loads(footprint)
    if isinstance(footprint, dict):
        coords = footprint.get("coordinates") or []
        if footprint.get("type") == "MultiPolygon" and coords:
            coords = coords[0]
        if coords and coords[0]:
            return coords[0]
    d = 0.00004  # no footprint yet: a 9 m square at the house's point, so it can still be seen and clicked
    return [(lng - d, lat - d), (lng + d, lat - d), (lng + d, lat + d), (lng - d, lat + d)]


def due_number(value: dt.date | None) -> int:
    """A due date as the tiles carry it: yyyymmdd, 0 for never (compared as a number by the map)."""
    return value.year * 10000 + value.month * 100 + value.day if value else 0


def _cell_expr(column: str, origin: float, scale: float, *, flip: bool = False) -> Any:
    """The cell index of a coordinate as an integer column: floor((v − origin) · scale), v ≥ origin."""
    value = (Value(origin) - F(column)) if flip else (F(column) - Value(origin))
    scaled = ExpressionWrapper(value * Value(scale), output_field=FloatField())
    if connection.vendor == "postgresql":  # CAST rounds there; floor first
        return Cast(Floor(scaled), IntegerField())
    return Cast(scaled, IntegerField())  # SQLite's CAST truncates, = floor for the non-negative values here


def _cells(qs: QuerySet[House], box: TileBox) -> bytes:
    """Zoom 13–14: one point per non-empty cell with its count per colour, grouped by the database."""
    layer = mvt.Layer(LAYER, EXTENT)
    rows = (
        houses_in(qs, box, 0)
        .annotate(
            cx=_cell_expr("lng", box.west, CELLS / (box.east - box.west)),
            cy=_cell_expr("lat", box.north, CELLS / (box.north - box.south), flip=True),
        )
        .values_list("cx", "cy", "colour")
        .annotate(n=Count("id"))
        .order_by()
    )
    cells: dict[tuple[int, int], list[int]] = {}
    index = {"red": 0, "yellow": 1, "green": 2}
    for cx, cy, colour, n in rows:
        counts = cells.setdefault((min(max(cx, 0), CELLS - 1), min(max(cy, 0), CELLS - 1)), [0, 0, 0])
        counts[index.get(colour, 2)] += n
    cell = EXTENT // CELLS
    for (cx, cy), (red, yellow, green) in sorted(cells.items()):
        worst = "red" if red else "yellow" if yellow else "green"
        layer.add_point(
            cx * cell + cell // 2,
            cy * cell + cell // 2,
            {"n": red + yellow + green, "red": red, "yellow": yellow, "green": green, "colour": worst},
        )
    return mvt.tile([layer])


def _footprints(qs: QuerySet[House], box: TileBox) -> bytes:
    """Zoom 15 and closer: every house reaching into the tile as its footprint polygon.

    The footprint and the due date come as text (no per-row JSON and date conversion by the ORM), the
    projection is linear inside the tile (a tile spans < 0.01° of latitude here: the error against Web
    Mercator is far below one tile unit), and the encoded tags are shared by houses with equal values."""
    west, east, south, north = box.west, box.east, box.south, box.north
    kx, ky = EXTENT / (east - west), EXTENT / (north - south)
    layer = mvt.Layer(LAYER, EXTENT)
    tag_cache: dict[tuple[Any, ...], bytes] = {}
    rows = (
        houses_in(qs, box, MARGIN)
        .annotate(fp=Cast("footprint", TextField()), due_text=Cast("next_visit_due", CharField()))
        .values_list("id", "lng", "lat", "fp", "colour", "floors", "occupancy", "grid_id", "due_text")
    )
    loads = json.loads
    for pk, lng, lat, fp, colour, floors, occupancy, grid_id, due in rows.iterator(chunk_size=2000):
        ring = ring_of(loads(fp) if fp else None, lng, lat)
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        if min(xs) > east or max(xs) < west or min(ys) > north or max(ys) < south:
            continue  # fetched by the query's margin, but not reaching into this tile
        points = [(round((x - west) * kx), round((north - y) * ky)) for x, y in ring]
        if min(xs) < west or max(xs) > east or min(ys) < south or max(ys) > north:
            points = _clip(points)
            if len(points) < 3:
                continue
        due_int = int(due[:4] + due[5:7] + due[8:10]) if due else 0  # due_number of the date's text
        key = (colour, floors, occupancy, grid_id, due_int)
        tags = tag_cache.get(key)
        if tags is None:
            tags = tag_cache[key] = layer.tag_bytes(
                {"colour": colour, "floors": floors, "occupancy": occupancy, "grid": grid_id, "due": due_int}
            )
        layer.add_polygon(points, tags, pk)
    return mvt.tile([layer])


def build(qs: QuerySet[House], box: TileBox) -> bytes:
    """The tile's bytes for the houses of `qs` (already scoped and filtered)."""
    return _footprints(qs, box) if box.z >= POLYGON_MIN_ZOOM else _cells(qs, box)


def cached_tile(
    box: TileBox, *, scope: str, filters: str, queryset: Callable[[], QuerySet[House] | None]
) -> tuple[bytes | None, str]:
    """(bytes, etag): from the tile cache when its region has not changed since; else `queryset()` (the
    scoped, filtered houses — built only on a miss, None when the filters are invalid) is drawn and stored.
    Returns (None, "") when the filters were invalid."""
    version = tilecache.version_for(box.z, box.x, box.y)
    key = f"mvt:{LAYER}:{box.z}/{box.x}/{box.y}:{version}:{scope}:{filters}"
    etag = hashlib.blake2b(key.encode()).hexdigest()[:20]
    data = tilecache.get(key)
    if data is None:
        qs = queryset()
        if qs is None:
            return None, ""
        data = build(qs, box)
        tilecache.put(key, data)
    return data, etag
