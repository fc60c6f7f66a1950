"""Prevention responsibility zones (治安防控责任区), patrol teams and their members (巡防队伍、队员), and the
staffing board — rules, scoped reads and writes.

Rules:
- Every community keeps at least MIN_FULL_TIME_PER_COMMUNITY full-time patrol members: current members
  (`left_on` empty) of kind full-time in an active full-time team. Volunteers and members who left do not
  count. The board flags every community below the minimum.
- A volunteer-kind team (志愿者、物业保安、居委会干部、其他) is led by a community officer: a police `Staff`
  with a current officer post on a grid of that community.
- Full-time members are `Staff` of kind 巡防队员 of the community's station; volunteers are a name, phone,
  skills and availability. A member who leaves keeps the row (history) with `left_on`.
- Zones, teams and members are kept by the director (their station), community officers (their
  communities) and administrators (`access.may_manage`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.masking import mask_phone
from doorstep.org.choices import Position, StaffKind
from doorstep.org.models import Community, Grid, Staff
from doorstep.org.territory import Territory, get_in_territory
from doorstep.patrol import access
from doorstep.patrol.choices import (
    MIN_FULL_TIME_PER_COMMUNITY,
    VOLUNTEER_KINDS,
    MemberKind,
    TeamKind,
)
from doorstep.patrol.models import Member, Team, Zone


# --- rules (pure) --------------------------------------------------------------------------------------------
def is_short(full_time: int) -> bool:
    """Fewer full-time patrol members than the minimum per community (每个社区专职巡防队员不少于4人)."""
    return full_time < MIN_FULL_TIME_PER_COMMUNITY


def needs_officer_leader(kind: str) -> bool:
    return kind in VOLUNTEER_KINDS


# --- counts (used by the dashboard and evaluation) -----------------------------------------------------------
def _current_full_time() -> QuerySet[Member]:
    """Members who count toward the staffing rule: in an active full-time team, not left, and their staff
    record still serving at the team's station (a deactivated or transferred patrol member no longer counts)."""
    return Member.objects.filter(
        team__kind=TeamKind.FULL_TIME,
        team__active=True,
        kind=MemberKind.FULL_TIME,
        left_on__isnull=True,
        staff__active=True,
        staff__station_id=F("team__community__station_id"),
    )


# A member's phone is an encrypted field, which `snapshot` already masks; the cadres' work phones are not.
PHONE_FIELDS = ("street_cadre_phone", "community_cadre_phone")


def _masked(obj: Any) -> dict[str, Any] | None:
    """An audit snapshot with volunteers' and cadres' phone numbers masked (personal data stays out of the log)."""
    data = snapshot(obj)
    if data is None:
        return None
    for name in PHONE_FIELDS:
        if data.get(name):
            data[name] = mask_phone(data[name])
    return data


def full_time_counts(community_ids: Iterable[int]) -> dict[int, int]:
    """Current full-time patrol members (not left, in an active full-time team) per community; 0 when none."""
    ids = list(community_ids)
    counts = dict.fromkeys(ids, 0)
    rows = (
        _current_full_time()
        .filter(team__community_id__in=ids)
        .order_by()
        .values("team__community_id")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["team__community_id"]] = row["n"]
    return counts


def volunteer_counts(community_ids: Iterable[int]) -> dict[int, int]:
    """Current volunteers (not left, in active teams) per community; 0 when none."""
    ids = list(community_ids)
    counts = dict.fromkeys(ids, 0)
    rows = (
        Member.objects.filter(
            team__community_id__in=ids,
            team__active=True,
            kind=MemberKind.VOLUNTEER,
            left_on__isnull=True,
        )
        .order_by()
        .values("team__community_id")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["team__community_id"]] = row["n"]
    return counts


@dataclass(frozen=True)
class BoardRow:
    community: Community
    full_time: int
    volunteers: int

    @property
    def minimum(self) -> int:
        return MIN_FULL_TIME_PER_COMMUNITY

    @property
    def short(self) -> bool:
        return is_short(self.full_time)


def staffing_board(communities: Sequence[Community]) -> list[BoardRow]:
    """Each community's full-time count against the minimum, and its volunteers (two queries)."""
    ids = [c.pk for c in communities]
    full = full_time_counts(ids)
    volunteers = volunteer_counts(ids)
    return [BoardRow(c, full[c.pk], volunteers[c.pk]) for c in communities]


# --- who -----------------------------------------------------------------------------------------------------
def _require_manage(by: Any, community_id: int) -> None:
    if not access.may_manage(by, community_id):
        raise NotAllowed(_("只有所长、本社区民警或系统管理员可以维护巡防队伍和防控责任区"))


# --- reads ---------------------------------------------------------------------------------------------------
def zones_for(user: Any) -> QuerySet[Zone]:
    if not access.may_view(user):
        return Zone.objects.none()
    return Territory.for_user(user).filter(
        Zone.objects.select_related("community", "community__station", "responsible_officer")
    )


def get_zone_for(user: Any, pk: int) -> Zone:
    access.require_view(user)
    access.check_pk(pk)
    return get_in_territory(user, zones_for(user), pk=pk)


def teams_for(user: Any) -> QuerySet[Team]:
    if not access.may_view(user):
        return Team.objects.none()
    return Territory.for_user(user).filter(
        Team.objects.select_related("community", "community__station", "leader")
    )


def get_team_for(user: Any, pk: int) -> Team:
    access.require_view(user)
    access.check_pk(pk)
    return get_in_territory(user, teams_for(user), pk=pk)


def get_member_for(user: Any, pk: int) -> Member:
    access.require_view(user)
    access.check_pk(pk)
    qs = Member.objects.select_related("team", "team__community", "staff")
    return get_in_territory(user, qs, pk=pk)


def community_officers(community_id: int) -> QuerySet[Staff]:
    """Police staff with a current officer post on a grid of the community (社区民警)."""
    return (
        Staff.objects.filter(
            kind=StaffKind.POLICE,
            active=True,
            assignments__ended_on__isnull=True,
            assignments__position=Position.OFFICER,
            assignments__grid__community_id=community_id,
        )
        .distinct()
        .order_by("name", "pk")
    )


def station_police(station_id: int) -> QuerySet[Staff]:
    return Staff.objects.filter(kind=StaffKind.POLICE, active=True, station_id=station_id).order_by(
        "name", "pk"
    )


def patrol_staff(station_id: int) -> QuerySet[Staff]:
    """Full-time patrol members (巡防队员) of a station who could join a full-time team."""
    return Staff.objects.filter(kind=StaffKind.PATROL, active=True, station_id=station_id).order_by(
        "name", "pk"
    )


# --- zones ---------------------------------------------------------------------------------------------------
def save_zone(
    by: Any,
    *,
    community: Community,
    name: str,
    grids: Iterable[Grid],
    police_team: str,
    responsible_officer: Staff,
    street_cadre: str,
    community_cadre: str,
    street_cadre_phone: str = "",
    community_cadre_phone: str = "",
    notes: str = "",
    zone: Zone | None = None,
) -> Zone:
    """Create a zone, or edit one (its community stays); grids of that community, a police officer of the
    station responsible."""
    if zone is not None and zone.community_id != community.pk:
        raise ServiceError(_("责任区所属社区不能更改"), code="community")
    _require_manage(by, community.pk)
    grids = list(grids)
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("请填写责任区名称"), code="name")
    if not grids:
        raise ServiceError(_("请至少选择一个网格"), code="grids")
    if any(g.community_id != community.pk for g in grids):
        raise ServiceError(_("只能选择本社区的网格"), code="grids")
    if (
        responsible_officer.kind != StaffKind.POLICE
        or not responsible_officer.active
        or responsible_officer.station_id != community.station_id
    ):
        raise ServiceError(_("责任民警必须是本所在职民警"), code="responsible_officer")
    if Zone.objects.filter(community=community, name=name).exclude(pk=getattr(zone, "pk", None)).exists():
        raise RuleViolation(_("本社区已有同名的责任区"), code="name")
    with transaction.atomic():
        before = _masked(zone)
        if zone is None:
            zone = Zone(community=community)
        zone.name = name
        zone.police_team = police_team.strip()
        zone.responsible_officer = responsible_officer
        zone.street_cadre = street_cadre.strip()
        zone.street_cadre_phone = street_cadre_phone.strip()
        zone.community_cadre = community_cadre.strip()
        zone.community_cadre_phone = community_cadre_phone.strip()
        zone.notes = notes.strip()
        zone.save()
        zone.grids.set(grids)
        record_change(
            by,
            "patrol.zone_edit" if before else "patrol.zone_create",
            zone,
            before=before,
            after=_masked(zone),
            note=",".join(str(g.pk) for g in grids),
        )
    return zone


# --- teams ---------------------------------------------------------------------------------------------------
def save_team(
    by: Any,
    *,
    community: Community,
    name: str,
    kind: str,
    leader: Staff | None = None,
    active: bool = True,
    team: Team | None = None,
) -> Team:
    """Create or edit a team. A volunteer-kind team must be led by a community officer of its community."""
    if team is not None and team.community_id != community.pk:
        raise ServiceError(_("队伍所属社区不能更改"), code="community")
    _require_manage(by, community.pk)
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("请填写队伍名称"), code="name")
    if kind not in TeamKind.values:
        raise ServiceError(_("请选择队伍类型"), code="kind")
    if needs_officer_leader(kind):
        if leader is None:
            raise ServiceError(_("志愿者等群防群治队伍必须由社区民警带队"), code="leader")
        if not community_officers(community.pk).filter(pk=leader.pk).exists():
            raise ServiceError(
                _("带队民警必须是在本社区网格任职的社区民警：%(name)s 不是") % {"name": leader.name},
                code="leader",
            )
    elif leader is not None and not station_police(community.station_id).filter(pk=leader.pk).exists():
        raise ServiceError(_("带队民警必须是本所在职民警"), code="leader")
    if team is not None and team.kind != kind and team.members.filter(left_on__isnull=True).exists():
        raise RuleViolation(_("队伍还有在队队员，不能更改队伍类型"), code="kind")
    if Team.objects.filter(community=community, name=name).exclude(pk=getattr(team, "pk", None)).exists():
        raise RuleViolation(_("本社区已有同名的队伍"), code="name")
    with transaction.atomic():
        before = snapshot(team)
        if team is None:
            team = Team(community=community)
        team.name = name
        team.kind = kind
        team.leader = leader
        team.active = active
        team.save()
        record_change(by, "patrol.team_edit" if before else "patrol.team_create", team, before=before)
    return team


def _check_day(day: dt.date | None, *, code: str, label: str) -> dt.date:
    if day is None:
        raise ServiceError(_("请填写%(label)s") % {"label": label}, code=code)
    if day > timezone.localdate():
        raise ServiceError(_("%(label)s不能晚于今天") % {"label": label}, code=code)
    return day


def add_member(
    by: Any,
    team: Team,
    *,
    joined_on: dt.date,
    staff: Staff | None = None,
    name: str = "",
    phone: str = "",
    skills: str = "",
    availability: str = "",
) -> Member:
    """Add a member: a full-time team takes 巡防队员 staff of its station; any other team takes volunteers."""
    _require_manage(by, team.community_id)
    if not team.active:
        raise RuleViolation(_("队伍已停用，不能添加队员"), code="team")
    _check_day(joined_on, code="joined_on", label=_("加入日期"))
    if team.kind == TeamKind.FULL_TIME:
        if staff is None:
            raise ServiceError(_("专职巡防队员请从本所巡防队员中选择"), code="staff")
        if not patrol_staff(team.community.station_id).filter(pk=staff.pk).exists():
            raise ServiceError(_("专职巡防队员必须是本所在职的巡防队员"), code="staff")
        if _current_full_time().filter(staff=staff).exists():
            raise RuleViolation(_("%(name)s 已是在队的专职巡防队员") % {"name": staff.name}, code="staff")
        kind = MemberKind.FULL_TIME
        name = staff.name
        phone = staff.phone
    else:
        if staff is not None:
            raise ServiceError(_("志愿者队伍只登记志愿者，不选择在编人员"), code="staff")
        name = (name or "").strip()
        if not name:
            raise ServiceError(_("请填写志愿者姓名"), code="name")
        kind = MemberKind.VOLUNTEER
    with transaction.atomic():
        member = Member(
            team=team,
            kind=kind,
            staff=staff,
            name=name,
            phone=(phone or "").strip(),
            skills=(skills or "").strip(),
            availability=(availability or "").strip(),
            joined_on=joined_on,
        )
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError as exc:  # a concurrent add of the same person
            raise RuleViolation(_("此人已在本队"), code="staff") from exc
        record_change(by, "patrol.member_add", member, after=_masked(member))
    return member


def member_leave(by: Any, member: Member, *, left_on: dt.date) -> Member:
    """The member leaves the team; the row stays as history."""
    team = member.team
    _require_manage(by, team.community_id)
    _check_day(left_on, code="left_on", label=_("退出日期"))
    if left_on < member.joined_on:
        raise ServiceError(_("退出日期不能早于加入日期"), code="left_on")
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        if locked.left_on is not None:
            raise RuleViolation(_("该队员已退出"), code="left_on")
        before = _masked(locked)
        locked.left_on = left_on
        locked.save(update_fields=["left_on", "updated_at"])
        record_change(by, "patrol.member_leave", locked, before=before, after=_masked(locked))
    member.left_on = left_on
    return member


def current_members_q() -> Q:
    return Q(left_on__isnull=True)
