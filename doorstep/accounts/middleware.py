from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout

SESSION_STARTED = "doorstep_session_started"


class SessionLimitsMiddleware:
    """The absolute session limit (12 h by default). The idle limit is the sliding cookie age."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            started = request.session.get(SESSION_STARTED)
            now = time.time()
            if started is None:
                request.session[SESSION_STARTED] = now
            elif now - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
        return self.get_response(request)
