"""Period boundaries: weeks (ISO, Monday–Sunday), 旬 (1–10, 11–20, 21–end incl. February), months, years;
labels in Chinese; URL values that parse or are refused without raising."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from doorstep.evaluation import periods
from doorstep.evaluation.engine import Period

D = dt.date


@pytest.mark.parametrize(
    ("day", "start", "end", "text"),
    [
        (D(2026, 2, 21), D(2026, 2, 21), D(2026, 2, 28), "2026年2月下旬"),  # non-leap February
        (D(2028, 2, 29), D(2028, 2, 21), D(2028, 2, 29), "2028年2月下旬"),  # leap February
        (D(2000, 2, 25), D(2000, 2, 21), D(2000, 2, 29), "2000年2月下旬"),  # 2000 is a leap year
        (D(2026, 11, 10), D(2026, 11, 1), D(2026, 11, 10), "2026年11月上旬"),
        (D(2026, 11, 11), D(2026, 11, 11), D(2026, 11, 20), "2026年11月中旬"),
        (D(2026, 12, 31), D(2026, 12, 21), D(2026, 12, 31), "2026年12月下旬"),
        (D(2026, 4, 30), D(2026, 4, 21), D(2026, 4, 30), "2026年4月下旬"),
    ],
)
def test_xun_boundaries(day, start, end, text):
    period = periods.period_of("xun", day)
    assert (period.start, period.end, periods.label(period), period.label) == (start, end, text, text)


def test_months_and_years():
    assert periods.period_of("month", D(2028, 2, 10)) == Period("month", D(2028, 2, 1), D(2028, 2, 29))
    assert periods.period_of("month", D(2026, 2, 10)).end == D(2026, 2, 28)
    assert periods.period_of("month", D(2026, 12, 31)).start == D(2026, 12, 1)
    assert periods.period_of("year", D(2026, 7, 1)) == Period("year", D(2026, 1, 1), D(2026, 12, 31))
    assert periods.label(periods.period_of("month", D(2026, 11, 5))) == "2026年11月"
    assert periods.label(periods.period_of("year", D(2026, 11, 5))) == "2026年"


def test_weeks_are_iso_monday_to_sunday_across_years():
    week = periods.period_of("week", D(2026, 11, 28))  # a Saturday
    assert (week.start, week.end, week.days) == (D(2026, 11, 23), D(2026, 11, 29), 7)
    assert periods.label(week) == "2026年第48周"
    # 2026-12-31 (Thursday) is in ISO week 53 of 2026, which ends on Sunday 2027-01-03.
    w53 = periods.period_of("week", D(2027, 1, 2))
    assert (w53.start, w53.end, periods.label(w53)) == (D(2026, 12, 28), D(2027, 1, 3), "2026年第53周")
    # 2025-12-29 (Monday) starts ISO week 1 of 2026.
    assert periods.label(periods.period_of("week", D(2025, 12, 31))) == "2026年第1周"


def test_previous_and_between():
    assert periods.previous(periods.period_of("xun", D(2026, 3, 5))) == Period(
        "xun", D(2026, 2, 21), D(2026, 2, 28)
    )
    assert periods.previous(periods.period_of("month", D(2026, 1, 15))) == Period(
        "month", D(2025, 12, 1), D(2025, 12, 31)
    )
    assert periods.previous(periods.period_of("week", D(2027, 1, 4))).start == D(2026, 12, 28)
    xuns = periods.periods_between("xun", D(2028, 2, 15), D(2028, 3, 1))
    assert [(p.start, p.end) for p in xuns] == [
        (D(2028, 2, 11), D(2028, 2, 20)),
        (D(2028, 2, 21), D(2028, 2, 29)),
        (D(2028, 3, 1), D(2028, 3, 10)),
    ]
    assert periods.periods_between("month", D(2026, 3, 1), D(2026, 2, 1)) == []
    assert len(periods.last("month", D(2026, 11, 30), 6)) == 6


def test_since_until_are_local_midnights_with_a_frozen_clock():
    with time_machine.travel(
        dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False
    ):
        month = periods.period_of("month", timezone.localdate())
    assert month == Period("month", D(2026, 11, 1), D(2026, 11, 30))
    assert timezone.localtime(month.since).replace(tzinfo=None) == dt.datetime(2026, 11, 1)
    assert timezone.localtime(month.until).replace(tzinfo=None) == dt.datetime(2026, 12, 1)


@pytest.mark.parametrize(
    ("kind", "text", "start", "end"),
    [
        ("month", "2026-11", D(2026, 11, 1), D(2026, 11, 30)),
        ("xun", "2026-11-2", D(2026, 11, 11), D(2026, 11, 20)),
        ("xun", "2028-02-3", D(2028, 2, 21), D(2028, 2, 29)),
        ("week", "2026-W48", D(2026, 11, 23), D(2026, 11, 29)),
        ("week", "2026-W53", D(2026, 12, 28), D(2027, 1, 3)),
        ("year", "2026", D(2026, 1, 1), D(2026, 12, 31)),
    ],
)
def test_parse_round_trips(kind, text, start, end):
    period = periods.parse(kind, text)
    assert (period.start, period.end) == (start, end)
    assert periods.parse(kind, periods.value(period)) == period


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("month", "2026-13"),
        ("month", "2026-00"),
        ("month", "1999-12"),
        ("month", "abc"),
        ("month", ""),
        ("month", None),
        ("xun", "2026-11-4"),
        ("xun", "2026-11"),
        ("week", "2025-W53"),  # 2025 has 52 ISO weeks
        ("week", "2026-W00"),
        ("week", "2026-W99"),
        ("year", "26"),
        ("year", "9999"),
        ("decade", "2026"),
        ("month", "２０２６-11"),  # full-width digits
    ],
)
def test_bad_values_are_none(kind, text):
    assert periods.parse(kind, text) is None
