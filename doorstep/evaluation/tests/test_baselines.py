"""Baseline and verification-sample services: kept by the evaluation office and administrators, validated,
audited; a sampled record must exist in that grid's registry table."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.evaluation import access, baselines
from doorstep.evaluation.choices import Element
from doorstep.evaluation.models import Baseline, Verification
from doorstep.registry import services as registry


def today() -> dt.date:
    return timezone.localdate()


def make_address(grid, code="ADDR-EVAL-1"):
    return registry.create_address(
        code=code,
        grid=grid,
        division_code="350503",
        street_town="东海街道",
        road="东海大街",
        door_number="1号",
        lng=118.605,
        lat=24.905,
    )


def baseline(world, by=None, grid=None, **kw):
    values = {
        "grid": grid or world.grid_a,
        "element": Element.PERSON,
        "expected": 1200,
        "as_of": today() - dt.timedelta(days=10),
        "source": "户籍系统",
    }
    values.update(kw)
    return baselines.record_baseline(**values, by=by or world.evaluator)


def verification(world, object_id, by=None, grid=None, **kw):
    values = {
        "grid": grid or world.grid_a,
        "element": Element.ADDRESS,
        "object_id": object_id,
        "checked_on": today(),
        "correct": True,
        "note": "",
    }
    values.update(kw)
    return baselines.record_verification(**values, by=by or world.evaluator)


def test_evaluator_records_a_baseline_with_an_audit_entry(world):
    b = baseline(world)
    assert b.created_by == world.evaluator
    assert AuditEntry.objects.filter(action="evaluation.baseline_create", object_id=str(b.pk)).exists()


def test_admin_may_keep_baselines(world):
    assert baseline(world, by=world.admin).pk


@pytest.mark.parametrize("name", ["leader", "director", "officer_a"])
def test_others_may_not_keep_baselines(world, name):
    with pytest.raises(NotAllowed):
        baseline(world, by=getattr(world, name))
    assert not Baseline.objects.exists()


def test_one_baseline_per_grid_element_and_day(world):
    baseline(world)
    with pytest.raises(RuleViolation) as exc:
        baseline(world, expected=5)
    assert exc.value.code == "as_of"
    baseline(world, element=Element.HOUSE)
    baseline(world, as_of=today())
    assert Baseline.objects.count() == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("as_of", today() + dt.timedelta(days=1)),
        ("as_of", dt.date(1900, 1, 1)),
        ("expected", -1),
        ("expected", 10**9),
        ("element", "car"),
        ("source", ""),
        ("source", "x" * 101),
    ],
)
def test_bad_baselines_are_refused_on_their_field(world, field, value):
    with pytest.raises(ServiceError) as exc:
        baseline(world, **{field: value})
    assert exc.value.code == field


def test_a_verification_needs_the_record_in_that_grids_table(world):
    address = make_address(world.grid_a)
    v = verification(world, address.pk, correct=False, note="门牌已变更")
    assert not v.correct and v.checked_by == world.evaluator
    assert AuditEntry.objects.filter(action="evaluation.verification_create").count() == 1

    for grid, element, object_id in (
        (world.grid_b, Element.ADDRESS, address.pk),  # another grid's record
        (world.grid_a, Element.HOUSE, address.pk),  # not a house
        (world.grid_a, Element.ADDRESS, address.pk + 1000),  # no such record
        (world.grid_a, Element.ADDRESS, 2**70),  # beyond any id
    ):
        with pytest.raises(ServiceError) as exc:
            verification(world, object_id, grid=grid, element=element)
        assert exc.value.code == "object_id"
    assert Verification.objects.count() == 1


def test_a_verification_cannot_be_dated_in_the_future(world):
    address = make_address(world.grid_a)
    with pytest.raises(ServiceError) as exc:
        verification(world, address.pk, checked_on=today() + dt.timedelta(days=1))
    assert exc.value.code == "checked_on"


def test_directors_may_not_record_verifications(world):
    address = make_address(world.grid_a)
    with pytest.raises(NotAllowed):
        verification(world, address.pk, by=world.director)


def test_reads_are_scoped(world):
    a = baseline(world)
    d = baseline(world, grid=world.grid_d)
    assert set(access.baselines_for(world.leader)) == {a, d}
    assert set(access.baselines_for(world.director)) == {a}
    assert set(access.baselines_for(world.director_s2)) == {d}
    assert not access.baselines_for(world.officer_a).exists()
    address = make_address(world.grid_a)
    v = verification(world, address.pk)
    assert list(access.verifications_for(world.director)) == [v]
    assert not access.verifications_for(world.director_s2).exists()
