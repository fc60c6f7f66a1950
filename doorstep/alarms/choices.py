"""Code lists of the one-click alarm (DOMAIN.md, alarm section)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceKind(models.TextChoices):
    BUTTON = "button", _("一键报警按钮")
    PANEL = "panel", _("报警主机")


class Protocol(models.TextChoices):
    HTTP = "http", _("HTTP")
    MQTT = "mqtt", _("MQTT")
    DC09 = "dc09", _("SIA DC-09")


class DeviceStatus(models.TextChoices):
    UNKNOWN = "unknown", _("未上线")
    ONLINE = "online", _("在线")
    OFFLINE = "offline", _("离线")
    TAMPER = "tamper", _("防拆报警")
    LOW_BATTERY = "low_battery", _("电量低")


class EventType(models.TextChoices):
    """What a device reports. Panics become alarms; the rest are device events."""

    PANIC = "panic", _("紧急报警")
    SILENT_PANIC = "silent_panic", _("无声报警")
    TEST = "test", _("测试按键")
    HEARTBEAT = "heartbeat", _("心跳")
    TAMPER = "tamper", _("防拆")
    LOW_BATTERY = "low_battery", _("电量低")
    UNKNOWN = "unknown", _("未知事件")


ALARM_TYPES = {EventType.PANIC, EventType.SILENT_PANIC, EventType.TEST}


class AlarmState(models.TextChoices):
    RECEIVED = "received", _("已接收")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    DISPATCHED = "dispatched", _("已派警")
    ARRIVED = "arrived", _("已到场")
    CLOSED = "closed", _("已结案")


class Disposition(models.TextChoices):
    REAL = "real", _("真实警情")
    FALSE = "false", _("误报")
    TEST = "test", _("测试")
    OTHER = "other", _("其他")


class AlertKind(models.TextChoices):
    """Device alerts raised by supervision and by what devices report; open until cleared."""

    OFFLINE = "offline", _("设备离线")
    TAMPER = "tamper", _("防拆报警")
    LOW_BATTERY = "low_battery", _("电量低")
    UNKNOWN = "unknown", _("未知事件待核实")


class DrillStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("待演练")
    PASSED = "passed", _("演练通过")
    FAILED = "failed", _("演练失败")
    CANCELLED = "cancelled", _("已取消")
