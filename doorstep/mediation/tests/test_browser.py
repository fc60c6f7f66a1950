"""An on-site mediation in real Debian Chromium (Playwright, sync API) against pytest-django's live server.

The community officer, on a 390×844 phone screen, takes a 邻里纠纷 at /mediation/new/ (her only community is
preselected), tries to settle it on the spot, fails and transfers it to the police station's mediation room:
the case turns 调解室调解中 with today's duty mediator 黄文. The mediator, at a desk, finds the number in
我承办的纠纷 on /mediation/, records a session, draws up the agreement and ends on 调解成功 with the agreement
PDF (fetched with the browser's own cookies: application/pdf, starting %PDF). A second test submits the intake
with one party only: the Chinese error comes back and nothing is created. No request may leave the server and
no console or page error may occur; screenshots go to var/screenshots/.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urljoin, urlsplit

import pytest
from django.utils import timezone

from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    SCREENSHOTS,
    TIMEOUT_MS,
    Watch,
    _async_unsafe_allowed,
    chromium,
    sign_in,
)
from doorstep.mediation.choices import Status
from doorstep.mediation.models import Dispute
from doorstep.mediation.tests.conftest import on_duty

pytestmark = pytest.mark.browser

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}


def _fill_intake(page, *, parties: list[str]) -> None:
    # An officer with one grid gets her community (and grid) preselected.
    assert page.locator("#id_community option:checked").inner_text().strip() == "西福社区"
    page.select_option("#id_dispute_type", label="邻里纠纷")
    page.fill("#id_place", "西福社区3号楼2单元")
    page.fill("#id_facts", "楼上卫生间漏水，楼下天花板受损，双方就赔偿发生争执。")
    for i, name in enumerate(parties):
        page.fill(f"#id_p{i}_name", name)


def test_onsite_mediation_is_transferred_to_the_duty_mediator_and_settled(
    med_live, live_server, chromium, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path  # the agreement PDF is stored under MEDIA_ROOT
    on_duty(med_live, timezone.localdate())
    origin = live_server.url
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()

    # --- the officer, on her phone ---------------------------------------------------------------------------
    phone = chromium.new_context(**PHONE)
    phone.set_default_timeout(TIMEOUT_MS)
    mobile = sign_in(phone, origin, watch, "officer_a")
    mobile.goto(f"{origin}/mediation/new/")
    mobile.wait_for_selector("[data-testid=dispute-form]")
    _fill_intake(mobile, parties=["王伟", "李娜"])
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    mobile.screenshot(path=str(SCREENSHOTS / "mediation-intake-phone.png"), full_page=True)
    mobile.locator("[data-testid=dispute-form] button[type=submit]").click()

    mobile.wait_for_url(f"{origin}/mediation/*/")
    dispute = Dispute.objects.get()
    assert mobile.inner_text("[data-testid=dispute-number]").strip() == dispute.number
    assert mobile.inner_text("[data-testid=dispute-status]").strip() == "首接调解中"
    mobile.fill("#onsite-note", "现场劝解约二十分钟，双方对赔偿数额分歧较大，未能达成一致。")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    mobile.screenshot(path=str(SCREENSHOTS / "mediation-onsite-phone.png"), full_page=True)
    mobile.click("[data-testid=onsite-transfer]")

    mobile.locator("[data-testid=dispute-status]", has_text="调解室调解中").wait_for()
    assert mobile.inner_text("[data-testid=mediator]").strip() == "黄文"
    assert mobile.locator("[data-testid=onsite]").count() == 0
    mobile.screenshot(path=str(SCREENSHOTS / "mediation-transferred-phone.png"), full_page=True)
    dispute.refresh_from_db()
    assert dispute.status == Status.IN_ROOM and dispute.mediator_id == med_live.mediator_a.pk

    # --- the duty mediator, at the mediation room's desk -----------------------------------------------------
    desk = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    desk.set_default_timeout(TIMEOUT_MS)
    page = sign_in(desk, origin, watch, "mediator")
    page.goto(f"{origin}/mediation/")
    mine = page.locator("[data-testid=section-mine]")
    assert "我承办的纠纷" in mine.inner_text()
    link = mine.get_by_role("link", name=dispute.number)
    link.wait_for()
    assert "黄文" in page.inner_text("[data-testid=duty-today]")
    page.screenshot(path=str(SCREENSHOTS / "mediation-queue.png"), full_page=True)
    link.click()

    page.wait_for_url(f"{origin}/mediation/{dispute.pk}/")
    session = page.locator("[data-testid=session]")
    session.locator("[name=place]").fill("驻所人民调解室")
    session.locator("[name=attendees]").fill("王伟、李娜、调解员黄文")
    session.locator("[name=notes]").fill("释明相邻关系中的修缮和赔偿责任，双方同意按维修报价赔偿。")
    session.locator("button[type=submit]").click()
    page.locator("[data-testid=sessions]", has_text="驻所人民调解室").wait_for()

    page.click("[data-testid=make-agreement]")
    page.wait_for_url(f"{origin}/mediation/{dispute.pk}/agreement/**")
    form = page.locator("[data-testid=agreement-form]")
    assert "漏水" in page.input_value("#id_facts")  # prefilled with the intake's facts
    page.fill("#id_issues", "漏水致天花板受损的赔偿数额及修缮责任。")
    page.fill("#id_responsibilities", "楼上住户未及时维修卫生间防水，负全部责任。")
    deadline = timezone.localdate() + dt.timedelta(days=14)
    page.fill("#id_t0_content", "王伟赔偿李娜天花板修缮费人民币3000元")
    page.fill("#id_t0_manner", "银行转账一次性支付")
    page.fill("#id_t0_deadline", deadline.isoformat())
    page.screenshot(path=str(SCREENSHOTS / "mediation-agreement-form.png"), full_page=True)
    form.locator("button[type=submit]").click()

    page.wait_for_url(f"{origin}/mediation/{dispute.pk}/")
    page.locator("[data-testid=dispute-status]", has_text="调解成功").wait_for()
    pdf_link = page.locator("[data-testid=agreement-pdf]")
    assert "王伟赔偿李娜天花板修缮费人民币3000元" in page.inner_text("[data-testid=agreement]")
    page.screenshot(path=str(SCREENSHOTS / "mediation-settled.png"), full_page=True)
    response = page.request.get(urljoin(page.url, pdf_link.get_attribute("href")))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    dispute.refresh_from_db()
    assert dispute.status == Status.SETTLED

    phone.close()
    desk.close()
    watch.check(server)


def test_intake_with_one_party_is_refused_in_chinese(med_live, live_server, chromium):
    origin = live_server.url
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()
    phone = chromium.new_context(**PHONE)
    phone.set_default_timeout(TIMEOUT_MS)
    page = sign_in(phone, origin, watch, "officer_a")
    page.goto(f"{origin}/mediation/new/")
    _fill_intake(page, parties=["王伟"])
    page.locator("[data-testid=dispute-form] button[type=submit]").click()

    error = page.locator("[data-testid=dispute-form] .alert-danger")
    error.wait_for()
    assert "请登记纠纷双方当事人（至少两方）" in error.inner_text()
    assert page.url == f"{origin}/mediation/new/"
    assert page.input_value("#id_p0_name") == "王伟"  # what was typed is kept
    page.screenshot(path=str(SCREENSHOTS / "mediation-intake-error-phone.png"), full_page=True)
    assert not Dispute.objects.exists()
    phone.close()
    watch.check(server)
