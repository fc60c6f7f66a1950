"""Who may do what in video patrol. Reads are scoped by `Territory` as everywhere; these are the role rules."""

from __future__ import annotations

from typing import Any

from doorstep.accounts.choices import Role
from doorstep.org.territory import Territory

VIEW_ROLES = {Role.LEADER, Role.DIRECTOR, Role.DISPATCHER, Role.OFFICER, Role.AUXILIARY, Role.ADMIN}
PATROL_ROLES = {Role.LEADER, Role.DIRECTOR, Role.DISPATCHER, Role.OFFICER, Role.AUXILIARY}
BROADCAST_ROLES = {Role.LEADER, Role.DIRECTOR, Role.DISPATCHER, Role.OFFICER}


def _signed_in(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def may_view(user: Any) -> bool:
    return _signed_in(user) and (user.is_superuser or user.role in VIEW_ROLES)


def may_patrol(user: Any) -> bool:
    """Look at live pictures, run tours, record findings, handle motion events."""
    return _signed_in(user) and (user.is_superuser or user.role in PATROL_ROLES)


def may_broadcast(user: Any) -> bool:
    return _signed_in(user) and (user.is_superuser or user.role in BROADCAST_ROLES)


def may_manage(user: Any, station_id: int | None = None) -> bool:
    """Register cameras, speakers, zones, tours and presets: the director of this station (of any station
    when `station_id` is None) or a system administrator."""
    if not _signed_in(user):
        return False
    if user.is_superuser or user.role == Role.ADMIN:
        return True
    return user.role == Role.DIRECTOR and (station_id is None or user.station_id == station_id)


def covers_grid(user: Any, grid_id: int) -> bool:
    territory = Territory.for_user(user)
    return territory.whole or grid_id in territory.grid_ids
