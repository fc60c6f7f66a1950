"""Training (培训): courses, enrolment and attendance, 师傅带学 pairs, "三懂四会" assessments, and the reads
behind each officer's record and the station summary.

Who may do what:
- A course organised by the sub-bureau (`station` empty) is created and run by the sub-bureau's leaders,
  evaluation office and administrators; a station's course by its director (the sub-bureau may run those too).
- A station director may also enrol their own staff on a sub-bureau course.
- Everybody sees the courses of their stations and the sub-bureau's; a person's record is seen by that
  person and by whoever oversees their whole station (director, sub-bureau). Colleagues: 403.

Every write validates, runs in one transaction with its audit entry, and raises `ServiceError` (Chinese
reason) when refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.duty.choices import AssessmentResult, AttendanceMark, CourseForm
from doorstep.duty.models import (
    Assessment,
    AssessmentItem,
    AssessmentScore,
    Mentorship,
    TrainingCourse,
    TrainingEnrolment,
)
from doorstep.org.choices import StaffKind
from doorstep.org.models import Staff, Station
from doorstep.org.territory import Territory

# Local practice, not a national standard: an item scored below this fails.
PASS_SCORE = 60
# An officer with no attended course in this many days is flagged on the station summary.
NO_TRAINING_DAYS = 90
MAX_COURSE_HOURS = Decimal("500")
SUB_BUREAU_ROLES = (Role.LEADER, Role.EVALUATOR, Role.ADMIN)


# --- who may do what -----------------------------------------------------------------------------------------
def _signed_in(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def may_organise(user: Any, station_id: int | None) -> bool:
    """Create and run a course organised by `station_id` (None: by the sub-bureau)."""
    if not _signed_in(user):
        return False
    if user.is_superuser or user.role in SUB_BUREAU_ROLES:
        return True
    return user.role == Role.DIRECTOR and station_id is not None and user.station_id == station_id


def may_run(user: Any, course: TrainingCourse) -> bool:
    """Edit the course, enrol anybody eligible, record attendance, pair mentors, assess."""
    return may_organise(user, course.station_id)


def may_enrol_own_station(user: Any, course: TrainingCourse) -> bool:
    """A director may put their own staff on a sub-bureau course."""
    return (
        _signed_in(user)
        and course.station_id is None
        and user.role == Role.DIRECTOR
        and bool(user.station_id)
        and (not course.pk or _targets_station(course, user.station_id))
    )


def may_create_any(user: Any) -> bool:
    return _signed_in(user) and (
        user.is_superuser or user.role in SUB_BUREAU_ROLES or (user.role == Role.DIRECTOR and user.station_id)
    )


def may_edit_items(user: Any) -> bool:
    """The "三懂四会" list is kept by system administrators."""
    return _signed_in(user) and (user.is_superuser or user.role == Role.ADMIN)


def may_see_whole_station(user: Any, station_id: int | None) -> bool:
    return station_id is not None and Territory.for_user(user).manages_station(station_id)


# --- scoped reads --------------------------------------------------------------------------------------------
def courses_for(user: Any) -> QuerySet[TrainingCourse]:
    """The courses the user may see: the sub-bureau's and those of the stations in their territory."""
    qs = TrainingCourse.objects.select_related("station")
    territory = Territory.for_user(user)
    if territory.whole:
        return qs
    if territory.scope is None:
        return qs.none()
    return qs.filter(Q(station__isnull=True) | Q(station_id__in=territory.station_ids))


def get_course_for(user: Any, pk: int) -> TrainingCourse:
    course = courses_for(user).filter(pk=pk).first()
    if course is None:
        raise Http404
    return course


def eligible_staff(course: TrainingCourse) -> QuerySet[Staff]:
    """Who may be enrolled on the course: active staff of the organiser's territory, narrowed by its targets."""
    qs = Staff.objects.filter(sub_bureau_id=course.sub_bureau_id, active=True, station__isnull=False)
    if course.station_id:
        qs = qs.filter(station_id=course.station_id)
    elif course.pk and course.target_stations.exists():
        qs = qs.filter(station__in=course.target_stations.all())
    if course.target_kinds:
        qs = qs.filter(kind__in=course.target_kinds)
    return qs.select_related("station").order_by("station__code", "kind", "badge_number")


def enrollable_staff_for(user: Any, course: TrainingCourse) -> QuerySet[Staff]:
    qs = eligible_staff(course)
    if may_run(user, course):
        return qs
    if may_enrol_own_station(user, course):
        return qs.filter(station_id=user.station_id)
    return qs.none()


def _targets_station(course: TrainingCourse, station_id: int) -> bool:
    if course.station_id:
        return course.station_id == station_id
    targets = list(course.target_stations.values_list("id", flat=True))
    return not targets or station_id in targets


# --- pure rules ----------------------------------------------------------------------------------------------
def item_passed(score: int | None, passed: bool | None) -> bool:
    """An item passes on a score of at least PASS_SCORE, or on an explicit pass when it is not scored."""
    if score is not None:
        return score >= PASS_SCORE
    return bool(passed)


def overall_result(items: Iterable[tuple[int | None, bool | None]]) -> str:
    """合格 when every assessed item passes."""
    marks = list(items)
    return (
        AssessmentResult.PASS if marks and all(item_passed(s, p) for s, p in marks) else AssessmentResult.FAIL
    )


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime(year, 1, 1))
    return start, timezone.make_aware(dt.datetime(year + 1, 1, 1))


def hours_in_year(enrolments: Iterable[TrainingEnrolment], year: int) -> Decimal:
    """Hours of the courses attended (出勤) that start in `year` (local time); absences and leave count nothing."""
    total = Decimal("0")
    for e in enrolments:
        if e.attendance == AttendanceMark.PRESENT and timezone.localtime(e.course.starts_at).year == year:
            total += e.course.hours
    return total


# --- courses -------------------------------------------------------------------------------------------------
def _validate_course(data: Mapping[str, Any]) -> None:
    title = (data.get("title") or "").strip()
    if not title:
        raise ServiceError(_("请填写课程名称"))
    if data.get("form") not in CourseForm.values:
        raise ServiceError(_("请选择培训形式"))
    starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
    if starts_at is None or ends_at is None:
        raise ServiceError(_("请填写开始时间和结束时间"))
    if ends_at <= starts_at:
        raise ServiceError(_("结束时间必须晚于开始时间"))
    hours = data.get("hours")
    if hours is None or Decimal(hours) <= 0:
        raise ServiceError(_("学时必须大于0"))
    if Decimal(hours) > MAX_COURSE_HOURS:
        raise ServiceError(_("学时不能超过 %(n)s") % {"n": MAX_COURSE_HOURS})
    kinds = data.get("target_kinds") or []
    if any(k not in StaffKind.values for k in kinds):
        raise ServiceError(_("参训人员类别无效"))
    capacity = data.get("capacity")
    if capacity is not None and capacity < 1:
        raise ServiceError(_("名额必须至少为1"))


COURSE_FIELDS = ("title", "form", "starts_at", "ends_at", "hours", "place", "trainer", "content", "capacity")


def create_course(
    *,
    station: Station | None,
    data: Mapping[str, Any],
    target_stations: Iterable[Station] = (),
    by: Any,
    sub_bureau: Any = None,
) -> TrainingCourse:
    """Create a course organised by `station` (None: by the sub-bureau)."""
    if by is not None and not may_organise(by, station.pk if station else None):
        raise NotAllowed(
            _("分局组织的培训须由分局领导、考评办或系统管理员创建")
            if station is None
            else _("派出所的培训须由本所所长创建")
        )
    _validate_course(data)
    targets = list(target_stations)
    if station is not None and targets:
        raise ServiceError(_("派出所组织的培训只面向本所，不能另选参训派出所"))
    sb = sub_bureau or (station.sub_bureau if station else getattr(by, "sub_bureau", None))
    if sb is None:
        sb = Station.objects.select_related("sub_bureau").first().sub_bureau
    with transaction.atomic():
        course = TrainingCourse(sub_bureau=sb, station=station, created_by=by if _signed_in(by) else None)
        for name in COURSE_FIELDS:
            setattr(course, name, data.get(name) if name != "title" else data["title"].strip())
        for name in ("place", "trainer", "content"):
            setattr(course, name, getattr(course, name) or "")
        course.target_kinds = list(data.get("target_kinds") or [])
        course.save()
        if targets:
            course.target_stations.set(targets)
        record_change(by, "duty.course_create", course)
    return course


def update_course(
    course: TrainingCourse, *, data: Mapping[str, Any], target_stations: Iterable[Station] = (), by: Any
) -> TrainingCourse:
    if by is not None and not may_run(by, course):
        raise NotAllowed(_("您不能修改这门课程"))
    _validate_course(data)
    targets = list(target_stations)
    if course.station_id and targets:
        raise ServiceError(_("派出所组织的培训只面向本所，不能另选参训派出所"))
    with transaction.atomic():
        before = snapshot(course)
        enrolled = course.enrolments.count()
        capacity = data.get("capacity")
        if capacity is not None and enrolled > capacity:
            raise RuleViolation(_("已有 %(n)d 人报名，名额不能少于报名人数") % {"n": enrolled})
        for name in COURSE_FIELDS:
            setattr(course, name, data.get(name) if name != "title" else data["title"].strip())
        for name in ("place", "trainer", "content"):
            setattr(course, name, getattr(course, name) or "")
        course.target_kinds = list(data.get("target_kinds") or [])
        course.save()
        if not course.station_id:
            course.target_stations.set(targets)
        record_change(by, "duty.course_update", course, before=before)
    return course


# --- enrolment -----------------------------------------------------------------------------------------------
def _check_enrollable(course: TrainingCourse, staff: Staff, by: Any) -> None:
    if by is not None:
        if may_run(by, course):
            pass
        elif may_enrol_own_station(by, course):
            if staff.station_id != by.station_id:
                raise NotAllowed(_("所长只能为本所人员报名分局的培训"))
        else:
            raise NotAllowed(_("您不能为这门课程报名"))
    if not staff.active:
        raise ServiceError(_("%(name)s 已不在职，不能报名") % {"name": staff.name})
    if staff.sub_bureau_id != course.sub_bureau_id or not staff.station_id:
        raise ServiceError(_("%(name)s 不在主办单位的辖区内") % {"name": staff.name})
    if course.station_id and staff.station_id != course.station_id:
        raise ServiceError(_("%(name)s 不属于主办派出所，不能报名本所培训") % {"name": staff.name})
    if not course.station_id and not _targets_station(course, staff.station_id):
        raise ServiceError(_("%(name)s 所在派出所不在本课程的参训范围内") % {"name": staff.name})
    if course.target_kinds and staff.kind not in course.target_kinds:
        raise ServiceError(
            _("本课程不面向%(kind)s（%(name)s）") % {"kind": staff.get_kind_display(), "name": staff.name}
        )


def enrol(
    *, course: TrainingCourse, staff: Iterable[Staff], by: Any, skip_enrolled: bool = False
) -> list[TrainingEnrolment]:
    """Enrol staff on the course; all or none. Already enrolled people are refused, or skipped when bulk-adding."""
    people = list(dict.fromkeys(staff))
    if not people:
        raise ServiceError(_("请选择参训人员"))
    with transaction.atomic():
        TrainingCourse.objects.select_for_update().filter(pk=course.pk).first()
        already = set(course.enrolments.filter(staff__in=people).values_list("staff_id", flat=True))
        todo = []
        for person in people:
            _check_enrollable(course, person, by)
            if person.pk in already:
                if skip_enrolled:
                    continue
                raise RuleViolation(_("%(name)s 已报名这门课程") % {"name": person.name})
            todo.append(person)
        if course.capacity is not None:
            count = course.enrolments.count()
            if count + len(todo) > course.capacity:
                raise RuleViolation(
                    _("名额已满：共 %(cap)d 人，已报名 %(n)d 人，还能报名 %(left)d 人")
                    % {"cap": course.capacity, "n": count, "left": max(course.capacity - count, 0)}
                )
        created = []
        for person in todo:
            e = TrainingEnrolment.objects.create(
                course=course, staff=person, enrolled_by=by if _signed_in(by) else None
            )
            record_change(by, "duty.training_enrol", e)
            created.append(e)
    return created


def withdraw(enrolment: TrainingEnrolment, *, by: Any) -> None:
    """Remove a participant who has no attendance or assessment recorded yet."""
    course = enrolment.course
    if (
        by is not None
        and not may_run(by, course)
        and not (may_enrol_own_station(by, course) and enrolment.staff.station_id == by.station_id)
    ):
        raise NotAllowed(_("您不能取消这名人员的报名"))
    if enrolment.attendance:
        raise RuleViolation(_("已登记出勤，不能取消报名"))
    with transaction.atomic():
        record_change(by, "duty.training_withdraw", enrolment, before=snapshot(enrolment), after={})
        enrolment.delete()


# --- attendance ----------------------------------------------------------------------------------------------
def record_attendance(
    *, course: TrainingCourse, marks: Mapping[int, str], by: Any, now: dt.datetime | None = None
) -> int:
    """Set attendance (出勤/缺勤/请假) for participants by enrolment id; refused before the course starts.
    Returns how many changed."""
    if by is not None and not may_run(by, course):
        raise NotAllowed(_("出勤须由课程主办单位登记"))
    now = now or timezone.now()
    if now < course.starts_at:
        raise RuleViolation(
            _("课程 %(start)s 才开始，开始前不能登记出勤")
            % {"start": timezone.localtime(course.starts_at).strftime("%Y-%m-%d %H:%M")}
        )
    valid = {AttendanceMark.PRESENT, AttendanceMark.ABSENT, AttendanceMark.LEAVE}
    changed = 0
    with transaction.atomic():
        rows = {e.pk: e for e in course.enrolments.select_for_update().filter(pk__in=list(marks))}
        for pk, mark in marks.items():
            e = rows.get(pk)
            if e is None:
                raise ServiceError(_("参训人员不属于这门课程"))
            if mark not in valid:
                raise ServiceError(_("出勤情况只能是出勤、缺勤或请假"))
            if e.attendance == mark:
                continue
            if mark != AttendanceMark.PRESENT and Assessment.objects.filter(enrolment=e).exists():
                raise RuleViolation(_("%(name)s 已有考核结果，不能改为缺勤或请假") % {"name": e.staff.name})
            before = snapshot(e)
            e.attendance, e.attendance_at = mark, now
            e.save(update_fields=["attendance", "attendance_at", "updated_at"])
            record_change(by, "duty.training_attendance", e, before=before)
            changed += 1
    return changed


# --- 师傅带学 --------------------------------------------------------------------------------------------------
def pair_mentor(
    *,
    course: TrainingCourse,
    mentor: Staff,
    apprentice: Staff,
    starts_on: dt.date,
    ends_on: dt.date,
    notes: str = "",
    by: Any,
) -> Mentorship:
    """Pair a mentor with an apprentice on a 师傅带学 course; the apprentice is enrolled if not yet."""
    if by is not None and not may_run(by, course):
        raise NotAllowed(_("师徒结对须由课程主办单位安排"))
    if course.form != CourseForm.MENTOR:
        raise ServiceError(_("只有“师傅带学”课程可以结对"))
    if mentor.pk == apprentice.pk:
        raise ServiceError(_("师傅和徒弟不能是同一人"))
    if starts_on is None or ends_on is None:
        raise ServiceError(_("请填写带学期限"))
    if ends_on < starts_on:
        raise ServiceError(_("结束日期不能早于开始日期"))
    eligible = eligible_staff(course)
    for person, role in ((mentor, _("师傅")), (apprentice, _("徒弟"))):
        if not person.active:
            raise ServiceError(_("%(role)s %(name)s 已不在职") % {"role": role, "name": person.name})
    if not eligible.filter(pk=apprentice.pk).exists():
        raise ServiceError(_("徒弟 %(name)s 不在本课程的参训范围内") % {"name": apprentice.name})
    mentor_ok = Staff.objects.filter(pk=mentor.pk, sub_bureau_id=course.sub_bureau_id)
    if course.station_id:
        mentor_ok = mentor_ok.filter(station_id=course.station_id)
    if not mentor_ok.exists():
        raise ServiceError(_("师傅 %(name)s 不在主办单位的辖区内") % {"name": mentor.name})
    with transaction.atomic():
        if Mentorship.objects.filter(course=course, apprentice=apprentice).exists():
            raise RuleViolation(_("%(name)s 在本课程已有师傅") % {"name": apprentice.name})
        if not course.enrolments.filter(staff=apprentice).exists():
            enrol(course=course, staff=[apprentice], by=by)
        pair = Mentorship.objects.create(
            course=course,
            mentor=mentor,
            apprentice=apprentice,
            starts_on=starts_on,
            ends_on=ends_on,
            notes=notes.strip(),
        )
        record_change(by, "duty.mentorship_create", pair)
    return pair


# --- assessment ----------------------------------------------------------------------------------------------
def assess(
    *,
    enrolment: TrainingEnrolment,
    marks: Mapping[int, tuple[int | None, bool | None]],
    assessed_on: dt.date,
    assessor: str,
    note: str = "",
    by: Any,
    today: dt.date | None = None,
) -> Assessment:
    """Record (or replace) a participant's "三懂四会" assessment: per item id a score 0–100 or pass/fail.
    The overall result is 合格 when every item passes. Only for participants who attended."""
    course = enrolment.course
    if by is not None and not may_run(by, course):
        raise NotAllowed(_("考核须由课程主办单位登记"))
    if enrolment.attendance != AttendanceMark.PRESENT:
        raise RuleViolation(
            _("%(name)s 未出勤（%(mark)s），不能考核")
            % {"name": enrolment.staff.name, "mark": enrolment.get_attendance_display()}
        )
    today = today or timezone.localdate()
    if assessed_on is None:
        raise ServiceError(_("请填写考核日期"))
    if assessed_on > today:
        raise ServiceError(_("考核日期不能晚于今天"))
    if assessed_on < timezone.localtime(course.starts_at).date():
        raise ServiceError(_("考核日期不能早于课程开始日期"))
    if not (assessor or "").strip():
        raise ServiceError(_("请填写考核人"))
    items = {i.pk: i for i in AssessmentItem.objects.filter(active=True)}
    clean: dict[int, tuple[int | None, bool]] = {}
    for item_id, (score, passed) in marks.items():
        item = items.get(item_id)
        if item is None:
            raise ServiceError(_("考核项目无效"))
        if score is None and passed is None:
            continue
        if score is not None and not (0 <= score <= 100):
            raise ServiceError(_("“%(item)s”的得分必须在0到100之间") % {"item": item.name})
        clean[item_id] = (score, item_passed(score, passed))
    if not clean:
        raise ServiceError(_("请至少为一个考核项目打分或评定通过与否"))
    result = overall_result(clean.values())
    with transaction.atomic():
        existing = Assessment.objects.select_for_update().filter(enrolment=enrolment).first()
        before = snapshot(existing)
        a = existing or Assessment(enrolment=enrolment)
        a.result, a.assessed_on, a.assessor, a.note = result, assessed_on, assessor.strip(), note.strip()
        a.recorded_by = by if _signed_in(by) else None
        a.save()
        a.scores.all().delete()
        AssessmentScore.objects.bulk_create(
            [AssessmentScore(assessment=a, item_id=k, score=s, passed=p) for k, (s, p) in clean.items()]
        )
        record_change(
            by,
            "duty.training_assess",
            a,
            before=before,
            note="; ".join(
                f"{items[k].name}={s if s is not None else ('通过' if p else '不通过')}"
                for k, (s, p) in clean.items()
            ),
        )
    return a


# --- items (the editable "三懂四会" list) ----------------------------------------------------------------------
def save_item(
    *, item: AssessmentItem | None, group: str, name: str, order: int, active: bool, by: Any
) -> AssessmentItem:
    if by is not None and not may_edit_items(by):
        raise NotAllowed(_("考核项目只能由系统管理员维护"))
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("请填写项目名称"))
    if AssessmentItem.objects.filter(name=name).exclude(pk=item.pk if item else None).exists():
        raise ServiceError(_("已有同名考核项目"))
    with transaction.atomic():
        before = snapshot(item)
        item = item or AssessmentItem()
        item.group, item.name, item.order, item.active = group, name, order, active
        item.save()
        record_change(by, "duty.assessment_item_save", item, before=before)
    return item


# --- records -------------------------------------------------------------------------------------------------
@dataclass
class PersonRecord:
    staff: Staff
    enrolments: list[TrainingEnrolment]
    mentorships: list[Mentorship]
    hours_this_year: Decimal
    attended: int
    last_assessment: Assessment | None


def person_record(staff: Staff, *, today: dt.date | None = None) -> PersonRecord:
    today = today or timezone.localdate()
    enrolments = list(
        TrainingEnrolment.objects.filter(staff=staff)
        .select_related("course", "course__station", "assessment")
        .prefetch_related("assessment__scores__item")
        .order_by("-course__starts_at", "-id")
    )
    mentorships = list(
        Mentorship.objects.filter(Q(mentor=staff) | Q(apprentice=staff)).select_related(
            "course", "mentor", "apprentice"
        )
    )
    assessments = [e.assessment for e in enrolments if _has_assessment(e)]
    assessments.sort(key=lambda a: (a.assessed_on, a.pk), reverse=True)
    return PersonRecord(
        staff=staff,
        enrolments=enrolments,
        mentorships=mentorships,
        hours_this_year=hours_in_year(enrolments, today.year),
        attended=sum(1 for e in enrolments if e.attendance == AttendanceMark.PRESENT),
        last_assessment=assessments[0] if assessments else None,
    )


def _has_assessment(e: TrainingEnrolment) -> bool:
    try:
        e.assessment  # noqa: B018 - the reverse one-to-one raises when absent
    except Assessment.DoesNotExist:
        return False
    return True


@dataclass
class SummaryRow:
    staff: Staff
    hours_this_year: Decimal = Decimal("0")
    courses_attended: int = 0
    last_trained_on: dt.date | None = None
    last_result: str = ""
    last_assessed_on: dt.date | None = None
    flags: list[str] = field(default_factory=list)


def station_summary(station: Station, *, today: dt.date | None = None) -> list[SummaryRow]:
    """Per active staff member of the station: hours this year, courses attended (this year), the date of the
    last attended course, the last assessment result, and flags (no training in NO_TRAINING_DAYS days, failed
    last assessment). Three queries whatever the number of staff."""
    today = today or timezone.localdate()
    staff = list(Staff.objects.filter(station=station, active=True).order_by("kind", "badge_number"))
    rows = {s.pk: SummaryRow(staff=s) for s in staff}
    now = timezone.now()
    for staff_id, starts_at, hours in TrainingEnrolment.objects.filter(
        staff__in=staff, attendance=AttendanceMark.PRESENT, course__starts_at__lte=now
    ).values_list("staff_id", "course__starts_at", "course__hours"):
        row = rows[staff_id]
        day = timezone.localtime(starts_at).date()
        if day.year == today.year:
            row.hours_this_year += hours
            row.courses_attended += 1
        if row.last_trained_on is None or day > row.last_trained_on:
            row.last_trained_on = day
    for staff_id, result, on in (
        Assessment.objects.filter(enrolment__staff__in=staff)
        .order_by("enrolment__staff_id", "-assessed_on", "-id")
        .values_list("enrolment__staff_id", "result", "assessed_on")
    ):
        row = rows[staff_id]
        if row.last_assessed_on is None:
            row.last_result, row.last_assessed_on = result, on
    since = today - dt.timedelta(days=NO_TRAINING_DAYS)
    for row in rows.values():
        if row.last_trained_on is None or row.last_trained_on < since:
            row.flags.append(_("%(n)d天内未参加培训") % {"n": NO_TRAINING_DAYS})
        if row.last_result == AssessmentResult.FAIL:
            row.flags.append(_("最近一次考核不合格"))
    return list(rows.values())
