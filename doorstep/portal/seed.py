"""Demo portal (网上警务室): a few notices of each station's director and one of the sub-bureau, appointment
slots of every police room over the next 10 working days, a handful of residents' submissions of each kind
at every stage, and one sub-bureau survey a month (the last two months and this one) over about 40 % of the
grids with synthetic answers, so that the 知晓率 / 满意率 / 安全感 KPIs show figures.

Active publicity materials without an electronic version get a one-page PDF (宣传手册下载).

Deterministic and idempotent like the other seeds: a database that already has notices, submissions or
surveys gets nothing new. Rows are written directly (bulk_create), as a seed of the past: the services would
stamp "now" on every submission and answer and ask for one-time codes. Receipt codes and survey tokens still
come from `secrets` (they are keys a resident holds); phones are synthetic numbers kept only as the keyed hash.
Bounded on the district scale: grids are sampled, responses per grid capped, everything bulk-created.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from doorstep.accounts.choices import Role
from doorstep.accounts.models import User
from doorstep.core.ids import synthetic_mobile
from doorstep.org.models import Community, Grid, PoliceRoom, Station
from doorstep.org.workdays import WorkCalendar
from doorstep.portal import phones, receipts
from doorstep.portal.choices import Kind, NoticeStatus, Status, SurveyStatus
from doorstep.portal.models import (
    AppointmentSlot,
    Notice,
    Submission,
    Survey,
    SurveyGrid,
    SurveyResponse,
)

SLOT_DAYS = 10  # working days ahead
SLOT_MINUTES = 30
SLOT_CAPACITY = 2
SLOT_SPANS = ((dt.time(9, 0), dt.time(11, 30)), (dt.time(14, 30), dt.time(17, 0)))
SURVEY_GRID_SHARE = 0.4
SURVEY_MAX_GRIDS = 120  # per survey, whatever the scale
RESPONSES_PER_GRID = (18, 30)
BATCH = 1000
TOKEN_BYTES = 16

STATION_NOTICES = [
    (
        "户籍窗口周六上午照常办公",
        "为方便群众办事，本所户籍窗口每周六上午9:00—12:00照常办公，可办理户口迁移、居住证、"
        "身份证换领等业务。\n办理前可在网上警务室“我要办事”中咨询所需材料，或预约办理时段。",
        None,
    ),
    (
        "关于开展电动自行车防盗登记的通知",
        "即日起至本月底，各社区警务室为辖区群众免费办理电动自行车防盗登记、安装防盗芯片。\n"
        "请携带本人身份证、车辆购买凭证到所在社区警务室办理。",
        30,
    ),
    (
        "冬季防火安全提示",
        "冬季天干物燥，请勿在楼道、室内为电动车充电，不私拉乱接电线；家中老人、儿童用火用电要有人看护。\n"
        "发现火情请立即拨打119。",
        90,
    ),
]
SUB_BUREAU_NOTICE = (
    "网上警务室正式开通",
    "群众可通过网上警务室查询社区民警、提交线索、咨询业务、申请纠纷调解和预约办事，凭回执码查询办理进度。\n"
    "网上警务室不受理紧急报警，紧急情况请拨打110。",
)
TIPS = [
    "小区东门附近连续几个晚上有人拉车门，怀疑有人盗窃车内财物。",
    "楼下出租屋近期人员进出频繁，深夜较吵，希望民警了解一下。",
    "接到自称客服的电话要求转账退款，我没有转，提供号码供核查。",
    "公园后门路灯坏了，晚上很黑，有安全隐患。",
]
QUESTIONS = [
    "居住证到期了，续签需要带哪些材料？",
    "孩子上户口需要到哪里办理，周末能办吗？",
    "身份证丢失补办要多久？可以办临时身份证吗？",
]
DISPUTES = [
    ("楼上装修噪音很大，中午和晚上也施工，多次沟通无果。", "楼上住户"),
    ("邻居在公共楼道长期堆放杂物，影响通行，沟通后仍不清理。", "对门邻居"),
    ("停车位被他人长期占用，物业协调未果。", "同小区车主"),
]
APPOINTMENTS = ["办理居住证", "身份证换领", "户口迁移咨询"]
REPLIES = {
    Status.ACCEPTED: "您反映的情况已受理，社区民警将尽快与您联系。",
    Status.DONE: "已处理完毕，感谢您的支持。如有新情况请再次反映。",
    Status.REJECTED: "经核实，该事项不属于公安机关管辖，建议向街道或相关部门反映。",
}
STATUSES = [Status.NEW, Status.ACCEPTED, Status.DONE, Status.REJECTED, Status.NEW]
NAMES = ["王女士", "李先生", "陈阿姨", "林先生", "黄女士", "张大爷"]
COMMENTS = ["民警很负责", "希望夜间多巡逻", "警务室找得到人", "", "", "", ""]
HANDBOOK_TIPS = [
    "陌生来电自称公检法、客服、领导要求转账的，一律是诈骗。",
    "出门随手关窗锁门，贵重物品不要放在车内显眼处。",
    "不在楼道、室内为电动自行车充电，不私拉乱接电线。",
    "发现可疑人员、可疑物品，及时向社区民警或拨打110报告。",
    "紧急情况请拨打110，火警119，急救120。",
]
SATISFACTION_WEIGHTS = (0.02, 0.04, 0.16, 0.36, 0.42)  # ratings 1..5
SAFETY_WEIGHTS = (0.02, 0.05, 0.18, 0.38, 0.37)


@dataclass
class PortalSeedResult:
    created: bool
    notices: int = 0
    slots: int = 0
    submissions: int = 0
    surveys: int = 0
    responses: int = 0


def _existing() -> PortalSeedResult:
    return PortalSeedResult(
        False,
        Notice.objects.count(),
        AppointmentSlot.objects.count(),
        Submission.objects.count(),
        Survey.objects.count(),
        SurveyResponse.objects.count(),
    )


def seed(seed: int = 42) -> PortalSeedResult:
    """Seed the portal of whatever district is there; nothing when the portal has data already or there is
    no administrator to own it."""
    if Notice.objects.exists() or Submission.objects.exists() or Survey.objects.exists():
        return _existing()
    admin = (
        User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True).order_by("id").first()
    )
    if admin is None or not Station.objects.exists():
        return PortalSeedResult(False)
    rng = random.Random(f"portal:{seed}")
    now = timezone.now().replace(second=0, microsecond=0)
    today = timezone.localdate(now)
    with transaction.atomic():
        notices = _notices(admin, now, today)
        slots = _slots(admin, now, today)
        submissions = _submissions(admin, rng, now)
        surveys, responses = _surveys(admin, rng, now, today)
        _handbooks()
    return PortalSeedResult(True, notices, slots, submissions, surveys, responses)


# --- notices ---------------------------------------------------------------------------------------------------
def _notices(admin: User, now: dt.datetime, today: dt.date) -> int:
    rows = [
        Notice(
            station=None,
            title=SUB_BUREAU_NOTICE[0],
            body=SUB_BUREAU_NOTICE[1],
            status=NoticeStatus.PUBLISHED,
            published_at=now - dt.timedelta(days=20),
            created_by=admin,
        )
    ]
    directors = {
        u.station_id: u for u in User.objects.filter(role=Role.DIRECTOR, is_active=True).order_by("-id")
    }
    for i, station in enumerate(Station.objects.order_by("code")):
        author = directors.get(station.pk, admin)
        for j, (title, body, days) in enumerate(STATION_NOTICES):
            rows.append(
                Notice(
                    station=station,
                    title=title,
                    body=body,
                    status=NoticeStatus.PUBLISHED,
                    published_at=now - dt.timedelta(days=2 + 3 * j + i, hours=i),
                    expires_on=today + dt.timedelta(days=days) if days else None,
                    created_by=author,
                )
            )
        if i == 0:  # what the portal must not show: a draft and an expired notice
            rows.append(
                Notice(station=station, title="春节假期值班安排（草稿）", body="待定。", created_by=author)
            )
            rows.append(
                Notice(
                    station=station,
                    title="国庆期间交通管制提示",
                    body="国庆期间部分路段交通管制，请绕行。",
                    status=NoticeStatus.PUBLISHED,
                    published_at=now - dt.timedelta(days=70),
                    expires_on=today - dt.timedelta(days=50),
                    created_by=author,
                )
            )
    Notice.objects.bulk_create(rows)
    return len(rows)


# --- handbooks ------------------------------------------------------------------------------------------------
def _handbooks() -> int:
    """An electronic version (a one-page PDF) for each active publicity material that has none, so the
    portal's 宣传手册下载 has something to download."""
    from django.core.files.base import ContentFile

    from doorstep.core import pdf
    from doorstep.patrol.models import Material

    made = 0
    for material in Material.objects.filter(active=True, file="").order_by("name"):
        st = pdf.styles()
        content = pdf.build(
            [pdf.para(material.name, st["title"])]
            + [pdf.para(f"{i}. {tip}", st["item"]) for i, tip in enumerate(HANDBOOK_TIPS, 1)]
            + [pdf.para("家门口派出所 · 网上警务室（演示资料）", st["small"])],
            title=material.name,
            author="家门口派出所",
        )
        material.file.save(f"handbook-{material.pk}.pdf", ContentFile(content), save=True)
        made += 1
    return made


# --- appointment slots -----------------------------------------------------------------------------------------
def _slot_starts(today: dt.date, now: dt.datetime) -> list[dt.datetime]:
    calendar = WorkCalendar.around(today)
    days, day = [], today
    while len(days) < SLOT_DAYS:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            days.append(day)
    starts = []
    for day in days:
        for first, last in SLOT_SPANS:
            at = timezone.make_aware(dt.datetime.combine(day, first))
            end = timezone.make_aware(dt.datetime.combine(day, last))
            while at + dt.timedelta(minutes=SLOT_MINUTES) <= end:
                if at > now:
                    starts.append(at)
                at += dt.timedelta(minutes=SLOT_MINUTES)
    return starts


def _slots(admin: User, now: dt.datetime, today: dt.date) -> int:
    starts = _slot_starts(today, now)
    length = dt.timedelta(minutes=SLOT_MINUTES)
    rows = [
        AppointmentSlot(
            room=room, starts_at=at, ends_at=at + length, capacity=SLOT_CAPACITY, created_by=admin
        )
        for room in PoliceRoom.objects.order_by("community__code")
        for at in starts
    ]
    before = AppointmentSlot.objects.count()
    # A room that already published some of these starts keeps its own slots.
    AppointmentSlot.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    return AppointmentSlot.objects.count() - before


# --- submissions -----------------------------------------------------------------------------------------------
def _submissions(admin: User, rng: random.Random, now: dt.datetime) -> int:
    """Five of each kind in the first station's communities, at every stage; the appointments book slots."""
    station = Station.objects.order_by("code").first()
    communities = list(Community.objects.filter(station=station).order_by("code")[:3])
    if not communities:
        return 0
    grids = {c.pk: Grid.objects.filter(community=c).order_by("code").first() for c in communities}
    rooms = {r.community_id: r for r in PoliceRoom.objects.filter(community__in=communities)}
    handler = (
        User.objects.filter(role=Role.DIRECTOR, station=station, is_active=True).order_by("id").first()
        or admin
    )
    from doorstep.desk.models import BusinessType

    business = list(BusinessType.objects.filter(active=True).order_by("position", "id")[:3])
    rows: list[Submission] = []
    booked: dict[int, int] = {}
    for kind, texts in (
        (Kind.TIP, TIPS),
        (Kind.SERVICE, QUESTIONS),
        (Kind.DISPUTE, DISPUTES),
        (Kind.APPOINTMENT, APPOINTMENTS),
    ):
        for i, status in enumerate(STATUSES):
            community = communities[i % len(communities)]
            text = texts[i % len(texts)]
            anonymous = kind == Kind.TIP and i % 2 == 1
            submitted = now - dt.timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 9))
            item = Submission(
                kind=kind,
                receipt_code=receipts.new_code(),
                status=status,
                station=station,
                community=community,
                grid=grids.get(community.pk),
                address_text=f"{community.name}{rng.randint(1, 20)}号楼",
                anonymous=anonymous,
                name="" if anonymous else NAMES[(i + len(rows)) % len(NAMES)],
                phone="" if anonymous else synthetic_mobile(rng),
                submitted_at=submitted,
            )
            if kind == Kind.DISPUTE:
                item.content, item.other_party = text
            else:
                item.content = text
            if kind in (Kind.SERVICE, Kind.APPOINTMENT) and business:
                item.business_type = business[i % len(business)]
            if kind == Kind.APPOINTMENT:
                room = rooms.get(community.pk)
                if room is None:
                    continue
                item.room = room
                if status in (Status.NEW, Status.ACCEPTED):
                    free = list(
                        AppointmentSlot.objects.filter(room=room, starts_at__gt=now).order_by("starts_at")[
                            :10
                        ]
                    )
                    slot = free[i] if i < len(free) else None
                    if slot is not None:
                        item.slot = slot
                        booked[slot.pk] = booked.get(slot.pk, 0) + 1
                elif status == Status.REJECTED:
                    item.status = Status.CANCELLED  # a resident who cancelled
            if item.status in REPLIES:
                item.handled_by = handler
                item.handled_at = submitted + dt.timedelta(hours=rng.randint(2, 30))
                item.reply = REPLIES[item.status]
            rows.append(item)
    Submission.objects.bulk_create(rows)
    for slot_id, count in booked.items():
        AppointmentSlot.objects.filter(pk=slot_id).update(booked=count)
    return len(rows)


# --- surveys ---------------------------------------------------------------------------------------------------
def _month_starts(today: dt.date) -> list[dt.date]:
    first = today.replace(day=1)
    out = [first]
    for _i in range(2):
        out.insert(0, (out[0] - dt.timedelta(days=1)).replace(day=1))
    return out


def _month_end(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def _weighted(rng: random.Random, weights: tuple[float, ...]) -> int:
    return rng.choices(range(1, 6), weights=weights)[0]


def _surveys(admin: User, rng: random.Random, now: dt.datetime, today: dt.date) -> tuple[int, int]:
    grid_ids = list(Grid.objects.order_by("code").values_list("pk", flat=True))
    if not grid_ids:
        return 0, 0
    sample_size = min(SURVEY_MAX_GRIDS, max(1, round(len(grid_ids) * SURVEY_GRID_SHARE)))
    # Each grid keeps its own awareness level across the months (a grid's officer is known or not).
    level = {gid: rng.uniform(0.80, 0.92) for gid in grid_ids}
    surveys = responses = 0
    for first in _month_starts(today):
        last = _month_end(first)
        current = first <= today <= last
        survey = Survey.objects.create(
            title=f"{first.year}年{first.month}月群众知晓率满意度调查",
            station=None,
            opens_on=first,
            closes_on=last,
            status=SurveyStatus.OPEN if current else SurveyStatus.CLOSED,
            target_per_grid=30,
            created_by=admin,
        )
        surveys += 1
        chosen = sorted(rng.sample(grid_ids, sample_size))
        SurveyGrid.objects.bulk_create(
            [
                SurveyGrid(survey=survey, grid_id=gid, token=secrets.token_urlsafe(TOKEN_BYTES))
                for gid in chosen
            ],
            batch_size=BATCH,
        )
        start = timezone.make_aware(dt.datetime.combine(first, dt.time(8, 0)))
        until = max(start, now) if current else timezone.make_aware(dt.datetime.combine(last, dt.time(21, 0)))
        span = max(60, int((until - start).total_seconds()))
        seen: set[str] = set()
        batch: list[SurveyResponse] = []
        for gid in chosen:
            count = rng.randint(*RESPONSES_PER_GRID)
            if current:  # the current month is still being answered
                count = max(3, round(count * min(1.0, (today.day + 1) / last.day)))
            for _n in range(count):
                phone = synthetic_mobile(rng)
                digest = phones.phone_hash(phone)
                if digest in seen:
                    continue
                seen.add(digest)
                aware = rng.random() < level[gid]
                knows = [False, False, False]
                if aware:
                    knows = [rng.random() < 0.85, rng.random() < 0.6, rng.random() < 0.75]
                    if not any(knows):
                        knows[0] = True
                batch.append(
                    SurveyResponse(
                        survey=survey,
                        grid_id=gid,
                        phone_hash=digest,
                        submitted_at=start + dt.timedelta(seconds=rng.randrange(span)),
                        knows_officer=knows[0],
                        knows_phone=knows[1],
                        knows_room=knows[2],
                        satisfaction=_weighted(rng, SATISFACTION_WEIGHTS),
                        safety=_weighted(rng, SAFETY_WEIGHTS),
                        comment=rng.choice(COMMENTS),
                        answers={"asked": [], "chosen": {}, "seed": True},
                    )
                )
                if len(batch) >= BATCH:
                    SurveyResponse.objects.bulk_create(batch)
                    responses += len(batch)
                    batch = []
        SurveyResponse.objects.bulk_create(batch)
        responses += len(batch)
    return surveys, responses
