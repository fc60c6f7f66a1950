"""All KPIs for every grid, community and station of the district (and the sub-bureau) for one month: total time
and peak memory (tracemalloc), SQLite or PostgreSQL.

    make seed-district && .venv/bin/python bench/evaluation_kpis.py --scale district
    DATABASE_URL=postgres://…/doorstep_district .venv/bin/python bench/evaluation_kpis.py --scale district

The database must hold the seeded district (`make seed-district`: SQLite under var/district/, or the PostgreSQL
database named by DATABASE_URL). The evaluation seed (baselines, verification samples, incidents) is added when
missing — it is idempotent. Goal (issue #10): < 10 s. Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup(scale: str) -> None:
    os.environ.setdefault("DOORSTEP_VAR_DIR", str(ROOT / "var" / scale))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
    import django

    django.setup()
    from doorstep.evaluation import seed as evaluation_seed
    from doorstep.org.models import Grid

    if not Grid.objects.exists():
        sys.exit(
            f"no grids: seed the district first (make seed-district), DOORSTEP_VAR_DIR={os.environ['DOORSTEP_VAR_DIR']}"
        )
    evaluation_seed.seed(42)


def database() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
        cursor.execute("show server_version")
        return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="district", choices=["demo", "district"])
    parser.add_argument("--month", help="YYYY-MM (default: the previous month)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    setup(args.scale)

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from doorstep.evaluation import kpis, periods, snapshots
    from doorstep.evaluation.choices import Level, PeriodKind

    today = timezone.localdate()
    period = (
        periods.parse(PeriodKind.MONTH, args.month)
        if args.month
        else periods.previous(periods.period_of(PeriodKind.MONTH, today))
    )
    if period is None:
        sys.exit(f"bad --month {args.month!r}")
    levels = (Level.GRID, Level.COMMUNITY, Level.STATION, Level.SUB_BUREAU)

    samples, peaks, queries, figures = [], [], 0, 0
    for _ in range(args.runs):
        reset_queries()
        tracemalloc.start()
        t0 = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            scopes = snapshots.all_scopes(levels)  # the scopes are part of the job
            table = kpis.compute_many(scopes, period)
        samples.append(time.perf_counter() - t0)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        queries = len(captured)
        figures = sum(len(v) for v in table.values())

    # Per KPI (one batch each, all scopes), to show where the time goes.
    per_kpi = []
    for code in kpis.active_codes():
        t0 = time.perf_counter()
        kpis.compute_many(scopes, period, [code])
        per_kpi.append((code, time.perf_counter() - t0))
    per_kpi.sort(key=lambda x: -x[1])

    counts = {level: sum(1 for s in scopes if s.level == level) for level in levels}
    print(
        f"\nMachine: {os.cpu_count()}-core {platform.machine()}, Python {platform.python_version()}, "
        f"{database()}; {time.strftime('%Y-%m-%d')}. Period {period.label} "
        f"({counts[Level.GRID]} grids, {counts[Level.COMMUNITY]} communities, {counts[Level.STATION]} stations, "
        f"1 sub-bureau; {len(kpis.active_codes())} active KPIs → {figures} figures; {queries} queries per run)."
    )
    print("\n| measurement | median | min | max |")
    print("|---|---|---|---|")
    print(
        f"| all KPIs × all scopes, one month ({args.runs} runs) | {statistics.median(samples):.2f} s | "
        f"{min(samples):.2f} s | {max(samples):.2f} s |"
    )
    print(
        f"| peak memory (tracemalloc) | {statistics.median(peaks) / 2**20:.1f} MiB | "
        f"{min(peaks) / 2**20:.1f} MiB | {max(peaks) / 2**20:.1f} MiB |"
    )
    print("\nslowest KPIs (all scopes at once): " + ", ".join(f"{c} {t:.2f} s" for c, t in per_kpi[:5]))


if __name__ == "__main__":
    main()
