"""How colour reasons are shown to a user: the listed-concern reason names persons of concern.

Roles outside `privacy.CONCERN_ROLES` never learn who is listed; concern roles see the names only on pages
that log the read (`names=True`, after `selectors.read_concerns`), elsewhere the factor's generic label.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from doorstep.registry import privacy

CONCERN_REASON = "重点人员列管中"  # the prefix `rules.evaluate` gives the listed-concern reason


def shown_reasons(user: Any, reasons: list[str] | None, *, names: bool = False) -> list[str]:
    out = []
    for reason in reasons or []:
        if reason.startswith(CONCERN_REASON):
            if not privacy.may_see_concerns(user):
                reason = _("重点因素（详情仅限授权角色查看）")
            elif not names:
                reason = _("有列管中的重点人员")
        out.append(reason)
    return out


def names_concerns(reasons: list[str] | None) -> bool:
    return any(r.startswith(CONCERN_REASON) for r in reasons or [])
