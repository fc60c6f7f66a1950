"""Helpers of the duty tests: times in local (Asia/Shanghai) time and eligible staff of a room's station."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from doorstep.conftest import make_staff
from doorstep.org.choices import StaffKind


def at(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """Local time on 2026-11-(day) — a Monday is 2026-11-23, 2026-11-30."""
    return timezone.make_aware(dt.datetime(2026, 11, 1, hour, minute) + dt.timedelta(days=day - 1))


def patrol_member(world, station=None, name="陈强"):
    return make_staff(world.sub_bureau, station or world.s1, StaffKind.PATROL, name)
