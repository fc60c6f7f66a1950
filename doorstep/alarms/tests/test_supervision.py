"""supervision.tick with a frozen clock: escalation of unacknowledged alarms, lateness against the response
norm (city 5 min, suburb 10 min), heartbeat supervision, device status following the open alerts, and a tick
with nothing due that costs a few reads and writes nothing."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from doorstep.alarms import drills, services, supervision
from doorstep.alarms.choices import AlarmState, AlertKind, DeviceStatus, EventType, Protocol
from doorstep.alarms.models import Alarm, AlarmDevice, DeviceAlert
from doorstep.alarms.tests import test_dispatch as dispatch_tests
from doorstep.audit.models import AuditEntry
from doorstep.org.models import Station

# The shared fixtures of the dispatch tests (a key unit with a button per station, officer_d, published).
button, button_s2, officer_d, published = (
    dispatch_tests.button,
    dispatch_tests.button_s2,
    dispatch_tests.officer_d,
    dispatch_tests.published,
)
key_unit, provision, raise_alarm = (
    dispatch_tests.key_unit,
    dispatch_tests.provision,
    dispatch_tests.raise_alarm,
)
START = dt.datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def later(clock, seconds: float) -> dt.datetime:
    clock.shift(dt.timedelta(seconds=seconds))
    return timezone.now()


def audit(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


_n = iter(range(1, 10**6))


def heartbeat(device, event_type=EventType.HEARTBEAT, *, restore=False):
    return services.receive_event(
        device, event_id=f"hb-{next(_n)}", event_type=event_type, occurred_at=timezone.now(),
        protocol=Protocol.HTTP, restore=restore,
    )[0]  # fmt: skip


def status(device) -> str:
    return AlarmDevice.objects.get(pk=device.pk).status


def open_alerts(device) -> set[str]:
    return set(
        DeviceAlert.objects.filter(device=device, cleared_at__isnull=True).values_list("kind", flat=True)
    )


# --- escalation --------------------------------------------------------------------------------------------
def test_an_unacknowledged_alarm_escalates_once_after_30_seconds(
    clock, button, world, published, django_capture_on_commit_callbacks
):
    alarm = raise_alarm(button)
    published.clear()

    assert supervision.tick(later(clock, 29))["escalated"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        first = supervision.tick(later(clock, 1))
    again = supervision.tick(later(clock, 1))

    alarm.refresh_from_db()
    assert (first["escalated"], again["escalated"]) == (1, 0)
    assert alarm.escalated_at == START + dt.timedelta(seconds=30) and alarm.state == AlarmState.RECEIVED
    assert audit("alarms.escalate") == 1
    # The station's consoles see the badge; the escalation group (directors, leaders) gets the loud one.
    assert published == [("station", world.s1.pk, "received"), ("escalation", world.s1.pk, alarm.pk)]
    assert services.console_payload(alarm)["escalated_at"] is not None


def test_an_acknowledged_or_closed_alarm_never_escalates(clock, button, world):
    acknowledged = services.acknowledge(raise_alarm(button), by=world.dispatcher)
    closed = services.close(raise_alarm(button), disposition="false", by=world.dispatcher)

    assert supervision.tick(later(clock, 120))["escalated"] == 0
    assert not Alarm.objects.filter(pk__in=[acknowledged.pk, closed.pk], escalated_at__isnull=False).exists()


@override_settings(ALARM_ESCALATE_SECONDS=60)
def test_the_escalation_delay_is_a_setting(clock, button):
    alarm = raise_alarm(button)

    assert supervision.tick(later(clock, 59))["escalated"] == 0
    assert supervision.tick(later(clock, 1))["escalated"] == 1
    assert Alarm.objects.get(pk=alarm.pk).escalated_at is not None


def test_a_second_process_escalating_the_same_alarm_does_nothing(clock, button):
    alarm = raise_alarm(button)
    now = later(clock, 31)

    assert services.escalate(alarm.pk, now=now) is True
    assert services.escalate(alarm.pk, now=now) is False  # the other alarmd's conditional UPDATE lost
    assert audit("alarms.escalate") == 1


def test_acknowledging_in_the_same_second_beats_the_escalation(clock, button, world):
    alarm = raise_alarm(button)
    now = later(clock, 31)
    services.acknowledge(alarm, by=world.dispatcher)

    assert services.escalate(alarm.pk, now=now) is False


# --- lateness ----------------------------------------------------------------------------------------------
def test_the_city_norm_is_five_minutes_and_the_suburb_ten(clock, button, button_s2, world, officer_d):
    Station.objects.filter(pk=world.s2.pk).update(area_type="suburb")
    city = services.dispatch(raise_alarm(button), by=world.dispatcher)
    suburb = services.dispatch(raise_alarm(button_s2), by=world.director_s2)

    assert supervision.tick(later(clock, 299))["late"] == 0
    assert supervision.tick(later(clock, 1))["late"] == 1
    assert supervision.tick(later(clock, 299))["late"] == 0
    assert supervision.tick(later(clock, 1))["late"] == 1
    assert supervision.tick(later(clock, 600))["late"] == 0  # once each

    city.refresh_from_db()
    suburb.refresh_from_db()
    assert city.late_at == START + dt.timedelta(minutes=5)
    assert suburb.late_at == START + dt.timedelta(minutes=10)
    assert audit("alarms.late") == 2


def test_arrival_within_the_norm_is_never_late_and_nobody_sent_is_late_too(clock, button, world):
    on_time = services.dispatch(raise_alarm(button), by=world.dispatcher)
    never_sent = services.acknowledge(raise_alarm(button), by=world.dispatcher)
    later(clock, 290)
    services.arrive(on_time, by=world.officer_a)

    assert supervision.tick(later(clock, 20))["late"] == 1

    assert Alarm.objects.get(pk=on_time.pk).late_at is None
    assert Alarm.objects.get(pk=never_sent.pk).late_at is not None  # acknowledged but nobody on the way


def test_the_officer_and_the_console_hear_that_an_alarm_is_late(
    clock, button, world, published, django_capture_on_commit_callbacks
):
    alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)
    published.clear()

    with django_capture_on_commit_callbacks(execute=True):
        supervision.tick(later(clock, 301))

    assert ("station", world.s1.pk, "dispatched") in published
    assert ("user", world.officer_a.pk, "dispatched") in published
    assert services.console_payload(alarm)["late_at"] is not None


# --- heartbeats --------------------------------------------------------------------------------------------
@pytest.fixture
def watched(clock, world):
    """A button with a 60-second heartbeat, provisioned at START and heard from at START."""
    device = provision(key_unit(world.grid_a, "西福中学"), "BTN-HB-1", world.director, heartbeat_seconds=60)
    heartbeat(device)
    return device


def test_a_device_that_misses_two_heartbeats_goes_offline_once(clock, watched, world, published):
    assert supervision.tick(later(clock, 120))["offline"] == 0  # exactly two intervals: not yet
    assert supervision.tick(later(clock, 1))["offline"] == 1
    assert supervision.tick(later(clock, 60))["offline"] == 0

    assert status(watched) == DeviceStatus.OFFLINE and open_alerts(watched) == {AlertKind.OFFLINE}
    alert = DeviceAlert.objects.get(device=watched)
    assert alert.raised_at == START + dt.timedelta(seconds=121) and "120" in alert.detail
    assert audit("alarms.device_offline") == 1


def test_a_device_that_reports_again_is_back_online(clock, watched):
    supervision.tick(later(clock, 121))

    later(clock, 30)
    heartbeat(watched)

    assert status(watched) == DeviceStatus.ONLINE and open_alerts(watched) == set()
    assert DeviceAlert.objects.get(device=watched).cleared_at == START + dt.timedelta(seconds=151)
    assert supervision.tick(later(clock, 60))["offline"] == 0


def test_a_device_never_heard_from_goes_offline_two_intervals_after_provisioning(clock, world):
    silent = provision(key_unit(world.grid_a, "西福医院"), "BTN-HB-2", world.director, heartbeat_seconds=300)
    assert status(silent) == DeviceStatus.UNKNOWN

    assert supervision.tick(later(clock, 600))["offline"] == 0
    assert supervision.tick(later(clock, 1))["offline"] == 1
    assert status(silent) == DeviceStatus.OFFLINE


def test_each_device_is_judged_by_its_own_interval(clock, world, watched):
    slow = provision(key_unit(world.grid_a, "西福银行"), "BTN-HB-3", world.director, heartbeat_seconds=3600)
    heartbeat(slow)
    inactive = provision(key_unit(world.grid_a, "西福商场"), "BTN-HB-4", world.director, heartbeat_seconds=60)
    AlarmDevice.objects.filter(pk=inactive.pk).update(active=False)

    assert supervision.tick(later(clock, 3600))["offline"] == 1

    assert (status(watched), status(slow), status(inactive)) == (
        DeviceStatus.OFFLINE, DeviceStatus.ONLINE, DeviceStatus.UNKNOWN,
    )  # fmt: skip


def test_the_status_follows_the_open_alerts(clock, watched):
    heartbeat(watched, EventType.TAMPER)
    assert status(watched) == DeviceStatus.TAMPER
    heartbeat(watched, EventType.LOW_BATTERY)
    assert status(watched) == DeviceStatus.TAMPER  # the worse of the two open alerts
    supervision.tick(later(clock, 121))
    assert status(watched) == DeviceStatus.OFFLINE

    heartbeat(watched)  # back, but the case is still open
    assert status(watched) == DeviceStatus.TAMPER
    heartbeat(watched, EventType.TAMPER, restore=True)
    assert status(watched) == DeviceStatus.LOW_BATTERY
    heartbeat(watched, EventType.LOW_BATTERY, restore=True)
    assert status(watched) == DeviceStatus.ONLINE and open_alerts(watched) == set()


def test_a_press_from_an_offline_device_clears_its_offline_alert(clock, watched):
    supervision.tick(later(clock, 121))
    assert status(watched) == DeviceStatus.OFFLINE

    later(clock, 5)
    watched.refresh_from_db()
    raise_alarm(watched)

    assert open_alerts(watched) == set() and status(watched) == DeviceStatus.ONLINE  # at once, not next tick
    assert supervision.tick(later(clock, 1))["recovered"] == 0


def test_a_heartbeat_that_commits_first_wins_over_a_stale_offline_decision(clock, watched):
    now = later(clock, 121)
    heartbeat(watched)  # arrives between the tick's read and its write

    assert supervision.mark_offline(watched.pk, now=now) is False
    assert status(watched) == DeviceStatus.ONLINE and open_alerts(watched) == set()


# --- the tick itself -------------------------------------------------------------------------------------
def test_a_tick_with_nothing_due_reads_a_little_and_writes_nothing(
    clock,
    button,
    watched,
    world,
    monkeypatch,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    services.acknowledge(raise_alarm(button), by=world.dispatcher)
    provision(key_unit(world.grid_a, "西福银行"), "BTN-HB-5", world.director, heartbeat_seconds=60)
    before = AuditEntry.objects.exclude(action="security.denied").count()
    monkeypatch.setattr(drills, "settle_due", lambda now: None)  # the drills count their own queries

    # stations, escalation, lateness, heartbeat intervals, overdue devices, recovered devices
    with django_assert_max_num_queries(6), django_capture_on_commit_callbacks() as callbacks:
        done = supervision.tick(later(clock, 10))

    assert done == {"escalated": 0, "late": 0, "offline": 0, "recovered": 0}
    assert callbacks == [] and AuditEntry.objects.exclude(action="security.denied").count() == before


def test_the_tick_settles_drills(clock, monkeypatch, world):
    calls = []
    monkeypatch.setattr(drills, "settle_due", calls.append)

    now = later(clock, 1)
    supervision.tick(now)

    assert calls == [now]


@pytest.mark.django_db(transaction=True)
def test_two_processes_ticking_at_once_escalate_and_flag_once(world, button):
    """Two alarmd (the active one and a standby, or a deploy overlap) tick the same second on PostgreSQL:
    real threads with their own connections; the conditional UPDATEs and the row lock leave one winner each.
    SQLite serialises writers with its database lock, so the race is PostgreSQL's to prove."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite takes one writer at a time)")

    alarm = raise_alarm(button)
    device = AlarmDevice.objects.get(pk=alarm.device_id)
    now = max(alarm.received_at + dt.timedelta(minutes=6), device.last_seen_at + dt.timedelta(minutes=11))
    start, results = threading.Barrier(2), []

    def run():
        try:
            start.wait()
            results.append(supervision.tick(now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r["escalated"] for r in results) == [0, 1]
    assert sorted(r["late"] for r in results) == [0, 1]
    assert sorted(r["offline"] for r in results) == [0, 1]
    assert (audit("alarms.escalate"), audit("alarms.late"), audit("alarms.device_offline")) == (1, 1, 1)
    assert DeviceAlert.objects.filter(device=device, kind=AlertKind.OFFLINE).count() == 1
