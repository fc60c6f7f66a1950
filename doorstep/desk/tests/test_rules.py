from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from doorstep.desk import rules

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def test_working_days_skip_the_weekend():
    friday = dt.date(2026, 11, 27)
    assert rules.add_working_days(friday, 1) == dt.date(2026, 11, 30)  # Monday
    assert rules.add_working_days(friday, 3) == dt.date(2026, 12, 2)
    saturday = dt.date(2026, 11, 28)
    assert rules.add_working_days(saturday, 1) == dt.date(2026, 11, 30)


def test_due_time_in_working_days_ends_the_last_day(settings):
    received = dt.datetime(2026, 11, 27, 16, 0, tzinfo=TZ)  # a Friday afternoon
    due = rules.due_at(received, limit=3, unit="working_days")
    assert due.astimezone(TZ) == dt.datetime(2026, 12, 2, 23, 59, 59, tzinfo=TZ)


def test_due_time_in_hours_and_instant():
    received = dt.datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
    assert rules.due_at(received, limit=48, unit="hours") == received + dt.timedelta(hours=48)
    assert rules.due_at(received, limit=0, unit="working_days", instant=True).astimezone(TZ) == dt.datetime(
        2026, 11, 27, 23, 59, 59, tzinfo=TZ
    )


def test_receipt_numbers_have_the_room_date_and_a_check_character():
    when = dt.datetime(2026, 11, 28, 9, 0, tzinfo=TZ)
    number = rules.new_receipt_no("35050301001", when)
    assert number.startswith("01001-261128-")
    assert rules.normalise_receipt_no(number) == number
    assert rules.normalise_receipt_no(number.lower().replace("-", " ")) == number
    # One changed character is caught by the check character.
    last = number[-2]
    other = next(c for c in rules.ALPHABET if c != last)
    assert rules.normalise_receipt_no(number[:-2] + other + number[-1]) is None
    assert rules.normalise_receipt_no("not a number") is None
    assert rules.normalise_receipt_no("０１００１-261128-AAAAAA") is None


def test_receipt_numbers_are_not_a_sequence():
    when = dt.datetime(2026, 11, 28, 9, 0, tzinfo=TZ)
    numbers = [rules.new_receipt_no("35050301001", when) for _ in range(200)]
    assert len(set(numbers)) == 200
    tails = [n[13:18] for n in numbers]
    # Neighbouring numbers share nothing predictable: no run of consecutive values.
    assert sum(1 for a, b in zip(tails, tails[1:], strict=False) if a < b) not in (0, len(tails) - 1)


@pytest.mark.parametrize(
    ("name", "year", "seq", "expected"),
    [("城东派出所", 2026, 12, "城东所2026第00012号"), ("特警大队", 2027, 1, "特警大队2027第00001号")],
)
def test_case_number_format(name, year, seq, expected):
    assert rules.case_number(name, year, seq) == expected


# --- the check character ---------------------------------------------------------------------------------------
DIGIT_POSITIONS = range(11)  # room code and date; the rest (random part and check) are ALPHABET characters


def _allowed(position: int) -> str:
    return "0123456789" if position in DIGIT_POSITIONS else rules.ALPHABET


def _typed(chars: list[str]) -> str:
    return "".join(chars)


receipt_bodies = st.tuples(
    st.text("0123456789", min_size=11, max_size=11), st.text(rules.ALPHABET, min_size=5, max_size=5)
).map(lambda parts: parts[0] + parts[1])


@hypothesis_settings(max_examples=300, deadline=None)
@given(receipt_bodies)
def test_every_single_substitution_and_adjacent_transposition_is_refused(body):
    number = body + rules._check(body)
    assert rules.normalise_receipt_no(number) == f"{number[:5]}-{number[5:11]}-{number[11:]}"
    chars = list(number)
    for i, original in enumerate(chars):
        # Any other character, also one that is not allowed there (refused by the shape check then).
        for other in "0123456789" + rules.ALPHABET:
            if other != original:
                typo = chars[:i] + [other] + chars[i + 1 :]
                assert rules.normalise_receipt_no(_typed(typo)) is None, (number, i, other)
    for i in range(len(chars) - 1):
        if chars[i] != chars[i + 1]:
            typo = chars[:i] + [chars[i + 1], chars[i]] + chars[i + 2 :]
            assert rules.normalise_receipt_no(_typed(typo)) is None, (number, i)


def test_zero_and_two_one_and_three_no_longer_share_a_check_character():
    # With the first algorithm these pairs gave the same check character (both valued 0, both valued 1).
    for a, b in (("0", "2"), ("1", "3")):
        assert rules._check(f"0100{a}261128ABCDE") != rules._check(f"0100{b}261128ABCDE")
        assert rules._legacy_check(f"0100{a}261128ABCDE") == rules._legacy_check(f"0100{b}261128ABCDE")


def test_receipts_issued_with_the_first_check_are_still_recognised_as_such():
    body = "01001261128ABCDE"
    old = f"01001-261128-ABCDE{rules._legacy_check(body)}"
    assert rules._legacy_check(body) != rules._check(body)
    assert rules.normalise_receipt_no(old) is None  # not a current number...
    assert rules.legacy_receipt_no(old.replace("-", "").lower()) == old  # ...but one issued before #7
    assert rules.legacy_receipt_no(f"01001-261128-ABCDE{rules._check(body)}") is None


def test_working_days_follow_the_calendar_holidays_and_adjusted_weekends():
    """National Day 2026: 1–7 October off, Saturday 10 October worked (调休)."""
    from doorstep.org.workdays import WorkCalendar

    days = {dt.date(2026, 10, d): "holiday" for d in range(1, 8)}
    days[dt.date(2026, 10, 10)] = "workday"
    calendar = WorkCalendar(days)
    wednesday_before = dt.date(2026, 9, 30)
    assert rules.add_working_days(wednesday_before, 1, calendar) == dt.date(2026, 10, 8)
    assert rules.add_working_days(wednesday_before, 3, calendar) == dt.date(2026, 10, 10)  # the Saturday
    assert rules.add_working_days(wednesday_before, 1) == dt.date(2026, 10, 1)  # no calendar: Mon–Fri
    received = dt.datetime(2026, 9, 30, 10, 0, tzinfo=TZ)
    due = rules.due_at(received, limit=3, unit="working_days", calendar=calendar)
    assert due.astimezone(TZ) == dt.datetime(2026, 10, 10, 23, 59, 59, tzinfo=TZ)


@pytest.mark.django_db
def test_a_desk_intake_is_due_after_the_holiday(world, time_machine):
    """The service reads the calendar an administrator entered: a dispute taken on 30 September is due three
    working days later, after the National Day holiday."""
    from doorstep.desk import services
    from doorstep.desk.tests.factories import new_id
    from doorstep.org.models import CalendarDay

    for d in range(1, 8):
        CalendarDay.objects.create(day=dt.date(2026, 10, d), kind="holiday", name="国庆节")
    CalendarDay.objects.create(day=dt.date(2026, 10, 10), kind="workday", name="国庆节调休")
    time_machine.move_to(dt.datetime(2026, 9, 30, 10, 0, tzinfo=TZ), tick=False)
    intake = services.create_intake(
        room=world.room_c1,
        kind="dispute",
        applicant_name="王伟",
        id_number=new_id(),
        summary="邻里噪音",
        other_party="楼上住户",
        by=world.officer_a,
    )
    assert intake.due_at.astimezone(TZ) == dt.datetime(2026, 10, 10, 23, 59, 59, tzinfo=TZ)
