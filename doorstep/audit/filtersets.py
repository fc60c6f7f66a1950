from __future__ import annotations

import django_filters as filters
from django.apps import apps
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters import fields as filter_fields

from doorstep.audit import actions
from doorstep.audit.models import AccessEntry, AccessKind, AuditEntry, Channel

# action prefixes that are not app labels, shown with the app they belong to
ACTION_GROUP = {"security": "accounts", "crypto": "core"}


def _section_choices(log: str) -> list[tuple[str, str]]:
    from doorstep.audit.review import SECTIONS

    return [(s.key, s.title) for s in SECTIONS if s.log == log]


def _filter_section(queryset, name, value):
    """The weekly review's sections (doorstep.audit.review): the same query, so counts and log agree."""
    from doorstep.audit.review import SECTION_BY_KEY

    section = SECTION_BY_KEY.get(value)
    return queryset.filter(section.query) if section else queryset


def _action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Labelled actions grouped by app (in the apps' order), each group sorted by label."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, text in actions.choices():
        app = code.split(".", 1)[0]
        groups.setdefault(ACTION_GROUP.get(app, app), []).append((code, text))
    out = []
    for config in apps.get_app_configs():
        if config.label in groups:
            out.append((str(config.verbose_name), groups.pop(config.label)))
    out.extend(groups.items())  # a prefix that is no app (none today)
    return out


class ActionField(filter_fields.ChoiceField):
    """A select of labelled actions that still takes any text, so that links saved from the old free-text
    box (?action=registry. or a code without a label) keep working; such a value is kept as an option."""

    def valid_value(self, value: str) -> bool:
        return len(value) <= 80


def _filter_action(queryset, name, value):
    """A labelled code matches exactly; other text matches codes containing it or whose label contains it."""
    value = value.strip()
    if value in actions.LABELS:
        return queryset.filter(action=value)
    by_label = [code for code, text in actions.choices() if value in text]
    return queryset.filter(Q(action__icontains=value) | Q(action__in=by_label))


class ActionFilter(filters.ChoiceFilter):
    field_class = ActionField


class AuditEntryFilterSet(filters.FilterSet):
    actor = filters.CharFilter(label=_("操作人"), field_name="actor_name", lookup_expr="icontains")
    action = ActionFilter(label=_("操作"), choices=_action_choices, method=_filter_action)
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        value = (self.data or {}).get("action", "")
        if value and value not in actions.LABELS and len(value) <= 80:
            field = self.form.fields["action"]
            kept = [c for c in field.choices if c[0] != ""]  # the empty choice is added again
            field.choices = [*kept, (value, _("包含“%(text)s”") % {"text": value})]


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
