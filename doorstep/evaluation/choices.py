from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    """The territory a figure is computed for."""

    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    STATION = "station", _("派出所")
    SUB_BUREAU = "sub_bureau", _("分局")


class PeriodKind(models.TextChoices):
    WEEK = "week", _("周")
    XUN = "xun", _("旬")
    MONTH = "month", _("月")
    YEAR = "year", _("年")


class IncidentCategory(models.TextChoices):
    CRIMINAL = "criminal", _("刑事案件")
    PUBLIC_ORDER = "public_order", _("治安案件")


class IncidentSource(models.TextChoices):
    ENTERED = "entered", _("录入")
    IMPORTED = "imported", _("导入")
    DESK = "desk", _("服务台")


class Element(models.TextChoices):
    """The security elements of 治安要素掌控率 (DOMAIN: addresses, persons, houses, units, persons of concern)."""

    ADDRESS = "address", _("标准地址")
    PERSON = "person", _("实有人口")
    HOUSE = "house", _("实有房屋")
    UNIT = "unit", _("实有单位")
    CONCERN = "concern", _("重点人员")


# Incident types offered by the forms (free text allowed in imports, kept as given).
INCIDENT_TYPES = (
    "盗窃",
    "诈骗",
    "抢劫",
    "抢夺",
    "故意伤害",
    "寻衅滋事",
    "打架斗殴",
    "赌博",
    "吸毒",
    "毁坏财物",
    "其他",
)
