"""Supervision of the one-click alarm: device alerts, device status, and the timers of `alarmd`.

Devices raise and clear alerts through what they report (`heard_from` and `note_event`, called by
`services.receive_event` inside its transaction). `tick(now)`, run every second by `alarmd` (and by tests with a frozen clock),
escalates alarms nobody acknowledged in time, flags alarms nobody reached within the response norm, and
raises "offline" for devices that missed two heartbeat intervals. At most one open alert per device and
kind; a device's status follows its open alerts; the consoles hear of every change after commit.

tick is meant to cost a handful of indexed queries when nothing is due, and to be safe when two processes
run it (the active alarmd and a standby, or a deploy overlap): every write is a conditional UPDATE or rests
on a unique constraint, so the second process finds nothing left to do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.alarms import realtime
from doorstep.alarms.choices import AlarmState, AlertKind, DeviceStatus, EventType
from doorstep.alarms.models import Alarm, AlarmDevice, DeviceAlert, DeviceEvent
from doorstep.audit.services import record_change
from doorstep.core.dbwrites import serialized_writes
from doorstep.org.choices import AreaType
from doorstep.org.models import Station

ALERT_OF = {
    EventType.TAMPER: AlertKind.TAMPER,
    EventType.LOW_BATTERY: AlertKind.LOW_BATTERY,
    EventType.UNKNOWN: AlertKind.UNKNOWN,
}
# A device's status is its worst open alert (an unknown code says nothing about the device's health).
STATUS_BY_ALERT = [
    (AlertKind.OFFLINE, DeviceStatus.OFFLINE),
    (AlertKind.TAMPER, DeviceStatus.TAMPER),
    (AlertKind.LOW_BATTERY, DeviceStatus.LOW_BATTERY),
]
# The emergency response norm (DOMAIN.md): on scene within 5 minutes in the city, 10 in the suburbs.
ARRIVAL_NORM_SECONDS = {AreaType.CITY: 5 * 60, AreaType.SUBURB: 10 * 60}
MISSED_HEARTBEATS = 2  # "offline" after two heartbeat intervals without a word
BATCH = 200  # at most this many of each kind per tick; the rest follow a second later

M = TypeVar("M", bound=models.Model)


def arrival_norm_seconds(area_type: str) -> int:
    return ARRIVAL_NORM_SECONDS.get(area_type, ARRIVAL_NORM_SECONDS[AreaType.CITY])


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


def create_once(model: type[M], **fields: Any) -> M | None:
    """Create the row, or None when a unique constraint says it exists already (a concurrent writer —
    another receiver, another worker's tick — created it first). In a savepoint, so the caller's transaction
    goes on; the "one open alert per device / camera" rules rest on this."""
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError:
        return None


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
    alert = create_once(
        DeviceAlert,
        device=device,
        grid_id=device.grid_id,
        station_id=device.station_id,
        kind=kind,
        event=event,
        detail=detail[:200],
        raised_at=now or timezone.now(),
    )
    if alert is None:  # a concurrent receiver opened it first
        return None
    _publish(alert)
    sync_status(device)
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
    if alerts:
        sync_status(device)
    return len(alerts)


def sync_status(device: AlarmDevice) -> str:
    """Set the device's status from its open alerts: offline, tamper or low battery while one is open,
    online once all are cleared (unknown if it has never been heard from). Returns the status."""
    open_kinds = set(
        DeviceAlert.objects.filter(device_id=device.pk, cleared_at__isnull=True).values_list(
            "kind", flat=True
        )
    )
    status = next((s for kind, s in STATUS_BY_ALERT if kind in open_kinds), None)
    if status is None:
        seen = AlarmDevice.objects.filter(pk=device.pk).values_list("last_seen_at", flat=True).first()
        status = DeviceStatus.ONLINE if seen is not None else DeviceStatus.UNKNOWN
    AlarmDevice.objects.filter(pk=device.pk).exclude(status=status).update(status=status)
    device.status = status
    return status


def heard_from(device: AlarmDevice, *, now: dt.datetime) -> None:
    """The device reported something, so it is alive: its "offline" alert closes, and a device never heard
    from before is online. One primary-key read for a device already online (the path of every press); the
    status is read from the database, as the tick may have changed it since the caller loaded the device."""
    device.status = AlarmDevice.objects.filter(pk=device.pk).values_list("status", flat=True).get()
    if device.status not in (DeviceStatus.UNKNOWN, DeviceStatus.OFFLINE):
        return
    if not clear_alerts(device, [AlertKind.OFFLINE], now=now):
        sync_status(device)


def note_event(event: DeviceEvent) -> None:
    """What a device event means for the device's alerts (that it is alive is `heard_from`'s): tamper, low
    battery and unknown codes open an alert, their restore closes it."""
    device = event.device
    kind = ALERT_OF.get(EventType(event.event_type))
    if kind is None:
        return
    if event.restore:
        clear_alerts(device, [kind], now=event.received_at)
    else:
        raise_alert(device, kind, now=event.received_at, event=event, detail=event.code)


# --- the tick ----------------------------------------------------------------------------------------------
def tick(now: dt.datetime | None = None) -> dict[str, int]:
    """One round of the timers (every second in `alarmd`): escalation, lateness, heartbeats, drills.
    Returns how many of each it did. Each write commits on its own, so a failure leaves the rest done."""
    now = now or timezone.now()
    stations = list(Station.objects.order_by().values_list("id", "area_type"))
    with serialized_writes():  # on SQLite the receivers' writers and the tick's queue in turn
        done = {
            "escalated": _escalate_due(now, [pk for pk, _area in stations]),
            "late": _flag_late(now, stations),
            "offline": _mark_offline(now),
            "recovered": _clear_recovered(now),
        }
        from doorstep.alarms import drills  # drills → devices → this module

        drills.settle_due(now)
    return done


# The alarm table keeps every alarm ever raised; the ones still waiting for a step are few. The queries below
# ask only for "station IN (all stations) AND state = …" — the (station, state) index answers that with a
# handful of rows — and compare the times of those few rows here. (A range on received_at in SQL would let
# the planner pick the (station, received_at) index instead and walk the whole history.)
def _escalate_due(now: dt.datetime, station_ids: list[int]) -> int:
    """Alarms still only received ALARM_ESCALATE_SECONDS after they came in."""
    from doorstep.alarms import services  # services imports this module

    deadline = now - dt.timedelta(seconds=settings.ALARM_ESCALATE_SECONDS)
    waiting = (
        Alarm.objects.filter(station_id__in=station_ids, state=AlarmState.RECEIVED, escalated_at__isnull=True)
        .order_by()
        .values_list("pk", "received_at")
    )
    due = sorted((received, pk) for pk, received in waiting if received <= deadline)[:BATCH]
    return sum(services.escalate(pk, now=now) for _received, pk in due)


def _flag_late(now: dt.datetime, stations: list[tuple[int, str]]) -> int:
    """Alarms nobody has reached within the norm of their station's area (city 5 min, suburb 10 min)."""
    from doorstep.alarms import services

    norm_of = {pk: arrival_norm_seconds(area) for pk, area in stations}
    unreached = (
        Alarm.objects.filter(station_id__in=list(norm_of), state__in=services.UNARRIVED, late_at__isnull=True)
        .order_by()
        .values_list("pk", "station_id", "received_at")
    )
    due = sorted(
        (received, pk)
        for pk, station_id, received in unreached
        if received <= now - dt.timedelta(seconds=norm_of[station_id])
    )[:BATCH]
    return sum(services.flag_late(pk, now=now) for _received, pk in due)


def heartbeat_overdue(device: AlarmDevice, now: dt.datetime) -> bool:
    """Silent for more than MISSED_HEARTBEATS intervals (since provisioning, if never heard from)."""
    silence = dt.timedelta(seconds=MISSED_HEARTBEATS * device.heartbeat_seconds)
    return (device.last_seen_at or device.created_at) < now - silence


def overdue_devices(now: dt.datetime) -> Q:
    """`heartbeat_overdue` as a query condition. Plain comparisons per distinct interval — a site has a
    handful — so the database compares timestamps with no per-row date arithmetic."""
    watched = AlarmDevice.objects.filter(active=True).exclude(status=DeviceStatus.OFFLINE)
    overdue = Q(pk__in=[])
    for seconds in watched.order_by().values_list("heartbeat_seconds", flat=True).distinct():
        deadline = now - dt.timedelta(seconds=MISSED_HEARTBEATS * seconds)
        overdue |= Q(heartbeat_seconds=seconds) & (
            Q(last_seen_at__lt=deadline) | Q(last_seen_at__isnull=True, created_at__lt=deadline)
        )
    return overdue


def _mark_offline(now: dt.datetime) -> int:
    due = (
        AlarmDevice.objects.filter(active=True)
        .exclude(status=DeviceStatus.OFFLINE)
        .filter(overdue_devices(now))
        .order_by()
        .values_list("pk", flat=True)[:BATCH]
    )
    return sum(mark_offline(pk, now=now) for pk in due)


@transaction.atomic
def mark_offline(device_pk: int, *, now: dt.datetime) -> bool:
    """Raise "device offline" for a device that missed two heartbeats, re-checked under the row lock so a
    heartbeat that committed meanwhile wins. False when it turned out alive or is already offline."""
    device = AlarmDevice.objects.select_for_update().filter(pk=device_pk).first()
    if device is None or not device.active or device.status == DeviceStatus.OFFLINE:
        return False
    if not heartbeat_overdue(device, now):
        return False
    raise_alert(
        device,
        AlertKind.OFFLINE,
        now=now,
        detail=_("超过%(n)s秒未收到心跳") % {"n": MISSED_HEARTBEATS * device.heartbeat_seconds},
    )
    sync_status(device)  # offline even if another process opened the alert first
    record_change(None, "alarms.device_offline", device)
    return True


def _clear_recovered(now: dt.datetime) -> int:
    """Open "offline" alerts of devices that have been heard from since: receivers close them at once
    (`heard_from`), this catches a report that committed while a tick was marking the device offline. The
    open alerts are few and the partial unique index on open alerts finds them."""
    recovered = (
        DeviceAlert.objects.filter(
            cleared_at__isnull=True, kind=AlertKind.OFFLINE, device__last_seen_at__gt=F("raised_at")
        )
        .select_related("device")
        .order_by()
    )
    count = 0
    for alert in recovered[:BATCH]:
        count += clear_alerts(alert.device, [AlertKind.OFFLINE], now=alert.device.last_seen_at)
    return count
