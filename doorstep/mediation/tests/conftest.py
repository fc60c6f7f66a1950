"""Mediation fixtures on top of the shared `world`: two full-time mediators of station s1 (one with a login),
the default dispute types, and helpers that take a dispute through the services as the pages do."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import pytest

from doorstep.accounts.choices import Role
from doorstep.accounts.services import create_user
from doorstep.conftest import PASSWORD, build_world, make_staff
from doorstep.core.ids import synthetic_citizen_id
from doorstep.mediation import services
from doorstep.mediation.models import DisputeType, RotaDay
from doorstep.mediation.seed import ensure_types
from doorstep.mediation.services import PartyData, TermData
from doorstep.org.choices import StaffKind

_rng = random.Random(20261129)


def new_id() -> str:
    return synthetic_citizen_id(_rng, "350503")


@dataclass
class Med:
    world: object
    mediator_a: object  # Staff, with the login `mediator`
    mediator_b: object  # Staff, no login
    mediator_user: object
    mediator_b_user: object

    def __getattr__(self, name):  # med.director, med.officer_a, med.c1 … fall through to the world
        return getattr(self.world, name)


def add_mediators(world) -> Med:
    ensure_types()
    a = make_staff(world.sub_bureau, world.s1, StaffKind.MEDIATOR, "黄文")
    b = make_staff(world.sub_bureau, world.s1, StaffKind.MEDIATOR, "罗燕")
    user_a = create_user(
        username="mediator", password=PASSWORD, role=Role.MEDIATOR, station=world.s1, staff=a
    )
    user_b = create_user(
        username="mediator_b", password=PASSWORD, role=Role.MEDIATOR, station=world.s1, staff=b
    )
    return Med(world, a, b, user_a, user_b)


@pytest.fixture
def med(world) -> Med:
    return add_mediators(world)


@pytest.fixture
def med_live(transactional_db) -> Med:
    """For the browser test: committed data the live server can read."""
    return add_mediators(build_world())


def dtype(name: str = "邻里纠纷") -> DisputeType:
    return DisputeType.objects.get(name=name)


def parties(n: int = 2, *, ids: bool = True) -> list[PartyData]:
    names = ["王伟", "李娜", "张敏", "刘强"]
    return [
        PartyData(
            name=names[i],
            side="A" if i == 0 else "B",
            id_number=new_id() if ids else "",
            phone="13912345678" if i == 0 else "",
        )
        for i in range(n)
    ]


def new_dispute(med, *, by=None, community=None, grid=None, **kw):
    return services.create_dispute(
        community=community or med.c1,
        grid=grid if grid is not None else med.grid_a,
        dispute_type=kw.pop("dispute_type", None) or dtype(),
        place=kw.pop("place", "3号楼2单元"),
        facts=kw.pop("facts", "楼上漏水，楼下天花板受损，双方就赔偿发生争执。"),
        parties=kw.pop("parties") if "parties" in kw else parties(),
        by=by or med.officer_a,
        **kw,
    )


def on_duty(med, day: dt.date, staff=None) -> RotaDay:
    return RotaDay.objects.update_or_create(
        station=med.s1, day=day, defaults={"mediator": staff or med.mediator_a}
    )[0]


def terms(deadline: dt.date) -> list[TermData]:
    return [TermData("乙方赔偿甲方修缮费人民币3000元", "银行转账", deadline)]
