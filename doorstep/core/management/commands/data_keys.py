"""`doorstep data-keys generate` prints new data keys; `doorstep data-keys status` says which keys are in use."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand

from doorstep.core import crypto


class Command(BaseCommand):
    help = "Generate new data keys (generate) or count the stored values per key id (status)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["generate", "status"])
        parser.add_argument("--kid", default="", help="id of the new encryption key (default: k<date>)")

    def handle(self, *args, **options):
        if options["action"] == "generate":
            kid = options["kid"] or "k" + dt.date.today().strftime("%Y%m%d")
            self.stdout.write("# 新的数据加密密钥：放在 DOORSTEP_DATA_KEYS 的最前面（旧密钥保留在后面），")
            self.stdout.write("# 然后运行 doorstep rotate-data-keys；全部重新加密后才能删去旧密钥。")
            self.stdout.write(f"{kid}:{crypto.generate_key()}")
            self.stdout.write(
                "# 新的检索密钥（DOORSTEP_SEARCH_KEY；更换须停机进行，并运行 doorstep rotate-data-keys）："
            )
            self.stdout.write(f"search:{crypto.generate_key()}")
            return
        configured = [kid for kid, _key in settings.DATA_KEYS]
        self.stdout.write(f"当前加密密钥：{configured[0]}；可解密：{'、'.join(configured)}")
        if settings.DATA_KEYS_ARE_DEVELOPMENT_KEYS:
            self.stdout.write("注意：正在使用开发用的公开密钥，生产环境不可使用。")
        for model, counts in crypto.key_usage().items():
            text = (
                "，".join(f"{kid or '明文'} {n} 条" for kid, n in sorted(counts.items(), key=str)) or "无数据"
            )
            self.stdout.write(f"  {model._meta.verbose_name}（{model._meta.label}）：{text}")
