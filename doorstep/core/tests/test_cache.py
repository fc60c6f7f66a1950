"""The Redis cache keeps pages up while Redis is away (core.cache): reads miss, writes are dropped, counters count
from their first step, the outage is logged — and /readyz still reports it. With Redis there it is the plain
Redis cache."""

from __future__ import annotations

import socket
import uuid

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from doorstep.conftest import require_service
from doorstep.core import cache as resilient
from doorstep.core.cache import ResilientRedisCache
from doorstep.core.health import check_cache


def closed_port_cache() -> ResilientRedisCache:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return ResilientRedisCache(f"redis://127.0.0.1:{port}/0", {"OPTIONS": {"socket_connect_timeout": 0.5}})


def test_with_redis_away_reads_miss_writes_are_dropped_and_the_log_says_so(caplog, monkeypatch):
    monkeypatch.setattr(resilient, "_last_logged", 0.0)
    cache = closed_port_cache()
    with caplog.at_level("ERROR", logger="doorstep.cache"):
        assert cache.get("k", "default") == "default"
        cache.set("k", "v", timeout=10)
        assert cache.get_many(["a", "b"]) == {}
        assert cache.add("once", 1, timeout=60) is True
        assert cache.incr("hits") == 1
        assert cache.has_key("k") is False
        assert cache.delete("k") is False
        assert cache.get_or_set("g", "computed", timeout=10) == "computed"
    assert [r.getMessage() for r in caplog.records if "缓存（Redis）不可用" in r.getMessage()]
    assert len(caplog.records) == 1  # once a minute, not once per call
    with pytest.raises(RedisConnectionError):
        cache.ping()


def test_readyz_still_reports_redis_away(monkeypatch):
    cache = closed_port_cache()
    monkeypatch.setattr("django.core.cache.cache", cache)
    with pytest.raises(RedisConnectionError) as raised:  # the connection error itself, with its address
        check_cache()
    assert "connect" in str(raised.value).lower()


def test_with_redis_there_it_is_the_redis_cache():
    require_service("Redis", "127.0.0.1", 6379)
    cache = ResilientRedisCache("redis://127.0.0.1:6379/0", {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    cache.ping()
    cache.set("k", {"a": 1}, timeout=10)
    assert cache.get("k") == {"a": 1}
    assert cache.add("k", "other") is False
    cache.set("n", 5, timeout=10)
    assert cache.incr("n", 2) == 7
    with pytest.raises(ValueError):
        cache.incr("missing")  # as Redis' own: a counter that does not exist is an error, not a 1
    assert cache.delete("k") is True and cache.get("k") is None
    cache.delete("n")
