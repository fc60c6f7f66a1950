"""API token scopes: a request authenticated by an `ApiToken` reaches only the API of the token's scopes."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from doorstep.accounts.choices import API_MODULE_SCOPES, TokenScope
from doorstep.accounts.models import ApiToken

# Views a token of any scope may open: the API root lists the endpoints' addresses, no data. (Named, not
# imported: rest_framework.routers imports the settings that import this module.)
OPEN_TO_EVERY_TOKEN = {("rest_framework.routers", "APIRootView")}


def required_scope(view: Any, method: str) -> str | None:
    """The scope code a token needs for `method` on `view`: "" when none is needed, None when no token may
    use the view (it declares no scope and its module has none: deny by default)."""
    if (type(view).__module__, type(view).__name__) in OPEN_TO_EVERY_TOKEN:
        return ""
    resource = getattr(view, "token_scope", None) or API_MODULE_SCOPES.get(type(view).__module__)
    if not resource:
        return None
    scope = f"{resource}:{'read' if method in SAFE_METHODS else 'write'}"
    return scope if scope in TokenScope.values else None


class TokenScopePermission(BasePermission):
    """Session requests pass (their user's role and territory decide); token requests need the view's scope.
    The refusal is a 403 whose `detail` names the missing scope; DeniedAccessMiddleware records it."""

    message = _("该接口不接受接口令牌访问")

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        needed = required_scope(view, request.method or "GET")
        if needed == "":
            return True
        if needed is None:
            self.message = _("该接口不接受接口令牌访问")
            return False
        if token.has_scope(needed):
            return True
        self.message = _("令牌缺少权限范围：%(scope)s（%(label)s）") % {
            "scope": needed,
            "label": TokenScope(needed).label,
        }
        return False
