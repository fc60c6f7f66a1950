"""Versioned cache for map tiles: a change to a house invalidates exactly the tiles of its region.

Every tile is cached under a key that carries two tokens: the global generation (bumped by bulk writes:
imports, the seed, a rule change) and its region's token. Regions are the z13 tiles (for tiles at zoom
13–14) and the z15 tiles (for zoom 15 and closer); a house change bumps the regions its footprint touches
at both levels, after commit. Tokens are random, not counters: a token that falls out of the cache is
replaced by a new one, so a culled token can only cause a miss, never serve a stale tile.

The cache is the `tiles` alias: in-process (locmem) on the embedded defaults, Redis when `REDIS_URL` is set,
which every process shares. With locmem, a command-line import run beside `doorstep run` is seen by the
server when its tiles expire (`TILE_TTL`), since the two processes do not share memory.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable

from django.core.cache import caches

HOUSE_MARGIN = 0.001  # degrees (~100 m): a footprint never reaches further from its house's point
REGION_ZOOMS = (13, 15)
GEN_KEY = "tiles:gen"
TILE_TTL = 24 * 3600


def _cache():
    return caches["tiles"]


def _token() -> str:
    return uuid.uuid4().hex[:12]


def _region_key(rz: int, rx: int, ry: int) -> str:
    return f"tiles:region:{rz}/{rx}/{ry}"


def region_of(z: int, x: int, y: int) -> tuple[int, int, int]:
    rz = REGION_ZOOMS[1] if z >= REGION_ZOOMS[1] else REGION_ZOOMS[0]
    shift = z - rz
    return rz, x >> shift, y >> shift


def version_for(z: int, x: int, y: int) -> str:
    """The tokens a tile's cache key must carry now (created on first use)."""
    cache = _cache()
    region = _region_key(*region_of(z, x, y))
    got = cache.get_many([GEN_KEY, region])
    tokens = []
    for key in (GEN_KEY, region):
        token = got.get(key)
        if token is None:
            cache.add(key, _token(), None)  # another process may have set it first: read it back
            token = cache.get(key) or _token()
        tokens.append(token)
    return ".".join(tokens)


def get(key: str) -> bytes | None:
    return _cache().get(key)


def put(key: str, data: bytes) -> None:
    _cache().set(key, data, TILE_TTL)


def tile_xy(lng: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    lat = max(min(lat, 85.0511), -85.0511)
    x = int((lng + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def regions_of(points: Iterable[tuple[float | None, float | None]], margin: float = HOUSE_MARGIN) -> set[str]:
    keys: set[str] = set()
    for lng, lat in points:
        if lng is None or lat is None:
            continue
        for rz in REGION_ZOOMS:
            x0, y0 = tile_xy(lng - margin, lat + margin, rz)
            x1, y1 = tile_xy(lng + margin, lat - margin, rz)
            keys.update(_region_key(rz, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
    return keys


def bump_points(points: Iterable[tuple[float | None, float | None]]) -> None:
    """Houses at these centres changed: new tokens for their regions (call after commit)."""
    keys = regions_of(points)
    if keys:
        _cache().set_many({key: _token() for key in keys}, None)


def bump_all() -> None:
    """Many houses changed (import, seed, rule change): every tile is stale."""
    _cache().set(GEN_KEY, _token(), None)
