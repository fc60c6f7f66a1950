"""`doorstep create-admin`: the first system administrator of a new installation (and its sub-bureau).

The password is read from the terminal (twice) or, with --password-stdin, from one line of standard input —
never from the command line, where `ps` and the shell history would keep it. The account and, on an empty
database, the sub-bureau are created through the services, so both are audited as done by the command."""

from __future__ import annotations

import getpass
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from doorstep.accounts import services
from doorstep.accounts.choices import Role
from doorstep.core.errors import ServiceError
from doorstep.core.ids import ascii_digits
from doorstep.org import services as org_services
from doorstep.org.models import SubBureau


class Command(BaseCommand):
    help = "创建第一个系统管理员账户（数据库里还没有分局时，同时创建分局）。"

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True, help="登录名")
        parser.add_argument("--name", default="系统管理员", help="显示的姓名")
        parser.add_argument("--password-stdin", action="store_true", help="从标准输入读一行作为密码")
        parser.add_argument("--sub-bureau-name", default="", help="分局名称（数据库里还没有分局时必填）")
        parser.add_argument("--sub-bureau-code", default="", help="分局代码（同上）")
        parser.add_argument("--division-code", default="", help="分局所在县级行政区划代码，6 位（同上）")

    def handle(self, *args, **options):
        password = self._password(options)
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError("密码不符合要求：" + "；".join(exc.messages)) from exc
        with transaction.atomic():  # the sub-bureau only together with its administrator
            user, sub_bureau = self._create(options, password)
        self.stdout.write(f"已创建系统管理员 {user.username}（{sub_bureau.name}）。")

    def _create(self, options, password: str):
        sub_bureau = self._sub_bureau(options)
        try:
            user = services.create_user(
                username=options["username"],
                password=password,
                role=Role.ADMIN,
                display_name=options["name"],
                sub_bureau=sub_bureau,
            )
        except (ServiceError, ValidationError) as exc:
            raise CommandError(str(getattr(exc, "message", exc))) from exc
        return user, sub_bureau

    def _sub_bureau(self, options) -> SubBureau:
        existing = list(SubBureau.objects.order_by("pk")[:2])
        if len(existing) == 1:
            return existing[0]
        if len(existing) > 1:
            raise CommandError("数据库里有多个分局；请在系统中由已有的管理员创建账户。")
        name, code, division = (
            options["sub_bureau_name"],
            options["sub_bureau_code"],
            options["division_code"],
        )
        if not (name and code and len(division) == 6 and ascii_digits(division)):
            raise CommandError(
                "数据库里还没有分局：请同时给出 --sub-bureau-name、--sub-bureau-code 和 6 位 --division-code。"
            )
        return org_services.create_sub_bureau(name=name, code=code, division_code=division)

    def _password(self, options) -> str:
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("密码：")
            if getpass.getpass("再输入一次：") != password:
                raise CommandError("两次输入的密码不一致。")
        if not password:
            raise CommandError("密码不能为空。")
        return password
