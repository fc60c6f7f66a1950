"""Who may do what in proactive policing, and every scoped read.

- See (their territory): leaders, the evaluation office, administrators (all); directors and dispatchers
  (their station); community officers and auxiliaries (their communities); patrol members (their
  community). Mediators have no patrol pages (404).
- Run patrols and record findings: officers, auxiliaries, patrol members and the director.
- Keep zones, teams and members, plans, campaigns, posts: the director (their station), community officers
  (their communities: they lead the volunteer teams), administrators.
- Record publicity events and meetings, answer issues: officers, auxiliaries and the director.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from doorstep.accounts.choices import Role
from doorstep.org.territory import Territory

VIEW_ROLES = frozenset(
    {
        Role.LEADER,
        Role.EVALUATOR,
        Role.ADMIN,
        Role.DIRECTOR,
        Role.DISPATCHER,
        Role.OFFICER,
        Role.AUXILIARY,
        Role.PATROL,
    }
)
RUN_ROLES = frozenset({Role.OFFICER, Role.AUXILIARY, Role.PATROL, Role.DIRECTOR})
MANAGE_ROLES = frozenset({Role.DIRECTOR, Role.OFFICER, Role.ADMIN})
RECORD_ROLES = frozenset({Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR})
MAX_PK = 2**63


def role(user: Any) -> str | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def may_view(user: Any) -> bool:
    return role(user) in VIEW_ROLES


def require_view(user: Any) -> None:
    if not may_view(user):
        raise Http404


def _covers(user: Any, community_id: int | None) -> bool:
    territory = Territory.for_user(user)
    return community_id is None or territory.whole or community_id in territory.community_ids


def may_run(user: Any, community_id: int | None = None) -> bool:
    return role(user) in RUN_ROLES and _covers(user, community_id)


def may_manage(user: Any, community_id: int | None = None) -> bool:
    return role(user) in MANAGE_ROLES and _covers(user, community_id)


def may_record(user: Any, community_id: int | None = None) -> bool:
    return role(user) in RECORD_ROLES and _covers(user, community_id)


def check_pk(pk: int) -> None:
    """Path ids beyond 64 bits are a 404, not an OverflowError from the database."""
    if pk >= MAX_PK:
        raise Http404
