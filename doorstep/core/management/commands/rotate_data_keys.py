"""`doorstep rotate-data-keys`: re-encrypt every ID and phone number under the active key, recompute hashes.

Run it after putting a new key first in DOORSTEP_DATA_KEYS or after changing DOORSTEP_SEARCH_KEY. It is
idempotent and restartable; rows are rewritten in batches, each in its own transaction."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from doorstep.audit import services as audit
from doorstep.core import crypto


class Command(BaseCommand):
    help = "Re-encrypt personal data under the active data key and recompute the search hashes."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1000, help="rows per transaction")

    def handle(self, *args, **options):
        active = settings.DATA_KEYS[0][0]
        started = time.monotonic()
        totals = {}
        for model in crypto.encrypted_models():
            count = crypto.reencrypt_model(model, batch_size=max(1, options["batch"]))
            totals[model._meta.label] = count
            self.stdout.write(f"  {model._meta.verbose_name}（{model._meta.label}）：{count} 条")
        seconds = time.monotonic() - started
        audit.record_event(
            None,
            "crypto.rotate",
            "core.datakeys",
            object_repr=f"active key {active}",
            after=totals,
            actor_name="doorstep rotate-data-keys",
        )
        self.stdout.write(f"全部数据已用密钥 {active} 重新加密，检索散列已重算（{seconds:.1f} 秒）。")
