"""Backup and restore of a Doorstep site: the database, the uploaded files and a manifest to verify them.

A backup is one directory named by its UTC time (``doorstep-backup-20261129T041900Z``) holding:

* ``database.dump`` (PostgreSQL, ``pg_dump --format=custom``) or ``database.sqlite3`` (SQLite, a copy made with
  the online backup API, consistent while the server runs in WAL mode);
* ``media.tar`` — every file under MEDIA_ROOT;
* ``manifest.json`` — format version, time, database vendor, the latest applied migration of each app, and the
  row count and SHA-256 checksum of every table of the installed models, plus a digest of the uploaded files.

The checksums are computed from the same snapshot as the dump (PostgreSQL: the dump runs in a snapshot exported
by our own REPEATABLE READ transaction; SQLite: they are read from the copy), so a restore can prove that every
table came back unchanged. A backup is written under ``<name>.partial`` and renamed only when complete, so a
directory without that suffix is always a whole backup.

Failures an operator can fix (pg_dump missing, disk full, a wrong path) raise BackupError with a plain Chinese
message; the management commands print it and exit non-zero.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEDIA_TAR = "media.tar"
PG_DUMP_FILE = "database.dump"
SQLITE_FILE = "database.sqlite3"
NAME_PREFIX = "doorstep-backup-"
FETCH_ROWS = 2000


class BackupError(Exception):
    """A failure reported to the operator in plain words (no traceback)."""


@dataclass
class Difference:
    """One table (or the uploaded files) whose restored content differs from the manifest."""

    table: str
    expected: dict[str, Any] | None
    actual: dict[str, Any] | None

    def describe(self) -> str:
        if self.actual is None:
            return f"{self.table}：恢复后的数据库中没有这张表"
        if self.expected is None:
            return f"{self.table}：备份清单中没有这张表"
        parts = []
        if self.expected.get("rows") != self.actual.get("rows"):
            parts.append(f"行数 备份 {self.expected.get('rows')}，恢复后 {self.actual.get('rows')}")
        if self.expected.get("sha256") != self.actual.get("sha256"):
            parts.append("内容校验值不一致")
        for key in ("files", "bytes"):
            if key in self.expected and self.expected.get(key) != self.actual.get(key):
                parts.append(f"{key} 备份 {self.expected.get(key)}，恢复后 {self.actual.get(key)}")
        return f"{self.table}：" + "；".join(parts or ["不一致"])


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    differences: list[Difference] = field(default_factory=list)
    tables_checked: int = 0


# --- canonical rendering and checksums ---------------------------------------------------------------------


def _render(value: Any) -> Any:
    """A value as a JSON-able canonical form: the same stored value always renders the same way."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID, dt.timedelta)):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _digest_rows(rows: Iterable[tuple]) -> dict[str, Any]:
    digest = hashlib.sha256()
    count = 0
    for row in rows:
        line = json.dumps([_render(v) for v in row], ensure_ascii=False, separators=(",", ":"))
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
        count += 1
    return {"rows": count, "sha256": digest.hexdigest()}


def _fetch_all(cursor: Any) -> Iterator[tuple]:
    while True:
        batch = cursor.fetchmany(FETCH_ROWS)
        if not batch:
            return
        yield from batch


def model_tables() -> set[str]:
    """Every table of the installed models (many-to-many tables included) and the migration record."""
    return set(connection.introspection.django_table_names(only_existing=False)) | {"django_migrations"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _SqliteReader:
    """Reads a SQLite file through the plain sqlite3 module (no type converters: the stored values)."""

    def __init__(self, path: Path):
        # Not mode=ro: a read-only connection cannot open a WAL database whose -shm file is gone. Only reads.
        self.conn = sqlite3.connect(path, timeout=30)

    def close(self) -> None:
        self.conn.close()

    def tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def table_summary(self, table: str) -> dict[str, Any]:
        info = self.conn.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
        columns = [row[1] for row in info]
        pk = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5] > 0]
        order = ", ".join(_quote(c) for c in (pk or columns))
        # Identifiers come from the schema itself and are quoted.
        select = f"SELECT {', '.join(_quote(c) for c in columns)} FROM {_quote(table)} ORDER BY {order}"  # noqa: S608
        cursor = self.conn.execute(select)
        return _digest_rows(_fetch_all(cursor))

    def migrations(self) -> list[tuple[str, str]]:
        return list(self.conn.execute("SELECT app, name FROM django_migrations ORDER BY id"))


class _DjangoReader:
    """Reads the configured (PostgreSQL) database inside the caller's transaction."""

    def __init__(self) -> None:
        self.cursor = connection.cursor()

    def close(self) -> None:
        self.cursor.close()

    def tables(self) -> set[str]:
        return set(connection.introspection.table_names(self.cursor))

    def table_summary(self, table: str) -> dict[str, Any]:
        description = connection.introspection.get_table_description(self.cursor, table)
        columns = [c.name for c in description]
        pk = connection.introspection.get_primary_key_columns(self.cursor, table) or []
        order = ", ".join(_quote(c) for c in (pk or columns))
        sql = f"SELECT {', '.join(_quote(c) for c in columns)} FROM {_quote(table)} ORDER BY {order}"  # noqa: S608
        # A server-side cursor: a large table is streamed, not loaded into memory at once.
        raw = connection.connection.cursor(name=f"doorstep_backup_{uuid.uuid4().hex[:12]}")
        try:
            raw.itersize = FETCH_ROWS
            raw.execute(sql)
            return _digest_rows(_fetch_all(raw))
        finally:
            raw.close()

    def migrations(self) -> list[tuple[str, str]]:
        self.cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        return list(self.cursor.fetchall())


def _summaries(reader: _SqliteReader | _DjangoReader) -> tuple[dict[str, dict], dict[str, str]]:
    tables = sorted(model_tables() & reader.tables())
    summaries = {table: reader.table_summary(table) for table in tables}
    latest: dict[str, str] = {}
    if "django_migrations" in tables:
        for app, name in reader.migrations():
            latest[app] = name  # ordered by id: the last one wins
    return summaries, dict(sorted(latest.items()))


# --- uploaded files ----------------------------------------------------------------------------------------


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _media_summary(root: Path, names: Iterable[str]) -> dict[str, Any]:
    """Files, bytes and one digest over (relative path, file digest) of the named files under root."""
    digest = hashlib.sha256()
    files = total = 0
    for name in sorted(names):
        path = root / name
        if not path.is_file():
            digest.update(f"{name}\0missing\n".encode())
            continue
        files += 1
        total += path.stat().st_size
        digest.update(f"{name}\0{_file_sha256(path)}\n".encode())
    return {"files": files, "bytes": total, "sha256": digest.hexdigest()}


def _write_media_tar(root: Path, target: Path) -> dict[str, Any]:
    with tarfile.open(target, "w") as tar:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    tar.add(path, arcname=path.relative_to(root).as_posix(), recursive=False)
    # Digest the archived copies, not the live tree: a file replaced meanwhile must not fail the restore.
    return _tar_summary(target)


def _tar_summary(tar_path: Path) -> dict[str, Any]:
    digest_entries: list[tuple[str, str]] = []
    total = 0
    with tarfile.open(tar_path, "r") as tar:
        for member in tar:
            if not member.isfile():
                continue
            fh = tar.extractfile(member)
            assert fh is not None
            digest = hashlib.sha256()
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
            digest_entries.append((member.name, digest.hexdigest()))
            total += member.size
    digest = hashlib.sha256()
    for name, file_digest in sorted(digest_entries):
        digest.update(f"{name}\0{file_digest}\n".encode())
    return {"files": len(digest_entries), "bytes": total, "sha256": digest.hexdigest()}


# --- PostgreSQL client programs ----------------------------------------------------------------------------


def vendor() -> str:
    return connection.vendor


def _pg_env() -> dict[str, str]:
    """libpq environment for pg_dump/pg_restore: credentials never appear on a command line or in a log."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    mapping = {
        "PGHOST": "HOST",
        "PGPORT": "PORT",
        "PGUSER": "USER",
        "PGPASSWORD": "PASSWORD",
        "PGDATABASE": "NAME",
    }
    for var, key in mapping.items():
        value = db.get(key)
        if value:
            env[var] = str(value)
        else:
            env.pop(var, None)
    options = db.get("OPTIONS") or {}
    for key, var in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
    ):
        if options.get(key):
            env[var] = str(options[key])
    return env


def _run_pg(program: str, args: list[str]) -> None:
    exe = shutil.which(program)
    if exe is None:
        raise BackupError(
            f"找不到 {program} 程序：请安装 PostgreSQL 客户端（与服务器同一主版本）并确保它在 PATH 中。"
        )
    try:
        proc = subprocess.run(  # noqa: S603 (a PostgreSQL client program, arguments of our own)
            [exe, *args], env=_pg_env(), capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise BackupError(f"无法运行 {program}：{exc.strerror or exc}") from exc
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip().splitlines()
        tail = "\n".join(detail[-8:])
        raise BackupError(f"{program} 失败（退出码 {proc.returncode}）：\n{tail}")


# --- backup ------------------------------------------------------------------------------------------------


def default_backup_dir() -> Path:
    return Path(settings.VAR_DIR) / "backups"


def create_backup(output: Path | None = None, *, now: dt.datetime | None = None) -> Path:
    """Write one complete backup directory under output (default VAR_DIR/backups) and return its path."""
    output = Path(output) if output else default_backup_dir()
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    name = NAME_PREFIX + now.strftime("%Y%m%dT%H%M%SZ")
    final = output / name
    partial = output / (name + ".partial")
    try:
        output.mkdir(parents=True, exist_ok=True)
        if final.exists():
            raise BackupError(f"备份目录已存在：{final}（同一秒内只能做一次备份）")
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir(mode=0o700)  # personal data: readable by the service user only
        manifest: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "created_at": now.isoformat().replace("+00:00", "Z"),
            "vendor": vendor(),
        }
        if vendor() == "postgresql":
            manifest.update(_backup_postgresql(partial))
        elif vendor() == "sqlite":
            manifest.update(_backup_sqlite(partial))
        else:
            raise BackupError(f"不支持的数据库类型：{vendor()}")
        manifest["media"] = _write_media_tar(Path(settings.MEDIA_ROOT), partial / MEDIA_TAR)
        manifest["media"]["file"] = MEDIA_TAR
        _write_json(partial / MANIFEST, manifest)
        partial.rename(final)
    except BackupError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise BackupError(f"写入备份失败（{exc.strerror or exc}）：{exc.filename or output}") from exc
    return final


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def _backup_postgresql(target: Path) -> dict[str, Any]:
    """pg_dump in the snapshot of our own transaction, and the checksums read from that same snapshot."""
    if shutil.which("pg_dump") is None:
        raise BackupError(
            "找不到 pg_dump 程序：请安装 PostgreSQL 客户端（与服务器同一主版本）并确保它在 PATH 中。"
        )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        _run_pg("pg_dump", ["--format=custom", f"--snapshot={snapshot}", f"--file={target / PG_DUMP_FILE}"])
        reader = _DjangoReader()
        try:
            tables, migrations = _summaries(reader)
        finally:
            reader.close()
    return {"database": {"file": PG_DUMP_FILE}, "migrations": migrations, "tables": tables}


def _backup_sqlite(target: Path) -> dict[str, Any]:
    """A consistent copy through the online backup API, then the checksums read from the copy itself."""
    source_path = Path(settings.DATABASES["default"]["NAME"])
    if not source_path.exists():
        raise BackupError(f"数据库文件不存在：{source_path}")
    copy_path = target / SQLITE_FILE
    src = sqlite3.connect(source_path, timeout=30)  # only read (the backup API takes a read lock)
    dst = sqlite3.connect(copy_path)
    try:
        src.backup(dst)
        # A self-contained file: no -wal beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise BackupError(f"复制 SQLite 数据库失败：{exc}") from exc
    finally:
        dst.close()
        src.close()
    reader = _SqliteReader(copy_path)
    try:
        tables, migrations = _summaries(reader)
    finally:
        reader.close()
    return {"database": {"file": SQLITE_FILE}, "migrations": migrations, "tables": tables}


# --- restore -----------------------------------------------------------------------------------------------


def read_manifest(backup: Path) -> dict[str, Any]:
    path = Path(backup) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"{backup} 不是 Doorstep 备份目录（缺少 {MANIFEST}）") from exc
    except (OSError, ValueError) as exc:
        raise BackupError(f"无法读取备份清单 {path}：{exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"备份清单格式版本不受支持（需要 {FORMAT_VERSION}）：{path}")
    return manifest


def data_tables() -> list[str]:
    """Tables whose rows mean a database is in use: accounts and the audit log (reference data that the
    migrations insert, such as business types, does not count)."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    names = {user_model._meta.db_table}
    for model in apps.get_app_config("audit").get_models():
        names.add(model._meta.db_table)
    return sorted(names)


def target_rows() -> dict[str, int]:
    """Rows in the target's data tables (empty dict: a fresh or empty database)."""
    if vendor() == "sqlite" and not Path(settings.DATABASES["default"]["NAME"]).exists():
        return {}
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        for table in data_tables():
            if table in existing:
                cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608
                n = cursor.fetchone()[0]
                if n:
                    counts[table] = n
    return counts


def restore_backup(backup: Path, *, force: bool = False) -> RestoreResult:
    """Bring a backup back into the configured database and MEDIA_ROOT, then verify it against the manifest."""
    backup = Path(backup)
    if not backup.is_dir():
        raise BackupError(f"备份目录不存在：{backup}")
    manifest = read_manifest(backup)
    if manifest.get("vendor") != vendor():
        raise BackupError(
            f"备份来自 {manifest.get('vendor')} 数据库，而当前配置的是 {vendor()}：只能恢复到同一种数据库。"
        )
    db_name = {"postgresql": PG_DUMP_FILE, "sqlite": SQLITE_FILE}.get(vendor(), "")
    db_file = backup / db_name
    if not db_name or not db_file.is_file():
        raise BackupError(f"备份中缺少数据库文件：{db_file}")
    if not force:
        rows = target_rows()
        if rows:
            listed = "，".join(f"{t} {n} 行" for t, n in rows.items())
            raise BackupError(f"目标数据库不是空的（{listed}）。只能恢复到空数据库；确需覆盖请加 --force。")
    connection.close()
    try:
        if vendor() == "postgresql":
            _run_pg(
                "pg_restore",
                [
                    "--no-owner",
                    "--clean",
                    "--if-exists",
                    "--single-transaction",
                    "--exit-on-error",
                    f"--dbname={settings.DATABASES['default']['NAME']}",
                    str(db_file),
                ],
            )
        else:
            _restore_sqlite(db_file)
        media_tar = backup / MEDIA_TAR
        if media_tar.is_file():
            _restore_media(media_tar, Path(settings.MEDIA_ROOT))
    except OSError as exc:
        raise BackupError(f"恢复失败（{exc.strerror or exc}）：{exc.filename or backup}") from exc
    return verify(manifest, backup)


def _restore_sqlite(db_file: Path) -> None:
    target = Path(settings.DATABASES["default"]["NAME"])
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        raise BackupError(f"写入 SQLite 数据库失败（服务是否已停止？）：{exc}") from exc
    finally:
        dst.close()
        src.close()


def _restore_media(tar_path: Path, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path, "r") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        try:
            tar.extractall(root, members=members, filter="data")
        except tarfile.FilterError as exc:
            raise BackupError(f"上传文件归档中有不安全的路径，已拒绝：{exc}") from exc


def verify(manifest: dict[str, Any], backup: Path | None = None) -> RestoreResult:
    """Recompute counts and checksums of the configured database (and the restored files) against manifest."""
    connection.close()
    if vendor() == "sqlite":
        reader: _SqliteReader | _DjangoReader = _SqliteReader(Path(settings.DATABASES["default"]["NAME"]))
        try:
            actual, _ = _summaries(reader)
        finally:
            reader.close()
    else:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            reader = _DjangoReader()
            try:
                actual, _ = _summaries(reader)
            finally:
                reader.close()
    expected: dict[str, dict] = manifest.get("tables", {})
    result = RestoreResult(manifest=manifest, tables_checked=len(expected))
    for table in sorted(set(expected) | set(actual)):
        exp, act = expected.get(table), actual.get(table)
        if (
            exp is None
            or act is None
            or exp.get("rows") != act.get("rows")
            or exp.get("sha256") != act.get("sha256")
        ):
            result.differences.append(Difference(table, exp, act))
    media = manifest.get("media")
    if media and backup is not None and (backup / MEDIA_TAR).is_file():
        with tarfile.open(backup / MEDIA_TAR, "r") as tar:
            names = [m.name for m in tar if m.isfile()]
        restored = _media_summary(Path(settings.MEDIA_ROOT), names)
        if any(media.get(k) != restored.get(k) for k in ("files", "bytes", "sha256")):
            result.differences.append(Difference("上传文件（MEDIA_ROOT）", media, restored))
    return result
