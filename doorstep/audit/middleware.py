from __future__ import annotations

import logging

from doorstep.audit.context import RequestContext, reset, set_current

logger = logging.getLogger(__name__)


class RequestContextMiddleware:
    """Remember the caller's address and channel (web page or API) for audit entries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        channel = "api" if request.path.startswith("/api/") else "web"
        token = set_current(RequestContext(ip=request.META.get("REMOTE_ADDR") or None, channel=channel))
        try:
            return self.get_response(request)
        finally:
            reset(token)


class DeniedAccessMiddleware:
    """Record HTTP 403 answers (a page or API call the user may not open) in the change log as
    `security.denied`, for the weekly audit review. Place it after AuthenticationMiddleware and
    RequestContextMiddleware (it needs the user and the IP). Never turns a 403 into a 500.

    A signed-in user's refusals are recorded once per DENIED_DEDUP_SECONDS per method and route, an anonymous
    caller's once per DENIED_DEDUP_SECONDS per client address, so a script cannot flood the append-only log."""

    DENIED_DEDUP_SECONDS = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            self._record(request)
        return response

    def _record(self, request) -> None:
        """One entry per refusal, stored as the method and the route's *name* (never the raw path, which a
        caller chooses — text, phone numbers — and never the query string). Signed-in users: once a minute per
        user, method and route; anonymous callers (a CSRF refusal needs no account): once a minute per client
        address whatever the route, so a script cannot fill the append-only log."""
        import hashlib

        from django.core.cache import cache
        from django.db import DatabaseError

        from doorstep.audit.services import record_denied
        from doorstep.core.net import client_ip

        user = getattr(request, "user", None)
        match = getattr(request, "resolver_match", None)
        route = (match.view_name if match is not None and match.view_name else "") or "<unmatched>"
        if user is not None and user.is_authenticated:
            key = f"u{user.pk} {request.method} {route}"
        else:
            key = f"anon {client_ip(request)}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        try:
            if not cache.add(f"audit:denied:{digest}", 1, self.DENIED_DEDUP_SECONDS):
                return
        except Exception:  # the cache (Redis) is down: record only signed-in users' refusals
            logger.exception("denied-request de-duplication unavailable")
            if user is None or not user.is_authenticated:
                return
        try:
            record_denied(user, request.method or "", route)
        except DatabaseError:
            logger.exception("could not record a denied request")
