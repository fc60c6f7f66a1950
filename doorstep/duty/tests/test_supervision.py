from __future__ import annotations

import datetime as dt

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


def test_tick_closes_a_forgotten_clock_out_so_the_person_can_clock_in(world):
    """Issue #7: the periodic tick closes an attendance left open past the longest shift, flagged and audited."""
    from doorstep.duty.models import Attendance

    old = _in(world, world.officer_b_staff, at(23, 8))
    supervision.tick(at(24, 9))  # 25 h: still within a 24 h shift + 2 h
    old.refresh_from_db()
    assert old.clock_out_at is None and not old.auto_closed
    supervision.tick(at(24, 11))
    supervision.tick(at(24, 11, 1))  # closed once
    old.refresh_from_db()
    assert old.auto_closed and old.clock_out_at == at(24, 10)
    entries = AuditEntry.objects.filter(action="duty.clock_out_forgotten", object_id=str(old.pk))
    assert [e.note for e in entries] == ["未签退，系统关闭"]
    assert not Attendance.objects.filter(clock_out_at__isnull=True).exists()
    _in(world, world.officer_b_staff, at(24, 12))


def test_a_person_who_left_mid_shift_shows_as_left_not_late(world):
    """Issue #7: on time, then gone before the shift's end, is 离岗 on the board, not 迟到."""
    services.create_shift(
        room=world.room_c1,
        staff=world.officer_a_staff,
        starts_at=at(23, 8),
        ends_at=at(23, 16),
        by=world.director,
    )
    _in(world, world.officer_a_staff, at(23, 8, 5))
    services.clock_out(staff=world.officer_a_staff, by=None, now=at(23, 10))
    s = _state(world, at(23, 10, 30))
    assert s.state == "left" and s.state_label == "离岗"
    assert s.late == [] and [e.shift.staff for e in s.left] == [world.officer_a_staff]
    assert s.alert_reason == "unstaffed"  # still nobody in the room: the alert is raised all the same
    _in(world, world.officer_a_staff, at(23, 10, 40))  # back from the break: staffed, nobody late
    s = _state(world, at(23, 10, 45))
    assert s.state == "staffed" and s.late == [] and s.left == [] and s.expected[0].present


def test_board_shows_left_on_the_page(world, client_for):
    from django.utils import timezone

    now = timezone.now()
    services.create_shift(
        room=world.room_c1,
        staff=world.officer_a_staff,
        starts_at=now - dt.timedelta(hours=2),
        ends_at=now + dt.timedelta(hours=2),
        by=world.director,
    )
    _in(world, world.officer_a_staff, now - dt.timedelta(hours=2))
    services.clock_out(staff=world.officer_a_staff, by=None, now=now - dt.timedelta(hours=1))
    html = client_for(world.director).get("/duty/?partial=1").content.decode()
    assert f'data-room="{world.room_c1.pk}" data-state="left"' in html and "离岗" in html


def test_room_states_reads_only_the_recent_attendance(world):
    """Issue #7: the board's poll does not read the whole attendance history; an alert opened for a room
    empty since long before still records when it was last left."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _in(world, world.officer_a_staff, at(2, 8))
    services.clock_out(staff=world.officer_a_staff, by=None, now=at(2, 9))
    with CaptureQueriesContext(connection) as queries:
        s = _state(world, at(23, 8))
    attendance_sql = [q["sql"] for q in queries.captured_queries if "duty_attendance" in q["sql"]]
    assert len(attendance_sql) == 1 and '"clock_out_at" >=' in attendance_sql[0]
    assert s.empty_since is None and s.alert_reason == "no_cover"  # as with a clock-out three weeks ago
    supervision.tick(at(23, 8))
    assert RoomAlert.objects.get(room=world.room_c1).empty_since == at(2, 9)
    # Within the horizon the exact time is read as before.
    _in(world, world.officer_a_staff, at(23, 9))
    services.clock_out(staff=world.officer_a_staff, by=None, now=at(23, 10))
    assert _state(world, at(24, 9)).empty_since == at(23, 10)
