"""End to end in real Debian Chromium (Playwright, sync API) against pytest-django's live server.

A station director signs in through the login form and opens the home dashboard, the staffing board and
the map. The pages must render the world's real data in Chinese, raise no console or page error, and —
police networks being isolated from the internet — request nothing from any host but the server.
Full-page screenshots go to var/screenshots/ for a human to look at.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from doorstep.conftest import PASSWORD
from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    SCREENSHOTS,
    TIMEOUT_MS,
    _async_unsafe_allowed,
    chromium,
    world,
)

pytestmark = pytest.mark.browser


def test_director_sees_dashboard_staffing_and_map(world, live_server, chromium):
    origin = live_server.url  # http://localhost:<port>
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    requests: list[str] = []
    console_errors: list[str] = []
    page_errors: list[str] = []
    failed: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on(
        "console", lambda m: console_errors.append(f"{m.text} @ {m.location}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
    page.on("response", lambda r: failed.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)

    # Sign in through the real form.
    page.goto(f"{origin}/accounts/login/")
    assert "登录" in page.title()
    page.fill("#id_username", "director")
    page.fill("#id_password", PASSWORD)
    page.locator("form:has(#id_password) button[type=submit]").click()
    page.wait_for_url(f"{origin}/")

    # Home dashboard: the director's station, its three grids and the ones short of staff.
    page.wait_for_load_state("load")
    body = page.inner_text("body")
    assert "director，您好" in body
    assert "所长" in body
    assert page.inner_text("[data-testid=count-stations]").strip() == "1"
    assert page.inner_text("[data-testid=count-grids]").strip() == "3"
    for name in ("需要关注的网格", "西福第1网格", "西福第2网格", "东星第1网格", "待审批事项"):
        assert name in body, name
    assert "仁风第1网格" not in body  # another station's grid
    page.screenshot(path=str(SCREENSHOTS / "browser-home.png"), full_page=True)

    # Staffing board: the summary table and, with a single station, the per-grid table.
    page.goto(f"{origin}/org/staffing/")
    summary = page.locator("[data-testid=staffing-summary]")
    assert "缺社区民警" in summary.inner_text()
    first_row = summary.locator("tbody tr").first.locator("td").all_inner_texts()
    # station, grids, compliant, officer gaps (grid C), auxiliary gaps (1 + 2 + 2), surplus
    assert first_row == ["城东派出所", "3", "0", "1", "5", "0"]
    grids = page.locator("[data-testid=staffing-grids]").inner_text()
    for text in ("西福第1网格", "刘芳", "翁磊", "西福第2网格", "杨凯", "东星第1网格", "空缺"):
        assert text in grids, text
    # 网格编制 sits in the 组织管理 dropdown: the group is highlighted, and 网格编制 inside it.
    assert [t.strip() for t in page.locator(".navbar .nav-item.active > .nav-link").all_inner_texts()] == [
        "组织管理"
    ]
    assert [t.strip() for t in page.locator(".navbar .dropdown-item.active").all_text_contents()] == [
        "网格编制"
    ]
    page.screenshot(path=str(SCREENSHOTS / "browser-staffing.png"), full_page=True)

    # Map: map.js sets data-ready="1" once the grid and police-room layers are loaded.
    page.goto(f"{origin}/map/")
    page.wait_for_selector("#map[data-ready='1']", state="attached")
    assert page.inner_text("#map-status").strip() == "网格 3 · 警务室 2 · 单位 0 · 摄像机 0 · 广播音柱 0"
    assert page.locator("#map canvas").count() >= 1
    page.wait_for_timeout(300)  # let MapLibre draw the frame after the layers were added
    page.screenshot(path=str(SCREENSHOTS / "browser-map.png"), full_page=True)
    context.close()

    outside = [
        url
        for url in requests
        if urlsplit(url).scheme not in {"data", "blob"} and urlsplit(url).netloc != server
    ]
    assert not outside, f"requests left the server: {outside}"
    assert any("/api/v1/map/grids.geojson" in url for url in requests)
    assert any("/static/vendor/maplibre-gl/maplibre-gl.js" in url for url in requests)
    assert not console_errors, console_errors
    assert not page_errors, page_errors
    assert not failed, failed
