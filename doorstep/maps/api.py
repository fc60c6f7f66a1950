"""GeoJSON layers of the user's territory for the map (scoped like every other read)."""

from __future__ import annotations

from django.db.models import Count, Max, Min
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from doorstep.alarms.choices import AlarmState
from doorstep.alarms.models import Alarm, AlarmDevice
from doorstep.maps import tiles
from doorstep.org import selectors
from doorstep.org.territory import Territory
from doorstep.registry import selectors as registry_selectors
from doorstep.registry.choices import Colour, UnitType
from doorstep.registry.filtersets import HouseFilterSet
from doorstep.registry.models import House
from doorstep.video import access as video_access
from doorstep.video import selectors as video_selectors
from doorstep.video.choices import CameraStatus, Driver, Hotspot
from doorstep.video.models import Camera


def feature_collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


class GridLayerView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="网格边界（GeoJSON）")
    def get(self, request):
        grids = selectors.grids_for(request.user).exclude(boundary__isnull=True).order_by("code")
        return Response(
            feature_collection(
                [
                    {
                        "type": "Feature",
                        "id": g.pk,
                        "geometry": g.boundary,
                        "properties": {
                            "id": g.pk,
                            "name": g.name,
                            "code": g.code,
                            "community": g.community.name,
                            "station": g.community.station.name,
                            "station_id": g.community.station_id,
                            "label_lng": g.center_lng,
                            "label_lat": g.center_lat,
                        },
                    }
                    for g in grids
                ]
            )
        )


class PoliceRoomLayerView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="警务室位置（GeoJSON）")
    def get(self, request):
        rooms = selectors.police_rooms_for(request.user).order_by("community__code")
        return Response(
            feature_collection(
                [
                    {
                        "type": "Feature",
                        "id": r.pk,
                        "geometry": {"type": "Point", "coordinates": [r.lng, r.lat]},
                        "properties": {
                            "id": r.pk,
                            "name": r.name,
                            "address": r.address,
                            "phone": r.public_phone,
                            "hours": r.hours,
                            "community": r.community.name,
                        },
                    }
                    for r in rooms
                ]
            )
        )


# --- houses: vector tiles, their summary, and a bounded GeoJSON ------------------------------------------
def _filter_parameters() -> list[OpenApiParameter]:
    """The house list's filters, documented for the map endpoints that take them."""
    types = {"grid": int, "community": int, "station": int, "overdue": bool}
    return [
        OpenApiParameter(name, types.get(name, str), description=str(f.label or name))
        for name, f in HouseFilterSet.base_filters.items()
    ]


def _house_filters(request) -> HouseFilterSet:
    qs = Territory.for_user(request.user).filter(House.objects.order_by())
    return HouseFilterSet(request.GET, queryset=qs, request=request)


def _bad_filters(filterset: HouseFilterSet) -> Response:
    errors = {field: [str(e) for e in errs] for field, errs in filterset.errors.items()}
    detail = "；".join(f"{field}: {msgs[0]}" for field, msgs in errors.items())
    return Response({"detail": detail, "errors": errors}, status=400)


class _AnyAccept(BaseContentNegotiation):
    """Tiles are bytes whatever the client asks for (MapLibre sends its own Accept); errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class HouseTileView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _AnyAccept

    @extend_schema(
        parameters=_filter_parameters(),
        responses={(200, "application/vnd.mapbox-vector-tile"): OpenApiTypes.BINARY},
        summary="房屋矢量瓦片（MVT，z13–18）",
    )
    def get(self, request, z: int, x: int, y: int):
        """The user's houses as a Mapbox vector tile (layer `houses`): footprints with colour, floors,
        occupancy, grid and due date from zoom 15, colour counts per cell at zoom 13–14.

        Query parameters are the house list's filters (colour, occupancy, grid, community, station, overdue …).
        Answers with an ETag; a matching If-None-Match gets 304 without a body. A tile outside z13–18 or the
        pyramid is 404.
        """
        try:
            box = tiles.TileBox.of(z, x, y)
        except tiles.TileError as exc:
            return Response({"detail": str(exc)}, status=404)
        filterset = None

        def houses():
            # Only on a cache miss: building and validating the filterset is most of a cached request.
            nonlocal filterset
            filterset = _house_filters(request)
            return filterset.qs if filterset.is_valid() else None

        data, etag = tiles.cached_tile(
            box,
            scope=tiles.scope_key(Territory.for_user(request.user)),
            filters=tiles.filter_key(request.GET),
            queryset=houses,
        )
        if data is None:
            return _bad_filters(filterset)
        quoted = f'"{etag}"'
        if request.headers.get("If-None-Match") == quoted:
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(data, content_type="application/vnd.mapbox-vector-tile")
        response["ETag"] = quoted
        # Territory-scoped: only the user's own browser may keep it, and must revalidate (cheap: 304).
        response["Cache-Control"] = "private, no-cache"
        return response


class HouseSummaryView(APIView):
    @extend_schema(
        parameters=_filter_parameters(),
        responses={200: OpenApiTypes.OBJECT},
        summary="地图房屋统计：按筛选条件的房屋数、分色数与范围",
    )
    def get(self, request):
        """The count beside the map: how many houses the current filters show, by colour, and their extent."""
        filterset = _house_filters(request)
        if not filterset.is_valid():
            return _bad_filters(filterset)
        qs = filterset.qs
        colours = {c: 0 for c in Colour.values}
        for colour, n in qs.values_list("colour").annotate(n=Count("id")).order_by():
            colours[colour] = n
        extent = qs.aggregate(w=Min("lng"), s=Min("lat"), e=Max("lng"), n=Max("lat"))
        bounds = [extent["w"], extent["s"], extent["e"], extent["n"]] if extent["w"] is not None else None
        return Response({"count": sum(colours.values()), "colours": colours, "bounds": bounds})


GEOJSON_LIMIT = 20000


class HouseGeoJSONView(APIView):
    @extend_schema(
        parameters=_filter_parameters(),
        responses={200: OpenApiTypes.OBJECT},
        summary="房屋轮廓（GeoJSON，须带 bbox，最多 20000 个）",
    )
    def get(self, request):
        """Houses in `bbox=west,south,east,north` as GeoJSON (for GIS exchange and the tile benchmark's
        comparison); the map itself uses the vector tiles. More than 20,000 houses in the box: 400."""
        try:
            west, south, east, north = (float(v) for v in request.GET.get("bbox", "").split(","))
            if not (west < east and south < north):
                raise ValueError
        except ValueError:
            return Response({"detail": _("请提供 bbox=西,南,东,北（经纬度）")}, status=400)
        filterset = _house_filters(request)
        if not filterset.is_valid():
            return _bad_filters(filterset)
        qs = filterset.qs.filter(lng__gte=west, lng__lt=east, lat__gte=south, lat__lt=north)
        rows = list(
            qs.values_list(
                "id", "lng", "lat", "footprint", "colour", "floors", "occupancy", "grid_id", "next_visit_due"
            )[: GEOJSON_LIMIT + 1]
        )
        if len(rows) > GEOJSON_LIMIT:
            return Response({"detail": _("范围内房屋超过 20000 个，请缩小范围")}, status=400)
        features = [
            {
                "type": "Feature",
                "id": pk,
                "geometry": {"type": "Polygon", "coordinates": [list(tiles.ring_of(fp, lng, lat))]},
                "properties": {
                    "colour": colour,
                    "floors": floors,
                    "occupancy": occupancy,
                    "grid": grid_id,
                    "due": tiles.due_number(due),
                },
            }
            for pk, lng, lat, fp, colour, floors, occupancy, grid_id, due in rows
        ]
        return Response(feature_collection(features))


class UnitLayerView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="实有单位与重点单位位置（GeoJSON）")
    def get(self, request):
        """Units of the territory at their address (a few thousand at district scale: one small GeoJSON)."""
        rows = (
            registry_selectors.units_for(request.user)
            .select_related(None)
            .exclude(address__lng__isnull=True)
            .order_by("-is_key", "name")
            .values_list("id", "name", "unit_type", "is_key", "key_level", "address__lng", "address__lat")
        )
        # One-click alarm: how many devices a key unit has, and its alarms not yet closed (drills included,
        # marked: the map shows what is happening, the statistics leave drills out).
        territory = Territory.for_user(request.user)
        devices = dict(
            territory.filter(AlarmDevice.objects.filter(active=True))
            .values("unit_id")
            .annotate(n=Count("id"))
            .values_list("unit_id", "n")
        )
        open_alarms = dict(
            territory.filter(Alarm.objects.exclude(state=AlarmState.CLOSED))
            .values("unit_id")
            .annotate(n=Count("id"))
            .values_list("unit_id", "n")
        )
        types = dict(UnitType.choices)
        return Response(
            feature_collection(
                [
                    {
                        "type": "Feature",
                        "id": pk,
                        "geometry": {"type": "Point", "coordinates": [lng, lat]},
                        "properties": {
                            "id": pk,
                            "name": name,
                            "type": str(types.get(unit_type, unit_type)),
                            "key": is_key,
                            "level": key_level,
                            "devices": devices.get(pk, 0),
                            "alarms": open_alarms.get(pk, 0),
                        },
                    }
                    for pk, name, unit_type, is_key, key_level, lng, lat in rows
                ]
            )
        )


# --- video patrol: cameras and broadcast speakers --------------------------------------------------------
# What every camera and speaker point carries; each layer adds its own fields (`extra`).
DEVICE_FIELDS = ("id", "code", "name", "location", "lng", "lat", "grid_id", "station_id")


def _video_layer(user, rows, extra) -> Response:
    """A point layer of cameras or speakers (the rows of `.values(*DEVICE_FIELDS, …)`); `enabled: false` and
    no feature for roles without video, which tells the map to hide the layer's switch."""
    if not video_access.may_view(user):
        return Response({**feature_collection([]), "enabled": False})
    features = [
        {
            "type": "Feature",
            "id": r["id"],
            "geometry": {"type": "Point", "coordinates": [r["lng"], r["lat"]]},
            "properties": {
                "id": r["id"],
                "code": r["code"],
                "name": r["name"],
                "location": r["location"],
                "grid": r["grid_id"],
                "station": r["station_id"],
                **extra(r),
            },
        }
        for r in rows
    ]
    return Response(
        {**feature_collection(features), "enabled": True, "may_broadcast": video_access.may_broadcast(user)}
    )


class CameraLayerView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="视频巡查摄像机位置与状态（GeoJSON）")
    def get(self, request):
        """The territory's cameras with their status, hot-spot kind, unhandled motion events of the last 24 h
        and the active speakers covering each (the ones the user may broadcast to)."""
        user = request.user
        cameras = list(
            video_selectors.with_recent_events(video_selectors.cameras_for(user).select_related(None))
            .order_by("code")
            .values(
                *DEVICE_FIELDS,
                "status",
                "status_detail",
                "hotspot",
                "enabled",
                "recent_events",
                "open_alerts",
            )
        )
        speakers = video_selectors.speakers_for(user).filter(active=True)
        covering: dict[int, list[int]] = {}
        links = Camera.speakers.through.objects.filter(
            camera_id__in=[c["id"] for c in cameras], speaker__in=speakers.select_related(None)
        ).order_by("speaker_id")
        for camera_id, speaker_id in links.values_list("camera_id", "speaker_id"):
            covering.setdefault(camera_id, []).append(speaker_id)
        statuses, hotspots = dict(CameraStatus.choices), dict(Hotspot.choices)
        return _video_layer(
            user,
            cameras,
            lambda c: {
                "status": c["status"],
                "status_label": str(statuses.get(c["status"], c["status"])),
                "detail": c["status_detail"],
                "hotspot": c["hotspot"],
                "hotspot_label": str(hotspots.get(c["hotspot"], c["hotspot"])),
                "enabled": c["enabled"],
                "events": c["recent_events"],
                "alert": c["open_alerts"] > 0,
                "speakers": covering.get(c["id"], []),
            },
        )


class SpeakerLayerView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="广播音柱位置（GeoJSON）")
    def get(self, request):
        """The territory's broadcast speakers with their zone, driver and the result of their last play."""
        user = request.user
        rows = (
            video_selectors.speakers_for(user)
            .select_related(None)
            .order_by("code")
            .values(*DEVICE_FIELDS, "zone", "driver", "active", "last_delivered", "last_result_at")
        )
        drivers = dict(Driver.choices)
        return _video_layer(
            user,
            rows,
            lambda s: {
                "zone": s["zone"],
                "driver": s["driver"],
                "driver_label": str(drivers.get(s["driver"], s["driver"])),
                "active": s["active"],
                "last_delivered": s["last_delivered"],
                "last_result_at": s["last_result_at"].isoformat() if s["last_result_at"] else None,
            },
        )
