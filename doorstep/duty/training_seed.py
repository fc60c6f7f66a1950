"""Demo data of training: past sub-bureau courses with attendance and "三懂四会" assessments (a few failures,
some absences), an online course, a 师傅带学 pairing per station, and upcoming courses. Everything goes
through `duty.training` services. Idempotent: a course whose title already exists for its organiser is left
alone (with its enrolments, attendance and assessments).

    from doorstep.duty import training_seed; training_seed.seed(1)
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from doorstep.duty import training
from doorstep.duty.choices import AttendanceMark, CourseForm
from doorstep.duty.models import AssessmentItem, TrainingCourse
from doorstep.org.choices import StaffKind
from doorstep.org.models import Staff, Station, SubBureau

TRAINEES = (StaffKind.POLICE, StaffKind.AUXILIARY)


def _at(today: dt.date, days: int, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour)))


def _course(sb, station, title, form, start, end, hours, **extra) -> tuple[TrainingCourse, bool]:
    existing = TrainingCourse.objects.filter(sub_bureau=sb, station=station, title=title).first()
    if existing is not None:
        return existing, False
    data = {
        "title": title,
        "form": form,
        "starts_at": start,
        "ends_at": end,
        "hours": Decimal(hours),
        "place": extra.get("place", ""),
        "trainer": extra.get("trainer", ""),
        "content": extra.get("content", ""),
        "capacity": extra.get("capacity"),
        "target_kinds": extra.get("kinds", []),
    }
    return training.create_course(station=station, data=data, by=None, sub_bureau=sb), True


def _attend_and_assess(course, rng: random.Random, now: dt.datetime, today: dt.date) -> tuple[int, int]:
    enrolments = list(course.enrolments.select_related("staff").order_by("staff__badge_number"))
    marks = {}
    for e in enrolments:
        roll = rng.random()
        marks[e.pk] = (
            AttendanceMark.PRESENT
            if roll < 0.85
            else AttendanceMark.LEAVE
            if roll < 0.93
            else AttendanceMark.ABSENT
        )
    if marks:
        training.record_attendance(course=course, marks=marks, by=None, now=now)
    items = list(AssessmentItem.objects.filter(active=True))
    assessed = 0
    on = min(timezone.localtime(course.ends_at).date(), today)
    for e in enrolments:
        if marks[e.pk] != AttendanceMark.PRESENT:
            continue
        e.attendance = AttendanceMark.PRESENT
        # Mostly good scores; roughly one person in eight fails an item.
        scores = {
            i.pk: (rng.randint(52, 98) if rng.random() < 0.12 else rng.randint(68, 98), None) for i in items
        }
        training.assess(enrolment=e, marks=scores, assessed_on=on, assessor="王建国", by=None, today=today)
        assessed += 1
    return len(marks), assessed


def seed(seed_value: int = 0, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    today = timezone.localdate(now)
    rng = random.Random(seed_value)
    sb = SubBureau.objects.order_by("code").first()
    if sb is None:
        return {"courses": 0, "enrolments": 0, "attendance": 0, "assessments": 0}
    stations = list(Station.objects.filter(sub_bureau=sb).order_by("code"))
    counts = {"courses": 0, "enrolments": 0, "attendance": 0, "assessments": 0}
    trainees = Staff.objects.filter(sub_bureau=sb, station__isnull=False, active=True, kind__in=TRAINEES)

    # Past: the sub-bureau's 三懂四会 round, two months ago, for officers and auxiliaries of every station.
    course, new = _course(
        sb,
        None,
        "社区民警“三懂四会”轮训（第一期）",
        CourseForm.CENTRAL,
        _at(today, -60, 9),
        _at(today, -58, 17),
        "16",
        place="分局培训中心三楼报告厅",
        trainer="分局政治处 周敏",
        content="懂社情、懂法律、懂业务；会群众工作、会信息采集、会矛盾调解、会应急处置。",
        kinds=list(TRAINEES),
    )
    if new:
        counts["courses"] += 1
        # Most but not everybody (the rest show the "no training in 90 days" flag).
        people = [s for s in trainees.order_by("badge_number") if rng.random() < 0.8]
        if people:
            counts["enrolments"] += len(training.enrol(course=course, staff=people, by=None))
            a, b = _attend_and_assess(course, rng, now, today)
            counts["attendance"] += a
            counts["assessments"] += b

    # Past: an online course on mediation law, three weeks ago, for officers.
    course, new = _course(
        sb,
        None,
        "《人民调解法》与治安调解网络课程",
        CourseForm.ONLINE,
        _at(today, -21, 14),
        _at(today, -21, 18),
        "4",
        place="公安网学习平台 /study/course/2026-mediation",
        trainer="市局法制支队",
        kinds=[StaffKind.POLICE],
    )
    if new:
        counts["courses"] += 1
        people = [
            s for s in trainees.filter(kind=StaffKind.POLICE).order_by("badge_number") if rng.random() < 0.6
        ]
        if people:
            counts["enrolments"] += len(training.enrol(course=course, staff=people, by=None))
            e_marks = {e.pk: AttendanceMark.PRESENT for e in course.enrolments.all()}
            training.record_attendance(course=course, marks=e_marks, by=None, now=now)
            counts["attendance"] += len(e_marks)

    for station in stations:
        police = list(
            Staff.objects.filter(station=station, active=True, kind=StaffKind.POLICE).order_by(
                "joined_on", "badge_number"
            )
        )
        # Running now: 师傅带学, the longest-serving officer mentoring the newest.
        course, new = _course(
            sb,
            station,
            f"{station.name}新警师傅带学",
            CourseForm.MENTOR,
            _at(today, -30, 9),
            _at(today, 60, 17),
            "40",
            place=f"{station.name}及辖区警务室",
            trainer="所内师傅",
            kinds=[StaffKind.POLICE, StaffKind.AUXILIARY],
        )
        if new:
            counts["courses"] += 1
            if len(police) >= 2:
                training.pair_mentor(
                    course=course,
                    mentor=police[0],
                    apprentice=police[-1],
                    starts_on=timezone.localtime(course.starts_at).date(),
                    ends_on=timezone.localtime(course.ends_at).date(),
                    notes="每周随师傅走访入户两次，学习信息采集和矛盾调解。",
                    by=None,
                )
                counts["enrolments"] += 1
        # Upcoming: an instructor brings emergency-response training to the station.
        course, new = _course(
            sb,
            station,
            "应急处置实战送教",
            CourseForm.INSTRUCTOR,
            _at(today, 7, 9),
            _at(today, 7, 17),
            "8",
            place=f"{station.name}训练场",
            trainer="分局教官 陈立",
            capacity=30,
        )
        if new:
            counts["courses"] += 1
            people = police[:10]
            if people:
                counts["enrolments"] += len(training.enrol(course=course, staff=people, by=None))

    # Upcoming: an expert session at the sub-bureau.
    course, new = _course(
        sb,
        None,
        "矛盾纠纷化解专家集训",
        CourseForm.EXPERT,
        _at(today, 14, 9),
        _at(today, 15, 17),
        "12",
        place="分局培训中心",
        trainer="省人民调解协会 专家组",
        capacity=40,
        kinds=[StaffKind.POLICE],
    )
    if new:
        counts["courses"] += 1
    return counts
