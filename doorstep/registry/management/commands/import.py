"""`doorstep import persons|houses|units|addresses FILE [--dry-run] [--crs CRS]`: import a CSV or .xlsx file.

Prints a progress line while it works and a summary with every rejected row at the end. Runs as the system
(no territory limit) unless `--user` names the account to import as. `--crs` names the coordinate system of
the file's longitudes and latitudes (GCJ-02 from Gaode or Tencent, BD-09 from Baidu); they are stored as
WGS-84.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from doorstep.accounts.models import User
from doorstep.core.errors import ServiceError
from doorstep.core.geo import CRS_CHOICES
from doorstep.registry import importers


class Command(BaseCommand):
    help = "Import persons, houses, units or addresses from a CSV (UTF-8 or GBK) or .xlsx file."

    def add_arguments(self, parser):
        parser.add_argument("entity", choices=sorted(importers.IMPORTERS))
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument("--user", help="import as this account (its role and territory apply)")
        parser.add_argument("--batch-size", type=int, default=importers.BATCH_SIZE)
        parser.add_argument("--max-errors", type=int, default=200, help="rejected rows to print (0: all)")
        parser.add_argument(
            "--crs",
            choices=CRS_CHOICES,
            default="wgs84",
            help="coordinate system of the file's lng/lat: wgs84 (default), gcj02 (Gaode, Tencent) or "
            "bd09 (Baidu); stored as WGS-84",
        )

    def handle(self, *args, entity, file, dry_run, user, batch_size, max_errors, crs, **options):
        by = None
        if user:
            try:
                by = User.objects.get(username=user, is_active=True)
            except User.DoesNotExist:
                raise CommandError(f"用户 {user} 不存在或已停用") from None
        started = time.monotonic()
        tty = self.stdout.isatty()

        def progress(done: int, total: int | None) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            share = f" / {total}（{done * 100 // total}%）" if total else ""
            line = f"{'试导入' if dry_run else '导入'}：已处理 {done}{share} 行，{done / elapsed:,.0f} 行/秒"
            if tty:
                self.stdout.write(f"\r{line}", ending="")
            else:
                self.stdout.write(line)

        try:
            result = importers.import_file(
                entity,
                file,
                by=by,
                dry_run=dry_run,
                progress=progress,
                batch_size=max(1, batch_size),
                crs=crs,
            )
        except FileNotFoundError:
            raise CommandError(f"找不到文件 {file}") from None
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if tty:
            self.stdout.write("")
        elapsed = time.monotonic() - started
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(warning))
        shown = result.bad if max_errors == 0 else result.bad[:max_errors]
        for bad in shown:
            who = " ".join(x for x in (bad.key, bad.label) if x)
            self.stdout.write(f"第{bad.row}行 {who}：{'；'.join(bad.reasons)}")
        if len(shown) < len(result.bad):
            self.stdout.write(f"……另有 {len(result.bad) - len(shown)} 行有误（--max-errors 0 显示全部）")
        style = self.style.SUCCESS if not result.bad else self.style.WARNING
        self.stdout.write(style(f"{result.summary()}（用时 {elapsed:.1f} 秒）"))
