"""The alarm WebSocket (/ws/alarms/) of the dispatch console and the officer's phone, through the real ASGI
application: who joins which group (station consoles, escalation, personal), and what reaches whom when the
real services dispatch, escalate and close.

Every test goes through `doorstep.asgi.application` — origin validation, cookie session, auth middleware,
URL routing — with Channels' WebsocketCommunicator, and publishes with the real
`doorstep.alarms.realtime.publish_to_station` on the real channel layer (in-memory, and Redis when it runs).
pytest-asyncio is not installed: each async body runs through `async_to_sync` from a sync test.

The database is transactional because the session lookup in AuthMiddleware and the consumer's territory
query go through `database_sync_to_async`, which closes "old" connections around each call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client, override_settings

from doorstep import settings as project_settings
from doorstep.accounts.choices import Role
from doorstep.accounts.services import create_user
from doorstep.alarms import services, supervision
from doorstep.alarms.consumers import CLOSE_NO_TERRITORY, CLOSE_UNAUTHENTICATED
from doorstep.alarms.realtime import publish_to_station
from doorstep.alarms.tests import test_dispatch as dispatch_tests
from doorstep.asgi import application
from doorstep.conftest import PASSWORD, build_world, make_staff, require_service
from doorstep.org.choices import StaffKind

PATH = "/ws/alarms/"
ORIGIN = b"http://testserver"
QUIET = 0.2  # seconds to wait for a message that must not come


@pytest.fixture
def world(transactional_db):
    return build_world()


@pytest.fixture(autouse=True)
def in_memory_layer():
    """A fresh in-memory layer per test, so no group or queue outlives the event loop of its test."""
    with override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}):
        channel_layers.backends.clear()
        yield
    channel_layers.backends.clear()


def session_cookie(user) -> bytes:
    """The cookie of a real database session for `user` (create it before entering the event loop)."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def communicator(cookie: bytes | None = None, origin: bytes = ORIGIN) -> WebsocketCommunicator:
    headers = [(b"host", b"testserver"), (b"origin", origin)]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, PATH, headers=headers)


def payload(n: int) -> dict:
    return {"alarm_id": n, "unit": "西福小学", "kind": "一键报警"}


async def publish(station_id: int, data: dict) -> None:
    # The sync publisher called from sync code outside the event loop, as an on_commit callback calls it.
    await sync_to_async(publish_to_station)(station_id, data)


async def connect_and_hello(cookie: bytes) -> tuple[WebsocketCommunicator, dict]:
    ws = communicator(cookie)
    connected, _ = await ws.connect()
    assert connected, "the console was refused"
    hello = await ws.receive_json_from(timeout=2)
    return ws, hello


# --- refusals -------------------------------------------------------------------------------------------


def test_anonymous_connection_is_rejected_with_4401(transactional_db):
    async def body():
        ws = communicator()
        connected, code = await ws.connect()
        assert not connected
        assert code == CLOSE_UNAUTHENTICATED == 4401
        await ws.disconnect()

    async_to_sync(body)()


def test_invalid_session_cookie_is_rejected_with_4401(transactional_db):
    async def body():
        ws = WebsocketCommunicator(
            application,
            PATH,
            headers=[(b"host", b"testserver"), (b"origin", ORIGIN), (b"cookie", b"sessionid=forged")],
        )
        connected, code = await ws.connect()
        assert not connected
        assert code == 4401
        await ws.disconnect()

    async_to_sync(body)()


def test_foreign_origin_is_rejected_even_with_a_valid_session(world):
    cookie = session_cookie(world.director)

    async def body():
        ws = communicator(cookie, origin=b"http://evil.example.com")
        connected, _ = await ws.connect()
        assert not connected
        await ws.disconnect()

    async_to_sync(body)()


def test_user_without_territory_is_rejected_with_4403(world):
    # An officer whose staff record holds no current grid post sees no station.
    idle = make_staff(world.sub_bureau, world.s1, StaffKind.POLICE, "陈静")
    user = create_user(username="officer_idle", password=PASSWORD, role=Role.OFFICER, staff=idle)
    cookie = session_cookie(user)

    async def body():
        ws = communicator(cookie)
        connected, code = await ws.connect()
        assert not connected
        assert code == CLOSE_NO_TERRITORY == 4403
        await ws.disconnect()

    async_to_sync(body)()


def test_console_cannot_open_on_a_login_past_the_twelve_hour_limit(world):
    """The idle window is still open (a page every 20 minutes), but the login is over 12 hours old."""
    start = dt.datetime(2026, 11, 28, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(start, tick=False) as traveller:
        browser = Client()
        signed_in = browser.post("/accounts/login/", {"username": "director", "password": PASSWORD})
        assert signed_in.status_code == 302
        cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
        for _ in range(35):  # up to 11 h 40 min
            traveller.shift(dt.timedelta(minutes=20))
            assert browser.get("/accounts/me/").status_code == 200

        async def attempt() -> tuple[bool, int | None]:
            ws = communicator(cookie)
            result = await ws.connect()
            await ws.disconnect()
            return result

        assert async_to_sync(attempt)()[0], "refused inside the 12-hour limit"
        traveller.shift(dt.timedelta(minutes=29))  # 12 h 09 min: past the limit, not yet idle for 30 min
        assert async_to_sync(attempt)() == (False, CLOSE_UNAUTHENTICATED)


# --- delivery -------------------------------------------------------------------------------------------


def hello(world, user, stations=(), escalation=()) -> dict:
    return {"type": "hello", "stations": list(stations), "escalation": list(escalation), "user": user.pk}


def test_director_gets_hello_and_only_their_stations_alarms(world):
    s1, s2 = world.s1.pk, world.s2.pk
    director = session_cookie(world.director)

    async def body():
        ws, greeting = await connect_and_hello(director)
        assert greeting == hello(world, world.director, [s1], [s1])

        await publish(s2, payload(1))
        assert await ws.receive_nothing(timeout=QUIET)

        await publish(s1, payload(2))
        assert await ws.receive_json_from(timeout=2) == {"type": "alarm", "payload": payload(2)}
        assert await ws.receive_nothing(timeout=QUIET)

        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from(timeout=2) == {"type": "pong"}
        await ws.disconnect()

    async_to_sync(body)()


def test_officers_get_no_station_traffic_and_stations_stay_apart(world):
    s1, s2 = world.s1.pk, world.s2.pk
    officer_a, director_s2 = session_cookie(world.officer_a), session_cookie(world.director_s2)
    dispatcher = session_cookie(world.dispatcher)

    async def body():
        officer, greeting = await connect_and_hello(officer_a)
        assert greeting == hello(world, world.officer_a)  # only the personal group
        other_director, greeting2 = await connect_and_hello(director_s2)
        assert greeting2 == hello(world, world.director_s2, [s2], [s2])
        console, greeting3 = await connect_and_hello(dispatcher)
        assert greeting3 == hello(world, world.dispatcher, [s1])  # no escalation group: not a director

        await publish(s2, payload(3))
        assert await other_director.receive_json_from(timeout=2) == {"type": "alarm", "payload": payload(3)}
        assert await officer.receive_nothing(timeout=QUIET)
        assert await console.receive_nothing(timeout=QUIET)

        await publish(s1, payload(4))
        assert await console.receive_json_from(timeout=2) == {"type": "alarm", "payload": payload(4)}
        assert await officer.receive_nothing(timeout=QUIET)
        assert await other_director.receive_nothing(timeout=QUIET)
        await console.disconnect()

        await officer.disconnect()
        await other_director.disconnect()

    async_to_sync(body)()


def test_leader_joins_every_station(world):
    s1, s2 = world.s1.pk, world.s2.pk
    leader = session_cookie(world.leader)

    async def body():
        ws, greeting = await connect_and_hello(leader)
        assert greeting == hello(world, world.leader, sorted([s1, s2]), sorted([s1, s2]))
        await publish(s1, payload(5))
        await publish(s2, payload(6))
        received = [await ws.receive_json_from(timeout=2) for _ in range(2)]
        assert sorted(m["payload"]["alarm_id"] for m in received) == [5, 6]
        await ws.disconnect()

    async_to_sync(body)()


def test_disconnected_console_leaves_its_groups(world):
    s1, user = world.s1.pk, f"alarms.user.{world.director.pk}"
    director = session_cookie(world.director)

    async def body():
        ws, _ = await connect_and_hello(director)
        layer = channel_layers["default"]
        joined = [
            g
            for g in (f"alarms.station.{s1}", f"alarms.escalation.station.{s1}", user)
            if layer.groups.get(g)
        ]
        await ws.disconnect()
        assert len(joined) == 3
        assert not any(layer.groups.get(g) for g in joined)

    async_to_sync(body)()


def test_delivery_through_the_redis_channel_layer(world):
    require_service("Redis", "127.0.0.1", 6379)
    s1, s2 = world.s1.pk, world.s2.pk
    director_cookie, director_s2_cookie = session_cookie(world.director), session_cookie(world.director_s2)
    # A prefix of its own, so this run never meets another run's groups on a shared Redis.
    layers = {
        "default": project_settings.redis_channel_layer(
            "redis://127.0.0.1:6379/0", prefix=f"doorstep-test-{uuid.uuid4().hex}"
        )
    }

    async def body():
        layer = channel_layers["default"]
        assert type(layer).__module__ == "channels_redis.core"
        try:
            director, greeting = await connect_and_hello(director_cookie)
            assert greeting == hello(world, world.director, [s1], [s1])
            other, _ = await connect_and_hello(director_s2_cookie)

            await publish(s2, payload(7))
            assert await other.receive_json_from(timeout=3) == {"type": "alarm", "payload": payload(7)}
            assert await director.receive_nothing(timeout=QUIET)

            await publish(s1, payload(8))
            assert await director.receive_json_from(timeout=3) == {"type": "alarm", "payload": payload(8)}
            assert await other.receive_nothing(timeout=QUIET)

            # A console idle longer than redis-py 8's default 5 s read timeout is still connected and served.
            await asyncio.sleep(6)
            await publish(s1, payload(9))
            assert await director.receive_json_from(timeout=3) == {"type": "alarm", "payload": payload(9)}

            await director.disconnect()
            await other.disconnect()
        finally:
            await layer.flush()  # removes this prefix's keys and closes the pools of this event loop

    with override_settings(CHANNEL_LAYERS=layers):
        channel_layers.backends.clear()
        try:
            async_to_sync(body)()
        finally:
            channel_layers.backends.clear()


def test_open_console_is_closed_when_the_login_reaches_its_absolute_limit(world):
    """The timer is real but short: the limit is set to end 0.3 s after connecting."""
    browser = Client()
    assert browser.post("/accounts/login/", {"username": "director", "password": PASSWORD}).status_code == 302
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()

    async def body():
        ws = communicator(cookie)
        connected, _ = await ws.connect()
        assert connected
        assert (await ws.receive_json_from(timeout=2))["type"] == "hello"
        assert (await ws.receive_json_from(timeout=5))["type"] == "session_expired"
        closed = await ws.receive_output(timeout=2)
        assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
        await ws.disconnect()

    elapsed_allowance = 5  # login above took well under this; the session ends 0.3 s after connect
    with override_settings(SESSION_ABSOLUTE_SECONDS=elapsed_allowance):
        import time

        from doorstep.accounts.middleware import SESSION_STARTED

        session = browser.session
        session[SESSION_STARTED] = time.time() - elapsed_allowance + 0.3
        session.save()
        async_to_sync(body)()


# --- what the real services send to whom -------------------------------------------------------------------
@pytest.fixture
def alarm(world):
    """A press at 西福小学 (grid A of S1, whose officer is officer_a), made before any socket connects."""
    button = dispatch_tests.provision(
        dispatch_tests.key_unit(world.grid_a, "西福小学"), "BTN-WS-1", world.director
    )
    return dispatch_tests.raise_alarm(button)


def test_a_dispatch_reaches_only_the_dispatched_officers_phone(world, alarm):
    cookies = {name: session_cookie(world.users[name]) for name in ("officer_a", "officer_b", "auxiliary_a")}
    console_cookie, other_cookie = session_cookie(world.dispatcher), session_cookie(world.director_s2)

    async def body():
        phones = {name: (await connect_and_hello(cookie))[0] for name, cookie in cookies.items()}
        console, _ = await connect_and_hello(console_cookie)
        other, _ = await connect_and_hello(other_cookie)

        await sync_to_async(services.dispatch)(alarm, by=world.dispatcher)

        sent = await phones["officer_a"].receive_json_from(timeout=2)
        assert sent["type"] == "dispatch" and sent["payload"]["id"] == alarm.pk
        assert sent["payload"]["dispatched_to"]["id"] == world.officer_a.pk
        assert sent["payload"]["unit"]["name"] == "西福小学" and sent["payload"]["security_phone"]
        update = await console.receive_json_from(timeout=2)
        assert update["type"] == "alarm" and update["payload"]["state"] == "dispatched"
        for name in ("officer_b", "auxiliary_a"):
            assert await phones[name].receive_nothing(timeout=QUIET), name
        assert await other.receive_nothing(timeout=QUIET)

        # Re-dispatched to officer_b: their phone rings, officer_a's page hears it is no longer theirs.
        await sync_to_async(services.dispatch)(alarm, officer=world.officer_b, by=world.dispatcher)
        sent_b = await phones["officer_b"].receive_json_from(timeout=2)
        withdrawn = await phones["officer_a"].receive_json_from(timeout=2)
        assert sent_b["type"] == "dispatch" and withdrawn["type"] == "alarm"
        assert withdrawn["payload"]["dispatched_to"]["id"] == world.officer_b.pk
        assert await phones["auxiliary_a"].receive_nothing(timeout=QUIET)
        assert (await console.receive_json_from(timeout=2))["type"] == "alarm"

        for ws in (*phones.values(), console, other):
            await ws.disconnect()

    async_to_sync(body)()


def test_escalation_rings_the_directors_and_leaders_consoles_only(world, alarm):
    names = ("director", "leader", "dispatcher", "director_s2", "officer_a")
    cookies = {name: session_cookie(world.users[name]) for name in names}
    due = alarm.received_at + dt.timedelta(seconds=31)

    async def body():
        sockets = {name: (await connect_and_hello(cookie))[0] for name, cookie in cookies.items()}

        assert (await sync_to_async(supervision.tick)(due))["escalated"] == 1

        for name in ("director", "leader"):
            update = await sockets[name].receive_json_from(timeout=2)
            loud = await sockets[name].receive_json_from(timeout=2)
            assert update["type"] == "alarm" and update["payload"]["escalated_at"], name
            assert loud["type"] == "escalation" and loud["payload"]["id"] == alarm.pk, name
        badge = await sockets["dispatcher"].receive_json_from(timeout=2)
        assert badge["type"] == "alarm" and badge["payload"]["escalated_at"]  # the badge, not the siren
        for name in ("dispatcher", "director_s2", "officer_a"):
            assert await sockets[name].receive_nothing(timeout=QUIET), name

        assert (await sync_to_async(supervision.tick)(due + dt.timedelta(seconds=5)))["escalated"] == 0
        for name in names:
            assert await sockets[name].receive_nothing(timeout=QUIET), name
            await sockets[name].disconnect()

    async_to_sync(body)()


def test_device_alerts_reach_the_stations_consoles_not_the_officers(world, alarm):
    director, officer = session_cookie(world.director), session_cookie(world.officer_a)
    services.close(alarm, disposition="test", by=world.director)  # so the tick has only the device to do
    device = type(alarm.device).objects.get(pk=alarm.device_id)
    silent = device.last_seen_at + dt.timedelta(seconds=2 * device.heartbeat_seconds + 1)

    async def body():
        console, _ = await connect_and_hello(director)
        phone, _ = await connect_and_hello(officer)
        assert (await sync_to_async(supervision.tick)(silent))["offline"] == 1

        message = await console.receive_json_from(timeout=2)
        assert message["type"] == "device_alert" and message["payload"]["kind"] == "offline"
        assert await phone.receive_nothing(timeout=QUIET)
        await console.disconnect()
        await phone.disconnect()

    async_to_sync(body)()
