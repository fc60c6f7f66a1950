"""Foundation benchmarks: district seed, staffing board, API list, map layer (in-process, district scale).

Run with `make bench` (uses its own SQLite database under var/bench/, or DATABASE_URL if set).
Prints a Markdown table to paste into bench/RESULTS.md with the machine and date.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DOORSTEP_VAR_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
if "DATABASE_URL" not in os.environ:
    shutil.rmtree(os.environ["DOORSTEP_VAR_DIR"], ignore_errors=True)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from doorstep.accounts.models import User  # noqa: E402
from doorstep.org import seed as org_seed  # noqa: E402
from doorstep.org.models import Grid  # noqa: E402


def timed(fn, runs):
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def main():
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    with transaction.atomic():
        org_seed.seed("district", 42)
    seed_s = time.perf_counter() - t0
    from doorstep.audit.models import AuditEntry
    from doorstep.org.models import Staff

    rows = [
        (
            f"seed --scale district ({Grid.objects.count()} grids, {Staff.objects.count()} staff, "
            f"{AuditEntry.objects.count()} audit rows)",
            f"{seed_s:.1f} s",
            "",
        )
    ]
    grids = Grid.objects.count()
    for username in ("leader", "director", "officer"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        for label, url in (
            ("staffing board page", "/org/staffing/"),
            ("GET /api/v1/grids/?page_size=500", "/api/v1/grids/?page_size=500"),
            ("GET /api/v1/map/grids.geojson", "/api/v1/map/grids.geojson"),
            ("home dashboard", "/"),
        ):
            assert client.get(url).status_code == 200, url
            p50, p95 = timed(lambda url=url, client=client: client.get(url), 30)
            rows.append((f"{label} as {username}", f"{p50:.1f} ms", f"{p95:.1f} ms"))
    print(
        f"machine: {platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · {connection.vendor} · {grids} grids"
    )
    print("| measurement | p50 | p95 |\n|---|---|---|")
    for name, p50, p95 in rows:
        print(f"| {name} | {p50} | {p95} |")


if __name__ == "__main__":
    main()
