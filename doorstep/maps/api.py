"""GeoJSON layers of the user's territory for the map (scoped like every other read)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from doorstep.org import selectors


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
