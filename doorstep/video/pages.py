"""Video management pages: cameras (with the detection-zone editor), speakers, camera groups and preset
warnings; and what every video page shares (the tabs, the guards, the JSON errors), which `event_pages`
(motion events, broadcasts) and `patrol` (tours, runs, the console) use too.

Reads go through `selectors` (scoped by territory), writes through `services`. Roles without video at all get
a 404 on every page, as for objects outside the territory; a role that sees a camera but may not maintain
it gets a 403 when it tries. A camera's stream URL may hold its password: it is shown in full only in the
edit form to those who maintain it (that response is not cached), elsewhere without credentials.

JSON endpoints answer errors as {"detail": "…"} with 400/403/404/405 (the anonymous are sent to sign in).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doorstep.core.errors import ServiceError
from doorstep.core.forms import style
from doorstep.core.ids import id_param
from doorstep.core.requestdata import request_data
from doorstep.video import access, selectors, services
from doorstep.video.choices import CameraStatus, DeliveryStatus, EventStatus
from doorstep.video.filtersets import CameraFilterSet, SpeakerFilterSet
from doorstep.video.forms import CameraForm, GroupForm, PresetForm, SpeakerForm
from doorstep.video.live import private

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


# --- what every video page shares ------------------------------------------------------------------------------
def require_viewer(user: Any) -> None:
    if not access.may_view(user):
        raise Http404


def _require_manager(user: Any) -> None:
    """Pages that create do not exist for roles that never maintain video (404)."""
    if not access.may_manage(user):
        raise Http404


def _require_manager_of(user: Any, station_id: int) -> None:
    if not access.may_manage(user, station_id):
        raise PermissionDenied(_("摄像机、音柱和分组须由本所所长或系统管理员维护"))


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# (url name, icon, label, who may open it): one row of tabs on every video page.
TABS = (
    ("video:patrol", "device-cctv", gettext_lazy("巡查台"), access.may_patrol),
    ("video:tour_list", "route", gettext_lazy("巡查计划"), access.may_view),
    ("video:run_list", "list-check", gettext_lazy("巡查记录"), access.may_view),
    ("video:camera_list", "video", gettext_lazy("摄像机"), access.may_view),
    ("video:event_list", "alert-triangle", gettext_lazy("入侵事件"), access.may_view),
    ("video:broadcast_list", "speakerphone", gettext_lazy("广播记录"), access.may_view),
    ("video:speaker_list", "volume", gettext_lazy("广播音柱"), access.may_view),
    ("video:group_list", "folders", gettext_lazy("摄像机分组"), access.may_view),
    ("video:preset_list", "message-2", gettext_lazy("预设警示语"), access.may_view),
)
# The tab of a page, by the first word of its URL name (video:camera_edit → camera).
TAB_OF = {
    "patrol": "video:patrol",
    "tour": "video:tour_list",
    "run": "video:run_list",
    "camera": "video:camera_list",
    "event": "video:event_list",
    "broadcast": "video:broadcast_list",
    "delivery": "video:broadcast_list",
    "speaker": "video:speaker_list",
    "group": "video:group_list",
    "preset": "video:preset_list",
}


def tabs(user: Any) -> list[tuple[str, str, str, str]]:
    """(url, icon, label, url name) of the video tabs this user may open."""
    return [(reverse(name), icon, str(label), name) for name, icon, label, may in TABS if may(user)]


def render_page(request, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    """A video page with its tabs and whether the user may broadcast (the pages' 广播喊话 buttons)."""
    view = request.resolver_match.view_name if request.resolver_match else ""
    kind = view.removeprefix("video:").split("_")[0]
    context.setdefault("tabs", tabs(request.user))
    context.setdefault("active_tab", TAB_OF.get(kind, view))
    context.setdefault("can_broadcast", access.may_broadcast(request.user))
    return render(request, template, context, status=status)


def paginate(request, qs):
    return Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))


def filtered(request, filterset_class, qs):
    """A list page's FilterSet (over `qs`, choices scoped to the user) and the page of rows it leaves."""
    filterset = filterset_class(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    return filterset, paginate(request, filterset.qs)


def saved(request, form, save: Callable[[], Any]) -> Any | None:
    """A POST of a valid form handed to its service: what `save` returns, or None when the service refused
    (its reason then shows on the form). None for a GET and for a form with errors."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save()
    except ServiceError as exc:
        form.add_service_error(exc)
        return None


def _form_page(request, form, save, *, done: str, then: Callable[[Any], str], template: str, context=None):
    """The new/edit pages: the form again until the service has saved, then a message and the next page."""
    if (obj := saved(request, form, save)) is not None:
        messages.success(request, done)
        return redirect(then(obj))
    return render_page(request, template, {"form": form, **(context or {})})


def json_endpoint(view):
    """JSON errors instead of pages: 404 for what the user may not see, 403 for what they see but may not
    do, the service's status for a refusal. The anonymous are sent to sign in, as from every page."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except Http404 as exc:
            return JsonResponse({"detail": str(exc) or _("对象不存在或不在您的辖区内")}, status=404)
        except PermissionDenied as exc:
            return JsonResponse({"detail": str(exc) or _("您没有这项操作的权限")}, status=403)
        except ServiceError as exc:
            return JsonResponse({"detail": str(exc), "code": exc.code}, status=exc.status)

    return wrapper


def only(*methods: str):
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


def posted_id(value: Any, what: str) -> int | None:
    """An id from JSON (int) or a form (digits); None when absent; ServiceError when malformed."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    pk = id_param(value) if isinstance(value, str) else None
    if pk is None:
        raise ServiceError(_("%(what)s编号格式不正确") % {"what": what})
    return pk


def posted_text(value: Any) -> str:
    """A text field of a JSON body or a form: a string (or nothing); any other JSON type is refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ServiceError(_("请求字段格式不正确"))
    return value


# --- cameras -------------------------------------------------------------------------------------------------
def camera_for(request, pk: int):
    require_viewer(request.user)
    return selectors.get_for(request.user, selectors.cameras_for(request.user), pk)


def _decorate_cameras(cameras):
    for camera in cameras:
        camera.badge = STATUS_BADGES.get(camera.status, "bg-secondary-lt")
        camera.public_url = services.public_stream_url(camera.stream_url)
    return cameras


@login_required
def camera_list(request):
    user = request.user
    require_viewer(user)
    qs = selectors.with_recent_events(selectors.cameras_for(user)).order_by("station__code", "code")
    filterset, page = filtered(request, CameraFilterSet, qs)
    page.object_list = _decorate_cameras(list(page.object_list))
    return render_page(
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
    posted = request.POST if request.method == "POST" else None
    return CameraForm(posted, grids=grids, groups=groups, speakers=speakers, camera=camera)


def _camera_form_page(request, camera=None):
    """登记 / 修改摄像机 (never cached: the form shows the stream URL with its password)."""
    user = request.user
    form = _camera_form(request, user, camera)
    return private(
        _form_page(
            request,
            form,
            lambda: services.save_camera(by=user, camera=camera, **form.service_arguments()),
            done=_("摄像机信息已保存") if camera else _("摄像机已登记；画好检测区域后即可开始检测"),
            then=lambda saved_camera: reverse("video:camera_detail", args=[saved_camera.pk]),
            template="video/camera_form.html",
            context={"title": _("修改摄像机") if camera else _("登记摄像机"), "camera": camera},
        )
    )


@login_required
def camera_new(request):
    _require_manager(request.user)
    return _camera_form_page(request)


@login_required
def camera_edit(request, pk: int):
    camera = camera_for(request, pk)
    _require_manager_of(request.user, camera.station_id)
    return _camera_form_page(request, camera)


@login_required
def camera_detail(request, pk: int):
    user = request.user
    camera = camera_for(request, pk)
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
    return render_page(request, "video/camera_detail.html", context)


@json_endpoint
@only("POST")
def camera_zones(request, pk: int):
    """Replace the camera's detection zones: {"zones": [{"name": "东门", "points": [[x, y], …]}, …]}."""
    user = request.user
    camera = camera_for(request, pk)
    _require_manager_of(user, camera.station_id)
    data = request_data(request)
    zones = services.set_zones(camera, data.get("zones"), by=user)
    return JsonResponse({"zones": [{"name": z.name, "points": z.points} for z in zones]})


# --- speakers --------------------------------------------------------------------------------------------------
def _speaker_for(request, pk: int):
    require_viewer(request.user)
    return selectors.get_for(request.user, selectors.speakers_for(request.user), pk)


@login_required
def speaker_list(request):
    user = request.user
    require_viewer(user)
    qs = selectors.speakers_for(user).annotate(n_cameras=Count("cameras")).order_by("station__code", "code")
    filterset, page = filtered(request, SpeakerFilterSet, qs)
    return render_page(
        request,
        "video/speaker_list.html",
        {"filter": filterset, "page": page, "can_manage": access.may_manage(user)},
    )


def _speaker_form_page(request, speaker=None):
    """登记 / 修改广播音柱 (never cached: an HTTP speaker's address may hold a password, as a stream URL)."""
    user = request.user
    grids = selectors.managed_grids(user).order_by("community__station__code", "code")
    if speaker is not None:
        grids = grids.filter(community__station_id=speaker.station_id) | grids.filter(pk=speaker.grid_id)
    form = SpeakerForm(request.POST if request.method == "POST" else None, grids=grids, speaker=speaker)
    return private(
        _form_page(
            request,
            form,
            lambda: services.save_speaker(by=user, speaker=speaker, **form.cleaned_data),
            done=_("音柱信息已保存") if speaker else _("音柱已登记"),
            then=lambda saved_speaker: reverse("video:speaker_detail", args=[saved_speaker.pk]),
            template="video/simple_form.html",
            context={
                "title": _("修改广播音柱") if speaker else _("登记广播音柱"),
                "subject": f"{speaker.code} · {speaker.station.name}" if speaker else "",
                "back": reverse("video:speaker_detail", args=[speaker.pk])
                if speaker
                else reverse("video:speaker_list"),
                "width": "col-lg-10",
            },
        )
    )


@login_required
def speaker_new(request):
    _require_manager(request.user)
    return _speaker_form_page(request)


@login_required
def speaker_edit(request, pk: int):
    speaker = _speaker_for(request, pk)
    _require_manager_of(request.user, speaker.station_id)
    return _speaker_form_page(request, speaker)


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
    return render_page(request, "video/speaker_detail.html", context)


# --- camera groups ---------------------------------------------------------------------------------------------
@login_required
def group_list(request):
    user = request.user
    require_viewer(user)
    cameras = selectors.cameras_for(user)
    groups = (
        selectors.groups_for(user)
        .annotate(n_cameras=Count("cameras", filter=Q(cameras__in=cameras)))
        .order_by("station__code", "name")
    )
    managed = set(selectors.managed_stations(user).values_list("pk", flat=True))
    page = paginate(request, groups)
    page.object_list = list(page.object_list)
    for g in page.object_list:
        g.can_edit = g.station_id in managed
    return render_page(request, "video/group_list.html", {"page": page, "can_manage": bool(managed)})


def _group_form_page(request, group=None):
    """新建 / 修改摄像机分组 (a group stays with its station)."""
    user = request.user
    form = GroupForm(
        request.POST if request.method == "POST" else None,
        stations=selectors.managed_stations(user),
        group=group,
    )

    def save():
        data = form.cleaned_data
        station_id = group.station_id if group else data["station"].pk
        return services.save_group(
            by=user, station_id=station_id, name=data["name"], note=data["note"], group=group
        )

    return _form_page(
        request,
        form,
        save,
        done=_("分组已保存") if group else _("分组已创建"),
        then=lambda _group: reverse("video:group_list"),
        template="video/simple_form.html",
        context={
            "title": _("修改摄像机分组") if group else _("新建摄像机分组"),
            "back": reverse("video:group_list"),
            "subject": group,
            "field_col": "col-12",
        },
    )


@login_required
def group_new(request):
    _require_manager(request.user)
    return _group_form_page(request)


@login_required
def group_edit(request, pk: int):
    user = request.user
    require_viewer(user)
    group = selectors.get_for(user, selectors.groups_for(user), pk)
    _require_manager_of(user, group.station_id)
    return _group_form_page(request, group)


# --- preset warnings -------------------------------------------------------------------------------------------
@login_required
def preset_list(request):
    user = request.user
    require_viewer(user)
    presets = selectors.presets_for(user).order_by("position", "id")
    return render_page(
        request, "video/preset_list.html", {"presets": presets, "can_manage": access.may_manage(user)}
    )


def _preset_form_page(request, preset=None):
    """新增 / 修改预设警示语 (the sub-bureau's list: any manager keeps it)."""
    user = request.user
    _require_manager(user)
    form = PresetForm(request.POST if request.method == "POST" else None, preset=preset)
    return _form_page(
        request,
        form,
        lambda: services.save_preset(by=user, preset=preset, **form.cleaned_data),
        done=_("警示语已保存"),
        then=lambda _preset: reverse("video:preset_list"),
        template="video/simple_form.html",
        context={
            "title": _("修改预设警示语") if preset else _("新增预设警示语"),
            "back": reverse("video:preset_list"),
            "subject": preset,
            "field_col": "col-12",
        },
    )


@login_required
def preset_new(request):
    require_viewer(request.user)
    return _preset_form_page(request)


@login_required
def preset_edit(request, pk: int):
    require_viewer(request.user)
    preset = selectors.get_for(request.user, selectors.presets_for(request.user), pk)
    return _preset_form_page(request, preset)


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
]
