"""The workspace shell as an installable app in real Debian Chromium (Playwright, sync API) on a phone-sized
screen, against pytest-django's live server.

The shell loads with no console error and no request leaving the server; its service worker takes control;
a reload with the network cut is answered by the service worker from its cache (the worker marks a shell it
serves from the cache with `X-Doorstep-Shell: cache`, so the test tells a cached shell from one the worker
fetched through — whether or not the emulated offline mode also cuts the worker's own fetches) and the page
says 离线 and shows today's work kept on the phone. Chromium's own installability check (the DevTools
protocol's `Page.getInstallabilityErrors` and `Page.getAppManifest`, what Lighthouse's PWA audit used) finds
nothing missing. And a record sealed by seal.js in Chromium opens in Python with `sealing.unseal`.

The live server speaks HTTP only (no WebSocket): dispatch.js's alarm socket fails to connect here, which is
the one console error let through (test_browser_dispatch.py runs the ASGI server for the socket).
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    TIMEOUT_MS,
    Watch,
    _async_unsafe_allowed,
    chromium,
    sign_in,
    world,
)
from doorstep.mobile import sealing

pytestmark = pytest.mark.browser

HERE = {
    "longitude": 118.6032,
    "latitude": 24.9071,
    "accuracy": 15,
}  # inside grid A (118.60–118.61, 24.90–24.91)
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "geolocation": HERE,
    "permissions": ["geolocation"],
}


def _check(watch: Watch, server: str) -> None:
    watch.console_errors = [e for e in watch.console_errors if "/ws/alarms/" not in e]
    watch.check(server)


def _open(context, origin: str, watch: Watch, username: str = "officer_a"):
    page = sign_in(context, origin, watch, username)
    page.goto(f"{origin}/m/")
    page.wait_for_function("() => document.getElementById('m-user').textContent.length > 0")
    # The service worker activates and claims the page (clients.claim()).
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS)
    return page


def test_the_shell_loads_clean_its_service_worker_controls_it_and_serves_it_offline(
    world, live_server, chromium
):
    origin = live_server.url
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()
    context = chromium.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = _open(context, origin, watch)

    assert "刘芳" in page.locator("#m-user").inner_text()  # the name comes from /m/api/today, not the HTML
    assert page.locator("#m-conn").inner_text() == "在线"
    assert page.evaluate("() => typeof window.DoorstepMobile.enqueue") == "function"
    for tab in ("today", "record", "lookup", "map", "queue"):
        page.locator(f"[data-testid=tab-{tab}]").click()
        assert page.locator(f"#tab-{tab}").is_visible()
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / f"mobile-tab-{tab}.png"))
        # Nothing wider than the phone's screen.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.locator("[data-testid=tab-record]").click()
    for form in ("patrol", "clock"):
        page.locator(f"[data-testid=record-{form}]").click()
        page.screenshot(path=str(SCREENSHOTS / f"mobile-record-{form}.png"), full_page=True)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.locator("[data-testid=tab-today]").click()
    _check(watch, server)

    # The network goes away; a reload is answered by the service worker from its cache.
    context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    assert response.headers.get("x-doorstep-shell") == "cache"
    page.wait_for_function("() => document.getElementById('m-conn').textContent === '离线'")
    # Today's work kept on the phone is shown, marked as offline data.
    page.locator("[data-testid=today-stamp]").wait_for()
    assert page.locator("[data-testid=today-stamp]").inner_text().startswith("离线数据，更新于")
    assert "刘芳" in page.locator("#m-user").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "mobile-offline.png"))
    context.set_offline(False)
    context.close()


def test_chromium_finds_the_workspace_installable(world, live_server, chromium, tmp_path):
    """An installed app lives in a browser profile: the check runs in a persistent profile in a temporary
    folder (not one of Playwright's incognito-like contexts), launched with the fixture's Chromium and
    flags."""
    origin = live_server.url
    server = urlsplit(origin).netloc
    watch = Watch()
    profile = Path(tmp_path) / "profile"
    context = chromium.browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, **PHONE
    )
    try:
        context.set_default_timeout(TIMEOUT_MS)
        for extra in context.pages:
            extra.close()
        page = _open(context, origin, watch)
        cdp = context.new_cdp_session(page)

        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        manifest = cdp.send("Page.getAppManifest")
    finally:
        context.close()
    shutil.rmtree(profile, ignore_errors=True)

    assert errors == [], errors
    assert manifest["errors"] == [], manifest["errors"]
    assert manifest["url"] == f"{origin}/m/manifest.webmanifest"
    data = json.loads(manifest["data"])
    assert data["name"] == "家门口派出所·移动警务" and data["short_name"] == "移动警务"
    assert data["start_url"] == "/m/" and data["scope"] == "/m/" and data["display"] == "standalone"
    assert data["lang"] == "zh-CN"
    assert {i.get("purpose", "any") for i in data["icons"]} == {"any", "maskable"}
    _check(watch, server)


def test_a_record_sealed_in_chromium_opens_in_python(world, live_server, chromium):
    origin = live_server.url
    server = urlsplit(origin).netloc
    watch = Watch()
    context = chromium.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = _open(context, origin, watch)
    salt = sealing.new_salt()
    public = sealing.public_key(salt)
    client_id = str(uuid.uuid4())
    record = {
        "household": 42,
        "findings": "走访正常，户主在家；楼道灯已坏 😀",
        "visited_at": "2026-11-29T17:05:00.000+08:00",
        "photo": "data:image/jpeg;base64," + "A" * 5000,
        "nested": {"points": [{"seq": 1, "lng": 118.6032, "lat": 24.9071, "accuracy": 8.5}]},
    }

    sealed = page.evaluate(
        "([key, record, id]) => window.DoorstepSeal.seal(key, record, id)", [public, record, client_id]
    )

    assert set(sealed) == {"epk", "iv", "ct"}
    assert all(
        "=" not in v and "+" not in v and "/" not in v for v in sealed.values()
    )  # base64url, no padding
    assert sealing.unseal(salt, sealed, client_id) == record
    # Bound to its client id (the associated data) and to its device's key.
    with pytest.raises(sealing.SealError):
        sealing.unseal(salt, sealed, str(uuid.uuid4()))
    with pytest.raises(sealing.SealError):
        sealing.unseal(sealing.new_salt(), sealed, client_id)
    # A fresh ephemeral key and IV for every record: the same record never seals the same way twice.
    again = page.evaluate(
        "([key, record, id]) => window.DoorstepSeal.seal(key, record, id)", [public, record, client_id]
    )
    assert again["epk"] != sealed["epk"] and again["ct"] != sealed["ct"]
    context.close()
    _check(watch, server)
