"""`doorstep backup` / `doorstep restore`: round trips on SQLite and PostgreSQL, run as real commands.

Each test runs the commands in subprocesses with their own DOORSTEP_VAR_DIR (and, on PostgreSQL, their own
scratch databases named after the process), so they neither touch the suite's test database nor collide with
other xdist workers. Whether the restore is faithful is checked independently of the checksums the commands
compute: every table of the source and the restored database is read and compared row by row.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from doorstep.conftest import require_service

PG_HOST, PG_PORT = "127.0.0.1", 5432
MEDIA_NAME = "photos/2026/证件照.jpg"
MEDIA_BYTES = b"\xff\xd8\xff\xe0 not really a jpeg \x00\x01" * 50

# A few rows in every kind of table: a model table (with JSON, dates, booleans, Chinese text), a many-to-many
# table and the append-only audit tables — through the audit service, as the application writes them.
SEED_SCRIPT = """
import django
django.setup()
from django.contrib.auth.models import Group
from django.db import transaction
from doorstep.accounts.models import User
from doorstep.audit.services import record_access, record_change

with transaction.atomic():
    group = Group.objects.create(name="备份测试组")
    user = User.objects.create_user(username="backup-officer", password="x" * 16, first_name="张三")
    user.groups.add(group)
    record_change(None, "create", user, note="备份测试")
    record_access(user, "view", "accounts.user", [user.pk], fields=["phone"], purpose="备份测试")
"""

# Inserts groups in transactions of 10 until told to stop, as a running server writes beside the backup.
WRITER_SCRIPT = """
import os, sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
start, n = time.monotonic(), 0
while not os.path.exists(sys.argv[2]) and time.monotonic() - start < 120:
    conn.execute("BEGIN IMMEDIATE")
    for _ in range(10):
        conn.execute("INSERT INTO auth_group(name) VALUES (?)", (f"writer-{n}",))
        n += 1
    conn.execute("COMMIT")
    if n == 10:
        print("writing", flush=True)
print(n, flush=True)
"""


def _env(var_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME"}
    }
    env.update(
        DOORSTEP_VAR_DIR=str(var_dir), DOORSTEP_ENV="development", DJANGO_SETTINGS_MODULE="doorstep.settings"
    )
    env.pop("DEBUG", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _doorstep(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own command)
        [sys.executable, "-m", "doorstep.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def _failed_plainly(result: subprocess.CompletedProcess) -> str:
    """A failure must be a non-zero exit with a plain message, never a traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


def _prepare_source(env: dict[str, str], var_dir: Path) -> Path:
    """Migrate, seed a few rows and one uploaded file, back up; return the backup directory."""
    _ok(_doorstep(env, "migrate", "-v0"))
    _ok(
        subprocess.run(
            [sys.executable, "-c", SEED_SCRIPT], env=env, capture_output=True, text=True, check=False
        )
    )  # noqa: S603
    media = var_dir / "media" / MEDIA_NAME
    media.parent.mkdir(parents=True, exist_ok=True)
    media.write_bytes(MEDIA_BYTES)
    out = _ok(_doorstep(env, "backup", "--output", str(var_dir / "out")))
    backups = list((var_dir / "out").iterdir())
    assert len(backups) == 1 and backups[0].name.startswith("doorstep-backup-"), backups
    assert str(backups[0]) in out.stdout
    return backups[0]


def _check_manifest(backup: Path, vendor: str) -> dict:
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == 1 and manifest["vendor"] == vendor
    assert manifest["created_at"].endswith("Z")
    assert manifest["migrations"]["accounts"] and manifest["migrations"]["audit"]
    tables = manifest["tables"]
    assert tables["accounts_user"]["rows"] == 1
    assert tables["accounts_user_groups"]["rows"] == 1  # many-to-many
    assert tables["audit_auditentry"]["rows"] >= 1 and tables["audit_accessentry"]["rows"] == 1
    assert tables["django_migrations"]["rows"] > 10
    assert all(len(t["sha256"]) == 64 for t in tables.values())
    assert manifest["media"]["files"] == 1 and manifest["media"]["bytes"] == len(MEDIA_BYTES)
    return manifest


# --- SQLite ------------------------------------------------------------------------------------------------


def _sqlite_tables(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND sql NOT LIKE 'CREATE VIRTUAL%'"
            )
        ]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}  # noqa: S608
    finally:
        conn.close()


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory):
    """One migrated, seeded and backed-up SQLite site shared by the SQLite tests of this module."""
    var_dir = tmp_path_factory.mktemp("backup-src")
    env = _env(var_dir)
    backup = _prepare_source(env, var_dir)
    return var_dir, env, backup


def test_sqlite_round_trip_restores_every_table_and_the_files(sqlite_source, tmp_path):
    src_dir, _, backup = sqlite_source
    manifest = _check_manifest(backup, "sqlite")
    assert (backup / "database.sqlite3").is_file() and (backup / "media.tar").is_file()

    dst_dir = tmp_path / "dst"
    result = _ok(_doorstep(_env(dst_dir), "restore", str(backup)))
    assert "已经停止" in result.stdout  # the operator is told the server must be stopped
    assert "核对" in result.stdout

    source = _sqlite_tables(src_dir / "doorstep.sqlite3")
    restored = _sqlite_tables(dst_dir / "doorstep.sqlite3")
    assert set(manifest["tables"]) <= set(source)
    assert set(restored) == set(source)
    for table, rows in source.items():
        assert restored[table] == rows, table
    assert (dst_dir / "media" / MEDIA_NAME).read_bytes() == MEDIA_BYTES


def test_restore_refuses_a_database_with_data(sqlite_source):
    src_dir, env, backup = sqlite_source
    before = (src_dir / "doorstep.sqlite3").stat().st_mtime_ns
    message = _failed_plainly(_doorstep(env, "restore", str(backup)))
    assert "不是空的" in message and "--force" in message and "accounts_user" in message
    assert (src_dir / "doorstep.sqlite3").stat().st_mtime_ns == before


def test_restore_reports_a_changed_row(sqlite_source, tmp_path):
    _, _, backup = sqlite_source
    tampered = tmp_path / "tampered"
    shutil.copytree(backup, tampered)
    conn = sqlite3.connect(tampered / "database.sqlite3")
    conn.execute("UPDATE accounts_user SET first_name = '李四'")
    conn.commit()
    conn.close()
    message = _failed_plainly(_doorstep(_env(tmp_path / "dst"), "restore", str(tampered)))
    assert "accounts_user" in message and "校验值不一致" in message
    assert "audit_auditentry" not in message  # only the changed table is reported


def test_restore_reports_an_edited_manifest_and_a_changed_file(sqlite_source, tmp_path):
    _, _, backup = sqlite_source
    tampered = tmp_path / "tampered"
    shutil.copytree(backup, tampered)
    manifest = json.loads((tampered / "manifest.json").read_text(encoding="utf-8"))
    manifest["tables"]["audit_accessentry"]["rows"] = 2
    manifest["tables"]["mediation_disputetype"]["sha256"] = "0" * 64
    manifest["media"]["sha256"] = "0" * 64
    (tampered / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    message = _failed_plainly(_doorstep(_env(tmp_path / "dst"), "restore", str(tampered)))
    assert "audit_accessentry" in message and "行数 备份 2，恢复后 1" in message
    assert "mediation_disputetype" in message
    assert "上传文件" in message
    assert "3 处" in message


def test_sqlite_backup_is_consistent_while_another_process_writes(sqlite_source, tmp_path):
    """The server keeps writing (WAL) during the backup: the copy is one consistent state that restores."""
    src_dir, _, _ = sqlite_source
    live_dir = tmp_path / "live"
    live_dir.mkdir()
    source = sqlite3.connect(src_dir / "doorstep.sqlite3")
    live = sqlite3.connect(live_dir / "doorstep.sqlite3")
    source.backup(live)
    source.close()
    live.execute("PRAGMA journal_mode=WAL")
    live.close()
    writer = subprocess.Popen(  # noqa: S603 (our own script)
        [sys.executable, "-c", WRITER_SCRIPT, str(live_dir / "doorstep.sqlite3"), str(live_dir / "stop")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        _ok(_doorstep(_env(live_dir), "backup", "--output", str(live_dir / "out")))
    finally:
        (live_dir / "stop").touch()
        writer.wait(timeout=30)
    written = int(writer.stdout.read().strip())
    (backup,) = (live_dir / "out").iterdir()
    rows = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))["tables"]["auth_group"]["rows"]
    assert 1 < rows < 1 + written  # taken in the middle of the writes, in whole transactions of 10
    assert (rows - 1) % 10 == 0
    _ok(_doorstep(_env(tmp_path / "dst"), "restore", str(backup)))


def test_backup_and_restore_fail_plainly(sqlite_source, tmp_path):
    _, env, _ = sqlite_source
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    message = _failed_plainly(_doorstep(env, "backup", "--output", str(blocker / "sub")))
    assert "备份失败" in message
    message = _failed_plainly(_doorstep(_env(tmp_path / "dst"), "restore", str(tmp_path / "missing")))
    assert "恢复失败" in message and "不存在" in message


# --- PostgreSQL --------------------------------------------------------------------------------------------


def _psql(*args: str) -> None:
    subprocess.run(  # noqa: S603 (PostgreSQL client, fixed arguments)
        [
            "psql",
            "-h",
            PG_HOST,
            "-p",
            str(PG_PORT),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            *args,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _pg_tables(url: str) -> dict[str, list[tuple]]:
    import psycopg

    with psycopg.connect(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
        ]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}  # noqa: S608


@pytest.mark.postgres
def test_postgresql_round_trip(tmp_path):
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    if shutil.which("psql") is None or shutil.which("pg_dump") is None:
        message = "!!! psql/pg_dump are not on PATH — this test needs the PostgreSQL client programs"
        if os.environ.get("DOORSTEP_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    suffix = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
    src_db, dst_db = f"doorstep_backup_src_{suffix}", f"doorstep_backup_dst_{suffix}"
    base = f"postgres://postgres@{PG_HOST}:{PG_PORT}/"
    _psql("-c", f"CREATE DATABASE {src_db}")
    try:
        _psql("-c", f"CREATE DATABASE {dst_db}")
        src_env = _env(tmp_path / "src", base + src_db)
        backup = _prepare_source(src_env, tmp_path / "src")
        manifest = _check_manifest(backup, "postgresql")
        assert (backup / "database.dump").read_bytes()[:5] == b"PGDMP"  # pg_dump custom format

        # pg_dump missing: a plain message, no traceback, no partial backup left behind.
        no_pg = {**src_env, "PATH": str(Path(sys.executable).parent)}
        message = _failed_plainly(_doorstep(no_pg, "backup", "--output", str(tmp_path / "nopg")))
        assert "pg_dump" in message and "PATH" in message
        assert not any((tmp_path / "nopg").iterdir())

        # Refuses the non-empty source; restores into the empty database.
        message = _failed_plainly(_doorstep(src_env, "restore", str(backup)))
        assert "不是空的" in message
        dst_env = _env(tmp_path / "dst", base + dst_db)
        result = _ok(_doorstep(dst_env, "restore", str(backup)))
        assert "核对" in result.stdout
        assert "postgres@" not in result.stdout + result.stderr

        source, restored = _pg_tables(base + src_db), _pg_tables(base + dst_db)
        assert set(manifest["tables"]) <= set(source)
        assert set(restored) == set(source)
        for table, rows in source.items():
            assert restored[table] == rows, table
        assert (tmp_path / "dst" / "media" / MEDIA_NAME).read_bytes() == MEDIA_BYTES

        # --force restores over a database with data; a manifest that does not match is reported.
        manifest["tables"]["accounts_user"]["sha256"] = "0" * 64
        (backup / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        message = _failed_plainly(_doorstep(dst_env, "restore", "--force", str(backup)))
        assert "accounts_user" in message and "校验值不一致" in message
    finally:
        for name in (src_db, dst_db):
            _psql("-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
