"""Patrol tours: the schedule (slots), runs falling due and being missed, starting late, findings with the
camera's latest picture, finishing; who may run a tour; the tour form with its ordered camera picker; the
director's oversight page; the patrol console's JSON actions; and the permission matrix of these pages.

Time is frozen with time-machine at 2026-11-28 19:00 (Asia/Shanghai) before anything is built, so the
tour's creation time (which bounds how far back runs are planned) is known, and moved explicitly after."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.video import frames, services
from doorstep.video.choices import FindingResult, RunStatus
from doorstep.video.detection import Detection
from doorstep.video.models import PatrolTour, TourFinding, TourRun

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 28, 19, 0, tzinfo=TZ)
JPEG = b"\xff\xd8\xff\xe0" + b"patrol-picture" + b"\xff\xd9"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=TZ)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def tour_of(**fields) -> PatrolTour:
    """An unsaved tour: `slots` reads only the schedule."""
    values = {"start_time": dt.time(20), "end_time": dt.time(6), "interval_minutes": 120, "grace_minutes": 15}
    return PatrolTour(**(values | fields))


def run_at(video, due: dt.datetime) -> TourRun:
    return TourRun.objects.get(tour=video.tour, due_at=due)


def post_json(client, url: str, body: dict | None = None):
    return client.post(
        url, data=json.dumps(body or {}), content_type="application/json", HTTP_ACCEPT="application/json"
    )


# --- slots ----------------------------------------------------------------------------------------------
def test_slots_of_a_night_tour_run_across_midnight_to_the_end_time():
    due = services.slots(tour_of(), at(28, 12), at(29, 12))
    assert [timezone_hm(d) for d in due] == ["20:00", "22:00", "00:00", "02:00", "04:00", "06:00"]
    assert due[2] == at(29, 0)


def timezone_hm(value: dt.datetime) -> str:
    return value.astimezone(TZ).strftime("%H:%M")


def test_slots_of_a_window_opened_yesterday_continue_today():
    # From 03:00 on the 29th: the night that started on the 28th still has 04:00 and 06:00.
    due = services.slots(tour_of(), at(29, 3), at(29, 12))
    assert due == [at(29, 4), at(29, 6)]


def test_slots_around_the_clock_when_start_equals_end():
    tour = tour_of(start_time=dt.time(8), end_time=dt.time(8), interval_minutes=360)
    due = services.slots(tour, at(28, 0), at(29, 0))
    assert [timezone_hm(d) for d in due] == ["02:00", "08:00", "14:00", "20:00"]
    assert len(services.slots(tour, at(28, 0), at(30, 0))) == 8  # no slot twice where two days meet


def test_slots_stop_at_the_last_interval_inside_the_window():
    # 45 minutes does not divide the hour: 09:00 and 09:45, not 10:30.
    tour = tour_of(start_time=dt.time(9), end_time=dt.time(10), interval_minutes=45)
    assert services.slots(tour, at(28, 0), at(29, 0)) == [at(28, 9), at(28, 9, 45)]


def test_slots_include_the_end_time_and_the_range_is_half_open():
    tour = tour_of(start_time=dt.time(9), end_time=dt.time(11), interval_minutes=120)
    assert services.slots(tour, at(28, 0), at(29, 0)) == [at(28, 9), at(28, 11)]
    assert services.slots(tour, at(28, 9), at(28, 11)) == [at(28, 9)]  # [start, end)


def test_slots_with_an_interval_as_long_as_the_day():
    tour = tour_of(start_time=dt.time(7, 30), end_time=dt.time(7, 30), interval_minutes=24 * 60)
    assert services.slots(tour, at(28, 0), at(30, 0)) == [at(28, 7, 30), at(29, 7, 30)]


# --- planning runs -------------------------------------------------------------------------------------
def test_plan_runs_creates_each_slot_once(video, clock):
    assert services.plan_runs(at(28, 19, 59)) == 0  # nothing due yet
    assert services.plan_runs(at(28, 20, 0, 30)) == 1
    assert services.plan_runs(at(28, 20, 5)) == 0  # idempotent
    assert services.plan_runs(at(28, 20, 5)) == 0
    run = run_at(video, at(28, 20))
    assert run.status == RunStatus.DUE and run.station_id == video.tour.station_id


def test_plan_runs_marks_a_run_nobody_started_before_the_next_one_as_missed(video):
    services.plan_runs(at(28, 20, 1))
    assert services.plan_runs(at(28, 22, 1)) == 1
    assert run_at(video, at(28, 20)).status == RunStatus.MISSED
    assert run_at(video, at(28, 22)).status == RunStatus.DUE


def test_plan_runs_catches_up_after_a_pause_and_leaves_started_runs_alone(video, world):
    services.plan_runs(at(28, 20, 1))
    services.start_run(run_at(video, at(28, 20)), by=world.dispatcher, now=at(28, 20, 3))
    # The worker was down until 02:30: 22:00, 00:00 and 02:00 are created; 22:00 and 00:00 are missed.
    assert services.plan_runs(at(29, 2, 30)) == 3
    statuses = dict(TourRun.objects.filter(tour=video.tour).values_list("due_at", "status"))
    assert statuses == {
        at(28, 20): RunStatus.IN_PROGRESS,
        at(28, 22): RunStatus.MISSED,
        at(29, 0): RunStatus.MISSED,
        at(29, 2): RunStatus.DUE,
    }


def test_an_inactive_tour_falls_due_no_more(video, world):
    services.save_tour(
        by=world.director, station_id=world.s1.pk, name="夜间巡查", cameras=[video.cam_a], tour=video.tour,
        start_time=dt.time(20), end_time=dt.time(6), interval_minutes=120, assignee=world.dispatcher,
        active=False,
    )  # fmt: skip
    assert services.plan_runs(at(28, 20, 1)) == 0


# --- running a tour ----------------------------------------------------------------------------------------
@pytest.fixture
def due_run(video):
    services.plan_runs(at(28, 20, 0, 30))
    return run_at(video, at(28, 20))


def test_start_run_within_grace_is_on_time(due_run, world):
    run = services.start_run(due_run, by=world.dispatcher, now=at(28, 20, 15))
    assert run.status == RunStatus.IN_PROGRESS and run.by == world.dispatcher and run.late is False


def test_start_run_after_grace_is_late(due_run, world):
    run = services.start_run(due_run, by=world.dispatcher, now=at(28, 20, 15, 1))
    assert run.late is True and run.started_at == at(28, 20, 15, 1)


def test_a_missed_run_cannot_be_started(video, world):
    services.plan_runs(at(28, 20, 1))
    services.plan_runs(at(28, 22, 1))
    with pytest.raises(RuleViolation, match="漏巡"):
        services.start_run(run_at(video, at(28, 20)), by=world.dispatcher)


def test_an_abnormal_finding_needs_a_note(due_run, video, world, frame_dir):
    run = services.start_run(due_run, by=world.dispatcher)
    with pytest.raises(ServiceError, match="异常情况请填写说明"):
        services.record_finding(
            run, video.cam_a, result=FindingResult.ABNORMAL, note="  ", by=world.dispatcher
        )
    finding = services.record_finding(
        run, video.cam_a, result=FindingResult.ABNORMAL, note="东门有人攀爬围墙", by=world.dispatcher
    )
    assert finding.note == "东门有人攀爬围墙"


def test_a_camera_not_in_the_tour_is_refused(due_run, video, world, frame_dir):
    run = services.start_run(due_run, by=world.dispatcher)
    with pytest.raises(ServiceError, match="不在本次巡查计划中"):
        services.record_finding(run, video.cam_d, result=FindingResult.NORMAL, by=world.dispatcher)


def test_the_finding_keeps_the_cameras_latest_picture(due_run, video, world, frame_dir):
    frames.write(video.cam_a.pk, JPEG)
    run = services.start_run(due_run, by=world.dispatcher)
    finding = services.record_finding(run, video.cam_a, result=FindingResult.NORMAL, by=world.dispatcher)
    with finding.snapshot.open("rb") as f:
        assert f.read() == JPEG
    # No picture of camera B yet: recorded without one.
    finding_b = services.record_finding(run, video.cam_b, result=FindingResult.NORMAL, by=world.dispatcher)
    assert not finding_b.snapshot


def test_recording_a_camera_again_replaces_its_finding(due_run, video, world, frame_dir):
    run = services.start_run(due_run, by=world.dispatcher)
    services.record_finding(run, video.cam_a, result=FindingResult.NORMAL, by=world.dispatcher)
    services.record_finding(
        run, video.cam_a, result=FindingResult.ABNORMAL, note="有积水", by=world.dispatcher
    )
    assert list(TourFinding.objects.filter(run=run).values_list("result", "note")) == [("abnormal", "有积水")]


def test_finish_run_refuses_while_stops_are_missing(due_run, video, world, frame_dir):
    run = services.start_run(due_run, by=world.dispatcher)
    services.record_finding(run, video.cam_a, result=FindingResult.NORMAL, by=world.dispatcher)
    with pytest.raises(RuleViolation, match="还有 1 个点位没有记录巡查结果"):
        services.finish_run(run, by=world.dispatcher)
    services.record_finding(run, video.cam_b, result=FindingResult.NORMAL, by=world.dispatcher)
    run = services.finish_run(run, by=world.dispatcher, now=at(28, 20, 9))
    assert run.status == RunStatus.DONE and run.finished_at == at(28, 20, 9)


def test_only_the_patroller_who_started_may_record(due_run, video, world, frame_dir):
    run = services.start_run(due_run, by=world.dispatcher)
    with pytest.raises(RuleViolation, match="请先开始这次巡查"):
        services.record_finding(run, video.cam_a, result=FindingResult.NORMAL, by=world.director)


# --- who may run a tour ------------------------------------------------------------------------------------
def test_may_run_the_assignee_and_the_director_only(video, world):
    tour = video.tour  # assigned to the dispatcher, no duty post
    assert services.may_run(world.dispatcher, tour)
    assert services.may_run(world.director, tour)  # the station director may stand in
    assert not services.may_run(world.officer_a, tour)
    assert not services.may_run(world.director_s2, tour)  # another station
    assert not services.may_run(world.admin, tour)  # administrators do not patrol
    assert not services.may_run(world.patrol, tour)


def test_may_run_a_duty_post_tour_anyone_of_the_station_who_patrols(video, world):
    tour = services.save_tour(
        by=world.director, station_id=world.s1.pk, name="白天巡查", cameras=[video.cam_a],
        start_time=dt.time(8), end_time=dt.time(18), interval_minutes=60, duty_post="视频巡查岗",
    )  # fmt: skip
    assert services.may_run(world.officer_a, tour) and services.may_run(world.auxiliary_a, tour)
    assert services.may_run(world.dispatcher, tour)
    assert not services.may_run(world.director_s2, tour)


def test_start_run_by_someone_else_is_refused(due_run, world):
    with pytest.raises(NotAllowed):
        services.start_run(due_run, by=world.officer_a)


# --- the console's JSON actions ---------------------------------------------------------------------------
def test_console_actions_start_record_and_finish(due_run, video, world, client_for, frame_dir):
    frames.write(video.cam_a.pk, JPEG)
    client = client_for(world.dispatcher)
    response = post_json(client, reverse("video:run_start", args=[due_run.pk]))
    assert response.status_code == 200
    run = response.json()["run"]
    assert run["status"] == "in_progress" and run["mine"] and run["late"] is False
    assert [s["camera"] for s in run["stops"]] == [video.cam_a.pk, video.cam_b.pk]

    finding_url = reverse("video:run_finding", args=[due_run.pk])
    refused = post_json(client, finding_url, {"camera": video.cam_a.pk, "result": "abnormal", "note": ""})
    assert refused.status_code == 400 and refused.json()["detail"] == "异常情况请填写说明"
    outside = post_json(client, finding_url, {"camera": video.cam_d.pk, "result": "normal"})
    assert outside.status_code == 400 and "不在本次巡查计划中" in outside.json()["detail"]
    bad = post_json(client, finding_url, {"camera": "１２", "result": "normal"})
    assert bad.status_code == 400

    done = post_json(
        client, finding_url, {"camera": video.cam_a.pk, "result": "abnormal", "note": "东门聚集"}
    )
    assert done.status_code == 200
    body = done.json()
    assert body["finding"]["result"] == "abnormal" and body["finding"]["snapshot"]
    assert body["run"]["done"] == 1 and body["run"]["stops"][0]["finding"]["note"] == "东门聚集"
    picture = client.get(body["finding"]["snapshot"])
    assert picture.status_code == 200 and b"".join(picture.streaming_content) == JPEG
    assert picture["Cache-Control"] == "private, no-store"

    finish_url = reverse("video:run_finish", args=[due_run.pk])
    early = post_json(client, finish_url)
    assert early.status_code == 409 and early.json()["detail"] == "还有 1 个点位没有记录巡查结果"
    post_json(client, finding_url, {"camera": video.cam_b.pk, "result": "normal"})
    finished = post_json(client, finish_url)
    assert finished.status_code == 200 and finished.json()["run"]["status"] == "done"


def test_console_actions_outside_the_territory_are_404_and_others_403(due_run, world, client_for):
    url = reverse("video:run_start", args=[due_run.pk])
    assert post_json(client_for(world.director_s2), url).status_code == 404
    refused = post_json(client_for(world.officer_a), url)
    assert refused.status_code == 403 and refused.json()["detail"] == "这个巡查计划不是指派给您的"
    assert (
        post_json(client_for(world.dispatcher), reverse("video:run_start", args=[999999])).status_code == 404
    )
    assert client_for(world.dispatcher).get(url).status_code == 405
    assert post_json(client_for(None), url).status_code == 302  # to the login page


@pytest.mark.parametrize(
    "body",
    [{"result": "normal", "note": ["x"]}, {"result": ["normal"]}, {"result": "abnormal", "note": {"a": 1}},
     {"result": "normal", "camera": True}, {"result": "normal", "camera": 1.0}, {"result": "normal", "camera": "9" * 20}],
)  # fmt: skip
def test_a_finding_of_the_wrong_json_types_is_refused(due_run, video, world, client_for, frame_dir, body):
    client = client_for(world.dispatcher)
    post_json(client, reverse("video:run_start", args=[due_run.pk]))
    response = post_json(
        client, reverse("video:run_finding", args=[due_run.pk]), {"camera": video.cam_a.pk, **body}
    )
    assert response.status_code == 400 and response.json()["detail"]
    assert not TourFinding.objects.exists()


def test_a_run_outside_the_territory_is_404_with_a_detail(due_run, world, client_for):
    for name in ("run_start", "run_finding", "run_finish"):
        response = post_json(client_for(world.director_s2), reverse(f"video:{name}", args=[due_run.pk]))
        assert response.status_code == 404 and response.json()["detail"] == "巡查记录不存在或不在您的辖区"
        big = post_json(client_for(world.dispatcher), f"/video/runs/{'9' * 20}/{name.removeprefix('run_')}/")
        assert big.status_code == 404
        assert (
            client_for(world.dispatcher).get(reverse(f"video:{name}", args=[due_run.pk])).status_code == 405
        )


def test_the_consoles_events_offer_only_speakers_the_user_may_reach(video, world, client_for):
    # Camera A (grid A) is also covered by the grid-B speaker: officer A, who sees grid A only, cannot use it.
    services.save_camera(by=world.admin, camera=video.cam_a, grid=world.grid_a, code="CAM-A",
                         speakers=[video.sp_a, video.sp_b])  # fmt: skip
    event = services.record_motion(
        video.cam_a.pk,
        Detection(zone="东门", started_at=T0, detected_at=T0, area=0.05, bbox=(0.1, 0.2, 0.3, 0.4)),
        None,
    )

    def speakers(user):
        html = client_for(user).get(reverse("video:patrol")).content.decode()
        state = json.loads(
            html.split('<script id="patrol-state" type="application/json">')[1].split("</script>")[0]
        )
        return {e["id"]: e["speakers"] for e in state["events"]}[event.pk]

    assert speakers(world.officer_a) == [video.sp_a.pk]
    assert sorted(speakers(world.director)) == sorted([video.sp_a.pk, video.sp_b.pk])


def test_the_console_and_its_state_cost_the_same_for_many_tours(
    video, world, client_for, django_assert_max_num_queries
):
    def tours(numbers):
        for i in numbers:
            camera = services.save_camera(
                by=world.admin, grid=world.grid_a, code=f"CAM-X{i}", name=f"摄像机{i}", location="x", lng=118.605,
                lat=24.905, stream_url="http://10.0.0.1/x", speakers=[video.sp_a],
            )  # fmt: skip
            services.save_tour(
                by=world.admin, station_id=world.s1.pk, name=f"巡查{i}", cameras=[camera, video.cam_a],
                start_time=dt.time(0), end_time=dt.time(0), interval_minutes=60, assignee=world.dispatcher,
            )  # fmt: skip
        services.plan_runs(at(28, 19, 0, 30))

    client = client_for(world.dispatcher)
    tours(range(2))
    for url in ("video:patrol", "video:patrol_state", "video:tour_list"):
        client.get(reverse(url))
    tours(range(2, 22))
    for url, most in (("video:patrol", 14), ("video:patrol_state", 12), ("video:tour_list", 8)):
        with django_assert_max_num_queries(most):
            assert client.get(reverse(url)).status_code == 200


def test_console_state_lists_due_runs_and_todays_remaining_slots(due_run, world, client_for):
    state = client_for(world.dispatcher).get(reverse("video:patrol_state")).json()
    assert [r["id"] for r in state["runs"]] == [due_run.pk]
    assert state["runs"][0]["status"] == "due" and state["runs"][0]["total"] == 2
    # 19:00 now (frozen): 20:00 and 22:00 are still to come today; 00:00 is tomorrow.
    assert [u["due_at"][11:16] for u in state["upcoming"]] == ["20:00", "22:00"]
    assert {c["name"] for c in state["cameras"]} == {"西福东门", "河滨步道"}
    # Not the dispatcher's tour: officer A sees no runs, only the cameras of grid A.
    other = client_for(world.officer_a).get(reverse("video:patrol_state")).json()
    assert other["runs"] == [] and [c["name"] for c in other["cameras"]] == ["西福东门"]
    assert client_for(world.patrol).get(reverse("video:patrol_state")).status_code == 404


def test_console_state_with_two_tours_due_at_the_same_time(video, world, client_for):
    services.save_tour(
        by=world.director, station_id=world.s1.pk, name="另一个夜巡", cameras=[video.cam_b],
        start_time=dt.time(20), end_time=dt.time(22), interval_minutes=120, assignee=world.dispatcher,
    )  # fmt: skip
    state = client_for(world.dispatcher).get(reverse("video:patrol_state")).json()
    assert [(u["due_at"][11:16], u["tour"]) for u in state["upcoming"]] == [
        ("20:00", "另一个夜巡"),
        ("20:00", "夜间巡查"),
        ("22:00", "另一个夜巡"),
        ("22:00", "夜间巡查"),
    ]


def test_console_page_matrix(due_run, world, client_for):
    url = reverse("video:patrol")
    page = client_for(world.dispatcher).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "视频巡查台" in html
    state = json.loads(
        html.split('<script id="patrol-state" type="application/json">')[1].split("</script>")[0]
    )
    assert [r["tour"]["name"] for r in state["runs"]] == ["夜间巡查"]
    for name in ("director", "officer_a", "auxiliary_a", "leader", "director_s2"):
        assert client_for(getattr(world, name)).get(url).status_code == 200, name
    for name in ("patrol", "evaluator", "admin"):
        assert client_for(getattr(world, name)).get(url).status_code == 404, name
    assert client_for(None).get(url).status_code == 302


# --- the tour form ---------------------------------------------------------------------------------------------
def form_data(video, **overrides) -> dict:
    data = {
        "name": "白天巡查", "start_time": "08:00", "end_time": "18:00", "interval_minutes": "60",
        "grace_minutes": "10", "assignee": "", "duty_post": "视频巡查岗", "active": "on",
        f"stop_{video.cam_b.pk}": "1", f"stop_{video.cam_a.pk}": "2",
    }  # fmt: skip
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_director_creates_a_tour_with_cameras_in_order(video, world, client_for):
    client = client_for(world.director)
    assert client.get(reverse("video:tour_new")).status_code == 200
    response = client.post(reverse("video:tour_new"), form_data(video))
    assert response.status_code == 302, response.content.decode()
    tour = PatrolTour.objects.get(name="白天巡查")
    assert tour.station_id == world.s1.pk and tour.duty_post == "视频巡查岗" and tour.active
    assert list(tour.stops.values_list("camera_id", flat=True)) == [video.cam_b.pk, video.cam_a.pk]
    # Editing shows the order and keeps it unless changed.
    page = client.get(reverse("video:tour_edit", args=[tour.pk])).content.decode()
    assert page.index(f'name="stop_{video.cam_b.pk}" value="1"') < page.index(
        f'name="stop_{video.cam_a.pk}" value="2"'
    )
    client.post(
        reverse("video:tour_edit", args=[tour.pk]),
        form_data(video, **{f"stop_{video.cam_b.pk}": "", f"stop_{video.cam_a.pk}": "1"}),
    )
    assert list(tour.stops.values_list("camera_id", flat=True)) == [video.cam_a.pk]


def assert_error(response, text: str) -> None:
    assert response.status_code == 400
    assert text in response.content.decode()


def test_the_tour_form_explains_in_chinese(video, world, client_for):
    client = client_for(world.director)
    url = reverse("video:tour_new")
    no_stops = {f"stop_{video.cam_b.pk}": "", f"stop_{video.cam_a.pk}": ""}
    assert_error(client.post(url, form_data(video, **no_stops)), "请至少选择一台摄像机")
    assert_error(client.post(url, form_data(video, grace_minutes="60")), "允许延迟须小于间隔")
    foreign = client.post(url, form_data(video, **{f"stop_{video.cam_d.pk}": "3"}))
    assert_error(foreign, "巡查点位须是本所的摄像机")
    assert_error(client.post(url, form_data(video, interval_minutes="5")), "间隔须在 10 分钟到 24 小时")
    assert_error(client.post(url, form_data(video, duty_post="")), "请指定巡查民警或值班岗位")
    assert_error(client.post(url, form_data(video, name="夜间巡查")), "本所已有名为“夜间巡查”的巡查计划")
    assert_error(client.post(url, form_data(video, start_time="25:00")), "输入一个有效的时间")
    assert_error(client.post(url, form_data(video, **{f"stop_{video.cam_a.pk}": "x"})), "顺序须是正整数")
    same = form_data(video, **{f"stop_{video.cam_a.pk}": "1", f"stop_{video.cam_b.pk}": "1"})
    assert_error(client.post(url, same), "”的顺序都是 1，请填写不同的数字")
    assert not PatrolTour.objects.filter(name="白天巡查").exists()


def test_the_assignee_must_be_a_patroller_of_the_station(video, world, client_for):
    client = client_for(world.director)
    page = client.get(reverse("video:tour_new")).content.decode()
    assert f'value="{world.dispatcher.pk}"' in page and f'value="{world.officer_a.pk}"' in page
    assert f'value="{world.director_s2.pk}"' not in page
    response = client.post(reverse("video:tour_new"), form_data(video, assignee=str(world.director_s2.pk)))
    assert response.status_code == 400 and not PatrolTour.objects.filter(name="白天巡查").exists()
    # Officer A sees only her grid's pictures: a tour through grid B's camera is not hers to walk.
    blind = client.post(
        reverse("video:tour_new"), form_data(video, assignee=str(world.officer_a.pk), duty_post="")
    )
    assert_error(blind, "看不到这些摄像机的画面：河滨步道")
    ok = client.post(
        reverse("video:tour_new"),
        form_data(video, assignee=str(world.officer_a.pk), duty_post="", **{f"stop_{video.cam_b.pk}": ""}),
    )
    assert ok.status_code == 302 and PatrolTour.objects.get(name="白天巡查").assignee == world.officer_a


def test_tour_pages_matrix(video, world, client_for):
    edit = reverse("video:tour_edit", args=[video.tour.pk])
    assert client_for(world.director).get(edit).status_code == 200
    assert client_for(world.admin).get(edit).status_code == 200
    assert client_for(world.dispatcher).get(edit).status_code == 403  # sees the tour, may not change it
    assert client_for(world.director_s2).get(edit).status_code == 404  # another station's
    assert client_for(world.officer_a).get(reverse("video:tour_new")).status_code == 404
    assert client_for(world.patrol).get(reverse("video:tour_list")).status_code == 404
    assert client_for(None).get(reverse("video:tour_list")).status_code == 302
    # The administrator picks the station; the cameras offered are that station's.
    page = client_for(world.admin).get(reverse("video:tour_new") + f"?station={world.s2.pk}").content.decode()
    assert f'name="stop_{video.cam_d.pk}"' in page and f'name="stop_{video.cam_a.pk}"' not in page


def test_the_tour_list_shows_schedule_and_last_weeks_counts(video, world, client_for):
    services.plan_runs(at(28, 20, 1))
    services.plan_runs(at(28, 22, 1))  # 20:00 missed
    services.start_run(run_at(video, at(28, 22)), by=world.dispatcher, now=at(28, 22, 30))  # late
    page = client_for(world.director).get(reverse("video:tour_list")).content.decode()
    assert "20:00–06:00 每 120 分钟" in page and "2 台" in page
    assert 'class="table-danger"' in page  # a missed run stands out
    s2 = client_for(world.director_s2).get(reverse("video:tour_list")).content.decode()
    assert "夜间巡查" not in s2


# --- oversight ----------------------------------------------------------------------------------------------------
@pytest.fixture
def week(video, world, frame_dir):
    """20:00 done on time (one abnormal finding), 22:00 missed, 00:00 started late, 02:00 due."""
    d = world.dispatcher
    services.plan_runs(at(28, 20, 0, 30))
    run = services.start_run(run_at(video, at(28, 20)), by=d, now=at(28, 20, 5))
    services.record_finding(run, video.cam_a, result="abnormal", note="围墙破损", by=d)
    services.record_finding(run, video.cam_b, result="normal", by=d)
    services.finish_run(run, by=d)
    services.plan_runs(at(28, 22, 0, 30))
    services.plan_runs(at(29, 0, 0, 30))  # 22:00 missed
    services.start_run(run_at(video, at(29, 0)), by=d, now=at(29, 0, 40))
    services.plan_runs(at(29, 2, 0, 30))


def test_the_oversight_page_shows_missed_and_late_runs(week, video, world, client_for, clock):
    clock.move_to(at(29, 2, 10))
    client = client_for(world.director)
    page = client.get(reverse("video:run_list")).content.decode()
    missed, late = run_at(video, at(28, 22)), run_at(video, at(29, 0))
    assert f'data-run="{missed.pk}" data-status="missed" class="table-danger"' in page
    assert f'data-run="{late.pk}" data-status="in_progress" class="table-warning"' in page
    assert "漏巡" in page and "迟巡" in page and "异常 1" in page
    # The summary: 4 due, 1 on time, 1 late, 1 missed, 2 open (late 00:00 in progress, 02:00 due).
    summary = page[page.index('data-testid="run-summary"') :]
    row = summary[summary.index(f'data-tour="{video.tour.pk}"') :].split("</tr>")[0]
    assert 'class="table-danger"' in row
    assert [cell.split(">")[-1] for cell in row.split("</span>")[:3]] == ["1", "1", "1"]

    only_late = client.get(reverse("video:run_list"), {"late": "on"}).content.decode()
    assert f'data-run="{late.pk}"' in only_late and f'data-run="{missed.pk}"' not in only_late
    only_missed = client.get(reverse("video:run_list"), {"status": "missed"}).content.decode()
    assert f'data-run="{missed.pk}"' in only_missed and f'data-run="{late.pk}"' not in only_missed
    by_day = client.get(reverse("video:run_list"), {"date": "2026-11-29"}).content.decode()
    assert f'data-run="{late.pk}"' in by_day and f'data-run="{missed.pk}"' not in by_day
    junk = client.get(reverse("video:run_list"), {"tour": "x", "date": "二〇二六"})
    assert junk.status_code == 200


def test_the_oversight_page_is_scoped(week, video, world, client_for):
    page = client_for(world.director_s2).get(reverse("video:run_list")).content.decode()
    assert "夜间巡查" not in page
    assert client_for(world.patrol).get(reverse("video:run_list")).status_code == 404


def test_run_detail_with_findings_and_pictures(week, video, world, client_for):
    run = run_at(video, at(28, 20))
    page = client_for(world.director).get(reverse("video:run_detail", args=[run.pk])).content.decode()
    assert "围墙破损" in page and "异常" in page and "已完成" in page
    abnormal = TourFinding.objects.get(run=run, camera=video.cam_a)
    assert reverse("video:finding_snapshot", args=[abnormal.pk]) not in page  # no picture was written
    assert client_for(world.director_s2).get(reverse("video:run_detail", args=[run.pk])).status_code == 404
    snapshot = reverse("video:finding_snapshot", args=[abnormal.pk])
    assert client_for(world.director).get(snapshot).status_code == 404  # recorded without a picture


def test_a_findings_picture_is_shown_only_inside_the_territory(due_run, video, world, client_for, frame_dir):
    frames.write(video.cam_a.pk, JPEG)
    run = services.start_run(due_run, by=world.dispatcher)
    finding = services.record_finding(run, video.cam_a, result="normal", by=world.dispatcher)
    url = reverse("video:finding_snapshot", args=[finding.pk])
    assert client_for(world.director).get(url).status_code == 200
    assert client_for(world.officer_a).get(url).status_code == 200  # camera A is in grid A
    assert client_for(world.officer_b).get(url).status_code == 404  # grid B only
    assert client_for(world.director_s2).get(url).status_code == 404
    assert client_for(world.patrol).get(url).status_code == 404


def test_the_oversight_list_needs_few_queries(week, world, client_for, django_assert_max_num_queries):
    client = client_for(world.director)
    client.get(reverse("video:run_list"))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("video:run_list")).status_code == 200
