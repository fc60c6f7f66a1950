"""The 3D map in real Debian Chromium: the houses layer from vector tiles, a click on a house opens its panel,
the colour filter and the count move together, the search flies to a person's home. No request may leave
the server and no console error may occur; screenshots go to var/screenshots/."""

from __future__ import annotations

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
from doorstep.registry.tests.conftest import make_house, reg  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def _fly(page, lng, lat, zoom=17.5, pitch=0):
    page.evaluate(
        "([lng, lat, zoom, pitch]) => new Promise(r => { const m = window.doorstepMap; m.once('idle', r);"
        " m.jumpTo({center: [lng, lat], zoom, pitch, bearing: 0}); })",
        [lng, lat, zoom, pitch],
    )


def test_officer_opens_a_house_from_the_3d_map(reg, world, live_server, chromium):
    red = make_house(world.grid_a, occupancy=Occupancy.GROUP_RENTAL)
    origin = live_server.url
    watch = Watch()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = sign_in(context, origin, watch, "officer_a")

    page.goto(f"{origin}/map/")
    page.wait_for_selector("#map[data-ready='1']")
    assert "房屋 2（红 1 · 黄 0 · 绿 1）" in page.inner_text("[data-testid=map-count]")

    # Zoom to the household's house: it is drawn from the tiles as a 3D footprint; click it.
    _fly(page, reg.house.lng, reg.house.lat)
    ids = page.evaluate("window.doorstepMap.queryRenderedFeatures({layers: ['houses-3d']}).map(f => f.id)")
    assert reg.house.pk in ids
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    panel = page.locator("[data-testid=house-panel]")
    panel.wait_for()
    assert panel.get_attribute("data-house-id") == str(reg.house.pk)
    text = panel.inner_text()
    assert reg.house.address.full_text in text and "张三" in text
    assert mask_citizen_id(reg.head.id_number) in text and reg.head.id_number not in page.content()
    _fly(page, reg.house.lng, reg.house.lat, zoom=18, pitch=55)
    page.screenshot(path=str(SCREENSHOTS / "map-house-panel.png"))

    # Filter red: the count and the tiles change together; the green house is gone from the map.
    page.select_option("select[name=colour]", "red")
    page.wait_for_function("document.querySelector('[data-testid=map-count]').innerText.includes('房屋 1')")
    page.wait_for_selector("#map[data-ready='1']")
    _fly(page, red.lng, red.lat, zoom=16)
    ids = page.evaluate("window.doorstepMap.queryRenderedFeatures({layers: ['houses-3d']}).map(f => f.id)")
    assert red.pk in ids and reg.house.pk not in ids
    page.select_option("select[name=colour]", "")

    # Search by pinyin initials: the hit flies to 张三's home and opens its panel.
    page.evaluate("window.doorstepMap.jumpTo({zoom: 13})")
    page.fill("#map-search", "zs")
    hit = page.locator("[data-testid=map-search-results] button", has_text="张三")
    hit.click()
    page.wait_for_function(
        f"document.querySelector('[data-testid=house-panel]')?.dataset.houseId === '{reg.house.pk}'"
        " && window.doorstepMap.getZoom() > 17"
    )
    page.screenshot(path=str(SCREENSHOTS / "map-search.png"))

    watch.check(urlsplit(origin).netloc)
    tiles = [u for u in watch.requests if "/api/v1/map/tiles/houses/" in u]
    assert tiles, "the houses layer must come from the vector tiles"
    context.close()


def test_map_tiles_update_after_a_change(reg, world, live_server, chromium):
    origin = live_server.url
    watch = Watch()
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = sign_in(context, origin, watch, "director")
    page.goto(f"{origin}/map/")
    page.wait_for_selector("#map[data-ready='1']")
    _fly(page, reg.house.lng, reg.house.lat)
    colour = f"f => f.id === {reg.house.pk}"
    query = f"window.doorstepMap.queryRenderedFeatures({{layers: ['houses-3d']}}).filter({colour})"
    assert page.evaluate(f"{query}.map(f => f.properties.colour)")[0] == "green"

    services.update_house(reg.house, occupancy=Occupancy.GROUP_RENTAL, by=world.director)
    page.reload()
    page.wait_for_selector("#map[data-ready='1']")
    _fly(page, reg.house.lng, reg.house.lat)

    assert page.evaluate(f"{query}.map(f => f.properties.colour)")[0] == "red"
    watch.check(urlsplit(origin).netloc)
    context.close()
