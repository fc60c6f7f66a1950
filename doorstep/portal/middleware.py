"""The portal's separation from the staff site (ADR 0019). Under PORTAL_PREFIX:

- the staff session cookie is not read (the request arrives without it, so `request.user` is anonymous even
  for a logged-in officer on the same browser) and no session cookie is ever set: the portal keeps no
  server-side session at all (a one-time-code proof travels as a signed, short-lived form field);
- every response carries a strict Content-Security-Policy (scripts, styles, images, fonts and connections
  from this server only; no inline script or style; no framing), a same-origin referrer policy, no sniffing, no caching of
  pages (they may show a receipt), and a Permissions-Policy that denies camera, microphone and location.
"""

from __future__ import annotations

from django.conf import settings

PORTAL_PREFIX = "/portal/"

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on form posts, which the
    # CSRF check refuses; other sites still learn nothing of the portal URL a resident came from.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def is_portal(path: str) -> bool:
    return path.startswith(PORTAL_PREFIX) or path == PORTAL_PREFIX.rstrip("/")


class PortalMiddleware:
    """Placed before SessionMiddleware (settings.MIDDLEWARE)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_portal(request.path_info):
            return self.get_response(request)
        request.COOKIES.pop(settings.SESSION_COOKIE_NAME, None)
        request.portal = True
        response = self.get_response(request)
        response.cookies.pop(settings.SESSION_COOKIE_NAME, None)
        for name, value in HEADERS.items():
            response.headers[name] = value
        if not response.has_header("Cache-Control"):
            response.headers["Cache-Control"] = "no-store"
        return response
