"""Demo service-desk items: a few intakes at every seeded police room, some of them overdue.

Deterministic and idempotent like the other seeds: a database that already has intakes gets nothing.
Intakes are taken through `services.create_intake` (receipt and case numbers, history, audit) by the
station's director; to make some of them overdue, their receipt and due times are then moved into the
past directly, as a seed of the past.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from doorstep.accounts.choices import Role
from doorstep.accounts.models import User
from doorstep.core.ids import synthetic_citizen_id, synthetic_mobile
from doorstep.desk import rules, selectors, services
from doorstep.desk.choices import IntakeKind
from doorstep.desk.models import BusinessType, Intake, IntakeStep
from doorstep.org.models import PoliceRoom

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明"]
CASES = [
    ("电动车在楼下被盗", "小区3号楼车棚"),
    ("手机被人冒充客服骗走转账", "家中（电话诈骗）"),
    ("店铺门锁被撬", "沿街店面"),
]
DISPUTES = [("与楼上邻居因漏水发生纠纷", "楼上住户"), ("与房东因押金退还发生争执", "房东")]


# The common household-registration business types (the same list the 0002 migration seeds).
DEFAULT_TYPES = [
    ("居住证申领", ["身份证", "居住地址证明（租赁合同或房产证）", "近期一寸照片"], 15, "working_days", False),
    ("居住证签注", ["身份证", "居住证", "居住地址证明（租赁合同或房产证）"], 0, "working_days", True),
    ("户籍证明开具", ["身份证", "户口簿"], 0, "working_days", True),
    ("户口迁移咨询", ["身份证", "户口簿"], 0, "working_days", True),
    (
        "身份证申领/换领",
        ["户口簿", "原身份证（换领时）", "近期免冠照片（或现场采集）"],
        20,
        "working_days",
        False,
    ),
    ("临时身份证明", ["户口簿", "近期一寸照片"], 0, "working_days", True),
    ("无犯罪记录证明", ["身份证", "户口簿", "用途说明或单位介绍信"], 5, "working_days", False),
    ("其他咨询", [], 0, "working_days", True),
]


def ensure_business_types() -> None:
    """Put back any missing default business type (a flushed test database has none); never changes one."""
    for position, (name, documents, limit, unit, instant) in enumerate(DEFAULT_TYPES):
        BusinessType.objects.get_or_create(
            name=name,
            defaults={
                "documents": documents,
                "time_limit": limit,
                "limit_unit": unit,
                "instant": instant,
                "position": position * 10,
            },
        )


@dataclass(frozen=True)
class DeskSeedResult:
    created: bool
    intakes: int


def seed(seed_value: int = 42) -> DeskSeedResult:
    if Intake.objects.exists():
        return DeskSeedResult(False, Intake.objects.count())
    if not BusinessType.objects.exists():
        ensure_business_types()
    rng = random.Random(f"desk:{seed_value}")
    types = list(BusinessType.objects.filter(active=True).order_by("position"))
    rooms = PoliceRoom.objects.select_related("community__station").order_by("community__code")
    with transaction.atomic():
        for room in rooms:
            actor = (
                User.objects.filter(role=Role.DIRECTOR, station_id=room.community.station_id, is_active=True)
                .order_by("id")
                .first()
            )
            if actor is None:
                continue
            for i in range(rng.randint(3, 5)):
                _one(rng, room, actor, types, overdue=(i == 0))
    return DeskSeedResult(True, Intake.objects.count())


def _one(rng: random.Random, room: PoliceRoom, actor, types, *, overdue: bool) -> Intake:
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    common = {
        "room": room,
        "applicant_name": name,
        "id_number": synthetic_citizen_id(rng),
        "phone": synthetic_mobile(rng),
        "by": actor,
    }
    roll = rng.random()
    if roll < 0.6 and types:
        bt = rng.choice([t for t in types if t.documents] or types)
        docs = [d for d in bt.documents if rng.random() < 0.8]
        intake = services.create_intake(
            kind=IntakeKind.HOUSEHOLD, business_type=bt, received_documents=docs, **common
        )
    elif roll < 0.85:
        what, where = rng.choice(CASES)
        intake = services.create_intake(
            kind=IntakeKind.CASE,
            summary=what,
            place=where,
            occurred_at=timezone.now() - dt.timedelta(hours=rng.randint(1, 30)),
            **common,
        )
    else:
        what, other = rng.choice(DISPUTES)
        intake = services.create_intake(kind=IntakeKind.DISPUTE, summary=what, other_party=other, **common)
    owners = [  # a community officer takes no case outside their grid (services.outside_officers_grids)
        staff
        for staff in selectors.owners_for(room.community.station_id).filter(kind__in=["police", "auxiliary"])
        if not services.outside_officers_grids(intake, staff)
    ]
    if owners and rng.random() < 0.7:
        intake = services.assign(intake, rng.choice(owners), by=actor)
    if overdue:
        if intake.status == "awaiting_documents":  # waiting on the resident is never overdue: take it on
            services.supply_documents(intake, [d["name"] for d in intake.documents], by=actor)
        shift = dt.timedelta(days=rng.randint(25, 40))
        received = intake.received_at - shift
        Intake.objects.filter(pk=intake.pk).update(
            received_at=received,
            due_at=received + dt.timedelta(days=3),
            receipt_no=rules.new_receipt_no(room.community.code, received),  # the date part matches
        )
        IntakeStep.objects.filter(intake=intake).update(at=received)
    return intake
