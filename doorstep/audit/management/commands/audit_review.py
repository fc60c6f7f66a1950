"""`doorstep audit_review [--week YYYY-Www]`: the weekly audit review as plain text, for e-mail or cron."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from doorstep.audit import review


class Command(BaseCommand):
    help = "Print the weekly audit review (failed logins, denied accesses, reveals, exports, permission changes)."

    def add_arguments(self, parser):
        parser.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: the last full week)")
        parser.add_argument("--limit", type=int, default=review.LIST_LIMIT, help="rows listed per section")

    def handle(self, *args, **options):
        try:
            week = review.parse_week(options["week"]) if options["week"] else review.last_full_week()
        except ValueError as exc:
            raise CommandError(f"--week: {exc}") from exc
        self.stdout.write(review.text_summary(week, limit=max(0, options["limit"])), ending="")
