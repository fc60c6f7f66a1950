"""A key unit's registry page lists its alarm devices for those who see devices, and offers provisioning to
its station's director only."""

from __future__ import annotations

import pytest

from doorstep.alarms import services
from doorstep.core.ids import synthetic_credit_code
from doorstep.registry import services as registry_services
from doorstep.registry.choices import UnitType
from doorstep.registry.tests.conftest import _rng, make_house


@pytest.fixture
def school(world):
    house = make_house(world.grid_a)
    unit = registry_services.create_unit(
        name="西福小学", credit_code=synthetic_credit_code(_rng), unit_type=UnitType.SCHOOL, key_level="1",
        address=house.address, security_lead="陈保安", security_phone="13900001111",
    )  # fmt: skip
    services.provision_device(unit=unit, device_id="BTN-0001", location="东门保安亭")
    return unit


@pytest.mark.parametrize(
    ("user", "sees_devices", "may_add"),
    [
        ("director", True, True),
        ("dispatcher", True, False),
        ("leader", True, False),
        ("officer_a", False, False),
    ],
)
def test_devices_and_provisioning_on_the_unit_page(world, client_for, school, user, sees_devices, may_add):
    page = client_for(world.users[user]).get(f"/registry/units/{school.pk}/").content.decode()

    assert ("BTN-0001 · 东门保安亭" in page) is sees_devices
    assert ('data-testid="unit-device-new"' in page) is may_add
    if may_add:
        assert f"/alarms/devices/new/?unit={school.pk}" in page


def test_no_alarm_card_or_provisioning_for_an_ordinary_unit(world, client_for):
    house = make_house(world.grid_a)
    shop = registry_services.create_unit(
        name="小卖部", credit_code=synthetic_credit_code(_rng), unit_type=UnitType.SHOP, address=house.address,
    )  # fmt: skip
    page = client_for(world.users["director"]).get(f"/registry/units/{shop.pk}/").content.decode()

    assert 'data-testid="unit-alarm-devices"' not in page and 'data-testid="unit-device-new"' not in page
