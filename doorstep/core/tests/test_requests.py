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


@pytest.mark.parametrize(
    "route", ["/duty/station/swaps/1/decide/", "/desk/inspections/1/edit/", "/video/broadcasts/new/"]
)
def test_a_nul_in_any_form_post_or_query_is_a_400_before_the_view(world, client_for, route):
    client = client_for(world.director)
    assert client.post(route, {"note": "a\x00b"}).status_code == 400
    assert client.get("/duty/field-days/", {"week": "2026\x00"}).status_code == 400
    assert client.post("/api/v1/stations/?q=\x00").status_code == 400


@pytest.mark.parametrize("week", ["9999-12-27", "0001-01-01", "2026-13-01"])
def test_a_week_far_out_of_range_falls_back_to_this_week(world, client_for, week):
    client = client_for(world.director)
    for url in (
        "/duty/field-days/",
        f"/duty/station/{world.s1.pk}/week/",
        f"/duty/rooms/{world.room_c1.pk}/roster/",
    ):
        assert client.get(url, {"week": week}).status_code == 200, url


def test_dates_out_of_the_service_years_are_form_errors_not_500s(world, client_for):
    client = client_for(world.director)
    response = client.post(
        f"/duty/rooms/{world.room_c1.pk}/shifts/new/",
        {"staff": world.officer_a_staff.pk, "starts_at": "0001-01-01T00:00", "ends_at": "0001-01-01T08:00"},
    )
    assert (
        response.status_code in (200, 400) and "日期须在 2000 年到 2100 年之间" in response.content.decode()
    )
    response = client.post(
        f"/duty/station/{world.s1.pk}/exceptions/",
        {
            "staff": world.officer_a_staff.pk,
            "starts_on": "9999-12-31",
            "ends_on": "9999-12-31",
            "reason": "x",
        },
    )
    assert response.status_code < 500


def test_the_raw_body_stays_readable_after_the_nul_check(world, client_for):
    """The device receiver signs the raw body: a multipart or form POST must still have it for the view."""
    response = client_for(None).post("/api/v1/alarm-events", {"event_id": "x", "type": "panic"})
    assert response.status_code == 401  # unsigned, refused by the receiver — not a 500 from a consumed body
    response = client_for(None).post(
        "/api/v1/alarm-events", "event_id=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 401
