"""Cleaning a patrol's GPS track: pure functions, no database.

A phone's fixes arrive late, twice, out of order, with poor accuracy indoors, with a teleport now and then
(a cell-tower fix), and with holes when the page was in the background. Nothing is rejected wholesale: every
fix is kept and given a flag, and only the good ones make the line and the distance.

Rules, in the order they are applied to each fix (sorted by time, then sequence number):
- `inaccurate`: the phone says its accuracy is worse than MAX_ACCURACY_M.
- `outside`: farther than MAX_OUTSIDE_M from the patrol's area (the plan's area or route, or the grid's
  boundary) when one is given — a fix from home or from another district.
- `jump`: reaching it from the last good fix would need more than MAX_SPEED_MS (a teleport). The last good
  fix stays the anchor, so one wild fix never moves the line.
- `gap`: the first good fix after more than GAP_S without a good fix; it starts a new line (the hole is not
  bridged by a straight segment that nobody walked), and it is itself a good point.
- `ok`: everything else.

The cleaned track is a GeoJSON MultiLineString of the good fixes, split at gaps; a piece with fewer than 2
points draws nothing and is left out. The distance is the haversine sum over consecutive good fixes within a
piece.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from doorstep.core.geo import distance_m

# A phone reports the radius (metres, 68 % confidence) of its fix; beyond 50 m it is a cell-tower or Wi-Fi
# guess, not a place in a street.
MAX_ACCURACY_M = 50.0
# 15 m/s = 54 km/h: faster than any patrol on foot, bicycle or e-bike in a community; a fix that would need
# more is a teleport.
MAX_SPEED_MS = 15.0
# A fix farther than 2 km from the patrol's area is not part of this patrol (home, another district).
MAX_OUTSIDE_M = 2000.0
# More than two minutes without a good fix: the page slept or the signal was lost; the line is split there.
GAP_S = 120.0
# Fixes stamped in the same second: treat as one second apart, so jitter between them is not "infinitely fast".
MIN_INTERVAL_S = 1.0

OK, INACCURATE, JUMP, OUTSIDE, GAP = "ok", "inaccurate", "jump", "outside", "gap"
GOOD = frozenset({OK, GAP})
_METRES_PER_DEGREE = math.pi * 6371008.8 / 180.0


@dataclass(frozen=True, order=True)
class Fix:
    """One GPS fix as the phone sent it."""

    seq: int
    at: dt.datetime
    lng: float
    lat: float
    accuracy: float | None = None


@dataclass
class Cleaned:
    """The flags (seq → flag), the cleaned MultiLineString (None when nothing can be drawn), the distance and
    the counts per flag."""

    flags: dict[int, str]
    track: dict[str, Any] | None
    distance_m: float
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def good(self) -> int:
        return sum(1 for f in self.flags.values() if f in GOOD)

    @property
    def dropped(self) -> int:
        return len(self.flags) - self.good

    @property
    def gaps(self) -> int:
        return self.counts.get(GAP, 0)


def as_fix(value: Fix | Mapping[str, Any] | Any) -> Fix:
    """A Fix from a Fix, a mapping or any object with seq/at/lng/lat/accuracy attributes (a TrackPoint)."""
    if isinstance(value, Fix):
        return value
    get = (
        value.get if isinstance(value, Mapping) else lambda name, default=None: getattr(value, name, default)
    )
    accuracy = get("accuracy", None)
    return Fix(
        int(get("seq")),
        get("at"),
        float(get("lng")),
        float(get("lat")),
        None if accuracy is None else float(accuracy),
    )


class Area:
    """The patrol's area (a GeoJSON geometry in WGS-84) and metres from it, on a local flat projection around
    the area (equirectangular: well within a metre at 2 km for a community-sized area)."""

    def __init__(self, geojson: Mapping[str, Any] | BaseGeometry) -> None:
        geom = geojson if isinstance(geojson, BaseGeometry) else shape(geojson)
        centre = geom.centroid
        self._kx = _METRES_PER_DEGREE * math.cos(math.radians(centre.y))
        self._ky = _METRES_PER_DEGREE
        self._geom = shapely.transform(geom, lambda xy: xy * [self._kx, self._ky])

    def distance_m(self, lng: float, lat: float) -> float:
        return float(self._geom.distance(Point(lng * self._kx, lat * self._ky)))


def _area(area: Mapping[str, Any] | BaseGeometry | Area | None) -> Area | None:
    if area is None or isinstance(area, Area):
        return area
    try:
        return Area(area)
    except Exception:  # a malformed stored boundary must not stop a patrol from being recorded
        return None


def unique_sorted(fixes: Iterable[Fix | Mapping[str, Any] | Any]) -> list[Fix]:
    """One fix per sequence number (for a repeated number, the same one whatever the order: the smallest),
    sorted by time, then sequence number."""
    by_seq: dict[int, Fix] = {}
    for raw in fixes:
        fix = as_fix(raw)
        kept = by_seq.get(fix.seq)
        if kept is None or _key(fix) < _key(kept):
            by_seq[fix.seq] = fix
    return sorted(by_seq.values(), key=lambda f: (f.at, f.seq))


def _key(fix: Fix) -> tuple[Any, ...]:
    return (fix.at, fix.lng, fix.lat, -1.0 if fix.accuracy is None else fix.accuracy)


def clean(
    fixes: Iterable[Fix | Mapping[str, Any] | Any],
    *,
    area: Mapping[str, Any] | BaseGeometry | Area | None = None,
) -> Cleaned:
    """Flag every fix and build the cleaned track and its distance (see the module's rules)."""
    region = _area(area)
    flags: dict[int, str] = {}
    pieces: list[list[tuple[float, float]]] = []
    distance = 0.0
    last: Fix | None = None  # the last good fix: the anchor for speed and gaps
    for fix in unique_sorted(fixes):
        flag = _flag(fix, last, region)
        flags[fix.seq] = flag
        if flag not in GOOD:
            continue
        if last is None or flag == GAP:
            pieces.append([])
        elif pieces:
            distance += distance_m(last.lng, last.lat, fix.lng, fix.lat)
        pieces[-1].append((fix.lng, fix.lat))
        last = fix
    # A piece of one point draws nothing; its point stays good (it was a real place) but adds no distance.
    lines = [[list(p) for p in piece] for piece in pieces if len(piece) >= 2]
    counts = {name: 0 for name in (OK, INACCURATE, JUMP, OUTSIDE, GAP)}
    for flag in flags.values():
        counts[flag] += 1
    track = {"type": "MultiLineString", "coordinates": lines} if lines else None
    return Cleaned(flags=flags, track=track, distance_m=distance, counts=counts)


def _flag(fix: Fix, last: Fix | None, region: Area | None) -> str:
    if fix.accuracy is not None and fix.accuracy > MAX_ACCURACY_M:
        return INACCURATE
    if region is not None and region.distance_m(fix.lng, fix.lat) > MAX_OUTSIDE_M:
        return OUTSIDE
    if last is None:
        return OK
    seconds = (fix.at - last.at).total_seconds()
    metres = distance_m(last.lng, last.lat, fix.lng, fix.lat)
    if metres / max(seconds, MIN_INTERVAL_S) > MAX_SPEED_MS:
        return JUMP
    if seconds > GAP_S:
        return GAP
    return OK
