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


# Roles that must pass two-factor login (TOTP) when settings.TWO_FACTOR_REQUIRED is on: every role that can
# see personal data. Checked against the access rules (2026-11-29), that is every role:
# - registry lists (一标三实: residents' names, addresses, masked ID numbers and phones) are scoped by territory
#   only (registry.selectors.persons_for), so every signed-in role with a territory reads them — including
#   巡防队员, who sees the residents of their community (registry/tests/test_views.py: patrol → 200);
# - 调度员: alarm consoles (unit contacts), the desk, the portal inbox; 调解员: dispute parties;
# - 考评办 and 分局领导: evaluation drill-downs to the records behind each KPI, the portal inbox, audit logs;
# - 系统管理员: every account and, through them, everything.
# Superusers are always included (accounts.two_factor.required).
TWO_FACTOR_ROLES = frozenset(Role)


class TokenScope(models.TextChoices):
    """What an API token may reach (issue #12 item 3). `read` = safe methods (GET, HEAD, OPTIONS), `write` =
    the others. The catalogue follows the real API under /api/v1/ (doorstep.urls); the device alarm
    endpoint signs each request (HMAC) and takes no token."""

    ORG_READ = "org:read", _("组织机构：读取（派出所、社区、网格、警务室、人员、任职、审批）")
    ORG_WRITE = "org:write", _("组织机构：写入（任职、离岗与借调审批）")
    REGISTRY_READ = "registry:read", _("一标三实：读取（地址、房屋、户、人员、单位、走访、查询）")
    REGISTRY_WRITE = "registry:write", _("一标三实：写入")
    MAPS_READ = "maps:read", _("电子地图：读取图层（网格、警务室、房屋、单位、摄像机、音柱）")


# The API modules and the resource of their scopes: a view in a module not listed here, which does not declare
# `token_scope` itself, is refused to every token (deny by default).
API_MODULE_SCOPES = {
    "doorstep.org.api": "org",
    "doorstep.registry.api": "registry",
    "doorstep.maps.api": "maps",
}
