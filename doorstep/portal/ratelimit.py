"""Rate limits of the portal: fixed windows counted in the cache (Redis when configured, so every process
counts together; in-process otherwise). Each form counts per client address and, where it carries a phone,
per phone (keyed hash, never the number). `allow(request, name, key)` counts one hit and says whether it is
within the limit; a view answers 429 with a Chinese message when it is not."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from doorstep.core.errors import ServiceError
from doorstep.core.net import client_ip  # noqa: F401 (re-exported: portal views call ratelimit.client_ip)

# name: (count, seconds). DOORSTEP_PORTAL_RATE_LIMITS="submit_ip=1000/60,..." overrides (load tests, pilots).
DEFAULTS: dict[str, tuple[int, int]] = {
    "lookup_ip": (120, 60),  # address typeahead and officer cards
    "submit_ip": (10, 3600),  # tips, questions, disputes, bookings from one address
    "submit_phone": (5, 3600),  # ... carrying one phone
    "status_ip": (30, 600),  # receipt lookups (guessing codes)
    "code_ip": (10, 3600),  # one-time codes asked for from one address
    "code_phone": (3, 600),  # ... to one phone
    "code_phone_day": (10, 86400),
    "survey_ip": (30, 3600),  # survey answers from one address (a shared Wi-Fi in a community hall)
}


class RateLimited(ServiceError):
    status = 429

    def __init__(self) -> None:
        super().__init__(_("操作过于频繁，请稍后再试"), code="rate_limited")


def limits() -> dict[str, tuple[int, int]]:
    out = dict(DEFAULTS)
    for item in filter(None, (part.strip() for part in settings.PORTAL_RATE_LIMITS.split(","))):
        name, _, rule = item.partition("=")
        count, _, seconds = rule.partition("/")
        if name.strip() in out and count.strip().isdecimal() and seconds.strip().isdecimal():
            out[name.strip()] = (int(count), max(1, int(seconds)))
    return out


def digest(key: str) -> str:
    """A keyed, short hash of a client address or a phone hash: cache keys never hold the value itself."""
    return hashlib.blake2b(key.encode(), digest_size=12, key=settings.SECRET_KEY.encode()[:64]).hexdigest()


def hit(name: str, key: str, *, now: float | None = None) -> bool:
    """Count one hit of `name` for `key`; False when it goes over the limit of the current window."""
    count, seconds = limits()[name]
    window = int((now if now is not None else time.time()) // seconds)
    cache_key = f"portal:rl:{name}:{window}:{digest(key)}"
    cache.add(cache_key, 0, seconds + 5)
    try:
        used = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.add(cache_key, 1, seconds + 5)
        used = 1
    return used <= count


def check(request, *names_and_keys: tuple[str, str]) -> None:
    """Count a hit on each (name, key) — "ip" as a key means the client's address — and raise RateLimited
    when any is over its limit. Every limit is counted even when an earlier one already refused."""
    ok = True
    for name, key in names_and_keys:
        ok = hit(name, client_ip(request) if key == "ip" else key) and ok
    if not ok:
        raise RateLimited()
