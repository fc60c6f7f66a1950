"""Demo alarm devices for the seeded key units, with a two-month history of closed alarms and drills.

Deterministic and idempotent like the other seeds: a database that already has alarm devices gets nothing.
Devices are provisioned through `services.provision_device` (so each has real credentials, which nobody
sees: `doorstep simulate_press` signs with them from the database for demos). The history rows are written
directly, as a seed of the past, with every lifecycle timestamp consistent (pressed ≤ received ≤
acknowledged ≤ dispatched ≤ arrived ≤ closed).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from doorstep.accounts.choices import Role
from doorstep.accounts.models import User
from doorstep.alarms import services
from doorstep.alarms.choices import (
    AlarmState,
    DeviceKind,
    DeviceStatus,
    Disposition,
    DrillStatus,
    EventType,
    Protocol,
)
from doorstep.alarms.models import Alarm, AlarmDevice, Drill
from doorstep.registry.choices import UnitType
from doorstep.registry.models import Unit

GATES = {
    UnitType.SCHOOL: ("校门口保安亭", "教学楼一楼值班室"),
    UnitType.HOSPITAL: ("门诊大厅导医台", "急诊科护士站"),
    UnitType.FINANCE: ("营业厅柜台下方", "金库门口"),
}
DEFAULT_GATES = ("大门值班室", "一楼服务台")


@dataclass(frozen=True)
class AlarmSeedResult:
    created: bool
    devices: int
    alarms: int


def seed(seed_value: int = 42) -> AlarmSeedResult:
    if AlarmDevice.objects.exists():
        return AlarmSeedResult(False, AlarmDevice.objects.count(), Alarm.objects.count())
    rng = random.Random(f"alarms:{seed_value}")
    now = timezone.now().replace(microsecond=0)
    with transaction.atomic():
        devices = _devices(rng, now)
        _history(rng, devices, now)
        _drills(rng, devices, now)
    return AlarmSeedResult(True, len(devices), Alarm.objects.count())


def _devices(rng: random.Random, now: dt.datetime) -> list[AlarmDevice]:
    devices = []
    for unit in Unit.objects.filter(is_key=True).order_by("pk"):
        gate, inner = GATES.get(UnitType(unit.unit_type), DEFAULT_GATES)
        device, _ = services.provision_device(
            unit=unit, device_id=f"KU{unit.pk:05d}-01", location=gate, heartbeat_seconds=300
        )
        devices.append(device)
        if unit.unit_type in (UnitType.FINANCE, UnitType.HOSPITAL):
            # A panel on SIA DC-09 with AES, as alarm receivers in the field get them.
            panel, _ = services.provision_device(
                unit=unit,
                device_id=f"KU{unit.pk:05d}-02",
                location=inner,
                kind=DeviceKind.PANEL,
                protocol=Protocol.DC09,
                sia_account=f"{unit.pk:04X}",
                with_aes_key=True,
                heartbeat_seconds=600,
            )
            devices.append(panel)
    # The devices have been reporting; without a daemon running they go offline after two intervals.
    AlarmDevice.objects.filter(pk__in=[d.pk for d in devices]).update(
        status=DeviceStatus.ONLINE, last_seen_at=now
    )
    return devices


def _officer_of(device: AlarmDevice) -> User | None:
    """The grid's officer when they have a login; else a community officer of the station who has one (the
    demo gives logins to a few officers only, and a history without dispatches would show no 出警达标率)."""
    officer = services.grid_officer(device.grid_id)
    if officer is not None:
        return officer
    return (
        User.objects.filter(role=Role.OFFICER, staff__station_id=device.station_id, is_active=True)
        .order_by("pk")
        .first()
    )


def _history(rng: random.Random, devices: list[AlarmDevice], now: dt.datetime) -> None:
    dispatchers = {u.station_id: u for u in User.objects.filter(role=Role.DISPATCHER).order_by("pk")}
    rows = []
    for device in devices:
        officer = _officer_of(device)
        dispatcher = dispatchers.get(device.station_id)
        for n in range(rng.randint(1, 4)):
            received = now - dt.timedelta(days=rng.uniform(1, 60), seconds=rng.randint(0, 86400))
            event_type = rng.choice((EventType.PANIC, EventType.PANIC, EventType.SILENT_PANIC))
            disposition = rng.choices(
                (Disposition.FALSE, Disposition.REAL, Disposition.OTHER), weights=(6, 3, 1)
            )[0]
            acked = received + dt.timedelta(seconds=rng.randint(3, 45))
            dispatched = acked + dt.timedelta(seconds=rng.randint(10, 90))
            arrived = received + dt.timedelta(seconds=rng.randint(150, 720))
            closed = arrived + dt.timedelta(minutes=rng.randint(5, 40))
            rows.append(
                Alarm(
                    device=device,
                    unit_id=device.unit_id,
                    grid_id=device.grid_id,
                    station_id=device.station_id,
                    event_id=f"seed-{n + 1}",
                    event_type=event_type,
                    protocol=device.protocol,
                    pressed_at=received - dt.timedelta(milliseconds=rng.randint(20, 400)),
                    received_at=received,
                    state=AlarmState.CLOSED,
                    acknowledged_at=acked,
                    acknowledged_by=dispatcher,
                    dispatched_at=dispatched if officer else None,
                    dispatched_to=officer,
                    dispatched_by=dispatcher if officer else None,
                    arrived_at=arrived if officer else None,
                    arrival_lng=device.unit.lng if officer else None,
                    arrival_lat=device.unit.lat if officer else None,
                    arrival_accuracy=float(rng.randint(5, 40)) if officer else None,
                    closed_at=closed,
                    closed_by=dispatcher,
                    disposition=disposition,
                    close_note={
                        Disposition.FALSE: "保安误触按钮，已现场核实",
                        Disposition.REAL: "现场纠纷，已处置",
                        Disposition.OTHER: "群众求助，已引导",
                    }[disposition],
                )
            )
    Alarm.objects.bulk_create(rows)


def _drills(rng: random.Random, devices: list[AlarmDevice], now: dt.datetime) -> None:
    """Last quarter's drill of every device (one missed), and the next quarter's scheduled."""
    drills = []
    for i, device in enumerate(devices):
        past = (now - dt.timedelta(days=rng.randint(20, 50))).replace(hour=10, minute=0, second=0)
        drills.append(
            Drill(
                device=device,
                grid_id=device.grid_id,
                station_id=device.station_id,
                starts_at=past,
                ends_at=past + dt.timedelta(hours=1),
                status=DrillStatus.FAILED if i == 1 else DrillStatus.PASSED,
                note="季度演练",
            )
        )
        upcoming = (now + dt.timedelta(days=rng.randint(30, 80))).replace(hour=10, minute=0, second=0)
        drills.append(
            Drill(
                device=device,
                grid_id=device.grid_id,
                station_id=device.station_id,
                starts_at=upcoming,
                ends_at=upcoming + dt.timedelta(hours=1),
                note="季度演练",
            )
        )
    Drill.objects.bulk_create(drills)
    # The passed drills were real test presses: link each to a drill alarm like a live drill would.
    for drill in Drill.objects.filter(status=DrillStatus.PASSED).select_related("device"):
        pressed = drill.starts_at + dt.timedelta(minutes=rng.randint(2, 30))
        alarm = Alarm.objects.create(
            device=drill.device,
            unit_id=drill.device.unit_id,
            grid_id=drill.grid_id,
            station_id=drill.station_id,
            event_id=f"seed-drill-{drill.pk}",
            event_type=EventType.PANIC,
            protocol=drill.device.protocol,
            pressed_at=pressed,
            received_at=pressed + dt.timedelta(milliseconds=150),
            state=AlarmState.CLOSED,
            acknowledged_at=pressed + dt.timedelta(seconds=8),
            closed_at=pressed + dt.timedelta(minutes=3),
            disposition=Disposition.TEST,
            close_note="季度演练",
            is_drill=True,
        )
        Drill.objects.filter(pk=drill.pk).update(alarm=alarm)
