"""群防群治 board (GET /patrol/): one row per community of the user's territory — full-time patrol members
(flagged under 4), volunteers, patrols and hours of the last 7 days, coverage of the last 7 and 30 days,
meetings this month and last month (a month without one is flagged), publicity events this month — with
the totals on top. The map layers of patrols are routed here too (layers.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from doorstep.org.territory import Territory
from doorstep.patrol import access, layers, stats
from doorstep.patrol.choices import MEETINGS_PER_MONTH, MIN_FULL_TIME_PER_COMMUNITY
from doorstep.patrol.coverage import coverage, mean_share

RECENT_DAYS = 7


@dataclass(frozen=True)
class Row:
    community: Any
    full_time: int
    volunteers: int
    patrols_7: int
    hours_7: float
    km_7: float
    coverage_7: float | None
    coverage_30: float | None
    meetings_this_month: int
    meetings_last_month: int
    events_this_month: int
    audience_this_month: int

    @property
    def short_staffed(self) -> bool:
        return self.full_time < MIN_FULL_TIME_PER_COMMUNITY

    @property
    def meeting_done(self) -> bool:
        return self.meetings_this_month >= MEETINGS_PER_MONTH

    @property
    def missed_last_month(self) -> bool:
        return self.meetings_last_month < MEETINGS_PER_MONTH


@dataclass(frozen=True)
class Totals:
    communities: int
    short_staffed: int
    full_time: int
    volunteers: int
    patrols_7: int
    hours_7: float
    km_7: float
    coverage_7: float | None
    missed_last_month: int
    meetings_this_month: int
    events_this_month: int


def _previous_month(day: dt.date) -> tuple[int, int]:
    return (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)


def _community_means(
    figures: dict, grid_rows: list[tuple[int, int]], ids: list[int]
) -> dict[int, float | None]:
    by: dict[int, list] = {c: [] for c in ids}
    for gid, community_id in grid_rows:
        if gid in figures and community_id in by:
            by[community_id].append(figures[gid])
    return {c: mean_share(v) for c, v in by.items()}


def board(user: Any, now: dt.datetime | None = None) -> tuple[list[Row], Totals]:
    """The rows and totals for `user` (its territory's communities; coverage over its territory's grids)."""
    from doorstep.patrol.meetings import monthly_counts
    from doorstep.patrol.teams import full_time_counts, volunteer_counts

    now = now or timezone.now()
    today = timezone.localdate(now)
    territory = Territory.for_user(user)
    communities = list(territory.communities().order_by("station__code", "code"))
    ids = [c.pk for c in communities]
    week_start = today - dt.timedelta(days=RECENT_DAYS - 1)
    month_start = today.replace(day=1)
    full_time = full_time_counts(ids)
    volunteers = volunteer_counts(ids)
    recent = stats.patrol_figures(ids, week_start, today)
    publicity = stats.publicity_figures(ids, month_start, today)
    this_month = monthly_counts(ids, today.year, today.month)
    last_month = monthly_counts(ids, *_previous_month(today))
    grids = territory.grids().exclude(boundary__isnull=True).filter(community_id__in=ids)
    grid_rows = list(grids.order_by().values_list("id", "community_id"))
    cover_7 = coverage(grids, now - dt.timedelta(days=7))
    cover_30 = coverage(grids, now - dt.timedelta(days=30))
    share_7 = _community_means(cover_7, grid_rows, ids)
    share_30 = _community_means(cover_30, grid_rows, ids)
    rows = [
        Row(
            community=c,
            full_time=full_time.get(c.pk, 0),
            volunteers=volunteers.get(c.pk, 0),
            patrols_7=recent[c.pk].patrols,
            hours_7=recent[c.pk].hours,
            km_7=recent[c.pk].km,
            coverage_7=share_7[c.pk],
            coverage_30=share_30[c.pk],
            meetings_this_month=this_month.get(c.pk, 0),
            meetings_last_month=last_month.get(c.pk, 0),
            events_this_month=publicity[c.pk].events,
            audience_this_month=publicity[c.pk].audience,
        )
        for c in communities
    ]
    totals = Totals(
        communities=len(rows),
        short_staffed=sum(r.short_staffed for r in rows),
        full_time=sum(r.full_time for r in rows),
        volunteers=sum(r.volunteers for r in rows),
        patrols_7=sum(r.patrols_7 for r in rows),
        hours_7=sum(r.hours_7 for r in rows),
        km_7=sum(r.km_7 for r in rows),
        coverage_7=mean_share(cover_7.values()),
        missed_last_month=sum(r.missed_last_month for r in rows),
        meetings_this_month=sum(r.meetings_this_month for r in rows),
        events_this_month=sum(r.events_this_month for r in rows),
    )
    return rows, totals


@login_required
@require_GET
def index(request):
    access.require_view(request.user)
    rows, totals = board(request.user)
    today = timezone.localdate()
    return render(
        request,
        "patrol/index.html",
        {
            "rows": rows,
            "totals": totals,
            "today": today,
            "last_month": dt.date(*_previous_month(today), 1),
            "min_full_time": MIN_FULL_TIME_PER_COMMUNITY,
            "may_run": access.may_run(request.user),
        },
    )


urlpatterns = [
    path("", index, name="index"),
    path("map/tracks.geojson", layers.tracks_geojson, name="tracks_geojson"),
    path("map/findings.geojson", layers.findings_geojson, name="findings_geojson"),
    path("map/coverage.geojson", layers.coverage_geojson, name="coverage_geojson"),
]
