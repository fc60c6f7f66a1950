from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    LEADER = "leader", _("分局领导")
    EVALUATOR = "evaluator", _("考评办")
    DIRECTOR = "director", _("所长")
    DISPATCHER = "dispatcher", _("调度员")
    OFFICER = "officer", _("社区民警")
    AUXILIARY = "auxiliary", _("协勤员")
    MEDIATOR = "mediator", _("调解员")
    PATROL = "patrol", _("巡防队员")
    ADMIN = "admin", _("系统管理员")


class Scope(models.TextChoices):
    SUB_BUREAU = "sub_bureau", _("全分局")
    STATION = "station", _("派出所")
    COMMUNITY = "community", _("社区")
    GRID = "grid", _("网格")


# Which territory each role sees. Grid-level roles see the grids of their current posts.
ROLE_SCOPE = {
    Role.LEADER: Scope.SUB_BUREAU,
    Role.EVALUATOR: Scope.SUB_BUREAU,
    Role.ADMIN: Scope.SUB_BUREAU,
    Role.DIRECTOR: Scope.STATION,
    Role.DISPATCHER: Scope.STATION,
    Role.MEDIATOR: Scope.STATION,
    Role.PATROL: Scope.COMMUNITY,
    Role.OFFICER: Scope.GRID,
    Role.AUXILIARY: Scope.GRID,
}
