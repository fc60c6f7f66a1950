"""Managing alarm devices after they are provisioned, and the scoped reads of the device pages.

Provisioning itself is `services.provision_device`. Here: rotating credentials (shown once, like the first
ones), editing the location and heartbeat, deactivating and reactivating, and clearing a device alert by
hand with a note. Every write checks who acts, runs in one transaction and leaves an audit entry; secrets
never reach the audit log (`audit.services.SKIP_FIELDS`).

Who may do what:
- see devices, their health and drills: the station's directors and dispatchers, sub-bureau leaders and
  system administrators (`VIEW_ROLES`), each within their territory;
- provision, rotate, edit, deactivate, schedule drills: the station's director or a system administrator
  (the rule of `services.provision_device`);
- clear an alert by hand: the station's director or dispatcher, or a system administrator (`ALERT_ROLES`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.db.models import CharField as CharFieldType
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doorstep.accounts.choices import Role
from doorstep.alarms import supervision
from doorstep.alarms.choices import AlertKind, DeviceStatus, DrillStatus, Protocol
from doorstep.alarms.models import AlarmDevice, DeviceAlert, Drill
from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.org.models import Grid
from doorstep.org.territory import Territory
from doorstep.registry.models import Unit

VIEW_ROLES = {Role.DIRECTOR, Role.DISPATCHER, Role.LEADER, Role.ADMIN}
ALERT_ROLES = {Role.DIRECTOR, Role.DISPATCHER, Role.ADMIN}
MIN_HEARTBEAT, MAX_HEARTBEAT = 30, 86400  # seconds, as services.provision_device checks


class Health:
    """What the device-health page says of a device, worst first (one value per device)."""

    INACTIVE = "inactive"
    OFFLINE = "offline"
    TAMPER = "tamper"
    LOW_BATTERY = "low_battery"
    NEVER_SEEN = "never_seen"
    ONLINE = "online"

    choices = [
        (OFFLINE, gettext_lazy("离线")),
        (TAMPER, gettext_lazy("防拆报警")),
        (LOW_BATTERY, gettext_lazy("电量低")),
        (NEVER_SEEN, gettext_lazy("从未上线")),
        (ONLINE, gettext_lazy("在线")),
        (INACTIVE, gettext_lazy("已停用")),
    ]
    labels = dict(choices)
    badges = {
        OFFLINE: "bg-red text-red-fg",
        TAMPER: "bg-orange text-orange-fg",
        LOW_BATTERY: "bg-yellow text-yellow-fg",
        NEVER_SEEN: "bg-secondary-lt",
        ONLINE: "bg-green-lt",
        INACTIVE: "bg-secondary-lt",
    }


# --- permissions --------------------------------------------------------------------------------------------
def may_view(user: Any) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.role in VIEW_ROLES))


def may_manage(user: Any, station_id: int | None = None) -> bool:
    """Director of this station (of any station when `station_id` is None) or a system administrator."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser or user.role == Role.ADMIN:
        return True
    return user.role == Role.DIRECTOR and (station_id is None or user.station_id == station_id)


def may_clear_alerts(user: Any, station_id: int) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.role in ALERT_ROLES and Territory.for_user(user).covers_station(station_id)


def _require_manager(by: Any, device: AlarmDevice) -> None:
    if by is None:  # the system itself (seed, management commands)
        return
    if not may_manage(by, device.station_id):
        raise NotAllowed(_("报警设备须由本所所长或系统管理员管理"))


# --- reads --------------------------------------------------------------------------------------------------
def devices_for(user: Any) -> QuerySet[AlarmDevice]:
    """The devices the user may see (none for roles without the device pages)."""
    if not may_view(user):
        return AlarmDevice.objects.none()
    return Territory.for_user(user).filter(
        AlarmDevice.objects.select_related("unit", "unit__address", "station", "grid")
    )


def alerts_for(user: Any) -> QuerySet[DeviceAlert]:
    if not may_view(user):
        return DeviceAlert.objects.none()
    return Territory.for_user(user).filter(DeviceAlert.objects.select_related("device", "device__unit"))


def with_health(qs: QuerySet[AlarmDevice], now: dt.datetime | None = None) -> QuerySet[AlarmDevice]:
    """Annotate `health` (a `Health` value) and prefetch the open alerts as `open_alerts`.

    Open alerts are the truth for tamper and low battery (the device clears them with its restore code, a
    person by hand). Offline is an open "offline" alert, the stored status, or a heartbeat overdue by two
    intervals even before the supervision tick has raised its alert, so the page is right on reload. Never
    seen: provisioned less than two intervals ago and not heard from yet (later it is offline)."""
    now = now or timezone.now()

    def open_alert(kind: str) -> Exists:
        return Exists(DeviceAlert.objects.filter(device=OuterRef("pk"), kind=kind, cleared_at__isnull=True))

    return qs.annotate(
        health=Case(
            When(active=False, then=Value(Health.INACTIVE)),
            When(
                open_alert(AlertKind.OFFLINE)
                | Q(status=DeviceStatus.OFFLINE)
                | supervision.overdue_devices(now),
                then=Value(Health.OFFLINE),
            ),
            When(open_alert(AlertKind.TAMPER), then=Value(Health.TAMPER)),
            When(open_alert(AlertKind.LOW_BATTERY), then=Value(Health.LOW_BATTERY)),
            When(last_seen_at__isnull=True, then=Value(Health.NEVER_SEEN)),
            default=Value(Health.ONLINE),
            output_field=CharFieldType(),
        )
    ).prefetch_related(
        Prefetch(
            "alerts",
            queryset=DeviceAlert.objects.filter(cleared_at__isnull=True).order_by("raised_at", "id"),
            to_attr="open_alerts",
        )
    )


# --- writes -------------------------------------------------------------------------------------------------
def _check_location(location: str) -> str:
    location = (location or "").strip()
    if not location:
        raise ServiceError(_("请填写设备在单位内的安装位置"), code="location")
    if len(location) > 100:
        raise ServiceError(_("安装位置不能超过100个字"), code="location")
    return location


def _check_heartbeat(seconds: int) -> int:
    if not MIN_HEARTBEAT <= seconds <= MAX_HEARTBEAT:
        raise ServiceError(_("心跳间隔应在30秒至24小时之间"), code="heartbeat_seconds")
    return seconds


@transaction.atomic
def rotate_credentials(
    device: AlarmDevice, *, by: Any, with_aes_key: bool = False
) -> tuple[AlarmDevice, dict[str, str]]:
    """New credentials for the device; the old ones stop working at the commit. Returns the device and the
    new credentials, which are shown this once. HTTP/MQTT: a new signing secret. SIA DC-09: a new AES key
    (the account stays: it is what the panel is configured with); a plain panel gets its first key only
    when `with_aes_key` asks for one, since it will have to be reconfigured to encrypt."""
    device = AlarmDevice.objects.select_for_update().get(pk=device.pk)
    _require_manager(by, device)
    credentials = {"device_id": device.device_id}
    if device.protocol == Protocol.DC09:
        if not device.aes_key and not with_aes_key:
            raise ServiceError(
                _("该 SIA DC-09 设备未启用加密，没有可更换的密钥；如需加密，请勾选“生成 AES 密钥”"),
                code="with_aes_key",
            )
        device.aes_key = credentials["aes_key"] = secrets.token_hex(16)
        credentials["sia_account"] = device.sia_account
        fields = ["aes_key"]
    else:
        device.secret = credentials["secret"] = secrets.token_hex(32)
        fields = ["secret"]
    device.save(update_fields=[*fields, "updated_at"])
    record_change(
        by,
        "alarms.rotate_credentials",
        device,
        note=_("已更换 AES 密钥") if fields == ["aes_key"] else _("已更换签名密钥"),
    )
    return device, credentials


@transaction.atomic
def update_device(
    device: AlarmDevice,
    *,
    by: Any,
    location: str | None = None,
    heartbeat_seconds: int | None = None,
) -> AlarmDevice:
    """Change where the device hangs in the unit and how often it must report."""
    device = AlarmDevice.objects.select_for_update().get(pk=device.pk)
    _require_manager(by, device)
    before = snapshot(device)
    if location is not None:
        device.location = _check_location(location)
    if heartbeat_seconds is not None:
        device.heartbeat_seconds = _check_heartbeat(heartbeat_seconds)
    device.save(update_fields=["location", "heartbeat_seconds", "updated_at"])
    record_change(by, "alarms.update_device", device, before=before)
    return device


@transaction.atomic
def set_active(device: AlarmDevice, active: bool, *, by: Any, note: str = "") -> AlarmDevice:
    """Deactivate (removed, broken, unit closed) or reactivate a device. A deactivated device is refused by
    the receivers; its open alerts are cleared and its scheduled drills cancelled, since nobody expects it
    to report any more. A reactivated device is offline until it reports again."""
    device = AlarmDevice.objects.select_for_update().get(pk=device.pk)
    _require_manager(by, device)
    if device.active == active:
        raise RuleViolation(_("设备已是启用状态") if active else _("设备已停用"), code="active")
    before = snapshot(device)
    device.active = active
    device.save(update_fields=["active", "updated_at"])
    if not active:
        supervision.clear_alerts(device, list(AlertKind.values), by=by)
        for drill in Drill.objects.select_for_update().filter(device=device, status=DrillStatus.SCHEDULED):
            drill.status = DrillStatus.CANCELLED
            drill.save(update_fields=["status", "updated_at"])
            record_change(by, "alarms.cancel_drill", drill, note=_("设备停用"))
    record_change(
        by,
        "alarms.activate_device" if active else "alarms.deactivate_device",
        device,
        before=before,
        note=note,
    )
    return device


@transaction.atomic
def clear_alert(alert: DeviceAlert, *, note: str, by: Any) -> DeviceAlert:
    """A person clears an open device alert (the device was checked, the battery changed…), with a note.
    If the condition persists, supervision raises a new alert."""
    alert = DeviceAlert.objects.select_related("device").get(pk=alert.pk)
    if by is not None and not may_clear_alerts(by, alert.station_id):
        raise NotAllowed(_("只有本所所长、调度员或系统管理员可以解除设备告警"))
    note = (note or "").strip()
    if not note:
        raise ServiceError(_("请填写解除说明"), code="note")
    if len(note) > 200:
        raise ServiceError(_("解除说明不能超过200个字"), code="note")
    if alert.cleared_at is not None:
        raise RuleViolation(_("该告警已解除"), code="cleared")
    supervision.clear_alerts(alert.device, [alert.kind], by=by)
    alert.refresh_from_db()
    record_change(by, "alarms.clear_alert", alert, note=note)
    return alert


@transaction.atomic
def follow_unit(unit: Unit, *, by: Any) -> int:
    """The unit moved to another grid (its address changed): its devices and their scheduled drills move with
    it, so the next press rings at the station now responsible. Alarms already raised stay where they were
    handled. Returns how many devices moved."""
    grid = Grid.objects.select_related("community").get(pk=unit.grid_id)
    moved = 0
    for device in AlarmDevice.objects.select_for_update().filter(unit=unit):
        if (device.grid_id, device.station_id) == (grid.pk, grid.community.station_id):
            continue
        before = snapshot(device)
        device.grid_id, device.station_id = grid.pk, grid.community.station_id
        device.save(update_fields=["grid", "station", "updated_at"])
        Drill.objects.filter(device=device, status=DrillStatus.SCHEDULED).update(
            grid_id=grid.pk, station_id=grid.community.station_id
        )
        record_change(by, "alarms.device_follow_unit", device, before=before)
        moved += 1
    return moved
