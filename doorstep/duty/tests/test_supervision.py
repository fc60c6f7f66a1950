from __future__ import annotations

import pytest

from doorstep.audit.models import AuditEntry
from doorstep.duty import services, supervision
from doorstep.duty.models import RoomAlert
from doorstep.duty.tests.factories import at
from doorstep.org.models import PoliceRoom

pytestmark = pytest.mark.django_db


def _state(world, now, room=None):
    room = room or world.room_c1
    return next(s for s in supervision.room_states(PoliceRoom.objects.all(), now) if s.room.pk == room.pk)


def _in(world, staff, now):
    return services.clock_in(
        staff=staff, room=world.room_c1, lng=118.605, lat=24.905, accuracy=5, by=None, now=now
    )


def test_board_states_staffed_late_and_empty(world):
    services.create_shift(
        room=world.room_c1,
        staff=world.officer_a_staff,
        starts_at=at(23, 8),
        ends_at=at(23, 16),
        by=world.director,
    )
    assert _state(world, at(23, 7)).state == "empty"
    s = _state(world, at(23, 8, 5))  # within the grace period
    assert s.state == "empty" and [e.shift.staff for e in s.expected] == [world.officer_a_staff]
    s = _state(world, at(23, 8, 15))
    assert s.state == "late" and s.late[0].shift.staff == world.officer_a_staff
    _in(world, world.officer_b_staff, at(23, 8, 20))  # someone else is there; officer_a is still late
    s = _state(world, at(23, 8, 30))
    assert s.state == "staffed" and [a.staff for a in s.present] == [world.officer_b_staff]
    assert [e.shift.staff for e in s.late] == [world.officer_a_staff]
    assert s.alert_reason is None


def test_tick_opens_one_alert_and_clock_in_closes_it(world):
    services.create_shift(
        room=world.room_c1,
        staff=world.officer_a_staff,
        starts_at=at(23, 8),
        ends_at=at(23, 16),
        by=world.director,
    )
    # Never staffed: every 24-hour room without anybody raises an alert on the first tick.
    result = supervision.tick(at(23, 8, 20))
    assert result["opened"] == 3
    alert = RoomAlert.objects.get(room=world.room_c1, closed_at__isnull=True)
    assert alert.reason == "unstaffed"
    assert RoomAlert.objects.get(room=world.room_c3).reason == "no_cover"
    assert supervision.tick(at(23, 8, 21)) == {"opened": 0, "closed": 0}  # idempotent
    assert RoomAlert.objects.count() == 3
    assert AuditEntry.objects.filter(action="duty.alert_open").count() == 3

    _in(world, world.officer_a_staff, at(23, 8, 30))
    alert.refresh_from_db()
    assert alert.closed_at == at(23, 8, 30) and alert.closed_by is not None
    assert supervision.tick(at(23, 8, 31))["opened"] == 0


def test_alert_waits_for_the_room_to_be_empty_longer_than_the_limit(world):
    _in(world, world.officer_a_staff, at(23, 8))
    services.clock_out(staff=world.officer_a_staff, by=None, now=at(23, 10))
    supervision.tick(at(23, 10, 10))
    assert not RoomAlert.objects.filter(room=world.room_c1).exists()
    assert _state(world, at(23, 10, 10)).alert_reason is None
    supervision.tick(at(23, 10, 16))
    alert = RoomAlert.objects.get(room=world.room_c1)
    assert alert.reason == "no_cover" and alert.empty_since == at(23, 10)


def test_tick_closes_an_alert_when_the_room_is_staffed_again(world):
    supervision.tick(at(23, 8))
    RoomAlert.objects.filter(room=world.room_c1).update(closed_at=None)
    # A clock-in that happened while the alert was opened elsewhere: the next tick clears it.
    from doorstep.duty.models import Attendance

    Attendance.objects.create(
        room=world.room_c1,
        staff=world.officer_a_staff,
        clock_in_at=at(23, 8, 1),
        in_lng=0,
        in_lat=0,
        in_accuracy_m=0,
        in_distance_m=0,
        no_shift=True,
    )
    assert supervision.tick(at(23, 8, 2))["closed"] == 1
    assert not RoomAlert.objects.filter(room=world.room_c1, closed_at__isnull=True).exists()


def test_board_state_queries_do_not_grow_with_rooms(world, django_assert_max_num_queries):
    rooms = list(PoliceRoom.objects.select_related("community"))
    with django_assert_max_num_queries(4):
        supervision.room_states(rooms, at(23, 8))


def test_a_forgotten_clock_out_stops_proving_the_room_staffed(world):
    """Issue #7's duty "that can be proven": an attendance left open past the longest shift is no proof."""
    _in(world, world.officer_b_staff, at(23, 8))
    assert _state(world, at(24, 9)).state == "staffed"  # 25 h later: within a 24 h shift + 2 h grace
    stale = _state(world, at(24, 11))  # 27 h later
    assert stale.state == "empty" and stale.present == [] and stale.alert_reason is not None
