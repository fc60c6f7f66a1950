"""The duty-mediator rota: the pure rule `plan` over whole years of random calendars (hypothesis), the
services on the database (generate, swap, assign, leave) and the rota page with its POST actions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.mediation import rota
from doorstep.mediation.choices import RotaSource
from doorstep.mediation.models import MediatorLeave, RotaDay
from doorstep.mediation.tests.conftest import on_duty
from doorstep.org.models import CalendarDay
from doorstep.org.workdays import HOLIDAY, WORKDAY, WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
OCT = [dt.date(2026, 10, d) for d in range(1, 32)]
NATIONAL_DAY = [dt.date(2026, 10, d) for d in range(1, 8)]  # Thursday 1 to Wednesday 7 October
MAKE_UP = dt.date(2026, 10, 10)  # Saturday, 调休上班


def freeze(time_machine, day: dt.date) -> None:
    time_machine.move_to(dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=TZ), tick=False)


def national_day() -> None:
    for day in NATIONAL_DAY:
        CalendarDay.objects.create(day=day, kind=CalendarDay.HOLIDAY, name="国庆节")
    CalendarDay.objects.create(day=MAKE_UP, kind=CalendarDay.WORKDAY, name="国庆节")


def october_working_days() -> list[dt.date]:
    return [d for d in OCT if (d.weekday() < 5 and d not in NATIONAL_DAY) or d == MAKE_UP]


def duty(med) -> dict[dt.date, int]:
    return dict(RotaDay.objects.filter(station=med.s1).values_list("day", "mediator_id"))


def generate_october(med) -> dict:
    return rota.generate(med.s1, OCT[0], OCT[-1], by=med.director)


# --- the pure rule over a year ------------------------------------------------------------------------------
@st.composite
def calendars(draw):
    """A random year: holiday spans anywhere, make-up working days on random weekend days."""
    year = draw(st.integers(2020, 2035))
    jan1 = dt.date(year, 1, 1)
    length = (dt.date(year, 12, 31) - jan1).days + 1
    holidays: set[dt.date] = set()
    for start, span in draw(st.lists(st.tuples(st.integers(0, length - 1), st.integers(1, 9)), max_size=8)):
        holidays |= {jan1 + dt.timedelta(days=start + i) for i in range(span)}
    holidays = {d for d in holidays if d.year == year}
    weekends = [jan1 + dt.timedelta(days=i) for i in range(length)]
    weekends = [d for d in weekends if d.weekday() >= 5 and d not in holidays]
    make_up = set(draw(st.lists(st.sampled_from(weekends), max_size=12)))
    adjustments = {d: HOLIDAY for d in holidays} | {d: WORKDAY for d in make_up}
    return year, holidays, make_up, WorkCalendar(adjustments)


def expected_working_days(year: int, holidays: set, make_up: set) -> list[dt.date]:
    """Written independently of WorkCalendar: Monday–Friday minus holidays plus make-up days."""
    day, out = dt.date(year, 1, 1), []
    while day.year == year:
        if day in make_up or (day.weekday() < 5 and day not in holidays):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


@settings(max_examples=60, deadline=None)
@given(calendars(), st.integers(1, 5))
def test_plan_puts_exactly_one_mediator_on_each_working_day_fairly_and_in_turn(cal_data, n):
    # given a year with random holidays and make-up working days, and n mediators
    year, holidays, make_up, cal = cal_data
    ids = [100 + i for i in range(n)]
    # when the year is planned
    days = list(cal.working_days(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    result = rota.plan(days, ids)
    # then every working day (and nothing else) has exactly one of the mediators
    assert list(result) == expected_working_days(year, holidays, make_up)
    assert not set(result) & holidays
    assert all(m in ids for m in result.values())
    # and the counts are fair
    counts = [list(result.values()).count(m) for m in ids]
    assert max(counts) - min(counts) <= 1
    assert sum(counts) == len(days)
    # and the rotation order is followed: the i-th working day belongs to the (i mod n)-th mediator
    assert list(result.values()) == [ids[i % n] for i in range(len(days))]
    if n >= 2:
        values = list(result.values())
        assert all(a != b for a, b in zip(values, values[1:], strict=False))


@settings(max_examples=60, deadline=None)
@given(
    calendars(),
    st.integers(1, 5),
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 364), st.integers(1, 40)), max_size=10),
)
def test_plan_never_puts_someone_on_leave_on_duty_and_leaves_a_gap_only_when_all_are_away(
    cal_data, n, leave_spans
):
    # given a random year, n mediators and random leave spans
    year, _holidays, _make_up, cal = cal_data
    ids = [100 + i for i in range(n)]
    jan1 = dt.date(year, 1, 1)
    spans = [
        (ids[who % n], jan1 + dt.timedelta(days=start), jan1 + dt.timedelta(days=start + length - 1))
        for who, start, length in leave_spans
    ]

    def away(m, day):
        return any(who == m and s <= day <= e for who, s, e in spans)

    # when the year is planned
    days = list(cal.working_days(jan1, dt.date(year, 12, 31)))
    result = rota.plan(days, ids, away=away)
    # then each working day is planned, and nobody on leave is on duty
    assert list(result) == days
    for day, m in result.items():
        if m is None:
            assert all(away(x, day) for x in ids), day
        else:
            assert m in ids and not away(m, day), day
    # and mediators who are never away stay within one day of each other
    present = [m for m in ids if not any(away(m, d) for d in days)]
    counts = [list(result.values()).count(m) for m in present]
    if counts:
        assert max(counts) - min(counts) <= 1


def test_plan_continues_after_the_last_mediator_on_duty_and_keeps_fixed_days():
    days = [dt.date(2026, 10, 12) + dt.timedelta(days=i) for i in range(4)]
    assert list(rota.plan(days, [1, 2, 3], last=1).values()) == [2, 3, 1, 2]
    result = rota.plan(days, [1, 2], fixed={days[0]: 2, days[1]: 2})
    assert list(result.values()) == [2, 2, 1, 1]


# --- services -------------------------------------------------------------------------------------------------
def test_generate_staffs_each_working_day_of_national_day_month_including_the_make_up_saturday(
    med, time_machine
):
    # given National Day 2026 in the calendar and a September clock
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    # when the director generates October
    result = generate_october(med)
    # then exactly the working days have a mediator, including Saturday 10 October
    rows = duty(med)
    assert sorted(rows) == october_working_days()
    assert len(rows) == 18 and result["assigned"] == 18 and result["gaps"] == []
    assert MAKE_UP in rows
    assert not set(rows) & set(NATIONAL_DAY)
    assert not [d for d in rows if d.weekday() >= 5 and d != MAKE_UP]
    # and the two mediators take turns, nine days each
    ids = [med.mediator_a.pk, med.mediator_b.pk]
    assert sorted(list(rows.values()).count(m) for m in ids) == [9, 9]
    ordered = [rows[d] for d in sorted(rows)]
    assert all(a != b for a, b in zip(ordered, ordered[1:], strict=False))
    assert AuditEntry.objects.filter(action="mediation.rota_generate").count() == 1


def test_generate_skips_a_mediator_on_leave(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    MediatorLeave.objects.create(
        mediator=med.mediator_a,
        start=dt.date(2026, 10, 12),
        end=dt.date(2026, 10, 16),
        reason="年休假",
        created_by=med.director,
    )
    generate_october(med)
    rows = duty(med)
    assert all(rows[dt.date(2026, 10, d)] == med.mediator_b.pk for d in range(12, 17))


def test_regenerating_keeps_a_swapped_day(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    generate_october(med)
    first, second = dt.date(2026, 10, 8), dt.date(2026, 10, 9)
    before = duty(med)
    rota.swap(med.s1, first, second, by=med.director, reason="家中有事")
    # when October is generated again
    generate_october(med)
    # then the swapped days stay swapped
    after = RotaDay.objects.filter(station=med.s1)
    assert after.get(day=first).mediator_id == before[second]
    assert after.get(day=second).mediator_id == before[first]
    assert after.get(day=first).source == RotaSource.SWAP
    assert sorted(duty(med)) == october_working_days()


def test_regenerating_keeps_a_directors_choice(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    # the director puts mediator A on three consecutive days, which rotation would never do
    for d in (12, 13, 14):
        rota.assign_day(med.s1, dt.date(2026, 10, d), med.mediator_a, by=med.director)
    generate_october(med)
    rows = duty(med)
    assert [rows[dt.date(2026, 10, d)] for d in (12, 13, 14)] == [med.mediator_a.pk] * 3


def test_regenerating_does_not_rewrite_days_before_today(med, time_machine):
    # given October generated in September, and the past days then changed by hand
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    generate_october(med)
    past = [dt.date(2026, 10, 8), dt.date(2026, 10, 9), dt.date(2026, 10, 12)]
    RotaDay.objects.filter(station=med.s1, day__in=past).update(mediator=med.mediator_b)
    pks = dict(RotaDay.objects.filter(day__in=past).values_list("day", "pk"))
    # when October is generated again on the 13th
    freeze(time_machine, dt.date(2026, 10, 13))
    result = generate_october(med)
    # then the days before today are untouched (still all B, same rows), the rest redrawn
    rows = RotaDay.objects.filter(station=med.s1, day__in=past)
    assert {r.day: (r.pk, r.mediator_id) for r in rows} == {d: (pks[d], med.mediator_b.pk) for d in past}
    assert result["assigned"] == len([d for d in october_working_days() if d >= dt.date(2026, 10, 13)])
    assert sorted(duty(med)) == october_working_days()


def test_regenerating_removes_the_row_of_a_day_made_a_holiday(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    generate_october(med)
    assert dt.date(2026, 10, 30) in duty(med)
    CalendarDay.objects.create(day=dt.date(2026, 10, 30), kind=CalendarDay.HOLIDAY, name="临时")
    result = generate_october(med)
    assert dt.date(2026, 10, 30) not in duty(med)
    assert result["removed"] == 1 and result["assigned"] == 17


@pytest.mark.parametrize("username", ["officer_a", "mediator_user", "director_s2", "leader"])
def test_only_the_stations_director_or_an_admin_may_generate(med, time_machine, username):
    freeze(time_machine, dt.date(2026, 9, 1))
    with pytest.raises(NotAllowed):
        rota.generate(med.s1, OCT[0], OCT[-1], by=getattr(med, username))
    assert not RotaDay.objects.exists()
    assert not AuditEntry.objects.filter(action="mediation.rota_generate").exists()


def test_an_admin_may_generate(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    rota.generate(med.s1, OCT[0], OCT[-1], by=med.admin)
    assert len(duty(med)) == 22  # no calendar entries: Monday–Friday alone


def test_generate_without_mediators_is_refused(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    with pytest.raises(RuleViolation):
        rota.generate(med.s2, OCT[0], OCT[-1], by=med.director_s2)
    assert not RotaDay.objects.exists()


def test_generate_refuses_a_span_that_ends_before_today(med, time_machine):
    freeze(time_machine, dt.date(2026, 11, 2))
    with pytest.raises(ServiceError):
        generate_october(med)


def test_leave_hands_future_duty_days_to_the_other_mediator(med, time_machine):
    # given October generated (nine days each)
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    generate_october(med)
    a, b = med.mediator_a.pk, med.mediator_b.pk
    span = [dt.date(2026, 10, d) for d in range(12, 17)]
    held = [d for d, m in duty(med).items() if m == a and d in span]
    assert held
    # when A's leave from 12 to 16 October is recorded
    result = rota.record_leave(med.mediator_a, span[0], span[-1], reason="年休假", by=med.director)
    # then B holds all those days and the counts moved accordingly
    rows = duty(med)
    assert result == {"moved": len(held), "gaps": []}
    assert all(rows[d] == b for d in span)
    assert list(rows.values()).count(a) == 9 - len(held)
    assert list(rows.values()).count(b) == 9 + len(held)
    assert RotaDay.objects.get(station=med.s1, day=held[0]).source == RotaSource.MANUAL
    assert AuditEntry.objects.filter(action="mediation.leave").count() == 1


def test_leave_does_not_move_days_already_past(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    generate_october(med)
    a = med.mediator_a.pk
    before = duty(med)
    freeze(time_machine, dt.date(2026, 10, 14))
    rota.record_leave(
        med.mediator_a, dt.date(2026, 10, 12), dt.date(2026, 10, 16), reason="病假", by=med.director
    )
    after = duty(med)
    assert after[dt.date(2026, 10, 12)] == before[dt.date(2026, 10, 12)]
    assert after[dt.date(2026, 10, 13)] == before[dt.date(2026, 10, 13)]
    assert a not in [after[dt.date(2026, 10, d)] for d in (14, 15, 16)]


def test_leave_of_both_mediators_leaves_gaps(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    generate_october(med)
    span = [dt.date(2026, 10, d) for d in range(19, 24)]
    rota.record_leave(med.mediator_b, span[0], span[-1], reason="培训", by=med.director)
    assert all(duty(med)[d] == med.mediator_a.pk for d in span)
    result = rota.record_leave(med.mediator_a, span[0], span[-1], reason="培训", by=med.director)
    assert result == {"moved": 0, "gaps": span}
    assert not set(duty(med)) & set(span)
    assert all(rota.duty_mediator(med.s1.pk, d) is None for d in span)


def test_leave_refuses_overlaps_and_an_end_before_the_start(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    rota.record_leave(
        med.mediator_a, dt.date(2026, 10, 12), dt.date(2026, 10, 16), reason="年休假", by=med.director
    )
    with pytest.raises(RuleViolation):
        rota.record_leave(
            med.mediator_a, dt.date(2026, 10, 16), dt.date(2026, 10, 20), reason="病假", by=med.director
        )
    with pytest.raises(ServiceError):
        rota.record_leave(
            med.mediator_b, dt.date(2026, 10, 20), dt.date(2026, 10, 19), reason="病假", by=med.director
        )
    with pytest.raises(NotAllowed):
        rota.record_leave(
            med.mediator_b, dt.date(2026, 10, 20), dt.date(2026, 10, 21), reason="病假", by=med.officer_a
        )
    assert MediatorLeave.objects.count() == 1
    assert AuditEntry.objects.filter(action="mediation.leave").count() == 1


def test_swap_exchanges_two_days_and_is_audited(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    generate_october(med)
    first, second = dt.date(2026, 10, 8), dt.date(2026, 10, 9)
    before = duty(med)
    assert before[first] != before[second]
    rota.swap(med.s1, second, first, by=med.director, reason="家中有事")
    after = duty(med)
    assert (after[first], after[second]) == (before[second], before[first])
    assert {r.source for r in RotaDay.objects.filter(day__in=[first, second])} == {RotaSource.SWAP}
    entry = AuditEntry.objects.get(action="mediation.rota_swap")
    assert entry.note == "家中有事"


def test_swap_refusals(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    generate_october(med)
    rows = duty(med)
    a_days = sorted(d for d, m in rows.items() if m == med.mediator_a.pk)
    b_days = sorted(d for d, m in rows.items() if m == med.mediator_b.pk)
    freeze(time_machine, dt.date(2026, 10, 13))
    # a past day
    with pytest.raises(RuleViolation):
        rota.swap(med.s1, dt.date(2026, 10, 12), dt.date(2026, 10, 15), by=med.director, reason="x")
    # the same person on both days
    future_a = [d for d in a_days if d >= dt.date(2026, 10, 13)]
    with pytest.raises(RuleViolation):
        rota.swap(med.s1, future_a[0], future_a[1], by=med.director, reason="x")
    # a day without duty (a weekend)
    with pytest.raises(RuleViolation):
        rota.swap(med.s1, dt.date(2026, 10, 17), future_a[0], by=med.director, reason="x")
    # the same day twice, no reason, not the director
    with pytest.raises(ServiceError):
        rota.swap(med.s1, future_a[0], future_a[0], by=med.director, reason="x")
    with pytest.raises(ServiceError):
        rota.swap(med.s1, future_a[0], b_days[-1], by=med.director, reason="  ")
    with pytest.raises(NotAllowed):
        rota.swap(med.s1, future_a[0], b_days[-1], by=med.mediator_user, reason="x")
    assert duty(med) == rows
    assert not AuditEntry.objects.filter(action="mediation.rota_swap").exists()


def test_swap_that_would_put_someone_on_duty_during_leave_is_refused(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    generate_october(med)
    leave_day = dt.date(2026, 10, 20)
    rota.record_leave(med.mediator_a, leave_day, leave_day, reason="事假", by=med.director)
    rows = duty(med)
    assert rows[leave_day] == med.mediator_b.pk
    a_day = next(d for d, m in sorted(rows.items()) if m == med.mediator_a.pk and d > leave_day)
    with pytest.raises(RuleViolation):
        rota.swap(med.s1, leave_day, a_day, by=med.director, reason="想换")
    assert duty(med) == rows


def test_assign_day_fills_the_make_up_saturday_and_refuses_holidays_and_non_mediators(med, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    row = rota.assign_day(med.s1, MAKE_UP, med.mediator_b, by=med.director, note="调休")
    assert (row.mediator_id, row.source) == (med.mediator_b.pk, RotaSource.MANUAL)
    assert AuditEntry.objects.filter(action="mediation.rota_assign").count() == 1
    with pytest.raises(RuleViolation):
        rota.assign_day(med.s1, dt.date(2026, 10, 5), med.mediator_a, by=med.director)  # 国庆节
    with pytest.raises(RuleViolation):
        rota.assign_day(med.s1, dt.date(2026, 10, 11), med.mediator_a, by=med.director)  # Sunday
    with pytest.raises(ServiceError):
        rota.assign_day(med.s1, dt.date(2026, 10, 12), med.officer_a_staff, by=med.director)
    with pytest.raises(NotAllowed):
        rota.assign_day(med.s1, dt.date(2026, 10, 12), med.mediator_a, by=med.director_s2)
    assert list(RotaDay.objects.values_list("day", flat=True)) == [MAKE_UP]


def test_duty_mediator_is_none_when_the_mediator_on_duty_is_on_leave(med):
    on_duty(med, dt.date(2026, 10, 20), med.mediator_a)
    on_duty(med, dt.date(2026, 10, 21), med.mediator_a)
    MediatorLeave.objects.create(
        mediator=med.mediator_a,
        start=dt.date(2026, 10, 20),
        end=dt.date(2026, 10, 20),
        reason="事假",
        created_by=med.director,
    )
    assert rota.duty_mediator(med.s1.pk, dt.date(2026, 10, 20)) is None
    assert rota.duty_mediator(med.s1.pk, dt.date(2026, 10, 21)) == med.mediator_a
    assert rota.duty_mediator(med.s1.pk, dt.date(2026, 10, 22)) is None


# --- the page ---------------------------------------------------------------------------------------------------
def rota_url(med, action: str = "") -> str:
    base = f"/mediation/rota/{med.s1.pk}/"
    return f"{base}{action}/" if action else base


@pytest.mark.parametrize("username", ["director", "mediator_user", "officer_a", "admin"])
def test_rota_page_shows_the_month_and_the_mediators(med, client_for, time_machine, username):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    generate_october(med)
    c = client_for(getattr(med, username))
    assert c.get("/mediation/rota/").status_code == 200
    response = c.get(rota_url(med) + "?month=2026-10")
    body = response.content.decode()
    assert response.status_code == 200
    assert "2026年10月" in body and "黄文" in body and "罗燕" in body
    assert "调休上班" in body and 'data-day="2026-10-10"' in body
    assert ('data-testid="rota-generate"' in body) == (username in ("director", "admin"))


def test_rota_page_heads_the_weekdays_in_the_reader_s_language(med, client_for):
    c = client_for(med.director)
    chinese = c.get(rota_url(med)).content.decode()
    assert all(f">{day}</th>" in chinese for day in ("周一", "周六", "周日"))
    c.cookies["django_language"] = "en"
    english = c.get(rota_url(med)).content.decode()
    assert (
        ">Mon</th>" in english
        and ">Sun</th>" in english
        and "WEEK" not in english.upper().replace("WEEKEND", "")
    )


def test_rota_page_is_404_for_patrol_and_another_stations_director(med, client_for):
    assert client_for(med.patrol).get("/mediation/rota/").status_code == 404
    assert client_for(med.patrol).get(rota_url(med)).status_code == 404
    assert client_for(med.director_s2).get(rota_url(med)).status_code == 404
    assert client_for(med.director).get("/mediation/rota/99999999999999999999999/").status_code == 404


def test_far_or_bad_month_falls_back_to_this_month(med, client_for, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    c = client_for(med.director)
    for month in ("9999-99", "9999-12", "abc", "2026-13", "1-1", "2026-10-01"):
        response = c.get(rota_url(med) + f"?month={month}")
        assert response.status_code == 200, month
        assert "2026年9月" in response.content.decode(), month


def test_rota_page_warns_when_the_year_has_no_calendar_entries(med, client_for, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    c = client_for(med.director)
    assert 'data-testid="calendar-missing"' in c.get(rota_url(med) + "?month=2026-10").content.decode()
    national_day()
    assert 'data-testid="calendar-missing"' not in c.get(rota_url(med) + "?month=2026-10").content.decode()


def post(c, url, data):
    response = c.post(url, data, follow=True)
    assert response.redirect_chain and response.status_code == 200
    return response.content.decode()


def test_director_generates_swaps_assigns_and_records_leave_on_the_page(med, client_for, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    national_day()
    c = client_for(med.director)
    body = post(
        c, rota_url(med, "generate"), {"start": "2026-10-01", "end": "2026-10-31", "month": "2026-10"}
    )
    assert "已排班 18 个工作日" in body
    assert len(duty(med)) == 18
    before = duty(med)
    body = post(
        c, rota_url(med, "swap"), {"day_a": "2026-10-08", "day_b": "2026-10-09", "reason": "家中有事"}
    )
    assert "已换班" in body
    assert duty(med)[dt.date(2026, 10, 8)] == before[dt.date(2026, 10, 9)]
    body = post(c, rota_url(med, "assign"), {"day": "2026-10-12", "mediator": med.mediator_b.pk, "note": ""})
    assert "已指定值班调解员" in body
    assert duty(med)[dt.date(2026, 10, 12)] == med.mediator_b.pk
    body = post(
        c,
        rota_url(med, "leave"),
        {"mediator": med.mediator_b.pk, "start": "2026-10-12", "end": "2026-10-12", "reason": "事假"},
    )
    assert "已登记请假" in body
    assert duty(med)[dt.date(2026, 10, 12)] == med.mediator_a.pk
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "mediation.rota_generate",
        "mediation.rota_swap",
        "mediation.rota_assign",
        "mediation.leave",
    } <= actions


@pytest.mark.parametrize("action", ["generate", "swap", "assign", "leave"])
def test_mediator_may_not_post_rota_actions(med, client_for, time_machine, action):
    freeze(time_machine, dt.date(2026, 9, 1))
    data = {
        "start": "2026-10-01",
        "end": "2026-10-31",
        "day_a": "2026-10-08",
        "day_b": "2026-10-09",
        "day": "2026-10-12",
        "mediator": med.mediator_a.pk,
        "reason": "x",
    }
    response = client_for(med.mediator_user).post(rota_url(med, action), data)
    assert response.status_code == 403
    assert client_for(med.director_s2).post(rota_url(med, action), data).status_code == 404
    assert not RotaDay.objects.exists() and not MediatorLeave.objects.exists()


def test_bad_form_input_gives_a_chinese_message(med, client_for, time_machine):
    freeze(time_machine, dt.date(2026, 9, 1))
    c = client_for(med.director)
    body = post(c, rota_url(med, "generate"), {"start": "", "end": ""})
    assert "此项为必填项" in body
    body = post(c, rota_url(med, "generate"), {"start": "2026-10-31", "end": "2026-10-01"})
    assert "结束日期不能早于开始日期" in body
    body = post(c, rota_url(med, "generate"), {"start": "9999-01-01", "end": "9999-02-01"})
    assert "日期须在" in body
    body = post(
        c,
        rota_url(med, "leave"),
        {"mediator": med.mediator_a.pk, "start": "2026-10-20", "end": "2026-10-19", "reason": "事假"},
    )
    assert "结束日期不能早于开始日期" in body
    body = post(c, rota_url(med, "swap"), {"day_a": "2026-10-08", "day_b": "", "reason": "x"})
    assert "此项为必填项" in body
    body = post(c, rota_url(med, "assign"), {"day": "2026-10-12", "mediator": med.officer_a_staff.pk})
    assert "选择一个有效的选项" in body  # not one of the station's mediators: a form error, not a 500
    national_day()
    body = post(c, rota_url(med, "assign"), {"day": "2026-10-03", "mediator": med.mediator_a.pk})
    assert "不是工作日" in body
    assert not RotaDay.objects.exists() and not MediatorLeave.objects.exists()


def test_review_a_transferred_mediator_is_not_on_duty_at_the_old_station(med):
    """Regression: `duty_mediator` also checks the mediator still serves that station."""
    import datetime as dt

    from doorstep.mediation import rota as rota_module
    from doorstep.mediation.models import RotaDay

    day = dt.date(2026, 12, 1)
    RotaDay.objects.create(station=med.s1, day=day, mediator=med.mediator_a)
    assert rota_module.duty_mediator(med.s1.pk, day) == med.mediator_a
    med.mediator_a.station = med.s2
    med.mediator_a.save(update_fields=["station"])
    assert rota_module.duty_mediator(med.s1.pk, day) is None


def test_review_regenerating_mid_month_counts_the_days_already_served(med, time_machine):
    """Regression: the tally starts from the month's days already on the rota, so the month stays fair."""
    import datetime as dt
    import zoneinfo

    from doorstep.mediation import rota as rota_module
    from doorstep.mediation.models import RotaDay

    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    time_machine.move_to(dt.datetime(2026, 12, 1, 8, 0, tzinfo=tz), tick=False)
    # The first half of December was all mediator A's (say, B was away and the leave has ended).
    for d in range(1, 16):
        day = dt.date(2026, 12, d)
        if day.weekday() < 5:
            RotaDay.objects.create(station=med.s1, day=day, mediator=med.mediator_a, source="manual")
    time_machine.move_to(dt.datetime(2026, 12, 16, 8, 0, tzinfo=tz), tick=False)
    rota_module.generate(med.s1, dt.date(2026, 12, 16), dt.date(2026, 12, 31), by=med.director)
    # 11 working days served by A before the 16th; 12 left: B takes 11 of them, and the month ends even.
    tally = rota_module.fairness(med.s1.pk, dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert tally == {med.mediator_a.pk: 12, med.mediator_b.pk: 11}
