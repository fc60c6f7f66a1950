"""Drills: scheduling (one device or a whole station, repeated every N months), matching a press to its
window, settling windows that ended without one, cancelling, and the drill report."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from doorstep.alarms import devices, drills, realtime, services
from doorstep.alarms.choices import DrillStatus, EventType, Protocol
from doorstep.alarms.models import Alarm, Drill
from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.ids import synthetic_credit_code
from doorstep.registry import services as registry_services
from doorstep.registry.choices import UnitType
from doorstep.registry.tests.conftest import _rng, make_house

CST = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=CST)
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=CST)  # first window 09:00–10:00
HOUR = dt.timedelta(hours=1)


def key_unit(grid, name):
    house = make_house(grid)
    return registry_services.create_unit(
        name=name, credit_code=synthetic_credit_code(_rng), unit_type=UnitType.SCHOOL, key_level="1",
        address=house.address,
    )  # fmt: skip


def provision(unit, device_id, by):
    device, credentials = services.provision_device(unit=unit, device_id=device_id, location="大门", by=by)
    device.plain_secret = credentials["secret"]
    return device


@pytest.fixture
def school(world):
    return key_unit(world.grid_a, "西福小学")


@pytest.fixture
def button(school, world):
    return provision(school, "BTN-0001", world.director)


@pytest.fixture
def drill(button, world):
    (drill,) = drills.schedule_drills(
        device=button, first_start=START, occurrences=1, by=world.director, now=NOW
    )
    return drill


@pytest.fixture(autouse=True)
def _no_broadcast(monkeypatch):
    monkeypatch.setattr(realtime, "publish_to_station", lambda station, payload: None)
    monkeypatch.setattr(realtime, "publish_alert_to_station", lambda station, payload: None)


_events = iter(range(1, 10**6))


def stored_press(device, *, pressed_at, received_at=None, event_type=EventType.PANIC):
    """An alarm row as receive_event stores it (before any drill matching), at chosen moments."""
    return Alarm.objects.create(
        device=device, unit_id=device.unit_id, grid_id=device.grid_id, station_id=device.station_id,
        event_id=f"e-{next(_events)}", event_type=event_type, protocol=Protocol.HTTP, pressed_at=pressed_at,
        received_at=received_at or pressed_at, is_drill=event_type == EventType.TEST,
    )  # fmt: skip


# --- scheduling ------------------------------------------------------------------------------------------------
def test_quarterly_drills_for_one_device_keep_the_wall_clock_and_clamp_month_ends(button, world):
    created = drills.schedule_drills(
        device=button, first_start=dt.datetime(2026, 12, 31, 15, 0, tzinfo=CST), window=dt.timedelta(minutes=30),
        occurrences=4, by=world.director, now=NOW,
    )  # fmt: skip

    starts = [timezone.localtime(d.starts_at).strftime("%Y-%m-%d %H:%M") for d in created]
    assert starts == ["2026-12-31 15:00", "2027-03-31 15:00", "2027-06-30 15:00", "2027-09-30 15:00"]
    assert all(d.ends_at - d.starts_at == dt.timedelta(minutes=30) for d in created)
    assert all(d.status == DrillStatus.SCHEDULED and d.created_by == world.director for d in created)
    assert AuditEntry.objects.filter(action="alarms.schedule_drill").count() == 4


def test_the_defaults_are_one_hour_every_three_months(button, world):
    created = drills.schedule_drills(
        device=button, first_start=START, occurrences=2, by=world.director, now=NOW
    )

    assert [(d.starts_at, d.ends_at) for d in created] == [
        (START, START + HOUR),
        (dt.datetime(2027, 3, 1, 9, 0, tzinfo=CST), dt.datetime(2027, 3, 1, 10, 0, tzinfo=CST)),
    ]


def test_a_station_drill_covers_its_active_devices_only(button, school, world):
    second = provision(school, "BTN-0002", world.director)
    retired = provision(school, "BTN-0003", world.director)
    devices.set_active(retired, False, by=world.director)
    provision(key_unit(world.grid_d, "仁风银行"), "BTN-S2-01", world.director_s2)

    created = drills.schedule_drills(
        station=world.s1, first_start=START, occurrences=2, by=world.director, now=NOW
    )

    assert sorted({d.device.device_id for d in created}) == ["BTN-0001", "BTN-0002"]
    assert len(created) == 4 and {d.station_id for d in created} == {world.s1.pk}
    assert second.drills.count() == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first_start": NOW - HOUR}, "不能早于当前时间"),
        ({"window": dt.timedelta(minutes=1)}, "演练时长"),
        ({"every_months": 0}, "重复间隔"),
        ({"occurrences": 25}, "演练次数"),
    ],
)
def test_bad_schedules_are_refused_in_chinese(button, world, kwargs, message):
    arguments = {"device": button, "first_start": START, "by": world.director, "now": NOW} | kwargs

    with pytest.raises(ServiceError, match=message):
        drills.schedule_drills(**arguments)
    assert not Drill.objects.exists()


def test_overlapping_windows_are_refused(drill, button, world):
    with pytest.raises(RuleViolation, match="BTN-0001"):
        drills.schedule_drills(
            device=button, first_start=START + dt.timedelta(minutes=30), by=world.director, now=NOW
        )
    assert Drill.objects.count() == 1


@pytest.mark.parametrize("user", ["dispatcher", "director_s2", "officer_a", "leader"])
def test_only_the_stations_director_or_an_admin_schedules(button, world, user):
    with pytest.raises(NotAllowed):
        drills.schedule_drills(device=button, first_start=START, by=world.users[user], now=NOW)
    assert drills.schedule_drills(device=button, first_start=START, occurrences=1, by=world.admin, now=NOW)


# --- match_press -------------------------------------------------------------------------------------------------
def test_a_press_inside_the_window_is_the_drill(drill, button):
    alarm = stored_press(button, pressed_at=START + dt.timedelta(minutes=20))

    matched = drills.match_press(alarm)

    assert matched == drill
    drill.refresh_from_db()
    assert drill.status == DrillStatus.PASSED and drill.alarm == alarm
    assert Alarm.objects.get(pk=alarm.pk).is_drill and alarm.is_drill
    assert AuditEntry.objects.filter(action="alarms.drill_passed", object_id=str(drill.pk)).exists()


@pytest.mark.parametrize(
    "pressed_at",
    [START - dt.timedelta(seconds=1), START + HOUR, START + dt.timedelta(days=1)],
    ids=["a-second-early", "at-the-end", "next-day"],
)
def test_a_press_outside_the_window_is_a_real_alarm(drill, button, pressed_at):
    alarm = stored_press(button, pressed_at=pressed_at)

    assert drills.match_press(alarm) is None
    assert not Alarm.objects.get(pk=alarm.pk).is_drill
    assert Drill.objects.get(pk=drill.pk).status == DrillStatus.SCHEDULED


def test_the_received_time_counts_when_the_device_clock_is_wrong(drill, button):
    alarm = stored_press(
        button, pressed_at=START - dt.timedelta(hours=5), received_at=START + dt.timedelta(minutes=1)
    )

    assert drills.match_press(alarm) == drill


def test_the_start_of_the_window_is_inside(drill, button):
    assert drills.match_press(stored_press(button, pressed_at=START)) == drill


def test_only_the_first_press_of_a_window_is_the_drill(drill, button):
    first = stored_press(button, pressed_at=START + dt.timedelta(minutes=1))
    second = stored_press(button, pressed_at=START + dt.timedelta(minutes=2))

    assert drills.match_press(first) == drill
    assert drills.match_press(second) is None
    assert not Alarm.objects.get(pk=second.pk).is_drill


def test_a_test_press_inside_the_window_passes_the_drill(drill, button):
    alarm = stored_press(button, pressed_at=START + dt.timedelta(minutes=5), event_type=EventType.TEST)

    assert drills.match_press(alarm) == drill and Alarm.objects.get(pk=alarm.pk).is_drill


def test_cancelled_drills_and_other_devices_drills_are_ignored(drill, button, school, world):
    other = provision(school, "BTN-0002", world.director)
    drills.cancel_drill(drill, by=world.director, note="单位放假")

    assert drills.match_press(stored_press(button, pressed_at=START + dt.timedelta(minutes=5))) is None
    assert drills.match_press(stored_press(other, pressed_at=START + dt.timedelta(minutes=5))) is None
    assert Drill.objects.get(pk=drill.pk).status == DrillStatus.CANCELLED
    assert drills.settle_due(START + 2 * HOUR) == 0


def test_a_press_through_the_receiver_in_the_window_is_a_drill(drill, button):
    """Through services.receive_event (the HTTP receiver): needs the match_press call in receive_event."""
    body = json.dumps(
        {
            "event_id": "drill-press",
            "type": "panic",
            "occurred_at": (START + dt.timedelta(minutes=3)).isoformat(),
        }
    ).encode()
    with time_machine.travel(START + dt.timedelta(minutes=3), tick=False):
        timestamp = str(int(timezone.now().timestamp()))
        signature = hmac.new(
            button.plain_secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        response = Client().post(
            "/api/v1/alarm-events", body, content_type="application/json",
            HTTP_X_DEVICE_ID=button.device_id, HTTP_X_TIMESTAMP=timestamp, HTTP_X_SIGNATURE=signature,
        )  # fmt: skip

    assert response.status_code == 201
    alarm = Alarm.objects.get(pk=response.json()["id"])
    drill.refresh_from_db()
    assert alarm.is_drill and drill.status == DrillStatus.PASSED and drill.alarm_id == alarm.pk
    assert services.console_payload(alarm)["drill"] is True


# --- settle_due --------------------------------------------------------------------------------------------------
def test_settle_due_fails_an_unpressed_window_once(drill, button):
    end = drill.ends_at

    assert drills.settle_due(end) == 0  # the grace minute for a late delivery
    assert drills.settle_due(end + drills.SETTLE_GRACE - dt.timedelta(seconds=1)) == 0
    assert drills.settle_due(end + drills.SETTLE_GRACE) == 1
    assert drills.settle_due(end + drills.SETTLE_GRACE + dt.timedelta(seconds=1)) == 0
    assert Drill.objects.get(pk=drill.pk).status == DrillStatus.FAILED
    assert AuditEntry.objects.filter(action="alarms.drill_failed").count() == 1
    # A press after the drill failed is an ordinary alarm.
    assert drills.match_press(stored_press(button, pressed_at=end - dt.timedelta(minutes=1))) is None


def test_settle_due_leaves_passed_and_future_drills_alone(button, world):
    first, second = drills.schedule_drills(
        device=button, first_start=START, occurrences=2, by=world.director, now=NOW
    )
    drills.match_press(stored_press(button, pressed_at=START + dt.timedelta(minutes=10)))

    assert drills.settle_due(START + 3 * HOUR) == 0
    assert Drill.objects.get(pk=first.pk).status == DrillStatus.PASSED
    assert Drill.objects.get(pk=second.pk).status == DrillStatus.SCHEDULED


def test_settle_due_is_one_query_when_nothing_is_due(drill, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert drills.settle_due(START) == 0


# --- cancelling ----------------------------------------------------------------------------------------------------
def test_only_scheduled_drills_can_be_cancelled(drill, world):
    with pytest.raises(NotAllowed):
        drills.cancel_drill(drill, by=world.dispatcher)
    drills.cancel_drill(drill, by=world.director, note="天气原因")

    with pytest.raises(RuleViolation, match="已取消"):
        drills.cancel_drill(drill, by=world.director)
    assert AuditEntry.objects.get(action="alarms.cancel_drill").note == "天气原因"


# --- the report and the pages ------------------------------------------------------------------------------------
@pytest.fixture
def quarter(button, school, world):
    """Two devices, Dec 2026: BTN-0001 passes one drill and fails one; BTN-0002 fails; one is cancelled."""
    other = provision(school, "BTN-0002", world.director)
    d1, d2 = drills.schedule_drills(device=button, first_start=START, every_months=1, occurrences=2,
                                    by=world.director, now=NOW)  # fmt: skip
    (d3,) = drills.schedule_drills(device=other, first_start=START, occurrences=1, by=world.director, now=NOW)
    (d4,) = drills.schedule_drills(device=other, first_start=START + dt.timedelta(days=3), occurrences=1,
                                   by=world.director, now=NOW)  # fmt: skip
    drills.match_press(stored_press(button, pressed_at=START + dt.timedelta(minutes=7)))
    drills.cancel_drill(d4, by=world.director)
    drills.settle_due(d2.ends_at + dt.timedelta(hours=1))
    return {"passed": d1, "failed": [d2, d3], "cancelled": d4, "other": other}


def test_the_report_lists_failed_devices(quarter, button):
    result = drills.report(
        Drill.objects.all(), dt.datetime(2026, 12, 1, tzinfo=CST), dt.datetime(2027, 2, 1, tzinfo=CST)
    )

    assert result.counts == {"passed": 1, "failed": 2, "cancelled": 1}
    assert [(e["device"].device_id, e["failed"], e["drills"]) for e in result.failed_devices] == [
        ("BTN-0001", 1, 2), ("BTN-0002", 1, 1),
    ]  # fmt: skip
    assert result.pass_rate == pytest.approx(1 / 3)


@pytest.mark.parametrize("user", ["director", "dispatcher", "leader", "admin"])
def test_the_drill_report_page_renders_for_each_allowed_role(quarter, world, client_for, user):
    response = client_for(world.users[user]).get("/alarms/drills/?start=2026-12-01&end=2027-01-31")

    assert response.status_code == 200
    body = response.content.decode()
    assert "演练失败的设备" in body and "BTN-0002" in body
    assert [e["device"].device_id for e in response.context["report"].failed_devices] == [
        "BTN-0001",
        "BTN-0002",
    ]
    assert ("安排演练" in body) == (user in ("director", "admin"))


def test_the_drill_report_is_scoped(quarter, world, client_for):
    foreign = client_for(world.director_s2).get("/alarms/drills/?start=2026-12-01&end=2027-01-31")

    assert foreign.status_code == 200 and foreign.context["report"].drills == []
    assert client_for(world.officer_a).get("/alarms/drills/").status_code == 404


@pytest.mark.parametrize(
    "query",
    ["start=2026-13-01", "end=abc", "start=2027-01-01&end=2026-01-01", "station=abc", "station=987654321"],
)
def test_bad_report_parameters_are_400_not_500(quarter, world, client_for, query):
    response = client_for(world.director).get(f"/alarms/drills/?{query}")

    assert response.status_code == 400 and response.context["form"].errors


def test_scheduling_through_the_page(button, world, client_for):
    client = client_for(world.director)

    with time_machine.travel(NOW, tick=False):
        errors = client.post(
            "/alarms/drills/new/", {"target": "device", "first_start": "", "window_minutes": 60}
        )
        past = client.post("/alarms/drills/new/", {"target": "device", "device": button.pk,
                                                   "first_start": "2026-11-01T09:00", "window_minutes": 60,
                                                   "every_months": 3, "occurrences": 4})  # fmt: skip
        done = client.post("/alarms/drills/new/", {"target": "station", "station": world.s1.pk,
                                                   "first_start": "2026-12-01T09:00", "window_minutes": 90,
                                                   "every_months": 3, "occurrences": 4, "note": "季度演练"})  # fmt: skip

    form = errors.context["form"]
    assert form.errors["first_start"] == ["该字段是必填项。"] and form.errors["device"] == ["请选择设备"]
    assert past.context["form"].errors["first_start"] == ["首次演练开始时间不能早于当前时间"]
    assert done.status_code == 302 and "/alarms/drills/?station=" in done["Location"]
    assert Drill.objects.filter(device=button, note="季度演练").count() == 4
    assert all(d.ends_at - d.starts_at == dt.timedelta(minutes=90) for d in Drill.objects.all())


@pytest.mark.parametrize("user", ["dispatcher", "leader", "officer_a"])
def test_who_may_not_schedule_gets_404(button, world, client_for, user):
    client = client_for(world.users[user])

    assert client.get("/alarms/drills/new/").status_code == 404
    assert (
        client.post("/alarms/drills/new/", {"target": "station", "station": world.s1.pk}).status_code == 404
    )


def test_the_schedule_form_offers_only_the_directors_station(button, world, client_for):
    provision(key_unit(world.grid_d, "仁风银行"), "BTN-S2-01", world.director_s2)

    form = client_for(world.director).get(f"/alarms/drills/new/?device={button.pk}").context["form"]

    assert [d.device_id for d in form.fields["device"].queryset] == ["BTN-0001"]
    assert list(form.fields["station"].queryset) == [world.s1]
    assert (form.initial["device"], form.initial["target"]) == (button.pk, "device")


def test_cancelling_through_the_page(drill, world, client_for):
    assert client_for(world.director_s2).post(f"/alarms/drills/{drill.pk}/cancel/").status_code == 404
    assert client_for(world.dispatcher).post(f"/alarms/drills/{drill.pk}/cancel/").status_code == 403
    assert Drill.objects.get(pk=drill.pk).status == DrillStatus.SCHEDULED

    response = client_for(world.director).post(
        f"/alarms/drills/{drill.pk}/cancel/", {"note": "改期"}, follow=True
    )

    assert response.status_code == 200 and "演练已取消" in response.content.decode()
    assert Drill.objects.get(pk=drill.pk).status == DrillStatus.CANCELLED
    assert response.context["period"] == (dt.date(2026, 12, 1), dt.date(2027, 2, 28))  # the drill's quarter
    assert [d.pk for d in response.context["report"].drills] == [drill.pk]
