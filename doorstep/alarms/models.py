"""One-click alarm: devices of key units, the alarms they raise and the other events they report."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doorstep.alarms.choices import (
    AlarmState,
    AlertKind,
    DeviceKind,
    DeviceStatus,
    Disposition,
    DrillStatus,
    EventType,
    Protocol,
)
from doorstep.core.models import TimeStampedModel


class AlarmDevice(TimeStampedModel):
    """A button or panel at a key unit. Its secret signs HTTP/MQTT events; DC-09 panels use an account
    (and an optional AES key). Credentials are shown once, when provisioned or rotated."""

    TERRITORY = ("grid", "grid_id")

    device_id = models.CharField(_("设备编号"), max_length=40, unique=True)
    unit = models.ForeignKey(
        "registry.Unit", models.PROTECT, related_name="alarm_devices", verbose_name=_("单位")
    )
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    kind = models.CharField(
        _("设备类型"), max_length=10, choices=DeviceKind.choices, default=DeviceKind.BUTTON
    )
    protocol = models.CharField(_("接入协议"), max_length=5, choices=Protocol.choices, default=Protocol.HTTP)
    location = models.CharField(_("安装位置"), max_length=100, help_text=_("单位内的位置，如“东门保安亭”"))
    secret = models.CharField(_("签名密钥"), max_length=64, blank=True, editable=False)
    sia_account = models.CharField(_("SIA 账号"), max_length=16, blank=True, db_index=True)
    aes_key = models.CharField(_("AES 密钥（十六进制）"), max_length=64, blank=True, editable=False)
    heartbeat_seconds = models.PositiveIntegerField(_("心跳间隔（秒）"), default=300)
    status = models.CharField(
        _("状态"), max_length=12, choices=DeviceStatus.choices, default=DeviceStatus.UNKNOWN
    )
    last_seen_at = models.DateTimeField(_("最近通信"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("报警设备")
        verbose_name_plural = _("报警设备")
        ordering = ["device_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sia_account"], condition=~Q(sia_account=""), name="one_device_per_sia_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_id}（{self.location}）"


class Alarm(TimeStampedModel):
    """An alarm raised by a press, with a timestamp for every step of its life."""

    TERRITORY = ("grid", "grid_id")

    device = models.ForeignKey(AlarmDevice, models.PROTECT, related_name="alarms", verbose_name=_("设备"))
    unit = models.ForeignKey("registry.Unit", models.PROTECT, related_name="+", verbose_name=_("单位"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    event_id = models.CharField(_("设备事件号"), max_length=80)
    event_type = models.CharField(_("报警类型"), max_length=15, choices=EventType.choices)
    protocol = models.CharField(_("接入协议"), max_length=5, choices=Protocol.choices)
    pressed_at = models.DateTimeField(_("按下时间"))
    received_at = models.DateTimeField(_("接收时间"))
    state = models.CharField(
        _("状态"), max_length=15, choices=AlarmState.choices, default=AlarmState.RECEIVED
    )
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("确认人"),
    )
    dispatched_at = models.DateTimeField(_("派警时间"), null=True, blank=True)
    dispatched_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="alarm_dispatches",
        verbose_name=_("出警民警"),
    )
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("派警人"),
    )
    # 接警确认: the dispatched officer confirmed on the phone that the dispatch reached them (with GPS).
    received_by_officer_at = models.DateTimeField(_("民警接收时间"), null=True, blank=True)
    receipt_lng = models.FloatField(_("接收时经度"), null=True, blank=True)
    receipt_lat = models.FloatField(_("接收时纬度"), null=True, blank=True)
    receipt_accuracy = models.FloatField(_("接收时定位精度（米）"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("到场时间"), null=True, blank=True)
    arrival_lng = models.FloatField(_("到场经度"), null=True, blank=True)
    arrival_lat = models.FloatField(_("到场纬度"), null=True, blank=True)
    arrival_accuracy = models.FloatField(_("定位精度（米）"), null=True, blank=True)
    escalated_at = models.DateTimeField(
        _("升级时间"), null=True, blank=True, help_text=_("超时未确认，已升级到所长和分局指挥")
    )
    late_at = models.DateTimeField(
        _("超时标记时间"), null=True, blank=True, help_text=_("超过到场时限（城区5分钟、郊区10分钟）仍未到场")
    )
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("结案人"),
    )
    disposition = models.CharField(_("处置结果"), max_length=8, choices=Disposition.choices, blank=True)
    close_note = models.CharField(_("处置说明"), max_length=200, blank=True)
    is_drill = models.BooleanField(_("演练"), default=False)

    class Meta:
        verbose_name = _("报警")
        verbose_name_plural = _("报警")
        ordering = ["-received_at", "-id"]
        constraints = [
            # A device's retry of the same press is the same alarm: stored once, whatever the receiver.
            models.UniqueConstraint(fields=["device", "event_id"], name="one_alarm_per_device_event")
        ]
        indexes = [
            models.Index(fields=["station", "state"]),
            models.Index(fields=["station", "received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} · {self.unit_id} · {self.received_at:%Y-%m-%d %H:%M:%S}"


class DeviceEvent(TimeStampedModel):
    """Everything else a device reports (heartbeats, tamper, low battery, unknown codes), stored once."""

    TERRITORY = ("grid", "grid_id")

    device = models.ForeignKey(AlarmDevice, models.PROTECT, related_name="events", verbose_name=_("设备"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    event_id = models.CharField(_("设备事件号"), max_length=80)
    event_type = models.CharField(_("事件类型"), max_length=15, choices=EventType.choices)
    code = models.CharField(_("原始代码"), max_length=40, blank=True)
    restore = models.BooleanField(_("恢复"), default=False, help_text=_("设备报告该状况已恢复（如防拆恢复）"))
    protocol = models.CharField(_("接入协议"), max_length=5, choices=Protocol.choices)
    occurred_at = models.DateTimeField(_("发生时间"))
    received_at = models.DateTimeField(_("接收时间"))

    class Meta:
        verbose_name = _("设备事件")
        verbose_name_plural = _("设备事件")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "event_id"], name="one_event_per_device_event")
        ]


class DeviceAlert(TimeStampedModel):
    """A device problem for a human to see: offline (two heartbeat intervals missed), tamper, low battery or
    an event code nobody knows. At most one open alert per device and kind; cleared by the device (it comes
    back, the restore code arrives) or by a person."""

    TERRITORY = ("grid", "grid_id")

    device = models.ForeignKey(AlarmDevice, models.PROTECT, related_name="alerts", verbose_name=_("设备"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    kind = models.CharField(_("告警类型"), max_length=12, choices=AlertKind.choices)
    event = models.ForeignKey(
        DeviceEvent, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("触发事件")
    )
    detail = models.CharField(_("说明"), max_length=200, blank=True)
    raised_at = models.DateTimeField(_("告警时间"))
    cleared_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("解除人"),
    )

    class Meta:
        verbose_name = _("设备告警")
        verbose_name_plural = _("设备告警")
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "kind"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_alert_per_kind",
            )
        ]
        indexes = [models.Index(fields=["station", "cleared_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.device_id}"


class Drill(TimeStampedModel):
    """演练: a scheduled test press of one device in a time window. A press of that device inside the window
    is the drill (marked, never in real statistics); a window that ends without one is a failed drill."""

    TERRITORY = ("grid", "grid_id")

    device = models.ForeignKey(AlarmDevice, models.PROTECT, related_name="drills", verbose_name=_("设备"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    starts_at = models.DateTimeField(_("演练开始"))
    ends_at = models.DateTimeField(_("演练结束"))
    status = models.CharField(
        _("演练结果"), max_length=10, choices=DrillStatus.choices, default=DrillStatus.SCHEDULED
    )
    alarm = models.OneToOneField(
        Alarm, models.PROTECT, null=True, blank=True, related_name="drill", verbose_name=_("演练报警")
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("安排人"),
    )

    class Meta:
        verbose_name = _("演练")
        verbose_name_plural = _("演练")
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["device", "starts_at"]), models.Index(fields=["status", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="drill_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_id} · {self.starts_at:%Y-%m-%d %H:%M}"
