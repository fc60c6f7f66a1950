"""Each KPI against a hand-computed fixture, empty territories (None, never a ZeroDivisionError), and scope
aggregation (a station is the sum of its grids' numerators and denominators, not a mean of ratios)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from doorstep.alarms.tests.test_stats import alarm, key_device
from doorstep.evaluation import kpis, periods, scopes
from doorstep.evaluation.choices import Element, IncidentCategory, IncidentSource, Level
from doorstep.evaluation.models import Baseline, Incident, KpiSetting, Verification
from doorstep.registry import services as registry_services
from doorstep.registry.choices import PersonCategory
from doorstep.registry.tests.conftest import make_house, new_id

CST = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=CST)
NOV = periods.period_of("month", dt.date(2026, 11, 1))
OCT = periods.period_of("month", dt.date(2026, 10, 1))


def person(household, name):
    return registry_services.create_person(
        name=name, id_number=new_id(), category=PersonCategory.RESIDENT, household=household
    )


@pytest.fixture
def data(world):
    """November 2026, station S1 = C1 (grids A, B) + C2 (grid C); S2 = C3 (grid D), which has nothing.

    persons: A 3, B 1 (C, D none)          person baselines: A 4 (Oct: 10, superseded), B 2, C none
    houses:  A 1, B 1                      house baseline:   A 1
    person samples in Nov: A 2 of 3 correct, B 1 of 1; house: A 1 of 1; an October sample is ignored
    incidents in Nov: A 2 (one criminal, one public order); one in October is ignored
    """
    with time_machine.travel(NOW, tick=False):
        by = world.evaluator
        house_a = make_house(world.grid_a)
        hh_a = registry_services.create_household(house=house_a, household_no="A1")
        for name in ("张一", "张二", "张三"):
            person(hh_a, name)
        house_b = make_house(world.grid_b)
        person(registry_services.create_household(house=house_b, household_no="B1"), "李一")
        for grid, element, expected, as_of in (
            (world.grid_a, Element.PERSON, 10, dt.date(2026, 10, 1)),
            (world.grid_a, Element.PERSON, 4, dt.date(2026, 11, 1)),
            (world.grid_a, Element.PERSON, 99, dt.date(2026, 12, 5)),  # after the period: ignored
            (world.grid_b, Element.PERSON, 2, dt.date(2026, 11, 1)),
            (world.grid_a, Element.HOUSE, 1, dt.date(2026, 11, 1)),
        ):
            Baseline.objects.create(
                grid=grid, element=element, expected=expected, as_of=as_of, source="户籍系统", created_by=by
            )
        for grid, element, correct, day in (
            (world.grid_a, Element.PERSON, True, dt.date(2026, 11, 3)),
            (world.grid_a, Element.PERSON, True, dt.date(2026, 11, 4)),
            (world.grid_a, Element.PERSON, False, dt.date(2026, 11, 30)),
            (world.grid_b, Element.PERSON, True, dt.date(2026, 11, 1)),
            (world.grid_a, Element.HOUSE, True, dt.date(2026, 11, 2)),
            (world.grid_a, Element.PERSON, False, dt.date(2026, 10, 31)),  # October
        ):
            Verification.objects.create(
                grid=grid, element=element, object_id=1, checked_on=day, correct=correct, checked_by=by
            )
        for category, day in (
            (IncidentCategory.CRIMINAL, dt.date(2026, 11, 1)),
            (IncidentCategory.PUBLIC_ORDER, dt.date(2026, 11, 30)),
            (IncidentCategory.CRIMINAL, dt.date(2026, 10, 31)),
        ):
            Incident.objects.create(
                grid=world.grid_a, occurred_on=day, category=category, kind="盗窃", place="东海大街",
                source=IncidentSource.ENTERED, created_by=by,
            )  # fmt: skip
    return world


def sc(level, pk=None):
    return scopes.scope_for(level, pk)


def fig(code, scope, period=NOV):
    with time_machine.travel(NOW, tick=False):
        return kpis.compute(scope, period, [code])[code]


def test_collection_rate_sums_grids_and_uses_the_latest_baseline(data):
    w = data
    a = fig("collection_rate_person", sc(Level.GRID, w.grid_a.pk))
    assert (a.value, a.numerator, a.denominator) == (0.75, 3, 4)
    assert a.records == f"/registry/persons/?grid={w.grid_a.pk}"
    c1 = fig("collection_rate_person", sc(Level.COMMUNITY, w.c1.pk))
    assert (c1.numerator, c1.denominator) == (4, 6)  # not the mean of 3/4 and 1/2
    s1 = fig("collection_rate_person", sc(Level.STATION, w.s1.pk))
    assert (s1.numerator, s1.denominator) == (4, 6) and "1个网格" in s1.note  # grid C has no baseline
    assert s1.records == f"/registry/persons/?station={w.s1.pk}"
    whole = fig("collection_rate_person", sc(Level.SUB_BUREAU))
    assert (whole.numerator, whole.denominator, whole.records) == (4, 6, "/registry/persons/")


def test_collection_without_baseline_is_missing(data):
    w = data
    for code in ("collection_rate_person", "collection_rate_unit"):
        figure = fig(code, sc(Level.GRID, w.grid_c.pk))
        assert figure.value is None and figure.note == kpis.NO_BASELINE
    assert fig("collection_rate_unit", sc(Level.STATION, w.s1.pk)).value is None


def test_collection_counts_records_as_of_the_period_end(data):
    w = data
    Baseline.objects.create(
        grid=w.grid_a, element=Element.PERSON, expected=5, as_of=dt.date(2026, 9, 1), source="x",
        created_by=w.evaluator,
    )  # fmt: skip
    october = fig("collection_rate_person", sc(Level.GRID, w.grid_a.pk), OCT)
    assert (october.numerator, october.denominator) == (0, 10)  # persons created on 28 November


def test_accuracy_rate(data):
    w = data
    assert (lambda f: (f.numerator, f.denominator))(fig("accuracy_rate", sc(Level.GRID, w.grid_a.pk))) == (
        3,
        4,
    )
    c1 = fig("accuracy_rate", sc(Level.COMMUNITY, w.c1.pk))
    assert (c1.numerator, c1.denominator, c1.value) == (4, 5, 0.8)
    assert fig("accuracy_rate", sc(Level.GRID, w.grid_d.pk)).value is None


def test_control_rate_weighted_mean_with_configurable_weights(data):
    w = data
    c1 = sc(Level.COMMUNITY, w.c1.pk)
    # person: 4/6 × 3/4 = 0.5; house: 1/1 × 1/1 = 1 (grid A only); others left out
    assert fig("control_rate", c1).value == pytest.approx(0.75)
    assert "标准地址" in fig("control_rate", c1).note
    KpiSetting.objects.create(code="collection_rate_person", weight=3)
    assert fig("control_rate", c1).value == pytest.approx((3 * 0.5 + 1) / 4)
    assert fig("control_rate", sc(Level.GRID, w.grid_d.pk)).value is None


def test_incidence_per_10k(data):
    w = data
    a = fig("incidence_per_10k", sc(Level.GRID, w.grid_a.pk))
    assert (a.numerator, a.denominator) == (2, 3) and a.value * 10000 == pytest.approx(20000 / 3)
    assert (
        a.records
        == f"/evaluation/incidents/?occurred_from=2026-11-01&occurred_to=2026-11-30&grid={w.grid_a.pk}"
    )
    c1 = fig("incidence_per_10k", sc(Level.COMMUNITY, w.c1.pk))
    assert (c1.numerator, c1.denominator, c1.value) == (2, 4, 0.5)
    assert fig("incidence_per_10k", sc(Level.STATION, w.s2.pk)).value is None  # no population
    assert kpis.REGISTRY["incidence_per_10k"].higher_is_better is False


def test_response_on_time_excludes_drills_and_counts_never_arrived_as_late(data):
    w = data
    device = key_device(w.grid_a, "城东银行", "BTN-EV1", w.director)
    day = dt.datetime(2026, 11, 10, 9, 0, tzinfo=CST)
    alarm(device, day, ack=10, dispatch=40, arrive=240, closed=900, disposition="real")  # reached
    alarm(device, day + dt.timedelta(hours=1), ack=10, arrive=360, closed=900, disposition="real")  # late
    alarm(device, day + dt.timedelta(hours=2), ack=5, closed=60, disposition="false")  # not an emergency
    alarm(device, day + dt.timedelta(hours=3), arrive=100, drill=True)  # drill
    alarm(device, day + dt.timedelta(hours=4))  # never arrived: late
    alarm(device, dt.datetime(2026, 10, 10, 9, tzinfo=CST), arrive=60)  # October
    s1 = fig("response_on_time", sc(Level.STATION, w.s1.pk))
    assert (s1.numerator, s1.denominator) == (1, 3)
    assert (
        s1.records
        == f"/evaluation/records/response_on_time/?level=station&kind=month&period=2026-11&id={w.s1.pk}"
    )
    assert fig("response_on_time", sc(Level.GRID, w.grid_b.pk)).value is None


def test_survey_kpis_without_answers_are_blank_not_zero(data):
    """No survey answers in the period: "—" (no division by zero), for each of the three survey KPIs."""
    for code in ("awareness", "satisfaction", "safety"):
        assert fig(code, sc(Level.SUB_BUREAU)).value is None


def test_mediation_success(data):
    from doorstep.mediation.choices import SettledBy, Status
    from doorstep.mediation.models import Dispute
    from doorstep.mediation.seed import ensure_types

    w = data
    ensure_types()
    from doorstep.mediation.models import DisputeType

    dtype = DisputeType.objects.first()
    rows = [
        (w.grid_a, Status.SETTLED, dt.datetime(2026, 11, 1, 0, 5, tzinfo=CST)),
        (w.grid_a, Status.FAILED, dt.datetime(2026, 11, 30, 23, 50, tzinfo=CST)),
        (w.grid_b, Status.SETTLED, dt.datetime(2026, 11, 15, 9, tzinfo=CST)),
        (None, Status.SETTLED, dt.datetime(2026, 11, 15, 9, tzinfo=CST)),  # community only
        (w.grid_a, Status.SETTLED, dt.datetime(2026, 10, 31, 23, 59, tzinfo=CST)),  # October
    ]
    for i, (grid, status, at) in enumerate(rows):
        Dispute.objects.create(
            number=f"T{i}", year=2026, seq=i + 1, station=w.s1, community=w.c1, grid=grid,
            dispute_type=dtype, source="walk_in", place="x", facts="x", status=status,
            settled_by=SettledBy.ONSITE if status == Status.SETTLED else "", received_by=w.director,
            received_at=at,
        )  # fmt: skip
    a = fig("mediation_success", sc(Level.GRID, w.grid_a.pk))
    assert (a.numerator, a.denominator) == (1, 2)
    assert a.records == f"/mediation/list/?received_from=2026-11-01&received_to=2026-11-30&grid={w.grid_a.pk}"
    c1 = fig("mediation_success", sc(Level.COMMUNITY, w.c1.pk))
    assert (c1.numerator, c1.denominator) == (3, 4)
    s1 = fig("mediation_success", sc(Level.STATION, w.s1.pk))
    assert (s1.numerator, s1.denominator) == (3, 4)
    assert s1.records == f"/mediation/list/?received_from=2026-11-01&received_to=2026-11-30&station={w.s1.pk}"
    assert fig("mediation_success", sc(Level.STATION, w.s2.pk)).value is None


def test_meetings_publicity_and_patrol_hours(data):
    from doorstep.patrol.models import Event, Meeting, Patrol

    w = data
    Meeting.objects.create(
        community=w.c1,
        kind="talk",
        held_on=dt.date(2026, 11, 5),
        place="x",
        attendance=10,
        officers="x",
        by=w.director,
    )
    Event.objects.create(
        community=w.c1,
        theme="fraud",
        title="x",
        place="x",
        held_on=dt.date(2026, 11, 6),
        audience=40,
        by=w.director,
    )
    start = dt.datetime(2026, 11, 7, 9, tzinfo=CST)
    Patrol.objects.create(
        community=w.c2, led_by=w.director, status="done", started_at=start, ended_at=start + dt.timedelta(hours=2),
        volunteers=3,
    )  # fmt: skip
    s1 = sc(Level.STATION, w.s1.pk)
    meetings = fig("meeting_compliance", s1)
    assert (meetings.numerator, meetings.denominator) == (1, 2)  # C1 complied, C2 did not
    c1_meet = fig("meeting_compliance", sc(Level.COMMUNITY, w.c1.pk))
    assert c1_meet.records == f"/patrol/meetings/?held_from=2026-11-01&held_to=2026-11-30&community={w.c1.pk}"
    assert fig("publicity_reach", s1).value == 40
    assert fig("patrol_hours", s1).value == 2
    assert fig("patrol_hours", sc(Level.COMMUNITY, w.c1.pk)).value == 0
    with time_machine.travel(NOW, tick=False):
        grid_figures = kpis.compute(sc(Level.GRID, w.grid_a.pk), NOV)
    assert "patrol_hours" not in grid_figures and "collection_rate_person" in grid_figures


def test_visit_rate_on_time_over_due(data):
    from doorstep.registry.models import Household, Visit

    w = data
    hh = Household.objects.get(household_no="A1")
    hh_b = Household.objects.get(household_no="B1")

    def visit(household, at, due):
        Visit.objects.create(
            household=household, grid=household.grid, visited_by=w.officer_a, visited_at=at, findings="x",
            colour_at_visit="green", next_due=due,
        )  # fmt: skip

    visit(hh, dt.datetime(2026, 10, 25, 10, tzinfo=CST), dt.date(2026, 11, 1))  # due 1 Nov …
    visit(hh, dt.datetime(2026, 11, 1, 20, tzinfo=CST), dt.date(2026, 11, 8))  # … met on 1 Nov; due 8 Nov …
    visit(hh, dt.datetime(2026, 11, 9, 9, tzinfo=CST), dt.date(2026, 12, 9))  # … met late
    visit(hh_b, dt.datetime(2026, 11, 20, 9, tzinfo=CST), dt.date(2026, 11, 29))  # due after "now": pending
    a = fig("visit_rate", sc(Level.GRID, w.grid_a.pk))
    assert (a.numerator, a.denominator) == (1, 2)
    assert fig("visit_rate", sc(Level.GRID, w.grid_b.pk)).value is None


def test_empty_territory_gives_none_for_everything(data):
    w = data
    with time_machine.travel(NOW, tick=False):
        figures = kpis.compute(sc(Level.STATION, w.s2.pk), NOV)
    assert set(figures) == set(kpis.active_codes(Level.STATION))
    for code, figure in figures.items():
        if code in ("patrol_hours", "publicity_reach", "patrol_coverage", "meeting_compliance"):
            assert figure.value == 0, code  # nothing done is 0, not "—": grid D exists, C3 held no meeting
        else:
            assert figure.value is None, code


def test_settings_override_targets_and_deactivate(data):
    assert kpis.effective("control_rate") == (0.95, 1.0, True)
    KpiSetting.objects.create(code="control_rate", target=0.9, weight=2, active=False)
    assert kpis.effective("control_rate") == (0.9, 2.0, False)
    assert "control_rate" not in kpis.active_codes()
    with time_machine.travel(NOW, tick=False):
        assert "control_rate" not in kpis.compute(sc(Level.SUB_BUREAU), NOV)


def test_compute_many_matches_compute_per_scope(data, django_assert_max_num_queries):
    whole = scopes.sub_bureau_scope()
    from doorstep.evaluation.snapshots import all_scopes

    every = all_scopes()
    with time_machine.travel(NOW, tick=False):
        many = kpis.compute_many(every, NOV)
        for scope in every:
            assert many[scope] == kpis.compute(scope, NOV), scope
    assert whole in many


@pytest.mark.parametrize("level", [Level.GRID, Level.COMMUNITY, Level.STATION, Level.SUB_BUREAU])
def test_accuracy_drill_down_lists_exactly_the_samples_counted(data, client_for, level):
    w = data
    pk = {Level.GRID: w.grid_a.pk, Level.COMMUNITY: w.c1.pk, Level.STATION: w.s1.pk}.get(level)
    scope = sc(level, pk)
    figure = fig("accuracy_rate", scope)
    assert figure.records.startswith(
        "/evaluation/verifications/?checked_from=2026-11-01&checked_to=2026-11-30"
    )
    if pk is not None:
        assert (
            f"{ {Level.GRID: 'grid', Level.COMMUNITY: 'community', Level.STATION: 'station'}[level] }={pk}"
            in (figure.records)
        )
    response = client_for(w.evaluator).get(figure.records)
    assert response.status_code == 200
    listed = {v.pk for v in response.context["page"].object_list}
    counted = set(
        Verification.objects.filter(
            grid_id__in=scope.grid_ids, checked_on__gte=NOV.start, checked_on__lte=NOV.end
        ).values_list("pk", flat=True)
    )
    assert listed == counted
    assert len(listed) == figure.denominator
    correct = client_for(w.evaluator).get(figure.records + "&correct=true").context["page"].object_list
    assert len(correct) == figure.numerator
