"""Who may do what in police-room duty. Reads are scoped by `Territory` as everywhere; these are the role rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q

from doorstep.accounts.choices import Role
from doorstep.duty.rules import ELIGIBLE_KINDS
from doorstep.org.models import PoliceRoom, Staff
from doorstep.org.territory import Territory


def _signed_in(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def may_manage(user: Any, station_id: int | None = None) -> bool:
    """Keep a room's roster: the director of its station (of any station when `station_id` is None) or a
    system administrator."""
    if not _signed_in(user):
        return False
    if user.is_superuser or user.role == Role.ADMIN:
        return True
    return user.role == Role.DIRECTOR and (station_id is None or user.station_id == station_id)


def may_manage_room(user: Any, room: PoliceRoom) -> bool:
    return may_manage(user, room.community.station_id)


def duty_staff(user: Any) -> Staff | None:
    """The person this account clocks in as: its linked staff member, when that person may stand room duty."""
    if not _signed_in(user) or not user.staff_id:
        return None
    staff = user.staff
    if not staff.active or staff.kind not in ELIGIBLE_KINDS or not staff.station_id:
        return None
    return staff


def rooms_for(user: Any):
    """The police rooms the user may see."""
    qs = PoliceRoom.objects.select_related("community", "community__station").order_by("community__code")
    return Territory.for_user(user).filter(qs)


def clockable_rooms(user: Any, staff: Staff, now: dt.datetime) -> Any:
    """Where the person may clock in (the clock page and the phone workspace): rooms of their station in their
    territory, plus any room they are rostered in around now."""
    from doorstep.duty.models import RoomShift

    rostered = RoomShift.objects.filter(
        staff=staff, starts_at__lt=now + dt.timedelta(hours=24), ends_at__gt=now - dt.timedelta(hours=24)
    ).values("room_id")
    visible = rooms_for(user).values("id")
    return (
        PoliceRoom.objects.select_related("community")
        .filter(community__station_id=staff.station_id)
        .filter(Q(pk__in=visible) | Q(pk__in=rostered))
        .order_by("community__code")
    )
