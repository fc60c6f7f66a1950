"""Shared pieces of the browser tests: Debian Chromium through Playwright (sync API), a committed `world`
for the live server, the watch that fails a test on any request leaving the server or any console error,
and signing in through the login form. Test modules import the fixtures they use from here."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from doorstep.conftest import PASSWORD, build_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
TIMEOUT_MS = 45_000  # waits on events; generous for a loaded 2-core CI machine


@pytest.fixture(autouse=True)
def _async_unsafe_allowed(monkeypatch):
    # Playwright's sync API keeps an asyncio loop in this thread; Django would refuse ORM calls here.
    # Set per test (not for the whole process) so other tests keep Django's async-safety check.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def world(transactional_db):
    # The live server answers from another thread, so the data must be committed: no `db` rollback here.
    # (The registry conftest's `reg` fixture builds on this `world`.)
    return build_world()


@pytest.fixture
def chromium():
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        message = (
            f"!!! Chromium is not installed at {CHROMIUM} — the browser test needs Debian's chromium "
            "package (apt-get install chromium fonts-noto-cjk, or `make system-deps`)"
        )
        if os.environ.get("DOORSTEP_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watch:
    """Everything a page asked for and everything that went wrong, across the contexts of one test."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed: list[str] = []

    def attach(self, page) -> None:
        page.on("request", lambda r: self.requests.append(r.url))
        page.on(
            "console",
            lambda m: self.console_errors.append(f"{m.text} @ {m.location}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        # A request the page itself cancelled by navigating away (e.g. a live search still in flight when Enter
        # is pressed) is not a failure of the server.
        page.on(
            "requestfailed",
            lambda r: (
                self.failed.append(f"{r.url}: {r.failure}")
                if "ERR_ABORTED" not in (r.failure or "")
                else None
            ),
        )
        page.on(
            "response", lambda r: self.failed.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None
        )

    def check(self, server: str) -> None:
        outside = [
            url
            for url in self.requests
            if urlsplit(url).scheme not in {"data", "blob"} and urlsplit(url).netloc != server
        ]
        assert not outside, f"requests left the server: {outside}"
        assert not self.console_errors, self.console_errors
        assert not self.page_errors, self.page_errors
        assert not self.failed, self.failed


def sign_in(context, origin: str, watch: Watch, username: str):
    page = context.new_page()
    watch.attach(page)
    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form:has(#id_password) button[type=submit]").click()
    page.wait_for_url(f"{origin}/")
    return page
