from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from doorstep.alarms.api import AlarmEventView
from doorstep.core import views as core_views
from doorstep.maps.api import (
    CameraLayerView,
    GridLayerView,
    HouseGeoJSONView,
    HouseSummaryView,
    HouseTileView,
    PoliceRoomLayerView,
    SpeakerLayerView,
    UnitLayerView,
)
from doorstep.org import api as org_api
from doorstep.registry import api as registry_api

router = DefaultRouter()
router.register("stations", org_api.StationViewSet, basename="station")
router.register("communities", org_api.CommunityViewSet, basename="community")
router.register("grids", org_api.GridViewSet, basename="grid")
router.register("police-rooms", org_api.PoliceRoomViewSet, basename="police-room")
router.register("staff", org_api.StaffViewSet, basename="staff")
router.register("assignments", org_api.GridAssignmentViewSet, basename="assignment")
router.register("departure-requests", org_api.DepartureRequestViewSet, basename="departure-request")
router.register("secondments", org_api.SecondmentViewSet, basename="secondment")
router.register("addresses", registry_api.AddressViewSet, basename="address")
router.register("houses", registry_api.HouseViewSet, basename="house")
router.register("households", registry_api.HouseholdViewSet, basename="household")
router.register("persons", registry_api.PersonViewSet, basename="person")
router.register("units", registry_api.UnitViewSet, basename="unit")
router.register("concerns", registry_api.PersonOfConcernViewSet, basename="concern")
router.register("visits", registry_api.VisitViewSet, basename="visit")
router.register("search", registry_api.SearchViewSet, basename="search")

api_patterns = [
    path("alarm-events", AlarmEventView.as_view(), name="alarm-events"),
    path("map/grids.geojson", GridLayerView.as_view(), name="map-grids"),
    path("map/police-rooms.geojson", PoliceRoomLayerView.as_view(), name="map-police-rooms"),
    path("map/tiles/houses/<int:z>/<int:x>/<int:y>.mvt", HouseTileView.as_view(), name="map-house-tile"),
    path("map/houses/summary/", HouseSummaryView.as_view(), name="map-house-summary"),
    path("map/houses.geojson", HouseGeoJSONView.as_view(), name="map-houses"),
    path("map/units.geojson", UnitLayerView.as_view(), name="map-units"),
    path("map/cameras.geojson", CameraLayerView.as_view(), name="map-cameras"),
    path("map/speakers.geojson", SpeakerLayerView.as_view(), name="map-speakers"),
    *router.urls,
]

urlpatterns = [
    path("", include("doorstep.core.urls")),
    # Browsers ask for /favicon.ico on pages that are not HTML (a PDF, an image): the same icon, no 404.
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("accounts/", include("doorstep.accounts.urls")),
    path("org/", include("doorstep.org.urls")),
    path("map/", include("doorstep.maps.urls")),
    path("alarms/", include("doorstep.alarms.urls")),
    path("video/", include("doorstep.video.urls")),
    path("duty/", include("doorstep.duty.urls")),
    path("desk/", include("doorstep.desk.urls")),
    path("mediation/", include("doorstep.mediation.urls")),
    path("patrol/", include("doorstep.patrol.urls")),
    path("evaluation/", include("doorstep.evaluation.urls")),
    path("portal/", include("doorstep.portal.urls")),
    path("online/", include("doorstep.portal.staff_urls")),
    path("registry/", include("doorstep.registry.urls")),
    path("m/", include("doorstep.mobile.urls")),
    path("audit/", include("doorstep.audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include((api_patterns, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = "doorstep.core.views.not_found"
