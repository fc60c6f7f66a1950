"""The organisation: sub-bureau → stations → streets/communities → grids, police rooms, staff, posts."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doorstep.core.models import TimeStampedModel
from doorstep.org.choices import AreaType, Position, RequestStatus, StaffKind


class SubBureau(TimeStampedModel):
    """分局: a district public-security sub-bureau, the top of the organisation."""

    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("机构代码"), max_length=12, unique=True)
    division_code = models.CharField(_("行政区划代码"), max_length=6)

    class Meta:
        verbose_name = _("分局")
        verbose_name_plural = _("分局")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Station(TimeStampedModel):
    """派出所: a police station responsible for a set of communities."""

    TERRITORY = ("station", "id")

    sub_bureau = models.ForeignKey(SubBureau, models.PROTECT, related_name="stations", verbose_name=_("分局"))
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("机构代码"), max_length=12, unique=True)
    area_type = models.CharField(
        _("区域类型"), max_length=10, choices=AreaType.choices, default=AreaType.CITY
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(_("值班电话"), max_length=20, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)

    class Meta:
        verbose_name = _("派出所")
        verbose_name_plural = _("派出所")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Street(TimeStampedModel):
    """街道 / 乡镇: the township-level division that groups communities."""

    sub_bureau = models.ForeignKey(SubBureau, models.PROTECT, related_name="streets", verbose_name=_("分局"))
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("区划代码"), max_length=12, unique=True)

    class Meta:
        verbose_name = _("街道")
        verbose_name_plural = _("街道")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Community(TimeStampedModel):
    """社区: a residents' community, policed by one station and served by one police room."""

    TERRITORY = ("community", "id")

    station = models.ForeignKey(Station, models.PROTECT, related_name="communities", verbose_name=_("派出所"))
    street = models.ForeignKey(Street, models.PROTECT, related_name="communities", verbose_name=_("街道"))
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("社区代码"), max_length=15, unique=True)

    class Meta:
        verbose_name = _("社区")
        verbose_name_plural = _("社区")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Grid(TimeStampedModel):
    """网格 / 警务区: the smallest policed area, staffed by one community officer and two auxiliaries."""

    TERRITORY = ("grid", "id")

    community = models.ForeignKey(Community, models.PROTECT, related_name="grids", verbose_name=_("社区"))
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("网格编码"), max_length=20, unique=True)
    # GeoJSON Polygon in WGS-84 (lng, lat); bbox columns let the map and point lookups filter in SQL.
    boundary = models.JSONField(_("边界"), null=True, blank=True)
    min_lng = models.FloatField(null=True, blank=True, editable=False)
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lng = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)
    center_lng = models.FloatField(null=True, blank=True, editable=False)
    center_lat = models.FloatField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class PoliceRoom(TimeStampedModel):
    """警务室: the community police room, 有人、开门、亮灯 around the clock."""

    TERRITORY = ("community", "community_id")

    community = models.OneToOneField(
        Community, models.PROTECT, related_name="police_room", verbose_name=_("社区")
    )
    name = models.CharField(_("名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200)
    lng = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    public_phone = models.CharField(_("公开工作电话"), max_length=20)
    hours = models.CharField(_("开放时间"), max_length=60, default="24小时")
    open_24h = models.BooleanField(_("24小时开放"), default=True)
    # Radius of the clock-in geofence around (lng, lat); duty.rules adds an allowance for GPS accuracy.
    geofence_m = models.PositiveIntegerField(_("签到范围（米）"), default=100)

    class Meta:
        verbose_name = _("警务室")
        verbose_name_plural = _("警务室")
        ordering = ["community__code"]

    def __str__(self) -> str:
        return self.name


class Staff(TimeStampedModel):
    """警务人员: an officer, auxiliary, patrol member, mediator, leader or dispatcher of a station."""

    TERRITORY = ("station", "station_id")

    sub_bureau = models.ForeignKey(SubBureau, models.PROTECT, related_name="staff", verbose_name=_("分局"))
    station = models.ForeignKey(
        Station, models.PROTECT, related_name="staff", null=True, blank=True, verbose_name=_("所属派出所")
    )
    kind = models.CharField(_("人员类别"), max_length=12, choices=StaffKind.choices)
    name = models.CharField(_("姓名"), max_length=50)
    badge_number = models.CharField(_("警号/工号"), max_length=20, unique=True)
    phone = models.CharField(_("工作电话"), max_length=20, blank=True)
    photo = models.ImageField(_("照片"), upload_to="staff/", blank=True)
    joined_on = models.DateField(_("入职日期"), null=True, blank=True)
    active = models.BooleanField(_("在职"), default=True)

    class Meta:
        verbose_name = _("警务人员")
        verbose_name_plural = _("警务人员")
        ordering = ["badge_number"]

    def __str__(self) -> str:
        return f"{self.name}（{self.badge_number}）"


class GridAssignmentQuerySet(models.QuerySet["GridAssignment"]):
    def active_on(self, day: dt.date) -> GridAssignmentQuerySet:
        return self.filter(Q(started_on__lte=day), Q(ended_on__isnull=True) | Q(ended_on__gt=day))

    def current(self) -> GridAssignmentQuerySet:
        return self.filter(ended_on__isnull=True)


class GridAssignment(TimeStampedModel):
    """网格岗位任职: one person's post on a grid from start to end, kept as history."""

    TERRITORY = ("grid", "grid_id")

    grid = models.ForeignKey(Grid, models.PROTECT, related_name="assignments", verbose_name=_("网格"))
    staff = models.ForeignKey(Staff, models.PROTECT, related_name="assignments", verbose_name=_("人员"))
    position = models.CharField(_("岗位"), max_length=10, choices=Position.choices)
    started_on = models.DateField(_("开始日期"))
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    start_reason = models.CharField(_("任职原因"), max_length=200, blank=True)
    end_reason = models.CharField(_("离岗原因"), max_length=200, blank=True)

    objects = GridAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("网格任职")
        verbose_name_plural = _("网格任职")
        ordering = ["grid__code", "position", "started_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="assignment_ends_after_start",
            ),
            # A community officer holds exactly one grid at a time (专职).
            models.UniqueConstraint(
                fields=["staff"],
                condition=Q(ended_on__isnull=True, position="officer"),
                name="one_current_officer_post_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grid} · {self.get_position_display()} · {self.staff.name}"

    def tenure_days(self, on: dt.date) -> int:
        return ((self.ended_on or on) - self.started_on).days


class DepartureRequest(TimeStampedModel):
    """提前离岗申请: a community officer leaving the grid before 3 years, approved by the station director."""

    TERRITORY = ("grid", "assignment__grid_id")

    assignment = models.ForeignKey(
        GridAssignment, models.PROTECT, related_name="departure_requests", verbose_name=_("任职")
    )
    leave_on = models.DateField(_("拟离岗日期"))
    reason = models.CharField(_("原因"), max_length=300)
    status = models.CharField(
        _("状态"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("申请人")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("提前离岗申请")
        verbose_name_plural = _("提前离岗申请")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment"], condition=Q(status="pending"), name="one_pending_departure_per_post"
            )
        ]

    def __str__(self) -> str:
        return f"{self.assignment} → {self.leave_on}"


class Secondment(TimeStampedModel):
    """抽调: a community officer lent to other work for a period, with the station director's approval."""

    TERRITORY = ("station", "staff__station_id")

    staff = models.ForeignKey(Staff, models.PROTECT, related_name="secondments", verbose_name=_("人员"))
    purpose = models.CharField(_("抽调事由"), max_length=300)
    destination = models.CharField(_("抽调去向"), max_length=100)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    status = models.CharField(
        _("状态"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("申请人")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("抽调")
        verbose_name_plural = _("抽调")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="secondment_dates")
        ]

    def __str__(self) -> str:
        return f"{self.staff.name} → {self.destination}"


class CalendarDay(models.Model):
    """工作日历调整: a day that departs from the Monday–Friday rule — a public holiday (法定节假日, no work)
    or an adjusted working day on a weekend (调休上班). Published by the State Council every year and entered
    by an administrator; every working-day count in Doorstep (time limits, the mediator rota) reads it."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"
    KINDS = [(HOLIDAY, _("法定节假日（休息）")), (WORKDAY, _("调休上班"))]

    day = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类别"), max_length=8, choices=KINDS)
    name = models.CharField(_("节日/说明"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("工作日历调整")
        verbose_name_plural = _("工作日历调整")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {self.get_kind_display()} {self.name}".strip()
