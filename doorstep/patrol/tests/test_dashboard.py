"""The 群防群治 board: short-staffed communities and a month without a meeting are flagged red."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from doorstep.patrol.choices import TeamKind
from doorstep.patrol.dashboard import board
from doorstep.patrol.tests.test_layers import make_patrol
from doorstep.patrol.tests.test_stats import meeting, team

NOW = dt.datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def station_one(pw, frozen):
    team(pw, pw.c1, TeamKind.FULL_TIME, 4)
    team(pw, pw.c2, TeamKind.FULL_TIME, 3)
    team(pw, pw.c1, TeamKind.VOLUNTEER, 5)
    meeting(pw, pw.c1, dt.date(2026, 10, 20))  # c1 held last month's, c2 did not
    meeting(pw, pw.c2, dt.date(2026, 11, 3))  # c2 held this month's
    make_patrol(pw, pw.grid_a, days_ago=1, hours=2)
    make_patrol(pw, pw.grid_c, days_ago=10, hours=1)
    return pw


def test_board_rows_and_totals(station_one):
    rows, totals = board(station_one.director)
    c1, c2 = rows
    assert (c1.community, c2.community) == (station_one.c1, station_one.c2)
    assert (c1.full_time, c1.short_staffed, c2.full_time, c2.short_staffed) == (4, False, 3, True)
    assert (c1.volunteers, c1.patrols_7, c1.hours_7) == (5, 1, 2.0)
    assert c2.patrols_7 == 0 and c2.coverage_7 < 0.005 and c2.coverage_30 > 0.09
    assert (c1.meeting_done, c1.missed_last_month, c2.meeting_done, c2.missed_last_month) == (
        False,
        False,
        True,
        True,
    )
    assert (totals.short_staffed, totals.missed_last_month, totals.patrols_7, totals.full_time) == (
        1,
        1,
        1,
        7,
    )


def test_page_flags_in_red(station_one, client_for):
    response = client_for(station_one.director).get(reverse("patrol:index"))
    assert response.status_code == 200
    html = response.content.decode()
    row1 = html.split(f'data-community="{station_one.c1.pk}"')[1].split("</tr>")[0]
    row2 = html.split(f'data-community="{station_one.c2.pk}"')[1].split("</tr>")[0]
    assert 'data-flag="short"' in row2 and "text-danger" in row2
    assert 'data-flag="short"' not in row1
    assert 'data-flag="missed"' in row2 and "bg-red" in row2
    assert 'data-flag="missed"' not in row1 and 'data-flag="pending"' in row1
    assert "1 个社区不足 4 人" in html and "上月 1 个社区未开展" in html
    for route in ("patrol:teams", "patrol:meetings", "patrol:campaigns", "patrol:run_list"):
        assert reverse(route) in html


def test_territory_of_the_board(station_one, client_for):
    html = client_for(station_one.director_s2).get(reverse("patrol:index")).content.decode()
    assert f'data-community="{station_one.c3.pk}"' in html
    assert f'data-community="{station_one.c1.pk}"' not in html
    rows, _totals = board(station_one.officer_a)
    assert [r.community for r in rows] == [station_one.c1]
    assert client_for(None).get(reverse("patrol:index")).status_code == 302
    assert client_for(station_one.patrol).get(reverse("patrol:index")).status_code == 200


def test_empty_board(pw, client_for):
    response = client_for(pw.leader).get(reverse("patrol:index"))
    assert response.status_code == 200
    assert "—" in response.content.decode() or "0%" in response.content.decode()
