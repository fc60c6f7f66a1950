"""The workspace shell, its web app manifest and its service worker (ADR 0024).

The shell (`/m/`) holds no personal data — not even the user's name, which comes from /m/api/today — because
the service worker keeps a copy of it to open the workspace offline. The service worker is rendered here
(not served as a static file) so that its scope is `/m/` and so that it lists the exact static URLs of this
deployment (hashed names under the manifest storage) and changes — and so replaces the old cache — whenever
one of them or the application's version changes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from doorstep.mobile import access
from doorstep.patrol.choices import FindingKind

THEME_COLOUR = "#206bc4"  # the favicon's blue (Tabler's primary)
BACKGROUND_COLOUR = "#f6f8fb"

# Every static file the shell uses, in the order the page loads them; the service worker precaches them all.
STYLES = (
    "vendor/tabler/tabler.min.css",
    "vendor/tabler-icons/tabler-icons.min.css",
    "doorstep/mobile/app.css",
    "doorstep/mobile/parts.css",
)
SCRIPTS = (
    "doorstep/mobile/seal.js",
    "doorstep/mobile/queue.js",
    "doorstep/mobile/app.js",
    "doorstep/mobile/lookup.js",
    "doorstep/mobile/map.js",
    "doorstep/mobile/dispatch.js",
)
# MapLibre is loaded by map.js when the map tab is first shown (the shell's `data-maplibre-*` attributes give
# its exact URLs); precached all the same, so the map opens offline.
MAPLIBRE = ("vendor/maplibre-gl/maplibre-gl.js", "vendor/maplibre-gl/maplibre-gl.css")
OTHER_FILES = (
    *MAPLIBRE,
    "vendor/tabler-icons/fonts/tabler-icons.woff2",  # the icon font the icon CSS loads
    "doorstep/favicon.svg",
    "doorstep/mobile/icons/icon-192.png",
    "doorstep/mobile/icons/icon-512.png",
    "doorstep/mobile/icons/maskable-512.png",
)
STATIC_FILES = STYLES + SCRIPTS + OTHER_FILES


def _app_version() -> str:
    try:
        return importlib.metadata.version("doorstep")
    except importlib.metadata.PackageNotFoundError:
        return "0"


def cache_version() -> str:
    """The service worker's cache name suffix: the static URLs (content-hashed in production), the app's
    version and, for development where URLs do not change with content, each source file's size and time."""
    digest = hashlib.sha256(_app_version().encode())
    for name in STATIC_FILES:
        digest.update(static(name).encode())
        found = finders.find(name)
        if isinstance(found, str):
            try:
                stat = Path(found).stat()
            except OSError:
                continue
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    for template in ("mobile/app.html", "mobile/sw.js"):
        found = _template_path(template)
        if found:
            digest.update(found.encode())
    return digest.hexdigest()[:16]


def _template_path(name: str) -> str:
    for folder in settings.TEMPLATES[0]["DIRS"]:
        candidate = Path(folder) / name
        if candidate.exists():
            stat = candidate.stat()
            return f"{name}:{stat.st_size}:{stat.st_mtime_ns}"
    return ""


@require_GET
@login_required
@cache_control(no_cache=True, private=True)
def app(request: HttpRequest) -> HttpResponse:
    """The workspace shell: tabs, forms and scripts; everything personal is fetched by the scripts."""
    if not access.may_use(request.user):
        raise PermissionDenied(_("手机工作台只供社区民警、协勤员、所长和巡防队员使用"))
    get_token(request)  # the scripts send the csrftoken cookie back in a header
    return render(
        request,
        "mobile/app.html",
        {
            "styles": STYLES,
            "scripts": SCRIPTS,
            "finding_kinds": FindingKind.choices,
            "sw_url": reverse("mobile:sw"),
        },
    )


def _manifest_data() -> dict[str, Any]:
    start = reverse("mobile:app")
    return {
        "id": start,
        "name": _("家门口派出所·移动警务"),
        "short_name": _("移动警务"),
        "description": _("社区民警、协勤员的手机工作台：今日工作、离线记录、派警接收"),
        "lang": "zh-CN",
        "dir": "ltr",
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {"src": static("doorstep/mobile/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("doorstep/mobile/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("doorstep/mobile/icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }


@require_GET
@cache_control(no_cache=True)
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest (public: it names the application, nothing of the user)."""
    return HttpResponse(
        json.dumps(_manifest_data(), ensure_ascii=False, indent=1),
        content_type="application/manifest+json; charset=utf-8",
    )


@require_GET
@cache_control(no_cache=True)
def sw(request: HttpRequest) -> HttpResponse:
    """The service worker: precaches the shell and its static files; API answers are never cached."""
    shell = reverse("mobile:app")
    precache = [static(name) for name in STATIC_FILES] + [reverse("mobile:manifest")]
    body = render(
        request,
        "mobile/sw.js",
        {
            "version": cache_version(),
            "shell_json": json.dumps(shell),
            "precache_json": json.dumps(precache),
            "static_prefix_json": json.dumps(static("")),
            "api_prefix_json": json.dumps(shell + "api/"),
        },
    ).content
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = shell
    return response


urlpatterns: list[URLPattern] = [
    path("", app, name="app"),
    path("manifest.webmanifest", manifest, name="manifest"),
    path("sw.js", sw, name="sw"),
]
