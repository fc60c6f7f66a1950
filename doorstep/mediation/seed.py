"""Demo mediation: the 2025–2026 working-day calendar, the duty-mediator rota of every station for this
month and the next, and a dozen disputes of station one at every stage (settled on the spot, in the room
with an agreement PDF, escalated to the street, referred to a department waiting for its reply, failed,
followed up, overdue, with a violence risk).

Deterministic and idempotent like the other seeds: the calendar and rota fill only what is missing, and a
database that already has disputes gets no more. Disputes are taken through the services (numbers,
history, audit, the PDF) by the demo users; to spread them over the last two months their times are then
moved into the past directly, as a seed of the past.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from doorstep.accounts.choices import Role
from doorstep.accounts.models import User
from doorstep.core.ids import synthetic_citizen_id, synthetic_mobile
from doorstep.mediation import rota, services
from doorstep.mediation.choices import DEFAULT_TYPES, Procedure, Risk, Source
from doorstep.mediation.models import Dispute, DisputeStep, DisputeType, RotaDay
from doorstep.mediation.services import PartyData, TermData
from doorstep.org.models import CalendarDay, Station

# 国务院办公厅关于部分节假日安排的通知 (2025: 国办发明电〔2024〕12号; 2026: 国办发明电〔2025〕7号), as published.
# An administrator checks and extends this on the 工作日历 page each year.
CALENDAR = {
    2025: [
        ("2025-01-01", "2025-01-01", "holiday", "元旦"),
        ("2025-01-26", "2025-01-26", "workday", "春节调休"),
        ("2025-01-28", "2025-02-04", "holiday", "春节"),
        ("2025-02-08", "2025-02-08", "workday", "春节调休"),
        ("2025-04-04", "2025-04-06", "holiday", "清明节"),
        ("2025-04-27", "2025-04-27", "workday", "劳动节调休"),
        ("2025-05-01", "2025-05-05", "holiday", "劳动节"),
        ("2025-05-31", "2025-06-02", "holiday", "端午节"),
        ("2025-09-28", "2025-09-28", "workday", "国庆节调休"),
        ("2025-10-01", "2025-10-08", "holiday", "国庆节、中秋节"),
        ("2025-10-11", "2025-10-11", "workday", "国庆节调休"),
    ],
    2026: [
        ("2026-01-01", "2026-01-03", "holiday", "元旦"),
        ("2026-01-04", "2026-01-04", "workday", "元旦调休"),
        ("2026-02-14", "2026-02-14", "workday", "春节调休"),
        ("2026-02-15", "2026-02-23", "holiday", "春节"),
        ("2026-02-28", "2026-02-28", "workday", "春节调休"),
        ("2026-04-04", "2026-04-06", "holiday", "清明节"),
        ("2026-05-01", "2026-05-05", "holiday", "劳动节"),
        ("2026-05-09", "2026-05-09", "workday", "劳动节调休"),
        ("2026-06-19", "2026-06-21", "holiday", "端午节"),
        ("2026-09-20", "2026-09-20", "workday", "国庆节调休"),
        ("2026-09-25", "2026-09-27", "holiday", "中秋节"),
        ("2026-10-01", "2026-10-07", "holiday", "国庆节"),
        ("2026-10-10", "2026-10-10", "workday", "国庆节调休"),
    ],
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林郑谢"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "建华",
    "桂兰",
]

# (type, facts, place, procedure, risk, violence, what happens, days ago)
CASES = [
    (
        "邻里纠纷",
        "楼上住户卫生间漏水，楼下住户天花板受损，双方就维修和赔偿发生争执。",
        "3号楼2单元",
        "people",
        "low",
        False,
        "agreement",
        52,
    ),
    (
        "邻里纠纷",
        "因楼道堆放杂物和噪音问题，两户多次口角。",
        "5号楼楼道",
        "people",
        "low",
        False,
        "onsite",
        47,
    ),
    (
        "物业纠纷",
        "业主以服务质量差为由拒缴物业费，物业公司停止为其车辆办理门禁。",
        "小区物业服务中心",
        "people",
        "medium",
        False,
        "street",
        40,
    ),
    (
        "劳资纠纷",
        "装修工人6人称被拖欠工资两个月，聚集在工地门口讨薪。",
        "在建工地东门",
        "people",
        "high",
        True,
        "refer",
        33,
    ),
    (
        "家庭纠纷",
        "夫妻因家务和子女教育问题争吵，妻子报警称丈夫摔砸物品。",
        "住宅内",
        "security",
        "high",
        True,
        "room",
        2.2,
    ),
    (
        "消费纠纷",
        "顾客称在超市购买的食品过期，要求十倍赔偿，与店方争执。",
        "沿街超市",
        "people",
        "low",
        False,
        "onsite",
        26,
    ),
    (
        "交通纠纷",
        "电动车与行人在小区路口轻微碰撞，就医药费承担发生争执。",
        "小区南门路口",
        "security",
        "low",
        False,
        "agreement_followed",
        29.5,
    ),
    (
        "婚恋纠纷",
        "分手后双方就共同购买的家电归属发生争执。",
        "出租屋",
        "people",
        "medium",
        False,
        "failed",
        18,
    ),
    (
        "邻里纠纷",
        "相邻两户因院墙界址和排水沟发生争执，多次调解未果。",
        "老街巷12号",
        "people",
        "medium",
        False,
        "overdue",
        44,
    ),
    (
        "其他纠纷",
        "广场舞音响音量过大，附近居民与舞蹈队发生口角。",
        "社区文化广场",
        "people",
        "low",
        False,
        "awaiting",
        0.1,
    ),
    ("物业纠纷", "租客退租时与房东就押金扣除发生争执。", "出租屋", "people", "low", False, "transfer", 6),
    (
        "邻里纠纷",
        "宠物犬未拴绳惊吓老人，双方家属发生争执。",
        "小区花园",
        "security",
        "medium",
        False,
        "onsite_open",
        0.4,
    ),
]


@dataclass(frozen=True)
class MediationSeedResult:
    created: bool
    disputes: int
    calendar_days: int
    rota_days: int


def ensure_types() -> None:
    """Put back any missing default dispute type (a flushed test database has none); never changes one."""
    for position, name in enumerate(DEFAULT_TYPES):
        DisputeType.objects.get_or_create(name=name, defaults={"position": position * 10})


def ensure_calendar() -> int:
    """Enter the published years that have no entry yet."""
    added = 0
    for year, spans in CALENDAR.items():
        if CalendarDay.objects.filter(day__year=year).exists():
            continue
        for start, end, kind, name in spans:
            day, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
            while day <= last:
                CalendarDay.objects.create(day=day, kind=kind, name=name)
                added += 1
                day += dt.timedelta(days=1)
    return added


def _admin() -> User | None:
    return User.objects.filter(role=Role.ADMIN, is_active=True).order_by("id").first()


def ensure_rota(today: dt.date) -> int:
    """This month and the next for every station with mediators, where not planned yet."""
    admin = _admin()
    if admin is None:
        return 0
    first = today.replace(day=1)
    end = (first + dt.timedelta(days=62)).replace(day=1) - dt.timedelta(days=1)
    added = 0
    for station in Station.objects.order_by("code"):
        if not rota.mediators_of(station.pk):
            continue
        if RotaDay.objects.filter(station=station, day__gte=first, day__lte=end).exists():
            continue
        result = rota.generate(station, first, end, by=admin, today=first)
        added += result["assigned"]
    return added


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _parties(rng: random.Random, n: int = 2) -> list[PartyData]:
    parties = []
    for i in range(n):
        parties.append(
            PartyData(
                name=_name(rng),
                side="A" if i == 0 else "B",
                id_number=synthetic_citizen_id(rng) if rng.random() < 0.8 else "",
                phone=synthetic_mobile(rng),
                address="",
            )
        )
    return parties


def _shift(dispute: Dispute, days: float) -> None:
    """Move a dispute and everything recorded on it `days` into the past (a seed of the past; not a service),
    then print its agreement again so the PDF carries the dates of the record."""
    delta = dt.timedelta(days=days)
    whole = dt.timedelta(days=round(days))
    fields = {}
    for f in ("received_at", "transferred_at", "assigned_at", "due_at", "closed_at"):
        value = getattr(dispute, f)
        if value is not None:
            fields[f] = value - delta
    if dispute.follow_up_due:
        fields["follow_up_due"] = dispute.follow_up_due - whole
    Dispute.objects.filter(pk=dispute.pk).update(**fields)
    for step in DisputeStep.objects.filter(dispute=dispute):
        DisputeStep.objects.filter(pk=step.pk).update(at=step.at - delta)
    for s in dispute.sessions.all():
        type(s).objects.filter(pk=s.pk).update(held_at=s.held_at - delta, recorded_at=s.recorded_at - delta)
    for r in dispute.referrals.all():
        type(r).objects.filter(pk=r.pk).update(
            sent_on=r.sent_on - whole,
            reply_due=r.reply_due - whole if r.reply_due else None,
            replied_on=r.replied_on - whole if r.replied_on else None,
        )
    for f in dispute.follow_ups.all():
        type(f).objects.filter(pk=f.pk).update(visited_on=f.visited_on - whole)
    for a in dispute.agreements.all():
        a.signed_on -= whole
        a.confirm_by -= whole
        a.created_at -= delta
        a.terms = [
            {**t, "deadline": (dt.date.fromisoformat(t["deadline"]) - whole).isoformat()} for t in a.terms
        ]
        pdf = services.agreement_pdf(a, list(dispute.parties.all()))
        default_storage.delete(a.pdf.name)
        a.pdf.name = default_storage.save(a.pdf.name, ContentFile(pdf))
        a.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        a.save()


def seed(seed_value: int = 42) -> MediationSeedResult:
    ensure_types()
    with transaction.atomic():
        days = ensure_calendar()
    today = timezone.localdate()
    with transaction.atomic():
        rota_days = ensure_rota(today)
    if Dispute.objects.exists():
        return MediationSeedResult(False, Dispute.objects.count(), days, rota_days)
    officer = User.objects.filter(username="officer").select_related("staff").first()
    mediator = User.objects.filter(username="mediator").select_related("staff").first()
    director = User.objects.filter(username="director").first()
    if officer is None or mediator is None or director is None or officer.staff is None:
        return MediationSeedResult(False, 0, days, rota_days)
    from doorstep.org.territory import Territory

    grid = Territory.for_user(officer).grids().order_by("code").first()
    if grid is None:
        return MediationSeedResult(False, 0, days, rota_days)
    rng = random.Random(f"mediation:{seed_value}")
    types = {t.name: t for t in DisputeType.objects.all()}
    created = 0
    for tname, facts, place, procedure, risk, violence, plan, age in CASES:
        d = services.create_dispute(
            community=grid.community,
            grid=grid,
            dispute_type=types[tname],
            place=place,
            facts=facts,
            parties=_parties(rng, 3 if plan == "refer" else 2),
            by=officer,
            source=rng.choice([Source.OFFICER, Source.DESK, Source.ALARM]),
            procedure=Procedure(procedure),
            risk=Risk(risk),
            violence_risk=violence,
            involved_count=6 if plan == "refer" else None,
        )
        created += 1
        if plan in ("onsite", "onsite_open"):
            if plan == "onsite":
                services.record_onsite(
                    d, settled=True, note="经现场劝解，双方互相谅解，当场和解。", by=officer
                )
        elif plan == "awaiting":
            services.record_onsite(
                d, settled=False, transfer=True, note="双方分歧较大，现场未能调解。", by=officer
            )
            # Transferred after hours: nobody on duty then; the director assigns (or the next working
            # morning's tick hands it to the duty mediator).
            note = "移交调解室；当时无值班调解员，已提请所长分派"
            Dispute.objects.filter(pk=d.pk).update(
                status="awaiting_mediator", mediator=None, assigned_at=None
            )
            DisputeStep.objects.filter(dispute=d, action="transfer").update(
                to_status="awaiting_mediator", note=note
            )
        else:
            services.record_onsite(
                d, settled=False, transfer=True, note="现场调解未成功，双方同意到所调解室调解。", by=officer
            )
            d.refresh_from_db()
            if d.mediator_id is None:
                services.assign(d, mediator.staff, by=director)
            # Held now, after the dispute was received (a "now" taken before the loop can fall in the minute
            # before a later dispute's receipt and be refused).
            held = timezone.localtime(timezone.now()).replace(second=0, microsecond=0)
            if plan in ("agreement", "agreement_followed", "street", "refer", "failed", "room", "overdue"):
                services.add_session(
                    d,
                    held_at=held,
                    place="驻所人民调解工作室",
                    attendees="双方当事人、调解员、社区民警",
                    notes="听取双方陈述，释法说理，双方初步表达了调解意愿。",
                    by=mediator,
                )
            if plan in ("agreement", "agreement_followed"):
                services.conclude_with_agreement(
                    d,
                    facts=facts,
                    issues="损失的赔偿数额及履行方式。",
                    responsibilities="一方对损害的发生负主要责任，另一方负次要责任。",
                    terms=[
                        TermData(
                            "一方一次性赔偿另一方损失人民币1500元", "银行转账", today + dt.timedelta(days=10)
                        ),
                        TermData("双方就此事不再追究", "书面确认", today + dt.timedelta(days=10)),
                    ],
                    signed_on=today,
                    by=mediator,
                )
                if plan == "agreement_followed":
                    d.refresh_from_db()
                    services.record_follow_up(
                        d,
                        visited_on=today,
                        kept=True,
                        note="电话回访，赔偿已按期支付，双方关系缓和。",
                        by=officer,
                    )
            elif plan == "street":
                services.escalate_to_street(
                    d, reason="涉及小区多户业主，需街道协调物业主管部门。", by=mediator
                )
            elif plan == "refer":
                services.refer(
                    d,
                    body="劳动保障监察大队",
                    reason="拖欠工资属劳动保障监察职责，移交依法处理。",
                    reply_due=today + dt.timedelta(days=7),
                    by=mediator,
                )
            elif plan == "failed":
                services.conclude_without_agreement(
                    d, reason="双方对财物归属各执一词，调解不成；已告知可向人民法院起诉。", by=mediator
                )
        d.refresh_from_db()
        _shift(d, age)
    return MediationSeedResult(True, created, days, rota_days)
