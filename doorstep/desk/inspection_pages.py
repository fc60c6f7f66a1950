"""Pages of the 五统一 inspections: the sub-bureau overview (and its GeoJSON for the map), a room's history,
filling in an inspection on a phone, rectification tasks, the checklist and its versions, and the photos.

Reads through `inspections` selectors (404 outside the territory or for roles without the desk); writes
through `inspections` services (a role that sees but may not act gets a 403 with a Chinese reason).
Photos are served only through the scoped views here, `Cache-Control: private, no-store`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from doorstep.alarms.forms import ServiceErrorsMixin
from doorstep.core.errors import ServiceError
from doorstep.core.forms import StyledForm, form_errors_text
from doorstep.core.photos import private_file_response
from doorstep.desk import inspections as insp
from doorstep.desk import selectors
from doorstep.desk.choices import InspectionStatus, TaskStatus
from doorstep.desk.models import Checklist
from doorstep.desk.views import _private
from doorstep.registry.forms import DATE_WIDGET

REQUIRED = {"required": gettext_lazy("此项为必填项")}


# --- forms ---------------------------------------------------------------------------------------------------
class SubmitForm(ServiceErrorsMixin, StyledForm):
    """Who puts the failed items right, and by when (only needed when something failed)."""

    owner = forms.ModelChoiceField(
        label=gettext_lazy("整改责任人"),
        queryset=None,
        required=False,
        error_messages={"invalid_choice": gettext_lazy("请选择本所在职人员")},
    )
    due_on = forms.DateField(
        label=gettext_lazy("整改期限"),
        required=False,
        widget=DATE_WIDGET,
        error_messages={"invalid": gettext_lazy("请输入有效的日期")},
    )
    note = forms.CharField(
        label=gettext_lazy("检查意见"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": gettext_lazy("检查意见不能超过500字")},
    )

    def __init__(self, *args: Any, station_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = insp.task_owners(station_id)
        self.fields["owner"].empty_label = _("请选择")


class CloseTaskForm(ServiceErrorsMixin, StyledForm):
    note = forms.CharField(
        label=gettext_lazy("整改情况"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={**REQUIRED, "max_length": gettext_lazy("整改情况不能超过300字")},
    )
    # A plain file field: the service decides whether it is an image (Pillow), with a Chinese reason.
    photo = forms.FileField(
        label=gettext_lazy("整改后照片"),
        error_messages={
            **REQUIRED,
            "invalid": gettext_lazy("请选择照片文件"),
            "empty": gettext_lazy("上传的文件为空"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photo"].widget.attrs.update({"accept": "image/*", "capture": "environment"})


class ChecklistForm(ServiceErrorsMixin, StyledForm):
    error_fields = {"items": "items"}
    items = forms.CharField(
        label=gettext_lazy("检查项（每行：类别 | 检查内容 | 分值）"),
        widget=forms.Textarea(attrs={"rows": 18}),
        max_length=20000,
        error_messages={**REQUIRED, "max_length": gettext_lazy("内容过长")},
    )
    note = forms.CharField(
        label=gettext_lazy("修订说明"),
        max_length=200,
        required=False,
        error_messages={"max_length": gettext_lazy("修订说明不能超过200字")},
    )

    def clean_items(self) -> list[tuple[str, str, int]]:
        try:
            return insp.parse_checklist(self.cleaned_data["items"])
        except ServiceError as exc:
            raise forms.ValidationError(str(exc)) from exc


# --- helpers -------------------------------------------------------------------------------------------------
def _decorate_tasks(tasks, today: dt.date):
    for task in tasks:
        task.is_overdue = insp.is_overdue(task, today)
    return tasks


def _decorate_rooms(rooms, now: dt.datetime):
    for room in rooms:
        room.stale = insp.is_stale(room.last_at, now)
        room.open_tasks = room.open_tasks or 0
        room.overdue_tasks = room.overdue_tasks or 0
    return rooms


# --- overview, map, history ----------------------------------------------------------------------------------
@login_required
@require_GET
def overview(request):
    """Every room of the territory: latest score, last inspection (stale after 90 days), open/overdue tasks."""
    user = request.user
    selectors.require_view(user)
    now = timezone.now()
    rooms = _decorate_rooms(list(insp.rooms_overview(user, timezone.localdate(now))), now)
    return render(
        request,
        "desk/inspection_overview.html",
        {
            "rooms": rooms,
            "stale_days": insp.STALE_DAYS,
            "stale_count": sum(1 for r in rooms if r.stale),
            "open_total": sum(r.open_tasks for r in rooms),
            "overdue_total": sum(r.overdue_tasks for r in rooms),
            "can_inspect": insp.may_inspect(user),
            "checklist": insp.current_checklist(),
        },
    )


def _status(room) -> str:
    if room.overdue_tasks:
        return "overdue"
    if room.stale:
        return "stale"
    if room.open_tasks:
        return "open_tasks"
    return "ok"


@login_required
@require_GET
def rooms_geojson(request):
    """The overview as a FeatureCollection of points (WGS-84), for the map: one feature per room."""
    user = request.user
    selectors.require_view(user)
    now = timezone.now()
    rooms = _decorate_rooms(list(insp.rooms_overview(user, timezone.localdate(now))), now)
    features = [
        {
            "type": "Feature",
            "id": room.pk,
            "geometry": {"type": "Point", "coordinates": [room.lng, room.lat]},
            "properties": {
                "id": room.pk,
                "name": room.name,
                "community": room.community.name,
                "station": room.community.station.name,
                "score": float(room.last_score) if room.last_score is not None else None,
                "last_inspected_at": room.last_at.isoformat() if room.last_at else None,
                "stale": room.stale,
                "open_tasks": room.open_tasks,
                "overdue_tasks": room.overdue_tasks,
                "status": _status(room),
                "url": f"/desk/inspections/rooms/{room.pk}/",
            },
        }
        for room in rooms
    ]
    response = JsonResponse({"type": "FeatureCollection", "features": features})
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def room_history(request, pk: int):
    user = request.user
    room = selectors.get_room_for(user, pk)
    today = timezone.localdate()
    inspections = list(
        insp.inspections_for(user)
        .filter(room=room)
        .select_related("inspector")
        .order_by("-started_at", "-id")[:200]
    )
    tasks = _decorate_tasks(
        list(insp.tasks_for(user).filter(room=room, status=TaskStatus.OPEN).order_by("due_on", "id")), today
    )
    return render(
        request,
        "desk/inspection_room.html",
        {
            "room": room,
            "inspections": inspections,
            "tasks": tasks,
            "can_inspect": insp.may_inspect(user, room),
            "my_draft": next(
                (i for i in inspections if i.status == InspectionStatus.DRAFT and i.inspector_id == user.pk),
                None,
            ),
        },
    )


@login_required
@require_POST
def inspection_start(request, pk: int):
    user = request.user
    room = selectors.get_room_for(user, pk)
    try:
        inspection = insp.start_inspection(room, by=user)
    except ServiceError as exc:
        if exc.status == 403:
            raise PermissionDenied(str(exc)) from exc
        messages.error(request, str(exc))
        return redirect("desk:inspection_room", pk=room.pk)
    return redirect("desk:inspection_edit", pk=inspection.pk)


# --- one inspection ------------------------------------------------------------------------------------------
def _rows(inspection):
    rows = list(inspection.rows.prefetch_related("photos"))
    groups: list[tuple[str, list]] = []
    for row in rows:
        if not groups or groups[-1][0] != row.category:
            groups.append((row.category, []))
        groups[-1][1].append(row)
    return rows, groups


@login_required
@require_GET
def inspection_detail(request, pk: int):
    user = request.user
    inspection = insp.get_inspection_for(user, pk)
    if inspection.status == InspectionStatus.DRAFT and inspection.inspector_id == user.pk:
        return redirect("desk:inspection_edit", pk=inspection.pk)
    _rows_, groups = _rows(inspection)
    tasks = _decorate_tasks(list(inspection.tasks.select_related("owner", "row")), timezone.localdate())
    return _private(
        render(
            request,
            "desk/inspection_detail.html",
            {"inspection": inspection, "groups": groups, "tasks": tasks},
        )
    )


def _parse_results(request, rows) -> tuple[dict[int, insp.RowResult], dict[int, list], list[str]]:
    """The rows' results from the POST. A row (or a row's field) missing from the POST keeps what is saved:
    a partial POST — a page cut short on a phone connection, an old form — never wipes judgments. (The page
    always sends every note box, so a row whose radio buttons are both unchecked is posted as unjudged.)"""
    results: dict[int, insp.RowResult] = {}
    photos: dict[int, list] = {}
    errors: list[str] = []
    for row in rows:
        passed_key, note_key = f"passed-{row.pk}", f"note-{row.pk}"
        if passed_key in request.POST or note_key in request.POST:
            if passed_key in request.POST:
                passed = {"1": True, "0": False}.get(request.POST[passed_key])
            else:
                passed = row.passed
            note = request.POST.get(note_key, row.note)
            if len(note) > 300:
                errors.append(_("“%(item)s”的说明不能超过300字") % {"item": row.text[:20]})
                note = note[:300]
            results[row.pk] = insp.RowResult(passed=passed, note=note)
        files = request.FILES.getlist(f"photos-{row.pk}")
        if files:
            photos[row.pk] = files
    return results, photos, errors


@login_required
def inspection_edit(request, pk: int):
    """Fill in a draft on the phone: each item 合格/不合格 + note + photos; save, or submit."""
    user = request.user
    inspection = insp.get_inspection_for(user, pk)
    if inspection.status != InspectionStatus.DRAFT:
        return redirect("desk:inspection_detail", pk=inspection.pk)
    if inspection.inspector_id != user.pk or not insp.may_inspect(user, inspection.room):
        raise PermissionDenied(_("只有发起本次检查的检查人可以填写和提交"))
    room = inspection.room
    rows, groups = _rows(inspection)
    initial_owner = insp.default_owner(room)
    submit_form = SubmitForm(
        request.POST if request.method == "POST" else None,
        station_id=inspection.station_id,
        initial={
            "owner": initial_owner.pk if initial_owner else None,
            "due_on": timezone.localdate() + dt.timedelta(days=insp.INSPECTION_TASK_DAYS),
            "note": inspection.note,
        },
    )
    errors: list[str] = []
    if request.method == "POST":
        results, photos, errors = _parse_results(request, rows)
        action = request.POST.get("action", "save")
        if not errors and submit_form.is_valid():
            data = submit_form.cleaned_data
            try:
                note = data["note"] if "note" in request.POST else None  # not posted: keep the saved one
                insp.record_results(inspection, results=results, photos=photos, note=note, by=user)
                if action == "submit":
                    insp.submit_inspection(
                        inspection, owner=data.get("owner"), due_on=data.get("due_on"), by=user
                    )
            except ServiceError as exc:
                if exc.status == 403:
                    raise PermissionDenied(str(exc)) from exc
                if exc.code in ("owner", "due_on"):
                    submit_form.add_service_error(exc)
                else:
                    errors.append(str(exc))
            else:
                if action == "submit":
                    inspection.refresh_from_db()
                    messages.success(
                        request,
                        _("检查已提交，得分 %(score)s，生成整改任务 %(n)d 项")
                        % {"score": inspection.score, "n": inspection.tasks.count()},
                    )
                    return redirect("desk:inspection_detail", pk=inspection.pk)
                messages.success(request, _("已保存"))
                return redirect("desk:inspection_edit", pk=inspection.pk)
        elif submit_form.errors:
            errors.append(form_errors_text(submit_form))
        # Show what was entered (the saved state plus this POST) so nothing typed is lost.
        for row in rows:
            result = results.get(row.pk)
            if result is not None:
                row.passed, row.note = result.passed, result.note
    return _private(
        render(
            request,
            "desk/inspection_form.html",
            {
                "inspection": inspection,
                "room": room,
                "groups": groups,
                "form": submit_form,
                "errors": errors,
                "max_photos": insp.MAX_PHOTOS_PER_ROW,
            },
            status=400 if errors or (submit_form.is_bound and submit_form.errors) else 200,
        )
    )


@login_required
@require_GET
def inspection_photo(request, pk: int):
    photo = insp.get_photo_for(request.user, pk)
    return private_file_response(photo.image)


# --- tasks ---------------------------------------------------------------------------------------------------
@login_required
@require_GET
def task_list(request):
    user = request.user
    selectors.require_view(user)
    today = timezone.localdate()
    show = request.GET.get("show", "open")
    qs = insp.tasks_for(user).select_related("room", "owner", "row").order_by("due_on", "id")
    if show == "overdue":
        qs = insp.overdue_tasks(qs, today)
    elif show == "closed":
        qs = qs.filter(status=TaskStatus.CLOSED).order_by("-closed_at", "-id")
    elif show == "mine":
        qs = qs.filter(owner_id=user.staff_id or 0, status=TaskStatus.OPEN)
    else:
        show = "open"
        qs = qs.filter(status=TaskStatus.OPEN)
    tasks = _decorate_tasks(list(qs[:300]), today)
    return render(
        request,
        "desk/inspection_tasks.html",
        {
            "tasks": tasks,
            "show": show,
            "overdue_count": insp.overdue_tasks(insp.tasks_for(user), today).count(),
        },
    )


@login_required
def task_detail(request, pk: int):
    """A task, and for its owner or the director the form that closes it (POST)."""
    user = request.user
    task = insp.get_task_for(user, pk)
    can_close = task.status == TaskStatus.OPEN and insp.may_close(user, task)
    form = None
    status = 200
    if request.method == "POST":
        if not insp.may_close(user, task):
            raise PermissionDenied(_("只有整改责任人或所长可以确认整改完成"))
        form = CloseTaskForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                insp.close_task(
                    task, note=form.cleaned_data["note"], photo=form.cleaned_data["photo"], by=user
                )
            except ServiceError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("整改任务已完成"))
                return redirect("desk:inspection_task", pk=task.pk)
        status = 400
    elif can_close:
        form = CloseTaskForm()
    task.is_overdue = insp.is_overdue(task, timezone.localdate())
    return _private(
        render(
            request,
            "desk/inspection_task.html",
            {"task": task, "form": form, "can_close": can_close, "photos": task.row.photos.all()},
            status=status,
        )
    )


@login_required
@require_GET
def task_photo(request, pk: int):
    task = insp.get_task_for(request.user, pk)
    if not task.close_photo:
        raise Http404
    return private_file_response(task.close_photo)


# --- checklist -----------------------------------------------------------------------------------------------
def _checklist_text(checklist) -> str:
    if checklist is None:
        return ""
    return "\n".join(f"{i.category} | {i.text} | {i.points}" for i in checklist.items.all())


@login_required
@require_GET
def checklist(request):
    selectors.require_view(request.user)
    versions = list(Checklist.objects.select_related("published_by").prefetch_related("items")[:50])
    current = versions[0] if versions else None
    groups: list[tuple[str, list, int]] = []
    if current is not None:
        for item in current.items.all():
            if not groups or groups[-1][0] != item.category:
                groups.append((item.category, [], 0))
            groups[-1][1].append(item)
        groups = [(c, items, sum(i.points for i in items)) for c, items, _n in groups]
    return render(
        request,
        "desk/inspection_checklist.html",
        {
            "current": current,
            "groups": groups,
            "total": sum(n for _c, _i, n in groups),
            "versions": versions,
            "can_edit": insp.may_edit_checklist(request.user),
        },
    )


@login_required
def checklist_edit(request):
    user = request.user
    selectors.require_view(user)
    if not insp.may_edit_checklist(user):
        raise PermissionDenied(_("只有分局领导或系统管理员可以修改检查标准"))
    current = insp.current_checklist()
    form = ChecklistForm(
        request.POST if request.method == "POST" else None, initial={"items": _checklist_text(current)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            checklist = insp.publish_checklist(
                items=form.cleaned_data["items"], note=form.cleaned_data["note"], by=user
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已发布检查标准第%(v)d版") % {"v": checklist.version})
            return redirect("desk:inspection_checklist")
    return render(
        request,
        "desk/inspection_checklist_form.html",
        {"form": form, "current": current},
        status=400 if form.is_bound and form.errors else 200,
    )


urlpatterns = [
    path("inspections/", overview, name="inspection_overview"),
    path("inspections/rooms.geojson", rooms_geojson, name="inspection_rooms_geojson"),
    path("inspections/rooms/<int:pk>/", room_history, name="inspection_room"),
    path("inspections/rooms/<int:pk>/start/", inspection_start, name="inspection_start"),
    path("inspections/<int:pk>/", inspection_detail, name="inspection_detail"),
    path("inspections/<int:pk>/edit/", inspection_edit, name="inspection_edit"),
    path("inspections/photos/<int:pk>/", inspection_photo, name="inspection_photo"),
    path("inspections/tasks/", task_list, name="inspection_tasks"),
    path("inspections/tasks/<int:pk>/", task_detail, name="inspection_task"),
    path("inspections/tasks/<int:pk>/photo/", task_photo, name="inspection_task_photo"),
    path("inspections/checklist/", checklist, name="inspection_checklist"),
    path("inspections/checklist/edit/", checklist_edit, name="inspection_checklist_edit"),
]
