"""Video patrol and broadcast warning: cameras at hot spots and the speakers that cover them, detection
zones and the motion events they raise, patrol tours with their runs and findings, and every broadcast
with its delivery to each speaker."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doorstep.core.models import TimeStampedModel
from doorstep.video.choices import (
    BroadcastSource,
    CameraStatus,
    DeliveryStatus,
    Driver,
    EventStatus,
    FindingResult,
    Hotspot,
    RunStatus,
)


class CameraGroup(TimeStampedModel):
    """A set of cameras of one station (e.g. "学校周边", "夜间巡查点") — for tours and for the video
    workers (one worker may serve one group)."""

    TERRITORY = ("station", "station_id")

    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    name = models.CharField(_("名称"), max_length=60)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("摄像机分组")
        verbose_name_plural = _("摄像机分组")
        ordering = ["station_id", "name"]
        constraints = [models.UniqueConstraint(fields=["station", "name"], name="one_group_name_per_station")]

    def __str__(self) -> str:
        return self.name


class Speaker(TimeStampedModel):
    """A wireless broadcast speaker (IP 音柱) at a hot spot, reached through a driver: an MQTT topic it
    listens on, or an HTTP address it accepts messages at. Speakers of one zone (广播分区) can be
    addressed together."""

    TERRITORY = ("grid", "grid_id")

    code = models.CharField(_("编号"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    location = models.CharField(_("安装位置"), max_length=100)
    lng = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    zone = models.CharField(_("广播分区"), max_length=40, blank=True, help_text=_("同一分区的音柱可一起广播"))
    driver = models.CharField(_("接入方式"), max_length=8, choices=Driver.choices, default=Driver.MQTT)
    address = models.CharField(
        _("地址/主题"), max_length=200, help_text=_("MQTT：音柱订阅的主题；HTTP：音柱接收消息的网址")
    )
    wants_audio = models.BooleanField(
        _("发送语音文件"), default=False, help_text=_("音柱不能自行朗读文字时勾选")
    )
    volume = models.PositiveSmallIntegerField(_("音量"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    last_result_at = models.DateTimeField(_("最近播放"), null=True, blank=True)
    last_delivered = models.BooleanField(_("最近一次送达"), null=True, blank=True)

    class Meta:
        verbose_name = _("广播音柱")
        verbose_name_plural = _("广播音柱")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.location}）"


class Camera(TimeStampedModel):
    """A camera watched by the station's video patrol. Its stream URL may hold the camera's credentials
    (rtsp://user:password@…): it is shown only to those who manage cameras and never logged."""

    TERRITORY = ("grid", "grid_id")

    code = models.CharField(_("编号"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    group = models.ForeignKey(
        CameraGroup,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="cameras",
        verbose_name=_("分组"),
    )
    location = models.CharField(_("安装位置"), max_length=100)
    lng = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    hotspot = models.CharField(
        _("热点类型"), max_length=12, choices=Hotspot.choices, default=Hotspot.PUBLIC_ORDER
    )
    stream_url = models.CharField(
        _("视频流地址"), max_length=500, help_text=_("rtsp://、http(s)://（MJPEG）或测试用的视频文件 file://")
    )
    speakers = models.ManyToManyField(Speaker, blank=True, related_name="cameras", verbose_name=_("覆盖音柱"))
    enabled = models.BooleanField(_("启用"), default=True)
    fps = models.PositiveSmallIntegerField(_("分析帧率"), default=5)
    # Detection: motion inside the zones (none: the whole picture) during the hours (none: always).
    detect = models.BooleanField(_("入侵检测"), default=True)
    active_from = models.TimeField(_("检测开始"), null=True, blank=True)
    active_to = models.TimeField(_("检测结束"), null=True, blank=True)
    min_area = models.FloatField(_("最小面积（区域占比）"), default=0.01)
    min_duration = models.FloatField(_("最短持续（秒）"), default=1.0)
    cooldown = models.FloatField(_("冷却时间（秒）"), default=60.0)
    # Written by the video worker.
    status = models.CharField(
        _("状态"), max_length=12, choices=CameraStatus.choices, default=CameraStatus.UNKNOWN
    )
    status_detail = models.CharField(_("状态说明"), max_length=200, blank=True)
    last_frame_at = models.DateTimeField(_("最近画面"), null=True, blank=True)
    down_since = models.DateTimeField(_("断开时间"), null=True, blank=True)
    snapshot_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    snapshot_height = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("摄像机")
        verbose_name_plural = _("摄像机")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.location}）"


class DetectionZone(TimeStampedModel):
    """A polygon on the camera's picture, in fractions of its width and height (0..1)."""

    camera = models.ForeignKey(Camera, models.CASCADE, related_name="zones", verbose_name=_("摄像机"))
    name = models.CharField(_("区域名称"), max_length=40)
    points = models.JSONField(_("顶点"))

    class Meta:
        verbose_name = _("检测区域")
        verbose_name_plural = _("检测区域")
        ordering = ["camera_id", "name"]
        constraints = [models.UniqueConstraint(fields=["camera", "name"], name="one_zone_name_per_camera")]

    def __str__(self) -> str:
        return self.name


class MotionEvent(TimeStampedModel):
    """Something moved inside a zone during the active hours, long and large enough; with the picture."""

    TERRITORY = ("grid", "grid_id")

    camera = models.ForeignKey(Camera, models.PROTECT, related_name="events", verbose_name=_("摄像机"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    zone = models.CharField(_("区域"), max_length=40)
    started_at = models.DateTimeField(_("开始时间"))
    detected_at = models.DateTimeField(_("检测时间"))
    area = models.FloatField(_("面积占比"))
    bbox = models.JSONField(_("位置框"), default=list)
    snapshot = models.FileField(_("截图"), upload_to="video/events/%Y/%m/", blank=True)
    status = models.CharField(
        _("处理状态"), max_length=10, choices=EventStatus.choices, default=EventStatus.NEW
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("处理人"),
    )
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    note = models.CharField(_("处理说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("入侵事件")
        verbose_name_plural = _("入侵事件")
        ordering = ["-detected_at", "-id"]
        indexes = [models.Index(fields=["station", "-detected_at"], name="video_event_station_time")]

    def __str__(self) -> str:
        return f"{self.camera.name} {self.zone}"


class CameraAlert(TimeStampedModel):
    """A camera whose stream stayed down: at most one open alert per camera, cleared when it is back."""

    TERRITORY = ("grid", "grid_id")

    camera = models.ForeignKey(Camera, models.PROTECT, related_name="alerts", verbose_name=_("摄像机"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    detail = models.CharField(_("说明"), max_length=200, blank=True)
    raised_at = models.DateTimeField(_("告警时间"))
    cleared_at = models.DateTimeField(_("恢复时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("摄像机离线告警")
        verbose_name_plural = _("摄像机离线告警")
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["camera"], condition=Q(cleared_at__isnull=True), name="one_open_alert_per_camera"
            )
        ]


class WarningPreset(TimeStampedModel):
    """A ready-made warning (防盗、防骗、禁止攀爬、禁止聚集 …), editable by directors and administrators."""

    title = models.CharField(_("名称"), max_length=20, unique=True)
    text = models.CharField(_("播报内容"), max_length=200)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("预设警示语")
        verbose_name_plural = _("预设警示语")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class Broadcast(TimeStampedModel):
    """One warning sent to one or more speakers: who, what, from where, when; deliveries per speaker."""

    TERRITORY = ("station", "station_id")

    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("发送人")
    )
    text = models.CharField(_("播报内容"), max_length=200)
    preset = models.ForeignKey(
        WarningPreset, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("预设")
    )
    repeat = models.PositiveSmallIntegerField(_("播放次数"), default=2)
    source = models.CharField(_("发起位置"), max_length=8, choices=BroadcastSource.choices)
    event = models.ForeignKey(
        MotionEvent, models.PROTECT, null=True, blank=True, related_name="broadcasts", verbose_name=_("事件")
    )
    camera = models.ForeignKey(
        Camera, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("巡查画面")
    )
    audio = models.BooleanField(_("已生成语音"), default=False)

    class Meta:
        verbose_name = _("广播预警")
        verbose_name_plural = _("广播预警")
        ordering = ["-created_at", "-id"]


class BroadcastDelivery(TimeStampedModel):
    """One speaker's share of a broadcast. The sender claims a due delivery, sends it through the speaker's
    driver and records the outcome; a failure is retried with back-off until `max_attempts`."""

    broadcast = models.ForeignKey(
        Broadcast, models.CASCADE, related_name="deliveries", verbose_name=_("广播")
    )
    speaker = models.ForeignKey(Speaker, models.PROTECT, related_name="deliveries", verbose_name=_("音柱"))
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        _("送达状态"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    detail = models.CharField(_("结果说明"), max_length=200, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("广播送达")
        verbose_name_plural = _("广播送达")
        ordering = ["broadcast_id", "speaker_id"]
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "speaker"], name="one_delivery_per_speaker"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="video_delivery_due")]


class PatrolTour(TimeStampedModel):
    """A video patrol plan: cameras in order, looked at every `interval_minutes` between `start_time` and
    `end_time` (wrapping midnight when start > end; equal: around the clock), by an officer or a duty post."""

    TERRITORY = ("station", "station_id")

    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    name = models.CharField(_("名称"), max_length=60)
    start_time = models.TimeField(_("开始时间"))
    end_time = models.TimeField(_("结束时间"))
    interval_minutes = models.PositiveSmallIntegerField(_("间隔（分钟）"), default=120)
    grace_minutes = models.PositiveSmallIntegerField(_("允许延迟（分钟）"), default=15)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("巡查民警"),
    )
    duty_post = models.CharField(
        _("值班岗位"), max_length=40, blank=True, help_text=_("如“视频巡查岗”：岗位上的人都可执行")
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("视频巡查计划")
        verbose_name_plural = _("视频巡查计划")
        ordering = ["station_id", "name"]
        constraints = [models.UniqueConstraint(fields=["station", "name"], name="one_tour_name_per_station")]

    def __str__(self) -> str:
        return self.name


class TourStop(models.Model):
    tour = models.ForeignKey(PatrolTour, models.CASCADE, related_name="stops", verbose_name=_("巡查计划"))
    camera = models.ForeignKey(Camera, models.PROTECT, related_name="+", verbose_name=_("摄像机"))
    position = models.PositiveSmallIntegerField(_("顺序"))

    class Meta:
        verbose_name = _("巡查点")
        verbose_name_plural = _("巡查点")
        ordering = ["tour_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["tour", "position"], name="one_stop_per_position"),
            models.UniqueConstraint(fields=["tour", "camera"], name="one_stop_per_camera"),
        ]

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.camera}"


class TourRun(TimeStampedModel):
    """One scheduled pass of a tour: due at a slot; started, finished (or missed) by someone."""

    TERRITORY = ("station", "station_id")

    tour = models.ForeignKey(PatrolTour, models.PROTECT, related_name="runs", verbose_name=_("巡查计划"))
    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    due_at = models.DateTimeField(_("应巡时间"))
    status = models.CharField(_("状态"), max_length=12, choices=RunStatus.choices, default=RunStatus.DUE)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    late = models.BooleanField(_("迟巡"), default=False)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("巡查人"),
    )

    class Meta:
        verbose_name = _("巡查记录")
        verbose_name_plural = _("巡查记录")
        ordering = ["-due_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tour", "due_at"], name="one_run_per_slot")]
        indexes = [models.Index(fields=["station", "status", "due_at"], name="video_run_station_due")]


class TourFinding(TimeStampedModel):
    """What the patroller saw at one camera of a run: 正常, or 异常 with a note and the picture."""

    run = models.ForeignKey(TourRun, models.CASCADE, related_name="findings", verbose_name=_("巡查记录"))
    camera = models.ForeignKey(Camera, models.PROTECT, related_name="+", verbose_name=_("摄像机"))
    result = models.CharField(_("结果"), max_length=10, choices=FindingResult.choices)
    note = models.CharField(_("情况说明"), max_length=200, blank=True)
    snapshot = models.FileField(_("截图"), upload_to="video/findings/%Y/%m/", blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("巡查人")
    )
    recorded_at = models.DateTimeField(_("记录时间"))

    class Meta:
        verbose_name = _("巡查发现")
        verbose_name_plural = _("巡查发现")
        ordering = ["run_id", "recorded_at"]
        constraints = [models.UniqueConstraint(fields=["run", "camera"], name="one_finding_per_camera")]
