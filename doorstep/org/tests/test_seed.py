from __future__ import annotations

import random

import pytest
from django.core.management import call_command
from django.db import transaction
from shapely.geometry import box, shape

from doorstep.accounts.models import User
from doorstep.org import seed as org_seed
from doorstep.org.models import Community, Grid, GridAssignment, PoliceRoom, Staff, Station
from doorstep.org.selectors import staffing_board


class _Rollback(Exception):
    pass


def _fingerprint():
    return (
        sorted(Grid.objects.values_list("code", "name", "boundary")),
        sorted(Staff.objects.values_list("badge_number", "name", "kind", "phone")),
        sorted(
            GridAssignment.objects.values_list("grid__code", "staff__badge_number", "position", "started_on")
        ),
        sorted(PoliceRoom.objects.values_list("name", "lng", "lat")),
    )


def _seed_and_fingerprint(scale="demo", value=42):
    with pytest.raises(_Rollback), transaction.atomic():
        org_seed.seed(scale, value)
        fingerprint = _fingerprint()
        raise _Rollback
    return fingerprint


@pytest.mark.django_db
def test_same_seed_gives_same_data_and_another_seed_differs():
    first = _seed_and_fingerprint()
    assert first == _seed_and_fingerprint()
    assert first != _seed_and_fingerprint(value=7)


@pytest.mark.django_db
def test_demo_scale_shape_and_idempotence(capsys):
    call_command("seed", "--scale", "demo")
    counts = (
        Station.objects.count(),
        Community.objects.count(),
        Grid.objects.count(),
        PoliceRoom.objects.count(),
    )
    assert counts == (2, 6, 24, 6)
    users = User.objects.count()
    call_command("seed", "--scale", "demo")
    assert (Station.objects.count(), Grid.objects.count(), User.objects.count()) == (2, 24, users)
    out = capsys.readouterr().out
    assert "已存在，未重复生成" in out and "director" in out and org_seed.DEMO_PASSWORD in out
    # One login per role.
    assert set(User.objects.values_list("role", flat=True)) == {
        "leader",
        "evaluator",
        "admin",
        "director",
        "dispatcher",
        "officer",
        "auxiliary",
        "mediator",
        "patrol",
    }
    # The board has something to show: deliberate gaps exist, and most grids comply.
    rows = [g for s in staffing_board(User.objects.get(username="leader")) for g in s.grids]
    assert any(not r.compliant for r in rows)
    assert sum(r.compliant for r in rows) > len(rows) // 2


@pytest.mark.django_db
def test_seed_refuses_a_database_holding_another_scale():
    call_command("seed", "--scale", "demo")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="不符"):
        call_command("seed", "--scale", "district")


def test_district_tiling_covers_the_area_without_overlaps():
    scale = org_seed.SCALES["district"]
    rng = random.Random("district:42")
    region = box(*scale.extent)
    points = org_seed._jittered_points(rng, scale.communities, scale.extent)
    cells = org_seed._tile(points, region)
    assert len(cells) == 60
    assert abs(sum(c.area for c in cells) - region.area) / region.area < 1e-3
    for i, a in enumerate(cells):
        for b in cells[i + 1 :]:
            assert a.intersection(b).area < 1e-9
    grids = org_seed._tile(org_seed._points_inside(rng, cells[0], 4), cells[0])
    assert all(shape(org_seed.mapping(g)).is_valid for g in grids)
    assert abs(sum(g.area for g in grids) - cells[0].area) < 1e-8
