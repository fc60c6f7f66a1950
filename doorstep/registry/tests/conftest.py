"""Registry fixtures on top of the shared `world`: a house in grid A with a household of three."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from doorstep.core.ids import synthetic_citizen_id
from doorstep.registry import services
from doorstep.registry.choices import HouseStructure, Occupancy, PermitType, PersonCategory, PropertyType
from doorstep.registry.models import Address, House, Household, Person

_rng = random.Random(20261128)


def new_id(region: str = "350503") -> str:
    return synthetic_citizen_id(_rng, region)


def footprint(lng: float, lat: float, size: float = 0.0002) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
        ],
    }


_codes = iter(range(1, 10**6))


def make_house(grid, *, occupancy=Occupancy.OWNER, by=None, **fields) -> House:
    n = next(_codes)
    address = services.create_address(
        code=f"ADDR{n:06d}",
        grid=grid,
        division_code="350503",
        street_town="东海街道",
        road="东海大街",
        door_number=f"{n}号",
        lng=(grid.center_lng or 118.6),
        lat=(grid.center_lat or 24.9),
        by=by,
    )
    return services.create_house(
        code=f"H{n:06d}",
        address=address,
        property_type=PropertyType.SELF_BUILT,
        structure=HouseStructure.BRICK_CONCRETE,
        floors=3,
        occupancy=occupancy,
        owner_name="陈建国",
        footprint=footprint(address.lng, address.lat),
        by=by,
        **fields,
    )


@dataclass
class Reg:
    address: Address
    house: House
    household: Household
    head: Person
    spouse: Person
    lodger: Person


@pytest.fixture
def reg(world) -> Reg:
    house = make_house(world.grid_a)
    household = services.create_household(house=house, household_no="350503001")
    head = services.create_person(
        name="张三",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=household,
        relation_to_head="户主",
        phone="13800138000",
    )
    spouse = services.create_person(
        name="李四",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=household,
        relation_to_head="配偶",
    )
    lodger = services.create_person(
        name="王五",
        id_number=new_id("360102"),
        category=PersonCategory.FLOATING,
        household=household,
        permit_type=PermitType.RESIDENCE_PERMIT,
        permit_number="JZZ001",
        permit_expires_on="2030-01-01",
        inflow_reason="务工",
    )
    household.refresh_from_db()
    house.refresh_from_db()
    return Reg(house.address, house, household, head, spouse, lodger)
