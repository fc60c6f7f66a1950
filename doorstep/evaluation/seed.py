"""Demo evaluation data: per grid of the demo district, the collection baselines (应采集基数) a little above
what the registry holds (so 采集率 lands between 90 % and 100 %), verification samples of the last 30 days
(准确率 around 95 %) and incidents (发案) over the last 90 days.

Deterministic and idempotent like the other seeds: nothing is added when incidents or baselines exist. Written
directly as rows of the past (a seed, not a service: the evaluation office enters these on its pages).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from doorstep.accounts.choices import Role
from doorstep.accounts.models import User
from doorstep.evaluation.choices import Element, IncidentCategory, IncidentSource
from doorstep.evaluation.models import Baseline, Incident, Verification
from doorstep.org.models import Grid
from doorstep.registry.models import Address, House, Person, PersonOfConcern, Unit

KINDS = {
    IncidentCategory.CRIMINAL: ["盗窃", "诈骗", "抢夺", "故意伤害"],
    IncidentCategory.PUBLIC_ORDER: ["寻衅滋事", "打架斗殴", "赌博", "毁坏财物"],
}
PLACES = ["小区车棚", "沿街店面", "农贸市场", "出租屋", "小区南门", "公园", "网吧门口"]


@dataclass(frozen=True)
class EvaluationSeedResult:
    created: bool
    incidents: int
    baselines: int
    verifications: int


def _held(grid: Grid) -> dict[str, list[int]]:
    """Ids of the registry records each element holds in the grid."""
    return {
        Element.ADDRESS: list(Address.objects.filter(grid=grid).values_list("pk", flat=True)),
        Element.HOUSE: list(House.objects.filter(grid=grid).values_list("pk", flat=True)),
        Element.PERSON: list(Person.objects.filter(grid=grid).values_list("pk", flat=True)),
        Element.UNIT: list(Unit.objects.filter(grid=grid).values_list("pk", flat=True)),
        Element.CONCERN: list(PersonOfConcern.objects.filter(person__grid=grid).values_list("pk", flat=True)),
    }


def _seed_star() -> None:
    """Last month's 社区警务月度之星 — the top candidate, confirmed by the evaluation office — so the home pages
    and the portal show one. Only when no star was ever confirmed (a second run adds nothing)."""
    from doorstep.evaluation import stars
    from doorstep.evaluation.models import MonthlyStar

    office = User.objects.filter(role=Role.EVALUATOR, is_active=True).order_by("id").first()
    if office is None or MonthlyStar.objects.exists():
        return
    month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    pool, _source = stars.candidates(month)
    if pool:
        stars.confirm_stars(
            month=month,
            staff_ids=[pool[0].staff.pk],
            citation="扎根社区，走访到户，辖区矛盾纠纷化解及时，群众满意度高（演示数据）。",
            by=office,
        )


def seed(seed_value: int = 42) -> EvaluationSeedResult:
    if Incident.objects.exists() or Baseline.objects.exists():
        _seed_star()  # a database seeded before the stars were
        return EvaluationSeedResult(
            False, Incident.objects.count(), Baseline.objects.count(), Verification.objects.count()
        )
    office = (
        User.objects.filter(role__in=(Role.EVALUATOR, Role.ADMIN), is_active=True)
        .order_by("role", "id")
        .first()
    )
    if office is None:
        return EvaluationSeedResult(False, 0, 0, 0)
    rng = random.Random(f"evaluation:{seed_value}")
    today = timezone.localdate()
    as_of = today.replace(day=1) - dt.timedelta(days=1)  # the end of last month
    baselines, verifications, incidents = [], [], []
    for grid in Grid.objects.order_by("code"):
        held = _held(grid)
        for element, ids in held.items():
            # Persons of concern are all known (100 %); the rest a few percent short of the ledgers.
            factor = 1.0 if element == Element.CONCERN else rng.uniform(1.0, 1.1)
            baselines.append(
                Baseline(
                    grid=grid,
                    element=element,
                    expected=max(len(ids), round(len(ids) * factor)),
                    as_of=as_of,
                    source="户籍系统及街道台账（演示数据）",
                    created_by=office,
                )
            )
            for object_id in rng.sample(ids, min(len(ids), 8)):
                verifications.append(
                    Verification(
                        grid=grid,
                        element=element,
                        object_id=object_id,
                        checked_on=today - dt.timedelta(days=rng.randint(1, 30)),
                        correct=rng.random() < 0.95,
                        note="入户核对",
                        checked_by=office,
                    )
                )
        for _n in range(rng.randint(0, 6)):
            category = rng.choice(list(KINDS))
            incidents.append(
                Incident(
                    grid=grid,
                    occurred_on=today - dt.timedelta(days=rng.randint(1, 90)),
                    category=category,
                    kind=rng.choice(KINDS[category]),
                    place=f"{grid.name}{rng.choice(PLACES)}",
                    source=IncidentSource.ENTERED,
                    created_by=office,
                )
            )
    with transaction.atomic():
        Baseline.objects.bulk_create(baselines)
        Verification.objects.bulk_create(verifications)
        Incident.objects.bulk_create(incidents)
    _seed_star()
    return EvaluationSeedResult(True, len(incidents), len(baselines), len(verifications))
