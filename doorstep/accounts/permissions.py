"""API token scopes: a request authenticated by an `ApiToken` reaches only the API of the token's scopes."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from doorstep.accounts.choices import API_MODULE_SCOPES, TokenScope
from doorstep.accounts.models import ApiToken

# Views a token with any scope of the catalogue may open: they describe the API, no data — the API root (the
# endpoints' addresses) and drf-spectacular's schema and docs (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] names
# this permission too). A token without a valid scope reaches nothing. (Named, not imported:
# rest_framework.routers imports the settings that import this module.)
OPEN_TO_EVERY_TOKEN = {("rest_framework.routers", "APIRootView")}
OPEN_TO_EVERY_TOKEN_MODULES = {"drf_spectacular.views"}
ANY_SCOPE = "*"


def required_scope(view: Any, method: str) -> str | None:
    """The scope code a token needs for `method` on `view`: ANY_SCOPE when any scope of the catalogue will do
    (the API root, the schema and its docs), None when no token may use the view (it declares no scope and its
    module has none: deny by default)."""
    module = type(view).__module__
    if (module, type(view).__name__) in OPEN_TO_EVERY_TOKEN or module in OPEN_TO_EVERY_TOKEN_MODULES:
        return ANY_SCOPE
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
        if needed == ANY_SCOPE:
            if any(code in TokenScope.values for code in token.scopes or []):
                return True
            self.message = _("令牌没有任何有效的权限范围")
            return False
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
