"""The map's one-click alarm layer: key units carry their device count and open alarms (within the user's
territory), and `/map/?unit=` opens the map on a unit the user may see, and only then."""

from __future__ import annotations

import datetime as dt

import pytest

from doorstep.alarms import services as alarm_services
from doorstep.alarms.choices import Protocol
from doorstep.core.ids import synthetic_credit_code
from doorstep.maps.views import UNIT_FOCUS_DEGREES
from doorstep.registry import services as registry_services
from doorstep.registry.choices import UnitType
from doorstep.registry.tests.conftest import _rng, make_house

UNITS = "/api/v1/map/units.geojson"


def key_unit(grid, name):
    house = make_house(grid)
    return registry_services.create_unit(
        name=name, credit_code=synthetic_credit_code(_rng), unit_type=UnitType.SCHOOL, key_level="1",
        address=house.address, security_lead="陈保安", security_phone="13900001111",
    )  # fmt: skip


@pytest.fixture
def school(world):
    unit = key_unit(world.grid_a, "西福小学")
    device, _ = alarm_services.provision_device(unit=unit, device_id="BTN-0001", location="东门")
    alarm_services.provision_device(unit=unit, device_id="BTN-0002", location="西门", protocol=Protocol.MQTT)
    alarm_services.receive_event(
        device, event_id="e1", event_type="panic", occurred_at=dt.datetime.now(dt.UTC), protocol=Protocol.HTTP
    )
    return unit


def props(client, name):
    features = client.get(UNITS).json()["features"]
    return next(f["properties"] for f in features if f["properties"]["name"] == name)


def test_units_carry_devices_and_open_alarms(world, client_for, school):
    quiet = key_unit(world.grid_a, "西福幼儿园")
    client = client_for(world.users["dispatcher"])
    assert (props(client, "西福小学")["devices"], props(client, "西福小学")["alarms"]) == (2, 1)
    assert (props(client, quiet.name)["devices"], props(client, quiet.name)["alarms"]) == (0, 0)
    alarm = school.alarm_devices.get(device_id="BTN-0001").alarms.get()
    alarm_services.close(alarm, disposition="false", by=world.users["dispatcher"])
    assert props(client, "西福小学")["alarms"] == 0


def test_another_station_sees_neither_the_unit_nor_its_alarm(world, client_for, school):
    names = [
        f["properties"]["name"] for f in client_for(world.users["director_s2"]).get(UNITS).json()["features"]
    ]
    assert "西福小学" not in names


def test_map_opens_on_a_unit_of_the_territory(world, client_for, school):
    response = client_for(world.users["dispatcher"]).get(f"/map/?unit={school.pk}")
    lng, lat = school.address.lng, school.address.lat
    assert response.context["focus_bbox"] == pytest.approx(
        [
            lng - UNIT_FOCUS_DEGREES,
            lat - UNIT_FOCUS_DEGREES,
            lng + UNIT_FOCUS_DEGREES,
            lat + UNIT_FOCUS_DEGREES,
        ]
    )
    assert f'data-focus-unit="{school.pk}"' in response.content.decode()


@pytest.mark.parametrize("value", ["999999", "abc", ""])
def test_a_unit_outside_the_territory_or_bad_value_opens_the_usual_map(world, client_for, school, value):
    other = client_for(world.users["director_s2"]).get(f"/map/?unit={school.pk}")
    assert other.status_code == 200 and "data-focus-unit" not in other.content.decode()
    own = client_for(world.users["dispatcher"]).get(f"/map/?unit={value}")
    assert own.status_code == 200 and own.context["focus_unit"] is None
