"""`doorstep tick`: run the periodic jobs once (for cron or a systemd timer; `doorstep run` runs them every
minute itself)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from doorstep.core import periodic


class Command(BaseCommand):
    help = "运行一次定时任务（警务室无人值守告警等）；`doorstep run` 每分钟自动运行"

    def handle(self, *args, **options):
        results = periodic.run_all()
        for job, result in results.items():
            self.stdout.write(f"{job}: {result}")
        if any(result != "ok" for result in results.values()):
            raise CommandError("有定时任务出错，详见日志")
