"""Coverage of a police room by its roster: the exact intervals when nobody is assigned.

`uncovered` is the pure rule (intervals in, gaps out) that the hypothesis test exercises; `gaps` applies it to
a room's shifts in the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TypeVar

from doorstep.duty.models import RoomShift
from doorstep.org.models import PoliceRoom

T = TypeVar("T", int, float, dt.datetime)


def uncovered(intervals: Iterable[tuple[T, T]], start: T, end: T) -> list[tuple[T, T]]:
    """The maximal sub-intervals of [start, end) not covered by any half-open interval [a, b) given."""
    gaps: list[tuple[T, T]] = []
    cursor = start
    for a, b in sorted(i for i in intervals if i[1] > start and i[0] < end and i[1] > i[0]):
        if a > cursor:
            gaps.append((cursor, a))
        if b > cursor:
            cursor = b
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def shifts_between(room: PoliceRoom, start: dt.datetime, end: dt.datetime):
    return RoomShift.objects.filter(room=room, starts_at__lt=end, ends_at__gt=start)


def gaps(room: PoliceRoom, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The intervals of [start, end) when nobody is on the room's roster."""
    rows = shifts_between(room, start, end).values_list("starts_at", "ends_at")
    return uncovered(list(rows), start, end)


def gaps_by_room(
    rooms: Iterable[PoliceRoom], start: dt.datetime, end: dt.datetime
) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    """`gaps` for many rooms in one query."""
    rooms = list(rooms)
    intervals: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {room.pk: [] for room in rooms}
    rows = RoomShift.objects.filter(room__in=rooms, starts_at__lt=end, ends_at__gt=start).values_list(
        "room_id", "starts_at", "ends_at"
    )
    for room_id, a, b in rows:
        intervals[room_id].append((a, b))
    return {pk: uncovered(iv, start, end) for pk, iv in intervals.items()}
