"""重点人员采集率's numerator: distinct persons of concern listed by the period's end and not delisted by then,
per grid (a person listed twice counts once), for a closed period and a running one."""

from __future__ import annotations

import datetime as dt

import time_machine

from doorstep.evaluation import kpis, periods, scopes
from doorstep.evaluation.choices import Element, Level
from doorstep.evaluation.tests.test_kpis import NOW, data  # noqa: F401 - fixture
from doorstep.registry.models import Person, PersonOfConcern

NOV = periods.period_of("month", dt.date(2026, 11, 1))
OCT = periods.period_of("month", dt.date(2026, 10, 1))


def _concern(person, by, listed, delisted=None, kind="drugs"):
    return PersonOfConcern.objects.create(
        person=person, concern_type=kind, status="2", reason="x", listed_on=listed, delisted_on=delisted,
        requested_by=by,
    )  # fmt: skip


def test_persons_of_concern_counted_once_per_person_and_by_dates(data):  # noqa: F811
    w = data
    a1, a2, a3 = Person.objects.filter(grid=w.grid_a).order_by("pk")[:3]
    b1 = Person.objects.get(grid=w.grid_b)
    _concern(a1, w.director, dt.date(2026, 10, 5))
    _concern(a1, w.director, dt.date(2026, 11, 5), kind="fugitive")  # the same person again: counted once
    _concern(a2, w.director, dt.date(2026, 10, 1), delisted=dt.date(2026, 11, 10))  # gone by November's end
    _concern(a3, w.director, dt.date(2026, 12, 1))  # listed after November
    _concern(b1, w.director, dt.date(2026, 11, 30))
    every = [scopes.scope_for(Level.GRID, g.pk) for g in (w.grid_a, w.grid_b, w.grid_c)]
    with time_machine.travel(NOW, tick=False):  # November still running
        nov = kpis._collected(NOV, every, {"now": None})[Element.CONCERN]
    with time_machine.travel(NOW, tick=False):
        octo = kpis._collected(OCT, every, {"now": None})[Element.CONCERN]
    assert nov == {w.grid_a.pk: 1, w.grid_b.pk: 1}
    assert octo == {w.grid_a.pk: 2}
