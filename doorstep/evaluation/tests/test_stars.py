"""The monthly star: candidates ranked by the month's score (KPI fallback: no 旬 reviews here), confirmation
by the evaluation office, `current_stars`, the annual candidates, permissions, Chinese errors."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.evaluation import kpis, stars
from doorstep.evaluation.engine import REGISTRY
from doorstep.evaluation.models import KpiSetting
from doorstep.evaluation.models_links import MonthlyStar
from doorstep.evaluation.tests.test_pages import disputes

NOV = dt.date(2026, 11, 1)
IN_NOV = dt.datetime(2026, 11, 20, 10, 0)
IN_DEC = dt.datetime(2026, 12, 3, 10, 0)


@pytest.fixture
def scored(world):
    """Only 调解成功率: grid A (刘芳) settles 2 of 3 in November, grid D (黄明) 0 of 1, grid B (杨凯) none."""
    assert kpis.BATCHES  # every KPI registered before the others are switched off
    for code in REGISTRY:
        if code != "mediation_success":
            KpiSetting.objects.create(code=code, active=False)
    with time_machine.travel(IN_NOV, tick=False):
        disputes(world)
    return world


def test_candidates_are_ranked_by_the_grid_score(scored):
    with time_machine.travel(IN_DEC, tick=False):
        rows, source = stars.candidates(NOV)
    assert source == stars.SOURCE_KPIS
    assert [(c.rank, c.staff.name) for c in rows] == [(1, "刘芳"), (2, "黄明"), (None, "杨凯")]


def test_confirm_and_current_stars(scored):
    with time_machine.travel(IN_DEC, tick=False):
        [star] = stars.confirm_stars(
            month=NOV,
            staff_ids=[scored.officer_a_staff.pk],
            citation="调解成功率全局第一",
            by=scored.evaluator,
        )
        assert star.rank == 1 and star.score == pytest.approx(100 * (2 / 3) / 0.95, abs=0.01)
        assert stars.current_stars(dt.date(2026, 12, 15)) == [star]
        assert stars.current_stars(dt.date(2026, 10, 15)) == []
        with pytest.raises(RuleViolation, match="已是本月之星"):
            stars.confirm_stars(
                month=NOV, staff_ids=[scored.officer_a_staff.pk], citation="再次", by=scored.evaluator
            )
        with pytest.raises(NotAllowed):
            stars.confirm_stars(
                month=NOV, staff_ids=[scored.officer_b_staff.pk], citation="x", by=scored.leader
            )
        with pytest.raises(ServiceError, match="请填写事迹简介"):
            stars.confirm_stars(
                month=NOV, staff_ids=[scored.officer_b_staff.pk], citation=" ", by=scored.evaluator
            )
        with pytest.raises(ServiceError, match="不是本月候选民警"):
            stars.confirm_stars(month=NOV, staff_ids=[2**62], citation="x", by=scored.evaluator)
        with pytest.raises(ServiceError, match="尚未结束"):
            stars.confirm_stars(
                month=dt.date(2026, 12, 1),
                staff_ids=[scored.officer_a_staff.pk],
                citation="x",
                by=scored.evaluator,
            )
        annual = stars.annual(2026, dt.date(2026, 12, 3))
        assert annual[0].staff.name == "刘芳" and annual[0].stars == 1


def test_star_pages_by_role(scored, client_for):
    with time_machine.travel(IN_DEC, tick=False):
        url = reverse("evaluation:star_candidates") + "?month=2026-11"
        html = client_for(scored.leader).get(url).content.decode()
        assert html.index("刘芳") < html.index("黄明") and "按民警所在网格的KPI综合得分排名" in html
        assert client_for(scored.director).get(url).status_code == 404
        assert client_for(scored.dispatcher).get(reverse("evaluation:stars")).status_code == 404
        r = client_for(scored.evaluator).get(reverse("evaluation:star_candidates") + "?month=2026-99")
        assert r.status_code == 400 and "月份格式不正确" in r.content.decode()
        confirm = reverse("evaluation:star_confirm")
        data = {"month": "2026-11", "staff": [scored.officer_a_staff.pk], "citation": "调解能手"}
        assert client_for(scored.leader).post(confirm, data).status_code == 403
        assert client_for(scored.evaluator).post(confirm, data).status_code == 302
        assert MonthlyStar.objects.get().staff == scored.officer_a_staff
        html = client_for(scored.officer_a).get(reverse("evaluation:stars")).content.decode()
        assert 'data-testid="star-badge"' in html and "调解能手" in html
        r = client_for(scored.evaluator).post(
            confirm, {**data, "staff": ["99999999999999999999999"]}, follow=True
        )
        assert "不是本月候选民警" in r.content.decode()
        assert (
            client_for(scored.leader).get(reverse("evaluation:star_annual") + "?year=2026").status_code == 200
        )
        assert (
            client_for(scored.leader).get(reverse("evaluation:star_annual") + "?year=abc").status_code == 400
        )


def test_the_home_page_shows_the_current_stars(world, client_for):
    """The confirmed stars of the last month are on everybody's home page (and `current_stars` feeds #11)."""
    import datetime as dt

    from django.urls import reverse

    from doorstep.evaluation.models_links import MonthlyStar

    MonthlyStar.objects.create(
        month=dt.date(2026, 10, 1), staff=world.officer_a_staff, citation="调解邻里纠纷12起", score=90, rank=1,
        confirmed_by=world.evaluator,
    )  # fmt: skip
    page = client_for(world.officer_b).get(reverse("core:home")).content.decode()
    assert 'data-testid="star-badge"' in page and "刘芳" in page
