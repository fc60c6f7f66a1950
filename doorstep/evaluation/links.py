"""Leader links and weekly inspections (领导挂点、督导检查): services, scoped reads and the weeks table.

Rules:
- Each party-committee member (a user with the leader role) is linked to 1–2 stations at a time: a link
  request names one or two stations (none is refused), and a third open link is refused. Each department
  (治安大队、刑侦大队、法制大队…) is linked to one station at a time. Ending a link keeps it as history
  (a link is active on d when started_on ≤ d < ended_on); only administrators and the evaluation office
  create or end links.
- A leader records their own inspections, only of a station they were linked to on the inspection day, and
  not in the future. Follow-ups are marked done by the inspecting leader, the station's director, the
  evaluation office or an administrator.
- Weeks (Monday–Sunday) in which a station had a linked leader and none of its linked leaders inspected it
  are flagged; the current week is "pending" until it ends; a week with no linked leader is "unlinked".
- Reads: leaders, the evaluation office and administrators see every station; a director sees their own
  station's; everyone else has no such pages (404). An object outside the territory is a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.evaluation import periods
from doorstep.evaluation.access import MAX_PK
from doorstep.evaluation.choices import PeriodKind
from doorstep.evaluation.engine import Period
from doorstep.evaluation.models_links import DepartmentLink, FollowUp, Inspection, LeaderLink
from doorstep.org.models import Station
from doorstep.org.territory import Territory

MAX_STATIONS_PER_LEADER = 2
WEEKS_SHOWN = 8
DEPARTMENTS = (
    "治安大队",
    "刑侦大队",
    "法制大队",
    "交警大队",
    "巡特警大队",
    "网安大队",
    "禁毒大队",
    "指挥中心",
)
VIEW_ROLES = frozenset({Role.LEADER, Role.EVALUATOR, Role.ADMIN, Role.DIRECTOR})
MANAGE_ROLES = frozenset({Role.EVALUATOR, Role.ADMIN})


# --- access ---------------------------------------------------------------------------------------------------
def role(user: Any) -> str | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def may_view(user: Any) -> bool:
    return role(user) in VIEW_ROLES


def may_manage_links(user: Any) -> bool:
    return role(user) in MANAGE_ROLES


def may_inspect(user: Any) -> bool:
    return role(user) == Role.LEADER


def require_view(user: Any) -> None:
    if not may_view(user):
        raise Http404


def stations_for(user: Any) -> QuerySet[Station]:
    if not may_view(user):
        return Station.objects.none()
    return Territory.for_user(user).stations().order_by("code")


def inspections_for(user: Any) -> QuerySet[Inspection]:
    if not may_view(user):
        return Inspection.objects.none()
    return Territory.for_user(user).filter(Inspection.objects.select_related("station", "inspector"))


def get_inspection_for(user: Any, pk: int) -> Inspection:
    require_view(user)
    if not 0 < pk < MAX_PK:
        raise Http404
    inspection = inspections_for(user).filter(pk=pk).first()
    if inspection is None:
        raise Http404
    return inspection


def get_follow_up_for(user: Any, pk: int) -> FollowUp:
    require_view(user)
    if not 0 < pk < MAX_PK:
        raise Http404
    item = (
        Territory.for_user(user).filter(FollowUp.objects.select_related("inspection")).filter(pk=pk).first()
    )
    if item is None:
        raise Http404
    return item


def leader_links_for(user: Any) -> QuerySet[LeaderLink]:
    if not may_view(user):
        return LeaderLink.objects.none()
    return Territory.for_user(user).filter(LeaderLink.objects.select_related("leader", "station"))


def department_links_for(user: Any) -> QuerySet[DepartmentLink]:
    if not may_view(user):
        return DepartmentLink.objects.none()
    return Territory.for_user(user).filter(DepartmentLink.objects.select_related("station"))


def active_q(day: dt.date) -> Q:
    return Q(started_on__lte=day) & (Q(ended_on__isnull=True) | Q(ended_on__gt=day))


def linked_stations(leader: Any, day: dt.date) -> QuerySet[Station]:
    """The stations the leader was linked to on `day`."""
    ids = LeaderLink.objects.filter(active_q(day), leader=leader).values_list("station_id", flat=True)
    return Station.objects.filter(pk__in=list(ids)).order_by("code")


def may_mark_done(user: Any, item: FollowUp) -> bool:
    r = role(user)
    if r in MANAGE_ROLES:
        return True
    if r == Role.LEADER:
        return item.inspection.inspector_id == user.pk
    if r == Role.DIRECTOR:
        return Territory.for_user(user).manages_station(item.inspection.station_id)
    return False


# --- links ----------------------------------------------------------------------------------------------------
def _today() -> dt.date:
    return timezone.localdate()


def _check_day(day: Any, field: str) -> dt.date:
    if not isinstance(day, dt.date):
        raise ServiceError(_("请填写日期"), code=field)
    if not dt.date(periods.MIN_YEAR, 1, 1) <= day <= dt.date(periods.MAX_YEAR, 12, 31):
        raise ServiceError(_("日期超出范围"), code=field)
    return day


@transaction.atomic
def link_leader(
    *, leader: Any, stations: Sequence[Station], started_on: dt.date, note: str = "", by: Any
) -> list[LeaderLink]:
    """Link a leader to one or two stations from `started_on` (a leader holds at most two open links)."""
    if not may_manage_links(by):
        raise NotAllowed(_("只有考评办和系统管理员可以设置挂点"))
    if leader is None or getattr(leader, "role", None) != Role.LEADER or not leader.is_active:
        raise ServiceError(_("挂点领导必须是在职的分局领导"), code="leader")
    stations = list(dict.fromkeys(stations))
    if not stations:
        raise ServiceError(_("请至少选择一个挂点派出所"), code="stations")
    _check_day(started_on, "started_on")
    # Lock the leader's row so two concurrent requests cannot both pass the two-station check.
    type(leader).objects.select_for_update().filter(pk=leader.pk).first()
    open_links = LeaderLink.objects.filter(leader=leader, ended_on__isnull=True)
    already = set(open_links.values_list("station_id", flat=True))
    repeated = [s for s in stations if s.pk in already]
    if repeated:
        raise RuleViolation(
            _("该领导已挂点%(stations)s") % {"stations": "、".join(s.name for s in repeated)}, code="stations"
        )
    if len(already) + len(stations) > MAX_STATIONS_PER_LEADER:
        raise RuleViolation(
            _("每位领导最多挂点%(n)d个派出所（已挂点%(have)d个）")
            % {"n": MAX_STATIONS_PER_LEADER, "have": len(already)},
            code="stations",
        )
    created = []
    for station in stations:
        link = LeaderLink.objects.create(
            leader=leader, station=station, started_on=started_on, note=note[:200], created_by=by
        )
        record_change(by, "evaluation.link_leader", link)
        created.append(link)
    return created


@transaction.atomic
def link_department(
    *, department: str, station: Station, started_on: dt.date, note: str = "", by: Any
) -> DepartmentLink:
    """Link a department to a station (one open link per department: end the old one first)."""
    if not may_manage_links(by):
        raise NotAllowed(_("只有考评办和系统管理员可以设置挂点"))
    department = (department or "").strip()
    if not department:
        raise ServiceError(_("请填写部门名称"), code="department")
    if len(department) > 50:
        raise ServiceError(_("部门名称不能超过50个字"), code="department")
    if station is None:
        raise ServiceError(_("请选择挂点派出所"), code="station")
    _check_day(started_on, "started_on")
    if DepartmentLink.objects.filter(department=department, ended_on__isnull=True).exists():
        raise RuleViolation(_("该部门已有挂点派出所，请先结束原挂点"), code="department")
    try:
        with transaction.atomic():
            link = DepartmentLink.objects.create(
                department=department, station=station, started_on=started_on, note=note[:200], created_by=by
            )
    except IntegrityError as exc:  # a concurrent request linked the department first
        raise RuleViolation(_("该部门已有挂点派出所，请先结束原挂点"), code="department") from exc
    record_change(by, "evaluation.link_department", link)
    return link


@transaction.atomic
def end_link(link: LeaderLink | DepartmentLink, *, ended_on: dt.date, by: Any) -> LeaderLink | DepartmentLink:
    """End a link on `ended_on` (kept as history; it was active up to the day before)."""
    if not may_manage_links(by):
        raise NotAllowed(_("只有考评办和系统管理员可以结束挂点"))
    _check_day(ended_on, "ended_on")
    link = type(link).objects.select_for_update().get(pk=link.pk)
    if link.ended_on is not None:
        raise RuleViolation(_("该挂点已经结束"))
    if ended_on <= link.started_on:
        raise ServiceError(_("结束日期必须晚于开始日期"), code="ended_on")
    before = snapshot(link)
    link.ended_on = ended_on
    link.save(update_fields=["ended_on", "updated_at"])
    record_change(by, "evaluation.end_link", link, before=before)
    return link


# --- inspections ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FollowUpInput:
    action: str
    owner: str


@transaction.atomic
def record_inspection(
    *,
    station: Station,
    inspected_on: dt.date,
    findings: str,
    follow_ups: Iterable[FollowUpInput] = (),
    by: Any,
) -> Inspection:
    """A leader records their inspection of a station they were linked to on that day, with follow-ups."""
    if not may_inspect(by):
        raise NotAllowed(_("只有挂点领导可以登记督导检查"))
    _check_day(inspected_on, "inspected_on")
    if inspected_on > _today():
        raise ServiceError(_("检查日期不能晚于今天"), code="inspected_on")
    if station is None:
        raise ServiceError(_("请选择派出所"), code="station")
    if not LeaderLink.objects.filter(active_q(inspected_on), leader=by, station=station).exists():
        raise ServiceError(_("检查当日您未挂点该派出所"), code="station")
    findings = (findings or "").strip()
    if not findings:
        raise ServiceError(_("请填写检查情况"), code="findings")
    inspection = Inspection.objects.create(
        station=station, inspector=by, inspected_on=inspected_on, findings=findings[:4000]
    )
    record_change(by, "evaluation.record_inspection", inspection)
    for item in follow_ups:
        action, owner = item.action.strip(), item.owner.strip()
        if not action and not owner:
            continue
        if not action or not owner:
            raise ServiceError(_("整改事项和责任人都要填写"), code="follow_ups")
        follow_up = FollowUp.objects.create(inspection=inspection, action=action[:300], owner=owner[:50])
        record_change(by, "evaluation.add_follow_up", follow_up)
    return inspection


@transaction.atomic
def mark_follow_up_done(item: FollowUp, *, done_on: dt.date | None = None, by: Any) -> FollowUp:
    if not may_mark_done(by, item):
        raise NotAllowed(_("您不能确认该整改事项"))
    done_on = done_on or _today()
    _check_day(done_on, "done_on")
    if done_on > _today():
        raise ServiceError(_("完成日期不能晚于今天"), code="done_on")
    item = FollowUp.objects.select_for_update().select_related("inspection").get(pk=item.pk)
    if item.done_on is not None:
        raise RuleViolation(_("该整改事项已完成"))
    if done_on < item.inspection.inspected_on:
        raise ServiceError(_("完成日期不能早于检查日期"), code="done_on")
    before = snapshot(item)
    item.done_on = done_on
    item.done_by = by
    item.save(update_fields=["done_on", "done_by", "updated_at"])
    record_change(by, "evaluation.follow_up_done", item, before=before)
    return item


# --- the weeks table ------------------------------------------------------------------------------------------
OK, MISSING, PENDING, UNLINKED = "ok", "missing", "pending", "unlinked"


@dataclass
class WeekCell:
    period: Period
    state: str  # OK / MISSING / PENDING / UNLINKED
    count: int

    @property
    def flagged(self) -> bool:
        return self.state == MISSING


@dataclass
class WeekRow:
    station: Station
    leaders: list[str]
    cells: list[WeekCell]

    @property
    def flags(self) -> int:
        return sum(c.flagged for c in self.cells)


def _overlaps(link: LeaderLink, period: Period) -> bool:
    return link.started_on <= period.end and (link.ended_on is None or link.ended_on > period.start)


def _active(link: LeaderLink, day: dt.date) -> bool:
    return link.started_on <= day and (link.ended_on is None or link.ended_on > day)


def weeks_table(
    stations: Sequence[Station], today: dt.date, n: int = WEEKS_SHOWN
) -> tuple[list[Period], list[WeekRow]]:
    """Stations × the last n weeks (oldest first): whether a linked leader inspected the station (two queries)."""
    weeks = periods.last(PeriodKind.WEEK, today, n)
    ids = [s.pk for s in stations]
    links: dict[int, list[LeaderLink]] = {}
    for link in LeaderLink.objects.filter(station_id__in=ids, started_on__lte=weeks[-1].end).select_related(
        "leader"
    ):
        if link.ended_on is None or link.ended_on > weeks[0].start:
            links.setdefault(link.station_id, []).append(link)
    done: dict[tuple[int, dt.date], int] = {}
    for station_id, inspector_id, day in Inspection.objects.filter(
        station_id__in=ids, inspected_on__range=(weeks[0].start, weeks[-1].end)
    ).values_list("station_id", "inspector_id", "inspected_on"):
        # Only an inspection by a leader linked to the station on that day counts.
        if any(lk.leader_id == inspector_id and _active(lk, day) for lk in links.get(station_id, ())):
            week = periods.period_of(PeriodKind.WEEK, day).start
            done[(station_id, week)] = done.get((station_id, week), 0) + 1
    rows = []
    for station in stations:
        own = links.get(station.pk, [])
        cells = []
        for week in weeks:
            count = done.get((station.pk, week.start), 0)
            if count:
                state = OK
            elif not any(_overlaps(lk, week) for lk in own):
                state = UNLINKED
            elif week.end >= today:
                state = PENDING
            else:
                state = MISSING
            cells.append(WeekCell(week, state, count))
        current = sorted({str(lk.leader) for lk in own if _active(lk, today)})
        rows.append(WeekRow(station, current, cells))
    return weeks, rows
