"""Demo data of police-room duty: every police room gets a roster for the current and the next week (three
8-hour shifts a day, one person each, with a deliberate gap in one room so the coverage check has something
to show) and, for the shift under way now, some people clocked in. Idempotent: a room-week that already has
shifts is left alone, and nobody is clocked in twice."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from doorstep.duty import rules, services
from doorstep.duty.models import Attendance, RoomShift
from doorstep.org.models import PoliceRoom, Staff

SHIFT_STARTS = (0, 8, 16)


def seed(seed_value: int = 0, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    rng = random.Random(seed_value)
    this_monday = services.week_start(timezone.localdate(now))
    rooms = list(PoliceRoom.objects.select_related("community").order_by("community__code"))
    pools: dict[int, list[Staff]] = {}
    created = clocked = 0
    for monday in (this_monday, this_monday + dt.timedelta(days=7)):
        start = services.local_midnight(monday)
        end = services.local_midnight(monday + dt.timedelta(days=7))
        busy: dict[tuple[int, dt.datetime], set[int]] = {}  # (station, slot start) → staff already used
        for index, room in enumerate(rooms):
            if RoomShift.objects.filter(room=room, starts_at__gte=start, starts_at__lt=end).exists():
                continue
            station_id = room.community.station_id
            if station_id not in pools:
                pools[station_id] = list(
                    Staff.objects.filter(
                        station_id=station_id, kind__in=rules.ELIGIBLE_KINDS, active=True
                    ).order_by("badge_number")
                )
            pool = pools[station_id]
            if not pool:
                continue
            # Room 2 of the list leaves Wednesday night empty: the gap the coverage check must find.
            gap_day = 2 if index == 1 else None
            for day in range(7):
                for hour in SHIFT_STARTS:
                    if day == gap_day and hour == 0:
                        continue
                    a = start + dt.timedelta(days=day, hours=hour)
                    b = a + dt.timedelta(hours=8)
                    used = busy.setdefault((station_id, a), set())
                    for staff in _rotation(pool, rng, index + day * 3 + hour // 8):
                        if staff.pk in used:
                            continue
                        clash = RoomShift.objects.filter(staff=staff, starts_at__lt=b, ends_at__gt=a).exists()
                        if clash:
                            continue
                        services.create_shift(
                            room=room, staff=staff, starts_at=a, ends_at=b, note="", by=None
                        )
                        used.add(staff.pk)
                        created += 1
                        break
    # Clock in about two rooms in three for the shift under way (the rest show 迟到 on the board).
    for room in rooms:
        for s in RoomShift.objects.filter(room=room, starts_at__lte=now, ends_at__gt=now).select_related(
            "staff"
        ):
            # One decision per shift (its own generator), so a second run decides the same and adds nothing.
            choice = random.Random(f"{seed_value}:{s.pk}")
            if (
                choice.random() > 0.67
                or Attendance.objects.filter(
                    staff=s.staff, clock_in_at__gte=s.starts_at - dt.timedelta(hours=1)
                ).exists()
                or Attendance.objects.filter(staff=s.staff, clock_out_at__isnull=True).exists()
            ):
                continue
            when = min(now, s.starts_at + dt.timedelta(minutes=choice.randint(0, 20)))
            services.clock_in(
                staff=s.staff,
                room=room,
                lng=room.lng + choice.uniform(-0.0002, 0.0002),
                lat=room.lat + choice.uniform(-0.0002, 0.0002),
                accuracy=choice.uniform(5, 25),
                by=None,
                now=when,
            )
            clocked += 1
    return {"shifts": created, "clock_ins": clocked}


def _rotation(pool: list[Staff], rng: random.Random, offset: int) -> list[Staff]:
    k = offset % len(pool)
    return pool[k:] + pool[:k]
