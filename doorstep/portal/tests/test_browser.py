"""The resident's way through the portal in real Debian Chromium (Playwright, sync API) on a 390×844 phone
screen, against pytest-django's live server: scan the house-plate QR code (its URL) → the grid officer's
public card → 办事咨询 from the card (the building's address prefilled) → the receipt code → 查进度 finds it
待受理; the community officer, at a desk, answers it in 网上受理; the resident's 查进度 shows the answer.
The portal's strict CSP is in force: any inline script or style would be a console error, which fails the
test, as does any request leaving the server. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.cache import cache

from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    SCREENSHOTS,
    TIMEOUT_MS,
    Watch,
    _async_unsafe_allowed,
    chromium,
    sign_in,
    world,
)
from doorstep.desk.models import BusinessType
from doorstep.portal import officers
from doorstep.portal.models import Submission
from doorstep.portal.tests.test_officer import add_address

pytestmark = pytest.mark.browser

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}


def test_resident_scans_the_plate_asks_the_officer_and_reads_the_answer(world, live_server, chromium):
    cache.clear()
    address = add_address(world.grid_a, approve_by=world.director)
    BusinessType.objects.get_or_create(
        name="居住证申领", defaults={"documents": ["身份证", "居住证明"], "time_limit": 15}
    )
    origin = live_server.url
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()

    # --- the resident scans the plate -------------------------------------------------------------------------
    phone = chromium.new_context(**PHONE)
    phone.set_default_timeout(TIMEOUT_MS)
    page = phone.new_page()
    watch.attach(page)
    csp_violations: list[str] = []
    page.on(
        "console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None
    )
    page.goto(f"{origin}/portal/a/{officers.address_code(address.pk)}/")
    page.wait_for_selector("[data-testid=officer-card]")
    assert page.inner_text("[data-testid=officer-name]").strip() == world.officer_a_staff.name
    assert page.inner_text("[data-testid=card-address]").strip() == officers.building_label(address)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SCREENSHOTS / "portal-officer-card-phone.png"), full_page=True)

    # --- asks a question from the card ---------------------------------------------------------------------
    page.click("[data-testid=card-service]")
    page.wait_for_selector("[data-testid=submit-form]")
    assert page.input_value("#id_address_text") == officers.building_label(address)
    page.select_option("#id_business_type", label="居住证申领")
    page.fill("#id_content", "外地户籍在本社区租房，想办居住证，需要住满多久？")
    page.fill("#id_name", "林小梅")
    page.fill("#id_phone", "13766668888")
    page.screenshot(path=str(SCREENSHOTS / "portal-service-form-phone.png"), full_page=True)
    # Scrolled to the end, the send button is clear of the fixed tab bar (Tabler's body of the window's height
    # once kept the page's bottom padding from following a long form).
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    button_bottom = page.locator("[data-testid=submit-form] button[type=submit]").bounding_box()
    tabbar_top = page.locator(".portal-tabbar").bounding_box()["y"]
    assert button_bottom["y"] + button_bottom["height"] <= tabbar_top
    page.locator("[data-testid=submit-form] button[type=submit]").click()
    page.wait_for_selector("[data-testid=receipt-code]")
    code = page.inner_text("[data-testid=receipt-code]").strip()
    item = Submission.objects.get()
    assert code.replace("-", "") == item.receipt_code
    assert (item.grid_id, item.community_id) == (world.grid_a.pk, world.c1.pk)
    assert code not in page.url and "13766668888" not in page.url

    # --- checks the status ------------------------------------------------------------------------------------
    page.click("nav.portal-tabbar a[href='/portal/receipt/']")
    page.wait_for_selector("[data-testid=receipt-form]")
    page.fill("[data-testid=receipt-form] input[name=code]", code.lower().replace("-", " "))
    page.locator("[data-testid=receipt-form] button[type=submit]").click()
    page.wait_for_selector("[data-testid=status-card]")
    assert page.inner_text("[data-testid=status]").strip() == "待受理"

    # --- the community officer answers it at her desk -------------------------------------------------------
    desk = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    desk.set_default_timeout(TIMEOUT_MS)
    staff = sign_in(desk, origin, watch, "officer_a")
    staff.goto(f"{origin}/online/")
    staff.click(f"a[href='/online/items/{item.pk}/']")
    staff.wait_for_selector("[data-testid=reply-form]")
    assert "137****8888" in staff.content() and "13766668888" not in staff.content()
    staff.fill(
        "[data-testid=reply-form] textarea",
        "在本社区居住满半年即可申领，请带身份证和租房合同到西福警务室办理。",
    )
    staff.locator("[data-testid=reply-form] button[type=submit]").click()
    staff.wait_for_url(f"{origin}/online/items/{item.pk}/")
    staff.screenshot(path=str(SCREENSHOTS / "portal-inbox-item.png"), full_page=True)

    # --- the resident sees the answer ---------------------------------------------------------------------
    page.fill("[data-testid=receipt-form] input[name=code]", code)
    page.locator("[data-testid=receipt-form] button[type=submit]").click()
    page.wait_for_selector("[data-testid=reply]")
    assert "居住满半年" in page.inner_text("[data-testid=reply]")
    assert page.inner_text("[data-testid=status]").strip() == "已受理"
    page.screenshot(path=str(SCREENSHOTS / "portal-receipt-phone.png"), full_page=True)

    assert not csp_violations, csp_violations
    watch.check(server)
