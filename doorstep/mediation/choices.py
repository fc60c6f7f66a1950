from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    DESK = "desk", _("警务室服务台")
    OFFICER = "officer", _("民警现场")
    ALARM = "alarm", _("报警")
    PORTAL = "portal", _("网上警务室")
    PATROL = "patrol", _("巡逻发现")


class Procedure(models.TextChoices):
    """治安调解 (public-security mediation of a minor public-order case, 3 working days) or 人民调解."""

    PEOPLE = "people", _("人民调解")
    SECURITY = "security", _("治安调解")


class Risk(models.TextChoices):
    LOW = "low", _("低")
    MEDIUM = "medium", _("中")
    HIGH = "high", _("高")


class Status(models.TextChoices):
    ONSITE = "onsite", _("首接调解中")
    AWAITING_MEDIATOR = "awaiting_mediator", _("待分派调解员")
    IN_ROOM = "in_room", _("调解室调解中")
    STREET = "street", _("街道调解中")
    REFERRED = "referred", _("已移交职能部门")
    SETTLED = "settled", _("调解成功")
    FAILED = "failed", _("调解不成")
    CLOSED_REFERRED = "closed_referred", _("移交办结")


class Level(models.TextChoices):
    """The escalation ladder: 小事不出社区，大事不出街道, then the competent department."""

    COMMUNITY = "community", _("社区（首接/驻所调解室）")
    STREET = "street", _("街道")
    DEPARTMENT = "department", _("职能部门")


class Outcome(models.TextChoices):
    AGREEMENT = "agreement", _("达成协议")
    NO_AGREEMENT = "no_agreement", _("未达成协议")
    REFERRED = "referred", _("移交处理")


class SettledBy(models.TextChoices):
    ONSITE = "onsite", _("现场调解")
    ROOM = "room", _("调解室调解")
    STREET = "street", _("街道调解")
    DEPARTMENT = "department", _("职能部门处理")


class RotaSource(models.TextChoices):
    ROTATION = "rotation", _("轮值生成")
    SWAP = "swap", _("换班")
    MANUAL = "manual", _("所长指定")


# Statuses in which the case is over (no time limit runs; a follow-up may be due).
CLOSED = frozenset({Status.SETTLED, Status.FAILED, Status.CLOSED_REFERRED})
OPEN = frozenset(set(Status.values) - set(CLOSED))
# Statuses whose time limit runs: while a competent department has the case, its reply date is what is
# watched instead (a referral's `reply_due`).
CLOCK_RUNNING = OPEN - {Status.REFERRED}

STATUS_BADGES = {
    Status.ONSITE: "bg-blue-lt",
    Status.AWAITING_MEDIATOR: "bg-red-lt",
    Status.IN_ROOM: "bg-purple-lt",
    Status.STREET: "bg-indigo-lt",
    Status.REFERRED: "bg-teal-lt",
    Status.SETTLED: "bg-green-lt",
    Status.FAILED: "bg-secondary-lt",
    Status.CLOSED_REFERRED: "bg-cyan-lt",
}

# The competent departments (职能部门) a dispute is commonly referred to; the form offers them and accepts others.
DEPARTMENTS = (
    "司法所",
    "劳动保障监察大队",
    "市场监督管理所",
    "住房和城乡建设局",
    "街道综治中心",
    "社区居委会",
    "物业主管部门",
    "消费者协会",
    "交警大队",
    "人民法院（诉调对接）",
)

DEFAULT_TYPES = (
    "邻里纠纷",
    "家庭纠纷",
    "婚恋纠纷",
    "物业纠纷",
    "劳资纠纷",
    "消费纠纷",
    "交通纠纷",
    "其他纠纷",
)
