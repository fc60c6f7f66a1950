"""Patrol layers of the map (GeoJSON, WGS-84), scoped by the user's territory like every other read:
patrol tracks (巡逻轨迹), findings (巡逻发现) and the coverage of each grid (巡逻覆盖, the heat layer).

`days` is 7 or 30; anything else is a 400 with `detail`. `grid` (tracks only) narrows to patrols of one grid
of the territory; an id outside the territory gives an empty collection, not an error (outsiders learn
nothing). Findings carry no personal data: no note (free text may name people), no photo, no recorder.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from doorstep.core.ids import id_param
from doorstep.org.territory import Territory
from doorstep.patrol import access
from doorstep.patrol.choices import FindingKind, PatrolStatus
from doorstep.patrol.coverage import PERIOD_DAYS, coverage
from doorstep.patrol.models import Finding, Patrol

# A district's month of patrols is a few thousand tracks; the layer draws at most this many (newest first).
TRACK_LIMIT = 5000
FINDING_LIMIT = 5000


class BadDays(ValueError):
    pass


def parse_days(value: str | None) -> int:
    """`days` from the query string: 7 when absent, 7 or 30 when given, BadDays for anything else."""
    if value in (None, ""):
        return PERIOD_DAYS[0]
    if value.isascii() and value.isdigit() and int(value) in PERIOD_DAYS:
        return int(value)
    raise BadDays(value)


def _bad_days() -> JsonResponse:
    return JsonResponse({"detail": _("days 只能是 7 或 30")}, status=400)


def _collection(features: list[dict[str, Any]], **extra: Any) -> JsonResponse:
    response = JsonResponse({"type": "FeatureCollection", "features": features, **extra})
    response["Cache-Control"] = "private, no-store"
    return response


def patrol_url(pk: int) -> str:
    """The patrol's page (run_pages names it `run_detail`), or the list while that page does not exist."""
    try:
        return reverse("patrol:run_detail", args=[pk])
    except NoReverseMatch:
        try:
            return reverse("patrol:run_list")
        except NoReverseMatch:
            return ""


def _since(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def visible_patrols(user: Any):
    """Patrols of the user's territory (Patrol.TERRITORY: by community)."""
    return Territory.for_user(user).filter(Patrol.objects.all())


@login_required
@require_GET
def tracks_geojson(request):
    """Done and running patrols started in the last `days` days, their cleaned tracks as MultiLineStrings."""
    access.require_view(request.user)
    try:
        days = parse_days(request.GET.get("days"))
    except BadDays:
        return _bad_days()
    qs = visible_patrols(request.user).filter(
        status__in=[PatrolStatus.DONE, PatrolStatus.RUNNING],
        started_at__gte=_since(days),
        track__isnull=False,
    )
    if "grid" in request.GET:
        grid_id = id_param(request.GET.get("grid"))
        territory = Territory.for_user(request.user)
        if grid_id is None or not (territory.whole or grid_id in territory.grid_ids):
            return _collection([], days=days)
        qs = qs.filter(grid_id=grid_id)
    rows = qs.order_by("-started_at").values_list(
        "id", "track", "started_at", "ended_at", "distance_m", "status", "grid_id", "community_id"
    )[:TRACK_LIMIT]
    features = [
        {
            "type": "Feature",
            "id": pk,
            "geometry": track,
            "properties": {
                "id": pk,
                "started_at": started.isoformat(),
                "ended_at": ended.isoformat() if ended else None,
                "distance_m": distance,
                "status": status,
                "grid": grid_id,
                "community": community_id,
                "url": patrol_url(pk),
            },
        }
        for pk, track, started, ended, distance, status, grid_id, community_id in rows
        if isinstance(track, dict) and track.get("coordinates")
    ]
    return _collection(features, days=days)


@login_required
@require_GET
def findings_geojson(request):
    """Findings with a position of patrols started in the last `days` days: kind, its label, time, link."""
    access.require_view(request.user)
    try:
        days = parse_days(request.GET.get("days"))
    except BadDays:
        return _bad_days()
    territory = Territory.for_user(request.user)
    rows = (
        territory.filter(Finding.objects.all())
        .filter(at__gte=_since(days), lng__isnull=False, lat__isnull=False)
        .exclude(patrol__status=PatrolStatus.VOID)
        .order_by("-at")
        .values_list("id", "kind", "at", "lng", "lat", "patrol_id")[:FINDING_LIMIT]
    )
    labels = dict(FindingKind.choices)
    features = [
        {
            "type": "Feature",
            "id": pk,
            "geometry": {"type": "Point", "coordinates": [lng, lat]},
            "properties": {
                "id": pk,
                "kind": kind,
                "kind_label": str(labels.get(kind, kind)),
                "at": at.isoformat(),
                "patrol": patrol_id,
                "url": patrol_url(patrol_id),
            },
        }
        for pk, kind, at, lng, lat, patrol_id in rows
    ]
    return _collection(features, days=days)


@login_required
@require_GET
def coverage_geojson(request):
    """The grids of the territory with their coverage by done patrols of the last `days` days: share (0..1),
    patrols, hours and km (see doorstep/patrol/coverage.py for the formulas)."""
    access.require_view(request.user)
    try:
        days = parse_days(request.GET.get("days"))
    except BadDays:
        return _bad_days()
    grids = Territory.for_user(request.user).grids().exclude(boundary__isnull=True)
    figures = coverage(grids, _since(days))
    features = []
    for g in grids.order_by("code"):
        f = figures.get(g.pk)
        if f is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": g.pk,
                "geometry": g.boundary,
                "properties": {
                    "id": g.pk,
                    "name": g.name,
                    "community": g.community.name,
                    "share": round(f.share, 4),
                    "patrols": f.patrols,
                    "hours": round(f.hours, 2),
                    "km": round(f.km, 2),
                },
            }
        )
    return _collection(features, days=days)
