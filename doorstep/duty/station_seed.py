"""Demo station duty rosters (值班备勤, 110接处警): default shifts and this week's roster for each station, one
approved community-officer exception and one pending swap. Idempotent: a station that already has station
duty assignments is left alone.

    from doorstep.duty import station_seed; station_seed.seed(1)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random

from django.utils import timezone

from doorstep.core.errors import ServiceError
from doorstep.duty import station_duty
from doorstep.duty.models import DutyAssignment, DutyException, SwapRequest
from doorstep.duty.services import week_start
from doorstep.org.models import Staff, Station


def seed(seed_value: int = 1) -> dict[str, int]:
    rng = random.Random(seed_value)
    monday = week_start(timezone.localdate())
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    counts = {"stations": 0, "assignments": 0, "exceptions": 0, "swaps": 0}
    for station in Station.objects.order_by("code"):
        station_duty.ensure_default_shifts(station, by=None)
        if DutyAssignment.objects.filter(shift__station=station).exists():
            continue
        counts["stations"] += 1
        people = list(
            Staff.objects.filter(station=station, active=True, kind__in=station_duty.DUTY_KINDS).order_by(
                "badge_number"
            )
        )
        rng.shuffle(people)
        shifts = list(station.duty_shifts.filter(active=True).order_by("kind", "starts"))
        for day in days:
            for shift in shifts:
                # One short of the minimum now and then, so the roster shows what understaffing looks like.
                want = max(shift.min_staff - (1 if rng.random() < 0.15 else 0), 0)
                placed = 0
                for person in people:
                    if placed >= want:
                        break
                    try:
                        station_duty.assign(shift=shift, staff=person, day=day, by=None)
                    except ServiceError:
                        continue
                    placed += 1
                    counts["assignments"] += 1
                people = people[placed:] + people[:placed]  # rotate so the load spreads
        counts["swaps"] += _pending_swap(station, monday)
    counts["exceptions"] += _one_exception(monday)
    return counts


def _one_exception(monday: dt.date) -> int:
    """One approved exception for a community officer of the first station, used on a Saturday day shift."""
    if DutyException.objects.exists():
        return 0
    station = Station.objects.order_by("code").first()
    if station is None:
        return 0
    officer = (
        Staff.objects.filter(
            station=station, assignments__ended_on__isnull=True, assignments__position="officer"
        )
        .order_by("badge_number")
        .first()
    )
    shift = station.duty_shifts.filter(kind="dispatch", starts=dt.time(8)).first()
    if officer is None or shift is None:
        return 0
    saturday = monday + dt.timedelta(days=5)
    ex = station_duty.grant_exception(
        station=station,
        staff=officer,
        starts_on=saturday,
        ends_on=saturday,
        shift=shift,
        reason="辖区大型活动安保，110接处警警力临时不足",
        by=None,
    )
    with contextlib.suppress(ServiceError):
        station_duty.assign(shift=shift, staff=officer, day=saturday, by=None)
    return 1 if ex else 0


def _pending_swap(station: Station, monday: dt.date) -> int:
    if SwapRequest.objects.filter(mine__shift__station=station).exists():
        return 0
    now = timezone.now()
    future = list(
        DutyAssignment.objects.filter(shift__station=station, starts_at__gt=now)
        .select_related("shift", "staff")
        .order_by("starts_at")
    )
    for a in future:
        for b in future:
            if a.staff_id == b.staff_id or a.pk == b.pk:
                continue
            try:
                station_duty.request_swap(mine=a, theirs=b, reason="家中有事，申请换班", by=None, now=now)
                return 1
            except ServiceError:
                continue
    return 0
