"""Every write and the week view of station duty rosters (值班备勤, 110接处警).

Rules enforced here, each a refusal with its reason in Chinese:
- a person is never on two overlapping station shifts, nor on a station shift overlapping their police-room
  shift (`RoomShift`);
- the community-officer rule: a person holding a current 社区民警 post on a grid (GridAssignment, position
  officer, active on the shift's day) is not put on a *daytime* 值班 or 110接处警 shift. Daytime = the shift
  overlaps 08:00–18:00 local time on any day it touches (`DAY_START`/`DAY_END`, settings
  `DUTY_DAYTIME_START_HOUR`/`DUTY_DAYTIME_END_HOUR`). 备勤 and night shifts are allowed. The rule yields only
  to an approved, unrevoked `DutyException` for that person whose date range holds the day and whose shift is
  empty (any) or the same shift; the assignment then records it and shows 例外.
- swaps are re-checked in full at approval, so a rule that became true since the request still refuses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.duty.choices import StationDutyKind, SwapStatus
from doorstep.duty.models import DutyAssignment, DutyException, StationShift, SwapRequest
from doorstep.duty.services import check_free, week_start
from doorstep.org.choices import Position, StaffKind
from doorstep.org.models import GridAssignment, Staff, Station

# Who may stand station duty: everybody of the station except mediators.
DUTY_KINDS = (StaffKind.POLICE, StaffKind.AUXILIARY, StaffKind.PATROL, StaffKind.DISPATCHER, StaffKind.LEADER)
# The kinds the community-officer rule restricts in the daytime.
RESTRICTED_KINDS = (StationDutyKind.DUTY, StationDutyKind.DISPATCH)
# Default shifts of a station that has none yet: (kind, name, starts, ends, minimum staffing).
DEFAULT_SHIFTS = (
    (StationDutyKind.DUTY, "白班", dt.time(8), dt.time(20), 2),
    (StationDutyKind.DUTY, "夜班", dt.time(20), dt.time(8), 1),
    (StationDutyKind.STANDBY, "白班", dt.time(8), dt.time(20), 2),
    (StationDutyKind.STANDBY, "夜班", dt.time(20), dt.time(8), 2),
    (StationDutyKind.DISPATCH, "白班", dt.time(8), dt.time(20), 2),
    (StationDutyKind.DISPATCH, "夜班", dt.time(20), dt.time(8), 1),
)


def day_start() -> dt.time:
    return dt.time(getattr(settings, "DUTY_DAYTIME_START_HOUR", 8))


def day_end() -> dt.time:
    return dt.time(getattr(settings, "DUTY_DAYTIME_END_HOUR", 18))


# --- pure rules ----------------------------------------------------------------------------------------------
def shift_times(shift: StationShift, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The shift's start and end on `day` (ends on the next day when it crosses midnight)."""
    start = timezone.make_aware(dt.datetime.combine(day, shift.starts))
    end_day = day if shift.ends > shift.starts else day + dt.timedelta(days=1)
    return start, timezone.make_aware(dt.datetime.combine(end_day, shift.ends))


def is_daytime(starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
    """True when [starts_at, ends_at) overlaps 08:00–18:00 (local) of any day it touches."""
    first = timezone.localtime(starts_at).date()
    last = timezone.localtime(ends_at).date()
    day = first
    while day <= last:
        a = timezone.make_aware(dt.datetime.combine(day, day_start()))
        b = timezone.make_aware(dt.datetime.combine(day, day_end()))
        if starts_at < b and ends_at > a:
            return True
        day += dt.timedelta(days=1)
    return False


def is_community_officer(staff: Staff, day: dt.date) -> bool:
    return GridAssignment.objects.active_on(day).filter(staff=staff, position=Position.OFFICER).exists()


def find_exception(staff: Staff, shift: StationShift, day: dt.date) -> DutyException | None:
    from django.db.models import Q

    return (
        DutyException.objects.filter(
            staff=staff,
            station_id=shift.station_id,
            revoked_at__isnull=True,
            starts_on__lte=day,
            ends_on__gte=day,
        )
        .filter(Q(shift__isnull=True) | Q(shift=shift))
        .order_by("-approved_at")
        .first()
    )


# --- permissions ---------------------------------------------------------------------------------------------
def _signed_in(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def may_direct(user: Any, station_id: int) -> bool:
    """Keep the station's roster, grant exceptions, decide swaps: its director or a system administrator."""
    if not _signed_in(user):
        return False
    if user.is_superuser or user.role == Role.ADMIN:
        return True
    return user.role == Role.DIRECTOR and user.station_id == station_id


def _require_director(by: Any, station_id: int) -> None:
    if by is not None and not may_direct(by, station_id):
        raise NotAllowed(_("所值班排班、例外和换班审批须由本所所长或系统管理员办理"))


def may_request_swap(user: Any, assignment: DutyAssignment) -> bool:
    if not _signed_in(user):
        return False
    return may_direct(user, assignment.shift.station_id) or (
        bool(user.staff_id) and user.staff_id == assignment.staff_id
    )


# --- shifts --------------------------------------------------------------------------------------------------
def _validate_shift_def(
    station: Station, kind: str, name: str, starts: Any, ends: Any, min_staff: Any
) -> None:
    if kind not in StationDutyKind.values:
        raise ServiceError(_("请选择班次类别"))
    if not name or not name.strip():
        raise ServiceError(_("请填写班次名称"))
    if starts is None or ends is None:
        raise ServiceError(_("请填写开始时刻和结束时刻"))
    if starts == ends:
        raise ServiceError(_("开始时刻和结束时刻不能相同"))
    if min_staff is None or int(min_staff) < 0 or int(min_staff) > 50:
        raise ServiceError(_("最低在岗人数应在 0 到 50 之间"))


def create_station_shift(
    *, station: Station, kind: str, name: str, starts: dt.time, ends: dt.time, min_staff: int, by: Any
) -> StationShift:
    _require_director(by, station.pk)
    _validate_shift_def(station, kind, name, starts, ends, min_staff)
    with transaction.atomic():
        if StationShift.objects.filter(station=station, kind=kind, starts=starts).exists():
            raise RuleViolation(_("本所已有同类别、同开始时刻的班次"))
        shift = StationShift.objects.create(
            station=station, kind=kind, name=name.strip(), starts=starts, ends=ends, min_staff=min_staff
        )
        record_change(by, "duty.station_shift_create", shift)
    return shift


def update_station_shift(
    shift: StationShift, *, name: str, min_staff: int, active: bool, by: Any
) -> StationShift:
    """Times and kind stay fixed once created (assignments were checked against them); name, minimum
    staffing and whether it is in use may change."""
    _require_director(by, shift.station_id)
    _validate_shift_def(shift.station, shift.kind, name, shift.starts, shift.ends, min_staff)
    with transaction.atomic():
        before = snapshot(shift)
        shift.name, shift.min_staff, shift.active = name.strip(), min_staff, active
        shift.save()
        record_change(by, "duty.station_shift_update", shift, before=before)
    return shift


def ensure_default_shifts(station: Station, *, by: Any) -> list[StationShift]:
    """Create the default day/night shifts of each kind when the station has none (idempotent)."""
    if StationShift.objects.filter(station=station).exists():
        return []
    return [
        create_station_shift(station=station, kind=k, name=n, starts=a, ends=b, min_staff=m, by=by)
        for k, n, a, b, m in DEFAULT_SHIFTS
    ]


# --- assignments ---------------------------------------------------------------------------------------------
def check_assignment(
    shift: StationShift, staff: Staff, day: dt.date, *, exclude: tuple[int, ...] = ()
) -> DutyException | None:
    """Raise the first rule the assignment breaks; return the exception it relies on, if any."""
    if not shift.active:
        raise ServiceError(_("该班次已停用"))
    if not staff.active:
        raise ServiceError(_("%(name)s 已不在职，不能排班") % {"name": staff.name})
    if staff.station_id != shift.station_id:
        raise ServiceError(_("%(name)s 不属于本所，不能排入本所值班") % {"name": staff.name})
    if staff.kind not in DUTY_KINDS:
        raise ServiceError(
            _("%(name)s 是%(kind)s，不参加所值班备勤")
            % {"name": staff.name, "kind": staff.get_kind_display()}
        )
    starts_at, ends_at = shift_times(shift, day)
    exception = None
    if shift.kind in RESTRICTED_KINDS and is_daytime(starts_at, ends_at) and is_community_officer(staff, day):
        exception = find_exception(staff, shift, day)
        if exception is None:
            raise RuleViolation(
                _("%(name)s 是社区民警，不得安排白天（%(a)s–%(b)s）的%(kind)s；确需安排的，须由所长审批例外")
                % {
                    "name": staff.name,
                    "a": day_start().strftime("%H:%M"),
                    "b": day_end().strftime("%H:%M"),
                    "kind": shift.get_kind_display(),
                },
                code="community_officer",
            )
    check_free(staff, starts_at, ends_at, skip_assignments=exclude)
    return exception


def _lock_staff(*staff: Staff) -> None:
    # In a fixed order, so two swaps of the same people cannot deadlock (PostgreSQL).
    list(Staff.objects.select_for_update().filter(pk__in=[s.pk for s in staff]).order_by("pk"))


def _create(shift: StationShift, staff: Staff, day: dt.date, by: Any) -> DutyAssignment:
    exception = check_assignment(shift, staff, day)
    starts_at, ends_at = shift_times(shift, day)
    try:
        with transaction.atomic():
            return DutyAssignment.objects.create(
                shift=shift,
                staff=staff,
                day=day,
                starts_at=starts_at,
                ends_at=ends_at,
                exception=exception,
                created_by=by,
            )
    except IntegrityError as exc:
        raise RuleViolation(_("%(name)s 已在该班次") % {"name": staff.name}) from exc


def assign(*, shift: StationShift, staff: Staff, day: dt.date, by: Any) -> DutyAssignment:
    _require_director(by, shift.station_id)
    if day is None:
        raise ServiceError(_("请选择日期"))
    with transaction.atomic():
        _lock_staff(staff)
        assignment = _create(shift, staff, day, by)
        record_change(
            by,
            "duty.station_assign",
            assignment,
            note=_("例外：%(r)s") % {"r": assignment.exception.reason} if assignment.exception else "",
        )
    return assignment


def unassign(assignment: DutyAssignment, *, by: Any) -> None:
    _require_director(by, assignment.shift.station_id)
    with transaction.atomic():
        record_change(by, "duty.station_unassign", assignment, before=snapshot(assignment), after={})
        assignment.delete()


def copy_week(*, station: Station, target_monday: dt.date, by: Any) -> list[DutyAssignment]:
    """Copy the station roster of the week before into the week of `target_monday`, re-checking every rule;
    refused (nothing copied) when the target week already has assignments or any copy breaks a rule."""
    _require_director(by, station.pk)
    target_monday = week_start(target_monday)
    week = dt.timedelta(days=7)
    with transaction.atomic():
        Station.objects.select_for_update().filter(pk=station.pk).first()
        target = DutyAssignment.objects.filter(
            shift__station=station, day__gte=target_monday, day__lt=target_monday + week
        )
        if target.exists():
            raise RuleViolation(_("本周（%(day)s 起）已有所值班排班，不能重复复制") % {"day": target_monday})
        source = list(
            DutyAssignment.objects.filter(
                shift__station=station,
                day__gte=target_monday - week,
                day__lt=target_monday,
                shift__active=True,
            ).select_related("shift", "staff")
        )
        if not source:
            raise ServiceError(_("上周没有所值班排班可复制"))
        created = []
        for old in source:
            _lock_staff(old.staff)
            created.append(_create(old.shift, old.staff, old.day + week, by))
        record_change(
            by,
            "duty.station_copy_week",
            station,
            after={"week": target_monday.isoformat(), "assignments": [a.pk for a in created]},
            note=_("复制上周所值班排班 %(n)d 人次") % {"n": len(created)},
        )
    return created


# --- exceptions ----------------------------------------------------------------------------------------------
def grant_exception(
    *,
    station: Station,
    staff: Staff,
    starts_on: dt.date,
    ends_on: dt.date,
    reason: str,
    shift: StationShift | None = None,
    by: Any,
    now: dt.datetime | None = None,
) -> DutyException:
    _require_director(by, station.pk)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("请填写例外理由"))
    if starts_on is None or ends_on is None:
        raise ServiceError(_("请填写开始日期和结束日期"))
    if ends_on < starts_on:
        raise ServiceError(_("结束日期不能早于开始日期"))
    if (ends_on - starts_on).days > 92:
        raise ServiceError(_("一次例外审批最长 93 天"))
    if staff.station_id != station.pk:
        raise ServiceError(_("%(name)s 不属于本所") % {"name": staff.name})
    if shift is not None and shift.station_id != station.pk:
        raise ServiceError(_("该班次不属于本所"))
    with transaction.atomic():
        exception = DutyException.objects.create(
            station=station,
            staff=staff,
            shift=shift,
            starts_on=starts_on,
            ends_on=ends_on,
            reason=reason,
            approved_by=by,
            approved_at=now or timezone.now(),
        )
        record_change(by, "duty.station_exception_grant", exception, note=reason)
    return exception


def revoke_exception(exception: DutyException, *, by: Any, now: dt.datetime | None = None) -> DutyException:
    """Revoke for the future: assignments already made under it stay (and stay marked 例外)."""
    _require_director(by, exception.station_id)
    if exception.revoked_at is not None:
        raise RuleViolation(_("该例外已撤销"))
    with transaction.atomic():
        before = snapshot(exception)
        exception.revoked_at = now or timezone.now()
        exception.save(update_fields=["revoked_at", "updated_at"])
        record_change(by, "duty.station_exception_revoke", exception, before=before)
    return exception


# --- swaps ---------------------------------------------------------------------------------------------------
def _check_swap(
    mine: DutyAssignment, theirs: DutyAssignment
) -> tuple[DutyException | None, DutyException | None]:
    """Both people on each other's shift, every rule re-checked; both old places are free during the check."""
    if mine.staff_id == theirs.staff_id:
        raise ServiceError(_("不能与自己换班"))
    if mine.shift.station_id != theirs.shift.station_id:
        raise ServiceError(_("只能与本所同事换班"))
    exclude = (mine.pk, theirs.pk)
    ex_a = check_assignment(theirs.shift, mine.staff, theirs.day, exclude=exclude)
    ex_b = check_assignment(mine.shift, theirs.staff, mine.day, exclude=exclude)
    if DutyAssignment.objects.filter(shift=theirs.shift, day=theirs.day, staff=mine.staff).exclude(
        pk__in=exclude
    ).exists() or (
        DutyAssignment.objects.filter(shift=mine.shift, day=mine.day, staff=theirs.staff)
        .exclude(pk__in=exclude)
        .exists()
    ):
        raise RuleViolation(_("换班后同一人会在同一班次出现两次"))
    return ex_a, ex_b


def request_swap(
    *, mine: DutyAssignment, theirs: DutyAssignment, reason: str, by: Any, now: dt.datetime | None = None
) -> SwapRequest:
    if by is not None and not may_request_swap(by, mine):
        raise NotAllowed(_("只能为本人的班次申请换班（所长可代为申请）"))
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("请填写换班理由"))
    now = now or timezone.now()
    if mine.starts_at <= now or theirs.starts_at <= now:
        raise RuleViolation(_("已开始或已结束的班次不能换班"))
    with transaction.atomic():
        _lock_staff(mine.staff, theirs.staff)
        _check_swap(mine, theirs)
        if SwapRequest.objects.filter(status=SwapStatus.PENDING, mine__in=[mine, theirs]).exists() or (
            SwapRequest.objects.filter(status=SwapStatus.PENDING, theirs__in=[mine, theirs]).exists()
        ):
            raise RuleViolation(_("该班次已有待审批的换班申请"))
        swap = SwapRequest.objects.create(mine=mine, theirs=theirs, reason=reason, requested_by=by)
        record_change(by, "duty.station_swap_request", swap, note=reason)
    return swap


def _swap_gone() -> RuleViolation:
    # A removed assignment takes its swap requests with it (CASCADE): a decision racing that removal.
    return RuleViolation(_("换班涉及的班次已被删除，该换班申请已失效"), code="swap_gone")


def _lock_swap_shifts(swap: SwapRequest) -> tuple[DutyAssignment, DutyAssignment]:
    """Lock the swap's two assignments, in primary-key order (two approvals touching the same shifts cannot
    deadlock), and return them fresh; refused when either was removed since the request."""
    rows = {
        a.pk: a
        for a in DutyAssignment.objects.select_for_update(of=("self",))
        .select_related("shift", "staff")
        .filter(pk__in=[swap.mine_id, swap.theirs_id])
        .order_by("pk")
    }
    if swap.mine_id not in rows or swap.theirs_id not in rows:
        raise _swap_gone()
    return rows[swap.mine_id], rows[swap.theirs_id]


def approve_swap(
    swap: SwapRequest, *, note: str = "", by: Any, now: dt.datetime | None = None
) -> SwapRequest:
    """Swap the two people atomically, every rule re-checked now (not as at the request): both shifts still
    to come, both still on the roster, the rosters' rules. The assignments are locked first, then the people
    and the request."""
    now = now or timezone.now()
    try:
        station_id = swap.mine.shift.station_id
    except DutyAssignment.DoesNotExist as exc:
        raise _swap_gone() from exc
    _require_director(by, station_id)
    with transaction.atomic():
        mine, theirs = _lock_swap_shifts(swap)
        _lock_staff(mine.staff, theirs.staff)
        locked = SwapRequest.objects.select_for_update().filter(pk=swap.pk).first()
        if locked is None:  # removed with one of its shifts
            raise _swap_gone()
        swap = locked
        if swap.status != SwapStatus.PENDING:
            raise RuleViolation(_("该换班申请已处理"))
        if mine.starts_at <= now or theirs.starts_at <= now:
            raise RuleViolation(_("已开始或已结束的班次不能换班"))
        ex_a, ex_b = _check_swap(mine, theirs)
        before = snapshot(swap)
        a_staff, b_staff = mine.staff, theirs.staff
        # Move one aside first: (shift, day, staff) is unique and the two may share a shift and day.
        mine_before, theirs_before = snapshot(mine), snapshot(theirs)
        mine.staff, mine.exception = b_staff, ex_b
        theirs.staff, theirs.exception = a_staff, ex_a
        DutyAssignment.objects.filter(pk=mine.pk).update(staff=b_staff, exception=ex_b)
        DutyAssignment.objects.filter(pk=theirs.pk).update(staff=a_staff, exception=ex_a)
        record_change(by, "duty.station_assignment_swap", mine, before=mine_before)
        record_change(by, "duty.station_assignment_swap", theirs, before=theirs_before)
        swap.status = SwapStatus.APPROVED
        swap.decided_by, swap.decided_at, swap.decision_note = by, now, (note or "").strip()
        swap.save()
        record_change(by, "duty.station_swap_approve", swap, before=before)
    return swap


def reject_swap(swap: SwapRequest, *, note: str = "", by: Any, now: dt.datetime | None = None) -> SwapRequest:
    try:
        station_id = swap.mine.shift.station_id
    except DutyAssignment.DoesNotExist as exc:
        raise _swap_gone() from exc
    _require_director(by, station_id)
    note = (note or "").strip()
    if not note:
        raise ServiceError(_("驳回须填写审批意见"))
    with transaction.atomic():
        locked = SwapRequest.objects.select_for_update().filter(pk=swap.pk).first()
        if locked is None:  # removed with one of its shifts
            raise _swap_gone()
        swap = locked
        if swap.status != SwapStatus.PENDING:
            raise RuleViolation(_("该换班申请已处理"))
        before = snapshot(swap)
        swap.status = SwapStatus.REJECTED
        swap.decided_by, swap.decided_at, swap.decision_note = by, now or timezone.now(), note
        swap.save()
        record_change(by, "duty.station_swap_reject", swap, before=before)
    return swap


# --- week view -----------------------------------------------------------------------------------------------
@dataclass
class Cell:
    day: dt.date
    assignments: list[DutyAssignment] = field(default_factory=list)
    minimum: int = 0

    @property
    def count(self) -> int:
        return len(self.assignments)

    @property
    def understaffed(self) -> bool:
        return self.count < self.minimum


@dataclass
class Row:
    shift: StationShift
    cells: list[Cell]


def week(station: Station, monday: dt.date) -> list[Row]:
    """One row per active shift (plus inactive ones that have assignments that week), a cell per day."""
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    assignments = list(
        DutyAssignment.objects.filter(shift__station=station, day__gte=days[0], day__lte=days[-1])
        .select_related("staff", "exception")
        .order_by("staff__badge_number")
    )
    used = {a.shift_id for a in assignments}
    shifts = [s for s in StationShift.objects.filter(station=station) if s.active or s.pk in used]
    by_key: dict[tuple[int, dt.date], list[DutyAssignment]] = {}
    for a in assignments:
        by_key.setdefault((a.shift_id, a.day), []).append(a)
    return [
        Row(s, [Cell(d, by_key.get((s.pk, d), []), s.min_staff if s.active else 0) for d in days])
        for s in shifts
    ]


def understaffed(station: Station, monday: dt.date) -> list[tuple[StationShift, dt.date, int, int]]:
    return [
        (row.shift, c.day, c.count, c.minimum)
        for row in week(station, monday)
        for c in row.cells
        if c.understaffed
    ]
