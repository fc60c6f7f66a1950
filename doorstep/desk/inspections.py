"""五统一 inspections of police rooms: the checklist, inspections, rectification tasks — rules, reads, writes.

Who does what (documented in the pages and the report):
- The checklist (检查标准) is the sub-bureau's: leaders and administrators publish new versions. A version is
  never changed; an inspection copies its items' text and points into its own rows, so old inspections keep
  what they were scored on.
- Inspecting is a supervisory act: the station director inspects the rooms of his station, sub-bureau
  leaders and the evaluation office (考评办) any room of the sub-bureau. Only the inspector who started an
  inspection fills it in and submits it.
- A failed item becomes a rectification task (整改任务) owned by an active staff member of the room's
  station, due by default INSPECTION_TASK_DAYS days later. The owner or the station's director closes it,
  with a note and a photo.
- Everyone with the service desk sees inspections of the rooms in their territory (an officer sees her
  community's room, read-only).

Score = points of the passed items ÷ points of all items × 100, one decimal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.photos import files_removed_on_rollback, normalise_photo
from doorstep.desk import selectors
from doorstep.desk.choices import InspectionStatus, TaskStatus
from doorstep.desk.models import (
    Checklist,
    ChecklistItem,
    Inspection,
    InspectionPhoto,
    InspectionRow,
    RectificationTask,
)
from doorstep.org.models import PoliceRoom, Staff
from doorstep.org.territory import Territory, get_in_territory

INSPECT_ROLES = frozenset({Role.DIRECTOR, Role.LEADER, Role.EVALUATOR})
CHECKLIST_ROLES = frozenset({Role.LEADER, Role.ADMIN})
INSPECTION_TASK_DAYS = 7  # default time to put a failed item right
STALE_DAYS = 90  # a room not inspected for longer is flagged on the overview
MAX_PHOTOS_PER_ROW = 5
MAX_ITEMS = 60
TASK_OWNER_KINDS = ("police", "auxiliary", "leader")


# --- rules (pure) --------------------------------------------------------------------------------------------
def compute_score(rows: Iterable[tuple[int, bool | None]]) -> tuple[int, int, Decimal]:
    """(points passed, points total, score 0–100 with one decimal) from (points, passed) pairs."""
    total = passed = 0
    for points, ok in rows:
        total += points
        if ok:
            passed += points
    if total == 0:
        return 0, 0, Decimal("0.0")
    score = (Decimal(passed) * 100 / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return passed, total, score


def is_overdue(task: RectificationTask, today: dt.date) -> bool:
    return task.status == TaskStatus.OPEN and task.due_on < today


def is_stale(last: dt.datetime | None, now: dt.datetime) -> bool:
    """Never inspected, or last inspected more than STALE_DAYS days ago."""
    return last is None or (now - last) > dt.timedelta(days=STALE_DAYS)


def parse_checklist(text: str) -> list[tuple[str, str, int]]:
    """Lines `类别 | 检查内容 | 分值` → items; blank lines and lines starting with # are skipped."""
    items: list[tuple[str, str, int]] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.replace("｜", "|").split("|")]
        if len(parts) != 3:
            raise ServiceError(_("第%(n)d行格式应为“类别 | 检查内容 | 分值”") % {"n": number}, code="items")
        category, item, points = parts
        if not category or not item:
            raise ServiceError(_("第%(n)d行缺少类别或检查内容") % {"n": number}, code="items")
        if len(category) > 30 or len(item) > 200:
            raise ServiceError(
                _("第%(n)d行过长（类别最多30字，检查内容最多200字）") % {"n": number}, code="items"
            )
        if not (points.isascii() and points.isdigit() and 1 <= int(points) <= 100):
            raise ServiceError(_("第%(n)d行分值必须是1到100之间的整数") % {"n": number}, code="items")
        items.append((category, item, int(points)))
    if not items:
        raise ServiceError(_("检查标准至少要有一项"), code="items")
    if len(items) > MAX_ITEMS:
        raise ServiceError(_("检查项不能超过%(n)d项") % {"n": MAX_ITEMS}, code="items")
    return items


# --- who -----------------------------------------------------------------------------------------------------
def _role(user: Any) -> str | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def may_edit_checklist(user: Any) -> bool:
    return _role(user) in CHECKLIST_ROLES


def may_inspect(user: Any, room: PoliceRoom | None = None) -> bool:
    """Directors inspect the rooms of their station; leaders and evaluators any room of the sub-bureau."""
    role = _role(user)
    if role not in INSPECT_ROLES:
        return False
    if room is None:
        return True
    territory = Territory.for_user(user)
    if role == Role.DIRECTOR:
        return territory.manages_station(room.community.station_id)
    return territory.whole


def may_close(user: Any, task: RectificationTask) -> bool:
    """The task's owner, or the director of the room's station."""
    if _role(user) is None:
        return False
    if user.staff_id and user.staff_id == task.owner_id:
        return True
    return _role(user) == Role.DIRECTOR and Territory.for_user(user).manages_station(task.station_id)


# --- reads ---------------------------------------------------------------------------------------------------
def current_checklist() -> Checklist | None:
    return Checklist.objects.order_by("-version").first()


def inspections_for(user: Any) -> QuerySet[Inspection]:
    if not selectors.may_view(user):
        return Inspection.objects.none()
    return Territory.for_user(user).filter(
        Inspection.objects.select_related("room", "room__community", "station", "checklist")
    )


def tasks_for(user: Any) -> QuerySet[RectificationTask]:
    if not selectors.may_view(user):
        return RectificationTask.objects.none()
    return Territory.for_user(user).filter(
        RectificationTask.objects.select_related("room", "room__community", "owner", "row", "inspection")
    )


def _get(user: Any, qs: QuerySet, pk: int) -> Any:
    selectors.require_view(user)
    if pk >= selectors.MAX_PK:
        raise Http404
    return get_in_territory(user, qs, pk=pk)


def get_inspection_for(user: Any, pk: int) -> Inspection:
    return _get(user, inspections_for(user), pk)


def get_task_for(user: Any, pk: int) -> RectificationTask:
    return _get(user, tasks_for(user), pk)


def get_photo_for(user: Any, pk: int) -> InspectionPhoto:
    return _get(user, InspectionPhoto.objects.select_related("row"), pk)


def rooms_overview(user: Any, today: dt.date) -> QuerySet[PoliceRoom]:
    """Every room of the user's territory with its latest submitted inspection (score, time, id) and its
    open and overdue task counts — one query."""
    latest = Inspection.objects.filter(room=OuterRef("pk"), status=InspectionStatus.SUBMITTED).order_by(
        "-submitted_at", "-id"
    )
    open_tasks = RectificationTask.objects.filter(room=OuterRef("pk"), status=TaskStatus.OPEN)

    def count(qs: QuerySet) -> Subquery:
        return Subquery(qs.order_by().values("room").annotate(n=Count("id")).values("n")[:1])

    return selectors.rooms_for(user).annotate(
        last_score=Subquery(latest.values("score")[:1]),
        last_at=Subquery(latest.values("submitted_at")[:1]),
        last_id=Subquery(latest.values("id")[:1]),
        open_tasks=count(open_tasks),
        overdue_tasks=count(open_tasks.filter(due_on__lt=today)),
    )


def task_owners(station_id: int) -> QuerySet[Staff]:
    return Staff.objects.filter(station_id=station_id, active=True, kind__in=TASK_OWNER_KINDS).order_by(
        "kind", "name", "badge_number"
    )


def default_owner(room: PoliceRoom) -> Staff | None:
    """The community officer of the room's community, if there is one; else nobody (the inspector picks)."""
    from doorstep.org.choices import Position
    from doorstep.org.models import GridAssignment

    post = (
        GridAssignment.objects.current()
        .filter(grid__community_id=room.community_id, position=Position.OFFICER, staff__active=True)
        .select_related("staff")
        .order_by("grid__code")
        .first()
    )
    return post.staff if post else None


# --- checklist -----------------------------------------------------------------------------------------------
def publish_checklist(*, items: Sequence[tuple[str, str, int]], note: str = "", by: Any) -> Checklist:
    """Publish a new checklist version; inspections already started keep the version they were started on."""
    if not may_edit_checklist(by):
        raise NotAllowed(_("只有分局领导或系统管理员可以修改检查标准"))
    if not items:
        raise ServiceError(_("检查标准至少要有一项"), code="items")
    with transaction.atomic():
        top = Checklist.objects.select_for_update().order_by("-version").first()
        checklist = Checklist.objects.create(
            version=(top.version if top else 0) + 1,
            published_at=timezone.now(),
            published_by=by,
            note=(note or "").strip()[:200],
        )
        ChecklistItem.objects.bulk_create(
            ChecklistItem(checklist=checklist, category=c, text=t, points=p, position=i * 10)
            for i, (c, t, p) in enumerate(items)
        )
        record_change(
            by,
            "desk.publish_checklist",
            checklist,
            after={"version": checklist.version, "items": [list(i) for i in items], "note": checklist.note},
        )
    return checklist


def _display_name(user: Any) -> str:
    staff = getattr(user, "staff", None) if getattr(user, "staff_id", None) else None
    return staff.name if staff is not None else str(user)


# --- inspections ---------------------------------------------------------------------------------------------
def start_inspection(room: PoliceRoom, *, by: Any) -> Inspection:
    """Start (or resume) the inspector's draft for this room, on the current checklist version."""
    if not may_inspect(by):
        raise NotAllowed(_("只有所长、分局领导或考评办可以检查警务室"))
    if not may_inspect(by, room):
        raise NotAllowed(_("您只能检查本所的警务室"))
    checklist = current_checklist()
    if checklist is None:
        raise RuleViolation(_("尚未发布检查标准"), code="checklist")
    with transaction.atomic():
        PoliceRoom.objects.select_for_update().filter(pk=room.pk).first()
        draft = Inspection.objects.filter(room=room, inspector=by, status=InspectionStatus.DRAFT).first()
        if draft is not None:
            return draft
        inspection = Inspection.objects.create(
            room=room,
            station_id=room.community.station_id,
            checklist=checklist,
            inspector=by,
            inspector_name=_display_name(by)[:100],
            started_at=timezone.now(),
        )
        InspectionRow.objects.bulk_create(
            InspectionRow(
                inspection=inspection,
                category=item.category,
                text=item.text,
                points=item.points,
                position=item.position,
            )
            for item in checklist.items.all()
        )
        record_change(by, "desk.start_inspection", inspection)
    return inspection


def _locked_draft(inspection: Inspection, by: Any) -> Inspection:
    locked = Inspection.objects.select_for_update().select_related("room__community").get(pk=inspection.pk)
    if locked.inspector_id != getattr(by, "pk", None):
        raise NotAllowed(_("只有发起本次检查的检查人可以填写和提交"))
    if not may_inspect(by, locked.room):
        raise NotAllowed(_("您只能检查本所的警务室"))
    if locked.status != InspectionStatus.DRAFT:
        raise RuleViolation(_("检查已提交，不能再修改"), code="status")
    return locked


@dataclass
class RowResult:
    passed: bool | None
    note: str = ""


def record_results(
    inspection: Inspection,
    *,
    results: Mapping[int, RowResult],
    photos: Mapping[int, Sequence[Any]] | None = None,
    note: str | None = None,
    by: Any,
) -> Inspection:
    """Save the pass/fail, note and new photos of rows (a draft may be saved half-filled)."""
    photos = photos or {}
    # Validate and re-encode every photo before the transaction: a bad file refuses the whole save.
    encoded: dict[int, list[Any]] = {}
    for row_id, files in photos.items():
        for upload in files:
            encoded.setdefault(row_id, []).append(normalise_photo(upload))
    now = timezone.now()
    # Photos are written inside the transaction; if it rolls back, so do the files.
    with files_removed_on_rollback() as store, transaction.atomic():
        inspection = _locked_draft(inspection, by)
        rows = {row.pk: row for row in inspection.rows.annotate(photo_count=Count("photos"))}
        unknown = (set(results) | set(encoded)) - set(rows)
        if unknown:
            raise ServiceError(_("检查项不属于本次检查"), code="rows")
        changed = []
        for row_id, result in results.items():
            row = rows[row_id]
            text = (result.note or "").strip()
            if len(text) > 300:
                raise ServiceError(_("“%(item)s”的说明不能超过300字") % {"item": row.text[:20]}, code="rows")
            if row.passed != result.passed or row.note != text:
                row.passed, row.note = result.passed, text
                changed.append(row)
        InspectionRow.objects.bulk_update(changed, ["passed", "note"])
        for row_id, files in encoded.items():
            row = rows[row_id]
            if row.photo_count + len(files) > MAX_PHOTOS_PER_ROW:
                raise ServiceError(_("每个检查项最多%(n)d张照片") % {"n": MAX_PHOTOS_PER_ROW}, code="photos")
            for content in files:
                photo = InspectionPhoto(row=row, uploaded_by=by, uploaded_at=now)
                store(photo.image, content)
                photo.save()
        if note is not None:
            inspection.note = note.strip()[:500]
            inspection.save(update_fields=["note"])
        record_change(
            by,
            "desk.record_inspection_results",
            inspection,
            after={
                "rows": {str(r.pk): r.passed for r in changed},
                "photos": sum(len(f) for f in encoded.values()),
            },
        )
    return inspection


def submit_inspection(
    inspection: Inspection, *, owner: Staff | None, due_on: dt.date | None = None, by: Any
) -> Inspection:
    """提交: every item must be judged and every failed item explained; the score is fixed and each failed
    item becomes a rectification task for `owner`, due `due_on` (default today + INSPECTION_TASK_DAYS)."""
    now = timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        inspection = _locked_draft(inspection, by)
        rows = list(inspection.rows.all())
        open_rows = [r for r in rows if r.passed is None]
        if open_rows:
            raise ServiceError(
                _("还有%(n)d项未判定合格与否（如“%(item)s”）")
                % {"n": len(open_rows), "item": open_rows[0].text[:20]},
                code="rows",
            )
        failed = [r for r in rows if r.passed is False]
        unexplained = [r for r in failed if not r.note]
        if unexplained:
            raise ServiceError(
                _("不合格项须填写问题说明（“%(item)s”）") % {"item": unexplained[0].text[:20]}, code="rows"
            )
        if failed:
            if owner is None:
                raise ServiceError(_("有不合格项，请指定整改责任人"), code="owner")
            if not task_owners(inspection.station_id).filter(pk=owner.pk).exists():
                raise ServiceError(_("整改责任人须为该警务室所属派出所的在职人员"), code="owner")
            due_on = due_on or today + dt.timedelta(days=INSPECTION_TASK_DAYS)
            if due_on < today:
                raise ServiceError(_("整改期限不能早于今天"), code="due_on")
            if due_on > today + dt.timedelta(days=180):
                raise ServiceError(_("整改期限不能超过180天"), code="due_on")
        passed, total, score = compute_score((r.points, r.passed) for r in rows)
        inspection.points_passed, inspection.points_total, inspection.score = passed, total, score
        inspection.status = InspectionStatus.SUBMITTED
        inspection.submitted_at = now
        inspection.save()
        tasks = [
            RectificationTask(
                row=row,
                inspection=inspection,
                room=inspection.room,
                station_id=inspection.station_id,
                owner=owner,
                created_at=now,
                due_on=due_on,
            )
            for row in failed
        ]
        RectificationTask.objects.bulk_create(tasks)
        record_change(
            by,
            "desk.submit_inspection",
            inspection,
            after={
                "score": str(score),
                "points": f"{passed}/{total}",
                "failed": [r.text for r in failed],
                "owner": owner.pk if failed and owner else None,
                "due_on": due_on.isoformat() if failed and due_on else None,
            },
        )
    return inspection


def close_task(task: RectificationTask, *, note: str, photo: Any, by: Any) -> RectificationTask:
    """整改完成: the owner or the station's director closes the task with what was done and a photo of it."""
    note = (note or "").strip()
    if not note:
        raise ServiceError(_("请填写整改情况"), code="note")
    if len(note) > 300:
        raise ServiceError(_("整改情况不能超过300字"), code="note")
    if not photo:
        raise ServiceError(_("请上传整改后的照片"), code="photo")
    content = normalise_photo(photo)
    with files_removed_on_rollback() as store, transaction.atomic():
        task = RectificationTask.objects.select_for_update().get(pk=task.pk)
        if not may_close(by, task):
            raise NotAllowed(_("只有整改责任人或所长可以确认整改完成"))
        if task.status != TaskStatus.OPEN:
            raise RuleViolation(_("该整改任务已完成"), code="status")
        task.status = TaskStatus.CLOSED
        task.closed_at = timezone.now()
        task.closed_by = by
        task.close_note = note
        store(task.close_photo, content)
        task.save()
        record_change(
            by,
            "desk.close_rectification_task",
            task,
            after={"status": task.status, "close_note": note, "closed_at": task.closed_at.isoformat()},
        )
    return task


def overdue_tasks(qs: QuerySet[RectificationTask], today: dt.date) -> QuerySet[RectificationTask]:
    return qs.filter(status=TaskStatus.OPEN, due_on__lt=today)
