"""Training: service rules, records and summary, page scoping, Chinese form errors, query counts, seed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from doorstep.audit.models import AuditEntry
from doorstep.conftest import make_staff
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.duty import training, training_seed
from doorstep.duty.choices import AssessmentResult, AttendanceMark, CourseForm
from doorstep.duty.models import Assessment, AssessmentItem, Mentorship, TrainingCourse, TrainingEnrolment
from doorstep.duty.tests.factories import at
from doorstep.org.choices import StaffKind
from doorstep.org.models import Staff

pytestmark = pytest.mark.django_db

NOW = at(28, 12)  # 2026-11-28 12:00 local


def _data(**kw):
    data = {
        "title": "三懂四会轮训",
        "form": CourseForm.CENTRAL,
        "starts_at": at(20, 9),
        "ends_at": at(21, 17),
        "hours": Decimal("16"),
        "place": "分局培训中心",
        "trainer": "周敏",
        "content": "",
        "capacity": None,
        "target_kinds": [],
    }
    data.update(kw)
    return data


def _course(world, station=None, by=None, **kw):
    return training.create_course(
        station=station, data=_data(**kw), by=by or world.admin, sub_bureau=world.sub_bureau
    )


def _officer_d(world):
    return Staff.objects.get(station=world.s2, kind=StaffKind.POLICE)


def _items():
    return list(AssessmentItem.objects.filter(active=True))


def _all_scores(score):
    return {i.pk: (score, None) for i in _items()}


# --- who may create ------------------------------------------------------------------------------------------
def test_items_are_seeded_three_knows_four_cans():
    names = [i.name for i in AssessmentItem.objects.order_by("order")]
    assert names == ["懂社情", "懂法律", "懂业务", "会群众工作", "会信息采集", "会矛盾调解", "会应急处置"]


@pytest.mark.parametrize("who", ["leader", "evaluator", "admin"])
def test_sub_bureau_roles_create_sub_bureau_courses(world, who):
    course = _course(world, by=getattr(world, who))
    assert course.station_id is None and course.sub_bureau == world.sub_bureau
    assert AuditEntry.objects.filter(action="duty.course_create").count() == 1


@pytest.mark.parametrize("who", ["director", "officer_a", "dispatcher"])
def test_others_may_not_create_sub_bureau_courses(world, who):
    with pytest.raises(NotAllowed, match="分局组织的培训"):
        _course(world, by=getattr(world, who))
    assert TrainingCourse.objects.count() == 0


def test_director_creates_courses_for_own_station_only(world):
    course = _course(world, station=world.s1, by=world.director)
    assert course.station == world.s1
    with pytest.raises(NotAllowed, match="本所所长"):
        _course(world, station=world.s2, by=world.director)
    with pytest.raises(NotAllowed):
        _course(world, station=world.s1, by=world.officer_a)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": "  "}, "课程名称"),
        ({"form": "lecture"}, "培训形式"),
        ({"ends_at": at(20, 9)}, "结束时间必须晚于开始时间"),
        ({"hours": Decimal("0")}, "学时必须大于0"),
        ({"hours": Decimal("501")}, "学时不能超过"),
        ({"target_kinds": ["chef"]}, "参训人员类别无效"),
        ({"capacity": 0}, "名额"),
    ],
)
def test_course_validation(world, change, message):
    with pytest.raises(ServiceError, match=message):
        _course(world, **change)


# --- enrolment -----------------------------------------------------------------------------------------------
def test_enrol_only_within_the_organisers_territory(world):
    course = _course(world, station=world.s1, by=world.director)
    training.enrol(course=course, staff=[world.officer_a_staff], by=world.director)
    with pytest.raises(ServiceError, match="不属于主办派出所"):
        training.enrol(course=course, staff=[_officer_d(world)], by=world.director)
    with pytest.raises(RuleViolation, match="已报名"):
        training.enrol(course=course, staff=[world.officer_a_staff], by=world.director)
    assert course.enrolments.count() == 1


def test_enrol_respects_targets_and_capacity(world):
    course = _course(world, target_kinds=[StaffKind.POLICE], capacity=2)
    course.target_stations.set([world.s1])
    aux = Staff.objects.get(station=world.s1, kind=StaffKind.AUXILIARY)
    with pytest.raises(ServiceError, match="不面向专职协勤员"):
        training.enrol(course=course, staff=[aux], by=world.admin)
    with pytest.raises(ServiceError, match="不在本课程的参训范围内"):
        training.enrol(course=course, staff=[_officer_d(world)], by=world.admin)
    third = make_staff(world.sub_bureau, world.s1, StaffKind.POLICE, "郑好")
    with pytest.raises(RuleViolation, match="名额已满"):
        training.enrol(
            course=course, staff=[world.officer_a_staff, world.officer_b_staff, third], by=world.admin
        )
    assert course.enrolments.count() == 0  # all or none


def test_director_enrols_only_own_staff_on_sub_bureau_course(world):
    course = _course(world)
    training.enrol(course=course, staff=[world.officer_a_staff], by=world.director)
    with pytest.raises(NotAllowed, match="本所人员"):
        training.enrol(course=course, staff=[_officer_d(world)], by=world.director)
    with pytest.raises(NotAllowed):
        training.enrol(course=course, staff=[world.officer_b_staff], by=world.officer_a)


def test_bulk_enrol_skips_people_already_enrolled(world):
    course = _course(world)
    training.enrol(course=course, staff=[world.officer_a_staff], by=world.admin)
    police = Staff.objects.filter(kind=StaffKind.POLICE, station__isnull=False)
    created = training.enrol(course=course, staff=police, by=world.admin, skip_enrolled=True)
    assert len(created) == police.count() - 1


def test_inactive_staff_cannot_enrol(world):
    course = _course(world)
    gone = make_staff(world.sub_bureau, world.s1, StaffKind.POLICE, "离职")
    Staff.objects.filter(pk=gone.pk).update(active=False)
    gone.refresh_from_db()
    with pytest.raises(ServiceError, match="不在职"):
        training.enrol(course=course, staff=[gone], by=world.admin)


# --- attendance ----------------------------------------------------------------------------------------------
def test_attendance_refused_before_the_course_starts(world):
    course = _course(world, starts_at=at(30, 9), ends_at=at(30, 17))
    (e,) = training.enrol(course=course, staff=[world.officer_a_staff], by=world.admin)
    with pytest.raises(RuleViolation, match="开始前不能登记出勤"):
        training.record_attendance(
            course=course, marks={e.pk: AttendanceMark.PRESENT}, by=world.admin, now=NOW
        )
    changed = training.record_attendance(
        course=course, marks={e.pk: AttendanceMark.PRESENT}, by=world.admin, now=at(30, 9)
    )
    assert changed == 1
    e.refresh_from_db()
    assert e.attendance == AttendanceMark.PRESENT and e.attendance_at == at(30, 9)


def test_attendance_marks_and_who_may_record(world):
    course = _course(world)
    a, b = training.enrol(course=course, staff=[world.officer_a_staff, world.officer_b_staff], by=world.admin)
    with pytest.raises(ServiceError, match="出勤、缺勤或请假"):
        training.record_attendance(course=course, marks={a.pk: "late"}, by=world.admin, now=NOW)
    with pytest.raises(NotAllowed, match="主办单位"):
        training.record_attendance(course=course, marks={a.pk: "present"}, by=world.director, now=NOW)
    other = _course(world, title="另一门")
    with pytest.raises(ServiceError, match="不属于这门课程"):
        training.record_attendance(course=other, marks={a.pk: "present"}, by=world.admin, now=NOW)
    training.record_attendance(
        course=course,
        marks={a.pk: AttendanceMark.PRESENT, b.pk: AttendanceMark.LEAVE},
        by=world.admin,
        now=NOW,
    )
    assert dict(course.enrolments.values_list("staff_id", "attendance")) == {
        world.officer_a_staff.pk: "present",
        world.officer_b_staff.pk: "leave",
    }


# --- assessment ----------------------------------------------------------------------------------------------
def _attended(world, staff=None, mark=AttendanceMark.PRESENT, **kw):
    course = _course(world, **kw)
    (e,) = training.enrol(course=course, staff=[staff or world.officer_a_staff], by=world.admin)
    training.record_attendance(course=course, marks={e.pk: mark}, by=world.admin, now=NOW)
    e.refresh_from_db()
    return e


def test_assessment_only_for_participants_who_attended(world):
    e = _attended(world, mark=AttendanceMark.ABSENT)
    with pytest.raises(RuleViolation, match="未出勤"):
        training.assess(
            enrolment=e, marks=_all_scores(90), assessed_on=NOW.date(), assessor="王", by=world.admin
        )
    assert Assessment.objects.count() == 0


def test_score_bounds_and_overall_result(world):
    e = _attended(world)
    item = _items()[0]
    for bad in (-1, 101):
        with pytest.raises(ServiceError, match="0到100"):
            training.assess(
                enrolment=e,
                marks={item.pk: (bad, None)},
                assessed_on=NOW.date(),
                assessor="王",
                by=world.admin,
            )
    a = training.assess(
        enrolment=e,
        marks=_all_scores(60),
        assessed_on=dt.date(2026, 11, 21),
        assessor="王",
        by=world.admin,
        today=NOW.date(),
    )
    assert a.result == AssessmentResult.PASS and a.scores.count() == 7
    marks = _all_scores(95)
    marks[item.pk] = (59, None)
    a = training.assess(
        enrolment=e,
        marks=marks,
        assessed_on=dt.date(2026, 11, 22),
        assessor="王",
        by=world.admin,
        today=NOW.date(),
    )
    assert a.result == AssessmentResult.FAIL and Assessment.objects.count() == 1  # replaced, not duplicated
    # Pass/fail instead of a score.
    a = training.assess(
        enrolment=e,
        marks={item.pk: (None, True), _items()[1].pk: (None, False)},
        assessed_on=dt.date(2026, 11, 22),
        assessor="王",
        by=world.admin,
        today=NOW.date(),
    )
    assert a.result == AssessmentResult.FAIL
    assert AuditEntry.objects.filter(action="duty.training_assess").count() == 3


def test_assessment_dates_and_permissions(world):
    e = _attended(world)
    with pytest.raises(ServiceError, match="不能晚于今天"):
        training.assess(
            enrolment=e,
            marks=_all_scores(90),
            assessed_on=dt.date(2026, 11, 29),
            assessor="王",
            by=world.admin,
            today=NOW.date(),
        )
    with pytest.raises(ServiceError, match="不能早于课程开始"):
        training.assess(
            enrolment=e,
            marks=_all_scores(90),
            assessed_on=dt.date(2026, 11, 19),
            assessor="王",
            by=world.admin,
            today=NOW.date(),
        )
    with pytest.raises(ServiceError, match="至少"):
        training.assess(
            enrolment=e, marks={}, assessed_on=NOW.date(), assessor="王", by=world.admin, today=NOW.date()
        )
    with pytest.raises(NotAllowed):
        training.assess(
            enrolment=e,
            marks=_all_scores(90),
            assessed_on=NOW.date(),
            assessor="王",
            by=world.director,
            today=NOW.date(),
        )


def test_overall_result_rule():
    assert training.overall_result([(60, None), (None, True)]) == AssessmentResult.PASS
    assert training.overall_result([(100, None), (59, None)]) == AssessmentResult.FAIL
    assert training.overall_result([]) == AssessmentResult.FAIL


# --- 师傅带学 --------------------------------------------------------------------------------------------------
def test_mentorship_pairs_and_enrols_the_apprentice(world):
    course = _course(world, station=world.s1, by=world.director, form=CourseForm.MENTOR, target_kinds=[])
    pair = training.pair_mentor(
        course=course,
        mentor=world.officer_b_staff,
        apprentice=world.officer_a_staff,
        starts_on=dt.date(2026, 11, 20),
        ends_on=dt.date(2027, 2, 20),
        notes="随师傅入户",
        by=world.director,
    )
    assert pair.mentor == world.officer_b_staff
    assert course.enrolments.filter(staff=world.officer_a_staff).exists()
    with pytest.raises(RuleViolation, match="已有师傅"):
        training.pair_mentor(
            course=course,
            mentor=world.officer_b_staff,
            apprentice=world.officer_a_staff,
            starts_on=dt.date(2026, 11, 20),
            ends_on=dt.date(2026, 12, 20),
            by=world.director,
        )
    with pytest.raises(ServiceError, match="同一人"):
        training.pair_mentor(
            course=course,
            mentor=world.officer_b_staff,
            apprentice=world.officer_b_staff,
            starts_on=dt.date(2026, 11, 20),
            ends_on=dt.date(2026, 12, 20),
            by=world.director,
        )
    with pytest.raises(ServiceError, match="不在本课程的参训范围内"):
        training.pair_mentor(
            course=course,
            mentor=world.officer_b_staff,
            apprentice=_officer_d(world),
            starts_on=dt.date(2026, 11, 20),
            ends_on=dt.date(2026, 12, 20),
            by=world.director,
        )
    with pytest.raises(ServiceError, match="不能早于开始日期"):
        training.pair_mentor(
            course=course,
            mentor=world.officer_a_staff,
            apprentice=world.officer_b_staff,
            starts_on=dt.date(2026, 11, 20),
            ends_on=dt.date(2026, 11, 19),
            by=world.director,
        )
    assert Mentorship.objects.count() == 1


def test_mentorship_only_on_mentor_courses(world):
    course = _course(world)
    with pytest.raises(ServiceError, match="师傅带学"):
        training.pair_mentor(
            course=course,
            mentor=world.officer_b_staff,
            apprentice=world.officer_a_staff,
            starts_on=dt.date(2026, 11, 20),
            ends_on=dt.date(2026, 12, 20),
            by=world.admin,
        )


# --- hours, person record, station summary -------------------------------------------------------------------
def test_hours_count_attended_courses_starting_this_year(world):
    a = _attended(world, hours=Decimal("16"))
    _attended(world, title="第二门", hours=Decimal("4.5"))
    _attended(world, title="缺勤的", hours=Decimal("8"), mark=AttendanceMark.ABSENT)
    _attended(world, title="去年的", hours=Decimal("10"), starts_at=at(-340, 9), ends_at=at(-340, 17))
    record = training.person_record(world.officer_a_staff, today=NOW.date())
    assert record.hours_this_year == Decimal("20.5")
    assert record.attended == 3 and len(record.enrolments) == 4
    assert a.course.starts_at.year == 2026


def test_station_summary_flags(world):
    with time_machine.travel(NOW, tick=False):
        e = _attended(world)  # officer A: trained 8 days ago
        marks = _all_scores(90)
        marks[_items()[0].pk] = (40, None)
        training.assess(enrolment=e, marks=marks, assessed_on=NOW.date(), assessor="王", by=world.admin)
        # Officer B trained long ago (4 months) and passed.
        old = _attended(
            world, staff=world.officer_b_staff, title="旧课", starts_at=at(-100, 9), ends_at=at(-100, 17)
        )
        training.assess(
            enrolment=old,
            marks=_all_scores(80),
            assessed_on=dt.date(2026, 7, 25),
            assessor="王",
            by=world.admin,
        )
        rows = {r.staff.pk: r for r in training.station_summary(world.s1, today=NOW.date())}
    a, b = rows[world.officer_a_staff.pk], rows[world.officer_b_staff.pk]
    assert a.hours_this_year == Decimal("16") and a.courses_attended == 1
    assert a.last_result == AssessmentResult.FAIL and a.flags == ["最近一次考核不合格"]
    assert b.last_result == AssessmentResult.PASS and b.flags == ["90天内未参加培训"]
    aux = Staff.objects.get(station=world.s1, kind=StaffKind.AUXILIARY)
    assert rows[aux.pk].flags == ["90天内未参加培训"] and rows[aux.pk].last_trained_on is None
    assert _officer_d(world).pk not in rows


def test_station_summary_query_count_does_not_grow(world, django_assert_max_num_queries):
    course = _course(world)
    for i in range(15):
        make_staff(world.sub_bureau, world.s1, StaffKind.POLICE, f"警员{i}")
    people = list(Staff.objects.filter(station=world.s1, kind=StaffKind.POLICE))
    enrolments = training.enrol(course=course, staff=people, by=world.admin)
    training.record_attendance(
        course=course, marks={e.pk: "present" for e in enrolments}, by=world.admin, now=NOW
    )
    for e in enrolments:
        e.refresh_from_db()
        training.assess(
            enrolment=e,
            marks=_all_scores(88),
            assessed_on=NOW.date(),
            assessor="王",
            by=world.admin,
            today=NOW.date(),
        )
    with django_assert_max_num_queries(3):
        rows = training.station_summary(world.s1, today=NOW.date())
    assert sum(1 for r in rows if r.last_result == AssessmentResult.PASS) == len(people)


def test_station_summary_page_query_count(world, client_for, django_assert_max_num_queries):
    for i in range(10):
        make_staff(world.sub_bureau, world.s1, StaffKind.POLICE, f"警员{i}")
    c = client_for(world.director)
    c.get(f"/duty/training/stations/{world.s1.pk}/")  # warm the session
    with django_assert_max_num_queries(12):
        response = c.get(f"/duty/training/stations/{world.s1.pk}/")
    assert response.status_code == 200


# --- pages and scoping ---------------------------------------------------------------------------------------
def test_course_list_scoping(world, client_for):
    sb = _course(world, title="分局课")
    s1 = _course(world, station=world.s1, by=world.director, title="城东课")
    s2 = _course(world, station=world.s2, by=world.director_s2, title="清源课")
    cases = {
        "director": {sb.pk, s1.pk},
        "director_s2": {sb.pk, s2.pk},
        "officer_a": {sb.pk, s1.pk},
        "leader": {sb.pk, s1.pk, s2.pk},
    }
    for name, expected in cases.items():
        response = client_for(getattr(world, name)).get("/duty/training/")
        assert response.status_code == 200
        assert {r["course"].pk for r in response.context["rows"]} == expected, name
    assert client_for(world.director).get(f"/duty/training/courses/{s2.pk}/").status_code == 404
    assert client_for(world.director_s2).get(f"/duty/training/courses/{s1.pk}/").status_code == 404
    assert client_for(None).get("/duty/training/").status_code == 302


def test_person_record_scoping(world, client_for):
    url_a = f"/duty/training/people/{world.officer_a_staff.pk}/"
    assert client_for(world.officer_a).get(url_a).status_code == 200  # her own record
    response = client_for(world.officer_b).get(
        url_a
    )  # a colleague: sees her in the org pages, not her record
    assert response.status_code == 403 and "本人的培训档案" in response.content.decode()
    assert client_for(world.director).get(url_a).status_code == 200
    assert client_for(world.leader).get(url_a).status_code == 200
    assert client_for(world.director_s2).get(url_a).status_code == 404
    assert client_for(world.director).get(f"/duty/training/people/{_officer_d(world).pk}/").status_code == 404
    assert client_for(world.director).get("/duty/training/people/999999/").status_code == 404


def test_person_record_page_lists_courses_and_hours(world, client_for):
    e = _attended(world, hours=Decimal("16"))
    training.assess(
        enrolment=e,
        marks=_all_scores(90),
        assessed_on=NOW.date(),
        assessor="王建国",
        by=world.admin,
        today=NOW.date(),
    )
    with time_machine.travel(NOW, tick=False):
        body = (
            client_for(world.officer_a)
            .get(f"/duty/training/people/{world.officer_a_staff.pk}/")
            .content.decode()
        )
    assert "三懂四会轮训" in body and "16.0" in body and "合格" in body and "王建国" in body


def test_station_summary_scoping(world, client_for):
    url = f"/duty/training/stations/{world.s1.pk}/"
    assert client_for(world.director).get(url).status_code == 200
    assert client_for(world.evaluator).get(url).status_code == 200
    assert client_for(world.director_s2).get(url).status_code == 404
    response = client_for(world.officer_a).get(url)
    assert response.status_code == 403 and "所长和分局" in response.content.decode()


def test_course_form_creates_and_shows_chinese_errors(world, client_for):
    c = client_for(world.director)
    response = c.post("/duty/training/courses/new/", {"organiser": str(world.s1.pk), "hours": "abc"})
    assert response.status_code == 400
    body = response.content.decode()
    for message in ("请填写课程名称", "请选择培训形式", "请填写开始时间", "学时必须是数字"):
        assert message in body
    response = c.post(
        "/duty/training/courses/new/",
        {
            "title": "入户走访技巧",
            "form": "central",
            "organiser": str(world.s1.pk),
            "starts_at": "2026-12-02T09:00",
            "ends_at": "2026-12-02T08:00",
            "hours": "4",
        },
    )
    assert response.status_code == 400 and "结束时间必须晚于开始时间" in response.content.decode()
    # A director may not pick the sub-bureau as organiser.
    response = c.post(
        "/duty/training/courses/new/",
        {
            "title": "x",
            "form": "central",
            "organiser": "sb",
            "starts_at": "2026-12-02T09:00",
            "ends_at": "2026-12-02T12:00",
            "hours": "3",
        },
    )
    assert response.status_code == 400 and "主办单位无效" in response.content.decode()
    response = c.post(
        "/duty/training/courses/new/",
        {
            "title": "入户走访技巧",
            "form": "central",
            "organiser": str(world.s1.pk),
            "starts_at": "2026-12-02T09:00",
            "ends_at": "2026-12-02T12:00",
            "hours": "3",
        },
    )
    assert response.status_code == 302
    course = TrainingCourse.objects.get(title="入户走访技巧")
    assert course.station == world.s1 and course.hours == Decimal("3")


def test_officer_may_not_create_or_run(world, client_for):
    course = _course(world, station=world.s1, by=world.director)
    c = client_for(world.officer_a)
    response = c.get("/duty/training/courses/new/")
    assert response.status_code == 403 and "所长创建" in response.content.decode()
    assert c.get(f"/duty/training/courses/{course.pk}/").status_code == 200
    assert c.get(f"/duty/training/courses/{course.pk}/edit/").status_code == 403
    assert c.get(f"/duty/training/courses/{course.pk}/enrol/").status_code == 403
    assert c.post(f"/duty/training/courses/{course.pk}/attendance/", {}).status_code == 403


def test_enrol_page_bulk_by_kind_and_errors(world, client_for):
    course = _course(world, station=world.s1, by=world.director)
    c = client_for(world.director)
    response = c.post(f"/duty/training/courses/{course.pk}/enrol/", {})
    assert response.status_code == 400 and "请选择参训人员" in response.content.decode()
    response = c.post(f"/duty/training/courses/{course.pk}/enrol/", {"staff": [str(_officer_d(world).pk)]})
    assert response.status_code == 400 and "不在可报名范围内" in response.content.decode()
    response = c.post(f"/duty/training/courses/{course.pk}/enrol/", {"by_kind": "police"})
    assert response.status_code == 302
    assert set(course.enrolments.values_list("staff_id", flat=True)) == set(
        Staff.objects.filter(station=world.s1, kind="police").values_list("pk", flat=True)
    )


def test_attendance_and_assessment_pages(world, client_for):
    course = _course(world, station=world.s1, by=world.director)
    (e,) = training.enrol(course=course, staff=[world.officer_a_staff], by=world.director)
    c = client_for(world.director)
    assert c.get(f"/duty/training/enrolments/{e.pk}/assess/").status_code == 403  # not attended yet
    with time_machine.travel(NOW, tick=False):
        response = c.post(f"/duty/training/courses/{course.pk}/attendance/", {f"att_{e.pk}": "present"})
        assert response.status_code == 302
        e.refresh_from_db()
        assert e.attendance == "present"
        items = _items()
        response = c.post(
            f"/duty/training/enrolments/{e.pk}/assess/",
            {"assessed_on": "2026-11-28", "assessor": "王建国", f"score_{items[0].pk}": "101"},
        )
        assert response.status_code == 400 and "得分不能超过100" in response.content.decode()
        response = c.post(
            f"/duty/training/enrolments/{e.pk}/assess/", {"assessed_on": "2026-11-28", "assessor": ""}
        )
        body = response.content.decode()
        assert response.status_code == 400 and "请填写考核人" in body
        post = {"assessed_on": "2026-11-28", "assessor": "王建国"}
        post.update({f"score_{i.pk}": "85" for i in items})
        post[f"score_{items[-1].pk}"] = ""
        post[f"pass_{items[-1].pk}"] = "1"
        response = c.post(f"/duty/training/enrolments/{e.pk}/assess/", post)
        assert response.status_code == 302
    a = Assessment.objects.get(enrolment=e)
    assert a.result == "pass" and a.scores.get(item=items[-1]).score is None
    # Other station's director: the enrolment is outside her territory.
    assert client_for(world.director_s2).get(f"/duty/training/enrolments/{e.pk}/assess/").status_code == 404


def test_attendance_page_before_start_shows_reason(world, client_for):
    course = _course(world, station=world.s1, by=world.director, starts_at=at(30, 9), ends_at=at(30, 17))
    (e,) = training.enrol(course=course, staff=[world.officer_a_staff], by=world.director)
    with time_machine.travel(NOW, tick=False):
        response = client_for(world.director).post(
            f"/duty/training/courses/{course.pk}/attendance/", {f"att_{e.pk}": "present"}, follow=True
        )
    assert "开始前不能登记出勤" in response.content.decode()
    e.refresh_from_db()
    assert e.attendance == ""


def test_officer_sees_only_her_own_row_on_a_course(world, client_for):
    course = _course(world)
    training.enrol(course=course, staff=[world.officer_a_staff, world.officer_b_staff], by=world.admin)
    rows = client_for(world.officer_a).get(f"/duty/training/courses/{course.pk}/").context["rows"]
    assert [r["e"].staff_id for r in rows] == [world.officer_a_staff.pk]
    rows = client_for(world.director).get(f"/duty/training/courses/{course.pk}/").context["rows"]
    assert len(rows) == 2


def test_mentorship_page(world, client_for):
    course = _course(world, station=world.s1, by=world.director, form=CourseForm.MENTOR)
    c = client_for(world.director)
    url = f"/duty/training/courses/{course.pk}/mentorships/new/"
    response = c.post(
        url,
        {
            "mentor": world.officer_b_staff.pk,
            "apprentice": world.officer_b_staff.pk,
            "starts_on": "2026-11-20",
            "ends_on": "2026-11-01",
        },
    )
    body = response.content.decode()
    assert response.status_code == 400 and "同一人" in body and "不能早于开始日期" in body
    response = c.post(
        url,
        {
            "mentor": world.officer_b_staff.pk,
            "apprentice": world.officer_a_staff.pk,
            "starts_on": "2026-11-20",
            "ends_on": "2027-01-20",
            "notes": "入户",
        },
    )
    assert response.status_code == 302 and Mentorship.objects.count() == 1
    other = _course(world, station=world.s1, by=world.director, title="集中")
    assert c.get(f"/duty/training/courses/{other.pk}/mentorships/new/").status_code == 403


def test_items_page_admin_only(world, client_for):
    assert client_for(world.director).get("/duty/training/items/").status_code == 403
    c = client_for(world.admin)
    assert c.get("/duty/training/items/").status_code == 200
    response = c.post("/duty/training/items/", {"group": "can", "name": "", "order": "80"})
    assert response.status_code == 400 and "请填写项目名称" in response.content.decode()
    response = c.post(
        "/duty/training/items/", {"group": "can", "name": "会群众工作", "order": "80", "active": "1"}
    )
    assert response.status_code == 400 and "同名" in response.content.decode()
    item = AssessmentItem.objects.get(name="懂社情")
    response = c.post(
        "/duty/training/items/", {"pk": item.pk, "group": "know", "name": "懂社情民意", "order": "5"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.name == "懂社情民意" and not item.active


def test_withdraw(world, client_for):
    course = _course(world)
    a, b = training.enrol(course=course, staff=[world.officer_a_staff, world.officer_b_staff], by=world.admin)
    training.record_attendance(course=course, marks={b.pk: "present"}, by=world.admin, now=NOW)
    c = client_for(world.admin)
    assert c.post(f"/duty/training/enrolments/{a.pk}/withdraw/").status_code == 302
    assert not TrainingEnrolment.objects.filter(pk=a.pk).exists()
    c.post(f"/duty/training/enrolments/{b.pk}/withdraw/")
    assert TrainingEnrolment.objects.filter(pk=b.pk).exists()  # attendance recorded: kept
    assert client_for(world.officer_a).post(f"/duty/training/enrolments/{b.pk}/withdraw/").status_code == 403


# --- seed ----------------------------------------------------------------------------------------------------
def test_seed_is_idempotent_and_flags_something(world):
    with time_machine.travel(NOW, tick=False):
        first = training_seed.seed(1, now=timezone.now())
        assert first["courses"] == 7 and first["assessments"] > 0
        again = training_seed.seed(1, now=timezone.now())
    assert again == {"courses": 0, "enrolments": 0, "attendance": 0, "assessments": 0}
    assert TrainingCourse.objects.count() == 7
    assert Mentorship.objects.count() == 1  # S2 has one officer: nobody to pair
    for e in TrainingEnrolment.objects.filter(assessment__isnull=False):
        assert e.attendance == AttendanceMark.PRESENT
