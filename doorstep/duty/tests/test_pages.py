from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from doorstep.duty import services
from doorstep.duty.models import Attendance, RoomShift
from doorstep.org.models import PoliceRoom

pytestmark = pytest.mark.django_db


def _now_shift(world, staff=None, room=None):
    now = timezone.now()
    return services.create_shift(
        room=room or world.room_c1,
        staff=staff or world.officer_a_staff,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=3),
        by=world.admin,
    )


def test_board_shows_the_rooms_of_the_territory(world, client_for):
    room_c2 = PoliceRoom.objects.get(community=world.c2)
    cases = {
        "director": {world.room_c1.pk, room_c2.pk},
        "director_s2": {world.room_c3.pk},
        "officer_a": {world.room_c1.pk},
        "patrol": {world.room_c1.pk},
        "leader": {world.room_c1.pk, room_c2.pk, world.room_c3.pk},
    }
    for name, rooms in cases.items():
        response = client_for(getattr(world, name)).get("/duty/")
        assert response.status_code == 200
        assert {s.room.pk for s in response.context["states"]} == rooms, name


def test_board_partial_shows_live_state(world, client_for):
    _now_shift(world)
    body = client_for(world.director).get("/duty/?partial=1").content.decode()
    assert "迟到" in body and "刘芳" in body
    services.clock_in(
        staff=world.officer_a_staff,
        room=world.room_c1,
        lng=118.605,
        lat=24.905,
        accuracy=5,
        by=world.officer_a,
    )
    response = client_for(world.director).get("/duty/?partial=1")
    states = {s.room.pk: s.state for s in response.context["states"]}
    assert states[world.room_c1.pk] == "staffed"


def test_roster_scoping_404_outside_and_403_for_viewers(world, client_for):
    url = f"/duty/rooms/{world.room_c1.pk}/roster/"
    assert client_for(world.director).get(url).status_code == 200
    assert client_for(world.officer_a).get(url).status_code == 200
    assert client_for(world.director_s2).get(url).status_code == 404
    assert client_for(world.officer_a).get(f"/duty/rooms/{world.room_c3.pk}/roster/").status_code == 404
    new = f"/duty/rooms/{world.room_c1.pk}/shifts/new/"
    assert client_for(world.director).get(new).status_code == 200
    assert client_for(world.admin).get(new).status_code == 200
    assert client_for(world.director_s2).get(new).status_code == 404
    assert client_for(world.officer_a).post(new, {}).status_code == 403
    assert client_for(world.dispatcher).get(new).status_code == 403


def test_roster_grid_highlights_gaps(world, client_for):
    monday = services.week_start(timezone.localdate())
    start = services.local_midnight(monday)
    services.create_shift(
        room=world.room_c1,
        staff=world.officer_a_staff,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=24),
        by=world.director,
    )
    response = client_for(world.director).get(f"/duty/rooms/{world.room_c1.pk}/roster/?week={monday}")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert all(not row["cells"][0]["gap"] for row in rows)  # Monday covered
    assert all(row["cells"][1]["gap"] for row in rows)  # Tuesday not
    assert rows[0]["cells"][0]["names"] == ["刘芳"]
    assert (
        client_for(world.director).get(f"/duty/rooms/{world.room_c1.pk}/roster/?week=garbage").status_code
        == 200
    )


def test_shift_form_creates_and_shows_chinese_errors(world, client_for):
    c = client_for(world.director)
    url = f"/duty/rooms/{world.room_c1.pk}/shifts/new/"
    response = c.post(url, {"staff": "", "starts_at": "nonsense", "ends_at": ""})
    assert response.status_code == 400
    body = response.content.decode()
    assert "请选择值守人员" in body and "时间格式不正确" in body and "请填写结束时间" in body
    response = c.post(
        url,
        {"staff": world.officer_a_staff.pk, "starts_at": "2026-12-01T08:00", "ends_at": "2026-12-01T07:00"},
    )
    assert "结束时间必须晚于开始时间" in response.content.decode()
    response = c.post(
        url,
        {"staff": world.officer_a_staff.pk, "starts_at": "2026-12-01T08:00", "ends_at": "2026-12-02T09:00"},
    )
    assert "不能超过 24 小时" in response.content.decode()
    ok = c.post(
        url,
        {"staff": world.officer_a_staff.pk, "starts_at": "2026-12-01T20:00", "ends_at": "2026-12-02T08:00"},
    )
    assert ok.status_code == 302 and "week=2026-11-30" in ok["Location"]
    clash = c.post(
        url,
        {"staff": world.officer_a_staff.pk, "starts_at": "2026-12-02T07:00", "ends_at": "2026-12-02T09:00"},
    )
    assert clash.status_code == 400 and "不能重叠" in clash.content.decode()
    # staff of another station is not a choice
    other = c.post(url, {"staff": 999999, "starts_at": "2026-12-03T08:00", "ends_at": "2026-12-03T09:00"})
    assert "请选择本所的值守人员" in other.content.decode()
    assert RoomShift.objects.count() == 1


def test_edit_delete_and_copy_week_pages(world, client_for):
    s = _now_shift(world)
    c = client_for(world.director)
    assert c.get(f"/duty/shifts/{s.pk}/edit/").status_code == 200
    assert client_for(world.director_s2).get(f"/duty/shifts/{s.pk}/edit/").status_code == 404
    assert client_for(world.officer_a).post(f"/duty/shifts/{s.pk}/delete/").status_code == 403
    assert c.get(f"/duty/shifts/{s.pk}/delete/").status_code == 405
    # the week after the shift's own (not today's: on Monday before 01:00 the shift began last week)
    target = services.week_start(timezone.localtime(s.starts_at).date()) + dt.timedelta(days=7)
    response = c.post(f"/duty/rooms/{world.room_c1.pk}/copy-week/", {"week": target.isoformat()}, follow=True)
    assert "已复制上周排班 1 班" in response.content.decode()
    response = c.post(f"/duty/rooms/{world.room_c1.pk}/copy-week/", {"week": target.isoformat()}, follow=True)
    assert "已有排班" in response.content.decode()
    assert c.post(f"/duty/shifts/{s.pk}/delete/").status_code == 302
    assert not RoomShift.objects.filter(pk=s.pk).exists()


def test_gaps_page_lists_upcoming_gaps_per_room(world, client_for):
    _now_shift(world)
    response = client_for(world.director).get("/duty/gaps/")
    rows = {r["room"].pk: r for r in response.context["rows"]}
    assert set(rows) == {world.room_c1.pk, PoliceRoom.objects.get(community=world.c2).pk}
    assert rows[world.room_c1.pk]["gaps"] and rows[world.room_c1.pk]["hours"] < 7 * 24
    assert "无人排班时段" in response.content.decode()


def test_clock_in_and_out_json(world, client_for):
    c = client_for(world.officer_a)
    assert c.get("/duty/clock/").status_code == 200
    far = c.post("/duty/clock/in/", {"room": world.room_c1.pk, "lng": 118.605, "lat": 24.915, "accuracy": 10})
    assert far.status_code == 409 and "超出签到范围" in far.json()["detail"]
    bad = c.post("/duty/clock/in/", {"room": world.room_c1.pk, "lng": "abc", "lat": 24.9, "accuracy": 10})
    assert bad.status_code == 400 and bad.json()["detail"] == "经度格式不正确"
    assert c.post("/duty/clock/in/", {"room": "x1", "lng": 1, "lat": 1, "accuracy": 1}).status_code == 400
    outside = c.post(
        "/duty/clock/in/", {"room": world.room_c3.pk, "lng": 118.625, "lat": 24.925, "accuracy": 5}
    )
    assert outside.status_code == 404
    ok = c.post("/duty/clock/in/", {"room": world.room_c1.pk, "lng": 118.605, "lat": 24.905, "accuracy": 10})
    assert ok.status_code == 201 and ok.json()["attendance"]["no_shift"] is True
    assert "无排班" in ok.json()["detail"]
    assert c.get("/duty/clock/in/").status_code == 405
    out = c.post("/duty/clock/out/", {"lng": 118.605, "lat": 24.905, "accuracy": 10})
    assert out.status_code == 200 and out.json()["detail"] == "已签退"
    assert Attendance.objects.get().clock_out_at is not None


def test_clock_for_accounts_without_duty_staff(world, client_for):
    c = client_for(world.dispatcher)
    assert "无需签到" in c.get("/duty/clock/").content.decode()
    response = c.post(
        "/duty/clock/in/", {"room": world.room_c1.pk, "lng": 118.605, "lat": 24.905, "accuracy": 5}
    )
    assert response.status_code == 403 and response.json()["detail"]


def test_anonymous_is_sent_to_login(client):
    for url in ["/duty/", "/duty/gaps/", "/duty/clock/", "/duty/rooms/1/roster/"]:
        assert client.get(url).status_code == 302
    assert client.post("/duty/clock/in/").status_code == 302
