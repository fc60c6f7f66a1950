"""`doorstep restore PATH [--force]`: bring a `doorstep backup` back into an empty database and MEDIA_ROOT,
then verify every table against the backup's manifest (see docs/operations/backup.md)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from doorstep.core import backup


class Command(BaseCommand):
    help = "从 `doorstep backup` 的备份目录恢复数据库和上传文件，并逐表核对行数和校验值（须先停止服务）"

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="备份目录（doorstep-backup-<时间>）")
        parser.add_argument(
            "--force", action="store_true", help="目标数据库已有数据时仍然覆盖（会丢失目标中的现有数据）"
        )

    def handle(self, *args, path: Path, force: bool, **options):
        if backup.vendor() == "sqlite":
            self.stdout.write(
                "注意：SQLite 恢复会直接写数据库文件，请确认 Doorstep 服务（doorstep run 等）已经停止。"
            )
        else:
            self.stdout.write("注意：恢复期间请停止 Doorstep 的所有进程（uvicorn、alarmd、videod）。")
        try:
            result = backup.restore_backup(path, force=force)
        except backup.BackupError as exc:
            raise CommandError(f"恢复失败：{exc}") from exc
        if result.differences:
            for difference in result.differences:
                self.stderr.write(f"不一致：{difference.describe()}")
            raise CommandError(
                f"恢复后核对发现 {len(result.differences)} 处与备份清单不一致（见上）。备份可能已损坏或被改动。"
            )
        media = result.manifest.get("media", {})
        self.stdout.write(
            self.style.SUCCESS(
                f"恢复完成并已核对：{result.tables_checked} 张表的行数和校验值与备份一致，"
                f"上传文件 {media.get('files', 0)} 个。备份时间 {result.manifest.get('created_at')}。"
            )
        )
