"""Device provisioning and management pages, and the device-health page: roles and territory, Chinese form
errors, credentials shown once (never stored in a page, URL, log or audit row), rotation, deactivation,
clearing alerts by hand, and the health of every device on reload."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import json
import logging
import re
import shutil
import subprocess
import time

import pytest
from django.test import Client
from django.utils import timezone

from doorstep.alarms import devices, mqtt, services, signing, supervision
from doorstep.alarms.choices import AlertKind, DrillStatus, Protocol
from doorstep.alarms.models import Alarm, AlarmDevice, DeviceAlert, Drill
from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.ids import synthetic_credit_code
from doorstep.registry import services as registry_services
from doorstep.registry.choices import UnitType
from doorstep.registry.tests.conftest import _rng, make_house

RECEIVER = "/api/v1/alarm-events"


def key_unit(grid, name):
    house = make_house(grid)
    return registry_services.create_unit(
        name=name, credit_code=synthetic_credit_code(_rng), unit_type=UnitType.SCHOOL, key_level="1",
        address=house.address, security_lead="陈保安", security_phone="13900001111",
    )  # fmt: skip


@pytest.fixture
def school(world):
    return key_unit(world.grid_a, "西福小学")


@pytest.fixture
def bank_s2(world):
    return key_unit(world.grid_d, "仁风银行")


@pytest.fixture
def button(school, world):
    device, credentials = services.provision_device(
        unit=school, device_id="BTN-0001", location="东门保安亭", by=world.director
    )
    device.plain_secret = credentials["secret"]
    return device


@pytest.fixture
def button_s2(bank_s2, world):
    device, _credentials = services.provision_device(
        unit=bank_s2, device_id="BTN-S2-01", location="营业厅", by=world.director_s2
    )
    return device


def signed_post(device_id, secret, *, event_id="e-1", type_="panic"):
    raw = json.dumps(
        {"event_id": event_id, "type": type_, "occurred_at": dt.datetime.now(dt.UTC).isoformat()}
    ).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return Client().post(
        RECEIVER, raw, content_type="application/json",
        HTTP_X_DEVICE_ID=device_id, HTTP_X_TIMESTAMP=timestamp, HTTP_X_SIGNATURE=signature,
    )  # fmt: skip


def new_device_form(unit, **overrides):
    data = {
        "unit": unit.pk, "device_id": "BTN-0100", "kind": "button", "protocol": "http",
        "location": "北门", "heartbeat_seconds": 300, "sia_account": "",
    }  # fmt: skip
    data.update(overrides)
    return data


# --- the device list ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "seen"),
    [
        ("dispatcher", ["BTN-0001"]),
        ("director", ["BTN-0001"]),
        ("director_s2", ["BTN-S2-01"]),
        ("leader", ["BTN-0001", "BTN-S2-01"]),
        ("admin", ["BTN-0001", "BTN-S2-01"]),
    ],
)
def test_device_list_shows_the_devices_of_the_users_stations(
    button, button_s2, world, client_for, user, seen
):
    response = client_for(world.users[user]).get("/alarms/devices/")

    assert response.status_code == 200
    assert [d.device_id for d in response.context["page"]] == seen
    assert (
        "新增报警设备" in response.content.decode() if user in ("director", "director_s2", "admin") else True
    )


@pytest.mark.parametrize("user", ["officer_a", "auxiliary_a", "patrol", "evaluator"])
def test_roles_without_device_pages_get_404(button, world, client_for, user):
    client = client_for(world.users[user])

    for url in ("/alarms/devices/", f"/alarms/devices/{button.pk}/", "/alarms/devices/health/",
                "/alarms/devices/new/", f"/alarms/devices/{button.pk}/rotate/"):  # fmt: skip
        assert client.get(url).status_code == 404, url


def test_device_list_filters_by_unit_protocol_and_health(button, school, world, client_for):
    panel, _credentials = services.provision_device(
        unit=school, device_id="PNL-0001", location="值班室", protocol=Protocol.DC09, sia_account="1A2B",
        by=world.director,
    )  # fmt: skip
    services.receive_event(
        panel, event_id="hb", event_type="heartbeat", occurred_at=timezone.now(), protocol=Protocol.DC09
    )
    client = client_for(world.dispatcher)

    def ids(query):
        return [d.device_id for d in client.get(f"/alarms/devices/?{query}").context["page"]]

    assert ids("protocol=dc09") == ["PNL-0001"]
    assert ids("health=never_seen") == ["BTN-0001"]
    assert ids("health=online") == ["PNL-0001"]
    assert ids(f"unit={school.pk}") == ["BTN-0001", "PNL-0001"]
    assert ids("q=东门") == ["BTN-0001"]


@pytest.mark.parametrize(
    "query",
    ["station=abc", "station=99999999999999999999", "unit=-1", "health=bogus", "protocol=x", "page=999",
     "page=abc", "station=987654321"],
)  # fmt: skip
def test_bad_list_parameters_are_no_500(button, world, client_for, query):
    response = client_for(world.director).get(f"/alarms/devices/?{query}")

    assert response.status_code == 200


def test_device_list_queries_do_not_grow_with_devices(
    school, world, client_for, django_assert_max_num_queries
):
    for n in range(12):
        device, _c = services.provision_device(
            unit=school, device_id=f"BTN-{n:04d}", location=f"{n}号门", by=world.director
        )
        supervision.raise_alert(device, AlertKind.TAMPER)
    client = client_for(world.dispatcher)

    with django_assert_max_num_queries(16):
        assert client.get("/alarms/devices/").status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get("/alarms/devices/health/").status_code == 200


# --- provisioning --------------------------------------------------------------------------------------------
def test_provisioning_form_errors_are_in_chinese(school, world, client_for):
    client = client_for(world.director)

    empty = client.post("/alarms/devices/new/", {})
    bad_id = client.post("/alarms/devices/new/", new_device_form(school, device_id="x!"))
    dc09 = client.post("/alarms/devices/new/", new_device_form(school, protocol="dc09"))
    beat = client.post("/alarms/devices/new/", new_device_form(school, heartbeat_seconds=10))

    assert empty.status_code == 200 and "该字段是必填项" in empty.context["form"].errors["location"][0]
    assert "设备编号应为4至40位" in bad_id.context["form"].errors["device_id"][0]
    assert dc09.context["form"].errors["sia_account"] == ["SIA DC-09 设备须填写 SIA 账号"]
    assert beat.context["form"].errors["heartbeat_seconds"] == ["确保该值大于或等于30。"]
    assert not AlarmDevice.objects.exists()


def test_a_duplicate_device_id_is_a_field_error(button, school, world, client_for):
    response = client_for(world.director).post(
        "/alarms/devices/new/", new_device_form(school, device_id="BTN-0001")
    )

    assert response.context["form"].errors["device_id"] == ["设备编号 BTN-0001 已存在"]
    assert AlarmDevice.objects.count() == 1


def test_the_form_offers_only_the_key_units_the_director_manages(school, bank_s2, world, client_for):
    shop = registry_services.create_unit(
        name="小卖部",
        credit_code=synthetic_credit_code(_rng),
        unit_type=UnitType.SHOP,
        address=school.address,
    )
    client = client_for(world.director)

    page = client.get(f"/alarms/devices/new/?unit={school.pk}")
    foreign = client.post("/alarms/devices/new/", new_device_form(bank_s2))

    assert list(page.context["form"].fields["unit"].queryset) == [school]  # not the shop, not S2's bank
    assert page.context["form"].initial["unit"] == school.pk
    assert "unit" in foreign.context["form"].errors and not AlarmDevice.objects.exists()
    assert client.get(f"/alarms/devices/new/?unit={shop.pk}").context["form"].initial == {}


@pytest.mark.parametrize("user", ["dispatcher", "leader", "officer_a"])
def test_who_may_not_provision_gets_404_and_nothing_is_created(school, world, client_for, user):
    client = client_for(world.users[user])

    assert client.get("/alarms/devices/new/").status_code == 404
    assert client.post("/alarms/devices/new/", new_device_form(school)).status_code == 404
    assert not AlarmDevice.objects.exists()
    with pytest.raises(NotAllowed):
        services.provision_device(unit=school, device_id="BTN-0200", location="门", by=world.users[user])


def test_credentials_are_shown_once_with_no_store_and_never_again(school, world, client_for, caplog):
    client = client_for(world.director)

    with caplog.at_level(logging.DEBUG):
        response = client.post("/alarms/devices/new/", new_device_form(school), follow=False)

    device = AlarmDevice.objects.get(device_id="BTN-0100")
    body = response.content.decode()
    assert response.status_code == 200 and device.secret in body
    assert "密钥只显示一次" in body and "X-Signature" in body and "X-Timestamp" in body
    assert 'printf \'%s.%s\' "$TS" "$BODY"' in body  # the example signs timestamp + "." + body
    assert "no-store" in response["Cache-Control"]
    assert device.secret not in caplog.text
    assert not AuditEntry.objects.filter(after__icontains=device.secret).exists()
    assert AuditEntry.objects.filter(action="alarms.provision_device", object_id=str(device.pk)).exists()
    # Not retrievable later: no page shows it, not even to the director who created it.
    for url in (f"/alarms/devices/{device.pk}/", "/alarms/devices/", "/alarms/devices/health/",
                f"/alarms/devices/{device.pk}/rotate/", f"/alarms/devices/{device.pk}/edit/"):  # fmt: skip
        assert device.secret not in client.get(url).content.decode(), url
    # A second submission of the same form creates nothing and shows no credentials.
    again = client.post("/alarms/devices/new/", new_device_form(school))
    assert device.secret not in again.content.decode() and AlarmDevice.objects.count() == 1


def test_dc09_credentials_are_the_account_and_the_aes_key(school, world, client_for):
    response = client_for(world.admin).post(
        "/alarms/devices/new/",
        new_device_form(
            school, device_id="PNL-0009", protocol="dc09", sia_account="abc123", with_aes_key="on"
        ),
    )

    device = AlarmDevice.objects.get(device_id="PNL-0009")
    body = response.content.decode()
    assert device.sia_account == "ABC123" and len(device.aes_key) == 32 and not device.secret
    assert device.aes_key in body and "ABC123" in body and "只显示一次" in body and "AES-128" in body
    assert (
        device.aes_key not in client_for(world.director).get(f"/alarms/devices/{device.pk}/").content.decode()
    )


# --- rotation, editing, deactivation -------------------------------------------------------------------------
def test_rotation_shows_a_new_secret_once_and_the_old_one_gets_401(button, world, client_for):
    old = button.plain_secret
    assert signed_post("BTN-0001", old, event_id="before").status_code == 201
    client = client_for(world.director)

    unconfirmed = client.post(f"/alarms/devices/{button.pk}/rotate/", {})
    response = client.post(f"/alarms/devices/{button.pk}/rotate/", {"confirm": "on"})

    assert unconfirmed.context["form"].errors["confirm"] == ["请确认旧密钥将立即失效"]
    button.refresh_from_db()
    assert button.secret != old and button.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"] and "旧密钥已经失效" in response.content.decode()
    assert signed_post("BTN-0001", old, event_id="after-old").status_code == 401
    assert signed_post("BTN-0001", button.secret, event_id="after-new").status_code == 201
    entry = AuditEntry.objects.get(action="alarms.rotate_credentials")
    assert entry.actor_id == world.director.pk and button.secret not in json.dumps(entry.after)
    assert old not in json.dumps(entry.after)


def test_rotation_of_dc09_keys(school, world):
    keyed, _c = services.provision_device(
        unit=school, device_id="PNL-0001", location="值班室", protocol=Protocol.DC09, sia_account="1A2B",
        with_aes_key=True, by=world.director,
    )  # fmt: skip
    plain, _c = services.provision_device(
        unit=school, device_id="PNL-0002", location="值班室", protocol=Protocol.DC09, sia_account="1A2C",
        by=world.director,
    )  # fmt: skip
    old_key = keyed.aes_key

    _device, credentials = devices.rotate_credentials(keyed, by=world.director)
    with pytest.raises(ServiceError, match="未启用加密"):
        devices.rotate_credentials(plain, by=world.director)
    _device, first_key = devices.rotate_credentials(plain, by=world.director, with_aes_key=True)

    keyed.refresh_from_db()
    assert keyed.aes_key == credentials["aes_key"] != old_key and credentials["sia_account"] == "1A2B"
    assert (
        len(first_key["aes_key"]) == 32
        and AlarmDevice.objects.get(pk=plain.pk).aes_key == first_key["aes_key"]
    )


def test_a_dispatcher_sees_the_device_but_may_not_manage_it(button, world, client_for):
    client = client_for(world.dispatcher)

    assert client.get(f"/alarms/devices/{button.pk}/").status_code == 200
    assert client.get(f"/alarms/devices/{button.pk}/rotate/").status_code == 403
    assert client.post(f"/alarms/devices/{button.pk}/rotate/", {"confirm": "on"}).status_code == 403
    assert (
        client.post(
            f"/alarms/devices/{button.pk}/edit/", {"location": "x", "heartbeat_seconds": 60}
        ).status_code
        == 403
    )
    assert client.post(f"/alarms/devices/{button.pk}/active/", {"active": "0"}).status_code == 403
    assert AlarmDevice.objects.get(pk=button.pk).secret == button.plain_secret
    assert (
        not AuditEntry.objects.exclude(action="alarms.provision_device")
        .filter(object_type="alarms.alarmdevice")
        .exists()
    )


def test_a_director_of_another_station_gets_404_everywhere(button, world, client_for):
    client = client_for(world.director_s2)

    for url in (f"/alarms/devices/{button.pk}/", f"/alarms/devices/{button.pk}/edit/",
                f"/alarms/devices/{button.pk}/rotate/"):  # fmt: skip
        assert client.get(url).status_code == 404, url
    assert client.post(f"/alarms/devices/{button.pk}/rotate/", {"confirm": "on"}).status_code == 404
    assert client.post(f"/alarms/devices/{button.pk}/active/", {"active": "0"}).status_code == 404
    with pytest.raises(NotAllowed):
        devices.rotate_credentials(button, by=world.director_s2)
    assert AlarmDevice.objects.get(pk=button.pk).active


def test_editing_location_and_heartbeat_is_audited(button, world, client_for):
    client = client_for(world.director)

    bad = client.post(f"/alarms/devices/{button.pk}/edit/", {"location": "", "heartbeat_seconds": 100000})
    good = client.post(
        f"/alarms/devices/{button.pk}/edit/", {"location": "西门岗亭", "heartbeat_seconds": 120}
    )

    assert bad.context["form"].errors == {
        "location": ["该字段是必填项。"], "heartbeat_seconds": ["确保该值小于或等于86400。"],
    }  # fmt: skip
    assert good.status_code == 302
    button.refresh_from_db()
    assert (button.location, button.heartbeat_seconds) == ("西门岗亭", 120)
    entry = AuditEntry.objects.get(action="alarms.update_device")
    assert entry.before == {"location": "东门保安亭", "heartbeat_seconds": 300}
    assert entry.after == {"location": "西门岗亭", "heartbeat_seconds": 120}


def test_deactivation_refuses_presses_clears_alerts_and_cancels_drills(button, world, client_for):
    supervision.raise_alert(button, AlertKind.OFFLINE)
    drill = Drill.objects.create(
        device=button, grid=button.grid, station=button.station,
        starts_at=timezone.now() + dt.timedelta(days=1), ends_at=timezone.now() + dt.timedelta(days=1, hours=1),
    )  # fmt: skip
    client = client_for(world.director)

    response = client.post(f"/alarms/devices/{button.pk}/active/", {"active": "0", "note": "单位装修拆除"})

    assert response.status_code == 302
    assert signed_post("BTN-0001", button.plain_secret).status_code == 401
    assert not DeviceAlert.objects.filter(cleared_at__isnull=True).exists()
    assert Drill.objects.get(pk=drill.pk).status == DrillStatus.CANCELLED
    assert AuditEntry.objects.get(action="alarms.deactivate_device").note == "单位装修拆除"
    with pytest.raises(RuleViolation, match="已停用"):
        devices.set_active(button, False, by=world.director)

    client.post(f"/alarms/devices/{button.pk}/active/", {"active": "1"})
    assert signed_post("BTN-0001", button.plain_secret, event_id="back").status_code == 201


# --- alerts ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("user", ["dispatcher", "director", "admin"])
def test_an_alert_is_cleared_by_hand_with_a_note(button, world, client_for, user):
    alert = supervision.raise_alert(button, AlertKind.LOW_BATTERY)
    client = client_for(world.users[user])

    without_note = client.post(f"/alarms/device-alerts/{alert.pk}/clear/", {"note": ""}, follow=True)
    response = client.post(
        f"/alarms/device-alerts/{alert.pk}/clear/", {"note": "已更换电池", "back": "health"}
    )

    assert "请填写解除说明" in without_note.content.decode()
    assert response.status_code == 302 and response["Location"] == "/alarms/devices/health/"
    alert.refresh_from_db()
    assert alert.cleared_at is not None and alert.cleared_by == world.users[user]
    entry = AuditEntry.objects.get(action="alarms.clear_alert")
    assert entry.note == "已更换电池" and entry.object_id == str(alert.pk)
    page = client.get(f"/alarms/devices/{button.pk}/").content.decode()
    assert "已更换电池" in page
    again = client.post(f"/alarms/device-alerts/{alert.pk}/clear/", {"note": "再次"}, follow=True)
    assert "该告警已解除" in again.content.decode()


@pytest.mark.parametrize(("user", "status"), [("director_s2", 404), ("officer_a", 404), ("leader", 403)])
def test_who_may_not_clear_an_alert(button, world, client_for, user, status):
    alert = supervision.raise_alert(button, AlertKind.TAMPER)

    response = client_for(world.users[user]).post(f"/alarms/device-alerts/{alert.pk}/clear/", {"note": "x"})

    assert response.status_code == status
    assert DeviceAlert.objects.get(pk=alert.pk).cleared_at is None
    assert not AuditEntry.objects.filter(action="alarms.clear_alert").exists()
    with pytest.raises(NotAllowed):
        devices.clear_alert(alert, note="x", by=world.users[user])


# --- the device-health page ----------------------------------------------------------------------------------
def test_health_page_is_right_on_reload(school, world, client_for):
    now = timezone.now()

    def make(device_id, heartbeat=60):
        device, _c = services.provision_device(
            unit=school, device_id=device_id, location="门", heartbeat_seconds=heartbeat, by=world.director
        )
        return device

    online, never, silent, overdue, tampered, low, off = (
        make(n) for n in ("ON-01", "NEW-01", "MUTE-01", "LATE-01", "TMP-01", "BAT-01", "OFF-01")
    )
    seen = now - dt.timedelta(seconds=30)
    AlarmDevice.objects.filter(pk__in=[online.pk, tampered.pk, low.pk]).update(last_seen_at=seen)
    AlarmDevice.objects.filter(pk=overdue.pk).update(
        last_seen_at=now - dt.timedelta(seconds=121)
    )  # > 2 × 60 s
    # Never heard from since it was provisioned three minutes ago: offline, as supervision will say.
    AlarmDevice.objects.filter(pk=silent.pk).update(created_at=now - dt.timedelta(minutes=3))
    supervision.raise_alert(tampered, AlertKind.TAMPER, now=now - dt.timedelta(hours=2, minutes=5))
    supervision.raise_alert(low, AlertKind.LOW_BATTERY)
    devices.set_active(off, False, by=world.director)

    response = client_for(world.dispatcher).get("/alarms/devices/health/")

    rows = {d.device_id: d for d in response.context["rows"]}
    assert {k: d.health for k, d in rows.items()} == {
        "ON-01": "online", "NEW-01": "never_seen", "MUTE-01": "offline", "LATE-01": "offline", "TMP-01": "tamper",
        "BAT-01": "low_battery",
    }  # fmt: skip
    assert list(rows)[:2] == ["LATE-01", "MUTE-01"]  # worst first
    assert dict((v, n) for v, _l, n in response.context["counts"]) == {
        "offline": 2, "tamper": 1, "low_battery": 1, "never_seen": 1, "online": 1,
    }  # fmt: skip
    assert response.context["inactive"] == 1 and response.context["open_alerts"] == 2
    assert rows["TMP-01"].open_alerts[0].age == "2小时5分"
    body = response.content.decode()
    assert "心跳超时" in body and "防拆报警" in body and "no-store" in response["Cache-Control"]
    partial = client_for(world.dispatcher).get("/alarms/devices/health/?partial=1")
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert 'data-device="TMP-01"' in partial.content.decode()


def test_an_offline_alert_shows_offline_until_the_device_reports(button, world, client_for):
    supervision.raise_alert(button, AlertKind.OFFLINE)
    client = client_for(world.director)
    assert [d.health for d in client.get("/alarms/devices/health/").context["rows"]] == ["offline"]

    services.receive_event(
        button, event_id="hb-1", event_type="heartbeat", occurred_at=timezone.now(), protocol=Protocol.HTTP
    )

    assert [d.health for d in client.get("/alarms/devices/health/").context["rows"]] == ["online"]


@pytest.mark.parametrize(("user", "seen"), [("dispatcher", {"BTN-0001"}), ("director_s2", {"BTN-S2-01"}),
                                            ("leader", {"BTN-0001", "BTN-S2-01"})])  # fmt: skip
def test_health_page_is_scoped_to_the_users_stations(button, button_s2, world, client_for, user, seen):
    response = client_for(world.users[user]).get("/alarms/devices/health/")

    assert {d.device_id for d in response.context["rows"]} == seen
    assert client_for(world.users[user]).get("/alarms/devices/health/?station=abc").status_code == 200


@pytest.mark.parametrize("user", ["dispatcher", "director", "leader", "admin"])
def test_device_pages_render_for_each_allowed_role(button, world, client_for, user):
    supervision.raise_alert(button, AlertKind.TAMPER)
    alarm, _new = services.receive_event(
        button, event_id="p-1", event_type="panic", occurred_at=timezone.now(), protocol=Protocol.HTTP
    )
    client = client_for(world.users[user])

    detail = client.get(f"/alarms/devices/{button.pk}/")

    assert detail.status_code == 200
    body = detail.content.decode()
    assert "西福小学" in body and "东门保安亭" in body and "防拆报警" in body and "紧急报警" in body
    assert ("更换密钥" in body) == (user in ("director", "admin"))
    assert client.get("/alarms/devices/").status_code == 200
    assert client.get("/alarms/devices/health/").status_code == 200
    assert Alarm.objects.filter(pk=alarm.pk).exists()


# --- the example configuration really works ------------------------------------------------------------------
def _example_script(page: str) -> str:
    pre = re.search(r'<pre class="mb-0"[^>]*>(.*?)</pre>', page, re.S)
    assert pre, "no example on the credentials page"
    return html.unescape(pre.group(1))


def _run_with(script: str, command: str) -> list[str]:
    """Run the page's example in bash with `command` (curl, mosquitto_pub) replaced by a function that
    prints its arguments, NUL-separated: the real tools and a signing done by openssl, no network."""
    if not shutil.which("openssl"):
        pytest.skip("!!! openssl is not installed — the credentials page's example uses it")
    fake = f'{command}() {{ printf "%s\\0" "$@"; }}\n'
    result = subprocess.run(["bash", "-c", fake + script], capture_output=True, check=True, timeout=10)
    return result.stdout.decode().split("\0")[:-1]


def test_the_http_example_signs_a_request_the_receiver_accepts(school, world, client_for):
    page = client_for(world.director).post("/alarms/devices/new/", new_device_form(school)).content.decode()

    args = _run_with(_example_script(page), "curl")

    headers = dict(args[i + 1].split(": ", 1) for i, a in enumerate(args) if a == "-H")
    body = args[args.index("-d") + 1]
    assert args[:3] == ["-X", "POST", "http://testserver/api/v1/alarm-events"]
    response = Client().post(
        RECEIVER, body.encode(), content_type="application/json", HTTP_X_DEVICE_ID=headers["X-Device-Id"],
        HTTP_X_TIMESTAMP=headers["X-Timestamp"], HTTP_X_SIGNATURE=headers["X-Signature"],
    )  # fmt: skip
    assert response.status_code == 201 and response.json()["kind"] == "alarm"
    assert Alarm.objects.get(pk=response.json()["id"]).is_drill  # the example presses "test"


def test_the_mqtt_example_signs_what_the_mqtt_receiver_checks(school, world, client_for):
    page = (
        client_for(world.director)
        .post("/alarms/devices/new/", new_device_form(school, device_id="MQ-0001", protocol="mqtt"))
        .content.decode()
    )
    device = AlarmDevice.objects.get(device_id="MQ-0001")

    args = _run_with(_example_script(page), "mosquitto_pub")

    assert (
        args[args.index("-t") + 1] == "doorstep/devices/MQ-0001/events" and args[args.index("-q") + 1] == "1"
    )
    payload = json.loads(args[args.index("-m") + 1])
    message = mqtt.signed_text("MQ-0001", payload["event_id"], payload["type"], payload["occurred_at"])
    assert signing.signature_ok(device, payload["timestamp"], message, payload["signature"])
    assert signing.check_event_fields(payload)[1] == {} and payload["type"] == "test"
