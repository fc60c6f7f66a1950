"""The duty WebSocket (/ws/duty/) of the police-room board and the dispatch console.

Everyone who may see police rooms joins `duty.station.<id>` of each station they cover; a community- or
grid-level user is sent only the alerts of their own communities (the payload's `community`), as with the
board's own read (`access.rooms_for`). Signing in, the login's absolute limit, hello and ping are the alarm
console's (`StaffConsumer`), as for the video patrol's socket.
"""

from __future__ import annotations

from channels.db import database_sync_to_async

from doorstep.accounts.choices import Scope
from doorstep.alarms.consumers import StaffConsumer
from doorstep.org.models import Station
from doorstep.org.territory import Territory


def station_group(station_id: int) -> str:
    return f"duty.station.{station_id}"


@database_sync_to_async
def _subscription(user) -> tuple[list[int], frozenset[int] | None] | None:
    """(stations, communities the user is limited to or None for all of theirs), or None: no territory."""
    territory = Territory.for_user(user)
    if territory.whole:
        return list(Station.objects.order_by("id").values_list("id", flat=True)), None
    stations = sorted(territory.station_ids)
    if not stations:
        return None
    limited = territory.community_ids if territory.scope in (Scope.GRID, Scope.COMMUNITY) else None
    return stations, limited


class DutyConsumer(StaffConsumer):
    communities: frozenset[int] | None = None

    async def subscribe(self, user) -> tuple[list[str], dict] | None:
        subscription = await _subscription(user)
        if subscription is None:
            return None
        stations, self.communities = subscription
        return [station_group(s) for s in stations], {"stations": stations}

    async def duty_alert(self, event):
        """Group message {"type": "duty.alert", "payload": {...}}: a room alert opened or closed."""
        payload = event["payload"]
        community = payload.get("community")
        if self.communities is not None and community not in self.communities:
            return
        await self.send_json({"type": "room_alert", "payload": payload})
