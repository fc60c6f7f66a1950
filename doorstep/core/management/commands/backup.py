"""`doorstep backup [--output DIR]`: a consistent backup of the database and the uploaded files (see
doorstep.core.backup and docs/operations/backup.md)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from doorstep.core import backup


class Command(BaseCommand):
    help = "备份数据库和上传文件（默认写到 VAR_DIR/backups/ 下一个以 UTC 时间命名的目录）"

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path, default=None, help="备份写到这个目录下（默认 VAR_DIR/backups/）"
        )

    def handle(self, *args, output: Path | None, **options):
        try:
            path = backup.create_backup(output)
        except backup.BackupError as exc:
            raise CommandError(f"备份失败：{exc}") from exc
        manifest = backup.read_manifest(path)
        rows = sum(t["rows"] for t in manifest["tables"].values())
        media = manifest["media"]
        self.stdout.write(
            self.style.SUCCESS(
                f"备份完成：{path}\n数据库（{manifest['vendor']}）{len(manifest['tables'])} 张表，共 {rows} 行；"
                f"上传文件 {media['files']} 个，{media['bytes']} 字节。"
            )
        )
