"""Every KPI figure links to the records behind it: 走访完成率, 出警达标率 (every scope and period kind),
志愿者人均参巡次数 and 宣传覆盖人次 — the link answers 200 for a leader and lists exactly the counted records."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from doorstep.alarms.tests.test_stats import alarm, key_device
from doorstep.evaluation import kpis, periods, scopes
from doorstep.evaluation.choices import Level

CST = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=CST)
NOV = periods.period_of("month", dt.date(2026, 11, 1))


@pytest.fixture
def records(world):
    """Grid A: two emergency alarms on 10 Nov (one on time, one late), a drill; households visited with
    deadlines on 1 and 8 Nov; C1: a publicity event and a done patrol with 3 volunteers."""
    from doorstep.patrol.models import Event, Meeting, Patrol
    from doorstep.registry import services as registry_services
    from doorstep.registry.models import Visit
    from doorstep.registry.tests.conftest import make_house

    w = world
    with time_machine.travel(NOW, tick=False):
        device = key_device(w.grid_a, "城东银行", "BTN-DD1", w.director)
        day = dt.datetime(2026, 11, 10, 9, 0, tzinfo=CST)
        w.reached = alarm(device, day, ack=10, dispatch=40, arrive=240, closed=900, disposition="real")
        w.late = alarm(
            device, day + dt.timedelta(hours=1), ack=10, arrive=900, closed=1000, disposition="real"
        )
        w.drill = alarm(device, day + dt.timedelta(hours=2), arrive=100, drill=True)
        hh = registry_services.create_household(house=make_house(w.grid_a), household_no="A9")
        for at, due in (
            (dt.datetime(2026, 10, 25, 10, tzinfo=CST), dt.date(2026, 11, 1)),
            (dt.datetime(2026, 11, 1, 20, tzinfo=CST), dt.date(2026, 11, 8)),
            (dt.datetime(2026, 11, 9, 9, tzinfo=CST), dt.date(2026, 12, 9)),
        ):
            Visit.objects.create(
                household=hh, grid=w.grid_a, visited_by=w.officer_a, visited_at=at, findings="x",
                colour_at_visit="green", next_due=due,
            )  # fmt: skip
        w.event = Event.objects.create(
            community=w.c1, theme="fraud", title="反诈宣传进社区", place="x", held_on=dt.date(2026, 11, 6),
            audience=40, by=w.director,
        )  # fmt: skip
        Meeting.objects.create(
            community=w.c1, kind="talk", held_on=dt.date(2026, 11, 5), place="x", attendance=10, officers="x",
            by=w.director,
        )  # fmt: skip
        start = dt.datetime(2026, 11, 7, 9, tzinfo=CST)
        w.run = Patrol.objects.create(
            community=w.c1, grid=w.grid_a, led_by=w.director, status="done", started_at=start,
            ended_at=start + dt.timedelta(hours=2), volunteers=3,
        )  # fmt: skip
    return w


def _scope(w, level):
    pk = {Level.GRID: w.grid_a.pk, Level.COMMUNITY: w.c1.pk, Level.STATION: w.s1.pk}.get(level)
    return scopes.scope_for(level, pk)


def _figure(code, scope, period):
    with time_machine.travel(NOW, tick=False):
        return kpis.compute(scope, period, [code])[code]


def _get(client, url):
    with time_machine.travel(NOW, tick=False):
        return client.get(url)


LEVELS = [Level.GRID, Level.COMMUNITY, Level.STATION, Level.SUB_BUREAU]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("kind", ["week", "xun", "month", "year"])
def test_response_on_time_links_to_the_counted_alarms_at_every_scope_and_period(
    records, client_for, level, kind
):
    w = records
    period = periods.period_of(kind, dt.date(2026, 11, 10))
    figure = _figure("response_on_time", _scope(w, level), period)
    assert (figure.numerator, figure.denominator) == (1, 2)
    assert figure.records.startswith("/evaluation/records/response_on_time/?")
    response = _get(client_for(w.leader), figure.records)
    assert response.status_code == 200
    listed = {row["pk"]: row["verdict"][0] for row in response.context["rows"]}
    assert set(listed) == {w.reached.pk, w.late.pk}  # the drill is not counted
    assert str(listed[w.reached.pk]) == "按时到场"
    assert "城东银行" in response.content.decode()


def test_response_on_time_link_of_another_period_lists_nothing(records, client_for):
    w = records
    october = periods.period_of("month", dt.date(2026, 10, 1))
    figure = _figure("response_on_time", _scope(w, Level.GRID), october)
    assert figure.value is None
    response = _get(client_for(w.leader), figure.records)
    assert response.status_code == 200 and response.context["rows"] == []


@pytest.mark.parametrize("level", LEVELS)
def test_visit_rate_links_to_the_visits_due(records, client_for, level):
    w = records
    figure = _figure("visit_rate", _scope(w, level), NOV)
    assert (figure.numerator, figure.denominator) == (1, 2)
    response = _get(client_for(w.leader), figure.records)
    assert response.status_code == 200
    verdicts = sorted(str(row["verdict"][0]) for row in response.context["rows"])
    assert verdicts == ["按期走访", "逾期"]
    assert "A9" in response.content.decode()


@pytest.mark.parametrize("level", [Level.COMMUNITY, Level.STATION, Level.SUB_BUREAU])
def test_publicity_reach_links_to_the_events(records, client_for, level):
    w = records
    figure = _figure("publicity_reach", _scope(w, level), NOV)
    assert figure.value == 40
    response = _get(client_for(w.leader), figure.records)
    assert response.status_code == 200
    assert [row["pk"] for row in response.context["rows"]] == [w.event.pk]
    assert "反诈宣传进社区" in response.content.decode()


@pytest.mark.parametrize("level", [Level.COMMUNITY, Level.STATION, Level.SUB_BUREAU])
def test_volunteer_participation_links_to_the_patrols(records, client_for, level):
    w = records
    figure = _figure("volunteer_participation", _scope(w, level), NOV)
    assert figure.numerator == 3
    assert figure.records.startswith("/patrol/runs/?status=done&date_from=2026-11-01&date_to=2026-11-30")
    response = _get(client_for(w.leader), figure.records)
    assert response.status_code == 200
    assert w.run in list(response.context["page"].object_list)


def test_meeting_compliance_of_a_station_lists_its_community_months(records, client_for):
    w = records
    figure = _figure("meeting_compliance", _scope(w, Level.STATION), NOV)
    assert (figure.numerator, figure.denominator) == (1, 2)  # C1 held a meeting in November, C2 none
    response = _get(client_for(w.leader), figure.records)
    assert response.status_code == 200
    rows = {row["cells"][0][0]: row for row in response.context["rows"]}
    assert set(rows) == {w.c1.name, w.c2.name}
    assert str(rows[w.c1.name]["verdict"][0]) == "达标" and str(rows[w.c2.name]["verdict"][0]) == "未达标"
    meetings_url = rows[w.c1.name]["cells"][2][1]
    assert meetings_url == f"/patrol/meetings/?community={w.c1.pk}&held_from=2026-11-01&held_to=2026-11-30"
    listed = _get(client_for(w.leader), meetings_url)
    assert listed.status_code == 200 and len(listed.context["page"].object_list) == 1


def test_records_page_is_scoped_to_the_users_territory(records, client_for):
    w = records
    url = "/evaluation/records/response_on_time/?level=station&id={}&kind=month&period=2026-11"
    assert _get(client_for(w.director), url.format(w.s1.pk)).status_code == 200
    assert _get(client_for(w.director), url.format(w.s2.pk)).status_code == 404
    assert _get(client_for(w.officer_a), url.format(w.s1.pk)).status_code == 404
    assert _get(client_for(w.patrol), url.format(w.s1.pk)).status_code == 404
    assert _get(client_for(w.leader), "/evaluation/records/control_rate/?level=sub_bureau").status_code == 404
    assert _get(client_for(w.leader), url.format("²")).status_code == 404


def test_every_figure_on_the_dashboard_with_data_has_records(records, client_for):
    """On the leader's station table, each KPI with a value links somewhere (except the composite 掌控率, whose
    detail page breaks it down)."""
    w = records
    response = _get(client_for(w.leader), "/evaluation/?level=station&kind=month&period=2026-11")
    row = next(r for r in response.context["rows"] if r.scope.id == w.s1.pk)
    for cell in row.cells:
        if cell.figure.value is not None and cell.column.code != "control_rate":
            assert cell.figure.records, cell.column.code
