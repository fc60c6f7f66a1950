from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from doorstep.accounts.services import authenticate_token


class ApiTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token ds_…` with hashed, revocable, expiring keys (accounts.ApiToken)."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        token = authenticate_token(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("令牌无效、已过期或已吊销"))
        return (token.user, token)
