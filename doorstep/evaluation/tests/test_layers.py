"""The KPI layer of the map (evaluation/layers.py): each grid of the user's territory with one KPI's value,
formatted text, target, whether it is met and the records behind it; 404 for roles without the KPI pages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from doorstep.accounts.choices import Role
from doorstep.accounts.services import create_user
from doorstep.conftest import build_world
from doorstep.core.tests.browser import TIMEOUT_MS, Watch, chromium, sign_in  # noqa: F401 - fixture
from doorstep.evaluation import kpis, pages, periods, scopes
from doorstep.evaluation.choices import Level
from doorstep.evaluation.engine import REGISTRY
from doorstep.evaluation.models import Verification
from doorstep.evaluation.tests.test_kpis import (
    NOV,
    NOW,
    data,  # noqa: F401 - fixture
)

URL = "/evaluation/map/grids.geojson"


@pytest.fixture
def kpi_data(data):  # noqa: F811 - the November fixture of test_kpis
    return data


def get(client_for, user, **params):
    with time_machine.travel(NOW, tick=False):
        return client_for(user).get(URL, {"kind": "month", "period": "2026-11", **params})


def by_id(response):
    return {f["id"]: f for f in response.json()["features"]}


def test_route_name():
    assert reverse("evaluation:grid_kpis_geojson") == URL


@pytest.mark.parametrize(
    ("who", "grids"),
    [("officer_a", {"grid_a"}), ("director", {"grid_a", "grid_b", "grid_c"}),
     ("leader", {"grid_a", "grid_b", "grid_c", "grid_d"}), ("evaluator", {"grid_a", "grid_b", "grid_c", "grid_d"})],
)  # fmt: skip
def test_grids_are_scoped_to_the_territory(kpi_data, client_for, who, grids):
    w = kpi_data
    response = get(client_for, getattr(w, who), code="accuracy_rate")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert set(by_id(response)) == {getattr(w, g).pk for g in grids}
    body = response.json()
    assert (body["type"], body["code"], body["period"]) == ("FeatureCollection", "accuracy_rate", "2026-11")
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in body["features"])


@pytest.mark.parametrize(
    "code", ["accuracy_rate", "collection_rate_person", "incidence_per_10k", "control_rate", "visit_rate"]
)
def test_values_match_compute(kpi_data, client_for, code):
    w = kpi_data
    if code not in REGISTRY or Level.GRID not in REGISTRY[code].levels:
        pytest.skip(f"{code} is not a grid KPI")
    kpi = REGISTRY[code]
    target = pages.effective(kpi).target
    features = by_id(get(client_for, w.leader, code=code))
    for grid in (w.grid_a, w.grid_b, w.grid_c, w.grid_d):
        with time_machine.travel(NOW, tick=False):
            figure = kpis.compute(scopes.scope_for(Level.GRID, grid.pk), NOV, [code])[code]
        p = features[grid.pk]["properties"]
        assert p["name"] == grid.name
        assert p["value"] == figure.value
        assert p["text"] == pages.fmt(kpi, figure.value)
        assert p["target"] == target
        assert p["records"] == (figure.records or "")
        expected_met = (
            None
            if figure.value is None or target is None
            else not pages.worse_than_target(kpi, figure.value, target)
        )
        assert p["met"] is expected_met


def test_accuracy_colours_and_drill_down(kpi_data, client_for):
    w = kpi_data
    features = by_id(get(client_for, w.director, code="accuracy_rate"))
    a, b, c = (features[g.pk]["properties"] for g in (w.grid_a, w.grid_b, w.grid_c))
    assert (a["value"], a["text"], a["met"]) == (0.75, "75.0%", False)  # 3 of 4 < 95%
    assert (b["value"], b["text"], b["met"]) == (1.0, "100.0%", True)
    assert (c["value"], c["text"], c["met"]) == (None, "—", None)  # no sample: grey
    assert a["records"] == (
        f"/evaluation/verifications/?checked_from=2026-11-01&checked_to=2026-11-30&grid={w.grid_a.pk}"
    )
    listed = client_for(w.director).get(a["records"]).context["page"].object_list
    assert len(listed) == 4


def test_one_compute_many_call_for_all_grids(kpi_data, client_for, monkeypatch):
    calls = []
    real = kpis.compute_many

    def spy(scopes_, period, codes=None, **kw):
        calls.append((len(list(scopes_)), list(codes or [])))
        return real(scopes_, period, codes, **kw)

    monkeypatch.setattr(kpis, "compute_many", spy)
    assert get(client_for, kpi_data.leader, code="accuracy_rate").status_code == 200
    assert calls == [(4, ["accuracy_rate"])]


@pytest.mark.parametrize("code", ["nope", "", "x" * 500])
def test_unknown_code_is_400(kpi_data, client_for, code):
    response = get(client_for, kpi_data.leader, code=code)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_bad_period_is_the_current_one(kpi_data, client_for):
    for period in ("garbage", "2026-13", "1999-01"):
        body = get(client_for, kpi_data.officer_a, code="accuracy_rate", period=period).json()
        assert body["period"] == "2026-11"


def test_patrol_mediator_and_anonymous_get_nothing(kpi_data, client_for):
    w = kpi_data
    mediator = create_user(username="mediator_x", password="x-Pass-1234", role=Role.MEDIATOR, station=w.s1)
    assert get(client_for, w.patrol, code="accuracy_rate").status_code == 404
    assert get(client_for, mediator, code="accuracy_rate").status_code == 404
    assert get(client_for, None, code="accuracy_rate").status_code == 302


def test_map_page_offers_the_layer_only_to_kpi_viewers(kpi_data, client_for):
    w = kpi_data
    page = client_for(w.officer_a).get("/map/").content.decode()
    assert 'id="layer-evaluation"' in page and "考核指标" in page
    assert f'data-evaluation-url="{URL}"' in page
    assert '<option value="accuracy_rate">' in page
    off = client_for(w.patrol).get("/map/").content.decode()
    assert 'id="layer-evaluation"' not in off and "data-evaluation-url" not in off


@pytest.fixture
def live_world(transactional_db):
    # The live server answers from another thread: the data must be committed (as in core/tests/browser.py).
    return build_world()


@pytest.mark.browser
def test_director_switches_on_the_kpi_layer(live_world, live_server, chromium, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop in this thread
    w = live_world
    today = timezone.localdate()
    Verification.objects.create(
        grid=w.grid_a, element="person", object_id=1, checked_on=today, correct=False, checked_by=w.evaluator
    )
    origin = live_server.url
    watch = Watch()
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = sign_in(context, origin, watch, "director")
    page.goto(f"{origin}/map/")
    page.wait_for_selector("#map[data-ready='1']")
    assert page.evaluate("!window.doorstepMap.getSource('evaluation-kpi')")  # lazy: nothing before the toggle
    assert not [u for u in watch.requests if "/evaluation/map/" in u]
    page.select_option("#evaluation-kpi", "accuracy_rate")
    page.click("[data-testid=layer-evaluation]")
    page.wait_for_function(
        "(() => { const m = window.doorstepMap; return m.getSource('evaluation-kpi')"
        " && m.querySourceFeatures('evaluation-kpi').length >= 3; })()"
    )
    page.evaluate(
        "() => new Promise(r => { const m = window.doorstepMap; m.once('idle', r);"
        " m.jumpTo({center: [118.605, 24.905], zoom: 15, pitch: 0, bearing: 0}); })"
    )
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.locator("[data-testid=evaluation-kpi-popup]")
    popup.wait_for()
    text = popup.inner_text()
    assert w.grid_a.name in text and "0.0%" in text and "95.0%" in text
    assert "/evaluation/verifications/?" in popup.locator("a").get_attribute("href")
    label = page.locator("[data-testid=evaluation-period-label]")
    assert label.inner_text() == periods.period_of("month", today).label
    # The period picker: a date of last month refetches the layer for last month (no sample then: "—").
    last = periods.previous(periods.period_of("month", today))
    page.fill("#evaluation-date", last.start.isoformat())
    page.wait_for_function(
        f"document.querySelector('[data-testid=evaluation-period-label]').textContent === '{last.label}'"
    )
    assert any(f"period={last.start.isoformat()}" in u for u in watch.requests)
    page.select_option("#evaluation-kind", "year")
    year = periods.period_of("year", last.start)
    page.wait_for_function(
        f"document.querySelector('[data-testid=evaluation-period-label]').textContent === '{year.label}'"
    )
    page.click("[data-testid=layer-evaluation]")
    assert (
        page.evaluate("window.doorstepMap.getLayoutProperty('evaluation-kpi-fill', 'visibility')") == "none"
    )
    watch.check(urlsplit(origin).netloc)
    context.close()
