"""Shared request handling: JSON-or-form bodies (NUL characters refused before they reach the database) and
the 403 page that tells a user who may see but not act why."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from doorstep.core.errors import ServiceError
from doorstep.core.requestdata import request_data


def json_request(body: bytes):
    return RequestFactory().post("/x/", data=body, content_type="application/json")


def test_a_json_object_and_a_form_are_read_alike():
    assert request_data(json_request(b'{"a": 1, "speakers": [1, 2]}')) == {"a": 1, "speakers": [1, 2]}
    form = RequestFactory().post("/x/", data={"a": "1", "speakers": ["1", "2"]})
    assert request_data(form, lists=["speakers"]) == {"a": "1", "speakers": ["1", "2"]}


@pytest.mark.parametrize(
    "body",
    [b"[1]", b"not json", b'{"text": "a\\u0000b"}', b'{"list": ["\\u0000"]}', b'{"\\u0000": 1}', b"\xff"],
)
def test_bad_bodies_are_refused_in_chinese(body):
    with pytest.raises(ServiceError) as refused:
        request_data(json_request(body))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(refused.value))


def test_a_nul_in_a_form_field_is_refused():
    with pytest.raises(ServiceError, match="空字符"):
        request_data(RequestFactory().post("/x/", data={"text": "a\x00b"}))


def test_the_403_page_says_why_in_chinese(world, video_camera_page):
    response = video_camera_page
    assert response.status_code == 403
    page = response.content.decode()
    assert "无权操作" in page and "摄像机、音柱和分组须由本所所长或系统管理员维护" in page


@pytest.fixture
def video_camera_page(world, client_for):
    from doorstep.video.tests.conftest import build_video

    video = build_video(world)
    return client_for(world.dispatcher).get(f"/video/cameras/{video.cam_a.pk}/edit/")
