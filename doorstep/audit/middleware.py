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

    A burst of the same refusal (same user or address, method and path) is recorded once per
    DENIED_DEDUP_SECONDS, so a script hammering a forbidden URL cannot flood the append-only log."""

    DENIED_DEDUP_SECONDS = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            self._record(request)
        return response

    def _record(self, request) -> None:
        import hashlib

        from django.core.cache import cache
        from django.db import DatabaseError

        from doorstep.audit.services import record_denied

        user = getattr(request, "user", None)
        who = (
            f"u{user.pk}"
            if user is not None and user.is_authenticated
            else request.META.get("REMOTE_ADDR", "")
        )
        digest = hashlib.sha256(f"{who} {request.method} {request.path}".encode()).hexdigest()[:32]
        try:
            if not cache.add(f"audit:denied:{digest}", 1, self.DENIED_DEDUP_SECONDS):
                return
            record_denied(user, request.method or "", request.path)
        except DatabaseError:
            logger.exception("could not record a denied request")
        except Exception:  # the cache (Redis) is down: still record, never fail the response
            logger.exception("denied-request de-duplication unavailable")
            try:
                record_denied(user, request.method or "", request.path)
            except DatabaseError:
                logger.exception("could not record a denied request")
