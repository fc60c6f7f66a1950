"""Tiered evaluations (考核评分) and spot checks (抽查): evaluation forms with their items, the reviews scored
on them, the random draws of officers and the checks recorded for each drawn officer.

Services live in `reviews` and `spotchecks`; pages in `review_pages`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doorstep.core.models import TimeStampedModel

__all__ = [
    "CheckResult",
    "EvaluationForm",
    "FormItem",
    "ItemKind",
    "Review",
    "ReviewLevel",
    "ReviewScore",
    "ReviewStatus",
    "SpotCheck",
    "SpotCheckItem",
]


class ReviewLevel(models.TextChoices):
    """The three evaluation cycles; the value is also the period kind of the cycle."""

    WEEK = "week", _("周考核（民警评协勤）")
    XUN = "xun", _("旬考核（派出所评民警、协勤）")
    MONTH = "month", _("月考核（分局评派出所）")


class ItemKind(models.TextChoices):
    AUTO = "auto", _("自动（指标）")
    SPOTCHECK = "spotcheck", _("自动（抽查）")
    MANUAL = "manual", _("人工评分")


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    SIGNED_OFF = "signed_off", _("已签核")


class CheckResult(models.TextChoices):
    PENDING = "pending", _("待检查")
    PASS = "pass", _("合格")
    FAIL = "fail", _("不合格")


class EvaluationForm(TimeStampedModel):
    """考核表: the template of one evaluation level — its items and their points."""

    level = models.CharField(_("考核层级"), max_length=6, choices=ReviewLevel.choices, unique=True)
    name = models.CharField(_("名称"), max_length=100)

    class Meta:
        verbose_name = _("考核表")
        verbose_name_plural = _("考核表")
        ordering = ["level"]

    def __str__(self) -> str:
        return self.name


class FormItem(models.Model):
    """考核项目: one line of an evaluation form — a KPI, the spot checks, or a manual item — with its points."""

    form = models.ForeignKey(EvaluationForm, models.CASCADE, related_name="items", verbose_name=_("考核表"))
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    kind = models.CharField(_("类型"), max_length=10, choices=ItemKind.choices)
    code = models.CharField(_("指标代码"), max_length=40, blank=True)
    name = models.CharField(_("项目"), max_length=60)
    points = models.DecimalField(_("分值"), max_digits=5, decimal_places=1)
    guidance = models.CharField(_("评分标准"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("考核项目")
        verbose_name_plural = _("考核项目")
        ordering = ["form", "order", "id"]

    def __str__(self) -> str:
        return f"{self.name}（{self.points}）"


class Review(TimeStampedModel):
    """考核评分: one evaluatee's evaluation for one period at one level — a person (周、旬) or a station (月)."""

    TERRITORY = ("station", "station_id")

    level = models.CharField(_("考核层级"), max_length=6, choices=ReviewLevel.choices)
    form = models.ForeignKey(EvaluationForm, models.PROTECT, related_name="reviews", verbose_name=_("考核表"))
    period_start = models.DateField(_("周期开始"))
    period_end = models.DateField(_("周期结束"))
    staff = models.ForeignKey(
        "org.Staff", models.PROTECT, null=True, blank=True, related_name="reviews", verbose_name=_("被考核人")
    )
    # The grid of the evaluatee's post (周、旬): the territory of the automatic items and of the weekly evaluator.
    grid = models.ForeignKey(
        "org.Grid", models.PROTECT, null=True, blank=True, related_name="reviews", verbose_name=_("网格")
    )
    # The evaluatee's station (月) or the station of the person's grid (周、旬).
    station = models.ForeignKey(
        "org.Station", models.PROTECT, related_name="reviews", verbose_name=_("派出所")
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT
    )
    total = models.DecimalField(_("得分"), max_digits=6, decimal_places=1, default=0)
    possible = models.DecimalField(_("应得分"), max_digits=6, decimal_places=1, default=0)
    comment = models.CharField(_("总体评价"), max_length=500, blank=True)
    deadline = models.DateField(_("评分期限"))
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("评分人"),
    )
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("签核人"),
    )
    signed_at = models.DateTimeField(_("签核时间"), null=True, blank=True)
    signoff_note = models.CharField(_("签核意见"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("生成人")
    )

    class Meta:
        verbose_name = _("考核评分")
        verbose_name_plural = _("考核评分")
        ordering = ["-period_start", "level", "station", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["level", "period_start", "staff"],
                condition=Q(staff__isnull=False),
                name="one_review_per_person_period",
            ),
            models.UniqueConstraint(
                fields=["level", "period_start", "station"],
                condition=Q(staff__isnull=True),
                name="one_review_per_station_period",
            ),
        ]
        indexes = [models.Index(fields=["level", "period_start", "status"])]

    def __str__(self) -> str:
        return f"{self.evaluatee_name} · {self.get_level_display()} · {self.period_start}"

    @property
    def evaluatee_name(self) -> str:
        return self.staff.name if self.staff_id else self.station.name

    @property
    def percent(self) -> float | None:
        """得分率 (0–100): points scored ÷ points of the items that have a score."""
        return float(self.total) * 100 / float(self.possible) if self.possible else None


class ReviewScore(models.Model):
    """考核得分: one item of a review — copied from its form item so later form changes leave it alone."""

    review = models.ForeignKey(Review, models.CASCADE, related_name="scores", verbose_name=_("考核评分"))
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    kind = models.CharField(_("类型"), max_length=10, choices=ItemKind.choices)
    code = models.CharField(_("指标代码"), max_length=40, blank=True)
    name = models.CharField(_("项目"), max_length=60)
    points = models.DecimalField(_("分值"), max_digits=5, decimal_places=1)
    value = models.FloatField(_("指标值"), null=True, blank=True)
    value_text = models.CharField(_("指标情况"), max_length=100, blank=True)
    score = models.DecimalField(_("得分"), max_digits=5, decimal_places=1, null=True, blank=True)
    comment = models.CharField(_("评语"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("考核得分")
        verbose_name_plural = _("考核得分")
        ordering = ["review", "order", "id"]

    def __str__(self) -> str:
        return f"{self.name}: {self.score if self.score is not None else '—'}"


class SpotCheck(TimeStampedModel):
    """抽查: a reproducible random draw of community officers of a station or the whole sub-bureau."""

    TERRITORY = ("station", "station_id")

    station = models.ForeignKey(
        "org.Station",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="spot_checks",
        verbose_name=_("派出所"),
    )  # empty: the whole sub-bureau
    count = models.PositiveSmallIntegerField(_("抽取人数"))
    seed = models.PositiveBigIntegerField(_("随机种子"))
    # Staff ids in the order they were drawn from (badge number): the seed and this list reproduce the draw.
    candidates = models.JSONField(_("候选人"))
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("抽取人")
    )
    drawn_at = models.DateTimeField(_("抽取时间"))
    purpose = models.CharField(_("抽查内容"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("抽查")
        verbose_name_plural = _("抽查")
        ordering = ["-drawn_at", "-id"]

    def __str__(self) -> str:
        return f"{self.station or _('全分局')} · {self.drawn_at:%Y-%m-%d %H:%M}"


class SpotCheckItem(models.Model):
    """抽查记录: one drawn officer and the check made of them — date, what was checked, result, note."""

    TERRITORY = ("station", "station_id")

    spot_check = models.ForeignKey(SpotCheck, models.CASCADE, related_name="items", verbose_name=_("抽查"))
    order = models.PositiveSmallIntegerField(_("抽中顺序"))
    staff = models.ForeignKey("org.Staff", models.PROTECT, related_name="spot_checks", verbose_name=_("民警"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    station = models.ForeignKey("org.Station", models.PROTECT, related_name="+", verbose_name=_("派出所"))
    checked_on = models.DateField(_("检查日期"), null=True, blank=True)
    subject = models.CharField(_("检查内容"), max_length=200, blank=True)
    result = models.CharField(
        _("结果"), max_length=8, choices=CheckResult.choices, default=CheckResult.PENDING
    )
    score = models.DecimalField(_("得分"), max_digits=4, decimal_places=1, null=True, blank=True)
    note = models.CharField(_("备注"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("记录人"),
    )
    recorded_at = models.DateTimeField(_("记录时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("抽查记录")
        verbose_name_plural = _("抽查记录")
        ordering = ["spot_check", "order"]
        indexes = [models.Index(fields=["staff", "checked_on"])]

    def __str__(self) -> str:
        return f"{self.staff.name} · {self.get_result_display()}"
