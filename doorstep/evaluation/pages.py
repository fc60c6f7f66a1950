"""KPI pages and dashboards (考核指标): the KPI table with ranking, one KPI's detail (formula, trend, breakdown)
and, through `settings_pages`, the evaluation office's targets and weights.

Who sees what follows `evaluation.access` (leaders, the evaluation office and administrators: everything;
station directors: their station; officers: their own grids); a territory outside the user's is a 404.

**Total score (综合得分)** of a row = 100 × Σ wₖ·sₖ ÷ Σ wₖ over the KPIs that have a value for that row,
where wₖ is the KPI's effective weight and sₖ ∈ [0, 1] its normalised value:
- with a target t: higher-is-better sₖ = min(v ÷ t, 1) (t = 0 → 1); lower-is-better (万人发案率)
  sₖ = 1 when v ≤ t, else t ÷ v;
- without a target: relative to the best row of the table (higher: v ÷ max, lower: min ÷ v; 1 when all are 0).
A KPI with no value ("—": nothing to compute from, e.g. no dispute accepted) leaves the score's weights
instead of counting as 0, so an empty territory is not punished; a row with no value at all has no score.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings as django_settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from doorstep.accounts.choices import Role
from doorstep.accounts.choices import Scope as TerritoryScope
from doorstep.core.ids import id_param
from doorstep.evaluation import layers, record_pages, settings_pages
from doorstep.evaluation.choices import Level, PeriodKind
from doorstep.evaluation.engine import REGISTRY, Figure, Kpi, Period, Scope
from doorstep.org.territory import Territory

TREND_PERIODS = 12
ROWS_PER_PAGE = 50  # the KPI table renders this many territories a page (ranks are over all of them)
DEFAULT_CACHE_SECONDS = 60
# The territory one level down (the breakdown of a KPI's detail page).
CHILD = {Level.SUB_BUREAU: Level.STATION, Level.STATION: Level.COMMUNITY, Level.COMMUNITY: Level.GRID}
# Who sees the KPI pages (as for incidents): leaders, the evaluation office, administrators, station directors
# and community officers; everyone else gets a 404.
VIEW_ROLES = frozenset({Role.LEADER, Role.EVALUATOR, Role.ADMIN, Role.DIRECTOR, Role.OFFICER})


# --- access ---------------------------------------------------------------------------------------------------
def _role(user: Any) -> str | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def may_view(user: Any) -> bool:
    from doorstep.evaluation import access

    check = getattr(access, "may_view", None)  # the shared rule, once `access` has one for the KPI pages
    return bool(check(user)) if check else _role(user) in VIEW_ROLES


def require_view(user: Any) -> None:
    if not may_view(user):
        raise Http404


def levels_for(user: Any) -> list[str]:
    """The levels the user may tabulate, widest first: the sub-bureau's people all four, a station its station,
    communities and grids, everyone else only the grids of their posts."""
    territory = Territory.for_user(user)
    if territory.whole:
        return [Level.SUB_BUREAU, Level.STATION, Level.COMMUNITY, Level.GRID]
    if territory.scope == TerritoryScope.STATION:
        return [Level.STATION, Level.COMMUNITY, Level.GRID]
    return [Level.GRID]


def default_level(user: Any) -> str:
    levels = levels_for(user)
    # Leaders rank stations, a director sees their communities, an officer their grid(s).
    return levels[1] if len(levels) > 1 else levels[0]


def summary_scope(user: Any) -> Scope | None:
    """The user's whole territory as one scope: the sub-bureau, their station, or their (first) grid."""
    from doorstep.evaluation import scopes

    territory = Territory.for_user(user)
    if territory.whole:
        return scopes.scope_for(Level.SUB_BUREAU, None)
    if territory.scope == TerritoryScope.STATION and territory.station_ids:
        return scopes.scope_for(Level.STATION, min(territory.station_ids))
    if territory.grid_ids:
        return scopes.scope_for(Level.GRID, min(territory.grid_ids))
    return None


def parse_id(raw: str | None) -> int | None:
    """A territory id from the query string, or 404 for anything that is not one."""
    if raw in (None, ""):
        return None
    value = id_param(raw)
    if value is None:  # id_param refuses non-ASCII digits and anything beyond 18 digits
        raise Http404
    return value


def get_scope(user: Any, level: str, raw_id: str | None) -> Scope:
    """The scope at `level` with id `raw_id` if the user may see it; else 404 (never 403, never 500)."""
    from doorstep.evaluation import scopes

    if level not in levels_for(user):
        raise Http404
    pk = parse_id(raw_id)
    if level == Level.SUB_BUREAU:
        pk = None
    elif pk is None:
        raise Http404
    try:
        scope = scopes.scope_for(level, pk)
    except (LookupError, ValueError, TypeError, Http404) as exc:
        raise Http404 from exc
    except Exception as exc:  # a DoesNotExist of whichever model the level names
        if type(exc).__name__ == "DoesNotExist":
            raise Http404 from exc
        raise
    if scope is None or not scopes.may_see(user, scope):
        raise Http404
    return scope


# --- periods --------------------------------------------------------------------------------------------------
def period_value(period: Period) -> str:
    """How a period travels in a query string ("2026-11", "2026-11-2", "2026-W48", "2026")."""
    from doorstep.evaluation import periods

    return periods.value(period)


def parse_period(kind: str | None, value: str | None, today: dt.date) -> Period:
    """?kind=&period= → a Period; garbage falls back to the current period of the kind (default: month).
    A plain date (2026-11-28) is accepted too: the period of that kind containing it."""
    from doorstep.evaluation import periods

    if kind not in PeriodKind.values:
        kind = PeriodKind.MONTH
    if value:
        got = periods.parse(kind, value[:20])
        if got is not None:
            return got
        try:
            day = dt.date.fromisoformat(value[:10])
        except ValueError:
            day = None
        if day is not None and dt.date(periods.MIN_YEAR, 1, 1) <= day <= dt.date(periods.MAX_YEAR, 12, 31):
            return periods.period_of(kind, day)
    return periods.period_of(kind, today)


def next_period(period: Period) -> Period:
    from doorstep.evaluation import periods

    return periods.following(period)


def previous_period(period: Period) -> Period:
    from doorstep.evaluation import periods

    return periods.previous(period)


# --- KPIs: configuration, formatting, normalisation -------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    target: float | None
    weight: float
    active: bool


def effective(kpi: Kpi, overrides: dict[str, tuple] | None = None) -> Setting:
    """The KPI's target, weight and active flag after the evaluation office's overrides (`KpiSetting`)."""
    from doorstep.evaluation import kpis

    target, weight, active = kpis.effective(kpi, overrides)
    return Setting(target, weight, active)


# How a unit is shown: the stored value times the factor, with this many decimals.
UNIT_DISPLAY = {"%": (100.0, 1), "‱": (10_000.0, 2), "": (1.0, 0)}


def display_factor(kpi: Kpi) -> float:
    return UNIT_DISPLAY.get(kpi.unit, (1.0, 1))[0]


def fmt(kpi: Kpi, value: float | None) -> str:
    if value is None:
        return "—"
    factor, decimals = UNIT_DISPLAY.get(kpi.unit, (1.0, 1))
    shown = value * factor
    if kpi.unit == "" and shown != round(shown):
        decimals = 1
    return f"{shown:,.{decimals}f}{kpi.unit}"


def worse_than_target(kpi: Kpi, value: float | None, target: float | None) -> bool:
    if value is None or target is None:
        return False
    return value < target if kpi.higher_is_better else value > target


def normalise(kpi: Kpi, value: float | None, target: float | None, column: list[float]) -> float | None:
    """sₖ ∈ [0, 1] (see the module docstring); `column` holds the KPI's values over the table's rows."""
    if value is None:
        return None
    if target is not None:
        if kpi.higher_is_better:
            return 1.0 if target <= 0 else max(0.0, min(value / target, 1.0))
        return 1.0 if value <= target else (target / value if value > 0 else 1.0)
    if not column:
        return None
    if kpi.higher_is_better:
        best = max(column)
        return 1.0 if best <= 0 else max(0.0, value / best)
    best = min(column)
    return 1.0 if value <= 0 else max(0.0, best / value)


def total_score(parts: list[tuple[float, float | None]]) -> float | None:
    """100 × Σ w·s ÷ Σ w over the (weight, normalised) pairs that have a value."""
    present = [(w, s) for w, s in parts if s is not None and w > 0]
    weights = sum(w for w, _s in present)
    if not weights:
        return None
    return 100.0 * sum(w * s for w, s in present) / weights


@dataclass
class Column:
    kpi: Kpi
    setting: Setting
    target_text: str
    sort_url: str = ""
    detail_url: str = ""  # the KPI's trend and breakdown for the user's whole territory

    @property
    def code(self) -> str:
        return self.kpi.code


@dataclass
class Cell:
    column: Column
    figure: Figure
    text: str
    worse: bool
    detail: str
    norm: float | None = None


@dataclass
class Row:
    scope: Scope
    cells: list[Cell]
    score: float | None = None
    rank: int | None = None
    sort_key: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def columns_for(level: str) -> list[Column]:
    """The active KPIs that apply to the level, in registry order (one query for the settings)."""
    from doorstep.evaluation import kpis

    overrides = kpis.settings_map()
    cols = []
    for kpi in sorted(REGISTRY.values(), key=lambda k: k.order):
        if level not in kpi.levels:
            continue
        setting = effective(kpi, overrides)
        if not setting.active:
            continue
        cols.append(Column(kpi, setting, fmt(kpi, setting.target)))
    return cols


def cache_seconds() -> int:
    """How long the KPI table of one territory and period is reused (settings.EVALUATION_CACHE_SECONDS, default
    60 s; 0 turns it off). Off under pytest unless a test sets it: test databases reuse ids."""
    value = getattr(django_settings, "EVALUATION_CACHE_SECONDS", None)
    if value is None:
        return 0 if "PYTEST_CURRENT_TEST" in os.environ else DEFAULT_CACHE_SECONDS
    return max(0, int(value))


def compute_table(
    scopes_: list[Scope], period: Period, columns: list[Column]
) -> tuple[dict[Scope, dict[str, Figure]], dt.datetime]:
    """Every column's Figure for every scope (each KPI once for all the scopes: grouped queries), and when it
    was computed. A closed period is read from its stored snapshots when they are complete and current
    (`snapshots.stored_figures`). Otherwise a table computed in the last `cache_seconds()` for the same scopes, period and settings is
    reused: the leader's view recomputes the whole district (≈0.6 s on SQLite), and figures a minute old are
    as good for a dashboard; the page says when they were computed."""
    from doorstep.evaluation import kpis, snapshots

    codes = list(dict.fromkeys(c.code for c in columns))
    # A closed period whose snapshots are all stored (the periodic tick) is read, not recomputed.
    stored = snapshots.stored_figures(scopes_, period, codes)
    if stored is not None:
        return stored
    ttl = cache_seconds()
    key = ""
    if ttl:
        fingerprint = repr(
            (
                period,
                codes,
                [(s.level, s.id, sorted(s.grid_ids)) for s in scopes_],
                sorted((c.code, c.setting.target, c.setting.weight) for c in columns),
            )
        )
        key = "evaluation.table." + hashlib.sha256(fingerprint.encode()).hexdigest()
        hit = cache.get(key)
        if hit is not None:
            return hit
    result = (kpis.compute_many(scopes_, period, codes), timezone.now())
    if ttl:
        cache.set(key, result, ttl)
    return result


def _detail_url(code: str, scope: Scope, period: Period) -> str:
    query = {"level": scope.level, "kind": period.kind, "period": period_value(period)}
    if scope.id is not None:
        query["id"] = scope.id
    return reverse("evaluation:kpi_detail", args=[code]) + "?" + urlencode(query)


def build_rows(
    scopes_: list[Scope],
    period: Period,
    columns: list[Column],
    figures: dict[Scope, dict[str, Figure]] | None = None,
) -> list[Row]:
    """The table's rows: formatted cells, target markers, normalised values, total scores and ranks."""
    if figures is None:
        figures = compute_table(scopes_, period, columns)[0]
    base = reverse("evaluation:kpi_detail", args=["CODE"])
    rows = []
    for scope in scopes_:
        per = figures.get(scope, {})
        query = {"level": scope.level, "kind": period.kind, "period": period_value(period)}
        if scope.id is not None:
            query["id"] = scope.id
        qs = "?" + urlencode(query)
        cells = []
        for col in columns:
            fig = per.get(col.code) or Figure.missing(_("未计算"))
            cells.append(
                Cell(
                    col,
                    fig,
                    fmt(col.kpi, fig.value),
                    worse_than_target(col.kpi, fig.value, col.setting.target),
                    base.replace("CODE", col.code) + qs,
                )
            )
        rows.append(Row(scope, cells))
    # Scores need each column's values over all rows (normalisation without a target).
    for j, col in enumerate(columns):
        values = [r.cells[j].figure.value for r in rows if r.cells[j].figure.value is not None]
        for r in rows:
            r.cells[j].norm = normalise(col.kpi, r.cells[j].figure.value, col.setting.target, values)
    for r in rows:
        r.score = total_score([(c.column.setting.weight, c.norm) for c in r.cells])
    ranked = sorted((r for r in rows if r.score is not None), key=lambda r: -r.score)
    for i, r in enumerate(ranked):
        r.rank = i + 1
    return rows


def sort_rows(rows: list[Row], columns: list[Column], sort: str) -> tuple[list[Row], str]:
    """?sort=code (best first), ?sort=-code (worst first), ?sort=score / -score; anything else: by name."""
    desc = not sort.startswith("-")
    key = sort.lstrip("-")
    if key == "score":

        def value(r: Row) -> float | None:
            return r.score

        better_high = True
    else:
        index = next((j for j, c in enumerate(columns) if c.code == key), None)
        if index is None:
            return sorted(rows, key=lambda r: (r.scope.name, r.scope.id or 0)), ""

        def value(r: Row) -> float | None:
            return r.cells[index].figure.value

        better_high = columns[index].kpi.higher_is_better
    best_first = desc
    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]  # "—" always last
    present.sort(key=lambda r: value(r), reverse=(better_high == best_first))
    return present + sorted(missing, key=lambda r: r.scope.name), sort


def has_tabs() -> bool:
    """The evaluation tabs (written alongside, with the incident pages) once they exist."""
    try:
        get_template("evaluation/_tabs.html")
    except TemplateDoesNotExist:
        return False
    return True


# --- pages ------------------------------------------------------------------------------------------------------
def _query(**kw: Any) -> str:
    return "?" + urlencode({k: v for k, v in kw.items() if v not in (None, "")})


@login_required
@require_GET
def index(request):
    from doorstep.evaluation import scopes

    user = request.user
    require_view(user)
    today = timezone.localdate()
    levels = levels_for(user)
    level = request.GET.get("level")
    if level not in levels:
        level = default_level(user)
    period = parse_period(request.GET.get("kind"), request.GET.get("period"), today)
    sort = (request.GET.get("sort") or "")[:50]

    territory = Territory.for_user(user)
    row_scopes = [s for s in scopes.scopes_in(territory, level) if scopes.may_see(user, s)]
    columns = columns_for(level)
    summary = summary_scope(user)
    summary_columns: list[Column] = []
    extra: list[Scope] = []
    if summary is not None and summary not in row_scopes:
        summary_columns = columns_for(summary.level)
        extra = [summary]
    # One compute for the table and the summary: each KPI's grouped queries run once for all the scopes.
    table, computed_at = compute_table([*row_scopes, *extra], period, columns + summary_columns)
    rows = build_rows(row_scopes, period, columns, table)
    rows, sort = sort_rows(rows, columns, sort or "score")
    # Ranks and scores are over every row; the table renders one page of them (240 grids × 18 KPIs is
    # ≈ 700 KiB of HTML: the rendering, not the computing, was the slow part of the leader's grid table).
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    if extra:
        summary_cells = build_rows(extra, period, summary_columns, table)[0].cells
    else:
        summary_cells = next((r.cells for r in rows if r.scope == summary), [])

    kind = period.kind
    for col in columns:
        col.sort_url = _query(level=level, kind=kind, period=period_value(period), sort=col.code)
        if summary is not None and summary.level in col.kpi.levels:
            col.detail_url = _detail_url(col.code, summary, period)
    prev, nxt = previous_period(period), next_period(period)
    base = {"level": level, "kind": kind, "sort": sort}
    chart = {
        "names": [r.scope.name for r in rows if r.score is not None],
        "scores": [round(r.score, 1) for r in rows if r.score is not None],
    }
    context = {
        "levels": [(value, Level(value).label) for value in levels],
        "level": level,
        "level_label": Level(level).label,
        "kinds": PeriodKind.choices,
        "period": period,
        "period_value": period_value(period),
        "period_label": period.label,
        "prev_url": _query(**base, period=period_value(prev)),
        "next_url": _query(**base, period=period_value(nxt)) if nxt.start <= today else "",
        "current_url": _query(level=level, kind=kind, sort=sort),
        "columns": columns,
        "rows": list(page.object_list),
        "all_rows": rows,
        "page": page,
        "sort": sort,
        "score_sort_url": _query(level=level, kind=kind, period=period_value(period), sort="score"),
        "name_sort_url": _query(level=level, kind=kind, period=period_value(period), sort="name"),
        "summary": summary,
        "summary_cells": summary_cells,
        "chart": chart if len(chart["names"]) > 1 else None,
        "role": _role(user),
        "may_edit": settings_pages.may_edit(user),
        "tabs": has_tabs(),
        "computed_at": computed_at,
    }
    return render(request, "evaluation/index.html", context)


def _trend(kpi: Kpi, scope: Scope, period: Period) -> list[dict[str, Any]]:
    """The KPI over the last 12 periods ending with `period`: the stored snapshots where there are, computed
    live for the rest (the period shown is always computed live, like the figure above the chart)."""
    from doorstep.evaluation import periods, scopes
    from doorstep.evaluation.models import Snapshot

    wanted = periods.last(period.kind, period.start, TREND_PERIODS)
    stored = dict(
        Snapshot.objects.filter(
            code=kpi.code,
            level=scope.level,
            territory_id=scopes.territory_id(scope),
            period_kind=period.kind,
            period_start__in=[p.start for p in wanted[:-1]],
        ).values_list("period_start", "value")
    )
    factor = display_factor(kpi)
    points = []
    for p in wanted:
        value = stored[p.start] if p.start in stored else kpi.fn(scope, p).value
        points.append({"label": p.label, "value": None if value is None else round(value * factor, 2)})
    return points


@login_required
@require_GET
def kpi_detail(request, code: str):
    from doorstep.evaluation import scopes

    user = request.user
    require_view(user)
    kpi = REGISTRY.get(code)
    if kpi is None:
        raise Http404
    today = timezone.localdate()
    period = parse_period(request.GET.get("kind"), request.GET.get("period"), today)
    level = request.GET.get("level")
    if level:
        scope = get_scope(user, level, request.GET.get("id"))
    else:
        scope = summary_scope(user)
        if scope is None:
            raise Http404
    if scope.level not in kpi.levels:
        raise Http404
    setting = effective(kpi)
    if not setting.active:
        raise Http404
    figure = kpi.fn(scope, period)
    children: list[Row] = []
    child_level = CHILD.get(scope.level)
    if child_level and child_level in levels_for(user) and child_level in kpi.levels:
        ids = {
            Level.STATION: scope.station_ids,
            Level.COMMUNITY: scope.community_ids,
            Level.GRID: scope.grid_ids,
        }[child_level]
        child_scopes = [scopes.scope_for(child_level, pk) for pk in sorted(ids)]
        child_scopes = [s for s in child_scopes if s is not None and scopes.may_see(user, s)]
        column = Column(kpi, setting, fmt(kpi, setting.target))
        children = build_rows(child_scopes, period, [column])
        children, _sort = sort_rows(children, [column], kpi.code)
    trend = _trend(kpi, scope, period)
    factor = display_factor(kpi)
    prev, nxt = previous_period(period), next_period(period)
    here = {"level": scope.level, "id": scope.id}
    context = {
        "kpi": kpi,
        "setting": setting,
        "target_text": fmt(kpi, setting.target),
        "scope": scope,
        "level_label": Level(scope.level).label,
        "period": period,
        "period_label": period.label,
        "kinds": PeriodKind.choices,
        "figure": figure,
        "value_text": fmt(kpi, figure.value),
        "worse": worse_than_target(kpi, figure.value, setting.target),
        "children": children,
        "child_level_label": Level(child_level).label if child_level else "",
        "trend_data": {
            "labels": [p["label"] for p in trend],
            "values": [p["value"] for p in trend],
            "target": None if setting.target is None else round(setting.target * factor, 2),
            "unit": kpi.unit,
            "name": str(kpi.name),
        },
        "trend": trend,
        "prev_url": _query(**here, kind=period.kind, period=period_value(prev)),
        "next_url": _query(**here, kind=period.kind, period=period_value(nxt)) if nxt.start <= today else "",
        "index_url": reverse("evaluation:index")
        + _query(level=scope.level, kind=period.kind, period=period_value(period)),
        "here": here,
        "period_value": period_value(period),
        "tabs": has_tabs(),
    }
    return render(request, "evaluation/kpi_detail.html", context)


urlpatterns = [
    path("", index, name="index"),
    path("kpis/<slug:code>/", kpi_detail, name="kpi_detail"),
    path("map/grids.geojson", layers.grid_kpis_geojson, name="grid_kpis_geojson"),
    *settings_pages.urlpatterns,
    *record_pages.urlpatterns,
]
