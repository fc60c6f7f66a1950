"""One FilterSet per registry model, shared by the HTML lists and the API.

Grid, community and station choices offer only what lies inside the user's territory (`ScopedFilterSet`).
No filter on persons touches persons of concern: who is listed is visible only through `concerns/`.
"""

from __future__ import annotations

import django_filters as filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.core.forms import yes_no_select
from doorstep.org.filtersets import ScopedFilterSet
from doorstep.org.models import Community, Grid, Station
from doorstep.registry import search
from doorstep.registry.choices import (
    Colour,
    ConcernStatus,
    ConcernType,
    HouseStructure,
    HouseUse,
    KeyLevel,
    Occupancy,
    PersonCategory,
    PropertyType,
    ReviewStatus,
    RiskLevel,
    UnitType,
)
from doorstep.registry.models import Address, House, Household, Person, PersonOfConcern, Unit, Visit


def _overdue(qs, name, value):
    """True: the next visit is past due (`next_visit_due` before today); False: not overdue."""
    if value is None:
        return qs
    today = timezone.localdate()
    if value:
        return qs.filter(next_visit_due__lt=today)
    return qs.filter(Q(next_visit_due__gte=today) | Q(next_visit_due__isnull=True))


class _PlaceFilters(ScopedFilterSet):
    """Grid, community and station filters for models that carry a `grid`."""

    grid = filters.ModelChoiceFilter(label=_("网格"), queryset=Grid.objects.all())
    community = filters.ModelChoiceFilter(
        label=_("社区"), field_name="grid__community", queryset=Community.objects.all()
    )
    station = filters.ModelChoiceFilter(
        label=_("派出所"), field_name="grid__community__station", queryset=Station.objects.all()
    )


class AddressFilterSet(_PlaceFilters):
    q = filters.CharFilter(label=_("地址或编码"), method="filter_q")
    review_status = filters.ChoiceFilter(label=_("审核结果"), choices=ReviewStatus.choices)

    class Meta:
        model = Address
        fields = ["q", "grid", "community", "station", "review_status", "division_code"]

    def filter_q(self, qs, name, value):
        return qs.filter(Q(full_text__contains=value) | Q(code=value.strip()))


class HouseFilterSet(_PlaceFilters):
    q = filters.CharFilter(label=_("地址、编码或产权人"), method="filter_q")
    colour = filters.ChoiceFilter(label=_("分色"), choices=Colour.choices)
    occupancy = filters.ChoiceFilter(label=_("居住类型"), choices=Occupancy.choices)
    use = filters.ChoiceFilter(label=_("房屋用途"), choices=HouseUse.choices)
    structure = filters.ChoiceFilter(label=_("建筑结构"), choices=HouseStructure.choices)
    property_type = filters.ChoiceFilter(label=_("房屋性质"), choices=PropertyType.choices)
    overdue = filters.BooleanFilter(label=_("走访逾期"), method=_overdue, widget=yes_no_select())

    class Meta:
        model = House
        fields = [
            "q",
            "grid",
            "community",
            "station",
            "colour",
            "occupancy",
            "use",
            "structure",
            "property_type",
            "overdue",
        ]

    def filter_q(self, qs, name, value):
        value = value.strip()
        return qs.filter(
            Q(address__full_text__contains=value)
            | Q(code=value)
            | Q(owner_name=value)
            | Q(landlord_name=value)
        )


class HouseholdFilterSet(_PlaceFilters):
    q = filters.CharFilter(label=_("地址、户号或户主"), method="filter_q")
    colour = filters.ChoiceFilter(label=_("分色"), choices=Colour.choices)
    occupancy = filters.ChoiceFilter(
        label=_("居住类型"), field_name="house__occupancy", choices=Occupancy.choices
    )
    overdue = filters.BooleanFilter(label=_("走访逾期"), method=_overdue, widget=yes_no_select())
    due_before = filters.DateFilter(label=_("走访期限早于"), field_name="next_visit_due", lookup_expr="lt")
    house = filters.NumberFilter(label=_("房屋ID"), field_name="house__id")

    class Meta:
        model = Household
        fields = [
            "q",
            "grid",
            "community",
            "station",
            "colour",
            "occupancy",
            "overdue",
            "due_before",
            "house",
        ]

    def filter_q(self, qs, name, value):
        value = value.strip()
        return qs.filter(
            Q(house__address__full_text__contains=value) | Q(household_no=value) | Q(head__name=value)
        )


class PersonFilterSet(_PlaceFilters):
    q = filters.CharFilter(label=_("姓名、拼音首字母、身份号码或电话"), method="filter_q")
    category = filters.ChoiceFilter(label=_("人员类别"), choices=PersonCategory.choices)
    # Ids, not choice lists: a station has tens of thousands of houses. `__id` also keeps an id beyond 64 bits
    # a plain no-match on SQLite (see org.filtersets).
    house = filters.NumberFilter(label=_("房屋ID"), field_name="house__id")
    household = filters.NumberFilter(label=_("户ID"), field_name="household__id")

    class Meta:
        model = Person
        fields = ["q", "grid", "community", "station", "category", "registered_here", "house", "household"]

    def filter_q(self, qs, name, value):
        lookups = search.person_q(value)
        return qs if lookups is None else qs.filter(lookups)


class UnitFilterSet(_PlaceFilters):
    q = filters.CharFilter(label=_("名称、信用代码或地址"), method="filter_q")
    unit_type = filters.ChoiceFilter(label=_("单位类型"), choices=UnitType.choices)
    key_level = filters.ChoiceFilter(label=_("重点单位等级"), choices=KeyLevel.choices)
    risk_level = filters.ChoiceFilter(label=_("风险等级"), choices=RiskLevel.choices)

    class Meta:
        model = Unit
        fields = ["q", "grid", "community", "station", "unit_type", "is_key", "key_level", "risk_level"]

    def filter_q(self, qs, name, value):
        value = value.strip()
        return qs.filter(
            Q(name__contains=value) | Q(credit_code=value.upper()) | Q(address__full_text__contains=value)
        )


class PersonOfConcernFilterSet(ScopedFilterSet):
    """Used only on querysets from `selectors.concerns_for` (empty for roles that may not see concerns)."""

    q = filters.CharFilter(label=_("姓名"), method="filter_q")
    grid = filters.ModelChoiceFilter(label=_("网格"), field_name="person__grid", queryset=Grid.objects.all())
    community = filters.ModelChoiceFilter(
        label=_("社区"), field_name="person__grid__community", queryset=Community.objects.all()
    )
    station = filters.ModelChoiceFilter(
        label=_("派出所"), field_name="person__grid__community__station", queryset=Station.objects.all()
    )
    status = filters.ChoiceFilter(label=_("管控状态"), choices=ConcernStatus.choices)
    concern_type = filters.ChoiceFilter(label=_("重点人员类别"), choices=ConcernType.choices)
    pending = filters.BooleanFilter(label=_("待审批"), method="filter_pending", widget=yes_no_select())
    person = filters.NumberFilter(label=_("人员ID"), field_name="person__id")

    class Meta:
        model = PersonOfConcern
        fields = ["q", "grid", "community", "station", "status", "concern_type", "pending", "person"]

    PENDING = [
        ConcernStatus.LISTING_REQUESTED,
        ConcernStatus.DELISTING_REQUESTED,
        ConcernStatus.TRANSFER_REQUESTED,
        ConcernStatus.RECLASS_REQUESTED,
    ]

    def filter_q(self, qs, name, value):
        return qs.filter(person__name__contains=value.strip())

    def filter_pending(self, qs, name, value):
        if value is None:
            return qs
        return qs.filter(status__in=self.PENDING) if value else qs.exclude(status__in=self.PENDING)


class VisitFilterSet(ScopedFilterSet):
    grid = filters.ModelChoiceFilter(label=_("网格"), queryset=Grid.objects.all())
    visited_after = filters.DateFilter(
        label=_("走访日期起"), field_name="visited_at", lookup_expr="date__gte"
    )
    visited_before = filters.DateFilter(
        label=_("走访日期止"), field_name="visited_at", lookup_expr="date__lte"
    )
    colour = filters.ChoiceFilter(label=_("走访时分色"), field_name="colour_at_visit", choices=Colour.choices)
    household = filters.NumberFilter(label=_("户ID"), field_name="household__id")

    class Meta:
        model = Visit
        fields = ["grid", "household", "visited_after", "visited_before", "colour"]
