"""The evaluation figures of proactive policing (stats.py) against hand-computed values, frozen clock."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest
import time_machine

from doorstep.conftest import make_staff
from doorstep.org.choices import StaffKind
from doorstep.org.territory import Territory
from doorstep.patrol import stats
from doorstep.patrol.choices import MeetingKind, MemberKind, PatrolStatus, TeamKind
from doorstep.patrol.models import Distribution, Event, Material, Meeting, Member, Team
from doorstep.patrol.tests.test_layers import make_patrol

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 18, 10, 0, tzinfo=TZ)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def team(world, community, kind, n, *, joined=dt.date(2026, 1, 1), left=None):
    t = Team.objects.create(community=community, name=f"{community.name}{kind}{n}", kind=kind)
    member_kind = MemberKind.FULL_TIME if kind == TeamKind.FULL_TIME else MemberKind.VOLUNTEER
    for i in range(n):
        # Full-time members are serving patrol staff of the station (as `teams.add_member` requires).
        staff = (
            make_staff(world.sub_bureau, community.station, StaffKind.PATROL, f"队员{i}")
            if kind == TeamKind.FULL_TIME
            else None
        )
        Member.objects.create(
            team=t, kind=member_kind, staff=staff, name=f"队员{i}", joined_on=joined, left_on=left
        )
    return t


def meeting(world, community, day):
    return Meeting.objects.create(
        community=community,
        kind=MeetingKind.TALK,
        held_on=day,
        place="警务室",
        attendance=20,
        officers="刘芳",
        by=world.director,
    )


def test_patrol_figures(pw, frozen):
    make_patrol(pw, pw.grid_a, days_ago=1, hours=1.5)  # 11-17
    make_patrol(pw, pw.grid_b, days_ago=3, hours=0.5)  # 11-15
    make_patrol(pw, pw.grid_a, days_ago=30, hours=2)  # October: outside
    make_patrol(pw, pw.grid_a, days_ago=2, status=PatrolStatus.VOID)
    make_patrol(pw, pw.grid_a, days_ago=0.01, status=PatrolStatus.RUNNING)
    figures = stats.patrol_figures([pw.c1.pk, pw.c3.pk], dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    c1 = figures[pw.c1.pk]
    assert (c1.patrols, c1.volunteer_turnout) == (2, 4)
    assert math.isclose(c1.hours, 2.0) and math.isclose(c1.km, 2.226)
    assert figures[pw.c3.pk] == stats.PatrolFigures(pw.c3.pk)


def test_coverage_share_is_the_mean_over_the_grids(pw, frozen):
    make_patrol(pw, pw.grid_a, days_ago=1)
    shares = stats.coverage_share([pw.c1.pk, pw.c2.pk], dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert 0.045 < shares[pw.c1.pk] < 0.055  # grid A ≈ 0.1, grid B 0
    # grid C (community 2) lies north of grid A: the track's end on the shared edge covers a half-disc of it
    assert 0 < shares[pw.c2.pk] < 0.005
    assert stats.coverage_share([], dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == {}


def test_publicity_reach(pw, frozen):
    material = Material.objects.get_or_create(name="平安防范手册")[0]
    other = Material.objects.get_or_create(name="反恐防范手册")[0]
    for day, audience, copies in ((dt.date(2026, 11, 3), 50, 100), (dt.date(2026, 11, 10), 30, 40)):
        e = Event.objects.create(
            community=pw.c1,
            theme="fraud",
            title="防骗",
            place="广场",
            held_on=day,
            audience=audience,
            by=pw.director,
        )
        Distribution.objects.create(event=e, material=material, copies=copies)
    e = Event.objects.create(
        community=pw.c1,
        theme="fire",
        title="防火",
        place="广场",
        held_on=dt.date(2026, 10, 30),
        audience=99,
        by=pw.director,
    )
    Distribution.objects.create(event=e, material=other, copies=500)
    figures = stats.publicity_figures([pw.c1.pk, pw.c2.pk], dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert figures[pw.c1.pk] == stats.PublicityFigures(pw.c1.pk, 2, 80, 140)
    assert figures[pw.c2.pk] == stats.PublicityFigures(pw.c2.pk, 0, 0, 0)


def test_meeting_compliance_counts_whole_months(pw, frozen):
    meeting(pw, pw.c1, dt.date(2026, 9, 5))
    meeting(pw, pw.c1, dt.date(2026, 11, 2))
    meeting(pw, pw.c2, dt.date(2026, 10, 31))
    result = stats.meeting_compliance(
        [pw.c1.pk, pw.c2.pk, pw.c3.pk], dt.date(2026, 9, 15), dt.date(2026, 11, 18)
    )
    assert result[pw.c1.pk] == stats.MeetingCompliance(pw.c1.pk, 3, 2)
    assert math.isclose(result[pw.c1.pk].rate, 2 / 3)
    assert result[pw.c2.pk].compliant_months == 1
    assert result[pw.c3.pk].rate == 0
    assert stats.MeetingCompliance(1, 0, 0).rate is None


def test_months_between_crosses_the_year():
    assert stats.months_between(dt.date(2025, 12, 31), dt.date(2026, 2, 1)) == [
        (2025, 12),
        (2026, 1),
        (2026, 2),
    ]
    assert stats.months_between(dt.date(2026, 3, 1), dt.date(2026, 2, 1)) == []


def test_staffing_and_volunteers(pw, frozen):
    team(pw, pw.c1, TeamKind.FULL_TIME, 4)
    team(pw, pw.c2, TeamKind.FULL_TIME, 3)
    team(pw, pw.c2, TeamKind.FULL_TIME, 1, joined=dt.date(2026, 11, 10))  # joined after the end below
    team(pw, pw.c1, TeamKind.VOLUNTEER, 5)
    team(pw, pw.c1, TeamKind.VOLUNTEER, 2, joined=dt.date(2025, 1, 1), left=dt.date(2026, 10, 15))
    today = stats.staffing([pw.c1.pk, pw.c2.pk, pw.c3.pk])
    assert today[pw.c1.pk].staffed and today[pw.c1.pk].full_time == 4
    assert today[pw.c2.pk].full_time == 4
    on = stats.staffing([pw.c2.pk], dt.date(2026, 10, 31))
    assert on[pw.c2.pk].full_time == 3 and not on[pw.c2.pk].staffed
    assert today[pw.c3.pk] == stats.Staffing(pw.c3.pk, 0)
    assert stats.active_volunteers([pw.c1.pk], dt.date(2026, 10, 1), dt.date(2026, 10, 31)) == {pw.c1.pk: 7}
    assert stats.active_volunteers([pw.c1.pk], dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == {pw.c1.pk: 5}


def test_community_stats_puts_it_together(pw, frozen, django_assert_max_num_queries):
    make_patrol(pw, pw.grid_a, days_ago=1)
    meeting(pw, pw.c1, dt.date(2026, 11, 2))
    ids = stats.community_ids_of(Territory.for_user(pw.director))
    assert ids == [pw.c1.pk, pw.c2.pk]
    with django_assert_max_num_queries(12):
        result = stats.community_stats(ids, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    c1 = result[pw.c1.pk]
    assert c1.patrol.patrols == 1 and c1.meetings.rate == 1.0 and c1.coverage > 0
    assert result[pw.c2.pk].patrol.patrols == 0 and result[pw.c2.pk].meetings.rate == 0
