"""Drills (演练): scheduled test presses of alarm devices, matched to presses, settled when their window ends.

A drill is a window [starts_at, ends_at) in which the unit is to press its device. The first press of the
device whose pressed time or received time lies in the window is the drill: the alarm is marked `is_drill`
(so it never counts in the statistics) and the drill passes (`match_press`, called by
`services.receive_event` inside its transaction). A window that ends without such a press is a failed drill
(`settle_due`, called every second by the supervision tick) — after `SETTLE_GRACE`, so that a press made
in the last seconds of the window and delivered a little late (a retry, a DC-09 retransmission) still
counts. Only the first press of a window is the drill: a second press there is an ordinary alarm, because a
real emergency during a drill must not be filed as a test.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.alarms import devices
from doorstep.alarms.choices import DrillStatus
from doorstep.alarms.models import Alarm, AlarmDevice, Drill
from doorstep.audit.services import record_change
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.org.models import Station
from doorstep.org.territory import Territory

SETTLE_GRACE = dt.timedelta(seconds=60)
DEFAULT_WINDOW = dt.timedelta(hours=1)
MIN_WINDOW, MAX_WINDOW = dt.timedelta(minutes=5), dt.timedelta(hours=24)
MAX_OCCURRENCES = 24
SETTLE_BATCH = 500


def shift_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (or earlier); the 31st becomes the month's last day if need be."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    return dt.date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same local wall-clock time `months` later (`shift_months` of its local date)."""
    local = timezone.localtime(moment)
    day = shift_months(local.date(), months)
    return timezone.make_aware(dt.datetime.combine(day, local.time().replace(tzinfo=None)))


def windows(
    first_start: dt.datetime, window: dt.timedelta, every_months: int, occurrences: int
) -> list[tuple[dt.datetime, dt.datetime]]:
    starts = [add_months(first_start, every_months * i) for i in range(occurrences)]
    return [(s, s + window) for s in starts]


@transaction.atomic
def schedule_drills(
    *,
    first_start: dt.datetime,
    by: Any,
    device: AlarmDevice | None = None,
    station: Station | None = None,
    window: dt.timedelta = DEFAULT_WINDOW,
    every_months: int = 3,
    occurrences: int = 4,
    note: str = "",
    now: dt.datetime | None = None,
) -> list[Drill]:
    """Schedule drills for one device, or for every active device of a station: a first window starting at
    `first_start`, `window` long, repeated every `every_months` months (quarterly by default),
    `occurrences` times. Refused if any of the windows overlaps a drill already scheduled for a device."""
    if (device is None) == (station is None):
        raise ServiceError(_("请选择一台设备或一个派出所"), code="target")
    station_id = device.station_id if device is not None else station.pk
    if by is not None and not devices.may_manage(by, station_id):
        raise NotAllowed(_("演练须由本所所长或系统管理员安排"))
    now = now or timezone.now()
    if first_start < now:
        raise ServiceError(_("首次演练开始时间不能早于当前时间"), code="first_start")
    if first_start > now + dt.timedelta(days=2 * 366):
        raise ServiceError(_("首次演练开始时间不能晚于两年之后"), code="first_start")
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise ServiceError(_("演练时长应在5分钟至24小时之间"), code="window_minutes")
    if not 1 <= every_months <= 12:
        raise ServiceError(_("重复间隔应为1至12个月"), code="every_months")
    if not 1 <= occurrences <= MAX_OCCURRENCES:
        raise ServiceError(_("演练次数应为1至24次"), code="occurrences")
    if device is not None:
        targets = list(AlarmDevice.objects.select_for_update().filter(pk=device.pk, active=True))
        if not targets:
            raise ServiceError(_("设备已停用，不能安排演练"), code="device")
    else:
        targets = list(AlarmDevice.objects.select_for_update().filter(station=station, active=True))
        if not targets:
            raise ServiceError(_("该派出所没有启用的报警设备"), code="station")
    spans = windows(first_start, window, every_months, occurrences)
    overlap = Q(pk__in=[])
    for start, end in spans:
        overlap |= Q(starts_at__lt=end, ends_at__gt=start)
    clashes = (
        Drill.objects.filter(overlap, device__in=targets, status=DrillStatus.SCHEDULED)
        .order_by("device__device_id")
        .values_list("device__device_id", flat=True)
        .distinct()
    )
    clashing = list(clashes[:6])
    if clashing:
        shown = "、".join(clashing[:5]) + ("等" if len(clashing) > 5 else "")
        raise RuleViolation(
            _("以下设备在所选时段已有演练安排：%(devices)s") % {"devices": shown}, code="first_start"
        )
    drills = []
    for target in targets:
        for start, end in spans:
            drill = Drill.objects.create(
                device=target,
                grid_id=target.grid_id,
                station_id=target.station_id,
                starts_at=start,
                ends_at=end,
                note=note.strip()[:200],
                created_by=by if getattr(by, "is_authenticated", False) else None,
            )
            record_change(by, "alarms.schedule_drill", drill)
            drills.append(drill)
    return drills


@transaction.atomic
def cancel_drill(drill: Drill, *, by: Any, note: str = "") -> Drill:
    """Cancel a drill that has not taken place yet (a cancelled drill neither passes nor fails)."""
    drill = Drill.objects.select_for_update().get(pk=drill.pk)
    if by is not None and not devices.may_manage(by, drill.station_id):
        raise NotAllowed(_("演练须由本所所长或系统管理员安排"))
    if drill.status != DrillStatus.SCHEDULED:
        raise RuleViolation(
            _("该演练已是“%(status)s”，不能取消") % {"status": drill.get_status_display()}, code="status"
        )
    drill.status = DrillStatus.CANCELLED
    drill.save(update_fields=["status", "updated_at"])
    record_change(by, "alarms.cancel_drill", drill, note=note.strip()[:300])
    return drill


def match_press(alarm: Alarm) -> Drill | None:
    """If `alarm` (just stored, in the caller's transaction) is the press a scheduled drill of its device is
    waiting for, make it the drill: the alarm is marked `is_drill`, the drill passes and links it. The
    window must contain the pressed time (the device's clock) or the received time (ours). Returns the
    drill, or None. Costs one indexed query when there is nothing to match."""
    moments = {alarm.pressed_at, alarm.received_at}
    inside = Q(pk__in=[])
    for moment in moments:
        inside |= Q(starts_at__lte=moment, ends_at__gt=moment)
    with transaction.atomic(savepoint=False):
        drill = (
            Drill.objects.select_for_update()
            .filter(inside, device_id=alarm.device_id, status=DrillStatus.SCHEDULED, alarm__isnull=True)
            .order_by("starts_at", "id")
            .first()
        )
        if drill is None:
            return None
        drill.status, drill.alarm = DrillStatus.PASSED, alarm
        drill.save(update_fields=["status", "alarm", "updated_at"])
        if not alarm.is_drill:
            Alarm.objects.filter(pk=alarm.pk).update(is_drill=True)
            alarm.is_drill = True
        record_change(None, "alarms.drill_passed", drill)
    return drill


def settle_due(now: dt.datetime | None = None) -> int:
    """Scheduled drills whose window ended (more than SETTLE_GRACE ago) without a press become failed.
    Returns how many. Idempotent, and one indexed query (status, ends_at) when nothing is due, so the
    supervision tick may call it every second."""
    now = now or timezone.now()
    due = list(
        Drill.objects.filter(status=DrillStatus.SCHEDULED, ends_at__lte=now - SETTLE_GRACE)
        .order_by("ends_at", "id")
        .values_list("pk", flat=True)[:SETTLE_BATCH]
    )
    if not due:
        return 0
    with transaction.atomic():
        # Re-checked under the lock: a press matched by a concurrent receiver wins.
        drills = list(Drill.objects.select_for_update().filter(pk__in=due, status=DrillStatus.SCHEDULED))
        for drill in drills:
            drill.status = DrillStatus.FAILED
            drill.save(update_fields=["status", "updated_at"])
            record_change(None, "alarms.drill_failed", drill)
    return len(drills)


# --- the drill report -----------------------------------------------------------------------------------------
@dataclass
class DrillReport:
    drills: list[Drill]
    counts: dict[str, int]
    failed_devices: list[dict[str, Any]]  # {"device": AlarmDevice, "failed": n, "drills": n}

    @property
    def settled(self) -> int:
        return self.counts.get(DrillStatus.PASSED, 0) + self.counts.get(DrillStatus.FAILED, 0)

    @property
    def pass_rate(self) -> float | None:
        return self.counts.get(DrillStatus.PASSED, 0) / self.settled if self.settled else None


def drills_for(user: Any) -> QuerySet[Drill]:
    if not devices.may_view(user):
        return Drill.objects.none()
    return Territory.for_user(user).filter(
        Drill.objects.select_related("device", "device__unit", "station", "alarm", "created_by")
    )


def report(drills: QuerySet[Drill], start: dt.datetime, end: dt.datetime) -> DrillReport:
    """The drills whose window starts in [start, end): every drill, the count per status, and the devices
    with at least one failed drill (worst first)."""
    period = drills.filter(starts_at__gte=start, starts_at__lt=end)
    rows = list(period.order_by("starts_at", "device__device_id", "id"))
    counts = dict(period.order_by().values_list("status").annotate(n=Count("id")))
    per_device: dict[int, dict[str, Any]] = {}
    for drill in rows:
        entry = per_device.setdefault(drill.device_id, {"device": drill.device, "failed": 0, "drills": 0})
        if drill.status != DrillStatus.CANCELLED:
            entry["drills"] += 1
        if drill.status == DrillStatus.FAILED:
            entry["failed"] += 1
    failed = sorted(
        (e for e in per_device.values() if e["failed"]),
        key=lambda e: (-e["failed"], e["device"].device_id),
    )
    return DrillReport(rows, counts, failed)
