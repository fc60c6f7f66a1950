"""Every write of video patrol and broadcast warning (rule 1): cameras, speakers, groups, zones and presets;
what the video worker reports (pictures, trouble, motion); broadcasts and their deliveries; patrol tours,
their runs and findings. WebSocket updates go out after the commit (realtime.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.alarms.supervision import create_once
from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.geo import GeometryError, check_point
from doorstep.org.models import Grid
from doorstep.org.territory import Territory
from doorstep.video import access, frames, realtime
from doorstep.video.choices import (
    BroadcastSource,
    CameraStatus,
    DeliveryStatus,
    Driver,
    EventStatus,
    FindingResult,
    RunStatus,
)
from doorstep.video.detection import Detection, validate_polygon
from doorstep.video.models import (
    Broadcast,
    BroadcastDelivery,
    Camera,
    CameraAlert,
    CameraGroup,
    DetectionZone,
    MotionEvent,
    PatrolTour,
    Speaker,
    TourFinding,
    TourRun,
    TourStop,
    WarningPreset,
)
from doorstep.video.speakers import validate_address

CODE = re.compile(r"^[A-Za-z0-9_-]{2,40}$")
STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https", "file")
MAX_ZONES = 8
MAX_TOUR_STOPS = 60
MAX_BROADCAST_SPEAKERS = 100
RETRY_SECONDS = (5, 15, 45, 120, 300)  # back-off between a failed delivery's attempts
FRAME_TOUCH_SECONDS = 30  # last_frame_at is written at most this often while a camera is online


# --- validation helpers --------------------------------------------------------------------------------
def check_stream_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise ServiceError(_("请填写视频流地址"))
    if len(url) > 500 or any(c in url for c in "\r\n\t\x00 "):
        raise ServiceError(_("视频流地址格式不正确"))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        raise ServiceError(_("视频流地址格式不正确")) from None
    if parts.scheme not in STREAM_SCHEMES:
        raise ServiceError(_("视频流地址须以 rtsp://、http(s):// 或 file:// 开头"))
    if parts.scheme == "file":
        if settings.PRODUCTION:
            raise ServiceError(_("生产环境不能使用视频文件作为视频流"))
        if not parts.path:
            raise ServiceError(_("视频文件路径为空"))
    elif not parts.hostname:
        raise ServiceError(_("视频流地址缺少主机名"))
    return url


def public_stream_url(url: str) -> str:
    """The stream URL without credentials, for pages, logs and the audit (rtsp://host:554/path): no user
    name or password, and no query (cameras' HTTP interfaces take credentials there too)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018
    except ValueError:
        return ""
    if parts.scheme == "file":
        return f"file://{parts.path}"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _check_code(code: str) -> str:
    code = (code or "").strip()
    if not CODE.match(code):
        raise ServiceError(_("编号只能由 2–40 位字母、数字、“-”或“_”组成"))
    return code


def _check_point(lng: Any, lat: Any) -> tuple[float, float]:
    try:
        lng, lat = float(lng), float(lat)
        check_point(lng, lat)
    except (TypeError, ValueError, GeometryError) as exc:
        raise ServiceError(_("位置坐标无效：%(error)s") % {"error": exc}) from exc
    return lng, lat


def _grid_for(by: Any, grid: Grid) -> int:
    """The grid's station, after checking that `by` may manage it."""
    station_id = grid.community.station_id
    if by is not None and not access.may_manage(by, station_id):
        raise NotAllowed(_("摄像机、音柱和巡查计划须由本所所长或系统管理员维护"))
    if by is not None and not Territory.for_user(by).covers_station(station_id):
        raise NotAllowed(_("该网格不在您的辖区内"))
    return station_id


def _on_commit(fn, *args) -> None:
    transaction.on_commit(lambda: fn(*args))


# --- cameras, speakers, groups, zones, presets ------------------------------------------------------
CAMERA_FIELDS = (
    "name",
    "location",
    "lng",
    "lat",
    "hotspot",
    "stream_url",
    "enabled",
    "fps",
    "detect",
    "active_from",
    "active_to",
    "min_area",
    "min_duration",
    "cooldown",
)


# The columns a person edits (the rest — status, last picture, size — are the video worker's).
EDITABLE_CAMERA_FIELDS = (*CAMERA_FIELDS, "code", "grid", "station", "group", "updated_at")


@transaction.atomic
def save_camera(
    *,
    by: Any,
    grid: Grid,
    code: str,
    group: CameraGroup | None = None,
    speakers: Iterable[Speaker] = (),
    camera: Camera | None = None,
    **fields: Any,
) -> Camera:
    """Register a camera, or change one. Detection settings are kept within sane bounds; the stream
    URL's scheme is checked (the worker finds out whether it answers)."""
    unknown = set(fields) - set(CAMERA_FIELDS)
    if unknown:
        raise TypeError(f"unknown camera fields: {sorted(unknown)}")
    station_id = _grid_for(by, grid)
    if camera is not None:
        _grid_for(by, camera.grid)
    fields["stream_url"] = check_stream_url(fields.get("stream_url", camera.stream_url if camera else ""))
    fields["lng"], fields["lat"] = _check_point(
        fields.get("lng", camera.lng if camera else None), fields.get("lat", camera.lat if camera else None)
    )
    name = (fields.get("name") or (camera.name if camera else "")).strip()
    if not name:
        raise ServiceError(_("请填写摄像机名称"))
    fields["name"] = name
    if "fps" in fields and not 1 <= int(fields["fps"]) <= 15:
        raise ServiceError(_("分析帧率须在 1 到 15 之间"))
    if "min_area" in fields and not 0.0005 <= float(fields["min_area"]) <= 0.9:
        raise ServiceError(_("最小面积须在 0.0005 到 0.9 之间（区域面积的比例）"))
    if "min_duration" in fields and not 0 <= float(fields["min_duration"]) <= 60:
        raise ServiceError(_("最短持续须在 0 到 60 秒之间"))
    if "cooldown" in fields and not 0 <= float(fields["cooldown"]) <= 3600:
        raise ServiceError(_("冷却时间须在 0 到 3600 秒之间"))
    if (fields.get("active_from") is None) != (fields.get("active_to") is None) and (
        "active_from" in fields or "active_to" in fields
    ):
        raise ServiceError(_("检测时段须同时填写开始和结束时间，或都不填（全天检测）"))
    if group is not None and group.station_id != station_id:
        raise ServiceError(_("分组须属于摄像机所在派出所"))
    speakers = list(speakers)
    if any(s.station_id != station_id for s in speakers):
        raise ServiceError(_("覆盖音柱须属于摄像机所在派出所"))
    before = _camera_record(camera) if camera is not None else None
    old_url = camera.stream_url if camera is not None else ""
    code = _check_code(code)
    if Camera.objects.filter(code=code).exclude(pk=camera.pk if camera else None).exists():
        raise RuleViolation(_("摄像机编号 %(code)s 已存在") % {"code": code})
    if camera is None:
        camera = Camera(code=code, grid=grid, station_id=station_id, group=group, **fields)
    else:
        camera.code, camera.grid, camera.station_id, camera.group = code, grid, station_id, group
        for name_, value in fields.items():
            setattr(camera, name_, value)
    # What the video worker writes is saved only when it changes here (disabled / enabled again): the row
    # may have moved on (online, reconnecting) since this instance was read.
    update_fields = None if before is None else list(EDITABLE_CAMERA_FIELDS)
    was_enabled = True if before is None else before["enabled"]
    if not camera.enabled and was_enabled:
        # Nobody reads it any more: not "down" (no offline alert will come), and an open alert is closed.
        camera.status, camera.status_detail, camera.down_since = CameraStatus.DISABLED, "", None
        if camera.pk:
            CameraAlert.objects.filter(camera=camera, cleared_at__isnull=True).update(
                cleared_at=timezone.now()
            )
    elif camera.enabled and not was_enabled:
        camera.status, camera.status_detail, camera.down_since = CameraStatus.UNKNOWN, "", None
    if update_fields is not None and camera.enabled != was_enabled:
        update_fields += ["status", "status_detail", "down_since"]
    camera.full_clean(exclude=["stream_url", "code", "speakers"])
    camera.save(update_fields=update_fields)
    camera.speakers.set(speakers)
    # The audit keeps the stream URL without its credentials; that they changed is said in a note.
    record_change(
        by,
        "video.camera.saved" if before else "video.camera.created",
        camera,
        before=before,
        after=_camera_record(camera),
        note=_("视频流账号或密码已更改")
        if before
        and old_url != camera.stream_url
        and before["stream_url"] == public_stream_url(camera.stream_url)
        else "",
    )
    _on_commit(realtime.publish_camera, camera.pk)
    return camera


def _camera_record(camera: Camera) -> dict[str, Any]:
    """What the audit keeps of a camera: its fields (the stream URL without credentials) and its speakers."""
    record = snapshot(camera) or {}
    record["stream_url"] = public_stream_url(camera.stream_url)
    record["speakers"] = sorted(camera.speakers.values_list("code", flat=True)) if camera.pk else []
    return record


@transaction.atomic
def save_speaker(
    *,
    by: Any,
    grid: Grid,
    code: str,
    name: str,
    location: str,
    lng: Any,
    lat: Any,
    driver: str,
    address: str,
    zone: str = "",
    wants_audio: bool = False,
    volume: int | None = None,
    active: bool = True,
    speaker: Speaker | None = None,
) -> Speaker:
    station_id = _grid_for(by, grid)
    if speaker is not None:
        _grid_for(by, speaker.grid)
    if driver not in Driver.values:
        raise ServiceError(_("未知的广播驱动"))
    try:
        address = validate_address(driver, address)
    except ValueError as exc:
        raise ServiceError(str(exc)) from exc
    if volume is not None and not 0 <= int(volume) <= 100:
        raise ServiceError(_("音量须在 0 到 100 之间"))
    if not (name or "").strip():
        raise ServiceError(_("请填写音柱名称"))
    lng, lat = _check_point(lng, lat)
    code = _check_code(code)
    if Speaker.objects.filter(code=code).exclude(pk=speaker.pk if speaker else None).exists():
        raise RuleViolation(_("音柱编号 %(code)s 已存在") % {"code": code})
    values = {
        "code": code,
        "name": name.strip(),
        "grid": grid,
        "station_id": station_id,
        "location": location.strip(),
        "lng": lng,
        "lat": lat,
        "driver": driver,
        "address": address,
        "zone": (zone or "").strip(),
        "wants_audio": bool(wants_audio),
        "volume": volume,
        "active": bool(active),
    }
    before = snapshot(speaker) if speaker is not None else None
    if speaker is None:
        speaker = Speaker(**values)
    else:
        for key, value in values.items():
            setattr(speaker, key, value)
    speaker.full_clean()
    speaker.save()
    record_change(by, "video.speaker.saved" if before else "video.speaker.created", speaker, before=before)
    return speaker


@transaction.atomic
def save_group(*, by: Any, station_id: int, name: str, note: str = "", group: CameraGroup | None = None):
    if not access.may_manage(by, station_id):
        raise NotAllowed(_("摄像机分组须由本所所长或系统管理员维护"))
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("请填写分组名称"))
    duplicate = CameraGroup.objects.filter(station_id=station_id, name=name)
    if duplicate.exclude(pk=group.pk if group else None).exists():
        raise RuleViolation(_("本所已有名为“%(name)s”的分组") % {"name": name})
    before = snapshot(group) if group is not None else None
    if group is None:
        group = CameraGroup(station_id=station_id)
    group.name, group.note = name, (note or "").strip()[:200]
    group.save()
    record_change(by, "video.group.saved" if before else "video.group.created", group, before=before)
    return group


@transaction.atomic
def set_zones(camera: Camera, zones: Sequence[dict[str, Any]], *, by: Any) -> list[DetectionZone]:
    """Replace the camera's detection zones: [{"name": "东门", "points": [[x, y], …]}, …] in fractions of
    the picture. No zones: the whole picture is watched."""
    _grid_for(by, camera.grid)
    if not isinstance(zones, list | tuple):
        raise ServiceError(_("区域数据格式不正确"))
    if len(zones) > MAX_ZONES:
        raise ServiceError(_("每台摄像机最多 %(n)s 个检测区域") % {"n": MAX_ZONES})
    cleaned, names = [], set()
    for index, zone in enumerate(zones, start=1):
        if not isinstance(zone, dict):
            raise ServiceError(_("区域数据格式不正确"))
        name = str(zone.get("name") or "").strip()[:40] or _("区域%(n)s") % {"n": index}
        if name in names:
            raise ServiceError(_("区域名称“%(name)s”重复") % {"name": name})
        names.add(name)
        try:
            points = validate_polygon(zone.get("points"))
        except ValueError as exc:
            raise ServiceError(_("区域“%(name)s”：%(error)s") % {"name": name, "error": exc}) from exc
        cleaned.append((name, [list(p) for p in points]))
    before = list(camera.zones.values("name", "points"))
    camera.zones.all().delete()
    created = [DetectionZone.objects.create(camera=camera, name=n, points=p) for n, p in cleaned]
    record_change(
        by,
        "video.camera.zones",
        camera,
        before={"zones": before},
        after={"zones": [{"name": n, "points": p} for n, p in cleaned]},
    )
    camera.save(update_fields=["updated_at"])  # the worker reloads a camera whose row changed
    return created


@transaction.atomic
def save_preset(
    *,
    by: Any,
    title: str,
    text: str,
    position: int = 0,
    active: bool = True,
    preset: WarningPreset | None = None,
) -> WarningPreset:
    if not access.may_manage(by):
        raise NotAllowed(_("预设警示语须由所长或系统管理员维护"))
    title, text = (title or "").strip(), (text or "").strip()
    if not title or not text:
        raise ServiceError(_("请填写名称和播报内容"))
    if len(text) > 200:
        raise ServiceError(_("播报内容最多 200 字"))
    if WarningPreset.objects.filter(title=title).exclude(pk=preset.pk if preset else None).exists():
        raise RuleViolation(_("已有名为“%(title)s”的警示语") % {"title": title})
    before = snapshot(preset) if preset is not None else None
    preset = preset or WarningPreset()
    preset.title, preset.text, preset.position, preset.active = title, text, int(position), bool(active)
    preset.save()
    record_change(by, "video.preset.saved" if before else "video.preset.created", preset, before=before)
    return preset


# --- what the video worker reports ------------------------------------------------------------------------
def camera_seen(camera_id: int, at: dt.datetime, *, width: int, height: int) -> bool:
    """The worker got a picture. Brings the camera online (closing its offline alert); otherwise writes
    at most every FRAME_TOUCH_SECONDS. Returns whether the status changed."""
    # A disabled camera stays 已停用: a reader that has not yet heard it was disabled may still report.
    row = (
        Camera.objects.filter(pk=camera_id, enabled=True)
        .values("status", "last_frame_at", "snapshot_width", "snapshot_height")
        .first()
    )
    if row is None:
        return False
    changed = row["status"] != CameraStatus.ONLINE
    stale = row["last_frame_at"] is None or at - row["last_frame_at"] >= dt.timedelta(
        seconds=FRAME_TOUCH_SECONDS
    )
    resized = (row["snapshot_width"], row["snapshot_height"]) != (width, height)
    if not (changed or stale or resized):
        return False
    with transaction.atomic():
        Camera.objects.filter(pk=camera_id, enabled=True).update(
            status=CameraStatus.ONLINE,
            status_detail="",
            last_frame_at=at,
            down_since=None,
            snapshot_width=width,
            snapshot_height=height,
        )
        if changed:
            CameraAlert.objects.filter(camera_id=camera_id, cleared_at__isnull=True).update(cleared_at=at)
            _on_commit(realtime.publish_camera, camera_id)
    return changed


def camera_trouble(camera_id: int, detail: str, at: dt.datetime) -> bool:
    """The worker cannot read the stream (it keeps trying). The camera shows 重连中 with the reason; one
    that stays down VIDEO_OFFLINE_SECONDS goes offline with an alert (see `supervise_cameras`)."""
    detail = detail[:200]
    with transaction.atomic():
        camera = Camera.objects.select_for_update().filter(pk=camera_id).first()
        if camera is None or not camera.enabled:
            return False
        fields = {"status_detail": detail}
        if camera.down_since is None:
            fields["down_since"] = at
        if camera.status not in (CameraStatus.OFFLINE, CameraStatus.RECONNECTING):
            fields["status"] = CameraStatus.RECONNECTING
        changed = fields.get("status") is not None or camera.status_detail != detail
        Camera.objects.filter(pk=camera_id).update(**fields)
        if changed:
            _on_commit(realtime.publish_camera, camera_id)
    supervise_cameras(at, camera_ids=[camera_id])
    return changed


def supervise_cameras(now: dt.datetime, *, camera_ids: Iterable[int] | None = None) -> int:
    """Cameras down longer than VIDEO_OFFLINE_SECONDS: offline, with one open alert each. Returns how many
    alerts were raised."""
    limit = now - dt.timedelta(seconds=settings.VIDEO_OFFLINE_SECONDS)
    open_alert = CameraAlert.objects.filter(camera=OuterRef("pk"), cleared_at__isnull=True)
    qs = Camera.objects.filter(enabled=True, down_since__lte=limit).exclude(Exists(open_alert))
    if camera_ids is not None:
        qs = qs.filter(pk__in=list(camera_ids))
    return sum(mark_offline(camera, now) is not None for camera in qs.select_related(None))


@transaction.atomic
def mark_offline(camera: Camera, now: dt.datetime) -> CameraAlert | None:
    """Take a camera read as down too long offline, with its alert; None when it is no longer so (it came
    back — camera_seen, in the reports thread — since it was read) or another worker raised the alert."""
    limit = now - dt.timedelta(seconds=settings.VIDEO_OFFLINE_SECONDS)
    if not Camera.objects.filter(pk=camera.pk, enabled=True, down_since__lte=limit).update(
        status=CameraStatus.OFFLINE
    ):
        return None
    detail = _("视频流中断超过 %(n)s 秒：%(why)s") % {
        "n": settings.VIDEO_OFFLINE_SECONDS,
        "why": camera.status_detail or _("无画面"),
    }
    alert = create_once(
        CameraAlert,
        camera=camera,
        grid_id=camera.grid_id,
        station_id=camera.station_id,
        detail=detail[:200],
        raised_at=now,
    )
    if alert is not None:
        _on_commit(realtime.publish_camera, camera.pk)
        _on_commit(realtime.publish_alert, alert.pk)
    return alert


def release_cameras(camera_ids: Iterable[int], at: dt.datetime) -> int:
    """The worker that read these cameras has stopped: they show 未连接 with the reason until a worker reads
    them again, rather than 在线 with nobody watching. One already offline keeps its status and alert."""
    ids = list(camera_ids)
    with transaction.atomic():
        released = list(
            Camera.objects.filter(
                pk__in=ids,
                enabled=True,
                status__in=[CameraStatus.ONLINE, CameraStatus.RECONNECTING, CameraStatus.UNKNOWN],
            ).values_list("pk", flat=True)
        )
        Camera.objects.filter(pk__in=released).update(
            status=CameraStatus.UNKNOWN, status_detail=_("视频工作进程已停止"), down_since=None
        )
        for camera_id in released:
            _on_commit(realtime.publish_camera, camera_id)
    return len(released)


@transaction.atomic
def record_motion(camera_id: int, detection: Detection, jpeg: bytes | None) -> MotionEvent | None:
    """Store a detection with its picture; the patrol consoles hear of it after the commit."""
    camera = Camera.objects.filter(pk=camera_id).first()
    if camera is None:
        return None
    event = MotionEvent(
        camera=camera,
        grid_id=camera.grid_id,
        station_id=camera.station_id,
        zone=detection.zone[:40],
        started_at=detection.started_at,
        detected_at=detection.detected_at,
        area=round(float(detection.area), 4),
        bbox=[round(float(v), 4) for v in detection.bbox],
    )
    if jpeg:
        event.snapshot.save(
            f"cam{camera.pk}-{detection.detected_at:%Y%m%d%H%M%S%f}.jpg", ContentFile(jpeg), save=False
        )
    event.save()
    _on_commit(realtime.publish_event, event.pk)
    return event


@transaction.atomic
def handle_event(event: MotionEvent, *, status: str, note: str = "", by: Any) -> MotionEvent:
    """A patroller marks an event: 确认异常 or 误报 (with an optional note)."""
    if not access.may_patrol(by) or not access.covers_grid(by, event.grid_id):
        raise NotAllowed(_("您不能处理这个事件"))
    if status not in (EventStatus.CONFIRMED, EventStatus.DISMISSED):
        raise ServiceError(_("请选择“确认异常”或“误报”"))
    before = snapshot(event)
    event.status, event.note = status, (note or "").strip()[:200]
    event.handled_by, event.handled_at = by, timezone.now()
    event.save(update_fields=["status", "note", "handled_by", "handled_at", "updated_at"])
    record_change(by, "video.event.handled", event, before=before)
    _on_commit(realtime.publish_event, event.pk)
    return event


# --- broadcast warnings ---------------------------------------------------------------------------------
@transaction.atomic
def send_broadcast(
    *,
    by: Any,
    text: str = "",
    preset: WarningPreset | None = None,
    speakers: Iterable[Speaker] = (),
    zone: str = "",
    source: str = BroadcastSource.CONSOLE,
    event: MotionEvent | None = None,
    camera: Camera | None = None,
    repeat: int = 2,
) -> Broadcast:
    """Record a warning for the chosen speakers (or every active speaker of a zone in the user's
    territory) and queue one delivery per speaker; the sender (videod) delivers it after the commit."""
    if not access.may_broadcast(by):
        raise NotAllowed(_("您没有广播喊话的权限"))
    text = (text or "").strip() or (preset.text if preset is not None else "")
    if not text:
        raise ServiceError(_("请选择预设警示语或输入播报内容"))
    if len(text) > 200:
        raise ServiceError(_("播报内容最多 200 字"))
    if source not in BroadcastSource.values:
        raise ServiceError(_("未知的发起位置"))
    if not 1 <= int(repeat) <= 5:
        raise ServiceError(_("播放次数须在 1 到 5 之间"))
    territory = Territory.for_user(by)
    chosen = {s.pk: s for s in speakers}
    if zone:
        for s in territory.filter(Speaker.objects.filter(zone=zone.strip(), active=True)):
            chosen[s.pk] = s
    if not chosen:
        raise ServiceError(_("请选择至少一个音柱或一个广播分区"))
    if len(chosen) > MAX_BROADCAST_SPEAKERS:
        raise ServiceError(_("一次最多向 %(n)s 个音柱广播") % {"n": MAX_BROADCAST_SPEAKERS})
    visible = set(territory.filter(Speaker.objects.filter(pk__in=chosen)).values_list("pk", flat=True))
    if visible != set(chosen):
        raise NotAllowed(_("所选音柱不在您的辖区内"))
    inactive = [s.name for s in chosen.values() if not s.active]
    if inactive:
        raise ServiceError(_("音柱已停用：%(names)s") % {"names": "、".join(inactive)})
    stations = {s.station_id for s in chosen.values()}
    if len(stations) > 1:
        raise ServiceError(_("一次广播只能选择同一派出所的音柱"))
    if event is not None and not access.covers_grid(by, event.grid_id):
        raise NotAllowed(_("您不能处理这个事件"))
    now = timezone.now()
    broadcast = Broadcast.objects.create(
        station_id=stations.pop(),
        by=by,
        text=text,
        preset=preset,
        repeat=int(repeat),
        source=source,
        event=event,
        camera=camera,
    )
    BroadcastDelivery.objects.bulk_create(
        [
            BroadcastDelivery(broadcast=broadcast, speaker=s, next_attempt_at=now)
            for s in sorted(chosen.values(), key=lambda s: s.code)
        ]
    )
    record_change(
        by,
        "video.broadcast.sent",
        broadcast,
        after={"text": text, "speakers": sorted(s.code for s in chosen.values()), "source": source},
    )
    _on_commit(realtime.publish_broadcast, broadcast.pk)
    _on_commit(realtime.wake_sender)
    return broadcast


def claim_due_deliveries(
    now: dt.datetime, *, lease_seconds: float, limit: int = 50
) -> list[BroadcastDelivery]:
    """Deliveries due now (pending and due, or sending under a lapsed lease: a sender died mid-send),
    each claimed for `lease_seconds` by a conditional update so that two senders never send one twice at
    once. Returns them with speaker and broadcast loaded."""
    due = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, lease_until__lt=now
    )
    ids = list(
        BroadcastDelivery.objects.filter(due)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    claimed = []
    lease = now + dt.timedelta(seconds=lease_seconds)
    for pk in ids:
        with transaction.atomic():
            won = BroadcastDelivery.objects.filter(due, pk=pk).update(
                status=DeliveryStatus.SENDING, lease_until=lease
            )
        if won:
            claimed.append(pk)
    return list(
        BroadcastDelivery.objects.filter(pk__in=claimed).select_related("speaker", "broadcast").order_by("id")
    )


def finish_delivery(
    delivery_id: int, *, delivered: bool, detail: str, now: dt.datetime, with_audio: bool = False
) -> BroadcastDelivery:
    """Record one attempt's outcome: delivered, or failed — retried after RETRY_SECONDS[attempt] until
    VIDEO_DELIVERY_ATTEMPTS attempts, then failed for good."""
    with transaction.atomic():
        delivery = BroadcastDelivery.objects.select_for_update().select_related("speaker").get(pk=delivery_id)
        if delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
            return delivery  # already settled (a lapsed lease was re-sent by another sender)
        delivery.attempts += 1
        delivery.detail = detail[:200]
        delivery.lease_until = None
        if delivered:
            delivery.status, delivery.finished_at, delivery.next_attempt_at = (
                DeliveryStatus.DELIVERED,
                now,
                None,
            )
        elif delivery.attempts >= settings.VIDEO_DELIVERY_ATTEMPTS:
            delivery.status, delivery.finished_at, delivery.next_attempt_at = DeliveryStatus.FAILED, now, None
        else:
            wait = RETRY_SECONDS[min(delivery.attempts - 1, len(RETRY_SECONDS) - 1)]
            delivery.status, delivery.next_attempt_at = (
                DeliveryStatus.PENDING,
                now + dt.timedelta(seconds=wait),
            )
        delivery.save(
            update_fields=[
                "attempts",
                "detail",
                "lease_until",
                "status",
                "finished_at",
                "next_attempt_at",
                "updated_at",
            ]
        )
        Speaker.objects.filter(pk=delivery.speaker_id).update(last_result_at=now, last_delivered=delivered)
        if with_audio:
            Broadcast.objects.filter(pk=delivery.broadcast_id, audio=False).update(audio=True)
        _on_commit(realtime.publish_broadcast, delivery.broadcast_id)
    return delivery


@transaction.atomic
def retry_delivery(delivery: BroadcastDelivery, *, by: Any) -> BroadcastDelivery:
    """Send a failed delivery again (a person asked for it): a fresh set of attempts."""
    if not access.may_broadcast(by) or not Territory.for_user(by).covers_station(
        delivery.broadcast.station_id
    ):
        raise NotAllowed(_("您没有广播喊话的权限"))
    if delivery.status != DeliveryStatus.FAILED:
        raise RuleViolation(_("只有发送失败的音柱可以重发"))
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, timezone.now()
    delivery.finished_at = None
    delivery.detail = _("重新发送")
    delivery.save(
        update_fields=["status", "attempts", "next_attempt_at", "finished_at", "detail", "updated_at"]
    )
    record_change(by, "video.broadcast.retry", delivery.broadcast, note=delivery.speaker.code)
    _on_commit(realtime.publish_broadcast, delivery.broadcast_id)
    _on_commit(realtime.wake_sender)
    return delivery


# --- patrol tours ---------------------------------------------------------------------------------------
@transaction.atomic
def save_tour(
    *,
    by: Any,
    station_id: int,
    name: str,
    cameras: Sequence[Camera],
    start_time: dt.time,
    end_time: dt.time,
    interval_minutes: int,
    grace_minutes: int = 15,
    assignee: Any = None,
    duty_post: str = "",
    active: bool = True,
    tour: PatrolTour | None = None,
) -> PatrolTour:
    if not access.may_manage(by, station_id):
        raise NotAllowed(_("巡查计划须由本所所长或系统管理员制定"))
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("请填写计划名称"))
    cameras = list(cameras)
    if not cameras:
        raise ServiceError(_("请至少选择一台摄像机"))
    if len(cameras) > MAX_TOUR_STOPS:
        raise ServiceError(_("一个巡查计划最多 %(n)s 个点位") % {"n": MAX_TOUR_STOPS})
    if len({c.pk for c in cameras}) != len(cameras):
        raise ServiceError(_("同一台摄像机不能在计划中出现两次"))
    if any(c.station_id != station_id for c in cameras):
        raise ServiceError(_("巡查点位须是本所的摄像机"))
    if not 10 <= int(interval_minutes) <= 24 * 60:
        raise ServiceError(_("间隔须在 10 分钟到 24 小时之间"))
    if not 0 <= int(grace_minutes) < int(interval_minutes):
        raise ServiceError(_("允许延迟须小于间隔"))
    if assignee is None and not (duty_post or "").strip():
        raise ServiceError(_("请指定巡查民警或值班岗位"))
    if assignee is not None and not (
        access.may_patrol(assignee) and Territory.for_user(assignee).covers_station(station_id)
    ):
        raise ServiceError(_("巡查民警须是本所可以进行视频巡查的人员"))
    if assignee is not None:
        territory = Territory.for_user(assignee)
        outside = [c.name for c in cameras if not (territory.whole or c.grid_id in territory.grid_ids)]
        if outside:
            raise ServiceError(
                _("%(name)s看不到这些摄像机的画面：%(cameras)s")
                % {"name": assignee, "cameras": "、".join(outside)}
            )
    if (
        PatrolTour.objects.filter(station_id=station_id, name=name)
        .exclude(pk=tour.pk if tour else None)
        .exists()
    ):
        raise RuleViolation(_("本所已有名为“%(name)s”的巡查计划") % {"name": name})
    before = _tour_record(tour) if tour is not None else None
    tour = tour or PatrolTour(station_id=station_id)
    tour.name, tour.start_time, tour.end_time = name, start_time, end_time
    tour.interval_minutes, tour.grace_minutes = int(interval_minutes), int(grace_minutes)
    tour.assignee, tour.duty_post, tour.active = assignee, (duty_post or "").strip(), bool(active)
    tour.save()
    tour.stops.all().delete()
    TourStop.objects.bulk_create([TourStop(tour=tour, camera=c, position=i) for i, c in enumerate(cameras)])
    record_change(
        by,
        "video.tour.saved" if before else "video.tour.created",
        tour,
        before=before,
        after=_tour_record(tour),
    )
    return tour


def _tour_record(tour: PatrolTour) -> dict[str, Any]:
    """What the audit keeps of a tour: its fields and its cameras in order."""
    record = snapshot(tour) or {}
    record["cameras"] = list(tour.stops.order_by("position").values_list("camera__code", flat=True))
    return record


def slots(tour: PatrolTour, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The tour's due times in [start, end): every `interval_minutes` from `start_time` within its daily
    window (which may wrap midnight; start == end means around the clock), in the station's local time
    (TIME_ZONE: whatever zone a request may have activated, the schedule is the station's)."""
    tz = timezone.get_default_timezone()
    start_local, end_local = timezone.localtime(start, tz), timezone.localtime(end, tz)
    result: list[dt.datetime] = []
    window = _window_minutes(tour.start_time, tour.end_time)
    day = start_local.date() - dt.timedelta(days=1)  # a window opened yesterday may run into today
    while day <= end_local.date():
        opened = dt.datetime.combine(day, tour.start_time, tzinfo=tz)
        offset = 0
        while offset <= window:
            due = opened + dt.timedelta(minutes=offset)
            if start <= due < end:
                result.append(due)
            offset += tour.interval_minutes
            if window == 24 * 60 and offset >= window:
                break
        day += dt.timedelta(days=1)
    return sorted(set(result))


def _window_minutes(start: dt.time, end: dt.time) -> int:
    a, b = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    return 24 * 60 if a == b else (b - a) % (24 * 60)


def plan_runs(now: dt.datetime, *, lookback: dt.timedelta = dt.timedelta(hours=24)) -> int:
    """Create the runs of every active tour that have fallen due (since `lookback`), once each; mark as
    missed those nobody started before the next one fell due. Returns how many runs were created.

    Runs every 30 s in each video worker: three queries however many tours there are, and a write only for
    what is new (a run due, a run missed), which the consoles hear of."""
    tours = list(PatrolTour.objects.filter(active=True))
    existing = set(
        TourRun.objects.filter(tour__in=tours, due_at__gte=now - lookback).values_list("tour_id", "due_at")
    )
    created = 0
    for tour in tours:
        since = max(now - lookback, tour.created_at - dt.timedelta(minutes=tour.interval_minutes))
        for due in slots(tour, since, now + dt.timedelta(seconds=1)):
            if (tour.pk, due) in existing:
                continue
            run = create_once(TourRun, tour=tour, station_id=tour.station_id, due_at=due)
            if run is not None:  # None: another worker's tick created it
                created += 1
                _on_commit(realtime.publish_run, run.pk)
    for run in TourRun.objects.filter(status=RunStatus.DUE, due_at__lt=now).select_related("tour"):
        if now >= run.due_at + dt.timedelta(minutes=run.tour.interval_minutes):
            with transaction.atomic():
                if TourRun.objects.filter(pk=run.pk, status=RunStatus.DUE).update(status=RunStatus.MISSED):
                    _on_commit(realtime.publish_run, run.pk)
    return created


def may_run(user: Any, tour: PatrolTour) -> bool:
    """The assignee; with a duty post, anyone of the station who may patrol; the station director."""
    if not access.may_patrol(user) or not Territory.for_user(user).covers_station(tour.station_id):
        return False
    if tour.assignee_id is None or tour.assignee_id == user.pk or tour.duty_post:
        return True
    return access.may_manage(user, tour.station_id)


@transaction.atomic
def start_run(run: TourRun, *, by: Any, now: dt.datetime | None = None) -> TourRun:
    now = now or timezone.now()
    run = TourRun.objects.select_for_update().select_related("tour").get(pk=run.pk)
    if not may_run(by, run.tour):
        raise NotAllowed(_("这个巡查计划不是指派给您的"))
    if run.status == RunStatus.IN_PROGRESS and run.by_id == by.pk:
        return run
    if run.status != RunStatus.DUE:
        raise RuleViolation(_("这次巡查已%(status)s，不能再开始") % {"status": run.get_status_display()})
    run.status, run.started_at, run.by = RunStatus.IN_PROGRESS, now, by
    run.late = now > run.due_at + dt.timedelta(minutes=run.tour.grace_minutes)
    run.save(update_fields=["status", "started_at", "by", "late", "updated_at"])
    record_change(by, "video.run.started", run)
    _on_commit(realtime.publish_run, run.pk)
    return run


@transaction.atomic
def record_finding(
    run: TourRun,
    camera: Camera,
    *,
    result: str,
    note: str = "",
    by: Any,
    jpeg: bytes | None = None,
    now: dt.datetime | None = None,
) -> TourFinding:
    """正常, or 异常 with a note; the picture is the camera's latest (or the one given). Recording a camera
    again replaces its finding (the patroller corrected it)."""
    now = now or timezone.now()
    run = TourRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.IN_PROGRESS or run.by_id != by.pk:
        raise RuleViolation(_("请先开始这次巡查"))
    if not run.tour.stops.filter(camera=camera).exists():
        raise ServiceError(_("这台摄像机不在本次巡查计划中"))
    if result not in FindingResult.values:
        raise ServiceError(_("请选择“正常”或“异常”"))
    note = (note or "").strip()
    if result == FindingResult.ABNORMAL and not note:
        raise ServiceError(_("异常情况请填写说明"))
    if len(note) > 200:
        raise ServiceError(_("情况说明最多 200 字"))
    if jpeg is None:
        latest = frames.read(camera.pk)
        jpeg = latest[0] if latest else None
    finding = TourFinding.objects.filter(run=run, camera=camera).first() or TourFinding(
        run=run, camera=camera
    )
    finding.result, finding.note, finding.by, finding.recorded_at = result, note, by, now
    if jpeg:
        finding.snapshot.save(f"run{run.pk}-cam{camera.pk}.jpg", ContentFile(jpeg), save=False)
    finding.save()
    record_change(by, "video.run.finding", run, after={"camera": camera.code, "result": result, "note": note})
    _on_commit(realtime.publish_run, run.pk)
    return finding


@transaction.atomic
def finish_run(run: TourRun, *, by: Any, now: dt.datetime | None = None) -> TourRun:
    now = now or timezone.now()
    run = TourRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.IN_PROGRESS or run.by_id != by.pk:
        raise RuleViolation(_("请先开始这次巡查"))
    missing = run.tour.stops.exclude(camera__in=run.findings.values("camera")).count()
    if missing:
        raise RuleViolation(_("还有 %(n)s 个点位没有记录巡查结果") % {"n": missing})
    run.status, run.finished_at = RunStatus.DONE, now
    run.save(update_fields=["status", "finished_at", "updated_at"])
    record_change(by, "video.run.finished", run)
    _on_commit(realtime.publish_run, run.pk)
    return run


def tick(now: dt.datetime) -> None:
    """The video worker's minute job: tours fall due or are missed; cameras down too long go offline."""
    plan_runs(now)
    supervise_cameras(now)
