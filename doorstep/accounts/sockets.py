"""Two-factor login for WebSockets: a session that has not passed the second factor gets no socket."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from doorstep.accounts import two_factor


@database_sync_to_async
def _checked_user(user, session):
    if user is None or not user.is_authenticated:
        return user
    if two_factor.session_must_verify(user, session) and not two_factor.session_is_verified(user, session):
        return AnonymousUser()  # the consumers refuse anonymous sockets (4401), as after a logout
    return user


class TwoFactorSocketMiddleware(BaseMiddleware):
    """Inside Channels' AuthMiddlewareStack (it needs scope["user"] and scope["session"]): the one place where
    every consumer's user is resolved, so no consumer has to check the second factor itself."""

    async def __call__(self, scope, receive, send):
        scope = dict(scope, user=await _checked_user(scope.get("user"), scope.get("session")))
        return await super().__call__(scope, receive, send)
