"""Supervision of alarm devices: device alerts (offline, tamper, low battery, unknown event codes).

Devices raise and clear alerts through what they report (`note_event`, called by `services.receive_event`
inside its transaction); the periodic tick of `alarmd` raises "offline" for devices that missed two
heartbeat intervals. At most one open alert per device and kind; the consoles hear of a change after commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from doorstep.alarms import realtime
from doorstep.alarms.choices import AlertKind, EventType
from doorstep.alarms.models import AlarmDevice, DeviceAlert, DeviceEvent

ALERT_OF = {
    EventType.TAMPER: AlertKind.TAMPER,
    EventType.LOW_BATTERY: AlertKind.LOW_BATTERY,
    EventType.UNKNOWN: AlertKind.UNKNOWN,
}


def alert_payload(alert: DeviceAlert) -> dict[str, Any]:
    device = alert.device
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "kind_label": str(alert.get_kind_display()),
        "device": device.device_id,
        "location": device.location,
        "unit": device.unit.name,
        "detail": alert.detail,
        "raised_at": alert.raised_at.isoformat(),
        "cleared_at": alert.cleared_at.isoformat() if alert.cleared_at else None,
        "station": alert.station_id,
    }


def _publish(alert: DeviceAlert) -> None:
    payload = alert_payload(alert)
    transaction.on_commit(lambda: realtime.publish_alert_to_station(alert.station_id, payload))


@transaction.atomic
def raise_alert(
    device: AlarmDevice,
    kind: str,
    *,
    now: dt.datetime | None = None,
    event: DeviceEvent | None = None,
    detail: str = "",
) -> DeviceAlert | None:
    """Open an alert of this kind for the device; None when one is already open."""
    AlertKind(kind)
    if DeviceAlert.objects.filter(device=device, kind=kind, cleared_at__isnull=True).exists():
        return None
    try:
        with transaction.atomic():
            alert = DeviceAlert.objects.create(
                device=device,
                grid_id=device.grid_id,
                station_id=device.station_id,
                kind=kind,
                event=event,
                detail=detail[:200],
                raised_at=now or timezone.now(),
            )
    except IntegrityError:  # a concurrent receiver opened it first
        return None
    _publish(alert)
    return alert


@transaction.atomic
def clear_alerts(
    device: AlarmDevice, kinds: list[str], *, now: dt.datetime | None = None, by: Any = None
) -> int:
    """Close the device's open alerts of these kinds (the device recovered, or a person cleared them)."""
    alerts = list(
        DeviceAlert.objects.select_for_update()
        .select_related("device__unit")
        .filter(device=device, kind__in=kinds, cleared_at__isnull=True)
    )
    for alert in alerts:
        alert.cleared_at, alert.cleared_by = now or timezone.now(), by
        alert.save(update_fields=["cleared_at", "cleared_by", "updated_at"])
        _publish(alert)
    return len(alerts)


def note_event(event: DeviceEvent) -> None:
    """What a device event means for the device's alerts. Any event proves the device is alive (clears
    "offline"); tamper, low battery and unknown codes open an alert, their restore closes it."""
    device = event.device
    clear_alerts(device, [AlertKind.OFFLINE], now=event.received_at)
    kind = ALERT_OF.get(EventType(event.event_type))
    if kind is None:
        return
    if event.restore:
        clear_alerts(device, [kind], now=event.received_at)
    else:
        raise_alert(device, kind, now=event.received_at, event=event, detail=event.code)
