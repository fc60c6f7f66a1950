"""Video on the map and on the dispatch console: the camera and speaker GeoJSON layers (scoped by territory,
empty for roles without video), the map page's switches and broadcast dialog, and the cameras within 500 m of
an alarm's unit in the console payload (nearest first; far, disabled and other stations' cameras left out)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from doorstep.alarms import services as alarm_services
from doorstep.alarms.choices import Protocol
from doorstep.core.geo import distance_m
from doorstep.core.ids import synthetic_credit_code
from doorstep.registry import services as registry_services
from doorstep.registry.choices import UnitType
from doorstep.registry.tests.conftest import _rng, make_house
from doorstep.video import services
from doorstep.video.choices import EventStatus
from doorstep.video.detection import Detection

CAMERAS = "/api/v1/map/cameras.geojson"
SPEAKERS = "/api/v1/map/speakers.geojson"
METRE_LAT = 1 / 111_195  # degrees of latitude per metre (the haversine's Earth)


def motion(camera, hours_ago: float):
    at = timezone.now() - dt.timedelta(hours=hours_ago)
    return services.record_motion(camera.pk, Detection("东门", at, at, 0.05, (0.1, 0.1, 0.2, 0.2)), None)


def features(client, url):
    return {f["properties"]["name"]: f for f in client.get(url).json()["features"]}


# --- cameras.geojson and speakers.geojson --------------------------------------------------------------------
def test_the_camera_layer_is_the_territorys_cameras_with_status_and_recent_events(world, video, client_for):
    motion(video.cam_a, 1)
    motion(video.cam_a, 2)
    motion(video.cam_a, 30)  # older than 24 h: not counted
    handled = motion(video.cam_a, 3)
    services.handle_event(handled, status=EventStatus.DISMISSED, by=world.director)
    services.camera_trouble(video.cam_b.pk, "连接被拒绝", timezone.now())
    services.supervise_cameras(timezone.now() + dt.timedelta(hours=1))  # cam_b goes offline with an alert

    body = client_for(world.director).get(CAMERAS).json()
    layer = {f["properties"]["code"]: f for f in body["features"]}

    assert body["type"] == "FeatureCollection" and body["enabled"] is True and body["may_broadcast"] is True
    assert set(layer) == {"CAM-A", "CAM-B"}
    a, b = layer["CAM-A"], layer["CAM-B"]
    assert a["geometry"] == {"type": "Point", "coordinates": [118.605, 24.905]}
    assert a["properties"] | {"speakers": sorted(a["properties"]["speakers"])} == {
        "id": video.cam_a.pk, "code": "CAM-A", "name": "西福东门", "location": "西福小区东门",
        "status": "unknown", "status_label": "未连接", "detail": "", "hotspot": "order", "hotspot_label": "治安热点",
        "enabled": True, "events": 2, "alert": False, "grid": world.grid_a.pk, "station": world.s1.pk,
        "speakers": sorted([video.sp_a.pk, video.sp_a2.pk]),
    }  # fmt: skip
    assert (b["properties"]["status"], b["properties"]["alert"], b["properties"]["events"]) == (
        "offline",
        True,
        0,
    )


def test_the_camera_layer_is_scoped_and_offers_only_speakers_the_user_may_reach(world, video, client_for):
    services.save_camera(by=world.admin, camera=video.cam_a, grid=world.grid_a, code="CAM-A",
                         speakers=[video.sp_a, video.sp_b])  # fmt: skip
    services.save_speaker(by=world.admin, speaker=video.sp_a, grid=world.grid_a, code="SP-A", name="西福东门音柱",
                          location="西福小区东门", lng=118.605, lat=24.905, driver="mqtt",
                          address="doorstep/speakers/sp-a", active=False)  # fmt: skip

    officer = features(client_for(world.officer_a), CAMERAS)
    director = features(client_for(world.director), CAMERAS)

    assert set(officer) == {"西福东门"} and officer["西福东门"]["properties"]["speakers"] == []
    assert director["西福东门"]["properties"]["speakers"] == [video.sp_b.pk]  # active ones only
    assert set(features(client_for(world.director_s2), CAMERAS)) == {"仁风广场"}
    assert set(features(client_for(world.leader), CAMERAS)) == {"西福东门", "河滨步道", "仁风广场"}
    assert client_for(world.auxiliary_a).get(CAMERAS).json()["may_broadcast"] is False


@pytest.mark.parametrize("role", ["patrol", "evaluator"])
def test_roles_without_video_get_empty_layers(world, video, client_for, role):
    for url in (CAMERAS, SPEAKERS):
        body = client_for(world.users[role]).get(url).json()
        assert body == {"type": "FeatureCollection", "features": [], "enabled": False}


def test_the_anonymous_get_no_layer(world, video, api_for):
    assert api_for(None).get(CAMERAS).status_code in (401, 403)
    assert api_for(None).get(SPEAKERS).status_code in (401, 403)


def test_the_speaker_layer_is_scoped_with_zone_driver_and_last_result(world, video, client_for):
    broadcast = services.send_broadcast(by=world.director, text="注意", speakers=[video.sp_b])
    services.finish_delivery(
        broadcast.deliveries.get().pk, delivered=False, detail="超时", now=timezone.now()
    )

    director = features(client_for(world.director), SPEAKERS)
    officer = features(client_for(world.officer_a), SPEAKERS)

    assert set(director) == {"西福东门音柱", "西福北门音柱", "河滨音柱"}
    assert set(officer) == {"西福东门音柱", "西福北门音柱"}
    river = director["河滨音柱"]["properties"]
    assert (river["zone"], river["driver"], river["driver_label"], river["active"]) == (
        "河滨",
        "http",
        "HTTP 接口",
        True,
    )
    assert river["last_delivered"] is False and river["last_result_at"]
    assert director["西福东门音柱"]["properties"]["last_delivered"] is None
    assert set(features(client_for(world.director_s2), SPEAKERS)) == {"仁风音柱"}


def test_the_layers_cost_the_same_for_many_cameras(world, video, client_for, django_assert_max_num_queries):
    client = client_for(world.director)
    client.get(CAMERAS)
    for i in range(20):
        services.save_camera(by=world.admin, grid=world.grid_a, code=f"CAM-X{i}", name=f"x{i}", location="x",
                             lng=118.605, lat=24.905, stream_url="http://10.0.0.1/x", speakers=[video.sp_a])  # fmt: skip
    with django_assert_max_num_queries(8):
        assert len(client.get(CAMERAS).json()["features"]) == 22


def test_the_map_page_has_the_video_layers_and_the_broadcast_dialog(world, video, client_for):
    html = client_for(world.officer_a).get("/map/").content.decode()
    assert 'id="layer-cameras"' in html and 'id="layer-speakers"' in html
    assert 'data-cameras-url="/api/v1/map/cameras.geojson"' in html
    assert 'data-speakers-url="/api/v1/map/speakers.geojson"' in html
    assert 'data-camera-snapshot-url="/video/cameras/0/snapshot.jpg"' in html
    assert 'id="broadcast-dialog"' in html and "doorstep/broadcast.js" in html


# --- the dispatch console: cameras near the alarm's unit --------------------------------------------------------
@pytest.fixture
def school(world):
    """A key unit at grid A's centre (118.605, 24.905) with a button."""
    house = make_house(world.grid_a)
    unit = registry_services.create_unit(
        name="西福小学", credit_code=synthetic_credit_code(_rng), unit_type=UnitType.SCHOOL, key_level="1",
        address=house.address, security_lead="陈保安", security_phone="13900001111",
    )  # fmt: skip
    device, _ = alarm_services.provision_device(
        unit=unit, device_id="BTN-V-1", location="东门", by=world.director
    )
    return device


def camera_north_of(world, grid, code: str, metres: float, **fields):
    return services.save_camera(
        by=world.admin, grid=grid, code=code, name=f"{code}摄像机", location=f"北{metres}米", lng=118.605,
        lat=24.905 + metres * METRE_LAT, stream_url="rtsp://10.0.9.9/live", **fields,
    )  # fmt: skip


def press(device):
    alarm, _ = alarm_services.receive_event(
        device, event_id=f"p-{device.pk}-{timezone.now().timestamp()}", event_type="panic",
        occurred_at=timezone.now(), protocol=Protocol.HTTP,
    )  # fmt: skip
    return alarm


def test_the_console_payload_lists_the_cameras_near_the_unit_nearest_first(world, video, school):
    camera_north_of(world, world.grid_a, "N-450", 450)
    camera_north_of(world, world.grid_a, "N-200", 200)
    camera_north_of(world, world.grid_c, "N-300", 300)  # another grid of the same station: near, shown
    camera_north_of(world, world.grid_a, "N-600", 600)  # too far
    camera_north_of(world, world.grid_a, "N-100-OFF", 100, enabled=False)  # disabled
    camera_north_of(world, world.grid_d, "S2-50", 50)  # another station's camera, however near

    payload = alarm_services.console_payload(press(school))

    assert [c["name"] for c in payload["cameras"]] == [
        "西福东门",
        "N-200摄像机",
        "N-300摄像机",
        "N-450摄像机",
    ]
    first, second = payload["cameras"][:2]
    assert first == {"id": video.cam_a.pk, "name": "西福东门", "location": "西福小区东门", "distance_m": 0,
                     "status": "unknown", "status_label": "未连接"}  # fmt: skip
    assert (
        second["distance_m"] == round(distance_m(118.605, 24.905, 118.605, 24.905 + 200 * METRE_LAT)) == 200
    )
    assert [c["distance_m"] for c in payload["cameras"]] == sorted(
        c["distance_m"] for c in payload["cameras"]
    )


def test_an_alarm_with_no_camera_near_has_none_and_costs_no_query_more(
    world, school, django_assert_max_num_queries
):
    camera_north_of(world, world.grid_a, "N-800", 800)
    alarm = press(school)
    with django_assert_max_num_queries(2):
        payloads = alarm_services.console_payloads([alarm.pk])
    assert payloads[0]["cameras"] == []


def test_the_console_page_and_state_carry_the_nearby_cameras(world, video, school, client_for):
    alarm = press(school)
    state = client_for(world.dispatcher).get("/alarms/console/", HTTP_ACCEPT="application/json").json()
    page = client_for(world.dispatcher).get("/alarms/console/").content.decode()

    assert [c["id"] for c in state["alarms"][0]["cameras"]] == [video.cam_a.pk]
    assert state["alarms"][0]["id"] == alarm.pk
    assert 'data-camera-watch-url="/video/cameras/0/watch/"' in page
    assert 'data-camera-snapshot-url="/video/cameras/0/snapshot.jpg"' in page
