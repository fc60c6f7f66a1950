"""Pages of station duty rosters (值班备勤, 110接处警): the station list, a station's week roster (understaffed
shifts in red), assigning and removing, copy last week, shift definitions, director's exceptions, swaps.

Stations are read through `Territory.for_user` (outside → 404); a user who sees a station but may not act
gets a 403 page with the reason in Chinese.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doorstep.core.errors import ServiceError
from doorstep.core.forms import style
from doorstep.core.validators import within_service_years
from doorstep.duty import station_duty
from doorstep.duty.choices import StationDutyKind, SwapStatus
from doorstep.duty.forms import StaffChoiceField, first_error, parse_week
from doorstep.duty.models import DutyAssignment, DutyException, StationShift, SwapRequest
from doorstep.duty.pages import _render
from doorstep.duty.services import week_start
from doorstep.org.models import Staff
from doorstep.org.territory import Territory, get_in_territory


def _station_for(request, pk: int):
    return get_in_territory(request.user, Territory.for_user(request.user).stations(), pk=pk)


def _require_director(user: Any, station_id: int) -> None:
    if not station_duty.may_direct(user, station_id):
        raise PermissionDenied(_("所值班排班、例外和换班审批须由本所所长或系统管理员办理"))


def _week_url(station_id: int, day: dt.date) -> str:
    return reverse("duty:station_week", args=[station_id]) + f"?week={week_start(day).isoformat()}"


def _staff_qs(station_id: int):
    return Staff.objects.filter(
        station_id=station_id, active=True, kind__in=station_duty.DUTY_KINDS
    ).order_by("kind", "badge_number")


_REQ = {"required": gettext_lazy("此项为必填项"), "invalid_choice": gettext_lazy("选项无效，请重新选择")}
_DATE = {"required": gettext_lazy("请选择日期"), "invalid": gettext_lazy("日期格式不正确")}


class AssignForm(forms.Form):
    shift = forms.ModelChoiceField(
        label=gettext_lazy("班次"), queryset=StationShift.objects.none(), error_messages=_REQ
    )
    day = forms.DateField(
        label=gettext_lazy("日期"),
        validators=[within_service_years],
        input_formats=["%Y-%m-%d"],
        error_messages=_DATE,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    staff = StaffChoiceField(label=gettext_lazy("人员"), queryset=Staff.objects.none(), error_messages=_REQ)

    def __init__(self, *args, station_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shift"].queryset = StationShift.objects.filter(station_id=station_id, active=True)
        self.fields["staff"].queryset = _staff_qs(station_id)
        style(self)


class ShiftDefForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("类别"), choices=StationDutyKind.choices, error_messages=_REQ)
    name = forms.CharField(
        label=gettext_lazy("班次名称"),
        max_length=20,
        error_messages={
            "required": gettext_lazy("请填写班次名称"),
            "max_length": gettext_lazy("班次名称不能超过20字"),
        },
    )
    starts = forms.TimeField(
        label=gettext_lazy("开始时刻"),
        error_messages={
            "required": gettext_lazy("请填写开始时刻"),
            "invalid": gettext_lazy("时刻格式不正确"),
        },
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    ends = forms.TimeField(
        label=gettext_lazy("结束时刻"),
        error_messages={
            "required": gettext_lazy("请填写结束时刻"),
            "invalid": gettext_lazy("时刻格式不正确"),
        },
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    min_staff = forms.IntegerField(
        label=gettext_lazy("最低在岗人数"),
        min_value=0,
        max_value=50,
        error_messages={
            "required": gettext_lazy("请填写最低在岗人数"),
            "invalid": gettext_lazy("请输入整数"),
            "min_value": gettext_lazy("最低在岗人数不能为负数"),
            "max_value": gettext_lazy("最低在岗人数不能超过50"),
        },
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        style(self)


class ExceptionForm(forms.Form):
    staff = StaffChoiceField(label=gettext_lazy("人员"), queryset=Staff.objects.none(), error_messages=_REQ)
    shift = forms.ModelChoiceField(
        label=gettext_lazy("班次（不选即本所全部班次）"),
        queryset=StationShift.objects.none(),
        required=False,
        error_messages=_REQ,
    )
    starts_on = forms.DateField(
        label=gettext_lazy("开始日期"),
        validators=[within_service_years],
        input_formats=["%Y-%m-%d"],
        error_messages=_DATE,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    ends_on = forms.DateField(
        label=gettext_lazy("结束日期"),
        validators=[within_service_years],
        input_formats=["%Y-%m-%d"],
        error_messages=_DATE,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("例外理由"),
        max_length=300,
        error_messages={
            "required": gettext_lazy("请填写例外理由"),
            "max_length": gettext_lazy("例外理由不能超过300字"),
        },
    )

    def __init__(self, *args, station_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = _staff_qs(station_id)
        self.fields["shift"].queryset = StationShift.objects.filter(station_id=station_id)
        style(self)


class SwapForm(forms.Form):
    theirs = forms.ModelChoiceField(
        label=gettext_lazy("换给同事的班次"), queryset=DutyAssignment.objects.none(), error_messages=_REQ
    )
    reason = forms.CharField(
        label=gettext_lazy("换班理由"),
        max_length=300,
        error_messages={
            "required": gettext_lazy("请填写换班理由"),
            "max_length": gettext_lazy("换班理由不能超过300字"),
        },
    )

    def __init__(self, *args, mine: DutyAssignment, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        qs = (
            DutyAssignment.objects.filter(
                shift__station_id=mine.shift.station_id, starts_at__gt=timezone.now()
            )
            .exclude(staff_id=mine.staff_id)
            .select_related("shift", "staff")
        )
        self.fields["theirs"].queryset = qs
        self.fields["theirs"].label_from_instance = lambda a: f"{a.day:%m-%d} {a.shift} {a.staff.name}"
        style(self)


# --- views ---------------------------------------------------------------------------------------------------
@login_required
def index(request):
    stations = list(Territory.for_user(request.user).stations().order_by("code"))
    if len(stations) == 1:
        return redirect("duty:station_week", stations[0].pk)
    return _render(request, "duty/station_list.html", {"stations": stations})


@login_required
def week(request, pk: int):
    station = _station_for(request, pk)
    monday = week_start(parse_week(request.GET.get("week"), timezone.localdate()))
    rows = station_duty.week(station, monday)
    may = station_duty.may_direct(request.user, station.pk)
    context = {
        "station": station,
        "monday": monday,
        "days": [monday + dt.timedelta(days=i) for i in range(7)],
        "rows": rows,
        "short": sum(1 for r in rows for c in r.cells if c.understaffed),
        "prev_week": monday - dt.timedelta(days=7),
        "next_week": monday + dt.timedelta(days=7),
        "may_direct": may,
        "form": AssignForm(station_id=station.pk, initial={"day": monday}) if may else None,
        "my_staff_id": request.user.staff_id,
        "pending": SwapRequest.objects.filter(
            mine__shift__station=station, status=SwapStatus.PENDING
        ).count(),
    }
    return _render(request, "duty/station_week.html", context)


@login_required
@require_POST
def assign(request, pk: int):
    station = _station_for(request, pk)
    _require_director(request.user, station.pk)
    form = AssignForm(request.POST, station_id=station.pk)
    day = timezone.localdate()
    if form.is_valid():
        d = form.cleaned_data
        day = d["day"]
        try:
            a = station_duty.assign(shift=d["shift"], staff=d["staff"], day=d["day"], by=request.user)
            messages.success(
                request,
                (_("已排班：%(a)s（例外）") if a.exception_id else _("已排班：%(a)s")) % {"a": a},
            )
        except ServiceError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, first_error(form))
    return redirect(_week_url(station.pk, day))


@login_required
@require_POST
def unassign(request, pk: int):
    a = get_in_territory(request.user, DutyAssignment.objects.select_related("shift"), pk=pk)
    _require_director(request.user, a.shift.station_id)
    station_id, day = a.shift.station_id, a.day
    station_duty.unassign(a, by=request.user)
    messages.success(request, _("已取消排班"))
    return redirect(_week_url(station_id, day))


@login_required
@require_POST
def copy_week(request, pk: int):
    station = _station_for(request, pk)
    _require_director(request.user, station.pk)
    target = week_start(parse_week(request.POST.get("week"), timezone.localdate()))
    try:
        created = station_duty.copy_week(station=station, target_monday=target, by=request.user)
        messages.success(request, _("已复制上周所值班排班 %(n)d 人次") % {"n": len(created)})
    except ServiceError as exc:
        messages.error(request, str(exc))
    return redirect(_week_url(station.pk, target))


@login_required
def shifts(request, pk: int):
    station = _station_for(request, pk)
    may = station_duty.may_direct(request.user, station.pk)
    status = 200
    form = ShiftDefForm() if may else None
    if request.method == "POST":
        _require_director(request.user, station.pk)
        form = ShiftDefForm(request.POST)
        if form.is_valid():
            try:
                station_duty.create_station_shift(station=station, by=request.user, **form.cleaned_data)
                messages.success(request, _("已添加班次"))
                return redirect("duty:station_shifts", station.pk)
            except ServiceError as exc:
                form.add_error(None, str(exc))
        status = 400
    context = {
        "station": station,
        "shifts": StationShift.objects.filter(station=station),
        "form": form,
        "may_direct": may,
    }
    return _render(request, "duty/station_shifts.html", context, status=status)


@login_required
def exceptions(request, pk: int):
    station = _station_for(request, pk)
    may = station_duty.may_direct(request.user, station.pk)
    status = 200
    form = ExceptionForm(station_id=station.pk) if may else None
    if request.method == "POST":
        _require_director(request.user, station.pk)
        form = ExceptionForm(request.POST, station_id=station.pk)
        if form.is_valid():
            try:
                station_duty.grant_exception(station=station, by=request.user, **form.cleaned_data)
                messages.success(request, _("已批准例外"))
                return redirect("duty:station_exceptions", station.pk)
            except ServiceError as exc:
                form.add_error(None, str(exc))
        status = 400
    rows = DutyException.objects.filter(station=station).select_related("staff", "shift", "approved_by")
    context = {"station": station, "rows": rows, "form": form, "may_direct": may}
    return _render(request, "duty/station_exceptions.html", context, status=status)


@login_required
@require_POST
def exception_revoke(request, pk: int):
    ex = get_in_territory(request.user, DutyException.objects.all(), pk=pk)
    _require_director(request.user, ex.station_id)
    try:
        station_duty.revoke_exception(ex, by=request.user)
        messages.success(request, _("已撤销例外"))
    except ServiceError as exc:
        messages.error(request, str(exc))
    return redirect("duty:station_exceptions", ex.station_id)


@login_required
def swap_new(request, pk: int):
    mine = get_in_territory(request.user, DutyAssignment.objects.select_related("shift", "staff"), pk=pk)
    if not station_duty.may_request_swap(request.user, mine):
        raise PermissionDenied(_("只能为本人的班次申请换班（所长可代为申请）"))
    status = 200
    if request.method == "POST":
        form = SwapForm(request.POST, mine=mine)
        if form.is_valid():
            try:
                station_duty.request_swap(
                    mine=mine,
                    theirs=form.cleaned_data["theirs"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
                messages.success(request, _("已提交换班申请，等待所长审批"))
                return redirect("duty:station_swaps", mine.shift.station_id)
            except ServiceError as exc:
                form.add_error(None, str(exc))
        status = 400
    else:
        form = SwapForm(mine=mine)
    return _render(request, "duty/station_swap_form.html", {"mine": mine, "form": form}, status=status)


@login_required
def swaps(request, pk: int):
    station = _station_for(request, pk)
    rows = SwapRequest.objects.filter(mine__shift__station=station).select_related(
        "mine__shift", "mine__staff", "theirs__shift", "theirs__staff", "requested_by", "decided_by"
    )
    context = {
        "station": station,
        "rows": rows,
        "may_direct": station_duty.may_direct(request.user, station.pk),
    }
    return _render(request, "duty/station_swaps.html", context)


@login_required
@require_POST
def swap_decide(request, pk: int):
    swap = get_in_territory(request.user, SwapRequest.objects.select_related("mine__shift"), pk=pk)
    station_id = swap.mine.shift.station_id
    _require_director(request.user, station_id)
    note = request.POST.get("note", "")[:300]
    try:
        if request.POST.get("decision") == "approve":
            station_duty.approve_swap(swap, note=note, by=request.user)
            messages.success(request, _("已批准换班"))
        elif request.POST.get("decision") == "reject":
            station_duty.reject_swap(swap, note=note, by=request.user)
            messages.success(request, _("已驳回换班申请"))
        else:
            messages.error(request, _("请选择批准或驳回"))
    except ServiceError as exc:
        messages.error(request, str(exc))
    return redirect("duty:station_swaps", station_id)


urlpatterns: list[URLPattern] = [
    path("station/", index, name="station_index"),
    path("station/<int:pk>/week/", week, name="station_week"),
    path("station/<int:pk>/assign/", assign, name="station_assign"),
    path("station/<int:pk>/copy-week/", copy_week, name="station_copy_week"),
    path("station/<int:pk>/shifts/", shifts, name="station_shifts"),
    path("station/<int:pk>/exceptions/", exceptions, name="station_exceptions"),
    path("station/<int:pk>/swaps/", swaps, name="station_swaps"),
    path("station/assignments/<int:pk>/delete/", unassign, name="station_unassign"),
    path("station/assignments/<int:pk>/swap/", swap_new, name="station_swap_new"),
    path("station/exceptions/<int:pk>/revoke/", exception_revoke, name="station_exception_revoke"),
    path("station/swaps/<int:pk>/decide/", swap_decide, name="station_swap_decide"),
]
