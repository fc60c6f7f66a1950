"""Audit trail: the change log of every service write and the access log of personal-data reads.

Both are append-only: the ORM refuses updates and deletes, and the database refuses them too (triggers
installed by migration 0002; on PostgreSQL for UPDATE and DELETE, on SQLite for UPDATE).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    """Audit rows cannot be changed or removed."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit rows are append-only")

    def delete(self):
        raise AppendOnlyError("audit rows are append-only")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnlyError("audit rows are append-only")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit rows are append-only")


class Channel(models.TextChoices):
    WEB = "web", _("网页")
    API = "api", _("接口")
    SYSTEM = "system", _("系统")
    DEVICE = "device", _("设备")


class AuditEntry(AppendOnlyModel):
    """操作日志: who changed what, when, and the values before and after."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    # Plain columns, not foreign keys: an audit row must outlive (and never cascade from) what it names.
    actor_id = models.BigIntegerField(_("操作人ID"), null=True, blank=True, db_index=True)
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=80, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=80, db_index=True)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    before = models.JSONField(_("变更前"), null=True, blank=True)
    after = models.JSONField(_("变更后"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices, default=Channel.SYSTEM)

    class Meta:
        verbose_name = _("操作日志")
        verbose_name_plural = _("操作日志")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"


class AccessKind(models.TextChoices):
    READ = "read", _("查看")
    REVEAL = "reveal", _("显示完整信息")
    EXPORT = "export", _("导出")
    CONCERN = "concern", _("查看重点人员")


class AccessEntry(AppendOnlyModel):
    """个人信息访问日志: a read, reveal or export of personal data, with its stated purpose."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(_("操作人ID"), null=True, blank=True, db_index=True)
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    kind = models.CharField(_("类型"), max_length=10, choices=AccessKind.choices)
    object_type = models.CharField(_("对象类型"), max_length=80, db_index=True)
    object_ids = models.JSONField(_("对象ID"), default=list)
    fields = models.JSONField(_("字段"), default=list, blank=True)
    purpose = models.CharField(_("事由"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices, default=Channel.SYSTEM)

    class Meta:
        verbose_name = _("访问日志")
        verbose_name_plural = _("访问日志")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_kind_display()} {self.object_type}"
