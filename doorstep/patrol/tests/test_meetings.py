"""Meetings, issues, and the monthly compliance rule (每个社区每月至少一次) with a frozen clock."""

from __future__ import annotations

import datetime as dt

import pytest

from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.patrol import meetings
from doorstep.patrol.choices import IssueStatus, MeetingKind

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)  # 10:00 in Asia/Shanghai


def meet(pw, day, community=None, by=None):
    return meetings.record_meeting(
        by or pw.director,
        community=community or pw.c1,
        kind=MeetingKind.TALK,
        held_on=day,
        place="社区活动室",
        attendance=12,
        officers="刘芳",
    )


def test_compliance_rule_past_month_missing_current_pending():
    today = dt.date(2026, 11, 20)
    status = meetings.compliance({(2026, 9): 1, (2026, 10): 0, (2026, 11): 0, (2026, 12): 0}, today)
    assert status == {
        (2026, 9): meetings.MET,
        (2026, 10): meetings.MISSING,
        (2026, 11): meetings.PENDING,
        (2026, 12): meetings.NOT_DUE,
    }
    assert meetings.compliance({(2026, 11): 1}, today) == {(2026, 11): meetings.MET}


def test_last_months_cross_the_year():
    assert meetings.last_months(dt.date(2026, 2, 3), 4) == [(2025, 11), (2025, 12), (2026, 1), (2026, 2)]


def test_compliance_table_with_a_frozen_clock(pw, time_machine):
    time_machine.move_to(NOW, tick=False)
    meet(pw, dt.date(2026, 9, 3))
    meet(pw, dt.date(2026, 11, 1), community=pw.c2)
    months, rows = meetings.compliance_table([pw.c1, pw.c2], dt.date(2026, 11, 20))
    assert months[-1] == (2026, 11) and len(months) == 6
    cells = {c.pk: {m: s for m, _n, s in row} for c, row in rows}
    assert cells[pw.c1.pk][(2026, 9)] == meetings.MET
    assert cells[pw.c1.pk][(2026, 10)] == meetings.MISSING
    assert cells[pw.c1.pk][(2026, 11)] == meetings.PENDING
    assert cells[pw.c2.pk][(2026, 11)] == meetings.MET
    assert meetings.monthly_counts([pw.c1.pk, pw.c2.pk, pw.c3.pk], 2026, 11) == {
        pw.c1.pk: 0,
        pw.c2.pk: 1,
        pw.c3.pk: 0,
    }
    # the month ends: November becomes missing for c1
    time_machine.move_to(dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC), tick=False)
    _months, rows = meetings.compliance_table([pw.c1], dt.date(2026, 12, 1))
    assert dict((m, s) for m, _n, s in rows[0][1])[(2026, 11)] == meetings.MISSING


def test_meeting_in_the_future_or_without_attendance_is_refused(pw, time_machine):
    time_machine.move_to(NOW, tick=False)
    with pytest.raises(ServiceError) as exc:
        meet(pw, dt.date(2026, 11, 21))
    assert exc.value.code == "held_on"
    with pytest.raises(ServiceError) as exc:
        meetings.record_meeting(
            pw.director,
            community=pw.c1,
            kind=MeetingKind.OPEN_DAY,
            held_on=dt.date(2026, 11, 20),
            place="警务室",
            attendance=0,
            officers="刘芳",
        )
    assert exc.value.code == "attendance"
    with pytest.raises(NotAllowed):
        meet(pw, dt.date(2026, 11, 1), by=pw.patrol)
    with pytest.raises(NotAllowed):
        meet(pw, dt.date(2026, 11, 1), by=pw.director_s2)


def test_issue_overdue_then_answered(pw, time_machine):
    time_machine.move_to(NOW, tick=False)
    meeting = meet(pw, dt.date(2026, 11, 2))
    issue = meetings.raise_issue(
        pw.director, meeting, text="路灯不亮", owner=pw.officer_a.staff, due_on=dt.date(2026, 11, 10)
    )
    assert meetings.is_overdue(issue, dt.date(2026, 11, 20))
    assert not meetings.is_overdue(issue, dt.date(2026, 11, 10))
    with pytest.raises(ServiceError) as exc:
        meetings.answer_issue(pw.officer_a, issue, answer="已修复", answered_on=dt.date(2026, 11, 1))
    assert exc.value.code == "answered_on"
    answered = meetings.answer_issue(pw.officer_a, issue, answer="已修复", answered_on=dt.date(2026, 11, 15))
    assert answered.status == IssueStatus.ANSWERED
    assert not meetings.is_overdue(answered, dt.date(2026, 11, 20))
    with pytest.raises(ServiceError):  # answered twice
        meetings.answer_issue(pw.officer_a, issue, answer="再答", answered_on=dt.date(2026, 11, 16))


def test_issue_due_before_meeting_or_owner_of_other_station_refused(pw, time_machine):
    time_machine.move_to(NOW, tick=False)
    meeting = meet(pw, dt.date(2026, 11, 2))
    with pytest.raises(ServiceError) as exc:
        meetings.raise_issue(
            pw.director, meeting, text="x", owner=pw.officer_a.staff, due_on=dt.date(2026, 11, 1)
        )
    assert exc.value.code == "due_on"
    with pytest.raises(ServiceError) as exc:
        meetings.raise_issue(
            pw.director, meeting, text="x", owner=pw.director_s2.staff, due_on=dt.date(2026, 11, 5)
        )
    assert exc.value.code == "owner"
