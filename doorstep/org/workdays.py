"""The Chinese working-day calendar: Monday–Friday, minus public holidays, plus adjusted working weekends.

The adjustments (`org.CalendarDay`) are published by the State Council each year and kept by an
administrator. `WorkCalendar` is a plain value (a dict of adjustments), so the rules that count working days
are pure functions that tests can drive with any calendar; `WorkCalendar.load()` reads the adjustments for a
span of dates from the database (one query).

A year without any entry is "not published yet": counting still works on Monday–Friday alone, and
`missing_years` lets pages warn the administrator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

HOLIDAY = "holiday"
WORKDAY = "workday"
# How far ahead `load()` reads by default: far enough for any time limit counted in working days.
HORIZON_DAYS = 400


@dataclass(frozen=True)
class WorkCalendar:
    adjustments: Mapping[dt.date, str] = field(default_factory=dict)

    @classmethod
    def load(cls, start: dt.date | None = None, end: dt.date | None = None) -> WorkCalendar:
        from doorstep.org.models import CalendarDay

        qs = CalendarDay.objects.all()
        if start is not None:
            qs = qs.filter(day__gte=start)
        if end is not None:
            qs = qs.filter(day__lte=end)
        return cls(dict(qs.values_list("day", "kind")))

    @classmethod
    def around(cls, day: dt.date) -> WorkCalendar:
        """The adjustments from a month before `day` to HORIZON_DAYS after it."""
        return cls.load(day - dt.timedelta(days=31), day + dt.timedelta(days=HORIZON_DAYS))

    def is_working_day(self, day: dt.date) -> bool:
        kind = self.adjustments.get(day)
        if kind == HOLIDAY:
            return False
        if kind == WORKDAY:
            return True
        return day.weekday() < 5

    def working_days(self, start: dt.date, end: dt.date) -> Iterator[dt.date]:
        """The working days from start to end, both included."""
        day = start
        while day <= end:
            if self.is_working_day(day):
                yield day
            day += dt.timedelta(days=1)

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after `day` (n = 0: `day` itself, whatever it is)."""
        while n > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def count_working_days(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        if end <= start:
            return 0
        return sum(1 for _ in self.working_days(start + dt.timedelta(days=1), end))


def missing_years(years: range | list[int]) -> list[int]:
    """Years (of those asked) for which no adjustment has been entered at all."""
    from doorstep.org.models import CalendarDay

    have = {d.year for d in CalendarDay.objects.filter(day__year__in=list(years)).dates("day", "year")}
    return [y for y in years if y not in have]
