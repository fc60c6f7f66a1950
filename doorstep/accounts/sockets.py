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


# --- closing a user's open sockets (sign-out everywhere, two-factor reset) --------------------------------

CLOSE_SESSION_REVOKED = 4401  # as for an anonymous socket: the page signs in again


def session_control_group(user_id: int) -> str:
    """Every open socket of one user, whatever its consumer: told to close when the user is signed out."""
    return f"accounts.session.{user_id}"


def close_user_sockets(user_id: int) -> None:
    """Close every open WebSocket of the user (call after the commit that deleted their sessions). A channel
    layer that is down must not undo the sign-out: logged, the sessions are gone anyway."""
    import logging

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    try:
        async_to_sync(get_channel_layer().group_send)(
            session_control_group(user_id), {"type": "session.revoked"}
        )
    except Exception:  # noqa: BLE001 (Redis down: the sessions are deleted, the sockets close at expiry)
        logging.getLogger(__name__).warning("could not close the WebSockets of user %s", user_id)


class SessionControlMixin:
    """For a Channels consumer: join the user's session-control group (`join_session_control`, before
    accepting) and close with 4401 on a `session.revoked` message. Leave the group on disconnect."""

    async def join_session_control(self, user) -> str:
        group = session_control_group(user.pk)
        await self.channel_layer.group_add(group, self.channel_name)
        return group

    async def session_revoked(self, event):
        await self.send_json({"type": "session_revoked"})
        await self.close(code=CLOSE_SESSION_REVOKED)
