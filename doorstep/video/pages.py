"""Video management pages: cameras (with the detection-zone editor), speakers, camera groups, preset
warnings, motion events and broadcasts, and the JSON endpoints of the broadcast dialog.

Reads go through `selectors` (scoped by territory), writes through `services`. Roles without video at all get
a 404 on every page, as for objects outside the territory; a role that sees a camera but may not maintain
it gets a 403 when it tries. A camera's stream URL may hold its password: it is shown in full only in the
edit form to those who maintain it (that response is not cached), elsewhere without credentials.

JSON endpoints answer errors as {"detail": "…"} with 400/403/404/405 (the anonymous are sent to sign in).
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doorstep.core.errors import ServiceError
from doorstep.core.ids import id_param
from doorstep.core.requestdata import request_data
from doorstep.org.territory import Territory
from doorstep.registry.forms import style
from doorstep.video import access, realtime, selectors, services
from doorstep.video.choices import BroadcastSource, CameraStatus, DeliveryStatus, EventStatus
from doorstep.video.filtersets import (
    BroadcastFilterSet,
    CameraFilterSet,
    MotionEventFilterSet,
    SpeakerFilterSet,
)
from doorstep.video.forms import CameraForm, GroupForm, HandleEventForm, PresetForm, SpeakerForm
from doorstep.video.models import Speaker

PER_PAGE = 50
STATUS_BADGES = {
    CameraStatus.ONLINE: "bg-green-lt",
    CameraStatus.RECONNECTING: "bg-orange-lt",
    CameraStatus.OFFLINE: "bg-red-lt",
    CameraStatus.UNKNOWN: "bg-secondary-lt",
    CameraStatus.DISABLED: "bg-dark-lt",
}
EVENT_BADGES = {
    EventStatus.NEW: "bg-red-lt",
    EventStatus.CONFIRMED: "bg-orange-lt",
    EventStatus.DISMISSED: "bg-secondary-lt",
}
DELIVERY_BADGES = {
    DeliveryStatus.PENDING: "bg-secondary-lt",
    DeliveryStatus.SENDING: "bg-blue-lt",
    DeliveryStatus.DELIVERED: "bg-green-lt",
    DeliveryStatus.FAILED: "bg-red-lt",
}


# --- helpers -------------------------------------------------------------------------------------------------
def _posted(request):
    return request.POST if request.method == "POST" else None


def _require_viewer(user: Any) -> None:
    if not access.may_view(user):
        raise Http404


def _require_manager(user: Any) -> None:
    """Pages that create do not exist for roles that never maintain video (404)."""
    if not access.may_manage(user):
        raise Http404


def _require_manager_of(user: Any, station_id: int) -> None:
    if not access.may_manage(user, station_id):
        raise PermissionDenied(_("摄像机、音柱和分组须由本所所长或系统管理员维护"))


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, max-age=0"
    return response


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


TABS = (
    ("video:patrol", "device-cctv", gettext_lazy("巡查台")),
    ("video:tour_list", "route", gettext_lazy("巡查计划")),
    ("video:camera_list", "video", gettext_lazy("摄像机")),
    ("video:event_list", "alert-triangle", gettext_lazy("入侵事件")),
    ("video:broadcast_list", "speakerphone", gettext_lazy("广播记录")),
    ("video:speaker_list", "volume", gettext_lazy("广播音柱")),
    ("video:group_list", "folders", gettext_lazy("摄像机分组")),
    ("video:preset_list", "message-2", gettext_lazy("预设警示语")),
)
TAB_OF = {
    "camera": "video:camera_list",
    "event": "video:event_list",
    "broadcast": "video:broadcast_list",
    "delivery": "video:broadcast_list",
    "speaker": "video:speaker_list",
    "group": "video:group_list",
    "preset": "video:preset_list",
}


def tabs() -> list[tuple[str, str, str, str]]:
    """(url, icon, label, url name) of the video tabs."""
    return [(reverse(name), icon, str(label), name) for name, icon, label in TABS]


def _render(request, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    view = request.resolver_match.view_name if request.resolver_match else ""
    kind = view.removeprefix("video:").split("_")[0]
    context.setdefault("tabs", tabs())
    context.setdefault("active_tab", TAB_OF.get(kind, view))
    context.setdefault("can_broadcast", access.may_broadcast(request.user))
    return render(request, template, context, status=status)


def _page(request, qs):
    return Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))


def json_endpoint(view):
    """JSON errors instead of pages: 404 for what the user may not see, 403 for what they see but may not
    do, the service's status for a refusal. The anonymous are sent to sign in, as from every page."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return JsonResponse({"detail": _("对象不存在或不在您的辖区内")}, status=404)
        except PermissionDenied as exc:
            return JsonResponse({"detail": str(exc) or _("您没有这项操作的权限")}, status=403)
        except ServiceError as exc:
            return JsonResponse({"detail": str(exc), "code": exc.code}, status=exc.status)

    return wrapper


def _only(*methods: str):
    """405 with a JSON body (and the Allow header) for any other method."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = JsonResponse({"detail": _("不支持该请求方法")}, status=405)
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _request_data(request) -> dict[str, Any]:
    return request_data(request, lists=["speakers"])


def _id(value: Any, what: str) -> int | None:
    """An id from JSON (int) or a form (digits); None when absent; ServiceError when malformed."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ServiceError(_("%(what)s编号格式不正确") % {"what": what})
    if isinstance(value, int):
        if 0 < value < 2**63:
            return value
        raise ServiceError(_("%(what)s编号格式不正确") % {"what": what})
    pk = id_param(str(value))
    if pk is None:
        raise ServiceError(_("%(what)s编号格式不正确") % {"what": what})
    return pk


# --- cameras -------------------------------------------------------------------------------------------------
def _camera_for(request, pk: int):
    _require_viewer(request.user)
    return selectors.get_for(request.user, selectors.cameras_for(request.user), pk)


def _decorate_cameras(cameras):
    for camera in cameras:
        camera.badge = STATUS_BADGES.get(camera.status, "bg-secondary-lt")
        camera.public_url = services.public_stream_url(camera.stream_url)
    return cameras


@login_required
def camera_list(request):
    user = request.user
    _require_viewer(user)
    qs = selectors.with_recent_events(selectors.cameras_for(user)).order_by("station__code", "code")
    filterset = CameraFilterSet(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    page = _page(request, filterset.qs)
    page.object_list = _decorate_cameras(list(page.object_list))
    return _render(
        request,
        "video/camera_list.html",
        {"filter": filterset, "page": page, "can_manage": access.may_manage(user)},
    )


def _camera_form(request, user, camera=None):
    grids = selectors.managed_grids(user).order_by("community__station__code", "code")
    station_ids = grids.values("community__station_id")
    groups = selectors.groups_for(user).filter(station_id__in=station_ids).order_by("station__code", "name")
    speakers = (
        selectors.speakers_for(user).filter(station_id__in=station_ids).order_by("station__code", "code")
    )
    if camera is not None:  # only what suits the camera's station
        groups, speakers = (
            groups.filter(station_id=camera.station_id),
            speakers.filter(station_id=camera.station_id),
        )
    return CameraForm(_posted(request), grids=grids, groups=groups, speakers=speakers, camera=camera)


def _save_camera(request, form, camera=None):
    try:
        camera = services.save_camera(by=request.user, camera=camera, **form.service_arguments())
    except ServiceError as exc:
        form.add_service_error(exc)
        return None
    return camera


@login_required
def camera_new(request):
    user = request.user
    _require_manager(user)
    form = _camera_form(request, user)
    if request.method == "POST" and form.is_valid() and (camera := _save_camera(request, form)):
        messages.success(request, _("摄像机已登记；画好检测区域后即可开始检测"))
        return redirect("video:camera_detail", pk=camera.pk)
    return _private(_render(request, "video/camera_form.html", {"form": form, "title": _("登记摄像机")}))


@login_required
def camera_edit(request, pk: int):
    user = request.user
    camera = _camera_for(request, pk)
    _require_manager_of(user, camera.station_id)
    form = _camera_form(request, user, camera)
    if request.method == "POST" and form.is_valid() and _save_camera(request, form, camera):
        messages.success(request, _("摄像机信息已保存"))
        return redirect("video:camera_detail", pk=camera.pk)
    context = {"form": form, "title": _("修改摄像机"), "camera": camera}
    return _private(_render(request, "video/camera_form.html", context))


@login_required
def camera_detail(request, pk: int):
    user = request.user
    camera = _camera_for(request, pk)
    _decorate_cameras([camera])
    speakers = list(selectors.speakers_for(user).filter(cameras=camera).order_by("code"))
    events = list(camera.events.order_by("-detected_at", "-id")[:12])
    for event in events:
        event.badge = EVENT_BADGES.get(event.status, "")
    ratio = (
        (camera.snapshot_width, camera.snapshot_height)
        if camera.snapshot_width and camera.snapshot_height
        else (16, 9)
    )
    context = {
        "camera": camera,
        "alerts": list(camera.alerts.filter(cleared_at__isnull=True).order_by("-raised_at")),
        "events": events,
        "speakers": speakers,
        "speaker_ids": [s.pk for s in speakers if s.active],
        "zones": list(camera.zones.order_by("name").values("name", "points")),
        "ratio": ratio,
        "can_manage": access.may_manage(user, camera.station_id),
        "watch_url": reverse("video:camera_watch", args=[camera.pk]),
        "max_zones": services.MAX_ZONES,
    }
    return _render(request, "video/camera_detail.html", context)


@json_endpoint
@_only("POST")
def camera_zones(request, pk: int):
    """Replace the camera's detection zones: {"zones": [{"name": "东门", "points": [[x, y], …]}, …]}."""
    user = request.user
    camera = _camera_for(request, pk)
    _require_manager_of(user, camera.station_id)
    data = _request_data(request)
    zones = services.set_zones(camera, data.get("zones"), by=user)
    return JsonResponse({"zones": [{"name": z.name, "points": z.points} for z in zones]})


# --- speakers --------------------------------------------------------------------------------------------------
def _speaker_for(request, pk: int):
    _require_viewer(request.user)
    return selectors.get_for(request.user, selectors.speakers_for(request.user), pk)


@login_required
def speaker_list(request):
    user = request.user
    _require_viewer(user)
    qs = selectors.speakers_for(user).annotate(n_cameras=Count("cameras")).order_by("station__code", "code")
    filterset = SpeakerFilterSet(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    page = _page(request, filterset.qs)
    return _render(
        request,
        "video/speaker_list.html",
        {"filter": filterset, "page": page, "can_manage": access.may_manage(user)},
    )


def _speaker_form(request, user, speaker=None):
    grids = selectors.managed_grids(user).order_by("community__station__code", "code")
    if speaker is not None:
        grids = grids.filter(community__station_id=speaker.station_id) | grids.filter(pk=speaker.grid_id)
    return SpeakerForm(_posted(request), grids=grids, speaker=speaker)


def _save_speaker(request, form, speaker=None):
    try:
        return services.save_speaker(by=request.user, speaker=speaker, **form.cleaned_data)
    except ServiceError as exc:
        form.add_service_error(exc)
        return None


@login_required
def speaker_new(request):
    user = request.user
    _require_manager(user)
    form = _speaker_form(request, user)
    if request.method == "POST" and form.is_valid() and (speaker := _save_speaker(request, form)):
        messages.success(request, _("音柱已登记"))
        return redirect("video:speaker_detail", pk=speaker.pk)
    return _render(request, "video/speaker_form.html", {"form": form, "title": _("登记广播音柱")})


@login_required
def speaker_edit(request, pk: int):
    user = request.user
    speaker = _speaker_for(request, pk)
    _require_manager_of(user, speaker.station_id)
    form = _speaker_form(request, user, speaker)
    if request.method == "POST" and form.is_valid() and _save_speaker(request, form, speaker):
        messages.success(request, _("音柱信息已保存"))
        return redirect("video:speaker_detail", pk=speaker.pk)
    return _render(
        request, "video/speaker_form.html", {"form": form, "title": _("修改广播音柱"), "speaker": speaker}
    )


@login_required
def speaker_detail(request, pk: int):
    user = request.user
    speaker = _speaker_for(request, pk)
    deliveries = list(
        speaker.deliveries.select_related("broadcast", "broadcast__by").order_by("-created_at", "-id")[:30]
    )
    for d in deliveries:
        d.badge = DELIVERY_BADGES.get(d.status, "")
    context = {
        "speaker": speaker,
        "address": services.public_stream_url(speaker.address)
        if speaker.driver == "http"
        else speaker.address,
        "deliveries": deliveries,
        "cameras": selectors.cameras_for(user).filter(speakers=speaker).order_by("code"),
        "can_manage": access.may_manage(user, speaker.station_id),
    }
    return _render(request, "video/speaker_detail.html", context)


# --- camera groups ---------------------------------------------------------------------------------------------
@login_required
def group_list(request):
    user = request.user
    _require_viewer(user)
    cameras = selectors.cameras_for(user)
    groups = (
        selectors.groups_for(user)
        .annotate(n_cameras=Count("cameras", filter=Q(cameras__in=cameras)))
        .order_by("station__code", "name")
    )
    managed = set(selectors.managed_stations(user).values_list("pk", flat=True))
    page = _page(request, groups)
    page.object_list = list(page.object_list)
    for g in page.object_list:
        g.can_edit = g.station_id in managed
    return _render(request, "video/group_list.html", {"page": page, "can_manage": bool(managed)})


@login_required
def group_new(request):
    user = request.user
    _require_manager(user)
    form = GroupForm(_posted(request), stations=selectors.managed_stations(user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.save_group(by=user, station_id=data["station"].pk, name=data["name"], note=data["note"])
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("分组已创建"))
            return redirect("video:group_list")
    return _render(
        request,
        "video/simple_form.html",
        {"form": form, "title": _("新建摄像机分组"), "back": "video:group_list"},
    )


@login_required
def group_edit(request, pk: int):
    user = request.user
    _require_viewer(user)
    group = selectors.get_for(user, selectors.groups_for(user), pk)
    _require_manager_of(user, group.station_id)
    form = GroupForm(_posted(request), stations=selectors.managed_stations(user), group=group)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.save_group(
                by=user, station_id=group.station_id, name=data["name"], note=data["note"], group=group
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("分组已保存"))
            return redirect("video:group_list")
    context = {"form": form, "title": _("修改摄像机分组"), "back": "video:group_list", "subject": group}
    return _render(request, "video/simple_form.html", context)


# --- preset warnings -------------------------------------------------------------------------------------------
@login_required
def preset_list(request):
    user = request.user
    _require_viewer(user)
    presets = selectors.presets_for(user).order_by("position", "id")
    return _render(
        request, "video/preset_list.html", {"presets": presets, "can_manage": access.may_manage(user)}
    )


def _preset_page(request, preset=None):
    user = request.user
    _require_viewer(user)
    _require_manager(user)
    form = PresetForm(_posted(request), preset=preset)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_preset(by=user, preset=preset, **form.cleaned_data)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("警示语已保存"))
            return redirect("video:preset_list")
    title = _("修改预设警示语") if preset else _("新增预设警示语")
    context = {"form": form, "title": title, "back": "video:preset_list", "subject": preset}
    return _render(request, "video/simple_form.html", context)


@login_required
def preset_new(request):
    return _preset_page(request)


@login_required
def preset_edit(request, pk: int):
    _require_viewer(request.user)
    return _preset_page(request, selectors.get_for(request.user, selectors.presets_for(request.user), pk))


# --- motion events ---------------------------------------------------------------------------------------------
def _decorate_event(event):
    event.badge = EVENT_BADGES.get(event.status, "")
    event.area_pct = f"{event.area * 100:.1f}%"
    return event


def _event_for(request, pk: int):
    _require_viewer(request.user)
    return selectors.get_for(request.user, selectors.events_for(request.user), pk)


@login_required
def event_list(request):
    user = request.user
    _require_viewer(user)
    qs = selectors.events_for(user).order_by("-detected_at", "-id")
    filterset = MotionEventFilterSet(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    page = _page(request, filterset.qs)
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
    return _render(request, "video/event_list.html", context)


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
    return _render(request, "video/event_detail.html", context)


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


@login_required
@require_POST
def event_handle(request, pk: int):
    user = request.user
    wants_json = _wants_json(request)
    try:
        event = _event_for(request, pk)
    except Http404:
        if wants_json:
            return JsonResponse({"detail": _("事件不存在或不在您的辖区内")}, status=404)
        raise
    form = HandleEventForm(request.POST)
    if not form.is_valid():
        detail = "；".join(e for errors in form.errors.values() for e in errors)
        if wants_json:
            return JsonResponse({"detail": detail}, status=400)
        messages.error(request, detail)
        return redirect("video:event", pk=event.pk)
    try:
        event = services.handle_event(event, by=user, **form.cleaned_data)
    except ServiceError as exc:
        if wants_json:
            return JsonResponse({"detail": str(exc)}, status=exc.status)
        messages.error(request, str(exc))
    else:
        if wants_json:
            return JsonResponse(realtime.event_payload(event))
        messages.success(request, _("已标记为“%(status)s”") % {"status": event.get_status_display()})
    return redirect("video:event", pk=event.pk)


# --- broadcasts ------------------------------------------------------------------------------------------------
@json_endpoint
@_only("POST")
def broadcast_new(request):
    """Send a warning: text and/or preset, speakers and/or a zone, where it was sent from (source), the
    event and camera it answers, how often to play it. 201 with the broadcast and its pending deliveries."""
    user = request.user
    _require_viewer(user)
    data = _request_data(request)
    preset = None
    if (preset_id := _id(data.get("preset"), _("预设警示语"))) is not None:
        preset = selectors.get_for(user, selectors.presets_for(user, active_only=True), preset_id)
    raw = data.get("speakers") or []
    if not isinstance(raw, list):
        raw = [raw]
    ids = {_id(value, _("音柱")) for value in raw} - {None}
    speakers: list[Speaker] = []
    if ids:
        speakers = list(selectors.speakers_for(user).filter(pk__in=ids))
        if len(speakers) != len(ids):
            return JsonResponse({"detail": _("所选音柱不存在或不在您的辖区内")}, status=404)
    event = camera = None
    if (event_id := _id(data.get("event"), _("事件"))) is not None:
        event = selectors.get_for(user, selectors.events_for(user), event_id)
    if (camera_id := _id(data.get("camera"), _("摄像机"))) is not None:
        camera = selectors.get_for(user, selectors.cameras_for(user), camera_id)
    elif event is not None:
        camera = event.camera
    repeat = data.get("repeat")
    try:
        repeat = 2 if repeat in (None, "") else int(repeat)
    except (TypeError, ValueError):
        raise ServiceError(_("播放次数须在 1 到 5 之间")) from None
    text, zone, source = data.get("text"), data.get("zone"), data.get("source") or BroadcastSource.CONSOLE
    if not all(isinstance(v, str | None) for v in (text, zone, source)):
        raise ServiceError(_("请求字段格式不正确"))
    broadcast = services.send_broadcast(
        by=user,
        text=text or "",
        preset=preset,
        speakers=speakers,
        zone=zone or "",
        source=source,
        event=event,
        camera=camera,
        repeat=repeat,
    )
    return JsonResponse(realtime.broadcast_payload(broadcast), status=201)


@json_endpoint
@_only("GET")
def broadcast_options(request):
    """What the broadcast dialog offers: active presets, the speakers of the user's territory, their zones."""
    user = request.user
    _require_viewer(user)
    speakers = selectors.speakers_for(user).select_related("grid", "station").order_by("zone", "code")
    presets = selectors.presets_for(user, active_only=True).order_by("position", "id")
    return JsonResponse(
        {
            "may_broadcast": access.may_broadcast(user),
            "max_length": 200,
            "repeat": {"min": 1, "max": 5, "default": 2},
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
    _require_viewer(user)
    qs = selectors.with_delivery_counts(selectors.broadcasts_for(user)).order_by("-created_at", "-id")
    filterset = BroadcastFilterSet(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    page = _page(request, filterset.qs)
    return _render(request, "video/broadcast_list.html", {"filter": filterset, "page": page})


@login_required
def broadcast_detail(request, pk: int):
    user = request.user
    _require_viewer(user)
    try:
        broadcast = selectors.get_for(user, selectors.broadcasts_for(user), pk)
    except Http404:
        if _wants_json(request):
            return JsonResponse({"detail": _("广播记录不存在或不在您的辖区内")}, status=404)
        raise
    if _wants_json(request):  # the broadcast dialog's status, when the WebSocket is not available
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
    return _render(request, "video/broadcast_detail.html", context)


@login_required
@require_POST
def delivery_retry(request, pk: int):
    user = request.user
    wants_json = _wants_json(request)
    try:
        _require_viewer(user)
        delivery = selectors.get_for(user, selectors.deliveries_for(user), pk)
    except Http404:
        if wants_json:
            return JsonResponse({"detail": _("对象不存在或不在您的辖区内")}, status=404)
        raise
    try:
        services.retry_delivery(delivery, by=user)
    except ServiceError as exc:
        if wants_json:
            return JsonResponse({"detail": str(exc)}, status=exc.status)
        messages.error(request, str(exc))
    else:
        if wants_json:
            return JsonResponse(realtime.broadcast_payload(delivery.broadcast))
        messages.success(request, _("已重新发送到“%(name)s”") % {"name": delivery.speaker.name})
    return redirect("video:broadcast", pk=delivery.broadcast_id)


urlpatterns: list[URLPattern] = [
    path("cameras/", camera_list, name="camera_list"),
    path("cameras/new/", camera_new, name="camera_new"),
    path("cameras/<int:pk>/", camera_detail, name="camera_detail"),
    path("cameras/<int:pk>/edit/", camera_edit, name="camera_edit"),
    path("cameras/<int:pk>/zones/", camera_zones, name="camera_zones"),
    path("speakers/", speaker_list, name="speaker_list"),
    path("speakers/new/", speaker_new, name="speaker_new"),
    path("speakers/<int:pk>/", speaker_detail, name="speaker_detail"),
    path("speakers/<int:pk>/edit/", speaker_edit, name="speaker_edit"),
    path("groups/", group_list, name="group_list"),
    path("groups/new/", group_new, name="group_new"),
    path("groups/<int:pk>/edit/", group_edit, name="group_edit"),
    path("presets/", preset_list, name="preset_list"),
    path("presets/new/", preset_new, name="preset_new"),
    path("presets/<int:pk>/edit/", preset_edit, name="preset_edit"),
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
