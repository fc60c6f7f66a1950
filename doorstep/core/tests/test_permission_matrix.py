"""The permission matrix: every page and API endpoint × the named users.

Rules checked (ARCHITECTURE.md, "Five rules"): anonymous callers are sent to the login page (pages) or get
401 (API); every read is scoped by `Territory.for_user`; an object outside the user's territory is a 404,
never a 403; a user who may see an object but not act on it gets a 403 with a `detail`; a refused action
writes nothing and no audit entry.

`test_every_route_is_in_the_matrix` walks the URL resolver, so a new page or endpoint fails the suite until
it is added to the tables below.

The world is built once per module inside an outer transaction; each test runs in a savepoint that is
rolled back (pytest-django's `db`), so the writes of the action matrix do not leak between rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient, ForceAuthClientHandler

from doorstep.accounts.models import ApiToken, User
from doorstep.accounts.services import issue_token
from doorstep.audit.models import AuditEntry
from doorstep.conftest import TODAY, World, build_world, make_staff
from doorstep.mobile import access as mobile_access
from doorstep.org import services
from doorstep.org.choices import Position, StaffKind
from doorstep.org.models import GridAssignment, PoliceRoom

LOGIN_URL = "/accounts/login/"
# The smallest valid PNG (1×1, transparent): a staff photo.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)

# --- who sees what ----------------------------------------------------------------------------------------
# Objects of the matrix world, by resource. Keys: S1/S2 stations, C1–C3 communities, A–D grids, R1–R3 police
# rooms (R2 is C2's), staff_* people, post_* grid posts, dep_* departure requests, sec_* secondments.
S1_STAFF = {"staff_a", "staff_b", "staff_c"}
S1_POSTS = {"post_a", "post_b", "post_b2", "post_c"}
EVERYTHING = {
    "stations": {"S1", "S2"},
    "communities": {"C1", "C2", "C3"},
    "grids": {"A", "B", "C", "D"},
    "rooms": {"R1", "R2", "R3"},
    "staff": S1_STAFF | {"staff_d", "staff_dir2", "staff_e"},
    "assignments": S1_POSTS | {"post_d"},
    "departures": {"dep_a", "dep_b", "dep_d"},
    "secondments": {"sec_b", "sec_d"},
}
GRID_A = {
    "stations": {"S1"},
    "communities": {"C1"},
    "grids": {"A"},
    "rooms": {"R1"},
    "staff": S1_STAFF,  # staff hang off the station: colleagues are visible, their grids are not
    "assignments": {"post_a"},
    "departures": {"dep_a"},
    "secondments": {"sec_b"},  # secondments hang off the staff member's station
}
STATION_S1 = {
    "stations": {"S1"},
    "communities": {"C1", "C2"},
    "grids": {"A", "B", "C"},
    "rooms": {"R1", "R2"},
    "staff": S1_STAFF,
    "assignments": S1_POSTS,
    "departures": {"dep_a", "dep_b"},
    "secondments": {"sec_b"},
}
SEES: dict[str, dict[str, set[str]]] = {
    "officer_a": GRID_A,
    "auxiliary_a": GRID_A,
    "officer_b": {
        **GRID_A,
        "grids": {"B"},
        "assignments": {"post_b", "post_b2"},
        "departures": {"dep_b"},
    },
    "patrol": {  # community C1
        **GRID_A,
        "grids": {"A", "B"},
        "assignments": {"post_a", "post_b", "post_b2"},
        "departures": {"dep_a", "dep_b"},
    },
    "director": STATION_S1,
    "dispatcher": STATION_S1,
    "director_s2": {
        "stations": {"S2"},
        "communities": {"C3"},
        "grids": {"D"},
        "rooms": {"R3"},
        "staff": {"staff_d", "staff_dir2", "staff_e"},
        "assignments": {"post_d"},
        "departures": {"dep_d"},
        "secondments": {"sec_d"},
    },
    "leader": EVERYTHING,
    "evaluator": EVERYTHING,
    "admin": EVERYTHING,
}
SIGNED_IN = list(SEES)
# One user per kind of territory for the visibility tables (the other roles map onto these scopes, which
# org/tests/test_territory.py checks); every signed-in role still meets the pages, audit and actions below.
VISIBILITY_USERS = ["officer_a", "officer_b", "patrol", "director", "director_s2", "leader"]
CORE_USERS = ["officer_a", "officer_b", "director", "director_s2", "leader"]
AUDITORS = {"leader", "evaluator", "admin"}
# May edit a police room / manage posts of a station: its director, or a system administrator.
MANAGES = {"director": {"S1"}, "director_s2": {"S2"}, "admin": {"S1", "S2"}}

API_RESOURCES = {  # resource → URL prefix under /api/v1/
    "stations": "stations",
    "communities": "communities",
    "grids": "grids",
    "rooms": "police-rooms",
    "staff": "staff",
    "assignments": "assignments",
    "departures": "departure-requests",
    "secondments": "secondments",
}


@dataclass
class Matrix:
    world: World
    objects: dict[str, dict[str, Any]]  # resource → key → model instance
    users: dict[str, User]
    token: ApiToken
    token_key: str
    sessions: dict[str, str]  # user name → session key, signed in once for the module

    def pk(self, resource: str, key: str) -> int:
        return self.objects[resource][key].pk

    def keys(self, resource: str, pks) -> set[str]:
        """The matrix keys of the given primary keys (objects the matrix does not track are dropped)."""
        by_pk = {obj.pk: key for key, obj in self.objects[resource].items()}
        return {by_pk[pk] for pk in pks if pk in by_pk}


def build_matrix() -> Matrix:
    w = build_world()
    director, director_s2 = w.users["director"], w.users["director_s2"]
    post_b = GridAssignment.objects.get(grid=w.grid_b, staff=w.officer_b_staff)
    post_d = GridAssignment.objects.get(grid=w.grid_d, position=Position.OFFICER)
    # A second officer on grid B (a handover overlap) and a new officer on grid C, both with short tenure.
    staff_b2 = make_staff(w.sub_bureau, w.s1, StaffKind.POLICE, "郑涛")
    post_b2 = services.assign_to_grid(
        grid=w.grid_b, staff=staff_b2, position=Position.OFFICER, started_on=TODAY - dt.timedelta(days=30)
    )
    # Two people with photos, one per station: the photo view must scope like every other read.
    staff_c = services.create_staff(
        sub_bureau=w.sub_bureau, station=w.s1, kind=StaffKind.POLICE, name="吴敏", badge_number="700001",
        photo=ContentFile(PNG, name="c.png"),
    )  # fmt: skip
    staff_e = services.create_staff(
        sub_bureau=w.sub_bureau, station=w.s2, kind=StaffKind.POLICE, name="何静", badge_number="700002",
        photo=ContentFile(PNG, name="e.png"),
    )  # fmt: skip
    post_c = services.assign_to_grid(
        grid=w.grid_c, staff=staff_c, position=Position.OFFICER, started_on=TODAY - dt.timedelta(days=50)
    )
    make_staff(w.sub_bureau, w.s1, StaffKind.AUXILIARY, "陈静")  # unassigned: the assign action's subject
    leave_on = TODAY + dt.timedelta(days=30)
    dep_a = services.request_departure(
        w.post_a, leave_on=leave_on, reason="家庭原因", by=w.users["officer_a"]
    )
    dep_b = services.request_departure(post_b2, leave_on=leave_on, reason="工作调动", by=director)
    dep_d = services.request_departure(post_d, leave_on=leave_on, reason="工作调动", by=director_s2)
    window = {"starts_on": TODAY + dt.timedelta(days=10), "ends_on": TODAY + dt.timedelta(days=20)}
    sec_b = services.request_secondment(
        staff=w.officer_b_staff, purpose="专项行动", destination="市局", by=director, **window
    )
    sec_d = services.request_secondment(
        staff=post_d.staff, purpose="专项行动", destination="市局", by=director_s2, **window
    )
    token, key = issue_token(w.users["officer_a"], name="矩阵测试", by=None)
    sessions = {}
    for name, user in w.users.items():
        client = Client()
        client.force_login(user)
        sessions[name] = client.cookies[settings.SESSION_COOKIE_NAME].value
    objects = {
        "stations": {"S1": w.s1, "S2": w.s2},
        "communities": {"C1": w.c1, "C2": w.c2, "C3": w.c3},
        "grids": {"A": w.grid_a, "B": w.grid_b, "C": w.grid_c, "D": w.grid_d},
        "rooms": {"R1": w.room_c1, "R2": PoliceRoom.objects.get(community=w.c2), "R3": w.room_c3},
        "staff": {
            "staff_a": w.officer_a_staff,
            "staff_b": w.officer_b_staff,
            "staff_c": staff_c,
            "staff_d": post_d.staff,
            "staff_dir2": director_s2.staff,
            "staff_e": staff_e,
        },
        "assignments": {
            "post_a": w.post_a,
            "post_b": post_b,
            "post_b2": post_b2,
            "post_c": post_c,
            "post_d": post_d,
        },
        "departures": {"dep_a": dep_a, "dep_b": dep_b, "dep_d": dep_d},
        "secondments": {"sec_b": sec_b, "sec_d": sec_d},
    }
    return Matrix(w, objects, w.users, token, key, sessions)


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker):
    """The world, built once for the module inside a transaction that is rolled back at the end.

    Uploaded files (staff photos) go to in-memory storage, not to MEDIA_ROOT."""
    storage = override_settings(
        STORAGES={**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    )
    storage.enable()
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            data = build_matrix()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            storage.disable()
            raise
    yield data
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
    storage.disable()


@pytest.fixture
def m(matrix, db):
    """The module's world, with this test's writes in a savepoint that is rolled back."""
    return matrix


# A test client loads the middleware on its first request, and WhiteNoise (WHITENOISE_USE_FINDERS outside
# production) then indexes every static file, ~0.1 s a client. The matrix makes about a thousand requests, so
# its clients share one handler; it keeps no per-client state (users sign in through the session).
_HANDLER = ForceAuthClientHandler(enforce_csrf_checks=False)


def _client(cls, m: Matrix, name: str):
    client = cls()
    client.handler = _HANDLER
    if name != "anonymous":
        # A real session: each request loads the user afresh, as in production (the territory is cached on
        # the user object).
        client.cookies[settings.SESSION_COOKIE_NAME] = m.sessions[name]
    return client


def page_client(m: Matrix, name: str) -> Client:
    return _client(Client, m, name)


def api_client(m: Matrix, name: str) -> APIClient:
    return _client(APIClient, m, name)


def sees(user: str, resource: str, key: str) -> bool:
    return key in SEES[user][resource]


def assert_detail(response) -> None:
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"], body


# --- every route --------------------------------------------------------------------------------------------
# route name → (method, URL builder). Pages first, then the API.
Url = Callable[[Matrix], str]
PAGES: dict[str, tuple[str, Url]] = {
    "core:home": ("get", lambda m: "/"),
    "mobile:app": ("get", lambda m: "/m/"),
    "accounts:account": ("get", lambda m: "/accounts/me/"),
    "accounts:revoke_token": ("post", lambda m: f"/accounts/me/tokens/{m.token.pk}/revoke/"),
    # Two-factor login and 用户与安全: every signed-in user may verify, enrol and make recovery codes; the
    # administrator's pages are checked per role in test_user_security_pages_only_for_the_administrator and
    # accounts/tests/test_user_admin.py, the enforcement in accounts/tests/test_two_factor.py.
    "accounts:two_factor_verify": ("get", lambda m: "/accounts/two-factor/"),
    "accounts:two_factor_enrol": ("get", lambda m: "/accounts/two-factor/enrol/"),
    "accounts:recovery_codes": ("post", lambda m: "/accounts/me/recovery-codes/"),
    "accounts:user_list": ("get", lambda m: "/accounts/users/"),
    "accounts:user_reset_two_factor": (
        "post",
        lambda m: f"/accounts/users/{m.users['officer_b'].pk}/reset-two-factor/",
    ),
    "accounts:user_unlock": ("post", lambda m: f"/accounts/users/{m.users['officer_b'].pk}/unlock/"),
    "accounts:user_revoke_sessions": (
        "post",
        lambda m: f"/accounts/users/{m.users['officer_b'].pk}/sessions/revoke/",
    ),
    "accounts:user_revoke_token": ("post", lambda m: f"/accounts/users/tokens/{m.token.pk}/revoke/"),
    "org:station_list": ("get", lambda m: "/org/"),
    "org:station_detail": ("get", lambda m: f"/org/stations/{m.pk('stations', 'S1')}/"),
    "org:grid_list": ("get", lambda m: "/org/grids/"),
    "org:grid_detail": ("get", lambda m: f"/org/grids/{m.pk('grids', 'A')}/"),
    "org:grid_assign": ("post", lambda m: f"/org/grids/{m.pk('grids', 'A')}/assign/"),
    "org:assignment_end": ("get", lambda m: f"/org/assignments/{m.pk('assignments', 'post_a')}/end/"),
    "org:police_room_list": ("get", lambda m: "/org/police-rooms/"),
    "org:police_room_edit": ("get", lambda m: f"/org/police-rooms/{m.pk('rooms', 'R1')}/edit/"),
    "org:staff_list": ("get", lambda m: "/org/staff/"),
    "org:staff_new": ("get", lambda m: "/org/staff/new/"),
    "org:staff_detail": ("get", lambda m: f"/org/staff/{m.pk('staff', 'staff_c')}/"),
    "org:staff_photo": ("get", lambda m: f"/org/staff/{m.pk('staff', 'staff_c')}/photo/"),
    "org:staffing": ("get", lambda m: "/org/staffing/"),
    "org:approvals": ("get", lambda m: "/org/approvals/"),
    "org:calendar": ("get", lambda m: "/org/calendar/"),
    "org:calendar_set": ("post", lambda m: "/org/calendar/set/"),
    "org:calendar_clear": ("post", lambda m: "/org/calendar/1/clear/"),
    "org:departure_decide": ("post", lambda m: f"/org/departures/{m.pk('departures', 'dep_a')}/decide/"),
    "org:secondment_decide": ("post", lambda m: f"/org/secondments/{m.pk('secondments', 'sec_b')}/decide/"),
    "alarms:console": ("get", lambda m: "/alarms/console/"),
    "alarms:acknowledge": ("post", lambda m: "/alarms/1/acknowledge/"),
    "alarms:close": ("post", lambda m: "/alarms/1/close/"),
    "alarms:mine": ("get", lambda m: "/alarms/mine/"),
    "alarms:officers": ("get", lambda m: "/alarms/1/officers/"),
    "alarms:dispatch": ("post", lambda m: "/alarms/1/dispatch/"),
    "alarms:arrive": ("post", lambda m: "/alarms/1/arrive/"),
    "alarms:device_list": ("get", lambda m: "/alarms/devices/"),
    "alarms:device_new": ("get", lambda m: "/alarms/devices/new/"),
    "alarms:device_health": ("get", lambda m: "/alarms/devices/health/"),
    "alarms:device_detail": ("get", lambda m: "/alarms/devices/1/"),
    "alarms:device_edit": ("get", lambda m: "/alarms/devices/1/edit/"),
    "alarms:device_rotate": ("get", lambda m: "/alarms/devices/1/rotate/"),
    "alarms:device_set_active": ("post", lambda m: "/alarms/devices/1/active/"),
    "alarms:alert_clear": ("post", lambda m: "/alarms/device-alerts/1/clear/"),
    "alarms:drill_report": ("get", lambda m: "/alarms/drills/"),
    "alarms:drill_new": ("get", lambda m: "/alarms/drills/new/"),
    "alarms:drill_cancel": ("post", lambda m: "/alarms/drills/1/cancel/"),
    "alarms:stats": ("get", lambda m: "/alarms/stats/"),
    "alarms:stats_detail": ("get", lambda m: "/alarms/stats/detail/"),
    "alarms:stats_export": ("get", lambda m: "/alarms/stats/export/"),
    # Video patrol: the anonymous check here; the territory rows (director S1 vs S2, officer A vs grid B,
    # dispatcher, leader, roles without video) are in video/tests/test_pages.py, test_tours.py and test_live.py.
    "video:camera_list": ("get", lambda m: "/video/cameras/"),
    "video:camera_new": ("get", lambda m: "/video/cameras/new/"),
    "video:camera_detail": ("get", lambda m: "/video/cameras/1/"),
    "video:camera_edit": ("get", lambda m: "/video/cameras/1/edit/"),
    "video:camera_zones": ("post", lambda m: "/video/cameras/1/zones/"),
    "video:camera_snapshot": ("get", lambda m: "/video/cameras/1/snapshot.jpg"),
    "video:camera_live": ("get", lambda m: "/video/cameras/1/live.mjpg"),
    "video:camera_watch": ("get", lambda m: "/video/cameras/1/watch/"),
    "video:speaker_list": ("get", lambda m: "/video/speakers/"),
    "video:speaker_new": ("get", lambda m: "/video/speakers/new/"),
    "video:speaker_detail": ("get", lambda m: "/video/speakers/1/"),
    "video:speaker_edit": ("get", lambda m: "/video/speakers/1/edit/"),
    "video:group_list": ("get", lambda m: "/video/groups/"),
    "video:group_new": ("get", lambda m: "/video/groups/new/"),
    "video:group_edit": ("get", lambda m: "/video/groups/1/edit/"),
    "video:preset_list": ("get", lambda m: "/video/presets/"),
    "video:preset_new": ("get", lambda m: "/video/presets/new/"),
    "video:preset_edit": ("get", lambda m: "/video/presets/1/edit/"),
    "video:event_list": ("get", lambda m: "/video/events/"),
    "video:event": ("get", lambda m: "/video/events/1/"),
    "video:event_snapshot": ("get", lambda m: "/video/events/1/snapshot.jpg"),
    "video:event_handle": ("post", lambda m: "/video/events/1/handle/"),
    "video:broadcast_list": ("get", lambda m: "/video/broadcasts/"),
    "video:broadcast_new": ("post", lambda m: "/video/broadcasts/new/"),
    "video:broadcast": ("get", lambda m: "/video/broadcasts/1/"),
    "video:delivery_retry": ("post", lambda m: "/video/deliveries/1/retry/"),
    "video:broadcast_options": ("get", lambda m: "/video/broadcast-options.json"),
    "video:patrol": ("get", lambda m: "/video/patrol/"),
    "video:patrol_state": ("get", lambda m: "/video/patrol/state/"),
    "video:tour_list": ("get", lambda m: "/video/tours/"),
    "video:tour_new": ("get", lambda m: "/video/tours/new/"),
    "video:tour_edit": ("get", lambda m: "/video/tours/1/edit/"),
    "video:run_list": ("get", lambda m: "/video/tours/runs/"),
    "video:run_detail": ("get", lambda m: "/video/runs/1/"),
    "video:run_start": ("post", lambda m: "/video/runs/1/start/"),
    "video:run_finding": ("post", lambda m: "/video/runs/1/finding/"),
    "video:run_finish": ("post", lambda m: "/video/runs/1/finish/"),
    "video:finding_snapshot": ("get", lambda m: "/video/findings/1/snapshot.jpg"),
    # Police-room duty: territory rows in duty/tests/test_pages.py (officer A: R1; director: R1, R2; S2: R3).
    "duty:board": ("get", lambda m: "/duty/"),
    "duty:gaps": ("get", lambda m: "/duty/gaps/"),
    "duty:roster": ("get", lambda m: f"/duty/rooms/{m.pk('rooms', 'R1')}/roster/"),
    "duty:shift_new": ("get", lambda m: f"/duty/rooms/{m.pk('rooms', 'R1')}/shifts/new/"),
    "duty:copy_week": ("post", lambda m: f"/duty/rooms/{m.pk('rooms', 'R1')}/copy-week/"),
    "duty:shift_edit": ("get", lambda m: "/duty/shifts/1/edit/"),
    "duty:shift_delete": ("post", lambda m: "/duty/shifts/1/delete/"),
    "duty:clock": ("get", lambda m: "/duty/clock/"),
    "duty:clock_in": ("post", lambda m: "/duty/clock/in/"),
    "duty:clock_out": ("post", lambda m: "/duty/clock/out/"),
    # Training: territory rows in duty/tests/test_training.py.
    "duty:training_courses": ("get", lambda m: "/duty/training/"),
    "duty:training_course_new": ("get", lambda m: "/duty/training/courses/new/"),
    "duty:training_course": ("get", lambda m: "/duty/training/courses/1/"),
    "duty:training_course_edit": ("get", lambda m: "/duty/training/courses/1/edit/"),
    "duty:training_enrol": ("get", lambda m: "/duty/training/courses/1/enrol/"),
    "duty:training_attendance": ("post", lambda m: "/duty/training/courses/1/attendance/"),
    "duty:training_mentorship_new": ("get", lambda m: "/duty/training/courses/1/mentorships/new/"),
    "duty:training_withdraw": ("post", lambda m: "/duty/training/enrolments/1/withdraw/"),
    "duty:training_assess": ("get", lambda m: "/duty/training/enrolments/1/assess/"),
    "duty:training_person": ("get", lambda m: f"/duty/training/people/{m.pk('staff', 'staff_a')}/"),
    "duty:training_station": ("get", lambda m: f"/duty/training/stations/{m.pk('stations', 'S1')}/"),
    "duty:training_items": ("get", lambda m: "/duty/training/items/"),
    # Field days: territory rows in duty/tests/test_field_days.py (director: S1 officers; S2 director: 404).
    "duty:field_report": ("get", lambda m: "/duty/field-days/"),
    "duty:field_mine": ("get", lambda m: "/duty/field-days/mine/"),
    "duty:field_week": ("get", lambda m: "/duty/field-days/staff/1/"),
    # Station duty rosters: territory rows in duty/tests/test_station_duty.py.
    "duty:station_index": ("get", lambda m: "/duty/station/"),
    "duty:station_week": ("get", lambda m: f"/duty/station/{m.pk('stations', 'S1')}/week/"),
    "duty:station_assign": ("post", lambda m: f"/duty/station/{m.pk('stations', 'S1')}/assign/"),
    "duty:station_copy_week": ("post", lambda m: f"/duty/station/{m.pk('stations', 'S1')}/copy-week/"),
    "duty:station_shifts": ("get", lambda m: f"/duty/station/{m.pk('stations', 'S1')}/shifts/"),
    "duty:station_exceptions": ("get", lambda m: f"/duty/station/{m.pk('stations', 'S1')}/exceptions/"),
    "duty:station_swaps": ("get", lambda m: f"/duty/station/{m.pk('stations', 'S1')}/swaps/"),
    "duty:station_unassign": ("post", lambda m: "/duty/station/assignments/1/delete/"),
    "duty:station_swap_new": ("get", lambda m: "/duty/station/assignments/1/swap/"),
    "duty:station_exception_revoke": ("post", lambda m: "/duty/station/exceptions/1/revoke/"),
    "duty:station_swap_decide": ("post", lambda m: "/duty/station/swaps/1/decide/"),
    # Dispute mediation: territory and role rows in mediation/tests/test_views.py.
    "mediation:index": ("get", lambda m: "/mediation/"),
    "mediation:list": ("get", lambda m: "/mediation/list/"),
    "mediation:new": ("get", lambda m: "/mediation/new/"),
    "mediation:stats": ("get", lambda m: "/mediation/stats/"),
    "mediation:types": ("get", lambda m: "/mediation/types/"),
    "mediation:type_new": ("get", lambda m: "/mediation/types/new/"),
    "mediation:type_edit": ("get", lambda m: "/mediation/types/1/edit/"),
    "mediation:detail": ("get", lambda m: "/mediation/1/"),
    "mediation:onsite": ("post", lambda m: "/mediation/1/onsite/"),
    "mediation:assign": ("post", lambda m: "/mediation/1/assign/"),
    "mediation:session": ("post", lambda m: "/mediation/1/session/"),
    "mediation:agreement": ("get", lambda m: "/mediation/1/agreement/"),
    "mediation:agreement_pdf": ("get", lambda m: "/mediation/1/agreement/1.pdf"),
    "mediation:no_agreement": ("post", lambda m: "/mediation/1/no-agreement/"),
    "mediation:escalate": ("post", lambda m: "/mediation/1/escalate/"),
    "mediation:refer": ("post", lambda m: "/mediation/1/refer/"),
    "mediation:reply": ("post", lambda m: "/mediation/1/referrals/1/reply/"),
    "mediation:follow_up": ("post", lambda m: "/mediation/1/follow-up/"),
    "mediation:rota": ("get", lambda m: "/mediation/rota/"),
    "mediation:rota_station": ("get", lambda m: f"/mediation/rota/{m.pk('stations', 'S1')}/"),
    "mediation:rota_generate": ("post", lambda m: f"/mediation/rota/{m.pk('stations', 'S1')}/generate/"),
    "mediation:rota_swap": ("post", lambda m: f"/mediation/rota/{m.pk('stations', 'S1')}/swap/"),
    "mediation:rota_assign": ("post", lambda m: f"/mediation/rota/{m.pk('stations', 'S1')}/assign/"),
    "mediation:rota_leave": ("post", lambda m: f"/mediation/rota/{m.pk('stations', 'S1')}/leave/"),
    # Patrols, teams, meetings and publicity: territory and role rows in patrol/tests/test_*pages.py.
    "patrol:index": ("get", lambda m: "/patrol/"),
    "patrol:tracks_geojson": ("get", lambda m: "/patrol/map/tracks.geojson"),
    "patrol:findings_geojson": ("get", lambda m: "/patrol/map/findings.geojson"),
    "patrol:coverage_geojson": ("get", lambda m: "/patrol/map/coverage.geojson"),
    "patrol:run": ("get", lambda m: "/patrol/run/"),
    "patrol:run_start": ("post", lambda m: "/patrol/run/start/"),
    "patrol:run_list": ("get", lambda m: "/patrol/runs/"),
    "patrol:run_detail": ("get", lambda m: "/patrol/runs/1/"),
    "patrol:run_points": ("post", lambda m: "/patrol/runs/1/points/"),
    "patrol:run_finding": ("post", lambda m: "/patrol/runs/1/findings/"),
    "patrol:run_finish": ("post", lambda m: "/patrol/runs/1/finish/"),
    "patrol:run_void": ("post", lambda m: "/patrol/runs/1/void/"),
    "patrol:finding_photo": ("get", lambda m: "/patrol/findings/1/photo/"),
    "patrol:plan_list": ("get", lambda m: "/patrol/plans/"),
    "patrol:plan_new": ("get", lambda m: "/patrol/plans/new/"),
    "patrol:plan_edit": ("get", lambda m: "/patrol/plans/1/edit/"),
    "patrol:zones": ("get", lambda m: "/patrol/zones/"),
    "patrol:zone_new": ("get", lambda m: "/patrol/zones/new/"),
    "patrol:zone_edit": ("get", lambda m: "/patrol/zones/1/edit/"),
    "patrol:teams": ("get", lambda m: "/patrol/teams/"),
    "patrol:team_new": ("get", lambda m: "/patrol/teams/new/"),
    "patrol:team_detail": ("get", lambda m: "/patrol/teams/1/"),
    "patrol:team_edit": ("get", lambda m: "/patrol/teams/1/edit/"),
    "patrol:member_new": ("post", lambda m: "/patrol/teams/1/members/"),
    "patrol:member_leave": ("post", lambda m: "/patrol/members/1/leave/"),
    "patrol:meetings": ("get", lambda m: "/patrol/meetings/"),
    "patrol:meeting_new": ("get", lambda m: "/patrol/meetings/new/"),
    "patrol:meeting_detail": ("get", lambda m: "/patrol/meetings/1/"),
    "patrol:meeting_photo": ("get", lambda m: "/patrol/meetings/1/photo/"),
    "patrol:issue_new": ("post", lambda m: "/patrol/meetings/1/issues/"),
    "patrol:issue_answer": ("post", lambda m: "/patrol/issues/1/answer/"),
    "patrol:campaigns": ("get", lambda m: "/patrol/publicity/"),
    "patrol:campaign_new": ("get", lambda m: "/patrol/publicity/campaigns/new/"),
    "patrol:campaign_detail": ("get", lambda m: "/patrol/publicity/campaigns/1/"),
    "patrol:event_new": ("get", lambda m: "/patrol/publicity/events/new/"),
    "patrol:event_detail": ("get", lambda m: "/patrol/publicity/events/1/"),
    "patrol:event_photo": ("get", lambda m: "/patrol/publicity/events/1/photo/"),
    "patrol:posts": ("get", lambda m: "/patrol/publicity/posts/"),
    "patrol:post_new": ("get", lambda m: "/patrol/publicity/posts/new/"),
    "patrol:post_edit": ("get", lambda m: "/patrol/publicity/posts/1/edit/"),
    "patrol:post_publish": ("post", lambda m: "/patrol/publicity/posts/1/publish/"),
    # Evaluation: territory and role rows in evaluation/tests/test_*pages.py.
    "evaluation:index": ("get", lambda m: "/evaluation/"),
    "evaluation:kpi_detail": ("get", lambda m: "/evaluation/kpis/mediation_success/"),
    "evaluation:settings": ("get", lambda m: "/evaluation/settings/"),
    "evaluation:incidents": ("get", lambda m: "/evaluation/incidents/"),
    "evaluation:incident_new": ("get", lambda m: "/evaluation/incidents/new/"),
    "evaluation:incident_import": ("get", lambda m: "/evaluation/incidents/import/"),
    "evaluation:incident_template": ("get", lambda m: "/evaluation/incidents/template.xlsx"),
    "evaluation:incident_edit": ("get", lambda m: "/evaluation/incidents/1/edit/"),
    "evaluation:incident_delete": ("post", lambda m: "/evaluation/incidents/1/delete/"),
    "evaluation:baselines": ("get", lambda m: "/evaluation/baselines/"),
    "evaluation:baseline_new": ("get", lambda m: "/evaluation/baselines/new/"),
    "evaluation:verifications": ("get", lambda m: "/evaluation/verifications/"),
    "evaluation:verification_new": ("get", lambda m: "/evaluation/verifications/new/"),
    "evaluation:grid_kpis_geojson": ("get", lambda m: "/evaluation/map/grids.geojson"),
    "evaluation:reviews": ("get", lambda m: "/evaluation/reviews/"),
    "evaluation:review_generate": ("post", lambda m: "/evaluation/reviews/generate/"),
    "evaluation:review_ranking": ("get", lambda m: "/evaluation/reviews/ranking/"),
    "evaluation:review_history": ("get", lambda m: "/evaluation/reviews/history/staff/1/"),
    "evaluation:review_detail": ("get", lambda m: "/evaluation/reviews/1/"),
    "evaluation:review_submit": ("post", lambda m: "/evaluation/reviews/1/submit/"),
    "evaluation:review_signoff": ("post", lambda m: "/evaluation/reviews/1/signoff/"),
    "evaluation:spotchecks": ("get", lambda m: "/evaluation/spotchecks/"),
    "evaluation:spotcheck_draw": ("post", lambda m: "/evaluation/spotchecks/draw/"),
    "evaluation:spotcheck_detail": ("get", lambda m: "/evaluation/spotchecks/1/"),
    "evaluation:spotcheck_record": ("post", lambda m: "/evaluation/spotchecks/items/1/record/"),
    "evaluation:links": ("get", lambda m: "/evaluation/links/"),
    "evaluation:link_new": ("get", lambda m: "/evaluation/links/new/"),
    "evaluation:link_end": ("post", lambda m: "/evaluation/links/leader/1/end/"),
    "evaluation:inspections": ("get", lambda m: "/evaluation/inspections/"),
    "evaluation:inspection_new": ("get", lambda m: "/evaluation/inspections/new/"),
    "evaluation:inspection_detail": ("get", lambda m: "/evaluation/inspections/1/"),
    "evaluation:followup_done": ("post", lambda m: "/evaluation/followups/1/done/"),
    "evaluation:bulletins": ("get", lambda m: "/evaluation/bulletins/"),
    "evaluation:bulletin_new": ("post", lambda m: "/evaluation/bulletins/new/"),
    "evaluation:bulletin_detail": ("get", lambda m: "/evaluation/bulletins/1/"),
    "evaluation:bulletin_publish": ("post", lambda m: "/evaluation/bulletins/1/publish/"),
    "evaluation:bulletin_pdf": ("get", lambda m: "/evaluation/bulletins/1.pdf"),
    "evaluation:bulletin_xlsx": ("get", lambda m: "/evaluation/bulletins/1.xlsx"),
    "evaluation:stars": ("get", lambda m: "/evaluation/stars/"),
    "evaluation:star_candidates": ("get", lambda m: "/evaluation/stars/candidates/"),
    "evaluation:star_confirm": ("post", lambda m: "/evaluation/stars/confirm/"),
    "evaluation:star_annual": ("get", lambda m: "/evaluation/stars/annual/"),
    # Police-room service desk: territory rows in desk/tests/test_views.py.
    "desk:index": ("get", lambda m: "/desk/"),
    "desk:room": ("get", lambda m: "/desk/rooms/1/"),
    "desk:intake_new": ("get", lambda m: "/desk/rooms/1/new/household/"),
    "desk:item_list": ("get", lambda m: "/desk/items/"),
    "desk:item": ("get", lambda m: "/desk/items/1/"),
    "desk:item_transition": ("post", lambda m: "/desk/items/1/transition/"),
    "desk:item_documents": ("post", lambda m: "/desk/items/1/documents/"),
    "desk:item_assign": ("post", lambda m: "/desk/items/1/assign/"),
    "desk:receipt": ("get", lambda m: "/desk/items/1/receipt/"),
    "desk:lookup": ("post", lambda m: "/desk/lookup/"),
    "desk:type_list": ("get", lambda m: "/desk/types/"),
    "desk:type_new": ("get", lambda m: "/desk/types/new/"),
    "desk:type_edit": ("get", lambda m: "/desk/types/1/edit/"),
    # 五统一 inspections: territory rows in desk/tests/test_inspections.py.
    "desk:inspection_overview": ("get", lambda m: "/desk/inspections/"),
    "desk:inspection_rooms_geojson": ("get", lambda m: "/desk/inspections/rooms.geojson"),
    "desk:inspection_room": ("get", lambda m: "/desk/inspections/rooms/1/"),
    "desk:inspection_start": ("post", lambda m: "/desk/inspections/rooms/1/start/"),
    "desk:inspection_detail": ("get", lambda m: "/desk/inspections/1/"),
    "desk:inspection_edit": ("get", lambda m: "/desk/inspections/1/edit/"),
    "desk:inspection_photo": ("get", lambda m: "/desk/inspections/photos/1/"),
    "desk:inspection_tasks": ("get", lambda m: "/desk/inspections/tasks/"),
    "desk:inspection_task": ("get", lambda m: "/desk/inspections/tasks/1/"),
    "desk:inspection_task_photo": ("get", lambda m: "/desk/inspections/tasks/1/photo/"),
    "desk:inspection_checklist": ("get", lambda m: "/desk/inspections/checklist/"),
    "desk:inspection_checklist_edit": ("get", lambda m: "/desk/inspections/checklist/edit/"),
    "maps:map": ("get", lambda m: "/map/"),
    "maps:style": ("get", lambda m: "/map/style.json"),
    "maps:house_panel": ("get", lambda m: "/map/houses/1/panel/"),
    "audit:log": ("get", lambda m: "/audit/"),
    # Registry pages: the anonymous check only (no registry objects in this world, ids are placeholders); their
    # territory rows (officer A vs B, director S1 vs S2, leader, dispatcher) are in registry/tests/test_views.py.
    "registry:index": ("get", lambda m: "/registry/"),
    "registry:address_list": ("get", lambda m: "/registry/addresses/"),
    "registry:address_new": ("get", lambda m: "/registry/addresses/new/"),
    "registry:address_detail": ("get", lambda m: "/registry/addresses/1/"),
    "registry:address_edit": ("get", lambda m: "/registry/addresses/1/edit/"),
    "registry:address_review": ("post", lambda m: "/registry/addresses/1/review/"),
    "registry:house_list": ("get", lambda m: "/registry/houses/"),
    "registry:house_new": ("get", lambda m: "/registry/houses/new/"),
    "registry:house_detail": ("get", lambda m: "/registry/houses/1/"),
    "registry:house_edit": ("get", lambda m: "/registry/houses/1/edit/"),
    "registry:household_list": ("get", lambda m: "/registry/households/"),
    "registry:household_new": ("get", lambda m: "/registry/households/new/"),
    "registry:household_detail": ("get", lambda m: "/registry/households/1/"),
    "registry:household_visit": ("get", lambda m: "/registry/households/1/visit/"),
    "registry:household_member_add": ("post", lambda m: "/registry/households/1/members/"),
    "registry:household_member_remove": ("post", lambda m: "/registry/households/1/members/1/remove/"),
    "registry:visit_photo": ("get", lambda m: "/registry/visits/1/photo/"),
    "registry:person_list": ("get", lambda m: "/registry/persons/"),
    "registry:person_new": ("get", lambda m: "/registry/persons/new/"),
    "registry:person_detail": ("get", lambda m: "/registry/persons/1/"),
    "registry:person_edit": ("get", lambda m: "/registry/persons/1/edit/"),
    "registry:concern_request": ("post", lambda m: "/registry/persons/1/concerns/"),
    "registry:unit_list": ("get", lambda m: "/registry/units/"),
    "registry:unit_new": ("get", lambda m: "/registry/units/new/"),
    "registry:unit_detail": ("get", lambda m: "/registry/units/1/"),
    "registry:unit_edit": ("get", lambda m: "/registry/units/1/edit/"),
    "registry:concern_list": ("get", lambda m: "/registry/concerns/"),
    "registry:concern_approvals": ("get", lambda m: "/registry/concerns/approvals/"),
    "registry:concern_delist": ("post", lambda m: "/registry/concerns/1/delist/"),
    "registry:concern_reclass": ("post", lambda m: "/registry/concerns/1/reclass/"),
    "registry:concern_transfer": ("post", lambda m: "/registry/concerns/1/transfer/"),
    "registry:concern_decide": ("post", lambda m: "/registry/concerns/1/decide/"),
    "registry:todo": ("get", lambda m: "/registry/todo/"),
    "registry:search": ("get", lambda m: "/registry/search/"),
    "registry:rules": ("get", lambda m: "/registry/rules/"),
    # The staff side of the portal (网上警务); scoping rows in portal/tests/test_inbox.py, test_surveys.py,
    # test_notices.py and test_qr.py.
    "evaluation:kpi_records": ("get", lambda m: "/evaluation/records/visit_rate/"),
    "audit:review": ("get", lambda m: "/audit/review/"),
    "audit:review_export": ("get", lambda m: "/audit/review/export/"),
    "online:index": ("get", lambda m: "/online/"),
    "online:item": ("get", lambda m: "/online/items/1/"),
    "online:item_photo": ("get", lambda m: "/online/items/1/photo"),
    "online:slots": ("get", lambda m: "/online/slots/"),
    "online:slot_cancel": ("post", lambda m: "/online/slots/1/cancel/"),
    "online:notices": ("get", lambda m: "/online/notices/"),
    "online:notice_new": ("get", lambda m: "/online/notices/new/"),
    "online:notice_edit": ("get", lambda m: "/online/notices/1/edit/"),
    "online:notice_publish": ("post", lambda m: "/online/notices/1/publish/"),
    "online:notice_withdraw": ("post", lambda m: "/online/notices/1/withdraw/"),
    "online:surveys": ("get", lambda m: "/online/surveys/"),
    "online:survey_new": ("get", lambda m: "/online/surveys/new/"),
    "online:survey_responses": ("get", lambda m: "/online/surveys/responses/"),
    "online:survey_detail": ("get", lambda m: "/online/surveys/1/"),
    "online:survey_edit": ("get", lambda m: "/online/surveys/1/edit/"),
    "online:survey_open": ("post", lambda m: "/online/surveys/1/open/"),
    "online:survey_close": ("post", lambda m: "/online/surveys/1/close/"),
    "online:survey_qr_pdf": ("get", lambda m: "/online/surveys/1/qr.pdf"),
    "online:qr": ("get", lambda m: "/online/qr/"),
    "online:qr_grid_pdf": ("get", lambda m: "/online/qr/1.pdf"),
    "online:qr_community_pdf": ("get", lambda m: "/online/qr/community/1.pdf"),
}
PUBLIC_PAGES = {"accounts:login": "/accounts/login/", "accounts:logout": "/accounts/logout/"}


def _api(prefix: str, key: tuple[str, str] | None = None, action: str = "") -> Url:
    def url(m: Matrix) -> str:
        path = f"/api/v1/{prefix}/"
        if key:
            path += f"{m.pk(*key)}/"
        return path + (f"{action}/" if action else "")

    return url


APIS: dict[str, tuple[str, Url]] = {
    "api:api-root": ("get", lambda m: "/api/v1/"),
    "api-schema": ("get", lambda m: "/api/schema/"),
    "api-docs": ("get", lambda m: "/api/docs/"),
    "api:map-grids": ("get", lambda m: "/api/v1/map/grids.geojson"),
    "api:map-police-rooms": ("get", lambda m: "/api/v1/map/police-rooms.geojson"),
    # House tiles, summary and GeoJSON: territory rows in maps/tests/test_tiles.py.
    "api:map-house-tile": ("get", lambda m: "/api/v1/map/tiles/houses/16/53360/28490.mvt"),
    "api:map-house-summary": ("get", lambda m: "/api/v1/map/houses/summary/"),
    "api:map-houses": ("get", lambda m: "/api/v1/map/houses.geojson?bbox=118.5,24.8,118.7,25.0"),
    "api:map-units": ("get", lambda m: "/api/v1/map/units.geojson"),
    # Cameras and speakers: scoping rows in video/tests/test_map_layers.py.
    "api:map-cameras": ("get", lambda m: "/api/v1/map/cameras.geojson"),
    "api:map-speakers": ("get", lambda m: "/api/v1/map/speakers.geojson"),
    "api:station-list": ("get", _api("stations")),
    "api:station-detail": ("get", _api("stations", ("stations", "S1"))),
    "api:community-list": ("get", _api("communities")),
    "api:community-detail": ("get", _api("communities", ("communities", "C1"))),
    "api:grid-list": ("get", _api("grids")),
    "api:grid-detail": ("get", _api("grids", ("grids", "A"))),
    "api:police-room-list": ("get", _api("police-rooms")),
    "api:police-room-detail": ("get", _api("police-rooms", ("rooms", "R1"))),
    "api:staff-list": ("get", _api("staff")),
    "api:staff-detail": ("get", _api("staff", ("staff", "staff_a"))),
    "api:assignment-list": ("get", _api("assignments")),
    "api:assignment-detail": ("get", _api("assignments", ("assignments", "post_a"))),
    "api:assignment-end": ("post", _api("assignments", ("assignments", "post_b"), "end")),
    "api:departure-request-list": ("get", _api("departure-requests")),
    "api:departure-request-detail": ("get", _api("departure-requests", ("departures", "dep_a"))),
    "api:departure-request-approve": ("post", _api("departure-requests", ("departures", "dep_a"), "approve")),
    "api:departure-request-reject": ("post", _api("departure-requests", ("departures", "dep_a"), "reject")),
    "api:secondment-list": ("get", _api("secondments")),
    "api:secondment-detail": ("get", _api("secondments", ("secondments", "sec_b"))),
    "api:secondment-approve": ("post", _api("secondments", ("secondments", "sec_b"), "approve")),
    "api:secondment-reject": ("post", _api("secondments", ("secondments", "sec_b"), "reject")),
}
# The phone workspace's JSON API (/m/api/, ADR 0024): session-authenticated like the pages, but answering JSON —
# 401 with code "login" when signed out (the workspace keeps its queue and asks for a new login), 403 for a role
# without the workspace. The records themselves: mobile/tests/ (test_sync, test_today, test_lookup, test_grid_map).
WORKSPACE_API: dict[str, tuple[str, Url]] = {
    "mobile:api_today": ("get", lambda m: "/m/api/today"),
    "mobile:api_lookup": ("post", lambda m: "/m/api/lookup"),
    "mobile:api_person_phone": ("post", lambda m: f"/m/api/persons/{UNKNOWN_ID}/phone"),
    "mobile:api_grid": ("get", lambda m: "/m/api/grid"),
    "mobile:device_enrol": ("post", lambda m: "/m/api/device"),
    "mobile:device_revoke": ("post", lambda m: f"/m/api/device/{UNKNOWN_ID}/revoke"),
    "mobile:items": ("post", lambda m: "/m/api/items"),
    "mobile:item_resolve": ("post", lambda m: f"/m/api/items/{UNKNOWN_ID}/resolve"),
}
# Writes on list routes, checked anonymously on top of the GETs above.
API_WRITES = {
    "api:assignment-list": "post",
    "api:departure-request-list": "post",
    "api:secondment-list": "post",
    "api:police-room-detail": "patch",
}
EXEMPT = {
    "core:healthz": "liveness probe: public by design, no data, no database",
    "core:readyz": "readiness probe: public by design, reports only which dependency check failed",
    "core:metrics": "Prometheus scrape: limited by client address or bearer token (404 otherwise); tested in "
    "core/tests/test_metrics.py",
    "set_language": "Django's language switch: public by design, reads and writes no data",
    "favicon": "a redirect to the static site icon (browsers ask for it on PDFs and images): public, no data",
    "mobile:manifest": "the phone workspace's web app manifest: public like a static file, no data (ADR 0024)",
    "mobile:sw": "the phone workspace's service worker script: public like a static file, lists only static "
    "URLs (ADR 0024)",
    "api:alarm-events": "the alarm devices' receiver: authenticated by each device's HMAC signature, not by a "
    "user (refusals tested in alarms/tests/test_http_receiver.py)",
}
# Apps whose routes get only the generic checks below (anonymous refused, unknown ids never 200 or 5xx) until
# their territory rows are written here. Keep this short: every entry is a gap in the matrix.
PENDING_APPS = {
    "registry": "一标三实: the territory rows of every page and endpoint are in registry/tests/test_views.py and "
    "test_api.py, on a world with addresses, houses and persons; here only the generic checks"
}
UNKNOWN_ID = "987654321"


def _app(pattern: URLPattern) -> str:
    view = getattr(pattern.callback, "cls", pattern.callback)  # DRF viewsets: the class, not the dispatcher
    module = view.__module__.split(".")
    return module[1] if module[0] == "doorstep" else module[0]


def _routes(patterns, namespace=(), prefix=""):
    """(name, URL with UNKNOWN_ID for every parameter, app) of every route; format-suffix twins skipped."""
    for p in patterns:
        route = prefix + str(p.pattern).removeprefix("^").removesuffix("$")
        if isinstance(p, URLResolver):
            ns = (*namespace, p.namespace) if p.namespace else namespace
            yield from _routes(p.url_patterns, ns, route)
        elif (
            isinstance(p, URLPattern)
            and "format" not in getattr(p.pattern, "converters", {})
            and "(?P<format>" not in route
        ):
            url = "/" + re.sub(r"<(?:\w+:)?\w+>|\(\?P<\w+>[^)]*\)", UNKNOWN_ID, route)
            yield ":".join((*namespace, p.name or repr(p))), url, _app(p)


ALL_ROUTES = sorted(set(_routes(get_resolver().url_patterns)))


# The public portal (/portal/): open to everyone by design (ADR 0019), so not in the anonymous checks below;
# `test_portal_routes_answer_anyone_without_a_500` covers every one of its routes instead.
PORTAL_PUBLIC = {name for name, _, _ in ALL_ROUTES if name.startswith("portal:")}


def test_every_route_is_in_the_matrix():
    routes = {name for name, _, _ in ALL_ROUTES}
    pending = {name for name, _, app in ALL_ROUTES if app in PENDING_APPS}
    covered = set(PAGES) | set(PUBLIC_PAGES) | set(APIS) | set(WORKSPACE_API) | set(EXEMPT) | PORTAL_PUBLIC
    assert all(url.startswith("/portal/") for name, url, _ in ALL_ROUTES if name in PORTAL_PUBLIC)
    assert routes - covered - pending == set(), "add the new routes to the permission matrix"
    assert covered - routes == set(), "the matrix names routes that no longer exist"


GENERIC = [
    (name, url)
    for name, url, _ in ALL_ROUTES
    if name not in PUBLIC_PAGES and name not in EXEMPT and name not in PORTAL_PUBLIC
]


@pytest.mark.parametrize(("route", "url"), GENERIC, ids=[name for name, _ in GENERIC])
def test_anonymous_is_refused_by_every_route(m, route, url):
    """Every route the resolver knows, the listed and the pending: GET and POST both."""
    client = page_client(m, "anonymous")
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        if url.startswith("/api/"):
            assert response.status_code == 401, (method, url)
        elif url.startswith("/m/api/"):  # the phone workspace: JSON, so its page can ask for a new login
            assert response.status_code in (401, 405), (method, url)
            if response.status_code == 401:
                assert response.json()["code"] == "login", (method, url)
        else:  # 405: the view takes only the other method
            assert response.status_code in (302, 405), (method, url)
            if response.status_code == 302:
                assert response["Location"].startswith(f"{LOGIN_URL}?next="), (method, url)


WITH_ID = [
    (name, url)
    for name, url, _ in ALL_ROUTES
    if UNKNOWN_ID in url and name not in EXEMPT and name not in PORTAL_PUBLIC
]
PORTAL_ROUTES = [(name, url) for name, url, _ in ALL_ROUTES if name in PORTAL_PUBLIC]


@pytest.mark.parametrize("user", ["anonymous", "officer_a"])
@pytest.mark.parametrize(("route", "url"), PORTAL_ROUTES, ids=[name for name, _ in PORTAL_ROUTES])
def test_portal_routes_answer_anyone_without_a_500(m, route, url, user):
    """Every portal route, with an unknown and a 64-bit-overflowing id or code where it takes one: never a 5xx,
    an unknown object is a 404 (never 200 or 403), always the portal's CSP, never a staff session — a
    signed-in officer is anonymous there — and nothing written to the audit log."""
    client = page_client(m, user)
    audit_before = AuditEntry.objects.exclude(action="security.denied").count()
    for value in (UNKNOWN_ID, HUGE_ID):
        target = url.replace(UNKNOWN_ID, value)
        for method in ("get", "post"):
            response = getattr(client, method)(target)
            assert response.status_code < 500, (method, target, response.status_code)
            assert "default-src 'none'" in response["Content-Security-Policy"], (method, target)
            assert settings.SESSION_COOKIE_NAME not in response.cookies, (method, target)
            if response.wsgi_request.user.is_authenticated:
                raise AssertionError(f"the staff session reached {target}")
            if UNKNOWN_ID in url and method == "get":
                assert response.status_code in (404, 405), (method, target, response.status_code)
    assert AuditEntry.objects.exclude(action="security.denied").count() == audit_before


@pytest.mark.parametrize("user", ["officer_a", "leader"])  # the narrowest and the widest territory
@pytest.mark.parametrize(("route", "url"), WITH_ID, ids=[name for name, _ in WITH_ID])
def test_unknown_ids_are_404_for_everyone(m, route, url, user):
    client = api_client(m, user) if url.startswith("/api/") else page_client(m, user)
    audit_before = AuditEntry.objects.exclude(action="security.denied").count()
    for method, allowed in (("get", {403, 404, 405}), ("post", {400, 403, 404, 405})):
        response = getattr(client, method)(url)
        # 405: the view takes only the other method. 403: a role gate before any lookup, and 400: the (empty)
        # body checked before the lookup; both answer the same for every id, so they reveal nothing.
        assert response.status_code in allowed, (method, url, response.status_code)
    assert AuditEntry.objects.exclude(action="security.denied").count() == audit_before


HUGE_ID = "99999999999999999999"  # 20 digits: more than any 64-bit key (SQLite refuses the number itself)


@pytest.mark.parametrize(("route", "url"), WITH_ID, ids=[name for name, _ in WITH_ID])
def test_ids_beyond_64_bits_are_never_a_500(m, route, url):
    url = url.replace(UNKNOWN_ID, HUGE_ID)
    client = api_client(m, "leader") if url.startswith("/api/") else page_client(m, "leader")
    for method in ("get", "post"):
        assert getattr(client, method)(url).status_code < 500, (method, url)


# --- anonymous ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("route", sorted(PAGES))
def test_anonymous_is_sent_to_login_from_every_page(m, route):
    method, url = PAGES[route]
    path = url(m)

    response = getattr(page_client(m, "anonymous"), method)(path)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?next={path}"


def test_login_and_logout_pages_are_public(m):
    client = page_client(m, "anonymous")
    assert client.get(PUBLIC_PAGES["accounts:login"]).status_code == 200
    response = client.post(PUBLIC_PAGES["accounts:logout"])
    assert response.status_code == 302 and response["Location"] == LOGIN_URL


def test_signed_in_user_is_sent_home_from_login_page(m):
    response = page_client(m, "officer_a").get(PUBLIC_PAGES["accounts:login"])
    assert response.status_code == 302 and response["Location"] == "/"


@pytest.mark.parametrize(
    ("route", "method"),
    sorted([(r, spec[0]) for r, spec in APIS.items()] + list(API_WRITES.items())),
)
def test_anonymous_gets_401_from_every_api_endpoint(m, route, method):
    response = getattr(api_client(m, "anonymous"), method)(APIS[route][1](m), {}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    if route == "api-schema":  # OpenAPI YAML by default
        assert b"detail:" in response.content
    elif route != "api-docs":  # the Swagger UI page answers 401 in plain text
        assert_detail(response)


def test_bad_or_revoked_token_gets_401(m):
    client = api_client(m, "anonymous")
    client.credentials(HTTP_AUTHORIZATION="Token ds_not-a-real-key")
    response = client.get("/api/v1/grids/")
    assert response.status_code == 401
    assert_detail(response)


# --- open to every signed-in user ----------------------------------------------------------------------------
OPEN_TO_ALL = ["core:home", "accounts:account", "maps:map", "maps:style", "org:station_list", "org:grid_list",
               "org:police_room_list", "org:staff_list", "org:staffing", "org:approvals", "org:calendar",
               "api:api-root"]  # fmt: skip


@pytest.mark.parametrize("user", SIGNED_IN)
@pytest.mark.parametrize("route", OPEN_TO_ALL)
def test_signed_in_user_can_open(m, route, user):
    method, url = PAGES.get(route) or APIS[route]
    client = api_client(m, user) if route in APIS else page_client(m, user)

    response = getattr(client, method)(url(m))

    assert response.status_code == 200


@pytest.mark.parametrize("user", SIGNED_IN)
def test_the_phone_workspace_is_for_the_field_roles_only(m, user):
    """The workspace's page and today's work open for the grid team, directors and patrol members; every other
    role gets 403 with a `detail` from every workspace endpoint, and nothing is written."""
    client = page_client(m, user)
    audit_before = AuditEntry.objects.exclude(action="security.denied").count()
    if m.users[user].role in mobile_access.WORKSPACE_ROLES:
        assert client.get("/m/").status_code == 200
        assert client.get("/m/api/today").status_code == 200
        return
    assert client.get("/m/").status_code == 403
    for route, (method, url) in WORKSPACE_API.items():
        body = {"data": "{}", "content_type": "application/json"} if method == "post" else {}
        response = getattr(client, method)(url(m), **body)
        assert response.status_code == 403, (route, response.status_code)
        assert response.json()["detail"], route
    assert AuditEntry.objects.exclude(action="security.denied").count() == audit_before


@pytest.mark.parametrize("user", ["officer_a", "leader"])  # the same document for all: generating it is slow
def test_signed_in_user_can_read_the_api_schema_and_docs(m, user):
    client = api_client(m, user)

    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


USER_SECURITY_ROUTES = ["accounts:user_list", "accounts:user_reset_two_factor", "accounts:user_unlock",
                        "accounts:user_revoke_sessions", "accounts:user_revoke_token"]  # fmt: skip


@pytest.mark.parametrize("user", SIGNED_IN)
@pytest.mark.parametrize("route", USER_SECURITY_ROUTES)
def test_user_security_pages_only_for_the_administrator(m, route, user):
    method, url = PAGES[route]

    response = getattr(page_client(m, user), method)(url(m), {"reason": "矩阵测试"})

    if user == "admin":
        assert response.status_code == (200 if method == "get" else 302)
    else:
        assert response.status_code == 403
        acted = [
            "accounts.two_factor_reset",
            "accounts.unlock",
            "accounts.revoke_sessions",
            "accounts.revoke_token",
        ]
        assert not AuditEntry.objects.filter(action__in=acted).exists()


@pytest.mark.parametrize("user", SIGNED_IN)
def test_audit_page_only_for_auditors(m, user):
    response = page_client(m, user).get("/audit/")

    assert response.status_code == (200 if user in AUDITORS else 404)


# --- API: lists, details, map layers ---------------------------------------------------------------------------
@pytest.mark.parametrize("user", VISIBILITY_USERS)
@pytest.mark.parametrize("resource", list(API_RESOURCES))
def test_api_list_holds_exactly_the_users_territory(m, resource, user):
    response = api_client(m, user).get(f"/api/v1/{API_RESOURCES[resource]}/", {"page_size": 500})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["results"])
    assert m.keys(resource, [row["id"] for row in body["results"]]) == SEES[user][resource]


@pytest.mark.parametrize("user", VISIBILITY_USERS)
@pytest.mark.parametrize("resource", list(API_RESOURCES))
def test_api_detail_is_404_outside_territory(m, resource, user):
    client = api_client(m, user)

    answers = {
        key: client.get(f"/api/v1/{API_RESOURCES[resource]}/{m.pk(resource, key)}/")
        for key in sorted(EVERYTHING[resource])
    }

    assert {key: r.status_code for key, r in answers.items()} == {
        key: 200 if sees(user, resource, key) else 404 for key in answers
    }
    for key, response in answers.items():
        if response.status_code == 200:
            assert response.json()["id"] == m.pk(resource, key)
        else:
            assert_detail(response)


@pytest.mark.parametrize(("resource", "hidden", "visible"), [("grids", "B", "A"), ("rooms", "R3", "R1"),
                                                             ("assignments", "post_b", "post_a")])  # fmt: skip
def test_api_format_suffix_is_scoped_too(m, resource, hidden, visible):
    client = api_client(m, "officer_a")
    prefix = API_RESOURCES[resource]
    assert client.get(f"/api/v1/{prefix}/{m.pk(resource, hidden)}.json").status_code == 404
    assert client.get(f"/api/v1/{prefix}/{m.pk(resource, visible)}.json").status_code == 200


def test_token_authenticated_requests_are_scoped_too(m):
    client = api_client(m, "anonymous")
    client.credentials(HTTP_AUTHORIZATION=f"Token {m.token_key}")  # officer_a's token

    assert client.get(f"/api/v1/grids/{m.pk('grids', 'A')}/").status_code == 200
    assert client.get(f"/api/v1/grids/{m.pk('grids', 'B')}/").status_code == 404
    ids = [row["id"] for row in client.get("/api/v1/grids/").json()["results"]]
    assert m.keys("grids", ids) == {"A"}


@pytest.mark.parametrize("user", VISIBILITY_USERS)
@pytest.mark.parametrize(("layer", "resource"), [("grids", "grids"), ("police-rooms", "rooms")])
def test_geojson_layer_holds_exactly_the_users_territory(m, layer, resource, user):
    response = api_client(m, user).get(f"/api/v1/map/{layer}.geojson")

    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    ids = [f["id"] for f in body["features"]]
    assert m.keys(resource, ids) == SEES[user][resource]


@pytest.mark.parametrize("user", CORE_USERS)
@pytest.mark.parametrize("param", ["station", "community"])
def test_api_filters_cannot_reach_outside_territory(m, param, user):
    """Filtering a list by a station or community outside the territory finds nothing (or is refused)."""
    outside = "S2" if param == "station" else "C3"
    resource = "stations" if param == "station" else "communities"
    response = api_client(m, user).get("/api/v1/grids/", {param: m.pk(resource, outside)})

    if user in ("leader", "director_s2"):
        assert response.status_code == 200 and m.keys("grids", [g["id"] for g in response.json()["results"]])
    else:
        assert response.status_code in (200, 400)
        if response.status_code == 200:
            assert response.json()["results"] == []
        else:
            assert_detail(response)


# --- API: acting on objects -----------------------------------------------------------------------------------
def _assign_body(m: Matrix) -> dict:
    aux = m.world.sub_bureau.staff.get(name="陈静")
    return {"grid": m.pk("grids", "A"), "staff": aux.pk, "position": "auxiliary", "started_on": str(TODAY)}


LATER = str(TODAY + dt.timedelta(days=30))
ACTIONS: dict[str, tuple[str, Url, Callable[[Matrix], dict], dict[str, int]]] = {
    # name: (method, url, body, expected status per user). 404: outside the territory; 403: visible, not allowed;
    # 400: a referenced object is outside the territory (it "does not exist" for this user).
    "assign-to-grid-A": (
        "post", _api("assignments"), _assign_body,
        {"officer_a": 403, "officer_b": 400, "director": 201, "director_s2": 400, "leader": 403, "admin": 201},
    ),
    "end-post-b": (
        "post", _api("assignments", ("assignments", "post_b"), "end"),
        lambda m: {"ended_on": str(TODAY), "reason": "正常轮岗"},
        {"officer_a": 404, "officer_b": 403, "director": 200, "director_s2": 404, "leader": 403, "admin": 200},
    ),
    "request-departure-post-c": (
        "post", _api("departure-requests"),
        lambda m: {"assignment": m.pk("assignments", "post_c"), "leave_on": LATER, "reason": "工作调动"},
        {"officer_a": 400, "officer_b": 400, "director": 201, "director_s2": 400, "leader": 403, "admin": 201},
    ),
    "approve-departure-dep-a": (
        "post", _api("departure-requests", ("departures", "dep_a"), "approve"), lambda m: {"note": "同意"},
        {"officer_a": 403, "officer_b": 404, "director": 200, "director_s2": 404, "leader": 403, "admin": 403},
    ),
    "reject-departure-dep-a": (
        "post", _api("departure-requests", ("departures", "dep_a"), "reject"), lambda m: {},
        {"officer_a": 403, "officer_b": 404, "director": 200, "director_s2": 404, "leader": 403, "admin": 403},
    ),
    "request-secondment-staff-b": (
        "post", _api("secondments"),
        lambda m: {"staff": m.pk("staff", "staff_b"), "purpose": "专项行动", "destination": "市局",
                   "starts_on": LATER, "ends_on": str(TODAY + dt.timedelta(days=40))},
        {"officer_a": 403, "officer_b": 403, "director": 201, "director_s2": 400, "leader": 403, "admin": 201},
    ),
    "approve-secondment-sec-b": (
        "post", _api("secondments", ("secondments", "sec_b"), "approve"), lambda m: {},
        {"officer_a": 403, "officer_b": 403, "director": 200, "director_s2": 404, "leader": 403, "admin": 403},
    ),
    "reject-secondment-sec-b": (
        "post", _api("secondments", ("secondments", "sec_b"), "reject"), lambda m: {"note": "人手不足"},
        {"officer_a": 403, "officer_b": 403, "director": 200, "director_s2": 404, "leader": 403, "admin": 403},
    ),
    "edit-police-room-R1": (
        "patch", _api("police-rooms", ("rooms", "R1")), lambda m: {"hours": "08:00-20:00"},
        {"officer_a": 403, "officer_b": 403, "director": 200, "director_s2": 404, "leader": 403, "admin": 200},
    ),
}  # fmt: skip
ACTION_ROWS = [(action, user) for action, spec in ACTIONS.items() for user in spec[3]]


@pytest.mark.parametrize(("action", "user"), ACTION_ROWS, ids=[f"{a}-{u}" for a, u in ACTION_ROWS])
def test_api_action_matrix(m, action, user):
    method, url, body, expected = ACTIONS[action]
    audit_before = AuditEntry.objects.exclude(action="security.denied").count()

    response = getattr(api_client(m, user), method)(url(m), body(m), format="json")

    assert response.status_code == expected[user], response.content.decode()
    if response.status_code >= 400:
        assert_detail(response)
        assert AuditEntry.objects.exclude(action="security.denied").count() == audit_before, (
            "a refused action must write nothing"
        )
    else:
        assert AuditEntry.objects.filter(actor_id=m.users[user].pk).count() > 0
        assert AuditEntry.objects.exclude(action="security.denied").count() > audit_before


def test_director_of_s2_cannot_approve_a_departure_of_s1(m):
    dep_a = m.objects["departures"]["dep_a"]

    response = api_client(m, "director_s2").post(f"/api/v1/departure-requests/{dep_a.pk}/approve/", {})

    assert response.status_code == 404
    assert_detail(response)
    dep_a.refresh_from_db()
    assert dep_a.status == "pending"


def test_director_of_s2_cannot_assign_to_a_grid_of_s1(m):
    staff_d2 = make_staff(m.world.sub_bureau, m.world.s2, StaffKind.AUXILIARY, "许亮")
    body = {
        "grid": m.pk("grids", "A"),
        "staff": staff_d2.pk,
        "position": "auxiliary",
        "started_on": str(TODAY),
    }

    response = api_client(m, "director_s2").post("/api/v1/assignments/", body, format="json")

    assert response.status_code == 400
    assert_detail(response)
    assert "辖区" in response.json()["detail"]
    assert not GridAssignment.objects.filter(staff=staff_d2).exists()


# --- pages -----------------------------------------------------------------------------------------------------
def _page_status(user: str, route: str, resource: str, key: str) -> int:
    if not sees(user, resource, key):
        return 404
    if route == "org:police_room_edit":
        station = "S1" if key in ("R1", "R2") else "S2"
        return 200 if station in MANAGES.get(user, set()) else 302  # back to the list with a message
    if route == "org:staff_photo" and key not in HAS_PHOTO:
        return 404
    return 302 if PAGE_DETAILS[route][0] == "post" else 200


PAGE_DETAILS: dict[str, tuple[str, str, Callable[[int], str]]] = {
    # route: (method, resource, URL of an object). The POSTs are sent empty: they must not act, only answer.
    "org:station_detail": ("get", "stations", lambda pk: f"/org/stations/{pk}/"),
    "org:grid_detail": ("get", "grids", lambda pk: f"/org/grids/{pk}/"),
    "org:grid_assign": ("post", "grids", lambda pk: f"/org/grids/{pk}/assign/"),
    "org:assignment_end": ("get", "assignments", lambda pk: f"/org/assignments/{pk}/end/"),
    "org:police_room_edit": ("get", "rooms", lambda pk: f"/org/police-rooms/{pk}/edit/"),
    "org:departure_decide": ("post", "departures", lambda pk: f"/org/departures/{pk}/decide/"),
    "org:secondment_decide": ("post", "secondments", lambda pk: f"/org/secondments/{pk}/decide/"),
    "org:staff_detail": ("get", "staff", lambda pk: f"/org/staff/{pk}/"),
    "org:staff_photo": ("get", "staff", lambda pk: f"/org/staff/{pk}/photo/"),
}
HAS_PHOTO = {"staff_c", "staff_e"}


@pytest.mark.parametrize("user", VISIBILITY_USERS)
@pytest.mark.parametrize("route", list(PAGE_DETAILS))
def test_page_detail_is_404_outside_territory(m, route, user):
    method, resource, url = PAGE_DETAILS[route]
    client = page_client(m, user)
    audit_before = AuditEntry.objects.exclude(action="security.denied").count()

    statuses = {
        key: getattr(client, method)(url(m.pk(resource, key))).status_code
        for key in sorted(EVERYTHING[resource])
    }

    assert statuses == {key: _page_status(user, route, resource, key) for key in statuses}
    assert AuditEntry.objects.exclude(action="security.denied").count() == audit_before


@pytest.mark.parametrize("user", SIGNED_IN)
def test_staff_photo_is_served_privately_to_those_who_see_the_person(m, user):
    response = page_client(m, user).get(f"/org/staff/{m.pk('staff', 'staff_c')}/photo/")

    if sees(user, "staff", "staff_c"):
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PNG
        assert response["Content-Type"] == "image/png"
        assert "private" in response["Cache-Control"]
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("user", SIGNED_IN)
def test_new_staff_page_only_for_station_managers(m, user):
    response = page_client(m, user).get("/org/staff/new/")

    assert response.status_code == (200 if user in MANAGES else 404)
    if response.status_code == 200:  # the form offers only the stations the user manages
        offered = {s.pk for s in response.context["form"].fields["station"].queryset}
        assert m.keys("stations", offered) == MANAGES[user]


@pytest.mark.parametrize(("user", "station", "created"), [("director", "S1", True), ("director_s2", "S1", False),
                                                         ("admin", "S2", True)])  # fmt: skip
def test_new_staff_only_in_a_managed_station(m, user, station, created):
    body = {
        "kind": "auxiliary",
        "name": "新人",
        "badge_number": "NEW-0001",
        "station": m.pk("stations", station),
    }

    response = page_client(m, user).post("/org/staff/new/", body)

    assert response.status_code == (302 if created else 200)  # 200: the form again, with the error
    assert (
        m.world.sub_bureau.staff.filter(badge_number="NEW-0001", station__pk=body["station"]).exists()
        == created
    )


def _ids(rows) -> list[int]:
    return [row.pk for row in rows]


PAGE_LISTS: dict[str, tuple[str, str, Callable[[Any], list[int]]]] = {
    # name: (URL, resource, ids shown, read from the template context)
    "station_list": ("/org/", "stations", lambda ctx: _ids(ctx["stations"])),
    "grid_list": ("/org/grids/", "grids", lambda ctx: _ids(ctx["page"].object_list)),
    "police_room_list": ("/org/police-rooms/", "rooms", lambda ctx: _ids(ctx["page"].object_list)),
    "staff_list": ("/org/staff/", "staff", lambda ctx: _ids(ctx["page"].object_list)),
    "staffing": ("/org/staffing/", "grids", lambda ctx: [g.grid.pk for s in ctx["board"] for g in s.grids]),
    "home": ("/", "grids", lambda ctx: [g.grid.pk for s in ctx["board"] for g in s.grids]),
    "approvals-departures": ("/org/approvals/", "departures", lambda ctx: _ids(ctx["pending_departures"])),
    "approvals-secondments": ("/org/approvals/", "secondments", lambda ctx: _ids(ctx["pending_secondments"])),
}


@pytest.mark.parametrize("user", VISIBILITY_USERS)
@pytest.mark.parametrize("page", list(PAGE_LISTS))
def test_page_list_holds_exactly_the_users_territory(m, page, user):
    url, resource, shown = PAGE_LISTS[page]

    response = page_client(m, user).get(url)

    assert response.status_code == 200
    assert m.keys(resource, shown(response.context)) == SEES[user][resource]


# Names of what officer A must never learn about: other grids, communities, the other station.
FOREIGN_NAMES = [
    "西福第2网格",
    "东星第1网格",
    "仁风第1网格",
    "东星社区",
    "仁风社区",
    "清源派出所",
    "东星警务室",
]


@pytest.mark.parametrize(
    "url",
    ["/", "/org/", "/org/grids/", "/org/police-rooms/", "/org/staff/", "/org/staffing/", "/org/approvals/",
     "/map/", "/api/v1/", "/api/v1/stations/", "/api/v1/communities/", "/api/v1/grids/",
     "/api/v1/police-rooms/", "/api/v1/staff/", "/api/v1/assignments/", "/api/v1/departure-requests/",
     "/api/v1/secondments/", "/api/v1/map/grids.geojson", "/api/v1/map/police-rooms.geojson"],
)  # fmt: skip
def test_officer_a_pages_never_name_other_grids(m, url):
    """Rendered HTML too (filter forms, the browsable API's forms), not only the data behind it."""
    response = page_client(m, "officer_a").get(url, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    content = response.content.decode()
    assert [name for name in FOREIGN_NAMES if name in content] == []


def test_officer_a_object_pages_never_name_other_grids(m):
    client = page_client(m, "officer_a")
    urls = [f"/org/stations/{m.pk('stations', 'S1')}/", f"/org/grids/{m.pk('grids', 'A')}/",
            f"/org/assignments/{m.pk('assignments', 'post_a')}/end/",
            f"/org/staff/{m.pk('staff', 'staff_a')}/", f"/org/staff/{m.pk('staff', 'staff_b')}/",
            f"/api/v1/grids/{m.pk('grids', 'A')}/", f"/api/v1/police-rooms/{m.pk('rooms', 'R1')}/"]  # fmt: skip
    for url in urls:
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        content = response.content.decode()
        assert [name for name in FOREIGN_NAMES if name in content] == [], url


def test_map_focus_on_a_foreign_grid_reveals_nothing(m):
    client = page_client(m, "officer_a")

    own_territory = client.get("/map/").context["focus_bbox"]

    assert client.get("/map/", {"grid": m.pk("grids", "B")}).context["focus_bbox"] == own_territory
    assert client.get("/map/", {"grid": m.pk("grids", "A")}).context["focus_bbox"] == own_territory  # A only


def test_cannot_revoke_someone_elses_token(m):
    response = page_client(m, "officer_b").post(f"/accounts/me/tokens/{m.token.pk}/revoke/")

    assert response.status_code == 404
    m.token.refresh_from_db()
    assert m.token.revoked_at is None


def test_owner_revokes_own_token(m):
    response = page_client(m, "officer_a").post(f"/accounts/me/tokens/{m.token.pk}/revoke/")

    assert response.status_code == 302
    m.token.refresh_from_db()
    assert m.token.revoked_at is not None
