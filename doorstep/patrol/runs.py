"""Patrols run from a phone and the plans they follow: scoped reads and the services that write.

- Start (开始巡逻): officers, auxiliaries, patrol members and the director, in a community of their territory;
  one running patrol per person at a time.
- Track points: only the patrol's leader sends them, while it runs; idempotent by the phone's sequence
  number. Every batch re-cleans the whole track (see `tracks`), so the flags, the line and the distance on
  the row are always current — the map shows a running patrol's track.
- Findings (巡逻发现): recorded by the leader while the patrol runs. A dispute handed over becomes a
  mediation dispute (source 巡逻发现) with the two parties' names; an incident (警情/案件) cannot become a
  desk intake here, because an intake needs the applicant's ID number, which a patrol does not have: it is
  recorded as a finding without an intake, and `incidents_awaiting_desk` lists those for the police room's
  desk to take in and link (Finding.intake).
- Finish (结束巡逻): refused for an empty patrol (under a minute, or no usable track and no finding).
- Void (作废): the leader, or a manager of the community, with a reason.
- Plans (巡逻计划): kept by managers (director, community officers, administrators).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity

from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.geo import LAT_RANGE, LNG_RANGE, GeometryError, check_point, polygon_bounds
from doorstep.core.photos import files_removed_on_rollback, normalise_photo
from doorstep.mediation import access as mediation_access
from doorstep.org.models import Community, Grid
from doorstep.org.territory import Territory, get_in_territory
from doorstep.patrol import access, tracks
from doorstep.patrol.choices import FindingKind, PatrolStatus
from doorstep.patrol.models import Finding, Patrol, Plan, Team, TrackPoint

MAX_BATCH = 500  # points in one request; the page sends every ~10 s, a few dozen at most
MAX_SEQ = 2**31 - 1
FUTURE_SLACK = dt.timedelta(minutes=5)  # a phone clock a little ahead is tolerated
BEFORE_START_SLACK = dt.timedelta(minutes=1)  # the first fix may be stamped just before 开始
MIN_DURATION = dt.timedelta(minutes=1)  # shorter is an empty patrol
MIN_GOOD_POINTS = 2
MAX_PARTICIPANTS = 500
MAX_ACCURACY_VALUE = 100_000.0  # metres; beyond is garbage, not a poor fix


# --- reads ---------------------------------------------------------------------------------------------------
def patrols_for(user: Any) -> QuerySet[Patrol]:
    if not access.may_view(user):
        return Patrol.objects.none()
    qs = Patrol.objects.select_related("community", "grid", "plan", "team", "led_by")
    return Territory.for_user(user).filter(qs)


def get_patrol_for(user: Any, pk: int) -> Patrol:
    """A patrol of the user's territory — or one they led, wherever they have been posted since (a leader
    moved mid-patrol must still be able to finish or void it)."""
    access.require_view(user)
    access.check_pk(pk)
    own = patrols_for(user).model.objects.filter(pk=pk, led_by_id=getattr(user, "pk", None)).first()
    if own is not None:
        return own
    return get_in_territory(user, patrols_for(user), pk=pk)


def running_for(user: Any) -> Patrol | None:
    """The patrol the user is leading now, if any (their own row: not limited to today's territory)."""
    if not getattr(user, "is_authenticated", False) or not access.may_view(user):
        return None
    return (
        Patrol.objects.select_related("community", "grid", "plan", "team", "led_by")
        .filter(led_by=user, status=PatrolStatus.RUNNING)
        .first()
    )


def plans_for(user: Any) -> QuerySet[Plan]:
    if not access.may_view(user):
        return Plan.objects.none()
    qs = Plan.objects.select_related("community", "grid", "team", "created_by")
    return Territory.for_user(user).filter(qs)


def get_plan_for(user: Any, pk: int) -> Plan:
    access.require_view(user)
    access.check_pk(pk)
    return get_in_territory(user, plans_for(user), pk=pk)


def findings_for(user: Any) -> QuerySet[Finding]:
    if not access.may_view(user):
        return Finding.objects.none()
    qs = Finding.objects.select_related("patrol", "patrol__community", "dispute", "by")
    return Territory.for_user(user).filter(qs)


def get_finding_for(user: Any, pk: int) -> Finding:
    access.require_view(user)
    access.check_pk(pk)
    return get_in_territory(user, findings_for(user), pk=pk)


def incidents_awaiting_desk(user: Any) -> QuerySet[Finding]:
    """Incidents found on patrol that no desk intake has taken in yet (the police room picks them up)."""
    return (
        findings_for(user)
        .filter(kind=FindingKind.INCIDENT, intake__isnull=True)
        .exclude(patrol__status=PatrolStatus.VOID)
    )


def patrol_area(patrol: Patrol) -> dict[str, Any] | None:
    """The area the track is checked against: the plan's area or route, else the grid's boundary."""
    plan = patrol.plan
    if plan is not None and (plan.area or plan.route):
        return plan.area or plan.route
    grid = patrol.grid or (plan.grid if plan is not None else None)
    return grid.boundary if grid is not None and grid.boundary else None


# --- patrols -------------------------------------------------------------------------------------------------
def _int_in(value: Any, low: int, high: int, message: str, code: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ServiceError(message, code=code)
    return value


def start(
    *,
    by: Any,
    community: Community,
    grid: Grid | None = None,
    plan: Plan | None = None,
    team: Team | None = None,
    participants: int = 1,
    volunteers: int = 0,
    now: dt.datetime | None = None,
) -> Patrol:
    """开始巡逻: the user leads a new patrol in a community of their territory."""
    if not access.may_run(by, community.pk):
        raise NotAllowed(_("您不能在该社区开展巡逻"))
    if plan is not None:
        if plan.community_id != community.pk:
            raise ServiceError(_("巡逻计划不属于该社区"), code="plan")
        grid = grid or plan.grid
        team = team or plan.team
    if grid is not None and grid.community_id != community.pk:
        raise ServiceError(_("网格不属于该社区"), code="grid")
    if team is not None and team.community_id != community.pk:
        raise ServiceError(_("队伍不属于该社区"), code="team")
    if team is not None and not team.active:
        raise ServiceError(_("该队伍已停用"), code="team")
    participants = _int_in(participants, 1, MAX_PARTICIPANTS, _("参加人数应在1到500之间"), "participants")
    volunteers = _int_in(volunteers, 0, participants, _("志愿者人数不能超过参加人数"), "volunteers")
    now = now or timezone.now()
    with transaction.atomic():
        # One running patrol per person: lock the person's row so two taps of 开始 cannot both pass.
        get_user_model().objects.select_for_update().filter(pk=by.pk).first()
        if Patrol.objects.filter(led_by=by, status=PatrolStatus.RUNNING).exists():
            raise RuleViolation(_("您有一次巡逻尚未结束，请先结束或作废"), code="running")
        patrol = Patrol.objects.create(
            community=community,
            grid=grid,
            plan=plan,
            team=team,
            led_by=by,
            participants=participants,
            volunteers=volunteers,
            status=PatrolStatus.RUNNING,
            started_at=now,
        )
        record_change(by, "patrol.start", patrol)
    return patrol


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _timestamp(value: Any) -> dt.datetime | None:
    """An ISO 8601 time with a zone, or milliseconds since the epoch (a browser's Position.timestamp)."""
    if isinstance(value, str) and not value.isascii():
        return None
    if isinstance(value, str):
        try:
            at = parse_datetime(value.strip())
        except ValueError:
            return None
        if at is None:
            return None
        return at if timezone.is_aware(at) else timezone.make_aware(at)
    ms = _number(value)
    if ms is None or not 0 <= ms < 4e12:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def parse_points(patrol: Patrol, points: Any, now: dt.datetime) -> list[tracks.Fix]:
    """Validate a batch: a list of {seq, at, lng, lat, accuracy?}; refused whole with the first bad point."""
    if not isinstance(points, list):
        raise ServiceError(_("points 应为定位点列表"), code="points")
    if len(points) > MAX_BATCH:
        raise ServiceError(_("一次最多上传%(n)d个定位点") % {"n": MAX_BATCH}, code="points")
    earliest = patrol.started_at - BEFORE_START_SLACK
    latest = now + FUTURE_SLACK
    fixes: list[tracks.Fix] = []
    for index, raw in enumerate(points, start=1):

        def bad(reason: str, index: int = index) -> ServiceError:
            return ServiceError(
                _("第%(n)d个定位点：%(reason)s") % {"n": index, "reason": reason}, code="points"
            )

        if not isinstance(raw, Mapping):
            raise bad(_("格式错误"))
        seq = raw.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
            raise bad(_("序号应为非负整数"))
        lng, lat = _number(raw.get("lng")), _number(raw.get("lat"))
        if lng is None or lat is None or not (-180 <= lng <= 180 and -90 <= lat <= 90):
            raise bad(_("经纬度无效"))
        accuracy = raw.get("accuracy")
        if accuracy is not None:
            accuracy = _number(accuracy)
            if accuracy is None or not 0 <= accuracy <= MAX_ACCURACY_VALUE:
                raise bad(_("精度无效"))
        at = _timestamp(raw.get("at"))
        if at is None:
            raise bad(_("定位时间无效"))
        if at > latest:
            raise bad(_("定位时间晚于当前时间，请检查手机时间"))
        if at < earliest:
            raise bad(_("定位时间早于巡逻开始"))
        fixes.append(tracks.Fix(seq, at, lng, lat, accuracy))
    return fixes


def _require_leader(patrol: Patrol, by: Any) -> None:
    # The leader acts on their own patrol even if posted elsewhere since; nobody else does.
    if by is None or patrol.led_by_id != getattr(by, "pk", None):
        if not Territory.for_user(by).contains(patrol):
            raise NotAllowed(_("您不能操作该巡逻"))
        raise NotAllowed(_("只有本次巡逻的带队人可以操作"))


def _figures(data: dict[str, Any] | None) -> dict[str, Any]:
    """A patrol's audit snapshot without its track: the figures say what changed, and a person's whole GPS
    trace does not belong in the append-only log (the track stays on the patrol, scoped)."""
    return {k: v for k, v in (data or {}).items() if k != "track"}


def _require_running(patrol: Patrol) -> None:
    if patrol.status != PatrolStatus.RUNNING:
        raise RuleViolation(_("该巡逻已结束"), code="status")


def _recompute(patrol: Patrol) -> tracks.Cleaned:
    """Re-clean all the stored points; update changed flags and the figures on the row (not saved here)."""
    stored = list(
        TrackPoint.objects.filter(patrol=patrol).only("id", "seq", "at", "lng", "lat", "accuracy", "flag")
    )
    cleaned = tracks.clean(stored, area=patrol_area(patrol))
    changed = []
    for point in stored:
        flag = cleaned.flags.get(point.seq, tracks.OK)
        if point.flag != flag:
            point.flag = flag
            changed.append(point)
    if changed:
        TrackPoint.objects.bulk_update(changed, ["flag"], batch_size=500)
    patrol.track = cleaned.track
    patrol.distance_m = round(cleaned.distance_m)
    patrol.points = len(stored)
    patrol.dropped = cleaned.dropped
    patrol.gaps = min(cleaned.gaps, 32767)
    return cleaned


FIGURES = ["track", "distance_m", "points", "dropped", "gaps", "updated_at"]


def add_points(
    patrol: Patrol, points: list[dict[str, Any]], *, by: Any, now: dt.datetime | None = None
) -> int:
    """Store the new fixes of a batch (a sequence number already stored is ignored), re-clean the track;
    returns how many were new."""
    _require_leader(patrol, by)
    now = now or timezone.now()
    fixes = parse_points(patrol, points, now)
    with transaction.atomic():
        # The row lock serialises two batches of one patrol (a retry racing its original).
        locked = Patrol.objects.select_for_update().get(pk=patrol.pk)
        _require_running(locked)
        known = set(
            TrackPoint.objects.filter(patrol=locked, seq__in={f.seq for f in fixes}).values_list(
                "seq", flat=True
            )
        )
        new: dict[int, tracks.Fix] = {}
        for fix in fixes:
            if fix.seq not in known and fix.seq not in new:
                new[fix.seq] = fix
        if not new:
            return 0
        TrackPoint.objects.bulk_create(
            [
                TrackPoint(patrol=locked, seq=f.seq, at=f.at, lng=f.lng, lat=f.lat, accuracy=f.accuracy)
                for f in new.values()
            ]
        )
        _recompute(locked)
        locked.save(update_fields=FIGURES)
        record_change(
            by,
            "patrol.points",
            locked,
            after={"added": len(new), "points": locked.points, "distance_m": locked.distance_m},
        )
    for name in ("track", "distance_m", "points", "dropped", "gaps", "updated_at"):
        setattr(patrol, name, getattr(locked, name))
    return len(new)


def _clean_parties(parties: Any) -> list[Any]:
    from doorstep.mediation.services import PartyData

    names = [str(p or "").strip() for p in (parties or [])]
    names = [n for n in names if n]
    if len(names) < 2:
        raise ServiceError(_("移交调解须填写纠纷双方当事人姓名"), code="parties")
    return [
        PartyData(name=name[:100], side="A" if i == 0 else "B" if i == 1 else "C")
        for i, name in enumerate(names)
    ]


def _default_dispute_type() -> Any:
    from doorstep.mediation.models import DisputeType

    active = DisputeType.objects.filter(active=True)
    kind = active.filter(name="其他纠纷").first() or active.order_by("-position").first()
    if kind is None:
        raise ServiceError(_("没有可用的纠纷类型，请联系管理员"), code="dispute_type")
    return kind


def add_finding(
    patrol: Patrol,
    *,
    kind: str,
    note: str,
    by: Any,
    lng: float | None = None,
    lat: float | None = None,
    photo: Any = None,
    hand_over: bool = False,
    parties: list[str] | None = None,
    dispute_type: Any = None,
    now: dt.datetime | None = None,
) -> Finding:
    """记录巡逻发现, optionally handing a dispute over to mediation (see the module's note on incidents)."""
    _require_leader(patrol, by)
    if kind not in FindingKind.values:
        raise ServiceError(_("发现类别无效"), code="kind")
    note = (note or "").strip()
    if not note:
        raise ServiceError(_("请填写发现的情况"), code="note")
    if len(note) > 500:
        raise ServiceError(_("情况最多500字"), code="note")
    if (lng is None) != (lat is None):
        raise ServiceError(_("经纬度须同时填写"), code="lng")
    if lng is not None and lat is not None:
        if not (math.isfinite(lng) and math.isfinite(lat)):
            raise ServiceError(_("坐标超出范围（应为 WGS-84 经纬度）"), code="lng")
        try:
            check_point(lng, lat)
        except GeometryError as exc:
            raise ServiceError(str(exc), code="lng") from None
    if hand_over and kind not in (FindingKind.DISPUTE, FindingKind.INCIDENT):
        raise ServiceError(_("只有矛盾纠纷和警情/案件可以移交"), code="hand_over")
    to_mediation = hand_over and kind == FindingKind.DISPUTE
    party_data: list[Any] = []
    if to_mediation:
        if not mediation_access.may_take(by, patrol.community.station_id):
            raise NotAllowed(
                _("您的角色不能受理矛盾纠纷：请只记录发现，由社区民警移交调解"), code="hand_over"
            )
        party_data = _clean_parties(parties)
    content = normalise_photo(photo) if photo else None
    now = now or timezone.now()
    with files_removed_on_rollback() as store, transaction.atomic():
        locked = Patrol.objects.select_for_update().get(pk=patrol.pk)
        _require_running(locked)
        finding = Finding(patrol=locked, kind=kind, note=note, at=now, lng=lng, lat=lat, by=by)
        if content is not None:
            store(finding.photo, content)
        if to_mediation:
            from doorstep.mediation.choices import Source
            from doorstep.mediation.services import create_dispute

            finding.dispute = create_dispute(
                community=locked.community,
                dispute_type=dispute_type or _default_dispute_type(),
                place=_place(locked),
                facts=note,
                parties=party_data,
                by=by,
                source=Source.PATROL,
                grid=locked.grid,
                occurred_at=now,
            )
        finding.save()
        if hand_over and kind == FindingKind.INCIDENT:
            handed = _("待服务台受理")
        elif to_mediation:
            handed = _("已转调解")
        else:
            handed = ""
        record_change(by, "patrol.finding", finding, note=handed)
    return finding


def _place(patrol: Patrol) -> str:
    where = patrol.grid.name if patrol.grid_id else patrol.community.name
    return _("%(where)s（巡逻发现）") % {"where": where}


def finish(patrol: Patrol, *, by: Any, summary: str = "", now: dt.datetime | None = None) -> Patrol:
    """结束巡逻: the figures are final; an empty patrol is refused."""
    _require_leader(patrol, by)
    summary = (summary or "").strip()
    if len(summary) > 500:
        raise ServiceError(_("巡逻情况最多500字"), code="summary")
    now = now or timezone.now()
    with transaction.atomic():
        locked = Patrol.objects.select_for_update().get(pk=patrol.pk)
        _require_running(locked)
        before = snapshot(locked)
        cleaned = _recompute(locked)
        has_finding = locked.findings.exists()
        if now - locked.started_at < MIN_DURATION:
            raise RuleViolation(_("巡逻不足1分钟，空巡逻不能记为完成；如是误操作，请作废"), code="empty")
        if cleaned.good < MIN_GOOD_POINTS and not has_finding:
            raise RuleViolation(
                _("没有有效轨迹，也没有巡逻发现：空巡逻不能记为完成；如是误操作，请作废"), code="empty"
            )
        locked.status = PatrolStatus.DONE
        locked.ended_at = now
        locked.summary = summary
        locked.save(update_fields=[*FIGURES, "status", "ended_at", "summary"])
        record_change(by, "patrol.finish", locked, before=_figures(before), after=_figures(snapshot(locked)))
    return locked


def may_void(user: Any, patrol: Patrol) -> bool:
    if patrol.status == PatrolStatus.VOID:
        return False
    if patrol.led_by_id == getattr(user, "pk", None):
        return True  # their own, wherever they are posted now
    return Territory.for_user(user).contains(patrol) and access.may_manage(user, patrol.community_id)


def void(patrol: Patrol, by: Any, reason: str) -> Patrol:
    """作废: a patrol started by mistake or never finished; the leader or a manager of the community."""
    if not may_void(by, patrol):
        if patrol.status == PatrolStatus.VOID:
            raise RuleViolation(_("该巡逻已作废"), code="status")
        raise NotAllowed(_("只有带队人或本社区的管理人员可以作废巡逻"))
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("请填写作废原因"), code="reason")
    if len(reason) > 300:
        raise ServiceError(_("作废原因最多300字"), code="reason")
    with transaction.atomic():
        locked = Patrol.objects.select_for_update().get(pk=patrol.pk)
        if locked.status == PatrolStatus.VOID:
            raise RuleViolation(_("该巡逻已作废"), code="status")
        before = snapshot(locked)
        locked.status = PatrolStatus.VOID
        locked.ended_at = locked.ended_at or timezone.now()
        locked.save(update_fields=["status", "ended_at", "updated_at"])
        record_change(
            by, "patrol.void", locked, before=_figures(before), after=_figures(snapshot(locked)), note=reason
        )
    return locked


# --- plans ---------------------------------------------------------------------------------------------------
def _unwrap(value: Any) -> Any:
    if isinstance(value, Mapping) and value.get("type") == "Feature":
        return value.get("geometry")
    if isinstance(value, Mapping) and value.get("type") == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list) or len(features) != 1 or not isinstance(features[0], Mapping):
            return None
        return features[0].get("geometry")
    return value


def clean_route(value: Any) -> dict[str, Any] | None:
    """A GeoJSON LineString (or MultiLineString) in WGS-84 inside China, or ServiceError."""
    if value in (None, "", {}):
        return None
    value = _unwrap(value)
    if not isinstance(value, Mapping) or value.get("type") not in ("LineString", "MultiLineString"):
        raise ServiceError(_("路线必须是 GeoJSON LineString"), code="route")
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several types for malformed input
        raise ServiceError(_("路线格式错误：%(error)s") % {"error": exc}, code="route") from None
    if geom.is_empty or not geom.is_valid or geom.length == 0:
        raise ServiceError(_("路线无效：%(reason)s") % {"reason": explain_validity(geom)}, code="route")
    min_lng, min_lat, max_lng, max_lat = geom.bounds
    if not (
        LNG_RANGE[0] <= min_lng
        and max_lng <= LNG_RANGE[1]
        and LAT_RANGE[0] <= min_lat
        and max_lat <= LAT_RANGE[1]
    ):
        raise ServiceError(_("路线坐标超出范围（应为 WGS-84 经纬度，经度在前）"), code="route")
    return _plain(geom)


def clean_area(value: Any) -> dict[str, Any] | None:
    """A GeoJSON Polygon (or MultiPolygon) in WGS-84 inside China, or ServiceError."""
    if value in (None, "", {}):
        return None
    value = _unwrap(value)
    try:
        polygon_bounds(value)
    except GeometryError as exc:
        raise ServiceError(str(exc).replace("边界", "区域"), code="area") from None
    return _plain(shape(value))


def _plain(geom: Any) -> dict[str, Any]:
    """The geometry as plain GeoJSON (lists, not tuples), as stored in a JSONField."""
    return json.loads(json.dumps(mapping(geom)))


PLAN_FIELDS = ("title", "community", "grid", "team", "route", "area", "starts_at", "ends_at", "notes")


def _validate_plan(by: Any, data: dict[str, Any]) -> dict[str, Any]:
    community = data["community"]
    if community is None or not access.may_manage(by, community.pk):
        raise NotAllowed(_("您不能为该社区制定巡逻计划"))
    title = (data.get("title") or "").strip()
    if not title:
        raise ServiceError(_("请填写计划名称"), code="title")
    if len(title) > 80:
        raise ServiceError(_("计划名称最多80字"), code="title")
    grid, team = data.get("grid"), data.get("team")
    if grid is not None and grid.community_id != community.pk:
        raise ServiceError(_("网格不属于该社区"), code="grid")
    if team is not None and team.community_id != community.pk:
        raise ServiceError(_("队伍不属于该社区"), code="team")
    starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
    if starts_at is None or ends_at is None:
        raise ServiceError(_("请填写计划开始和结束时间"), code="starts_at")
    if ends_at <= starts_at:
        raise ServiceError(_("计划结束时间须晚于开始时间"), code="ends_at")
    notes = (data.get("notes") or "").strip()
    if len(notes) > 300:
        raise ServiceError(_("巡逻要求最多300字"), code="notes")
    return {
        "title": title,
        "community": community,
        "grid": grid,
        "team": team,
        "route": clean_route(data.get("route")),
        "area": clean_area(data.get("area")),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "notes": notes,
    }


def create_plan(
    *,
    by: Any,
    title: str,
    community: Community,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    grid: Grid | None = None,
    team: Team | None = None,
    route: Any = None,
    area: Any = None,
    notes: str = "",
) -> Plan:
    """制定巡逻计划."""
    values = _validate_plan(by, dict(locals()))
    with transaction.atomic():
        plan = Plan.objects.create(created_by=by, **values)
        record_change(by, "patrol.plan_create", plan)
    return plan


def update_plan(plan: Plan, *, by: Any, **changes: Any) -> Plan:
    """修改巡逻计划: the fields given change; a manager of both the old and the new community."""
    if not access.may_manage(by, plan.community_id) or not Territory.for_user(by).contains(plan):
        raise NotAllowed(_("您不能修改该巡逻计划"))
    unknown = set(changes) - set(PLAN_FIELDS)
    if unknown:
        raise TypeError(f"unknown plan fields: {sorted(unknown)}")
    data = {name: getattr(plan, name) for name in PLAN_FIELDS} | changes
    values = _validate_plan(by, data)
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        before = snapshot(locked)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save()
        record_change(by, "patrol.plan_update", locked, before=before, after=snapshot(locked))
    return locked


def link_intake(finding: Finding, intake: Any, *, by: Any) -> Finding:
    """警情转服务台: the police room's desk has taken in an incident found on patrol; the finding points at the
    desk item from now on (and leaves the desk's waiting list). Only an incident not taken in yet, by the
    same community's desk."""
    with transaction.atomic():
        finding = Finding.objects.select_for_update().select_related("patrol").get(pk=finding.pk)
        if finding.kind != FindingKind.INCIDENT:
            raise ServiceError(_("只有警情/案件类的巡逻发现可以转服务台受理"), code="finding")
        if finding.intake_id is not None:
            raise RuleViolation(_("该巡逻发现已由服务台受理"), code="finding")
        if intake.room.community_id != finding.patrol.community_id:
            raise ServiceError(_("该巡逻发现不在本警务室所在社区"), code="finding")
        before = snapshot(finding)
        finding.intake = intake
        finding.save(update_fields=["intake", "updated_at"])
        record_change(by, "patrol.finding_to_desk", finding, before=before)
    return finding
