"""From a KPI to its records in real Debian Chromium (Playwright, sync API) against pytest-django's live server.

The sub-bureau leader opens 考核指标 at community level, reads 西福社区's 调解成功率 (2 of 3 disputes settled:
66.7 %, red against the 95 % target), opens the formulas row, clicks the value and lands on the dispute list
filtered to that community and month, which shows exactly the three disputes counted — and not the one of
仁风社区. No request may leave the server and no console or page error may occur; screenshots go to
var/screenshots/.
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
from doorstep.mediation import services as mediation
from doorstep.mediation.tests.conftest import add_mediators, new_dispute

pytestmark = pytest.mark.browser


def test_leader_drills_from_mediation_success_to_the_disputes_counted(world, live_server, chromium):
    med = add_mediators(world)  # committed: the `world` of the browser tests is transactional
    settled = [
        mediation.record_onsite(new_dispute(med), settled=True, note="当场和解", by=med.officer_a)
        for _ in range(2)
    ]
    open_one = mediation.record_onsite(
        new_dispute(med), settled=False, transfer=True, note="未成", by=med.officer_a
    )
    other = new_dispute(med, community=world.c3, grid=world.grid_d, by=world.director_s2)
    counted = sorted(d.number for d in [*settled, open_one])

    origin = live_server.url
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = sign_in(context, origin, watch, "leader")

    page.goto(f"{origin}/evaluation/")
    page.locator("[data-testid=kpi-table]").wait_for()
    page.select_option("#kpi-level", "community")
    page.locator("[data-testid=kpi-filter] button[type=submit]").click()
    row = page.locator(f"[data-testid=kpi-row][data-level=community][data-scope='{world.c1.pk}']")
    row.wait_for()
    value = row.locator("td[data-kpi=mediation_success] a[data-testid=kpi-value]")
    assert value.inner_text().strip() == "66.7%"
    assert "text-danger" in (value.get_attribute("class") or "")  # below the target
    assert value.get_attribute("title") == "2 ÷ 3"

    # The formulas row opens from the header's ⓘ.
    formulas = page.locator("[data-testid=kpi-formulas]")
    assert formulas.is_hidden()
    page.locator("th[data-kpi=mediation_success] button[data-formula]").click()
    formulas.wait_for(state="visible")
    assert "调解成功率" in formulas.inner_text()
    # The ranking chart drew (SVG renderer).
    page.locator("#kpi-ranking-chart svg").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "evaluation-kpis.png"), full_page=True)

    value.click()
    page.wait_for_url("**/mediation/list/**")
    table = page.locator("[data-testid=dispute-table]")
    table.wait_for()
    numbers = sorted(
        t.strip() for t in table.locator("tbody tr td:first-child a.font-monospace").all_inner_texts()
    )
    assert numbers == counted
    assert other.number not in table.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "evaluation-drilldown-disputes.png"), full_page=True)

    # And the KPI's own page: formula, trend chart and breakdown by community.
    page.goto(f"{origin}/evaluation/kpis/mediation_success/?level=station&id={world.s1.pk}")
    page.locator("#kpi-trend-chart svg").wait_for()
    assert page.locator("[data-testid=kpi-detail-value]").inner_text().strip() == "66.7%"
    assert page.locator("[data-testid=breakdown-row]").count() == 2
    page.screenshot(path=str(SCREENSHOTS / "evaluation-kpi-detail.png"), full_page=True)

    context.close()
    watch.check(server)
