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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from doorstep.core import tilecache
from doorstep.maps import mvt
from doorstep.org.territory import Territory
from doorstep.registry.models import House

EXTENT = 4096
MIN_ZOOM, MAX_ZOOM = 13, 18
POLYGON_MIN_ZOOM = 15
CELLS = 32  # aggregate cells per tile side below POLYGON_MIN_ZOOM
# Footprints are checked (registry.services) to lie within this many degrees of the house's centre, so a
# tile query by centre with this margin finds every footprint that reaches into the tile.
MARGIN = tilecache.HOUSE_MARGIN
LAYER = "houses"


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
            raise TileError(f"缩放级别应在 {MIN_ZOOM} 至 {MAX_ZOOM} 之间")
        n = 1 << z
        if not (0 <= x < n and 0 <= y < n):
            raise TileError("瓦片行列号超出范围")
        west, east = x / n * 360 - 180, (x + 1) / n * 360 - 180
        north = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
        south = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1) / n))))
        return cls(z, x, y, west, south, east, north)

    def projector(self):
        """lng/lat → integer tile coordinates (Web Mercator, y down)."""
        kx = EXTENT / (self.east - self.west)
        m_north = _merc(self.north)
        ky = EXTENT / (m_north - _merc(self.south))
        west = self.west

        def project(lng: float, lat: float) -> tuple[int, int]:
            return round((lng - west) * kx), round((m_north - _merc(lat)) * ky)

        return project


def _merc(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def scope_key(territory: Territory) -> str:
    if territory.whole:
        return "all"
    return hashlib.blake2b(",".join(map(str, sorted(territory.grid_ids))).encode()).hexdigest()[:16]


def filter_key(data: dict[str, Any]) -> str:
    """The cleaned filters as a stable string; the date joins in when the overdue filter depends on it."""
    used = {k: (v.pk if hasattr(v, "pk") else v) for k, v in sorted(data.items()) if v not in (None, "")}
    if used.get("overdue") is not None:
        used["today"] = timezone.localdate().isoformat()
    return (
        hashlib.blake2b(json.dumps(used, default=str, sort_keys=True).encode()).hexdigest()[:16]
        if used
        else "-"
    )


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


def _ring_of(footprint: Any, lng: float, lat: float) -> Iterable[tuple[float, float]]:
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


def _due(value: dt.date | None) -> int:
    return value.year * 10000 + value.month * 100 + value.day if value else 0


def build(qs: QuerySet[House], box: TileBox) -> bytes:
    """The tile's bytes for the houses of `qs` (already scoped and filtered)."""
    project = box.projector()
    layer = mvt.Layer(LAYER, EXTENT)
    if box.z >= POLYGON_MIN_ZOOM:
        rows = houses_in(qs, box, MARGIN).values_list(
            "id", "lng", "lat", "footprint", "colour", "floors", "occupancy", "grid_id", "next_visit_due"
        )
        for pk, lng, lat, footprint, colour, floors, occupancy, grid_id, due in rows.iterator(
            chunk_size=2000
        ):
            ring = [project(p[0], p[1]) for p in _ring_of(footprint, lng, lat)]
            if not all(0 <= x <= EXTENT and 0 <= y <= EXTENT for x, y in ring):
                ring = _clip(ring)
                if len(ring) < 3:
                    continue
            layer.add_polygon(
                ring,
                {
                    "colour": colour,
                    "floors": floors,
                    "occupancy": occupancy,
                    "grid": grid_id,
                    "due": _due(due),
                },
                pk,
            )
    else:
        cell = EXTENT // CELLS
        cells: dict[tuple[int, int], list[int]] = {}
        index = {"red": 0, "yellow": 1, "green": 2}
        for lng, lat, colour in (
            houses_in(qs, box, 0).values_list("lng", "lat", "colour").iterator(chunk_size=5000)
        ):
            x, y = project(lng, lat)
            counts = cells.setdefault((min(x // cell, CELLS - 1), min(y // cell, CELLS - 1)), [0, 0, 0])
            counts[index.get(colour, 2)] += 1
        for (cx, cy), (red, yellow, green) in sorted(cells.items()):
            worst = "red" if red else "yellow" if yellow else "green"
            layer.add_point(
                cx * cell + cell // 2,
                cy * cell + cell // 2,
                {"n": red + yellow + green, "red": red, "yellow": yellow, "green": green, "colour": worst},
            )
    return mvt.tile([layer])


def cached_tile(qs: QuerySet[House], box: TileBox, *, scope: str, filters: str) -> tuple[bytes, str]:
    """(bytes, etag): from the tile cache when its region has not changed since, else built and stored."""
    version = tilecache.version_for(box.z, box.x, box.y)
    key = f"mvt:{LAYER}:{box.z}/{box.x}/{box.y}:{version}:{scope}:{filters}"
    etag = hashlib.blake2b(key.encode()).hexdigest()[:20]
    data = tilecache.get(key)
    if data is None:
        data = build(qs, box)
        tilecache.put(key, data)
    return data, etag
