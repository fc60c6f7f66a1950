from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout

SESSION_STARTED = "doorstep_session_started"
SESSION_TOUCHED = "doorstep_session_touched"
# The idle window slides on activity, but the session is written at most once a minute: a map view fetches
# dozens of tiles at once, and a database write per request would serialise them (SQLite) for nothing.
TOUCH_EVERY_SECONDS = 60
# Requests a page makes on its own (timers, retries) send this header: they must not keep an unattended
# session alive, or a phone left in a pocket with the workspace open would never reach the idle limit.
BACKGROUND_HEADER = "X-Doorstep-Background"


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
            if request.headers.get(BACKGROUND_HEADER) == "1":
                pass  # a page's own timer (the phone workspace's resend loop, a refresh): not the user's activity
            elif now - request.session.get(SESSION_TOUCHED, 0) >= TOUCH_EVERY_SECONDS:
                request.session[SESSION_TOUCHED] = now  # modified: saved with a new expiry
        return self.get_response(request)


class TwoFactorMiddleware:
    """Hold a signed-in session that has not passed the second factor (issue #12 item 3): it reaches only the
    verify, enrol and logout pages and the language switch; other pages redirect to the verify page, the API
    answers 403 with a `detail`. Requests with `Authorization: Token …` pass: a token is a machine credential
    (scoped, revocable) and DRF authenticates them by the token alone, never by the session. /healthz and
    static files are answered by earlier middleware. Place after OTPMiddleware and SessionLimitsMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from doorstep.accounts import two_factor

        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and two_factor.session_must_verify(user, getattr(request, "session", None))
            and not user.is_verified()
            and not self._allowed(request)
        ):
            return self._refuse(request)
        return self.get_response(request)

    @staticmethod
    def _allowed(request) -> bool:
        from django.urls import reverse

        path = request.path_info
        if path.startswith("/api/") and request.META.get("HTTP_AUTHORIZATION", "").startswith("Token "):
            return True
        open_paths = (
            reverse("accounts:two_factor_verify"),
            reverse("accounts:two_factor_enrol"),
            reverse("accounts:logout"),
            reverse("set_language"),
        )
        return path in open_paths

    @staticmethod
    def _refuse(request):
        from django.http import JsonResponse
        from django.shortcuts import redirect
        from django.urls import reverse
        from django.utils.http import urlencode
        from django.utils.translation import gettext as _

        from doorstep.accounts import two_factor

        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": _("请先完成两步验证")}, status=403)
        if request.path_info.startswith("/m/api/"):  # the phone workspace: its re-login prompt leads there
            return JsonResponse({"detail": _("请先完成两步验证"), "code": "login"}, status=401)
        target = (
            "accounts:two_factor_verify"
            if two_factor.is_enrolled(request.user)
            else "accounts:two_factor_enrol"
        )
        url = reverse(target)
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        return redirect(url)
