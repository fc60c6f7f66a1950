from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from doorstep.maps.api import GridLayerView, PoliceRoomLayerView
from doorstep.org import api as org_api

router = DefaultRouter()
router.register("stations", org_api.StationViewSet, basename="station")
router.register("communities", org_api.CommunityViewSet, basename="community")
router.register("grids", org_api.GridViewSet, basename="grid")
router.register("police-rooms", org_api.PoliceRoomViewSet, basename="police-room")
router.register("staff", org_api.StaffViewSet, basename="staff")
router.register("assignments", org_api.GridAssignmentViewSet, basename="assignment")
router.register("departure-requests", org_api.DepartureRequestViewSet, basename="departure-request")
router.register("secondments", org_api.SecondmentViewSet, basename="secondment")

api_patterns = [
    path("map/grids.geojson", GridLayerView.as_view(), name="map-grids"),
    path("map/police-rooms.geojson", PoliceRoomLayerView.as_view(), name="map-police-rooms"),
    *router.urls,
]

urlpatterns = [
    path("", include("doorstep.core.urls")),
    path("accounts/", include("doorstep.accounts.urls")),
    path("org/", include("doorstep.org.urls")),
    path("map/", include("doorstep.maps.urls")),
    path("registry/", include("doorstep.registry.urls")),
    path("audit/", include("doorstep.audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include((api_patterns, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
