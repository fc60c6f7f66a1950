"""Snapshots: stored for every scope of the levels, idempotent, read back as a trend; the command; tick."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.core.management import call_command

from doorstep.evaluation import kpis, periods, scopes, snapshots
from doorstep.evaluation.choices import Element, Level
from doorstep.evaluation.models import Baseline, Snapshot

CST = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=CST)


def test_store_is_idempotent_and_trend_reads_back(world):
    Baseline.objects.create(
        grid=world.grid_a, element=Element.PERSON, expected=10, as_of=dt.date(2026, 1, 1), source="x",
        created_by=world.evaluator,
    )  # fmt: skip
    nov = periods.period_of("month", dt.date(2026, 11, 1))
    oct_ = periods.previous(nov)
    with time_machine.travel(NOW, tick=False):
        n = snapshots.store(nov)
        again = snapshots.store(nov)
        snapshots.store(oct_)
    assert n == again == Snapshot.objects.filter(period_start=nov.start).count()
    every = snapshots.all_scopes()
    assert len(every) == 4 + 3 + 2 + 1
    expected_rows = sum(len([c for c in kpis.active_codes(s.level)]) for s in every)
    assert n == expected_rows
    grid_a = scopes.scope_for(Level.GRID, world.grid_a.pk)
    trend = snapshots.trend("collection_rate_person", grid_a, "month", 5)
    assert [t.period_start for t in trend] == [oct_.start, nov.start]
    assert (trend[-1].numerator, trend[-1].denominator, trend[-1].value) == (0, 10, 0.0)
    whole = snapshots.trend("awareness", scopes.sub_bureau_scope(), "month", 1)
    assert len(whole) == 1 and whole[0].territory_id == scopes.SUB_BUREAU_ID and whole[0].value is None


def test_command_and_levels(world, capsys):
    with time_machine.travel(NOW, tick=False):
        call_command("evaluation_snapshot", "--kind", "xun", "--date", "2026-02-25", "--level", "station")
    rows = Snapshot.objects.all()
    assert {r.level for r in rows} == {Level.STATION}
    assert {(r.period_start, r.period_end) for r in rows} == {(dt.date(2026, 2, 21), dt.date(2026, 2, 28))}
    assert "2026年2月下旬" in capsys.readouterr().out


def test_tick_stores_each_just_finished_period_once(world):
    with time_machine.travel(NOW, tick=False):
        stored = snapshots.tick(NOW)
        assert snapshots.tick(NOW) == []
    assert {(p.kind, p.start) for p in stored} == {
        ("week", dt.date(2026, 11, 23)),
        ("xun", dt.date(2026, 11, 21)),
        ("month", dt.date(2026, 11, 1)),
        ("year", dt.date(2025, 1, 1)),
    }
