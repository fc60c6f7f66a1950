"""The working-day calendar page and its services: an administrator enters the State Council's holiday and
adjusted-working-day arrangements (法定节假日和调休) each year; everybody signed in may read them (time limits
and the mediator rota count working days with them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.forms import form_errors_text
from doorstep.core.validators import within_service_years
from doorstep.org.models import CalendarDay
from doorstep.org.workdays import WorkCalendar

MAX_SPAN_DAYS = 31
REQUIRED = {"required": gettext_lazy("此项为必填项")}


def may_edit(user: Any) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.role == Role.ADMIN))


def set_days(start: dt.date, end: dt.date, kind: str, name: str, *, by: Any) -> int:
    """Mark each day from start to end as a holiday or an adjusted working day (replacing what was there).
    Returns the number of days written."""
    if not may_edit(by):
        raise NotAllowed(_("只有系统管理员可以维护工作日历"))
    if kind not in (CalendarDay.HOLIDAY, CalendarDay.WORKDAY):
        raise ServiceError(_("类别无效"), code="kind")
    if end < start:
        raise ServiceError(_("结束日期不能早于开始日期"), code="end")
    if (end - start).days >= MAX_SPAN_DAYS:
        raise ServiceError(_("一次最多录入%(n)s天") % {"n": MAX_SPAN_DAYS}, code="end")
    name = (name or "").strip()[:30]
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    if kind == CalendarDay.WORKDAY:
        weekdays = [d for d in days if d.weekday() < 5]
        if weekdays:
            raise ServiceError(
                _("%(day)s本是工作日，无需登记为调休上班") % {"day": weekdays[0].isoformat()}, code="start"
            )
    with transaction.atomic():
        for day in days:
            obj = CalendarDay.objects.select_for_update().filter(day=day).first()
            before = {"kind": obj.kind, "name": obj.name} if obj else None
            if obj is None:
                obj = CalendarDay(day=day)
            obj.kind, obj.name = kind, name
            obj.save()
            record_change(by, "org.calendar_set", obj, before=before)
    return len(days)


def clear_day(day: CalendarDay, *, by: Any) -> None:
    if not may_edit(by):
        raise NotAllowed(_("只有系统管理员可以维护工作日历"))
    with transaction.atomic():
        record_change(by, "org.calendar_clear", day)
        day.delete()


class CalendarForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("开始日期"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
        validators=[within_service_years],
        error_messages=REQUIRED,
    )
    end = forms.DateField(
        label=gettext_lazy("结束日期"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
        validators=[within_service_years],
        error_messages=REQUIRED,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("类别"),
        choices=CalendarDay.KINDS,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    name = forms.CharField(
        label=gettext_lazy("节日/说明"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


def _year(request) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = timezone.localdate().year
    return year if 2000 <= year <= 2100 else timezone.localdate().year


@login_required
def calendar_page(request):
    year = _year(request)
    days = list(CalendarDay.objects.filter(day__year=year))
    cal = WorkCalendar({d.day: d.kind for d in days})
    working = sum(1 for _d in cal.working_days(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    return render(
        request,
        "org/calendar.html",
        {
            "year": year,
            "days": days,
            "holidays": sum(1 for d in days if d.kind == CalendarDay.HOLIDAY),
            "workdays": sum(1 for d in days if d.kind == CalendarDay.WORKDAY),
            "working": working,
            "can_edit": may_edit(request.user),
            "form": CalendarForm(initial={"kind": CalendarDay.HOLIDAY}),
        },
    )


@login_required
@require_POST
def calendar_set(request):
    if not may_edit(request.user):
        raise PermissionDenied(_("只有系统管理员可以维护工作日历"))
    form = CalendarForm(request.POST)
    year = timezone.localdate().year
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
    else:
        c = form.cleaned_data
        year = c["start"].year
        try:
            n = set_days(c["start"], c["end"], c["kind"], c["name"], by=request.user)
        except ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("已录入 %(n)s 天") % {"n": n})
    return redirect(f"{reverse('org:calendar')}?year={year}")


@login_required
@require_POST
def calendar_clear(request, pk: int):
    if not may_edit(request.user):
        raise PermissionDenied(_("只有系统管理员可以维护工作日历"))
    day = CalendarDay.objects.filter(pk=pk).first() if pk < 2**63 else None
    year = timezone.localdate().year
    if day is not None:
        year = day.day.year
        clear_day(day, by=request.user)
        messages.success(request, _("已删除 %(day)s 的调整") % {"day": day.day.isoformat()})
    return redirect(f"{reverse('org:calendar')}?year={year}")
