"""Proactive-policing figures per community and period, for the evaluation engine (#10) and the dashboard.

A period is two dates, both included: [start 00:00, end+1 00:00) in the server's time zone. Every function
takes community ids (use `community_ids_of(territory)` for a user's territory) and returns plain dataclasses,
one per community, zeros for a community without records; a ratio over nothing is None (shown as "—").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.utils import timezone

from doorstep.patrol.choices import (
    MEETINGS_PER_MONTH,
    MIN_FULL_TIME_PER_COMMUNITY,
    MemberKind,
    PatrolStatus,
    TeamKind,
)


@dataclass(frozen=True)
class PatrolFigures:
    """巡逻: count, hours and kilometres of the done patrols started in the period, and their volunteers."""

    community_id: int
    patrols: int = 0
    hours: float = 0.0
    km: float = 0.0
    volunteer_turnout: int = 0


@dataclass(frozen=True)
class PublicityFigures:
    """宣传: events held in the period, their audience and the copies of materials handed out at them."""

    community_id: int
    events: int = 0
    audience: int = 0
    copies: int = 0


@dataclass(frozen=True)
class MeetingCompliance:
    """警民恳谈: months of the period with enough meetings, out of the months the period touches."""

    community_id: int
    months: int
    compliant_months: int

    @property
    def rate(self) -> float | None:
        return self.compliant_months / self.months if self.months else None


@dataclass(frozen=True)
class Staffing:
    """专职巡防: full-time members on the period's last day against the minimum (4)."""

    community_id: int
    full_time: int
    required: int = MIN_FULL_TIME_PER_COMMUNITY

    @property
    def staffed(self) -> bool:
        return self.full_time >= self.required


@dataclass(frozen=True)
class CommunityStats:
    """All the figures of one community for one period."""

    community_id: int
    start: dt.date
    end: dt.date
    patrol: PatrolFigures
    coverage: float | None
    active_volunteers: int
    publicity: PublicityFigures
    meetings: MeetingCompliance
    staffing: Staffing


def community_ids_of(territory) -> list[int]:
    """The community ids a Territory covers (all of them for the whole sub-bureau)."""
    return list(territory.communities().order_by("code").values_list("id", flat=True))


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return since, until


def months_between(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    """The calendar months (year, month) that [start, end] touches, in order; none when end < start."""
    out: list[tuple[int, int]] = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def patrol_figures(community_ids: Iterable[int], start: dt.date, end: dt.date) -> dict[int, PatrolFigures]:
    """Per community, over the done patrols P started in the period (one query):

        patrols           = |P|
        hours             = Σ_P (ended_at − started_at) / 3600 s
        km                = Σ_P distance_m / 1000
        volunteer_turnout = Σ_P volunteers        (person-times of volunteers on patrol)

    Running and voided patrols do not count."""
    from doorstep.patrol.models import Patrol

    ids = list(community_ids)
    since, until = _bounds(start, end)
    acc: dict[int, list[float]] = {c: [0, 0.0, 0, 0] for c in ids}
    rows = (
        Patrol.objects.filter(
            community_id__in=ids, status=PatrolStatus.DONE, started_at__gte=since, started_at__lt=until
        )
        .order_by()
        .values_list("community_id", "started_at", "ended_at", "distance_m", "volunteers")
    )
    for community_id, started, ended, distance, volunteers in rows:
        a = acc[community_id]
        a[0] += 1
        if started and ended and ended > started:
            a[1] += (ended - started).total_seconds() / 3600.0
        a[2] += distance or 0
        a[3] += volunteers or 0
    return {c: PatrolFigures(c, int(a[0]), a[1], a[2] / 1000.0, int(a[3])) for c, a in acc.items()}


def active_volunteers(community_ids: Iterable[int], start: dt.date, end: dt.date) -> dict[int, int]:
    """Per community: distinct volunteer members (kind 志愿者) of its active teams whose membership overlaps
    the period (joined_on ≤ end and, if they left, left_on ≥ start). A person in two teams counts twice only
    if recorded as two members; a volunteer without a staff record is one member row."""
    from doorstep.patrol.models import Member

    ids = list(community_ids)
    counts = dict.fromkeys(ids, 0)
    rows = (
        Member.objects.filter(
            team__community_id__in=ids,
            team__active=True,
            kind=MemberKind.VOLUNTEER,
            joined_on__lte=end,
        )
        .filter(Q(left_on__isnull=True) | Q(left_on__gte=start))
        .order_by()
        .values("team__community_id")
        .annotate(n=Count("id", distinct=True))
    )
    for row in rows:
        counts[row["team__community_id"]] = row["n"]
    return counts


def publicity_figures(
    community_ids: Iterable[int], start: dt.date, end: dt.date
) -> dict[int, PublicityFigures]:
    """Per community, over the publicity events E held in [start, end] (two queries):

    events   = |E|
    audience = Σ_E audience
    copies   = Σ over the distributions of E of copies"""
    from doorstep.patrol.models import Distribution, Event

    ids = list(community_ids)
    events = {
        r["community_id"]: r
        for r in Event.objects.filter(community_id__in=ids, held_on__gte=start, held_on__lte=end)
        .order_by()
        .values("community_id")
        .annotate(n=Count("id"), audience=Sum("audience"))
    }
    copies = dict(
        Distribution.objects.filter(
            event__community_id__in=ids, event__held_on__gte=start, event__held_on__lte=end
        )
        .order_by()
        .values("event__community_id")
        .annotate(n=Sum("copies"))
        .values_list("event__community_id", "n")
    )
    return {
        c: PublicityFigures(
            c,
            events[c]["n"] if c in events else 0,
            (events[c]["audience"] or 0) if c in events else 0,
            copies.get(c) or 0,
        )
        for c in ids
    }


def meeting_compliance(
    community_ids: Iterable[int], start: dt.date, end: dt.date
) -> dict[int, MeetingCompliance]:
    """Per community: compliant_months / months, where months are the calendar months the period touches and
    a month complies when the community held ≥ MEETINGS_PER_MONTH meetings (恳谈会 or 开放日) in that whole
    month (`meetings.monthly_counts`: the rule is monthly, so a period that cuts a month judges it whole).
    One query per month."""
    from doorstep.patrol.meetings import monthly_counts

    ids = list(community_ids)
    months = months_between(start, end)
    compliant = dict.fromkeys(ids, 0)
    for year, month in months:
        for c, n in monthly_counts(ids, year, month).items():
            if n >= MEETINGS_PER_MONTH:
                compliant[c] += 1
    return {c: MeetingCompliance(c, len(months), compliant[c]) for c in ids}


def staffing(community_ids: Iterable[int], on: dt.date | None = None) -> dict[int, Staffing]:
    """Per community: full-time patrol members (kind 专职巡防队员, in an active 专职巡防队) on the day `on`
    (joined_on ≤ on, not left before or on it) against MIN_FULL_TIME_PER_COMMUNITY. Without `on`, today's
    count from `teams.full_time_counts` (the same rule as the teams page)."""
    ids = list(community_ids)
    if on is None or on >= timezone.localdate():
        from doorstep.patrol.teams import full_time_counts

        counts = full_time_counts(ids)
    else:
        from doorstep.patrol.models import Member

        counts = dict.fromkeys(ids, 0)
        rows = (
            Member.objects.filter(
                team__community_id__in=ids,
                team__kind=TeamKind.FULL_TIME,
                team__active=True,
                kind=MemberKind.FULL_TIME,
                joined_on__lte=on,
            )
            .filter(Q(left_on__isnull=True) | Q(left_on__gt=on))
            .order_by()
            .values("team__community_id")
            .annotate(n=Count("id"))
        )
        for row in rows:
            counts[row["team__community_id"]] = row["n"]
    return {c: Staffing(c, counts.get(c, 0)) for c in ids}


def coverage_share(community_ids: Iterable[int], start: dt.date, end: dt.date) -> dict[int, float | None]:
    """Per community: the mean over its grids of `coverage.grid_coverage` share (each grid counts once) for
    the done patrols started in the period; None for a community without grids."""
    from doorstep.org.models import Grid
    from doorstep.patrol.coverage import coverage, mean_share

    ids = list(community_ids)
    since, until = _bounds(start, end)
    grids = Grid.objects.filter(community_id__in=ids).exclude(boundary__isnull=True)  # as on the board
    figures = coverage(grids, since, until)
    by_community: dict[int, list] = {c: [] for c in ids}
    for gid, community_id in grids.order_by().values_list("id", "community_id"):
        by_community[community_id].append(figures[gid])
    return {c: mean_share(rows) for c, rows in by_community.items()}


def community_stats(community_ids: Iterable[int], start: dt.date, end: dt.date) -> dict[int, CommunityStats]:
    """Every figure above for each community and the period (a fixed number of queries, whatever the
    number of communities, plus one per month of the period)."""
    ids = list(community_ids)
    patrols = patrol_figures(ids, start, end)
    shares = coverage_share(ids, start, end)
    volunteers = active_volunteers(ids, start, end)
    publicity = publicity_figures(ids, start, end)
    meetings = meeting_compliance(ids, start, end)
    staff = staffing(ids, end)
    return {
        c: CommunityStats(
            community_id=c,
            start=start,
            end=end,
            patrol=patrols[c],
            coverage=shares[c],
            active_volunteers=volunteers[c],
            publicity=publicity[c],
            meetings=meetings[c],
            staffing=staff[c],
        )
        for c in ids
    }
