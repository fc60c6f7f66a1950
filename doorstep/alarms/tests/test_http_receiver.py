"""Provisioning alarm devices and the HTTP receiver: signatures, clock skew, bad input, retries stored once,
device events, and the console told only after the commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time

import pytest
from django.db import OperationalError
from django.test import Client

from doorstep.alarms import realtime, services
from doorstep.alarms.choices import DeviceStatus, Protocol
from doorstep.alarms.models import Alarm, AlarmDevice, DeviceEvent
from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.ids import synthetic_credit_code
from doorstep.registry import services as registry_services
from doorstep.registry.choices import UnitType
from doorstep.registry.tests.conftest import _rng, make_house

URL = "/api/v1/alarm-events"


@pytest.fixture
def school(world):
    house = make_house(world.grid_a)
    return registry_services.create_unit(
        name="西福小学", credit_code=synthetic_credit_code(_rng), unit_type=UnitType.SCHOOL, key_level="1",
        address=house.address, security_lead="陈保安", security_phone="13900001111",
    )  # fmt: skip


@pytest.fixture
def button(school, world):
    device, credentials = services.provision_device(
        unit=school, device_id="BTN-0001", location="东门保安亭", by=world.director
    )
    device.plain_secret = credentials["secret"]
    return device


@pytest.fixture
def published(monkeypatch):
    sent = []
    monkeypatch.setattr(
        realtime, "publish_to_station", lambda station, payload: sent.append((station, payload))
    )
    return sent


def press(device, *, event_id="e-1", type_="panic", occurred_at=None, secret=None, timestamp=None, body=None):
    occurred_at = occurred_at or dt.datetime.now(dt.UTC).isoformat()
    raw = (
        body
        if body is not None
        else json.dumps({"event_id": event_id, "type": type_, "occurred_at": occurred_at})
    )
    raw = raw.encode() if isinstance(raw, str) else raw
    timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
    key = (secret or device.plain_secret).encode()
    signature = hmac.new(key, timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return Client().post(
        URL, raw, content_type="application/json",
        HTTP_X_DEVICE_ID=device.device_id, HTTP_X_TIMESTAMP=timestamp, HTTP_X_SIGNATURE=signature,
    )  # fmt: skip


# --- provisioning -----------------------------------------------------------------------------------------
def test_provisioning_shows_the_secret_once_and_never_logs_it(school, world):
    device, credentials = services.provision_device(
        unit=school, device_id="BTN-0002", location="大门", by=world.director
    )

    assert len(credentials["secret"]) == 64 and device.station_id == world.grid_a.community.station_id
    entry = AuditEntry.objects.get(action="alarms.provision_device")
    assert credentials["secret"] not in json.dumps(entry.after, ensure_ascii=False)


def test_dc09_panels_get_an_account_and_an_optional_aes_key(school, world):
    _device, credentials = services.provision_device(
        unit=school, device_id="PNL-0001", location="值班室", protocol=Protocol.DC09, sia_account="1a2b",
        with_aes_key=True, by=world.director,
    )  # fmt: skip

    assert credentials["sia_account"] == "1A2B" and len(credentials["aes_key"]) == 32
    with pytest.raises(ServiceError, match="已被其他设备使用"):
        services.provision_device(unit=school, device_id="PNL-0002", location="值班室", protocol=Protocol.DC09,
                                  sia_account="1A2B", by=world.director)  # fmt: skip


def test_only_key_units_and_their_director_may_provision(school, world):
    shop = registry_services.create_unit(name="小卖部", credit_code=synthetic_credit_code(_rng),
                                         unit_type=UnitType.SHOP, address=school.address)  # fmt: skip
    with pytest.raises(ServiceError, match="只有重点单位"):
        services.provision_device(unit=shop, device_id="BTN-0100", location="门口", by=world.director)
    with pytest.raises(NotAllowed):
        services.provision_device(unit=school, device_id="BTN-0101", location="门口", by=world.officer_a)
    with pytest.raises(NotAllowed):
        services.provision_device(unit=school, device_id="BTN-0102", location="门口", by=world.director_s2)
    with pytest.raises(ServiceError, match="设备编号"):
        services.provision_device(unit=school, device_id="x", location="门口", by=world.director)


# --- the receiver -----------------------------------------------------------------------------------------
def test_a_press_is_stored_and_the_console_told_after_commit(
    button, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = press(button)

    assert response.status_code == 201
    alarm = Alarm.objects.get()
    assert response.json() == {"id": alarm.pk, "kind": "alarm", "event_id": "e-1"}
    assert published == [] and len(callbacks) == 1  # nothing before the commit
    callbacks[0]()
    station, payload = published[0]
    assert station == button.station_id
    assert payload["unit"]["name"] == "西福小学" and payload["location"] == "东门保安亭"
    assert payload["security_phone"] == "13900001111" and payload["grid"]["name"] == "西福第1网格"


def test_a_retry_answers_200_with_the_same_id_and_stores_nothing(button, published):
    first = press(button, event_id="e-7")
    again = press(button, event_id="e-7")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and Alarm.objects.count() == 1


def test_unknown_device_and_bad_signature_get_the_same_401(button):
    bad_signature = press(button, secret="f" * 64)
    button.device_id = "BTN-9999"
    unknown = press(button)

    assert bad_signature.status_code == unknown.status_code == 401
    assert bad_signature.json() == unknown.json()
    assert not Alarm.objects.exists()


def test_a_deactivated_device_is_refused(button):
    AlarmDevice.objects.filter(pk=button.pk).update(active=False)

    assert press(button).status_code == 401


@pytest.mark.parametrize(
    "offset", [-301, 305]
)  # ahead: the server reads the clock later, up to a second or more
def test_clock_skew_over_five_minutes_is_refused(button, offset):
    response = press(button, timestamp=int(time.time()) + offset)

    assert response.status_code == 401 and "5分钟" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", None),
        ("[1, 2]", None),
        (
            json.dumps({"event_id": "", "type": "panic", "occurred_at": "2026-11-28T10:00:00+08:00"}),
            "event_id",
        ),
        (json.dumps({"event_id": "e", "type": "fire", "occurred_at": "2026-11-28T10:00:00+08:00"}), "type"),
        (json.dumps({"event_id": "e", "type": "panic", "occurred_at": "2026-11-28T10:00:00"}), "occurred_at"),
        (json.dumps({"event_id": "e", "type": "panic", "occurred_at": 12}), "occurred_at"),
    ],
)
def test_malformed_events_are_400_with_a_detail(button, body, field):
    response = press(button, body=body)

    assert response.status_code == 400 and response.json()["detail"]
    if field:
        assert field in response.json()["errors"]
    assert not Alarm.objects.exists()


def test_heartbeats_and_alerts_are_device_events_with_status(button, published):
    assert press(button, event_id="hb-1", type_="heartbeat").status_code == 201
    button.refresh_from_db()
    assert button.status == DeviceStatus.ONLINE and button.last_seen_at is not None

    assert press(button, event_id="t-1", type_="tamper").json()["kind"] == "event"
    button.refresh_from_db()
    assert button.status == DeviceStatus.TAMPER
    assert DeviceEvent.objects.count() == 2 and not Alarm.objects.exists() and published == []


def test_a_test_press_is_a_drill(button, published):
    press(button, event_id="drill-1", type_="test")

    assert Alarm.objects.get().is_drill


# --- the console and the lifecycle ------------------------------------------------------------------------
def test_acknowledge_then_close_with_timestamps_and_audit(button, world, published):
    alarm = Alarm.objects.get(pk=press(button).json()["id"])

    services.acknowledge(alarm, by=world.dispatcher)
    services.acknowledge(alarm, by=world.director)  # the first acknowledgement stands
    alarm.refresh_from_db()
    assert alarm.state == "acknowledged" and alarm.acknowledged_by == world.dispatcher
    services.close(alarm, disposition="false", note="学生误触", by=world.dispatcher)
    alarm.refresh_from_db()
    assert (
        alarm.state == "closed" and alarm.disposition == "false" and alarm.closed_at >= alarm.acknowledged_at
    )
    with pytest.raises(ServiceError, match="已结案"):
        services.close(alarm, disposition="real", by=world.dispatcher)
    actions = list(
        AuditEntry.objects.filter(object_type="alarms.alarm").order_by("id").values_list("action", flat=True)
    )
    assert actions == ["alarms.acknowledge", "alarms.close"]


@pytest.mark.parametrize("user", ["officer_a", "auxiliary_a", "director_s2"])
def test_only_the_stations_console_roles_may_handle_an_alarm(button, world, user, published):
    alarm = Alarm.objects.get(pk=press(button).json()["id"])

    with pytest.raises(NotAllowed):
        services.acknowledge(alarm, by=world.users[user])


def test_console_shows_the_open_alarms_of_the_users_stations(button, world, client_for, published):
    press(button, event_id="e-open")
    closed = Alarm.objects.get(pk=press(button, event_id="e-closed").json()["id"])
    services.close(closed, disposition="test", by=world.director)

    page = client_for(world.dispatcher).get("/alarms/console/")
    other = client_for(world.director_s2).get("/alarms/console/")

    assert page.status_code == 200
    assert [a["id"] for a in page.context["alarms"]] == [Alarm.objects.get(event_id="e-open").pk]
    assert page.context["alarms"][0]["unit"]["name"] == "西福小学" and "报警调度台" in page.content.decode()
    assert other.context["alarms"] == []
    assert client_for(world.officer_a).get("/alarms/console/").status_code == 404


def test_console_actions_answer_json_and_stay_in_the_territory(button, world, client_for, published):
    alarm_id = press(button).json()["id"]
    json_accept = {"HTTP_ACCEPT": "application/json"}

    foreign = client_for(world.director_s2).post(f"/alarms/{alarm_id}/acknowledge/", **json_accept)
    mine = client_for(world.dispatcher).post(f"/alarms/{alarm_id}/acknowledge/", **json_accept)
    closed = client_for(world.dispatcher).post(
        f"/alarms/{alarm_id}/close/", {"disposition": "real"}, **json_accept
    )
    bad = client_for(world.dispatcher).post(f"/alarms/{alarm_id}/close/", {"disposition": "x"})

    assert foreign.status_code == 404
    assert mine.status_code == 200 and mine.json()["state"] == "acknowledged"
    assert mine.json()["acknowledged_by"]
    assert closed.json()["state"] == "closed"
    assert bad.status_code == 302


def test_a_database_failure_answers_503_and_the_retry_is_stored(button, published, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise OperationalError("the database is restarting")

    monkeypatch.setattr(services, "receive_event", broken)
    failed = press(button, event_id="e-db")
    monkeypatch.undo()
    retried = press(button, event_id="e-db")

    assert failed.status_code == 503 and failed["Retry-After"] == "1" and "重发" in failed.json()["detail"]
    assert "Traceback" not in caplog.text and button.plain_secret not in caplog.text
    assert retried.status_code == 201 and Alarm.objects.filter(device=button, event_id="e-db").count() == 1
