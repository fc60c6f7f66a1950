"""The duty-mediator rota page: a month per station (working days, holidays and adjusted working weekends
from the working-day calendar), the tally per mediator, leave; the director generates, swaps, assigns and
records leave (POST, audited); everybody with mediation pages sees it."""

from __future__ import annotations

import calendar as pycal
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.forms import form_errors_text
from doorstep.mediation import access, rota
from doorstep.mediation.forms import AssignDayForm, GenerateForm, LeaveForm, SwapForm
from doorstep.mediation.models import MediatorLeave
from doorstep.org.models import CalendarDay, Staff, Station
from doorstep.org.territory import Territory
from doorstep.org.workdays import WorkCalendar, missing_years

WEEKDAYS = (
    gettext_lazy("周一"),
    gettext_lazy("周二"),
    gettext_lazy("周三"),
    gettext_lazy("周四"),
    gettext_lazy("周五"),
    gettext_lazy("周六"),
    gettext_lazy("周日"),
)


def _station(request, station_id: int | None) -> Station:
    user = request.user
    access.require_view(user)
    stations = Territory.for_user(user).stations().order_by("code")
    if station_id is None:
        station = stations.first()
    elif station_id >= access.MAX_PK:
        raise Http404
    else:
        station = stations.filter(pk=station_id).first()
    if station is None:
        raise Http404
    return station


def _month(request) -> dt.date:
    raw = request.GET.get("month", "")
    try:
        year, month = (int(x) for x in raw.split("-"))
        first = dt.date(year, month, 1)
        if not 2000 <= year <= 2100:
            raise ValueError
        return first
    except ValueError:
        return timezone.localdate().replace(day=1)


@login_required
def rota_page(request, station_id: int | None = None):
    station = _station(request, station_id)
    first = _month(request)
    last = first.replace(day=pycal.monthrange(first.year, first.month)[1])
    cal = WorkCalendar.load(first, last)
    names = dict(CalendarDay.objects.filter(day__gte=first, day__lte=last).values_list("day", "name"))
    rows = {r.day: r for r in rota.month_rows(station.pk, first, last)}
    mediators = rota.mediators_of(station.pk)
    leaves = list(
        MediatorLeave.objects.filter(mediator__station=station, end__gte=first - dt.timedelta(days=31))
        .select_related("mediator")
        .order_by("start")
    )
    today = timezone.localdate()
    weeks: list[list[dict | None]] = []
    week: list[dict | None] = [None] * first.weekday()
    day = first
    while day <= last:
        working = cal.is_working_day(day)
        row = rows.get(day)
        away = row is not None and (
            not row.mediator.active
            or any(lv.mediator_id == row.mediator_id and lv.start <= day <= lv.end for lv in leaves)
        )
        week.append(
            {
                "day": day,
                "working": working,
                "adjusted": cal.adjustments.get(day, ""),
                "name": names.get(day, ""),
                "row": row,
                "gap": working and (row is None or away),
                "today": day == today,
            }
        )
        if len(week) == 7:
            weeks.append(week)
            week = []
        day += dt.timedelta(days=1)
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    tally = rota.fairness(station.pk, first, last)
    can_manage = access.may_manage(request.user, station.pk)
    mediator_qs = Staff.objects.filter(pk__in=[m.pk for m in mediators])
    prev_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = last + dt.timedelta(days=1)
    return render(
        request,
        "mediation/rota.html",
        {
            "station": station,
            "stations": Territory.for_user(request.user).stations().order_by("code"),
            "first": first,
            "weeks": weeks,
            "weekdays": WEEKDAYS,
            "mediators": [(m, tally.get(m.pk, 0)) for m in mediators],
            "leaves": [lv for lv in leaves if lv.end >= today - dt.timedelta(days=31)],
            "working_count": sum(1 for _ in cal.working_days(first, last)),
            "gap_count": sum(1 for w in weeks for c in w if c and c["gap"] and c["day"] >= today),
            "missing_years": missing_years(
                [first.year, first.year + 1] if first.month >= 11 else [first.year]
            ),
            "can_manage": can_manage,
            "prev": f"{prev_month:%Y-%m}",
            "next": f"{next_month:%Y-%m}",
            "generate_form": GenerateForm(initial={"start": max(first, today), "end": last}),
            "swap_form": SwapForm(),
            "assign_form": AssignDayForm(mediators=mediator_qs),
            "leave_form": LeaveForm(mediators=mediator_qs),
        },
    )


def _back(station: Station, month: str):
    url = reverse("mediation:rota_station", args=[station.pk])
    return redirect(f"{url}?month={month}" if month else url)


def _manage(request, station_id: int, form, fn, success):
    station = _station(request, station_id)
    if not access.may_manage(request.user, station.pk):
        raise PermissionDenied(_("只有本所所长或系统管理员可以安排调解员值班"))
    month = request.POST.get("month", "")
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return _back(station, month)
    try:
        result = fn(station, form.cleaned_data)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success(result) if callable(success) else success)
    return _back(station, month)


def _mediator_qs(station_id: int):
    return Staff.objects.filter(pk__in=[m.pk for m in rota.mediators_of(station_id)])


@login_required
@require_POST
def rota_generate(request, station_id: int):
    def success(result):
        text = _("已排班 %(n)s 个工作日") % {"n": result["assigned"]}
        if result["gaps"]:
            text += _("；%(n)s 天无人可排（调解员均请假），请所长指定") % {"n": len(result["gaps"])}
        return text

    return _manage(
        request,
        station_id,
        GenerateForm(request.POST),
        lambda s, c: rota.generate(s, c["start"], c["end"], by=request.user),
        success,
    )


@login_required
@require_POST
def rota_swap(request, station_id: int):
    return _manage(
        request,
        station_id,
        SwapForm(request.POST),
        lambda s, c: rota.swap(s, c["day_a"], c["day_b"], by=request.user, reason=c["reason"]),
        _("已换班"),
    )


@login_required
@require_POST
def rota_assign(request, station_id: int):
    return _manage(
        request,
        station_id,
        AssignDayForm(request.POST, mediators=_mediator_qs(min(station_id, access.MAX_PK - 1))),
        lambda s, c: rota.assign_day(s, c["day"], c["mediator"], by=request.user, note=c["note"]),
        _("已指定值班调解员"),
    )


@login_required
@require_POST
def rota_leave(request, station_id: int):
    def success(result):
        text = _("已登记请假，%(n)s 个值班日已由他人顶替") % {"n": result["moved"]}
        if result["gaps"]:
            text += _("；%(n)s 天无人可顶替，请所长指定") % {"n": len(result["gaps"])}
        return text

    return _manage(
        request,
        station_id,
        LeaveForm(request.POST, mediators=_mediator_qs(min(station_id, access.MAX_PK - 1))),
        lambda s, c: rota.record_leave(
            c["mediator"], c["start"], c["end"], reason=c["reason"], by=request.user
        ),
        success,
    )
