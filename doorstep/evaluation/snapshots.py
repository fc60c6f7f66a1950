"""KPI snapshots: every active KPI for every scope of the chosen levels and one period, stored for trends and
bulletins. Storing again replaces the figures (one row per code, territory and period)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone

from doorstep.evaluation import kpis, periods
from doorstep.evaluation import scopes as scopes_mod
from doorstep.evaluation.choices import Level, PeriodKind
from doorstep.evaluation.engine import Period, Scope
from doorstep.evaluation.models import Snapshot
from doorstep.org.territory import Territory

ALL_LEVELS = (Level.GRID, Level.COMMUNITY, Level.STATION, Level.SUB_BUREAU)
UPDATE_FIELDS = ["period_end", "value", "numerator", "denominator", "computed_at"]


def all_scopes(levels: Iterable[str] = ALL_LEVELS) -> list[Scope]:
    whole = Territory(None, frozenset(), frozenset(), frozenset(), whole=True)
    return [scope for level in levels for scope in scopes_mod.scopes_in(whole, level)]


def store(
    period: Period,
    levels: Iterable[str] = ALL_LEVELS,
    scopes: Sequence[Scope] | None = None,
    *,
    now: dt.datetime | None = None,
) -> int:
    """Compute every active KPI for every scope (of `levels`, or the given scopes) and upsert the snapshots.
    Returns the number of rows written."""
    now = now or timezone.now()
    chosen = list(scopes) if scopes is not None else all_scopes(levels)
    table = kpis.compute_many(chosen, period, now=now)
    rows = [
        Snapshot(
            code=code,
            level=scope.level,
            territory_id=scopes_mod.territory_id(scope),
            period_kind=period.kind,
            period_start=period.start,
            period_end=period.end,
            value=figure.value,
            numerator=figure.numerator,
            denominator=figure.denominator,
            computed_at=now,
        )
        for scope, figures in table.items()
        for code, figure in figures.items()
    ]
    with transaction.atomic():
        Snapshot.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["code", "level", "territory_id", "period_kind", "period_start"],
            update_fields=UPDATE_FIELDS,
        )
    return len(rows)


def trend(code: str, scope: Scope, kind: str, n: int) -> list[Snapshot]:
    """The last n stored snapshots of a KPI for a scope and period kind, oldest first."""
    rows = Snapshot.objects.filter(
        code=code, level=scope.level, territory_id=scopes_mod.territory_id(scope), period_kind=kind
    ).order_by("-period_start")[: max(0, n)]
    return list(rows)[::-1]


def tick(now: dt.datetime | None = None) -> list[Period]:
    """For the periodic job: store each kind's just-finished period once (when no snapshot of it exists yet).
    Returns the periods stored."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    stored = []
    for kind in PeriodKind.values:
        period = periods.previous(periods.period_of(kind, today))
        if Snapshot.objects.filter(period_kind=kind, period_start=period.start).exists():
            continue
        store(period, now=now)
        stored.append(period)
    return stored
