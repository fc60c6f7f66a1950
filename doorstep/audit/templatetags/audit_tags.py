"""{{ entry.action|action_label }}: the Chinese label of a change-log action code (audit.actions)."""

from __future__ import annotations

from django import template

from doorstep.audit import actions

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    return actions.label(code)
