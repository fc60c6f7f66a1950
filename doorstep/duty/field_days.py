"""Field days (下沉社区天数): the days in a week on which a community officer demonstrably worked in their
own community, computed from records that already exist — no model of its own, nothing to fill in.

A field day is a local calendar day (settings.TIME_ZONE, cut at local midnight) with at least one piece of
evidence that the person worked on a grid they held a post on that day:

- 值守签到: a clock-in at the police room of a community containing one of their grids (the clock-in
  service already refuses positions outside the room's geofence);
- 入户走访: a registry visit they recorded to a household of one of their grids;
- 接警到场: an alarm they were dispatched to and arrived at, at a unit of one of their grids.

Each source is one function in `SOURCES`: it receives the posts of the people being counted and the week's
time window, reads its records in ONE query for all of them, and yields `Evidence`. The counting never
asks a source about a single person, so a station report costs the same few queries for 5 or 500 officers.
- 现场调解: an on-site mediation they recorded on a dispute of one of their grids (#8);
- 带队巡逻: a patrol they led and finished in one of their grids (#9).

A new kind of record joins by writing one more such function and appending it.

Grids are those of the posts active on the evidence's day (a transfer mid-week moves the territory with it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from doorstep.accounts.choices import Role
from doorstep.alarms.models import Alarm
from doorstep.core.masking import mask_text
from doorstep.duty.models import Attendance
from doorstep.org.choices import Position
from doorstep.org.models import GridAssignment
from doorstep.org.territory import Territory
from doorstep.registry.models import Visit

FIELD_DAYS_REQUIRED = 3  # DOMAIN.md: the community officer works in the community at least 3 days a week

# Who may read the weekly report (their territory decides which officers); grid-level roles read their own week.
REPORT_ROLES = {Role.DIRECTOR, Role.LEADER, Role.EVALUATOR, Role.ADMIN}
OWN_WEEK_ROLES = {Role.OFFICER, Role.AUXILIARY}


class Kind:
    ATTENDANCE = "attendance"
    VISIT = "visit"
    ALARM = "alarm"
    MEDIATION = "mediation"
    PATROL = "patrol"


KIND_LABELS = {
    Kind.ATTENDANCE: _("值守签到"),
    Kind.VISIT: _("入户走访"),
    Kind.ALARM: _("接警到场"),
    Kind.MEDIATION: _("现场调解"),
    Kind.PATROL: _("带队巡逻"),
}


@dataclass(frozen=True)
class Evidence:
    """One record proving presence: who, when, and where (a grid, or a whole community for a police room)."""

    staff_id: int
    kind: str
    at: dt.datetime  # local time
    what: str
    where: str
    grid_id: int | None = None
    community_id: int | None = None
    url: str = ""
    gps: str = ""

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def day(self) -> dt.date:
        return self.at.date()


@dataclass(frozen=True)
class Post:
    staff_id: int
    grid_id: int
    community_id: int
    started_on: dt.date
    ended_on: dt.date | None

    def active_on(self, day: dt.date) -> bool:
        return self.started_on <= day and (self.ended_on is None or self.ended_on > day)


@dataclass
class WeekResult:
    """One person's week: their posts, and the evidence per field day (days in order)."""

    staff: Any
    posts: list[Any]
    days: dict[dt.date, list[Evidence]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.days)

    @property
    def flagged(self) -> bool:
        return self.count < FIELD_DAYS_REQUIRED

    @property
    def grids_label(self) -> str:
        return "、".join(p.grid.name for p in self.posts)


@dataclass(frozen=True)
class Window:
    monday: dt.date
    start: dt.datetime
    end: dt.datetime

    @property
    def days(self) -> list[dt.date]:
        return [self.monday + dt.timedelta(days=i) for i in range(7)]


def week_of(day: dt.date) -> Window:
    """The Monday–Sunday week containing `day`, as aware local datetimes [Monday 00:00, next Monday 00:00)."""
    monday = day - dt.timedelta(days=day.weekday())
    start = timezone.make_aware(dt.datetime.combine(monday, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(monday + dt.timedelta(days=7), dt.time.min))
    return Window(monday, start, end)


def _gps(lng: float | None, lat: float | None) -> str:
    return f"{lng:.5f}, {lat:.5f}" if lng is not None and lat is not None else ""


# --- sources: one function each, one query each --------------------------------------------------------
Source = Callable[[Sequence[Post], Window], Iterable[Evidence]]


def attendance_evidence(posts: Sequence[Post], window: Window) -> Iterator[Evidence]:
    """Clock-ins at the police room of a community holding one of the person's grids."""
    rows = Attendance.objects.filter(
        staff_id__in={p.staff_id for p in posts},
        room__community_id__in={p.community_id for p in posts},
        clock_in_at__gte=window.start,
        clock_in_at__lt=window.end,
    ).select_related("room")
    for a in rows:
        yield Evidence(
            staff_id=a.staff_id,
            kind=Kind.ATTENDANCE,
            at=timezone.localtime(a.clock_in_at),
            what=str(_("签到"))
            + (f"（{_('签退')} {timezone.localtime(a.clock_out_at):%H:%M}）" if a.clock_out_at else ""),
            where=a.room.name,
            community_id=a.room.community_id,
            gps=_gps(a.in_lng, a.in_lat),
        )


def visit_evidence(posts: Sequence[Post], window: Window) -> Iterator[Evidence]:
    """Registry visits (入户走访) the person recorded at households of their grids. The household is named
    by its address and household number as on the registry pages; findings are shown with any ID number or
    mobile number masked."""
    rows = Visit.objects.filter(
        visited_by__staff_id__in={p.staff_id for p in posts},
        grid_id__in={p.grid_id for p in posts},
        visited_at__gte=window.start,
        visited_at__lt=window.end,
    ).select_related("visited_by", "household__house__address")
    for v in rows:
        yield Evidence(
            staff_id=v.visited_by.staff_id,
            kind=Kind.VISIT,
            at=timezone.localtime(v.visited_at),
            what=Truncator(mask_text(v.findings)).chars(40),
            where=str(v.household),
            grid_id=v.grid_id,
            url=reverse("registry:household_detail", args=[v.household_id]),
        )


def alarm_evidence(posts: Sequence[Post], window: Window) -> Iterator[Evidence]:
    """One-click alarms the person was dispatched to and arrived at, at units of their grids."""
    rows = Alarm.objects.filter(
        dispatched_to__staff_id__in={p.staff_id for p in posts},
        grid_id__in={p.grid_id for p in posts},
        arrived_at__gte=window.start,
        arrived_at__lt=window.end,
    ).select_related("dispatched_to", "unit")
    for a in rows:
        yield Evidence(
            staff_id=a.dispatched_to.staff_id,
            kind=Kind.ALARM,
            at=timezone.localtime(a.arrived_at),
            what=f"{a.get_event_type_display()} #{a.pk}",
            where=a.unit.name,
            grid_id=a.grid_id,
            url=reverse("registry:unit_detail", args=[a.unit_id]),
            gps=_gps(a.arrival_lng, a.arrival_lat),
        )


def mediation_evidence(posts: Sequence[Post], window: Window) -> Iterator[Evidence]:
    """On-site mediation (现场调解, 首问首接) the person recorded on a dispute of their grid (or, when the dispute
    has no grid, of their community)."""
    from doorstep.mediation.models import DisputeStep

    rows = DisputeStep.objects.filter(
        Q(dispute__grid_id__in={p.grid_id for p in posts})
        | Q(dispute__grid__isnull=True, dispute__community_id__in={p.community_id for p in posts}),
        by__staff_id__in={p.staff_id for p in posts},
        action__in=("onsite_settled", "onsite_failed"),
        at__gte=window.start,
        at__lt=window.end,
    ).select_related("by", "dispute")
    for step in rows:
        yield Evidence(
            staff_id=step.by.staff_id,
            kind=Kind.MEDIATION,
            at=timezone.localtime(step.at),
            what=Truncator(mask_text(step.note)).chars(40),
            where=f"{step.dispute.number} {step.dispute.place}",
            grid_id=step.dispute.grid_id,
            community_id=step.dispute.community_id,
            url=reverse("mediation:detail", args=[step.dispute_id]),
        )


def patrol_evidence(posts: Sequence[Post], window: Window) -> Iterator[Evidence]:
    """Patrols (#9) the person led and finished in a grid of theirs (or, without a grid, in their community)."""
    from doorstep.patrol.choices import PatrolStatus
    from doorstep.patrol.models import Patrol

    rows = Patrol.objects.filter(
        Q(grid_id__in={p.grid_id for p in posts})
        | Q(grid__isnull=True, community_id__in={p.community_id for p in posts}),
        led_by__staff_id__in={p.staff_id for p in posts},
        status=PatrolStatus.DONE,
        started_at__gte=window.start,
        started_at__lt=window.end,
    ).select_related("led_by", "community", "grid")
    for patrol in rows:
        minutes = int((patrol.ended_at - patrol.started_at).total_seconds() // 60) if patrol.ended_at else 0
        yield Evidence(
            staff_id=patrol.led_by.staff_id,
            kind=Kind.PATROL,
            at=timezone.localtime(patrol.started_at),
            what=str(
                _("巡逻 %(m)s 分钟，%(km)s 公里") % {"m": minutes, "km": f"{patrol.distance_m / 1000:.1f}"}
            ),
            where=str(patrol.grid or patrol.community),
            grid_id=patrol.grid_id,
            community_id=patrol.community_id,
            url=reverse("patrol:run_detail", args=[patrol.pk]),
        )


SOURCES: list[Source] = [
    attendance_evidence,
    visit_evidence,
    alarm_evidence,
    mediation_evidence,
    patrol_evidence,
]


# --- computation ---------------------------------------------------------------------------------------
def _counts(ev: Evidence, posts: Sequence[Post]) -> bool:
    """Whether the evidence lies on a grid (or, for a police room, a community) of a post held that day."""
    day = ev.day
    for p in posts:
        if p.staff_id != ev.staff_id or not p.active_on(day):
            continue
        if ev.grid_id is not None and ev.grid_id == p.grid_id:
            return True
        if ev.grid_id is None and ev.community_id == p.community_id:
            return True
    return False


def compute(
    assignments: Sequence[GridAssignment], window: Window, sources: Sequence[Source] | None = None
) -> list[WeekResult]:
    """Field days of the people holding `assignments` in the week: a result per person, in the order of
    their first post. Costs one query per source, whatever the number of people."""
    posts = [Post(a.staff_id, a.grid_id, a.grid.community_id, a.started_on, a.ended_on) for a in assignments]
    results: dict[int, WeekResult] = {}
    for a in assignments:
        results.setdefault(a.staff_id, WeekResult(staff=a.staff, posts=[])).posts.append(a)
    if not posts:
        return []
    by_staff: dict[int, list[Post]] = defaultdict(list)
    for p in posts:
        by_staff[p.staff_id].append(p)
    for source in sources if sources is not None else SOURCES:
        for ev in source(posts, window):
            if ev.staff_id in results and _counts(ev, by_staff[ev.staff_id]):
                results[ev.staff_id].days.setdefault(ev.day, []).append(ev)
    for r in results.values():
        r.days = {d: sorted(evs, key=lambda e: e.at) for d, evs in sorted(r.days.items())}
    return list(results.values())


# --- scoped reads --------------------------------------------------------------------------------------
def posts_in_week(window: Window) -> QuerySet[GridAssignment]:
    last = window.monday + dt.timedelta(days=6)
    return (
        GridAssignment.objects.filter(
            Q(started_on__lte=last), Q(ended_on__isnull=True) | Q(ended_on__gt=window.monday)
        )
        .filter(staff__active=True)
        .select_related("staff", "grid", "grid__community", "grid__community__station")
        .order_by("grid__community__station__code", "grid__code", "position", "staff__name", "pk")
    )


def may_read_report(user: Any) -> bool:
    return bool(user.is_superuser or user.role in REPORT_ROLES)


def report_for(
    user: Any,
    day: dt.date,
    *,
    station_id: int | None = None,
    with_auxiliaries: bool = False,
) -> list[WeekResult]:
    """The weekly report the user may read: community officers (and auxiliaries when asked) with posts on
    grids of the user's territory during the week, optionally of one station."""
    window = week_of(day)
    positions = [Position.OFFICER, Position.AUXILIARY] if with_auxiliaries else [Position.OFFICER]
    qs = Territory.for_user(user).filter(posts_in_week(window).filter(position__in=positions))
    if station_id:
        qs = qs.filter(grid__community__station_id=station_id)
    return compute(list(qs), window)


def week_for(user: Any, staff_id: int, day: dt.date) -> WeekResult | None:
    """One person's week, or None when the user's territory holds none of that person's posts that week."""
    window = week_of(day)
    qs = Territory.for_user(user).filter(posts_in_week(window).filter(staff_id=staff_id))
    results = compute(list(qs), window)
    return results[0] if results else None
