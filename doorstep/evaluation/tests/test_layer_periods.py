"""The KPI map layer for any period: the GeoJSON for last month, a 旬 (given by a date in it), a week and a
year has each grid's figure of that period (as computed by the engine), and the map offers the period
picker."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from doorstep.evaluation import kpis, periods, scopes
from doorstep.evaluation.choices import Level
from doorstep.evaluation.tests.test_kpis import NOW, data  # noqa: F401 - fixture

URL = "/evaluation/map/grids.geojson"


def get(client_for, user, **params):
    with time_machine.travel(NOW, tick=False):
        return client_for(user).get(URL, params)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("month", "2026-10", periods.period_of("month", dt.date(2026, 10, 1))),
        ("xun", "2026-11-05", periods.period_of("xun", dt.date(2026, 11, 5))),
        ("week", "2026-10-31", periods.period_of("week", dt.date(2026, 10, 31))),
        ("year", "2025", periods.period_of("year", dt.date(2025, 6, 1))),
    ],
)
def test_geojson_of_a_past_period(data, client_for, kind, value, expected):  # noqa: F811
    w = data
    response = get(client_for, w.leader, code="incidence_per_10k", kind=kind, period=value)
    assert response.status_code == 200
    body = response.json()
    assert (body["kind"], body["period"]) == (kind, periods.value(expected))
    assert body["period_label"] == expected.label
    grid_scopes = [scopes.scope_for(Level.GRID, g.pk) for g in (w.grid_a, w.grid_b, w.grid_c, w.grid_d)]
    with time_machine.travel(NOW, tick=False):
        figures = kpis.compute_many(grid_scopes, expected, ["incidence_per_10k"])
    features = {f["id"]: f["properties"] for f in body["features"]}
    assert features, "the layer has grids"
    for scope in grid_scopes:
        if scope.id in features:
            assert features[scope.id]["value"] == figures[scope]["incidence_per_10k"].value


def test_geojson_of_october_differs_from_november(data, client_for):  # noqa: F811
    """Grid A's verification samples: October 0 of 1 correct, November 3 of 4: the layer follows the period."""
    w = data
    october = get(client_for, w.leader, code="accuracy_rate", kind="month", period="2026-10")
    november = get(client_for, w.leader, code="accuracy_rate", kind="month", period="2026-11")
    a_oct = next(f for f in october.json()["features"] if f["id"] == w.grid_a.pk)["properties"]
    a_nov = next(f for f in november.json()["features"] if f["id"] == w.grid_a.pk)["properties"]
    assert a_oct["value"] == 0 and a_oct["text"] == "0.0%"
    assert a_nov["value"] == pytest.approx(3 / 4)
    assert "checked_from=2026-10-01" in a_oct["records"]


def test_map_page_has_the_period_picker(data, client_for):  # noqa: F811
    with time_machine.travel(NOW, tick=False):
        body = client_for(data.leader).get("/map/").content.decode()
    assert 'data-testid="evaluation-kind"' in body and 'data-testid="evaluation-date"' in body
    from doorstep.evaluation.choices import PeriodKind

    for value, label in PeriodKind.choices:
        assert f'<option value="{value}"' in body and f">{label}</option>" in body
