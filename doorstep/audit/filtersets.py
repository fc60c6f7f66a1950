from __future__ import annotations

import django_filters as filters
from django.utils.translation import gettext_lazy as _

from doorstep.audit.models import AccessEntry, AccessKind, AuditEntry, Channel


def _section_choices(log: str) -> list[tuple[str, str]]:
    from doorstep.audit.review import SECTIONS

    return [(s.key, s.title) for s in SECTIONS if s.log == log]


def _filter_section(queryset, name, value):
    """The weekly review's sections (doorstep.audit.review): the same query, so counts and log agree."""
    from doorstep.audit.review import SECTION_BY_KEY

    section = SECTION_BY_KEY.get(value)
    return queryset.filter(section.query) if section else queryset


class AuditEntryFilterSet(filters.FilterSet):
    actor = filters.CharFilter(label=_("操作人"), field_name="actor_name", lookup_expr="icontains")
    action = filters.CharFilter(label=_("操作"), field_name="action", lookup_expr="icontains")
    object_type = filters.CharFilter(label=_("对象类型"), field_name="object_type", lookup_expr="icontains")
    object_id = filters.CharFilter(label=_("对象ID"), field_name="object_id")
    since = filters.DateFilter(label=_("起始日期"), field_name="at", lookup_expr="date__gte")
    until = filters.DateFilter(label=_("截止日期"), field_name="at", lookup_expr="date__lte")
    channel = filters.ChoiceFilter(label=_("渠道"), choices=Channel.choices)
    section = filters.ChoiceFilter(
        label=_("周报分类"), choices=lambda: _section_choices("changes"), method=_filter_section
    )

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "object_type", "object_id", "since", "until", "channel", "section"]


class AccessEntryFilterSet(filters.FilterSet):
    actor = filters.CharFilter(label=_("操作人"), field_name="actor_name", lookup_expr="icontains")
    kind = filters.ChoiceFilter(label=_("类型"), choices=AccessKind.choices)
    object_type = filters.CharFilter(label=_("对象类型"), field_name="object_type", lookup_expr="icontains")
    since = filters.DateFilter(label=_("起始日期"), field_name="at", lookup_expr="date__gte")
    until = filters.DateFilter(label=_("截止日期"), field_name="at", lookup_expr="date__lte")
    section = filters.ChoiceFilter(
        label=_("周报分类"), choices=lambda: _section_choices("access"), method=_filter_section
    )

    class Meta:
        model = AccessEntry
        fields = ["actor", "kind", "object_type", "since", "until", "section"]
