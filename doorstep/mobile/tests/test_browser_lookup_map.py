"""The workspace's lookup and map tabs in real Debian Chromium (Playwright, sync API) on a phone-sized screen,
against pytest-django's live server.

The grid officer of grid A looks a resident up by name: the card shows the name, ID number and phone masked as
the API gives them (the full ID number appears nowhere in the page), and the lookup is in the access log.
拨打电话 reveals the phone (a reveal in the access log) and hands it to the dialler — a `tel:` navigation,
caught with the browser's Navigation API so the headless browser does not try to open a dialler. A resident of
another station's grid is not found. The map tab draws the officer's grid and its houses and the phone's own
position (emulated GPS inside grid A) as a blue dot.

The live server speaks HTTP only (no WebSocket): the workspace's alarm socket fails to connect here, which is
the one console error let through (test_browser_dispatch.py runs the ASGI server for the socket).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from doorstep.audit.models import AccessEntry, AccessKind
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
from doorstep.registry.choices import PersonCategory
from doorstep.registry.tests.conftest import make_house, new_id

pytestmark = pytest.mark.browser

HERE = {
    "longitude": 118.6032,
    "latitude": 24.9071,
    "accuracy": 15,
}  # inside grid A (118.60–118.61, 24.90–24.91)
PHONE = "13800138000"
# The Navigation API sees the tel: navigation before the browser looks for a dialler; keep what it saw.
CATCH_TEL = """
window.__tel = [];
if (window.navigation) navigation.addEventListener("navigate", (e) => {
  if (e.destination.url.startsWith("tel:")) { window.__tel.push(e.destination.url); e.preventDefault(); }
});
"""


@pytest.fixture
def residents(world):
    """张建华 in grid A (officer_a's) with a phone; 赵德明 in grid D (another station)."""
    house = make_house(world.grid_a)
    household = services.create_household(house=house, household_no="350503101")
    inside = services.create_person(
        name="张建华",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=household,
        relation_to_head="户主",
        phone=PHONE,
    )
    other = make_house(world.grid_d)
    other_household = services.create_household(house=other, household_no="350503201")
    outside = services.create_person(
        name="赵德明",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=other_household,
        relation_to_head="户主",
        phone="13900139000",
    )
    return house, inside, outside


def _phone(chromium, **extra):
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN",
        geolocation=HERE, permissions=["geolocation"], **extra,
    )  # fmt: skip
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _check(watch: Watch, server: str) -> None:
    # The live server is WSGI: the alarm socket's handshake fails (see the module docstring).
    watch.console_errors = [e for e in watch.console_errors if "/ws/alarms/" not in e]
    watch.check(server)


def _open_workspace(context, origin: str, watch: Watch, username: str = "officer_a"):
    page = sign_in(context, origin, watch, username)
    page.goto(f"{origin}/m/")
    page.wait_for_selector("#tab-lookup [data-testid=lookup-form]", state="attached")
    return page


def _search(page, text: str) -> None:
    page.fill("[data-testid=lookup-q]", text)
    page.click("[data-testid=lookup-go]")
    page.wait_for_function(
        "() => { const s = document.querySelector('[data-testid=lookup-status]');"
        " return s && !s.textContent.includes('查询中'); }"
    )


def test_lookup_finds_a_resident_masked_and_calls_through_an_audited_reveal(
    world, residents, live_server, chromium
):
    _house, inside, outside = residents
    origin, watch = live_server.url, Watch()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = _phone(chromium)
    context.add_init_script(CATCH_TEL)
    page = _open_workspace(context, origin, watch)

    page.click("[data-testid=tab-lookup]")
    before = AccessEntry.objects.filter(actor_id=world.officer_a.pk).count()
    _search(page, "张建华")
    card = page.locator("[data-testid=lookup-person]").first
    card.wait_for()
    text = card.inner_text()
    assert mask_citizen_id(inside.id_number) in text
    assert PHONE not in text and "138****8000" in text
    html = page.content()
    assert inside.id_number not in html and PHONE not in html  # not even in an attribute
    # The lookup read personal data: it is in the access log, with the resident among what was read.
    reads = AccessEntry.objects.filter(actor_id=world.officer_a.pk).order_by("pk")[before:]
    assert any(str(inside.pk) in entry.object_ids for entry in reads), list(reads.values())
    # A house of the grid comes with the colour dot and 走访 for its household.
    page.screenshot(path=str(SCREENSHOTS / "mobile-lookup.png"), full_page=True)

    # 拨打电话: revealed (and logged) at the moment of the call, then straight to the dialler.
    card.locator("[data-testid=lookup-call]").click()
    page.wait_for_function("() => window.__tel.length > 0")
    assert page.evaluate("window.__tel") == [f"tel:{PHONE}"]
    reveal = AccessEntry.objects.filter(
        actor_id=world.officer_a.pk, kind=AccessKind.REVEAL, object_type="registry.person"
    ).last()
    assert reveal is not None and reveal.object_ids == [str(inside.pk)] and "phone" in reveal.fields
    assert PHONE not in page.content()  # used, not kept on the page

    # 走访 opens the record tab's visit form on the resident's household.
    card.locator("[data-testid=lookup-visit]").click()
    page.wait_for_selector("#tab-record", state="visible")
    assert page.input_value("#visit-household") == str(inside.household_id)
    page.click("[data-testid=tab-lookup]")

    # Another station's resident is not in the officer's territory: not found.
    _search(page, "赵德明")
    assert page.locator("[data-testid=lookup-person]").count() == 0
    assert "没有找到" in page.inner_text("[data-testid=lookup-status]")
    assert outside.id_number not in page.content()
    _check(watch, urlsplit(origin).netloc)
    context.close()


def test_offline_lookup_and_map_say_they_need_a_connection(world, residents, live_server, chromium):
    origin, watch = live_server.url, Watch()
    context = _phone(chromium)
    page = _open_workspace(context, origin, watch)
    page.click("[data-testid=tab-lookup]")
    context.set_offline(True)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=lookup-status]').textContent.includes('离线时无法查询')"
    )
    assert page.locator("[data-testid=lookup-q]").is_disabled()
    # The map was never loaded: nothing in memory to show.
    page.click("[data-testid=tab-map]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=map-status]').textContent.includes('离线时无法加载地图')"
    )
    context.set_offline(False)
    page.click("[data-testid=tab-lookup]")
    page.wait_for_function("() => !document.querySelector('[data-testid=lookup-q]').disabled")
    context.close()


def test_map_draws_the_grid_its_houses_and_my_position(world, residents, live_server, chromium):
    house, _inside, _outside = residents
    origin, watch = live_server.url, Watch()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = _phone(chromium)
    page = _open_workspace(context, origin, watch)

    page.click("[data-testid=tab-map]")
    page.wait_for_selector("#tab-map[data-grid-loaded='1']", state="attached")
    # The house is drawn as a circle of its colour, on the grid's boundary fill.
    page.wait_for_function(
        "() => { const m = window.doorstepMobileMap; return m && m.loaded()"
        " && m.queryRenderedFeatures({layers: ['houses']}).length > 0"
        " && m.queryRenderedFeatures({layers: ['grid-fill']}).length > 0; }"
    )
    houses = page.evaluate(
        "() => window.doorstepMobileMap.queryRenderedFeatures({layers: ['houses']})"
        ".map((f) => ({colour: f.properties.colour, lng: f.geometry.coordinates[0], lat: f.geometry.coordinates[1]}))"
    )
    assert any(abs(h["lng"] - house.lng) < 1e-5 and abs(h["lat"] - house.lat) < 1e-5 for h in houses), houses
    assert {h["colour"] for h in houses} <= {"red", "yellow", "green"}

    # The own position: the emulated GPS fix (WGS-84, drawn as it is) with its accuracy circle.
    page.wait_for_selector("#tab-map[data-own-position]", state="attached")
    lng, lat = map(float, page.get_attribute("#tab-map", "data-own-position").split(","))
    assert abs(lng - HERE["longitude"]) < 1e-6 and abs(lat - HERE["latitude"]) < 1e-6
    page.wait_for_function(
        "() => window.doorstepMobileMap.queryRenderedFeatures({layers: ['me']}).length === 1"
    )
    page.screenshot(path=str(SCREENSHOTS / "mobile-map.png"))  # the whole grid, its house and my position
    page.click("[data-testid=map-locate]")
    page.wait_for_function(
        "() => { const m = window.doorstepMobileMap; return !m.isMoving()"
        " && m.queryRenderedFeatures({layers: ['me']}).length === 1"
        " && m.queryRenderedFeatures({layers: ['me-accuracy']}).length > 0; }"
    )
    me = page.evaluate(
        "() => window.doorstepMobileMap.queryRenderedFeatures({layers: ['me']})[0].geometry.coordinates"
    )
    assert abs(me[0] - HERE["longitude"]) < 1e-6 and abs(me[1] - HERE["latitude"]) < 1e-6
    assert "精度约 15 米" in page.inner_text("[data-testid=map-fix]")

    # A tap on the house shows its address.
    point = page.evaluate(
        "([lng, lat]) => { const p = window.doorstepMobileMap.project([lng, lat]); return [p.x, p.y]; }",
        [house.lng, house.lat],
    )
    box = page.locator("[data-testid=mobile-map]").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    popup = page.locator(".maplibregl-popup")
    popup.wait_for()
    assert house.address.full_text in popup.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "mobile-map-house.png"))
    _check(watch, urlsplit(origin).netloc)
    context.close()
