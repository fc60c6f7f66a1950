from __future__ import annotations

import datetime as dt

import pytest

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.duty import services
from doorstep.duty.models import Attendance, RoomAlert, RoomShift
from doorstep.duty.tests.factories import at, patrol_member

pytestmark = pytest.mark.django_db

ROOM_LNG, ROOM_LAT = 118.605, 24.905  # room_c1


def shift(world, staff, start, end, room=None):
    return services.create_shift(
        room=room or world.room_c1, staff=staff, starts_at=start, ends_at=end, by=world.director
    )


def test_shift_across_midnight_is_accepted_and_audited(world):
    s = shift(world, world.officer_a_staff, at(23, 20), at(24, 8))
    assert s.ends_at - s.starts_at == dt.timedelta(hours=12)
    assert AuditEntry.objects.filter(action="duty.shift_create", object_id=str(s.pk)).exists()


def test_overlapping_shifts_of_the_same_person_are_refused_with_the_clash(world):
    shift(world, world.officer_a_staff, at(23, 8), at(23, 16))
    with pytest.raises(RuleViolation) as exc:
        shift(world, world.officer_a_staff, at(23, 15), at(23, 20), room=world.room_c1)
    assert "刘芳" in str(exc.value) and "11-23 08:00" in str(exc.value) and "不能重叠" in str(exc.value)
    assert RoomShift.objects.count() == 1


def test_overlap_is_checked_across_rooms_of_the_station(world):
    from doorstep.org.models import PoliceRoom

    room_c2 = PoliceRoom.objects.get(community=world.c2)
    shift(world, world.officer_a_staff, at(23, 8), at(23, 16))
    with pytest.raises(RuleViolation):
        shift(world, world.officer_a_staff, at(23, 10), at(23, 12), room=room_c2)


def test_several_people_may_cover_the_same_hour_and_touching_shifts_are_fine(world):
    shift(world, world.officer_a_staff, at(23, 8), at(23, 16))
    shift(world, world.officer_b_staff, at(23, 8), at(23, 16))
    shift(world, world.officer_a_staff, at(23, 16), at(23, 20))
    assert RoomShift.objects.count() == 3


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (at(23, 8), at(23, 8), "结束时间必须晚于开始时间"),
        (at(23, 8), at(23, 7), "结束时间必须晚于开始时间"),
        (at(23, 8), at(24, 9), "不能超过 24 小时"),
    ],
)
def test_bad_shifts_are_refused(world, start, end, reason):
    with pytest.raises(ServiceError) as exc:
        shift(world, world.officer_a_staff, start, end)
    assert reason in str(exc.value)


def test_staff_of_another_station_or_kind_cannot_be_rostered(world):
    from doorstep.conftest import make_staff
    from doorstep.org.choices import StaffKind

    other = make_staff(world.sub_bureau, world.s2, StaffKind.POLICE, "外所")
    with pytest.raises(ServiceError, match="不属于该警务室所在派出所"):
        shift(world, other, at(23, 8), at(23, 16))
    mediator = make_staff(world.sub_bureau, world.s1, StaffKind.MEDIATOR, "调解员")
    with pytest.raises(ServiceError, match="只能安排民警"):
        shift(world, mediator, at(23, 8), at(23, 16))


def test_only_the_stations_director_or_admin_keeps_the_roster(world):
    with pytest.raises(NotAllowed):
        services.create_shift(
            room=world.room_c1,
            staff=world.officer_a_staff,
            starts_at=at(23, 8),
            ends_at=at(23, 9),
            by=world.director_s2,
        )
    with pytest.raises(NotAllowed):
        services.create_shift(
            room=world.room_c1,
            staff=world.officer_a_staff,
            starts_at=at(23, 8),
            ends_at=at(23, 9),
            by=world.officer_a,
        )
    services.create_shift(
        room=world.room_c1,
        staff=world.officer_a_staff,
        starts_at=at(23, 8),
        ends_at=at(23, 9),
        by=world.admin,
    )


def test_update_and_delete_shift(world):
    s = shift(world, world.officer_a_staff, at(23, 8), at(23, 16))
    other = shift(world, world.officer_a_staff, at(23, 18), at(23, 22))
    services.update_shift(
        s, staff=world.officer_a_staff, starts_at=at(23, 9), ends_at=at(23, 17), by=world.director
    )
    with pytest.raises(RuleViolation):
        services.update_shift(
            s, staff=world.officer_a_staff, starts_at=at(23, 9), ends_at=at(23, 19), by=world.director
        )
    services.delete_shift(other, by=world.director)
    assert list(RoomShift.objects.values_list("starts_at", flat=True)) == [at(23, 9)]
    assert AuditEntry.objects.filter(action="duty.shift_delete").exists()


def test_copy_week_copies_last_weeks_roster_once(world):
    shift(world, world.officer_a_staff, at(23, 0), at(23, 12))
    shift(world, world.officer_b_staff, at(29, 20), at(30, 8))  # Sunday night into Monday
    created = services.copy_week(room=world.room_c1, target_monday=dt.date(2026, 12, 2), by=world.director)
    assert sorted(s.starts_at for s in created) == [at(30, 0), at(36, 20)]
    with pytest.raises(RuleViolation, match="已有排班"):
        services.copy_week(room=world.room_c1, target_monday=dt.date(2026, 11, 30), by=world.director)
    assert RoomShift.objects.count() == 4


def test_copy_week_refuses_an_empty_week_and_overlaps_atomically(world):
    with pytest.raises(ServiceError, match="上周没有排班"):
        services.copy_week(room=world.room_c1, target_monday=dt.date(2026, 11, 30), by=world.director)
    shift(world, world.officer_a_staff, at(23, 8), at(23, 16))
    shift(world, world.officer_b_staff, at(24, 8), at(24, 16))
    shift(
        world,
        world.officer_b_staff,
        at(31, 10),
        at(31, 12),
        room=world.room_c1.community.station.communities.get(pk=world.c2.pk).police_room,
    )
    with pytest.raises(RuleViolation):
        services.copy_week(room=world.room_c1, target_monday=dt.date(2026, 11, 30), by=world.director)
    assert not RoomShift.objects.filter(room=world.room_c1, starts_at__gte=at(30)).exists()


# --- clock in / out ------------------------------------------------------------------------------------------
def clock_in(world, staff=None, lng=ROOM_LNG, lat=ROOM_LAT, accuracy=10, now=None, room=None, by=None):
    return services.clock_in(
        staff=staff or world.officer_a_staff,
        room=room or world.room_c1,
        lng=lng,
        lat=lat,
        accuracy=accuracy,
        by=by or world.officer_a,
        now=now or at(23, 8, 5),
    )


def test_clock_in_inside_the_geofence_on_time(world):
    shift(world, world.officer_a_staff, at(23, 8), at(23, 16))
    a = clock_in(world, lng=ROOM_LNG + 0.0005)  # about 50 m east
    assert not a.late and not a.no_shift and a.shift is not None
    assert 45 < a.in_distance_m < 56


def test_clock_in_outside_the_geofence_is_refused_with_the_distance_and_audited(world):
    with pytest.raises(RuleViolation) as exc:
        clock_in(world, lat=ROOM_LAT + 0.005)  # about 556 m north
    assert "约 556 米" in str(exc.value) and "超出签到范围" in str(exc.value)
    assert not Attendance.objects.exists()
    entry = AuditEntry.objects.get(action="duty.clock_in_refused")
    assert entry.after["distance_m"] == pytest.approx(556, abs=2)


def test_accuracy_allowance_is_capped(world):
    # 130 m away: inside with ±40 m (100 + 40), outside even with ±400 m (allowance capped at 50 m → 150)...
    clock_in(world, lat=ROOM_LAT + 0.00117, accuracy=40)
    services.clock_out(staff=world.officer_a_staff, by=world.officer_a, now=at(23, 9))
    with pytest.raises(RuleViolation):
        clock_in(world, lat=ROOM_LAT + 0.0015, accuracy=400)  # ~167 m
    with pytest.raises(ServiceError, match="定位精度太差"):
        clock_in(world, accuracy=800)


@pytest.mark.parametrize("bad", [("x", 24.9), (float("nan"), 24.9), (24.9, 118.6), (None, 24.9)])
def test_malformed_positions_are_refused(world, bad):
    with pytest.raises(ServiceError):
        clock_in(world, lng=bad[0], lat=bad[1])


def test_clock_in_without_a_shift_is_flagged(world):
    a = clock_in(world)
    assert a.no_shift and a.shift is None and not a.late


def test_clock_in_after_the_grace_period_is_late(world):
    shift(world, world.officer_a_staff, at(23, 8), at(23, 16))
    a = clock_in(world, now=at(23, 8, 25))
    assert a.late and a.late_minutes == 25 and a.shift is not None
    services.clock_out(staff=world.officer_a_staff, by=world.officer_a, now=at(23, 9))
    early = clock_in(world, staff=world.officer_b_staff, now=at(23, 7, 30))
    assert early.no_shift  # officer_b has no shift


def test_early_clock_in_counts_for_the_coming_shift(world):
    shift(world, world.officer_a_staff, at(23, 8), at(23, 16))
    a = clock_in(world, now=at(23, 7, 30))
    assert a.shift is not None and not a.no_shift and not a.late


def test_one_open_attendance_per_person(world):
    clock_in(world)
    with pytest.raises(RuleViolation, match="请先签退"):
        clock_in(world, now=at(23, 9))
    services.clock_out(
        staff=world.officer_a_staff,
        lng=ROOM_LNG,
        lat=ROOM_LAT,
        accuracy=5,
        by=world.officer_a,
        now=at(23, 10),
    )
    clock_in(world, now=at(23, 11))
    assert Attendance.objects.filter(clock_out_at__isnull=True).count() == 1


def test_clock_out_closes_and_flags_a_clock_out_away_from_the_room(world):
    clock_in(world)
    a = services.clock_out(
        staff=world.officer_a_staff,
        lng=ROOM_LNG,
        lat=ROOM_LAT + 0.01,
        accuracy=5,
        by=world.officer_a,
        now=at(23, 12),
    )
    assert a.clock_out_at == at(23, 12) and a.out_outside and a.out_distance_m > 1000
    with pytest.raises(RuleViolation, match="没有未签退"):
        services.clock_out(staff=world.officer_a_staff, by=world.officer_a, now=at(23, 13))


def test_staff_of_another_station_cannot_clock_in(world):
    with pytest.raises(NotAllowed):
        clock_in(world, room=world.room_c3)


def test_clock_in_closes_the_rooms_open_alert(world):
    alert = RoomAlert.objects.create(room=world.room_c1, reason="no_cover", opened_at=at(23, 7))
    a = clock_in(world, staff=patrol_member(world))
    alert.refresh_from_db()
    assert alert.closed_at == at(23, 8, 5) and alert.closed_by == a


def test_a_forgotten_clock_out_no_longer_blocks_the_next_clock_in(world):
    """Issue #7: an attendance left open past the longest shift is closed (flagged and audited) when the person
    clocks in again, instead of refusing them with 请先签退."""
    old = clock_in(world, now=at(23, 8))
    with pytest.raises(RuleViolation, match="请先签退"):  # within the horizon: a real open clock-in
        clock_in(world, now=at(24, 9))
    new = clock_in(world, now=at(24, 11))  # 27 h later
    old.refresh_from_db()
    assert old.auto_closed and old.out_outside
    assert old.clock_out_at == at(24, 10)  # when it stopped proving presence (24 h shift + 2 h)
    entry = AuditEntry.objects.get(action="duty.clock_out_forgotten", object_id=str(old.pk))
    assert entry.note == "未签退，系统关闭" and entry.actor_id == world.officer_a.pk
    assert new.clock_out_at is None and not new.auto_closed
    assert Attendance.objects.filter(clock_out_at__isnull=True).get() == new


def test_coming_back_from_a_break_is_not_late(world):
    """Issue #7: lateness is judged by the first clock-in of the shift only."""
    shift(world, world.officer_a_staff, at(23, 8), at(23, 16))
    first = clock_in(world, now=at(23, 8, 5))
    services.clock_out(staff=world.officer_a_staff, by=world.officer_a, now=at(23, 10))
    back = clock_in(world, now=at(23, 10, 40))
    assert not first.late and not back.late and back.late_minutes == 0 and back.shift is not None
    # One who arrived late stays flagged on that first clock-in, not again after a break.
    shift(world, world.officer_b_staff, at(23, 8), at(23, 16))
    late = clock_in(world, staff=world.officer_b_staff, by=world.officer_b, now=at(23, 8, 30))
    services.clock_out(staff=world.officer_b_staff, by=world.officer_b, now=at(23, 11))
    again = clock_in(world, staff=world.officer_b_staff, by=world.officer_b, now=at(23, 12))
    assert late.late and late.late_minutes == 30 and not again.late


def test_a_clock_in_before_the_early_window_left_before_the_start_does_not_excuse_lateness(world):
    shift(world, world.officer_a_staff, at(23, 8), at(23, 16))
    clock_in(world, now=at(23, 6, 30))  # 无排班: too early to count for the shift
    services.clock_out(staff=world.officer_a_staff, by=world.officer_a, now=at(23, 6, 50))
    a = clock_in(world, now=at(23, 8, 30))
    assert a.late and a.late_minutes == 30
