"""Regression tests for the review of #10: each would fail before its fix."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from doorstep.core.errors import ServiceError
from doorstep.evaluation import periods, reviews, spotchecks


def test_a_director_cannot_open_a_sub_bureau_draw_through_one_of_its_items(world, client_for):
    check = spotchecks.draw(None, 2, by=world.evaluator, seed=3)
    item = check.items.filter(station=world.s1).first()
    if item is None:
        pytest.skip("the draw holds no officer of station s1 in this world")
    response = client_for(world.director).post(reverse("evaluation:spotcheck_record", args=[item.pk]), {})
    assert response.status_code == 404


@pytest.mark.parametrize("raw", ["²", "١٢", "99999999999999999999"])
def test_unicode_digits_in_ids_are_404_not_500(world, client_for, raw):
    c = client_for(world.leader)
    assert (
        c.get(reverse("evaluation:kpi_detail", args=["visit_rate"]), {"level": "grid", "id": raw}).status_code
        == 404
    )
    response = client_for(world.evaluator).post(
        reverse("evaluation:star_confirm"), {"month": "2026-10", "staff": raw, "citation": "x"}
    )
    assert response.status_code < 500


def test_a_huge_station_id_in_the_link_form_is_a_form_error(world, client_for):
    response = client_for(world.evaluator).post(
        reverse("evaluation:link_new"),
        {"kind": "leader", "leader": world.leader.pk, "stations": "99999999999999999999"},
    )
    assert response.status_code in (200, 400)


def test_reviews_are_not_generated_for_a_period_that_has_not_begun(world):
    future = periods.period_of("month", timezone.localdate() + dt.timedelta(days=62))
    with pytest.raises(ServiceError, match="尚未开始"):
        reviews.generate_reviews("month", future, by=world.evaluator)


def test_bulletin_cells_that_look_like_formulas_stay_text():
    from io import BytesIO

    from openpyxl import load_workbook

    from doorstep.evaluation import bulletins

    data = {"columns": [], "rows": [], "month": "2026-10", "label": "2026年10月", "sub_bureau": "=测试分局"}
    raw = bulletins.render_xlsx(data, {"summary": '=HYPERLINK("http://x","点我")'})
    wb = load_workbook(BytesIO(raw))
    values = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert all(c.data_type != "f" for c in values)
    assert any(c.value.startswith("'=HYPERLINK") for c in values)


def test_station_level_mediation_success_drills_to_the_stations_disputes(world, client_for):
    """The station row of 调解成功率 links to the mediation list filtered by that station."""
    from doorstep.evaluation import kpis, scopes
    from doorstep.evaluation.choices import Level
    from doorstep.mediation.tests.conftest import add_mediators, new_dispute

    med = add_mediators(world)
    d1 = new_dispute(med)
    d3 = new_dispute(med, community=world.c3, grid=world.grid_d, by=world.director_s2)
    period = periods.period_of("month", timezone.localdate())
    figure = kpis.compute(scopes.scope_for(Level.STATION, world.s1.pk), period)["mediation_success"]
    assert figure.records and f"station={world.s1.pk}" in figure.records
    page = client_for(world.leader).get(figure.records).content.decode()
    assert d1.number in page and d3.number not in page
