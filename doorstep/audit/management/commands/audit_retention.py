"""`doorstep audit_retention --days N [--apply]`: delete audit rows older than N days (N ≥ 365).

Without --apply it is a dry run: it prints how many rows of each log would go and deletes nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from doorstep.audit import retention
from doorstep.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Delete audit rows (change log and access log) older than --days (at least 365). Dry run by default."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, required=True, help=f"keep this many days (≥ {retention.MIN_DAYS})"
        )
        parser.add_argument("--apply", action="store_true", help="really delete (default: only count)")
        parser.add_argument("--batch", type=int, default=retention.DEFAULT_BATCH, help="rows per transaction")

    def handle(self, *args, **options):
        days = options["days"]
        try:
            if not options["apply"]:
                plan = retention.plan(days)
                self._print(plan, "将删除（试运行，未删除任何记录）")
                self.stdout.write("确认无误后加 --apply 执行删除。")
                return
            plan = retention.purge(
                days,
                batch=options["batch"],
                progress=lambda key, n: self.stdout.write(f"  {retention.LOG_LABELS[key]}：已删除 {n} 条"),
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        self._print(plan, "已删除")
        self.stdout.write("本次清理已记入操作日志（audit.retention_purge）。")

    def _print(self, plan: retention.Plan, verb: str) -> None:
        cutoff = timezone.localtime(plan.cutoff)
        self.stdout.write(f"保留 {plan.days} 天：早于 {cutoff:%Y-%m-%d %H:%M:%S} 的审计记录{verb}：")
        for key, _model in retention.LOGS:
            self.stdout.write(f"  {retention.LOG_LABELS[key]}：{plan.counts[key]} 条")
