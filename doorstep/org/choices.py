from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffKind(models.TextChoices):
    POLICE = "police", _("民警")
    AUXILIARY = "auxiliary", _("专职协勤员")
    PATROL = "patrol", _("巡防队员")
    MEDIATOR = "mediator", _("调解员")
    LEADER = "leader", _("领导")
    DISPATCHER = "dispatcher", _("调度员")


class Position(models.TextChoices):
    """A post on a grid: one community officer and two full-time auxiliaries (1+2)."""

    OFFICER = "officer", _("社区民警")
    AUXILIARY = "auxiliary", _("专职协勤员")


class AreaType(models.TextChoices):
    """Sets the emergency response norm: 5 minutes in the city, 10 in the suburbs."""

    CITY = "city", _("城区")
    SUBURB = "suburb", _("郊区")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")
    CANCELLED = "cancelled", _("已撤回")


# Posts per grid under the 1+2 staffing rule.
REQUIRED_PER_GRID = {Position.OFFICER: 1, Position.AUXILIARY: 2}
# Staff kinds that may hold each post.
POSITION_KINDS = {Position.OFFICER: StaffKind.POLICE, Position.AUXILIARY: StaffKind.AUXILIARY}
MIN_OFFICER_TENURE_DAYS = 3 * 365
