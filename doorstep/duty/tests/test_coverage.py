"""Coverage-gap detection: for any roster, the reported gaps are exactly the time nobody is assigned."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doorstep.duty import coverage
from doorstep.duty.models import RoomShift
from doorstep.duty.tests.factories import at

HOURS = 72  # a window of three days, in minutes below
WINDOW = HOURS * 60
intervals = st.lists(
    st.tuples(st.integers(-600, WINDOW + 600), st.integers(1, 24 * 60)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=12,
)


def _minutes_uncovered(shifts, start, end):
    covered = set()
    for a, b in shifts:
        covered.update(range(max(a, start), min(b, end)))
    return set(range(start, end)) - covered


@given(intervals, st.integers(0, WINDOW // 2), st.integers(1, WINDOW // 2))
def test_uncovered_is_exactly_the_uncovered_minutes(shifts, start, length):
    end = start + length
    gaps = coverage.uncovered(shifts, start, end)
    reported = set()
    for a, b in gaps:
        assert start <= a < b <= end
        reported.update(range(a, b))
    assert reported == _minutes_uncovered(shifts, start, end)
    # maximal, sorted, disjoint and not touching: two gaps never share an end
    assert all(g1[1] < g2[0] for g1, g2 in zip(gaps, gaps[1:], strict=False))


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    hour_shifts=st.lists(
        st.tuples(st.integers(0, 71), st.integers(1, 24), st.sampled_from(["a", "b", "p"])), max_size=10
    )
)
def test_room_gaps_equal_the_hours_no_shift_covers(world, hour_shifts):
    """Real shifts in the database (hour-aligned, several people, any overlaps between people): the hours in
    the reported gaps are exactly the hours of the 3-day window that no shift covers."""
    from doorstep.duty.tests.factories import patrol_member

    RoomShift.objects.all().delete()
    people = {"a": world.officer_a_staff, "b": world.officer_b_staff}
    start = at(23)
    end = start + dt.timedelta(hours=HOURS)
    taken: dict[str, list[tuple[int, int]]] = {}
    rows = []
    for first, length, who in hour_shifts:
        # One person's shifts must not overlap (the service refuses that), so each lands on its own person.
        key = who
        while any(first < b and first + length > a for a, b in taken.get(key, [])):
            key += "'"
        taken.setdefault(key, []).append((first, first + length))
        if key not in people:
            people[key] = patrol_member(world, name=f"巡防{len(people)}")
        rows.append(
            RoomShift(
                room=world.room_c1,
                staff=people[key],
                starts_at=start + dt.timedelta(hours=first),
                ends_at=start + dt.timedelta(hours=first + length),
            )
        )
    RoomShift.objects.bulk_create(rows)
    gaps = coverage.gaps(world.room_c1, start, end)
    reported = set()
    for a, b in gaps:
        assert (a - start) % dt.timedelta(hours=1) == dt.timedelta(0)
        reported.update(
            range(int((a - start).total_seconds() // 3600), int((b - start).total_seconds() // 3600))
        )
    expected = _minutes_uncovered([(f, f + n) for f, n, _ in hour_shifts], 0, HOURS)
    assert reported == expected


def test_uncovered_examples():
    assert coverage.uncovered([], 0, 10) == [(0, 10)]
    assert coverage.uncovered([(0, 10)], 0, 10) == []
    assert coverage.uncovered([(2, 4), (3, 6), (8, 20)], 0, 10) == [(0, 2), (6, 8)]
    assert coverage.uncovered([(-5, 1), (1, 2)], 0, 3) == [(2, 3)]
