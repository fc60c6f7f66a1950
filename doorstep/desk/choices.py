from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IntakeKind(models.TextChoices):
    HOUSEHOLD = "household", _("户籍业务")
    CASE = "case", _("警情/案件")
    DISPUTE = "dispute", _("矛盾纠纷")


class IntakeStatus(models.TextChoices):
    RECEIVED = "received", _("已受理")
    IN_PROGRESS = "in_progress", _("办理中")
    AWAITING_DOCUMENTS = "awaiting_documents", _("待补材料")
    PENDING_MEDIATION = "pending_mediation", _("待移交调解")
    DONE = "done", _("已办结")
    TRANSFERRED = "transferred", _("已转交")
    REJECTED = "rejected", _("不予受理")


class LimitUnit(models.TextChoices):
    WORKING_DAYS = "working_days", _("工作日")
    HOURS = "hours", _("小时")


# Statuses that end an item: no due time applies any more.
CLOSED = frozenset({IntakeStatus.DONE, IntakeStatus.TRANSFERRED, IntakeStatus.REJECTED})
# Statuses whose clock runs: 待补材料 waits on the resident, so it is never overdue (the limit restarts
# when the documents are complete).
CLOCK_RUNNING = frozenset({IntakeStatus.RECEIVED, IntakeStatus.IN_PROGRESS, IntakeStatus.PENDING_MEDIATION})

STATUS_BADGES = {
    IntakeStatus.RECEIVED: "bg-blue-lt",
    IntakeStatus.IN_PROGRESS: "bg-azure-lt",
    IntakeStatus.AWAITING_DOCUMENTS: "bg-yellow-lt",
    IntakeStatus.PENDING_MEDIATION: "bg-purple-lt",
    IntakeStatus.DONE: "bg-green-lt",
    IntakeStatus.TRANSFERRED: "bg-teal-lt",
    IntakeStatus.REJECTED: "bg-secondary-lt",
}


class InspectionStatus(models.TextChoices):
    DRAFT = "draft", _("填写中")
    SUBMITTED = "submitted", _("已提交")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("整改中")
    CLOSED = "closed", _("已整改")
