"""Video patrol (视频巡查): the tours (plans) and their forms, the runs' oversight for the station director, the
patrol console where a patroller steps through a tour's cameras and watches the live motion events, and the
routes of the live pictures (live.py).

Reads are scoped by `Territory` (a run or tour outside it is a 404); writes go through `services`. The
console's actions answer JSON: the run's new state, or a 4xx `{"detail": "<中文>", "code": …}` (the JSON errors
and the tabs are those of every video page, `pages`).
Runs are created by the video worker's minute job (`services.tick`); these pages only read them.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from doorstep.core.errors import ServiceError
from doorstep.core.forms import style
from doorstep.core.ids import id_param
from doorstep.core.requestdata import request_data
from doorstep.org.models import Station
from doorstep.org.territory import Territory, get_in_territory
from doorstep.video import access, live, selectors, services
from doorstep.video.choices import FindingResult, RunStatus
from doorstep.video.models import Camera, PatrolTour, Speaker, TourFinding, TourRun, TourStop
from doorstep.video.pages import json_endpoint, only, posted_id, posted_text, render_page
from doorstep.video.tour_forms import TourForm, TourRunFilterSet

OVERSIGHT_DAYS = 7
RECENT_EVENT_HOURS = 24
MAX_EVENTS = 30
MAX_CAMERAS = 500
MAX_UPCOMING = 8
PER_PAGE = 50
OPEN = (RunStatus.DUE, RunStatus.IN_PROGRESS)


# --- selectors -------------------------------------------------------------------------------------------
def tours_for(user: Any):
    if not access.may_view(user):
        return PatrolTour.objects.none()
    return Territory.for_user(user).filter(PatrolTour.objects.all())


def runs_for(user: Any):
    if not access.may_view(user):
        return TourRun.objects.none()
    return Territory.for_user(user).filter(TourRun.objects.all())


def runnable_tours(user: Any) -> list[PatrolTour]:
    """The active tours of the user's territory that the user may run."""
    if not access.may_patrol(user):
        return []
    tours = tours_for(user).filter(active=True).order_by("name")
    return [t for t in tours if services.may_run(user, t)]


def schedule_label(tour: PatrolTour) -> str:
    """“20:00–06:00 每 120 分钟”, or “全天 每 60 分钟”."""
    every = _("每 %(n)s 分钟") % {"n": tour.interval_minutes}
    if tour.start_time == tour.end_time:
        return f"{_('全天')} {every}"
    return f"{tour.start_time:%H:%M}–{tour.end_time:%H:%M} {every}"


def _iso(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def _url_template(name: str) -> str:
    """The URL of `name` for object 0 (the page's script puts the id in), or "" when there is no such page."""
    try:
        return reverse(name, args=[0])
    except NoReverseMatch:
        return ""


# --- payloads of the console -------------------------------------------------------------------------------
def _runs_with_stops(qs):
    return qs.select_related("tour", "by").prefetch_related(
        Prefetch("tour__stops", queryset=TourStop.objects.select_related("camera").order_by("position")),
        Prefetch("findings", queryset=TourFinding.objects.order_by("recorded_at")),
    )


def finding_payload(finding: TourFinding | None) -> dict[str, Any] | None:
    if finding is None:
        return None
    return {
        "id": finding.pk,
        "result": finding.result,
        "result_label": str(finding.get_result_display()),
        "note": finding.note,
        "recorded_at": _iso(finding.recorded_at),
        "snapshot": reverse("video:finding_snapshot", args=[finding.pk]) if finding.snapshot else None,
    }


def run_state(run: TourRun, user: Any) -> dict[str, Any]:
    """A run as the console shows it: its stops in order, each with its finding (or None)."""
    findings = {f.camera_id: f for f in run.findings.all()}
    stops = [
        {
            "camera": stop.camera_id,
            "name": stop.camera.name,
            "location": stop.camera.location,
            "position": stop.position,
            "finding": finding_payload(findings.get(stop.camera_id)),
        }
        for stop in run.tour.stops.all()
    ]
    return {
        "id": run.pk,
        "tour": {"id": run.tour_id, "name": run.tour.name, "schedule": schedule_label(run.tour)},
        "due_at": _iso(run.due_at),
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "late": run.late,
        "by": str(run.by) if run.by_id else "",
        "mine": run.by_id == user.pk,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "stops": stops,
        "done": sum(1 for s in stops if s["finding"] is not None),
        "total": len(stops),
        "url": reverse("video:run_detail", args=[run.pk]),
    }


def _fresh_state(run: TourRun, user: Any) -> dict[str, Any]:
    return run_state(_runs_with_stops(TourRun.objects.filter(pk=run.pk)).get(), user)


def _cameras(user: Any) -> list[dict[str, Any]]:
    active_speakers = Prefetch("speakers", queryset=Speaker.objects.filter(active=True).order_by("code"))
    cameras = live.cameras_for(user).filter(enabled=True).prefetch_related(active_speakers).order_by("code")
    return [live.camera_info(c, user) for c in cameras[:MAX_CAMERAS]]


def _event_rows(user: Any, now: dt.datetime) -> list[dict[str, Any]]:
    """The recent motion events, in the shape of `realtime.event_payload` (what the WebSocket sends), with
    the cameras' speakers read in one query instead of one per event: the active ones of the user's
    territory, as `live.camera_info` offers them (the broadcast dialog could not use the others)."""
    since = now - dt.timedelta(hours=RECENT_EVENT_HOURS)
    events = list(
        selectors.events_for(user).filter(detected_at__gte=since).order_by("-detected_at", "-id")[:MAX_EVENTS]
    )
    speakers: dict[int, list[int]] = {}
    links = Camera.speakers.through.objects.filter(
        camera_id__in={e.camera_id for e in events},
        speaker__in=selectors.speakers_for(user).filter(active=True),
    ).order_by("speaker_id")
    for camera_id, speaker_id in links.values_list("camera_id", "speaker_id"):
        speakers.setdefault(camera_id, []).append(speaker_id)
    snapshot, detail = _url_template("video:event_snapshot"), _url_template("video:event")
    rows = []
    for e in events:
        camera = e.camera
        rows.append(
            {
                "id": e.pk,
                "grid": e.grid_id,
                "station": e.station_id,
                "camera": {
                    "id": camera.pk,
                    "name": camera.name,
                    "location": camera.location,
                    "code": camera.code,
                },
                "lng": camera.lng,
                "lat": camera.lat,
                "zone": e.zone,
                "started_at": _iso(e.started_at),
                "detected_at": _iso(e.detected_at),
                "area": e.area,
                "bbox": e.bbox,
                "status": e.status,
                "status_label": str(e.get_status_display()),
                "snapshot": snapshot.replace("/0/", f"/{e.pk}/") if snapshot and e.snapshot else None,
                "url": detail.replace("/0/", f"/{e.pk}/") if detail else None,
                "speakers": speakers.get(camera.pk, []),
            }
        )
    return rows


def console_state(user: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """Runs due now (and those in progress) of the tours the user may run, the slots still to come today,
    and the cameras of the user's territory."""
    now = now or timezone.now()
    tours = runnable_tours(user)
    runs = _runs_with_stops(
        TourRun.objects.filter(tour__in=[t.pk for t in tours], status__in=OPEN).order_by("due_at", "id")
    )
    local = timezone.localtime(now)
    midnight = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    upcoming = sorted(
        (
            (due, tour.name, tour.pk)
            for tour in tours
            for due in services.slots(tour, now + dt.timedelta(seconds=1), midnight)
        ),
    )
    return {
        "now": _iso(now),
        "runs": [run_state(r, user) for r in runs],
        "upcoming": [
            {"tour": name, "tour_id": pk, "due_at": _iso(due)} for due, name, pk in upcoming[:MAX_UPCOMING]
        ],
        "cameras": _cameras(user),
    }


def _labels() -> dict[str, str]:
    """The words patrol.js puts on the page."""
    return {
        "online": _("实时连接正常"),
        "offline": _("连接中断，正在重连…"),
        "start": _("开始巡查"),
        "resume": _("继续巡查"),
        "note_needed": _("异常情况请填写说明"),
        "late": _("迟巡"),
        "due": _("应巡"),
        "by_other": _("巡查中：%(name)s"),
        "no_upcoming": _("今天没有更多的巡查时段"),
        "stop_of": _("第 %(n)s / %(total)s 个点位"),
        "all_recorded": _("所有点位都已记录，请点击“完成巡查”"),
        "finished": _("本次巡查已完成"),
        "error": _("操作失败"),
        "no_picture": _("暂无画面"),
        "view": _("查看画面"),
        "broadcast": _("广播喊话"),
        "confirm": _("确认"),
        "dismiss": _("误报"),
        "detail": _("详情"),
        "new_event": _("新的入侵事件"),
        "sound_ready": _("提示音已开启"),
        "zone": _("区域"),
        "broadcast_unavailable": _("广播功能暂不可用"),
        "no_speakers": _("该摄像机没有关联的广播音柱"),
        "progress": _("已巡 %(done)s / %(total)s"),
    }


# --- the console -----------------------------------------------------------------------------------------
def _require_patroller(user: Any) -> None:
    if not access.may_patrol(user):
        raise Http404


@login_required
@require_GET
def console(request):
    _require_patroller(request.user)
    now = timezone.now()
    state = console_state(request.user, now)
    state["events"] = _event_rows(request.user, now)
    return render_page(
        request,
        "video/patrol.html",
        {
            "state": state,
            "labels": _labels(),
            "urls": {
                "state": reverse("video:patrol_state"),
                "start": reverse("video:run_start", args=[0]),
                "finding": reverse("video:run_finding", args=[0]),
                "finish": reverse("video:run_finish", args=[0]),
                "live": reverse("video:camera_live", args=[0]),
                "snapshot": reverse("video:camera_snapshot", args=[0]),
                "watch": reverse("video:camera_watch", args=[0]),
                "handle": _url_template("video:event_handle"),
                "event": _url_template("video:event"),
            },
            "may_broadcast": access.may_broadcast(request.user),
            "refresh_ms": live.SNAPSHOT_REFRESH_SECONDS * 1000,
            "reconnect_ms": int(max(5.0, live.MAX_SECONDS - 5) * 1000),
            "time_zone": settings.TIME_ZONE,
        },
    )


@login_required
@require_GET
def console_state_view(request):
    if not access.may_patrol(request.user):
        return JsonResponse({"detail": _("您没有视频巡查的权限")}, status=404)
    return JsonResponse(console_state(request.user))


def run_action(view):
    """A console action (POST, JSON) on a run of the user's territory: 404 for any other, the service's
    refusal as {"detail", "code"} with its status, else what `view(request, run)` answers."""

    @json_endpoint
    @only("POST")
    @functools.wraps(view)
    def wrapper(request: HttpRequest, pk: int):
        run = runs_for(request.user).filter(pk=pk).first()
        if run is None:
            raise Http404(_("巡查记录不存在或不在您的辖区"))
        return view(request, run)

    return wrapper


@run_action
def run_start(request, run: TourRun):
    run = services.start_run(run, by=request.user)
    return JsonResponse({"run": _fresh_state(run, request.user)})


@run_action
def run_finding(request, run: TourRun):
    """正常 / 异常 (+ note) for one camera of the run: {"camera": id, "result": …, "note": …}."""
    data = request_data(request)
    camera_id = posted_id(data.get("camera"), _("摄像机"))
    in_tour = TourStop.objects.filter(tour_id=run.tour_id).values("camera_id")
    camera = Camera.objects.filter(pk=camera_id, pk__in=in_tour).first() if camera_id else None
    if camera is None:
        raise ServiceError(_("这台摄像机不在本次巡查计划中"), code="camera")
    finding = services.record_finding(
        run,
        camera,
        result=posted_text(data.get("result")),
        note=posted_text(data.get("note")),
        by=request.user,
    )
    return JsonResponse({"run": _fresh_state(run, request.user), "finding": finding_payload(finding)})


@run_action
def run_finish(request, run: TourRun):
    run = services.finish_run(run, by=request.user)
    return JsonResponse({"run": _fresh_state(run, request.user)})


# --- tours -----------------------------------------------------------------------------------------------
def _manageable_stations(user: Any) -> list[Station]:
    return list(selectors.managed_stations(user))


@login_required
@require_GET
def tour_list(request):
    if not access.may_view(request.user):
        raise Http404
    since = timezone.now() - dt.timedelta(days=OVERSIGHT_DAYS)
    window = Q(runs__due_at__gte=since)
    tours = (
        tours_for(request.user)
        .select_related("station", "assignee")
        .annotate(
            n_stops=Count("stops", distinct=True),
            n_done=Count("runs", filter=window & Q(runs__status=RunStatus.DONE), distinct=True),
            n_late=Count("runs", filter=window & Q(runs__late=True), distinct=True),
            n_missed=Count("runs", filter=window & Q(runs__status=RunStatus.MISSED), distinct=True),
        )
        .order_by("station__code", "name")
    )
    rows = [
        {"tour": t, "schedule": schedule_label(t), "may_edit": access.may_manage(request.user, t.station_id)}
        for t in tours
    ]
    return render_page(
        request,
        "video/tour_list.html",
        {
            "rows": rows,
            "days": OVERSIGHT_DAYS,
            "may_create": bool(_manageable_stations(request.user)),
            "may_patrol": access.may_patrol(request.user),
        },
    )


def _tour_form_page(request, *, station: Station, tour: PatrolTour | None, stations: list[Station]):
    form = TourForm(request.POST if request.method == "POST" else None, station_id=station.pk, tour=tour)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_tour(by=request.user, tour=tour, **form.save_arguments())
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("巡查计划“%(name)s”已保存") % {"name": saved.name})
            return redirect("video:tour_list")
    title = _("修改巡查计划") if tour else _("新建巡查计划")
    return render_page(
        request,
        "video/tour_form.html",
        {
            "form": form,
            "tour": tour,
            "station": station,
            "stations": stations,
            "title": title,
            "picker_labels": {"up": _("上移"), "down": _("下移"), "include": _("巡查")},
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def tour_new(request):
    stations = _manageable_stations(request.user)
    if not stations:
        raise Http404
    chosen = id_param(request.POST.get("station") or request.GET.get("station"))
    station = next((s for s in stations if s.pk == chosen), stations[0])
    return _tour_form_page(request, station=station, tour=None, stations=stations)


@login_required
def tour_edit(request, pk: int):
    tour = get_in_territory(request.user, tours_for(request.user).select_related("station"), pk=pk)
    if not access.may_manage(request.user, tour.station_id):
        raise PermissionDenied(_("巡查计划须由本所所长或系统管理员制定"))
    return _tour_form_page(request, station=tour.station, tour=tour, stations=[tour.station])


# --- oversight -----------------------------------------------------------------------------------------------
@login_required
@require_GET
def run_list(request):
    if not access.may_view(request.user):
        raise Http404
    now = timezone.now()
    base = runs_for(request.user)
    since = now - dt.timedelta(days=OVERSIGHT_DAYS)
    runs_filter = TourRunFilterSet(request.GET, queryset=base, request=request)
    style(runs_filter.form)
    valid = runs_filter.is_valid()
    chosen = runs_filter.form.cleaned_data if valid else {}
    qs = runs_filter.qs if valid else base
    # The summary covers the whole window (and the chosen tour), whatever status is filtered on.
    window = (
        base.filter(due_at__date=chosen["date"]) if chosen.get("date") else base.filter(due_at__gte=since)
    )
    if not chosen.get("date"):
        qs = qs.filter(due_at__gte=since)
    if chosen.get("tour"):
        window = window.filter(tour=chosen["tour"])
    qs = (
        qs.select_related("tour", "by")
        .annotate(
            n_findings=Count("findings", distinct=True),
            n_abnormal=Count("findings", filter=Q(findings__result=FindingResult.ABNORMAL), distinct=True),
        )
        .order_by("-due_at", "-id")
    )
    summary = (
        window.values("tour_id", "tour__name")
        .annotate(
            n_total=Count("id"),
            n_on_time=Count("id", filter=Q(status=RunStatus.DONE, late=False)),
            n_late=Count("id", filter=Q(late=True)),
            n_missed=Count("id", filter=Q(status=RunStatus.MISSED)),
            n_open=Count("id", filter=Q(status__in=OPEN)),
        )
        .order_by("-n_missed", "-n_late", "tour__name")
    )
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    return render_page(
        request,
        "video/run_list.html",
        {"filter": runs_filter, "page": page, "summary": summary, "days": OVERSIGHT_DAYS},
    )


@login_required
@require_GET
def run_detail(request, pk: int):
    run = get_in_territory(request.user, _runs_with_stops(runs_for(request.user)), pk=pk)
    visible = set(live.cameras_for(request.user).values_list("pk", flat=True))
    state = run_state(run, request.user)
    for stop in state["stops"]:
        if stop["finding"] and stop["camera"] not in visible:
            stop["finding"]["snapshot"] = None  # a camera outside the user's grids: no picture
    return render_page(
        request,
        "video/run_detail.html",
        {
            "run": run,
            "state": state,
            "schedule": schedule_label(run.tour),
            "abnormal": sum(
                1 for s in state["stops"] if s["finding"] and s["finding"]["result"] == "abnormal"
            ),
            "may_patrol": access.may_patrol(request.user),
        },
    )


urlpatterns = [
    path("patrol/", console, name="patrol"),
    path("patrol/state/", console_state_view, name="patrol_state"),
    path("tours/", tour_list, name="tour_list"),
    path("tours/new/", tour_new, name="tour_new"),
    path("tours/<int:pk>/edit/", tour_edit, name="tour_edit"),
    path("tours/runs/", run_list, name="run_list"),
    path("runs/<int:pk>/", run_detail, name="run_detail"),
    path("runs/<int:pk>/start/", run_start, name="run_start"),
    path("runs/<int:pk>/finding/", run_finding, name="run_finding"),
    path("runs/<int:pk>/finish/", run_finish, name="run_finish"),
    path("findings/<int:pk>/snapshot.jpg", live.finding_snapshot, name="finding_snapshot"),
    path("cameras/<int:pk>/snapshot.jpg", live.camera_snapshot, name="camera_snapshot"),
    path("cameras/<int:pk>/live.mjpg", live.camera_live, name="camera_live"),
    path("cameras/<int:pk>/watch/", live.camera_watch, name="camera_watch"),
]
