"""Teams, members, zones and the staffing rule (每个社区专职巡防队员不少于4人)."""

from __future__ import annotations

import datetime as dt

import pytest

from doorstep.audit.models import AuditEntry
from doorstep.conftest import make_staff
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.org.choices import StaffKind
from doorstep.patrol import teams
from doorstep.patrol.choices import TeamKind

DAY = dt.date(2026, 1, 5)


def full_time_team(pw, community=None, name="专职巡防队"):
    return teams.save_team(pw.director, community=community or pw.c1, name=name, kind=TeamKind.FULL_TIME)


def add_full_time(pw, team, n):
    members = []
    for i in range(n):
        staff = make_staff(pw.sub_bureau, pw.s1, StaffKind.PATROL, f"队员{i}")
        members.append(teams.add_member(pw.director, team, staff=staff, joined_on=DAY))
    return members


def test_three_full_time_members_are_flagged_four_are_not(pw):
    team = full_time_team(pw)
    add_full_time(pw, team, 3)
    board = {r.community.pk: r for r in teams.staffing_board([pw.c1, pw.c2])}
    assert board[pw.c1.pk].full_time == 3 and board[pw.c1.pk].short
    assert board[pw.c2.pk].full_time == 0 and board[pw.c2.pk].short
    add_full_time(pw, team, 1)
    assert teams.full_time_counts([pw.c1.pk, pw.c2.pk]) == {pw.c1.pk: 4, pw.c2.pk: 0}
    assert not teams.staffing_board([pw.c1])[0].short


def test_volunteers_and_members_who_left_do_not_count(pw):
    team = full_time_team(pw)
    members = add_full_time(pw, team, 4)
    volunteers = teams.save_team(
        pw.director, community=pw.c1, name="志愿者队", kind=TeamKind.VOLUNTEER, leader=pw.officer_a.staff
    )
    teams.add_member(pw.director, volunteers, name="王五", phone="13900001234", joined_on=DAY)
    teams.member_leave(pw.director, members[0], left_on=DAY + dt.timedelta(days=10))
    assert teams.full_time_counts([pw.c1.pk]) == {pw.c1.pk: 3}
    assert teams.volunteer_counts([pw.c1.pk]) == {pw.c1.pk: 1}
    members[0].refresh_from_db()
    assert members[0].left_on == DAY + dt.timedelta(days=10)  # kept as history
    assert AuditEntry.objects.filter(action="patrol.member_leave").count() == 1


def test_inactive_full_time_team_does_not_count(pw):
    team = full_time_team(pw)
    add_full_time(pw, team, 4)
    teams.save_team(pw.director, team=team, community=pw.c1, name=team.name, kind=team.kind, active=False)
    assert teams.full_time_counts([pw.c1.pk])[pw.c1.pk] == 0


def test_volunteer_team_needs_a_community_officer_as_leader(pw):
    with pytest.raises(ServiceError, match="社区民警带队"):
        teams.save_team(pw.director, community=pw.c1, name="保安队", kind=TeamKind.SECURITY)
    stranger = make_staff(pw.sub_bureau, pw.s1, StaffKind.POLICE, "无网格民警")
    with pytest.raises(ServiceError, match="社区民警") as exc:
        teams.save_team(pw.director, community=pw.c1, name="保安队", kind=TeamKind.SECURITY, leader=stranger)
    assert exc.value.code == "leader"
    # officer_a holds grid A of c1, not c2
    with pytest.raises(ServiceError):
        teams.save_team(
            pw.director, community=pw.c2, name="保安队", kind=TeamKind.SECURITY, leader=pw.officer_a.staff
        )
    team = teams.save_team(
        pw.director, community=pw.c1, name="保安队", kind=TeamKind.SECURITY, leader=pw.officer_b.staff
    )
    assert team.leader == pw.officer_b.staff


def test_full_time_member_must_be_patrol_staff_of_the_station(pw):
    team = full_time_team(pw)
    with pytest.raises(ServiceError):
        teams.add_member(pw.director, team, staff=pw.officer_a.staff, joined_on=DAY)
    other = make_staff(pw.sub_bureau, pw.s2, StaffKind.PATROL, "外所队员")
    with pytest.raises(ServiceError):
        teams.add_member(pw.director, team, staff=other, joined_on=DAY)
    member = teams.add_member(pw.director, team, staff=pw.patrol_staff, joined_on=DAY)
    with pytest.raises(ServiceError):  # already a current full-time member
        teams.add_member(pw.director, team, staff=pw.patrol_staff, joined_on=DAY)
    with pytest.raises(ServiceError, match="早于"):
        teams.member_leave(pw.director, member, left_on=DAY - dt.timedelta(days=1))


def test_only_managers_of_the_community_keep_teams(pw):
    with pytest.raises(NotAllowed):
        teams.save_team(pw.patrol, community=pw.c1, name="x", kind=TeamKind.FULL_TIME)
    with pytest.raises(NotAllowed):
        teams.save_team(pw.director_s2, community=pw.c1, name="x", kind=TeamKind.FULL_TIME)
    with pytest.raises(NotAllowed):  # officer_a's territory is community c1 only
        teams.save_team(pw.officer_a, community=pw.c2, name="x", kind=TeamKind.FULL_TIME)
    assert teams.save_team(pw.officer_a, community=pw.c1, name="x", kind=TeamKind.FULL_TIME)


def test_zone_takes_grids_of_its_community_only(pw):
    kwargs = dict(
        community=pw.c1,
        name="西福责任区",
        police_team="西福网格警务队",
        responsible_officer=pw.officer_a.staff,
        street_cadre="街道甲",
        community_cadre="社区乙",
        community_cadre_phone="13900002222",
    )
    with pytest.raises(ServiceError) as exc:
        teams.save_zone(pw.director, grids=[pw.grid_a, pw.grid_c], **kwargs)
    assert exc.value.code == "grids"
    zone = teams.save_zone(pw.director, grids=[pw.grid_a, pw.grid_b], **kwargs)
    assert set(zone.grids.all()) == {pw.grid_a, pw.grid_b}
    with pytest.raises(ServiceError):  # a same-named zone in the same community
        teams.save_zone(pw.director, grids=[pw.grid_a], **kwargs)
