"""The alarm WebSocket (/ws/alarms/) of the dispatch console and the officer's phone page.

Who joins which group (realtime.py sends to them):
- console roles (dispatcher, director, leader) join `alarms.station.<id>` of every station they cover: all
  alarms and device alerts of those stations;
- directors join `alarms.escalation.station.<id>` of their station and leaders of every station they cover:
  the loud escalation of an alarm nobody acknowledged in time;
- everyone joins `alarms.user.<id>`: the dispatches addressed to them. Officers and auxiliaries join only
  this one — they hear of an alarm when they are sent, not of all the station's traffic.
A user with no territory at all is refused (4403).
"""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from doorstep.accounts.choices import Role
from doorstep.accounts.middleware import SESSION_STARTED
from doorstep.accounts.sockets import SessionControlMixin
from doorstep.org.models import Station
from doorstep.org.territory import Territory

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NO_TERRITORY = 4403
ESCALATION_ROLES = {Role.DIRECTOR, Role.LEADER}  # the station director and the sub-bureau command


def station_group(station_id: int) -> str:
    return f"alarms.station.{station_id}"


def escalation_group(station_id: int) -> str:
    return f"alarms.escalation.station.{station_id}"


def user_group(user_id: int) -> str:
    return f"alarms.user.{user_id}"


@database_sync_to_async
def _seconds_left(session) -> float | None:
    """What remains of the login's absolute limit (SessionLimitsMiddleware's 12 h hold for WebSockets too)."""
    started = session.get(SESSION_STARTED) if session is not None else None
    return None if started is None else started + settings.SESSION_ABSOLUTE_SECONDS - time.time()


@database_sync_to_async
def _subscriptions(user) -> tuple[list[int], list[int]] | None:
    """(stations whose consoles the user joins, stations whose escalations they hear), or None when the
    user has no territory at all."""
    from doorstep.alarms.services import CONSOLE_ROLES  # services → realtime → here: import when called

    territory = Territory.for_user(user)
    if territory.whole:
        stations = list(Station.objects.order_by("id").values_list("id", flat=True))
    else:
        stations = sorted(territory.station_ids)
    if not stations:
        return None
    consoles = stations if user.is_superuser or user.role in CONSOLE_ROLES else []
    escalations = stations if user.role in ESCALATION_ROLES else []
    return consoles, escalations


class StaffConsumer(SessionControlMixin, AsyncJsonWebsocketConsumer):
    """A staff WebSocket (the alarm console's, the video patrol's, the duty board's): signed-in users only
    (4401); the groups `subscribe` names, or 4403 when it names none; a "hello" on joining; "ping" → "pong";
    never longer than the login — closed with "session_expired" when SessionLimitsMiddleware's absolute limit
    is reached — and closed with "session_revoked" (4401) when the user is signed out everywhere or their
    two-factor login is reset (accounts.sockets.SessionControlMixin)."""

    groups_joined: list[str]
    expiry: asyncio.Task | None = None

    async def subscribe(self, user) -> tuple[list[str], dict] | None:
        """(the groups to join, what the hello says), or None: nothing for this user."""
        raise NotImplementedError

    async def connect(self):
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        left = await _seconds_left(self.scope.get("session"))
        if left is not None and left <= 0:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        subscription = await self.subscribe(user)
        if subscription is None:
            await self.close(code=CLOSE_NO_TERRITORY)
            return
        groups, hello = subscription
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        self.groups_joined.append(await self.join_session_control(user))
        await self.accept()
        await self.send_json({"type": "hello", **hello})
        if left is not None:
            # A console left open must not outlive the login: close it when the absolute limit is reached.
            self.expiry = asyncio.get_running_loop().create_task(self._close_after(left))

    async def _close_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.send_json({"type": "session_expired"})
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def disconnect(self, code):
        if self.expiry is not None:
            self.expiry.cancel()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})


class AlarmConsumer(StaffConsumer):
    async def subscribe(self, user) -> tuple[list[str], dict] | None:
        subscriptions = await _subscriptions(user)
        if subscriptions is None:
            return None
        consoles, escalations = subscriptions
        groups = [station_group(s) for s in consoles] + [escalation_group(s) for s in escalations]
        return [*groups, user_group(user.pk)], {
            "stations": consoles,
            "escalation": escalations,
            "user": user.pk,
        }

    async def alarm_event(self, event):
        """Group message {"type": "alarm.event", "payload": {...}} sent after the alarm's commit."""
        await self.send_json({"type": "alarm", "payload": event["payload"]})

    async def alarm_dispatch(self, event):
        """Group message {"type": "alarm.dispatch", ...} to `alarms.user.<id>`: you have just been sent."""
        await self.send_json({"type": "dispatch", "payload": event["payload"]})

    async def alarm_escalation(self, event):
        """Group message {"type": "alarm.escalation", ...}: not acknowledged in time (directors, leaders)."""
        await self.send_json({"type": "escalation", "payload": event["payload"]})

    async def device_alert(self, event):
        """Group message {"type": "device.alert", "payload": {...}}: a device alert raised or cleared."""
        await self.send_json({"type": "device_alert", "payload": event["payload"]})
