from __future__ import annotations

import django_filters as filters
from django.utils.translation import gettext_lazy as _

from doorstep.audit.models import AccessEntry, AccessKind, AuditEntry, Channel


class AuditEntryFilterSet(filters.FilterSet):
    actor = filters.CharFilter(label=_("操作人"), field_name="actor_name", lookup_expr="icontains")
    action = filters.CharFilter(label=_("操作"), field_name="action", lookup_expr="icontains")
    object_type = filters.CharFilter(label=_("对象类型"), field_name="object_type", lookup_expr="icontains")
    object_id = filters.CharFilter(label=_("对象ID"), field_name="object_id")
    since = filters.DateFilter(label=_("起始日期"), field_name="at", lookup_expr="date__gte")
    until = filters.DateFilter(label=_("截止日期"), field_name="at", lookup_expr="date__lte")
    channel = filters.ChoiceFilter(label=_("渠道"), choices=Channel.choices)

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "object_type", "object_id", "since", "until", "channel"]


class AccessEntryFilterSet(filters.FilterSet):
    actor = filters.CharFilter(label=_("操作人"), field_name="actor_name", lookup_expr="icontains")
    kind = filters.ChoiceFilter(label=_("类型"), choices=AccessKind.choices)
    object_type = filters.CharFilter(label=_("对象类型"), field_name="object_type", lookup_expr="icontains")
    since = filters.DateFilter(label=_("起始日期"), field_name="at", lookup_expr="date__gte")
    until = filters.DateFilter(label=_("截止日期"), field_name="at", lookup_expr="date__lte")

    class Meta:
        model = AccessEntry
        fields = ["actor", "kind", "object_type", "since", "until"]
