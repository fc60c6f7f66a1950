"""Two-factor enrolment in real Debian Chromium against the live server: password → the enrolment page (QR
code and secret) → a code computed here from the secret shown on the page (RFC 6238 with django_otp.oath, as
an authenticator app would) → ten recovery codes → the home page. No request leaves the server."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import pytest
from django_otp.oath import totp

from doorstep.conftest import PASSWORD
from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    SCREENSHOTS,
    TIMEOUT_MS,
    Watch,
    _async_unsafe_allowed,
    chromium,
    world,
)

pytestmark = pytest.mark.browser


def test_login_enrol_and_reach_home(world, live_server, chromium, settings):
    settings.TWO_FACTOR_REQUIRED = True
    origin = live_server.url
    watch = Watch()
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch.attach(page)

    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_username", "director")
    page.fill("#id_password", PASSWORD)
    page.locator("form:has(#id_password) button[type=submit]").click()
    page.wait_for_url(f"{origin}/accounts/two-factor/enrol/**")
    assert page.locator("[data-testid=two-factor-qr] svg").is_visible()
    secret = page.locator("[data-testid=two-factor-secret]").inner_text()
    key = base64.b32decode(secret.replace(" ", ""))
    page.fill("#id_code", f"{totp(key):06d}")
    page.locator("[data-testid=two-factor-enrol] button[type=submit]").click()

    codes = page.locator("[data-testid=recovery-codes] code")
    codes.first.wait_for()
    assert codes.count() == 10
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "two-factor-recovery-codes.png"), full_page=True)
    page.locator("[data-testid=recovery-codes-continue]").click()
    page.wait_for_url(f"{origin}/")
    assert "首页" in page.content()

    watch.check(urlsplit(origin).netloc)
    context.close()
