"""Every write of the one-click alarm: provisioning devices, receiving what they report, and the dispatch
lifecycle (acknowledge → dispatch → arrive → close, plus supervision's escalate and flag_late).

`receive_event` is the one entry point of every receiver (HTTP, MQTT and SIA DC-09): it stores
a press once, however often the device retries it, and only after the commit is the console told (and
may the receiver tell the device "received").
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import Role
from doorstep.alarms import devices, drills, notify, realtime, supervision
from doorstep.alarms.choices import (
    ALARM_TYPES,
    AlarmState,
    Disposition,
    EventType,
    Protocol,
)
from doorstep.alarms.models import Alarm, AlarmDevice, DeviceEvent
from doorstep.audit.models import AuditEntry
from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.geo import GeometryError, check_point, distance_m
from doorstep.org.choices import Position
from doorstep.org.models import GridAssignment
from doorstep.org.territory import Territory
from doorstep.registry.models import Unit
from doorstep.video.choices import CameraStatus
from doorstep.video.models import Camera

log = logging.getLogger("doorstep.alarms")

DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{4,40}$")
SIA_ACCOUNT = re.compile(r"^[0-9A-Fa-f]{3,16}$")


def _require_provisioner(by: Any, unit: Unit) -> None:
    if by is not None and not devices.may_manage(by, unit.grid.community.station_id):
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
    if len(location.strip()) > 100:
        raise ServiceError(_("安装位置不能超过100个字"), code="location")
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
    repeat_window: dt.timedelta | None = None,
) -> tuple[Alarm | DeviceEvent, bool]:
    """Store what a device reported, once: (the alarm or device event, True if new). A retry of the same
    `event_id` returns the stored row and creates nothing. The consoles hear of a new alarm after commit.

    The restore of a panic (the button reset: SIA PR/HR, Contact ID 3120) is a device event of that type
    with ``restore=True``, not an alarm: there is nothing to dispatch.

    ``repeat_window`` is for devices whose event ids come round again (a SIA DC-09 sequence number wraps
    at 9999): ``event_id`` is then a key, stored as ``key@bucket`` where bucket = received time // window.
    A row of this device under the same key received within the window (looked up in this bucket and the
    one before, by the unique index) is the same event; later, the key is a new event."""
    EventType(event_type)
    now = timezone.now()
    is_alarm = event_type in ALARM_TYPES and not restore
    model = Alarm if is_alarm else DeviceEvent
    if repeat_window is None:
        candidates = [event_id]
    else:
        bucket = int(now.timestamp() // repeat_window.total_seconds())
        candidates, event_id = [f"{event_id}@{bucket}", f"{event_id}@{bucket - 1}"], f"{event_id}@{bucket}"
    since = now - repeat_window if repeat_window is not None else None
    for existing in model.objects.filter(device=device, event_id__in=candidates).order_by("-received_at"):
        if since is None or existing.received_at >= since:
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
    # The status follows the open alerts (supervision.sync_status): whatever the device reports, it is alive.
    AlarmDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
    device.last_seen_at = now
    supervision.heard_from(device, now=now)
    if is_alarm:
        drills.match_press(row)  # the press a scheduled drill of this device waits for is marked a drill
        payload = console_payload(row)
        transaction.on_commit(lambda: realtime.publish_to_station(device.station_id, payload))
    else:
        supervision.note_event(row)
    return row, True


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def person_payload(user: Any) -> dict[str, Any] | None:
    """A field officer as the console and the phone page show them: name, role and work phone."""
    if user is None:
        return None
    staff = user.staff if user.staff_id else None
    return {
        "id": user.pk,
        "name": str(user) if user.display_name or staff is None else staff.name,
        "role": user.role,
        "role_label": str(user.get_role_display()),
        "phone": staff.phone if staff is not None else "",
    }


USER_FIELDS = ("acknowledged_by", "dispatched_to", "dispatched_by", "closed_by")


# Nearby cameras: the enabled cameras of the alarm's station within NEARBY_CAMERA_M of the unit. Only the
# alarm's station: the payload goes to the station's consoles (everyone there covers that station), so
# another station's cameras would show where they may not be seen. The database filters a box around the
# unit (degrees of latitude for the radius; of longitude at 54°N, China's northern edge, so the box is never
# too small); the exact distance is computed after.
NEARBY_CAMERA_M = 500
MAX_NEARBY_CAMERAS = 12
_NEAR_LAT = NEARBY_CAMERA_M / 111_000
_NEAR_LNG = _NEAR_LAT / math.cos(math.radians(54))


def _unit_position(outer: str = "") -> tuple[Any, Any]:
    return (
        Coalesce(OuterRef(f"{outer}unit__lng"), OuterRef(f"{outer}unit__address__lng")),
        Coalesce(OuterRef(f"{outer}unit__lat"), OuterRef(f"{outer}unit__address__lat")),
    )


def _cameras_near_unit() -> Exists:
    """Whether an enabled camera of the alarm's station is in the box around its unit (a subquery of the
    alarm's own query: the common case, no camera near, costs no query of its own)."""
    lng, lat = _unit_position()
    return Exists(
        Camera.objects.filter(
            station_id=OuterRef("station_id"),
            enabled=True,
            lng__gte=lng - _NEAR_LNG,
            lng__lte=lng + _NEAR_LNG,
            lat__gte=lat - _NEAR_LAT,
            lat__lte=lat + _NEAR_LAT,
        )
    )


def _last_dispatch_text() -> Subquery:
    """The outcome of the alarm's latest dispatch text message (notify.SENT / notify.FAILED, or None): a
    subquery of the alarm's own query, on the change log's object index."""
    return Subquery(
        AuditEntry.objects.filter(
            object_type="alarms.alarm",
            object_id=Cast(OuterRef("pk"), CharField()),
            action__in=(notify.SENT, notify.FAILED),
        )
        .order_by("-id")
        .values("action")[:1]
    )


def nearby_cameras(alarms: Iterable[Alarm]) -> dict[int, list[dict[str, Any]]]:
    """{alarm id: the enabled cameras of its station within NEARBY_CAMERA_M of its unit, nearest first} in one
    query for all of them: [{id, name, location, distance_m, status, status_label}]."""
    places = {}
    for alarm in alarms:
        unit = alarm.unit
        lng, lat = (unit.lng, unit.lat) if unit.lng is not None else (unit.address.lng, unit.address.lat)
        if lng is not None and lat is not None:
            places[alarm.pk] = (alarm.station_id, lng, lat)
    if not places:
        return {}
    box = Q()
    for station_id, lng, lat in set(places.values()):
        box |= Q(
            station_id=station_id,
            lng__range=(lng - _NEAR_LNG, lng + _NEAR_LNG),
            lat__range=(lat - _NEAR_LAT, lat + _NEAR_LAT),
        )
    cameras = list(
        Camera.objects.filter(box, enabled=True)
        .order_by("code")
        .values("id", "name", "location", "status", "lng", "lat", "station_id")
    )
    labels = dict(CameraStatus.choices)
    found: dict[int, list[dict[str, Any]]] = {}
    for alarm_id, (station_id, lng, lat) in places.items():
        near = []
        for c in cameras:
            if c["station_id"] != station_id:
                continue
            distance = distance_m(lng, lat, c["lng"], c["lat"])
            if distance <= NEARBY_CAMERA_M:
                near.append(
                    {
                        "id": c["id"],
                        "name": c["name"],
                        "location": c["location"],
                        "distance_m": round(distance),
                        "status": c["status"],
                        "status_label": str(labels.get(c["status"], c["status"])),
                    }
                )
        near.sort(key=lambda c: (c["distance_m"], c["id"]))
        found[alarm_id] = near[:MAX_NEARBY_CAMERAS]
    return found


def console_payloads(alarms: Iterable[Alarm | int]) -> list[dict[str, Any]]:
    """The console payloads of these alarms, in the order given, in at most three queries whatever their
    number. The people are fetched apart, and only when there are any: a new alarm (the path every press
    takes) has none, and four more joins in its query cost more to compile than to run. The nearby cameras
    likewise: one more query only when a camera stands near one of the units."""
    ids = [a.pk if isinstance(a, Alarm) else a for a in alarms]
    rows = {
        a.pk: a
        for a in Alarm.objects.select_related("device", "unit__address", "grid", "station")
        .annotate(cameras_near=_cameras_near_unit(), last_text=_last_dispatch_text())
        .order_by()
        .filter(pk__in=ids)
    }
    user_ids = {getattr(a, f"{f}_id") for a in rows.values() for f in USER_FIELDS} - {None}
    if user_ids:
        users = get_user_model().objects.select_related("staff").order_by().in_bulk(user_ids)
        for alarm in rows.values():
            for name in USER_FIELDS:
                setattr(alarm, name, users.get(getattr(alarm, f"{name}_id")))
    officers = grid_officers({a.grid_id for a in rows.values()})
    cameras = nearby_cameras([a for a in rows.values() if a.cameras_near])
    return [
        _payload(rows[pk], officers.get(rows[pk].grid_id), cameras.get(pk, [])) for pk in ids if pk in rows
    ]


def console_payload(alarm: Alarm) -> dict[str, Any]:
    """What a dispatch console (and the dispatched officer's phone page) shows of an alarm: the unit, where
    the device is, the security lead, the grid officer and every step of the lifecycle with its time. No
    personal data beyond the security lead and the officers' work phones."""
    return console_payloads([alarm])[0]


def _payload(alarm: Alarm, officer: Any, cameras: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    unit = alarm.unit
    lng, lat = (unit.lng, unit.lat) if unit.lng is not None else (unit.address.lng, unit.address.lat)
    arrival = None
    if alarm.arrived_at is not None:
        arrival = {"lng": alarm.arrival_lng, "lat": alarm.arrival_lat, "accuracy": alarm.arrival_accuracy}
        arrival["distance_m"] = (
            round(distance_m(alarm.arrival_lng, alarm.arrival_lat, lng, lat))
            if alarm.arrival_lng is not None and lng is not None
            else None
        )
    receipt = None
    if alarm.received_by_officer_at is not None:
        receipt = {"lng": alarm.receipt_lng, "lat": alarm.receipt_lat, "accuracy": alarm.receipt_accuracy}
    return {
        "id": alarm.pk,
        "type": alarm.event_type,
        "type_label": str(alarm.get_event_type_display()),
        "drill": alarm.is_drill,
        "state": alarm.state,
        "state_label": str(alarm.get_state_display()),
        "pressed_at": alarm.pressed_at.isoformat(),
        "received_at": alarm.received_at.isoformat(),
        "acknowledged_at": _iso(alarm.acknowledged_at),
        "acknowledged_by": str(alarm.acknowledged_by) if alarm.acknowledged_by_id else "",
        "dispatched_at": _iso(alarm.dispatched_at),
        "dispatched_to": person_payload(alarm.dispatched_to),
        "dispatched_by": str(alarm.dispatched_by) if alarm.dispatched_by_id else "",
        "received_by_officer_at": _iso(alarm.received_by_officer_at),  # 接警确认 on the officer's phone
        "receipt": receipt,
        # The officer's work phone did not get the dispatch text (no phone, or the gateway refused it).
        "sms_failed": getattr(alarm, "last_text", None) == notify.FAILED,
        "arrived_at": _iso(alarm.arrived_at),
        "arrival": arrival,
        "escalated_at": _iso(alarm.escalated_at),
        "late_at": _iso(alarm.late_at),
        "closed_at": _iso(alarm.closed_at),
        "closed_by": str(alarm.closed_by) if alarm.closed_by_id else "",
        "disposition": alarm.disposition,
        "disposition_label": str(alarm.get_disposition_display()) if alarm.disposition else "",
        "close_note": alarm.close_note,
        "updated_at": alarm.updated_at.isoformat(),  # pages keep the newer of a push and a reload
        "norm_seconds": supervision.arrival_norm_seconds(alarm.station.area_type),
        "unit": {"id": unit.pk, "name": unit.name, "address": unit.address.full_text},
        "location": alarm.device.location,
        "device": alarm.device.device_id,
        "security_lead": unit.security_lead,
        "security_phone": unit.security_phone,
        "grid": {"id": alarm.grid_id, "name": alarm.grid.name},
        "grid_officer": person_payload(officer),
        "station": alarm.station_id,
        "station_name": alarm.station.name,
        "lng": lng,
        "lat": lat,
        "cameras": cameras or [],  # nearby_cameras: what the dispatcher can look at around the unit
    }


# --- the dispatch lifecycle --------------------------------------------------------------------------------
# received → acknowledged → dispatched → arrived → closed. Every step keeps its time and who did it; a step
# repeated by a second dispatcher (or a retry) is harmless and changes nothing.
CONSOLE_ROLES = {Role.DISPATCHER, Role.DIRECTOR, Role.LEADER}
FIELD_ROLES = {Role.OFFICER, Role.AUXILIARY}  # who can be sent: the grid team (1 officer + 2 auxiliaries)
UNARRIVED = (AlarmState.RECEIVED, AlarmState.ACKNOWLEDGED, AlarmState.DISPATCHED)  # nobody on scene yet
MAX_ACCURACY_M = 100_000.0


def is_console(user: Any) -> bool:
    """May work the dispatch console (dispatcher, director, leader; a superuser too)."""
    return bool(user.is_superuser or user.role in CONSOLE_ROLES)


def _require_console(by: Any, alarm: Alarm) -> None:
    if by is None:
        return
    if not is_console(by) or not Territory.for_user(by).covers_station(alarm.station_id):
        raise NotAllowed(_("只有本所调度员、所长或分局领导可以处置报警"))


def grid_officers(grid_ids: Iterable[int]) -> dict[int, Any]:
    """{grid id: the login of its current community officer (社区民警)}; a grid whose post is vacant, or whose
    officer has no active login, is missing. The default target of a dispatch."""
    posts = (
        GridAssignment.objects.current()
        .filter(
            grid_id__in=list(grid_ids),
            position=Position.OFFICER,
            staff__active=True,
            staff__user__is_active=True,
            staff__user__role=Role.OFFICER,
        )
        .select_related("staff__user")
        .order_by("started_on", "pk")
    )
    return {post.grid_id: post.staff.user for post in posts}


def grid_officer(grid_id: int) -> Any:
    return grid_officers([grid_id]).get(grid_id)


def dispatch_candidates(station_id: int) -> QuerySet[Any]:
    """Who may be sent to an alarm of this station: officers and auxiliaries holding a current grid post in
    it (their post is also what puts the station in their territory, i.e. what lets their phone listen)."""
    posted = GridAssignment.objects.current().filter(
        grid__community__station_id=station_id, staff__active=True
    )
    return (
        get_user_model()
        .objects.select_related("staff")
        .filter(is_active=True, role__in=FIELD_ROLES, staff_id__in=posted.values("staff_id"))
        .order_by("role", "staff__name", "pk")
    )


def _changed(
    alarm: Alarm,
    *,
    new_dispatch: bool = False,
    withdrawn_from: int | None = None,
    escalated: bool = False,
    text: notify.Notice | None = None,
) -> None:
    """After the commit: the station's consoles, the dispatched officer's phone (a new dispatch rings there),
    the officer a re-dispatch took it from, on escalation the directors' and leaders' consoles, and the
    dispatch's text message (`text`, sent on a worker thread)."""
    payload = console_payload(alarm)
    station_id, officer_id = alarm.station_id, alarm.dispatched_to_id

    def publish() -> None:
        if text is not None:  # first: the text is the officer's fallback when the live path fails
            try:
                notify.start(text)
            except Exception:  # never let it keep the consoles from hearing of the dispatch
                log.exception("dispatch text for alarm %s not started", alarm.pk)
        realtime.publish_to_station(station_id, payload)
        if escalated:
            realtime.publish_escalation(station_id, payload)
        if officer_id is not None:
            realtime.publish_to_user(officer_id, payload, dispatch=new_dispatch)
        if withdrawn_from is not None and withdrawn_from != officer_id:
            realtime.publish_to_user(withdrawn_from, payload)

    transaction.on_commit(publish)


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
def dispatch(alarm: Alarm, *, officer: Any = None, by: Any) -> Alarm:
    """Send an officer: by default the community officer of the unit's grid, or another officer or auxiliary
    of the station. Acknowledges the alarm if nobody has yet. Sending someone else before arrival re-dispatches
    (the first dispatch time stands for the statistics; the audit log keeps every change); sending the same
    person again changes nothing."""
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    _require_console(by, alarm)
    if alarm.state == AlarmState.CLOSED:
        raise RuleViolation(_("该报警已结案，不能再派警"), code="closed")
    if alarm.state == AlarmState.ARRIVED:
        raise RuleViolation(_("出警人员已到场，不能再改派"), code="arrived")
    if officer is None:
        officer = grid_officer(alarm.grid_id)
        if officer is None:
            raise RuleViolation(_("该网格当前没有社区民警账号，请选择出警人员"), code="officer")
    elif not dispatch_candidates(alarm.station_id).filter(pk=officer.pk).exists():
        raise RuleViolation(_("出警人员须是本所在岗的社区民警或协勤员"), code="officer")
    if alarm.state == AlarmState.DISPATCHED and alarm.dispatched_to_id == officer.pk:
        return alarm
    before = snapshot(alarm)
    previous = alarm.dispatched_to_id
    now = timezone.now()
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at, alarm.acknowledged_by = now, by
    if alarm.dispatched_at is None:
        alarm.dispatched_at = now
    alarm.state, alarm.dispatched_to, alarm.dispatched_by = AlarmState.DISPATCHED, officer, by
    alarm.save()
    record_change(
        by,
        "alarms.redispatch" if previous else "alarms.dispatch",
        alarm,
        before=before,
        after=snapshot(alarm),
    )
    # After the commit the officer's phone rings (WebSocket) and gets a text message (短信, on a worker thread).
    _changed(alarm, new_dispatch=True, withdrawn_from=previous, text=notify.notice_for(alarm))
    return alarm


def _coordinate(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ServiceError(_("%(name)s应为数字") % {"name": name}, code="position")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ServiceError(_("%(name)s应为数字") % {"name": name}, code="position") from None
    except OverflowError:  # an integer beyond a float's range (JSON allows it)
        raise ServiceError(_("%(name)s应为有限的数字") % {"name": name}, code="position") from None
    if not math.isfinite(number):
        raise ServiceError(_("%(name)s应为有限的数字") % {"name": name}, code="position")
    return number


def _position(lng: Any, lat: Any, accuracy: Any) -> tuple[float | None, float | None, float | None]:
    """(lng, lat, accuracy) of an arrival, validated; all None for an arrival recorded without a fix."""
    lng, lat, accuracy = (
        _coordinate(lng, _("经度")),
        _coordinate(lat, _("纬度")),
        _coordinate(accuracy, _("定位精度")),
    )
    if (lng is None) != (lat is None):
        raise ServiceError(_("经度和纬度须同时提供"), code="position")
    if lng is None:
        if accuracy is not None:
            raise ServiceError(_("有定位精度却没有经纬度"), code="position")
        return None, None, None
    try:
        check_point(lng, lat)
    except GeometryError as exc:
        raise ServiceError(str(exc), code="position") from None
    if accuracy is not None and not 0 <= accuracy <= MAX_ACCURACY_M:
        raise ServiceError(_("定位精度应在0至100000米之间"), code="position")
    return lng, lat, accuracy


# A time recorded on the phone while offline (ADR 0024 "device time"): not in the future beyond the clock
# skew a phone may have, not older than the queue may hold an alarm record, never before the dispatch.
DEVICE_CLOCK_SKEW = dt.timedelta(minutes=5)
OFFLINE_MAX_AGE = dt.timedelta(hours=12)


def _device_time(at: Any, alarm: Alarm, now: dt.datetime) -> dt.datetime:
    """The time of a step reported from the phone: `at` (the phone's clock, for a record sent later from the
    offline queue) within bounds, or now. A phone slightly ahead is taken as now."""
    if at is None:
        return now
    if not isinstance(at, dt.datetime) or timezone.is_naive(at):
        raise ServiceError(_("记录时间格式不正确"), code="at")
    if at > now + DEVICE_CLOCK_SKEW:
        raise ServiceError(_("记录时间晚于服务器时间，请校准手机时间后重试"), code="at")
    if at < now - OFFLINE_MAX_AGE:
        raise ServiceError(_("该离线记录已超过12小时，不能再提交"), code="at")
    if alarm.dispatched_at is not None and at < alarm.dispatched_at:
        # A phone whose clock is a little slow taps 收到 seconds after the ring: taken as the dispatch time.
        if at < alarm.dispatched_at - DEVICE_CLOCK_SKEW:
            raise ServiceError(_("记录时间早于派警时间，请检查手机时间"), code="at")
        at = alarm.dispatched_at
    return min(at, now)


# A step reported this long after the phone's time of it was sent later from the offline queue.
OFFLINE_AFTER = dt.timedelta(minutes=2)


def _offline_note(at: dt.datetime, now: dt.datetime) -> str:
    """The audit note of a step whose time came from the phone and was reported later: the time the
    statistics use is the phone's, and a reviewer can find every such record by this note."""
    if now - at <= OFFLINE_AFTER:
        return ""
    return _("离线记录，终端时间 %(at)s，服务器接收于 %(now)s") % {
        "at": timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S"),
        "now": timezone.localtime(now).strftime("%Y-%m-%d %H:%M:%S"),
    }


def was_dispatched_to(alarm: Alarm, user: Any) -> bool:
    """Whether the alarm was ever dispatched to this user (the audit log keeps every dispatch)."""
    return AuditEntry.objects.filter(
        object_type="alarms.alarm",
        object_id=str(alarm.pk),
        action__in=("alarms.dispatch", "alarms.redispatch"),
        after__dispatched_to_id=user.pk,
    ).exists()


@transaction.atomic
def receive(
    alarm: Alarm, *, by: Any, lng: Any = None, lat: Any = None, accuracy: Any = None, at: Any = None
) -> Alarm:
    """接警确认: the dispatched officer confirms on the phone that the dispatch reached them, with the phone's
    GPS fix when it has one; `at` is the phone's time of a receipt recorded offline. Only the officer the
    alarm is dispatched to; the first receipt stands. Once re-dispatched to someone else, a receipt of the
    officer it was taken from is refused with code "redispatched"."""
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    if by is None or by.pk != alarm.dispatched_to_id:
        if by is not None and alarm.dispatched_to_id is not None and was_dispatched_to(alarm, by):
            raise RuleViolation(_("该报警已改派其他人员"), code="redispatched")
        raise NotAllowed(_("只有出警人员本人可以确认接警"))
    if alarm.state == AlarmState.CLOSED:
        raise RuleViolation(_("该报警已结案"), code="closed")
    if alarm.received_by_officer_at is not None:
        return alarm  # the first receipt stands (a double tap, a resend over a bad connection)
    lng, lat, accuracy = _position(lng, lat, accuracy)
    now = timezone.now()
    alarm.received_by_officer_at = _device_time(at, alarm, now)
    alarm.receipt_lng, alarm.receipt_lat, alarm.receipt_accuracy = lng, lat, accuracy
    alarm.save(
        update_fields=[
            "received_by_officer_at", "receipt_lng", "receipt_lat", "receipt_accuracy", "updated_at"
        ]
    )  # fmt: skip
    notes = [
        n for n in (_offline_note(alarm.received_by_officer_at, now), _("无定位") if lng is None else "") if n
    ]
    record_change(by, "alarms.receive", alarm, note="；".join(notes))
    _changed(alarm)
    return alarm


@transaction.atomic
def arrive(
    alarm: Alarm, *, by: Any, lng: Any = None, lat: Any = None, accuracy: Any = None, at: Any = None
) -> Alarm:
    """The dispatched officer is on scene: dispatched → arrived, with the phone's GPS fix (WGS-84) when it
    has one. A console user may record it on the officer's behalf (e.g. reported by radio); the audit entry
    says so. Without coordinates the arrival is still recorded — the time is what the response norm measures
    — and shows as "无定位". `at` is the phone's time of an arrival recorded offline (see `_device_time`).
    An arrival implies the receipt when none was confirmed."""
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    on_behalf = by is not None and by.pk != alarm.dispatched_to_id
    if on_behalf:
        if not is_console(by):
            raise NotAllowed(_("只有出警人员本人或本所调度台可以登记到场"))
        _require_console(by, alarm)
    if alarm.state == AlarmState.CLOSED:
        raise RuleViolation(_("该报警已结案"), code="closed")
    if alarm.state == AlarmState.ARRIVED:
        return alarm  # the first report stands (a double tap, a retry over a bad connection)
    if alarm.state != AlarmState.DISPATCHED:
        raise RuleViolation(_("该报警尚未派警，不能登记到场"), code="order")
    lng, lat, accuracy = _position(lng, lat, accuracy)
    now = timezone.now()
    alarm.state, alarm.arrived_at = AlarmState.ARRIVED, _device_time(at, alarm, now)
    alarm.arrival_lng, alarm.arrival_lat, alarm.arrival_accuracy = lng, lat, accuracy
    if alarm.received_by_officer_at is None:
        alarm.received_by_officer_at = alarm.arrived_at
    alarm.save()
    notes = [n for n in (_offline_note(alarm.arrived_at, now),) if n]
    if on_behalf:
        notes.append(_("调度台代为登记（出警人员：%(name)s）") % {"name": alarm.dispatched_to})
    if lng is None:
        notes.append(_("无定位"))
    record_change(by, "alarms.arrive", alarm, note="；".join(notes))
    _changed(alarm)
    return alarm


@transaction.atomic
def close(alarm: Alarm, *, disposition: str, note: str = "", by: Any) -> Alarm:
    """Closed with a disposition (真实警情, 误报, 测试, 其他) and a note; an unacknowledged alarm is acknowledged
    too. A drill alarm closed as 真实警情 stops being a drill: a real emergency during a drill window must
    count in the real statistics."""
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    _require_console(by, alarm)
    if disposition not in Disposition.values:
        raise ServiceError(_("请选择处置结果"), code="disposition")
    if alarm.state == AlarmState.CLOSED:
        raise RuleViolation(_("该报警已结案"), code="closed")
    note = (note or "").strip()
    if len(note) > 200:
        raise ServiceError(_("处置说明不能超过200字"), code="note")
    now = timezone.now()
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at, alarm.acknowledged_by = now, by
    alarm.state, alarm.closed_at, alarm.closed_by = AlarmState.CLOSED, now, by
    alarm.disposition, alarm.close_note = disposition, note
    if disposition == Disposition.REAL:
        alarm.is_drill = False
    alarm.save()
    record_change(by, "alarms.close", alarm, note=note)
    _changed(alarm)
    return alarm


# --- supervision's writes (called by supervision.tick; the conditional UPDATE makes a second process a no-op)
def escalate(alarm_id: int, *, now: dt.datetime) -> bool:
    """Not acknowledged in time: mark it escalated once and ring the directors' and leaders' consoles.
    False when another process (or an acknowledgement) got there first."""
    with transaction.atomic():
        won = Alarm.objects.filter(pk=alarm_id, state=AlarmState.RECEIVED, escalated_at__isnull=True).update(
            escalated_at=now, updated_at=now
        )
        if not won:
            return False
        alarm = Alarm.objects.get(pk=alarm_id)
        record_change(None, "alarms.escalate", alarm, note=_("超时未确认，已升级到所长和分局指挥"))
        _changed(alarm, escalated=True)
    return True


def flag_late(alarm_id: int, *, now: dt.datetime) -> bool:
    """Nobody on scene within the norm (城区5分钟，郊区10分钟): mark it late once. False when already marked."""
    with transaction.atomic():
        won = Alarm.objects.filter(pk=alarm_id, late_at__isnull=True, state__in=UNARRIVED).update(
            late_at=now, updated_at=now
        )
        if not won:
            return False
        alarm = Alarm.objects.get(pk=alarm_id)
        record_change(None, "alarms.late", alarm, note=_("超过到场时限仍未到场"))
        _changed(alarm)
    return True
