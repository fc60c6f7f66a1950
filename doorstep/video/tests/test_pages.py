"""The video management pages and their JSON endpoints (pages.py): cameras with the zone editor's endpoint,
speakers, groups, presets, motion events with their pictures, broadcasts and the broadcast dialog's
endpoints. Every page gets the permission matrix: roles without video get 404, objects outside the territory
404, what a user sees but may not change 403; forms answer in Chinese; JSON errors are {"detail": …}."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from doorstep.video import services
from doorstep.video.choices import CameraStatus, DeliveryStatus, EventStatus
from doorstep.video.detection import Detection
from doorstep.video.models import Broadcast, BroadcastDelivery, Camera, CameraGroup, Speaker, WarningPreset

JPEG = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9"
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


def motion(camera, *, minutes_ago: float = 1, zone: str = "东门", jpeg: bytes | None = JPEG):
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    detection = Detection(zone=zone, started_at=at - dt.timedelta(seconds=3), detected_at=at, area=0.05,
                          bbox=(0.1, 0.2, 0.3, 0.4))  # fmt: skip
    return services.record_motion(camera.pk, detection, jpeg)


def post_json(client, url, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **JSON, **extra)


def camera_form(world, video, **overrides):
    data = {
        "grid": world.grid_a.pk, "code": "CAM-NEW", "name": "西福南门", "location": "西福小区南门",
        "lng": "118.6052", "lat": "24.9041", "hotspot": "residential",
        "stream_url": "rtsp://admin:pa55@10.0.0.9:554/ch1", "group": video.group.pk,
        "speakers": [video.sp_a.pk], "enabled": "on", "fps": "5", "detect": "on", "active_from": "22:00",
        "active_to": "06:00", "min_area": "0.02", "min_duration": "1.5", "cooldown": "90",
    }  # fmt: skip
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- who gets in --------------------------------------------------------------------------------------------
PAGES = [
    "/video/cameras/", "/video/speakers/", "/video/groups/", "/video/presets/", "/video/events/",
    "/video/broadcasts/", "/video/broadcast-options.json",
]  # fmt: skip


@pytest.mark.parametrize("role", ["patrol", "evaluator"])
def test_roles_without_video_get_404_everywhere(world, video, client_for, role):
    client = client_for(world.users[role])
    event = motion(video.cam_a)
    urls = PAGES + [
        f"/video/cameras/{video.cam_a.pk}/",
        f"/video/speakers/{video.sp_a.pk}/",
        f"/video/events/{event.pk}/",
        f"/video/events/{event.pk}/snapshot.jpg",
    ]

    assert {url: client.get(url).status_code for url in urls} == {url: 404 for url in urls}
    response = post_json(client, "/video/broadcasts/new/", {"text": "x", "speakers": [video.sp_a.pk]})
    assert response.status_code == 404 and response.json()["detail"]


def test_every_video_role_opens_the_pages(world, video, client_for):
    for role in ("leader", "director", "dispatcher", "officer_a", "auxiliary_a", "admin"):
        client = client_for(world.users[role])
        assert {url: client.get(url).status_code for url in PAGES} == {url: 200 for url in PAGES}, role


def test_every_video_page_has_the_same_tabs_and_only_those_the_user_may_open(world, video, client_for):
    def tabs(user, url):
        return [name for _url, _icon, _label, name in client_for(user).get(url).context["tabs"]]

    everything = [
        "video:patrol", "video:tour_list", "video:run_list", "video:camera_list", "video:event_list",
        "video:broadcast_list", "video:speaker_list", "video:group_list", "video:preset_list",
    ]  # fmt: skip
    for url in ("/video/cameras/", "/video/patrol/", "/video/tours/", "/video/tours/runs/", "/video/events/"):
        assert tabs(world.dispatcher, url) == everything, url
    # An administrator maintains video but patrols no tour: no 巡查台 tab (that page is a 404 for her).
    assert tabs(world.admin, "/video/cameras/") == everything[1:]
    assert client_for(world.admin).get("/video/patrol/").status_code == 404
    html = client_for(world.dispatcher).get("/video/tours/runs/").content.decode()
    assert 'class="nav-link active" href="/video/tours/runs/"' in html


def test_the_anonymous_are_sent_to_sign_in(world, video):
    client = Client()
    for url in (
        "/video/cameras/",
        "/video/broadcast-options.json",
        f"/video/cameras/{video.cam_a.pk}/zones/",
    ):
        response = client.post(url) if url.endswith("zones/") else client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    assert post_json(client, "/video/broadcasts/new/", {"text": "x"}).status_code == 302
    assert not Broadcast.objects.exists()


# --- cameras ------------------------------------------------------------------------------------------------
def test_camera_list_shows_the_territory_with_status_and_no_credentials(world, video, client_for):
    services.camera_trouble(video.cam_b.pk, "连接被拒绝", timezone.now())

    html = client_for(world.director).get("/video/cameras/").content.decode()
    officer = client_for(world.officer_a).get("/video/cameras/").content.decode()
    other = client_for(world.director_s2).get("/video/cameras/").content.decode()

    assert "CAM-A" in html and "CAM-B" in html and "CAM-D" not in html
    assert "rtsp://10.0.0.5:554/stream1" in html and "secret" not in html
    assert "未连接" in html and "重连中" in html and "连接被拒绝" in html
    assert "CAM-A" in officer and "CAM-B" not in officer
    assert "CAM-D" in other and "CAM-A" not in other


def test_camera_list_filters(world, video, client_for):
    client = client_for(world.director)
    services.save_camera(by=world.admin, camera=video.cam_b, grid=world.grid_b, code="CAM-B", enabled=False)

    def codes(query):
        html = client.get(f"/video/cameras/?{query}").content.decode()
        return {code for code in ("CAM-A", "CAM-B") if f">{code}<" in html}

    assert codes("q=河滨") == {"CAM-B"}
    assert codes("q=cam-a") == {"CAM-A"}
    assert codes(f"grid={world.grid_a.pk}") == {"CAM-A"}
    assert codes("enabled=false") == {"CAM-B"}
    assert codes("status=disabled") == {"CAM-B"}
    assert codes(f"group={video.group.pk}&enabled=true") == {"CAM-A"}
    assert codes("hotspot=school") == set()
    assert codes("grid=99999999999999999999") == {"CAM-A", "CAM-B"}  # a bad filter value is dropped, no 500


def test_camera_list_costs_the_same_for_many_cameras(world, video, client_for, django_assert_max_num_queries):
    client = client_for(world.director)
    client.get("/video/cameras/")
    for i in range(15):
        services.save_camera(by=world.admin, grid=world.grid_a, code=f"CAM-X{i}", name=f"摄像机{i}", location="x",
                             lng=118.605, lat=24.905, stream_url="http://10.0.0.1/x")  # fmt: skip
    with django_assert_max_num_queries(20):
        response = client.get("/video/cameras/")
    assert response.content.decode().count("data-camera-id=") == 17


def test_camera_detail_for_a_viewer_and_a_manager(world, video, client_for):
    motion(video.cam_a)
    officer = client_for(world.officer_a).get(f"/video/cameras/{video.cam_a.pk}/")
    director = client_for(world.director).get(f"/video/cameras/{video.cam_a.pk}/")

    page = officer.content.decode()
    assert officer.status_code == 200
    assert reverse("video:camera_snapshot", args=[video.cam_a.pk]) in page
    assert reverse("video:camera_watch", args=[video.cam_a.pk]) in page
    assert "secret" not in page and "rtsp://10.0.0.5:554/stream1" in page
    assert "西福东门音柱" in page and "西福北门音柱" in page and "东门" in page
    assert f'data-broadcast-speakers="{video.sp_a.pk},{video.sp_a2.pk}"' in page
    assert 'data-editable=""' in page and "zone-save" not in page and "camera-edit" not in page
    assert 'data-editable="1"' in director.content.decode() and "zone-save" in director.content.decode()
    assert client_for(world.officer_a).get(f"/video/cameras/{video.cam_b.pk}/").status_code == 404
    assert client_for(world.director_s2).get(f"/video/cameras/{video.cam_a.pk}/").status_code == 404


def test_an_auxiliary_sees_the_camera_without_the_broadcast_button(world, video, client_for):
    page = client_for(world.auxiliary_a).get(f"/video/cameras/{video.cam_a.pk}/").content.decode()
    assert "西福东门" in page and 'data-testid="broadcast"' not in page


def test_only_managers_create_and_edit_cameras(world, video, client_for):
    new, edit = "/video/cameras/new/", f"/video/cameras/{video.cam_a.pk}/edit/"
    assert client_for(world.officer_a).get(new).status_code == 404
    assert client_for(world.dispatcher).get(new).status_code == 404
    assert client_for(world.officer_a).get(edit).status_code == 403
    assert client_for(world.dispatcher).get(edit).status_code == 403
    assert client_for(world.director_s2).get(edit).status_code == 404
    assert client_for(world.director).get(new).status_code == 200
    assert client_for(world.admin).get(new).status_code == 200
    form = client_for(world.director).post(edit, camera_form(world, video, code="CAM-A"))
    assert form.status_code == 302

    # The stream URL in full: only in the edit form, not kept by the browser.
    response = client_for(world.director).get(edit)
    assert "rtsp://admin:pa55@10.0.0.9:554/ch1" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "pa55" not in client_for(world.director).get(f"/video/cameras/{video.cam_a.pk}/").content.decode()


def test_the_director_registers_a_camera(world, video, client_for):
    response = client_for(world.director).post("/video/cameras/new/", camera_form(world, video))

    camera = Camera.objects.get(code="CAM-NEW")
    assert response.status_code == 302 and response["Location"] == f"/video/cameras/{camera.pk}/"
    assert (
        camera.station_id == world.s1.pk and camera.group == video.group and camera.hotspot == "residential"
    )
    assert list(camera.speakers.all()) == [video.sp_a]
    assert (camera.active_from, camera.active_to) == (dt.time(22), dt.time(6))
    assert (camera.min_area, camera.min_duration, camera.cooldown, camera.fps) == (0.02, 1.5, 90.0, 5)


def test_the_edit_form_changes_and_disables_a_camera(world, video, client_for):
    data = camera_form(world, video, code="CAM-A", name="西福东门（新）", enabled=None, active_from="",
                       active_to="", speakers=[video.sp_a2.pk])  # fmt: skip
    response = client_for(world.director).post(f"/video/cameras/{video.cam_a.pk}/edit/", data)

    camera = Camera.objects.get(pk=video.cam_a.pk)
    assert response.status_code == 302
    assert camera.name == "西福东门（新）" and not camera.enabled and camera.status == CameraStatus.DISABLED
    assert camera.active_from is None and list(camera.speakers.all()) == [video.sp_a2]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"stream_url": "ftp://10.0.0.9/x"},
            "stream_url",
            "视频流地址须以 rtsp://、http(s):// 或 file:// 开头",
        ),
        ({"stream_url": "rtsp://"}, "stream_url", "视频流地址缺少主机名"),
        ({"stream_url": ""}, "stream_url", "该字段是必填项。"),
        ({"lng": "24.9", "lat": "118.6"}, "lng", "坐标超出范围（应为 WGS-84 经纬度）"),
        ({"lng": "东经"}, "lng", "输入一个数字。"),
        ({"code": "CAM-B"}, "code", "摄像机编号 CAM-B 已存在"),
        ({"code": "摄像机"}, "code", "编号只能由 2–40 位字母、数字、“-”或“_”组成"),
        ({"fps": "30"}, "fps", "确保该值小于或等于15。"),
        ({"active_to": ""}, "active_to", "检测时段须同时填写开始和结束时间，或都不填（全天检测）"),
        ({"speakers": ["999999"]}, "speakers", "选择一个有效的选项。 999999 不在可用的选项中。"),
    ],
)
def test_camera_form_errors_are_in_chinese_on_their_field(
    world, video, client_for, overrides, field, message
):
    response = client_for(world.director).post("/video/cameras/new/", camera_form(world, video, **overrides))

    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert "请修改标红的项目后重新提交。" in response.content.decode()
    assert not Camera.objects.filter(code="CAM-NEW").exists()


def test_another_stations_speakers_and_grids_are_not_offered(world, video, client_for):
    data = camera_form(world, video, speakers=[video.sp_d.pk])
    form = client_for(world.director).post("/video/cameras/new/", data).context["form"]
    assert "speakers" in form.errors
    form = client_for(world.director).post(
        "/video/cameras/new/", camera_form(world, video, grid=world.grid_d.pk)
    )
    assert "grid" in form.context["form"].errors


def test_an_administrator_choosing_a_speaker_of_another_station_is_told_so(world, video, client_for):
    data = camera_form(world, video, speakers=[video.sp_d.pk])
    form = client_for(world.admin).post("/video/cameras/new/", data).context["form"]
    assert form.errors["speakers"] == ["覆盖音柱须属于摄像机所在派出所：仁风音柱"]


# --- the zone editor's endpoint ------------------------------------------------------------------------------
ZONES = [
    {"name": "东门", "points": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6], [0.1, 0.6]]},
    {"name": "围墙", "points": [[0.6, 0.2], [0.9, 0.2], [0.8, 0.9]]},
]


def test_the_director_saves_zones_drawn_on_the_picture(world, video, client_for):
    url = f"/video/cameras/{video.cam_a.pk}/zones/"
    response = post_json(client_for(world.director), url, {"zones": ZONES})

    assert response.status_code == 200
    assert response.json() == {"zones": ZONES}
    assert sorted(video.cam_a.zones.values_list("name", flat=True)) == ["东门", "围墙"]
    page = client_for(world.officer_a).get(f"/video/cameras/{video.cam_a.pk}/")
    assert [z["name"] for z in page.context["zones"]] == ["东门", "围墙"]
    assert '"points": [[0.1, 0.1], [0.5, 0.1]' in page.content.decode()

    assert post_json(client_for(world.director), url, {"zones": []}).json() == {"zones": []}
    assert not video.cam_a.zones.exists()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"zones": [{"name": "东门", "points": [[0.1, 0.1], [0.5, 0.1]]}]},
            "区域“东门”：区域至少需要 3 个点",
        ),
        (
            {"zones": [{"name": "东门", "points": [[0.1, 0.1], [1.5, 0.1], [0.3, 0.5]]}]},
            "区域“东门”：坐标须在 0 到 1 之间",
        ),
        ({"zones": [ZONES[0], ZONES[0]]}, "区域名称“东门”重复"),
        ({"zones": "东门"}, "区域数据格式不正确"),
        ({"zones": [ZONES[0]] * 9}, "每台摄像机最多 8 个检测区域"),
    ],
)
def test_bad_zones_are_refused_with_a_chinese_detail(world, video, client_for, body, detail):
    video.cam_a.zones.create(name="旧区域", points=ZONES[1]["points"])
    response = post_json(client_for(world.director), f"/video/cameras/{video.cam_a.pk}/zones/", body)

    assert response.status_code == 400 and response.json()["detail"] == detail
    assert list(video.cam_a.zones.values_list("name", flat=True)) == ["旧区域"]


def test_the_zone_endpoint_refuses_malformed_bodies_and_other_methods(world, video, client_for):
    client = client_for(world.director)
    url = f"/video/cameras/{video.cam_a.pk}/zones/"
    bad = client.post(url, "{not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["detail"] == "请求体不是合法的 JSON"
    assert client.get(url).status_code == 405


def test_only_the_cameras_managers_change_its_zones(world, video, client_for):
    url = f"/video/cameras/{video.cam_a.pk}/zones/"
    officer = post_json(client_for(world.officer_a), url, {"zones": ZONES})
    assert officer.status_code == 403 and officer.json()["detail"]
    assert post_json(client_for(world.dispatcher), url, {"zones": ZONES}).status_code == 403
    assert post_json(client_for(world.director_s2), url, {"zones": ZONES}).status_code == 404
    assert post_json(client_for(world.patrol), url, {"zones": ZONES}).status_code == 404
    assert post_json(Client(), url, {"zones": ZONES}).status_code == 302
    assert not video.cam_a.zones.exists()
    assert post_json(client_for(world.admin), url, {"zones": ZONES}).status_code == 200


def test_the_zone_endpoint_is_csrf_protected(world, video):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.director)
    url = f"/video/cameras/{video.cam_a.pk}/zones/"
    assert post_json(client, url, {"zones": ZONES}).status_code == 403
    client.get(f"/video/cameras/{video.cam_a.pk}/")
    token = client.cookies["csrftoken"].value
    assert post_json(client, url, {"zones": ZONES}, HTTP_X_CSRFTOKEN=token).status_code == 200


# --- speakers, groups, presets -------------------------------------------------------------------------------
def test_speaker_list_detail_and_last_result(world, video, client_for):
    broadcast = services.send_broadcast(by=world.director, text="请勿攀爬", speakers=[video.sp_a])
    delivery = broadcast.deliveries.get()
    services.finish_delivery(delivery.pk, delivered=True, detail="已播放", now=timezone.now())

    html = client_for(world.director).get("/video/speakers/").content.decode()
    officer = client_for(world.officer_a).get("/video/speakers/").content.decode()
    detail = client_for(world.officer_a).get(f"/video/speakers/{video.sp_a.pk}/").content.decode()

    assert (
        "SP-A" in html and "SP-B" in html and "SP-D" not in html and "已送达" in html and "尚未播放" in html
    )
    assert "SP-A2" in officer and "SP-B" not in officer
    assert "请勿攀爬" in detail and "已播放" in detail and "西福东门" in detail
    assert client_for(world.officer_a).get(f"/video/speakers/{video.sp_b.pk}/").status_code == 404
    assert (
        client_for(world.director).get("/video/speakers/?zone=河滨").content.decode().count("data-speaker-id")
        == 1
    )


def test_the_director_registers_and_edits_a_speaker(world, video, client_for):
    data = {"grid": world.grid_c.pk, "code": "SP-C", "name": "东星音柱", "location": "东星广场", "lng": "118.605",
            "lat": "24.915", "zone": "东星", "driver": "mqtt", "address": "doorstep/speakers/sp-c", "volume": "80",
            "active": "on"}  # fmt: skip
    client = client_for(world.director)
    response = client.post("/video/speakers/new/", data)
    speaker = Speaker.objects.get(code="SP-C")
    assert response.status_code == 302 and speaker.station_id == world.s1.pk and speaker.volume == 80

    form = client.get(f"/video/speakers/{speaker.pk}/edit/")
    assert form.status_code == 200 and "no-store" in form["Cache-Control"]  # an address may hold a password
    bad = client.post(f"/video/speakers/{speaker.pk}/edit/", {**data, "address": "doorstep/#"})
    assert bad.context["form"].errors["address"] == ["MQTT 主题不能含通配符 + 或 #"]
    dup = client.post(f"/video/speakers/{speaker.pk}/edit/", {**data, "code": "SP-A"})
    assert dup.context["form"].errors["code"] == ["音柱编号 SP-A 已存在"]
    ok = client.post(f"/video/speakers/{speaker.pk}/edit/", {**data, "name": "东星广场音柱", "active": ""})
    speaker.refresh_from_db()
    assert ok.status_code == 302 and speaker.name == "东星广场音柱" and not speaker.active

    assert client_for(world.officer_a).get("/video/speakers/new/").status_code == 404
    assert client_for(world.officer_a).get(f"/video/speakers/{video.sp_a.pk}/edit/").status_code == 403
    assert client_for(world.director_s2).get(f"/video/speakers/{video.sp_a.pk}/edit/").status_code == 404


def test_groups_are_kept_by_their_stations_director(world, video, client_for):
    client = client_for(world.director)
    assert client.post("/video/groups/new/", {"station": world.s1.pk, "name": "学校周边"}).status_code == 302
    group = CameraGroup.objects.get(name="学校周边")
    dup = client.post("/video/groups/new/", {"station": world.s1.pk, "name": "夜间巡查点"})
    assert dup.context["form"].errors["name"] == ["本所已有名为“夜间巡查点”的分组"]
    other = client.post("/video/groups/new/", {"station": world.s2.pk, "name": "x"})
    assert "station" in other.context["form"].errors
    assert (
        client.post(f"/video/groups/{group.pk}/edit/", {"name": "校园周边", "note": "上下学"}).status_code
        == 302
    )
    group.refresh_from_db()
    assert (group.name, group.note, group.station_id) == ("校园周边", "上下学", world.s1.pk)

    listing = client_for(world.officer_a).get("/video/groups/").content.decode()
    assert "校园周边" in listing and "夜间巡查点" in listing
    assert client_for(world.officer_a).get("/video/groups/new/").status_code == 404
    assert client_for(world.officer_a).get(f"/video/groups/{group.pk}/edit/").status_code == 403
    assert client_for(world.director_s2).get(f"/video/groups/{group.pk}/edit/").status_code == 404


def test_presets_are_read_by_all_and_written_by_managers(world, video, client_for):
    client = client_for(world.director)
    response = client.post(
        "/video/presets/new/",
        {"title": "河道警示", "text": "请勿在河道游泳", "position": "1", "active": "on"},
    )
    preset = WarningPreset.objects.get(title="河道警示")
    assert response.status_code == 302
    dup = client.post("/video/presets/new/", {"title": "河道警示", "text": "x", "position": "0"})
    assert dup.context["form"].errors["title"] == ["已有名为“河道警示”的警示语"]
    long = client.post(
        f"/video/presets/{preset.pk}/edit/", {"title": "河道警示", "text": "长" * 201, "position": "1"}
    )
    assert "text" in long.context["form"].errors
    assert (
        client.post(
            f"/video/presets/{preset.pk}/edit/",
            {"title": "河道警示", "text": "水深危险，请勿下河", "position": "1"},
        ).status_code
        == 302
    )
    preset.refresh_from_db()
    assert preset.text == "水深危险，请勿下河" and not preset.active

    assert "水深危险，请勿下河" in client_for(world.officer_a).get("/video/presets/").content.decode()
    assert client_for(world.officer_a).get("/video/presets/new/").status_code == 404
    assert client_for(world.officer_a).get(f"/video/presets/{preset.pk}/edit/").status_code == 404


# --- motion events -------------------------------------------------------------------------------------------
@time_machine.travel(dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC), tick=False)  # dates well inside a day
def test_event_list_is_scoped_newest_first_and_filtered(world, video, client_for):
    old = motion(video.cam_a, minutes_ago=60 * 30, zone="围墙")
    new = motion(video.cam_a, minutes_ago=1)
    b = motion(video.cam_b, minutes_ago=5)
    d = motion(video.cam_d, minutes_ago=2)
    services.handle_event(b, status=EventStatus.DISMISSED, by=world.director)

    def ids(user, query=""):
        page = client_for(user).get(f"/video/events/?{query}").context["page"]
        return [e.pk for e in page]

    assert ids(world.director) == [new.pk, b.pk, old.pk]
    assert ids(world.officer_a) == [new.pk, old.pk]
    assert ids(world.director_s2) == [d.pk]
    assert ids(world.leader) == [new.pk, d.pk, b.pk, old.pk]
    assert ids(world.director, f"camera={video.cam_a.pk}") == [new.pk, old.pk]
    assert ids(world.director, "status=dismissed") == [b.pk]
    today = timezone.localdate()
    assert ids(world.director, f"start={today.isoformat()}") == [new.pk, b.pk]  # `old` is 30 hours old
    assert ids(world.director, f"end={(today - dt.timedelta(days=1)).isoformat()}") == [old.pk]
    assert ids(world.leader, f"station={world.s2.pk}") == [d.pk]
    assert ids(world.director, f"camera={video.cam_d.pk}") == [new.pk, b.pk, old.pk]  # not theirs: dropped
    html = client_for(world.director).get("/video/events/").content.decode()
    assert reverse("video:event_snapshot", args=[new.pk]) in html and "误报" in html


def test_event_detail_draws_the_box_and_offers_the_broadcast(world, video, client_for):
    event = motion(video.cam_a)
    response = client_for(world.officer_a).get(f"/video/events/{event.pk}/")

    html = response.content.decode()
    assert response.status_code == 200 and response.context["bbox"] == [10.0, 20.0, 30.0, 40.0]
    assert "left: 10.0%; top: 20.0%; width: 30.0%; height: 40.0%" in html
    assert reverse("video:event_snapshot", args=[event.pk]) in html
    assert 'data-broadcast-source="event"' in html and f'data-broadcast-event="{event.pk}"' in html
    assert f'data-broadcast-speakers="{video.sp_a.pk},{video.sp_a2.pk}"' in html
    assert "确认异常" in html and "误报" in html
    assert client_for(world.officer_b).get(f"/video/events/{event.pk}/").status_code == 404
    assert client_for(world.director_s2).get(f"/video/events/{event.pk}/").status_code == 404


def test_a_patroller_confirms_or_dismisses_an_event(world, video, client_for):
    event = motion(video.cam_a)
    response = client_for(world.auxiliary_a).post(
        f"/video/events/{event.pk}/handle/", {"status": "confirmed", "note": "有人翻越围墙"}
    )
    event.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == f"/video/events/{event.pk}/"
    assert (event.status, event.note, event.handled_by) == (
        EventStatus.CONFIRMED,
        "有人翻越围墙",
        world.auxiliary_a,
    )

    as_json = client_for(world.director).post(
        f"/video/events/{event.pk}/handle/", {"status": "dismissed"}, **JSON
    )
    assert as_json.status_code == 200 and as_json.json()["status"] == "dismissed"
    bad = client_for(world.director).post(f"/video/events/{event.pk}/handle/", {"status": "new"}, **JSON)
    assert bad.status_code == 400 and "选择一个有效的选项" in bad.json()["detail"]
    outside = client_for(world.director_s2).post(
        f"/video/events/{event.pk}/handle/", {"status": "confirmed"}, **JSON
    )
    assert outside.status_code == 404
    assert client_for(world.director).get(f"/video/events/{event.pk}/handle/").status_code == 405


def test_the_event_picture_is_served_only_to_those_who_see_the_event(world, video, client_for):
    event = motion(video.cam_a)
    blind = motion(video.cam_a, jpeg=None)
    url = f"/video/events/{event.pk}/snapshot.jpg"

    response = client_for(world.officer_a).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == JPEG
    assert response["Content-Type"] == "image/jpeg" and response["Cache-Control"] == "private, no-store"
    assert client_for(world.director_s2).get(url).status_code == 404
    assert client_for(world.officer_b).get(url).status_code == 404
    assert client_for(world.patrol).get(url).status_code == 404
    assert Client().get(url).status_code == 302
    assert client_for(world.director).get(f"/video/events/{blind.pk}/snapshot.jpg").status_code == 404
    event.snapshot.storage.delete(event.snapshot.name)
    assert client_for(world.director).get(url).status_code == 404


# --- broadcasts ----------------------------------------------------------------------------------------------
def test_a_broadcast_is_sent_from_an_event_with_json(world, video, client_for):
    event = motion(video.cam_a)
    body = {"text": "监控区域，请立即离开", "speakers": [video.sp_a.pk, video.sp_a2.pk], "source": "event",
            "event": event.pk, "repeat": 3}  # fmt: skip
    response = post_json(client_for(world.officer_a), "/video/broadcasts/new/", body)

    assert response.status_code == 201
    payload = response.json()
    broadcast = Broadcast.objects.get(pk=payload["id"])
    assert (
        payload["text"] == "监控区域，请立即离开" and payload["url"] == f"/video/broadcasts/{broadcast.pk}/"
    )
    assert [(d["speaker"], d["status"], d["status_label"]) for d in payload["deliveries"]] == [
        (video.sp_a.pk, "pending", "待发送"),
        (video.sp_a2.pk, "pending", "待发送"),
    ]
    assert (broadcast.source, broadcast.event, broadcast.camera, broadcast.repeat, broadcast.by) == (
        "event", event, video.cam_a, 3, world.officer_a,
    )  # fmt: skip


def test_a_broadcast_is_sent_with_a_form_a_preset_or_a_zone(world, video, client_for):
    preset = services.save_preset(by=world.admin, title="夜市提醒", text="请保管好随身财物")
    client = client_for(world.director)

    form = client.post("/video/broadcasts/new/", {"preset": preset.pk, "speakers": [video.sp_b.pk], "source": "map",
                                                   "camera": video.cam_b.pk})  # fmt: skip
    assert form.status_code == 201 and form.json()["text"] == "请保管好随身财物"
    assert Broadcast.objects.get(pk=form.json()["id"]).preset == preset

    zone = post_json(
        client, "/video/broadcasts/new/", {"text": "注意", "zone": "西福小区", "source": "console"}
    )
    assert zone.status_code == 201
    assert {d["speaker"] for d in zone.json()["deliveries"]} == {video.sp_a.pk, video.sp_a2.pk}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"speakers": [1]}, "请选择预设警示语或输入播报内容"),
        ({"text": "x", "speakers": []}, "请选择至少一个音柱或一个广播分区"),
        ({"text": "长" * 201, "speakers": [1]}, "播报内容最多 200 字"),
        ({"text": "x", "speakers": [1], "repeat": 9}, "播放次数须在 1 到 5 之间"),
        ({"text": "x", "speakers": [1], "repeat": "两次"}, "播放次数须在 1 到 5 之间"),
        ({"text": "x", "speakers": [1], "source": "radio"}, "未知的发起位置"),
        ({"text": "x", "speakers": ["abc"]}, "音柱编号格式不正确"),
        ({"text": "x", "speakers": [1], "event": "x"}, "事件编号格式不正确"),
        ({"text": ["x"], "speakers": [1]}, "请求字段格式不正确"),
    ],
)
def test_bad_broadcasts_are_400_with_a_detail(world, video, client_for, body, detail):
    body = {**body, "speakers": [video.sp_a.pk if s == 1 else s for s in body["speakers"]]}
    response = post_json(client_for(world.director), "/video/broadcasts/new/", body)
    assert response.status_code == 400 and response.json()["detail"] == detail
    assert not Broadcast.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [{"repeat": 2.7}, {"repeat": True}, {"repeat": [2]}, {"repeat": "2.5"}, {"zone": 5, "speakers": []},
     {"source": ["map"]}, {"text": {"x": 1}}, {"preset": True}, {"camera": 1.0}],
)  # fmt: skip
def test_json_fields_of_the_wrong_type_are_refused_not_guessed(world, video, client_for, fields):
    body = {"text": "注意", "speakers": [video.sp_a.pk], **fields}
    response = post_json(client_for(world.director), "/video/broadcasts/new/", body)
    assert response.status_code == 400 and response.json()["detail"]
    assert not Broadcast.objects.exists()


def test_broadcasts_outside_the_territory_or_without_the_right_are_refused(world, video, client_for):
    url = "/video/broadcasts/new/"
    outside = post_json(client_for(world.officer_a), url, {"text": "x", "speakers": [video.sp_b.pk]})
    assert outside.status_code == 404 and outside.json()["detail"] == "所选音柱不存在或不在您的辖区内"
    other = post_json(client_for(world.director), url, {"text": "x", "speakers": [video.sp_d.pk]})
    assert other.status_code == 404
    missing = post_json(client_for(world.director), url, {"text": "x", "speakers": [987654]})
    assert missing.status_code == 404
    event = post_json(client_for(world.director_s2), url, {"text": "x", "speakers": [video.sp_d.pk],
                                                             "event": motion(video.cam_a).pk})  # fmt: skip
    assert event.status_code == 404
    auxiliary = post_json(client_for(world.auxiliary_a), url, {"text": "x", "speakers": [video.sp_a.pk]})
    assert auxiliary.status_code == 403 and auxiliary.json()["detail"] == "您没有广播喊话的权限"
    assert client_for(world.director).get(url).status_code == 405
    assert not Broadcast.objects.exists()


def test_the_broadcast_endpoint_is_csrf_protected(world, video):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.director)
    body = {"text": "x", "speakers": [video.sp_a.pk]}
    assert post_json(client, "/video/broadcasts/new/", body).status_code == 403
    client.get("/video/broadcasts/")
    token = client.cookies["csrftoken"].value
    assert post_json(client, "/video/broadcasts/new/", body, HTTP_X_CSRFTOKEN=token).status_code == 201


def test_broadcast_options_offer_presets_and_the_territorys_speakers(world, video, client_for):
    WarningPreset.objects.all().delete()  # the defaults of migration 0002
    services.save_preset(by=world.admin, title="防盗", text="请保管好随身财物", position=2)
    services.save_preset(by=world.admin, title="旧的", text="不再使用", active=False)
    services.save_preset(by=world.admin, title="防溺水", text="水深危险", position=1)

    officer = client_for(world.officer_a).get("/video/broadcast-options.json").json()
    director = client_for(world.director).get("/video/broadcast-options.json").json()
    auxiliary = client_for(world.auxiliary_a).get("/video/broadcast-options.json").json()

    assert [p["title"] for p in officer["presets"]] == ["防溺水", "防盗"]
    assert [s["code"] for s in officer["speakers"]] == ["SP-A", "SP-A2"]
    assert officer["zones"] == ["西福小区"] and officer["may_broadcast"] is True
    assert officer["speakers"][0] == {
        "id": video.sp_a.pk, "code": "SP-A", "name": "西福东门音柱", "location": "西福小区东门", "zone": "西福小区",
        "grid": world.grid_a.pk, "grid_name": "西福第1网格", "station": world.s1.pk, "station_name": "城东派出所",
        "active": True,
    }  # fmt: skip
    assert {s["code"] for s in director["speakers"]} == {"SP-A", "SP-A2", "SP-B"}
    assert director["zones"] == ["河滨", "西福小区"]
    assert auxiliary["may_broadcast"] is False
    assert client_for(world.director).post("/video/broadcast-options.json").status_code == 405


def test_broadcast_log_shows_counts_and_is_scoped(world, video, client_for, settings):
    settings.VIDEO_DELIVERY_ATTEMPTS = 1
    broadcast = services.send_broadcast(by=world.director, text="请勿聚集", speakers=[video.sp_a, video.sp_b])
    delivered, failed = broadcast.deliveries.order_by("speaker__code")
    now = timezone.now()
    services.finish_delivery(delivered.pk, delivered=True, detail="已播放", now=now)
    services.finish_delivery(failed.pk, delivered=False, detail="连接超时", now=now)
    services.send_broadcast(by=world.director_s2, text="仁风广场注意", speakers=[video.sp_d], source="map")

    page = client_for(world.director).get("/video/broadcasts/")
    row = page.context["page"][0]
    assert [b.text for b in page.context["page"]] == ["请勿聚集"]
    assert (row.n_speakers, row.n_delivered, row.n_failed, row.n_pending) == (2, 1, 1, 0)
    assert [
        b.text for b in client_for(world.leader).get("/video/broadcasts/?source=map").context["page"]
    ] == ["仁风广场注意"]
    detail = client_for(world.director).get(f"/video/broadcasts/{broadcast.pk}/").content.decode()
    assert "连接超时" in detail and "已送达" in detail and "重发" in detail
    assert client_for(world.director_s2).get(f"/video/broadcasts/{broadcast.pk}/").status_code == 404
    state = client_for(world.director).get(f"/video/broadcasts/{broadcast.pk}/", **JSON).json()
    assert [d["status"] for d in state["deliveries"]] == ["delivered", "failed"]


def test_a_failed_delivery_is_sent_again(world, video, client_for, settings):
    settings.VIDEO_DELIVERY_ATTEMPTS = 1
    broadcast = services.send_broadcast(
        by=world.director, text="请勿聚集", speakers=[video.sp_a, video.sp_a2]
    )
    ok, bad = broadcast.deliveries.order_by("speaker__code")
    services.finish_delivery(ok.pk, delivered=True, detail="", now=timezone.now())
    services.finish_delivery(bad.pk, delivered=False, detail="连接超时", now=timezone.now())

    assert client_for(world.auxiliary_a).post(f"/video/deliveries/{bad.pk}/retry/", **JSON).status_code == 403
    assert client_for(world.director_s2).post(f"/video/deliveries/{bad.pk}/retry/", **JSON).status_code == 404
    response = client_for(world.officer_a).post(f"/video/deliveries/{bad.pk}/retry/")
    bad.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == f"/video/broadcasts/{broadcast.pk}/"
    assert (bad.status, bad.attempts) == (DeliveryStatus.PENDING, 0)
    again = client_for(world.director).post(f"/video/deliveries/{ok.pk}/retry/", **JSON)
    assert again.status_code == 409 and again.json()["detail"] == "只有发送失败的音柱可以重发"
    assert BroadcastDelivery.objects.get(pk=ok.pk).status == DeliveryStatus.DELIVERED


# --- query counts -------------------------------------------------------------------------------------------
def grow(world, numbers: range) -> None:
    """More cameras in grid A, each with its own speaker, group, motion event, broadcast and preset."""
    for i in numbers:
        speaker = services.save_speaker(
            by=world.admin, grid=world.grid_a, code=f"SP-X{i}", name=f"音柱{i}", location="x", lng=118.605,
            lat=24.905, driver="mqtt", address=f"doorstep/speakers/x{i}", zone=f"分区{i}",
        )  # fmt: skip
        group = services.save_group(by=world.admin, station_id=world.s1.pk, name=f"分组{i}")
        camera = services.save_camera(
            by=world.admin, grid=world.grid_a, code=f"CAM-X{i}", name=f"摄像机{i}", location="x", lng=118.605,
            lat=24.905, stream_url="http://10.0.0.1/x", group=group, speakers=[speaker],
        )  # fmt: skip
        motion(camera)
        services.send_broadcast(by=world.director, text="请勿聚集", speakers=[speaker])
        services.save_preset(by=world.admin, title=f"警示{i}", text="请注意")


@pytest.mark.parametrize(
    ("url", "most"),
    [("/video/events/", 10), ("/video/broadcasts/", 9), ("/video/speakers/", 9), ("/video/groups/", 9),
     ("/video/presets/", 5), ("/video/broadcast-options.json", 8), ("/video/cameras/", 12)],
)  # fmt: skip
def test_lists_cost_the_same_for_many_rows(
    world, video, client_for, django_assert_max_num_queries, url, most
):
    client = client_for(world.director)
    grow(world, range(2))
    client.get(url)
    grow(world, range(2, 22))
    with django_assert_max_num_queries(most):
        response = client.get(url)
    assert response.status_code == 200
