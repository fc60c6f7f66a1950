"""Store the KPI snapshots of one period: `evaluation_snapshot --kind month --date 2026-11-30 [--level grid]`."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from doorstep.evaluation import periods, snapshots
from doorstep.evaluation.choices import Level, PeriodKind


class Command(BaseCommand):
    help = "Compute every active KPI for every territory of the period containing --date and store the snapshots."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=PeriodKind.values, default=PeriodKind.MONTH)
        parser.add_argument("--date", help="a day of the period, YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--level", action="append", choices=Level.values, help="repeatable; default: every level"
        )

    def handle(self, *args, **options):
        try:
            day = dt.date.fromisoformat(options["date"]) if options["date"] else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        period = periods.period_of(options["kind"], day)
        levels = options["level"] or list(snapshots.ALL_LEVELS)
        started = time.perf_counter()
        n = snapshots.store(period, levels=levels)
        seconds = time.perf_counter() - started
        self.stdout.write(f"{periods.label(period)}: {n} snapshots in {seconds:.2f} s")
