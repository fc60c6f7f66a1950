"""24-hour police-room cover: the roster (shifts), clock-ins with GPS, and the alerts of an unstaffed room."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from doorstep.core.models import TimeStampedModel
from doorstep.duty.choices import (
    AlertReason,
    AssessmentGroup,
    AssessmentResult,
    AttendanceMark,
    CourseForm,
    StationDutyKind,
    SwapStatus,
)
from doorstep.org.models import PoliceRoom, Staff, Station, SubBureau


class RoomShift(TimeStampedModel):
    """警务室值守班次: one person covering a police room from `starts_at` to `ends_at` (may cross midnight)."""

    TERRITORY = ("community", "room__community_id")

    room = models.ForeignKey(PoliceRoom, models.PROTECT, related_name="shifts", verbose_name=_("警务室"))
    staff = models.ForeignKey(Staff, models.PROTECT, related_name="room_shifts", verbose_name=_("值守人员"))
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("排班人"),
    )

    class Meta:
        verbose_name = _("值守班次")
        verbose_name_plural = _("值守班次")
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["room", "starts_at"]),
            models.Index(fields=["staff", "starts_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="duty_shift_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.room} {self.staff.name} {self.starts_at:%m-%d %H:%M}"


class Attendance(TimeStampedModel):
    """值守签到: a person's clock-in at a police room (time and GPS) and, later, the clock-out."""

    TERRITORY = ("community", "room__community_id")

    room = models.ForeignKey(PoliceRoom, models.PROTECT, related_name="attendances", verbose_name=_("警务室"))
    staff = models.ForeignKey(Staff, models.PROTECT, related_name="room_attendances", verbose_name=_("人员"))
    shift = models.ForeignKey(
        RoomShift, models.SET_NULL, null=True, blank=True, related_name="attendances", verbose_name=_("班次")
    )
    clock_in_at = models.DateTimeField(_("签到时间"))
    in_lng = models.FloatField(_("签到经度"))
    in_lat = models.FloatField(_("签到纬度"))
    in_accuracy_m = models.FloatField(_("签到定位精度（米）"))
    in_distance_m = models.FloatField(_("签到距警务室（米）"))
    no_shift = models.BooleanField(_("无排班"), default=False)
    late = models.BooleanField(_("迟到"), default=False)
    late_minutes = models.PositiveIntegerField(_("迟到分钟"), default=0)
    clock_out_at = models.DateTimeField(_("签退时间"), null=True, blank=True)
    out_lng = models.FloatField(_("签退经度"), null=True, blank=True)
    out_lat = models.FloatField(_("签退纬度"), null=True, blank=True)
    out_accuracy_m = models.FloatField(_("签退定位精度（米）"), null=True, blank=True)
    out_distance_m = models.FloatField(_("签退距警务室（米）"), null=True, blank=True)
    out_outside = models.BooleanField(_("签退不在范围内"), default=False)
    # Closed by the system, not the person: left open past `rules.PROOF_HORIZON` (a forgotten clock-out).
    auto_closed = models.BooleanField(_("未签退，系统关闭"), default=False)

    class Meta:
        verbose_name = _("值守签到")
        verbose_name_plural = _("值守签到")
        ordering = ["-clock_in_at", "-id"]
        indexes = [
            models.Index(fields=["room", "clock_in_at"]),
            # The live board reads only recent clock-outs (and the last one of a room opening an alert).
            models.Index(fields=["room", "clock_out_at"]),
        ]
        constraints = [
            # One open attendance per person: nobody is on duty in two rooms at once.
            models.UniqueConstraint(
                fields=["staff"], condition=Q(clock_out_at__isnull=True), name="duty_one_open_attendance"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff.name} @ {self.room} {self.clock_in_at:%m-%d %H:%M}"


class RoomAlert(TimeStampedModel):
    """警务室无人值守告警: raised for the station when a room has had nobody for too long."""

    TERRITORY = ("community", "room__community_id")

    room = models.ForeignKey(PoliceRoom, models.PROTECT, related_name="duty_alerts", verbose_name=_("警务室"))
    reason = models.CharField(_("原因"), max_length=12, choices=AlertReason.choices)
    opened_at = models.DateTimeField(_("告警时间"))
    empty_since = models.DateTimeField(_("无人起始时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        Attendance, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("解除签到")
    )

    class Meta:
        verbose_name = _("无人值守告警")
        verbose_name_plural = _("无人值守告警")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["room"], condition=Q(closed_at__isnull=True), name="duty_one_open_alert_per_room"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.room} {self.get_reason_display()} {self.opened_at:%m-%d %H:%M}"


# --- training (培训) ---------------------------------------------------------------------------------------
class TrainingCourse(TimeStampedModel):
    """培训课程: one course, organised by the sub-bureau (station empty) or by one station for its staff."""

    sub_bureau = models.ForeignKey(
        SubBureau, models.PROTECT, related_name="training_courses", verbose_name=_("分局")
    )
    # Empty: organised by the sub-bureau for all (or the target) stations.
    station = models.ForeignKey(
        Station,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="training_courses",
        verbose_name=_("主办派出所"),
    )
    title = models.CharField(_("课程名称"), max_length=120)
    form = models.CharField(_("培训形式"), max_length=12, choices=CourseForm.choices)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    hours = models.DecimalField(_("学时"), max_digits=5, decimal_places=1)
    place = models.CharField(_("地点或链接"), max_length=200, blank=True)
    trainer = models.CharField(_("授课人"), max_length=100, blank=True)
    content = models.TextField(_("培训内容"), blank=True)
    target_stations = models.ManyToManyField(
        Station, blank=True, related_name="+", verbose_name=_("参训派出所")
    )
    # Staff kinds (org.choices.StaffKind codes) the course is for; empty: everybody.
    target_kinds = models.JSONField(_("参训人员类别"), default=list, blank=True)
    capacity = models.PositiveIntegerField(_("名额"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("创建人"),
    )

    class Meta:
        verbose_name = _("培训课程")
        verbose_name_plural = _("培训课程")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["station", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="duty_course_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(hours__gt=0), name="duty_course_hours_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class TrainingEnrolment(TimeStampedModel):
    """参训人员: one staff member enrolled on a course, with their attendance (出勤/缺勤/请假)."""

    TERRITORY = ("station", "staff__station_id")

    course = models.ForeignKey(
        TrainingCourse, models.CASCADE, related_name="enrolments", verbose_name=_("培训课程")
    )
    staff = models.ForeignKey(
        Staff, models.PROTECT, related_name="training_enrolments", verbose_name=_("人员")
    )
    attendance = models.CharField(
        _("出勤"), max_length=10, choices=AttendanceMark.choices, default=AttendanceMark.PENDING, blank=True
    )
    attendance_at = models.DateTimeField(_("出勤登记时间"), null=True, blank=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("报名登记人"),
    )

    class Meta:
        verbose_name = _("参训人员")
        verbose_name_plural = _("参训人员")
        ordering = ["course", "staff__badge_number"]
        constraints = [
            models.UniqueConstraint(fields=["course", "staff"], name="duty_one_enrolment_per_course"),
        ]

    def __str__(self) -> str:
        return f"{self.course} {self.staff.name}"


class Mentorship(TimeStampedModel):
    """师傅带学结对: a mentor (师傅) paired with an apprentice (徒弟) within a 师傅带学 course, for a period."""

    TERRITORY = ("station", "apprentice__station_id")

    course = models.ForeignKey(
        TrainingCourse, models.CASCADE, related_name="mentorships", verbose_name=_("培训课程")
    )
    mentor = models.ForeignKey(Staff, models.PROTECT, related_name="apprentices", verbose_name=_("师傅"))
    apprentice = models.ForeignKey(Staff, models.PROTECT, related_name="mentors", verbose_name=_("徒弟"))
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    notes = models.TextField(_("带学记录"), blank=True)

    class Meta:
        verbose_name = _("师徒结对")
        verbose_name_plural = _("师徒结对")
        ordering = ["course", "starts_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="duty_mentorship_period"),
            models.CheckConstraint(condition=~Q(mentor=F("apprentice")), name="duty_mentor_not_apprentice"),
            models.UniqueConstraint(fields=["course", "apprentice"], name="duty_one_mentor_per_apprentice"),
        ]

    def __str__(self) -> str:
        return f"{self.mentor.name} → {self.apprentice.name}"


class AssessmentItem(TimeStampedModel):
    """考核项目: one item of "三懂四会" (e.g. 懂法律, 会矛盾调解); seeded, editable by an administrator."""

    group = models.CharField(_("类别"), max_length=8, choices=AssessmentGroup.choices)
    name = models.CharField(_("项目"), max_length=40, unique=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("考核项目")
        verbose_name_plural = _("考核项目")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class Assessment(TimeStampedModel):
    """培训考核: the "三懂四会" assessment of one participant who attended a course, with its overall result."""

    TERRITORY = ("station", "enrolment__staff__station_id")

    enrolment = models.OneToOneField(
        TrainingEnrolment, models.CASCADE, related_name="assessment", verbose_name=_("参训人员")
    )
    result = models.CharField(_("考核结果"), max_length=6, choices=AssessmentResult.choices)
    assessed_on = models.DateField(_("考核日期"))
    assessor = models.CharField(_("考核人"), max_length=50)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登记人"),
    )

    class Meta:
        verbose_name = _("培训考核")
        verbose_name_plural = _("培训考核")
        ordering = ["-assessed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.enrolment} {self.get_result_display()}"


class AssessmentScore(models.Model):
    """考核项目得分: one item's score (0–100) or pass/fail within an assessment."""

    assessment = models.ForeignKey(Assessment, models.CASCADE, related_name="scores", verbose_name=_("考核"))
    item = models.ForeignKey(AssessmentItem, models.PROTECT, related_name="+", verbose_name=_("考核项目"))
    score = models.PositiveSmallIntegerField(_("得分"), null=True, blank=True)
    passed = models.BooleanField(_("通过"))

    class Meta:
        verbose_name = _("考核项目得分")
        verbose_name_plural = _("考核项目得分")
        ordering = ["item__order", "item_id"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "item"], name="duty_one_score_per_item"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__lte=100), name="duty_score_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.score if self.score is not None else self.passed}"


# --- station duty (值班备勤, 110接处警) ---------------------------------------------------------------------
class StationShift(TimeStampedModel):
    """所值班班次: one daily shift of a station's duty (值班/备勤/110接处警), its times and minimum staffing."""

    TERRITORY = ("station", "station_id")

    station = models.ForeignKey(Station, models.PROTECT, related_name="duty_shifts", verbose_name=_("派出所"))
    kind = models.CharField(_("类别"), max_length=10, choices=StationDutyKind.choices)
    name = models.CharField(_("班次名称"), max_length=20)
    # Ends at or before it starts: the shift crosses midnight (20:00–08:00).
    starts = models.TimeField(_("开始时刻"))
    ends = models.TimeField(_("结束时刻"))
    min_staff = models.PositiveSmallIntegerField(_("最低在岗人数"), default=1)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("所值班班次")
        verbose_name_plural = _("所值班班次")
        ordering = ["station", "kind", "starts", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["station", "kind", "starts"], name="duty_one_station_shift_per_start"
            ),
            models.CheckConstraint(condition=~Q(starts=F("ends")), name="duty_station_shift_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}·{self.name}（{self.starts:%H:%M}–{self.ends:%H:%M}）"


class DutyException(TimeStampedModel):
    """社区民警值班例外: the director's approval that a community officer may stand daytime 值班/110 duty."""

    TERRITORY = ("station", "station_id")

    station = models.ForeignKey(Station, models.PROTECT, related_name="+", verbose_name=_("派出所"))
    staff = models.ForeignKey(Staff, models.PROTECT, related_name="duty_exceptions", verbose_name=_("人员"))
    # Empty: any shift of the station in the date range.
    shift = models.ForeignKey(
        StationShift, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("班次")
    )
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    reason = models.CharField(_("例外理由"), max_length=300)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("批准人"),
    )
    approved_at = models.DateTimeField(_("批准时间"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("值班例外")
        verbose_name_plural = _("值班例外")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="duty_exception_period"),
        ]

    def __str__(self) -> str:
        return f"{self.staff.name} {self.starts_on}–{self.ends_on}"


class DutyAssignment(TimeStampedModel):
    """所值班排班: one person on one station shift on one day; 例外 when a director's exception allowed it."""

    TERRITORY = ("station", "shift__station_id")

    shift = models.ForeignKey(
        StationShift, models.PROTECT, related_name="assignments", verbose_name=_("班次")
    )
    staff = models.ForeignKey(Staff, models.PROTECT, related_name="duty_assignments", verbose_name=_("人员"))
    day = models.DateField(_("日期"))
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    exception = models.ForeignKey(
        DutyException,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name=_("例外"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("排班人"),
    )

    class Meta:
        verbose_name = _("所值班排班")
        verbose_name_plural = _("所值班排班")
        ordering = ["starts_at", "shift_id", "id"]
        indexes = [models.Index(fields=["staff", "starts_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["shift", "day", "staff"], name="duty_one_assignment_per_shift_day"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="duty_assignment_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.shift} {self.staff.name}"


class SwapRequest(TimeStampedModel):
    """换班申请: swap one person's station shift with a colleague's; the director approves or rejects."""

    TERRITORY = ("station", "mine__shift__station_id")

    mine = models.ForeignKey(DutyAssignment, models.CASCADE, related_name="+", verbose_name=_("本人班次"))
    theirs = models.ForeignKey(DutyAssignment, models.CASCADE, related_name="+", verbose_name=_("对方班次"))
    reason = models.CharField(_("换班理由"), max_length=300)
    status = models.CharField(
        _("状态"), max_length=10, choices=SwapStatus.choices, default=SwapStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申请人"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("换班申请")
        verbose_name_plural = _("换班申请")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(mine=F("theirs")), name="duty_swap_two_shifts"),
        ]

    def __str__(self) -> str:
        return f"{self.mine} ⇄ {self.theirs}"
