"""One handler per kind of queued record (ADR 0024): it reads the unsealed record (the formats below are the
contract with `static/doorstep/mobile/`) and applies it through the owning app's service.

A handler returns `Applied` (what was saved, for the phone's receipt), raises `Conflict` for a situation the
officer must decide on the phone (the household left their grid, the patrol was ended on a desk computer,
the alarm went to someone else, a clock-in is already open), or lets a `ServiceError` through — a refusal
that no retry can fix (a photo that is not an image, a time out of bounds, outside the geofence).

Device time: each record carries the phone's time of the act. It is accepted within bounds — not more than
5 minutes in the future, not older than the kind allows (`MAX_AGE`) — and passed to the service, so a visit
recorded offline at 14:00 and sent at 18:00 is a visit at 14:00.

Record formats (JSON inside the seal):
- visit: {household: int, findings: str, visited_at: ISO, photo: "data:image/jpeg;base64,…" | null}
- patrol_start: {community: int, grid, team, plan: int | null, participants: int, volunteers: int,
  started_at: ISO}
- patrol_points: {patrol: ref, points: [{seq, at, lng, lat, accuracy}]}
- patrol_finding: {patrol: ref, kind, note, lng, lat, photo, hand_over, party_a, party_b, at: ISO}
  (the field names of the run page's finding form)
- patrol_finish: {patrol: ref, summary: str, finished_at: ISO}
- clock_in: {room: int, lng, lat, accuracy, at: ISO}; clock_out: {lng, lat, accuracy, at: ISO}
- alarm_receive / alarm_arrive: {alarm: int, lng, lat, accuracy, at: ISO}
A patrol `ref` is the client id (a UUID string) of the patrol_start record of the same user, or the patrol's
server id. A patrol_finish on a patrol that is no longer running (ended or voided elsewhere) is a conflict
with the single option to discard it: the patrol's end on the server stands, and the phone's summary is not
dropped without the officer seeing it. Points or a finding for such a patrol offer `new_patrol`: a new patrol
like the ended one, started at the record's first time; later records referring to the same start follow it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.photos import MAX_PHOTO_BYTES, normalise_photo
from doorstep.mobile.models import Device, ItemKind, ItemStatus, SyncItem

FUTURE_SLACK = dt.timedelta(minutes=5)
MAX_AGE = {
    ItemKind.VISIT: dt.timedelta(days=7),
    ItemKind.PATROL_START: dt.timedelta(hours=24),
    ItemKind.PATROL_FINDING: dt.timedelta(hours=24),
    ItemKind.PATROL_FINISH: dt.timedelta(hours=24),
    ItemKind.CLOCK_IN: dt.timedelta(hours=12),
    ItemKind.CLOCK_OUT: dt.timedelta(hours=12),
}
MAX_PK = 2**63 - 1
MAX_FINDINGS = 2000


@dataclass
class Option:
    value: str
    label: str

    def as_json(self) -> dict[str, str]:
        return {"value": self.value, "label": self.label}


def discard() -> Option:
    return Option("discard", _("放弃这条记录"))


def retry() -> Option:
    return Option("retry", _("重试"))


class Conflict(Exception):
    """A situation the officer must decide on the phone: the record is kept (sealed) with these options."""

    def __init__(self, detail: str, options: list[Option] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.options = options if options is not None else [retry(), discard()]


@dataclass
class Applied:
    """What a record was saved as: the phone shows `label` (no ID numbers or phones) and links to `url`."""

    obj: Any
    label: str
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Kept in the receipt's stored answer, not shown to the phone (e.g. which patrol a new_patrol continues).
    receipt: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    user: Any
    device: Device
    item: SyncItem
    option: str | None
    now: dt.datetime
    # Every phone time the record applies (a visit's time, a clock-in's, a patrol's start): the audit note
    # says "offline record" by the earliest of them, not by the envelope's time, which nothing else uses.
    times: list[dt.datetime] = field(default_factory=list)


# --- reading a record ------------------------------------------------------------------------------------------
def _bad(name: str) -> ServiceError:
    return ServiceError(_("记录格式错误（%(field)s），请重新录入") % {"field": name}, code="record")


def _int(record: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = record.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PK:
        raise _bad(name)
    return value


def _count(record: dict[str, Any], name: str, default: int) -> int:
    value = record.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
        raise _bad(name)
    return value


def _text(record: dict[str, Any], name: str, *, max_length: int) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(name)
    if "\x00" in value:
        raise ServiceError(_("请求中含有不允许的空字符"), code="record")
    if len(value) > max_length:
        raise ServiceError(_("%(field)s最多%(n)d字") % {"field": name, "n": max_length}, code="record")
    return value


def _number(record: dict[str, Any], name: str) -> float | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(name)
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a float's range (JSON allows it)
        raise _bad(name) from None
    if not math.isfinite(number):
        raise _bad(name)
    return number


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 time with its offset, or None."""
    if not isinstance(value, str) or not value.isascii() or len(value) > 40:
        return None
    try:
        at = parse_datetime(value.strip())
    except (ValueError, OverflowError):
        return None
    if at is None or not timezone.is_aware(at):
        return None
    if not 2000 <= at.year <= 2999:  # year 1 or 9999 with an offset overflows once converted to UTC
        return None
    return at


def _time(ctx: Context, record: dict[str, Any], name: str, *, required: bool = True) -> dt.datetime | None:
    value = record.get(name)
    if value is None and not required:
        return None
    at = parse_time(value)
    if at is None:
        raise _bad(name)
    if at > ctx.now + FUTURE_SLACK:
        raise ServiceError(_("记录时间晚于当前时间，请检查手机时间"), code="time")
    ctx.times.append(at)
    max_age = MAX_AGE.get(ItemKind(ctx.item.kind))
    if max_age is not None and at < ctx.now - max_age:
        hours = int(max_age.total_seconds() // 3600)
        limit = _("%(n)d天") % {"n": hours // 24} if hours >= 48 else _("%(n)d小时") % {"n": hours}
        raise ServiceError(
            _("该记录是%(limit)s以前录入的，已超过补录期限，不能再保存") % {"limit": limit}, code="time"
        )
    return at


def _photo(value: Any) -> ContentFile | None:
    """A photo taken in the workspace: a data URL of a JPEG (or another image), validated and re-encoded."""
    if value in (None, ""):
        return None
    invalid = ServiceError(_("上传的文件不是有效的图片"), code="photo")
    if not isinstance(value, str) or not value.startswith("data:image/") or ";base64," not in value[:40]:
        raise invalid
    payload = value.split(",", 1)[1]
    if len(payload) > (MAX_PHOTO_BYTES * 4) // 3 + 8:
        raise ServiceError(_("照片不能超过%(mb)sMB") % {"mb": MAX_PHOTO_BYTES // (1024 * 1024)}, code="photo")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid from exc
    return normalise_photo(ContentFile(data, name="photo.jpg"))


def _local(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%m-%d %H:%M")


# --- visits ----------------------------------------------------------------------------------------------------
def visit(ctx: Context, record: dict[str, Any]) -> Applied:
    from doorstep.org.territory import get_in_territory
    from doorstep.registry import selectors
    from doorstep.registry.services import record_visit

    pk = _int(record, "household")
    visited_at = _time(ctx, record, "visited_at")
    findings = _text(record, "findings", max_length=MAX_FINDINGS)
    photo = _photo(record.get("photo"))
    try:
        household = get_in_territory(ctx.user, selectors.households_for(ctx.user), pk=pk)
    except Http404:
        raise Conflict(
            _("该户已不在您的网格（或您已无权登记），这次走访无法保存。如已调整网格，可重试；否则请放弃"),
            [discard(), retry()],
        ) from None
    saved = record_visit(household, findings=findings, visited_at=visited_at, photo=photo, by=ctx.user)
    return Applied(
        saved,
        _("入户走访 %(at)s") % {"at": _local(saved.visited_at)},
        reverse("registry:household_detail", args=[household.pk]),
    )


# --- patrols ---------------------------------------------------------------------------------------------------
def _patrol_applied(patrol: Any, label: str) -> Applied:
    return Applied(patrol, label, reverse("patrol:run_detail", args=[patrol.pk]))


class Ended(Conflict):
    """The patrol a record refers to is no longer running (ended or voided elsewhere)."""

    def __init__(self, detail: str, options: list[Option], patrol: Any, start_id: str | None) -> None:
        super().__init__(detail, options)
        self.patrol, self.start_id = patrol, start_id


def new_patrol() -> Option:
    return Option("new_patrol", _("另起一次巡逻保存"))


def _ended_options(ctx: Context) -> list[Option]:
    if ctx.item.kind == ItemKind.PATROL_FINISH:
        return [discard()]
    return [discard(), new_patrol(), retry()]


def _get_patrol(ctx: Context, record: dict[str, Any]) -> tuple[Any, str | None]:
    """The running patrol a record refers to (by its start record's client id or by its server id), and the
    start's client id. A patrol the officer continued with `new_patrol` is followed to its successor."""
    from doorstep.patrol import runs
    from doorstep.patrol.choices import PatrolStatus

    ref = record.get("patrol")
    start_id = None
    if isinstance(ref, str):
        try:
            client_id = uuid.UUID(ref)
        except ValueError:
            raise _bad("patrol") from None
        start = SyncItem.objects.filter(
            user=ctx.user, client_id=client_id, kind=ItemKind.PATROL_START
        ).first()
        if start is None or start.status != ItemStatus.APPLIED or start.object_id is None:
            raise Conflict(
                _("所属巡逻尚未保存（“开始巡逻”还未送达或有冲突），请先处理它，再重试这条记录"),
                [retry(), discard()],
            )
        start_id = str(client_id)
        successor = (
            SyncItem.objects.filter(user=ctx.user, status=ItemStatus.APPLIED, answer__continues=start_id)
            .order_by("-pk")
            .first()
        )
        pk = successor.answer.get("patrol") if successor is not None else start.object_id
    elif isinstance(ref, int) and not isinstance(ref, bool) and 1 <= ref <= MAX_PK:
        pk = ref
    else:
        raise _bad("patrol")
    try:
        patrol = runs.get_patrol_for(ctx.user, pk)
    except Http404:
        raise ServiceError(_("该巡逻不存在或不在您的辖区"), code="patrol") from None
    if patrol.status == PatrolStatus.DONE:
        raise Ended(_("该巡逻已在其他终端结束"), _ended_options(ctx), patrol, start_id)
    if patrol.status == PatrolStatus.VOID:
        raise Ended(_("该巡逻已被作废"), _ended_options(ctx), patrol, start_id)
    return patrol, start_id


def _patrol_for_record(
    ctx: Context, record: dict[str, Any], first_at: dt.datetime | None
) -> tuple[Any, dict]:
    """`_get_patrol`, or — when the officer chose `new_patrol` for a record whose patrol ended elsewhere — a new
    patrol like the ended one (community, grid, plan, team, people), started at the record's first time. Later
    records referring to the same start follow it (the receipt keeps `continues`)."""
    from doorstep.patrol import runs

    try:
        patrol, _start_id = _get_patrol(ctx, record)
        return patrol, {}
    except Ended as ended:
        if ctx.option != "new_patrol" or ctx.item.kind == ItemKind.PATROL_FINISH:
            raise
        old, start_id = ended.patrol, ended.start_id
    at = first_at or ctx.now
    if at > ctx.now + FUTURE_SLACK or at < ctx.now - MAX_AGE[ItemKind.PATROL_START]:
        raise ServiceError(_("记录时间超出补录期限，不能另起巡逻"), code="time")
    try:
        patrol = runs.start(
            by=ctx.user,
            community=old.community,
            grid=old.grid,
            plan=old.plan,
            team=old.team if old.team is None or old.team.active else None,
            participants=old.participants,
            volunteers=old.volunteers,
            now=at,
        )
    except RuleViolation as exc:
        if exc.code == "running":
            raise Conflict(
                _("您有一次巡逻尚未结束，不能另起巡逻：请先结束或作废它，再选择"),
                [discard(), new_patrol(), retry()],
            ) from exc
        raise
    receipt = {"patrol": patrol.pk, "continues": start_id} if start_id else {"patrol": patrol.pk}
    return patrol, receipt


def _status_conflict(ctx: Context, exc: RuleViolation) -> None:
    """A patrol that ended between our check and the service's lock is the same conflict."""
    if exc.code == "status":
        raise Conflict(str(exc), _ended_options(ctx)) from exc


def patrol_start(ctx: Context, record: dict[str, Any]) -> Applied:
    from doorstep.org.models import Community, Grid
    from doorstep.patrol import runs
    from doorstep.patrol.models import Team

    community = Community.objects.filter(pk=_int(record, "community")).first()
    if community is None:
        raise ServiceError(_("社区不存在"), code="community")
    grid_pk, team_pk, plan_pk = (
        _int(record, "grid", required=False),
        _int(record, "team", required=False),
        _int(record, "plan", required=False),
    )
    grid = Grid.objects.filter(pk=grid_pk).first() if grid_pk else None
    if grid_pk and grid is None:
        raise ServiceError(_("网格不存在"), code="grid")
    team = Team.objects.filter(pk=team_pk).first() if team_pk else None
    if team_pk and team is None:
        raise ServiceError(_("队伍不存在"), code="team")
    plan = None
    if plan_pk:
        try:
            plan = runs.get_plan_for(ctx.user, plan_pk)
        except Http404:
            raise ServiceError(_("巡逻计划不存在或不在您的辖区"), code="plan") from None
    started_at = _time(ctx, record, "started_at")
    try:
        patrol = runs.start(
            by=ctx.user,
            community=community,
            grid=grid,
            plan=plan,
            team=team,
            participants=_count(record, "participants", 1),
            volunteers=_count(record, "volunteers", 0),
            now=started_at,
        )
    except RuleViolation as exc:
        if exc.code == "running":
            raise Conflict(
                _("您有一次巡逻尚未结束：请先结束或作废它，再重试；或放弃这条记录"), [retry(), discard()]
            ) from exc
        raise
    return _patrol_applied(patrol, _("开始巡逻 %(at)s") % {"at": _local(patrol.started_at)})


def patrol_points(ctx: Context, record: dict[str, Any]) -> Applied:
    from doorstep.patrol import runs

    points = record.get("points")
    if not isinstance(points, list):
        raise _bad("points")
    times = [parse_time(p.get("at")) for p in points if isinstance(p, dict)]
    patrol, receipt = _patrol_for_record(ctx, record, min((t for t in times if t), default=None))
    try:
        added = runs.add_points(patrol, points, by=ctx.user)
    except RuleViolation as exc:
        _status_conflict(ctx, exc)
        raise
    return Applied(
        patrol,
        _("巡逻轨迹 %(n)d 个点") % {"n": added},
        reverse("patrol:run_detail", args=[patrol.pk]),
        {"added": added},
        receipt,
    )


def patrol_finding(ctx: Context, record: dict[str, Any]) -> Applied:
    from doorstep.patrol import runs

    kind = _text(record, "kind", max_length=20)
    note = _text(record, "note", max_length=500)
    at = _time(ctx, record, "at", required=False)
    patrol, receipt = _patrol_for_record(ctx, record, at)
    if at is not None and at < patrol.started_at:
        raise ServiceError(_("发现时间早于巡逻开始时间，请检查手机时间"), code="time")
    hand_over = record.get("hand_over") or False
    if not isinstance(hand_over, bool):
        raise _bad("hand_over")
    parties = [_text(record, "party_a", max_length=100), _text(record, "party_b", max_length=100)]
    photo = _photo(record.get("photo"))
    try:
        finding = runs.add_finding(
            patrol,
            kind=kind,
            note=note,
            by=ctx.user,
            lng=_number(record, "lng"),
            lat=_number(record, "lat"),
            photo=photo,
            hand_over=hand_over,
            parties=parties,
            now=at,
        )
    except RuleViolation as exc:
        _status_conflict(ctx, exc)
        raise
    return Applied(
        finding,
        _("巡逻发现 %(at)s") % {"at": _local(finding.at)},
        reverse("patrol:run_detail", args=[patrol.pk]),
        receipt=receipt,
    )


def patrol_finish(ctx: Context, record: dict[str, Any]) -> Applied:
    from doorstep.patrol import runs

    patrol, _start_id = _get_patrol(ctx, record)
    summary = _text(record, "summary", max_length=500)
    finished_at = _time(ctx, record, "finished_at")
    try:
        patrol = runs.finish(patrol, by=ctx.user, summary=summary, now=finished_at)
    except RuleViolation as exc:
        _status_conflict(ctx, exc)
        raise
    return _patrol_applied(patrol, _("结束巡逻 %(at)s") % {"at": _local(patrol.ended_at)})


# --- duty ------------------------------------------------------------------------------------------------------
def _staff(ctx: Context) -> Any:
    staff = getattr(ctx.user, "staff", None)
    if staff is None:
        raise NotAllowed(_("您的账号没有关联警务人员，不能签到签退"))
    return staff


def clock_in(ctx: Context, record: dict[str, Any]) -> Applied:
    from doorstep.duty import services
    from doorstep.org.models import PoliceRoom

    staff = _staff(ctx)
    room = PoliceRoom.objects.select_related("community").filter(pk=_int(record, "room")).first()
    if room is None:
        raise ServiceError(_("警务室不存在"), code="room")
    at = _time(ctx, record, "at")
    try:
        attendance = services.clock_in(
            staff=staff,
            room=room,
            lng=record.get("lng"),
            lat=record.get("lat"),
            accuracy=record.get("accuracy"),
            by=ctx.user,
            now=at,
        )
    except RuleViolation as exc:
        if exc.code == "outside_geofence":
            raise
        raise Conflict(
            _("%(reason)s。如已签退，可重试；否则请放弃这条记录") % {"reason": str(exc).rstrip("。")},
            [retry(), discard()],
        ) from exc
    return Applied(
        attendance,
        _("签到 %(room)s %(at)s") % {"room": room.name, "at": _local(attendance.clock_in_at)},
        reverse("duty:clock"),
    )


def clock_out(ctx: Context, record: dict[str, Any]) -> Applied:
    from doorstep.duty import services

    staff = _staff(ctx)
    at = _time(ctx, record, "at")
    try:
        attendance = services.clock_out(
            staff=staff,
            lng=record.get("lng"),
            lat=record.get("lat"),
            accuracy=record.get("accuracy"),
            by=ctx.user,
            now=at,
        )
    except RuleViolation as exc:
        raise Conflict(
            _("%(reason)s（签到记录可能还未送达或有冲突）。请先处理签到，再重试；或放弃这条记录")
            % {"reason": str(exc).rstrip("。")},
            [retry(), discard()],
        ) from exc
    return Applied(
        attendance,
        _("签退 %(at)s") % {"at": _local(attendance.clock_out_at)},
        reverse("duty:clock"),
    )


# --- alarms ----------------------------------------------------------------------------------------------------
def _alarm_step(ctx: Context, record: dict[str, Any], step: Callable[..., Any], label: str) -> Applied:
    from doorstep.alarms.choices import AlarmState
    from doorstep.alarms.models import Alarm
    from doorstep.alarms.services import was_dispatched_to

    alarm = Alarm.objects.select_related("dispatched_to").filter(pk=_int(record, "alarm")).first()
    mine = alarm is not None and alarm.dispatched_to_id == ctx.user.pk
    # Only an alarm this user was sent to is theirs to answer; for anyone else it does not exist (the
    # message must not say who it went to).
    if alarm is None or not (mine or was_dispatched_to(alarm, ctx.user)):
        raise ServiceError(_("报警不存在或不在您的辖区"), code="alarm")
    if alarm.state == AlarmState.CLOSED:
        raise Conflict(_("该报警已结案"), [discard()])
    if not mine:
        raise Conflict(
            _("该报警已改派给%(name)s") % {"name": alarm.dispatched_to or _("其他人员")}, [discard()]
        )
    at = parse_time(record.get("at")) if record.get("at") is not None else None
    if record.get("at") is not None and at is None:
        raise _bad("at")
    try:
        alarm = step(
            alarm,
            by=ctx.user,
            lng=record.get("lng"),
            lat=record.get("lat"),
            accuracy=record.get("accuracy"),
            at=at,
        )
    except RuleViolation as exc:
        if exc.code == "closed":
            raise Conflict(_("该报警已结案"), [discard()]) from exc
        if exc.code == "redispatched":
            raise Conflict(str(exc), [discard()]) from exc
        raise
    except NotAllowed as exc:  # re-dispatched between our check and the service's lock
        raise Conflict(str(exc), [discard()]) from exc
    return Applied(alarm, label % {"at": _local(at or timezone.now())}, reverse("alarms:mine"))


def alarm_receive(ctx: Context, record: dict[str, Any]) -> Applied:
    from doorstep.alarms import services

    return _alarm_step(ctx, record, services.receive, _("收到派警 %(at)s"))


def alarm_arrive(ctx: Context, record: dict[str, Any]) -> Applied:
    from doorstep.alarms import services

    return _alarm_step(ctx, record, services.arrive, _("到达现场 %(at)s"))


HANDLERS: dict[str, Callable[[Context, dict[str, Any]], Applied]] = {
    ItemKind.VISIT: visit,
    ItemKind.PATROL_START: patrol_start,
    ItemKind.PATROL_POINTS: patrol_points,
    ItemKind.PATROL_FINDING: patrol_finding,
    ItemKind.PATROL_FINISH: patrol_finish,
    ItemKind.CLOCK_IN: clock_in,
    ItemKind.CLOCK_OUT: clock_out,
    ItemKind.ALARM_RECEIVE: alarm_receive,
    ItemKind.ALARM_ARRIVE: alarm_arrive,
}


def apply(ctx: Context, record: Any) -> Applied:
    """Run the kind's handler on an unsealed record (a JSON object)."""
    if not isinstance(record, dict):
        raise _bad("record")
    return HANDLERS[ctx.item.kind](ctx, record)
