"""The fields of a POST that pages' scripts send either as a JSON object or as a form."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from doorstep.core.errors import ServiceError


def request_data(request: HttpRequest, *, lists: Iterable[str] = ()) -> dict[str, Any]:
    """A JSON object body as it is, or the form's fields (the last value of each; the names in `lists` as
    lists). A body that is not a JSON object is a ServiceError (400 with a Chinese detail)."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested beyond the parser
            raise ServiceError(_("请求体不是合法的 JSON")) from None
        if not isinstance(data, dict):
            raise ServiceError(_("请求体应为 JSON 对象"))
        if has_nul(data):  # PostgreSQL cannot store it; forms refuse it the same way
            raise ServiceError(_("请求中含有不允许的空字符"))
        return data
    data = request.POST.dict()
    if any("\x00" in value for values in request.POST.lists() for value in values[1]):
        raise ServiceError(_("请求中含有不允许的空字符"))
    for name in lists:
        data[name] = request.POST.getlist(name)
    return data


def has_nul(value: Any) -> bool:
    """Whether a NUL character hides anywhere in parsed JSON (PostgreSQL can neither store nor compare it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False
