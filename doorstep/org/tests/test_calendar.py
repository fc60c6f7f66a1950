"""The working-day calendar (工作日历): the services an administrator enters holidays and adjusted working
days with, and the page everybody signed in may read."""

from __future__ import annotations

import datetime as dt

import pytest

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.org.calendar import clear_day, set_days
from doorstep.org.models import CalendarDay
from doorstep.org.workdays import WorkCalendar

HOLIDAY, WORKDAY = CalendarDay.HOLIDAY, CalendarDay.WORKDAY


def kinds() -> dict[dt.date, str]:
    return dict(CalendarDay.objects.values_list("day", "kind"))


def test_set_days_marks_a_span_and_audits_each_day(world):
    n = set_days(dt.date(2026, 10, 1), dt.date(2026, 10, 7), HOLIDAY, " 国庆节 ", by=world.admin)
    assert n == 7
    assert kinds() == {dt.date(2026, 10, d): HOLIDAY for d in range(1, 8)}
    assert set(CalendarDay.objects.values_list("name", flat=True)) == {"国庆节"}
    assert AuditEntry.objects.filter(action="org.calendar_set").count() == 7
    # the working-day count follows at once
    cal = WorkCalendar.load(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert sum(1 for _ in cal.working_days(dt.date(2026, 10, 1), dt.date(2026, 10, 31))) == 17


def test_set_days_replaces_an_existing_day(world):
    set_days(dt.date(2026, 10, 10), dt.date(2026, 10, 10), HOLIDAY, "", by=world.admin)
    set_days(dt.date(2026, 10, 10), dt.date(2026, 10, 10), WORKDAY, "国庆节调休", by=world.admin)
    day = CalendarDay.objects.get()
    assert (day.day, day.kind, day.name) == (dt.date(2026, 10, 10), WORKDAY, "国庆节调休")
    last = AuditEntry.objects.filter(action="org.calendar_set").order_by("-id").first()
    assert last.before == {"kind": HOLIDAY, "name": ""}
    assert WorkCalendar.load().is_working_day(dt.date(2026, 10, 10))


@pytest.mark.parametrize(
    ("start", "end", "kind"),
    [
        (dt.date(2026, 10, 9), dt.date(2026, 10, 9), WORKDAY),  # a Friday is a working day already
        (dt.date(2026, 10, 10), dt.date(2026, 10, 12), WORKDAY),  # a span reaching a Monday
        (dt.date(2026, 1, 1), dt.date(2026, 2, 1), HOLIDAY),  # 32 days
        (dt.date(2026, 10, 7), dt.date(2026, 10, 1), HOLIDAY),  # end before start
        (dt.date(2026, 10, 1), dt.date(2026, 10, 1), "nonsense"),
    ],
)
def test_set_days_refusals(world, start, end, kind):
    with pytest.raises(ServiceError) as exc:
        set_days(start, end, kind, "", by=world.admin)
    assert not isinstance(exc.value, NotAllowed)
    assert not CalendarDay.objects.exists()
    assert not AuditEntry.objects.filter(action="org.calendar_set").exists()


def test_set_days_takes_a_span_of_exactly_31_days(world):
    assert set_days(dt.date(2026, 1, 1), dt.date(2026, 1, 31), HOLIDAY, "", by=world.admin) == 31


@pytest.mark.parametrize("username", ["director", "leader", "officer_a", "patrol"])
def test_only_an_admin_may_set_or_clear_days(world, username):
    with pytest.raises(NotAllowed):
        set_days(dt.date(2026, 10, 1), dt.date(2026, 10, 7), HOLIDAY, "国庆节", by=getattr(world, username))
    day = CalendarDay.objects.create(day=dt.date(2026, 10, 1), kind=HOLIDAY)
    with pytest.raises(NotAllowed):
        clear_day(day, by=getattr(world, username))
    assert list(CalendarDay.objects.all()) == [day]
    assert not AuditEntry.objects.filter(action__startswith="org.calendar").exists()


def test_clear_day_removes_the_adjustment_and_audits_it(world):
    set_days(dt.date(2026, 10, 1), dt.date(2026, 10, 2), HOLIDAY, "国庆节", by=world.admin)
    clear_day(CalendarDay.objects.get(day=dt.date(2026, 10, 1)), by=world.admin)
    assert kinds() == {dt.date(2026, 10, 2): HOLIDAY}
    assert AuditEntry.objects.filter(action="org.calendar_clear").count() == 1
    assert WorkCalendar.load().is_working_day(dt.date(2026, 10, 1))


# --- the page ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("username", ["admin", "director", "officer_a", "patrol", "leader"])
def test_calendar_page_is_open_to_everybody_signed_in(world, client_for, username):
    CalendarDay.objects.create(day=dt.date(2026, 10, 1), kind=HOLIDAY, name="国庆节")
    response = client_for(getattr(world, username)).get("/org/calendar/?year=2026")
    body = response.content.decode()
    assert response.status_code == 200
    assert "2026年工作日历" in body and "国庆节" in body and "2026-10-01" in body
    assert ('data-testid="calendar-form"' in body) == (username == "admin")


def test_calendar_page_needs_a_login(world, client_for):
    response = client_for(None).get("/org/calendar/")
    assert response.status_code == 302 and "login" in response.url


def test_calendar_page_with_a_bad_year_falls_back(world, client_for, time_machine):
    time_machine.move_to(dt.datetime(2026, 9, 1, 1, 0, tzinfo=dt.UTC), tick=False)
    c = client_for(world.director)
    for year in ("abc", "99999", "-1", "1999", ""):
        response = c.get(f"/org/calendar/?year={year}")
        assert response.status_code == 200, year
        assert "2026年工作日历" in response.content.decode(), year
    assert 'data-testid="calendar-empty"' in c.get("/org/calendar/?year=2026").content.decode()


def test_admin_enters_national_day_on_the_page(world, client_for):
    c = client_for(world.admin)
    response = c.post(
        "/org/calendar/set/", {"start": "2026-10-01", "end": "2026-10-07", "kind": HOLIDAY, "name": "国庆节"}
    )
    assert response.status_code == 302 and response.url == "/org/calendar/?year=2026"
    body = c.get(response.url).content.decode()
    assert "已录入 7 天" in body
    assert len(kinds()) == 7
    assert AuditEntry.objects.filter(action="org.calendar_set").count() == 7


def test_bad_input_on_the_page_gives_a_chinese_message(world, client_for):
    c = client_for(world.admin)
    body = c.post(
        "/org/calendar/set/", {"start": "2026-10-09", "end": "2026-10-09", "kind": WORKDAY}, follow=True
    ).content.decode()
    assert "本是工作日，无需登记为调休上班" in body
    body = c.post(
        "/org/calendar/set/", {"start": "", "end": "", "kind": HOLIDAY}, follow=True
    ).content.decode()
    assert "此项为必填项" in body
    body = c.post(
        "/org/calendar/set/", {"start": "9999-10-01", "end": "9999-10-02", "kind": HOLIDAY}, follow=True
    ).content.decode()
    assert "日期须在" in body
    assert not CalendarDay.objects.exists()


@pytest.mark.parametrize("username", ["director", "leader", "officer_a"])
def test_non_admins_may_not_post_to_the_calendar(world, client_for, username):
    day = CalendarDay.objects.create(day=dt.date(2026, 10, 1), kind=HOLIDAY)
    c = client_for(getattr(world, username))
    response = c.post("/org/calendar/set/", {"start": "2026-10-02", "end": "2026-10-02", "kind": HOLIDAY})
    assert response.status_code == 403
    assert c.post(f"/org/calendar/{day.pk}/clear/").status_code == 403
    assert list(CalendarDay.objects.all()) == [day]


def test_admin_clears_a_day_on_the_page(world, client_for):
    day = CalendarDay.objects.create(day=dt.date(2026, 10, 1), kind=HOLIDAY)
    c = client_for(world.admin)
    response = c.post(f"/org/calendar/{day.pk}/clear/")
    assert response.status_code == 302 and response.url == "/org/calendar/?year=2026"
    assert not CalendarDay.objects.exists()
    assert AuditEntry.objects.filter(action="org.calendar_clear").count() == 1
    assert c.post("/org/calendar/99999999999999999999999/clear/").status_code == 302
    assert c.get("/org/calendar/set/").status_code == 405
