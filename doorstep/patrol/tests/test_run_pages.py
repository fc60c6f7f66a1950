"""Patrol pages (doorstep.patrol.run_pages): the phone page, the JSON points endpoint, findings, finish, the
list with its filters, the record with its map data, plans — and the permission matrix (404 outside the
territory, 403 with a reason for those who see but may not act)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from doorstep.accounts.choices import Role
from doorstep.accounts.services import create_user
from doorstep.conftest import PASSWORD
from doorstep.mediation.models import Dispute
from doorstep.patrol import runs
from doorstep.patrol.choices import FindingKind, PatrolStatus
from doorstep.patrol.models import Finding, Patrol, Plan

HUGE = 2**70


def fixes(start, n=5, seq0=1):
    return [
        {
            "seq": seq0 + k,
            "at": (start + dt.timedelta(seconds=10 * k)).isoformat(),
            "lng": 118.605 + k * 0.0001,
            "lat": 24.905,
            "accuracy": 10,
        }
        for k in range(n)
    ]


@pytest.fixture
def t0():
    return timezone.now() - dt.timedelta(minutes=20)


@pytest.fixture
def running(pw, t0):
    return runs.start(by=pw.officer_a, community=pw.c1, grid=pw.grid_a, now=t0)


def post_json(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


# --- phone page ----------------------------------------------------------------------------------------------
def test_run_page_shows_the_start_form_then_the_live_page(pw, client_for):
    c = client_for(pw.patrol)
    page = c.get(reverse("patrol:run"))
    assert page.status_code == 200 and b'data-testid="run-start-form"' in page.content
    response = c.post(
        reverse("patrol:run_start"), {"community": pw.c1.pk, "participants": 2, "volunteers": 0}
    )
    assert response.status_code == 302
    live = c.get(reverse("patrol:run"))
    assert b'data-testid="patrol-live"' in live.content and b'capture="environment"' in live.content
    assert Patrol.objects.get().led_by == pw.patrol


def test_start_twice_is_refused_on_the_form(pw, client_for, running):
    response = client_for(pw.officer_a).post(
        reverse("patrol:run_start"), {"community": pw.c1.pk, "participants": 1, "volunteers": 0}
    )
    assert response.status_code == 409
    assert "尚未结束" in response.content.decode()


@pytest.mark.parametrize("name", ["leader", "dispatcher", "evaluator"])
def test_viewers_see_the_page_but_cannot_start(pw, client_for, name):
    c = client_for(getattr(pw, name))
    page = c.get(reverse("patrol:run"))
    assert page.status_code == 200 and b'data-testid="run-not-allowed"' in page.content
    response = c.post(
        reverse("patrol:run_start"), {"community": pw.c1.pk, "participants": 1, "volunteers": 0}
    )
    assert response.status_code == 403
    assert "不能开展巡逻" in response.content.decode()


def test_mediators_have_no_patrol_pages(pw, client_for, running):
    mediator = create_user(username="mediator1", password=PASSWORD, role=Role.MEDIATOR, station=pw.s1)
    c = client_for(mediator)
    assert c.get(reverse("patrol:run")).status_code == 404
    assert c.get(reverse("patrol:run_list")).status_code == 404
    assert c.get(reverse("patrol:run_detail", args=[running.pk])).status_code == 404


def test_anonymous_is_sent_to_login(client_for, running):
    c = client_for(None)
    assert c.get(reverse("patrol:run")).status_code == 302
    assert post_json(c, reverse("patrol:run_points", args=[running.pk]), {"points": []}).status_code == 302


def test_start_with_another_communitys_plan_shows_an_error(pw, client_for):
    start = timezone.now() + dt.timedelta(hours=1)
    plan = runs.create_plan(
        by=pw.director, title="p", community=pw.c2, starts_at=start, ends_at=start + dt.timedelta(hours=1)
    )
    response = client_for(pw.director).post(
        reverse("patrol:run_start"),
        {"community": pw.c1.pk, "plan": plan.pk, "participants": 1, "volunteers": 0},
    )
    assert response.status_code == 400 and "计划不属于该社区" in response.content.decode()


def test_start_with_a_huge_id_is_a_form_error(pw, client_for):
    response = client_for(pw.director).post(
        reverse("patrol:run_start"), {"community": HUGE, "participants": 1, "volunteers": 0}
    )
    assert response.status_code == 400
    assert not Patrol.objects.exists()


# --- points --------------------------------------------------------------------------------------------------
def test_points_answer_the_accepted_count_and_distance(pw, client_for, running, t0):
    c = client_for(pw.officer_a)
    url = reverse("patrol:run_points", args=[running.pk])
    first = post_json(c, url, {"points": fixes(t0)})
    assert first.status_code == 200
    assert first.json()["accepted"] == 5 and first.json()["distance_m"] > 0
    again = post_json(c, url, {"points": fixes(t0)})
    assert again.json()["accepted"] == 0 and again.json()["distance_m"] == first.json()["distance_m"]


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ('{"points": "x"}', "application/json"),
        ("{}", "application/json"),
        ('{"points": [{"seq": 1, "at": "2026-01-01T00:00:00Z", "lng": 999, "lat": 24}]}', "application/json"),
    ],
)
def test_bad_json_is_a_400_with_detail(pw, client_for, running, body, content_type):
    response = client_for(pw.officer_a).post(
        reverse("patrol:run_points", args=[running.pk]), data=body, content_type=content_type
    )
    assert response.status_code == 400
    assert response.json()["detail"]


def test_points_outside_the_territory_or_huge_ids_are_404(pw, client_for, running, t0):
    outsider = client_for(pw.director_s2)
    response = post_json(outsider, reverse("patrol:run_points", args=[running.pk]), {"points": fixes(t0)})
    assert response.status_code == 404 and response.json()["detail"]
    huge = post_json(client_for(pw.officer_a), f"/patrol/runs/{HUGE}/points/", {"points": []})
    assert huge.status_code == 404


def test_points_from_someone_else_in_the_territory_are_403(pw, client_for, running, t0):
    response = post_json(
        client_for(pw.director), reverse("patrol:run_points", args=[running.pk]), {"points": fixes(t0)}
    )
    assert response.status_code == 403 and "带队人" in response.json()["detail"]


def test_points_after_finish_are_409(pw, client_for, running, t0):
    runs.add_points(running, fixes(t0), by=pw.officer_a)
    runs.finish(running, by=pw.officer_a, summary="")
    response = post_json(
        client_for(pw.officer_a),
        reverse("patrol:run_points", args=[running.pk]),
        {"points": fixes(t0, seq0=9)},
    )
    assert response.status_code == 409


def test_points_get_is_405(pw, client_for, running):
    assert client_for(pw.officer_a).get(reverse("patrol:run_points", args=[running.pk])).status_code == 405


# --- findings and finish -------------------------------------------------------------------------------------
def _jpeg() -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buf, format="JPEG")
    return SimpleUploadedFile("scene.jpg", buf.getvalue(), content_type="image/jpeg")


def test_a_finding_with_photo_and_dispute_hand_over(pw, client_for, running, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    c = client_for(pw.officer_a)
    response = c.post(
        reverse("patrol:run_finding", args=[running.pk]),
        {
            "kind": FindingKind.DISPUTE,
            "note": "邻里噪音争吵",
            "photo": _jpeg(),
            "hand_over": "on",
            "party_a": "王五",
            "party_b": "赵六",
            "lng": "118.605",
            "lat": "24.905",
        },
    )
    assert response.status_code == 302
    finding = Finding.objects.get()
    assert finding.dispute.community == pw.c1 and finding.photo
    photo = c.get(reverse("patrol:finding_photo", args=[finding.pk]))
    assert photo.status_code == 200 and photo["Cache-Control"] == "private, no-store"
    assert (
        client_for(pw.director_s2).get(reverse("patrol:finding_photo", args=[finding.pk])).status_code == 404
    )
    assert c.get(f"/patrol/findings/{HUGE}/photo/").status_code == 404


def test_a_dispute_hand_over_without_parties_shows_the_error(pw, client_for, running):
    response = client_for(pw.officer_a).post(
        reverse("patrol:run_finding", args=[running.pk]),
        {"kind": FindingKind.DISPUTE, "note": "争吵", "hand_over": "on", "party_a": "王五"},
    )
    assert response.status_code == 400 and "双方当事人" in response.content.decode()
    assert not Dispute.objects.exists()


def test_finding_by_someone_else_is_403(pw, client_for, running):
    response = client_for(pw.director).post(
        reverse("patrol:run_finding", args=[running.pk]), {"kind": FindingKind.HAZARD, "note": "x"}
    )
    assert response.status_code == 403


def test_finish_refuses_an_empty_patrol_on_the_page(pw, client_for, running):
    response = client_for(pw.officer_a).post(reverse("patrol:run_finish", args=[running.pk]), {"summary": ""})
    assert response.status_code == 409
    assert "空巡逻不能记为完成" in response.content.decode()


def test_finish_goes_to_the_record(pw, client_for, running, t0):
    runs.add_points(running, fixes(t0), by=pw.officer_a)
    c = client_for(pw.officer_a)
    response = c.post(reverse("patrol:run_finish", args=[running.pk]), {"summary": "一切正常"})
    assert response.status_code == 302 and response["Location"] == reverse(
        "patrol:run_detail", args=[running.pk]
    )
    running.refresh_from_db()
    assert running.status == PatrolStatus.DONE and running.summary == "一切正常"
    detail = c.get(response["Location"])
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'id="patrol-track"' in html and "MultiLineString" in html and "一切正常" in html


def test_void_from_the_record(pw, client_for, running):
    c = client_for(pw.director)
    assert c.post(reverse("patrol:run_void", args=[running.pk]), {"reason": "误操作"}).status_code == 302
    running.refresh_from_db()
    assert running.status == PatrolStatus.VOID
    assert (
        client_for(pw.patrol).post(reverse("patrol:run_void", args=[running.pk]), {"reason": "x"}).status_code
        == 403
    )


# --- list and detail -----------------------------------------------------------------------------------------
def test_list_filters(pw, client_for, running, t0):
    other = runs.start(by=pw.director, community=pw.c2, grid=pw.grid_c, now=t0)
    runs.void(other, pw.director, "测试")
    c = client_for(pw.director)
    url = reverse("patrol:run_list")
    assert c.get(url).content.decode().count('data-testid="run-row"') == 2
    assert c.get(url, {"community": pw.c1.pk}).content.decode().count('data-testid="run-row"') == 1
    assert c.get(url, {"grid": pw.grid_c.pk}).content.decode().count('data-testid="run-row"') == 1
    assert c.get(url, {"status": "running"}).content.decode().count('data-testid="run-row"') == 1
    today = timezone.localdate(t0).isoformat()
    assert (
        c.get(url, {"date_from": today, "date_to": today}).content.decode().count('data-testid="run-row"')
        == 2
    )
    tomorrow = (timezone.localdate(t0) + dt.timedelta(days=1)).isoformat()
    assert c.get(url, {"date_from": tomorrow}).content.decode().count('data-testid="run-row"') == 0
    assert c.get(url, {"community": HUGE}).status_code == 400
    assert c.get(url, {"date_from": "0001-01-01"}).status_code == 400


def test_list_is_scoped(pw, client_for, running):
    html = client_for(pw.director_s2).get(reverse("patrol:run_list")).content.decode()
    assert 'data-testid="run-row"' not in html
    # A community of another station is not even a choice.
    assert (
        client_for(pw.director_s2).get(reverse("patrol:run_list"), {"community": pw.c1.pk}).status_code == 400
    )


def test_list_query_count_does_not_grow_with_rows(pw, client_for, t0, django_assert_max_num_queries):
    for user in (pw.officer_a, pw.auxiliary_a, pw.patrol, pw.director):
        runs.start(by=user, community=pw.c1, now=t0)
    c = client_for(pw.director)
    with django_assert_max_num_queries(15):
        c.get(reverse("patrol:run_list"))


def test_detail_outside_the_territory_and_huge_ids_are_404(pw, client_for, running):
    assert client_for(pw.director_s2).get(reverse("patrol:run_detail", args=[running.pk])).status_code == 404
    assert client_for(pw.director).get(f"/patrol/runs/{HUGE}/").status_code == 404
    assert client_for(pw.leader).get(reverse("patrol:run_detail", args=[running.pk])).status_code == 200


# --- plans ---------------------------------------------------------------------------------------------------
def test_plan_new_and_edit(pw, client_for):
    c = client_for(pw.director)
    assert c.get(reverse("patrol:plan_new")).status_code == 200
    data = {
        "title": "夜巡",
        "community": pw.c1.pk,
        "grid": pw.grid_a.pk,
        "starts_at": "2026-12-01T20:00",
        "ends_at": "2026-12-01T22:00",
        "route": '{"type": "LineString", "coordinates": [[118.601, 24.901], [118.608, 24.908]]}',
        "area": "",
        "notes": "",
    }
    assert c.post(reverse("patrol:plan_new"), data).status_code == 302
    plan = Plan.objects.get()
    assert plan.route["type"] == "LineString"
    edit = reverse("patrol:plan_edit", args=[plan.pk])
    assert c.get(edit).status_code == 200
    assert c.post(edit, data | {"title": "夜巡二"}).status_code == 302
    plan.refresh_from_db()
    assert plan.title == "夜巡二"
    assert (
        c.get(reverse("patrol:plan_list"), {"when": "all"}).content.decode().count('data-testid="plan-row"')
        == 1
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"route": "{oops"}, "JSON"),
        (
            {"area": '{"type": "Polygon", "coordinates": [[[2, 48], [2.1, 48], [2.1, 48.1], [2, 48]]]}'},
            "超出范围",
        ),
        ({"ends_at": "2026-12-01T19:00"}, "晚于开始"),
    ],
)
def test_plan_form_errors(pw, client_for, change, message):
    data = {
        "title": "夜巡",
        "community": pw.c1.pk,
        "starts_at": "2026-12-01T20:00",
        "ends_at": "2026-12-01T22:00",
    }
    response = client_for(pw.director).post(reverse("patrol:plan_new"), data | change)
    assert response.status_code == 400 and message in response.content.decode()
    assert not Plan.objects.exists()


@pytest.mark.parametrize("name", ["patrol", "dispatcher", "leader", "auxiliary_a"])
def test_plan_pages_forbid_those_who_may_only_see(pw, client_for, name):
    response = client_for(getattr(pw, name)).get(reverse("patrol:plan_new"))
    assert response.status_code == 403 and "巡逻计划由" in response.content.decode()


def test_plan_edit_outside_the_territory_is_404(pw, client_for):
    start = timezone.now()
    plan = runs.create_plan(
        by=pw.director, title="p", community=pw.c1, starts_at=start, ends_at=start + dt.timedelta(hours=1)
    )
    assert client_for(pw.director_s2).get(reverse("patrol:plan_edit", args=[plan.pk])).status_code == 404
    assert client_for(pw.director).get(f"/patrol/plans/{HUGE}/edit/").status_code == 404
