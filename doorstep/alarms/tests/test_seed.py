"""The alarm seed: a device at every key unit (DC-09 panels with AES at banks and hospitals), a history whose
lifecycle timestamps are in order, drills; idempotent. And `simulate_press` signs a real press."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from doorstep.alarms import seed as alarms_seed
from doorstep.alarms.choices import DrillStatus, Protocol
from doorstep.alarms.models import Alarm, AlarmDevice, Drill
from doorstep.org import seed as org_seed
from doorstep.registry import seed as registry_seed
from doorstep.registry.choices import UnitType
from doorstep.registry.models import Unit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seeded():
    org_seed.seed("demo", 42)
    registry_seed.seed("demo", 42)
    return alarms_seed.seed(42)


def test_every_key_unit_has_a_button_and_banks_and_hospitals_a_dc09_panel(seeded):
    assert seeded.created
    for unit in Unit.objects.filter(is_key=True):
        devices = list(AlarmDevice.objects.filter(unit=unit))
        assert any(d.protocol == Protocol.HTTP and d.secret for d in devices), unit.name
        panels = [d for d in devices if d.protocol == Protocol.DC09]
        if unit.unit_type in (UnitType.FINANCE, UnitType.HOSPITAL):
            assert len(panels) == 1 and len(bytes.fromhex(panels[0].aes_key)) == 16
        else:
            assert panels == []
    assert not AlarmDevice.objects.filter(unit__is_key=False).exists()


def test_history_is_in_lifecycle_order_and_drills_are_marked(seeded):
    alarms = list(Alarm.objects.all())
    assert len(alarms) == seeded.alarms > AlarmDevice.objects.count()
    for a in alarms:
        assert a.pressed_at <= a.received_at <= a.acknowledged_at <= a.closed_at
        if a.dispatched_at:
            assert a.acknowledged_at <= a.dispatched_at <= a.arrived_at <= a.closed_at
        assert a.station_id == a.device.station_id and a.grid_id == a.device.grid_id
    passed = Drill.objects.filter(status=DrillStatus.PASSED)
    assert passed.exists() and all(d.alarm.is_drill for d in passed)
    assert Drill.objects.filter(status=DrillStatus.FAILED).count() == 1
    assert Drill.objects.filter(status=DrillStatus.SCHEDULED).count() == AlarmDevice.objects.count()


def test_seeding_twice_adds_nothing(seeded):
    again = alarms_seed.seed(42)
    assert not again.created
    assert (again.devices, again.alarms) == (AlarmDevice.objects.count(), Alarm.objects.count())


def test_simulate_press_signs_with_the_devices_secret(seeded, live_server, capsys):
    device = AlarmDevice.objects.filter(protocol=Protocol.HTTP).first()
    before = Alarm.objects.filter(device=device).count()
    call_command("simulate_press", device.device_id, "--url", live_server.url)
    assert "HTTP 201" in capsys.readouterr().out
    assert Alarm.objects.filter(device=device).count() == before + 1
    with pytest.raises(CommandError, match="没有设备"):
        call_command("simulate_press", "NO-SUCH-DEVICE")
    with pytest.raises(CommandError, match="http://"):
        call_command("simulate_press", device.device_id, "--url", "file:///etc/passwd")
