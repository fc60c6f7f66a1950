"""The records behind a KPI figure (指标明细), for the KPIs whose source app has no list filtered by every
territory level and period: 走访完成率 (the visits due in the period), 出警达标率 (the emergency alarms counted),
宣传覆盖人次 (the publicity events held) and, for a station, 警民恳谈达标率 (its communities' months).

GET /evaluation/records/<code>/?level=&id=&kind=&period= — the same query as the KPI detail page. The rows
come from the very functions the KPI is computed with (`kpis.visit_verdicts`, `kpis.response_verdicts`, the
events of `patrol.stats.publicity_figures`), so the list is exactly what was counted, each row with its verdict
(counted or not, and how). Access: as the KPI pages (`pages.require_view`, a territory outside the user's
is a 404); 50 rows a page. Households are named by their house and number only (no residents, no phones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from doorstep.evaluation import kpis
from doorstep.evaluation.choices import Level
from doorstep.evaluation.engine import REGISTRY, Period, Scope

PER_PAGE = 50

VERDICTS = {
    "on_time": (gettext_lazy("按期走访"), "bg-green-lt"),
    "late": (gettext_lazy("逾期"), "bg-red-lt"),
    "pending": (gettext_lazy("期限未到，不计"), "bg-secondary-lt"),
    "reached": (gettext_lazy("按时到场"), "bg-green-lt"),
    "overtime": (gettext_lazy("超时或未到场"), "bg-red-lt"),
    "met": (gettext_lazy("达标"), "bg-green-lt"),
    "not_met": (gettext_lazy("未达标"), "bg-red-lt"),
}


@dataclass
class Listing:
    """A drill-down list: column headers, the ids in display order with their verdicts, and a loader that turns
    one page of ids into (id, cells) pairs, a cell being (text, url or "")."""

    headers: list[str]
    ids: list[int]
    verdicts: dict[int, str]
    load: Any
    summary: str = ""


def _local(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _grid_name(grid: Any) -> str:
    return f"{grid.community.name} · {grid.name}"


def _visits(scope: Scope, period: Period, user: Any) -> Listing:
    from doorstep.registry.models import Visit

    today = timezone.localdate()
    rows = kpis.visit_verdicts(period, None if scope.whole else scope.grid_ids, today)
    verdicts = {pk: verdict for pk, _grid, verdict in rows}
    ids = [pk for pk, _grid, _v in rows]
    order = dict(Visit.objects.filter(pk__in=ids).values_list("pk", "next_due"))
    ids.sort(key=lambda pk: (order.get(pk), pk))

    def load(page_ids: list[int]) -> list[tuple[int, list[tuple[str, str]]]]:
        visits = Visit.objects.filter(pk__in=page_ids).select_related(
            "household__house", "grid__community", "visited_by"
        )
        by_pk = {v.pk: v for v in visits}
        out = []
        for pk in page_ids:
            v = by_pk.get(pk)
            if v is None:
                continue
            household = v.household
            out.append(
                (
                    pk,
                    [
                        (str(household), reverse("registry:household_detail", args=[household.pk])),
                        (_grid_name(v.grid), ""),
                        (_local(v.visited_at), ""),
                        (v.next_due.isoformat(), ""),
                        (str(v.visited_by), ""),
                    ],
                )
            )
        return out

    counted = sum(1 for v in verdicts.values() if v != "pending")
    on_time = sum(1 for v in verdicts.values() if v == "on_time")
    return Listing(
        [_("户"), _("网格"), _("上次走访"), _("下次走访期限"), _("走访人")],
        ids,
        verdicts,
        load,
        _("应走访 %(due)s 户次，按期 %(ok)s 户次；期限未到且尚未走访的列出但不计。")
        % {"due": counted, "ok": on_time},
    )


def _alarms(scope: Scope, period: Period, user: Any) -> Listing:
    from doorstep.alarms import stats
    from doorstep.alarms.models import Alarm

    rows = kpis.response_verdicts(period, None if scope.whole else scope.grid_ids, timezone.now())
    verdicts = {pk: ("reached" if verdict == "reached" else "overtime") for pk, _grid, verdict in rows}
    received = dict(Alarm.objects.filter(pk__in=list(verdicts)).values_list("pk", "received_at"))
    ids = sorted(verdicts, key=lambda pk: (received.get(pk), pk), reverse=True)

    def load(page_ids: list[int]) -> list[tuple[int, list[tuple[str, str]]]]:
        alarms = {
            a.pk: a
            for a in Alarm.objects.filter(pk__in=page_ids).select_related(
                "unit", "grid__community", "station"
            )
        }
        out = []
        for pk in page_ids:
            a = alarms.get(pk)
            if a is None:
                continue
            after = (a.arrived_at - a.received_at).total_seconds() if a.arrived_at else None
            out.append(
                (
                    pk,
                    [
                        (_local(a.received_at), ""),
                        (a.get_event_type_display(), ""),
                        (a.unit.name, ""),
                        (_grid_name(a.grid), ""),
                        (stats.fmt_seconds(after) if after is not None else _("未到场"), ""),
                    ],
                )
            )
        return out

    ok = sum(1 for v in verdicts.values() if v == "reached")
    return Listing(
        [_("接警时间"), _("报警类型"), _("单位"), _("网格"), _("到场用时")],
        ids,
        verdicts,
        load,
        _("计入的紧急警情 %(n)s 起，按时到场 %(ok)s 起（不含演练与误报）。") % {"n": len(ids), "ok": ok},
    )


def _events(scope: Scope, period: Period, user: Any) -> Listing:
    from doorstep.patrol.models import Event

    qs = Event.objects.filter(held_on__gte=period.start, held_on__lte=period.end)
    if not scope.whole:
        qs = qs.filter(community_id__in=list(scope.community_ids))
    ids = list(qs.order_by("-held_on", "-id").values_list("pk", flat=True))

    def load(page_ids: list[int]) -> list[tuple[int, list[tuple[str, str]]]]:
        events = {e.pk: e for e in Event.objects.filter(pk__in=page_ids).select_related("community")}
        return [
            (
                pk,
                [
                    (events[pk].held_on.isoformat(), ""),
                    (events[pk].title, reverse("patrol:event_detail", args=[pk])),
                    (events[pk].get_theme_display(), ""),
                    (events[pk].community.name, ""),
                    (events[pk].place, ""),
                    (str(events[pk].audience), ""),
                ],
            )
            for pk in page_ids
            if pk in events
        ]

    return Listing(
        [_("日期"), _("名称"), _("主题"), _("社区"), _("地点"), _("受众人数")],
        ids,
        {},
        load,
        _("期内宣传场次 %(n)s 场，受众人数之和即宣传覆盖人次。") % {"n": len(ids)},
    )


def _meeting_months(scope: Scope, period: Period, user: Any) -> Listing:
    """警民恳谈达标率's units: each community × calendar month the period touches, compliant or not (the rule of
    `patrol.stats.meeting_compliance`), each linking to the community's meetings of that month."""
    import calendar

    from doorstep.org.models import Community
    from doorstep.patrol import stats
    from doorstep.patrol.choices import MEETINGS_PER_MONTH
    from doorstep.patrol.meetings import monthly_counts

    communities = Community.objects.order_by("code")
    if not scope.whole:
        communities = communities.filter(id__in=list(scope.community_ids))
    names = dict(communities.values_list("id", "name"))
    items: list[tuple[int, int, int, int]] = []  # (community, year, month, meetings)
    for year, month in stats.months_between(period.start, period.end):
        counts = monthly_counts(names, year, month)
        items.extend((c, year, month, counts.get(c, 0)) for c in names)
    verdicts = {
        i: ("met" if n >= MEETINGS_PER_MONTH else "not_met") for i, (_c, _y, _m, n) in enumerate(items)
    }
    meetings = reverse("patrol:meetings")

    def load(page_ids: list[int]) -> list[tuple[int, list[tuple[str, str]]]]:
        out = []
        for i in page_ids:
            community, year, month, n = items[i]
            last = calendar.monthrange(year, month)[1]
            url = (
                f"{meetings}?community={community}&held_from={year:04d}-{month:02d}-01"
                f"&held_to={year:04d}-{month:02d}-{last:02d}"
            )
            out.append((i, [(names[community], ""), (f"{year:04d}-{month:02d}", ""), (str(n), url)]))
        return out

    met = sum(1 for v in verdicts.values() if v == "met")
    return Listing(
        [_("社区"), _("月份"), _("恳谈会、开放日次数")],
        list(range(len(items))),
        verdicts,
        load,
        _("社区月数 %(n)s，达标 %(ok)s（每月至少 %(min)s 次，期间涉及的月份整月评判）。")
        % {"n": len(items), "ok": met, "min": MEETINGS_PER_MONTH},
    )


LISTINGS = {
    "visit_rate": _visits,
    "response_on_time": _alarms,
    "publicity_reach": _events,
    "meeting_compliance": _meeting_months,
}


@login_required
@require_GET
def kpi_records(request, code: str):
    from doorstep.evaluation import pages

    user = request.user
    pages.require_view(user)
    kpi = REGISTRY.get(code)
    build = LISTINGS.get(code)
    if kpi is None or build is None or not pages.effective(kpi).active:
        raise Http404
    period = pages.parse_period(request.GET.get("kind"), request.GET.get("period"), timezone.localdate())
    level = request.GET.get("level")
    if level:
        scope = pages.get_scope(user, level, request.GET.get("id"))
    else:
        scope = pages.summary_scope(user)
        if scope is None:
            raise Http404
    if scope.level not in kpi.levels:
        raise Http404
    listing = build(scope, period, user)
    page = Paginator(listing.ids, PER_PAGE).get_page(request.GET.get("page"))
    page_ids = list(page.object_list)
    rows = [
        {"pk": pk, "cells": cells, "verdict": VERDICTS.get(listing.verdicts.get(pk, ""), ("", ""))}
        for pk, cells in listing.load(page_ids)
    ]
    figure = kpi.fn(scope, period)
    context = {
        "kpi": kpi,
        "scope": scope,
        "level_label": Level(scope.level).label,
        "period": period,
        "period_label": period.label,
        "value_text": pages.fmt(kpi, figure.value),
        "figure": figure,
        "listing": listing,
        "has_verdicts": bool(listing.verdicts),
        "page": page,
        "rows": rows,
        "detail_url": pages._detail_url(code, scope, period),
        "tabs": pages.has_tabs(),
    }
    return render(request, "evaluation/kpi_records.html", context)


urlpatterns = [path("records/<slug:code>/", kpi_records, name="kpi_records")]
