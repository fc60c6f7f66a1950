"""Pages of field days (下沉社区天数): the weekly report and one person's week with the evidence per day.

Who sees what:
- the weekly report: directors (their station), leaders, evaluators and administrators (the whole
  sub-bureau, filterable by station); an officer or auxiliary opening it is sent to their own week;
  other roles (dispatcher, mediator, patrol) get a 403;
- a person's week: report readers for anyone with a post in their territory that week; an officer or
  auxiliary only for themselves. A person outside the reader's territory is a 404 (territory rule: outsiders
  learn nothing); a colleague inside it (the auxiliary of the same grid) is a 403.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.duty import field_days
from doorstep.duty.forms import parse_week
from doorstep.duty.pages import _render
from doorstep.org.territory import Territory


def _week(request) -> dt.date:
    return field_days.week_of(parse_week(request.GET.get("week"), timezone.localdate())).monday


def _own_week_url(user, monday: dt.date) -> str:
    if not user.staff_id:
        raise PermissionDenied(_("您的账号未关联警务人员，没有下沉社区记录"))
    return f"{reverse('duty:field_week', args=[user.staff_id])}?week={monday:%Y-%m-%d}"


def _nav(monday: dt.date) -> dict[str, dt.date]:
    return {
        "monday": monday,
        "sunday": monday + dt.timedelta(days=6),
        "prev_week": monday - dt.timedelta(days=7),
        "next_week": monday + dt.timedelta(days=7),
    }


@login_required
def field_report(request):
    user = request.user
    monday = _week(request)
    if user.role in field_days.OWN_WEEK_ROLES and not user.is_superuser:
        return redirect(_own_week_url(user, monday))
    if not field_days.may_read_report(user):
        raise PermissionDenied(_("下沉社区周报仅供所长、分局领导和考评办查看"))
    territory = Territory.for_user(user)
    stations = list(territory.stations().order_by("code"))
    try:
        station_id = int(request.GET.get("station") or 0)
    except ValueError:
        station_id = 0
    if station_id and station_id not in {s.pk for s in stations}:
        raise Http404
    with_aux = request.GET.get("aux") == "1"
    rows = field_days.report_for(user, monday, station_id=station_id or None, with_auxiliaries=with_aux)
    context = {
        **_nav(monday),
        "rows": rows,
        "stations": stations,
        "station_id": station_id,
        "with_aux": with_aux,
        "required": field_days.FIELD_DAYS_REQUIRED,
        "flagged": sum(1 for r in rows if r.flagged),
        "week_days": field_days.week_of(monday).days,
    }
    return _render(request, "duty/field_report.html", context)


@login_required
def field_mine(request):
    return redirect(_own_week_url(request.user, _week(request)))


@login_required
def field_week(request, pk: int):
    user = request.user
    monday = _week(request)
    if pk >= 2**63:  # beyond any 64-bit key: SQLite would refuse the number itself
        raise Http404
    result = field_days.week_for(user, pk, monday)
    if result is None:
        raise Http404
    if not (field_days.may_read_report(user) or user.staff_id == pk):
        raise PermissionDenied(_("只能查看本人的下沉社区记录"))
    days = [(d, result.days.get(d, [])) for d in field_days.week_of(monday).days]
    context = {
        **_nav(monday),
        "result": result,
        "days": days,
        "required": field_days.FIELD_DAYS_REQUIRED,
        "may_read_report": field_days.may_read_report(user),
        "active_tab": "duty:field_report",
    }
    return _render(request, "duty/field_week.html", context)


urlpatterns: list[URLPattern] = [
    path("field-days/", field_report, name="field_report"),
    path("field-days/mine/", field_mine, name="field_mine"),
    path("field-days/staff/<int:pk>/", field_week, name="field_week"),
]
