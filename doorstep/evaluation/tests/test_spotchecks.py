"""Spot checks: a reproducible, recorded draw; recording a check; the result feeding the officer's 旬 review."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.evaluation import periods, reviews, spotchecks
from doorstep.evaluation.models_review import CheckResult, ItemKind, ReviewLevel, SpotCheckItem

NOW = timezone.make_aware(dt.datetime(2026, 11, 15, 10, 0))


def drawn(check):
    return list(check.items.order_by("order").values_list("staff_id", flat=True))


def test_same_seed_and_candidates_give_the_same_draw(world):
    a = spotchecks.draw(world.s1, 1, by=world.director, seed=42)
    b = spotchecks.draw(world.s1, 1, by=world.director, seed=42)
    assert drawn(a) == drawn(b)
    assert a.candidates == b.candidates == [world.officer_a_staff.pk, world.officer_b_staff.pk]  # by badge
    assert drawn(a) == spotchecks.replay(42, a.candidates, 1)
    assert a.drawn_by == world.director and a.count == 1 and a.seed == 42


def test_different_seeds_are_recorded_and_replayable(world):
    checks = [spotchecks.draw(None, 2, by=world.evaluator, seed=s) for s in range(6)]
    assert {c.seed for c in checks} == set(range(6))
    assert len({tuple(drawn(c)) for c in checks}) > 1  # 3 officers, 2 drawn: the order differs between seeds
    for c in checks:
        assert len(c.candidates) == 3 and drawn(c) == spotchecks.replay(c.seed, c.candidates, 2)
    random_seed = spotchecks.draw(world.s1, 1, by=world.director)
    assert 0 <= random_seed.seed <= spotchecks.MAX_SEED


def test_draw_rules(world):
    with pytest.raises(NotAllowed):
        spotchecks.draw(world.s1, 1, by=world.director_s2)
    with pytest.raises(NotAllowed):
        spotchecks.draw(None, 1, by=world.director)  # the whole sub-bureau is the evaluation office's
    with pytest.raises(NotAllowed):
        spotchecks.draw(world.s1, 1, by=world.leader)
    with pytest.raises(ServiceError, match="不能超过候选民警人数（2 人）"):
        spotchecks.draw(world.s1, 3, by=world.director)
    with pytest.raises(ServiceError, match="抽取人数须在"):
        spotchecks.draw(world.s1, 0, by=world.director)


def test_record_validates_and_counts_into_the_xun_review(world):
    with time_machine.travel(NOW, tick=False):
        check = spotchecks.draw(world.s1, 2, by=world.director, seed=7)
        item_a = check.items.get(staff=world.officer_a_staff)
        item_b = check.items.get(staff=world.officer_b_staff)
        with pytest.raises(ServiceError, match="请选择检查结果"):
            spotchecks.record(
                item_a, checked_on=NOW.date(), subject="台账", result=CheckResult.PENDING, by=world.director
            )
        with pytest.raises(ServiceError, match="不能晚于今天"):
            spotchecks.record(
                item_a,
                checked_on=NOW.date() + dt.timedelta(days=1),
                subject="台账",
                result="pass",
                by=world.director,
            )
        with pytest.raises(ServiceError, match="0 到 100"):
            spotchecks.record(
                item_a,
                checked_on=NOW.date(),
                subject="台账",
                result="pass",
                score=Decimal(101),
                by=world.director,
            )
        with pytest.raises(NotAllowed):
            spotchecks.record(
                item_a, checked_on=NOW.date(), subject="台账", result="pass", by=world.director_s2
            )
        spotchecks.record(
            item_a,
            checked_on=NOW.date(),
            subject="走访台账",
            result="pass",
            score=Decimal(80),
            by=world.director,
        )
        spotchecks.record(
            item_b, checked_on=NOW.date(), subject="走访台账", result="fail", by=world.evaluator
        )
        assert SpotCheckItem.objects.get(pk=item_a.pk).recorded_by == world.director

        period = periods.period_of("xun", NOW.date())
        made = {r.staff.name: r for r in reviews.generate_reviews(ReviewLevel.XUN, period, by=world.director)}
    a = made["刘芳"].scores.get(kind=ItemKind.SPOTCHECK)
    b = made["杨凯"].scores.get(kind=ItemKind.SPOTCHECK)
    aux = made["翁磊"].scores.get(kind=ItemKind.SPOTCHECK)
    assert (a.value, a.score) == (pytest.approx(0.8), Decimal("16.0"))  # 20 points × 80 %
    assert "1 次抽查，1 次合格" in a.value_text
    assert (b.value, b.score) == (0.0, Decimal("0.0"))
    assert (aux.value, aux.score, aux.value_text) == (None, None, "—")
    # a check outside the period does not count
    other = periods.following(period)
    assert spotchecks.rates([world.officer_a_staff.pk], other) == {}
