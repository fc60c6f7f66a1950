from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoomState(models.TextChoices):
    """What the live board says about a police room now."""

    STAFFED = "staffed", _("在岗")
    LATE = "late", _("迟到")
    LEFT = "left", _("离岗")
    EMPTY = "empty", _("无人在岗")


class AlertReason(models.TextChoices):
    UNSTAFFED = "unstaffed", _("排班人员未到岗")
    NO_COVER = "no_cover", _("无排班无人值守")


class CourseForm(models.TextChoices):
    """培训形式: the training forms of 规范型 policing."""

    CENTRAL = "central", _("集中培训")
    ONLINE = "online", _("网络授课")
    EXPERT = "expert", _("专家集训")
    INSTRUCTOR = "instructor", _("教官送教")
    MENTOR = "mentor", _("师傅带学")


class AttendanceMark(models.TextChoices):
    """培训出勤: a participant's attendance at a course."""

    PENDING = "", _("未登记")
    PRESENT = "present", _("出勤")
    ABSENT = "absent", _("缺勤")
    LEAVE = "leave", _("请假")


class AssessmentGroup(models.TextChoices):
    KNOW = "know", _("三懂")
    CAN = "can", _("四会")


class AssessmentResult(models.TextChoices):
    PASS = "pass", _("合格")
    FAIL = "fail", _("不合格")


class StationDutyKind(models.TextChoices):
    """派出所值班备勤的班次类别."""

    DUTY = "duty", _("值班")
    STANDBY = "standby", _("备勤")
    DISPATCH = "dispatch", _("110接处警")


class SwapStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")
