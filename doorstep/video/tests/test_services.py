"""The write rules of video patrol: registering cameras and speakers, zones, broadcasts (who may send to
which speakers), the delivery lease and its retries, and motion events reaching the station's consoles."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.video import services
from doorstep.video.choices import DeliveryStatus
from doorstep.video.consumers import station_group
from doorstep.video.detection import Detection
from doorstep.video.models import BroadcastDelivery, Camera, MotionEvent, PatrolTour


def camera_fields(**overrides):
    fields = dict(
        code="CAM-NEW",
        name="新摄像机",
        location="路口",
        lng=118.6051,
        lat=24.9051,
        stream_url="rtsp://10.0.0.9/live",
    )
    fields.update(overrides)
    return fields


# --- cameras, speakers, zones ----------------------------------------------------------------------------------
def test_only_the_stations_director_or_an_admin_registers_cameras(world, video):
    assert (
        services.save_camera(by=world.director, grid=world.grid_a, **camera_fields()).station_id
        == world.s1.pk
    )
    for user in (world.director_s2, world.dispatcher, world.officer_a, world.leader):
        with pytest.raises(NotAllowed):
            services.save_camera(by=user, grid=world.grid_a, **camera_fields(code=f"CAM-{user.username}"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"stream_url": "ftp://10.0.0.9/x"}, "rtsp://"),
        ({"stream_url": "rtsp://"}, "主机名"),
        ({"stream_url": "rtsp://a b/"}, "格式不正确"),
        ({"stream_url": "rtsp://[::1/live"}, "格式不正确"),
        ({"stream_url": "rtsp://10.0.0.9:99999/live"}, "格式不正确"),
        ({"lng": 200}, "坐标"),
        ({"code": "坏 编号"}, "编号"),
        ({"fps": 30}, "帧率"),
        ({"min_area": 0}, "最小面积"),
        ({"active_from": dt.time(20, 0)}, "检测时段"),
        ({"name": "  "}, "名称"),
    ],
)
def test_bad_camera_settings_are_refused_in_chinese(world, overrides, message):
    with pytest.raises(ServiceError, match=message):
        services.save_camera(by=world.admin, grid=world.grid_a, **camera_fields(**overrides))


def test_a_duplicate_code_and_another_stations_speaker_are_refused(world, video):
    with pytest.raises(RuleViolation, match="CAM-A"):
        services.save_camera(by=world.admin, grid=world.grid_a, **camera_fields(code="CAM-A"))
    with pytest.raises(ServiceError, match="覆盖音柱"):
        services.save_camera(by=world.admin, grid=world.grid_a, speakers=[video.sp_d], **camera_fields())


def test_the_stream_url_with_credentials_is_shown_without_them():
    assert services.public_stream_url("rtsp://admin:pa55@10.0.0.5:554/s1?x=1") == "rtsp://10.0.0.5:554/s1"


def test_the_audit_keeps_the_stream_url_without_its_credentials_and_notes_that_they_changed(world, video):
    camera = video.cam_a  # rtsp://user:secret@10.0.0.5:554/stream1
    new_url = "rtsp://user:n3wpa55@10.0.0.5:554/stream1"
    services.save_camera(by=world.director, camera=camera, grid=camera.grid, code="CAM-A", stream_url=new_url)
    entries = AuditEntry.objects.filter(object_type="video.camera", object_id=str(camera.pk)).order_by("id")
    logged = json.dumps([[e.before, e.after, e.note] for e in entries], ensure_ascii=False)
    assert "secret" not in logged and "n3wpa55" not in logged
    created, changed = entries
    assert created.after["stream_url"] == "rtsp://10.0.0.5:554/stream1"
    assert created.after["speakers"] == ["SP-A", "SP-A2"]
    assert changed.note == "视频流账号或密码已更改"
    assert Camera.objects.get(pk=camera.pk).stream_url == new_url  # the worker still has them


def test_the_audit_of_a_tour_says_which_cameras_it_visits(world, video):
    tour = video.tour
    services.save_tour(
        by=world.director, tour=tour, station_id=tour.station_id, name=tour.name, cameras=[video.cam_b],
        start_time=tour.start_time, end_time=tour.end_time, interval_minutes=tour.interval_minutes,
        assignee=world.dispatcher,
    )  # fmt: skip
    entry = AuditEntry.objects.filter(action="video.tour.saved", object_id=str(tour.pk)).get()
    assert entry.before == {"cameras": ["CAM-A", "CAM-B"]} and entry.after == {"cameras": ["CAM-B"]}


def test_zones_are_replaced_validated_and_audited(world, video):
    zones = [
        {"name": "东门", "points": [[0, 0], [0.5, 0], [0.5, 1]]},
        {"name": "", "points": [[0.5, 0], [1, 0], [1, 1]]},
    ]
    saved = services.set_zones(video.cam_a, zones, by=world.director)
    assert [z.name for z in saved] == ["东门", "区域2"]
    with pytest.raises(ServiceError, match="区域“西门”"):
        services.set_zones(
            video.cam_a, [{"name": "西门", "points": [[0, 0], [2, 0], [1, 1]]}], by=world.director
        )
    with pytest.raises(ServiceError, match="重复"):
        services.set_zones(video.cam_a, [zones[0], zones[0]], by=world.director)
    assert video.cam_a.zones.count() == 2  # a refused change changes nothing
    with pytest.raises(NotAllowed):
        services.set_zones(video.cam_a, [], by=world.officer_a)
    assert AuditEntry.objects.filter(action="video.camera.zones", object_id=str(video.cam_a.pk)).count() == 1


def test_speaker_addresses_are_checked_for_their_driver(world):
    kwargs = dict(
        by=world.admin, grid=world.grid_a, code="SP-X", name="音柱", location="路口", lng=118.6, lat=24.9
    )
    with pytest.raises(ServiceError, match="通配符|\\+|#"):
        services.save_speaker(driver="mqtt", address="doorstep/speakers/#", **kwargs)
    with pytest.raises(ServiceError):
        services.save_speaker(driver="http", address="not a url", **kwargs)
    with pytest.raises(ServiceError, match="未知"):
        services.save_speaker(driver="sip", address="x", **kwargs)


# --- broadcasts -------------------------------------------------------------------------------------------
def test_a_zone_broadcast_reaches_every_active_speaker_of_the_zone_in_the_territory(world, video):
    broadcast = services.send_broadcast(by=world.dispatcher, zone="西福小区", text="请勿攀爬围墙")
    assert sorted(d.speaker.code for d in broadcast.deliveries.all()) == ["SP-A", "SP-A2"]
    assert all(d.status == DeliveryStatus.PENDING for d in broadcast.deliveries.all())
    entry = AuditEntry.objects.get(action="video.broadcast.sent", object_id=str(broadcast.pk))
    assert entry.after["speakers"] == ["SP-A", "SP-A2"] and entry.actor_id == world.dispatcher.pk


def test_a_preset_gives_the_text_and_bad_broadcasts_are_refused(world, video):
    preset = services.WarningPreset.objects.get(title="禁止攀爬")
    assert (
        services.send_broadcast(by=world.director, preset=preset, speakers=[video.sp_a]).text == preset.text
    )
    with pytest.raises(ServiceError, match="播报内容"):
        services.send_broadcast(by=world.director, speakers=[video.sp_a])
    with pytest.raises(ServiceError, match="音柱"):
        services.send_broadcast(by=world.director, text="离开")
    with pytest.raises(ServiceError, match="200"):
        services.send_broadcast(by=world.director, text="长" * 201, speakers=[video.sp_a])
    with pytest.raises(ServiceError, match="播放次数"):
        services.send_broadcast(by=world.director, text="离开", speakers=[video.sp_a], repeat=9)


def test_speakers_outside_the_territory_and_roles_without_broadcast_are_refused(world, video):
    with pytest.raises(NotAllowed, match="辖区"):
        services.send_broadcast(by=world.director, text="离开", speakers=[video.sp_d])
    with pytest.raises(NotAllowed, match="辖区"):
        services.send_broadcast(by=world.officer_a, text="离开", speakers=[video.sp_b])  # grid B is not hers
    assert services.send_broadcast(by=world.officer_a, text="离开", speakers=[video.sp_a])
    for user in (world.auxiliary_a, world.patrol, world.evaluator, world.admin):
        with pytest.raises(NotAllowed):
            services.send_broadcast(by=user, text="离开", speakers=[video.sp_a])
    # A zone only reaches the speakers the sender may use: officer A's broadcast to zone 河滨 (grid B) adds
    # nothing to her own speaker.
    broadcast = services.send_broadcast(by=world.officer_a, zone="河滨", speakers=[video.sp_a], text="离开")
    assert {d.speaker_id for d in broadcast.deliveries.all()} == {video.sp_a.pk}


def test_a_delivery_is_claimed_once_and_a_lapsed_lease_makes_it_due_again(world, video):
    broadcast = services.send_broadcast(by=world.director, text="离开", speakers=[video.sp_a])
    now = timezone.now()
    first = services.claim_due_deliveries(now, lease_seconds=20)
    assert [d.broadcast_id for d in first] == [broadcast.pk] and first[0].status == DeliveryStatus.SENDING
    assert services.claim_due_deliveries(now, lease_seconds=20) == []  # another sender gets nothing
    again = services.claim_due_deliveries(now + dt.timedelta(seconds=21), lease_seconds=20)
    assert [d.pk for d in again] == [first[0].pk]


def test_a_failed_attempt_is_retried_with_back_off_then_failed_for_good_and_can_be_sent_again(
    world, video, settings
):
    settings.VIDEO_DELIVERY_ATTEMPTS = 2
    services.send_broadcast(by=world.director, text="离开", speakers=[video.sp_a])
    now = timezone.now()
    (delivery,) = services.claim_due_deliveries(now, lease_seconds=20)
    delivery = services.finish_delivery(delivery.pk, delivered=False, detail="未收到确认（10 秒）", now=now)
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at == now + dt.timedelta(
        seconds=5
    )
    assert services.claim_due_deliveries(now + dt.timedelta(seconds=4), lease_seconds=20) == []
    (delivery,) = services.claim_due_deliveries(now + dt.timedelta(seconds=5), lease_seconds=20)
    delivery = services.finish_delivery(delivery.pk, delivered=False, detail="未收到确认（10 秒）", now=now)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 2
    video.sp_a.refresh_from_db()
    assert video.sp_a.last_delivered is False
    with pytest.raises(NotAllowed):
        services.retry_delivery(delivery, by=world.director_s2)
    services.retry_delivery(delivery, by=world.director)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    with pytest.raises(RuleViolation):
        services.retry_delivery(delivery, by=world.director)


def test_a_late_outcome_of_a_settled_delivery_changes_nothing(world, video):
    services.send_broadcast(by=world.director, text="离开", speakers=[video.sp_a])
    now = timezone.now()
    (delivery,) = services.claim_due_deliveries(now, lease_seconds=20)
    services.finish_delivery(delivery.pk, delivered=True, detail="已确认播放", now=now)
    late = services.finish_delivery(delivery.pk, delivered=False, detail="未收到确认", now=now)
    assert late.status == DeliveryStatus.DELIVERED and late.attempts == 1
    assert BroadcastDelivery.objects.get(pk=delivery.pk).detail == "已确认播放"


# --- motion events ----------------------------------------------------------------------------------------
@pytest.fixture
def s1_console(world, settings):
    """What the consoles of station S1 hear: receive() the next message (within 2 s)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(station_group(world.s1.pk), channel)
    return lambda: async_to_sync(asyncio.wait_for)(layer.receive(channel), 2)


def test_a_motion_event_is_stored_with_its_picture_and_reaches_the_stations_consoles(
    world, video, s1_console, django_capture_on_commit_callbacks
):
    at = timezone.now()
    detection = Detection("东门", at - dt.timedelta(seconds=1), at, 0.12, (0.1, 0.2, 0.3, 0.4))
    with django_capture_on_commit_callbacks(execute=True):
        event = services.record_motion(video.cam_a.pk, detection, b"\xff\xd8jpeg")
    stored = MotionEvent.objects.get(pk=event.pk)
    assert stored.grid_id == world.grid_a.pk and stored.snapshot.read() == b"\xff\xd8jpeg"
    message = s1_console()
    assert message["type"] == "video.event"
    payload = message["payload"]
    assert payload["id"] == event.pk and payload["zone"] == "东门" and payload["grid"] == world.grid_a.pk
    assert sorted(payload["speakers"]) == sorted([video.sp_a.pk, video.sp_a2.pk])


def test_handling_an_event_is_for_patrollers_of_its_grid(world, video):
    at = timezone.now()
    event = services.record_motion(video.cam_b.pk, Detection("全画面", at, at, 0.1, (0, 0, 1, 1)), None)
    with pytest.raises(NotAllowed):
        services.handle_event(event, status="dismissed", by=world.officer_a)  # grid B
    with pytest.raises(ServiceError):
        services.handle_event(event, status="new", by=world.dispatcher)
    services.handle_event(event, status="dismissed", note="树影晃动", by=world.dispatcher)
    event.refresh_from_db()
    assert event.status == "dismissed" and event.handled_by == world.dispatcher and event.note == "树影晃动"


# --- the tick ---------------------------------------------------------------------------------------------
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_tour_slots_are_the_stations_hours_whatever_zone_is_active():
    tour = PatrolTour(start_time=dt.time(20), end_time=dt.time(6), interval_minutes=120, grace_minutes=15)
    start = dt.datetime(2026, 11, 28, 12, tzinfo=SHANGHAI)
    with timezone.override(ZoneInfo("UTC")):  # as a request of a user in another zone might activate
        due = services.slots(tour, start, start + dt.timedelta(days=1))
    assert due[0] == dt.datetime(2026, 11, 28, 20, tzinfo=SHANGHAI) and len(due) == 6


def tours(world, video, n: int, first: int = 0) -> None:
    for i in range(first, first + n):
        services.save_tour(
            by=world.admin, station_id=world.s1.pk, name=f"巡查{i}", cameras=[video.cam_a],
            start_time=dt.time(20), end_time=dt.time(6), interval_minutes=120, duty_post="视频巡查岗",
        )  # fmt: skip


def test_the_tick_costs_the_same_three_queries_for_three_tours_or_thirty(world, video):
    PatrolTour.objects.update(active=False)  # the fixture's tour: made at today's date
    with time_machine.travel(dt.datetime(2026, 11, 28, 19, tzinfo=SHANGHAI), tick=False):
        tours(world, video, 3)
    evening = dt.datetime(2026, 11, 28, 20, 1, tzinfo=SHANGHAI)
    assert services.plan_runs(evening) == 3
    with CaptureQueriesContext(connection) as three:
        assert services.plan_runs(evening + dt.timedelta(minutes=1)) == 0
    with time_machine.travel(dt.datetime(2026, 11, 28, 19, tzinfo=SHANGHAI), tick=False):
        tours(world, video, 27, first=3)
    assert services.plan_runs(evening + dt.timedelta(minutes=2)) == 27
    with CaptureQueriesContext(connection) as thirty:
        assert services.plan_runs(evening + dt.timedelta(minutes=3)) == 0
    assert len(three) == len(thirty) == 3


def test_a_run_falling_due_reaches_the_stations_consoles(
    world, video, s1_console, django_capture_on_commit_callbacks
):
    PatrolTour.objects.update(active=False)
    with time_machine.travel(dt.datetime(2026, 11, 28, 19, tzinfo=SHANGHAI), tick=False):
        tours(world, video, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.plan_runs(dt.datetime(2026, 11, 28, 20, 1, tzinfo=SHANGHAI)) == 1
    message = s1_console()
    assert message["type"] == "video.run" and message["payload"]["status"] == "due"
