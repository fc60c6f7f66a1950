"""Template filters shared by every app's pages."""

from __future__ import annotations

import datetime as dt

from django import forms, template
from django.utils.translation import gettext as _

from doorstep.core.forms import style

register = template.Library()


@register.filter
def tenure(started_on: dt.date | None, today: dt.date | None) -> str:
    """How long a post has been held, as a person says it: 3年2个月, 5个月, 12天 (not Django's timesince,
    which reads "9 月，1 周"). The 专职型 rule counts whole years, so years and months are what matters."""
    if not started_on or not today or started_on > today:
        return ""
    months = (today.year - started_on.year) * 12 + today.month - started_on.month
    if today.day < started_on.day:
        months -= 1
    if months < 1:
        return _("%(d)d天") % {"d": (today - started_on).days}
    years, months = divmod(months, 12)
    if not years:
        return _("%(m)d个月") % {"m": months}
    if not months:
        return _("%(y)d年") % {"y": years}
    return _("%(y)d年%(m)d个月") % {"y": years, "m": months}


@register.filter
def styled(form: forms.BaseForm) -> forms.BaseForm:
    """`{% for field in filter.form|styled %}`: Tabler's classes on a filter form's controls (FilterSets build
    their forms themselves, so the page styles them where it shows them; invalid fields marked)."""
    style(form)
    return form
