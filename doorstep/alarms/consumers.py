"""Dispatch-console WebSocket: authenticated users join the alarm groups of the stations they cover."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from doorstep.org.models import Station
from doorstep.org.territory import Territory

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NO_TERRITORY = 4403


def station_group(station_id: int) -> str:
    return f"alarms.station.{station_id}"


@database_sync_to_async
def _station_ids(user) -> list[int]:
    territory = Territory.for_user(user)
    if territory.whole:
        return list(Station.objects.values_list("id", flat=True))
    return sorted(territory.station_ids)


class AlarmConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self):
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
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

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def alarm_event(self, event):
        """Group message {"type": "alarm.event", "payload": {...}} sent after the alarm's commit."""
        await self.send_json({"type": "alarm", "payload": event["payload"]})
