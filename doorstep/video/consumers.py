"""The video-patrol WebSocket (/ws/video/) of the patrol console, the event list and the map.

Everyone who may patrol joins `video.station.<id>` of each station they cover; a grid-level user (officer,
auxiliary) is sent only what concerns their own grids (the payload's `grid`), as with every other read.
Signing in, the login's absolute limit, hello and ping are the alarm console's (`StaffConsumer`).
"""

from __future__ import annotations

from channels.db import database_sync_to_async

from doorstep.accounts.choices import Scope
from doorstep.alarms.consumers import StaffConsumer
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


class VideoConsumer(StaffConsumer):
    grids: frozenset[int] | None = None

    async def subscribe(self, user) -> tuple[list[str], dict] | None:
        subscription = await _subscription(user)
        if subscription is None:
            return None
        stations, self.grids = subscription
        return [station_group(s) for s in stations], {"stations": stations}

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
