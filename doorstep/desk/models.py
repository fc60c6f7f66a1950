"""Service desk of the police room (警务室服务台): business types, intakes and their history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doorstep.core import crypto
from doorstep.core.models import TimeStampedModel
from doorstep.desk.choices import InspectionStatus, IntakeKind, IntakeStatus, LimitUnit, TaskStatus


class BusinessType(TimeStampedModel):
    """业务类型: a household-registration business the police room takes, its documents and time limit."""

    name = models.CharField(_("业务名称"), max_length=50, unique=True)
    documents = models.JSONField(_("所需材料"), default=list, blank=True)
    time_limit = models.PositiveIntegerField(_("办理时限"), default=0)
    limit_unit = models.CharField(
        _("时限单位"), max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_DAYS
    )
    instant = models.BooleanField(_("即办"), default=False)
    active = models.BooleanField(_("启用"), default=True)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("业务类型")
        verbose_name_plural = _("业务类型")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def limit_label(self) -> str:
        if self.instant:
            return str(_("即办（当日办结）"))
        if self.limit_unit == LimitUnit.WORKING_DAYS:
            return str(_("%(n)s个工作日") % {"n": self.time_limit})
        return str(_("%(n)s小时") % {"n": self.time_limit})


class Intake(crypto.EncryptedModel, TimeStampedModel):
    """受理事项: one item taken at a police room's service desk, quoted by the resident by its 回执号."""

    TERRITORY = ("community", "room__community_id")

    receipt_no = models.CharField(_("回执号"), max_length=24, unique=True)
    room = models.ForeignKey(
        "org.PoliceRoom", models.PROTECT, related_name="intakes", verbose_name=_("警务室")
    )
    station = models.ForeignKey(
        "org.Station", models.PROTECT, related_name="intakes", verbose_name=_("派出所")
    )
    kind = models.CharField(_("类别"), max_length=12, choices=IntakeKind.choices)
    status = models.CharField(_("状态"), max_length=20, choices=IntakeStatus.choices)
    business_type = models.ForeignKey(
        BusinessType,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="intakes",
        verbose_name=_("业务类型"),
    )
    # [{"name": "身份证", "received": true}, …]: the checklist as it stood when taken and as ticked since.
    documents = models.JSONField(_("材料清单"), default=list, blank=True)
    # The applicant (for a case: the person reporting it).
    applicant_name = models.CharField(_("申请人/报案人"), max_length=50)
    # Encrypted at rest (core.crypto); nothing searches the desk by them, so no hash columns.
    id_number = crypto.EncryptedCharField(_("公民身份号码"), max_length=18)
    phone = crypto.EncryptedCharField(_("联系电话"), max_length=20, blank=True)
    person = models.ForeignKey(
        "registry.Person",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("实有人口"),
    )
    address = models.ForeignKey(
        "registry.Address",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("标准地址"),
    )
    address_text = models.CharField(_("地址"), max_length=200, blank=True)
    summary = models.TextField(_("事由/内容"), max_length=2000, blank=True)
    # Case reports (警情/案件): what happened where and when; the station's case number.
    occurred_at = models.DateTimeField(_("发生时间"), null=True, blank=True)
    place = models.CharField(_("发生地点"), max_length=200, blank=True)
    case_year = models.PositiveSmallIntegerField(_("案件年度"), null=True, blank=True)
    case_seq = models.PositiveIntegerField(_("案件序号"), null=True, blank=True)
    case_number = models.CharField(_("案件编号"), max_length=40, blank=True)
    # Disputes: the other party, for the mediation room (#8) to take over.
    other_party = models.CharField(_("对方当事人"), max_length=100, blank=True)

    owner = models.ForeignKey(
        "org.Staff",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="desk_items",
        verbose_name=_("承办人"),
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("受理人")
    )
    received_at = models.DateTimeField(_("受理时间"))
    due_at = models.DateTimeField(_("办理期限"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    outcome = models.CharField(_("结果/理由"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("受理事项")
        verbose_name_plural = _("受理事项")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["room", "status"]), models.Index(fields=["status", "due_at"])]
        constraints = [
            # Case numbers run per station per year; the constraint is what makes concurrent intakes safe.
            models.UniqueConstraint(
                fields=["station", "case_year", "case_seq"], name="desk_case_number_per_station_year"
            ),
        ]

    def __str__(self) -> str:
        return self.receipt_no

    @property
    def missing_documents(self) -> list[str]:
        return [d["name"] for d in self.documents if not d.get("received")]


class IntakeStep(models.Model):
    """办理记录: one step in an intake's life — who, when, what, with a note."""

    TERRITORY = ("community", "intake__room__community_id")

    intake = models.ForeignKey(Intake, models.CASCADE, related_name="steps", verbose_name=_("受理事项"))
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+", verbose_name=_("操作人")
    )
    by_name = models.CharField(_("操作人"), max_length=100)
    action = models.CharField(_("操作"), max_length=30)
    from_status = models.CharField(_("原状态"), max_length=20, choices=IntakeStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20, choices=IntakeStatus.choices, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.intake_id} {self.action}"


# --- 五统一 inspections -----------------------------------------------------------------------------------------
class Checklist(models.Model):
    """检查标准（版本）: one published version of the 五统一 checklist; editing publishes a new version."""

    version = models.PositiveIntegerField(_("版本"), unique=True)
    published_at = models.DateTimeField(_("发布时间"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发布人"),
    )
    note = models.CharField(_("修订说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("检查标准")
        verbose_name_plural = _("检查标准")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"


class ChecklistItem(models.Model):
    """检查项: one sub-item of a 五统一 category with its points (权重), in one checklist version."""

    checklist = models.ForeignKey(Checklist, models.CASCADE, related_name="items", verbose_name=_("检查标准"))
    category = models.CharField(_("类别"), max_length=30)
    text = models.CharField(_("检查内容"), max_length=200)
    points = models.PositiveSmallIntegerField(_("分值"))
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("检查项")
        verbose_name_plural = _("检查项")
        ordering = ["checklist", "position", "id"]

    def __str__(self) -> str:
        return f"{self.category}·{self.text}"


class Inspection(models.Model):
    """五统一检查: one inspection of a police room, scored on the checklist version it was started with."""

    TERRITORY = ("community", "room__community_id")

    room = models.ForeignKey(
        "org.PoliceRoom", models.PROTECT, related_name="inspections", verbose_name=_("警务室")
    )
    station = models.ForeignKey(
        "org.Station", models.PROTECT, related_name="room_inspections", verbose_name=_("派出所")
    )
    checklist = models.ForeignKey(
        Checklist, models.PROTECT, related_name="inspections", verbose_name=_("检查标准")
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=InspectionStatus.choices, default=InspectionStatus.DRAFT
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("检查人")
    )
    inspector_name = models.CharField(_("检查人"), max_length=100)
    started_at = models.DateTimeField(_("开始时间"))
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    points_total = models.PositiveIntegerField(_("总分值"), default=0)
    points_passed = models.PositiveIntegerField(_("合格分值"), default=0)
    score = models.DecimalField(_("得分"), max_digits=4, decimal_places=1, null=True, blank=True)
    note = models.CharField(_("检查意见"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("五统一检查")
        verbose_name_plural = _("五统一检查")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["room", "status", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.room_id} {self.started_at:%Y-%m-%d}"


class InspectionRow(models.Model):
    """检查记录行: one checklist item as scored in an inspection (text and points copied, so they stay)."""

    TERRITORY = ("community", "inspection__room__community_id")

    inspection = models.ForeignKey(Inspection, models.CASCADE, related_name="rows", verbose_name=_("检查"))
    category = models.CharField(_("类别"), max_length=30)
    text = models.CharField(_("检查内容"), max_length=200)
    points = models.PositiveSmallIntegerField(_("分值"))
    position = models.PositiveSmallIntegerField(_("排序"), default=0)
    passed = models.BooleanField(_("是否合格"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("检查记录行")
        verbose_name_plural = _("检查记录行")
        ordering = ["inspection", "position", "id"]

    def __str__(self) -> str:
        return f"{self.category}·{self.text}"


class InspectionPhoto(models.Model):
    """检查照片: a photo taken for one inspection row (re-encoded JPEG, served only inside the territory)."""

    TERRITORY = ("community", "row__inspection__room__community_id")

    row = models.ForeignKey(InspectionRow, models.CASCADE, related_name="photos", verbose_name=_("检查项"))
    image = models.ImageField(_("照片"), upload_to="inspections/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("上传人")
    )
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("检查照片")
        verbose_name_plural = _("检查照片")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.row_id} photo {self.pk}"


class RectificationTask(models.Model):
    """整改任务: a failed inspection item to put right by a staff member of the room's station by a date."""

    TERRITORY = ("community", "room__community_id")

    row = models.OneToOneField(InspectionRow, models.PROTECT, related_name="task", verbose_name=_("不合格项"))
    inspection = models.ForeignKey(Inspection, models.PROTECT, related_name="tasks", verbose_name=_("检查"))
    room = models.ForeignKey(
        "org.PoliceRoom", models.PROTECT, related_name="rectification_tasks", verbose_name=_("警务室")
    )
    station = models.ForeignKey(
        "org.Station", models.PROTECT, related_name="rectification_tasks", verbose_name=_("派出所")
    )
    owner = models.ForeignKey(
        "org.Staff", models.PROTECT, related_name="rectification_tasks", verbose_name=_("整改责任人")
    )
    status = models.CharField(_("状态"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_at = models.DateTimeField(_("下达时间"))
    due_on = models.DateField(_("整改期限"))
    closed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("确认人"),
    )
    close_note = models.CharField(_("整改情况"), max_length=300, blank=True)
    close_photo = models.ImageField(_("整改照片"), upload_to="rectifications/", blank=True)

    class Meta:
        verbose_name = _("整改任务")
        verbose_name_plural = _("整改任务")
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["room", "status", "due_on"])]

    def __str__(self) -> str:
        return f"{self.room_id} {self.row}"
