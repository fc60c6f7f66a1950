"""The KPI dashboard (GET /evaluation/) at district scale: server time p50/p95 per role, in-process through
Django's test client (no network), N requests each after one warm-up.

    make seed-district && .venv/bin/python bench/evaluation_dashboard.py --scale district
    DATABASE_URL=postgres://…/doorstep_district .venv/bin/python bench/evaluation_dashboard.py --scale district

Uses the seeded district's demo accounts (leader, director, officer). Goal (issue #10): p95 < 300 ms.
Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))
from evaluation_kpis import database, setup  # noqa: E402


def timed(fn, runs: int) -> tuple[float, float, float]:
    fn()  # warm-up: templates, translations, the territory's first queries
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95 + 0.5) - 1)], samples[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="district", choices=["demo", "district"])
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument(
        "--cache-seconds",
        type=int,
        default=0,
        help="EVALUATION_CACHE_SECONDS for the run (default 0: every request computes the KPIs)",
    )
    args = parser.parse_args()
    setup(args.scale)

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from doorstep.accounts.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.EVALUATION_CACHE_SECONDS = args.cache_seconds
    cases = [
        ("leader", "", "sub-bureau leader, 9 stations ranked (default)"),
        ("leader", "?level=grid", "sub-bureau leader, all 240 grids"),
        ("leader", "?level=community&sort=mediation_success", "sub-bureau leader, 60 communities sorted"),
        ("director", "", "station director, the station's communities (default)"),
        ("director", "?level=grid", "station director, the station's grids"),
        ("officer", "", "community officer, own grid"),
    ]
    rows = []
    for username, query, label in cases:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        url = "/evaluation/" + query

        def get(client=client, url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response

        executed = []

        def count(execute, sql, params, many, context, executed=executed):
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            body = get().content
        p50, p95, worst = timed(get, args.n)
        rows.append((label, p50, p95, worst, len(executed), len(body)))

    print(
        f"\nMachine: {os.cpu_count()}-core {platform.machine()}, Python {platform.python_version()}, "
        f"{database()}; {time.strftime('%Y-%m-%d')}; N={args.n} per row after one warm-up; Django test client; "
        f"EVALUATION_CACHE_SECONDS={args.cache_seconds}."
    )
    print("\n| GET /evaluation/ | p50 | p95 | max | queries | HTML |")
    print("|---|---|---|---|---|---|")
    for label, p50, p95, worst, queries, size in rows:
        print(
            f"| {label} | {p50:.1f} ms | {p95:.1f} ms | {worst:.1f} ms | {queries} | {size / 1024:.0f} KiB |"
        )


if __name__ == "__main__":
    main()
