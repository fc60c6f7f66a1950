"""The client's network address, read one way everywhere (portal rate limits, metrics access)."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the right-most X-Forwarded-For address not itself a trusted
    proxy when the request came through one (DOORSTEP_TRUSTED_PROXIES)."""
    remote = request.META.get("REMOTE_ADDR") or ""
    if remote not in settings.TRUSTED_PROXIES:
        return remote
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop = hop.strip()
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        if hop not in settings.TRUSTED_PROXIES:
            return hop
    return remote
