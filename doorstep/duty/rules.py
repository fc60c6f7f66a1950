"""The numbers of 24-hour police-room cover. Local practice, not national standards: each can be set in the
environment-driven settings (`DUTY_*`), these are the defaults."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from doorstep.org.choices import StaffKind

# Who may stand duty in a police room: officers, full-time auxiliaries and patrol members of its station.
ELIGIBLE_KINDS = (StaffKind.POLICE, StaffKind.AUXILIARY, StaffKind.PATROL)
MAX_SHIFT = dt.timedelta(hours=24)
# An attendance still open this long after the longest shift is a forgotten clock-out: the room is not staffed.
FORGOTTEN_CLOCK_OUT = dt.timedelta(hours=2)
# How long an open attendance proves presence; past it, the supervision tick (or the person's next clock-in)
# closes it as 未签退，系统关闭.
PROOF_HORIZON = MAX_SHIFT + FORGOTTEN_CLOCK_OUT
# A shift may be clocked into this long before it starts (arriving early is not "no shift").
EARLY_CLOCK_IN = dt.timedelta(minutes=60)
# Phone GPS reports its accuracy (metres, 68 %); up to this much of it is added to the room's radius, so a
# poor fix inside a building is not refused while a fix claiming ±2 km cannot prove anything.
MAX_ACCURACY_ALLOWANCE_M = 50.0
# A fix worse than this is refused outright as too imprecise to place anybody in a room.
MAX_ACCURACY_M = 500.0


def forgotten_before(now: dt.datetime) -> dt.datetime:
    """An attendance clocked in before this and still open is a forgotten clock-out: it proves nothing now."""
    return now - PROOF_HORIZON


def late_grace() -> dt.timedelta:
    """A clock-in later than this after the shift's start is late (迟到)."""
    return dt.timedelta(minutes=getattr(settings, "DUTY_LATE_GRACE_MINUTES", 10))


def alert_after() -> dt.timedelta:
    """A room unstaffed for longer than this (while a shift should cover it, or with no cover) raises an alert."""
    return dt.timedelta(minutes=getattr(settings, "DUTY_ALERT_AFTER_MINUTES", 15))


def geofence_limit_m(radius_m: float, accuracy_m: float) -> float:
    """The largest distance from the room at which a fix of this accuracy still counts as inside."""
    return float(radius_m) + min(max(accuracy_m, 0.0), MAX_ACCURACY_ALLOWANCE_M)


def attended(attendance: Any, shift: Any, now: dt.datetime) -> bool:
    """Whether `attendance` (made before `now`) was the person's clock-in for `shift` — so a later clock-in
    of the same shift is a return from a break, never 迟到, and somebody not there now has left (离岗), not
    failed to arrive. It was when it is linked to the shift, was made from `EARLY_CLOCK_IN` before the
    shift's start, or (clocked out by the person, not closed by the system) was still open at the start."""
    if attendance.clock_in_at >= now:
        return False
    if attendance.staff_id != shift.staff_id or attendance.room_id != shift.room_id:
        return False
    if attendance.shift_id == shift.pk or attendance.clock_in_at >= shift.starts_at - EARLY_CLOCK_IN:
        return True
    return not attendance.auto_closed and (
        attendance.clock_out_at is None or attendance.clock_out_at > shift.starts_at
    )
