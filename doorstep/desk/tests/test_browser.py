"""A service-desk intake in real Debian Chromium (Playwright, sync API) on a phone-sized screen.

The grid auxiliary signs in on a 390×844 viewport, lands on her police room's desk, takes a 居住证申领 with
one document missing, and ends on the printable receipt showing the receipt number, the masked ID number,
the documents (one 待补) and the time limit. No request may leave the server, no console or page error may
occur, and the form must not scroll sideways; screenshots go to var/screenshots/.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    SCREENSHOTS,
    TIMEOUT_MS,
    Watch,
    _async_unsafe_allowed,
    chromium,
    sign_in,
    world,
)
from doorstep.desk.models import Intake
from doorstep.desk.seed import ensure_business_types
from doorstep.desk.tests.factories import VALID_ID

pytestmark = pytest.mark.browser


def test_auxiliary_takes_a_residence_permit_application_on_a_phone(world, live_server, chromium):
    ensure_business_types()  # the live-server database is flushed between tests: put the defaults back
    origin = live_server.url
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()
    context = chromium.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = sign_in(context, origin, watch, "auxiliary_a")

    page.goto(f"{origin}/desk/")
    page.wait_for_url(f"{origin}/desk/rooms/{world.room_c1.pk}/")
    assert "西福警务室" in page.inner_text("h2")
    page.click("[data-testid=new-intake] a[data-kind=household]")
    page.wait_for_selector("[data-testid=intake-form]")

    page.select_option("#id_business_type", label="居住证申领")
    # Only the chosen type's documents are offered, with its time limit.
    visible = page.locator("[data-testid=documents] label[data-doc]:visible")
    assert visible.count() == 3
    assert "15个工作日" in page.inner_text("#desk-limit")
    page.check("label[data-doc='身份证'] input")
    page.check("label[data-doc='近期一寸照片'] input")
    page.fill("#id_applicant_name", "王伟")
    page.fill("#id_id_number", VALID_ID)
    page.fill("#id_phone", "13912345678")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SCREENSHOTS / "desk-intake-phone.png"), full_page=True)
    page.click("[data-testid=intake-submit]")

    page.wait_for_selector("[data-testid=receipt]")
    intake = Intake.objects.get()
    text = page.inner_text("[data-testid=receipt]")
    assert intake.receipt_no in text
    assert "350503********1236" in text and VALID_ID not in page.content()
    assert "居住地址证明（租赁合同或房产证） — 待补" in text
    assert "15个工作日" in text
    assert intake.status == "awaiting_documents"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SCREENSHOTS / "desk-receipt-phone.png"), full_page=True)
    watch.check(server)
    context.close()
