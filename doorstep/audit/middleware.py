from __future__ import annotations

from doorstep.audit.context import RequestContext, reset, set_current


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
