"""Liveness (/healthz) and readiness (/readyz) for load balancers, systemd watchdogs and monitoring.

/healthz answers "the process runs and serves HTTP": no database, no session, no login.
/readyz answers "this process can do its work": database, channel layer, cache and (when configured) the
MQTT broker, each check bounded to CHECK_TIMEOUT seconds so a hung dependency gives a 503, not a hang.
Both are public (no personal data; a failure names the check and a short reason) — restrict them at nginx
to the internal network if the reasons should not leave it (docs/operations/monitoring.md).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0
# Checks run in worker threads so each can be abandoned at its timeout; a few threads are enough (a hung
# check keeps its thread until the dependency answers or its own timeout fires).
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")


class CheckFailed(Exception):
    """A check's plain reason for failing."""


def check_database() -> None:
    """A trivial query on the default database (in a worker thread: its own connection, closed after)."""
    from django.db import connections

    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            if cursor.fetchone()[0] != 1:
                raise CheckFailed("SELECT 1 did not return 1")
    finally:
        connections.close_all()


def check_channel_layer() -> None:
    """Send a message to a fresh channel and receive it back: the channel layer (Redis) works both ways."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        raise CheckFailed("no channel layer configured")

    async def round_trip() -> None:
        # A plain name, not `new_channel()`: a process-local ("!") channel may be received by one event loop
        # per layer only, and the consoles' WebSockets already receive on this process's loop (channels_redis
        # then fails the probe with "Two event loops are trying to receive()").
        channel = f"readyz.{uuid.uuid4().hex}"
        nonce = uuid.uuid4().hex
        await layer.send(channel, {"type": "readyz.ping", "nonce": nonce})
        message = await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT)
        if message.get("nonce") != nonce:
            raise CheckFailed("received another message than the one sent")

    asyncio.run(round_trip())


def check_cache() -> None:
    from django.core.cache import cache

    ping = getattr(cache, "ping", None)
    if ping is not None:
        ping()  # the real error of an unreachable Redis (the cache itself answers misses then: core.cache)
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    try:
        if cache.get(key) != "1":
            raise CheckFailed("a value set in the cache could not be read back")
    finally:
        cache.delete(key)


def mqtt_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    default = 8883 if parts.scheme == "mqtts" else 1883
    return parts.hostname or "localhost", parts.port or default


def check_mqtt() -> None:
    """A TCP connection to the broker (no MQTT session: it would disturb the receivers' fixed client id)."""
    host, port = mqtt_address(settings.MQTT_URL)
    with socket.create_connection((host, port), timeout=CHECK_TIMEOUT):
        pass


def readiness_checks() -> dict[str, Callable[[], None]]:
    checks: dict[str, Callable[[], None]] = {
        "database": check_database,
        "channel_layer": check_channel_layer,
        "cache": check_cache,
    }
    if getattr(settings, "MQTT_URL", ""):
        checks["mqtt"] = check_mqtt
    return checks


def _reason(exc: BaseException) -> str:
    if isinstance(exc, CheckFailed):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:160] if text else type(exc).__name__


def run_checks(checks: dict[str, Callable[[], None]], timeout: float = CHECK_TIMEOUT) -> dict[str, dict]:
    """Run every check in parallel, each bounded to `timeout` seconds. {name: {"ok", "ms"[, "error"]}}."""
    started = time.perf_counter()
    futures = {name: _pool.submit(_timed, check) for name, check in checks.items()}
    results: dict[str, dict] = {}
    for name, future in futures.items():
        remaining = max(0.0, timeout - (time.perf_counter() - started))
        try:
            elapsed = future.result(timeout=remaining)
            results[name] = {"ok": True, "ms": round(elapsed * 1000, 1)}
        except FutureTimeout:
            results[name] = {"ok": False, "error": f"no answer within {timeout:g} s"}
        except Exception as exc:
            logger.warning("readiness check %s failed", name, exc_info=True)
            results[name] = {"ok": False, "error": _reason(exc)}
    return results


def _timed(check: Callable[[], None]) -> float:
    start = time.perf_counter()
    check()
    return time.perf_counter() - start


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """GET /healthz — liveness: 200 "ok" whenever the process can answer."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


class HealthzMiddleware:
    """Answers /healthz before any other middleware (first in settings.MIDDLEWARE): no session is loaded
    even when a staff cookie comes along, no user, no database, no host check (load balancers probe by
    address). Without it the `core:healthz` view answers the same, after the rest of the stack."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if request.path_info == "/healthz" and request.method in ("GET", "HEAD"):
            response = healthz(request)
            return _async_value(response) if iscoroutinefunction(self) else response
        return self.get_response(request)


async def _async_value(response: HttpResponse) -> HttpResponse:
    return response


def alarmd_state() -> dict:
    """Information, not a check (a web process without alarm receivers is ready all the same): this process's
    own alarmd parts (`doorstep run`: active, standby or off) and whether any alarmd holds the lock of the
    database (null when that could not be read in time)."""
    from doorstep.alarms.leadership import current_state, lock_holders

    def held() -> bool:
        try:
            return lock_holders() > 0
        finally:
            from django.db import connections

            connections.close_all()

    try:
        active = _pool.submit(held).result(timeout=CHECK_TIMEOUT)
    except Exception:  # noqa: BLE001 (the database check reports the cause)
        active = None
    return {"this_process": current_state(), "active_somewhere": active}


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """GET /readyz — readiness: 200 {"status": "ok", "checks": {...}}, or 503 with the failed checks."""
    results = run_checks(readiness_checks())
    ok = all(result["ok"] for result in results.values())
    body = {"status": "ok" if ok else "fail", "checks": results, "alarmd": alarmd_state()}
    if not ok:
        body["failed"] = [name for name, result in results.items() if not result["ok"]]
    return JsonResponse(body, status=200 if ok else 503)
