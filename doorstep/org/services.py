"""Every write to the organisation: named verbs that check rights, validate, write, audit, in one transaction.

`by=None` is the system itself (seed, management commands); people always pass their user.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.geo import GeometryError, check_point, polygon_bounds
from doorstep.org.choices import MIN_OFFICER_TENURE_DAYS, POSITION_KINDS, Position, RequestStatus, StaffKind
from doorstep.org.models import (
    Community,
    DepartureRequest,
    Grid,
    GridAssignment,
    PoliceRoom,
    Secondment,
    Staff,
    Station,
    Street,
    SubBureau,
)


# --- rights ---------------------------------------------------------------------------------------------
def _is_system(by: Any) -> bool:
    return by is None


def require_station_manager(by: Any, station_id: int) -> None:
    """Staffing changes: the station's director, or a system administrator."""
    if _is_system(by):
        return
    if by.is_superuser or by.role == Role.ADMIN:
        return
    if by.role == Role.DIRECTOR and by.station_id == station_id:
        return
    raise NotAllowed(_("只有本所所长或系统管理员可以进行此操作"))


def require_station_director(by: Any, station_id: int) -> None:
    """Approvals the rules reserve for the station director (所长) personally."""
    if _is_system(by):
        return
    if by.role == Role.DIRECTOR and by.station_id == station_id:
        return
    raise NotAllowed(_("此事项须由本所所长审批"))


def require_sub_bureau_admin(by: Any) -> None:
    if _is_system(by) or by.is_superuser or by.role == Role.ADMIN:
        return
    raise NotAllowed(_("只有系统管理员可以维护组织机构"))


def _station_of_grid(grid: Grid) -> int:
    return grid.community.station_id


# --- organisation structure -----------------------------------------------------------------------------
@transaction.atomic
def create_sub_bureau(*, name: str, code: str, division_code: str, by: Any = None) -> SubBureau:
    require_sub_bureau_admin(by)
    obj = SubBureau.objects.create(name=name, code=code, division_code=division_code)
    record_change(by, "org.create_sub_bureau", obj)
    return obj


@transaction.atomic
def create_station(*, sub_bureau: SubBureau, name: str, code: str, by: Any = None, **fields: Any) -> Station:
    require_sub_bureau_admin(by)
    if fields.get("lng") is not None and fields.get("lat") is not None:
        _point(fields["lng"], fields["lat"])
    obj = Station.objects.create(sub_bureau=sub_bureau, name=name, code=code, **fields)
    record_change(by, "org.create_station", obj)
    return obj


@transaction.atomic
def create_street(*, sub_bureau: SubBureau, name: str, code: str, by: Any = None) -> Street:
    require_sub_bureau_admin(by)
    obj = Street.objects.create(sub_bureau=sub_bureau, name=name, code=code)
    record_change(by, "org.create_street", obj)
    return obj


@transaction.atomic
def create_community(*, station: Station, street: Street, name: str, code: str, by: Any = None) -> Community:
    require_sub_bureau_admin(by)
    if station.sub_bureau_id != street.sub_bureau_id:
        raise ServiceError(_("派出所与街道不属于同一分局"))
    obj = Community.objects.create(station=station, street=street, name=name, code=code)
    record_change(by, "org.create_community", obj)
    return obj


def _point(lng: float, lat: float) -> None:
    try:
        check_point(lng, lat)
    except GeometryError as exc:
        raise ServiceError(str(exc), code="geometry") from exc


def _apply_boundary(grid: Grid, boundary: dict[str, Any] | None) -> None:
    if boundary is None:
        grid.boundary = None
        grid.min_lng = grid.min_lat = grid.max_lng = grid.max_lat = grid.center_lng = grid.center_lat = None
        return
    try:
        bounds = polygon_bounds(boundary)
    except GeometryError as exc:
        raise ServiceError(str(exc), code="geometry") from exc
    grid.boundary = boundary
    grid.min_lng, grid.min_lat, grid.max_lng, grid.max_lat, grid.center_lng, grid.center_lat = bounds


@transaction.atomic
def create_grid(
    *, community: Community, name: str, code: str, boundary: dict[str, Any] | None = None, by: Any = None
) -> Grid:
    require_sub_bureau_admin(by)
    grid = Grid(community=community, name=name, code=code)
    _apply_boundary(grid, boundary)
    grid.save()
    record_change(by, "org.create_grid", grid)
    return grid


@transaction.atomic
def set_grid_boundary(grid: Grid, boundary: dict[str, Any] | None, *, by: Any) -> Grid:
    require_sub_bureau_admin(by)
    grid = Grid.objects.select_for_update().get(pk=grid.pk)
    before = snapshot(grid)
    _apply_boundary(grid, boundary)
    grid.save()
    record_change(by, "org.set_grid_boundary", grid, before=before)
    return grid


@transaction.atomic
def create_police_room(*, community: Community, by: Any = None, **fields: Any) -> PoliceRoom:
    require_station_manager(by, community.station_id)
    _point(fields["lng"], fields["lat"])
    obj = PoliceRoom.objects.create(community=community, **fields)
    record_change(by, "org.create_police_room", obj)
    return obj


POLICE_ROOM_EDITABLE = {"name", "address", "lng", "lat", "public_phone", "hours", "open_24h"}


@transaction.atomic
def update_police_room(room: PoliceRoom, *, by: Any, **changes: Any) -> PoliceRoom:
    require_station_manager(by, room.community.station_id)
    unknown = set(changes) - POLICE_ROOM_EDITABLE
    if unknown:
        raise ServiceError(_("不可修改的字段：%(fields)s") % {"fields": ", ".join(sorted(unknown))})
    room = PoliceRoom.objects.select_for_update().get(pk=room.pk)
    before = snapshot(room)
    for key, value in changes.items():
        setattr(room, key, value)
    _point(room.lng, room.lat)
    room.save()
    record_change(by, "org.update_police_room", room, before=before)
    return room


@transaction.atomic
def create_staff(
    *,
    sub_bureau: SubBureau,
    station: Station | None,
    kind: str,
    name: str,
    badge_number: str,
    by: Any = None,
    **fields: Any,
) -> Staff:
    if station is not None:
        require_station_manager(by, station.pk)
    else:
        require_sub_bureau_admin(by)
    if Staff.objects.filter(badge_number=badge_number).exists():
        raise ServiceError(_("警号/工号 %(badge)s 已存在") % {"badge": badge_number}, code="duplicate")
    obj = Staff.objects.create(
        sub_bureau=sub_bureau, station=station, kind=kind, name=name, badge_number=badge_number, **fields
    )
    record_change(by, "org.create_staff", obj)
    return obj


# --- grid posts (1 + 2) ---------------------------------------------------------------------------------
@transaction.atomic
def assign_to_grid(
    *, grid: Grid, staff: Staff, position: str, started_on: dt.date, reason: str = "", by: Any = None
) -> GridAssignment:
    """Put a person on a grid post. Gaps and surpluses against 1+2 are allowed (handovers overlap) but
    the staffing board lists them; a community officer holds only one grid at a time."""
    require_station_manager(by, _station_of_grid(grid))
    position = Position(position)
    if staff.kind != POSITION_KINDS[position]:
        raise RuleViolation(
            _("%(kind)s不能担任%(position)s")
            % {"kind": staff.get_kind_display(), "position": position.label},
            code="wrong_staff_kind",
        )
    if not staff.active:
        raise RuleViolation(_("该人员已不在职"), code="inactive")
    if staff.station_id and staff.station_id != _station_of_grid(grid):
        raise RuleViolation(_("该人员不属于网格所在派出所"), code="other_station")
    current = GridAssignment.objects.current().select_for_update().filter(staff=staff)
    if current.filter(grid=grid).exists():
        raise RuleViolation(_("该人员已在此网格任职"), code="duplicate_post")
    if position == Position.OFFICER and current.filter(position=Position.OFFICER).exists():
        raise RuleViolation(_("社区民警同一时间只能专职负责一个网格"), code="officer_one_grid")
    assignment = GridAssignment.objects.create(
        grid=grid, staff=staff, position=position, started_on=started_on, start_reason=reason
    )
    record_change(by, "org.assign_to_grid", assignment)
    return assignment


def _end(assignment: GridAssignment, ended_on: dt.date, reason: str, by: Any, action: str) -> GridAssignment:
    if ended_on < assignment.started_on:
        raise ServiceError(_("离岗日期不能早于任职日期"))
    before = snapshot(assignment)
    assignment.ended_on = ended_on
    assignment.end_reason = reason
    assignment.save(update_fields=["ended_on", "end_reason", "updated_at"])
    record_change(by, action, assignment, before=before)
    return assignment


def needs_departure_approval(assignment: GridAssignment, leave_on: dt.date) -> bool:
    """A community officer leaving the grid before 3 years of tenure needs the director's approval."""
    return (
        assignment.position == Position.OFFICER
        and (leave_on - assignment.started_on).days < MIN_OFFICER_TENURE_DAYS
    )


@transaction.atomic
def end_assignment(
    assignment: GridAssignment, *, ended_on: dt.date, reason: str, by: Any = None
) -> GridAssignment:
    """End a post. An officer's early departure is refused here: it goes through request_departure."""
    require_station_manager(by, _station_of_grid(assignment.grid))
    assignment = (
        GridAssignment.objects.select_for_update().select_related("grid__community").get(pk=assignment.pk)
    )
    if assignment.ended_on is not None:
        raise RuleViolation(_("该任职已结束"), code="already_ended")
    if not reason.strip():
        raise ServiceError(_("请填写离岗原因"), code="reason_required")
    # Before the tenure rule: a date before the start is a typo, not an early departure to apply for.
    if ended_on < assignment.started_on:
        raise ServiceError(_("离岗日期不能早于任职日期"))
    if needs_departure_approval(assignment, ended_on):
        raise RuleViolation(
            _("社区民警在网格任职未满3年，离岗须提交申请并经所长批准"), code="tenure_under_3_years"
        )
    return _end(assignment, ended_on, reason, by, "org.end_assignment")


@transaction.atomic
def request_departure(
    assignment: GridAssignment, *, leave_on: dt.date, reason: str, by: Any
) -> DepartureRequest:
    """提前离岗申请: the officer, or their station's director/admin, asks to leave before 3 years."""
    station_id = _station_of_grid(assignment.grid)
    if not (by is not None and by.staff_id and by.staff_id == assignment.staff_id):
        require_station_manager(by, station_id)
    if assignment.ended_on is not None:
        raise RuleViolation(_("该任职已结束"), code="already_ended")
    if not reason.strip():
        raise ServiceError(_("请填写离岗原因"), code="reason_required")
    if leave_on < assignment.started_on:
        raise ServiceError(_("离岗日期不能早于任职日期"))
    if not needs_departure_approval(assignment, leave_on):
        raise ServiceError(
            _("任职已满3年或非社区民警岗位，无需审批，可直接办理离岗"), code="no_approval_needed"
        )
    if assignment.departure_requests.filter(status=RequestStatus.PENDING).exists():
        raise RuleViolation(_("已有待审批的离岗申请"), code="pending_exists")
    request = DepartureRequest.objects.create(
        assignment=assignment, leave_on=leave_on, reason=reason, requested_by=by
    )
    record_change(by, "org.request_departure", request)
    return request


@transaction.atomic
def decide_departure(
    request: DepartureRequest, *, approve: bool, note: str = "", by: Any
) -> DepartureRequest:
    request = (
        DepartureRequest.objects.select_for_update()
        .select_related("assignment__grid__community")
        .get(pk=request.pk)
    )
    require_station_director(by, _station_of_grid(request.assignment.grid))
    if request.status != RequestStatus.PENDING:
        raise RuleViolation(_("该申请已处理"), code="already_decided")
    before = snapshot(request)
    request.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    request.decided_by = by
    request.decided_at = timezone.now()
    request.decision_note = note
    request.save()
    record_change(by, "org.approve_departure" if approve else "org.reject_departure", request, before=before)
    if approve:
        assignment = GridAssignment.objects.select_for_update().get(pk=request.assignment_id)
        if assignment.ended_on is None:
            _end(
                assignment,
                request.leave_on,
                f"经所长批准提前离岗：{request.reason}",
                by,
                "org.end_assignment",
            )
    return request


# --- secondments (抽调) ---------------------------------------------------------------------------------
@transaction.atomic
def request_secondment(
    *, staff: Staff, purpose: str, destination: str, starts_on: dt.date, ends_on: dt.date, by: Any
) -> Secondment:
    if staff.station_id is None:
        raise ServiceError(_("该人员未归属派出所"))
    require_station_manager(by, staff.station_id)
    if staff.kind != StaffKind.POLICE:
        raise ServiceError(_("抽调审批仅适用于社区民警"), code="not_officer")
    if ends_on < starts_on:
        raise ServiceError(_("结束日期不能早于开始日期"))
    if not purpose.strip() or not destination.strip():
        raise ServiceError(_("请填写抽调事由和去向"))
    overlapping = Secondment.objects.filter(
        staff=staff,
        status__in=[RequestStatus.PENDING, RequestStatus.APPROVED],
        starts_on__lte=ends_on,
        ends_on__gte=starts_on,
    )
    if overlapping.exists():
        raise RuleViolation(_("该民警在此期间已有抽调或待审批的抽调"), code="overlap")
    obj = Secondment.objects.create(
        staff=staff,
        purpose=purpose,
        destination=destination,
        starts_on=starts_on,
        ends_on=ends_on,
        requested_by=by,
    )
    record_change(by, "org.request_secondment", obj)
    return obj


@transaction.atomic
def decide_secondment(secondment: Secondment, *, approve: bool, note: str = "", by: Any) -> Secondment:
    secondment = Secondment.objects.select_for_update().select_related("staff").get(pk=secondment.pk)
    require_station_director(by, secondment.staff.station_id)
    if secondment.status != RequestStatus.PENDING:
        raise RuleViolation(_("该申请已处理"), code="already_decided")
    before = snapshot(secondment)
    secondment.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    secondment.decided_by = by
    secondment.decided_at = timezone.now()
    secondment.decision_note = note
    secondment.save()
    record_change(
        by, "org.approve_secondment" if approve else "org.reject_secondment", secondment, before=before
    )
    return secondment
