"""Pages of training (培训): courses, enrolment, attendance, 师傅带学 pairs, "三懂四会" assessments, each
officer's record and the station summary.

Reads go through `training.courses_for` and territory-scoped staff/enrolments: outside → 404. A user who
sees a course or person but may not act gets a 403 with the reason in Chinese.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.accounts.choices import Scope
from doorstep.core.errors import ServiceError
from doorstep.duty import training
from doorstep.duty.choices import AssessmentGroup, AttendanceMark, CourseForm
from doorstep.duty.models import AssessmentItem, Mentorship, TrainingEnrolment
from doorstep.duty.pages import _render
from doorstep.duty.training_forms import (
    ATTENDANCE_CHOICES,
    AssessmentForm,
    CourseEditForm,
    EnrolForm,
    MentorshipForm,
)
from doorstep.org.models import Staff, Station
from doorstep.org.territory import Territory, get_in_territory

SB = "sb"  # the organiser choice "the sub-bureau"


def _stations_for(user: Any):
    return Territory.for_user(user).stations().order_by("code")


def _organisers(user: Any) -> list[tuple[str, str]]:
    choices: list[tuple[str, str]] = []
    if training.may_organise(user, None):
        choices.append((SB, _("分局")))
    for s in _stations_for(user):
        if training.may_organise(user, s.pk):
            choices.append((str(s.pk), s.name))
    return choices


def _station_of(value: str) -> Station | None:
    return None if value == SB else Station.objects.select_related("sub_bureau").get(pk=int(value))


def _enrolment_for(request, pk: int) -> TrainingEnrolment:
    qs = TrainingEnrolment.objects.select_related("course", "course__station", "staff", "staff__station")
    e = get_in_territory(request.user, qs, pk=pk)
    # The course must be visible too (a sub-bureau course always is; a station's only in its territory).
    training.get_course_for(request.user, e.course_id)
    return e


def _require_run(user: Any, course) -> None:
    if not training.may_run(user, course):
        raise PermissionDenied(_("只有课程主办单位（分局领导、考评办、系统管理员或主办派出所所长）可以操作"))


def _sees_everyone(user: Any, course) -> bool:
    """Station-wide users see every participant of their stations; grid-level staff only themselves."""
    territory = Territory.for_user(user)
    return territory.whole or territory.scope == Scope.STATION or training.may_run(user, course)


# --- courses -------------------------------------------------------------------------------------------------
@login_required
def course_list(request):
    now = timezone.now()
    qs = training.courses_for(request.user)
    form = request.GET.get("form", "")
    if form in CourseForm.values:
        qs = qs.filter(form=form)
    courses = list(qs[:200])
    counts: dict[int, int] = {}
    for cid in TrainingEnrolment.objects.filter(course__in=courses).values_list("course_id", flat=True):
        counts[cid] = counts.get(cid, 0) + 1
    rows = [
        {
            "course": c,
            "start": timezone.localtime(c.starts_at),
            "end": timezone.localtime(c.ends_at),
            "enrolled": counts.get(c.pk, 0),
            "upcoming": c.starts_at > now,
        }
        for c in courses
    ]
    territory = Territory.for_user(request.user)
    managed = [s for s in _stations_for(request.user) if territory.manages_station(s.pk)]
    context = {
        "rows": rows,
        "forms": CourseForm.choices,
        "form_filter": form,
        "may_create": bool(_organisers(request.user)),
        "stations": managed,
        "own_staff_id": request.user.staff_id,
        "may_edit_items": training.may_edit_items(request.user),
    }
    return _render(request, "duty/training_list.html", context)


def _course_form_page(request, course):
    organisers = _organisers(request.user)
    stations = Station.objects.order_by("code")
    if request.method == "POST":
        form = CourseEditForm(request.POST, organisers=organisers, stations=stations)
        if form.is_valid():
            d = form.cleaned_data
            try:
                if course is None:
                    course = training.create_course(
                        station=_station_of(d["organiser"]),
                        data=d,
                        target_stations=d["target_stations"],
                        by=request.user,
                    )
                    messages.success(request, _("已创建培训课程"))
                else:
                    training.update_course(
                        course, data=d, target_stations=d["target_stations"], by=request.user
                    )
                    messages.success(request, _("已保存培训课程"))
                return redirect("duty:training_course", pk=course.pk)
            except ServiceError as exc:
                form.add_error(None, str(exc))
        status = 400
    else:
        if course is not None:
            initial = {
                "title": course.title,
                "form": course.form,
                "organiser": str(course.station_id) if course.station_id else SB,
                "starts_at": timezone.localtime(course.starts_at),
                "ends_at": timezone.localtime(course.ends_at),
                "hours": course.hours,
                "place": course.place,
                "trainer": course.trainer,
                "capacity": course.capacity,
                "target_kinds": course.target_kinds,
                "target_stations": list(course.target_stations.values_list("pk", flat=True)),
                "content": course.content,
            }
        else:
            initial = {"organiser": organisers[0][0] if organisers else ""}
        form = CourseEditForm(initial=initial, organisers=organisers, stations=stations)
        status = 200
    return _render(request, "duty/training_course_form.html", {"form": form, "course": course}, status=status)


@login_required
def course_new(request):
    if not _organisers(request.user):
        raise PermissionDenied(_("培训课程由分局领导、考评办、系统管理员或派出所所长创建"))
    return _course_form_page(request, None)


@login_required
def course_edit(request, pk: int):
    course = training.get_course_for(request.user, pk)
    _require_run(request.user, course)
    return _course_form_page(request, course)


@login_required
def course_detail(request, pk: int):
    course = training.get_course_for(request.user, pk)
    now = timezone.now()
    enrolments = Territory.for_user(request.user).filter(
        course.enrolments.select_related("staff", "staff__station", "assessment")
    )
    if not _sees_everyone(request.user, course):
        enrolments = enrolments.filter(staff_id=request.user.staff_id or 0)
    may_run = training.may_run(request.user, course)
    rows = []
    for e in enrolments.order_by("staff__station__code", "staff__badge_number"):
        a = e.assessment if training._has_assessment(e) else None
        rows.append({"e": e, "assessment": a})
    mentorships = Mentorship.objects.filter(course=course).select_related("mentor", "apprentice")
    if not _sees_everyone(request.user, course):
        mentorships = mentorships.filter(apprentice_id=request.user.staff_id or 0)
    context = {
        "course": course,
        "start": timezone.localtime(course.starts_at),
        "end": timezone.localtime(course.ends_at),
        "rows": rows,
        "total": course.enrolments.count(),
        "targets": list(course.target_stations.all()),
        "kinds": [Staff(kind=k).get_kind_display() for k in course.target_kinds],
        "mentorships": list(mentorships),
        "may_run": may_run,
        "may_enrol": may_run or training.may_enrol_own_station(request.user, course),
        "started": now >= course.starts_at,
        "attendance_choices": ATTENDANCE_CHOICES,
        "is_mentor": course.form == CourseForm.MENTOR,
    }
    return _render(request, "duty/training_course.html", context)


# --- enrolment -----------------------------------------------------------------------------------------------
@login_required
def enrol(request, pk: int):
    course = training.get_course_for(request.user, pk)
    staff_qs = training.enrollable_staff_for(request.user, course)
    if not (training.may_run(request.user, course) or training.may_enrol_own_station(request.user, course)):
        raise PermissionDenied(_("您不能为这门课程报名"))
    stations = Station.objects.filter(pk__in=staff_qs.values("station_id")).order_by("code")
    if request.method == "POST":
        form = EnrolForm(request.POST, staff_qs=staff_qs, stations=stations)
        if form.is_valid():
            try:
                created = training.enrol(
                    course=course,
                    staff=form.cleaned_data["people"],
                    by=request.user,
                    skip_enrolled=form.cleaned_data["bulk"],
                )
                messages.success(request, _("已报名 %(n)d 人") % {"n": len(created)})
                return redirect("duty:training_course", pk=course.pk)
            except ServiceError as exc:
                form.add_error(None, str(exc))
        status = 400
    else:
        form = EnrolForm(staff_qs=staff_qs, stations=stations)
        status = 200
    enrolled = set(course.enrolments.values_list("staff_id", flat=True))
    context = {"form": form, "course": course, "enrolled_count": len(enrolled)}
    return _render(request, "duty/training_enrol.html", context, status=status)


@login_required
@require_POST
def withdraw(request, pk: int):
    e = _enrolment_for(request, pk)
    try:
        training.withdraw(e, by=request.user)
        messages.success(request, _("已取消 %(name)s 的报名") % {"name": e.staff.name})
    except ServiceError as exc:
        if exc.status == 403:
            raise PermissionDenied(str(exc)) from exc
        messages.error(request, str(exc))
    return redirect("duty:training_course", pk=e.course_id)


@login_required
@require_POST
def attendance(request, pk: int):
    course = training.get_course_for(request.user, pk)
    _require_run(request.user, course)
    marks: dict[int, str] = {}
    for key, value in request.POST.items():
        if key.startswith("att_") and value:
            raw = key[4:]
            if raw.isascii() and raw.isdigit() and len(raw) <= 18:
                marks[int(raw)] = value
    if not marks:
        messages.error(request, _("请为参训人员选择出勤情况"))
    else:
        try:
            n = training.record_attendance(course=course, marks=marks, by=request.user)
            messages.success(request, _("已登记出勤 %(n)d 人") % {"n": n})
        except ServiceError as exc:
            messages.error(request, str(exc))
    return redirect("duty:training_course", pk=course.pk)


@login_required
def mentorship_new(request, pk: int):
    course = training.get_course_for(request.user, pk)
    _require_run(request.user, course)
    if course.form != CourseForm.MENTOR:
        raise PermissionDenied(_("只有“师傅带学”课程可以结对"))
    mentors = Staff.objects.filter(sub_bureau_id=course.sub_bureau_id, active=True, station__isnull=False)
    if course.station_id:
        mentors = mentors.filter(station_id=course.station_id)
    apprentices = training.eligible_staff(course)
    kwargs = {"mentors": mentors.order_by("kind", "badge_number"), "apprentices": apprentices}
    if request.method == "POST":
        form = MentorshipForm(request.POST, **kwargs)
        if form.is_valid():
            d = form.cleaned_data
            try:
                training.pair_mentor(
                    course=course,
                    mentor=d["mentor"],
                    apprentice=d["apprentice"],
                    starts_on=d["starts_on"],
                    ends_on=d["ends_on"],
                    notes=d["notes"],
                    by=request.user,
                )
                messages.success(request, _("已结对"))
                return redirect("duty:training_course", pk=course.pk)
            except ServiceError as exc:
                form.add_error(None, str(exc))
        status = 400
    else:
        start = timezone.localtime(course.starts_at).date()
        form = MentorshipForm(
            initial={"starts_on": start, "ends_on": timezone.localtime(course.ends_at).date()}, **kwargs
        )
        status = 200
    return _render(
        request, "duty/training_mentorship_form.html", {"form": form, "course": course}, status=status
    )


# --- assessment ----------------------------------------------------------------------------------------------
@login_required
def assess(request, pk: int):
    e = _enrolment_for(request, pk)
    course = e.course
    _require_run(request.user, course)
    if e.attendance != AttendanceMark.PRESENT:
        raise PermissionDenied(_("%(name)s 未出勤，不能考核") % {"name": e.staff.name})
    items = AssessmentItem.objects.filter(active=True)
    existing = e.assessment if training._has_assessment(e) else None
    if request.method == "POST":
        form = AssessmentForm(request.POST, items=items)
        if form.is_valid():
            d = form.cleaned_data
            try:
                a = training.assess(
                    enrolment=e,
                    marks=d["marks"],
                    assessed_on=d["assessed_on"],
                    assessor=d["assessor"],
                    note=d["note"],
                    by=request.user,
                )
                messages.success(request, _("已登记考核：%(result)s") % {"result": a.get_result_display()})
                return redirect("duty:training_course", pk=course.pk)
            except ServiceError as exc:
                form.add_error(None, str(exc))
        status = 400
    else:
        initial: dict[str, Any] = {"assessed_on": timezone.localdate(), "assessor": ""}
        if existing is not None:
            initial.update(
                {"assessed_on": existing.assessed_on, "assessor": existing.assessor, "note": existing.note}
            )
            for s in existing.scores.all():
                initial[f"score_{s.item_id}"] = s.score
                if s.score is None:
                    initial[f"pass_{s.item_id}"] = "1" if s.passed else "0"
        form = AssessmentForm(initial=initial, items=items)
        status = 200
    context = {
        "form": form,
        "e": e,
        "course": course,
        "existing": existing,
        "pass_score": training.PASS_SCORE,
        "groups": AssessmentGroup,
    }
    return _render(request, "duty/training_assess.html", context, status=status)


# --- records -------------------------------------------------------------------------------------------------
@login_required
def person(request, staff_pk: int):
    staff = get_in_territory(request.user, Staff.objects.select_related("station"), pk=staff_pk)
    own = bool(request.user.staff_id) and request.user.staff_id == staff.pk
    if not own and not training.may_see_whole_station(request.user, staff.station_id):
        raise PermissionDenied(_("只能查看本人的培训档案；他人的档案由所长和分局查看"))
    today = timezone.localdate()
    record = training.person_record(staff, today=today)
    rows = []
    for e in record.enrolments:
        a = e.assessment if training._has_assessment(e) else None
        rows.append({"e": e, "start": timezone.localtime(e.course.starts_at), "assessment": a})
    context = {
        "record": record,
        "staff": staff,
        "rows": rows,
        "year": today.year,
        "own": own,
        "sees_station": training.may_see_whole_station(request.user, staff.station_id),
    }
    return _render(request, "duty/training_person.html", context)


@login_required
def station(request, station_pk: int):
    st = get_in_territory(request.user, Station.objects.all(), pk=station_pk)
    if not training.may_see_whole_station(request.user, st.pk):
        raise PermissionDenied(_("派出所培训汇总由本所所长和分局查看"))
    today = timezone.localdate()
    rows = training.station_summary(st, today=today)
    context = {
        "station": st,
        "rows": rows,
        "year": today.year,
        "flagged": sum(1 for r in rows if r.flags),
        "days": training.NO_TRAINING_DAYS,
    }
    return _render(request, "duty/training_station.html", context)


# --- the "三懂四会" items --------------------------------------------------------------------------------------
@login_required
def items(request):
    if not training.may_edit_items(request.user):
        raise PermissionDenied(_("考核项目只能由系统管理员维护"))
    error = ""
    status = 200
    if request.method == "POST":
        raw = request.POST.get("pk", "")
        item = None
        if raw:
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
                error = _("考核项目无效")
            else:
                item = AssessmentItem.objects.filter(pk=int(raw)).first()
                if item is None:
                    error = _("考核项目无效")
        group = request.POST.get("group", "")
        order_raw = request.POST.get("order", "0")
        if not error and group not in AssessmentGroup.values:
            error = _("请选择类别（三懂或四会）")
        if not error and not (order_raw.isascii() and order_raw.isdigit() and len(order_raw) <= 4):
            error = _("排序必须是0到9999的整数")
        if not error:
            try:
                training.save_item(
                    item=item,
                    group=group,
                    name=request.POST.get("name", "")[:40],
                    order=int(order_raw),
                    active=request.POST.get("active") == "1",
                    by=request.user,
                )
                messages.success(request, _("已保存考核项目"))
                return redirect("duty:training_items")
            except ServiceError as exc:
                error = str(exc)
        status = 400
    context = {"items": AssessmentItem.objects.all(), "groups": AssessmentGroup.choices, "error": error}
    return _render(request, "duty/training_items.html", context, status=status)


urlpatterns: list[URLPattern] = [
    path("training/", course_list, name="training_courses"),
    path("training/courses/new/", course_new, name="training_course_new"),
    path("training/courses/<int:pk>/", course_detail, name="training_course"),
    path("training/courses/<int:pk>/edit/", course_edit, name="training_course_edit"),
    path("training/courses/<int:pk>/enrol/", enrol, name="training_enrol"),
    path("training/courses/<int:pk>/attendance/", attendance, name="training_attendance"),
    path("training/courses/<int:pk>/mentorships/new/", mentorship_new, name="training_mentorship_new"),
    path("training/enrolments/<int:pk>/withdraw/", withdraw, name="training_withdraw"),
    path("training/enrolments/<int:pk>/assess/", assess, name="training_assess"),
    path("training/people/<int:staff_pk>/", person, name="training_person"),
    path("training/stations/<int:station_pk>/", station, name="training_station"),
    path("training/items/", items, name="training_items"),
]
