"""Code lists of video patrol and broadcast warning."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Hotspot(models.TextChoices):
    """Why a camera is watched: the kind of hot spot it covers (治安热点)."""

    PUBLIC_ORDER = "order", _("治安热点")
    SCHOOL = "school", _("校园周边")
    TRAFFIC = "traffic", _("交通要道")
    MARKET = "market", _("商圈市场")
    WATER = "water", _("水域河道")
    RESIDENTIAL = "residential", _("居民小区")
    OTHER = "other", _("其他")


class CameraStatus(models.TextChoices):
    UNKNOWN = "unknown", _("未连接")
    ONLINE = "online", _("在线")
    RECONNECTING = "reconnecting", _("重连中")
    OFFLINE = "offline", _("离线")
    DISABLED = "disabled", _("已停用")


class Driver(models.TextChoices):
    MQTT = "mqtt", _("MQTT")
    HTTP = "http", _("HTTP 接口")


class EventStatus(models.TextChoices):
    NEW = "new", _("待处理")
    CONFIRMED = "confirmed", _("确认异常")
    DISMISSED = "dismissed", _("误报")


class BroadcastSource(models.TextChoices):
    CONSOLE = "console", _("巡查台")
    EVENT = "event", _("入侵事件")
    MAP = "map", _("地图")
    ALARM = "alarm", _("一键报警")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    DELIVERED = "delivered", _("已送达")
    FAILED = "failed", _("失败")


class RunStatus(models.TextChoices):
    DUE = "due", _("待巡查")
    IN_PROGRESS = "in_progress", _("巡查中")
    DONE = "done", _("已完成")
    MISSED = "missed", _("漏巡")


class FindingResult(models.TextChoices):
    NORMAL = "normal", _("正常")
    ABNORMAL = "abnormal", _("异常")
