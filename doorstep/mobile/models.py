"""The officer's phone workspace (issue #13): the devices a workspace is installed on, and every record a
device sent from its offline queue (so a resend of the same client id is answered, never applied twice).

Nothing a device sends is stored here in clear: a queued record travels sealed to its device's public key
(`sealing.py`); a record that met a conflict keeps its sealed form until the officer resolves it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Device(models.Model):
    """移动终端: one browser on one phone where a user opened the workspace. Its private key is derived from
    the server's secret and `salt` (never stored); revoking the device — at logout, or when an administrator
    signs the user out everywhere — makes everything still queued on it unreadable and refused."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="mobile_devices", verbose_name=_("用户")
    )
    public_id = models.CharField(_("终端编号"), max_length=32, unique=True)
    salt = models.CharField(_("密钥盐"), max_length=64)
    label = models.CharField(_("终端说明"), max_length=120, blank=True)
    enrolled_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("最近同步"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    revoked_reason = models.CharField(_("吊销原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("移动终端")
        verbose_name_plural = _("移动终端")
        ordering = ["-enrolled_at"]

    def __str__(self) -> str:
        return f"{self.user} · {self.public_id[:8]}"


class ItemKind(models.TextChoices):
    VISIT = "visit", _("入户走访")
    PATROL_START = "patrol_start", _("开始巡逻")
    PATROL_POINTS = "patrol_points", _("巡逻轨迹")
    PATROL_FINDING = "patrol_finding", _("巡逻发现")
    PATROL_FINISH = "patrol_finish", _("结束巡逻")
    CLOCK_IN = "clock_in", _("签到")
    CLOCK_OUT = "clock_out", _("签退")
    ALARM_RECEIVE = "alarm_receive", _("接收派警")
    ALARM_ARRIVE = "alarm_arrive", _("到达现场")


class ItemStatus(models.TextChoices):
    APPLIED = "applied", _("已保存")
    CONFLICT = "conflict", _("有冲突")
    REJECTED = "rejected", _("被退回")
    DISCARDED = "discarded", _("已放弃")


class SyncItem(models.Model):
    """One record from a device's queue, keyed by the client-generated id: the first arrival is applied (or
    meets a conflict); a resend of the same id gets the stored answer."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("用户")
    )
    device = models.ForeignKey(Device, models.PROTECT, related_name="items", verbose_name=_("终端"))
    client_id = models.UUIDField(_("客户端编号"))
    kind = models.CharField(_("类别"), max_length=20, choices=ItemKind.choices)
    recorded_at = models.DateTimeField(_("记录时间（终端）"))
    received_at = models.DateTimeField(_("接收时间"), auto_now_add=True)
    status = models.CharField(_("状态"), max_length=10, choices=ItemStatus.choices)
    # What the device is told: {"detail": ..., "options": [...], "object": {"label": ..., "url": ...}}.
    answer = models.JSONField(_("处理结果"), default=dict)
    # The sealed record, kept only while a conflict waits for the officer (then emptied).
    sealed = models.JSONField(_("密封记录"), null=True, blank=True)
    object_type = models.CharField(_("保存为"), max_length=60, blank=True)
    object_id = models.BigIntegerField(_("保存的记录编号"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("处理冲突时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("离线记录")
        verbose_name_plural = _("离线记录")
        ordering = ["received_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "client_id"], name="mobile_item_once_per_user")
        ]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.client_id}"
