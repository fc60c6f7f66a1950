"""Who may do what on the staff side of the portal (网上警务, /online/), and every scoped read.

- The queue of what residents sent (网上受理): leaders, the evaluation office and administrators see all;
  directors and dispatchers their station; officers and auxiliaries their communities. Handling an item
  (accept, reply, finish, refuse, hand to the service desk or to mediation): directors, dispatchers,
  officers and auxiliaries in whose territory it lies. A resident's phone is masked; officers and directors
  may reveal it with a purpose (audited, registry.privacy.reveal).
- Appointment slots of a police room: the station's director, the room's community officers, administrators.
- Notices: a station's director (their station), administrators (any, and sub-bureau-wide ones).
- Surveys: leaders, the evaluation office and administrators (sub-bureau surveys, any grid); directors (their
  station's grids). Results are read by the same roles and by officers for their own grids.
- House-plate QR sheets: officers and auxiliaries (their grids), directors (their station), administrators.
Anything outside the user's territory is a 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from doorstep.accounts.choices import Role
from doorstep.org.territory import Territory

ALL_ROLES = frozenset({Role.LEADER, Role.EVALUATOR, Role.ADMIN})
QUEUE_ROLES = ALL_ROLES | {Role.DIRECTOR, Role.DISPATCHER, Role.OFFICER, Role.AUXILIARY}
HANDLE_ROLES = frozenset({Role.DIRECTOR, Role.DISPATCHER, Role.OFFICER, Role.AUXILIARY})
SLOT_ROLES = frozenset({Role.DIRECTOR, Role.OFFICER, Role.ADMIN})
NOTICE_ROLES = frozenset({Role.DIRECTOR, Role.ADMIN})
SURVEY_ROLES = frozenset({Role.LEADER, Role.EVALUATOR, Role.ADMIN, Role.DIRECTOR})
SURVEY_VIEW_ROLES = SURVEY_ROLES | {Role.OFFICER}
QR_ROLES = frozenset({Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR, Role.ADMIN})


def role(user: Any) -> str | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def may_view_queue(user: Any) -> bool:
    return role(user) in QUEUE_ROLES


def may_handle(user: Any, item: Any) -> bool:
    """Handle a submission: its community in the user's territory, or (no community worked out) a director or
    dispatcher of its station; an item placed nowhere (no station either) by anyone in HANDLE_ROLES with the
    whole sub-bureau, or an administrator — who place it in a community (`may_place`)."""
    r = role(user)
    territory = Territory.for_user(user)
    if item.station_id is None and item.community_id is None:
        return r == Role.ADMIN or (r in HANDLE_ROLES and territory.whole)
    if r not in HANDLE_ROLES:
        return False
    if territory.whole:
        return True
    if item.community_id is not None:
        return item.community_id in territory.community_ids
    return r in {Role.DIRECTOR, Role.DISPATCHER} and item.station_id in territory.station_ids


def may_place(user: Any, item: Any, community: Any = None) -> bool:
    """转派: put an item in a community's queue — an item placed nowhere (whoever may handle it), or an item
    of a station without a community yet or in the wrong community (the station's director or dispatcher,
    within the station)."""
    if not may_handle(user, item):
        return False
    if item.station_id is None and item.community_id is None:
        return True
    if role(user) not in {Role.DIRECTOR, Role.DISPATCHER, Role.ADMIN}:
        return False
    return community is None or community.station_id == item.station_id


def may_publish_slots(user: Any, community_id: int | None = None) -> bool:
    """Publish or cancel appointment slots (of a room in `community_id`, or of some room when None)."""
    if role(user) not in SLOT_ROLES:
        return False
    territory = Territory.for_user(user)
    return community_id is None or territory.whole or community_id in territory.community_ids


def may_manage_notices(user: Any, station_id: int | None = None) -> bool:
    """Write notices of `station_id` (None: sub-bureau-wide notices, administrators only)."""
    r = role(user)
    if r not in NOTICE_ROLES:
        return False
    if station_id is None:
        return r == Role.ADMIN
    return Territory.for_user(user).manages_station(station_id)


def may_manage_surveys(user: Any, station_id: int | None = None) -> bool:
    """Create and run surveys of `station_id` (None: sub-bureau surveys, not for directors)."""
    r = role(user)
    if r not in SURVEY_ROLES:
        return False
    if station_id is None:
        return r != Role.DIRECTOR
    return Territory.for_user(user).manages_station(station_id)


def may_view_surveys(user: Any) -> bool:
    return role(user) in SURVEY_VIEW_ROLES


def may_print_qr(user: Any) -> bool:
    return role(user) in QR_ROLES


def scoped(user: Any, qs: QuerySet[Any]) -> QuerySet[Any]:
    """`qs` filtered by the user's territory through the model's TERRITORY declaration."""
    return Territory.for_user(user).filter(qs)


def submissions_for(user: Any) -> QuerySet[Any]:
    from doorstep.portal.models import Submission

    if not may_view_queue(user):
        raise Http404
    territory = Territory.for_user(user)
    qs = Submission.objects.select_related("station", "community", "grid", "room", "business_type")
    if role(user) in ALL_ROLES or territory.whole:
        return qs
    if role(user) in {Role.DIRECTOR, Role.DISPATCHER}:
        return qs.filter(
            Q(station_id__in=territory.station_ids) | Q(community_id__in=territory.community_ids)
        )
    return qs.filter(community_id__in=territory.community_ids)
