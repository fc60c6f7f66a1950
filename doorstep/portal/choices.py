from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    """What a resident sends through the portal."""

    TIP = "tip", _("线索举报")
    SERVICE = "service", _("办事咨询")
    DISPUTE = "dispute", _("纠纷调解")
    APPOINTMENT = "appointment", _("预约办事")


class Status(models.TextChoices):
    """Where a submission stands, as the resident sees it on the status page."""

    NEW = "new", _("待受理")
    ACCEPTED = "accepted", _("已受理")
    DONE = "done", _("已办结")
    REJECTED = "rejected", _("不予受理")
    CANCELLED = "cancelled", _("已取消")


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class Rating(models.IntegerChoices):
    """The 5-point scale of 满意率 and 安全感 (DOMAIN: 很满意/满意/基本满意 count as satisfied)."""

    VERY_SATISFIED = 5, _("很满意")
    SATISFIED = 4, _("满意")
    FAIRLY = 3, _("基本满意")
    UNSATISFIED = 2, _("不满意")
    VERY_UNSATISFIED = 1, _("很不满意")


SATISFIED_MIN = Rating.FAIRLY  # a rating at or above this counts as satisfied


class SafetyRating(models.IntegerChoices):
    """安全感 on the same 5-point scale."""

    VERY_SAFE = 5, _("很安全")
    SAFE = 4, _("安全")
    FAIRLY = 3, _("基本安全")
    UNSAFE = 2, _("不太安全")
    VERY_UNSAFE = 1, _("很不安全")


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    WITHDRAWN = "withdrawn", _("已撤回")


class VerificationPurpose(models.TextChoices):
    SURVEY = "survey", _("问卷")
    SUBMISSION = "submission", _("提交事项")
