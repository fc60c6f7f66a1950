"""Publishing to the video WebSocket (consumers.py) and waking the broadcast sender. Call only from
transaction.on_commit (rule 3); each function reads what it publishes from the committed rows."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import reverse
from django.utils import timezone

log = logging.getLogger("doorstep.video")

SENDER_GROUP = "video.sender"


def _send(group: str, kind: str, payload: dict[str, Any]) -> None:
    async_to_sync(get_channel_layer().group_send)(group, {"type": kind, "payload": payload})


def _after_commit(fn):
    """A publisher runs after the commit: what it fails to tell (the channel layer is away) is on the
    pages at their next load, and the write that was committed is not reported as failed."""

    def publish(*args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("实时推送失败：%s", fn.__name__)

    publish.__name__ = fn.__name__
    publish.__doc__ = fn.__doc__
    return publish


def _iso(value) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def event_payload(event) -> dict[str, Any]:
    camera = event.camera
    return {
        "id": event.pk,
        "grid": event.grid_id,
        "station": event.station_id,
        "camera": {"id": camera.pk, "name": camera.name, "location": camera.location, "code": camera.code},
        "lng": camera.lng,
        "lat": camera.lat,
        "zone": event.zone,
        "started_at": _iso(event.started_at),
        "detected_at": _iso(event.detected_at),
        "area": event.area,
        "bbox": event.bbox,
        "status": event.status,
        "status_label": str(event.get_status_display()),
        "snapshot": reverse("video:event_snapshot", args=[event.pk]) if event.snapshot else None,
        "url": reverse("video:event", args=[event.pk]),
        "speakers": list(camera.speakers.filter(active=True).values_list("pk", flat=True)),
    }


def camera_payload(camera) -> dict[str, Any]:
    return {
        "id": camera.pk,
        "grid": camera.grid_id,
        "station": camera.station_id,
        "name": camera.name,
        "status": camera.status,
        "status_label": str(camera.get_status_display()),
        "detail": camera.status_detail,
        "last_frame_at": _iso(camera.last_frame_at),
    }


def broadcast_payload(broadcast) -> dict[str, Any]:
    return {
        "id": broadcast.pk,
        "station": broadcast.station_id,
        "text": broadcast.text,
        "by": str(broadcast.by),
        "created_at": _iso(broadcast.created_at),
        "url": reverse("video:broadcast", args=[broadcast.pk]),
        "deliveries": [
            {
                "id": d.pk,
                "speaker": d.speaker_id,
                "speaker_name": d.speaker.name,
                "status": d.status,
                "status_label": str(d.get_status_display()),
                "attempts": d.attempts,
                "detail": d.detail,
            }
            for d in broadcast.deliveries.select_related("speaker").order_by("speaker__code")
        ],
    }


def run_payload(run) -> dict[str, Any]:
    return {
        "id": run.pk,
        "station": run.station_id,
        "tour": run.tour.name,
        "due_at": _iso(run.due_at),
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "late": run.late,
        "by": str(run.by) if run.by_id else "",
        "findings": run.findings.count(),
        "stops": run.tour.stops.count(),
    }


def _station_group(station_id: int) -> str:
    from doorstep.video.consumers import station_group

    return station_group(station_id)


@_after_commit
def publish_event(event_id: int) -> None:
    from doorstep.video.models import MotionEvent

    event = MotionEvent.objects.select_related("camera").filter(pk=event_id).first()
    if event is not None:
        _send(_station_group(event.station_id), "video.event", event_payload(event))


@_after_commit
def publish_camera(camera_id: int) -> None:
    from doorstep.video.models import Camera

    camera = Camera.objects.filter(pk=camera_id).first()
    if camera is not None:
        _send(_station_group(camera.station_id), "video.camera", camera_payload(camera))


@_after_commit
def publish_alert(alert_id: int) -> None:
    from doorstep.video.models import CameraAlert

    alert = CameraAlert.objects.select_related("camera").filter(pk=alert_id).first()
    if alert is not None:
        payload = camera_payload(alert.camera)
        payload["alert"] = {"id": alert.pk, "detail": alert.detail, "raised_at": _iso(alert.raised_at)}
        _send(_station_group(alert.station_id), "video.camera", payload)


@_after_commit
def publish_broadcast(broadcast_id: int) -> None:
    from doorstep.video.models import Broadcast

    broadcast = Broadcast.objects.select_related("by").filter(pk=broadcast_id).first()
    if broadcast is not None:
        _send(_station_group(broadcast.station_id), "video.broadcast", broadcast_payload(broadcast))


@_after_commit
def publish_run(run_id: int) -> None:
    from doorstep.video.models import TourRun

    run = TourRun.objects.select_related("tour", "by").filter(pk=run_id).first()
    if run is not None:
        _send(_station_group(run.station_id), "video.run", run_payload(run))


def wake_sender() -> None:
    """Tell the broadcast sender(s) that deliveries are due now. Best effort: they look every second
    anyway, so a channel layer that is away delays a broadcast by a second instead of failing it."""
    try:
        async_to_sync(get_channel_layer().group_send)(SENDER_GROUP, {"type": "video.wake"})
    except Exception:
        log.warning("无法唤醒广播发送（每秒轮询仍会发送）", exc_info=True)
