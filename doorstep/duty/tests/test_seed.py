import pytest

from doorstep.duty import coverage, seed, services
from doorstep.duty.models import Attendance, RoomShift
from doorstep.duty.tests.factories import at

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_leaves_one_gap(world):
    now = at(25, 9)  # Wednesday 2026-11-25 09:00
    first = seed.seed(1, now=now)
    assert first["shifts"] > 0
    again = seed.seed(1, now=now)
    assert again == {"shifts": 0, "clock_ins": 0}
    assert RoomShift.objects.count() == first["shifts"]
    assert Attendance.objects.filter(clock_out_at__isnull=True).count() == first["clock_ins"]
    monday = services.local_midnight(services.week_start(now.date()))
    from doorstep.org.models import PoliceRoom

    gaps = [
        coverage.gaps(r, monday, monday + (at(30) - at(23)))
        for r in PoliceRoom.objects.order_by("community__code")
    ]
    assert gaps[0] == [] and len(gaps[1]) == 1
