"""The KPI dashboard at scale: the table renders one page of territories (ranks over all of them), and a closed
period is read from its stored snapshots — the same figures as a recompute — unless they are incomplete, stale
or older than a settings change."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from doorstep.evaluation import kpis, pages, periods, snapshots
from doorstep.evaluation.choices import IncidentCategory, IncidentSource, Level
from doorstep.evaluation.models import Incident, KpiSetting, Snapshot
from doorstep.evaluation.tests.test_kpis import data  # noqa: F401  (the hand-computed fixture)

CST = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=CST)  # November is closed
NOV = periods.period_of("month", dt.date(2026, 11, 1))
NOV_URL = "/evaluation/?level=grid&kind=month&period=2026-11"


def _get(make, user, url):
    """GET as the user, logged in under the frozen clock (a session from the real clock would have expired)."""
    with time_machine.travel(NOW, tick=False):
        return make(user).get(url)


def _store(period=NOV, at=NOW):
    with time_machine.travel(at, tick=False):
        return snapshots.store(period)


def test_grid_table_is_paginated_and_ranked_over_all_rows(data, client_for, monkeypatch):  # noqa: F811
    monkeypatch.setattr(pages, "ROWS_PER_PAGE", 3)
    first = _get(client_for, data.leader, NOV_URL)
    second = _get(client_for, data.leader, NOV_URL + "&page=2")
    assert first.status_code == second.status_code == 200
    assert len(first.context["rows"]) == 3 and len(second.context["rows"]) == 1
    everything = first.context["all_rows"]
    assert [r.scope for r in everything] == [r.scope for r in first.context["rows"] + second.context["rows"]]
    assert len(first.context["chart"]["names"]) == len([r for r in everything if r.score is not None])
    assert "page=2" in first.content.decode()  # the pager keeps level, kind and period
    assert "level=grid&kind=month&period=2026-11&page=2" in first.content.decode()
    assert _get(client_for, data.leader, NOV_URL + "&page=x").status_code == 200  # garbage: the first page


def test_closed_period_snapshots_give_the_same_figures_as_a_recompute(data):  # noqa: F811
    _store()
    every = snapshots.all_scopes()
    codes = kpis.active_codes()
    with time_machine.travel(NOW, tick=False):
        live = kpis.compute_many(every, NOV, codes)
        stored, computed_at = snapshots.stored_figures(every, NOV, codes)
    assert computed_at == NOW
    assert set(stored) == set(live)
    for scope, figures in live.items():
        assert set(stored[scope]) == set(figures), scope
        for code, figure in figures.items():
            got = stored[scope][code]
            assert (got.value, got.numerator, got.denominator) == (
                figure.value,
                figure.numerator,
                figure.denominator,
            ), (scope, code)
            assert got.records.startswith(f"/evaluation/kpis/{code}/?level={scope.level}&kind=month")


def test_dashboard_reads_a_closed_period_from_the_snapshots(data, client_for):  # noqa: F811
    _store()
    # A case entered after the snapshot: the dashboard shows the stored November (2 cases), not a recompute.
    Incident.objects.create(
        grid=data.grid_a, occurred_on=dt.date(2026, 11, 20), category=IncidentCategory.CRIMINAL, kind="盗窃",
        place="x", source=IncidentSource.ENTERED, created_by=data.evaluator,
    )  # fmt: skip
    response = _get(client_for, data.leader, NOV_URL)
    row = next(r for r in response.context["all_rows"] if r.scope.id == data.grid_a.pk)
    cell = next(c for c in row.cells if c.column.code == "incidence_per_10k")
    assert cell.figure.numerator == 2
    assert response.context["computed_at"] == NOW
    # The detail page behind the stored figure recomputes it (and links on to the records).
    detail = _get(client_for, data.leader, cell.figure.records)
    assert detail.status_code == 200 and detail.context["figure"].numerator == 3


def test_snapshots_are_not_used_when_they_cannot_stand_in(data):  # noqa: F811
    every = snapshots.all_scopes()
    codes = kpis.active_codes()
    today = NOW.date()
    assert snapshots.stored_figures(every, NOV, codes, today=today) is None  # nothing stored
    _store(at=dt.datetime(2026, 11, 30, 12, tzinfo=CST))  # computed before November ended
    assert snapshots.stored_figures(every, NOV, codes, today=today) is None
    _store()
    with time_machine.travel(NOW, tick=False):
        assert snapshots.stored_figures(every, NOV, codes, today=today) is not None
        current = periods.period_of("month", today)
        assert snapshots.stored_figures(every, current, codes, today=today) is None  # not over
    Snapshot.objects.filter(level=Level.GRID, territory_id=data.grid_a.pk, code=codes[0]).delete()
    assert snapshots.stored_figures(every, NOV, codes, today=today) is None  # one missing
    _store()
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        KpiSetting.objects.create(code="collection_rate_person", weight=3)  # changed after the snapshot
    assert snapshots.stored_figures(every, NOV, codes, today=today) is None


@pytest.mark.parametrize("level", [Level.STATION, Level.GRID])
def test_page_from_snapshots_and_live_render_the_same_table(data, client_for, level):  # noqa: F811
    url = f"/evaluation/?level={level}&kind=month&period=2026-11"
    live = _get(client_for, data.leader, url)
    _store()
    stored = _get(client_for, data.leader, url)

    def table(response):
        return [(r.scope, r.rank, r.score, [c.text for c in r.cells]) for r in response.context["all_rows"]]

    assert table(live) == table(stored)
