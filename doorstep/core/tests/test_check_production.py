"""`doorstep check_production`: each check ✓/✗ with what to do, exit code 1 when anything fails; on
PostgreSQL the durability settings (fsync, synchronous_commit) are read from the server."""

from __future__ import annotations

import io
import os

import dj_database_url
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.utils import ConnectionHandler

from doorstep.conftest import require_service
from doorstep.core.management.commands import check_production

GOOD_KEY = "k8Jw2nQ-x7PzR4vLm9TsYb3Hc6FgDe1Ua5WoKi0Nj2VqXy8Zr_tBpMs4LhGf7Cd"
PG_URL = os.environ.get("DOORSTEP_CHECK_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def run() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("check_production", stdout=out, no_color=True)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


@pytest.mark.django_db
def test_debug_and_sqlite_fail_with_advice(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = check_production.DEV_SECRET_KEY
    settings.ALLOWED_HOSTS = []
    settings.REDIS_URL = ""
    settings.MQTT_URL = ""
    settings.SMS_GATEWAY = "console"
    code, out = run()
    assert code == 1
    for expected in (
        "✗ DEBUG 已开启",
        "✗ SECRET_KEY 是开发用的默认值",
        "✗ ALLOWED_HOSTS 未设置",
        "✗ REDIS_URL 未设置",
        "✗ DOORSTEP_MQTT_URL 未设置",
        "✗ 短信网关是 console",
        "✓ 数据库迁移已全部执行",
        "→ 在环境变量中设置 DEBUG=off",
        "项未通过",
    ):
        assert expected in out, (expected, out)
    assert "✗ Django 部署检查 security." in out  # check --deploy: e.g. HSTS, secure cookies
    if connection.vendor == "sqlite":
        assert "✗ 数据库是 sqlite，不是 PostgreSQL" in out
        assert "→ 生产环境请使用 PostgreSQL" in out


@pytest.mark.django_db
def test_good_settings_pass_each_own_check(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = GOOD_KEY
    settings.ALLOWED_HOSTS = ["doorstep.example.internal"]
    settings.SMS_GATEWAY = "http"
    assert check_production.check_debug().ok
    assert check_production.check_secret_key().ok
    assert check_production.check_allowed_hosts().ok
    assert check_production.check_sms().ok
    settings.SECRET_KEY = "short-but-not-default"
    assert not check_production.check_secret_key().ok
    settings.ALLOWED_HOSTS = ["*"]
    assert not check_production.check_allowed_hosts().ok


def test_unreachable_redis_and_mqtt_are_reported(settings):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.MQTT_URL = f"mqtt://127.0.0.1:{port}"
    redis_result, mqtt_result = check_production.check_redis(), check_production.check_mqtt()
    assert not redis_result.ok and f"127.0.0.1:{port}" in redis_result.title
    assert not mqtt_result.ok and f"127.0.0.1:{port}" in mqtt_result.title


def test_real_redis_and_mosquitto_are_reachable(settings):
    require_service("Redis", "127.0.0.1", 6379)
    require_service("Mosquitto", "127.0.0.1", 1883)
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.MQTT_URL = "mqtt://127.0.0.1:1883"
    assert check_production.check_redis().ok
    assert check_production.check_mqtt().ok


@pytest.fixture
def pg_connection():
    """A connection to the real PostgreSQL server, whatever database this run of the suite uses."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    handler = ConnectionHandler({"default": dj_database_url.parse(PG_URL)})
    conn = handler["default"]
    yield conn
    conn.close()


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_durability_settings_are_read_from_the_server(pg_connection):
    with pg_connection.cursor() as cursor:
        cursor.execute("SHOW fsync")
        fsync = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        commit = cursor.fetchone()[0]
    results = check_production.check_database(pg_connection)
    titles = [r.title for r in results]
    assert "数据库是 PostgreSQL" in titles
    assert f"PostgreSQL fsync = {fsync}" in titles
    assert f"PostgreSQL synchronous_commit = {commit}" in titles
    by_title = {r.title: r.ok for r in results}
    assert by_title[f"PostgreSQL fsync = {fsync}"] == (fsync == "on")
    assert by_title[f"PostgreSQL synchronous_commit = {commit}"] == (
        commit in check_production.DURABLE_COMMIT
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_synchronous_commit_off_is_a_failure(pg_connection):
    """synchronous_commit can be set per session: turn it off on this connection and the check says so."""
    with pg_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    results = {r.title: r for r in check_production.check_database(pg_connection)}
    result = results["PostgreSQL synchronous_commit = off"]
    assert not result.ok and "synchronous_commit = on" in result.advice


@pytest.mark.postgres
@pytest.mark.django_db
def test_command_on_postgres_reports_durability(settings):
    if connection.vendor != "postgresql":
        pytest.skip(
            "!!! the whole command on PostgreSQL runs with DATABASE_URL=postgres://... (the "
            "durability checks themselves ran above against the server)"
        )
    settings.DEBUG = False
    settings.SECRET_KEY = GOOD_KEY
    settings.ALLOWED_HOSTS = ["doorstep.example.internal"]
    settings.SMS_GATEWAY = "memory"  # one known failure: the exit code must say so
    with connection.cursor() as cursor:
        cursor.execute("SHOW fsync")
        fsync = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        commit = cursor.fetchone()[0]
    code, out = run()
    assert "✓ 数据库是 PostgreSQL" in out
    assert f"{'✓' if fsync == 'on' else '✗'} PostgreSQL fsync = {fsync}" in out
    durable = commit in check_production.DURABLE_COMMIT
    assert f"{'✓' if durable else '✗'} PostgreSQL synchronous_commit = {commit}" in out
    assert "✓ 数据库迁移已全部执行" in out
    assert "✓ DEBUG 已关闭" in out and "✗ 短信网关是 memory" in out
    assert code == 1


@pytest.mark.django_db
def test_data_keys_must_be_own_keys_and_cover_everything_stored(settings, world):
    settings.DATA_KEYS_ARE_DEVELOPMENT_KEYS = True
    result = check_production.check_data_keys()
    assert not result.ok and "开发用的公开密钥" in result.title and "data-keys generate" in result.advice

    from doorstep.registry import services
    from doorstep.registry.choices import PersonCategory
    from doorstep.registry.tests.conftest import make_house, new_id

    settings.DATA_KEYS_ARE_DEVELOPMENT_KEYS = False
    settings.DATA_KEYS = [("old", b"o" * 32)]
    household = services.create_household(house=make_house(world.grid_a), household_no="350503001")
    services.create_person(
        name="张三",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=household,
        relation_to_head="户主",
        phone="13800138000",
    )
    assert check_production.check_data_keys().ok
    settings.DATA_KEYS = [("new", b"n" * 32)]  # the key the row is encrypted with was dropped
    result = check_production.check_data_keys()
    assert not result.ok and "old" in result.title and "rotate-data-keys" in result.advice


def test_two_factor_must_be_on(settings):
    settings.TWO_FACTOR_REQUIRED = False
    assert not check_production.check_two_factor().ok
    settings.TWO_FACTOR_REQUIRED = True
    assert check_production.check_two_factor().ok
