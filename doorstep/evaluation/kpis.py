"""The KPIs (DOMAIN.md, KPI formulas): one registered function per KPI, its formula in the docstring.

Every KPI is computed for many scopes at once by a *batch* function: the operational records are counted per
grid (or per community, for the patrol figures kept per community) in one grouped query for all the scopes'
grids, and a scope's figure is the ratio of the **sums** of its grids' numerators and denominators — a
station is never the mean of its grids' ratios. `compute_many(scopes, period)` runs the batches;
`compute(scope, period)` is `compute_many` with one scope; each registered function is the same for one scope.

Design of 采集率: one KPI per element (`collection_rate_address` … `collection_rate_concern`), because
a pooled rate over addresses and persons would be dominated by the largest element; the weights of these
five rows (KpiSetting) are the weights of 治安要素掌控率. 准确率 is one KPI pooled over the elements (the
sample per element is small); 治安要素掌控率 uses the per-element accuracy.

Targets and weights: the defaults below, overridden by `KpiSetting` rows (`effective`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.evaluation import periods as periods_mod
from doorstep.evaluation.choices import Element, Level, PeriodKind
from doorstep.evaluation.engine import REGISTRY, Figure, Kpi, Period, Scope, kpi

NO_BASELINE = "未录入应采集基数"
ABOVE_GRID = frozenset({Level.COMMUNITY, Level.STATION, Level.SUB_BUREAU})

Cache = dict[Any, Any]
Batch = Callable[[Sequence[Scope], Period, Cache], dict[Scope, Figure]]
BATCHES: dict[str, Batch] = {}


def _register(code: str, name: Any, batch: Batch, doc: str, **options: Any) -> None:
    """Register a KPI from its batch function: the per-scope function the engine calls is derived."""

    def one(scope: Scope, period: Period) -> Figure:
        return batch([scope], period, {})[scope]

    one.__doc__ = doc
    one.__name__ = code
    kpi(code, name, **options)(one)
    BATCHES[code] = batch


# --- targets, weights, activity -----------------------------------------------------------------------------
def settings_map() -> dict[str, tuple[float | None, float, bool]]:
    from doorstep.evaluation.models import KpiSetting

    return {
        code: (target, weight, active)
        for code, target, weight, active in KpiSetting.objects.values_list(
            "code", "target", "weight", "active"
        )
    }


def effective(item: Kpi | str, overrides: dict[str, tuple] | None = None) -> tuple[float | None, float, bool]:
    """(target, weight, active) of a KPI: its KpiSetting row when there is one, else the registry defaults."""
    k = REGISTRY[item] if isinstance(item, str) else item
    table = settings_map() if overrides is None else overrides
    return table.get(k.code, (k.target, k.weight, True))


def active_codes(level: str | None = None, overrides: dict[str, tuple] | None = None) -> list[str]:
    table = settings_map() if overrides is None else overrides
    return [
        k.code
        for k in sorted(REGISTRY.values(), key=lambda k: k.order)
        if effective(k, table)[2] and (level is None or level in k.levels)
    ]


# --- helpers --------------------------------------------------------------------------------------------------
def _grid_filter(scopes: Sequence[Scope], cache: Cache) -> frozenset[int] | None:
    """The grids to read: None (no filter) when a scope is the whole sub-bureau."""
    if "grids" not in cache:
        cache["grids"] = (
            None if any(s.whole for s in scopes) else frozenset().union(*(s.grid_ids for s in scopes))
        )
    return cache["grids"]


def _communities(scopes: Sequence[Scope]) -> list[int]:
    return sorted(frozenset().union(*(s.community_ids for s in scopes)))


def _in(qs: Any, lookup: str, ids: frozenset[int] | None) -> Any:
    return qs if ids is None else qs.filter(**{f"{lookup}__in": list(ids)})


def _sum(per: dict[int, float], ids: Iterable[int]) -> float:
    return sum(per.get(i, 0) for i in ids)


def _url(
    path: str, scope: Scope, params: dict[str, Any], *, station: bool = True, grid: bool = True
) -> str | None:
    """A list page filtered to the scope: None when the page has no filter for the scope's level."""
    query = dict(params)
    if scope.level == Level.GRID:
        if not grid:
            return None
        query["grid"] = scope.id
    elif scope.level == Level.COMMUNITY:
        query["community"] = scope.id
    elif scope.level == Level.STATION:
        if not station:
            return None
        query["station"] = scope.id
    return f"{path}?{urlencode(query)}" if query else path


# --- 采集率 ----------------------------------------------------------------------------------------------------
def _collected(period: Period, scopes: Sequence[Scope], cache: Cache) -> dict[str, dict[int, int]]:
    """Per element and grid: the registry records that exist at the end of the period (created before it ended;
    persons of concern: listed on or before the end and not delisted by then). One grouped query per element."""
    key = ("collected", period)
    if key in cache:
        return cache[key]
    from doorstep.registry.models import Address, House, Person, PersonOfConcern, Unit

    grids = _grid_filter(scopes, cache)
    until = period.until
    # A period still running ends after now, and every record was created before now (created_at is set on
    # insert): the filter selects every row then, and without it SQLite counts from the grid index instead of
    # reading the table (600,000 persons: 40 ms instead of 150 ms).
    running = until > (cache.get("now") or timezone.now())
    out: dict[str, dict[int, int]] = {}
    for element, model in (
        (Element.ADDRESS, Address),
        (Element.PERSON, Person),
        (Element.HOUSE, House),
        (Element.UNIT, Unit),
    ):
        qs = _in(
            model.objects.all() if running else model.objects.filter(created_at__lt=until), "grid_id", grids
        )
        out[element] = dict(
            qs.order_by().values("grid_id").annotate(n=Count("id")).values_list("grid_id", "n")
        )
    qs = PersonOfConcern.objects.filter(listed_on__lte=period.end).filter(
        Q(delisted_on__isnull=True) | Q(delisted_on__gt=period.end)
    )
    qs = _in(qs, "person__grid_id", grids)
    # Distinct persons per grid, counted here: grouped in SQL, SQLite scans all the persons (600,000) to join
    # the few hundred persons of concern (50 ms); the plain join reads the concerns first (5 ms).
    concern: dict[int, int] = defaultdict(int)
    for _person, grid_id in set(qs.order_by().values_list("person_id", "person__grid_id")):
        concern[grid_id] += 1
    out[Element.CONCERN] = dict(concern)
    cache[key] = out
    return out


def _baselines(period: Period, scopes: Sequence[Scope], cache: Cache) -> dict[str, dict[int, int]]:
    """Per element and grid: `expected` of the latest Baseline with as_of ≤ the period's end."""
    key = ("baselines", period)
    if key in cache:
        return cache[key]
    from doorstep.evaluation.models import Baseline

    qs = _in(Baseline.objects.filter(as_of__lte=period.end), "grid_id", _grid_filter(scopes, cache))
    out: dict[str, dict[int, int]] = {e: {} for e in Element.values}
    for grid_id, element, expected in qs.order_by("grid_id", "element", "-as_of").values_list(
        "grid_id", "element", "expected"
    ):
        out[element].setdefault(grid_id, expected)  # the first row is the latest
    cache[key] = out
    return out


def collection_parts(
    period: Period, scopes: Sequence[Scope], cache: Cache, element: str
) -> dict[Scope, tuple]:
    """Per scope: (collected, expected, grids without a baseline) over the scope's grids that have one."""
    collected = _collected(period, scopes, cache)[element]
    expected = _baselines(period, scopes, cache)[element]
    out = {}
    for scope in scopes:
        with_base = [g for g in scope.grid_ids if g in expected]
        out[scope] = (
            _sum(collected, with_base),
            _sum(expected, with_base),
            len(scope.grid_ids) - len(with_base),
        )
    return out


COLLECTION_PAGES = {
    Element.ADDRESS: "/registry/addresses/",
    Element.PERSON: "/registry/persons/",
    Element.HOUSE: "/registry/houses/",
    Element.UNIT: "/registry/units/",
    Element.CONCERN: "/registry/concerns/",
}


def _collection_batch(element: str) -> Batch:
    def batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
        out = {}
        for scope, (collected, expected, missing) in collection_parts(period, scopes, cache, element).items():
            if not expected:
                out[scope] = Figure.missing(NO_BASELINE)
                continue
            note = f"{missing}个网格{NO_BASELINE}，未计入" if missing else ""
            records = _url(COLLECTION_PAGES[element], scope, {})
            out[scope] = Figure.ratio(collected, expected, records=records, note=note)
        return out

    return batch


_COLLECTION_DOC = (
    "{name}采集率 = 期末已采集的{name}记录数 ÷ 应采集数（各网格期末前最近一次录入的应采集基数），"
    "只计已录入基数的网格；按网格求和后相除。"
)
ELEMENT_WORDS = {
    e: w for e, w in zip(Element, ("标准地址", "实有人口", "实有房屋", "实有单位", "重点人员"), strict=True)
}
COLLECTION_NAMES = {
    Element.ADDRESS: _("标准地址采集率"),
    Element.PERSON: _("实有人口采集率"),
    Element.HOUSE: _("实有房屋采集率"),
    Element.UNIT: _("实有单位采集率"),
    Element.CONCERN: _("重点人员采集率"),
}
for _element in Element:
    _register(
        f"collection_rate_{_element.value}",
        COLLECTION_NAMES[_element],
        _collection_batch(_element.value),
        _COLLECTION_DOC.format(name=ELEMENT_WORDS[_element]),
        target=1.0 if _element == Element.CONCERN else 0.95,
    )


# --- 准确率 ----------------------------------------------------------------------------------------------------
def _verifications(
    period: Period, scopes: Sequence[Scope], cache: Cache
) -> dict[str, dict[int, tuple[int, int]]]:
    """Per element and grid: (correct, sampled) over the verification samples checked in the period."""
    key = ("verifications", period)
    if key in cache:
        return cache[key]
    from doorstep.evaluation.models import Verification

    qs = Verification.objects.filter(checked_on__gte=period.start, checked_on__lte=period.end)
    qs = _in(qs, "grid_id", _grid_filter(scopes, cache))
    out: dict[str, dict[int, tuple[int, int]]] = {e: {} for e in Element.values}
    for row in (
        qs.order_by()
        .values("grid_id", "element")
        .annotate(n=Count("id"), ok=Count("id", filter=Q(correct=True)))
    ):
        out[row["element"]][row["grid_id"]] = (row["ok"], row["n"])
    cache[key] = out
    return out


def accuracy_parts(period: Period, scopes: Sequence[Scope], cache: Cache, element: str) -> dict[Scope, tuple]:
    """Per scope: (correct, sampled) of one element."""
    table = _verifications(period, scopes, cache)[element]
    return {
        s: (
            sum(table.get(g, (0, 0))[0] for g in s.grid_ids),
            sum(table.get(g, (0, 0))[1] for g in s.grid_ids),
        )
        for s in scopes
    }


def accuracy_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    correct = dict.fromkeys(scopes, 0)
    sampled = dict.fromkeys(scopes, 0)
    for element in Element.values:
        for scope, (ok, n) in accuracy_parts(period, scopes, cache, element).items():
            correct[scope] += ok
            sampled[scope] += n
    params = {"checked_from": period.start.isoformat(), "checked_to": period.end.isoformat()}
    return {
        s: Figure.ratio(correct[s], sampled[s], records=_url("/evaluation/verifications/", s, params))
        for s in scopes
    }


_register(
    "accuracy_rate",
    _("准确率"),
    accuracy_batch,
    "准确率 = 期内核查抽样中信息准确的条数 ÷ 抽样条数（五类要素合计，按核查日期计）。",
    target=0.95,
)


# --- 治安要素掌控率 ---------------------------------------------------------------------------------------------
def control_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    overrides = cache.setdefault("settings", None) or settings_map()
    cache["settings"] = overrides
    weights = {e: effective(f"collection_rate_{e}", overrides)[1] for e in Element.values}
    collection = {e: collection_parts(period, scopes, cache, e) for e in Element.values}
    accuracy = {e: accuracy_parts(period, scopes, cache, e) for e in Element.values}
    out = {}
    for scope in scopes:
        total, weight_sum, left_out = 0.0, 0.0, []
        for element in Element:
            collected, expected, _missing = collection[element][scope]
            ok, sampled = accuracy[element][scope]
            weight = weights[element]
            if not weight:
                continue
            if not expected or not sampled:
                left_out.append(str(element.label))
                continue
            total += weight * (collected / expected) * (ok / sampled)
            weight_sum += weight
        note = ("未计入（缺应采集基数或核查抽样）：" + "、".join(left_out)) if left_out else ""
        if not weight_sum:
            out[scope] = Figure.missing(note or NO_BASELINE)
        else:
            out[scope] = Figure(total / weight_sum, total, weight_sum, None, note)
    return out


_register(
    "control_rate",
    _("治安要素掌控率"),
    control_batch,
    "治安要素掌控率 = Σ 权重ₑ × 采集率ₑ × 准确率ₑ ÷ Σ 权重ₑ，ₑ 为标准地址、实有人口、实有房屋、实有单位、"
    "重点人员；权重取各要素采集率指标的权重；缺应采集基数或期内无核查抽样的要素不计入并注明。",
    target=0.95,
)


# --- 万人发案率 -------------------------------------------------------------------------------------------------
def incidence_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    from doorstep.evaluation.models import Incident

    grids = _grid_filter(scopes, cache)
    cases = dict(
        _in(
            Incident.objects.filter(occurred_on__gte=period.start, occurred_on__lte=period.end),
            "grid_id",
            grids,
        )
        .order_by()
        .values("grid_id")
        .annotate(n=Count("id"))
        .values_list("grid_id", "n")
    )
    population = _collected(period, scopes, cache)[Element.PERSON]
    params = {"occurred_from": period.start.isoformat(), "occurred_to": period.end.isoformat()}
    out = {}
    for scope in scopes:
        n, people = _sum(cases, scope.grid_ids), _sum(population, scope.grid_ids)
        # The value is the plain ratio (cases per resident); the unit "‱" shows it per 10,000.
        out[scope] = Figure.ratio(n, people, records=_url("/evaluation/incidents/", scope, params))
    return out


_register(
    "incidence_per_10k",
    _("万人发案率"),
    incidence_batch,
    "万人发案率 = 期内发案数（刑事案件 + 治安案件，按发案日期）÷ 实有人口（期末登记在册的实有人口，五类合计）"
    " × 10000；越低越好。",
    unit="‱",
    higher_is_better=False,
)


# --- 调解成功率 -------------------------------------------------------------------------------------------------
def mediation_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    from doorstep.mediation import stats
    from doorstep.mediation.models import Dispute

    qs = Dispute.objects.filter(received_at__gte=period.since, received_at__lt=period.until)
    if not any(s.whole for s in scopes):
        qs = qs.filter(community_id__in=_communities(scopes))
    by_grid: dict[int, stats.Figures] = defaultdict(stats.Figures)
    by_community: dict[int, stats.Figures] = defaultdict(stats.Figures)
    for community_id, grid_id, *row in qs.order_by().values_list("community_id", "grid_id", *stats.FIELDS):
        by_community[community_id].add(*row)
        if grid_id is not None:
            by_grid[grid_id].add(*row)
    params = {"received_from": period.start.isoformat(), "received_to": period.end.isoformat()}
    out = {}
    for scope in scopes:
        # A dispute placed only in a community (no grid) counts for the community and above, not for a grid.
        if scope.level == Level.GRID:
            parts = [by_grid[g] for g in scope.grid_ids if g in by_grid]
        else:
            parts = [by_community[c] for c in scope.community_ids if c in by_community]
        settled, accepted = sum(p.settled for p in parts), sum(p.accepted for p in parts)
        # The dispute list filters by grid or community, not by station.
        records = _url("/mediation/list/", scope, params)
        out[scope] = Figure.ratio(settled, accepted, records=records)
    return out


_register(
    "mediation_success",
    _("调解成功率"),
    mediation_batch,
    "调解成功率 = 化解的纠纷数 ÷ 受理的纠纷数（期内受理，按受理时间；口径同调解统计）。",
    target=0.95,
)


# --- 出警达标率 -------------------------------------------------------------------------------------------------
def response_verdicts(
    period: Period, grids: frozenset[int] | None, now: dt.datetime
) -> list[tuple[int, int, str]]:
    """(alarm id, grid id, "reached" | "late") of every emergency alarm received in the period in the grids
    (None: all) that counts for 出警达标率 (drills, non-emergencies and pending ones left out). One query; the
    KPI and its drill-down list (`record_pages`) both read it, so the list shows exactly what was counted."""
    from doorstep.alarms import stats
    from doorstep.alarms.models import Alarm
    from doorstep.alarms.supervision import arrival_norm_seconds

    qs = Alarm.objects.filter(received_at__gte=period.since, received_at__lt=period.until)
    qs = _in(qs, "grid_id", grids)
    out = []
    for row in qs.order_by().values(*stats.ROW_FIELDS, "grid_id", "station__area_type"):
        keys = stats.classify(row, arrival_norm_seconds(row["station__area_type"]), now)
        if "reached" in keys:
            out.append((row["id"], row["grid_id"], "reached"))
        elif "late" in keys:
            out.append((row["id"], row["grid_id"], "late"))
    return out


def records_url(code: str, scope: Scope, period: Period) -> str:
    """The evaluation's own list of the records behind a figure (`record_pages`), for KPIs whose source app
    has no list filtered by every territory level and period."""
    query: dict[str, Any] = {"level": scope.level, "kind": period.kind, "period": periods_mod.value(period)}
    if scope.id is not None:
        query["id"] = scope.id
    return f"/evaluation/records/{code}/?{urlencode(query)}"


def response_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    now = cache.get("now") or timezone.now()
    reached: dict[int, int] = defaultdict(int)
    late: dict[int, int] = defaultdict(int)
    for _pk, grid_id, verdict in response_verdicts(period, _grid_filter(scopes, cache), now):
        (reached if verdict == "reached" else late)[grid_id] += 1
    out = {}
    for scope in scopes:
        ok, bad = _sum(reached, scope.grid_ids), _sum(late, scope.grid_ids)
        records = records_url("response_on_time", scope, period)
        out[scope] = Figure.ratio(ok, ok + bad, records=records)
    return out


_register(
    "response_on_time",
    _("出警达标率"),
    response_batch,
    "出警达标率 = 时限内到场的紧急警情 ÷（时限内到场 + 超时或未到场），时限城区5分钟、郊区10分钟（派出所区域"
    "类型），从接警到到场计；不含演练；口径同报警统计。",
    target=1.0,
)


# --- 知晓率、满意率、安全感 (the portal's surveys: portal.stats) ---------------------------------------------------
def _survey(name: str) -> Batch:
    def batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
        from doorstep.portal import stats

        return getattr(stats, name)(scopes, period, cache)

    batch.__name__ = name
    return batch


_register(
    "awareness",
    _("知晓率"),
    _survey("awareness_batch"),
    "知晓率 = 能正确选出本网格社区民警姓名、电话或警务室位置（至少一项）的答卷 ÷ 答卷；按答卷所属网格和提交时间"
    "计（口径同网上警务室的调查统计）。",
    target=0.9,
)
_register(
    "satisfaction",
    _("满意率"),
    _survey("satisfaction_batch"),
    "满意率 = 很满意、满意、基本满意的答卷 ÷ 作答满意度的答卷（五级量表；口径同网上警务室的调查统计）。",
    target=0.9,
)
_register(
    "safety",
    _("安全感"),
    _survey("safety_batch"),
    "安全感 = 很安全、安全、基本安全的答卷 ÷ 作答安全感的答卷（五级量表；口径同网上警务室的调查统计）。",
    target=0.9,
)


# --- 主动型: patrol, meetings, volunteers, publicity ------------------------------------------------------------
def _patrol(period: Period, scopes: Sequence[Scope], cache: Cache) -> dict[int, Any]:
    key = ("patrol", period)
    if key not in cache:
        from doorstep.patrol import stats

        cache[key] = stats.patrol_figures(_all_communities(scopes, cache), period.start, period.end)
    return cache[key]


def _all_communities(scopes: Sequence[Scope], cache: Cache) -> list[int]:
    if "communities" not in cache:
        if any(s.whole for s in scopes):
            from doorstep.org.models import Community

            cache["communities"] = list(Community.objects.order_by().values_list("id", flat=True))
        else:
            cache["communities"] = _communities(scopes)
    return cache["communities"]


def coverage_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    from doorstep.org.models import Grid
    from doorstep.patrol.coverage import coverage

    grids = _in(Grid.objects.exclude(boundary__isnull=True), "id", _grid_filter(scopes, cache))
    figures = coverage(grids, period.since, period.until)
    params = {"status": "done", "date_from": period.start.isoformat(), "date_to": period.end.isoformat()}
    out = {}
    for scope in scopes:
        shares = [figures[g].share for g in scope.grid_ids if g in figures]
        records = _url("/patrol/runs/", scope, params)
        out[scope] = Figure.ratio(sum(shares), len(shares), records=records)
    return out


_register(
    "patrol_coverage",
    _("巡逻覆盖率"),
    coverage_batch,
    "巡逻覆盖率 = Σ 各网格覆盖份额 ÷ 网格数；网格覆盖份额 = 网格内距期内已完成巡逻轨迹50米以内的面积 ÷ 网格面积"
    "（口径同巡逻覆盖统计，每个网格计一次；无边界的网格不计）。",
)


def hours_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    figures = _patrol(period, scopes, cache)
    params = {"status": "done", "date_from": period.start.isoformat(), "date_to": period.end.isoformat()}
    out = {}
    for scope in scopes:
        hours = sum(figures[c].hours for c in scope.community_ids if c in figures)
        out[scope] = Figure.count(round(hours, 2), records=_url("/patrol/runs/", scope, params))
    return out


_register(
    "patrol_hours",
    _("巡逻时长（小时）"),
    hours_batch,
    "巡逻时长 = 期内开始的已完成巡逻的（结束时间 − 开始时间）之和，单位小时（口径同群防群治统计）。",
    unit="",
    levels=ABOVE_GRID,
)


def meetings_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    from doorstep.patrol import stats

    table = stats.meeting_compliance(_all_communities(scopes, cache), period.start, period.end)
    months = stats.months_between(period.start, period.end)
    first = dt.date(*months[0], 1)
    last = periods_mod.period_of(PeriodKind.MONTH, dt.date(*months[-1], 1)).end
    params = {"held_from": first.isoformat(), "held_to": last.isoformat()}
    out = {}
    for scope in scopes:
        rows = [table[c] for c in scope.community_ids if c in table]
        # The meeting list filters by community; a station's community-months are listed by `record_pages`.
        if scope.level == Level.STATION:
            records = records_url("meeting_compliance", scope, period)
        else:
            records = _url("/patrol/meetings/", scope, params, station=False, grid=False)
        out[scope] = Figure.ratio(
            sum(r.compliant_months for r in rows), sum(r.months for r in rows), records=records
        )
    return out


_register(
    "meeting_compliance",
    _("警民恳谈达标率"),
    meetings_batch,
    "警民恳谈达标率 = Σ 达标社区月数 ÷ Σ 社区月数；社区在一个自然月内召开恳谈会或开放日达到规定次数即该月达标，"
    "期间涉及的月份整月评判（口径同群防群治的例会统计）。",
    target=1.0,
    levels=ABOVE_GRID,
)


def volunteers_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    from doorstep.patrol import stats

    figures = _patrol(period, scopes, cache)
    active = stats.active_volunteers(_all_communities(scopes, cache), period.start, period.end)
    params = {"status": "done", "date_from": period.start.isoformat(), "date_to": period.end.isoformat()}
    out = {}
    for scope in scopes:
        turnout = sum(figures[c].volunteer_turnout for c in scope.community_ids if c in figures)
        members = sum(active.get(c, 0) for c in scope.community_ids)
        # The done patrols of the period, each with its volunteers (the numerator's person-times).
        records = _url("/patrol/runs/", scope, params)
        out[scope] = Figure.ratio(turnout, members, records=records)
    return out


_register(
    "volunteer_participation",
    _("志愿者人均参巡次数"),
    volunteers_batch,
    "志愿者人均参巡次数 = 期内已完成巡逻的志愿者人次之和 ÷ 期内在册志愿者人数（在用队伍的志愿者成员，"
    "口径同群防群治统计）。",
    unit="",
    levels=ABOVE_GRID,
)


def publicity_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    from doorstep.patrol import stats

    table = stats.publicity_figures(_all_communities(scopes, cache), period.start, period.end)
    out = {}
    for scope in scopes:
        audience = sum(table[c].audience for c in scope.community_ids if c in table)
        out[scope] = Figure.count(audience, records=records_url("publicity_reach", scope, period))
    return out


_register(
    "publicity_reach",
    _("宣传覆盖人次"),
    publicity_batch,
    "宣传覆盖人次 = Σ 期内举办的“四防”宣传活动的受众人数（口径同群防群治统计）。",
    unit="",
    levels=ABOVE_GRID,
)


# --- 走访完成率 -------------------------------------------------------------------------------------------------
def visit_verdicts(
    period: Period, grids: frozenset[int] | None, today: dt.date
) -> list[tuple[int, int, str]]:
    """(visit id, grid id, verdict) of every visit whose next-visit deadline falls in the period, in the grids
    (None: all): "on_time" (the household's next visit came on or before the deadline), "late" (it came later,
    or has not come and the deadline has passed) or "pending" (not visited yet, deadline not passed: not
    counted). Two queries; the KPI and its drill-down list (`record_pages`) both read it."""
    from doorstep.registry.models import Visit

    dues = list(
        _in(Visit.objects.filter(next_due__gte=period.start, next_due__lte=period.end), "grid_id", grids)
        .order_by()
        .values_list("id", "household_id", "grid_id", "visited_at", "next_due")
    )
    later: dict[int, list[dt.datetime]] = defaultdict(list)
    if dues:
        earliest = min(d[3] for d in dues)
        for household_id, visited_at in (
            Visit.objects.filter(household_id__in={d[1] for d in dues}, visited_at__gt=earliest)
            .order_by("visited_at")
            .values_list("household_id", "visited_at")
        ):
            later[household_id].append(visited_at)
    tz = timezone.get_current_timezone()
    out = []
    for pk, household_id, grid_id, visited_at, next_due in dues:
        following = next((v for v in later[household_id] if v > visited_at), None)
        if following is not None and following.astimezone(tz).date() <= next_due:
            out.append((pk, grid_id, "on_time"))
        elif following is not None or next_due < today:
            out.append((pk, grid_id, "late"))
        else:
            out.append((pk, grid_id, "pending"))
    return out


def visit_batch(scopes: Sequence[Scope], period: Period, cache: Cache) -> dict[Scope, Figure]:
    today = (cache.get("now") or timezone.now()).astimezone(timezone.get_current_timezone()).date()
    on_time: dict[int, int] = defaultdict(int)
    due: dict[int, int] = defaultdict(int)
    for _pk, grid_id, verdict in visit_verdicts(period, _grid_filter(scopes, cache), today):
        if verdict == "on_time":
            on_time[grid_id] += 1
        if verdict != "pending":
            due[grid_id] += 1
    return {
        s: Figure.ratio(
            _sum(on_time, s.grid_ids), _sum(due, s.grid_ids), records=records_url("visit_rate", s, period)
        )
        for s in scopes
    }


_register(
    "visit_rate",
    _("走访完成率"),
    visit_batch,
    "走访完成率 = 按期走访的户次 ÷ 应走访户次；应走访户次 = 走访期限（上次走访按分色定的下次走访期限）落在期内的"
    "户次，按期 = 下一次走访在期限当日或之前；期限未到且尚未走访的不计；从未走访过的户没有上次走访，不计入。",
    target=0.95,
)


# --- running them ---------------------------------------------------------------------------------------------
def compute_many(
    scopes: Sequence[Scope],
    period: Period,
    codes: Iterable[str] | None = None,
    *,
    now: dt.datetime | None = None,
) -> dict[Scope, dict[str, Figure]]:
    """Figures of the KPIs (default: every active one, each for the levels it applies to) for every scope,
    each KPI computed once for all the scopes (grouped queries)."""
    scopes = list(scopes)
    overrides = settings_map()
    wanted = list(codes) if codes is not None else active_codes(None, overrides)
    cache: Cache = {"settings": overrides, "now": now}
    out: dict[Scope, dict[str, Figure]] = {s: {} for s in scopes}
    if not scopes:
        return out
    for code in sorted(wanted, key=lambda c: REGISTRY[c].order):
        k = REGISTRY[code]
        applicable = [s for s in scopes if s.level in k.levels]
        if not applicable:
            continue
        for scope, figure in BATCHES[code](applicable, period, cache).items():
            out[scope][code] = figure
    return out


def compute(scope: Scope, period: Period, codes: Iterable[str] | None = None) -> dict[str, Figure]:
    """Every active KPI (or the given ones) for one scope and period."""
    return compute_many([scope], period, codes)[scope]
