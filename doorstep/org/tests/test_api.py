"""Organisation API behaviour: writes through the API as the right user, bad input, filters, query counts.

Every write is checked in the database and in the audit log (channel "api"); every refusal is a 4xx whose JSON
carries a `detail` string, in Chinese where the message is ours. The permission matrix (who may call what)
lives in core/tests/test_permission_matrix.py; here the caller is the one who may.

The world is built once per module inside a transaction that is rolled back at the end; each test runs in a
savepoint (pytest-django's `db`). Tests therefore re-read objects from the database and never change the
shared instances.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient, ForceAuthClientHandler

from doorstep.audit.models import AuditEntry
from doorstep.conftest import TODAY, build_world, make_staff, square
from doorstep.org import services
from doorstep.org.choices import Position, RequestStatus, StaffKind
from doorstep.org.models import DepartureRequest, Grid, GridAssignment, PoliceRoom, Secondment, Staff

CHINESE = re.compile(r"[\u4e00-\u9fff]")
LATER = TODAY + dt.timedelta(days=30)


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker):
    """The conftest world, built once for the module inside a transaction rolled back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            world = build_world()
            sessions = {}
            for name, user in world.users.items():
                client = Client()
                client.force_login(user)
                sessions[name] = client.cookies[settings.SESSION_COOKIE_NAME].value
            world.sessions = sessions
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield world
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture
def w(shared, db):
    return shared


# A test client loads the middleware on its first request and WhiteNoise then indexes every static file
# (~0.1 s); the clients here share one handler, which keeps no per-client state.
_HANDLER = ForceAuthClientHandler(enforce_csrf_checks=False)


def api(w, name: str | None) -> APIClient:
    """A client signed in (by session, so each request loads the user afresh) as the named world user."""
    client = APIClient()
    client.handler = _HANDLER
    if name is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = w.sessions[name]
    return client


def detail_of(response, status: int) -> str:
    assert response.status_code == status, response.content.decode()
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"], body
    return body["detail"]


def ours(message: str) -> bool:
    return bool(CHINESE.search(message))


def last_audit(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).order_by("-id").first()


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content.decode()
    return {row["id"] for row in response.json()["results"]}


def new_auxiliary(w, station=None, name="陈静") -> Staff:
    return make_staff(w.sub_bureau, station or w.s1, StaffKind.AUXILIARY, name)


def post_b(w) -> GridAssignment:
    return GridAssignment.objects.get(grid=w.grid_b, staff=w.officer_b_staff)


# --- assignments ------------------------------------------------------------------------------------------------
def test_director_assigns_an_auxiliary_to_a_grid(w):
    aux = new_auxiliary(w)
    body = {"grid": w.grid_b.pk, "staff": aux.pk, "position": "auxiliary", "started_on": str(TODAY),
            "reason": "新招录"}  # fmt: skip

    response = api(w, "director").post("/api/v1/assignments/", body, format="json")

    assert response.status_code == 201, response.content.decode()
    post = GridAssignment.objects.get(pk=response.json()["id"])
    assert (post.grid_id, post.staff_id, post.position, post.started_on) == (
        w.grid_b.pk, aux.pk, Position.AUXILIARY, TODAY,
    )  # fmt: skip
    assert post.start_reason == "新招录" and post.ended_on is None
    assert response.json()["grid_name"] == w.grid_b.name and response.json()["staff_name"] == aux.name
    entry = last_audit("org.assign_to_grid")
    assert entry.object_id == str(post.pk)
    assert (entry.actor_id, entry.channel) == (w.director.pk, "api")
    assert entry.ip == "127.0.0.1"


def test_director_ends_a_post_after_three_years(w):
    post = post_b(w)  # started 2000 days ago

    response = api(w, "director").post(
        f"/api/v1/assignments/{post.pk}/end/", {"ended_on": str(TODAY), "reason": "正常轮岗"}, format="json"
    )

    assert response.status_code == 200, response.content.decode()
    assert response.json()["ended_on"] == str(TODAY)
    post.refresh_from_db()
    assert (post.ended_on, post.end_reason) == (TODAY, "正常轮岗")
    entry = last_audit("org.end_assignment")
    assert entry.object_id == str(post.pk) and entry.after == {
        "ended_on": str(TODAY),
        "end_reason": "正常轮岗",
    }
    assert entry.before == {"ended_on": None, "end_reason": ""}


def test_ending_an_officer_post_early_is_refused(w):
    response = api(w, "director").post(
        f"/api/v1/assignments/{w.post_a.pk}/end/", {"ended_on": str(TODAY), "reason": "调动"}, format="json"
    )

    assert "未满3年" in detail_of(response, 409)
    assert response.json()["code"] == "tenure_under_3_years"
    assert GridAssignment.objects.get(pk=w.post_a.pk).ended_on is None


def test_ending_a_post_twice_is_refused(w):
    post = post_b(w)
    client = api(w, "director")
    body = {"ended_on": str(TODAY), "reason": "正常轮岗"}
    assert client.post(f"/api/v1/assignments/{post.pk}/end/", body, format="json").status_code == 200

    response = client.post(f"/api/v1/assignments/{post.pk}/end/", body, format="json")

    assert "已结束" in detail_of(response, 409)


@pytest.mark.parametrize("post_of", ["officer", "auxiliary"])
def test_end_before_start_is_refused_with_the_date_message(w, post_of):
    post = post_b(w) if post_of == "officer" else GridAssignment.objects.get(staff__name="翁磊")
    before_start = str(post.started_on - dt.timedelta(days=1))

    response = api(w, "director").post(
        f"/api/v1/assignments/{post.pk}/end/", {"ended_on": before_start, "reason": "录入错误"}, format="json"
    )

    assert detail_of(response, 400) == "离岗日期不能早于任职日期"
    assert GridAssignment.objects.get(pk=post.pk).ended_on is None


def test_officer_cannot_take_a_second_grid(w):
    body = {
        "grid": w.grid_c.pk,
        "staff": w.officer_a_staff.pk,
        "position": "officer",
        "started_on": str(TODAY),
    }

    response = api(w, "director").post("/api/v1/assignments/", body, format="json")

    assert "只能专职负责一个网格" in detail_of(response, 409)
    assert response.json()["code"] == "officer_one_grid"
    assert not GridAssignment.objects.filter(grid=w.grid_c).exists()


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("auxiliary as officer", 409, "不能担任"),
        ("inactive person", 409, "已不在职"),
        ("same grid twice", 409, "已在此网格任职"),
        ("person of another station", 409, "不属于网格所在派出所"),
    ],
)
def test_assignment_rules_are_4xx_with_our_message(w, case, status, message):
    aux = new_auxiliary(w)
    body = {"grid": w.grid_b.pk, "staff": aux.pk, "position": "auxiliary", "started_on": str(TODAY)}
    user = "director"
    if case == "auxiliary as officer":
        body["position"] = "officer"
    elif case == "inactive person":
        Staff.objects.filter(pk=aux.pk).update(active=False)
    elif case == "same grid twice":
        body["staff"] = GridAssignment.objects.get(staff__name="翁磊").staff_id
        body["grid"] = w.grid_a.pk
    elif case == "person of another station":
        body["staff"] = new_auxiliary(w, station=w.s2, name="许亮").pk
        user = "admin"  # the S1 director cannot even see S2 staff (that is a 400, below)
    audit_before = AuditEntry.objects.exclude(action="security.denied").count()

    response = api(w, user).post("/api/v1/assignments/", body, format="json")

    assert message in detail_of(response, status)
    assert ours(response.json()["detail"])
    assert AuditEntry.objects.exclude(action="security.denied").count() == audit_before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"grid": None}, "grid"),
        ({"grid": "A"}, "应为整数ID"),
        ({"grid": [1]}, "应为整数ID"),
        ({"grid": 999999}, "不存在或不在您的辖区内"),
        ({"grid": "GRID_D"}, "不存在或不在您的辖区内"),  # outside the S1 director's territory
        ({"staff": 999999}, "不存在或不在您的辖区内"),
        ({"staff": "STAFF_S2"}, "不存在或不在您的辖区内"),
        ({"position": "chief"}, "position"),
        ({"started_on": "yesterday"}, "started_on"),
        ({"started_on": 20261128}, "started_on"),
        ({"reason": "长" * 201}, "reason"),
        ({"DROP": "position"}, "position"),
        ({"DROP": "started_on"}, "started_on"),
    ],
)
def test_bad_assignment_input_is_400_with_detail(w, change, message):
    aux = new_auxiliary(w)
    body = {"grid": w.grid_b.pk, "staff": aux.pk, "position": "auxiliary", "started_on": str(TODAY)}
    for key, value in change.items():
        if key == "DROP":
            body.pop(value)
        else:
            special = {"GRID_D": w.grid_d.pk, "STAFF_S2": w.users["director_s2"].staff_id}
            body[key] = special.get(value, value) if isinstance(value, str) else value
    if body.get("grid") is None:
        body.pop("grid")

    response = api(w, "director").post("/api/v1/assignments/", body, format="json")

    detail = detail_of(response, 400)
    assert message in detail
    assert isinstance(response.json()["errors"], dict)
    assert not GridAssignment.objects.filter(staff=aux).exists()


def test_field_messages_from_our_serializer_are_chinese(w):
    body = {"grid": w.grid_d.pk, "staff": "x", "position": "auxiliary", "started_on": str(TODAY)}

    response = api(w, "director").post("/api/v1/assignments/", body, format="json")

    errors = response.json()["errors"]
    assert ours(errors["grid"][0]) and ours(errors["staff"][0])


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('"grid"', "application/json", 400),
        ("null", "application/json", 400),
        ("grid=1", "text/plain", 415),
    ],
)
def test_malformed_bodies_are_4xx_with_detail(w, body, content_type, status):
    response = api(w, "director").generic("POST", "/api/v1/assignments/", body, content_type=content_type)

    detail_of(response, status)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "ended_on"),
        ({"ended_on": str(TODAY)}, "reason"),
        ({"ended_on": str(TODAY), "reason": ""}, "reason"),
        ({"ended_on": "28/11/2026", "reason": "轮岗"}, "ended_on"),
        ({"ended_on": str(TODAY), "reason": "   "}, "reason"),
    ],
)
def test_bad_end_input_is_400_with_detail(w, body, message):
    response = api(w, "director").post(f"/api/v1/assignments/{post_b(w).pk}/end/", body, format="json")

    assert message in detail_of(response, 400)
    assert post_b(w).ended_on is None


@pytest.mark.parametrize("pk", ["999999", "abc", "0", "-1", "99999999999999999999999"])
def test_unknown_ids_in_the_path_are_404_with_detail(w, pk):
    client = api(w, "leader")
    for url in (f"/api/v1/assignments/{pk}/", f"/api/v1/grids/{pk}/", f"/api/v1/staff/{pk}/"):
        detail_of(client.get(url), 404)
    director = api(w, "director")
    detail_of(director.post(f"/api/v1/assignments/{pk}/end/", {"ended_on": str(TODAY), "reason": "x"}), 404)
    detail_of(director.post(f"/api/v1/departure-requests/{pk}/approve/", {}), 404)
    detail_of(director.patch(f"/api/v1/police-rooms/{pk}/", {"hours": "x"}, format="json"), 404)


# --- departure requests -----------------------------------------------------------------------------------------
def request_departure_by_officer_a(w, leave_on=LATER):
    body = {"assignment": w.post_a.pk, "leave_on": str(leave_on), "reason": "家庭原因"}
    return api(w, "officer_a").post("/api/v1/departure-requests/", body, format="json")


def test_officer_requests_own_early_departure(w):
    response = request_departure_by_officer_a(w)

    assert response.status_code == 201, response.content.decode()
    request = DepartureRequest.objects.get(pk=response.json()["id"])
    assert (request.assignment_id, request.leave_on, request.status) == (w.post_a.pk, LATER, "pending")
    assert request.requested_by_id == w.officer_a.pk
    assert response.json()["status"] == "pending"
    entry = last_audit("org.request_departure")
    assert (entry.object_id, entry.actor_id, entry.channel) == (str(request.pk), w.officer_a.pk, "api")


def test_director_approves_departure_and_the_post_ends(w):
    pk = request_departure_by_officer_a(w).json()["id"]

    response = api(w, "director").post(
        f"/api/v1/departure-requests/{pk}/approve/", {"note": "同意"}, format="json"
    )

    assert response.status_code == 200, response.content.decode()
    assert response.json()["status"] == "approved" and response.json()["decided_by"] == w.director.pk
    request = DepartureRequest.objects.get(pk=pk)
    assert (request.status, request.decision_note, request.decided_by_id) == (
        "approved",
        "同意",
        w.director.pk,
    )
    assert request.decided_at is not None
    post = GridAssignment.objects.get(pk=w.post_a.pk)
    assert post.ended_on == LATER and "经所长批准提前离岗" in post.end_reason
    assert last_audit("org.approve_departure").object_id == str(pk)
    assert last_audit("org.end_assignment").object_id == str(post.pk)


def test_director_rejects_departure_and_the_post_stays(w):
    pk = request_departure_by_officer_a(w).json()["id"]

    response = api(w, "director").post(f"/api/v1/departure-requests/{pk}/reject/", {}, format="json")

    assert response.status_code == 200, response.content.decode()
    assert DepartureRequest.objects.get(pk=pk).status == RequestStatus.REJECTED
    assert GridAssignment.objects.get(pk=w.post_a.pk).ended_on is None
    entry = last_audit("org.reject_departure")
    assert entry.object_id == str(pk) and entry.actor_id == w.director.pk


def test_a_decided_departure_cannot_be_decided_again(w):
    pk = request_departure_by_officer_a(w).json()["id"]
    client = api(w, "director")
    client.post(f"/api/v1/departure-requests/{pk}/reject/", {})

    response = client.post(f"/api/v1/departure-requests/{pk}/approve/", {})

    assert "已处理" in detail_of(response, 409)
    assert DepartureRequest.objects.get(pk=pk).status == RequestStatus.REJECTED


@pytest.mark.parametrize(
    ("setup", "body", "status", "message"),
    [
        ("pending", {}, 409, "已有待审批的离岗申请"),
        (None, {"leave_on": "START-1"}, 400, "离岗日期不能早于任职日期"),
        (None, {"reason": "   "}, 400, "reason"),
        (None, {"reason": None}, 400, "reason"),
        (None, {"leave_on": "soon"}, 400, "leave_on"),
        (None, {"assignment": 999999}, 400, "不存在或不在您的辖区内"),
        (None, {"assignment": "POST_B"}, 400, "不存在或不在您的辖区内"),  # grid B: outside officer A's grid
        (None, {"assignment": "1; DROP TABLE"}, 400, "应为整数ID"),
    ],
)
def test_bad_departure_requests_are_4xx_with_detail(w, setup, body, status, message):
    if setup == "pending":
        assert request_departure_by_officer_a(w).status_code == 201
    payload = {"assignment": w.post_a.pk, "leave_on": str(LATER), "reason": "家庭原因"}
    special = {"START-1": str(w.post_a.started_on - dt.timedelta(days=1)), "POST_B": post_b(w).pk}
    payload.update({k: special.get(v, v) if isinstance(v, str) else v for k, v in body.items()})
    payload = {k: v for k, v in payload.items() if v is not None}
    before = DepartureRequest.objects.count()

    response = api(w, "officer_a").post("/api/v1/departure-requests/", payload, format="json")

    assert message in detail_of(response, status)
    assert DepartureRequest.objects.count() == before


def test_departure_not_needing_approval_is_refused_with_our_message(w):
    body = {"assignment": post_b(w).pk, "leave_on": str(LATER), "reason": "轮岗"}

    response = api(w, "director").post("/api/v1/departure-requests/", body, format="json")

    detail = detail_of(response, 400)
    assert "无需审批" in detail and response.json()["code"] == "no_approval_needed"


def test_decision_note_too_long_is_400(w):
    pk = request_departure_by_officer_a(w).json()["id"]

    response = api(w, "director").post(f"/api/v1/departure-requests/{pk}/approve/", {"note": "长" * 301})

    assert "note" in detail_of(response, 400)
    assert DepartureRequest.objects.get(pk=pk).status == "pending"


# --- secondments ------------------------------------------------------------------------------------------------
def secondment_body(w, **changes):
    body = {"staff": w.officer_b_staff.pk, "purpose": "专项行动", "destination": "市局",
            "starts_on": str(TODAY + dt.timedelta(days=10)), "ends_on": str(TODAY + dt.timedelta(days=20))}  # fmt: skip
    body.update(changes)
    return body


def test_director_requests_and_approves_a_secondment(w):
    client = api(w, "director")

    created = client.post("/api/v1/secondments/", secondment_body(w), format="json")

    assert created.status_code == 201, created.content.decode()
    pk = created.json()["id"]
    assert created.json()["status"] == "pending" and created.json()["staff_name"] == w.officer_b_staff.name
    assert Secondment.objects.get(pk=pk).requested_by_id == w.director.pk
    assert last_audit("org.request_secondment").object_id == str(pk)

    decided = client.post(f"/api/v1/secondments/{pk}/approve/", {"note": "同意"}, format="json")

    assert decided.status_code == 200, decided.content.decode()
    secondment = Secondment.objects.get(pk=pk)
    assert (secondment.status, secondment.decided_by_id, secondment.decision_note) == (
        "approved", w.director.pk, "同意",
    )  # fmt: skip
    entry = last_audit("org.approve_secondment")
    assert entry.object_id == str(pk) and entry.after["status"] == "approved" and entry.channel == "api"


def test_director_rejects_a_secondment(w):
    client = api(w, "director")
    pk = client.post("/api/v1/secondments/", secondment_body(w), format="json").json()["id"]

    response = client.post(f"/api/v1/secondments/{pk}/reject/", {"note": "警力不足"}, format="json")

    assert response.status_code == 200
    assert Secondment.objects.get(pk=pk).status == RequestStatus.REJECTED
    assert last_audit("org.reject_secondment").object_id == str(pk)


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"ends_on": str(TODAY)}, 400, "结束日期不能早于开始日期"),
        ({"staff": "AUX"}, 400, "仅适用于社区民警"),
        ({"staff": "S2_OFFICER"}, 400, "不存在或不在您的辖区内"),
        ({"staff": 999999}, 400, "不存在或不在您的辖区内"),
        ({"purpose": ""}, 400, "purpose"),
        ({"destination": "长" * 101}, 400, "destination"),
        ({"starts_on": "2026-02-30"}, 400, "starts_on"),
        ({"staff": None}, 400, "staff"),
        ({"overlap": True}, 409, "已有抽调或待审批的抽调"),
    ],
)
def test_bad_secondment_requests_are_4xx_with_detail(w, changes, status, message):
    client = api(w, "director")
    if changes.pop("overlap", False):
        assert client.post("/api/v1/secondments/", secondment_body(w), format="json").status_code == 201
    special = {
        "AUX": GridAssignment.objects.get(staff__name="翁磊").staff_id,
        "S2_OFFICER": GridAssignment.objects.get(grid=w.grid_d).staff_id,
    }
    body = secondment_body(
        w, **{k: special.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    )
    body = {k: v for k, v in body.items() if v is not None}
    before = Secondment.objects.count()

    response = client.post("/api/v1/secondments/", body, format="json")

    assert message in detail_of(response, status)
    assert Secondment.objects.count() == before


# --- police rooms -----------------------------------------------------------------------------------------------
def test_director_edits_a_police_room(w):
    changes = {"hours": "08:00-20:00", "open_24h": False, "public_phone": "0595-22000009"}

    response = api(w, "director").patch(f"/api/v1/police-rooms/{w.room_c1.pk}/", changes, format="json")

    assert response.status_code == 200, response.content.decode()
    assert {k: response.json()[k] for k in changes} == changes
    room = PoliceRoom.objects.get(pk=w.room_c1.pk)
    assert (room.hours, room.open_24h, room.public_phone) == ("08:00-20:00", False, "0595-22000009")
    entry = last_audit("org.update_police_room")
    assert entry.object_id == str(room.pk) and entry.actor_id == w.director.pk
    assert entry.before == {"hours": "24小时", "open_24h": True, "public_phone": "0595-22000001"}
    assert entry.after == changes


def test_read_only_fields_are_ignored_on_patch(w):
    response = api(w, "director").patch(
        f"/api/v1/police-rooms/{w.room_c1.pk}/", {"community": w.c2.pk, "id": 12345}, format="json"
    )

    assert response.status_code == 200
    room = PoliceRoom.objects.get(pk=w.room_c1.pk)
    assert room.community_id == w.c1.pk


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lng": 200}, "lng"),
        ({"lat": -91}, "lat"),
        ({"lng": "east"}, "lng"),
        ({"lng": None}, "lng"),
        ({"name": ""}, "name"),
        ({"name": "长" * 101}, "name"),
        ({"open_24h": "sometimes"}, "open_24h"),
        ({"hours": ["24小时"]}, "hours"),
    ],
)
def test_bad_police_room_patch_is_400_with_detail(w, changes, message):
    response = api(w, "director").patch(f"/api/v1/police-rooms/{w.room_c1.pk}/", changes, format="json")

    assert message in detail_of(response, 400)
    room = PoliceRoom.objects.get(pk=w.room_c1.pk)
    assert (room.name, room.lng, room.lat) == (w.room_c1.name, w.room_c1.lng, w.room_c1.lat)


@pytest.mark.parametrize("method", ["put", "delete", "post"])
def test_police_rooms_answer_405_to_other_writes(w, method):
    response = getattr(api(w, "director"), method)(f"/api/v1/police-rooms/{w.room_c1.pk}/", {}, format="json")

    detail_of(response, 405)


@pytest.mark.parametrize("url", ["/api/v1/grids/", "/api/v1/stations/", "/api/v1/staff/"])
def test_read_only_lists_answer_405_to_post(w, url):
    detail_of(api(w, "admin").post(url, {"name": "x"}, format="json"), 405)


# --- filters ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "url", "params", "expected"),
    [
        ("leader", "/api/v1/grids/", {"station": "S1"}, {"A", "B", "C"}),
        ("leader", "/api/v1/grids/", {"station": "S2"}, {"D"}),
        ("leader", "/api/v1/grids/", {"community": "C1"}, {"A", "B"}),
        ("leader", "/api/v1/grids/", {"q": "第2"}, {"B"}),
        ("leader", "/api/v1/grids/", {"q": "3505030200101"}, {"D"}),
        ("leader", "/api/v1/grids/", {"q": "不存在"}, set()),
        ("director", "/api/v1/grids/", {"station": "S2"}, set()),  # filtering cannot widen the territory
        ("leader", "/api/v1/communities/", {"station": "S1"}, {"C1", "C2"}),
        ("leader", "/api/v1/communities/", {"q": "仁风"}, {"C3"}),
        ("leader", "/api/v1/stations/", {"q": "清源"}, {"S2"}),
        ("leader", "/api/v1/police-rooms/", {"station": "S2"}, {"R3"}),
        ("leader", "/api/v1/police-rooms/", {"q": "西福"}, {"R1"}),
        ("leader", "/api/v1/staff/", {"q": "刘芳"}, {"staff_a"}),
        ("leader", "/api/v1/staff/", {"q": "BADGE_A"}, {"staff_a"}),
        ("leader", "/api/v1/staff/", {"kind": "auxiliary"}, {"aux_a"}),
        ("leader", "/api/v1/assignments/", {"position": "auxiliary"}, {"post_aux_a"}),
        ("leader", "/api/v1/assignments/", {"station": "S2"}, {"post_d"}),
        ("leader", "/api/v1/assignments/", {"grid": "A"}, {"post_a", "post_aux_a"}),
        ("leader", "/api/v1/assignments/", {"current": "true", "grid": "B"}, {"post_b2"}),
        ("leader", "/api/v1/assignments/", {"current": "false", "grid": "B"}, {"post_b"}),
        ("leader", "/api/v1/departure-requests/", {"status": "pending"}, {"dep_a"}),
        ("leader", "/api/v1/departure-requests/", {"status": "approved"}, set()),
        ("leader", "/api/v1/secondments/", {"status": "pending"}, {"sec_b"}),
        ("leader", "/api/v1/secondments/", {"staff": "staff_b"}, {"sec_b"}),
    ],
)
def test_filters(w, user, url, params, expected):
    # Grid B's old officer has left and a new one started; officer A asked to leave; officer B is seconded.
    services.end_assignment(post_b(w), ended_on=TODAY, reason="正常轮岗", by=w.director)
    staff_b2 = make_staff(w.sub_bureau, w.s1, StaffKind.POLICE, "郑涛")
    post_b2 = services.assign_to_grid(grid=w.grid_b, staff=staff_b2, position="officer", started_on=TODAY)
    dep_a = services.request_departure(w.post_a, leave_on=LATER, reason="家庭原因", by=w.officer_a)
    sec_b = services.request_secondment(by=w.director, **{
        k: (v if k != "staff" else w.officer_b_staff) for k, v in secondment_body(w).items()
    })  # fmt: skip
    aux_post = GridAssignment.objects.get(staff__name="翁磊")
    keys = {
        "S1": w.s1, "S2": w.s2, "C1": w.c1, "C2": w.c2, "C3": w.c3,
        "A": w.grid_a, "B": w.grid_b, "C": w.grid_c, "D": w.grid_d,
        "R1": w.room_c1, "R2": PoliceRoom.objects.get(community=w.c2), "R3": w.room_c3,
        "staff_a": w.officer_a_staff, "staff_b": w.officer_b_staff, "aux_a": aux_post.staff,
        "post_a": w.post_a, "post_aux_a": aux_post, "post_b": post_b(w), "post_b2": post_b2,
        "post_d": GridAssignment.objects.get(grid=w.grid_d), "dep_a": dep_a, "sec_b": sec_b,
    }  # fmt: skip
    query = {k: keys[v].pk if v in keys else v for k, v in params.items()}
    if query.get("q") == "BADGE_A":
        query["q"] = w.officer_a_staff.badge_number

    response = api(w, user).get(url, {**query, "page_size": 500})

    by_pk = {(type(obj), obj.pk): key for key, obj in keys.items()}
    model = {"grids": Grid, "communities": type(w.c1), "stations": type(w.s1), "police-rooms": PoliceRoom,
             "staff": Staff, "assignments": GridAssignment, "departure-requests": DepartureRequest,
             "secondments": Secondment}[url.split("/")[3]]  # fmt: skip
    assert {by_pk.get((model, pk), pk) for pk in ids(response)} == expected


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/v1/grids/", {"station": "abc"}),
        ("/api/v1/grids/", {"community": "abc"}),
        ("/api/v1/assignments/", {"position": "chief"}),
        ("/api/v1/assignments/", {"grid": "GRID_B"}),  # officer A: grid B is not a valid choice for them
        ("/api/v1/staff/", {"kind": "ghost"}),
        ("/api/v1/departure-requests/", {"status": "lost"}),
        ("/api/v1/grids/", {"page": 99}),
    ],
)
def test_bad_filter_values_are_4xx_with_detail(w, url, params):
    query = {k: (w.grid_b.pk if v == "GRID_B" else v) for k, v in params.items()}

    response = api(w, "officer_a").get(url, query)

    assert response.status_code in (400, 404)
    detail_of(response, response.status_code)


@pytest.mark.parametrize("url", ["/api/v1/grids/", "/api/v1/police-rooms/", "/api/v1/assignments/", "/org/grids/",
                                 "/org/police-rooms/", "/org/staffing/"])  # fmt: skip
def test_a_station_id_beyond_64_bits_finds_nothing(w, url):
    """SQLite cannot bind such an integer: the lookup must not reach it as a foreign-key comparison (a 500)."""
    response = api(w, "leader").get(url, {"station": str(2**64)})

    assert response.status_code == 200
    if url.startswith("/api/"):
        assert response.json()["results"] == []
    elif url == "/org/staffing/":
        assert response.context["board"] == []
    else:
        assert list(response.context["page"].object_list) == []


def test_ordering_and_page_size(w):
    client = api(w, "leader")
    names = [g["name"] for g in client.get("/api/v1/grids/", {"ordering": "-name"}).json()["results"]]
    assert names == sorted(names, reverse=True)

    page = client.get("/api/v1/grids/", {"page_size": 2}).json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    assert client.get("/api/v1/grids/", {"ordering": "no_such_field"}).status_code == 200


# --- query counts -----------------------------------------------------------------------------------------------
def grow(w, n: int, start: int = 0) -> None:
    """Add n more of everything a list shows: grids, rooms, staff, posts, requests, secondments."""
    for i in range(start, start + n):
        suffix = f"{80 + i:02d}"
        community = services.create_community(
            station=w.s1, street=w.c1.street, name=f"新建社区{suffix}", code=f"350503019{suffix}"
        )
        services.create_police_room(
            community=community, name=f"新建警务室{suffix}", address="地址", lng=118.6, lat=24.9,
            public_phone="0595-22000100",
        )  # fmt: skip
        grid = services.create_grid(
            community=community, name=f"新建网格{suffix}", code=f"35050301900{suffix}",
            boundary=square(118.6 + i / 100, 24.95),
        )  # fmt: skip
        officer = make_staff(w.sub_bureau, w.s1, StaffKind.POLICE, f"新警{suffix}")
        post = services.assign_to_grid(grid=grid, staff=officer, position="officer", started_on=TODAY)
        aux = make_staff(w.sub_bureau, w.s1, StaffKind.AUXILIARY, f"新协{suffix}")
        services.assign_to_grid(grid=grid, staff=aux, position="auxiliary", started_on=TODAY)
        services.request_departure(post, leave_on=LATER, reason="调动", by=w.director)
        services.request_secondment(
            staff=officer, purpose="专项", destination="市局", starts_on=LATER, ends_on=LATER, by=w.director
        )


LIST_URLS = [
    "/api/v1/stations/", "/api/v1/communities/", "/api/v1/grids/", "/api/v1/police-rooms/", "/api/v1/staff/",
    "/api/v1/assignments/", "/api/v1/departure-requests/", "/api/v1/secondments/",
    "/api/v1/map/grids.geojson", "/api/v1/map/police-rooms.geojson",
    "/", "/org/", "/org/grids/", "/org/police-rooms/", "/org/staff/", "/org/staffing/", "/org/approvals/",
]  # fmt: skip


@pytest.mark.parametrize("user", ["leader", "director"])
def test_list_query_counts_do_not_grow_with_rows(w, user, django_assert_max_num_queries):
    grow(w, 1)  # at least one row of each: an empty list skips the page query
    client = api(w, user)
    for url in LIST_URLS:  # the first request of a session writes the session once
        client.get(url)
    baseline = {}
    for url in LIST_URLS:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        baseline[url] = len(queries)

    grow(w, 6, start=1)

    for url in LIST_URLS:
        with django_assert_max_num_queries(baseline[url], info=url):
            response = client.get(url)
        assert response.status_code == 200
