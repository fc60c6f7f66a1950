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
from doorstep.evaluation.engine import Figure, Period, Scope
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


def stored_figures(
    scopes: Sequence[Scope], period: Period, codes: Iterable[str], *, today: dt.date | None = None
) -> tuple[dict[Scope, dict[str, Figure]], dt.datetime] | None:
    """The figures of a *closed* period read from the stored snapshots instead of recomputed, with when they
    were computed — or None when they cannot stand in for a recompute: the period is not over, a snapshot is
    missing for one of the scopes and (applicable) KPIs, one was computed before the period ended, or a
    target or weight changed after it was computed (治安要素掌控率 depends on the weights). One query for the
    snapshots, one for the settings.

    A stored figure has no drill-down URL or note of its own (the Snapshot keeps value, numerator and
    denominator): `records` is the KPI's detail page for the scope and period, which recomputes the figure and
    links to the records behind it."""
    from django.db.models import Max
    from django.urls import reverse

    from doorstep.evaluation.engine import REGISTRY
    from doorstep.evaluation.models import KpiSetting

    today = today or timezone.localdate()
    scopes = list(scopes)
    codes = list(codes)
    if not scopes or not codes or period.end >= today:
        return None
    wanted = {
        (scope.level, scopes_mod.territory_id(scope)): scope for scope in scopes
    }  # fmt: skip
    rows = Snapshot.objects.filter(
        period_kind=period.kind,
        period_start=period.start,
        code__in=codes,
        level__in={s.level for s in scopes},
    ).values_list(
        "code", "level", "territory_id", "period_end", "value", "numerator", "denominator", "computed_at"
    )
    found: dict[tuple[str, int, str], tuple] = {}
    for code, level, territory, end, value, numerator, denominator, computed_at in rows:
        if (level, territory) in wanted and end == period.end:
            found[(level, territory, code)] = (value, numerator, denominator, computed_at)
    needed = [
        (scope, code)
        for scope in scopes
        for code in codes
        if scope.level in REGISTRY[code].levels
    ]  # fmt: skip
    if not needed or any((s.level, scopes_mod.territory_id(s), c) not in found for s, c in needed):
        return None
    oldest = min(found[(s.level, scopes_mod.territory_id(s), c)][3] for s, c in needed)
    if oldest < period.until:
        return None  # computed while the period was still running
    changed = KpiSetting.objects.aggregate(last=Max("updated_at"))["last"]
    if changed is not None and changed > oldest:
        return None
    base = reverse("evaluation:kpi_detail", args=["CODE"])
    value_of = periods.value(period)
    out: dict[Scope, dict[str, Figure]] = {s: {} for s in scopes}
    for scope, code in needed:
        value, numerator, denominator, _at = found[(scope.level, scopes_mod.territory_id(scope), code)]
        query = f"?level={scope.level}&kind={period.kind}&period={value_of}"
        if scope.id is not None:
            query += f"&id={scope.id}"
        out[scope][code] = Figure(value, numerator, denominator, base.replace("CODE", code) + query)
    return out, oldest
