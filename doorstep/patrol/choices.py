from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TeamKind(models.TextChoices):
    FULL_TIME = "full_time", _("专职巡防队")
    VOLUNTEER = "volunteer", _("治安志愿者队")
    SECURITY = "security", _("物业保安队")
    CADRES = "cadres", _("居委会干部队")
    OTHER = "other", _("其他群防群治队伍")


# Team kinds made of volunteers: led by a community officer (the seed: 社区民警带领志愿者巡逻).
VOLUNTEER_KINDS = frozenset({TeamKind.VOLUNTEER, TeamKind.SECURITY, TeamKind.CADRES, TeamKind.OTHER})


class MemberKind(models.TextChoices):
    FULL_TIME = "full_time", _("专职巡防队员")
    VOLUNTEER = "volunteer", _("志愿者")


class PatrolStatus(models.TextChoices):
    RUNNING = "running", _("巡逻中")
    DONE = "done", _("已完成")
    VOID = "void", _("已作废")


class PointFlag(models.TextChoices):
    OK = "ok", _("正常")
    INACCURATE = "inaccurate", _("精度差")
    JUMP = "jump", _("跳点")
    OUTSIDE = "outside", _("远离区域")
    GAP = "gap", _("中断后首点")


class FindingKind(models.TextChoices):
    HAZARD = "hazard", _("安全隐患")
    SUSPICIOUS = "suspicious", _("可疑人员")
    DISPUTE = "dispute", _("矛盾纠纷")
    INCIDENT = "incident", _("警情/案件")
    OTHER = "other", _("其他")


class Theme(models.TextChoices):
    FIRE = "fire", _("防火")
    ROBBERY = "robbery", _("防抢")
    THEFT = "theft", _("防盗")
    FRAUD = "fraud", _("防骗")
    TERROR = "terror", _("反恐")
    GENERAL = "general", _("综合")


class PostStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    WITHDRAWN = "withdrawn", _("已撤回")


class MeetingKind(models.TextChoices):
    TALK = "talk", _("警民恳谈会")
    OPEN_DAY = "open_day", _("警务室开放日")


class IssueStatus(models.TextChoices):
    OPEN = "open", _("待答复")
    ANSWERED = "answered", _("已答复")


# The minimum of full-time patrol members per community (the seed: 每个社区专职巡防队员不少于4人).
MIN_FULL_TIME_PER_COMMUNITY = 4
# At least one police–resident meeting or open day per community per month.
MEETINGS_PER_MONTH = 1
DEFAULT_MATERIALS = ("平安防范手册", "反恐防范手册", "防范电信网络诈骗宣传单", "消防安全知识手册")
