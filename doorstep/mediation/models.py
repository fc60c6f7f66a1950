"""Dispute mediation (矛盾纠纷调解): disputes and their parties, the mediator rota, sessions, agreements,
escalations and referrals, follow-up visits."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doorstep.core import crypto
from doorstep.core.models import TimeStampedModel
from doorstep.mediation.choices import (
    Level,
    Outcome,
    Procedure,
    Risk,
    RotaSource,
    SettledBy,
    Source,
    Status,
)


class DisputeType(TimeStampedModel):
    """纠纷类型: 邻里、家庭、婚恋、物业、劳资、消费、交通、其他 — a sub-bureau-wide list an administrator edits."""

    name = models.CharField(_("类型名称"), max_length=30, unique=True)
    active = models.BooleanField(_("启用"), default=True)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("纠纷类型")
        verbose_name_plural = _("纠纷类型")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Dispute(TimeStampedModel):
    """矛盾纠纷: one dispute from intake to follow-up, placed in a community (and a grid when known)."""

    TERRITORY = ("community", "community_id")

    number = models.CharField(_("纠纷编号"), max_length=40, unique=True)
    year = models.PositiveSmallIntegerField(_("年度"))
    seq = models.PositiveIntegerField(_("序号"))
    station = models.ForeignKey(
        "org.Station", models.PROTECT, related_name="disputes", verbose_name=_("派出所")
    )
    community = models.ForeignKey(
        "org.Community", models.PROTECT, related_name="disputes", verbose_name=_("社区")
    )
    grid = models.ForeignKey(
        "org.Grid", models.PROTECT, null=True, blank=True, related_name="disputes", verbose_name=_("网格")
    )
    dispute_type = models.ForeignKey(
        DisputeType, models.PROTECT, related_name="disputes", verbose_name=_("纠纷类型")
    )
    procedure = models.CharField(
        _("调解类别"), max_length=10, choices=Procedure.choices, default=Procedure.PEOPLE
    )
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    intake = models.OneToOneField(
        "desk.Intake",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="dispute",
        verbose_name=_("服务台受理事项"),
    )
    alarm = models.ForeignKey(
        "alarms.Alarm",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
        verbose_name=_("关联报警"),
    )
    place = models.CharField(_("发生地点"), max_length=200)
    occurred_at = models.DateTimeField(_("发生时间"), null=True, blank=True)
    involved_count = models.PositiveSmallIntegerField(_("涉及人数"), default=2)
    facts = models.TextField(_("简要情况"), max_length=2000)
    risk = models.CharField(_("风险等级"), max_length=8, choices=Risk.choices, default=Risk.LOW)
    violence_risk = models.BooleanField(_("有激化为暴力的风险"), default=False)

    status = models.CharField(_("状态"), max_length=20, choices=Status.choices)
    level = models.CharField(_("调解层级"), max_length=12, choices=Level.choices, default=Level.COMMUNITY)
    first_officer = models.ForeignKey(
        "org.Staff",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="first_disputes",
        verbose_name=_("首接民警"),
    )
    mediator = models.ForeignKey(
        "org.Staff",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="mediated_disputes",
        verbose_name=_("调解员"),
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("登记人")
    )
    received_at = models.DateTimeField(_("受理时间"))
    transferred_at = models.DateTimeField(_("移交调解室时间"), null=True, blank=True)
    assigned_at = models.DateTimeField(_("分派时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("调解期限"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    settled_by = models.CharField(_("化解方式"), max_length=12, choices=SettledBy.choices, blank=True)
    result = models.CharField(_("结果说明"), max_length=500, blank=True)
    follow_up_due = models.DateField(_("回访期限"), null=True, blank=True)
    reopened_count = models.PositiveSmallIntegerField(_("重新调解次数"), default=0)

    class Meta:
        verbose_name = _("矛盾纠纷")
        verbose_name_plural = _("矛盾纠纷")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["station", "status"]),
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["mediator", "status"]),
            models.Index(fields=["received_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["station", "year", "seq"], name="mediation_number_per_station_year"
            )
        ]

    def __str__(self) -> str:
        return self.number


class Party(crypto.EncryptedModel):
    """当事人: one party of a dispute, linked to the registry when known (ID number and phone masked on pages)."""

    TERRITORY = ("community", "dispute__community_id")

    dispute = models.ForeignKey(Dispute, models.CASCADE, related_name="parties", verbose_name=_("纠纷"))
    side = models.CharField(
        _("方"), max_length=1, choices=[("A", _("甲方")), ("B", _("乙方")), ("C", _("第三方"))], default="A"
    )
    name = models.CharField(_("姓名/名称"), max_length=100)
    # Encrypted at rest (core.crypto); nothing searches parties by them, so no hash columns.
    id_number = crypto.EncryptedCharField(_("公民身份号码"), max_length=18, blank=True)
    phone = crypto.EncryptedCharField(_("联系电话"), max_length=20, blank=True)
    address = models.CharField(_("住址"), max_length=200, blank=True)
    person = models.ForeignKey(
        "registry.Person",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("实有人口"),
    )

    class Meta:
        verbose_name = _("当事人")
        verbose_name_plural = _("当事人")
        ordering = ["side", "id"]

    def __str__(self) -> str:
        return self.name


class DisputeStep(models.Model):
    """办理记录: who did what to the dispute, when, with a note."""

    TERRITORY = ("community", "dispute__community_id")

    dispute = models.ForeignKey(Dispute, models.CASCADE, related_name="steps", verbose_name=_("纠纷"))
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    by_name = models.CharField(_("操作人"), max_length=80)
    action = models.CharField(_("操作"), max_length=30)
    from_status = models.CharField(_("原状态"), max_length=20, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class Session(models.Model):
    """调解记录: one mediation session (date, place, who attended, what was said)."""

    TERRITORY = ("community", "dispute__community_id")

    dispute = models.ForeignKey(Dispute, models.CASCADE, related_name="sessions", verbose_name=_("纠纷"))
    held_at = models.DateTimeField(_("调解时间"))
    place = models.CharField(_("调解地点"), max_length=100)
    level = models.CharField(_("调解层级"), max_length=12, choices=Level.choices)
    mediator_name = models.CharField(_("主持调解人"), max_length=50)
    attendees = models.CharField(_("参加人员"), max_length=300)
    notes = models.TextField(_("调解情况"), max_length=4000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("记录人")
    )
    recorded_at = models.DateTimeField(_("记录时间"))

    class Meta:
        verbose_name = _("调解记录")
        verbose_name_plural = _("调解记录")
        ordering = ["held_at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.held_at:%Y-%m-%d %H:%M}"


class Agreement(models.Model):
    """调解协议书 (人民调解法 art. 29): facts and points in dispute, responsibilities, terms with how and by when
    they are performed; the generated PDF is kept with the case. Judicial confirmation may be applied for
    within 30 days of its taking effect (art. 33)."""

    TERRITORY = ("community", "dispute__community_id")

    dispute = models.ForeignKey(Dispute, models.CASCADE, related_name="agreements", verbose_name=_("纠纷"))
    number = models.CharField(_("协议书编号"), max_length=60, unique=True)
    # A broken agreement reopens the case; a new agreement then supersedes this one (kept as history).
    superseded = models.BooleanField(_("已被新协议取代"), default=False)
    facts = models.TextField(_("纠纷主要事实"), max_length=4000)
    issues = models.TextField(_("争议事项"), max_length=2000)
    responsibilities = models.TextField(_("各方责任"), max_length=2000)
    # [{"content": "乙方赔偿甲方修缮费3000元", "manner": "银行转账", "deadline": "2026-12-31"}, …]
    terms = models.JSONField(_("协议内容"), default=list)
    mediator_name = models.CharField(_("人民调解员"), max_length=50)
    committee = models.CharField(_("人民调解委员会"), max_length=100)
    signed_on = models.DateField(_("签订日期"))
    confirm_by = models.DateField(_("司法确认申请截止日"))
    pdf = models.FileField(_("协议书PDF"), upload_to="mediation/agreements/", blank=True)
    pdf_sha256 = models.CharField(_("PDF校验值"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("制作人")
    )
    created_at = models.DateTimeField(_("制作时间"))

    class Meta:
        verbose_name = _("调解协议书")
        verbose_name_plural = _("调解协议书")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.number


class Referral(models.Model):
    """逐级上报/移交: the dispute escalated to the street or referred to a competent department, with the
    receiving body, the date sent and the reply."""

    TERRITORY = ("community", "dispute__community_id")

    dispute = models.ForeignKey(Dispute, models.CASCADE, related_name="referrals", verbose_name=_("纠纷"))
    level = models.CharField(_("移交层级"), max_length=12, choices=Level.choices)
    body = models.CharField(_("接收单位"), max_length=100)
    contact = models.CharField(_("接收联系人"), max_length=50, blank=True)
    reason = models.CharField(_("移交理由"), max_length=500)
    sent_on = models.DateField(_("移交日期"))
    reply_due = models.DateField(_("答复期限"), null=True, blank=True)
    replied_on = models.DateField(_("答复日期"), null=True, blank=True)
    reply = models.CharField(_("答复内容"), max_length=1000, blank=True)
    outcome = models.CharField(_("处理结果"), max_length=16, choices=Outcome.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("移交人")
    )

    class Meta:
        verbose_name = _("移交记录")
        verbose_name_plural = _("移交记录")
        ordering = ["sent_on", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} → {self.body}"


class FollowUp(models.Model):
    """回访: a visit after the case is closed — was the agreement kept?"""

    TERRITORY = ("community", "dispute__community_id")

    dispute = models.ForeignKey(Dispute, models.CASCADE, related_name="follow_ups", verbose_name=_("纠纷"))
    visited_on = models.DateField(_("回访日期"))
    kept = models.BooleanField(_("协议已履行/未再发生纠纷"))
    note = models.CharField(_("回访情况"), max_length=500)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("回访人")
    )
    reopened = models.BooleanField(_("因此重新调解"), default=False)

    class Meta:
        verbose_name = _("回访记录")
        verbose_name_plural = _("回访记录")
        ordering = ["visited_on", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.visited_on}"


class RotaDay(models.Model):
    """值班调解员: the one full-time mediator on duty in a station's mediation room on a working day."""

    TERRITORY = ("station", "station_id")

    station = models.ForeignKey("org.Station", models.CASCADE, related_name="+", verbose_name=_("派出所"))
    day = models.DateField(_("日期"))
    mediator = models.ForeignKey(
        "org.Staff", models.PROTECT, related_name="rota_days", verbose_name=_("调解员")
    )
    source = models.CharField(
        _("来源"), max_length=10, choices=RotaSource.choices, default=RotaSource.ROTATION
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("调解员值班")
        verbose_name_plural = _("调解员值班")
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["station", "day"], name="one_duty_mediator_per_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.mediator.name}"


class MediatorLeave(models.Model):
    """请假: days a mediator is away; the rota skips them and the days they held are handed on."""

    TERRITORY = ("station", "mediator__station_id")

    mediator = models.ForeignKey(
        "org.Staff", models.CASCADE, related_name="mediation_leaves", verbose_name=_("调解员")
    )
    start = models.DateField(_("开始日期"))
    end = models.DateField(_("结束日期"))
    reason = models.CharField(_("事由"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("调解员请假")
        verbose_name_plural = _("调解员请假")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="leave_ends_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.mediator_id} {self.start}–{self.end}"
