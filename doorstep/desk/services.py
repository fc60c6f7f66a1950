"""Every write of the service desk: business types, intake and the lifecycle of an intake.

Each service checks who acts, validates, writes in one transaction with an audit entry and a history row
(IntakeStep), and returns the object. Audit snapshots carry the applicant's ID number and phone masked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change, snapshot
from doorstep.core.crypto import search_hash
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.ids import citizen_id_error
from doorstep.desk import rules, selectors
from doorstep.desk.choices import CLOSED, IntakeKind, IntakeStatus, LimitUnit
from doorstep.desk.models import BusinessType, Intake, IntakeStep
from doorstep.org.choices import Position
from doorstep.org.models import GridAssignment, PoliceRoom, Staff, Station
from doorstep.org.territory import Territory
from doorstep.org.workdays import WorkCalendar
from doorstep.registry.models import Person

# Time limits of the kinds without a business type, in working days: a case report must be decided on
# (受案/立案审查) and a dispute handed to mediation within 3 working days (治安调解 is completed within 3).
CASE_LIMIT_DAYS = 3
DISPUTE_LIMIT_DAYS = 3
ATTEMPTS = 5  # receipt-number or case-number collisions are retried, each in a fresh transaction

S = IntakeStatus
# action → (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({S.RECEIVED}), S.IN_PROGRESS),
    "request_documents": (frozenset({S.RECEIVED, S.IN_PROGRESS}), S.AWAITING_DOCUMENTS),
    "complete": (frozenset({S.RECEIVED, S.IN_PROGRESS, S.PENDING_MEDIATION}), S.DONE),
    "transfer": (
        frozenset({S.RECEIVED, S.IN_PROGRESS, S.AWAITING_DOCUMENTS, S.PENDING_MEDIATION}),
        S.TRANSFERRED,
    ),
    "reject": (frozenset({S.RECEIVED, S.IN_PROGRESS, S.AWAITING_DOCUMENTS, S.PENDING_MEDIATION}), S.REJECTED),
}
ACTION_LABELS = {
    "create": gettext_lazy("受理"),
    "start": gettext_lazy("开始办理"),
    "request_documents": gettext_lazy("通知补充材料"),
    "supply_documents": gettext_lazy("登记材料"),
    "complete": gettext_lazy("办结"),
    "transfer": gettext_lazy("转交"),
    "reject": gettext_lazy("不予受理"),
    "assign": gettext_lazy("指定承办人"),
}


def _calendar(now: dt.datetime) -> WorkCalendar:
    """The working-day calendar (holidays, adjusted working weekends) around today, for time limits."""
    return WorkCalendar.around(timezone.localtime(now).date())


def _masked_snapshot(intake: Intake) -> dict[str, Any]:
    # the ID number and phone are encrypted fields: `snapshot` keeps the phone masked and nothing of the ID
    # number, each with a short keyed digest (crypto.audit_repr)
    return snapshot(intake) or {}


def _step(
    intake: Intake, by: Any, action: str, *, before: str, note: str = "", at: dt.datetime
) -> IntakeStep:
    return IntakeStep.objects.create(
        intake=intake,
        at=at,
        by=by if getattr(by, "is_authenticated", False) else None,
        by_name=str(by) if by is not None else "系统",
        action=action,
        from_status=before,
        to_status=intake.status,
        note=note[:300],
    )


def _require_actor(by: Any, room: PoliceRoom) -> None:
    if not selectors.may_act(by):
        raise NotAllowed(_("只有本所民警、协勤员、所长或调度员可以办理服务台业务"))
    if not Territory.for_user(by).contains(room):
        raise NotAllowed(_("您不能在该警务室办理业务"))


# --- business types ------------------------------------------------------------------------------------------
def _clean_type(name: str, documents: Iterable[str], time_limit: int, limit_unit: str, instant: bool):
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("请填写业务名称"), code="name")
    docs: list[str] = []
    for d in documents:
        d = d.strip()
        if d and d not in docs:
            docs.append(d[:100])
    if limit_unit not in LimitUnit.values:
        raise ServiceError(_("时限单位无效"), code="limit_unit")
    if not instant and time_limit < 1:
        raise ServiceError(_("非即办业务的办理时限至少为1"), code="time_limit")
    if time_limit > 365:
        raise ServiceError(_("办理时限不能超过365"), code="time_limit")
    return name, docs


def create_business_type(
    *,
    name: str,
    documents: Iterable[str],
    time_limit: int,
    limit_unit: str = LimitUnit.WORKING_DAYS,
    instant: bool = False,
    active: bool = True,
    position: int = 0,
    by: Any,
) -> BusinessType:
    if not selectors.may_admin_types(by):
        raise NotAllowed(_("业务类型全分局通用，只有分局领导或系统管理员可以维护"))
    name, docs = _clean_type(name, documents, time_limit, limit_unit, instant)
    if BusinessType.objects.filter(name=name).exists():
        raise ServiceError(_("已有同名业务类型"), code="name")
    with transaction.atomic():
        bt = BusinessType.objects.create(
            name=name,
            documents=docs,
            time_limit=0 if instant else time_limit,
            limit_unit=limit_unit,
            instant=instant,
            active=active,
            position=position,
        )
        record_change(by, "desk.create_business_type", bt)
    return bt


def update_business_type(
    bt: BusinessType,
    *,
    name: str,
    documents: Iterable[str],
    time_limit: int,
    limit_unit: str,
    instant: bool,
    active: bool,
    position: int,
    by: Any,
) -> BusinessType:
    """Items already taken keep the checklist and due time they were taken with."""
    if not selectors.may_admin_types(by):
        raise NotAllowed(_("业务类型全分局通用，只有分局领导或系统管理员可以维护"))
    name, docs = _clean_type(name, documents, time_limit, limit_unit, instant)
    if BusinessType.objects.filter(name=name).exclude(pk=bt.pk).exists():
        raise ServiceError(_("已有同名业务类型"), code="name")
    with transaction.atomic():
        bt = BusinessType.objects.select_for_update().get(pk=bt.pk)
        before = snapshot(bt)
        bt.name, bt.documents, bt.limit_unit = name, docs, limit_unit
        bt.time_limit = 0 if instant else time_limit
        bt.instant, bt.active, bt.position = instant, active, position
        bt.save()
        record_change(by, "desk.update_business_type", bt, before=before)
    return bt


# --- intake --------------------------------------------------------------------------------------------------
def _validate_applicant(name: str, id_number: str, phone: str) -> tuple[str, str, str]:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("请填写姓名"), code="applicant_name")
    id_number = (id_number or "").strip().upper()
    error = citizen_id_error(id_number)
    if error:
        raise ServiceError(_(error), code="id_number")
    phone = (phone or "").strip()
    if phone and not (phone.isascii() and phone.replace("-", "").isdigit() and 7 <= len(phone) <= 20):
        raise ServiceError(_("联系电话只能由数字和连字符组成（7至20位）"), code="phone")
    return name, id_number, phone


def _next_case_seq(station_id: int, year: int) -> int:
    # Lock the station row so two desks of one station take numbers one after the other (PostgreSQL); the
    # unique constraint plus the retry in create_intake covers SQLite and anything the lock misses.
    Station.objects.select_for_update().filter(pk=station_id).first()
    top = Intake.objects.filter(station_id=station_id, case_year=year).aggregate(m=Max("case_seq"))["m"]
    return (top or 0) + 1


def create_intake(
    *,
    room: PoliceRoom,
    kind: str,
    applicant_name: str,
    id_number: str,
    phone: str = "",
    business_type: BusinessType | None = None,
    received_documents: Iterable[str] = (),
    address_text: str = "",
    summary: str = "",
    occurred_at: dt.datetime | None = None,
    place: str = "",
    other_party: str = "",
    by: Any,
) -> Intake:
    """受理: take an item at the room's desk; it gets a receipt number, an owner, a due time (and, for a
    case report, the station's next case number)."""
    _require_actor(by, room)
    if kind not in IntakeKind.values:
        raise ServiceError(_("受理类别无效"), code="kind")
    applicant_name, id_number, phone = _validate_applicant(applicant_name, id_number, phone)
    summary, place, address_text = (
        (summary or "").strip(),
        (place or "").strip(),
        (address_text or "").strip(),
    )
    now = timezone.now()
    documents: list[dict[str, Any]] = []
    if kind == IntakeKind.HOUSEHOLD:
        if business_type is None:
            raise ServiceError(_("请选择业务类型"), code="business_type")
        if not business_type.active:
            raise ServiceError(_("该业务类型已停用"), code="business_type")
        received = set(received_documents)
        documents = [{"name": d, "received": d in received} for d in business_type.documents]
        status = S.AWAITING_DOCUMENTS if any(not d["received"] for d in documents) else S.RECEIVED
        due = rules.due_at(
            now,
            limit=business_type.time_limit,
            unit=business_type.limit_unit,
            instant=business_type.instant,
            calendar=_calendar(now),
        )
    else:
        business_type = None
        if not summary:
            raise ServiceError(
                _("请填写报案内容") if kind == IntakeKind.CASE else _("请填写纠纷情况"), code="summary"
            )
        if kind == IntakeKind.CASE:
            if not place:
                raise ServiceError(_("请填写发生地点"), code="place")
            if occurred_at is None:
                raise ServiceError(_("请填写发生时间"), code="occurred_at")
            if occurred_at > now + dt.timedelta(minutes=5):
                raise ServiceError(_("发生时间不能晚于现在"), code="occurred_at")
            status, days = S.RECEIVED, CASE_LIMIT_DAYS
        else:
            status, days = S.PENDING_MEDIATION, DISPUTE_LIMIT_DAYS
        due = rules.due_at(now, limit=days, unit=LimitUnit.WORKING_DAYS, calendar=_calendar(now))
    person = (
        Person.objects.filter(id_hash=search_hash("id", id_number)).select_related("house__address").first()
    )
    if person is not None and not Territory.for_user(by).contains(person):
        person = None  # outside the desk's territory: do not link (nor reveal that the person is registered)
    owner = None
    staff = getattr(by, "staff", None)
    if staff is not None and staff.active and staff.station_id == room.community.station_id:
        owner = staff
    if owner is not None and kind == IntakeKind.CASE and _officer_elsewhere(owner, room.community_id):
        owner = None  # a case outside the receiving officer's grid: the director assigns it (see `assign`)

    last_error: Exception | None = None
    for _attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                intake = Intake(
                    receipt_no=rules.new_receipt_no(room.community.code, now),
                    room=room,
                    station_id=room.community.station_id,
                    kind=kind,
                    status=status,
                    business_type=business_type,
                    documents=documents,
                    applicant_name=applicant_name[:50],
                    id_number=id_number,
                    phone=phone,
                    person=person,
                    address=person.house.address if person and person.house_id else None,
                    address_text=address_text[:200],
                    summary=summary[:2000],
                    occurred_at=occurred_at if kind == IntakeKind.CASE else None,
                    place=place[:200] if kind == IntakeKind.CASE else "",
                    other_party=other_party.strip()[:100] if kind == IntakeKind.DISPUTE else "",
                    owner=owner,
                    received_by=by,
                    received_at=now,
                    due_at=due,
                )
                note = ""
                if kind == IntakeKind.CASE:
                    year = timezone.localtime(now).year
                    intake.case_year = year
                    intake.case_seq = _next_case_seq(intake.station_id, year)
                    intake.case_number = rules.case_number(room.community.station.name, year, intake.case_seq)
                    note = _("已报派出所，案件编号%(no)s") % {"no": intake.case_number}
                elif status == S.AWAITING_DOCUMENTS:
                    note = _("缺少材料：%(docs)s") % {"docs": "、".join(intake.missing_documents)}
                intake.save()
                _step(intake, by, "create", before="", note=note, at=now)
                record_change(by, "desk.create_intake", intake, after=_masked_snapshot(intake))
            return intake
        except IntegrityError as exc:  # a receipt number or case number taken in between: draw again
            last_error = exc
    raise RuleViolation(_("系统繁忙，编号分配失败，请重试")) from last_error


# --- lifecycle -----------------------------------------------------------------------------------------------
def _locked(intake: Intake, by: Any) -> Intake:
    locked = Intake.objects.select_for_update().select_related("room", "room__community").get(pk=intake.pk)
    _require_actor(by, locked.room)
    return locked


def _save(intake: Intake, by: Any, action: str, *, before_status: str, before: dict, note: str, now):
    intake.save()
    _step(intake, by, action, before=before_status, note=note, at=now)
    record_change(by, f"desk.{action}", intake, before=before, after=_masked_snapshot(intake), note=note)


def transition(intake: Intake, action: str, *, by: Any, note: str = "") -> Intake:
    """Move an item on: start, request_documents, complete, transfer or reject (with the rules of each)."""
    if action not in TRANSITIONS:
        raise ServiceError(_("未知的操作"), code="action")
    note = (note or "").strip()
    sources, target = TRANSITIONS[action]
    now = timezone.now()
    with transaction.atomic():
        intake = _locked(intake, by)
        if intake.status not in sources:
            raise RuleViolation(
                _("当前状态为“%(status)s”，不能%(action)s")
                % {"status": intake.get_status_display(), "action": ACTION_LABELS[action]},
                code="status",
            )
        if action == "request_documents":
            if intake.kind != IntakeKind.HOUSEHOLD:
                raise RuleViolation(_("只有户籍业务需要补充材料"), code="status")
            if not intake.missing_documents and not note:
                raise ServiceError(_("材料已齐全；如仍需补充，请在说明中写明所缺材料"), code="note")
        if action == "complete":
            if intake.kind == IntakeKind.HOUSEHOLD and intake.missing_documents:
                raise RuleViolation(
                    _("材料不齐，不能办结（缺：%(docs)s）") % {"docs": "、".join(intake.missing_documents)},
                    code="status",
                )
            if intake.kind == IntakeKind.DISPUTE and not note:
                raise ServiceError(_("请填写当场调解的结果"), code="note")
        if action == "transfer" and not note:
            raise ServiceError(_("请填写转交的单位或部门"), code="note")
        if action == "reject" and not note:
            raise ServiceError(_("请填写不予受理的理由"), code="note")
        before, before_status = _masked_snapshot(intake), intake.status
        intake.status = target
        if target in CLOSED:
            intake.closed_at = now
            intake.outcome = note[:300]
        _save(intake, by, action, before_status=before_status, before=before, note=note, now=now)
    return intake


def supply_documents(intake: Intake, received: Iterable[str], *, by: Any, note: str = "") -> Intake:
    """Tick the documents now in hand. When an item waiting for documents becomes complete it goes back to
    办理中 and its time limit starts again from now (时限自材料补齐之日起重新计算)."""
    now = timezone.now()
    received = set(received)
    with transaction.atomic():
        intake = _locked(intake, by)
        if intake.kind != IntakeKind.HOUSEHOLD:
            raise RuleViolation(_("只有户籍业务有材料清单"), code="status")
        if intake.status in CLOSED:
            raise RuleViolation(_("事项已结束，不能再登记材料"), code="status")
        unknown = received - {d["name"] for d in intake.documents}
        if unknown:
            raise ServiceError(_("材料不在清单中：%(docs)s") % {"docs": "、".join(sorted(unknown))})
        before, before_status = _masked_snapshot(intake), intake.status
        intake.documents = [{"name": d["name"], "received": d["name"] in received} for d in intake.documents]
        missing = intake.missing_documents
        if intake.status == S.AWAITING_DOCUMENTS and not missing:
            intake.status = S.IN_PROGRESS
            bt = intake.business_type
            if bt is not None:
                intake.due_at = rules.due_at(
                    now, limit=bt.time_limit, unit=bt.limit_unit, instant=bt.instant, calendar=_calendar(now)
                )
        text = _("材料已齐全") if not missing else _("仍缺：%(docs)s") % {"docs": "、".join(missing)}
        note = f"{text}；{note.strip()}" if note and note.strip() else text
        _save(intake, by, "supply_documents", before_status=before_status, before=before, note=note, now=now)
    return intake


def outside_officers_grids(intake: Intake, owner: Staff) -> bool:
    """A community officer (a current 社区民警 grid post) given a case (警情/案件) taken at the police room of a
    community none of their grids belongs to: the issue's "cases outside their grid" (a case is placed by
    the room where it was reported). Officers without a grid post, and other kinds of item, are not concerned."""
    return intake.kind == IntakeKind.CASE and _officer_elsewhere(owner, intake.room.community_id)


def _officer_elsewhere(staff: Staff, community_id: int) -> bool:
    """A community officer none of whose current grids is in this community."""
    posts = GridAssignment.objects.current().filter(staff=staff, position=Position.OFFICER)
    return posts.exists() and not posts.filter(grid__community_id=community_id).exists()


def assign(intake: Intake, owner: Staff, *, by: Any, note: str = "", exception_reason: str = "") -> Intake:
    """指定承办人: only staff of the item's own station. A community officer is not given a case outside their
    grid (their time belongs to their community) unless the station director approves an exception with a
    reason, which is audited."""
    now = timezone.now()
    exception_reason = (exception_reason or "").strip()
    with transaction.atomic():
        intake = _locked(intake, by)
        if intake.status in CLOSED:
            raise RuleViolation(_("事项已结束，不能再指定承办人"), code="status")
        if not selectors.owners_for(intake.station_id).filter(pk=owner.pk).exists():
            raise ServiceError(_("承办人须为本所在职的民警、协勤员、所领导或调度员"), code="owner")
        exception = outside_officers_grids(intake, owner)
        if exception:
            if not exception_reason:
                raise RuleViolation(
                    _("%(name)s是社区民警，不承办其网格以外的案件；确需承办须由所长批准例外并填写理由")
                    % {"name": owner.name},
                    code="outside_grid",
                )
            if not Territory.for_user(by).manages_station(intake.station_id) or by.role not in (
                Role.DIRECTOR,
                Role.ADMIN,
            ):
                raise NotAllowed(_("社区民警承办网格以外的案件须由本所所长批准"))
        before = _masked_snapshot(intake)
        intake.owner = owner
        text = _("承办人：%(name)s") % {"name": owner.name}
        if exception:
            text = _("%(text)s（所长批准例外：%(reason)s）") % {
                "text": text,
                "reason": exception_reason[:200],
            }
        note = f"{text}；{note.strip()}" if note and note.strip() else text
        _save(intake, by, "assign", before_status=intake.status, before=before, note=note, now=now)
        if exception:
            record_change(
                by,
                "desk.case_outside_grid_exception",
                intake,
                after={"owner": owner.pk},
                note=exception_reason[:300],
            )
    return intake
