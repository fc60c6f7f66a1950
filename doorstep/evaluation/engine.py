"""The KPI engine: a KPI is ONE function plus ONE registry row.

    @kpi("mediation_success", _("调解成功率"), unit="%", target=0.95)
    def mediation_success(scope: Scope, period: Period) -> Figure:
        '''调解成功率 = settled ÷ accepted (disputes received in the period, in the territory).'''
        ...
        return Figure.ratio(settled, accepted, records=url)

- `Scope` is a territory: a grid, a community, a station or the whole sub-bureau, with the ids of the grids,
  communities and stations it covers (one query to build; KPI functions filter with them).
- `Period` is a week (Monday–Sunday), a 旬 (days 1–10, 11–20, 21–end), a month or a year, with
  inclusive `start`/`end` dates and the aware datetimes `since`/`until` (local midnight, half-open) for
  filtering timestamps (`periods.py`).
- `Figure` is the value with its numerator and denominator and the URL of the records behind it; a ratio
  over nothing is `None` (shown as "—", never a division by zero).

Targets and weights have defaults in the registry and are overridden by `KpiSetting` rows (the evaluation
office edits them). `compute(scope, period)` runs every active KPI; `snapshots.store(...)` keeps them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from doorstep.evaluation.choices import Level, PeriodKind


@dataclass(frozen=True)
class Period:
    kind: str  # PeriodKind
    start: dt.date  # inclusive
    end: dt.date  # inclusive

    @property
    def since(self) -> dt.datetime:
        """Local midnight at the start (aware)."""
        from django.utils import timezone

        return timezone.make_aware(dt.datetime.combine(self.start, dt.time()))

    @property
    def until(self) -> dt.datetime:
        """Local midnight after the end (aware; half-open: `< until`)."""
        from django.utils import timezone

        return timezone.make_aware(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time()))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        from doorstep.evaluation import periods

        return periods.label(self)


@dataclass(frozen=True)
class Scope:
    level: str  # Level
    id: int | None  # None for the sub-bureau
    name: str
    grid_ids: frozenset[int]
    community_ids: frozenset[int]
    station_ids: frozenset[int]

    @property
    def whole(self) -> bool:
        return self.level == Level.SUB_BUREAU


@dataclass(frozen=True)
class Figure:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    records: str | None = None  # the URL of the list of records behind the figure (drill-down)
    note: str = ""

    @classmethod
    def ratio(
        cls, numerator: float, denominator: float, *, records: str | None = None, note: str = ""
    ) -> Figure:
        """numerator ÷ denominator, or None when the denominator is 0 (shown as "—")."""
        value = numerator / denominator if denominator else None
        return cls(value, numerator, denominator, records, note)

    @classmethod
    def count(cls, n: float, *, records: str | None = None, note: str = "") -> Figure:
        return cls(n, n, None, records, note)

    @classmethod
    def missing(cls, note: str) -> Figure:
        """No data to compute from (e.g. no survey yet): shown as "—" with the reason."""
        return cls(None, None, None, None, note)


@dataclass(frozen=True)
class Kpi:
    code: str
    name: Any  # lazy translation
    fn: Callable[[Scope, Period], Figure]
    unit: str = "%"  # "%" shows value × 100; "" a plain number; "‱" per 10,000
    target: float | None = None
    weight: float = 1.0
    higher_is_better: bool = True
    levels: frozenset[str] = field(default_factory=lambda: frozenset(Level.values))
    order: int = 0

    @property
    def formula(self) -> str:
        return (self.fn.__doc__ or "").strip()


REGISTRY: dict[str, Kpi] = {}


def kpi(
    code: str,
    name: Any,
    *,
    unit: str = "%",
    target: float | None = None,
    weight: float = 1.0,
    higher_is_better: bool = True,
    levels: frozenset[str] | None = None,
) -> Callable[[Callable[[Scope, Period], Figure]], Callable[[Scope, Period], Figure]]:
    """Register a KPI function (its docstring is the formula shown to users)."""

    def register(fn: Callable[[Scope, Period], Figure]) -> Callable[[Scope, Period], Figure]:
        REGISTRY[code] = Kpi(
            code,
            name,
            fn,
            unit,
            target,
            weight,
            higher_is_better,
            frozenset(levels) if levels else frozenset(Level.values),
            len(REGISTRY),
        )
        return fn

    return register


PERIOD_KINDS = tuple(PeriodKind.values)
