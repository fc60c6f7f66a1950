"""Every write of police-room duty: shifts and rosters, clock-in and clock-out.

Each service validates, writes in one transaction with its audit entry, and returns the object. Refusals
are `ServiceError`s with the reason in Chinese; a clock-in refused by the geofence is itself audited (in its
own transaction, since the refusal rolls the attempt back).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.geo import LAT_RANGE, LNG_RANGE, distance_m
from doorstep.duty import access, realtime, rules
from doorstep.duty.models import Attendance, DutyAssignment, RoomAlert, RoomShift
from doorstep.org.models import PoliceRoom, Staff

log = logging.getLogger(__name__)


# --- time helpers --------------------------------------------------------------------------------------------
def local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def week_start(day: dt.date) -> dt.date:
    """The Monday of the week holding `day`."""
    return day - dt.timedelta(days=day.weekday())


def _fmt(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%m-%d %H:%M")


# --- shifts --------------------------------------------------------------------------------------------------
def _require_manager(by: Any, room: PoliceRoom) -> None:
    if by is not None and not access.may_manage_room(by, room):
        raise NotAllowed(_("警务室排班须由本所所长或系统管理员安排"))


def _validate_shift(
    room: PoliceRoom,
    staff: Staff,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    *,
    exclude: int | None = None,
) -> None:
    if starts_at is None or ends_at is None:
        raise ServiceError(_("请填写开始时间和结束时间"))
    if ends_at <= starts_at:
        raise ServiceError(_("结束时间必须晚于开始时间"))
    if ends_at - starts_at > rules.MAX_SHIFT:
        hours = int(rules.MAX_SHIFT.total_seconds() // 3600)
        raise ServiceError(_("一个班次不能超过 %(hours)d 小时") % {"hours": hours})
    if not staff.active:
        raise ServiceError(_("%(name)s 已不在职，不能排班") % {"name": staff.name})
    if staff.kind not in rules.ELIGIBLE_KINDS:
        raise ServiceError(
            _("%(name)s 是%(kind)s，警务室值守只能安排民警、专职协勤员或巡防队员")
            % {"name": staff.name, "kind": staff.get_kind_display()}
        )
    if staff.station_id != room.community.station_id:
        raise ServiceError(_("%(name)s 不属于该警务室所在派出所") % {"name": staff.name})
    check_free(staff, starts_at, ends_at, skip_room_shift=exclude)


def check_free(
    staff: Staff,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    *,
    skip_room_shift: int | None = None,
    skip_assignments: Iterable[int] = (),
) -> None:
    """Nobody is in two places at once: refuse when the person already has a police-room shift or a station
    duty assignment overlapping [starts_at, ends_at) — the one being changed left out. The one check of
    both rosters (police-room shifts here, station duty in station_duty.check_assignment)."""
    room = (
        RoomShift.objects.filter(staff=staff, starts_at__lt=ends_at, ends_at__gt=starts_at)
        .exclude(pk=skip_room_shift)
        .select_related("room")
        .first()
    )
    if room is not None:
        raise RuleViolation(
            _("%(name)s 在 %(start)s 至 %(end)s 已排在%(room)s值守，同一人的班次不能重叠")
            % {
                "name": staff.name,
                "start": _fmt(room.starts_at),
                "end": _fmt(room.ends_at),
                "room": room.room,
            },
            code="double_booked",
        )
    duty = (
        DutyAssignment.objects.filter(staff=staff, starts_at__lt=ends_at, ends_at__gt=starts_at)
        .exclude(pk__in=list(skip_assignments))
        .select_related("shift")
        .first()
    )
    if duty is not None:
        raise RuleViolation(
            _("%(name)s 在 %(start)s 至 %(end)s 已排所里的%(shift)s，同一人的班次不能重叠")
            % {
                "name": staff.name,
                "start": _fmt(duty.starts_at),
                "end": _fmt(duty.ends_at),
                "shift": duty.shift.get_kind_display(),
            },
            code="double_booked",
        )


def _lock_staff(staff: Staff) -> None:
    # Serialises the overlap check per person (PostgreSQL; SQLite serialises writers anyway).
    Staff.objects.select_for_update().filter(pk=staff.pk).first()


def create_shift(
    *, room: PoliceRoom, staff: Staff, starts_at: dt.datetime, ends_at: dt.datetime, note: str = "", by: Any
) -> RoomShift:
    _require_manager(by, room)
    with transaction.atomic():
        _lock_staff(staff)
        _validate_shift(room, staff, starts_at, ends_at)
        shift = RoomShift.objects.create(
            room=room, staff=staff, starts_at=starts_at, ends_at=ends_at, note=note, created_by=by
        )
        record_change(by, "duty.shift_create", shift)
    return shift


def update_shift(
    shift: RoomShift, *, staff: Staff, starts_at: dt.datetime, ends_at: dt.datetime, note: str = "", by: Any
) -> RoomShift:
    _require_manager(by, shift.room)
    with transaction.atomic():
        _lock_staff(staff)
        before = snapshot(shift)
        _validate_shift(shift.room, staff, starts_at, ends_at, exclude=shift.pk)
        shift.staff, shift.starts_at, shift.ends_at, shift.note = staff, starts_at, ends_at, note
        shift.save()
        record_change(by, "duty.shift_update", shift, before=before)
    return shift


def delete_shift(shift: RoomShift, *, by: Any) -> None:
    _require_manager(by, shift.room)
    with transaction.atomic():
        record_change(by, "duty.shift_delete", shift, before=snapshot(shift), after={})
        # Attendances keep their record of the clock-in; they only lose the link to the deleted shift.
        shift.delete()


def copy_week(*, room: PoliceRoom, target_monday: dt.date, by: Any) -> list[RoomShift]:
    """Copy the room's roster of the week before `target_monday` into that week, one week later.

    Refused when the target week already has shifts in this room (no duplicates), when the week before has
    none, or when a copied shift would overlap another shift of the same person (in any room)."""
    _require_manager(by, room)
    target_monday = week_start(target_monday)
    start = local_midnight(target_monday)
    end = local_midnight(target_monday + dt.timedelta(days=7))
    week = dt.timedelta(days=7)
    with transaction.atomic():
        PoliceRoom.objects.select_for_update().filter(pk=room.pk).first()
        if RoomShift.objects.filter(room=room, starts_at__gte=start, starts_at__lt=end).exists():
            raise RuleViolation(
                _("%(room)s本周（%(day)s 起）已有排班，不能重复复制") % {"room": room, "day": target_monday}
            )
        source = list(
            RoomShift.objects.filter(
                room=room, starts_at__gte=start - week, starts_at__lt=start
            ).select_related("staff")
        )
        if not source:
            raise ServiceError(_("上周没有排班可复制"))
        created = []
        for old in source:
            staff = old.staff
            _lock_staff(staff)
            _validate_shift(room, staff, old.starts_at + week, old.ends_at + week)
            created.append(
                RoomShift.objects.create(
                    room=room,
                    staff=staff,
                    starts_at=old.starts_at + week,
                    ends_at=old.ends_at + week,
                    note=old.note,
                    created_by=by,
                )
            )
        record_change(
            by,
            "duty.roster_copy_week",
            room,
            after={"week": target_monday.isoformat(), "shifts": [s.pk for s in created]},
            note=_("复制上周排班 %(n)d 班") % {"n": len(created)},
        )
    return created


# --- clock in / out ------------------------------------------------------------------------------------------
def _position(lng: Any, lat: Any, accuracy: Any) -> tuple[float, float, float]:
    try:
        lng_f, lat_f, acc_f = float(lng), float(lat), float(accuracy)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ServiceError(_("定位数据无效，请重新定位")) from exc
    if not all(math.isfinite(v) for v in (lng_f, lat_f, acc_f)):
        raise ServiceError(_("定位数据无效，请重新定位"))
    if not (LNG_RANGE[0] <= lng_f <= LNG_RANGE[1] and LAT_RANGE[0] <= lat_f <= LAT_RANGE[1]):
        raise ServiceError(_("定位坐标超出范围"))
    if acc_f < 0:
        raise ServiceError(_("定位精度无效"))
    if acc_f > rules.MAX_ACCURACY_M:
        raise ServiceError(
            _("定位精度太差（±%(acc)d 米），请到室外或开启高精度定位后重试") % {"acc": round(acc_f)}
        )
    return lng_f, lat_f, acc_f


def _audit_refusal(by: Any, room: PoliceRoom, staff: Staff, data: dict[str, Any], note: str) -> None:
    log.warning("duty clock-in refused: room=%s staff=%s (position in the audit log only)", room.pk, staff.pk)
    with transaction.atomic():
        record_change(by, "duty.clock_in_refused", room, after={"staff": staff.pk, **data}, note=note)


def clock_in(
    *,
    staff: Staff,
    room: PoliceRoom,
    lng: Any,
    lat: Any,
    accuracy: Any,
    by: Any,
    now: dt.datetime | None = None,
) -> Attendance:
    """Clock in at the room. Inside the geofence (radius + min(accuracy, 50 m)) only; without a shift now it is
    accepted and flagged 无排班; later than the grace period after the shift's start it is flagged 迟到 — unless
    the person already clocked in for that shift (back from a break). An open attendance older than
    `rules.PROOF_HORIZON` (a forgotten clock-out) is closed as 未签退，系统关闭 rather than refusing."""
    now = now or timezone.now()
    lng_f, lat_f, acc_f = _position(lng, lat, accuracy)
    if staff.station_id != room.community.station_id or staff.kind not in rules.ELIGIBLE_KINDS:
        raise NotAllowed(_("您不是该警务室所属派出所的值守人员"))
    distance = distance_m(room.lng, room.lat, lng_f, lat_f)
    limit = rules.geofence_limit_m(room.geofence_m, acc_f)
    if distance > limit:
        message = _("您距%(room)s约 %(d)d 米，超出签到范围（%(r)d 米，已计入定位误差），不能签到") % {
            "room": room,
            "d": round(distance),
            "r": round(limit),
        }
        _audit_refusal(
            by,
            room,
            staff,
            {
                "lng": lng_f,
                "lat": lat_f,
                "accuracy_m": acc_f,
                "distance_m": round(distance, 1),
                "at": now.isoformat(),
            },
            message,
        )
        raise RuleViolation(message, code="outside_geofence")
    with transaction.atomic():
        _lock_staff(staff)
        open_one = (
            Attendance.objects.select_for_update()
            .filter(staff=staff, clock_out_at__isnull=True)
            .select_related("room")
            .first()
        )
        if open_one is not None and open_one.clock_in_at < rules.forgotten_before(now):
            # A forgotten clock-out proves nothing any more: it must not keep the person from clocking in.
            _close_forgotten(open_one, by=by, now=now)
        elif open_one is not None:
            raise RuleViolation(
                _("您已于 %(at)s 在%(room)s签到，请先签退")
                % {"at": _fmt(open_one.clock_in_at), "room": open_one.room}
            )
        shift = (
            RoomShift.objects.filter(
                staff=staff, room=room, starts_at__lte=now + rules.EARLY_CLOCK_IN, ends_at__gt=now
            )
            .order_by("starts_at")
            .first()
        )
        late_by = now - shift.starts_at if shift is not None else dt.timedelta(0)
        # Lateness is judged by the first clock-in of the shift only: coming back from a break is not 迟到.
        late = shift is not None and late_by > rules.late_grace() and not _attended(staff, shift, now)
        try:
            with transaction.atomic():
                attendance = Attendance.objects.create(
                    room=room,
                    staff=staff,
                    shift=shift,
                    clock_in_at=now,
                    in_lng=lng_f,
                    in_lat=lat_f,
                    in_accuracy_m=acc_f,
                    in_distance_m=round(distance, 1),
                    no_shift=shift is None,
                    late=late,
                    late_minutes=int(late_by.total_seconds() // 60) if late else 0,
                )
        except IntegrityError as exc:  # a concurrent clock-in of the same person won the race
            raise RuleViolation(_("您已签到，请先签退")) from exc
        record_change(by, "duty.clock_in", attendance)
        for alert in RoomAlert.objects.filter(room=room, closed_at__isnull=True):
            before = snapshot(alert)
            alert.closed_at = now
            alert.closed_by = attendance
            alert.save(update_fields=["closed_at", "closed_by", "updated_at"])
            record_change(by, "duty.alert_close", alert, before=before)
            transaction.on_commit(functools.partial(realtime.publish_room_alert, alert.pk))
    return attendance


def _attended(staff: Staff, shift: RoomShift, now: dt.datetime) -> bool:
    """Whether the person already clocked in for `shift` before `now` (`rules.attended`)."""
    early = shift.starts_at - rules.EARLY_CLOCK_IN
    candidates = Attendance.objects.filter(staff=staff, room_id=shift.room_id, clock_in_at__lt=now).filter(
        Q(shift=shift) | Q(clock_in_at__gte=early) | Q(clock_out_at__gt=early)
    )
    return any(rules.attended(a, shift, now) for a in candidates)


def _close_forgotten(attendance: Attendance, *, by: Any, now: dt.datetime) -> None:
    """Close an attendance left open past `rules.PROOF_HORIZON` (inside a transaction, its row locked). The
    clock-out time is the moment it stopped proving presence (the live board has shown the room empty since
    then), flagged `auto_closed` and — no position — `out_outside`, so nobody mistakes it for a clock-out."""
    before = snapshot(attendance)
    attendance.clock_out_at = min(now, attendance.clock_in_at + rules.PROOF_HORIZON)
    attendance.auto_closed = True
    attendance.out_outside = True
    attendance.save(update_fields=["clock_out_at", "auto_closed", "out_outside", "updated_at"])
    record_change(by, "duty.clock_out_forgotten", attendance, before=before, note=_("未签退，系统关闭"))


def close_forgotten_attendances(now: dt.datetime | None = None, *, by: Any = None) -> int:
    """Close every attendance left open past `rules.PROOF_HORIZON` (run by the supervision tick); each in
    its own transaction, re-checked under lock, so two ticks at once close each one once."""
    now = now or timezone.now()
    cutoff = rules.forgotten_before(now)
    stale = Attendance.objects.filter(clock_out_at__isnull=True, clock_in_at__lt=cutoff)
    closed = 0
    for pk in list(stale.values_list("pk", flat=True)):
        with transaction.atomic():
            attendance = stale.select_for_update().filter(pk=pk).first()
            if attendance is None:  # clocked out or closed meanwhile
                continue
            _close_forgotten(attendance, by=by, now=now)
            closed += 1
    if closed:
        log.warning("duty: %d forgotten clock-outs closed", closed)
    return closed


def clock_out(
    *,
    staff: Staff,
    lng: Any = None,
    lat: Any = None,
    accuracy: Any = None,
    by: Any,
    now: dt.datetime | None = None,
) -> Attendance:
    """Close the person's open attendance. The position is recorded when the phone gives one; a clock-out
    away from the room is accepted (the person may already have left) but flagged, never silently."""
    now = now or timezone.now()
    position = None if lng in (None, "") or lat in (None, "") else _position(lng, lat, accuracy or 0)
    with transaction.atomic():
        _lock_staff(staff)
        attendance = (
            Attendance.objects.select_for_update()
            .filter(staff=staff, clock_out_at__isnull=True)
            .select_related("room")
            .first()
        )
        if attendance is None:
            raise RuleViolation(_("您当前没有未签退的签到"))
        before = snapshot(attendance)
        attendance.clock_out_at = max(now, attendance.clock_in_at)
        if position is not None:
            room = attendance.room
            d = distance_m(room.lng, room.lat, position[0], position[1])
            attendance.out_lng, attendance.out_lat, attendance.out_accuracy_m = position
            attendance.out_distance_m = round(d, 1)
            attendance.out_outside = d > rules.geofence_limit_m(room.geofence_m, position[2])
        else:
            attendance.out_outside = True  # no position: cannot be shown to be at the room
        attendance.save()
        record_change(by, "duty.clock_out", attendance, before=before)
    return attendance
