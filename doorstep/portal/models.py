"""The public portal (网上警务室): what residents send (tips, service questions, disputes, appointments), the
appointment slots police rooms publish, station notices, and the awareness/satisfaction surveys that feed the
知晓率 and 满意率 KPIs. Residents have no accounts: a receipt code finds a submission again, a one-time code
sent to a phone proves the phone for a survey answer or a booking."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doorstep.core import crypto
from doorstep.core.models import TimeStampedModel
from doorstep.portal.choices import Kind, NoticeStatus, Status, SurveyStatus, VerificationPurpose


class AppointmentSlot(TimeStampedModel):
    """A time a police room publishes for residents to book (预约时段); `booked` counts live bookings and is
    changed only under a row lock (portal.services)."""

    TERRITORY = ("community", "room__community_id")

    room = models.ForeignKey(
        "org.PoliceRoom", models.CASCADE, related_name="appointment_slots", verbose_name=_("警务室")
    )
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    capacity = models.PositiveSmallIntegerField(_("可约人数"), default=1)
    booked = models.PositiveSmallIntegerField(_("已约人数"), default=0)
    cancelled = models.BooleanField(_("已取消"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("发布人")
    )

    class Meta:
        verbose_name = _("预约时段")
        verbose_name_plural = _("预约时段")
        ordering = ["starts_at", "room_id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="portal_slot_order"),
            models.CheckConstraint(
                condition=Q(booked__lte=models.F("capacity")), name="portal_slot_capacity"
            ),
            models.UniqueConstraint(fields=["room", "starts_at"], name="portal_slot_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.room} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked) if not self.cancelled else 0


class Submission(crypto.EncryptedModel, TimeStampedModel):
    """One thing a resident sent: 线索 (may be anonymous), 办事咨询 (a business of the service desk), 纠纷调解 or
    预约办事. The grid, community and station are worked out from the address when it is a standard address
    (or from the police room chosen); staff see it in their station's queue (网上受理) and hand it on to the
    service desk or to mediation. The resident finds it again by its receipt code (never in a URL)."""

    TERRITORY = ("community", "community_id")

    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices)
    receipt_code = models.CharField(_("回执码"), max_length=16, unique=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.NEW)
    station = models.ForeignKey(
        "org.Station",
        models.PROTECT,
        related_name="portal_submissions",
        null=True,
        blank=True,
        verbose_name=_("派出所"),
    )
    community = models.ForeignKey(
        "org.Community",
        models.PROTECT,
        related_name="portal_submissions",
        null=True,
        blank=True,
        verbose_name=_("社区"),
    )
    grid = models.ForeignKey(
        "org.Grid",
        models.PROTECT,
        related_name="portal_submissions",
        null=True,
        blank=True,
        verbose_name=_("网格"),
    )
    address = models.ForeignKey(
        "registry.Address",
        models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("标准地址"),
    )
    address_text = models.CharField(_("地址"), max_length=200, blank=True)
    room = models.ForeignKey(
        "org.PoliceRoom",
        models.PROTECT,
        related_name="portal_submissions",
        null=True,
        blank=True,
        verbose_name=_("警务室"),
    )
    business_type = models.ForeignKey(
        "desk.BusinessType",
        models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("业务类型"),
    )
    slot = models.ForeignKey(
        AppointmentSlot,
        models.PROTECT,
        related_name="bookings",
        null=True,
        blank=True,
        verbose_name=_("预约时段"),
    )
    anonymous = models.BooleanField(_("匿名"), default=False)
    name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = crypto.EncryptedCharField(_("联系电话"), max_length=20, blank=True)
    # keyed hash of the phone (core.crypto, not portal.phones): "has this phone already booked this slot?"
    phone_search = crypto.SearchHashField(_("手机号检索摘要"), source="phone", kind="phone")
    content = models.TextField(_("内容"), max_length=2000, blank=True)
    other_party = models.CharField(_("对方当事人"), max_length=100, blank=True)  # 纠纷调解 only
    occurred_at = models.DateTimeField(_("发生时间"), null=True, blank=True)
    photo = models.ImageField(_("照片"), upload_to="portal/", blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), db_index=True)
    # Who handled it and the reply the resident reads on the status page (plain text, no internal detail).
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("处理人"),
    )
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    reply = models.TextField(_("答复群众"), max_length=1000, blank=True)
    internal_note = models.TextField(_("内部备注"), max_length=1000, blank=True)
    intake = models.ForeignKey(
        "desk.Intake", models.SET_NULL, related_name="+", null=True, blank=True, verbose_name=_("服务台事项")
    )
    dispute = models.ForeignKey(
        "mediation.Dispute",
        models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("矛盾纠纷"),
    )

    class Meta:
        verbose_name = _("网上事项")
        verbose_name_plural = _("网上事项")
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["station", "status", "submitted_at"], name="portal_sub_queue")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.receipt_code}"


class Notice(TimeStampedModel):
    """通知公告 from a station (or the whole sub-bureau when `station` is empty), shown on the portal while
    published and not expired."""

    TERRITORY = ("station", "station_id")

    station = models.ForeignKey(
        "org.Station", models.CASCADE, related_name="notices", null=True, blank=True, verbose_name=_("派出所")
    )
    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("正文"), max_length=5000)
    status = models.CharField(
        _("状态"), max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    expires_on = models.DateField(_("有效期至"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("创建人")
    )

    class Meta:
        verbose_name = _("通知公告")
        verbose_name_plural = _("通知公告")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Survey(TimeStampedModel):
    """A 知晓率/满意率/安全感 questionnaire for a period, sampled in chosen grids (one link and QR code per grid,
    SurveyGrid). A station's survey covers its grids; a sub-bureau one (`station` empty) any grid."""

    TERRITORY = ("station", "station_id")

    title = models.CharField(_("标题"), max_length=100)
    station = models.ForeignKey(
        "org.Station", models.PROTECT, related_name="surveys", null=True, blank=True, verbose_name=_("派出所")
    )
    opens_on = models.DateField(_("开始日期"))
    closes_on = models.DateField(_("结束日期"))
    status = models.CharField(
        _("状态"), max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT
    )
    target_per_grid = models.PositiveSmallIntegerField(_("每网格样本量"), default=30)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("创建人")
    )

    class Meta:
        verbose_name = _("群众问卷")
        verbose_name_plural = _("群众问卷")
        ordering = ["-opens_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_on__gte=models.F("opens_on")), name="portal_survey_dates"
            )
        ]

    def __str__(self) -> str:
        return self.title


class SurveyGrid(models.Model):
    """A grid a survey samples, with the unguessable token of its link and QR code (/portal/s/<token>/)."""

    survey = models.ForeignKey(Survey, models.CASCADE, related_name="grids", verbose_name=_("问卷"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    token = models.CharField(_("链接码"), max_length=32, unique=True)

    class Meta:
        verbose_name = _("抽样网格")
        verbose_name_plural = _("抽样网格")
        constraints = [models.UniqueConstraint(fields=["survey", "grid"], name="portal_survey_grid_unique")]

    def __str__(self) -> str:
        return f"{self.survey} · {self.grid}"


class SurveyResponse(models.Model):
    """One resident's answer. The phone is kept only as a keyed hash (portal.phones.phone_hash), enough to
    refuse a second answer from the same phone to the same survey and nothing more. The awareness answers are
    multiple choice among the real name / phone / room and decoys; `knows_*` says whether the choice was right
    (知晓率 counts a response that got at least one right)."""

    TERRITORY = ("grid", "grid_id")

    survey = models.ForeignKey(Survey, models.PROTECT, related_name="responses", verbose_name=_("问卷"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    phone_hash = models.CharField(_("手机号摘要"), max_length=64)
    submitted_at = models.DateTimeField(_("提交时间"), db_index=True)
    knows_officer = models.BooleanField(_("知道社区民警"), default=False)
    knows_phone = models.BooleanField(_("知道民警电话"), default=False)
    knows_room = models.BooleanField(_("知道警务室位置"), default=False)
    satisfaction = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True)
    safety = models.PositiveSmallIntegerField(_("安全感"), null=True, blank=True)
    comment = models.CharField(_("意见建议"), max_length=500, blank=True)
    answers = models.JSONField(_("原始作答"), default=dict, blank=True)

    class Meta:
        verbose_name = _("问卷答卷")
        verbose_name_plural = _("问卷答卷")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "phone_hash"], name="portal_one_answer_per_phone"),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="portal_satisfaction_scale",
            ),
            models.CheckConstraint(
                condition=Q(safety__isnull=True) | Q(safety__gte=1, safety__lte=5), name="portal_safety_scale"
            ),
        ]
        indexes = [models.Index(fields=["grid", "submitted_at"], name="portal_resp_grid_time")]

    def __str__(self) -> str:
        return f"{self.survey} #{self.pk}"

    @property
    def aware(self) -> bool:
        return self.knows_officer or self.knows_phone or self.knows_room


class PhoneCode(models.Model):
    """A one-time code sent to a phone (portal.phones): stored as hashes only, valid a few minutes, a few tries."""

    phone_hash = models.CharField(_("手机号摘要"), max_length=64, db_index=True)
    purpose = models.CharField(_("用途"), max_length=12, choices=VerificationPurpose.choices)
    scope = models.CharField(_("对象"), max_length=40, blank=True)  # e.g. the survey token
    code_hash = models.CharField(_("验证码摘要"), max_length=64)
    created_at = models.DateTimeField(_("发送时间"))
    expires_at = models.DateTimeField(_("失效时间"))
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("短信验证码")
        verbose_name_plural = _("短信验证码")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"
