"""The video-patrol WebSocket (/ws/video/) of the patrol console, the event list and the map.

Everyone who may patrol joins `video.station.<id>` of each station they cover; a grid-level user (officer,
auxiliary) is sent only what concerns their own grids (the payload's `grid`), as with every other read.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from doorstep.accounts.choices import Scope
from doorstep.alarms.consumers import CLOSE_NO_TERRITORY, CLOSE_UNAUTHENTICATED
from doorstep.org.models import Station
from doorstep.org.territory import Territory


def station_group(station_id: int) -> str:
    return f"video.station.{station_id}"


@database_sync_to_async
def _subscription(user) -> tuple[list[int], frozenset[int] | None] | None:
    """(stations, grids the user is limited to or None for all of theirs), or None: may not patrol."""
    from doorstep.video.access import may_view

    if not may_view(user):
        return None
    territory = Territory.for_user(user)
    if territory.whole:
        return list(Station.objects.order_by("id").values_list("id", flat=True)), None
    stations = sorted(territory.station_ids)
    if not stations:
        return None
    limited = territory.grid_ids if territory.scope in (Scope.GRID, Scope.COMMUNITY) else None
    return stations, limited


class VideoConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]
    grids: frozenset[int] | None = None

    async def connect(self):
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        subscription = await _subscription(user)
        if subscription is None:
            await self.close(code=CLOSE_NO_TERRITORY)
            return
        stations, self.grids = subscription
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

    async def _forward(self, kind: str, event) -> None:
        payload = event["payload"]
        grid = payload.get("grid")
        if self.grids is not None and grid is not None and grid not in self.grids:
            return
        await self.send_json({"type": kind, "payload": payload})

    async def video_event(self, event):
        await self._forward("event", event)

    async def video_camera(self, event):
        await self._forward("camera", event)

    async def video_broadcast(self, event):
        await self._forward("broadcast", event)

    async def video_run(self, event):
        await self._forward("run", event)
