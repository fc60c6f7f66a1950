"""{{ entry.action|action_label }}: the Chinese label of a change-log action code (audit.actions);
{{ entry.object_type|type_label }}: an object type by its name (audit.display)."""

from __future__ import annotations

from django import template

from doorstep.audit import actions, display

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    return actions.label(code)


@register.filter
def type_label(object_type: str) -> str:
    return display.type_label(object_type)
