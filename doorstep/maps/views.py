from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Max, Min
from django.http import JsonResponse
from django.shortcuts import render

from doorstep.core.ids import id_param
from doorstep.desk import selectors as desk_selectors
from doorstep.evaluation import pages as evaluation_pages
from doorstep.evaluation.choices import Level, PeriodKind
from doorstep.maps import tiles
from doorstep.org import selectors
from doorstep.patrol import access as patrol_access
from doorstep.registry import selectors as registry_selectors
from doorstep.registry.choices import Colour, Occupancy

GLYPH_FONT = "Noto Sans Regular"
UNIT_FOCUS_DEGREES = 0.002  # about 200 m around a unit opened with ?unit=


def _style(request) -> dict:
    """The offline default style: a plain background, plus the internal tile server when configured."""
    # Built from STATIC_URL, not static(): manifest storage would hash names that must match {range}.pbf.
    origin = f"{request.scheme}://{request.get_host()}"
    glyphs = origin + settings.STATIC_URL + "vendor/glyphs/{fontstack}/{range}.pbf"
    style: dict = {
        "version": 8,
        "name": "doorstep-offline",
        "glyphs": glyphs,
        "sources": {},
        "layers": [{"id": "background", "type": "background", "paint": {"background-color": "#eef1f4"}}],
    }
    if settings.MAP_TILE_URL:
        style["sources"]["basemap"] = {"type": "raster", "tiles": [settings.MAP_TILE_URL], "tileSize": 256}
        style["layers"].append({"id": "basemap", "type": "raster", "source": "basemap"})
    return style


@login_required
def style_json(request):
    return JsonResponse(_style(request))


@login_required
def map_page(request):
    grids = selectors.grids_for(request.user)
    focus = request.GET.get("grid")
    focus_grid = grids.filter(pk=id_param(focus)).first() if id_param(focus) is not None else None
    unit_id = id_param(request.GET.get("unit"))
    focus_unit = (
        registry_selectors.units_for(request.user).filter(pk=unit_id, address__lng__isnull=False).first()
        if unit_id is not None
        else None
    )
    bbox = None
    if focus_unit is not None:  # e.g. from the dispatch console: the unit and its street block
        lng, lat = focus_unit.address.lng, focus_unit.address.lat
        bbox = [
            lng - UNIT_FOCUS_DEGREES,
            lat - UNIT_FOCUS_DEGREES,
            lng + UNIT_FOCUS_DEGREES,
            lat + UNIT_FOCUS_DEGREES,
        ]
    elif focus_grid and focus_grid.min_lng is not None:
        bbox = [focus_grid.min_lng, focus_grid.min_lat, focus_grid.max_lng, focus_grid.max_lat]
    else:  # the whole territory: the map opens on it at once, so the house tiles load with the page
        extent = grids.aggregate(w=Min("min_lng"), s=Min("min_lat"), e=Max("max_lng"), n=Max("max_lat"))
        if extent["w"] is not None:
            bbox = [extent["w"], extent["s"], extent["e"], extent["n"]]
    # The KPI layer (evaluation/layers.py): the active KPIs that apply to grids, for those with the KPI pages.
    evaluation = evaluation_pages.may_view(request.user)
    evaluation_kpis = (
        [(c.code, str(c.kpi.name)) for c in evaluation_pages.columns_for(Level.GRID)] if evaluation else []
    )
    return render(
        request,
        "maps/map.html",
        {
            "style_url": settings.MAP_STYLE_URL,
            "center": list(settings.MAP_CENTER),
            "focus_bbox": bbox,
            "focus_unit": focus_unit.pk if focus_unit is not None else None,
            "glyph_font": GLYPH_FONT,
            "grids": grids.order_by("community__station__name", "community__name", "name"),
            "colours": Colour.choices,
            "occupancies": Occupancy.choices,
            "tile_zooms": (tiles.MIN_ZOOM, tiles.MAX_ZOOM, tiles.POLYGON_MIN_ZOOM),
            # The GeoJSON variant exists for the tile benchmark's comparison (bench/map_render.py).
            "house_source": "geojson" if request.GET.get("houses") == "geojson" else "tiles",
            # 五统一 inspections colour the police rooms for those who may see them (desk/inspection_pages.py).
            "inspections": desk_selectors.may_view(request.user),
            # Patrol tracks, findings and coverage (patrol/layers.py) for those with patrol pages; `?patrol=7|30`
            # (from the 群防群治 board) opens the map with them switched on.
            "patrol": patrol_access.may_view(request.user),
            "patrol_days": request.GET.get("patrol") if request.GET.get("patrol") in {"7", "30"} else "",
            "evaluation": evaluation and bool(evaluation_kpis),
            "evaluation_kpis": evaluation_kpis,
            "evaluation_kinds": PeriodKind.choices,
        },
    )
