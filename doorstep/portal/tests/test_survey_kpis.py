"""The survey KPIs (portal.stats: 知晓率, 满意率, 安全感) against a hand-computed fixture: responses in several
grids, grid, community, station and sub-bureau scopes, the period's boundaries (23:59 on the last day counts,
00:00 the next day does not), the empty case, one query for all scopes, and the drill-down link."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from urllib.parse import parse_qs, urlsplit

import pytest

from doorstep.evaluation import kpis, scopes
from doorstep.evaluation.choices import Level, PeriodKind
from doorstep.evaluation.engine import Period
from doorstep.portal import stats
from doorstep.portal.choices import SurveyStatus
from doorstep.portal.models import Survey, SurveyResponse

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
NOVEMBER = Period(PeriodKind.MONTH, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
QUIET_WEEK = Period(PeriodKind.WEEK, dt.date(2026, 11, 16), dt.date(2026, 11, 22))


def at(month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=TZ)


@pytest.fixture
def fixture(world):
    s1 = Survey.objects.create(
        title="城东问卷",
        station=world.s1,
        opens_on=dt.date(2026, 10, 1),
        closes_on=dt.date(2026, 12, 31),
        status=SurveyStatus.OPEN,
        created_by=world.admin,
    )
    s2 = Survey.objects.create(
        title="清源问卷",
        station=world.s2,
        opens_on=dt.date(2026, 10, 1),
        closes_on=dt.date(2026, 12, 31),
        status=SurveyStatus.OPEN,
        created_by=world.admin,
    )
    n = iter(range(1000))

    def r(survey, grid, when, *, officer=False, phone=False, room=False, sat=None, safety=None):
        SurveyResponse.objects.create(
            survey=survey,
            grid=grid,
            phone_hash=f"{next(n):064d}",
            submitted_at=when,
            knows_officer=officer,
            knows_phone=phone,
            knows_room=room,
            satisfaction=sat,
            safety=safety,
        )

    a, b, c, d = world.grid_a, world.grid_b, world.grid_c, world.grid_d
    r(s1, a, at(11, 5), officer=True, sat=5, safety=4)  # aware, satisfied, safe
    r(s1, a, at(11, 30, 23, 59), sat=2, safety=2)  # the last minute of the period: counts
    r(s1, a, at(12, 1, 0, 0), room=True, sat=5, safety=5)  # the next day: does not count
    r(s1, a, at(10, 31, 23, 59, 59), officer=True, sat=5, safety=5)  # the day before: does not count
    r(s1, b, at(11, 10), phone=True, sat=3)  # 基本满意 counts; no safety answer
    r(s1, b, at(11, 11), safety=3)  # no satisfaction answer; 基本安全 counts
    r(s1, c, at(11, 12), room=True, sat=1, safety=1)
    r(s2, d, at(11, 15), officer=True, sat=4, safety=4)
    return world


def _scopes(world):
    return {
        "grid_a": scopes.scope_for(Level.GRID, world.grid_a.pk),
        "grid_b": scopes.scope_for(Level.GRID, world.grid_b.pk),
        "grid_c": scopes.scope_for(Level.GRID, world.grid_c.pk),
        "c1": scopes.scope_for(Level.COMMUNITY, world.c1.pk),
        "s1": scopes.scope_for(Level.STATION, world.s1.pk),
        "s2": scopes.scope_for(Level.STATION, world.s2.pk),
        "all": scopes.sub_bureau_scope(),
    }


# (numerator, denominator) by scope, counted by hand from the fixture above.
EXPECTED = {
    "awareness": {
        "grid_a": (1, 2),
        "grid_b": (1, 2),
        "grid_c": (1, 1),
        "c1": (2, 4),
        "s1": (3, 5),
        "s2": (1, 1),
        "all": (4, 6),
    },
    "satisfaction": {
        "grid_a": (1, 2),
        "grid_b": (1, 1),
        "grid_c": (0, 1),
        "c1": (2, 3),
        "s1": (2, 4),
        "s2": (1, 1),
        "all": (3, 5),
    },
    "safety": {
        "grid_a": (1, 2),
        "grid_b": (1, 1),
        "grid_c": (0, 1),
        "c1": (2, 3),
        "s1": (2, 4),
        "s2": (1, 1),
        "all": (3, 5),
    },
}
BATCHES = {
    "awareness": stats.awareness_batch,
    "satisfaction": stats.satisfaction_batch,
    "safety": stats.safety_batch,
}


@pytest.mark.parametrize("code", list(EXPECTED))
def test_figures_against_the_hand_computed_fixture(fixture, code):
    named = _scopes(fixture)
    figures = BATCHES[code](list(named.values()), NOVEMBER, {})
    for name, (numerator, denominator) in EXPECTED[code].items():
        figure = figures[named[name]]
        assert (figure.numerator, figure.denominator) == (numerator, denominator), (code, name)
        assert figure.value == pytest.approx(numerator / denominator)


def test_one_query_for_all_scopes_and_the_three_kpis(fixture, django_assert_num_queries):
    all_scopes = list(_scopes(fixture).values())
    cache: dict = {}
    with django_assert_num_queries(1):
        stats.awareness_batch(all_scopes, NOVEMBER, cache)
    with django_assert_num_queries(0):
        stats.satisfaction_batch(all_scopes, NOVEMBER, cache)
        stats.safety_batch(all_scopes, NOVEMBER, cache)


def test_no_responses_is_missing_not_a_division_by_zero(fixture):
    named = _scopes(fixture)
    for batch in BATCHES.values():
        for figure in batch(list(named.values()), QUIET_WEEK, {}).values():
            assert figure.value is None and figure.note == "本期无问卷答卷"
    # Responses but nobody rated satisfaction: a ratio over nothing, shown as "—".
    only_safety = Period(PeriodKind.MONTH, dt.date(2026, 11, 11), dt.date(2026, 11, 11))
    figure = stats.satisfaction_batch([named["grid_b"]], only_safety, {})[named["grid_b"]]
    assert figure.value is None and figure.denominator == 0
    assert stats.safety_batch([named["grid_b"]], only_safety, {})[named["grid_b"]].value == 1.0


def test_registered_in_the_evaluation_engine(fixture):
    named = _scopes(fixture)
    out = kpis.compute_many([named["s1"]], NOVEMBER, ["awareness", "satisfaction", "safety"])
    assert out[named["s1"]]["awareness"].value == pytest.approx(3 / 5)
    assert out[named["s1"]]["satisfaction"].value == pytest.approx(2 / 4)


def test_records_link_opens_the_same_responses(fixture, client_for):
    named = _scopes(fixture)
    figures = stats.awareness_batch(list(named.values()), NOVEMBER, {})
    query = parse_qs(urlsplit(figures[named["grid_a"]].records).query)
    assert query == {"grid": [str(fixture.grid_a.pk)], "date_from": ["2026-11-01"], "date_to": ["2026-11-30"]}
    assert parse_qs(urlsplit(figures[named["c1"]].records).query)["community"] == [str(fixture.c1.pk)]
    assert parse_qs(urlsplit(figures[named["s1"]].records).query)["station"] == [str(fixture.s1.pk)]
    c = client_for(fixture.leader)
    for name in ("grid_a", "c1", "s1", "all"):
        response = c.get(figures[named[name]].records)
        assert response.status_code == 200
        total = response.context["total"]
        assert (total.aware, total.responses) == EXPECTED["awareness"][name], name
