"""One FilterSet per model, shared by the HTML lists and the API."""

from __future__ import annotations

import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doorstep.core.forms import yes_no_select
from doorstep.org.choices import Position, RequestStatus, StaffKind
from doorstep.org.models import (
    Community,
    DepartureRequest,
    Grid,
    GridAssignment,
    PoliceRoom,
    Secondment,
    Staff,
    Station,
)
from doorstep.org.territory import Territory


class ScopedFilterSet(filters.FilterSet):
    """Choice filters offer only objects inside the requesting user's territory."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        territory = Territory.for_user(user)
        for f in self.filters.values():
            queryset = getattr(f, "queryset", None)
            if queryset is not None and hasattr(queryset.model, "TERRITORY"):
                f.queryset = territory.filter(queryset)


class StationFilterSet(ScopedFilterSet):
    q = filters.CharFilter(label=_("名称"), field_name="name", lookup_expr="icontains")

    class Meta:
        model = Station
        fields = ["q", "area_type"]


class CommunityFilterSet(ScopedFilterSet):
    q = filters.CharFilter(label=_("名称"), field_name="name", lookup_expr="icontains")

    class Meta:
        model = Community
        fields = ["q", "station", "street"]


class GridFilterSet(ScopedFilterSet):
    q = filters.CharFilter(label=_("名称或编码"), method="filter_q")
    # `__id`, not the foreign key: an id beyond 64 bits is then no match, where the FK lookup overflows SQLite.
    station = filters.NumberFilter(label=_("派出所"), field_name="community__station__id")

    class Meta:
        model = Grid
        fields = ["q", "station", "community"]

    def filter_q(self, qs, name, value):
        return qs.filter(Q(name__icontains=value) | Q(code__icontains=value))


class PoliceRoomFilterSet(ScopedFilterSet):
    q = filters.CharFilter(label=_("名称"), field_name="name", lookup_expr="icontains")
    # `__id`, not the foreign key: an id beyond 64 bits is then no match, where the FK lookup overflows SQLite.
    station = filters.NumberFilter(label=_("派出所"), field_name="community__station__id")
    open_24h = filters.BooleanFilter(label=_("24小时开放"), widget=yes_no_select())

    class Meta:
        model = PoliceRoom
        fields = ["q", "station", "community", "open_24h"]


class StaffFilterSet(ScopedFilterSet):
    q = filters.CharFilter(label=_("姓名或警号"), method="filter_q")
    kind = filters.ChoiceFilter(label=_("人员类别"), choices=StaffKind.choices)
    active = filters.BooleanFilter(label=_("在职状态"), widget=yes_no_select(_("在职"), _("离职")))

    class Meta:
        model = Staff
        fields = ["q", "kind", "station", "active"]

    def filter_q(self, qs, name, value):
        return qs.filter(Q(name__icontains=value) | Q(badge_number__icontains=value))


class GridAssignmentFilterSet(ScopedFilterSet):
    position = filters.ChoiceFilter(label=_("岗位"), choices=Position.choices)
    current = filters.BooleanFilter(
        label=_("仅在岗"), field_name="ended_on", lookup_expr="isnull", widget=yes_no_select()
    )
    station = filters.NumberFilter(label=_("派出所"), field_name="grid__community__station__id")  # see above

    class Meta:
        model = GridAssignment
        fields = ["grid", "staff", "position", "current", "station"]


class DepartureRequestFilterSet(ScopedFilterSet):
    status = filters.ChoiceFilter(label=_("状态"), choices=RequestStatus.choices)

    class Meta:
        model = DepartureRequest
        fields = ["status"]


class SecondmentFilterSet(ScopedFilterSet):
    status = filters.ChoiceFilter(label=_("状态"), choices=RequestStatus.choices)

    class Meta:
        model = Secondment
        fields = ["status", "staff"]
