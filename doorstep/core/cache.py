"""The Redis cache, kept from taking pages down with it: while Redis is unreachable a read is a miss, a write is
dropped, a counter counts from its first step — so the KPI dashboard, the map's house tiles and the portal's
forms answer (slower, rate limits open) instead of a 500, and the outage is in the log once a minute.

`/readyz` still reports the outage: `ping()` raises the real error (core.health.check_cache)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("doorstep.cache")

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_last_logged = 0.0


def _unreachable(operation: str, error: BaseException) -> None:
    global _last_logged
    now = time.monotonic()
    if now - _last_logged >= 60:
        _last_logged = now
        log.error("缓存（Redis）不可用，%s 按未命中处理：%s", operation, error)


class ResilientRedisCache(RedisCache):
    def ping(self) -> None:
        self._cache.get_client(write=True).ping()


def _resilient(name: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    """RedisCache's `name`, answering fallback(*args, **kwargs) — a miss, a dropped write — when Redis is away."""
    method = getattr(RedisCache, name)

    def call(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except UNREACHABLE as error:
            _unreachable(name, error)
            return fallback(*args, **kwargs)

    call.__name__ = name
    return call


def _default(key: Any, default: Any = None, version: int | None = None) -> Any:
    return default


def _first_step(key: Any, delta: int = 1, version: int | None = None) -> int:
    return delta


# What each operation answers while Redis is away: reads miss, writes are dropped, `add` acts as if first (a
# "once a minute" record is written, a rate limit counts from one), a counter counts from its first step.
FALLBACKS: dict[str, Callable[..., Any]] = {
    "get": _default,
    "get_many": lambda *args, **kwargs: {},
    "has_key": lambda *args, **kwargs: False,
    "set": lambda *args, **kwargs: None,
    "set_many": lambda data, *args, **kwargs: list(data),
    "add": lambda *args, **kwargs: True,
    "incr": _first_step,
    "touch": lambda *args, **kwargs: False,
    "delete": lambda *args, **kwargs: False,
    "delete_many": lambda *args, **kwargs: None,
}
for _name, _fallback in FALLBACKS.items():
    setattr(ResilientRedisCache, _name, _resilient(_name, _fallback))
