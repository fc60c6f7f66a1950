"""Pages of leader links and weekly inspections (领导挂点、督导检查); the rules live in `links`.

Roles without these pages (officers, dispatchers, …) get a 404; a role that sees but may not act gets a 403
with a Chinese reason; an object outside the territory is a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doorstep.accounts.choices import Role
from doorstep.alarms.forms import ServiceErrorsMixin
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.forms import IdModelChoiceField, IdMultipleChoiceField, style
from doorstep.evaluation import links
from doorstep.evaluation.models_links import DepartmentLink, LeaderLink
from doorstep.org.models import Station

PER_PAGE = 30
MAX_FOLLOW_UPS = 5


class LinkForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("挂点类型"),
        choices=[("leader", gettext_lazy("领导挂点")), ("department", gettext_lazy("部门挂点"))],
        initial="leader",
    )
    leader = IdModelChoiceField(label=gettext_lazy("挂点领导"), queryset=None, required=False)
    stations = IdMultipleChoiceField(
        label=gettext_lazy("挂点派出所（1–2个）"),
        queryset=None,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    department = forms.CharField(label=gettext_lazy("部门"), max_length=50, required=False)
    station = IdModelChoiceField(label=gettext_lazy("部门挂点派出所"), queryset=None, required=False)
    started_on = forms.DateField(
        label=gettext_lazy("开始日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=gettext_lazy("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(role=Role.LEADER, is_active=True).order_by("username")
        self.fields["leader"].queryset = users
        self.fields["stations"].queryset = Station.objects.order_by("code")
        self.fields["station"].queryset = Station.objects.order_by("code")
        self.fields["department"].widget.attrs["list"] = "departments"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == "leader":
            if not data.get("leader"):
                self.add_error("leader", _("请选择挂点领导"))
            if not data.get("stations"):
                self.add_error("stations", _("请至少选择一个挂点派出所"))
            elif len(data["stations"]) > links.MAX_STATIONS_PER_LEADER:
                self.add_error("stations", _("每位领导最多挂点2个派出所"))
        elif data.get("kind") == "department":
            if not (data.get("department") or "").strip():
                self.add_error("department", _("请填写部门名称"))
            if not data.get("station"):
                self.add_error("station", _("请选择挂点派出所"))
        return data


class InspectionForm(ServiceErrorsMixin, forms.Form):
    station = IdModelChoiceField(label=gettext_lazy("派出所"), queryset=None)
    inspected_on = forms.DateField(
        label=gettext_lazy("检查日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    findings = forms.CharField(
        label=gettext_lazy("检查情况"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5})
    )

    def __init__(self, *args: Any, stations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = stations
        for i in range(MAX_FOLLOW_UPS):
            self.fields[f"action_{i}"] = forms.CharField(
                label=gettext_lazy("整改事项"), max_length=300, required=False
            )
            self.fields[f"owner_{i}"] = forms.CharField(
                label=gettext_lazy("责任人"), max_length=50, required=False
            )

    def follow_up_fields(self) -> list[tuple[Any, Any]]:
        return [(self[f"action_{i}"], self[f"owner_{i}"]) for i in range(MAX_FOLLOW_UPS)]

    def main_fields(self) -> list[Any]:
        return [self["station"], self["inspected_on"], self["findings"]]

    def follow_ups(self) -> list[links.FollowUpInput]:
        data = self.cleaned_data
        return [
            links.FollowUpInput(data.get(f"action_{i}") or "", data.get(f"owner_{i}") or "")
            for i in range(MAX_FOLLOW_UPS)
        ]


def _date_or_today(raw: str | None) -> dt.date:
    """An empty date is today; a malformed one is refused (never silently today)."""
    text = (raw or "").strip()
    if not text:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ServiceError(_("日期格式不正确，应为如 2026-11-28"), code="ended_on") from None


# --- links ----------------------------------------------------------------------------------------------------
@login_required
def link_list(request):
    user = request.user
    links.require_view(user)
    leader_links = links.leader_links_for(user).order_by("ended_on", "station__code", "-started_on")
    department_links = links.department_links_for(user).order_by("ended_on", "department", "-started_on")
    return render(
        request,
        "evaluation/link_list.html",
        {
            "current_leaders": [lk for lk in leader_links if lk.ended_on is None],
            "past_leaders": [lk for lk in leader_links if lk.ended_on is not None][:100],
            "current_departments": [lk for lk in department_links if lk.ended_on is None],
            "past_departments": [lk for lk in department_links if lk.ended_on is not None][:100],
            "may_manage": links.may_manage_links(user),
            "today": timezone.localdate(),
            "active": "inspections",
        },
    )


@login_required
def link_new(request):
    user = request.user
    links.require_view(user)
    if not links.may_manage_links(user):
        raise PermissionDenied(_("只有考评办和系统管理员可以设置挂点"))
    form = LinkForm(
        request.POST if request.method == "POST" else None, initial={"started_on": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["kind"] == "leader":
                links.link_leader(
                    leader=data["leader"],
                    stations=list(data["stations"]),
                    started_on=data["started_on"],
                    note=data["note"],
                    by=user,
                )
            else:
                links.link_department(
                    department=data["department"],
                    station=data["station"],
                    started_on=data["started_on"],
                    note=data["note"],
                    by=user,
                )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已保存挂点"))
            return redirect("evaluation:links")
    style(form)
    return render(
        request,
        "evaluation/link_form.html",
        {"form": form, "departments": links.DEPARTMENTS, "active": "inspections"},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def link_end(request, kind: str, pk: int):
    user = request.user
    links.require_view(user)
    model = {"leader": LeaderLink, "department": DepartmentLink}.get(kind)
    if model is None or not 0 < pk < links.MAX_PK:
        raise Http404
    qs = links.leader_links_for(user) if model is LeaderLink else links.department_links_for(user)
    link = qs.filter(pk=pk).first()
    if link is None:
        raise Http404
    try:
        links.end_link(link, ended_on=_date_or_today(request.POST.get("ended_on")), by=user)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已结束挂点：%(link)s") % {"link": link})
    return redirect("evaluation:links")


# --- inspections ----------------------------------------------------------------------------------------------
@login_required
def inspection_list(request):
    user = request.user
    links.require_view(user)
    today = timezone.localdate()
    stations = list(links.stations_for(user))
    weeks, rows = links.weeks_table(stations, today)
    qs = links.inspections_for(user).prefetch_related("follow_ups").order_by("-inspected_on", "-id")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "evaluation/link_inspections.html",
        {
            "weeks": weeks,
            "rows": rows,
            "page": page,
            "may_inspect": links.may_inspect(user),
            "may_manage": links.may_manage_links(user),
            "active": "inspections",
        },
    )


@login_required
def inspection_new(request):
    user = request.user
    links.require_view(user)
    if not links.may_inspect(user):
        raise PermissionDenied(_("只有挂点领导可以登记督导检查"))
    ever = LeaderLink.objects.filter(leader=user).values_list("station_id", flat=True)
    stations = Station.objects.filter(pk__in=list(ever)).order_by("code")
    initial: dict[str, Any] = {"inspected_on": timezone.localdate()}
    current = list(links.linked_stations(user, timezone.localdate()))
    if len(current) == 1:
        initial["station"] = current[0].pk
    form = InspectionForm(
        request.POST if request.method == "POST" else None, initial=initial, stations=stations
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            inspection = links.record_inspection(
                station=data["station"],
                inspected_on=data["inspected_on"],
                findings=data["findings"],
                follow_ups=form.follow_ups(),
                by=user,
            )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已登记督导检查"))
            return redirect("evaluation:inspection_detail", pk=inspection.pk)
    style(form)
    return render(
        request,
        "evaluation/link_inspection_form.html",
        {"form": form, "no_links": not stations.exists(), "active": "inspections"},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def inspection_detail(request, pk: int):
    user = request.user
    inspection = links.get_inspection_for(user, pk)
    items = list(inspection.follow_ups.select_related("inspection", "done_by"))
    for item in items:
        item.may_mark = item.done_on is None and links.may_mark_done(user, item)
    return render(
        request,
        "evaluation/link_inspection_detail.html",
        {"inspection": inspection, "items": items, "today": timezone.localdate(), "active": "inspections"},
    )


@login_required
@require_POST
def followup_done(request, pk: int):
    user = request.user
    item = links.get_follow_up_for(user, pk)
    raw = request.POST.get("done_on")
    done_on = None
    if raw:
        try:
            done_on = dt.date.fromisoformat(raw[:10])
        except ValueError:
            messages.error(request, _("完成日期格式不正确"))
            return redirect("evaluation:inspection_detail", pk=item.inspection_id)
    try:
        links.mark_follow_up_done(item, done_on=done_on, by=user)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已确认整改完成"))
    return redirect("evaluation:inspection_detail", pk=item.inspection_id)


urlpatterns = [
    path("links/", link_list, name="links"),
    path("links/new/", link_new, name="link_new"),
    path("links/<slug:kind>/<int:pk>/end/", link_end, name="link_end"),
    path("inspections/", inspection_list, name="inspections"),
    path("inspections/new/", inspection_new, name="inspection_new"),
    path("inspections/<int:pk>/", inspection_detail, name="inspection_detail"),
    path("followups/<int:pk>/done/", followup_done, name="followup_done"),
]
