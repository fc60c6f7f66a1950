"""Video pages of what happens: motion events (入侵事件) with their pictures and handling, and broadcast
warnings (广播喊话) — the log, one broadcast's deliveries, a failed delivery sent again, and the JSON endpoints
of the broadcast dialog (broadcast.js).

Reads go through `selectors` (scoped by territory), writes through `services`; the tabs, guards and JSON
errors are those of `pages`. The handling and retry actions answer JSON to a script (Accept: application/json)
and redirect back with a message to a form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.core.errors import ServiceError
from doorstep.core.forms import form_errors_text
from doorstep.core.ids import ascii_digits
from doorstep.core.requestdata import request_data
from doorstep.org.territory import Territory
from doorstep.video import access, realtime, selectors, services
from doorstep.video.choices import BroadcastSource, EventStatus
from doorstep.video.filtersets import BroadcastFilterSet, MotionEventFilterSet
from doorstep.video.forms import HandleEventForm
from doorstep.video.models import Speaker
from doorstep.video.pages import (
    DELIVERY_BADGES,
    EVENT_BADGES,
    filtered,
    json_endpoint,
    only,
    posted_id,
    posted_text,
    render_page,
    require_viewer,
    wants_json,
)

MAX_TEXT = 200  # characters of a warning (the service refuses more)
REPEAT = {"min": 1, "max": 5, "default": 2}  # how often a speaker plays a warning (the service checks it)


# --- motion events ---------------------------------------------------------------------------------------------
def _decorate_event(event):
    event.badge = EVENT_BADGES.get(event.status, "")
    event.area_pct = f"{event.area * 100:.1f}%"
    return event


def _event_for(request, pk: int):
    require_viewer(request.user)
    return selectors.get_for(request.user, selectors.events_for(request.user), pk)


@login_required
def event_list(request):
    user = request.user
    require_viewer(user)
    qs = selectors.events_for(user).order_by("-detected_at", "-id")
    filterset, page = filtered(request, MotionEventFilterSet, qs)
    page.object_list = [_decorate_event(e) for e in page.object_list]
    valid = (
        filterset.form.cleaned_data if filterset.is_bound and hasattr(filterset.form, "cleaned_data") else {}
    )
    live = {  # what a pushed event must match to be prepended (page 1 only)
        "camera": valid["camera"].pk if valid.get("camera") else "",
        "station": valid["station"].pk if valid.get("station") else "",
        "status": valid.get("status") or "",
        "end": valid["end"].isoformat() if valid.get("end") else "",
    }
    context = {"filter": filterset, "page": page, "live": live, "badges": EVENT_BADGES}
    return render_page(request, "video/event_list.html", context)


@login_required
def event_detail(request, pk: int):
    user = request.user
    event = _decorate_event(_event_for(request, pk))
    speakers = list(
        selectors.speakers_for(user).filter(cameras=event.camera_id, active=True).order_by("code")
    )
    bbox = None
    if isinstance(event.bbox, list) and len(event.bbox) == 4:
        bbox = [round(min(max(float(v), 0.0), 1.0) * 100, 2) for v in event.bbox]
    context = {
        "event": event,
        "bbox": bbox,
        "speaker_ids": [s.pk for s in speakers],
        "speakers": speakers,
        "can_handle": access.may_patrol(user) and access.covers_grid(user, event.grid_id),
        "form": HandleEventForm(initial={"status": EventStatus.CONFIRMED, "note": event.note}),
        "broadcasts": selectors.with_delivery_counts(
            selectors.broadcasts_for(user).filter(event=event)
        ).order_by("-created_at"),
        "watch_url": reverse("video:camera_watch", args=[event.camera_id]),
    }
    return render_page(request, "video/event_detail.html", context)


@login_required
def event_snapshot(request, pk: int):
    """The event's picture, only to those who may see the event; never kept by a browser or proxy."""
    event = _event_for(request, pk)
    if not event.snapshot:
        raise Http404
    try:
        handle = default_storage.open(event.snapshot.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


def _refused(request, detail: str, status: int, back: str):
    """A refusal: {"detail"} for a script, a message on the page it came from for a form."""
    if wants_json(request):
        return JsonResponse({"detail": detail}, status=status)
    messages.error(request, detail)
    return redirect(back)


@login_required
@require_POST
def event_handle(request, pk: int):
    """确认异常 / 误报, from the event's page (a form) or the patrol console (a script)."""
    try:
        event = _event_for(request, pk)
    except Http404:
        if wants_json(request):
            return JsonResponse({"detail": _("事件不存在或不在您的辖区内")}, status=404)
        raise
    back = reverse("video:event", args=[event.pk])
    form = HandleEventForm(request.POST)
    if not form.is_valid():
        return _refused(request, form_errors_text(form), 400, back)
    try:
        event = services.handle_event(event, by=request.user, **form.cleaned_data)
    except ServiceError as exc:
        return _refused(request, str(exc), exc.status, back)
    if wants_json(request):
        return JsonResponse(realtime.event_payload(event))
    messages.success(request, _("已标记为“%(status)s”") % {"status": event.get_status_display()})
    return redirect(back)


# --- broadcasts ------------------------------------------------------------------------------------------------
def _repeat(value: Any) -> int:
    """How often to play: an integer (JSON) or digits (a form); absent is the default."""
    if value is None or value == "":
        return REPEAT["default"]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and ascii_digits(value.strip()) and len(value.strip()) <= 3:
        return int(value)
    raise ServiceError(_("播放次数须在 1 到 5 之间"))


@json_endpoint
@only("POST")
def broadcast_new(request):
    """Send a warning: text and/or preset, speakers and/or a zone, where it was sent from (source), the
    event and camera it answers, how often to play it. 201 with the broadcast and its pending deliveries."""
    user = request.user
    require_viewer(user)
    data = request_data(request, lists=["speakers"])
    preset = None
    if (preset_id := posted_id(data.get("preset"), _("预设警示语"))) is not None:
        preset = selectors.get_for(user, selectors.presets_for(user, active_only=True), preset_id)
    raw = data.get("speakers") or []
    if not isinstance(raw, list):
        raw = [raw]
    ids = {posted_id(value, _("音柱")) for value in raw} - {None}
    speakers: list[Speaker] = []
    if ids:
        speakers = list(selectors.speakers_for(user).filter(pk__in=ids))
        if len(speakers) != len(ids):
            return JsonResponse({"detail": _("所选音柱不存在或不在您的辖区内")}, status=404)
    event = camera = None
    if (event_id := posted_id(data.get("event"), _("事件"))) is not None:
        event = selectors.get_for(user, selectors.events_for(user), event_id)
    if (camera_id := posted_id(data.get("camera"), _("摄像机"))) is not None:
        camera = selectors.get_for(user, selectors.cameras_for(user), camera_id)
    elif event is not None:
        camera = event.camera
    broadcast = services.send_broadcast(
        by=user,
        text=posted_text(data.get("text")),
        preset=preset,
        speakers=speakers,
        zone=posted_text(data.get("zone")),
        source=posted_text(data.get("source")) or BroadcastSource.CONSOLE,
        event=event,
        camera=camera,
        repeat=_repeat(data.get("repeat")),
    )
    return JsonResponse(realtime.broadcast_payload(broadcast), status=201)


@json_endpoint
@only("GET")
def broadcast_options(request):
    """What the broadcast dialog offers: active presets, the speakers of the user's territory, their zones."""
    user = request.user
    require_viewer(user)
    speakers = selectors.speakers_for(user).select_related("grid", "station").order_by("zone", "code")
    presets = selectors.presets_for(user, active_only=True).order_by("position", "id")
    return JsonResponse(
        {
            "may_broadcast": access.may_broadcast(user),
            "max_length": MAX_TEXT,
            "repeat": REPEAT,
            "presets": [{"id": p.pk, "title": p.title, "text": p.text} for p in presets],
            "speakers": [
                {
                    "id": s.pk,
                    "code": s.code,
                    "name": s.name,
                    "location": s.location,
                    "zone": s.zone,
                    "grid": s.grid_id,
                    "grid_name": s.grid.name,
                    "station": s.station_id,
                    "station_name": s.station.name,
                    "active": s.active,
                }
                for s in speakers
            ],
            "zones": selectors.zones_of(speakers.filter(active=True)),
        }
    )


@login_required
def broadcast_list(request):
    user = request.user
    require_viewer(user)
    qs = selectors.with_delivery_counts(selectors.broadcasts_for(user)).order_by("-created_at", "-id")
    filterset, page = filtered(request, BroadcastFilterSet, qs)
    return render_page(request, "video/broadcast_list.html", {"filter": filterset, "page": page})


@login_required
def broadcast_detail(request, pk: int):
    user = request.user
    require_viewer(user)
    try:
        broadcast = selectors.get_for(user, selectors.broadcasts_for(user), pk)
    except Http404:
        if wants_json(request):
            return JsonResponse({"detail": _("广播记录不存在或不在您的辖区内")}, status=404)
        raise
    if wants_json(request):  # the broadcast dialog's status, when the WebSocket is not available
        return JsonResponse(realtime.broadcast_payload(broadcast))
    deliveries = list(broadcast.deliveries.select_related("speaker").order_by("speaker__code"))
    for d in deliveries:
        d.badge = DELIVERY_BADGES.get(d.status, "")
    may_retry = access.may_broadcast(user) and Territory.for_user(user).covers_station(broadcast.station_id)
    context = {
        "broadcast": broadcast,
        "deliveries": deliveries,
        "may_retry": may_retry,
        "badges": DELIVERY_BADGES,
    }
    return render_page(request, "video/broadcast_detail.html", context)


@login_required
@require_POST
def delivery_retry(request, pk: int):
    user = request.user
    try:
        require_viewer(user)
        delivery = selectors.get_for(user, selectors.deliveries_for(user), pk)
    except Http404:
        if wants_json(request):
            return JsonResponse({"detail": _("对象不存在或不在您的辖区内")}, status=404)
        raise
    back = reverse("video:broadcast", args=[delivery.broadcast_id])
    try:
        services.retry_delivery(delivery, by=user)
    except ServiceError as exc:
        return _refused(request, str(exc), exc.status, back)
    if wants_json(request):
        return JsonResponse(realtime.broadcast_payload(delivery.broadcast))
    messages.success(request, _("已重新发送到“%(name)s”") % {"name": delivery.speaker.name})
    return redirect(back)


urlpatterns: list[URLPattern] = [
    path("events/", event_list, name="event_list"),
    path("events/<int:pk>/", event_detail, name="event"),
    path("events/<int:pk>/snapshot.jpg", event_snapshot, name="event_snapshot"),
    path("events/<int:pk>/handle/", event_handle, name="event_handle"),
    path("broadcasts/", broadcast_list, name="broadcast_list"),
    path("broadcasts/new/", broadcast_new, name="broadcast_new"),
    path("broadcasts/<int:pk>/", broadcast_detail, name="broadcast"),
    path("deliveries/<int:pk>/retry/", delivery_retry, name="delivery_retry"),
    path("broadcast-options.json", broadcast_options, name="broadcast_options"),
]
