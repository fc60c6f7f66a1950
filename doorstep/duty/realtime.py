"""Publishing police-room alerts (无人值守告警) to the duty WebSocket (consumers.py): the room board and the
dispatch console of the station hear an alert opened or cleared at once instead of at their next poll.

Call only from `transaction.on_commit` (rule 3); each publisher reads what it sends from the committed row,
and a channel layer that is away is logged, never reported as a failure of the write that committed.
The groups and the sending are the video console's (`video.realtime`), on the shared `StaffConsumer`.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import reverse
from django.utils import timezone

log = logging.getLogger("doorstep.duty")


def _iso(value) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def alert_payload(alert) -> dict[str, Any]:
    room = alert.room
    return {
        "id": alert.pk,
        "room": {"id": room.pk, "name": room.name},
        "community": room.community_id,
        "station": room.community.station_id,
        "reason": alert.reason,
        "reason_label": str(alert.get_reason_display()),
        "opened_at": _iso(alert.opened_at),
        "empty_since": _iso(alert.empty_since),
        "closed_at": _iso(alert.closed_at),
        "open": alert.closed_at is None,
        "url": reverse("duty:roster", args=[room.pk]),
    }


def publish_room_alert(alert_id: int) -> None:
    """A room alert opened or closed: to `duty.station.<id>` of the room's station."""
    from doorstep.duty.consumers import station_group
    from doorstep.duty.models import RoomAlert

    try:
        alert = RoomAlert.objects.select_related("room__community").filter(pk=alert_id).first()
        if alert is None:
            return
        group = station_group(alert.room.community.station_id)
        async_to_sync(get_channel_layer().group_send)(
            group, {"type": "duty.alert", "payload": alert_payload(alert)}
        )
    except Exception:
        log.exception("实时推送失败：publish_room_alert")
