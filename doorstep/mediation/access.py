"""Who may do what with disputes, and every scoped read.

- See disputes (their territory): leaders, the evaluation office and administrators (all), directors,
  dispatchers and mediators (their station), officers and auxiliaries (their communities). Patrol members
  have no mediation pages (404).
- Take in a dispute: officers, auxiliaries, directors, dispatchers and mediators of the station.
- On the spot (首问首接: record the on-site mediation, transfer to the room) and follow-up visits: officers,
  auxiliaries and the director.
- In the room (sessions, outcome and agreement, escalation, referral and replies): the station's mediators
  and the director.
- Assign a mediator, keep the rota: the director (or an administrator).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from doorstep.accounts.choices import Role
from doorstep.mediation.models import Dispute
from doorstep.org.territory import Territory, get_in_territory

VIEW_ROLES = frozenset(
    {
        Role.LEADER,
        Role.EVALUATOR,
        Role.ADMIN,
        Role.DIRECTOR,
        Role.DISPATCHER,
        Role.OFFICER,
        Role.AUXILIARY,
        Role.MEDIATOR,
    }
)
INTAKE_ROLES = frozenset({Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR, Role.DISPATCHER, Role.MEDIATOR})
FIELD_ROLES = frozenset({Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR})
ROOM_ROLES = frozenset({Role.MEDIATOR, Role.DIRECTOR})
MANAGER_ROLES = frozenset({Role.DIRECTOR, Role.ADMIN})
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


def _in_station(user: Any, station_id: int | None) -> bool:
    return station_id is None or Territory.for_user(user).covers_station(station_id)


def may_take(user: Any, station_id: int | None = None) -> bool:
    return role(user) in INTAKE_ROLES and _in_station(user, station_id)


def may_field(user: Any, station_id: int | None = None) -> bool:
    return role(user) in FIELD_ROLES and _in_station(user, station_id)


def may_room(user: Any, station_id: int | None = None) -> bool:
    return role(user) in ROOM_ROLES and _in_station(user, station_id)


def may_manage(user: Any, station_id: int) -> bool:
    return role(user) in MANAGER_ROLES and Territory.for_user(user).manages_station(station_id)


def may_admin(user: Any) -> bool:
    """Sub-bureau-wide lists (dispute types) and the working-day calendar."""
    return role(user) == Role.ADMIN


def disputes_for(user: Any) -> QuerySet[Dispute]:
    if not may_view(user):
        return Dispute.objects.none()
    return Territory.for_user(user).filter(
        Dispute.objects.select_related(
            "station", "community", "grid", "dispute_type", "first_officer", "mediator", "received_by"
        )
    )


def get_dispute_for(user: Any, pk: int) -> Dispute:
    require_view(user)
    if pk >= MAX_PK:
        raise Http404
    return get_in_territory(user, disputes_for(user), pk=pk)


def todo_counts(user: Any, now) -> dict[str, int] | None:
    """The home page's mediation card: what waits on this person (None for roles without the work)."""
    import datetime as dt

    from django.utils import timezone

    from doorstep.mediation.choices import CLOCK_RUNNING, OPEN, Status

    r = role(user)
    if r not in INTAKE_ROLES:
        return None
    qs = disputes_for(user)
    today = timezone.localtime(now).date()
    staff = getattr(user, "staff", None)
    counts = {
        "overdue": qs.filter(status__in=CLOCK_RUNNING, due_at__lt=now).count(),
        "follow_up": qs.filter(
            follow_up_due__isnull=False, follow_up_due__lte=today + dt.timedelta(days=3)
        ).count(),
        "awaiting": qs.filter(status=Status.AWAITING_MEDIATOR).count()
        if r in (Role.DIRECTOR, Role.DISPATCHER)
        else 0,
        "mine": 0,
    }
    if staff is not None and r == Role.MEDIATOR:
        counts["mine"] = qs.filter(mediator=staff, status__in=OPEN).count()
    elif staff is not None and r in (Role.OFFICER, Role.AUXILIARY):
        counts["mine"] = qs.filter(first_officer=staff, status__in=OPEN).count()
    return counts
