"""`doorstep seed --scale demo|district`: deterministic synthetic data; running it twice adds nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from doorstep.org import seed as org_seed


class Command(BaseCommand):
    help = "Seed a synthetic district (deterministic: the same scale and seed give the same data)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(org_seed.SCALES), default="demo")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, scale, seed, **options):
        try:
            with transaction.atomic():
                result = org_seed.seed(scale, seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verb = "已生成" if result.created else "已存在，未重复生成"
        self.stdout.write(self.style.SUCCESS(f"{result.sub_bureau.name}（{scale}）{verb}。"))
        self.stdout.write(f"演示账号（密码均为 {org_seed.DEMO_PASSWORD}）：")
        for role, username, description in result.logins:
            self.stdout.write(f"  {role:<6} {username:<11} {description}")
