"""Publishing to the alarm WebSockets. Call only from transaction.on_commit (rule 3: after commit).

Groups (see consumers.py for who joins which):
- `alarms.station.<id>`: the consoles of the station (dispatchers, its director, leaders) — every alarm
  update and device alert of the station;
- `alarms.escalation.station.<id>`: the director(s) of the station and the sub-bureau leaders — the loud
  "not acknowledged in time" escalation;
- `alarms.user.<id>`: one person's phone and consoles — the dispatches addressed to them and the updates of
  those alarms (officers and auxiliaries get nothing else).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from doorstep.alarms.consumers import escalation_group, station_group, user_group

log = logging.getLogger("doorstep.alarms")


def _send(group: str, kind: str, payload: dict[str, Any]) -> None:
    # Called after the commit: when the channel layer is away (Redis down), the alarm is stored and the consoles
    # find it when they reconnect and reload; the press, acknowledgement or dispatch that was committed must not
    # be answered as failed (a device would resend what is already stored, a dispatcher would see a 500).
    try:
        async_to_sync(get_channel_layer().group_send)(group, {"type": kind, "payload": payload})
    except Exception:
        log.exception("实时推送失败（已保存，控制台重连后可见）：%s %s", kind, group)


def publish_to_station(station_id: int, payload: dict[str, Any]) -> None:
    """A new or changed alarm: the station's consoles update."""
    _send(station_group(station_id), "alarm.event", payload)


def publish_alert_to_station(station_id: int, payload: dict[str, Any]) -> None:
    """A device alert raised or cleared: the consoles and device-health pages of the station update."""
    _send(station_group(station_id), "device.alert", payload)


def publish_escalation(station_id: int, payload: dict[str, Any]) -> None:
    """An alarm nobody acknowledged in time: the station director's and the leaders' consoles sound it."""
    _send(escalation_group(station_id), "alarm.escalation", payload)


def publish_to_user(user_id: int, payload: dict[str, Any], *, dispatch: bool = False) -> None:
    """To one person: `dispatch` when they have just been sent (their phone rings), else an update of an
    alarm that is or was theirs (re-dispatched elsewhere, closed, flagged late)."""
    _send(user_group(user_id), "alarm.dispatch" if dispatch else "alarm.event", payload)
