"""`doorstep check_production`: is this installation ready for production? Each check prints ✓ or ✗ and,
when it fails, what to do, in plain words for the operator. Exit code 0 when everything passes, 1 otherwise.

Checks: DEBUG off; SECRET_KEY long and not the development default; ALLOWED_HOSTS set; the database is
PostgreSQL with fsync and synchronous_commit on; no unapplied migrations; Redis (REDIS_URL) and the MQTT
broker reachable; a real SMS gateway; own data keys that decrypt everything stored and nothing left in clear;
two-factor login on; and Django's own `check --deploy` messages.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks as django_checks
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from doorstep.core import crypto

DEV_SECRET_KEY = "django-insecure-doorstep-development-only-key"
MIN_SECRET_KEY_LENGTH = 50
TIMEOUT = 3.0
# synchronous_commit values that wait for the local disk at least ("local", "remote_write" and above).
DURABLE_COMMIT = {"on", "local", "remote_write", "remote_apply"}


# Django deploy checks this command already reports in its own words.
COVERED_CHECKS = {"security.W009", "security.W018", "security.W020"}  # SECRET_KEY, DEBUG, ALLOWED_HOSTS


@dataclass
class Result:
    ok: bool
    title: str
    advice: str = ""


def check_debug() -> Result:
    if settings.DEBUG:
        return Result(
            False, "DEBUG 已开启", "在环境变量中设置 DEBUG=off（调试模式会在错误页面上暴露内部信息）。"
        )
    return Result(True, "DEBUG 已关闭")


def check_secret_key() -> Result:
    key = settings.SECRET_KEY or ""
    if key == DEV_SECRET_KEY or key.startswith("django-insecure"):
        return Result(
            False, "SECRET_KEY 是开发用的默认值", "设置 SECRET_KEY 为至少 50 个字符的随机串，并妥善保管。"
        )
    if len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < 5:
        return Result(
            False,
            f"SECRET_KEY 太短或太简单（{len(key)} 个字符）",
            "设置至少 50 个字符的随机串，例如：python -c 'import secrets; print(secrets.token_urlsafe(50))'。",
        )
    return Result(True, "SECRET_KEY 足够长，不是默认值")


def check_allowed_hosts() -> Result:
    hosts = list(settings.ALLOWED_HOSTS)
    if not hosts:
        return Result(False, "ALLOWED_HOSTS 未设置", "在 ALLOWED_HOSTS 中填写本站的域名或地址（逗号分隔）。")
    if "*" in hosts:
        return Result(False, "ALLOWED_HOSTS 含有 *", "只填写本站真实使用的域名或地址，不要用 *。")
    return Result(True, f"ALLOWED_HOSTS 已设置：{', '.join(hosts)}")


def check_database(connection) -> list[Result]:
    """PostgreSQL, with fsync on and synchronous_commit on (or stronger): a commit is on disk before Doorstep
    acknowledges an alarm."""
    if connection.vendor != "postgresql":
        return [
            Result(
                False,
                f"数据库是 {connection.vendor}，不是 PostgreSQL",
                "生产环境请使用 PostgreSQL：设置 DATABASE_URL=postgres://用户@主机:5432/库名。",
            )
        ]
    results = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW fsync")
            fsync = cursor.fetchone()[0]
            cursor.execute("SHOW synchronous_commit")
            commit = cursor.fetchone()[0]
    except Exception as exc:
        return [
            Result(
                False, f"无法连接数据库：{_first_line(exc)}", "检查 DATABASE_URL 和 PostgreSQL 是否在运行。"
            )
        ]
    results.append(Result(True, "数据库是 PostgreSQL"))
    if fsync == "on":
        results.append(Result(True, "PostgreSQL fsync = on"))
    else:
        results.append(
            Result(
                False,
                f"PostgreSQL fsync = {fsync}",
                "在 postgresql.conf 中设置 fsync = on 并重新加载（关闭后断电会损坏数据库、丢失报警）。",
            )
        )
    if commit in DURABLE_COMMIT:
        results.append(Result(True, f"PostgreSQL synchronous_commit = {commit}"))
    else:
        results.append(
            Result(
                False,
                f"PostgreSQL synchronous_commit = {commit}",
                "在 postgresql.conf 中设置 synchronous_commit = on 并重新加载（否则已确认的报警在断电时可能丢失）。",
            )
        )
    return results


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[-1].strip()}"[:200] if text else type(exc).__name__


def check_migrations(connection) -> Result:
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return Result(False, f"无法读取迁移状态：{type(exc).__name__}", "检查数据库连接后重试。")
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        more = "…" if len(plan) > 5 else ""
        return Result(False, f"有 {len(plan)} 个迁移未执行：{names}{more}", "运行 doorstep migrate。")
    return Result(True, "数据库迁移已全部执行")


def tcp_reachable(host: str, port: int) -> str | None:
    """None when a TCP connection opens within TIMEOUT, else the reason."""
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def check_redis() -> Result:
    url = getattr(settings, "REDIS_URL", "") or ""
    if not url:
        return Result(
            False,
            "REDIS_URL 未设置",
            "设置 REDIS_URL=redis://主机:6379/0：多个进程之间的报警推送和缓存都需要 Redis。",
        )
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
        client.ping()
        client.close()
    except Exception as exc:
        parts = urlsplit(url)
        return Result(
            False,
            f"Redis 连接失败（{parts.hostname}:{parts.port or 6379}）：{type(exc).__name__}",
            "检查 Redis 是否在运行、REDIS_URL 的地址和密码是否正确、防火墙是否放行。",
        )
    return Result(True, "Redis 可以连接")


def check_mqtt() -> Result:
    url = getattr(settings, "MQTT_URL", "") or ""
    if not url:
        return Result(
            False,
            "DOORSTEP_MQTT_URL 未设置",
            "设置 DOORSTEP_MQTT_URL=mqtt://主机:1883（或 mqtts://）：MQTT 报警设备经由它接入。"
            "若确实没有 MQTT 设备，可忽略此项。",
        )
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    reason = tcp_reachable(host, port)
    if reason:
        return Result(
            False,
            f"MQTT 服务器无法连接（{host}:{port}）：{reason}",
            "检查 Mosquitto 是否在运行、地址端口是否正确、防火墙是否放行。",
        )
    return Result(True, f"MQTT 服务器可以连接（{host}:{port}）")


def check_sms() -> Result:
    gateway = getattr(settings, "SMS_GATEWAY", "")
    if gateway in {"console", "memory", ""}:
        return Result(
            False,
            f"短信网关是 {gateway or '（未设置）'}，短信不会真正发出",
            "设置 DOORSTEP_SMS_GATEWAY=http 和 DOORSTEP_SMS_URL（或网关类的路径）。",
        )
    return Result(True, f"短信网关：{gateway}")


def check_data_keys() -> Result:
    """Own data keys, and every key id the database uses is configured (counted in SQL, nothing decrypted)."""
    if getattr(settings, "DATA_KEYS_ARE_DEVELOPMENT_KEYS", True):
        return Result(
            False,
            "个人数据加密使用的是开发用的公开密钥",
            "运行 doorstep data-keys generate，把密钥写入 DOORSTEP_DATA_KEYS（或密钥文件）和 DOORSTEP_SEARCH_KEY。",
        )
    configured = {kid for kid, _key in settings.DATA_KEYS}
    try:
        usage = crypto.key_usage()
    except DatabaseError as exc:
        return Result(False, f"无法统计加密数据：{_first_line(exc)}", "先执行数据库迁移。")
    missing = sorted({kid for counts in usage.values() for kid in counts if kid and kid not in configured})
    clear = sum(counts.get(None, 0) for counts in usage.values())
    if missing:
        return Result(
            False,
            f"数据库中有用未配置的密钥（{'、'.join(missing)}）加密的数据，这些数据无法解密",
            "把这些密钥加回 DOORSTEP_DATA_KEYS（放在当前密钥之后），再运行 doorstep rotate-data-keys。",
        )
    if clear:
        return Result(
            False, f"数据库中还有 {clear} 个未加密的身份证号或电话号码", "运行 doorstep rotate-data-keys。"
        )
    return Result(True, f"个人数据已加密（当前密钥 {settings.DATA_KEYS[0][0]}）")


def check_two_factor() -> Result:
    if not getattr(settings, "TWO_FACTOR_REQUIRED", False):
        return Result(False, "两步验证未启用", "设置 DOORSTEP_TWO_FACTOR=on（生产环境必须启用）。")
    return Result(True, "两步验证已启用（能看到个人信息的角色登录时必须输入验证码）")


def check_deploy() -> list[Result]:
    """Django's deployment checks (`check --deploy`), warnings included."""
    messages = django_checks.run_checks(include_deployment_checks=True)
    serious = [
        m
        for m in messages
        if m.level >= django_checks.WARNING and not m.is_silenced() and m.id not in COVERED_CHECKS
    ]
    if not serious:
        return [Result(True, "Django 部署检查（check --deploy）没有问题")]
    return [
        Result(False, f"Django 部署检查 {m.id}：{m.msg}", str(m.hint or "见 Django 部署检查清单。"))
        for m in serious
    ]


def run_all(database: str = DEFAULT_DB_ALIAS) -> list[Result]:
    connection = connections[database]
    results = [check_debug(), check_secret_key(), check_allowed_hosts()]
    results += check_database(connection)
    results.append(check_migrations(connection))
    results += [check_redis(), check_mqtt(), check_sms(), check_data_keys(), check_two_factor()]
    results += check_deploy()
    return results


class Command(BaseCommand):
    help = "检查本安装是否可以用于生产环境（设置、数据库持久性、迁移、Redis、MQTT、短信网关、数据加密、两步验证、部署检查）。"
    requires_system_checks = []  # the deploy checks are run and reported by the command itself

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="要检查的数据库别名")

    def handle(self, *args, **options):
        results = run_all(options["database"])
        for result in results:
            if result.ok:
                self.stdout.write(self.style.SUCCESS("✓ ") + result.title)
            else:
                self.stdout.write(self.style.ERROR("✗ ") + result.title)
                if result.advice:
                    self.stdout.write(f"    → {result.advice}")
        failed = sum(not r.ok for r in results)
        if failed:
            self.stdout.write(self.style.ERROR(f"\n{failed} 项未通过，请按上面的提示处理后再运行本命令。"))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"\n全部 {len(results)} 项通过。"))
