"""Demo 五统一 inspections: two past inspections of every seeded police room, with rectification tasks.

Deterministic and idempotent like the other seeds: a database that already has inspections gets nothing.
Inspections go through the services (rows copied from the checklist, score, tasks, audit) by the station's
director; their times are then moved into the past directly, as a seed of the past. The older inspection's
tasks are closed; the newer one leaves one or two open, and the first room's newest task is overdue. The
first room's newest inspection is more than 90 days old, so the overview flags it.

    from doorstep.desk import inspection_seed; inspection_seed.seed(42)
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from doorstep.accounts.choices import Role
from doorstep.accounts.models import User
from doorstep.desk import inspections as insp
from doorstep.desk.choices import TaskStatus
from doorstep.desk.models import Checklist, ChecklistItem, Inspection, RectificationTask
from doorstep.org.models import PoliceRoom

# category, item, points (Σ = 100): the same list the 0004 migration seeds as version 1.
DEFAULT_CHECKLIST = [
    ("统一标识", "门头标牌：“警务室”名称标牌规范、醒目、夜间亮灯", 10),
    ("统一标识", "警务室徽标（公安徽标）规范张贴", 5),
    ("统一布局", "接待区：设置接待台、群众等候座椅、办事指南", 8),
    ("统一布局", "办公区：办公设备齐全、信息系统可用", 6),
    ("统一布局", "值班休息区：值班床铺与生活设施满足24小时值守", 6),
    ("统一公示", "公示社区民警照片、姓名、警号", 8),
    ("统一公示", "公示工作电话", 5),
    ("统一公示", "公示服务项目与办事流程", 5),
    ("统一公示", "公示监督电话", 4),
    ("统一公开民警工作电话", "民警工作电话在社区公示栏、楼道等处公开", 8),
    ("统一公开民警工作电话", "抽测拨打公开电话能及时接通", 7),
    ("统一工作制度", "工作制度上墙（岗位职责、首问负责等）", 10),
    ("统一工作制度", "值班制度落实，值班表与实际在岗一致", 10),
    ("统一工作制度", "工作台账（走访、纠纷、受理登记）齐全规范", 8),
]
FINDINGS = ["标牌破损未更换", "公示内容过期", "台账缺少本月记录", "电话抽测未接通", "物品摆放杂乱"]


@dataclass(frozen=True)
class InspectionSeedResult:
    created: bool
    inspections: int
    open_tasks: int


def ensure_checklist() -> Checklist:
    """Version 1 when no checklist exists (a flushed test database has none); never changes one."""
    current = Checklist.objects.order_by("-version").first()
    if current is not None:
        return current
    with transaction.atomic():
        checklist = Checklist.objects.create(
            version=1, published_at=timezone.now(), note="五统一标准（初始版本）"
        )
        ChecklistItem.objects.bulk_create(
            ChecklistItem(checklist=checklist, category=c, text=t, points=p, position=i * 10)
            for i, (c, t, p) in enumerate(DEFAULT_CHECKLIST)
        )
    return checklist


def _jpeg(rng: random.Random) -> SimpleUploadedFile:
    colour = (rng.randint(80, 200), rng.randint(80, 200), rng.randint(80, 200))
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, format="JPEG")
    return SimpleUploadedFile("photo.jpg", out.getvalue(), content_type="image/jpeg")


def _inspect(rng, room, actor, *, fails: int, days_ago: int, overdue: bool) -> Inspection:
    inspection = insp.start_inspection(room, by=actor)
    rows = list(inspection.rows.all())
    failed = set(rng.sample([r.pk for r in rows], k=min(fails, len(rows))))
    results = {
        r.pk: insp.RowResult(passed=r.pk not in failed, note=rng.choice(FINDINGS) if r.pk in failed else "")
        for r in rows
    }
    photos = {next(iter(failed)): [_jpeg(rng)]} if failed else {}
    insp.record_results(inspection, results=results, photos=photos, by=actor)
    owner = insp.default_owner(room) or insp.task_owners(inspection.station_id).first()
    insp.submit_inspection(inspection, owner=owner, by=actor)
    at = timezone.now() - dt.timedelta(days=days_ago, hours=rng.randint(0, 6))
    Inspection.objects.filter(pk=inspection.pk).update(
        started_at=at - dt.timedelta(minutes=40), submitted_at=at
    )
    tasks = RectificationTask.objects.filter(inspection=inspection)
    today = timezone.localdate()
    # Open tasks are due in the next days, except the one the demo shows as overdue.
    tasks.update(created_at=at, due_on=today + dt.timedelta(days=rng.randint(2, 10)))
    if overdue:
        tasks.filter(pk__in=tasks.order_by("id").values("id")[:1]).update(due_on=today - dt.timedelta(days=3))
    return inspection


def seed(seed_value: int = 42) -> InspectionSeedResult:
    if Inspection.objects.exists():
        return InspectionSeedResult(
            False,
            Inspection.objects.count(),
            RectificationTask.objects.filter(status=TaskStatus.OPEN).count(),
        )
    ensure_checklist()
    rng = random.Random(f"inspections:{seed_value}")
    rooms = PoliceRoom.objects.select_related("community__station").order_by("community__code")
    with transaction.atomic():
        for index, room in enumerate(rooms):
            actor = (
                User.objects.filter(role=Role.DIRECTOR, station_id=room.community.station_id, is_active=True)
                .order_by("id")
                .first()
            )
            if actor is None or not insp.task_owners(room.community.station_id).exists():
                continue
            first = index == 0
            old = _inspect(
                rng, room, actor, fails=rng.randint(1, 3), days_ago=rng.randint(150, 200), overdue=False
            )
            for task in RectificationTask.objects.filter(inspection=old):
                insp.close_task(task, note="已按要求整改完毕", photo=_jpeg(rng), by=actor)
            done = Inspection.objects.get(pk=old.pk).submitted_at
            RectificationTask.objects.filter(inspection=old).update(
                due_on=timezone.localdate(done) + dt.timedelta(days=insp.INSPECTION_TASK_DAYS),
                closed_at=done + dt.timedelta(days=rng.randint(2, 6)),
            )
            _inspect(
                rng,
                room,
                actor,
                fails=rng.randint(1, 2),
                days_ago=rng.randint(95, 120) if first else rng.randint(3, 40),
                overdue=first,
            )
    return InspectionSeedResult(
        True, Inspection.objects.count(), RectificationTask.objects.filter(status=TaskStatus.OPEN).count()
    )
