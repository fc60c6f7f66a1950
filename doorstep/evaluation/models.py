"""Evaluation (高效型): incidents for 发案率, collection baselines and verification samples for 治安要素掌控率,
configurable KPI targets and weights, and the KPI snapshots stored each period for trends."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doorstep.core.models import TimeStampedModel
from doorstep.evaluation.choices import Element, IncidentCategory, IncidentSource, Level, PeriodKind


class Incident(TimeStampedModel):
    """发案: a light record of one criminal or public-order case in a grid (date, type, place) — entered, imported
    from Excel, or taken from the service desk — so 万人发案率 can be computed on the actual population."""

    TERRITORY = ("grid", "grid_id")

    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="incidents", verbose_name=_("网格"))
    occurred_on = models.DateField(_("发案日期"))
    category = models.CharField(_("案件类别"), max_length=12, choices=IncidentCategory.choices)
    kind = models.CharField(_("案由"), max_length=30)
    place = models.CharField(_("发案地点"), max_length=200)
    case_number = models.CharField(_("案件编号"), max_length=40, blank=True)
    source = models.CharField(_("来源"), max_length=8, choices=IncidentSource.choices)
    intake = models.OneToOneField(
        "desk.Intake",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="incident",
        verbose_name=_("服务台事项"),
    )
    note = models.CharField(_("备注"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("发案")
        verbose_name_plural = _("发案")
        ordering = ["-occurred_on", "-id"]
        indexes = [models.Index(fields=["grid", "occurred_on"])]

    def __str__(self) -> str:
        return f"{self.occurred_on} {self.kind}"


class Baseline(TimeStampedModel):
    """应采集基数: how many records of an element a grid should hold (from the household-registration system,
    the census or the street's ledgers) as of a date — the denominator of 采集率."""

    TERRITORY = ("grid", "grid_id")

    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="baselines", verbose_name=_("网格"))
    element = models.CharField(_("要素"), max_length=10, choices=Element.choices)
    expected = models.PositiveIntegerField(_("应采集数"))
    as_of = models.DateField(_("基准日期"))
    source = models.CharField(_("数据来源"), max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("应采集基数")
        verbose_name_plural = _("应采集基数")
        ordering = ["grid", "element", "-as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "element", "as_of"], name="one_baseline_per_grid_element_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.grid} {self.get_element_display()} {self.expected}"


class Verification(TimeStampedModel):
    """核查抽样: one registry record checked on the ground by the evaluation office — correct or not — the
    basis of 准确率 (verified correct ÷ sampled)."""

    TERRITORY = ("grid", "grid_id")

    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="verifications", verbose_name=_("网格"))
    element = models.CharField(_("要素"), max_length=10, choices=Element.choices)
    object_id = models.PositiveBigIntegerField(_("记录ID"))
    checked_on = models.DateField(_("核查日期"))
    correct = models.BooleanField(_("信息准确"))
    note = models.CharField(_("核查情况"), max_length=300, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("核查人")
    )

    class Meta:
        verbose_name = _("核查抽样")
        verbose_name_plural = _("核查抽样")
        ordering = ["-checked_on", "-id"]
        indexes = [models.Index(fields=["grid", "element", "checked_on"])]

    def __str__(self) -> str:
        return f"{self.get_element_display()}#{self.object_id} {'✓' if self.correct else '✗'}"


class KpiSetting(TimeStampedModel):
    """A KPI's target and weight, kept by the evaluation office (the defaults live with each KPI's code)."""

    code = models.CharField(_("指标代码"), max_length=40, unique=True)
    target = models.FloatField(_("目标值"), null=True, blank=True)
    weight = models.FloatField(_("权重"), default=1.0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("指标设置")
        verbose_name_plural = _("指标设置")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Snapshot(models.Model):
    """A KPI's value for one territory and one period, stored when the period is computed (trends, bulletins)."""

    code = models.CharField(_("指标代码"), max_length=40)
    level = models.CharField(_("层级"), max_length=12, choices=Level.choices)
    territory_id = models.PositiveBigIntegerField(_("辖区ID"))
    period_kind = models.CharField(_("周期"), max_length=6, choices=PeriodKind.choices)
    period_start = models.DateField(_("开始"))
    period_end = models.DateField(_("结束"))
    value = models.FloatField(_("值"), null=True, blank=True)
    numerator = models.FloatField(_("分子"), null=True, blank=True)
    denominator = models.FloatField(_("分母"), null=True, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("指标快照")
        verbose_name_plural = _("指标快照")
        ordering = ["code", "level", "territory_id", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "level", "territory_id", "period_kind", "period_start"],
                name="one_snapshot_per_period",
            )
        ]
        indexes = [models.Index(fields=["level", "period_kind", "period_start"])]

    def __str__(self) -> str:
        return f"{self.code} {self.level}#{self.territory_id} {self.period_start}"


from doorstep.evaluation.models_links import *  # noqa: E402,F401,F403
from doorstep.evaluation.models_review import *  # noqa: E402,F401,F403
