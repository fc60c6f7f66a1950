"""Import of 600,000 persons from CSV: rows/s and peak memory, dry run and real run (SQLite or PostgreSQL).

    .venv/bin/python bench/registry_import.py                      # SQLite under var/bench-import/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doorstep_bench_import .venv/bin/python bench/registry_import.py

Steps: a fresh database with the district organisation and its 200,000 houses (no people); a CSV of
600,000 persons written by this script (the registry seed's people generator, ~3 per household, with
户号 so the import creates the households); then, each in its own process so that its peak memory
(ru_maxrss) is its own: the dry run, the real run, and the same file again (every row unchanged).
`--rows N` writes a smaller file; `--keep` reuses the database and file of the last run.
Prints a Markdown table to paste into bench/RESULTS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DOORSTEP_VAR_DIR", str(ROOT / "var" / "bench-import"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
VAR = Path(os.environ["DOORSTEP_VAR_DIR"])
CSV = VAR / "persons-600k.csv"


def setup_django():
    import django

    django.setup()


def prepare(rows: int) -> dict:
    """A fresh database with the district's houses, and the CSV of persons living in them."""
    if "DATABASE_URL" not in os.environ:
        shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True, exist_ok=True)
    setup_django()
    from django.core.management import call_command
    from django.db import transaction

    from doorstep.org import seed as org_seed
    from doorstep.registry import seed as registry_seed

    call_command("migrate", verbosity=0)
    if "DATABASE_URL" in os.environ:
        call_command("flush", "--noinput", verbosity=0)
    t0 = time.perf_counter()
    with transaction.atomic():
        org_seed.seed("district", 42)
    with transaction.atomic():
        registry_seed.seed("district", 42, with_people=False)
    seeded = time.perf_counter() - t0
    t0 = time.perf_counter()
    written = write_persons(CSV, rows)
    return {"seed_s": seeded, "csv_s": time.perf_counter() - t0, "rows": written, "bytes": CSV.stat().st_size}


def write_persons(path: Path, limit: int) -> int:
    """Persons for the seeded houses, household by household, until `limit` rows (cycling if needed)."""
    import random

    from doorstep.registry import importers
    from doorstep.registry import seed as registry_seed
    from doorstep.registry.choices import Occupancy
    from doorstep.registry.models import House

    rng = random.Random("bench-import")
    mint = registry_seed.IdMint(rng)
    houses = list(
        House.objects.exclude(occupancy=Occupancy.VACANT).order_by("code").values_list("code", "occupancy")
    )
    count = 0

    def rows():
        nonlocal count
        while True:
            for code, occupancy in houses:
                if occupancy == Occupancy.OWNER:
                    households = [(f"{code[-12:]}0", registry_seed._owner_household(rng, mint))]
                else:
                    size = rng.randint(5, 10) if occupancy == Occupancy.GROUP_RENTAL else rng.randint(1, 4)
                    households = [("", registry_seed._tenant_household(rng, mint, size))]
                for number, members in households:
                    for values in members:
                        if count >= limit:
                            return
                        count += 1
                        yield {**values, "house_code": code, "household_no": number}

    importers.write_csv(path, "persons", rows())
    return count


def phase(name: str) -> dict:
    """One import run in this process: time, rows/s, CPU time and peak memory."""
    setup_django()
    from django.db import connection

    from doorstep.registry import importers
    from doorstep.registry.models import Household, Person

    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    result = importers.import_file("persons", CSV, dry_run=name == "dry")
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "phase": name,
        "seconds": elapsed,
        "rows": result.total,
        "rows_per_s": result.total / elapsed,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "peak_mib": after.ru_maxrss / 1024,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        "persons": Person.objects.count(),
        "households": Household.objects.count(),
        "vendor": connection.vendor,
    }


def run_phase(name: str) -> dict:
    out = subprocess.run(  # noqa: S603 - runs this very script
        [sys.executable, __file__, "--phase", name],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=600_000)
    parser.add_argument("--keep", action="store_true", help="reuse the database and CSV of the last run")
    parser.add_argument("--phase", choices=["dry", "real", "again"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase)))
        return
    info = {} if args.keep else prepare(args.rows)
    results = [run_phase(p) for p in ("dry", "real", "again")]
    vendor = results[0]["vendor"]
    print(
        f"machine: {platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · {vendor} · {time.strftime('%Y-%m-%d')}"
    )
    if info:
        print(
            f"setup: district org + 200,000 houses seeded in {info['seed_s']:.0f} s; "
            f"CSV of {info['rows']:,} persons ({info['bytes'] / 2**20:.0f} MiB) written in {info['csv_s']:.0f} s"
        )
    print("| import of persons (CSV) | rows | time | rows/s | CPU | peak memory | result |")
    print("|---|---|---|---|---|---|---|")
    labels = {
        "dry": "dry run",
        "real": "real run (empty registry)",
        "again": "same file again (all unchanged)",
    }
    for r in results:
        print(
            f"| {labels[r['phase']]} on {vendor} | {r['rows']:,} | {r['seconds']:.1f} s | {r['rows_per_s']:,.0f} | "
            f"{r['cpu_s']:.1f} s | {r['peak_mib']:.0f} MiB | +{r['created']:,} ~{r['updated']:,} "
            f"={r['unchanged']:,} ✗{r['rejected']:,} → {r['persons']:,} persons, {r['households']:,} households |"
        )


if __name__ == "__main__":
    main()
