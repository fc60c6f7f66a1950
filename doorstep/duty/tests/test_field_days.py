"""Field days (下沉社区天数) from mixed real records, with a frozen clock: counting, grid and midnight rules,
week boundaries, the query bound of the station report, scoping and the Chinese labels.

All records are written through the real services (clock_in/clock_out, record_visit, the alarm lifecycle).
The week under test is Monday 2026-11-23 … Sunday 2026-11-29 (Asia/Shanghai).
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from doorstep.alarms import services as alarm_services
from doorstep.alarms.tests.test_dispatch import key_unit, provision, raise_alarm
from doorstep.conftest import make_staff
from doorstep.duty import field_days, services
from doorstep.duty.tests.factories import at
from doorstep.org import services as org_services
from doorstep.org.choices import Position, StaffKind
from doorstep.org.models import PoliceRoom
from doorstep.registry import services as registry_services
from doorstep.registry.tests.conftest import make_house

MONDAY = dt.date(2026, 11, 23)
ROOM_C1 = {"lng": 118.605, "lat": 24.905, "accuracy": 10}
ROOM_C2 = {"lng": 118.605, "lat": 24.915, "accuracy": 10}
SUNDAY_EVENING = at(29, 21)


def clock(world, when, *, staff=None, room=None, where=ROOM_C1, hours=1):
    staff = staff or world.officer_a_staff
    a = services.clock_in(staff=staff, room=room or world.room_c1, by=None, now=when, **where)
    services.clock_out(staff=staff, by=None, now=when + dt.timedelta(hours=hours), **where)
    return a


def visit(world, when, *, grid=None, by=None):
    household = registry_services.create_household(house=make_house(grid or world.grid_a))
    with time_machine.travel(when + dt.timedelta(minutes=1), tick=False):
        return registry_services.record_visit(
            household, findings="走访住户张三，电话13800138000，身份证350503199001011234", visited_at=when,
            by=by or world.officer_a,
        )  # fmt: skip


_devices = iter(range(1, 10**6))


def arrival(world, when, *, grid=None, officer=None):
    device = provision(
        key_unit(grid or world.grid_a, f"单位{next(_devices)}"), f"BTN-F-{next(_devices)}", world.director
    )
    with time_machine.travel(when - dt.timedelta(minutes=10), tick=False):
        alarm = raise_alarm(device)
        alarm = alarm_services.dispatch(alarm, officer=officer or world.officer_a, by=world.dispatcher)
    with time_machine.travel(when, tick=False):
        return alarm_services.arrive(
            alarm, by=officer or world.officer_a, lng=118.6051, lat=24.9049, accuracy=8
        )


def week_of_a(world, day=MONDAY):
    return field_days.week_for(world.director, world.officer_a_staff.pk, day)


@pytest.fixture
def frozen():
    with time_machine.travel(SUNDAY_EVENING, tick=False) as traveller:
        yield traveller


# --- counting -------------------------------------------------------------------------------------------
def test_mixed_evidence_counts_three_days_and_is_not_flagged(world, frozen):
    # given a clock-in and a visit on Monday, a visit on Wednesday and an alarm arrival on Friday
    clock(world, at(23, 9))
    visit(world, at(23, 15))
    visit(world, at(25, 10))
    arrival(world, at(27, 11))
    # when the week is computed
    week = week_of_a(world)
    # then Monday counts once, and three days are enough
    assert sorted(week.days) == [dt.date(2026, 11, 23), dt.date(2026, 11, 25), dt.date(2026, 11, 27)]
    assert [e.kind for e in week.days[dt.date(2026, 11, 23)]] == ["attendance", "visit"]
    assert week.days[dt.date(2026, 11, 27)][0].kind == "alarm"
    assert week.count == 3 and not week.flagged


def test_two_days_are_flagged(world, frozen):
    clock(world, at(23, 9))
    visit(world, at(23, 15))
    visit(world, at(25, 10))
    week = week_of_a(world)
    assert week.count == 2 and week.flagged
    assert field_days.FIELD_DAYS_REQUIRED == 3


def test_evidence_outside_the_officers_grid_is_not_counted(world, frozen):
    # given a clock-in at the police room of another community of the station (东星, grid C),
    # an alarm arrival at a unit in grid C, and a visit by officer B in grid B
    room_c2 = PoliceRoom.objects.get(community=world.c2)
    clock(world, at(23, 9), room=room_c2, where=ROOM_C2)
    arrival(world, at(24, 11), grid=world.grid_c)
    visit(world, at(25, 10), grid=world.grid_b, by=world.officer_b)
    # then officer A has no field day; officer B has Wednesday
    assert week_of_a(world).count == 0
    week_b = field_days.week_for(world.director, world.officer_b_staff.pk, MONDAY)
    assert list(week_b.days) == [dt.date(2026, 11, 25)]


def test_police_room_of_the_officers_community_counts_for_every_grid_of_it(world, frozen):
    # room C1 serves grids A and B: officer B's clock-in there is a field day too
    clock(world, at(24, 9), staff=world.officer_b_staff)
    assert field_days.week_for(world.director, world.officer_b_staff.pk, MONDAY).count == 1


def test_days_are_cut_at_local_midnight(world, frozen):
    # 23:30 Tuesday and 00:30 Wednesday local are two days (both 15:30 and 16:30 UTC on Tuesday)
    clock(world, at(24, 23, 30), hours=0.25)
    clock(world, at(25, 0, 30), hours=0.25)
    assert sorted(week_of_a(world).days) == [dt.date(2026, 11, 24), dt.date(2026, 11, 25)]


def test_week_boundaries_are_monday_to_sunday_local(world, frozen):
    clock(world, at(22, 23, 50), hours=0.1)  # Sunday before: previous week
    clock(world, at(23, 0, 5), hours=0.1)  # Monday 00:05: this week
    clock(world, at(29, 23, 0), hours=0.5)  # Sunday 23:00: this week
    with time_machine.travel(at(30, 9), tick=False):
        clock(world, at(30, 0, 10), hours=0.1)  # next Monday: next week
    # any day of the week names the same week
    for day in (MONDAY, dt.date(2026, 11, 26), dt.date(2026, 11, 29)):
        assert sorted(week_of_a(world, day).days) == [dt.date(2026, 11, 23), dt.date(2026, 11, 29)]
    assert list(week_of_a(world, dt.date(2026, 11, 22)).days) == [dt.date(2026, 11, 22)]
    window = field_days.week_of(dt.date(2026, 11, 26))
    assert window.monday == MONDAY and str(window.start) == "2026-11-23 00:00:00+08:00"


def test_post_ended_before_the_day_does_not_count(world, frozen):
    # officer A leaves grid A on Wednesday (ended_on is exclusive): Thursday's visit there no longer counts
    clock(world, at(23, 9))
    visit(world, at(26, 10))
    world.post_a.ended_on = dt.date(2026, 11, 25)
    world.post_a.save(update_fields=["ended_on"])  # test setup: the departure workflow is not under test
    assert list(week_of_a(world).days) == [dt.date(2026, 11, 23)]


def test_sources_are_a_list_of_functions(world, frozen):
    clock(world, at(23, 9))
    visit(world, at(24, 9))
    assert [
        field_days.attendance_evidence,
        field_days.visit_evidence,
        field_days.alarm_evidence,
        field_days.mediation_evidence,
        field_days.patrol_evidence,
    ] == field_days.SOURCES
    posts = list(field_days.posts_in_week(field_days.week_of(MONDAY)).filter(staff=world.officer_a_staff))
    only_visits = field_days.compute(posts, field_days.week_of(MONDAY), [field_days.visit_evidence])
    assert list(only_visits[0].days) == [dt.date(2026, 11, 24)]


# --- the station report: no per-officer queries -----------------------------------------------------------
def _many_officers(world, n):
    for i in range(n):
        grid = org_services.create_grid(
            community=world.c1, name=f"西福第{i + 10}网格", code=f"35050301001{i + 10:02d}", boundary=None
        )
        staff = make_staff(world.sub_bureau, world.s1, StaffKind.POLICE, f"民警{i}")
        org_services.assign_to_grid(grid=grid, staff=staff, position=Position.OFFICER, started_on=MONDAY)
        clock(world, at(23 + i % 3, 9), staff=staff)
        clock(world, at(26, 9), staff=staff)


def test_station_report_query_count_does_not_grow_with_officers(world, frozen, django_assert_max_num_queries):
    clock(world, at(23, 9))
    visit(world, at(24, 9))
    arrival(world, at(25, 9))
    world.director.refresh_from_db()
    with CaptureQueriesContext(connection) as few:
        small = field_days.report_for(world.director, MONDAY)
    _many_officers(world, 50)
    director = type(world.director).objects.get(pk=world.director.pk)
    with django_assert_max_num_queries(len(few.captured_queries) + 2):  # +2: the territory of a fresh user
        rows = field_days.report_for(director, MONDAY)
    assert len(small) == 2 and len(rows) == 52
    assert [r.count for r in rows[:2]] == [3, 0] and all(r.count == 2 for r in rows[2:])


def test_report_page_for_50_officers_is_bounded(world, frozen, client_for, django_assert_max_num_queries):
    _many_officers(world, 50)
    client = client_for(world.director)
    with django_assert_max_num_queries(15):
        response = client.get("/duty/field-days/?week=2026-11-25")
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="field-row"') == 52


# --- scoping ---------------------------------------------------------------------------------------------
def test_director_sees_own_station_only(world, frozen, client_for):
    clock(world, at(23, 9))
    s1 = client_for(world.director).get("/duty/field-days/").content.decode()
    s2 = client_for(world.director_s2).get("/duty/field-days/").content.decode()
    assert "刘芳" in s1 and "杨凯" in s1 and "黄明" not in s1
    assert "黄明" in s2 and "刘芳" not in s2
    url = f"/duty/field-days/staff/{world.officer_a_staff.pk}/"
    assert client_for(world.director).get(url).status_code == 200
    assert client_for(world.director_s2).get(url).status_code == 404


def test_leader_and_evaluator_see_all_and_filter_by_station(world, frozen, client_for):
    for user in (world.leader, world.evaluator):
        page = client_for(user).get("/duty/field-days/").content.decode()
        assert "刘芳" in page and "黄明" in page
        s2 = client_for(user).get(f"/duty/field-days/?station={world.s2.pk}").content.decode()
        assert "黄明" in s2 and "刘芳" not in s2


def test_director_cannot_filter_another_station(world, client_for):
    assert client_for(world.director).get(f"/duty/field-days/?station={world.s2.pk}").status_code == 404


def test_officer_sees_her_own_week_only(world, frozen, client_for):
    clock(world, at(23, 9))
    officer = client_for(world.officer_a)
    own = f"/duty/field-days/staff/{world.officer_a_staff.pk}/?week=2026-11-23"
    assert officer.get(own).status_code == 200
    # the report sends her to her own week
    response = officer.get("/duty/field-days/?week=2026-11-25")
    assert response.status_code == 302 and response["Location"] == own
    assert officer.get("/duty/field-days/mine/?week=2026-11-23")["Location"] == own
    # officer B (grid B) is outside her territory: 404; the auxiliary of her own grid is inside it: 403
    assert officer.get(f"/duty/field-days/staff/{world.officer_b_staff.pk}/").status_code == 404
    assert (
        client_for(world.auxiliary_a).get(f"/duty/field-days/staff/{world.officer_a_staff.pk}/").status_code
        == 403
    )


def test_other_roles_and_anonymous(world, client_for):
    for user in (world.dispatcher, world.patrol):
        assert client_for(user).get("/duty/field-days/").status_code == 403
    assert client_for(None).get("/duty/field-days/").status_code == 302


def test_auxiliaries_only_on_request(world, frozen):
    names = [r.staff.name for r in field_days.report_for(world.director, MONDAY)]
    with_aux = [r.staff.name for r in field_days.report_for(world.director, MONDAY, with_auxiliaries=True)]
    assert "翁磊" not in names and "翁磊" in with_aux


# --- pages: Chinese labels, flag, evidence, privacy --------------------------------------------------------
def test_report_page_chinese_labels_and_red_flag(world, frozen, client_for):
    clock(world, at(23, 9))
    visit(world, at(25, 10))
    arrival(world, at(27, 11))
    page = client_for(world.director).get("/duty/field-days/?week=2026-11-23").content.decode()
    assert "下沉社区周报" in page and "下沉天数" in page and "2026-11-23 至 2026-11-29" in page
    row_a = page.split(f'data-staff="{world.officer_a_staff.pk}"')[1].split("</tr>")[0]
    row_b = page.split(f'data-staff="{world.officer_b_staff.pk}"')[1].split("</tr>")[0]
    assert 'data-count="3"' in row_a and "data-flagged" not in row_a and "3 / 3" in row_a
    assert 'data-flagged="1"' in row_b and "bg-red" in row_b and "不足" in row_b
    assert "1 人下沉社区不足 3 天" in page


def test_week_page_lists_evidence_per_day_without_ids_or_phones(world, frozen, client_for):
    clock(world, at(23, 9))
    v = visit(world, at(23, 15))
    alarm = arrival(world, at(27, 11))
    page = client_for(world.officer_a).get(
        f"/duty/field-days/staff/{world.officer_a_staff.pk}/?week=2026-11-23"
    )
    html = page.content.decode()
    assert "值守签到" in html and "入户走访" in html and "接警到场" in html and "西福警务室" in html
    assert f"/registry/households/{v.household_id}/" in html and f"/registry/units/{alarm.unit_id}/" in html
    assert "本周下沉 2 天，不足 3 天" in html and "无下沉记录" in html
    assert "13800138000" not in html and "350503199001011234" not in html
    assert "138****8000" in html


def test_on_site_mediation_in_the_officers_grid_is_a_field_day(world, frozen):
    """#8: an on-site mediation (首问首接) the officer recorded on a dispute of her grid counts; one of another
    grid does not."""
    from doorstep.mediation import services as mediation_services
    from doorstep.mediation.seed import ensure_types
    from doorstep.mediation.tests.conftest import dtype, parties

    ensure_types()

    def onsite(when, grid):
        with time_machine.travel(when, tick=False):
            d = mediation_services.create_dispute(
                community=world.c1, grid=grid, dispute_type=dtype(), place="楼道", facts="噪音",
                parties=parties(), by=world.officer_a,
            )  # fmt: skip
            mediation_services.record_onsite(
                d, settled=True, note="当场和解，电话13800138000", by=world.officer_a
            )

    onsite(at(24, 10), world.grid_a)
    onsite(at(26, 10), world.grid_b)  # the same community, another officer's grid
    week = week_of_a(world)
    assert sorted(week.days) == [dt.date(2026, 11, 24)]
    evidence = week.days[dt.date(2026, 11, 24)][0]
    assert evidence.kind == "mediation" and "13800138000" not in evidence.what


def test_a_patrol_led_in_the_officers_grid_is_a_field_day(world, frozen):
    """#9: a finished patrol the officer led in her grid counts; a voided one does not."""
    from doorstep.patrol import runs

    def walk(start, n=6):
        return [
            {"seq": k, "at": (start + dt.timedelta(seconds=20 * k)).isoformat(), "lng": 118.603 + k * 0.0002,
             "lat": 24.905, "accuracy": 8}
            for k in range(n)
        ]  # fmt: skip

    done = runs.start(by=world.officer_a, community=world.c1, grid=world.grid_a, now=at(25, 9))
    runs.add_points(done, walk(at(25, 9)), by=world.officer_a, now=at(25, 10))
    runs.finish(done, by=world.officer_a, summary="正常", now=at(25, 10))
    void = runs.start(by=world.officer_a, community=world.c1, grid=world.grid_a, now=at(27, 9))
    runs.void(void, world.officer_a, "误操作")
    week = week_of_a(world)
    assert sorted(week.days) == [dt.date(2026, 11, 25)]
    assert week.days[dt.date(2026, 11, 25)][0].kind == "patrol"
