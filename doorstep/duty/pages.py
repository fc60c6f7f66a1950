"""Pages of 24-hour police-room cover: the live board, upcoming roster gaps, a room's week roster with its
shift forms, and the phone page to clock in and out.

Every room is read through `access.rooms_for` (scoped by territory): a room outside it is a 404; a user who
sees a room but may not keep its roster gets a 403. Clock-in and clock-out answer JSON ({"detail": …} on
errors) because the phone page posts them with its GPS fix.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doorstep.core.errors import ServiceError
from doorstep.duty import access, coverage, services
from doorstep.duty.forms import ClockForm, ClockOutForm, ShiftForm, first_error, parse_week
from doorstep.duty.models import Attendance, RoomShift
from doorstep.duty.supervision import room_states
from doorstep.org.territory import get_in_territory

TABS = (
    ("duty:board", "layout-dashboard", gettext_lazy("实时看板")),
    ("duty:gaps", "calendar-exclamation", gettext_lazy("排班缺口")),
    ("duty:clock", "map-pin-check", gettext_lazy("值守签到")),
    ("duty:training_courses", "school", gettext_lazy("培训")),
    ("duty:field_report", "walk", gettext_lazy("下沉社区")),
    ("duty:station_index", "calendar-user", gettext_lazy("所值班备勤")),
)
TAB_OF = {
    "duty:roster": "duty:board",
    "duty:shift_new": "duty:board",
    "duty:shift_edit": "duty:board",
    **{
        f"duty:training_{name}": "duty:training_courses"
        for name in (
            "course_new",
            "course",
            "course_edit",
            "enrol",
            "mentorship_new",
            "assess",
            "person",
            "station",
            "items",
        )
    },
    **{
        f"duty:station_{name}": "duty:station_index"
        for name in ("week", "shifts", "exceptions", "swaps", "swap_new")
    },
}
GAP_DAYS = 7


def _render(request, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    view = request.resolver_match.view_name if request.resolver_match else ""
    context.setdefault("tabs", [(reverse(n), icon, str(label), n) for n, icon, label in TABS])
    context.setdefault("active_tab", TAB_OF.get(view, view))
    return render(request, template, context, status=status)


def _room_for(request, pk: int):
    return get_in_territory(request.user, access.rooms_for(request.user), pk=pk)


def _shift_for(request, pk: int) -> RoomShift:
    qs = RoomShift.objects.select_related("room", "room__community", "staff")
    return get_in_territory(request.user, qs, pk=pk)


def _require_manager_of(user: Any, room) -> None:
    if not access.may_manage_room(user, room):
        raise PermissionDenied(_("警务室排班须由本所所长或系统管理员安排"))


def _local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value)


# --- live board ----------------------------------------------------------------------------------------------
@login_required
def board(request):
    now = timezone.now()
    rooms = access.rooms_for(request.user)
    states = room_states(rooms, now)
    counts = {
        "staffed": sum(1 for s in states if s.state == "staffed"),
        "late": sum(1 for s in states if s.state == "late"),
        "left": sum(1 for s in states if s.state == "left"),
        "empty": sum(1 for s in states if s.state == "empty"),
        "alerting": sum(1 for s in states if s.alerting),
    }
    context = {"states": states, "now": now, "counts": counts, "may_manage": access.may_manage(request.user)}
    if request.GET.get("partial") == "1":
        response = render(request, "duty/board_body.html", context)
    else:
        context["poll_seconds"] = getattr(settings, "DUTY_BOARD_POLL_SECONDS", 15)
        response = _render(request, "duty/board.html", context)
    response["Cache-Control"] = "no-store, max-age=0"
    return response


# --- coverage gaps -------------------------------------------------------------------------------------------
@login_required
def gaps(request):
    now = timezone.now()
    # From the start of the current hour, so a gap under way is listed too.
    start = now.replace(minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(days=GAP_DAYS)
    rooms = [room for room in access.rooms_for(request.user) if room.open_24h]  # others have no 24-hour cover
    by_room = coverage.gaps_by_room(rooms, start, end)
    rows = []
    for room in rooms:
        room_gaps = [
            {
                "start": _local(a),
                "end": _local(b),
                "hours": round((b - a).total_seconds() / 3600, 1),
                "now": a <= now < b,
            }
            for a, b in by_room[room.pk]
        ]
        rows.append({"room": room, "gaps": room_gaps, "hours": round(sum(g["hours"] for g in room_gaps), 1)})
    context = {"rows": rows, "start": _local(start), "end": _local(end), "days": GAP_DAYS}
    return _render(request, "duty/gaps.html", context)


# --- roster --------------------------------------------------------------------------------------------------
def _week_grid(room, monday: dt.date, now: dt.datetime):
    start = services.local_midnight(monday)
    end = services.local_midnight(monday + dt.timedelta(days=7))
    shifts = list(
        coverage.shifts_between(room, start, end).select_related("staff").order_by("starts_at", "id")
    )
    room_gaps = coverage.uncovered([(s.starts_at, s.ends_at) for s in shifts], start, end)
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    rows = []
    for hour in range(24):
        cells = []
        for day in days:
            a = services.local_midnight(day) + dt.timedelta(hours=hour)
            b = a + dt.timedelta(hours=1)
            names = [s.staff.name for s in shifts if s.starts_at < b and s.ends_at > a]
            gap = [(max(g0, a), min(g1, b)) for g0, g1 in room_gaps if g0 < b and g1 > a]
            cells.append(
                {
                    "names": names,
                    "gap": bool(gap),
                    "partial": bool(gap) and bool(names),
                    "gap_text": "、".join(f"{_local(x):%H:%M}–{_local(y):%H:%M}" for x, y in gap),
                    "now": a <= now < b,
                    "past": b <= now,
                }
            )
        rows.append({"hour": hour, "cells": cells})
    gap_list = [{"start": _local(a), "end": _local(b)} for a, b in room_gaps]
    return days, rows, shifts, gap_list


@login_required
def roster(request, pk: int):
    room = _room_for(request, pk)
    now = timezone.now()
    monday = services.week_start(parse_week(request.GET.get("week"), timezone.localdate()))
    days, rows, shifts, gap_list = _week_grid(room, monday, now)
    context = {
        "room": room,
        "monday": monday,
        "days": days,
        "rows": rows,
        "shifts": [{"shift": s, "start": _local(s.starts_at), "end": _local(s.ends_at)} for s in shifts],
        "gap_list": gap_list,
        "prev_week": monday - dt.timedelta(days=7),
        "next_week": monday + dt.timedelta(days=7),
        "this_week": services.week_start(timezone.localdate()),
        "may_manage": access.may_manage_room(request.user, room),
    }
    return _render(request, "duty/roster.html", context)


def _roster_url(room, when: dt.datetime | dt.date | None = None) -> str:
    url = reverse("duty:roster", args=[room.pk])
    if when is not None:
        day = timezone.localtime(when).date() if isinstance(when, dt.datetime) else when
        url += f"?week={services.week_start(day).isoformat()}"
    return url


def _shift_form_page(request, room, shift: RoomShift | None):
    if request.method == "POST":
        form = ShiftForm(request.POST, room=room)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if shift is None:
                    shift = services.create_shift(
                        room=room,
                        staff=data["staff"],
                        starts_at=data["starts_at"],
                        ends_at=data["ends_at"],
                        note=data["note"],
                        by=request.user,
                    )
                    messages.success(request, _("已添加班次"))
                else:
                    services.update_shift(
                        shift,
                        staff=data["staff"],
                        starts_at=data["starts_at"],
                        ends_at=data["ends_at"],
                        note=data["note"],
                        by=request.user,
                    )
                    messages.success(request, _("已保存班次"))
                return redirect(_roster_url(room, shift.starts_at))
            except ServiceError as exc:
                form.add_error(None, str(exc))
        status = 400
    else:
        if shift is not None:
            initial = {
                "staff": shift.staff_id,
                "starts_at": _local(shift.starts_at),
                "ends_at": _local(shift.ends_at),
                "note": shift.note,
            }
        else:
            day = parse_week(request.GET.get("day"), timezone.localdate())
            begin = services.local_midnight(day) + dt.timedelta(hours=8)
            initial = {"starts_at": _local(begin), "ends_at": _local(begin + dt.timedelta(hours=8))}
        form = ShiftForm(initial=initial, room=room)
        status = 200
    return _render(
        request, "duty/shift_form.html", {"form": form, "room": room, "shift": shift}, status=status
    )


@login_required
def shift_new(request, pk: int):
    room = _room_for(request, pk)
    _require_manager_of(request.user, room)
    return _shift_form_page(request, room, None)


@login_required
def shift_edit(request, pk: int):
    shift = _shift_for(request, pk)
    _require_manager_of(request.user, shift.room)
    return _shift_form_page(request, shift.room, shift)


@login_required
@require_POST
def shift_delete(request, pk: int):
    shift = _shift_for(request, pk)
    room = shift.room
    _require_manager_of(request.user, room)
    starts_at = shift.starts_at
    services.delete_shift(shift, by=request.user)
    messages.success(request, _("已删除班次"))
    return redirect(_roster_url(room, starts_at))


@login_required
@require_POST
def copy_week(request, pk: int):
    room = _room_for(request, pk)
    _require_manager_of(request.user, room)
    target = services.week_start(parse_week(request.POST.get("week"), timezone.localdate()))
    try:
        created = services.copy_week(room=room, target_monday=target, by=request.user)
        messages.success(request, _("已复制上周排班 %(n)d 班") % {"n": len(created)})
    except ServiceError as exc:
        messages.error(request, str(exc))
    return redirect(_roster_url(room, target))


# --- clock in / out ------------------------------------------------------------------------------------------
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


def _attendance_json(a: Attendance) -> dict[str, Any]:
    return {
        "id": a.pk,
        "room": a.room.name,
        "clock_in_at": _local(a.clock_in_at).isoformat(),
        "clock_out_at": _local(a.clock_out_at).isoformat() if a.clock_out_at else None,
        "distance_m": a.in_distance_m,
        "no_shift": a.no_shift,
        "late": a.late,
        "late_minutes": a.late_minutes,
        "out_outside": a.out_outside,
        "auto_closed": a.auto_closed,
    }


def _require_duty_staff(user):
    staff = access.duty_staff(user)
    if staff is None:
        raise PermissionDenied(_("您的账号未关联可在警务室值守的人员（民警、协勤员或巡防队员）"))
    return staff


@login_required
def clock(request):
    now = timezone.now()
    staff = access.duty_staff(request.user)
    context: dict[str, Any] = {"staff": staff, "now": now}
    if staff is not None:
        # A forgotten clock-out (open past the horizon) no longer holds the page: clocking in closes it.
        open_one = (
            Attendance.objects.filter(
                staff=staff, clock_out_at__isnull=True, clock_in_at__gte=services.rules.forgotten_before(now)
            )
            .select_related("room")
            .first()
        )
        rooms = list(access.clockable_rooms(request.user, staff, now))
        shifts = list(
            RoomShift.objects.filter(
                staff=staff, ends_at__gt=now, starts_at__lt=now + dt.timedelta(hours=24)
            ).select_related("room")
        )
        current = next((s for s in shifts if s.starts_at <= now + services.rules.EARLY_CLOCK_IN), None)
        context.update(
            {
                "open": open_one,
                "rooms": rooms,
                "shifts": [
                    {"shift": s, "start": _local(s.starts_at), "end": _local(s.ends_at)} for s in shifts
                ],
                "default_room": current.room_id if current else (rooms[0].pk if rooms else None),
                "recent": Attendance.objects.filter(staff=staff).select_related("room")[:5],
            }
        )
    response = _render(request, "duty/clock.html", context)
    response["Cache-Control"] = "no-store, max-age=0"
    return response


@json_endpoint
def clock_in(request):
    staff = _require_duty_staff(request.user)
    now = timezone.now()
    room_id = request.POST.get("room", "")
    room_pk = int(room_id) if room_id.isascii() and room_id.isdigit() and len(room_id) <= 18 else None
    if room_pk is None:
        raise ServiceError(_("请选择警务室"))
    room = access.clockable_rooms(request.user, staff, now).filter(pk=room_pk).first()
    if room is None:
        raise Http404
    form = ClockForm(request.POST)
    if not form.is_valid():
        raise ServiceError(first_error(form))
    d = form.cleaned_data
    attendance = services.clock_in(
        staff=staff, room=room, lng=d["lng"], lat=d["lat"], accuracy=d["accuracy"], by=request.user, now=now
    )
    if attendance.late:
        message = _("已签到（迟到 %(m)d 分钟）") % {"m": attendance.late_minutes}
    elif attendance.no_shift:
        message = _("已签到（无排班）")
    else:
        message = _("已签到")
    return JsonResponse({"detail": message, "attendance": _attendance_json(attendance)}, status=201)


@json_endpoint
def clock_out(request):
    staff = _require_duty_staff(request.user)
    form = ClockOutForm(request.POST)
    if not form.is_valid():
        raise ServiceError(first_error(form))
    d = form.cleaned_data
    attendance = services.clock_out(
        staff=staff, lng=d["lng"], lat=d["lat"], accuracy=d["accuracy"], by=request.user
    )
    message = _("已签退（不在警务室范围内）") if attendance.out_outside else _("已签退")
    return JsonResponse({"detail": message, "attendance": _attendance_json(attendance)})


urlpatterns: list[URLPattern] = [
    path("", board, name="board"),
    path("gaps/", gaps, name="gaps"),
    path("rooms/<int:pk>/roster/", roster, name="roster"),
    path("rooms/<int:pk>/shifts/new/", shift_new, name="shift_new"),
    path("rooms/<int:pk>/copy-week/", copy_week, name="copy_week"),
    path("shifts/<int:pk>/edit/", shift_edit, name="shift_edit"),
    path("shifts/<int:pk>/delete/", shift_delete, name="shift_delete"),
    path("clock/", clock, name="clock"),
    path("clock/in/", clock_in, name="clock_in"),
    path("clock/out/", clock_out, name="clock_out"),
]
