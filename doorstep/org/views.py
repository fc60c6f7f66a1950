"""Organisation pages. Reads go through selectors (scoped), writes through services."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.accounts.choices import Role
from doorstep.core.errors import ServiceError
from doorstep.core.ids import ascii_digits
from doorstep.org import selectors, services
from doorstep.org.choices import RequestStatus
from doorstep.org.filtersets import GridFilterSet, PoliceRoomFilterSet, StaffFilterSet
from doorstep.org.forms import (
    AssignForm,
    DecisionForm,
    DepartureRequestForm,
    EndAssignmentForm,
    PoliceRoomForm,
    SecondmentForm,
    StaffForm,
)
from doorstep.org.territory import Territory, get_in_territory


def _paginate(request, qs, per_page=50):
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


def _can_manage(user, station_id: int) -> bool:
    return (
        user.is_superuser
        or user.role == Role.ADMIN
        or (user.role == Role.DIRECTOR and user.station_id == station_id)
    )


@login_required
def station_list(request):
    stations = selectors.stations_for(request.user).annotate(
        community_count=Count("communities", distinct=True),
        grid_count=Count("communities__grids", distinct=True),
    )
    return render(request, "org/station_list.html", {"stations": stations})


@login_required
def station_detail(request, pk: int):
    station = get_in_territory(request.user, selectors.stations_for(request.user), pk=pk)
    communities = selectors.communities_for(request.user).filter(station=station).prefetch_related("grids")
    rooms = {
        r.community_id: r for r in selectors.police_rooms_for(request.user).filter(community__station=station)
    }
    rows = [(c, rooms.get(c.pk), Territory.for_user(request.user).filter(c.grids.all())) for c in communities]
    return render(request, "org/station_detail.html", {"station": station, "rows": rows})


@login_required
def grid_list(request):
    filterset = GridFilterSet(
        request.GET or None, queryset=selectors.grids_for(request.user), request=request
    )
    return render(
        request, "org/grid_list.html", {"filter": filterset, "page": _paginate(request, filterset.qs)}
    )


@login_required
def grid_detail(request, pk: int):
    grid = get_in_territory(request.user, selectors.grids_for(request.user), pk=pk)
    posts = grid.assignments.select_related("staff").order_by("-ended_on", "position", "started_on")
    today = timezone.localdate()
    can_manage = _can_manage(request.user, grid.community.station_id)
    context = {
        "grid": grid,
        "current": [p for p in posts if p.ended_on is None],
        "history": [p for p in posts if p.ended_on is not None],
        "today": today,
        "can_manage": can_manage,
        "departures": selectors.departure_requests_for(request.user).filter(assignment__grid=grid),
    }
    if can_manage:
        context["assign_form"] = AssignForm(
            staff_qs=selectors.staff_for(request.user).filter(station_id=grid.community.station_id),
            initial={"started_on": today},
        )
    return render(request, "org/grid_detail.html", context)


@login_required
@require_POST
def grid_assign(request, pk: int):
    grid = get_in_territory(request.user, selectors.grids_for(request.user), pk=pk)
    form = AssignForm(
        request.POST, staff_qs=selectors.staff_for(request.user).filter(station_id=grid.community.station_id)
    )
    if form.is_valid():
        try:
            services.assign_to_grid(grid=grid, by=request.user, **form.cleaned_data)
        except ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("已任命"))
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}：{'；'.join(errors)}" if label else "；".join(errors))
    return redirect("org:grid_detail", pk=grid.pk)


@login_required
def assignment_end(request, pk: int):
    post = get_in_territory(request.user, selectors.assignments_for(request.user), pk=pk)
    today = timezone.localdate()
    needs_approval = services.needs_departure_approval(post, today)
    end_form = EndAssignmentForm(request.POST if "end" in request.POST else None, initial={"ended_on": today})
    request_form = DepartureRequestForm(
        request.POST if "request" in request.POST else None, initial={"leave_on": today}
    )
    if request.method == "POST":
        form = end_form if "end" in request.POST else request_form
        if form.is_valid():
            try:
                if form is end_form:
                    services.end_assignment(post, by=request.user, **form.cleaned_data)
                    messages.success(request, _("已办理离岗"))
                else:
                    services.request_departure(post, by=request.user, **form.cleaned_data)
                    messages.success(request, _("离岗申请已提交，等待所长审批"))
                return redirect("org:grid_detail", pk=post.grid_id)
            except ServiceError as exc:
                form.add_error(None, str(exc))
    return render(
        request,
        "org/assignment_end.html",
        {
            "post": post,
            "end_form": end_form,
            "request_form": request_form,
            "needs_approval": needs_approval,
            "tenure_days": post.tenure_days(today),
        },
    )


@login_required
def police_room_list(request):
    filterset = PoliceRoomFilterSet(
        request.GET or None, queryset=selectors.police_rooms_for(request.user), request=request
    )
    return render(
        request, "org/police_room_list.html", {"filter": filterset, "page": _paginate(request, filterset.qs)}
    )


@login_required
def police_room_edit(request, pk: int):
    room = get_in_territory(request.user, selectors.police_rooms_for(request.user), pk=pk)
    if not _can_manage(request.user, room.community.station_id):
        messages.error(request, _("只有本所所长或系统管理员可以修改警务室信息"))
        return redirect("org:police_room_list")
    form = PoliceRoomForm(request.POST or None, instance=room)
    if request.method == "POST" and form.is_valid():
        changes = {f: form.cleaned_data[f] for f in form.changed_data}
        # The ModelForm wrote its values onto `room`; reload so the service sees the stored state.
        room.refresh_from_db()
        try:
            services.update_police_room(room, by=request.user, **changes)
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("警务室信息已保存"))
            return redirect("org:police_room_list")
    return render(request, "org/police_room_form.html", {"form": form, "room": room})


@login_required
def staff_list(request):
    filterset = StaffFilterSet(
        request.GET or None, queryset=selectors.staff_for(request.user), request=request
    )
    can_add = any(_can_manage(request.user, s.pk) for s in selectors.stations_for(request.user))
    return render(
        request,
        "org/staff_list.html",
        {"filter": filterset, "page": _paginate(request, filterset.qs), "can_add": can_add},
    )


@login_required
def staff_detail(request, pk: int):
    member = get_in_territory(request.user, selectors.staff_for(request.user), pk=pk)
    # Scoped: a colleague of the same station is visible, their posts on other grids are not.
    posts = selectors.assignments_for(request.user).filter(staff=member).order_by("-started_on")
    return render(
        request,
        "org/staff_detail.html",
        {
            "member": member,
            "posts": posts,
            "secondments": member.secondments.order_by("-starts_on"),
            "today": timezone.localdate(),
        },
    )


@login_required
def staff_photo(request, pk: int):
    """Photos are personal data: served only to users who may see the person, never as a public file."""
    member = get_in_territory(request.user, selectors.staff_for(request.user), pk=pk)
    if not member.photo:
        raise Http404
    content_type = mimetypes.guess_type(member.photo.name)[0] or "application/octet-stream"
    response = FileResponse(member.photo.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=600"
    return response


@login_required
def staff_new(request):
    stations = selectors.stations_for(request.user).filter(
        pk__in=[s.pk for s in selectors.stations_for(request.user) if _can_manage(request.user, s.pk)]
    )
    if not stations.exists():
        raise Http404
    form = StaffForm(request.POST or None, request.FILES or None, stations=stations)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        station = data.pop("station")
        if data.get("photo") is None:
            data.pop("photo")
        try:
            member = services.create_staff(
                sub_bureau=station.sub_bureau, station=station, by=request.user, **data
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已添加警务人员"))
            return redirect("org:staff_detail", pk=member.pk)
    return render(request, "org/staff_form.html", {"form": form})


@login_required
def staffing(request):
    stations = selectors.stations_for(request.user)
    station_id = request.GET.get("station")
    station_id = int(station_id) if station_id and ascii_digits(station_id) else None  # 2**64: finds nothing
    if station_id is None and stations.count() == 1:
        station_id = stations.first().pk
    board = selectors.staffing_board(request.user, station_id=station_id)
    return render(
        request,
        "org/staffing.html",
        {
            "board": board,
            "stations": stations,
            "station_id": station_id,
            "today": timezone.localdate(),
            "tenure_min_days": 3 * 365,
        },
    )


@login_required
def approvals(request):
    user = request.user
    departures = selectors.departure_requests_for(user)
    secondments = selectors.secondments_for(user)
    stations = list(selectors.stations_for(user))
    managed = [s for s in stations if _can_manage(user, s.pk)]
    form = None
    if managed:
        form = SecondmentForm(
            request.POST or None, staff_qs=selectors.staff_for(user).filter(station__in=managed)
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.request_secondment(by=user, **form.cleaned_data)
            except ServiceError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("抽调申请已提交"))
                return redirect("org:approvals")
    today = timezone.localdate()
    return render(
        request,
        "org/approvals.html",
        {
            "pending_departures": departures.filter(status=RequestStatus.PENDING),
            "pending_secondments": secondments.filter(status=RequestStatus.PENDING),
            "active_secondments": secondments.filter(
                status=RequestStatus.APPROVED, ends_on__gte=today
            ).order_by("starts_on"),
            "history_departures": departures.exclude(status=RequestStatus.PENDING)[:20],
            "history_secondments": secondments.exclude(status=RequestStatus.PENDING)[:20],
            "secondment_form": form,
            "decision_form": DecisionForm(),
            "is_director": user.role == Role.DIRECTOR,
        },
    )


def _decide(request, qs, pk, service):
    obj = get_in_territory(request.user, qs, pk=pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            service(
                obj,
                approve=form.cleaned_data["decision"] == "approve",
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("审批已完成"))
    else:
        messages.error(request, _("请选择审批结果"))
    return redirect("org:approvals")


@login_required
@require_POST
def departure_decide(request, pk: int):
    return _decide(request, selectors.departure_requests_for(request.user), pk, services.decide_departure)


@login_required
@require_POST
def secondment_decide(request, pk: int):
    return _decide(request, selectors.secondments_for(request.user), pk, services.decide_secondment)
