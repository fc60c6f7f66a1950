"""House vector tiles at district scale: server time and bytes per tile, zoom 13–18, uncached and cached,
with the bounded GeoJSON of the same tiles' boxes for comparison (SQLite or PostgreSQL).

    DOORSTEP_VAR_DIR=var/bench-recolour .venv/bin/python bench/map_tiles.py      # a seeded district
    DATABASE_URL=postgres://…/doorstep_bench_recolour .venv/bin/python bench/map_tiles.py

The database must hold the district (`make seed-district`, or the one `bench/registry_recolour.py` seeds).
Tiles are the ones people look at: the tiles under randomly drawn houses, per zoom level (so dense areas
weigh as they do in use), requested as the sub-bureau leader (whole territory) and as a grid officer.
Times are Django's in-process server time (test client, no network). Prints a Markdown table.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DOORSTEP_VAR_DIR", str(ROOT / "var" / "district"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
os.environ.setdefault("DOORSTEP_ENV", "development")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from doorstep.accounts.choices import Role  # noqa: E402
from doorstep.accounts.models import User  # noqa: E402
from doorstep.core import tilecache  # noqa: E402
from doorstep.maps import tiles  # noqa: E402
from doorstep.registry.models import House  # noqa: E402

PER_ZOOM = 60


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed_get(client, url):
    t0 = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - t0) * 1000
    assert response.status_code == 200, (url, response.status_code, response.content[:200])
    return elapsed, len(response.content)


def main():
    settings.ALLOWED_HOSTS = ["*"]
    rng = random.Random(20261128)
    points = list(House.objects.values_list("lng", "lat", "grid_id"))
    if not points:
        sys.exit("no houses: seed the district first (make seed-district)")
    leader = User.objects.filter(role=Role.LEADER, is_active=True).first()
    officer = User.objects.filter(role=Role.OFFICER, is_active=True, staff__isnull=False).first()
    rows = []
    for who, user in (("leader", leader), ("officer", officer)):
        client = Client()
        client.force_login(user)
        sample = points
        if who == "officer":
            from doorstep.org.territory import Territory

            grids = Territory.for_user(user).grid_ids
            sample = [p for p in points if p[2] in grids]
        for z in range(tiles.MIN_ZOOM, tiles.MAX_ZOOM + 1):
            picked = {
                tilecache.tile_xy(lng, lat, z) for lng, lat, _g in rng.sample(sample, min(len(sample), 400))
            }
            picked = (
                sorted(picked)[:PER_ZOOM] if len(picked) <= PER_ZOOM else rng.sample(sorted(picked), PER_ZOOM)
            )
            uncached, cached, sizes, gj_times, gj_sizes = [], [], [], [], []
            for x, y in picked:
                url = f"/api/v1/map/tiles/houses/{z}/{x}/{y}.mvt"
                caches["tiles"].clear()
                ms, size = timed_get(client, url)
                uncached.append(ms)
                sizes.append(size)
                cached.append(timed_get(client, url)[0])
                if z >= tiles.POLYGON_MIN_ZOOM:
                    box = tiles.TileBox.of(z, x, y)
                    ms, size = timed_get(
                        client,
                        f"/api/v1/map/houses.geojson?bbox={box.west},{box.south},{box.east},{box.north}",
                    )
                    gj_times.append(ms)
                    gj_sizes.append(size)
            rows.append((who, z, len(picked), uncached, cached, sizes, gj_times, gj_sizes))
    print(
        f"machine: {platform.node()} · {platform.machine()} · {os.cpu_count()} cores · Python "
        f"{platform.python_version()} · {connection.vendor} · {time.strftime('%Y-%m-%d')} · "
        f"{len(points):,} houses"
    )
    print(
        "| user | zoom | tiles | uncached p50 / p95 | cached p50 / p95 | bytes p50 / p95 / max "
        "| GeoJSON same box p50 / p95 | GeoJSON bytes p50 / p95 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for who, z, n, unc, cac, sizes, gjt, gjs in rows:
        gj = f"{pct(gjt, 50):.1f} / {pct(gjt, 95):.1f} ms" if gjt else "— (cells)"
        gjb = f"{pct(gjs, 50):,} / {pct(gjs, 95):,}" if gjs else "—"
        print(
            f"| {who} | {z} | {n} | {pct(unc, 50):.1f} / {pct(unc, 95):.1f} ms | {pct(cac, 50):.1f} / "
            f"{pct(cac, 95):.1f} ms | {pct(sizes, 50):,} / {pct(sizes, 95):,} / {max(sizes):,} | {gj} | {gjb} |"
        )
    all_unc = [v for r in rows for v in r[3]]
    all_cac = [v for r in rows for v in r[4]]
    print(
        f"all tiles: uncached p95 {pct(all_unc, 95):.1f} ms (mean {statistics.mean(all_unc):.1f}), "
        f"cached p95 {pct(all_cac, 95):.1f} ms"
    )


if __name__ == "__main__":
    main()
