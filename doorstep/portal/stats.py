"""The survey KPIs (知晓率, 满意率, 安全感) as batch functions of the evaluation engine
(doorstep.evaluation.kpis registers them): `fn(scopes, period, cache) -> {scope: Figure}`.

Responses are counted per grid in ONE grouped query for all the scopes' grids (shared by the three KPIs
through `cache`), then summed per scope: a station's figure is the ratio of the sums over its grids, never a
mean of grid ratios. A response belongs to the grid of the link it came through and to the period holding its
`submitted_at` (half-open: local midnight of the first day to local midnight after the last day). A scope with
no responses gets Figure.missing("本期无问卷答卷") — shown as "—", never a division by zero.

Each figure's `records` opens the staff list of the responses (online:survey_responses) filtered to the
scope and the period's dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from doorstep.evaluation.choices import Level
from doorstep.evaluation.engine import Figure, Period, Scope
from doorstep.portal.choices import SATISFIED_MIN, SafetyRating
from doorstep.portal.models import SurveyResponse

NO_RESPONSES = _("本期无问卷答卷")
SAFE_MIN = SafetyRating.FAIRLY  # 很安全、安全、基本安全

Cache = dict[Any, Any]


@dataclass
class Counts:
    """Counts of responses: all, aware (any knows_*), rated satisfaction and satisfied, rated safety and safe."""

    responses: int = 0
    aware: int = 0
    rated: int = 0
    satisfied: int = 0
    safety_rated: int = 0
    safe: int = 0

    def add(self, other: Counts) -> None:
        self.responses += other.responses
        self.aware += other.aware
        self.rated += other.rated
        self.satisfied += other.satisfied
        self.safety_rated += other.safety_rated
        self.safe += other.safe


AWARE = Q(knows_officer=True) | Q(knows_phone=True) | Q(knows_room=True)


def counts_by_grid(qs: QuerySet[SurveyResponse]) -> dict[int, Counts]:
    """Per grid id: the Counts of the responses in `qs` (one grouped query)."""
    rows = (
        qs.order_by()
        .values("grid_id")
        .annotate(
            n=Count("id"),
            aware=Count("id", filter=AWARE),
            rated=Count("id", filter=Q(satisfaction__isnull=False)),
            satisfied=Count("id", filter=Q(satisfaction__gte=SATISFIED_MIN)),
            safety_rated=Count("id", filter=Q(safety__isnull=False)),
            safe=Count("id", filter=Q(safety__gte=SAFE_MIN)),
        )
    )
    return {
        r["grid_id"]: Counts(r["n"], r["aware"], r["rated"], r["satisfied"], r["safety_rated"], r["safe"])
        for r in rows
    }


def _per_grid(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[int, Counts]:
    whole = any(s.whole for s in scopes)
    grids = None if whole else frozenset().union(*(s.grid_ids for s in scopes))
    # The three survey KPIs share one query; the key names the grids it covers, so a KPI asked for other
    # scopes never reads counts missing some of its grids.
    key = ("portal.survey_counts", period, grids)
    if key not in cache:
        qs = SurveyResponse.objects.filter(submitted_at__gte=period.since, submitted_at__lt=period.until)
        if grids is not None:
            qs = qs.filter(grid_id__in=sorted(grids))
        cache[key] = counts_by_grid(qs)
    return cache[key]


def records_url(scope: Scope, period: Period) -> str:
    """The responses list filtered to the scope (grid ids for a grid, else the community or station) and the
    period's dates."""
    query: list[tuple[str, Any]] = []
    if scope.level == Level.GRID:
        query += [("grid", g) for g in sorted(scope.grid_ids)]
    elif scope.level == Level.COMMUNITY:
        query.append(("community", scope.id))
    elif scope.level == Level.STATION:
        query.append(("station", scope.id))
    query += [("date_from", period.start.isoformat()), ("date_to", period.end.isoformat())]
    return f"{reverse('online:survey_responses')}?{urlencode(query)}"


def _batch(scopes: Sequence[Scope], period: Period, cache: Cache, parts: Any) -> dict[Scope, Figure]:
    per_grid = _per_grid(scopes, period, cache)
    out: dict[Scope, Figure] = {}
    for scope in scopes:
        total = Counts()
        for grid_id in scope.grid_ids:
            if grid_id in per_grid:
                total.add(per_grid[grid_id])
        if not total.responses:
            out[scope] = Figure.missing(str(NO_RESPONSES))
            continue
        numerator, denominator = parts(total)
        out[scope] = Figure.ratio(numerator, denominator, records=records_url(scope, period))
    return out


def awareness_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    """知晓率 = 答卷中至少正确选出一项（本网格社区民警姓名、民警工作电话、警务室位置）的份数 ÷ 答卷份数；
    答卷按所属网格和提交时间（期内）计，按网格求和后相除。"""
    return _batch(scopes, period, cache, lambda c: (c.aware, c.responses))


def satisfaction_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    """满意率 = 满意度为很满意、满意、基本满意（≥ 3）的答卷 ÷ 作答了满意度的答卷；期内、按网格求和后相除。"""
    return _batch(scopes, period, cache, lambda c: (c.satisfied, c.rated))


def safety_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    """安全感 = 安全感为很安全、安全、基本安全（≥ 3）的答卷 ÷ 作答了安全感的答卷；期内、按网格求和后相除。"""
    return _batch(scopes, period, cache, lambda c: (c.safe, c.safety_rated))
