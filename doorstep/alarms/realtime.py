"""Publishing to the dispatch consoles. Call only from transaction.on_commit (rule 3: after commit)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from doorstep.alarms.consumers import station_group


def publish_to_station(station_id: int, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(station_group(station_id), {"type": "alarm.event", "payload": payload})


def publish_alert_to_station(station_id: int, payload: dict[str, Any]) -> None:
    """A device alert raised or cleared: the consoles and device-health pages of the station update."""
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(station_group(station_id), {"type": "device.alert", "payload": payload})
