"""Who may use the service desk, and every scoped read of it.

Desk pages exist for the roles in VIEW_ROLES (others get a 404, as for objects outside the territory).
Intake and the lifecycle are for the station's people at the desk: officers, auxiliaries, the director
and dispatchers (ACT_ROLES); leaders, evaluators and administrators see but may not act (403). Business
types are one sub-bureau-wide list, so only the roles that run the whole sub-bureau keep it (leaders and
administrators, as for the colour rules and the inspection checklist); a station director sees it (403 on
edits), since a change made for one station would change every station's desk.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.http import Http404

from doorstep.accounts.choices import Role
from doorstep.desk.choices import CLOCK_RUNNING
from doorstep.desk.models import BusinessType, Intake
from doorstep.org.models import PoliceRoom, Staff
from doorstep.org.territory import Territory, get_in_territory

ACT_ROLES = frozenset({Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR, Role.DISPATCHER})
VIEW_ROLES = ACT_ROLES | {Role.LEADER, Role.EVALUATOR, Role.ADMIN}
TYPE_ADMIN_ROLES = frozenset({Role.LEADER, Role.ADMIN})
MAX_PK = 2**63  # a path id beyond 64 bits is a 404, not an OverflowError from the database
OWNER_KINDS = ("police", "auxiliary", "leader", "dispatcher")


def _role(user: Any) -> str | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def may_view(user: Any) -> bool:
    return _role(user) in VIEW_ROLES


def may_act(user: Any, station_id: int | None = None) -> bool:
    """May take intakes and move items on, at all (station_id None) or in that station."""
    if _role(user) not in ACT_ROLES:
        return False
    return station_id is None or Territory.for_user(user).covers_station(station_id)


def may_admin_types(user: Any) -> bool:
    return _role(user) in TYPE_ADMIN_ROLES


def require_view(user: Any) -> None:
    if not may_view(user):
        raise Http404


def rooms_for(user: Any) -> QuerySet[PoliceRoom]:
    if not may_view(user):
        return PoliceRoom.objects.none()
    return (
        Territory.for_user(user)
        .filter(PoliceRoom.objects.select_related("community", "community__station"))
        .order_by("community__code")
    )


def intakes_for(user: Any) -> QuerySet[Intake]:
    if not may_view(user):
        return Intake.objects.none()
    return Territory.for_user(user).filter(
        Intake.objects.select_related("room", "station", "business_type", "owner", "received_by")
    )


def get_room_for(user: Any, pk: int) -> PoliceRoom:
    require_view(user)
    if pk >= MAX_PK:
        raise Http404
    return get_in_territory(user, rooms_for(user), pk=pk)


def get_intake_for(user: Any, pk: int) -> Intake:
    require_view(user)
    if pk >= MAX_PK:
        raise Http404
    return get_in_territory(user, intakes_for(user), pk=pk)


def overdue_q(now: dt.datetime) -> Q:
    """Items whose clock runs and whose due time has passed (待补材料 waits on the resident: never overdue)."""
    return Q(status__in=CLOCK_RUNNING, due_at__lt=now)


def with_overdue(qs: QuerySet[Intake], now: dt.datetime) -> QuerySet[Intake]:
    return qs.annotate(
        overdue=Case(
            When(overdue_q(now), then=Value(True)), default=Value(False), output_field=BooleanField()
        )
    )


def room_counts(rooms: QuerySet[PoliceRoom], now: dt.datetime, today_start: dt.datetime) -> QuerySet:
    """Each room with its open, overdue and today's intake counts (one query)."""
    return rooms.annotate(
        open_count=Count("intakes", filter=~Q(intakes__status__in=["done", "transferred", "rejected"])),
        overdue_count=Count("intakes", filter=Q(intakes__status__in=CLOCK_RUNNING, intakes__due_at__lt=now)),
        today_count=Count("intakes", filter=Q(intakes__received_at__gte=today_start)),
    )


def owners_for(station_id: int) -> QuerySet[Staff]:
    """Staff an item of this station may be assigned to."""
    return Staff.objects.filter(station_id=station_id, active=True, kind__in=OWNER_KINDS).order_by(
        "kind", "name", "badge_number"
    )


def business_types(active_only: bool = True) -> QuerySet[BusinessType]:
    qs = BusinessType.objects.all()
    return qs.filter(active=True) if active_only else qs
