"""What a review of the alarm path found, kept fixed: a device can only use its own receiver and must have a
secret to sign; a key unit's devices follow it to another grid; odd digits and dates are 4xx, never 500; a
superuser at the console may act."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from doorstep.alarms import drills, services
from doorstep.alarms.choices import Protocol
from doorstep.alarms.models import Alarm, Drill
from doorstep.alarms.tests.test_http_receiver import button, press, school  # noqa: F401 (fixtures)
from doorstep.core.errors import ServiceError
from doorstep.core.ids import ascii_digits, citizen_id_error, id_param
from doorstep.registry import services as registry_services
from doorstep.registry.tests.conftest import make_house


def test_a_dc09_panel_has_no_secret_and_cannot_sign_over_http(school, world):  # noqa: F811
    panel, _ = services.provision_device(
        unit=school, device_id="PNL-0001", location="值班室", protocol=Protocol.DC09, sia_account="1234"
    )
    panel.plain_secret = ""  # what an empty secret would sign with
    assert press(panel, event_id="fake", secret="0" * 64).status_code == 401
    assert press(panel, event_id="fake", secret="").status_code == 401
    assert not Alarm.objects.exists()


def test_an_mqtt_device_is_refused_by_the_http_receiver(school, world):  # noqa: F811
    device, credentials = services.provision_device(
        unit=school, device_id="MQ-0001", location="大门", protocol=Protocol.MQTT
    )
    assert press(device, secret=credentials["secret"]).status_code == 401
    assert not Alarm.objects.exists()


def test_a_units_devices_and_coming_drills_follow_it_to_another_station(button, world):  # noqa: F811
    unit = button.unit
    drill = Drill.objects.create(
        device=button, grid_id=button.grid_id, station_id=button.station_id,
        starts_at=timezone.now() + dt.timedelta(days=30), ends_at=timezone.now() + dt.timedelta(days=30, hours=1),
    )  # fmt: skip
    elsewhere = make_house(world.grid_d)  # grid D belongs to the other station

    registry_services.update_unit(unit, address=elsewhere.address, by=None)  # e.g. a re-import

    button.refresh_from_db()
    drill.refresh_from_db()
    assert (button.grid_id, button.station_id) == (world.grid_d.pk, world.s2.pk)
    assert (drill.grid_id, drill.station_id) == (world.grid_d.pk, world.s2.pk)
    assert press(button, event_id="after-move").status_code == 201
    assert Alarm.objects.get(event_id="after-move").station_id == world.s2.pk


def test_ascii_digits_and_ids_with_other_digits_are_refused_not_crashed():
    assert ascii_digits("123") and not ascii_digits("1²3") and not ascii_digits("")
    assert (id_param("42"), id_param("²"), id_param("9" * 19), id_param(None), id_param("")) == (
        42,
        None,
        None,
        None,
        None,
    )
    assert citizen_id_error("1101051949123100²X") is not None


@pytest.mark.parametrize(
    "url",
    [
        "/alarms/devices/new/?unit=²",
        "/alarms/devices/health/?station=²",
        "/alarms/drills/new/?device=²",
        "/alarms/drills/?start=0001-01-01&end=0001-01-02",
        "/alarms/drills/?start=9999-12-30",
        "/map/?unit=²",
        "/map/?grid=²",
        "/map/?unit=99999999999999999999",
        "/map/?grid=99999999999999999999",
        "/alarms/devices/new/?unit=99999999999999999999",
        "/registry/persons/new/?household=99999999999999999999",
        "/org/staffing/?station=99999999999999999999",
    ],
)
def test_odd_query_parameters_never_give_a_500(world, client_for, url):
    response = client_for(world.users["director"]).get(url)
    assert response.status_code < 500


def test_dispatch_to_an_odd_officer_id_is_a_4xx_with_a_detail(button, world, client_for):  # noqa: F811
    press(button, event_id="odd")
    alarm = Alarm.objects.get(event_id="odd")
    response = client_for(world.users["dispatcher"]).post(
        f"/alarms/{alarm.pk}/dispatch/", {"officer": "²"}, HTTP_ACCEPT="application/json"
    )
    assert 400 <= response.status_code < 500 and response.json()["detail"]


def test_a_drill_cannot_be_scheduled_beyond_two_years(button, world):  # noqa: F811
    with pytest.raises(ServiceError, match="两年"):
        drills.schedule_drills(
            device=button, first_start=timezone.now() + dt.timedelta(days=800), by=world.users["director"]
        )


def test_a_superuser_at_the_console_may_acknowledge(button, world, django_user_model):  # noqa: F811
    press(button, event_id="su")
    root = django_user_model.objects.create_superuser("root", password="x", role="admin")
    alarm = services.acknowledge(Alarm.objects.get(event_id="su"), by=root)
    assert alarm.acknowledged_by == root


def test_provisioning_refuses_a_location_longer_than_the_field(school, world):  # noqa: F811
    with pytest.raises(ServiceError, match="100"):
        services.provision_device(unit=school, device_id="BTN-LONG", location="东" * 101, by=world.director)
