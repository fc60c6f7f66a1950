"""Proactive policing (主动型): prevention responsibility zones, patrol teams and volunteers, patrols with their
GPS tracks and findings, "四防" publicity (campaigns, events, materials, online posts), police–resident
meetings and police-room open days with the issues raised."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doorstep.core import crypto
from doorstep.core.models import TimeStampedModel
from doorstep.patrol.choices import (
    FindingKind,
    IssueStatus,
    MeetingKind,
    MemberKind,
    PatrolStatus,
    PointFlag,
    PostStatus,
    TeamKind,
    Theme,
)


class Zone(TimeStampedModel):
    """治安防控责任网格: a prevention responsibility zone of a community — one or more grids — with the grid
    police team responsible and the street and community cadres answerable for it (网格警务队 + 街道、社区干部
    责任制)."""

    TERRITORY = ("community", "community_id")

    community = models.ForeignKey(
        "org.Community", models.PROTECT, related_name="zones", verbose_name=_("社区")
    )
    name = models.CharField(_("责任区名称"), max_length=60)
    grids = models.ManyToManyField("org.Grid", related_name="zones", verbose_name=_("包含网格"))
    police_team = models.CharField(_("网格警务队"), max_length=60)
    responsible_officer = models.ForeignKey(
        "org.Staff", models.PROTECT, related_name="+", verbose_name=_("责任民警")
    )
    street_cadre = models.CharField(_("街道责任干部"), max_length=50)
    street_cadre_phone = models.CharField(_("街道干部电话"), max_length=20, blank=True)
    community_cadre = models.CharField(_("社区责任干部"), max_length=50)
    community_cadre_phone = models.CharField(_("社区干部电话"), max_length=20, blank=True)
    notes = models.CharField(_("防控重点"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("治安防控责任区")
        verbose_name_plural = _("治安防控责任区")
        ordering = ["community__code", "name"]
        constraints = [models.UniqueConstraint(fields=["community", "name"], name="zone_name_per_community")]

    def __str__(self) -> str:
        return self.name


class Team(TimeStampedModel):
    """巡防队伍: the community's full-time patrol team (专职巡防队) or a volunteer team (治安志愿者、物业保安、
    居委会干部…), each volunteer team led by a community officer."""

    TERRITORY = ("community", "community_id")

    community = models.ForeignKey(
        "org.Community", models.PROTECT, related_name="patrol_teams", verbose_name=_("社区")
    )
    name = models.CharField(_("队伍名称"), max_length=60)
    kind = models.CharField(_("队伍类型"), max_length=12, choices=TeamKind.choices)
    leader = models.ForeignKey(
        "org.Staff", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("带队民警")
    )
    active = models.BooleanField(_("在用"), default=True)

    class Meta:
        verbose_name = _("巡防队伍")
        verbose_name_plural = _("巡防队伍")
        ordering = ["community__code", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["community", "name"], name="team_name_per_community")]

    def __str__(self) -> str:
        return self.name


class Member(crypto.EncryptedModel, TimeStampedModel):
    """队员: a full-time patrol member (a `Staff` of kind 巡防队员) or a volunteer (name and phone only), with
    skills and availability; leaving keeps the history."""

    TERRITORY = ("community", "team__community_id")

    team = models.ForeignKey(Team, models.CASCADE, related_name="members", verbose_name=_("队伍"))
    kind = models.CharField(_("身份"), max_length=10, choices=MemberKind.choices)
    staff = models.ForeignKey(
        "org.Staff",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="patrol_memberships",
        verbose_name=_("人员"),
    )
    name = models.CharField(_("姓名"), max_length=50)
    phone = crypto.EncryptedCharField(_("联系电话"), max_length=20, blank=True)  # a resident's: encrypted
    skills = models.CharField(_("特长"), max_length=100, blank=True)
    availability = models.CharField(_("可参与时间"), max_length=100, blank=True)
    joined_on = models.DateField(_("加入日期"))
    left_on = models.DateField(_("退出日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("队员")
        verbose_name_plural = _("队员")
        ordering = ["team", "left_on", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "staff"],
                condition=Q(left_on__isnull=True, staff__isnull=False),
                name="one_current_membership",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Plan(TimeStampedModel):
    """巡逻计划: a route (a line) or an area (a polygon) to patrol at a time, by a team."""

    TERRITORY = ("community", "community_id")

    community = models.ForeignKey(
        "org.Community", models.PROTECT, related_name="patrol_plans", verbose_name=_("社区")
    )
    team = models.ForeignKey(
        Team, models.PROTECT, null=True, blank=True, related_name="plans", verbose_name=_("队伍")
    )
    title = models.CharField(_("计划名称"), max_length=80)
    grid = models.ForeignKey(
        "org.Grid", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("网格")
    )
    # GeoJSON (WGS-84): a LineString route or a Polygon area; either may be empty (the grid is the area then).
    route = models.JSONField(_("路线"), null=True, blank=True)
    area = models.JSONField(_("区域"), null=True, blank=True)
    starts_at = models.DateTimeField(_("计划开始"))
    ends_at = models.DateTimeField(_("计划结束"))
    notes = models.CharField(_("巡逻要求"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("制定人")
    )

    class Meta:
        verbose_name = _("巡逻计划")
        verbose_name_plural = _("巡逻计划")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="plan_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Patrol(TimeStampedModel):
    """巡逻: one patrol run from a phone — started, its track recorded while the page is open, stopped. The
    cleaned track and its figures are kept on the row; the raw points stay in `TrackPoint`."""

    TERRITORY = ("community", "community_id")

    community = models.ForeignKey(
        "org.Community", models.PROTECT, related_name="patrols", verbose_name=_("社区")
    )
    grid = models.ForeignKey(
        "org.Grid", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("网格")
    )
    plan = models.ForeignKey(
        Plan, models.SET_NULL, null=True, blank=True, related_name="patrols", verbose_name=_("计划")
    )
    team = models.ForeignKey(
        Team, models.SET_NULL, null=True, blank=True, related_name="patrols", verbose_name=_("队伍")
    )
    led_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("带队人")
    )
    participants = models.PositiveSmallIntegerField(_("参加人数"), default=1)
    volunteers = models.PositiveSmallIntegerField(_("其中志愿者"), default=0)
    status = models.CharField(
        _("状态"), max_length=8, choices=PatrolStatus.choices, default=PatrolStatus.RUNNING
    )
    started_at = models.DateTimeField(_("开始时间"))
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    # The cleaned track as a GeoJSON MultiLineString (a gap splits it), and its figures.
    track = models.JSONField(_("轨迹"), null=True, blank=True)
    distance_m = models.PositiveIntegerField(_("里程（米）"), default=0)
    points = models.PositiveIntegerField(_("定位点数"), default=0)
    dropped = models.PositiveIntegerField(_("剔除点数"), default=0)
    gaps = models.PositiveSmallIntegerField(_("信号中断"), default=0)
    summary = models.CharField(_("巡逻情况"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("巡逻")
        verbose_name_plural = _("巡逻")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["community", "started_at"]), models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.community} {self.started_at:%Y-%m-%d %H:%M}"


class TrackPoint(models.Model):
    """One GPS fix sent by the phone (idempotent by the client's sequence number), with the flag the cleaning
    gave it."""

    TERRITORY = ("community", "patrol__community_id")

    patrol = models.ForeignKey(Patrol, models.CASCADE, related_name="track_points", verbose_name=_("巡逻"))
    seq = models.PositiveIntegerField(_("序号"))
    at = models.DateTimeField(_("定位时间"))
    lng = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    accuracy = models.FloatField(_("精度（米）"), null=True, blank=True)
    flag = models.CharField(_("标记"), max_length=12, choices=PointFlag.choices, default=PointFlag.OK)

    class Meta:
        verbose_name = _("轨迹点")
        verbose_name_plural = _("轨迹点")
        ordering = ["patrol", "at", "seq"]
        constraints = [models.UniqueConstraint(fields=["patrol", "seq"], name="one_point_per_seq")]

    def __str__(self) -> str:
        return f"{self.patrol_id}#{self.seq}"


class Finding(TimeStampedModel):
    """巡逻发现: a hazard, a suspicious person, a dispute (handed to mediation) or an incident (handed to the
    police room's service desk), where and when, with a photo."""

    TERRITORY = ("community", "patrol__community_id")

    patrol = models.ForeignKey(Patrol, models.CASCADE, related_name="findings", verbose_name=_("巡逻"))
    kind = models.CharField(_("类别"), max_length=12, choices=FindingKind.choices)
    note = models.CharField(_("情况"), max_length=500)
    at = models.DateTimeField(_("发现时间"))
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    photo = models.ImageField(_("照片"), upload_to="patrol/findings/", blank=True)
    dispute = models.ForeignKey(
        "mediation.Dispute",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("转调解"),
    )
    intake = models.ForeignKey(
        "desk.Intake", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("转服务台")
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("记录人")
    )

    class Meta:
        verbose_name = _("巡逻发现")
        verbose_name_plural = _("巡逻发现")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class Campaign(TimeStampedModel):
    """宣传活动: a "四防" (防火、防抢、防盗、防骗) or anti-terrorism publicity campaign of a station."""

    TERRITORY = ("station", "station_id")

    station = models.ForeignKey(
        "org.Station", models.PROTECT, related_name="campaigns", verbose_name=_("派出所")
    )
    title = models.CharField(_("活动名称"), max_length=80)
    theme = models.CharField(_("主题"), max_length=12, choices=Theme.choices)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    description = models.TextField(_("活动内容"), max_length=2000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("创建人")
    )

    class Meta:
        verbose_name = _("宣传活动")
        verbose_name_plural = _("宣传活动")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="campaign_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Event(TimeStampedModel):
    """宣传场次: one publicity event in a community (place, date, audience, photos) and the materials handed out."""

    TERRITORY = ("community", "community_id")

    campaign = models.ForeignKey(
        Campaign, models.PROTECT, null=True, blank=True, related_name="events", verbose_name=_("所属活动")
    )
    community = models.ForeignKey(
        "org.Community", models.PROTECT, related_name="publicity_events", verbose_name=_("社区")
    )
    theme = models.CharField(_("主题"), max_length=12, choices=Theme.choices)
    title = models.CharField(_("名称"), max_length=80)
    place = models.CharField(_("地点"), max_length=100)
    held_on = models.DateField(_("日期"))
    audience = models.PositiveIntegerField(_("受众人数"))
    photo = models.ImageField(_("照片"), upload_to="patrol/events/", blank=True)
    notes = models.CharField(_("情况"), max_length=500, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("宣传场次")
        verbose_name_plural = _("宣传场次")
        ordering = ["-held_on"]

    def __str__(self) -> str:
        return self.title


class Material(models.Model):
    """宣传资料: a handbook or leaflet (《平安防范手册》、《反恐防范手册》…); a sub-bureau-wide list."""

    name = models.CharField(_("资料名称"), max_length=60, unique=True)
    active = models.BooleanField(_("在用"), default=True)
    # A downloadable file for the public portal (#11), optional.
    file = models.FileField(_("电子版"), upload_to="patrol/materials/", blank=True)

    class Meta:
        verbose_name = _("宣传资料")
        verbose_name_plural = _("宣传资料")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Distribution(models.Model):
    """发放: how many copies of a material were handed out at an event."""

    TERRITORY = ("community", "event__community_id")

    event = models.ForeignKey(Event, models.CASCADE, related_name="distributions", verbose_name=_("宣传场次"))
    material = models.ForeignKey(Material, models.PROTECT, related_name="+", verbose_name=_("资料"))
    copies = models.PositiveIntegerField(_("份数"))

    class Meta:
        verbose_name = _("资料发放")
        verbose_name_plural = _("资料发放")
        constraints = [models.UniqueConstraint(fields=["event", "material"], name="one_row_per_material")]

    def __str__(self) -> str:
        return f"{self.material} × {self.copies}"


class Post(TimeStampedModel):
    """网上宣传: a post for the public portal (#11), drafted by the station and published."""

    TERRITORY = ("station", "station_id")

    station = models.ForeignKey("org.Station", models.PROTECT, related_name="posts", verbose_name=_("派出所"))
    campaign = models.ForeignKey(
        Campaign, models.SET_NULL, null=True, blank=True, related_name="posts", verbose_name=_("所属活动")
    )
    theme = models.CharField(_("主题"), max_length=12, choices=Theme.choices)
    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("正文"), max_length=10000)
    status = models.CharField(_("状态"), max_length=10, choices=PostStatus.choices, default=PostStatus.DRAFT)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    views = models.PositiveIntegerField(_("阅读数"), default=0)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("作者"))

    class Meta:
        verbose_name = _("网上宣传")
        verbose_name_plural = _("网上宣传")
        ordering = ["-published_at", "-created_at"]

    def __str__(self) -> str:
        return self.title


class Meeting(TimeStampedModel):
    """警民恳谈会 / 警务室开放日: at least one per community per month; attendance and the issues raised."""

    TERRITORY = ("community", "community_id")

    community = models.ForeignKey(
        "org.Community", models.PROTECT, related_name="meetings", verbose_name=_("社区")
    )
    kind = models.CharField(_("类型"), max_length=10, choices=MeetingKind.choices)
    held_on = models.DateField(_("日期"))
    place = models.CharField(_("地点"), max_length=100)
    attendance = models.PositiveIntegerField(_("参加群众人数"))
    officers = models.CharField(_("参加民警"), max_length=200)
    notes = models.TextField(_("会议情况"), max_length=2000, blank=True)
    photo = models.ImageField(_("照片"), upload_to="patrol/meetings/", blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("警民恳谈")
        verbose_name_plural = _("警民恳谈")
        ordering = ["-held_on"]
        indexes = [models.Index(fields=["community", "held_on"])]

    def __str__(self) -> str:
        return f"{self.community} {self.get_kind_display()} {self.held_on}"


class Issue(TimeStampedModel):
    """群众反映的问题: raised at a meeting, tracked until it is answered."""

    TERRITORY = ("community", "meeting__community_id")

    meeting = models.ForeignKey(Meeting, models.CASCADE, related_name="issues", verbose_name=_("恳谈会"))
    text = models.CharField(_("问题"), max_length=500)
    raised_by = models.CharField(_("反映人"), max_length=50, blank=True)
    owner = models.ForeignKey(
        "org.Staff", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("责任人")
    )
    due_on = models.DateField(_("答复期限"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=IssueStatus.choices, default=IssueStatus.OPEN)
    answer = models.CharField(_("答复"), max_length=1000, blank=True)
    answered_on = models.DateField(_("答复日期"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("答复人"),
    )

    class Meta:
        verbose_name = _("群众反映问题")
        verbose_name_plural = _("群众反映问题")
        ordering = ["status", "due_on", "id"]

    def __str__(self) -> str:
        return self.text[:40]
