"""The patrol tour form (with its ordered camera picker) and the FilterSet of the runs' oversight page. Forms
only parse input and say in Chinese what is wrong with it; `services.save_tour` validates again and writes."""

from __future__ import annotations

import re
from typing import Any

import django_filters as filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doorstep.core.forms import StyledForm
from doorstep.core.ids import ascii_digits
from doorstep.org.filtersets import ScopedFilterSet
from doorstep.org.models import GridAssignment
from doorstep.video import access
from doorstep.video.choices import RunStatus
from doorstep.video.models import Camera, PatrolTour, TourRun
from doorstep.video.services import MAX_TOUR_STOPS

STOP_KEY = re.compile(r"^stop_(\d{1,18})$")
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def patrollers(station_id: int):
    """Who may be assigned a tour of the station: its people (station staff, the grid teams of its grids)
    whose role may patrol."""
    posted = GridAssignment.objects.current().filter(grid__community__station_id=station_id)
    return (
        get_user_model()
        .objects.filter(is_active=True, role__in=access.PATROL_ROLES)
        .filter(
            Q(station_id=station_id)
            | Q(community__station_id=station_id)
            | Q(staff_id__in=posted.values("staff_id"))
        )
        .order_by("role", "display_name", "username")
    )


class AssigneeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj} · {obj.get_role_display()}"


class TourForm(StyledForm):
    """巡查计划: name, daily window, interval, grace, who runs it, and the cameras in order (picker)."""

    name = forms.CharField(label=gettext_lazy("计划名称"), max_length=60)
    start_time = forms.TimeField(label=gettext_lazy("开始时间"), widget=TIME_WIDGET)
    end_time = forms.TimeField(
        label=gettext_lazy("结束时间"),
        widget=TIME_WIDGET,
        help_text=gettext_lazy("早于开始时间表示跨午夜；与开始时间相同表示全天"),
    )
    interval_minutes = forms.IntegerField(label=gettext_lazy("间隔（分钟）"), initial=120)
    grace_minutes = forms.IntegerField(
        label=gettext_lazy("允许延迟（分钟）"),
        initial=15,
        help_text=gettext_lazy("超过应巡时间这么久才开始的巡查记为迟巡"),
    )
    assignee = AssigneeChoiceField(
        label=gettext_lazy("巡查民警"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=gettext_lazy("— 不指定（由值班岗位执行）—"),
    )
    duty_post = forms.CharField(
        label=gettext_lazy("值班岗位"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("如“视频巡查岗”：本所岗位上的人都可执行"),
    )
    active = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)
    # Not an input of its own: the picker's `stop_<camera id>` numbers; errors about the cameras go here.
    stops = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, station_id: int, tour: PatrolTour | None = None, **kwargs: Any) -> None:
        if tour is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": tour.name,
                "start_time": tour.start_time,
                "end_time": tour.end_time,
                "interval_minutes": tour.interval_minutes,
                "grace_minutes": tour.grace_minutes,
                "assignee": tour.assignee_id,
                "duty_post": tour.duty_post,
                "active": tour.active,
            }
        super().__init__(*args, **kwargs)
        self.station_id, self.tour = station_id, tour
        self.fields["assignee"].queryset = patrollers(station_id)
        self.station_cameras = list(Camera.objects.filter(station_id=station_id).order_by("code"))
        self.chosen: list[Camera] = []

    # --- the picker ---------------------------------------------------------------------------------------
    def picker_rows(self) -> list[dict[str, Any]]:
        """The station's cameras for the picker: the chosen ones first, in their order, then the others."""
        if self.is_bound:
            numbers = {c.pk: (self.data.get(f"stop_{c.pk}") or "").strip() for c in self.station_cameras}
        elif self.tour is not None:
            positions = {s.camera_id: s.position + 1 for s in self.tour.stops.all()}
            numbers = {c.pk: str(positions.get(c.pk, "")) for c in self.station_cameras}
        else:
            numbers = {c.pk: "" for c in self.station_cameras}

        def key(item: tuple[int, Camera]) -> tuple[int, int, int]:
            index, camera = item
            value = numbers[camera.pk]
            if ascii_digits(value) and len(value) <= 4:
                return (0, int(value), index)
            return (1, 0, index)

        ordered = sorted(enumerate(self.station_cameras), key=key)
        return [{"camera": c, "number": numbers[c.pk]} for _i, c in ordered]

    def _clean_stops(self) -> list[Camera]:
        by_id = {c.pk: c for c in self.station_cameras}
        picked: list[tuple[int, int, Camera]] = []
        for index, (key, raw) in enumerate(self.data.items()):
            match = STOP_KEY.match(key)
            if match is None:
                continue
            value = (raw or "").strip()
            if not value:
                continue
            camera = by_id.get(int(match.group(1)))
            if camera is None:
                raise forms.ValidationError(_("巡查点位须是本所的摄像机"))
            if not ascii_digits(value) or len(value) > 4 or int(value) < 1:
                raise forms.ValidationError(_("“%(camera)s”的顺序须是正整数") % {"camera": camera.name})
            picked.append((int(value), index, camera))
        if not picked:
            raise forms.ValidationError(_("请至少选择一台摄像机"))
        if len(picked) > MAX_TOUR_STOPS:
            raise forms.ValidationError(_("一个巡查计划最多 %(n)s 个点位") % {"n": MAX_TOUR_STOPS})
        picked.sort(key=lambda p: (p[0], p[1]))
        # Two cameras with one number: which comes first would be a guess (the page's script renumbers, so
        # only a hand-typed form gets here).
        for (number, _i, first), (again, _j, second) in zip(picked, picked[1:], strict=False):
            if number == again:
                raise forms.ValidationError(
                    _("“%(a)s”和“%(b)s”的顺序都是 %(n)s，请填写不同的数字")
                    % {"a": first.name, "b": second.name, "n": number}
                )
        return [camera for _n, _i, camera in picked]

    # --- validation -------------------------------------------------------------------------------------
    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("请填写计划名称"))
        duplicate = PatrolTour.objects.filter(station_id=self.station_id, name=name)
        if duplicate.exclude(pk=self.tour.pk if self.tour else None).exists():
            raise forms.ValidationError(_("本所已有名为“%(name)s”的巡查计划") % {"name": name})
        return name

    def clean_interval_minutes(self) -> int:
        value = self.cleaned_data["interval_minutes"]
        if not 10 <= value <= 24 * 60:
            raise forms.ValidationError(_("间隔须在 10 分钟到 24 小时（1440 分钟）之间"))
        return value

    def clean_grace_minutes(self) -> int:
        value = self.cleaned_data["grace_minutes"]
        if value < 0:
            raise forms.ValidationError(_("允许延迟不能为负数"))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            self.chosen = self._clean_stops()
        except forms.ValidationError as exc:
            self.add_error("stops", exc)
        interval, grace = data.get("interval_minutes"), data.get("grace_minutes")
        if interval is not None and grace is not None and grace >= interval:
            self.add_error("grace_minutes", _("允许延迟须小于间隔"))
        if not data.get("assignee") and not (data.get("duty_post") or "").strip():
            self.add_error("assignee", _("请指定巡查民警或值班岗位"))
        return data

    def save_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "station_id": self.station_id,
            "name": data["name"],
            "cameras": self.chosen,
            "start_time": data["start_time"],
            "end_time": data["end_time"],
            "interval_minutes": data["interval_minutes"],
            "grace_minutes": data["grace_minutes"],
            "assignee": data.get("assignee"),
            "duty_post": data.get("duty_post") or "",
            "active": bool(data.get("active")),
        }


class TourRunFilterSet(ScopedFilterSet):
    """The oversight page's filters: tour, status, late only, the day it was due."""

    tour = filters.ModelChoiceFilter(
        label=gettext_lazy("巡查计划"), queryset=PatrolTour.objects.all(), empty_label=gettext_lazy("全部")
    )
    status = filters.ChoiceFilter(
        label=gettext_lazy("状态"), choices=RunStatus.choices, empty_label=gettext_lazy("全部")
    )
    late = filters.BooleanFilter(
        label=gettext_lazy("只看迟巡"), method="filter_late", widget=forms.CheckboxInput
    )
    date = filters.DateFilter(
        label=gettext_lazy("应巡日期"),
        field_name="due_at",
        lookup_expr="date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    class Meta:
        model = TourRun
        fields = ["tour", "status", "late", "date"]

    def filter_late(self, qs, name, value):
        return qs.filter(late=True) if value else qs
