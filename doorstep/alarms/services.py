"""Every write of the one-click alarm: provisioning devices and receiving what they report.

`receive_event` is the one entry point of every receiver (HTTP here; MQTT and SIA DC-09 next): it stores
a press once, however often the device retries it, and only after the commit is the console told (and
may the receiver tell the device "received").
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import Role
from doorstep.alarms import realtime, supervision
from doorstep.alarms.choices import ALARM_TYPES, AlarmState, DeviceStatus, Disposition, EventType, Protocol
from doorstep.alarms.models import Alarm, AlarmDevice, DeviceEvent
from doorstep.audit.services import record_change
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.org.territory import Territory
from doorstep.registry.models import Unit

DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{4,40}$")
SIA_ACCOUNT = re.compile(r"^[0-9A-Fa-f]{3,16}$")
STATUS_OF = {EventType.TAMPER: DeviceStatus.TAMPER, EventType.LOW_BATTERY: DeviceStatus.LOW_BATTERY}


def _require_provisioner(by: Any, unit: Unit) -> None:
    if by is None or by.is_superuser or by.role == Role.ADMIN:
        return
    if by.role != Role.DIRECTOR or by.station_id != unit.grid.community.station_id:
        raise NotAllowed(_("报警设备须由本所所长或系统管理员登记"))


@transaction.atomic
def provision_device(
    *,
    unit: Unit,
    device_id: str,
    location: str,
    kind: str = "button",
    protocol: str = Protocol.HTTP,
    heartbeat_seconds: int = 300,
    sia_account: str = "",
    with_aes_key: bool = False,
    by: Any = None,
) -> tuple[AlarmDevice, dict[str, str]]:
    """Register a device of a key unit; returns it and its credentials, which are shown this once."""
    unit = Unit.objects.select_related("grid__community").get(pk=unit.pk)
    _require_provisioner(by, unit)
    if not unit.is_key:
        raise ServiceError(_("只有重点单位可以安装一键报警设备"), code="unit")
    if not DEVICE_ID.match(device_id or ""):
        raise ServiceError(_("设备编号应为4至40位字母、数字、下划线或连字符"), code="device_id")
    if AlarmDevice.objects.filter(device_id=device_id).exists():
        raise ServiceError(_("设备编号 %(id)s 已存在") % {"id": device_id}, code="device_id")
    if not location.strip():
        raise ServiceError(_("请填写设备在单位内的安装位置"), code="location")
    if not 30 <= heartbeat_seconds <= 86400:
        raise ServiceError(_("心跳间隔应在30秒至24小时之间"), code="heartbeat_seconds")
    Protocol(protocol)
    device = AlarmDevice(
        device_id=device_id,
        unit=unit,
        grid_id=unit.grid_id,
        station_id=unit.grid.community.station_id,
        kind=kind,
        protocol=protocol,
        location=location.strip(),
        heartbeat_seconds=heartbeat_seconds,
    )
    credentials: dict[str, str] = {"device_id": device_id}
    if protocol == Protocol.DC09:
        if not SIA_ACCOUNT.match(sia_account or ""):
            raise ServiceError(_("SIA 账号应为3至16位十六进制数字"), code="sia_account")
        if AlarmDevice.objects.filter(sia_account=sia_account.upper()).exists():
            raise ServiceError(_("SIA 账号 %(a)s 已被其他设备使用") % {"a": sia_account}, code="sia_account")
        device.sia_account = credentials["sia_account"] = sia_account.upper()
        if with_aes_key:
            device.aes_key = credentials["aes_key"] = secrets.token_hex(16)
    else:
        device.secret = credentials["secret"] = secrets.token_hex(32)
    device.save()
    record_change(by, "alarms.provision_device", device)
    return device, credentials


@transaction.atomic
def receive_event(
    device: AlarmDevice,
    *,
    event_id: str,
    event_type: str,
    occurred_at: dt.datetime,
    protocol: str,
    code: str = "",
    restore: bool = False,
) -> tuple[Alarm | DeviceEvent, bool]:
    """Store what a device reported, once: (the alarm or device event, True if new). A retry of the same
    `event_id` returns the stored row and creates nothing. The consoles hear of a new alarm after commit."""
    EventType(event_type)
    now = timezone.now()
    is_alarm = event_type in ALARM_TYPES
    model = Alarm if is_alarm else DeviceEvent
    existing = model.objects.filter(device=device, event_id=event_id).first()
    if existing is not None:
        return existing, False
    fields: dict[str, Any] = {
        "device": device,
        "grid_id": device.grid_id,
        "event_id": event_id,
        "event_type": event_type,
        "protocol": protocol,
        "received_at": now,
    }
    if is_alarm:
        fields |= {"unit_id": device.unit_id, "station_id": device.station_id, "pressed_at": occurred_at}
        fields["is_drill"] = event_type == EventType.TEST
    else:
        fields |= {"occurred_at": occurred_at, "code": code[:40], "restore": restore}
    try:
        with transaction.atomic():  # a concurrent retry of the same press may win the race: that one stands
            row = model.objects.create(**fields)
    except IntegrityError:
        return model.objects.get(device=device, event_id=event_id), False
    status = None if restore else STATUS_OF.get(event_type)
    if status is None and device.status in (DeviceStatus.UNKNOWN, DeviceStatus.OFFLINE):
        status = DeviceStatus.ONLINE
    AlarmDevice.objects.filter(pk=device.pk).update(
        last_seen_at=now, **({"status": status} if status is not None else {})
    )
    if is_alarm:
        payload = console_payload(row)
        transaction.on_commit(lambda: realtime.publish_to_station(device.station_id, payload))
    else:
        supervision.note_event(row)
    return row, True


def console_payload(alarm: Alarm) -> dict[str, Any]:
    """What a dispatch console shows of a new alarm (no personal data beyond the unit's security lead)."""
    alarm = Alarm.objects.select_related("device", "unit__address", "grid", "station", "acknowledged_by").get(
        pk=alarm.pk
    )
    unit = alarm.unit
    return {
        "id": alarm.pk,
        "type": alarm.event_type,
        "type_label": str(alarm.get_event_type_display()),
        "drill": alarm.is_drill,
        "state": alarm.state,
        "state_label": str(alarm.get_state_display()),
        "acknowledged_by": str(alarm.acknowledged_by) if alarm.acknowledged_by_id else "",
        "pressed_at": alarm.pressed_at.isoformat(),
        "received_at": alarm.received_at.isoformat(),
        "unit": {"id": unit.pk, "name": unit.name, "address": unit.address.full_text},
        "location": alarm.device.location,
        "device": alarm.device.device_id,
        "security_lead": unit.security_lead,
        "security_phone": unit.security_phone,
        "grid": {"id": alarm.grid_id, "name": alarm.grid.name},
        "station": alarm.station_id,
        "lng": unit.address.lng,
        "lat": unit.address.lat,
    }


# --- the dispatch lifecycle --------------------------------------------------------------------------------
CONSOLE_ROLES = {Role.DISPATCHER, Role.DIRECTOR, Role.LEADER}


def _require_console(by: Any, alarm: Alarm) -> None:
    if by is None:
        return
    if by.role not in CONSOLE_ROLES or not Territory.for_user(by).covers_station(alarm.station_id):
        raise NotAllowed(_("只有本所调度员、所长或分局领导可以处置报警"))


def _changed(alarm: Alarm) -> None:
    payload = console_payload(alarm)
    transaction.on_commit(lambda: realtime.publish_to_station(alarm.station_id, payload))


@transaction.atomic
def acknowledge(alarm: Alarm, *, by: Any) -> Alarm:
    """The dispatcher has seen it: received → acknowledged (the first acknowledgement stands)."""
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    _require_console(by, alarm)
    if alarm.state != AlarmState.RECEIVED:
        return alarm
    alarm.state, alarm.acknowledged_at, alarm.acknowledged_by = AlarmState.ACKNOWLEDGED, timezone.now(), by
    alarm.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "updated_at"])
    record_change(by, "alarms.acknowledge", alarm)
    _changed(alarm)
    return alarm


@transaction.atomic
def close(alarm: Alarm, *, disposition: str, note: str = "", by: Any) -> Alarm:
    """Closed with a disposition (真实警情, 误报, 测试, 其他); an unacknowledged alarm is acknowledged too."""
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    _require_console(by, alarm)
    Disposition(disposition)
    if alarm.state == AlarmState.CLOSED:
        raise RuleViolation(_("该报警已结案"), code="closed")
    now = timezone.now()
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at, alarm.acknowledged_by = now, by
    alarm.state, alarm.closed_at, alarm.disposition = AlarmState.CLOSED, now, disposition
    alarm.save()
    record_change(by, "alarms.close", alarm, note=note[:200])
    _changed(alarm)
    return alarm
