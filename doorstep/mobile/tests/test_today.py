"""`GET /m/api/today`: the officer's work of the day on the phone, each part from its app's scoped selector."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from doorstep.alarms import services as alarm_services
from doorstep.alarms.tests.test_dispatch import key_unit, provision, raise_alarm
from doorstep.desk import services as desk_services
from doorstep.desk.choices import IntakeKind
from doorstep.duty import services as duty_services
from doorstep.mediation.tests.conftest import add_mediators, new_dispute
from doorstep.registry import services as registry_services
from doorstep.registry.choices import PersonCategory
from doorstep.registry.models import Household
from doorstep.registry.tests.conftest import make_house, new_id

TODAY = "/m/api/today"


@pytest.fixture
def button(world):
    return provision(key_unit(world.grid_a, "西福小学"), "BTN-TODAY-A", world.director)


def household_due(grid, name: str, due: dt.date) -> Household:
    house = make_house(grid)
    household = registry_services.create_household(house=house)
    registry_services.create_person(
        name=name,
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=household,
        relation_to_head="户主",
        phone="13912340000",
    )
    Household.objects.filter(pk=household.pk).update(next_visit_due=due)
    return household


def test_signed_out_is_a_json_401_not_a_redirect(world, client):
    response = client.get(TODAY)
    assert response.status_code == 401
    assert response.json()["code"] == "login" and response.json()["detail"]


@pytest.mark.parametrize("who", ["dispatcher", "leader", "evaluator", "admin"])
def test_roles_without_a_workspace_get_403_with_detail(world, client_for, who):
    response = client_for(getattr(world, who)).get(TODAY)
    assert response.status_code == 403 and response.json()["detail"]


def test_only_get(world, client_for):
    assert client_for(world.officer_a).post(TODAY).status_code == 405


def test_my_open_dispatches_come_first_and_nobody_elses(button, world, client_for):
    mine = raise_alarm(button)
    alarm_services.dispatch(mine, by=world.dispatcher)
    closed = raise_alarm(button)
    alarm_services.dispatch(closed, by=world.dispatcher)
    alarm_services.close(closed, disposition="false", by=world.dispatcher)
    others = raise_alarm(button)
    alarm_services.dispatch(others, officer=world.officer_b, by=world.dispatcher)
    alarm_services.receive(mine, by=world.officer_a)

    response = client_for(world.officer_a).get(TODAY)

    assert response.status_code == 200 and response["Cache-Control"].startswith("no-store")
    data = response.json()
    assert [a["id"] for a in data["alarms"]] == [mine.pk]
    alarm = data["alarms"][0]
    assert alarm["unit"] == "西福小学" and alarm["state"] == "dispatched" and alarm["state_label"]
    assert alarm["dispatched_at"] and alarm["received_by_officer_at"] and alarm["arrived_at"] is None
    assert alarm["lng"] is not None and alarm["url"] == "/alarms/mine/"
    assert data["user"] == {
        "id": world.officer_a.pk,
        "name": "刘芳",
        "role": "officer",
        "role_label": "社区民警",
    }
    assert data["server_time"]
    assert [a["id"] for a in client_for(world.officer_b).get(TODAY).json()["alarms"]] == [others.pk]


def test_visits_overdue_and_due_of_my_grids_with_the_heads_name_masked(world, client_for):
    today = timezone.localdate()
    overdue = household_due(world.grid_a, "张建华", today - dt.timedelta(days=3))
    due = household_due(world.grid_a, "李四", today + dt.timedelta(days=5))
    household_due(world.grid_a, "王五", today + dt.timedelta(days=30))  # not due yet
    household_due(world.grid_b, "赵六", today - dt.timedelta(days=1))  # officer_b's grid
    elsewhere = household_due(world.grid_d, "钱七", today - dt.timedelta(days=1))  # another station

    visits = client_for(world.officer_a).get(TODAY).json()["visits"]

    assert [v["id"] for v in visits["overdue"]] == [overdue.pk]
    assert [v["id"] for v in visits["due"]] == [due.pk]
    item = visits["overdue"][0]
    assert item["label"].endswith(" · 张**") and overdue.house.address.full_text in item["label"]
    assert "张建华" not in str(visits) and "139" not in str(visits)
    assert item["next_visit_due"] == (today - dt.timedelta(days=3)).isoformat()
    assert item["colour"] in {"red", "yellow", "green"}
    assert item["url"] == f"/registry/households/{overdue.pk}/"
    director = client_for(world.director_s2).get(TODAY).json()["visits"]
    assert [v["id"] for v in director["overdue"]] == [elsewhere.pk]


def test_a_patrol_member_is_offered_no_visit_the_server_would_refuse(world, client_for):
    household_due(
        world.grid_a, "张建华", timezone.localdate() - dt.timedelta(days=3)
    )  # in the patrol's community

    visits = client_for(world.patrol).get(TODAY).json()["visits"]

    assert visits == {"overdue": [], "due": []}
    assert client_for(world.officer_a).get(TODAY).json()["visits"]["overdue"]


def test_duty_shows_the_shift_room_geofence_and_clock_in(world, client_for):
    now = timezone.now()
    shift = duty_services.create_shift(
        room=world.room_c1,
        staff=world.officer_a_staff,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=3),
        by=world.director,
    )

    duty = client_for(world.officer_a).get(TODAY).json()["duty"]

    assert duty["shift"]["id"] == shift.pk and duty["shift"]["now"] is True
    room = duty["shift"]["room"]
    assert room == {
        "id": world.room_c1.pk,
        "name": "西福警务室",
        "lng": 118.605,
        "lat": 24.905,
        "geofence_m": 100,
    }
    assert duty["room"]["id"] == world.room_c1.pk and duty["clocked_in"] is False

    duty_services.clock_in(
        staff=world.officer_a_staff,
        room=world.room_c1,
        lng=118.605,
        lat=24.905,
        accuracy=10,
        by=world.officer_a,
    )
    duty = client_for(world.officer_a).get(TODAY).json()["duty"]
    assert duty["clocked_in"] is True and duty["attendance"]["room"] == "西福警务室"


def test_patrols_offer_what_i_may_start_a_patrol_for(world, client_for):
    patrols = client_for(world.officer_a).get(TODAY).json()["patrols"]
    assert patrols["running"] is None
    assert patrols["communities"] == [{"id": world.c1.pk, "name": "西福社区"}]
    assert [g["id"] for g in patrols["grids"]] == [world.grid_a.pk]
    # A patrol member opens the workspace for the patrols: no registry work in it.
    member = client_for(world.patrol).get(TODAY).json()
    assert [c["id"] for c in member["patrols"]["communities"]] == [world.c1.pk]
    assert member["alarms"] == [] and member["visits"] == {"overdue": [], "due": []}
    assert member["disputes"] == [] and member["desk"] == []


def test_a_running_patrol_tells_the_next_track_point_seq(world, client_for):
    from doorstep.patrol import runs

    now = timezone.now()
    patrol = runs.start(by=world.officer_a, community=world.c1, now=now - dt.timedelta(minutes=30))
    running = client_for(world.officer_a).get(TODAY).json()["patrols"]["running"]
    assert running["id"] == patrol.pk and running["next_seq"] == 1
    points = [
        {"seq": seq, "at": (now - dt.timedelta(minutes=20 - seq)).isoformat(), "lng": 116.4, "lat": 39.9}
        for seq in (3, 7)
    ]
    assert runs.add_points(patrol, points, by=world.officer_a) == 2
    running = client_for(world.officer_a).get(TODAY).json()["patrols"]["running"]
    assert running["next_seq"] == 8


def test_disputes_i_took_first_hand_and_desk_items_i_own(world, client_for):
    dispute = new_dispute(add_mediators(world), by=world.officer_a)
    intake = desk_services.create_intake(
        room=world.room_c1,
        kind=IntakeKind.DISPUTE,
        applicant_name="王伟",
        id_number=new_id(),
        summary="邻里噪音",
        by=world.officer_a,
    )

    data = client_for(world.officer_a).get(TODAY).json()

    assert [d["id"] for d in data["disputes"]] == [dispute.pk]
    assert data["disputes"][0]["label"].startswith(dispute.number)
    assert data["disputes"][0]["url"] == f"/mediation/{dispute.pk}/"
    assert intake.owner_id == world.officer_a_staff.pk  # who takes it at the desk owns it
    assert [d["id"] for d in data["desk"]] == [intake.pk]
    assert "王伟" not in data["desk"][0]["label"] and data["desk"][0]["url"] == f"/desk/items/{intake.pk}/"
    other = client_for(world.officer_b).get(TODAY).json()
    assert other["disputes"] == [] and other["desk"] == []


def test_another_stations_director_sees_none_of_it(button, world, client_for):
    alarm = raise_alarm(button)
    alarm_services.dispatch(alarm, by=world.dispatcher)
    household_due(world.grid_a, "张建华", timezone.localdate())
    data = client_for(world.director_s2).get(TODAY).json()
    assert data["alarms"] == [] and data["visits"] == {"overdue": [], "due": []}
    assert [c["id"] for c in data["patrols"]["communities"]] == [world.c3.pk]


def test_today_costs_the_same_for_a_few_items_or_many(
    button, world, client_for, django_assert_max_num_queries
):
    def add(n: int) -> None:
        for _ in range(n):
            alarm_services.dispatch(raise_alarm(button), by=world.dispatcher)
            household_due(world.grid_a, "张建华", timezone.localdate())

    client = client_for(world.officer_a)
    add(1)
    client.get(TODAY)  # the session and the user: warm
    with django_assert_max_num_queries(40) as few:
        assert len(client.get(TODAY).json()["alarms"]) == 1
    add(5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        data = client.get(TODAY).json()
    assert len(data["alarms"]) == 6 and len(data["visits"]["due"]) == 6
