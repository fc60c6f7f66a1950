"""接警确认: the dispatched officer's receipt on the phone (a milestone of its own on the console), and the
phone's time of a receipt or an arrival recorded offline (ADR 0024 "device time")."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from doorstep.alarms import services
from doorstep.alarms.choices import AlarmState
from doorstep.alarms.models import Alarm
from doorstep.alarms.tests import test_dispatch as dispatch_tests
from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError

# The shared fixtures and helpers of the dispatch tests.
button, published = dispatch_tests.button, dispatch_tests.published
NEAR_SCHOOL, actions, raise_alarm = (
    dispatch_tests.NEAR_SCHOOL,
    dispatch_tests.actions,
    dispatch_tests.raise_alarm,
)
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def dispatched(button, world) -> Alarm:
    return services.dispatch(raise_alarm(button), by=world.dispatcher)


# --- receipt -------------------------------------------------------------------------------------------------
def test_the_dispatched_officer_confirms_receipt_with_gps(dispatched, world):
    alarm = services.receive(dispatched, by=world.officer_a, **NEAR_SCHOOL)

    assert alarm.received_by_officer_at is not None and alarm.state == AlarmState.DISPATCHED
    assert (alarm.receipt_lng, alarm.receipt_lat, alarm.receipt_accuracy) == (118.6051, 24.9049, 12.5)
    assert actions(alarm)[-1] == "alarms.receive"
    payload = services.console_payload(alarm)
    assert payload["received_by_officer_at"] == alarm.received_by_officer_at.isoformat()
    assert payload["receipt"] == {"lng": 118.6051, "lat": 24.9049, "accuracy": 12.5}


def test_the_first_receipt_stands(dispatched, world):
    first = services.receive(dispatched, by=world.officer_a)
    again = services.receive(dispatched, by=world.officer_a, **NEAR_SCHOOL)

    assert again.received_by_officer_at == first.received_by_officer_at and again.receipt_lng is None
    assert actions(dispatched).count("alarms.receive") == 1
    assert AuditEntry.objects.get(action="alarms.receive").note == "无定位"


def test_only_the_dispatched_officer_confirms(dispatched, world):
    for user in (world.officer_b, world.auxiliary_a, world.dispatcher, world.director):
        with pytest.raises(NotAllowed, match="只有出警人员本人可以确认接警"):
            services.receive(dispatched, by=user)
    with pytest.raises(NotAllowed):
        services.receive(raise_alarm(dispatched.device), by=world.officer_a)  # not dispatched at all
    assert Alarm.objects.get(pk=dispatched.pk).received_by_officer_at is None


def test_a_redispatched_alarm_refuses_the_old_officers_receipt(dispatched, world):
    services.dispatch(dispatched, officer=world.auxiliary_a, by=world.dispatcher)

    with pytest.raises(RuleViolation) as refused:
        services.receive(dispatched, by=world.officer_a)

    assert refused.value.code == "redispatched" and str(refused.value) == "该报警已改派其他人员"
    assert "翁磊" not in str(refused.value)
    assert services.receive(dispatched, by=world.auxiliary_a).received_by_officer_at is not None


def test_a_closed_alarm_takes_no_receipt(dispatched, world):
    services.close(dispatched, disposition="false", by=world.dispatcher)
    with pytest.raises(RuleViolation) as refused:
        services.receive(dispatched, by=world.officer_a)
    assert refused.value.code == "closed"


def test_a_bad_position_is_refused(dispatched, world):
    with pytest.raises(ServiceError) as refused:
        services.receive(dispatched, by=world.officer_a, lng=118.6)
    assert refused.value.code == "position"
    assert Alarm.objects.get(pk=dispatched.pk).received_by_officer_at is None


def test_the_receipt_is_published_after_commit(
    dispatched, world, published, django_capture_on_commit_callbacks
):
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.receive(dispatched, by=world.officer_a)
    assert ("station", world.s1.pk, "dispatched") in published
    assert ("user", world.officer_a.pk, "dispatched") in published


def test_the_console_shows_the_receipt(dispatched, world, client_for):
    services.receive(dispatched, by=world.officer_a)
    state = client_for(world.dispatcher).get("/alarms/console/", **JSON).json()
    (alarm,) = [a for a in state["alarms"] if a["id"] == dispatched.pk]
    assert alarm["received_by_officer_at"]
    page = client_for(world.dispatcher).get("/alarms/console/").content.decode()
    assert 'data-label-receipt="民警已接收"' in page and 'data-label-sms-failed="短信未送达"' in page


# --- arrival implies receipt; device time -------------------------------------------------------------------
def test_an_arrival_implies_the_receipt(dispatched, world):
    alarm = services.arrive(dispatched, by=world.officer_a, **NEAR_SCHOOL)
    assert alarm.received_by_officer_at == alarm.arrived_at
    assert services.receive(alarm, by=world.officer_a).received_by_officer_at == alarm.arrived_at


def test_offline_times_are_kept_and_a_receipt_after_the_arrival_is_fine(button, world):
    start = timezone.now() - dt.timedelta(hours=2)
    with time_machine.travel(start, tick=False):
        alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)
    receipt_at = start + dt.timedelta(minutes=1)
    arrived_at = start + dt.timedelta(minutes=6)

    services.receive(alarm, by=world.officer_a, at=receipt_at)
    alarm = services.arrive(alarm, by=world.officer_a, at=arrived_at, **NEAR_SCHOOL)

    assert alarm.received_by_officer_at == receipt_at and alarm.arrived_at == arrived_at
    assert AuditEntry.objects.get(action="alarms.arrive").note.startswith("离线记录")
    # Sent in the other order (the arrival first, then a receipt recorded later than it): both are kept.
    with time_machine.travel(start, tick=False):
        other = services.dispatch(raise_alarm(button), by=world.dispatcher)
    services.receive(other, by=world.officer_a, at=arrived_at + dt.timedelta(minutes=2))
    other = services.arrive(other, by=world.officer_a, at=arrived_at)
    assert other.arrived_at == arrived_at and other.received_by_officer_at > other.arrived_at


def test_device_time_bounds(button, world):
    start = timezone.now() - dt.timedelta(hours=13)
    with time_machine.travel(start, tick=False):
        alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)
    now = timezone.now()
    refused = {
        "future": now + dt.timedelta(minutes=6),
        "before dispatch": start - dt.timedelta(minutes=6),
        "over 12 hours": now - dt.timedelta(hours=12, minutes=1),
        "naive": dt.datetime(2026, 11, 29, 8, 0),  # noqa: DTZ001 - the point of the test
        "text": "2026-11-29T08:00:00+08:00",
    }
    for step in (services.receive, services.arrive):
        for case, at in refused.items():
            with pytest.raises(ServiceError) as error:
                step(alarm, by=world.officer_a, at=at)
            assert error.value.code == "at" and error.value.status == 400, case
    assert Alarm.objects.get(pk=alarm.pk).received_by_officer_at is None

    ahead = services.receive(alarm, by=world.officer_a, at=timezone.now() + dt.timedelta(minutes=4))
    assert ahead.received_by_officer_at <= timezone.now()  # a phone a little ahead is taken as now
    arrived = services.arrive(alarm, by=world.officer_a, at=timezone.now() - dt.timedelta(hours=11))
    assert arrived.state == AlarmState.ARRIVED


def test_arrive_before_the_dispatch_is_refused(dispatched, world):
    with pytest.raises(ServiceError, match="早于派警时间"):
        services.arrive(dispatched, by=world.officer_a, at=dispatched.dispatched_at - dt.timedelta(minutes=6))


def test_a_phone_clock_a_little_slow_is_taken_as_the_dispatch_time(dispatched, world):
    """收到 is tapped seconds after the ring; a phone 30 s slow must not lose it."""
    alarm = services.receive(
        dispatched, by=world.officer_a, at=dispatched.dispatched_at - dt.timedelta(seconds=30)
    )
    assert alarm.received_by_officer_at == dispatched.dispatched_at


def test_a_step_sent_at_once_is_not_noted_as_offline_and_a_late_one_names_both_times(button, world):
    now_alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)
    services.receive(now_alarm, by=world.officer_a, at=timezone.now(), **NEAR_SCHOOL)
    assert AuditEntry.objects.get(action="alarms.receive", object_id=str(now_alarm.pk)).note == ""

    start = timezone.now() - dt.timedelta(hours=1)
    with time_machine.travel(start, tick=False):
        late = services.dispatch(raise_alarm(button), by=world.dispatcher)
    services.arrive(late, by=world.officer_a, at=start + dt.timedelta(minutes=4), **NEAR_SCHOOL)
    note = AuditEntry.objects.get(action="alarms.arrive", object_id=str(late.pk)).note
    assert note.startswith("离线记录，终端时间") and "服务器接收于" in note
