"""Police–resident meetings and police-room open days (警民恳谈会、警务室开放日), the issues raised at them, and
the rule "at least MEETINGS_PER_MONTH per community per month" — rules, scoped reads and writes.

- Officers, auxiliaries and the director record meetings of their communities and answer issues
  (`access.may_record`); everyone with patrol pages sees them in their territory.
- A meeting is held today or earlier, with at least one resident attending.
- An issue has an owner (staff of the community's station) and a due date on or after the meeting; it is
  overdue while open past that date. The answer is dated between the meeting and today.
- Compliance per community and month: met when the month holds MEETINGS_PER_MONTH meetings; a past month
  short of it is missing (red); the current month is pending until it ends; later months are not due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.photos import files_removed_on_rollback, normalise_photo
from doorstep.org.models import Community, Staff
from doorstep.org.territory import Territory, get_in_territory
from doorstep.patrol import access
from doorstep.patrol.choices import MEETINGS_PER_MONTH, IssueStatus, MeetingKind
from doorstep.patrol.models import Issue, Meeting

MET, MISSING, PENDING, NOT_DUE = "met", "missing", "pending", "not_due"
COMPLIANCE_MONTHS = 6
Month = tuple[int, int]


# --- rules (pure) --------------------------------------------------------------------------------------------
def month_of(day: dt.date) -> Month:
    return day.year, day.month


def last_months(today: dt.date, n: int = COMPLIANCE_MONTHS) -> list[Month]:
    """The n months ending with today's month, oldest first."""
    year, month = today.year, today.month
    out: list[Month] = []
    for _i in range(n):
        out.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def month_status(count: int, month: Month, today: dt.date) -> str:
    """met / missing (a past month short of the rule) / pending (the current month, short so far) / not_due."""
    if count >= MEETINGS_PER_MONTH:
        return MET
    current = month_of(today)
    if month < current:
        return MISSING
    return PENDING if month == current else NOT_DUE


def compliance(counts_by_month: Mapping[Month, int], today: dt.date) -> dict[Month, str]:
    """The status of each month of one community from its meeting counts {(year, month): count}."""
    return {month: month_status(count, month, today) for month, count in counts_by_month.items()}


def is_overdue(issue: Issue, today: dt.date) -> bool:
    return issue.status == IssueStatus.OPEN and issue.due_on is not None and issue.due_on < today


# --- counts --------------------------------------------------------------------------------------------------
def monthly_counts(community_ids: Iterable[int], year: int, month: int) -> dict[int, int]:
    """Meetings held in the given month per community; 0 when none."""
    ids = list(community_ids)
    counts = dict.fromkeys(ids, 0)
    rows = (
        Meeting.objects.filter(community_id__in=ids, held_on__year=year, held_on__month=month)
        .order_by()
        .values("community_id")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["community_id"]] = row["n"]
    return counts


def compliance_table(
    communities: Sequence[Community], today: dt.date, n: int = COMPLIANCE_MONTHS
) -> tuple[list[Month], list[tuple[Community, list[tuple[Month, int, str]]]]]:
    """(months oldest first, rows: community and, per month, (month, count, status))."""
    months = last_months(today, n)
    ids = [c.pk for c in communities]
    counts: dict[Month, dict[int, int]] = {m: monthly_counts(ids, *m) for m in months}
    rows = []
    for community in communities:
        per_month = {m: counts[m][community.pk] for m in months}
        status = compliance(per_month, today)
        rows.append((community, [(m, per_month[m], status[m]) for m in months]))
    return months, rows


# --- who -----------------------------------------------------------------------------------------------------
def _require_record(by: Any, community_id: int) -> None:
    if not access.may_record(by, community_id):
        raise NotAllowed(_("只有本社区民警、协勤员或所长可以登记恳谈会和答复问题"))


# --- reads ---------------------------------------------------------------------------------------------------
def meetings_for(user: Any) -> QuerySet[Meeting]:
    if not access.may_view(user):
        return Meeting.objects.none()
    return Territory.for_user(user).filter(Meeting.objects.select_related("community", "community__station"))


def get_meeting_for(user: Any, pk: int) -> Meeting:
    access.require_view(user)
    access.check_pk(pk)
    return get_in_territory(user, meetings_for(user), pk=pk)


def issues_for(user: Any) -> QuerySet[Issue]:
    if not access.may_view(user):
        return Issue.objects.none()
    return Territory.for_user(user).filter(
        Issue.objects.select_related("meeting", "meeting__community", "owner", "answered_by")
    )


def get_issue_for(user: Any, pk: int) -> Issue:
    access.require_view(user)
    access.check_pk(pk)
    return get_in_territory(user, issues_for(user), pk=pk)


def issue_owners(station_id: int) -> QuerySet[Staff]:
    """Who may own an issue: active staff of the station (police, auxiliaries, leaders, patrol members)."""
    return Staff.objects.filter(
        station_id=station_id, active=True, kind__in=("police", "auxiliary", "leader", "patrol")
    ).order_by("kind", "name", "pk")


# --- writes --------------------------------------------------------------------------------------------------
def _past_or_today(day: dt.date | None, *, code: str, label: str) -> dt.date:
    if day is None:
        raise ServiceError(_("请填写%(label)s") % {"label": label}, code=code)
    if day > timezone.localdate():
        raise ServiceError(_("%(label)s不能晚于今天") % {"label": label}, code=code)
    return day


def record_meeting(
    by: Any,
    *,
    community: Community,
    kind: str,
    held_on: dt.date,
    place: str,
    attendance: int,
    officers: str,
    notes: str = "",
    photo: Any = None,
) -> Meeting:
    """Record a meeting or open day held in a community (with an optional photo, re-encoded)."""
    _require_record(by, community.pk)
    if kind not in MeetingKind.values:
        raise ServiceError(_("请选择类型"), code="kind")
    _past_or_today(held_on, code="held_on", label=_("日期"))
    if attendance is None or attendance < 1:
        raise ServiceError(_("参加群众人数至少为1人"), code="attendance")
    place = (place or "").strip()
    officers = (officers or "").strip()
    if not place:
        raise ServiceError(_("请填写地点"), code="place")
    if not officers:
        raise ServiceError(_("请填写参加民警"), code="officers")
    content = normalise_photo(photo) if photo else None
    with files_removed_on_rollback() as store, transaction.atomic():
        meeting = Meeting(
            community=community,
            kind=kind,
            held_on=held_on,
            place=place,
            attendance=attendance,
            officers=officers,
            notes=(notes or "").strip(),
            by=by,
        )
        if content is not None:
            store(meeting.photo, content)
        meeting.save()
        record_change(by, "patrol.meeting_record", meeting)
    return meeting


def raise_issue(
    by: Any,
    meeting: Meeting,
    *,
    text: str,
    owner: Staff,
    due_on: dt.date,
    raised_by: str = "",
) -> Issue:
    """An issue residents raised at the meeting, with the staff member who answers it and by when."""
    _require_record(by, meeting.community_id)
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("请填写问题"), code="text")
    if owner is None or not issue_owners(meeting.community.station_id).filter(pk=owner.pk).exists():
        raise ServiceError(_("责任人必须是本所在职人员"), code="owner")
    if due_on is None:
        raise ServiceError(_("请填写答复期限"), code="due_on")
    if due_on < meeting.held_on:
        raise ServiceError(_("答复期限不能早于恳谈会日期"), code="due_on")
    with transaction.atomic():
        issue = Issue.objects.create(
            meeting=meeting, text=text, raised_by=(raised_by or "").strip(), owner=owner, due_on=due_on
        )
        record_change(by, "patrol.issue_raise", issue)
    return issue


def answer_issue(by: Any, issue: Issue, *, answer: str, answered_on: dt.date) -> Issue:
    """Answer an open issue: the answer closes it; dated between the meeting and today."""
    meeting = issue.meeting
    _require_record(by, meeting.community_id)
    answer = (answer or "").strip()
    if not answer:
        raise ServiceError(_("请填写答复内容"), code="answer")
    _past_or_today(answered_on, code="answered_on", label=_("答复日期"))
    if answered_on < meeting.held_on:
        raise ServiceError(_("答复日期不能早于恳谈会日期"), code="answered_on")
    with transaction.atomic():
        locked = Issue.objects.select_for_update().get(pk=issue.pk)
        if locked.status != IssueStatus.OPEN:
            raise RuleViolation(_("该问题已答复"), code="answer")
        before = snapshot(locked)
        locked.answer = answer
        locked.answered_on = answered_on
        locked.answered_by = by
        locked.status = IssueStatus.ANSWERED
        locked.save(update_fields=["answer", "answered_on", "answered_by", "status", "updated_at"])
        record_change(by, "patrol.issue_answer", locked, before=before)
    return locked
