"""Scoped reads for the organisation, including the 专职型 staffing board."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.org.choices import MIN_OFFICER_TENURE_DAYS, REQUIRED_PER_GRID, Position, RequestStatus
from doorstep.org.models import (
    Community,
    DepartureRequest,
    Grid,
    GridAssignment,
    PoliceRoom,
    Secondment,
    Staff,
    Station,
)
from doorstep.org.territory import Territory


def stations_for(user: Any) -> QuerySet[Station]:
    return Territory.for_user(user).filter(Station.objects.select_related("sub_bureau"))


def communities_for(user: Any) -> QuerySet[Community]:
    return Territory.for_user(user).filter(Community.objects.select_related("station", "street"))


def grids_for(user: Any) -> QuerySet[Grid]:
    return Territory.for_user(user).filter(Grid.objects.select_related("community", "community__station"))


def police_rooms_for(user: Any) -> QuerySet[PoliceRoom]:
    return Territory.for_user(user).filter(
        PoliceRoom.objects.select_related("community", "community__station")
    )


def staff_for(user: Any) -> QuerySet[Staff]:
    return Territory.for_user(user).filter(Staff.objects.select_related("station"))


def assignments_for(user: Any) -> QuerySet[GridAssignment]:
    return Territory.for_user(user).filter(
        GridAssignment.objects.select_related("grid", "grid__community", "staff")
    )


def departure_requests_for(user: Any) -> QuerySet[DepartureRequest]:
    return Territory.for_user(user).filter(
        DepartureRequest.objects.select_related(
            "assignment", "assignment__grid", "assignment__staff", "requested_by", "decided_by"
        )
    )


def secondments_for(user: Any) -> QuerySet[Secondment]:
    return Territory.for_user(user).filter(
        Secondment.objects.select_related("staff", "staff__station", "requested_by", "decided_by")
    )


@dataclass
class GridStaffing:
    grid: Grid
    officers: list[GridAssignment] = field(default_factory=list)
    auxiliaries: list[GridAssignment] = field(default_factory=list)
    seconded: list[Secondment] = field(default_factory=list)
    pending_departures: list[DepartureRequest] = field(default_factory=list)

    @property
    def officer_delta(self) -> int:
        return len(self.officers) - REQUIRED_PER_GRID[Position.OFFICER]

    @property
    def auxiliary_delta(self) -> int:
        return len(self.auxiliaries) - REQUIRED_PER_GRID[Position.AUXILIARY]

    @property
    def compliant(self) -> bool:
        return self.officer_delta == 0 and self.auxiliary_delta == 0

    def problems(self) -> list[str]:
        out = []
        if self.officer_delta < 0:
            out.append(_("缺社区民警"))
        if self.officer_delta > 0:
            out.append(_("社区民警超配%(n)d人") % {"n": self.officer_delta})
        if self.auxiliary_delta < 0:
            out.append(_("缺协勤员%(n)d人") % {"n": -self.auxiliary_delta})
        if self.auxiliary_delta > 0:
            out.append(_("协勤员超配%(n)d人") % {"n": self.auxiliary_delta})
        if self.seconded:
            out.append(_("民警抽调中"))
        return out


@dataclass
class StationStaffing:
    station: Station
    grids: list[GridStaffing]

    @property
    def grid_count(self) -> int:
        return len(self.grids)

    @property
    def compliant_count(self) -> int:
        return sum(1 for g in self.grids if g.compliant)

    @property
    def officer_gaps(self) -> int:
        return sum(max(0, -g.officer_delta) for g in self.grids)

    @property
    def auxiliary_gaps(self) -> int:
        return sum(max(0, -g.auxiliary_delta) for g in self.grids)

    @property
    def surpluses(self) -> int:
        return sum(max(0, g.officer_delta) + max(0, g.auxiliary_delta) for g in self.grids)


def staffing_board(
    user: Any, *, on: dt.date | None = None, station_id: int | None = None
) -> list[StationStaffing]:
    """Every grid of the user's territory against the 1+2 rule, grouped by station, in 4 queries."""
    on = on or timezone.localdate()
    grids = grids_for(user).order_by("community__station__code", "code")
    if station_id is not None:
        # `__id`: a huge id from the query string is then no match, where the FK lookup overflows SQLite.
        grids = grids.filter(community__station__id=station_id)
    rows = {g.pk: GridStaffing(grid=g) for g in grids}
    posts = (
        GridAssignment.objects.active_on(on)
        .filter(grid_id__in=rows.keys())
        .select_related("staff")
        .order_by("started_on")
    )
    officer_grid: dict[int, int] = {}
    for post in posts:
        row = rows[post.grid_id]
        if post.position == Position.OFFICER:
            row.officers.append(post)
            officer_grid[post.staff_id] = post.grid_id
        else:
            row.auxiliaries.append(post)
    for sec in Secondment.objects.filter(
        staff_id__in=officer_grid.keys(), status=RequestStatus.APPROVED, starts_on__lte=on, ends_on__gte=on
    ).select_related("staff"):
        rows[officer_grid[sec.staff_id]].seconded.append(sec)
    for req in DepartureRequest.objects.filter(
        assignment__grid_id__in=rows.keys(), status=RequestStatus.PENDING
    ).select_related("assignment__staff"):
        rows[req.assignment.grid_id].pending_departures.append(req)
    by_station: dict[int, list[GridStaffing]] = defaultdict(list)
    stations: dict[int, Station] = {}
    for row in rows.values():
        station = row.grid.community.station
        stations[station.pk] = station
        by_station[station.pk].append(row)
    return [
        StationStaffing(stations[sid], by_station[sid])
        for sid in sorted(stations, key=lambda s: stations[s].code)
    ]


def tenure_under_minimum(post: GridAssignment, on: dt.date) -> bool:
    return post.position == Position.OFFICER and post.tenure_days(on) < MIN_OFFICER_TENURE_DAYS
