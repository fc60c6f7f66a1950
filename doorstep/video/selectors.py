"""Scoped reads of video patrol and broadcast warning (rule 2): everything a page, the map or the broadcast
dialog shows comes from here, filtered by `Territory.for_user(user)`. Roles without video at all
(`access.may_view` false: patrol teams, evaluators, mediators) get nothing, as if there were nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from doorstep.accounts.choices import Role
from doorstep.org.models import Grid, Station
from doorstep.org.territory import Territory
from doorstep.video import access
from doorstep.video.choices import DeliveryStatus, EventStatus
from doorstep.video.models import (
    Broadcast,
    BroadcastDelivery,
    Camera,
    CameraAlert,
    CameraGroup,
    MotionEvent,
    Speaker,
    WarningPreset,
)

RECENT_EVENTS = dt.timedelta(hours=24)  # what the map and the camera list count as "recent" motion


def _scoped(user: Any, qs: QuerySet[Any]) -> QuerySet[Any]:
    if not access.may_view(user):
        return qs.none()
    return Territory.for_user(user).filter(qs)


def cameras_for(user: Any) -> QuerySet[Camera]:
    return _scoped(user, Camera.objects.select_related("grid", "station", "group"))


def speakers_for(user: Any) -> QuerySet[Speaker]:
    return _scoped(user, Speaker.objects.select_related("grid", "station"))


def groups_for(user: Any) -> QuerySet[CameraGroup]:
    return _scoped(user, CameraGroup.objects.select_related("station"))


def events_for(user: Any) -> QuerySet[MotionEvent]:
    return _scoped(user, MotionEvent.objects.select_related("camera", "station", "grid", "handled_by"))


def alerts_for(user: Any) -> QuerySet[CameraAlert]:
    return _scoped(user, CameraAlert.objects.select_related("camera"))


def broadcasts_for(user: Any) -> QuerySet[Broadcast]:
    return _scoped(user, Broadcast.objects.select_related("by", "station", "preset", "event", "camera"))


def deliveries_for(user: Any) -> QuerySet[BroadcastDelivery]:
    """Deliveries of the broadcasts the user may see (a broadcast belongs to a station)."""
    if not access.may_view(user):
        return BroadcastDelivery.objects.none()
    qs = BroadcastDelivery.objects.select_related("broadcast", "speaker")
    territory = Territory.for_user(user)
    return qs if territory.whole else qs.filter(broadcast__station_id__in=territory.station_ids)


def presets_for(user: Any, *, active_only: bool = False) -> QuerySet[WarningPreset]:
    """Preset warnings are the sub-bureau's, not a station's: every video user reads them."""
    if not access.may_view(user):
        return WarningPreset.objects.none()
    qs = WarningPreset.objects.all()
    return qs.filter(active=True) if active_only else qs


def get_for(user: Any, qs: QuerySet[Any], pk: Any) -> Any:
    """One object of an already scoped queryset, or 404 (never 403: outsiders learn nothing)."""
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc


# --- what managers may choose from -------------------------------------------------------------------------
def managed_stations(user: Any) -> QuerySet[Station]:
    """The stations whose cameras, speakers and groups the user may maintain (`access.may_manage`)."""
    if not access.may_manage(user):
        return Station.objects.none()
    stations = Territory.for_user(user).stations().order_by("code")
    if user.is_superuser or user.role == Role.ADMIN:  # administrators: every station of their territory
        return stations
    return stations.filter(pk=user.station_id)


def managed_grids(user: Any) -> QuerySet[Grid]:
    return Grid.objects.select_related("community", "community__station").filter(
        community__station__in=managed_stations(user)
    )


# --- figures beside the rows -----------------------------------------------------------------------------
def with_recent_events(qs: QuerySet[Camera], now: dt.datetime | None = None) -> QuerySet[Camera]:
    """Cameras annotated with `recent_events`: their unhandled motion events of the last 24 hours."""
    since = (now or timezone.now()) - RECENT_EVENTS
    return qs.annotate(
        recent_events=Count(
            "events", filter=Q(events__status=EventStatus.NEW, events__detected_at__gte=since), distinct=True
        ),
        open_alerts=Count("alerts", filter=Q(alerts__cleared_at__isnull=True), distinct=True),
    )


def with_delivery_counts(qs: QuerySet[Broadcast]) -> QuerySet[Broadcast]:
    """Broadcasts annotated with how many of their deliveries are delivered, failed and still pending
    (pending or being sent)."""
    return qs.annotate(
        n_speakers=Count("deliveries"),
        n_delivered=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DELIVERED)),
        n_failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        n_pending=Count(
            "deliveries", filter=Q(deliveries__status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING])
        ),
    )


def zones_of(speakers: QuerySet[Speaker]) -> list[str]:
    """The distinct broadcast zones (广播分区) of these speakers, sorted."""
    return sorted(set(speakers.exclude(zone="").values_list("zone", flat=True).order_by()))
