"""/healthz (liveness: no database, no session, no login) and /readyz (database, channel layer, cache,
MQTT broker when configured; 503 naming the failed check; every check bounded in time)."""

from __future__ import annotations

import socket
import time

import pytest
from django.test import Client, override_settings

from doorstep.core import health

HEALTHZ_LINE = "doorstep.core.health.HealthzMiddleware"


@pytest.fixture(autouse=True)
def _healthz_middleware(settings):
    """Until the lead adds it to settings.MIDDLEWARE (first line; see the report), add it here."""
    if HEALTHZ_LINE not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [HEALTHZ_LINE, *settings.MIDDLEWARE]


def test_healthz_never_touches_the_database():
    """No django_db mark: any database access here raises."""
    assert Client().get("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_is_ok_without_database_or_login(django_assert_num_queries):
    client = Client()
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert "sessionid" not in response.cookies
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_view_without_the_middleware(settings, django_assert_num_queries):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != HEALTHZ_LINE]
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"


@pytest.mark.django_db
def test_healthz_answers_any_host(django_assert_num_queries):
    """Load balancers probe by address, which is rarely in ALLOWED_HOSTS."""
    with django_assert_num_queries(0):
        assert Client().get("/healthz", HTTP_HOST="10.20.30.40:8000").status_code == 200


@pytest.mark.django_db
def test_healthz_ignores_a_staff_session(world, client_for, django_assert_num_queries):
    client = client_for(world.director)
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_readyz_ok():
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "channel_layer", "cache"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db(transaction=True)
def test_readyz_503_when_the_database_fails(monkeypatch):
    def broken():
        raise ConnectionError("connection refused")

    monkeypatch.setattr(health, "check_database", broken)
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail" and body["failed"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "error": "ConnectionError: connection refused"}
    assert body["checks"]["cache"]["ok"] and body["checks"]["channel_layer"]["ok"]


@pytest.mark.django_db(transaction=True)
def test_readyz_503_when_the_channel_layer_fails(monkeypatch):
    class BrokenLayer:
        async def new_channel(self, prefix="specific."):
            return prefix + "x"

        async def send(self, channel, message):
            raise OSError("Redis went away")

    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a, **k: BrokenLayer())
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["channel_layer"]
    assert "Redis went away" in body["checks"]["channel_layer"]["error"]


@pytest.mark.django_db(transaction=True)
def test_readyz_503_when_a_message_never_comes_back(monkeypatch):
    """A layer that accepts messages but never delivers them: the round trip catches it."""

    class BlackHole:
        async def new_channel(self, prefix="specific."):
            return prefix + "x"

        async def send(self, channel, message):
            return None

        async def receive(self, channel):
            import asyncio

            await asyncio.sleep(60)

    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a, **k: BlackHole())
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 0.3)
    started = time.monotonic()
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert time.monotonic() - started < 3
    assert response.json()["failed"] == ["channel_layer"]


def test_a_hung_check_is_bounded():
    def hangs():
        time.sleep(1.5)

    started = time.monotonic()
    results = health.run_checks({"slow": hangs, "fast": lambda: None}, timeout=0.2)
    assert time.monotonic() - started < 1.0
    assert results["slow"] == {"ok": False, "error": "no answer within 0.2 s"}
    assert results["fast"]["ok"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_readyz_checks_the_mqtt_broker_when_configured():
    with override_settings(MQTT_URL=f"mqtt://127.0.0.1:{_closed_port()}"):
        response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["mqtt"]

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with override_settings(MQTT_URL=f"mqtt://127.0.0.1:{listener.getsockname()[1]}"):
            response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["mqtt"]["ok"]


def test_mqtt_address_defaults():
    assert health.mqtt_address("mqtt://broker.local") == ("broker.local", 1883)
    assert health.mqtt_address("mqtts://u:p@broker.local") == ("broker.local", 8883)
    assert health.mqtt_address("mqtt://10.0.0.5:1884") == ("10.0.0.5", 1884)


def test_the_channel_probe_uses_a_plain_channel_not_a_process_local_one(monkeypatch):
    """A process-local ("!") channel may be received by one event loop per layer (channels_redis), and the
    consoles' WebSockets already receive on the server's loop: the probe must not use `new_channel()`."""
    from channels.layers import get_channel_layer

    from doorstep.core import health

    layer = get_channel_layer()

    async def refuse(prefix="specific."):
        raise AssertionError("the readiness probe must not use a process-local channel")

    monkeypatch.setattr(layer, "new_channel", refuse)
    health.check_channel_layer()
