"""Re-evaluating the colour of every household at district scale (~190,000 households, 600,000 persons).

    .venv/bin/python bench/registry_recolour.py                   # SQLite under var/bench-recolour/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doorstep_bench_recolour .venv/bin/python bench/registry_recolour.py

Seeds the district (organisation and registry, timed: this is also the figure for `seed --scale district`)
unless the database already holds it, then measures `colours.recolour_all`:
1. nothing has changed (every verdict is read, evaluated and found equal: the read and rule cost);
2. an administrator's rule change that moves many households (rented houses count as yellow): the write
   cost, with colour history;
3. the rule change undone.
Prints a Markdown table to paste into bench/RESULTS.md with the machine and date.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DOORSTEP_VAR_DIR", str(ROOT / "var" / "bench-recolour"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from doorstep.org import seed as org_seed  # noqa: E402
from doorstep.registry import colours, rules  # noqa: E402
from doorstep.registry import seed as registry_seed  # noqa: E402
from doorstep.registry.models import ColourChange, House, Household, Person  # noqa: E402


def timed(label, fn):
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return label, elapsed, cpu, out


def seed():
    with transaction.atomic():
        org_seed.seed("district", 42)
    with transaction.atomic():
        return registry_seed.seed("district", 42)


def recolour(params=None):
    with transaction.atomic():
        return colours.recolour_all(trigger="bench.recolour", params=params)


def main():
    call_command("migrate", verbosity=0)
    rows = []
    if not House.objects.exists():
        rows.append(timed("`seed --scale district` (org + registry, one recolour_all)", seed))
    households, persons = Household.objects.count(), Person.objects.count()
    strict = rules.merged_params({"factors": {"rented": {"direct": "yellow"}}})
    history = ColourChange.objects.count()
    rows.append(timed(f"recolour_all, nothing changed ({households:,} households)", recolour))
    rows.append(timed("recolour_all after a rule change (rented → yellow)", lambda: recolour(strict)))
    rows.append(timed("recolour_all, rule change undone", recolour))
    history = ColourChange.objects.count() - history
    print(
        f"machine: {platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · {connection.vendor} · {time.strftime('%Y-%m-%d')} · "
        f"{households:,} households, {persons:,} persons, {House.objects.count():,} houses"
    )
    print("| measurement | time | CPU | households changed |\n|---|---|---|---|")
    for label, elapsed, cpu, out in rows:
        changed = f"{out:,}" if isinstance(out, int) else ""
        print(f"| {label} | {elapsed:.1f} s | {cpu:.1f} s | {changed} |")
    print(f"colour history rows written (houses and households): {history:,}")


if __name__ == "__main__":
    main()
