"""One FilterSet per model of the video pages (rule 4). Choice filters offer only what lies inside the
user's territory (`ScopedFilterSet`); the querysets they filter come from `selectors`."""

from __future__ import annotations

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doorstep.org.filtersets import ScopedFilterSet
from doorstep.org.models import Grid, Station
from doorstep.video.choices import BroadcastSource, CameraStatus, Driver, EventStatus, Hotspot
from doorstep.video.models import Broadcast, Camera, CameraGroup, MotionEvent, Speaker

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
YES_NO = [("true", _("是")), ("false", _("否"))]
ALL = _("全部")


class _YesNoFilter(filters.ChoiceFilter):
    """启用: 全部/是/否 as a select (a BooleanFilter's widget offers "未知")."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", YES_NO)
        kwargs.setdefault("empty_label", ALL)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in ("true", "false"):
            return qs.filter(**{self.field_name: value == "true"})
        return qs


def _station_filter() -> filters.ModelChoiceFilter:
    return filters.ModelChoiceFilter(
        label=_("派出所"), empty_label=ALL, queryset=Station.objects.order_by("code")
    )


def _day_filters(field: str) -> tuple[filters.DateFilter, filters.DateFilter]:
    """起始日期 / 截止日期 on the local day of a datetime field, both ends included."""

    def day(label, lookup: str) -> filters.DateFilter:
        return filters.DateFilter(label=label, field_name=field, lookup_expr=lookup, widget=DATE_WIDGET)

    return day(_("起始日期"), "date__gte"), day(_("截止日期"), "date__lte")


class _SearchFilterSet(ScopedFilterSet):
    """`q`: a part of the name, code or mounting place (cameras and speakers)."""

    q = filters.CharFilter(label=_("名称、编号或位置"), method="filter_q")

    def filter_q(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(name__icontains=value) | Q(code__icontains=value) | Q(location__icontains=value))


class CameraFilterSet(_SearchFilterSet):
    station = _station_filter()
    grid = filters.ModelChoiceFilter(label=_("网格"), empty_label=ALL, queryset=Grid.objects.order_by("code"))
    group = filters.ModelChoiceFilter(label=_("分组"), empty_label=ALL, queryset=CameraGroup.objects.all())
    hotspot = filters.ChoiceFilter(label=_("热点类型"), empty_label=ALL, choices=Hotspot.choices)
    status = filters.ChoiceFilter(label=_("状态"), empty_label=ALL, choices=CameraStatus.choices)
    enabled = _YesNoFilter(label=_("启用"))

    class Meta:
        model = Camera
        fields = ["q", "station", "grid", "group", "hotspot", "status", "enabled"]


class SpeakerFilterSet(_SearchFilterSet):
    grid = filters.ModelChoiceFilter(label=_("网格"), empty_label=ALL, queryset=Grid.objects.order_by("code"))
    zone = filters.CharFilter(label=_("广播分区"), field_name="zone")
    driver = filters.ChoiceFilter(label=_("接入方式"), empty_label=ALL, choices=Driver.choices)
    active = _YesNoFilter(label=_("启用"))

    class Meta:
        model = Speaker
        fields = ["q", "grid", "zone", "driver", "active"]


class MotionEventFilterSet(ScopedFilterSet):
    station = _station_filter()
    camera = filters.ModelChoiceFilter(label=_("摄像机"), empty_label=ALL, queryset=Camera.objects.all())
    status = filters.ChoiceFilter(label=_("处理状态"), empty_label=ALL, choices=EventStatus.choices)
    start, end = _day_filters("detected_at")

    class Meta:
        model = MotionEvent
        fields = ["station", "camera", "status", "start", "end"]


class BroadcastFilterSet(ScopedFilterSet):
    q = filters.CharFilter(label=_("播报内容"), field_name="text", lookup_expr="icontains")
    station = _station_filter()
    source = filters.ChoiceFilter(label=_("发起位置"), empty_label=ALL, choices=BroadcastSource.choices)
    start, end = _day_filters("created_at")

    class Meta:
        model = Broadcast
        fields = ["q", "station", "source", "start", "end"]
