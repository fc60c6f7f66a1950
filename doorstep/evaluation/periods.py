"""Evaluation periods: week (Monday–Sunday, ISO weeks), 旬 (days 1–10, 11–20, 21–end of month), month, year.

A `Period` (engine.py) holds inclusive `start`/`end` dates. URL values:
    week  "2026-W48"   (ISO year and week)
    xun   "2026-11-2"  (year, month, 旬 1–3)
    month "2026-11"
    year  "2026"
`parse` never raises: anything else (including years outside 2000–2099) is None.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from doorstep.evaluation.choices import PeriodKind
from doorstep.evaluation.engine import Period

MIN_YEAR, MAX_YEAR = 2000, 2099
XUN_NAMES = {1: "上旬", 2: "中旬", 3: "下旬"}

_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$", re.ASCII)
_XUN = re.compile(r"^(\d{4})-(\d{1,2})-([123])$", re.ASCII)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$", re.ASCII)
_YEAR = re.compile(r"^(\d{4})$", re.ASCII)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def xun_of(day: dt.date) -> int:
    """1, 2 or 3: the 旬 of the month a day falls in."""
    return 1 if day.day <= 10 else 2 if day.day <= 20 else 3


def period_of(kind: str, day: dt.date) -> Period:
    """The period of the given kind that contains `day`."""
    if kind == PeriodKind.WEEK:
        start = day - dt.timedelta(days=day.weekday())
        return Period(PeriodKind.WEEK, start, start + dt.timedelta(days=6))
    if kind == PeriodKind.XUN:
        n = xun_of(day)
        start = day.replace(day=(n - 1) * 10 + 1)
        end = _month_end(day.year, day.month) if n == 3 else day.replace(day=n * 10)
        return Period(PeriodKind.XUN, start, end)
    if kind == PeriodKind.MONTH:
        return Period(PeriodKind.MONTH, day.replace(day=1), _month_end(day.year, day.month))
    if kind == PeriodKind.YEAR:
        return Period(PeriodKind.YEAR, dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
    raise ValueError(f"unknown period kind: {kind!r}")


def previous(period: Period) -> Period:
    return period_of(period.kind, period.start - dt.timedelta(days=1))


def following(period: Period) -> Period:
    return period_of(period.kind, period.end + dt.timedelta(days=1))


def periods_between(kind: str, start: dt.date, end: dt.date) -> list[Period]:
    """The periods of `kind` that touch [start, end], in order (none when end < start)."""
    out: list[Period] = []
    if end < start:
        return out
    period = period_of(kind, start)
    while period.start <= end:
        out.append(period)
        period = following(period)
    return out


def last(kind: str, day: dt.date, n: int) -> list[Period]:
    """The n periods of `kind` ending with the one that contains `day`, oldest first."""
    out = [period_of(kind, day)]
    while len(out) < n:
        out.append(previous(out[-1]))
    return out[::-1]


def label(period: Period) -> str:
    """The period in Chinese: "2026年第48周", "2026年11月下旬", "2026年11月", "2026年"."""
    if period.kind == PeriodKind.WEEK:
        year, week, _weekday = period.start.isocalendar()
        return f"{year}年第{week}周"
    if period.kind == PeriodKind.XUN:
        return f"{period.start.year}年{period.start.month}月{XUN_NAMES[xun_of(period.start)]}"
    if period.kind == PeriodKind.MONTH:
        return f"{period.start.year}年{period.start.month}月"
    return f"{period.start.year}年"


def value(period: Period) -> str:
    """The URL value of a period (the inverse of `parse`)."""
    if period.kind == PeriodKind.WEEK:
        year, week, _weekday = period.start.isocalendar()
        return f"{year}-W{week:02d}"
    if period.kind == PeriodKind.XUN:
        return f"{period.start.year}-{period.start.month:02d}-{xun_of(period.start)}"
    if period.kind == PeriodKind.MONTH:
        return f"{period.start.year}-{period.start.month:02d}"
    return f"{period.start.year}"


def parse(kind: str, text: object) -> Period | None:
    """A URL value of the given kind → Period; None for anything malformed or out of range."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    try:
        if kind == PeriodKind.WEEK and (m := _WEEK.match(text)):
            year, week = int(m[1]), int(m[2])
            if MIN_YEAR <= year <= MAX_YEAR:
                return period_of(kind, dt.date.fromisocalendar(year, week, 1))
        elif kind == PeriodKind.XUN and (m := _XUN.match(text)):
            year, month, n = int(m[1]), int(m[2]), int(m[3])
            if MIN_YEAR <= year <= MAX_YEAR:
                return period_of(kind, dt.date(year, month, (n - 1) * 10 + 1))
        elif kind == PeriodKind.MONTH and (m := _MONTH.match(text)):
            year, month = int(m[1]), int(m[2])
            if MIN_YEAR <= year <= MAX_YEAR:
                return period_of(kind, dt.date(year, month, 1))
        elif kind == PeriodKind.YEAR and (m := _YEAR.match(text)):
            year = int(m[1])
            if MIN_YEAR <= year <= MAX_YEAR:
                return period_of(kind, dt.date(year, 1, 1))
    except ValueError:  # month 13, ISO week 54, week 53 of a 52-week year
        return None
    return None
