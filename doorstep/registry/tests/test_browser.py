"""The registry in real Debian Chromium (Playwright, sync API) against pytest-django's live server.

The grid officer signs in, types the pinyin initials "zs" into the navbar search box, opens 张三 from the
results, goes to his household and reads its colour with the reasons; then, on a phone-sized screen, opens
the visit to-do list and records a visit. No request may leave the server (police networks are isolated),
no console or page error may occur; screenshots go to var/screenshots/ for a human to look at.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest

from doorstep.core.masking import mask_citizen_id
from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    SCREENSHOTS,
    TIMEOUT_MS,
    Watch,
    _async_unsafe_allowed,
    chromium,
    sign_in,
    world,
)
from doorstep.registry import services
from doorstep.registry.choices import Occupancy
from doorstep.registry.models import Household, Visit

pytestmark = pytest.mark.browser


def test_officer_finds_a_person_by_pinyin_initials_and_reads_the_household_colour(
    reg, world, live_server, chromium, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    # A rented house with a floating tenant whose residence permit has expired: yellow, with its reasons.
    services.update_house(
        reg.house,
        occupancy=Occupancy.RENTED,
        responsibility_signed_on=dt.date(2026, 1, 5),
        by=world.officer_a,
    )
    services.update_person(reg.lodger, permit_expires_on=dt.date(2025, 6, 30), by=world.officer_a)
    Household.objects.filter(pk=reg.household.pk).update(next_visit_due=dt.date(2026, 1, 1))  # long overdue

    origin = live_server.url
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()

    # --- desktop: search by pinyin initials, open the person, then the household -------------------------
    # The live search box sits in the navbar from 1400 px up; narrower screens get a search button.
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = sign_in(context, origin, watch, "officer_a")
    assert "走访待办" in page.inner_text("[data-testid=visit-todo]")

    box = page.locator("[data-testid=nav-search] input[name=q]")
    box.fill("zs")
    live = page.locator("#nav-search-results [data-testid=search-hits]")
    live.wait_for()
    assert "张三" in live.inner_text()  # htmx live results under the box
    box.press("Enter")
    page.wait_for_url(f"{origin}/registry/search/?q=zs")
    hits = page.locator("main, .page-body").locator("[data-testid=search-hits]").first
    hits_text = hits.inner_text()
    assert "张三" in hits_text and mask_citizen_id(reg.head.id_number) in hits_text
    assert reg.head.id_number not in page.content()
    page.screenshot(path=str(SCREENSHOTS / "registry-search.png"), full_page=True)

    hits.locator("a", has_text="张三").first.click()
    page.wait_for_url(f"{origin}/registry/persons/{reg.head.pk}/")
    assert page.inner_text("[data-testid=id-number]").strip() == mask_citizen_id(reg.head.id_number)
    assert "户籍信息" in page.inner_text("[data-testid=category-block]")
    page.screenshot(path=str(SCREENSHOTS / "registry-person.png"), full_page=True)

    page.locator(".page-header a", has_text="所在户").click()
    page.wait_for_url(f"{origin}/registry/households/{reg.household.pk}/")
    assert page.inner_text("[data-testid=colour]").strip() == "黄色·关注户"
    reasons = page.locator("[data-testid=colour-reasons] li").all_inner_texts()
    assert reasons == ["出租屋（扣1分）", "1名流动人口居住证过期或未办理（扣1分）"]
    members = page.inner_text("[data-testid=members]")
    assert all(name in members for name in ("张三", "李四", "王五"))
    assert reg.head.id_number not in page.content()
    page.screenshot(path=str(SCREENSHOTS / "registry-household.png"), full_page=True)
    context.close()

    # --- phone: the to-do list, one tap to the visit form, record the visit ------------------------------
    phone = chromium.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True,
        locale="zh-CN",
    )  # fmt: skip
    phone.set_default_timeout(TIMEOUT_MS)
    page = sign_in(phone, origin, watch, "officer_a")
    page.goto(f"{origin}/registry/todo/")
    item = page.locator("[data-testid=todo] .todo-item").first
    assert "已逾期" in item.inner_text() and "1名流动人口居住证过期或未办理" in item.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "registry-todo-phone.png"), full_page=True)

    item.locator("a", has_text="走访").last.click()
    page.wait_for_url(f"{origin}/registry/households/{reg.household.pk}/visit/")
    page.fill("textarea[name=findings]", "核查租客王五居住证，已告知限期办理")
    page.screenshot(path=str(SCREENSHOTS / "registry-visit-phone.png"), full_page=True)
    page.locator("[data-testid=visit-form] button[type=submit]").click()
    page.wait_for_url(f"{origin}/registry/households/{reg.household.pk}/")
    assert "走访已登记" in page.inner_text(".page-body")
    assert "核查租客王五居住证" in page.inner_text("[data-testid=visits]")
    page.screenshot(path=str(SCREENSHOTS / "registry-household-phone.png"), full_page=True)
    phone.close()

    visit = Visit.objects.get()
    assert visit.visited_by_id == world.officer_a.pk and visit.colour_at_visit == "yellow"
    watch.check(server)
