"""Dispatch-console WebSocket: authenticated users join the alarm groups of the stations they cover."""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from doorstep.accounts.middleware import SESSION_STARTED
from doorstep.org.models import Station
from doorstep.org.territory import Territory

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NO_TERRITORY = 4403


def station_group(station_id: int) -> str:
    return f"alarms.station.{station_id}"


@database_sync_to_async
def _seconds_left(session) -> float | None:
    """What remains of the login's absolute limit (SessionLimitsMiddleware's 12 h hold for WebSockets too)."""
    started = session.get(SESSION_STARTED) if session is not None else None
    return None if started is None else started + settings.SESSION_ABSOLUTE_SECONDS - time.time()


@database_sync_to_async
def _station_ids(user) -> list[int]:
    territory = Territory.for_user(user)
    if territory.whole:
        return list(Station.objects.values_list("id", flat=True))
    return sorted(territory.station_ids)


class AlarmConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]
    expiry: asyncio.Task | None = None

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
        stations = await _station_ids(user)
        if not stations:
            await self.close(code=CLOSE_NO_TERRITORY)
            return
        for station_id in stations:
            group = station_group(station_id)
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self.accept()
        await self.send_json({"type": "hello", "stations": stations})
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

    async def alarm_event(self, event):
        """Group message {"type": "alarm.event", "payload": {...}} sent after the alarm's commit."""
        await self.send_json({"type": "alarm", "payload": event["payload"]})

    async def device_alert(self, event):
        """Group message {"type": "device.alert", "payload": {...}}: a device alert raised or cleared."""
        await self.send_json({"type": "device_alert", "payload": event["payload"]})
