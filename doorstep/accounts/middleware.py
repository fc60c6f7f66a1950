from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout

SESSION_STARTED = "doorstep_session_started"
SESSION_TOUCHED = "doorstep_session_touched"
# The idle window slides on activity, but the session is written at most once a minute: a map view fetches
# dozens of tiles at once, and a database write per request would serialise them (SQLite) for nothing.
TOUCH_EVERY_SECONDS = 60


class SessionLimitsMiddleware:
    """The absolute session limit (12 h by default), and the sliding idle limit (the session's age, renewed by
    saving the session on activity, at most once a minute)."""

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
            if now - request.session.get(SESSION_TOUCHED, 0) >= TOUCH_EVERY_SECONDS:
                request.session[SESSION_TOUCHED] = now  # modified: saved with a new expiry
        return self.get_response(request)
