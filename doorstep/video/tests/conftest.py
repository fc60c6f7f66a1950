"""Cameras, speakers and a tour on top of the shared `world` (two stations, four grids)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from doorstep.video import services


def build_video(world) -> SimpleNamespace:
    admin = world.admin
    sp_a = services.save_speaker(
        by=admin, grid=world.grid_a, code="SP-A", name="西福东门音柱", location="西福小区东门",
        lng=118.605, lat=24.905, driver="mqtt", address="doorstep/speakers/sp-a", zone="西福小区",
    )  # fmt: skip
    sp_a2 = services.save_speaker(
        by=admin, grid=world.grid_a, code="SP-A2", name="西福北门音柱", location="西福小区北门",
        lng=118.606, lat=24.906, driver="mqtt", address="doorstep/speakers/sp-a2", zone="西福小区",
    )  # fmt: skip
    sp_b = services.save_speaker(
        by=admin, grid=world.grid_b, code="SP-B", name="河滨音柱", location="河滨步道",
        lng=118.615, lat=24.905, driver="http", address="http://127.0.0.1:9/speaker", zone="河滨",
    )  # fmt: skip
    sp_d = services.save_speaker(
        by=admin, grid=world.grid_d, code="SP-D", name="仁风音柱", location="仁风广场",
        lng=118.625, lat=24.925, driver="mqtt", address="doorstep/speakers/sp-d",
    )  # fmt: skip
    group = services.save_group(by=admin, station_id=world.s1.pk, name="夜间巡查点")
    cam_a = services.save_camera(
        by=admin, grid=world.grid_a, code="CAM-A", name="西福东门", location="西福小区东门", lng=118.605,
        lat=24.905, stream_url="rtsp://user:secret@10.0.0.5:554/stream1", group=group, speakers=[sp_a, sp_a2],
    )  # fmt: skip
    cam_b = services.save_camera(
        by=admin, grid=world.grid_b, code="CAM-B", name="河滨步道", location="河滨步道北段", lng=118.615,
        lat=24.905, stream_url="http://10.0.0.6/mjpeg", group=group, speakers=[sp_b],
    )  # fmt: skip
    cam_d = services.save_camera(
        by=admin, grid=world.grid_d, code="CAM-D", name="仁风广场", location="仁风广场", lng=118.625,
        lat=24.925, stream_url="rtsp://10.0.1.5/live", speakers=[sp_d],
    )  # fmt: skip
    tour = services.save_tour(
        by=admin, station_id=world.s1.pk, name="夜间巡查", cameras=[cam_a, cam_b],
        start_time=dt.time(20, 0), end_time=dt.time(6, 0), interval_minutes=120, assignee=world.dispatcher,
    )  # fmt: skip
    return SimpleNamespace(
        sp_a=sp_a, sp_a2=sp_a2, sp_b=sp_b, sp_d=sp_d, group=group, cam_a=cam_a, cam_b=cam_b, cam_d=cam_d,
        tour=tour,
    )  # fmt: skip


@pytest.fixture
def video(world):
    return build_video(world)


@pytest.fixture
def frame_dir(tmp_path, settings):
    """Each test its own directory of live pictures."""
    settings.VIDEO_FRAME_DIR = tmp_path / "live"
    return settings.VIDEO_FRAME_DIR
