"""The KPI layer of the map (考核指标, GeoJSON, WGS-84): the user's grids coloured by one KPI for one period.

GET /evaluation/map/grids.geojson?code=<kpi>&kind=month&period=2026-11 → every grid of the user's territory
that has a boundary, with the KPI's value (float or null), its formatted text ("96.2%", "—"), the effective
target, whether it is met (null without a value or a target) and the URL of the records behind the figure.
Only for users who may view the KPI pages (others: 404). A code that is not an active KPI applying to grids
is a 400 with `detail`; a malformed period falls back to the current one (as on the KPI pages). All the grids
are computed in one `compute_many` call (grouped queries).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from doorstep.evaluation.choices import Level
from doorstep.evaluation.engine import REGISTRY
from doorstep.org.models import Grid
from doorstep.org.territory import Territory


def _bad_code() -> JsonResponse:
    return JsonResponse({"detail": _("未知的考核指标")}, status=400)


@login_required
@require_GET
def grid_kpis_geojson(request):
    from doorstep.evaluation import kpis, pages, scopes

    user = request.user
    pages.require_view(user)
    kpi = REGISTRY.get((request.GET.get("code") or "")[:100])
    if kpi is None or Level.GRID not in kpi.levels:
        return _bad_code()
    setting = pages.effective(kpi)
    if not setting.active:
        return _bad_code()
    period = pages.parse_period(request.GET.get("kind"), request.GET.get("period"), timezone.localdate())
    grid_scopes = [
        s for s in scopes.scopes_in(Territory.for_user(user), Level.GRID) if scopes.may_see(user, s)
    ]
    shapes = {
        pk: (boundary, community)
        for pk, boundary, community in Grid.objects.filter(id__in=[s.id for s in grid_scopes])
        .exclude(boundary__isnull=True)
        .values_list("id", "boundary", "community__name")
    }
    grid_scopes = [s for s in grid_scopes if s.id in shapes]
    figures = kpis.compute_many(grid_scopes, period, [kpi.code])
    features = []
    for scope in grid_scopes:
        figure = figures.get(scope, {}).get(kpi.code)
        value = None if figure is None else figure.value
        boundary, community = shapes[scope.id]
        met = (
            None
            if value is None or setting.target is None
            else not pages.worse_than_target(kpi, value, setting.target)
        )
        features.append(
            {
                "type": "Feature",
                "id": scope.id,
                "geometry": boundary,
                "properties": {
                    "id": scope.id,
                    "name": scope.name,
                    "community": community,
                    "value": None if value is None else float(value),
                    "text": pages.fmt(kpi, value),
                    "target": setting.target,
                    "target_text": pages.fmt(kpi, setting.target),
                    "met": met,
                    "records": (figure.records if figure is not None else None) or "",
                },
            }
        )
    response = JsonResponse(
        {
            "type": "FeatureCollection",
            "features": features,
            "code": kpi.code,
            "name": str(kpi.name),
            "kind": period.kind,
            "period": pages.period_value(period),
            "period_label": period.label,
        }
    )
    response["Cache-Control"] = "private, no-store"
    return response
