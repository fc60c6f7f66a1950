"""Each kind of queued record, sealed as the browser seals it and posted through /m/api/items: applied
through the owning app's service, or answered with the conflict or refusal the officer sees."""

from __future__ import annotations

import base64
import datetime as dt
import io
import uuid

import pytest
from django.utils import timezone
from PIL import Image

from doorstep.alarms import services as alarm_services
from doorstep.alarms.choices import AlarmState, Disposition
from doorstep.alarms.tests.test_dispatch import key_unit, provision, raise_alarm
from doorstep.audit.models import AuditEntry
from doorstep.duty.models import Attendance
from doorstep.mobile.models import ItemStatus, SyncItem
from doorstep.mobile.tests.conftest import enrol, iso
from doorstep.patrol import runs
from doorstep.patrol.choices import PatrolStatus
from doorstep.patrol.models import Finding, Patrol, TrackPoint
from doorstep.registry import services as registry_services
from doorstep.registry.models import Visit
from doorstep.registry.tests.conftest import make_house

ROOM = {"lng": 118.605, "lat": 24.905, "accuracy": 10}  # 西福警务室 (room_c1)


def jpeg_data_url(size=(64, 48)) -> str:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.fixture
def household(world):
    return registry_services.create_household(house=make_house(world.grid_a), household_no="350503101")


def ago(**kw) -> str:
    return iso(timezone.now() - dt.timedelta(**kw))


# --- visit ----------------------------------------------------------------------------------------------------
def test_a_visit_with_a_photo_is_saved_at_the_phones_time(phone, household, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    visited_at = timezone.now() - dt.timedelta(days=2)
    record = {"household": household.pk, "findings": "正常", "visited_at": iso(visited_at)}
    data = phone.send("visit", {**record, "photo": jpeg_data_url()}).json()

    assert data["status"] == "applied", data
    visit = Visit.objects.get()
    assert abs(visit.visited_at - visited_at) < dt.timedelta(seconds=1)
    assert visit.visited_by == phone.user and visit.photo
    with visit.photo.open("rb") as fh, Image.open(fh) as image:
        assert image.format == "JPEG"


@pytest.mark.parametrize(
    "photo", ["data:image/jpeg;base64,bm90IGFuIGltYWdl", "data:image/jpeg;base64,@@@", "http://x/a.jpg", 42]
)
def test_a_visit_photo_that_is_not_an_image_is_rejected(phone, household, photo):
    record = {"household": household.pk, "findings": "正常", "visited_at": ago(hours=1), "photo": photo}
    data = phone.send("visit", record).json()
    assert data["status"] == "rejected"
    assert data["detail"] == "上传的文件不是有效的图片"
    assert Visit.objects.count() == 0


def test_a_visit_in_the_future_is_rejected(phone, household):
    record = {
        "household": household.pk,
        "findings": "正常",
        "visited_at": iso(timezone.now() + dt.timedelta(hours=1)),
    }
    data = phone.send("visit", record).json()
    assert data["status"] == "rejected" and "晚于当前时间" in data["detail"]


def test_a_visit_without_findings_is_rejected_with_the_services_message(phone, household):
    data = phone.send(
        "visit", {"household": household.pk, "findings": " ", "visited_at": ago(hours=1)}
    ).json()
    assert data["status"] == "rejected" and data["detail"] == "请填写走访情况"


def test_a_visit_of_a_household_that_does_not_exist_is_a_conflict(phone):
    data = phone.send("visit", {"household": 987654, "findings": "正常", "visited_at": ago(hours=1)}).json()
    assert data["status"] == "conflict"


# --- patrol ---------------------------------------------------------------------------------------------------
def start_record(world, started_at):
    return {
        "community": world.c1.pk,
        "grid": world.grid_a.pk,
        "team": None,
        "plan": None,
        "participants": 2,
        "volunteers": 1,
        "started_at": iso(started_at),
    }


def walk(start, n=6, seq0=1):
    return [
        {
            "seq": seq0 + k,
            "at": iso(start + dt.timedelta(seconds=10 * k)),
            "lng": 118.605 + k * 0.0001,
            "lat": 24.905,
            "accuracy": 8,
        }
        for k in range(n)
    ]


def test_a_patrol_started_offline_is_stored_once_with_its_points_finding_and_finish(phone, world):
    t0 = timezone.now() - dt.timedelta(hours=2)
    start_id = str(uuid.uuid4())
    bodies = [
        phone.body("patrol_start", start_record(world, t0), client_id=start_id, recorded_at=t0),
        phone.body("patrol_points", {"patrol": start_id, "points": walk(t0)}),
        phone.body(
            "patrol_finding",
            {
                "patrol": start_id,
                "kind": "hazard",
                "note": "楼道堆放杂物",
                "lng": 118.6052,
                "lat": 24.9051,
                "photo": None,
                "hand_over": False,
                "party_a": "",
                "party_b": "",
                "at": iso(t0 + dt.timedelta(minutes=5)),
            },
        ),
        phone.body("patrol_points", {"patrol": start_id, "points": walk(t0, seq0=7)}),
        phone.body(
            "patrol_finish",
            {"patrol": start_id, "summary": "巡逻正常", "finished_at": iso(t0 + dt.timedelta(minutes=40))},
        ),
    ]
    first = [phone.post("/m/api/items", b).json() for b in bodies]
    again = [phone.post("/m/api/items", b).json() for b in bodies]

    assert [a["status"] for a in first] == ["applied"] * 5, first
    assert [a["replayed"] for a in again] == [True] * 5
    assert [{**a, "replayed": False} for a in again] == first
    patrol = Patrol.objects.get()
    assert patrol.status == PatrolStatus.DONE and patrol.led_by == phone.user
    assert abs(patrol.started_at - t0) < dt.timedelta(seconds=1)
    assert abs(patrol.ended_at - (t0 + dt.timedelta(minutes=40))) < dt.timedelta(seconds=1)
    assert patrol.summary == "巡逻正常" and patrol.participants == 2 and patrol.volunteers == 1
    assert TrackPoint.objects.filter(patrol=patrol).count() == 12
    assert Finding.objects.filter(patrol=patrol).count() == 1
    assert first[0]["object"]["url"] == f"/patrol/runs/{patrol.pk}/"
    assert SyncItem.objects.filter(status=ItemStatus.APPLIED).count() == 5


def test_points_before_their_start_arrived_are_a_conflict_then_retry_applies(phone, world):
    t0 = timezone.now() - dt.timedelta(minutes=30)
    start_id = str(uuid.uuid4())
    points = phone.send("patrol_points", {"patrol": start_id, "points": walk(t0)}).json()
    assert points["status"] == "conflict"
    assert points["detail"].startswith("所属巡逻尚未保存")
    assert [o["value"] for o in points["options"]] == ["retry", "discard"]

    assert (
        phone.send("patrol_start", start_record(world, t0), client_id=start_id).json()["status"] == "applied"
    )
    retried = phone.resolve(points["id"], "retry").json()

    assert retried["status"] == "applied"
    assert TrackPoint.objects.count() == 6


def test_a_second_running_patrol_is_a_conflict(phone, world):
    t0 = timezone.now() - dt.timedelta(minutes=30)
    assert phone.send("patrol_start", start_record(world, t0)).json()["status"] == "applied"
    data = phone.send("patrol_start", start_record(world, t0 + dt.timedelta(minutes=5))).json()
    assert data["status"] == "conflict" and "尚未结束" in data["detail"]
    assert {o["value"] for o in data["options"]} == {"retry", "discard"}
    assert Patrol.objects.count() == 1


def test_a_patrol_ended_on_the_desk_makes_later_records_conflicts(phone, world):
    t0 = timezone.now() - dt.timedelta(minutes=30)
    start_id = str(uuid.uuid4())
    phone.send("patrol_start", start_record(world, t0), client_id=start_id)
    phone.send("patrol_points", {"patrol": start_id, "points": walk(t0)})
    patrol = Patrol.objects.get()
    runs.void(patrol, by=world.officer_a, reason="误操作")

    points = phone.send("patrol_points", {"patrol": patrol.pk, "points": walk(t0, seq0=7)}).json()
    finish = phone.send(
        "patrol_finish", {"patrol": start_id, "summary": "", "finished_at": ago(minutes=1)}
    ).json()

    assert points["status"] == "conflict"
    assert [o["value"] for o in points["options"]] == ["discard", "new_patrol", "retry"]
    assert finish["status"] == "conflict"
    assert [o["value"] for o in finish["options"]] == ["discard"]
    assert TrackPoint.objects.count() == 6


def test_a_patrol_of_someone_else_is_rejected(phone, world):
    other = enrol(world.auxiliary_a)
    other.send("patrol_start", start_record(world, timezone.now() - dt.timedelta(minutes=20)))
    patrol = Patrol.objects.get()
    data = phone.send("patrol_points", {"patrol": patrol.pk, "points": walk(patrol.started_at)}).json()
    assert data["status"] == "rejected" and data["detail"] == "只有本次巡逻的带队人可以操作"


def test_a_patrol_reference_to_another_users_start_does_not_resolve(phone, world):
    other = enrol(world.auxiliary_a)
    start_id = str(uuid.uuid4())
    other.send(
        "patrol_start", start_record(world, timezone.now() - dt.timedelta(minutes=20)), client_id=start_id
    )
    data = phone.send("patrol_points", {"patrol": start_id, "points": []}).json()
    assert data["status"] == "conflict" and TrackPoint.objects.count() == 0


# --- duty -----------------------------------------------------------------------------------------------------
def test_clock_in_and_out_from_the_queue(phone, world):
    at_in = timezone.now() - dt.timedelta(hours=3)
    clock_in = phone.send("clock_in", {"room": world.room_c1.pk, **ROOM, "at": iso(at_in)}).json()
    clock_out = phone.send("clock_out", {**ROOM, "at": ago(hours=1)}).json()

    assert clock_in["status"] == "applied", clock_in
    assert clock_out["status"] == "applied", clock_out
    attendance = Attendance.objects.get()
    assert attendance.staff == world.officer_a_staff
    assert abs(attendance.clock_in_at - at_in) < dt.timedelta(seconds=1)
    assert attendance.clock_out_at is not None and not attendance.out_outside
    assert clock_in["object"]["url"] == "/duty/clock/"


def test_clock_in_outside_the_geofence_is_rejected_with_the_service_message(phone, world):
    far = {"lng": 118.62, "lat": 24.92, "accuracy": 10}
    data = phone.send("clock_in", {"room": world.room_c1.pk, **far, "at": ago(minutes=10)}).json()
    assert data["status"] == "rejected" and "超出签到范围" in data["detail"]
    assert Attendance.objects.count() == 0


def test_a_second_clock_in_is_a_conflict(phone, world):
    phone.send("clock_in", {"room": world.room_c1.pk, **ROOM, "at": ago(hours=2)})
    data = phone.send("clock_in", {"room": world.room_c1.pk, **ROOM, "at": ago(hours=1)}).json()
    assert data["status"] == "conflict" and "请先签退" in data["detail"]
    assert [o["value"] for o in data["options"]] == ["retry", "discard"]
    assert Attendance.objects.count() == 1


def test_clock_in_older_than_12_hours_is_rejected(phone, world):
    data = phone.send("clock_in", {"room": world.room_c1.pk, **ROOM, "at": ago(hours=13)}).json()
    assert data["status"] == "rejected" and "补录期限" in data["detail"]


def test_clock_out_without_a_clock_in_is_a_conflict(phone):
    data = phone.send("clock_out", {**ROOM, "at": ago(minutes=5)}).json()
    assert data["status"] == "conflict" and "没有未签退的签到" in data["detail"]


# --- alarms ---------------------------------------------------------------------------------------------------
@pytest.fixture
def alarm(world):
    device = provision(key_unit(world.grid_a, "西福小学"), "BTN-M-1", world.director)
    alarm = raise_alarm(device)
    return alarm_services.dispatch(alarm, officer=world.officer_a, by=world.dispatcher)


def test_receive_and_arrive_from_the_queue(phone, alarm):
    received = phone.send("alarm_receive", {"alarm": alarm.pk, **ROOM, "at": iso(timezone.now())}).json()
    arrived = phone.send("alarm_arrive", {"alarm": alarm.pk, **ROOM, "at": iso(timezone.now())}).json()

    assert received["status"] == "applied", received
    assert arrived["status"] == "applied", arrived
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.ARRIVED and alarm.received_by_officer_at and alarm.arrival_lng
    assert AuditEntry.objects.filter(action="alarms.receive", object_id=str(alarm.pk)).count() == 1


def test_an_alarm_redispatched_to_someone_else_is_a_conflict(phone, world, alarm):
    alarm_services.dispatch(alarm, officer=world.auxiliary_a, by=world.dispatcher)
    data = phone.send("alarm_arrive", {"alarm": alarm.pk, **ROOM, "at": iso(timezone.now())}).json()
    assert data["status"] == "conflict" and data["detail"].startswith("该报警已改派给")
    assert [o["value"] for o in data["options"]] == ["discard"]
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.DISPATCHED


def test_a_closed_alarm_is_a_conflict(phone, world, alarm):
    alarm_services.close(alarm, disposition=Disposition.FALSE, note="误按", by=world.dispatcher)
    data = phone.send("alarm_receive", {"alarm": alarm.pk, **ROOM, "at": iso(timezone.now())}).json()
    assert data["status"] == "conflict" and data["detail"] == "该报警已结案"


def test_an_alarm_before_its_dispatch_is_rejected(phone, alarm):
    data = phone.send("alarm_receive", {"alarm": alarm.pk, **ROOM, "at": ago(minutes=8)}).json()
    assert data["status"] == "rejected" and data["detail"] == "记录时间早于派警时间，请检查手机时间"


def test_an_alarm_of_another_station_is_rejected_without_naming_anyone(phone, world):
    device = provision(key_unit(world.grid_d, "仁风医院"), "BTN-M-2", world.director_s2)
    other = raise_alarm(device)
    data = phone.send("alarm_receive", {"alarm": other.pk, "at": ago(seconds=10)}).json()
    assert data["status"] == "rejected" and data["detail"] == "报警不存在或不在您的辖区"


def test_new_patrol_continues_a_patrol_ended_elsewhere_and_later_records_follow(phone, world):
    t0 = timezone.now() - dt.timedelta(minutes=30)
    start_id = str(uuid.uuid4())
    phone.send("patrol_start", start_record(world, t0), client_id=start_id)
    phone.send("patrol_points", {"patrol": start_id, "points": walk(t0)})
    ended = Patrol.objects.get()
    runs.finish(ended, by=world.officer_a, summary="在办公室结束", now=t0 + dt.timedelta(minutes=2))
    t1 = t0 + dt.timedelta(minutes=5)
    conflict = phone.send("patrol_points", {"patrol": start_id, "points": walk(t1, seq0=7)}).json()
    assert conflict["status"] == "conflict"

    chosen = phone.resolve(conflict["id"], "new_patrol").json()
    more = phone.send("patrol_points", {"patrol": start_id, "points": walk(t1, seq0=13)}).json()
    finish = phone.send(
        "patrol_finish",
        {"patrol": start_id, "summary": "继续巡逻", "finished_at": iso(t1 + dt.timedelta(minutes=10))},
    ).json()

    assert chosen["status"] == "applied", chosen
    assert more["status"] == "applied" and finish["status"] == "applied", (more, finish)
    successor = Patrol.objects.exclude(pk=ended.pk).get()
    assert successor.community == ended.community and successor.grid == ended.grid
    assert successor.participants == 2 and successor.volunteers == 1
    assert abs(successor.started_at - t1) < dt.timedelta(seconds=1)
    assert successor.status == PatrolStatus.DONE and successor.summary == "继续巡逻"
    assert TrackPoint.objects.filter(patrol=successor).count() == 12
    assert TrackPoint.objects.filter(patrol=ended).count() == 6
    ended.refresh_from_db()
    assert ended.summary == "在办公室结束"
    assert chosen["object"]["url"] == f"/patrol/runs/{successor.pk}/"
    assert "continues" not in chosen and "patrol" not in chosen
