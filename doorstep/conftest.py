"""Shared fixtures: a small organisation and the named users of the permission matrix.

World (built through the services, like production data):
  station S1 (城东派出所): community C1 (grids A, B), community C2 (grid C)
  station S2 (清源派出所): community C3 (grid D)
Users: officer_a (grid A), officer_b (grid B), auxiliary_a (grid A), director (S1), director_s2 (S2),
dispatcher (S1), patrol (C1), leader (sub-bureau), evaluator, admin; `anonymous` is an unauthenticated client.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import pytest
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread
from rest_framework.test import APIClient

from doorstep.accounts.choices import Role
from doorstep.accounts.services import create_user
from doorstep.org import services
from doorstep.org.choices import Position, StaffKind
from doorstep.org.models import Community, Grid, GridAssignment, PoliceRoom, Staff, Station, SubBureau


class _SerialLiveServer(WSGIServer):
    """The browser tests' live server, one request at a time. Django gives the live server's threads the
    test's own in-memory SQLite connection; a page that fetches in parallel (the map's vector tiles) would
    interleave queries on that one connection. Not threaded, Django closes each connection after its
    response, so a browser's parallel connections simply queue."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)


LiveServerThread.server_class = _SerialLiveServer

PASSWORD = "Test-Passw0rd!"
TODAY = dt.date(2026, 11, 28)


def square(lng: float, lat: float, size: float = 0.01) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
        ],
    }


@dataclass
class World:
    sub_bureau: SubBureau
    s1: Station
    s2: Station
    c1: Community
    c2: Community
    c3: Community
    grid_a: Grid
    grid_b: Grid
    grid_c: Grid
    grid_d: Grid
    room_c1: PoliceRoom
    room_c3: PoliceRoom
    officer_a_staff: Staff
    officer_b_staff: Staff
    post_a: GridAssignment
    users: dict

    def __getattr__(self, name):  # world.director, world.officer_a, …
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)


_badges = iter(range(500000, 600000))


def make_staff(sb, station, kind, name="张三"):
    return services.create_staff(
        sub_bureau=sb,
        station=station,
        kind=kind,
        name=name,
        badge_number=f"{next(_badges):06d}",
        phone="13800001111",
    )


def build_world() -> World:
    sb = services.create_sub_bureau(name="测试分局", code="350503000000", division_code="350503")
    s1 = services.create_station(sub_bureau=sb, name="城东派出所", code="350503010000", lng=118.6, lat=24.9)
    s2 = services.create_station(sub_bureau=sb, name="清源派出所", code="350503020000", lng=118.62, lat=24.92)
    street = services.create_street(sub_bureau=sb, name="城东街道", code="350503001000")
    c1 = services.create_community(station=s1, street=street, name="西福社区", code="35050301001")
    c2 = services.create_community(station=s1, street=street, name="东星社区", code="35050301002")
    c3 = services.create_community(station=s2, street=street, name="仁风社区", code="35050302001")
    grid_a = services.create_grid(
        community=c1, name="西福第1网格", code="3505030100101", boundary=square(118.60, 24.90)
    )
    grid_b = services.create_grid(
        community=c1, name="西福第2网格", code="3505030100102", boundary=square(118.61, 24.90)
    )
    grid_c = services.create_grid(
        community=c2, name="东星第1网格", code="3505030100201", boundary=square(118.60, 24.91)
    )
    grid_d = services.create_grid(
        community=c3, name="仁风第1网格", code="3505030200101", boundary=square(118.62, 24.92)
    )
    room_c1 = services.create_police_room(
        community=c1,
        name="西福警务室",
        address="西福社区服务中心",
        lng=118.605,
        lat=24.905,
        public_phone="0595-22000001",
    )
    services.create_police_room(
        community=c2,
        name="东星警务室",
        address="东星社区服务中心",
        lng=118.605,
        lat=24.915,
        public_phone="0595-22000002",
    )
    room_c3 = services.create_police_room(
        community=c3,
        name="仁风警务室",
        address="仁风社区服务中心",
        lng=118.625,
        lat=24.925,
        public_phone="0595-22000003",
    )
    officer_a = make_staff(sb, s1, StaffKind.POLICE, "刘芳")
    officer_b = make_staff(sb, s1, StaffKind.POLICE, "杨凯")
    aux_a = make_staff(sb, s1, StaffKind.AUXILIARY, "翁磊")
    post_a = services.assign_to_grid(
        grid=grid_a, staff=officer_a, position=Position.OFFICER, started_on=TODAY - dt.timedelta(days=400)
    )
    services.assign_to_grid(
        grid=grid_b, staff=officer_b, position=Position.OFFICER, started_on=TODAY - dt.timedelta(days=2000)
    )
    services.assign_to_grid(
        grid=grid_a, staff=aux_a, position=Position.AUXILIARY, started_on=TODAY - dt.timedelta(days=100)
    )
    officer_d = make_staff(sb, s2, StaffKind.POLICE, "黄明")
    services.assign_to_grid(
        grid=grid_d, staff=officer_d, position=Position.OFFICER, started_on=TODAY - dt.timedelta(days=100)
    )
    director_staff = make_staff(sb, s1, StaffKind.LEADER, "林梅")
    director2_staff = make_staff(sb, s2, StaffKind.LEADER, "蔡文")
    users = {
        "officer_a": create_user(username="officer_a", password=PASSWORD, role=Role.OFFICER, staff=officer_a),
        "officer_b": create_user(username="officer_b", password=PASSWORD, role=Role.OFFICER, staff=officer_b),
        "auxiliary_a": create_user(
            username="auxiliary_a", password=PASSWORD, role=Role.AUXILIARY, staff=aux_a
        ),
        "director": create_user(
            username="director", password=PASSWORD, role=Role.DIRECTOR, station=s1, staff=director_staff
        ),
        "director_s2": create_user(
            username="director_s2", password=PASSWORD, role=Role.DIRECTOR, station=s2, staff=director2_staff
        ),
        "dispatcher": create_user(username="dispatcher", password=PASSWORD, role=Role.DISPATCHER, station=s1),
        "patrol": create_user(username="patrol", password=PASSWORD, role=Role.PATROL, community=c1),
        "leader": create_user(username="leader", password=PASSWORD, role=Role.LEADER, sub_bureau=sb),
        "evaluator": create_user(username="evaluator", password=PASSWORD, role=Role.EVALUATOR, sub_bureau=sb),
        "admin": create_user(username="admin", password=PASSWORD, role=Role.ADMIN, sub_bureau=sb),
    }
    return World(
        sb,
        s1,
        s2,
        c1,
        c2,
        c3,
        grid_a,
        grid_b,
        grid_c,
        grid_d,
        room_c1,
        room_c3,
        officer_a,
        officer_b,
        post_a,
        users,
    )


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def client_for(client):
    """client_for(user) → a Django test client logged in as that user (None → anonymous)."""
    from django.test import Client

    def make(user):
        c = Client()
        if user is not None:
            c.force_login(user)
        return c

    return make


@pytest.fixture
def api_for():
    def make(user):
        c = APIClient()
        if user is not None:
            c.force_authenticate(user)
        return c

    return make


def require_service(name: str, host: str, port: int) -> None:
    """Skip loudly when a real service is missing, or fail when CI demands it (DOORSTEP_REQUIRE_SERVICES)."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError:
        message = f"!!! {name} is not reachable at {host}:{port} — this test needs the real {name}"
        if os.environ.get("DOORSTEP_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Argon2 is deliberately slow; the suite hashes with MD5 except where a test asks for the real hasher."""
    from django.test import override_settings

    with override_settings(
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher",
            "django.contrib.auth.hashers.Argon2PasswordHasher",
        ]
    ):
        yield


@pytest.fixture(autouse=True)
def _dispatch_texts_finished():
    """A dispatch sends its text on a thread after the commit (alarms/notify.py); the thread writes an audit
    row. Wait for it before the test's database is cleaned, so no row lands in the next test."""
    yield
    from doorstep.alarms import notify

    notify.wait(10)
