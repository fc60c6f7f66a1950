"""Pages of patrols: the phone page that runs a patrol (start, live track, findings, stop), the patrol list
and a patrol's record with its track on a small map, and the patrol plans.

Every patrol and plan is read through `runs` (scoped by territory): outside it is a 404; a user who may see
but not act gets a 403 with the reason. The track points are posted as JSON by patrol-run.js and answered as
JSON ({"detail": …} on errors).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import django_filters as filters
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import fields as filter_fields

from doorstep.alarms.forms import ServiceErrorsMixin
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.forms import StyledForm
from doorstep.core.photos import private_file_response
from doorstep.core.requestdata import request_data
from doorstep.core.validators import within_service_years
from doorstep.maps.views import GLYPH_FONT
from doorstep.mediation import access as mediation_access
from doorstep.org.filtersets import ScopedFilterSet
from doorstep.org.models import Community, Grid, Station
from doorstep.org.territory import Territory
from doorstep.patrol import access, runs, tracks
from doorstep.patrol.choices import FindingKind, PatrolStatus
from doorstep.patrol.models import Patrol, Plan, Team
from doorstep.registry.forms import DATETIME_WIDGET

PAGE_SIZE = 30
MAX_FLAGGED_ON_MAP = 2000
MAX_GEOJSON_CHARS = 200_000
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- forms -------------------------------------------------------------------------------------------------
class _IdRange:
    """A model choice whose value must be a database-sized id: beyond 64 bits is "not a choice", not an
    OverflowError from SQLite."""

    error_messages: dict[str, Any]

    def to_python(self, value: Any) -> Any:
        text = str(value).strip() if value is not None else ""
        if text and not (text.isascii() and text.isdigit() and int(text) < access.MAX_PK):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)  # type: ignore[misc]


class IdChoiceField(_IdRange, forms.ModelChoiceField):
    pass


class _IdFilterField(_IdRange, filter_fields.ModelChoiceField):
    pass


class IdChoiceFilter(filters.ModelChoiceFilter):
    field_class = _IdFilterField


def _scoped(user: Any) -> dict[str, Any]:
    territory = Territory.for_user(user)
    return {
        "community": territory.communities().order_by("code"),
        "grid": territory.grids().order_by("code"),
        "team": territory.filter(Team.objects.filter(active=True).select_related("community")),
        "plan": runs.plans_for(user),
    }


class StartForm(ServiceErrorsMixin, StyledForm):
    community = IdChoiceField(label=gettext_lazy("社区"), queryset=Community.objects.none())
    plan = IdChoiceField(label=gettext_lazy("巡逻计划"), queryset=Plan.objects.none(), required=False)
    grid = IdChoiceField(label=gettext_lazy("网格"), queryset=Grid.objects.none(), required=False)
    team = IdChoiceField(label=gettext_lazy("队伍"), queryset=Team.objects.none(), required=False)
    participants = forms.IntegerField(
        label=gettext_lazy("参加人数"), min_value=1, max_value=runs.MAX_PARTICIPANTS, initial=1
    )
    volunteers = forms.IntegerField(
        label=gettext_lazy("其中志愿者"), min_value=0, max_value=runs.MAX_PARTICIPANTS, initial=0
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scoped = _scoped(user)
        territory = Territory.for_user(user)
        runnable = [c.pk for c in scoped["community"] if access.may_run(user, c.pk)]
        self.fields["community"].queryset = scoped["community"].filter(pk__in=runnable)
        self.fields["grid"].queryset = scoped["grid"].filter(community_id__in=runnable)
        self.fields["team"].queryset = scoped["team"].filter(community_id__in=runnable)
        now = timezone.now()
        # Plans of today (under way or still to come); the plan's own grid and team apply when left empty.
        self.fields["plan"].queryset = (
            scoped["plan"].filter(community_id__in=runnable, ends_at__gt=now).order_by("starts_at")
        )
        if len(runnable) == 1:
            self.fields["community"].initial = runnable[0]
        if territory.grid_ids and len(territory.grid_ids) == 1:
            self.fields["grid"].initial = next(iter(territory.grid_ids))


class FindingForm(ServiceErrorsMixin, StyledForm):
    kind = forms.ChoiceField(label=gettext_lazy("类别"), choices=FindingKind.choices)
    note = forms.CharField(
        label=gettext_lazy("情况"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    photo = forms.FileField(
        label=gettext_lazy("照片"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    hand_over = forms.BooleanField(
        label=gettext_lazy("移交（纠纷转调解，警情转警务室服务台）"), required=False
    )
    party_a = forms.CharField(label=gettext_lazy("当事人甲方"), max_length=100, required=False)
    party_b = forms.CharField(label=gettext_lazy("当事人乙方"), max_length=100, required=False)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    error_fields = {"parties": "party_a", "dispute_type": "kind"}


class FinishForm(ServiceErrorsMixin, StyledForm):
    summary = forms.CharField(
        label=gettext_lazy("巡逻情况"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    error_fields = {"empty": "__all__", "status": "__all__"}


class VoidForm(ServiceErrorsMixin, StyledForm):
    reason = forms.CharField(label=gettext_lazy("作废原因"), max_length=300)


def _geojson_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=MAX_GEOJSON_CHARS,
        widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace", "spellcheck": "false"}),
    )


def _parse_json(text: str) -> Any:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise ValidationError(_("不是合法的 GeoJSON（JSON 格式错误）"), code="json") from None


class PlanForm(ServiceErrorsMixin, StyledForm):
    title = forms.CharField(label=gettext_lazy("计划名称"), max_length=80)
    community = IdChoiceField(label=gettext_lazy("社区"), queryset=Community.objects.none())
    grid = IdChoiceField(label=gettext_lazy("网格"), queryset=Grid.objects.none(), required=False)
    team = IdChoiceField(label=gettext_lazy("队伍"), queryset=Team.objects.none(), required=False)
    starts_at = forms.DateTimeField(
        label=gettext_lazy("计划开始"), widget=DATETIME_WIDGET, validators=[within_service_years]
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("计划结束"), widget=DATETIME_WIDGET, validators=[within_service_years]
    )
    route = _geojson_field(gettext_lazy("路线（GeoJSON LineString，可选）"))
    area = _geojson_field(gettext_lazy("区域（GeoJSON Polygon，可选；不填则以网格为巡逻区域）"))
    notes = forms.CharField(
        label=gettext_lazy("巡逻要求"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, user: Any, instance: Plan | None = None, **kwargs: Any) -> None:
        if instance is not None and not args:
            kwargs.setdefault(
                "initial",
                {
                    "title": instance.title,
                    "community": instance.community_id,
                    "grid": instance.grid_id,
                    "team": instance.team_id,
                    "starts_at": timezone.localtime(instance.starts_at),
                    "ends_at": timezone.localtime(instance.ends_at),
                    "route": json.dumps(instance.route, ensure_ascii=False) if instance.route else "",
                    "area": json.dumps(instance.area, ensure_ascii=False) if instance.area else "",
                    "notes": instance.notes,
                },
            )
        super().__init__(*args, **kwargs)
        scoped = _scoped(user)
        managed = [c.pk for c in scoped["community"] if access.may_manage(user, c.pk)]
        self.fields["community"].queryset = scoped["community"].filter(pk__in=managed)
        self.fields["grid"].queryset = scoped["grid"].filter(community_id__in=managed)
        self.fields["team"].queryset = scoped["team"].filter(community_id__in=managed)

    def clean_route(self) -> Any:
        return _parse_json(self.cleaned_data.get("route", ""))

    def clean_area(self) -> Any:
        return _parse_json(self.cleaned_data.get("area", ""))


class PatrolFilterSet(ScopedFilterSet):
    """The patrol list's filters: community, grid, team, status and the date range of the start."""

    station = IdChoiceFilter(
        label=gettext_lazy("派出所"), queryset=Station.objects.all(), field_name="community__station"
    )
    community = IdChoiceFilter(label=gettext_lazy("社区"), queryset=Community.objects.all())
    grid = IdChoiceFilter(label=gettext_lazy("网格"), queryset=Grid.objects.all())
    team = IdChoiceFilter(label=gettext_lazy("队伍"), queryset=Team.objects.all())
    status = filters.ChoiceFilter(label=gettext_lazy("状态"), choices=PatrolStatus.choices)
    date_from = filters.DateFilter(
        label=gettext_lazy("开始日期从"), field_name="started_at", lookup_expr="date__gte", widget=DATE_WIDGET
    )
    date_to = filters.DateFilter(
        label=gettext_lazy("至"), field_name="started_at", lookup_expr="date__lte", widget=DATE_WIDGET
    )

    class Meta:
        model = Patrol
        fields = ["station", "community", "grid", "team", "status", "date_from", "date_to"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            field.widget.attrs["class"] = (
                "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            )
        for name in ("date_from", "date_to"):
            self.form.fields[name].validators.append(within_service_years)


# --- helpers -----------------------------------------------------------------------------------------------
def _forbid(exc: NotAllowed) -> PermissionDenied:
    return PermissionDenied(str(exc))


def _patrol_for(request, pk: int) -> Patrol:
    return runs.get_patrol_for(request.user, pk)


def _may_hand_over(user: Any, patrol: Patrol) -> bool:
    return mediation_access.may_take(user, patrol.community.station_id)


def _live_context(request, patrol: Patrol, **forms_: Any) -> dict[str, Any]:
    next_seq = (patrol.track_points.aggregate(m=Max("seq"))["m"] or 0) + 1
    return {
        "patrol": patrol,
        "finding_form": forms_.get("finding_form") or FindingForm(),
        "finish_form": forms_.get("finish_form") or FinishForm(),
        "void_form": forms_.get("void_form") or VoidForm(),
        "may_hand_over": _may_hand_over(request.user, patrol),
        "findings": patrol.findings.all()[:20],
        "next_seq": next_seq,
        "started_iso": patrol.started_at.isoformat(),
    }


def _live(request, patrol: Patrol, *, status: int = 200, **forms_: Any) -> HttpResponse:
    response = render(
        request, "patrol/run_live.html", _live_context(request, patrol, **forms_), status=status
    )
    response["Cache-Control"] = "no-store, max-age=0"
    return response


def _require_leader_page(request, patrol: Patrol) -> None:
    if patrol.led_by_id != request.user.pk:
        raise PermissionDenied(_("只有本次巡逻的带队人可以操作"))


# --- the phone page ----------------------------------------------------------------------------------------
@login_required
def run(request):
    access.require_view(request.user)
    patrol = runs.running_for(request.user)
    if patrol is not None:
        return _live(request, patrol)
    form = StartForm(user=request.user) if access.may_run(request.user) else None
    response = render(
        request,
        "patrol/run.html",
        {"form": form, "recent": runs.patrols_for(request.user).filter(led_by=request.user)[:5]},
    )
    response["Cache-Control"] = "no-store, max-age=0"
    return response


@login_required
def run_start(request):
    access.require_view(request.user)
    if request.method != "POST":
        return redirect("patrol:run")
    if not access.may_run(request.user):
        raise PermissionDenied(_("您的角色不能开展巡逻（巡逻由民警、协勤员、巡防队员或所长带队）"))
    form = StartForm(request.POST, user=request.user)
    status = 400
    if form.is_valid():
        d = form.cleaned_data
        try:
            runs.start(
                by=request.user,
                community=d["community"],
                grid=d["grid"],
                plan=d["plan"],
                team=d["team"],
                participants=d["participants"],
                volunteers=d["volunteers"],
            )
        except NotAllowed as exc:
            raise _forbid(exc) from None
        except ServiceError as exc:
            form.add_service_error(exc)
            status = exc.status
        else:
            messages.success(request, _("巡逻已开始，请保持本页打开以记录轨迹"))
            return redirect("patrol:run")
    return render(request, "patrol/run.html", {"form": form, "recent": []}, status=status)


def json_endpoint(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.method != "POST":
            response = JsonResponse({"detail": _("不支持该请求方法")}, status=405)
            response["Allow"] = "POST"
            return response
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return JsonResponse({"detail": _("对象不存在或不在您的辖区内")}, status=404)
        except PermissionDenied as exc:
            return JsonResponse({"detail": str(exc) or _("您没有这项操作的权限")}, status=403)
        except ServiceError as exc:
            return JsonResponse({"detail": str(exc), "code": exc.code}, status=exc.status)

    return wrapper


@json_endpoint
def run_points(request, pk: int):
    patrol = _patrol_for(request, pk)
    data = request_data(request)
    if "points" not in data:
        raise ServiceError(_("缺少 points 定位点列表"), code="points")
    accepted = runs.add_points(patrol, data["points"], by=request.user)
    return JsonResponse(
        {
            "accepted": accepted,
            "distance_m": patrol.distance_m,
            "points": patrol.points,
            "dropped": patrol.dropped,
            "status": patrol.status,
        }
    )


@login_required
def run_finding(request, pk: int):
    patrol = _patrol_for(request, pk)
    if request.method != "POST":
        return redirect("patrol:run")
    _require_leader_page(request, patrol)
    form = FindingForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        d = form.cleaned_data
        try:
            finding = runs.add_finding(
                patrol,
                kind=d["kind"],
                note=d["note"],
                by=request.user,
                lng=d["lng"],
                lat=d["lat"],
                photo=d["photo"],
                hand_over=d["hand_over"],
                parties=[d["party_a"], d["party_b"]],
            )
        except NotAllowed as exc:
            form.add_service_error(exc)
            status = 403
        except ServiceError as exc:
            form.add_service_error(exc)
            status = exc.status
        else:
            if finding.dispute_id:
                messages.success(
                    request, _("已记录发现，并转调解（%(number)s）") % {"number": finding.dispute.number}
                )
            elif finding.kind == FindingKind.INCIDENT:
                messages.success(request, _("已记录警情，待警务室服务台受理"))
            else:
                messages.success(request, _("已记录发现"))
            return redirect("patrol:run")
    if patrol.status != PatrolStatus.RUNNING:
        raise PermissionDenied(_("该巡逻已结束"))
    return _live(request, patrol, status=status, finding_form=form)


@login_required
def run_finish(request, pk: int):
    patrol = _patrol_for(request, pk)
    if request.method != "POST":
        return redirect("patrol:run_detail", pk=patrol.pk)
    _require_leader_page(request, patrol)
    form = FinishForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            runs.finish(patrol, by=request.user, summary=form.cleaned_data["summary"])
        except NotAllowed as exc:
            raise _forbid(exc) from None
        except ServiceError as exc:
            form.add_service_error(exc)
            status = exc.status
        else:
            messages.success(request, _("巡逻已结束"))
            return redirect("patrol:run_detail", pk=patrol.pk)
    if patrol.status != PatrolStatus.RUNNING:
        return redirect("patrol:run_detail", pk=patrol.pk)
    return _live(request, patrol, status=status, finish_form=form)


@login_required
def run_void(request, pk: int):
    patrol = _patrol_for(request, pk)
    if request.method != "POST":
        return redirect("patrol:run_detail", pk=patrol.pk)
    if not runs.may_void(request.user, patrol):
        raise PermissionDenied(_("只有带队人或本社区的管理人员可以作废巡逻"))
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            runs.void(patrol, request.user, form.cleaned_data["reason"])
        except NotAllowed as exc:
            raise _forbid(exc) from None
        except ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("巡逻已作废"))
    else:
        messages.error(request, _("请填写作废原因"))
    return redirect("patrol:run_detail", pk=patrol.pk)


# --- list and record ---------------------------------------------------------------------------------------
@login_required
def run_list(request):
    access.require_view(request.user)
    qs = runs.patrols_for(request.user)
    filterset = PatrolFilterSet(request.GET, queryset=qs, request=request)
    rows = filterset.qs if filterset.is_valid() else qs.none()
    page = Paginator(rows.order_by("-started_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "patrol/run_list.html",
        {"filter": filterset, "page": page, "may_run": access.may_run(request.user)},
        status=200 if filterset.is_valid() else 400,
    )


def _flagged(patrol: Patrol) -> dict[str, Any]:
    points = patrol.track_points.exclude(flag__in=tracks.GOOD).order_by("at", "seq")[:MAX_FLAGGED_ON_MAP]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.lng, p.lat]},
                "properties": {"flag": p.flag, "label": p.get_flag_display(), "seq": p.seq},
            }
            for p in points
            if -180 <= p.lng <= 180 and -90 <= p.lat <= 90
        ],
    }


def _findings_geojson(findings: list[Any]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [f.lng, f.lat]},
                "properties": {"kind": f.kind, "label": f.get_kind_display()},
            }
            for f in findings
            if f.lng is not None and f.lat is not None
        ],
    }


@login_required
def run_detail(request, pk: int):
    patrol = _patrol_for(request, pk)
    findings = list(patrol.findings.select_related("dispute", "by"))
    flagged = _flagged(patrol)
    counts: dict[str, int] = {}
    for flag in patrol.track_points.values_list("flag", flat=True):
        counts[flag] = counts.get(flag, 0) + 1
    end = patrol.ended_at or timezone.now()
    minutes = max(0, int((end - patrol.started_at).total_seconds() // 60))
    return render(
        request,
        "patrol/run_detail.html",
        {
            "patrol": patrol,
            "findings": findings,
            "minutes": minutes,
            "km": f"{patrol.distance_m / 1000:.2f}",
            "flag_counts": counts,
            "track": patrol.track or {"type": "MultiLineString", "coordinates": []},
            "flagged": flagged,
            "findings_geojson": _findings_geojson(findings),
            "area": runs.patrol_area(patrol),
            "style_url": settings.MAP_STYLE_URL,
            "center": list(settings.MAP_CENTER),
            "glyph_font": GLYPH_FONT,
            "may_void": runs.may_void(request.user, patrol),
            "void_form": VoidForm(),
            "is_leader": patrol.led_by_id == request.user.pk,
        },
    )


@login_required
def finding_photo(request, pk: int):
    finding = runs.get_finding_for(request.user, pk)
    if not finding.photo:
        raise Http404
    return private_file_response(finding.photo)


# --- plans -------------------------------------------------------------------------------------------------
@login_required
def plan_list(request):
    access.require_view(request.user)
    qs = runs.plans_for(request.user)
    upcoming = request.GET.get("when") != "all"
    if upcoming:
        qs = qs.filter(ends_at__gt=timezone.now())
    qs = qs.annotate(n_patrols=Count("patrols"))
    page = Paginator(qs.order_by("starts_at", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "patrol/plan_list.html",
        {"page": page, "upcoming": upcoming, "may_manage": access.may_manage(request.user)},
    )


def _plan_form_page(request, form: PlanForm, plan: Plan | None, status: int = 200) -> HttpResponse:
    return render(request, "patrol/plan_form.html", {"form": form, "plan": plan}, status=status)


def _save_plan(request, plan: Plan | None):
    form = PlanForm(request.POST, user=request.user, instance=plan)
    if not form.is_valid():
        return _plan_form_page(request, form, plan, status=400)
    d = form.cleaned_data
    values = {name: d[name] for name in runs.PLAN_FIELDS}
    try:
        if plan is None:
            plan = runs.create_plan(by=request.user, **values)
            messages.success(request, _("巡逻计划已创建"))
        else:
            plan = runs.update_plan(plan, by=request.user, **values)
            messages.success(request, _("巡逻计划已保存"))
    except NotAllowed as exc:
        raise _forbid(exc) from None
    except ServiceError as exc:
        form.add_service_error(exc)
        return _plan_form_page(request, form, plan, status=exc.status)
    return redirect("patrol:plan_list")


@login_required
def plan_new(request):
    access.require_view(request.user)
    if not access.may_manage(request.user):
        raise PermissionDenied(_("巡逻计划由所长、社区民警或系统管理员制定"))
    if request.method == "POST":
        return _save_plan(request, None)
    return _plan_form_page(request, PlanForm(user=request.user), None)


@login_required
def plan_edit(request, pk: int):
    plan = runs.get_plan_for(request.user, pk)
    if not access.may_manage(request.user, plan.community_id):
        raise PermissionDenied(_("巡逻计划由所长、社区民警或系统管理员制定"))
    if request.method == "POST":
        return _save_plan(request, plan)
    return _plan_form_page(request, PlanForm(user=request.user, instance=plan), plan)


urlpatterns: list[URLPattern] = [
    path("run/", run, name="run"),
    path("run/start/", run_start, name="run_start"),
    path("runs/", run_list, name="run_list"),
    path("runs/<int:pk>/", run_detail, name="run_detail"),
    path("runs/<int:pk>/points/", run_points, name="run_points"),
    path("runs/<int:pk>/findings/", run_finding, name="run_finding"),
    path("runs/<int:pk>/finish/", run_finish, name="run_finish"),
    path("runs/<int:pk>/void/", run_void, name="run_void"),
    path("findings/<int:pk>/photo/", finding_photo, name="finding_photo"),
    path("plans/", plan_list, name="plan_list"),
    path("plans/new/", plan_new, name="plan_new"),
    path("plans/<int:pk>/edit/", plan_edit, name="plan_edit"),
]
