"""Leader links and weekly inspections (领导挂点、督导检查), monthly bulletins (考评通报) and the monthly star
(社区警务月度之星). Imported by `evaluation.models`; writes go through `links`, `bulletins` and `stars`.

Links keep their history: a link is active on day d when started_on ≤ d < ended_on (as grid posts are).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doorstep.core.models import TimeStampedModel

__all__ = [
    "Bulletin",
    "BulletinStatus",
    "DepartmentLink",
    "FollowUp",
    "Inspection",
    "LeaderLink",
    "MonthlyStar",
]


class LeaderLink(TimeStampedModel):
    """领导挂点: a party-committee member (sub-bureau leader) linked to a station, from a day until a day."""

    TERRITORY = ("station", "station_id")

    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="station_links", verbose_name=_("挂点领导")
    )
    station = models.ForeignKey(
        "org.Station", models.PROTECT, related_name="leader_links", verbose_name=_("派出所")
    )
    started_on = models.DateField(_("开始日期"))
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("领导挂点")
        verbose_name_plural = _("领导挂点")
        ordering = ["ended_on", "station", "-started_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["leader", "station"], condition=Q(ended_on__isnull=True), name="one_open_leader_link"
            )
        ]

    def __str__(self) -> str:
        return f"{self.leader} → {self.station}"


class DepartmentLink(TimeStampedModel):
    """部门挂点: a sub-bureau department (治安大队、刑侦大队、法制大队…) linked to a station."""

    TERRITORY = ("station", "station_id")

    department = models.CharField(_("部门"), max_length=50)
    station = models.ForeignKey(
        "org.Station", models.PROTECT, related_name="department_links", verbose_name=_("派出所")
    )
    started_on = models.DateField(_("开始日期"))
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("部门挂点")
        verbose_name_plural = _("部门挂点")
        ordering = ["ended_on", "department", "-started_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["department"], condition=Q(ended_on__isnull=True), name="one_open_department_link"
            )
        ]

    def __str__(self) -> str:
        return f"{self.department} → {self.station}"


class Inspection(TimeStampedModel):
    """督导检查: a linked leader's inspection of a station on a day, with its findings."""

    TERRITORY = ("station", "station_id")

    station = models.ForeignKey(
        "org.Station", models.PROTECT, related_name="inspections", verbose_name=_("派出所")
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="inspections", verbose_name=_("检查领导")
    )
    inspected_on = models.DateField(_("检查日期"))
    findings = models.TextField(_("检查情况"), max_length=4000)

    class Meta:
        verbose_name = _("督导检查")
        verbose_name_plural = _("督导检查")
        ordering = ["-inspected_on", "-id"]
        indexes = [models.Index(fields=["station", "inspected_on"])]

    def __str__(self) -> str:
        return f"{self.inspected_on} {self.station}"


class FollowUp(TimeStampedModel):
    """整改事项: a follow-up an inspection asked for, with who owns it and when it was done."""

    TERRITORY = ("station", "inspection__station_id")

    inspection = models.ForeignKey(
        Inspection, models.CASCADE, related_name="follow_ups", verbose_name=_("督导检查")
    )
    action = models.CharField(_("整改事项"), max_length=300)
    owner = models.CharField(_("责任人"), max_length=50)
    done_on = models.DateField(_("完成日期"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("确认人"),
    )

    class Meta:
        verbose_name = _("整改事项")
        verbose_name_plural = _("整改事项")
        ordering = ["inspection", "id"]

    def __str__(self) -> str:
        return self.action


class BulletinStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    SUPERSEDED = "superseded", _("已更正")


class Bulletin(TimeStampedModel):
    """考评通报: the sub-bureau's monthly bulletin on its stations; frozen (data, PDF, Excel) once published."""

    sub_bureau = models.ForeignKey(
        "org.SubBureau", models.PROTECT, related_name="bulletins", verbose_name=_("分局")
    )
    month = models.DateField(_("月份"))  # the first day of the month
    status = models.CharField(
        _("状态"), max_length=10, choices=BulletinStatus.choices, default=BulletinStatus.DRAFT
    )
    summary = models.TextField(_("总体情况"), max_length=4000, blank=True)
    commendations = models.TextField(_("通报表扬"), max_length=4000, blank=True)
    problems = models.TextField(_("存在问题"), max_length=4000, blank=True)
    requirements = models.TextField(_("工作要求"), max_length=4000, blank=True)
    supersedes = models.OneToOneField(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("更正的通报"),
    )
    # Frozen at publishing: the figures and ranking, and the documents with their SHA-256.
    data = models.JSONField(_("通报数据"), null=True, blank=True, editable=False)
    pdf = models.BinaryField(_("PDF"), null=True, blank=True, editable=False)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True, editable=False)
    xlsx = models.BinaryField(_("Excel"), null=True, blank=True, editable=False)
    xlsx_sha256 = models.CharField(_("Excel SHA-256"), max_length=64, blank=True, editable=False)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发布人"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("起草人")
    )

    class Meta:
        verbose_name = _("考评通报")
        verbose_name_plural = _("考评通报")
        ordering = ["-month", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sub_bureau", "month"],
                condition=Q(status="draft"),
                name="one_draft_bulletin_per_month",
            ),
            models.UniqueConstraint(
                fields=["sub_bureau", "month"],
                condition=Q(status="published"),
                name="one_published_bulletin_per_month",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y年%m月}考评通报"

    @property
    def frozen(self) -> bool:
        return self.status != BulletinStatus.DRAFT


class MonthlyStar(TimeStampedModel):
    """社区警务月度之星: a community officer the evaluation committee confirmed as a month's star, with a citation."""

    TERRITORY = ("station", "staff__station_id")

    month = models.DateField(_("月份"))  # the first day of the month
    staff = models.ForeignKey(
        "org.Staff", models.PROTECT, related_name="monthly_stars", verbose_name=_("民警")
    )
    citation = models.CharField(_("事迹简介"), max_length=500)
    score = models.FloatField(_("月度得分"), null=True, blank=True)
    rank = models.PositiveIntegerField(_("候选排名"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("确认人")
    )

    class Meta:
        verbose_name = _("月度之星")
        verbose_name_plural = _("月度之星")
        ordering = ["-month", "rank", "id"]
        constraints = [models.UniqueConstraint(fields=["month", "staff"], name="one_star_per_officer_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y年%m月} {self.staff}"
