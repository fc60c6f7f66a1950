"""Template helpers of the registry pages: masking and the red/yellow/green badge."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from doorstep.registry import privacy

register = template.Library()

SHORT = {"red": _("红"), "yellow": _("黄"), "green": _("绿")}
LONG = {"red": _("红色·重点户"), "yellow": _("黄色·关注户"), "green": _("绿色·放心户")}


@register.filter
def masked(value: str | None, field: str) -> str:
    """`{{ person.phone|masked:"phone" }}` → 138****5678 (the field name picks the mask)."""
    return privacy.masked(field, value)


@register.inclusion_tag("registry/_colour.html")
def colour_badge(colour: str, long: bool = False) -> dict:
    return {"colour": colour, "label": (LONG if long else SHORT).get(colour, colour or "—")}


@register.filter
def colour_label(colour: str) -> str:
    return LONG.get(colour, colour or "")


IMPORT_ROUTES = ("registry:import_index", "registry:import")


@register.simple_tag(takes_context=True)
def registry_nav(context) -> dict:
    """Which registry tabs the signed-in user gets (persons of concern and rules only for their roles)."""
    from django.urls import NoReverseMatch, reverse

    from doorstep.registry import services

    user = context["request"].user
    import_url = None
    for name in IMPORT_ROUTES:
        try:
            import_url = reverse(name)
            break
        except NoReverseMatch:
            continue
    return {
        "concerns": privacy.may_see_concerns(user),
        "rules": user.is_superuser or user.role in services.RULE_EDITORS,
        "import_url": import_url if user.role in services.WRITER_ROLES or user.is_superuser else None,
    }


KINDS = {
    "person": _("人员"),
    "house": _("房屋"),
    "household": _("户"),
    "unit": _("单位"),
    "address": _("地址"),
}


@register.filter
def kind_label(kind: str) -> str:
    return KINDS.get(kind, kind)
