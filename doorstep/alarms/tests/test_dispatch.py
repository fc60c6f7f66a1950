"""The dispatch lifecycle (acknowledge → dispatch → arrive → close), its order and permission rules, what is
published after each commit, and the console / phone-page endpoints.

The fixtures here (a key unit per station, a button on each, `raise_alarm`) are imported by the other
dispatch tests (test_supervision.py, test_consumers.py).
"""

from __future__ import annotations

import json
import math

import pytest
from django.utils import timezone

from doorstep.accounts.choices import Role
from doorstep.accounts.services import create_user
from doorstep.alarms import realtime, services
from doorstep.alarms.choices import AlarmState, EventType, Protocol
from doorstep.alarms.models import Alarm
from doorstep.audit.models import AuditEntry
from doorstep.conftest import PASSWORD, make_staff
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.ids import synthetic_credit_code
from doorstep.org import services as org_services
from doorstep.org.choices import Position, StaffKind
from doorstep.registry import services as registry_services
from doorstep.registry.choices import UnitType
from doorstep.registry.tests.conftest import _rng, make_house

JSON = {"HTTP_ACCEPT": "application/json"}
NEAR_SCHOOL = {"lng": 118.6051, "lat": 24.9049, "accuracy": 12.5}  # grid A's centre is (118.605, 24.905)


def key_unit(grid, name: str, unit_type=UnitType.SCHOOL):
    house = make_house(grid)
    return registry_services.create_unit(
        name=name, credit_code=synthetic_credit_code(_rng), unit_type=unit_type, key_level="1",
        address=house.address, security_lead="陈保安", security_phone="13900001111",
    )  # fmt: skip


def provision(unit, device_id: str, by, **kwargs):
    device, _credentials = services.provision_device(
        unit=unit, device_id=device_id, location="东门保安亭", by=by, **kwargs
    )
    return device


_events = iter(range(1, 10**6))


def raise_alarm(device, event_type=EventType.PANIC) -> Alarm:
    """A press through the one entry point every receiver uses."""
    alarm, created = services.receive_event(
        device,
        event_id=f"press-{next(_events)}",
        event_type=event_type,
        occurred_at=timezone.now(),
        protocol=Protocol.HTTP,
    )
    assert created
    return alarm


@pytest.fixture
def button(world):
    """A button at 西福小学 in grid A of station S1 (city); grid A's officer is officer_a."""
    return provision(key_unit(world.grid_a, "西福小学"), "BTN-A-1", world.director)


@pytest.fixture
def button_c(world):
    """A button at a bank in grid C of S1, a grid with no community officer."""
    return provision(key_unit(world.grid_c, "东星银行", UnitType.FINANCE), "BTN-C-1", world.director)


@pytest.fixture
def button_s2(world):
    """A button at a hospital in grid D of station S2."""
    return provision(key_unit(world.grid_d, "仁风医院", UnitType.HOSPITAL), "BTN-D-1", world.director_s2)


@pytest.fixture
def officer_d(world):
    """The login of grid D's officer (station S2)."""
    staff = world.grid_d.assignments.get(position=Position.OFFICER, ended_on__isnull=True).staff
    return create_user(username="officer_d", password=PASSWORD, role=Role.OFFICER, staff=staff)


@pytest.fixture
def dispatcher_s2(world):
    return create_user(username="dispatcher_s2", password=PASSWORD, role=Role.DISPATCHER, station=world.s2)


@pytest.fixture
def published(monkeypatch):
    """What would go out on the WebSocket groups, in order (the groups themselves: test_consumers.py)."""
    sent: list[tuple] = []
    monkeypatch.setattr(realtime, "publish_to_station", lambda s, p: sent.append(("station", s, p["state"])))
    monkeypatch.setattr(realtime, "publish_escalation", lambda s, p: sent.append(("escalation", s, p["id"])))
    monkeypatch.setattr(
        realtime,
        "publish_to_user",
        lambda u, p, dispatch=False: sent.append(("dispatch" if dispatch else "user", u, p["state"])),
    )
    return sent


def actions(alarm) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="alarms.alarm", object_id=str(alarm.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


# --- dispatch ------------------------------------------------------------------------------------------------
def test_dispatch_defaults_to_the_grid_officer_and_acknowledges_implicitly(button, world):
    alarm = raise_alarm(button)

    alarm = services.dispatch(alarm, by=world.dispatcher)

    assert alarm.state == AlarmState.DISPATCHED and alarm.dispatched_to == world.officer_a
    assert alarm.dispatched_by == world.dispatcher and alarm.acknowledged_by == world.dispatcher
    assert alarm.acknowledged_at == alarm.dispatched_at is not None
    assert actions(alarm) == ["alarms.dispatch"]
    payload = services.console_payload(alarm)
    assert payload["dispatched_to"]["id"] == world.officer_a.pk and payload["dispatched_to"]["phone"]
    assert payload["grid_officer"]["id"] == world.officer_a.pk and payload["norm_seconds"] == 300


def test_dispatch_may_send_another_officer_or_auxiliary_of_the_station(button, world):
    alarm = services.acknowledge(raise_alarm(button), by=world.dispatcher)

    first = services.dispatch(alarm, officer=world.auxiliary_a, by=world.dispatcher)
    again = services.dispatch(alarm, officer=world.auxiliary_a, by=world.director)  # a second console
    moved = services.dispatch(alarm, officer=world.officer_b, by=world.director)

    assert first.dispatched_to == again.dispatched_to == world.auxiliary_a
    assert again.dispatched_by == world.dispatcher  # the repeat changed nothing
    assert moved.dispatched_to == world.officer_b and moved.dispatched_by == world.director
    assert moved.dispatched_at == first.dispatched_at  # the station's response time is the first dispatch
    assert actions(alarm) == ["alarms.acknowledge", "alarms.dispatch", "alarms.redispatch"]
    redispatch = AuditEntry.objects.get(action="alarms.redispatch")
    assert redispatch.before["dispatched_to_id"] == world.auxiliary_a.pk
    assert redispatch.after["dispatched_to_id"] == world.officer_b.pk


def test_only_the_field_team_of_the_alarms_station_can_be_sent(button, world, officer_d):
    alarm = raise_alarm(button)

    for wrong in (officer_d, world.director, world.dispatcher, world.patrol):
        with pytest.raises(RuleViolation, match="本所在岗的社区民警或协勤员"):
            services.dispatch(alarm, officer=wrong, by=world.dispatcher)
    assert Alarm.objects.get(pk=alarm.pk).state == AlarmState.RECEIVED


def test_an_officer_who_left_the_grid_is_no_longer_the_default_nor_a_candidate(world):
    button_b = provision(key_unit(world.grid_b, "西福幼儿园"), "BTN-B-1", world.director)
    post_b = world.grid_b.assignments.get(position=Position.OFFICER, ended_on__isnull=True)
    org_services.end_assignment(post_b, ended_on=timezone.localdate(), reason="调任他所")
    alarm = raise_alarm(button_b)

    with pytest.raises(RuleViolation, match="请选择出警人员"):
        services.dispatch(alarm, by=world.dispatcher)
    with pytest.raises(RuleViolation, match="本所在岗"):
        services.dispatch(alarm, officer=world.officer_b, by=world.dispatcher)
    assert services.console_payload(alarm)["grid_officer"] is None


def test_a_grid_without_an_officer_needs_an_explicit_choice(button_c, world):
    alarm = raise_alarm(button_c)

    with pytest.raises(RuleViolation, match="请选择出警人员"):
        services.dispatch(alarm, by=world.dispatcher)
    alarm = services.dispatch(alarm, officer=world.officer_b, by=world.dispatcher)

    assert alarm.dispatched_to == world.officer_b


# --- order and idempotence ------------------------------------------------------------------------------
def test_the_lifecycle_keeps_its_order(button, world):
    alarm = raise_alarm(button)
    with pytest.raises(RuleViolation, match="尚未派警"):
        services.arrive(alarm, by=world.dispatcher)
    services.acknowledge(alarm, by=world.dispatcher)
    with pytest.raises(RuleViolation, match="尚未派警"):
        services.arrive(alarm, by=world.dispatcher)

    services.dispatch(alarm, by=world.dispatcher)
    assert services.acknowledge(alarm, by=world.director).state == AlarmState.DISPATCHED  # harmless
    services.arrive(alarm, by=world.officer_a, **NEAR_SCHOOL)
    with pytest.raises(RuleViolation, match="已到场"):
        services.dispatch(alarm, officer=world.officer_b, by=world.dispatcher)

    services.close(alarm, disposition="false", note="学生误按", by=world.dispatcher)
    for step in (
        lambda: services.close(alarm, disposition="real", by=world.dispatcher),
        lambda: services.dispatch(alarm, by=world.dispatcher),
        lambda: services.arrive(alarm, by=world.officer_a),
    ):
        with pytest.raises(RuleViolation, match="已结案"):
            step()
    assert actions(alarm) == ["alarms.acknowledge", "alarms.dispatch", "alarms.arrive", "alarms.close"]


def test_arrival_records_time_and_gps_and_the_first_report_stands(button, world):
    alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)

    arrived = services.arrive(alarm, by=world.officer_a, **NEAR_SCHOOL)
    repeat = services.arrive(alarm, by=world.officer_a, lng=118.7, lat=24.95, accuracy=5)

    assert arrived.state == AlarmState.ARRIVED and arrived.arrived_at is not None
    assert (repeat.arrival_lng, repeat.arrival_lat, repeat.arrival_accuracy) == (118.6051, 24.9049, 12.5)
    assert actions(alarm).count("alarms.arrive") == 1
    arrival = services.console_payload(alarm)["arrival"]
    assert arrival["accuracy"] == 12.5 and 0 <= arrival["distance_m"] < 50


def test_arrival_without_a_fix_is_recorded_and_marked(button, world):
    alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)

    alarm = services.arrive(alarm, by=world.officer_a)

    assert alarm.state == AlarmState.ARRIVED and alarm.arrival_lng is None
    assert AuditEntry.objects.get(action="alarms.arrive").note == "无定位"
    assert services.console_payload(alarm)["arrival"] == {
        "lng": None, "lat": None, "accuracy": None, "distance_m": None,
    }  # fmt: skip


def test_a_console_user_may_record_the_arrival_on_the_officers_behalf(button, world):
    alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)

    services.arrive(alarm, by=world.dispatcher)

    entry = AuditEntry.objects.get(action="alarms.arrive")
    assert entry.actor_id == world.dispatcher.pk and "调度台代为登记" in entry.note and "无定位" in entry.note


@pytest.mark.parametrize(
    "position",
    [
        {"lng": 118.6},
        {"lat": 24.9},
        {"lng": "東", "lat": 24.9},
        {"lng": math.nan, "lat": 24.9},
        {"lng": 118.6, "lat": math.inf},
        {"lng": True, "lat": 24.9},
        {"lng": 0.0, "lat": 0.0},  # off the coast of Africa: a phone that has no fix reports 0,0
        {"lng": 24.9, "lat": 118.6},  # swapped
        {"lng": 118.6, "lat": 24.9, "accuracy": -1},
        {"lng": 118.6, "lat": 24.9, "accuracy": "1e9"},
        {"accuracy": 10},
    ],
)
def test_arrival_refuses_a_bad_position(button, world, position):
    alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)

    with pytest.raises(ServiceError) as refused:
        services.arrive(alarm, by=world.officer_a, **position)

    assert refused.value.code == "position" and refused.value.status == 400
    assert Alarm.objects.get(pk=alarm.pk).state == AlarmState.DISPATCHED


# --- permissions ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["director_s2", "dispatcher_s2", "officer_a", "patrol", "evaluator"])
def test_only_the_stations_consoles_handle_its_alarms(button, world, dispatcher_s2, who):
    user = dispatcher_s2 if who == "dispatcher_s2" else world.users[who]
    alarm = raise_alarm(button)

    for step in (
        lambda: services.acknowledge(alarm, by=user),
        lambda: services.dispatch(alarm, by=user),
        lambda: services.close(alarm, disposition="false", by=user),
    ):
        with pytest.raises(NotAllowed):
            step()
    assert actions(alarm) == []


def test_the_leader_handles_every_stations_alarms(button_s2, world, officer_d):
    alarm = services.dispatch(raise_alarm(button_s2), by=world.leader)

    assert alarm.dispatched_to == officer_d


def test_nobody_else_reports_arrival_for_the_dispatched_officer(button, world, dispatcher_s2):
    alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)

    for user in (world.officer_b, world.auxiliary_a, dispatcher_s2, world.director_s2):
        with pytest.raises(NotAllowed):
            services.arrive(alarm, by=user, **NEAR_SCHOOL)
    assert Alarm.objects.get(pk=alarm.pk).state == AlarmState.DISPATCHED


# --- close -------------------------------------------------------------------------------------------------
def test_close_records_who_and_why(button, world):
    alarm = raise_alarm(button)

    with pytest.raises(ServiceError, match="处置结果"):
        services.close(alarm, disposition="maybe", by=world.dispatcher)
    with pytest.raises(ServiceError, match="200"):
        services.close(alarm, disposition="other", note="长" * 201, by=world.dispatcher)
    alarm = services.close(alarm, disposition="other", note="  保安测试按钮 ", by=world.director)

    assert (alarm.closed_by, alarm.close_note, alarm.disposition) == (world.director, "保安测试按钮", "other")
    assert alarm.acknowledged_by == world.director and alarm.closed_at is not None
    payload = services.console_payload(alarm)
    assert payload["closed_by"] and payload["disposition_label"] == "其他"


def test_a_real_emergency_during_a_drill_counts_as_real(button, world):
    real = raise_alarm(button, EventType.TEST)
    drill = raise_alarm(button, EventType.TEST)
    assert real.is_drill and drill.is_drill

    real = services.close(real, disposition="real", note="演练时段内发生真实警情", by=world.dispatcher)
    drill = services.close(drill, disposition="test", by=world.dispatcher)

    assert real.is_drill is False and drill.is_drill is True
    assert AuditEntry.objects.get(action="alarms.close", object_id=str(real.pk)).after["is_drill"] is False


# --- after the commit ---------------------------------------------------------------------------------------
def test_each_step_is_published_after_commit_to_the_station_and_the_officer(
    button, world, published, django_capture_on_commit_callbacks
):
    alarm = raise_alarm(button)
    published.clear()  # the new alarm itself (receive_event's part)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.dispatch(alarm, by=world.dispatcher)
    assert published == [] and len(callbacks) == 1
    callbacks[0]()
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch(alarm, officer=world.officer_b, by=world.dispatcher)
        services.arrive(alarm, by=world.officer_b)
        services.close(alarm, disposition="real", by=world.dispatcher)

    a, b, s1 = world.officer_a.pk, world.officer_b.pk, world.s1.pk
    assert published == [
        ("station", s1, "dispatched"), ("dispatch", a, "dispatched"),
        ("station", s1, "dispatched"), ("dispatch", b, "dispatched"), ("user", a, "dispatched"),
        ("station", s1, "arrived"), ("user", b, "arrived"),
        ("station", s1, "closed"), ("user", b, "closed"),
    ]  # fmt: skip


def test_nothing_is_published_when_the_transaction_rolls_back(button, world, published):
    from django.db import transaction

    alarm = raise_alarm(button)
    published.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.dispatch(alarm, by=world.dispatcher)
        raise RuntimeError("the caller failed after dispatching")

    assert published == [] and Alarm.objects.get(pk=alarm.pk).state == AlarmState.RECEIVED


# --- the console's endpoints ---------------------------------------------------------------------------------
def test_console_json_rebuilds_the_state_of_the_users_stations(button, button_s2, world, client_for):
    mine = services.dispatch(raise_alarm(button), by=world.dispatcher)
    closed = services.close(raise_alarm(button), disposition="false", by=world.dispatcher)
    raise_alarm(button_s2)

    state = client_for(world.dispatcher).get("/alarms/console/", **JSON).json()
    page = client_for(world.dispatcher).get("/alarms/console/")

    assert [a["id"] for a in state["alarms"]] == [mine.pk] and closed.pk not in state["alarms"]
    assert state["alarms"][0]["dispatched_to"]["id"] == world.officer_a.pk
    assert state["alerts"] == [] and state["now"]
    assert page.status_code == 200 and "alarm-map" in page.content.decode()
    assert client_for(world.officer_a).get("/alarms/console/", **JSON).status_code == 404


def test_console_payloads_cost_the_same_for_one_alarm_or_many(
    button, button_c, world, django_assert_max_num_queries
):
    ids = [raise_alarm(button).pk]
    with django_assert_max_num_queries(2):
        services.console_payloads(ids)
    ids += [raise_alarm(button).pk for _ in range(4)] + [raise_alarm(button_c).pk]
    services.dispatch(Alarm.objects.get(pk=ids[1]), by=world.dispatcher)

    with django_assert_max_num_queries(3):  # and the people, once there are any
        payloads = services.console_payloads(ids)

    assert [p["id"] for p in payloads] == ids
    dispatched = payloads[1]
    assert dispatched["acknowledged_by"] == str(world.dispatcher) and dispatched["dispatched_to"]["id"]


def test_officers_endpoint_lists_the_stations_field_team_with_the_grid_officer_first_choice(
    button, world, client_for, officer_d
):
    alarm = raise_alarm(button)

    answer = client_for(world.dispatcher).get(f"/alarms/{alarm.pk}/officers/")
    foreign = client_for(world.director_s2).get(f"/alarms/{alarm.pk}/officers/")
    officer = client_for(world.officer_a).get(f"/alarms/{alarm.pk}/officers/")

    assert answer.status_code == 200 and answer.json()["default"] == world.officer_a.pk
    ids = {o["id"] for o in answer.json()["officers"]}
    assert ids == {world.officer_a.pk, world.officer_b.pk, world.auxiliary_a.pk}
    assert foreign.status_code == officer.status_code == 404 and foreign.json()["detail"]


def test_dispatch_endpoint_answers_json_and_4xx_with_detail(button, world, client_for, officer_d):
    alarm = raise_alarm(button)
    url = f"/alarms/{alarm.pk}/dispatch/"
    dispatcher = client_for(world.dispatcher)

    bad_id = dispatcher.post(url, {"officer": "abc"}, **JSON)
    unknown = dispatcher.post(url, {"officer": "99999999"}, **JSON)
    other_station = dispatcher.post(url, {"officer": str(officer_d.pk)}, **JSON)
    foreign = client_for(world.director_s2).post(url, **JSON)
    by_officer = client_for(world.officer_a).post(url, **JSON)
    get = dispatcher.get(url, **JSON)
    ok = dispatcher.post(url, {"officer": str(world.auxiliary_a.pk)}, **JSON)
    form = dispatcher.post(url, {"officer": str(world.officer_a.pk)})

    assert (bad_id.status_code, unknown.status_code, other_station.status_code) == (400, 400, 409)
    assert all(r.json()["detail"] for r in (bad_id, unknown, other_station, foreign, by_officer))
    assert foreign.status_code == by_officer.status_code == 404 and get.status_code == 405
    assert ok.status_code == 200 and ok.json()["dispatched_to"]["id"] == world.auxiliary_a.pk
    assert form.status_code == 302 and form["Location"] == "/alarms/console/"
    assert Alarm.objects.get(pk=alarm.pk).dispatched_to == world.officer_a


def test_arrive_endpoint_takes_json_or_a_form(button, world, client_for):
    alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)
    url = f"/alarms/{alarm.pk}/arrive/"
    officer = client_for(world.officer_a)

    broken = officer.post(url, "{not json", content_type="application/json", **JSON)
    not_object = officer.post(url, "[1, 2]", content_type="application/json", **JSON)
    swapped = officer.post(
        url, json.dumps({"lng": 24.9, "lat": 118.6}), content_type="application/json", **JSON
    )
    someone_else = client_for(world.officer_b).post(
        url, json.dumps(NEAR_SCHOOL), content_type="application/json", **JSON
    )
    ok = officer.post(url, json.dumps(NEAR_SCHOOL), content_type="application/json", **JSON)

    assert (broken.status_code, not_object.status_code, swapped.status_code) == (400, 400, 400)
    assert "坐标超出范围" in swapped.json()["detail"]
    assert someone_else.status_code == 404 and someone_else.json()["detail"]
    assert (
        ok.status_code == 200 and ok.json()["state"] == "arrived" and ok.json()["arrival"]["lng"] == 118.6051
    )


def test_arrival_form_without_javascript_returns_to_the_phone_page_with_a_message(button, world, client_for):
    alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)
    officer = client_for(world.officer_a)

    bad = officer.post(f"/alarms/{alarm.pk}/arrive/", {"lng": "x", "lat": "24.9"}, follow=True)
    good = officer.post(f"/alarms/{alarm.pk}/arrive/", {"lng": "", "lat": ""}, follow=True)

    assert bad.redirect_chain == [("/alarms/mine/", 302)] and "经度应为数字" in bad.content.decode()
    assert good.redirect_chain == [("/alarms/mine/", 302)] and "已登记到场" in good.content.decode()
    assert Alarm.objects.get(pk=alarm.pk).state == AlarmState.ARRIVED


def test_close_endpoint_shows_chinese_errors(button, world, client_for):
    alarm = raise_alarm(button)
    dispatcher = client_for(world.dispatcher)

    bad = dispatcher.post(f"/alarms/{alarm.pk}/close/", {"disposition": ""}, **JSON)
    form = dispatcher.post(f"/alarms/{alarm.pk}/close/", {"disposition": "x"}, follow=True)
    ok = dispatcher.post(f"/alarms/{alarm.pk}/close/", {"disposition": "false", "note": "误按"}, **JSON)

    assert bad.status_code == 400 and bad.json()["detail"] == "请选择处置结果"
    assert "请选择处置结果" in form.content.decode()
    assert ok.json()["state"] == "closed" and ok.json()["close_note"] == "误按"


# --- the officer's phone page ---------------------------------------------------------------------------
def test_the_phone_page_shows_only_my_open_dispatches(button, button_c, world, client_for):
    mine = services.dispatch(raise_alarm(button), by=world.dispatcher)
    theirs = services.dispatch(raise_alarm(button_c), officer=world.officer_b, by=world.dispatcher)
    done = services.close(services.dispatch(raise_alarm(button), by=world.dispatcher), disposition="false",
                          by=world.dispatcher)  # fmt: skip
    raise_alarm(button)  # not dispatched to anyone yet

    page = client_for(world.officer_a).get("/alarms/mine/")
    state = client_for(world.officer_a).get("/alarms/mine/", **JSON).json()
    other = client_for(world.officer_b).get("/alarms/mine/", **JSON).json()

    assert [a["id"] for a in state["alarms"]] == [mine.pk] and done.pk not in [
        a["id"] for a in state["alarms"]
    ]
    assert [a["id"] for a in other["alarms"]] == [theirs.pk]
    html = page.content.decode()
    assert page.status_code == 200 and "我的出警" in html and "initial-alarms" in html
    assert client_for(None).get("/alarms/mine/").status_code == 302


def test_the_suburbs_get_ten_minutes(button_s2, world, officer_d):
    type(world.s2).objects.filter(pk=world.s2.pk).update(area_type="suburb")

    payload = services.console_payload(raise_alarm(button_s2))

    assert payload["norm_seconds"] == 600 and payload["station_name"] == "清源派出所"


def test_an_officer_without_a_grid_post_is_not_a_candidate(button, world):
    idle_staff = make_staff(world.sub_bureau, world.s1, StaffKind.POLICE, "陈静")
    idle = create_user(username="idle", password=PASSWORD, role=Role.OFFICER, staff=idle_staff)
    alarm = raise_alarm(button)

    assert idle not in services.dispatch_candidates(world.s1.pk)
    with pytest.raises(RuleViolation):
        services.dispatch(alarm, officer=idle, by=world.dispatcher)
