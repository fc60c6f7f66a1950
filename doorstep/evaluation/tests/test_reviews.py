"""Tiered evaluations: generation, visibility, scoring rules, submission, sign-off, automatic items, deadline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.http import Http404
from django.utils import timezone

from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.evaluation import periods, reviews
from doorstep.evaluation.choices import Element
from doorstep.evaluation.models import Verification
from doorstep.evaluation.models_review import (
    EvaluationForm,
    FormItem,
    ItemKind,
    Review,
    ReviewLevel,
    ReviewStatus,
)

XUN = periods.period_of("xun", dt.date(2026, 11, 15))
WEEK = periods.period_of("week", dt.date(2026, 11, 18))
MONTH = periods.period_of("month", dt.date(2026, 11, 15))


def local(*args):
    return timezone.make_aware(dt.datetime(*args))


def xun_reviews(world):
    return {r.staff.name: r for r in reviews.generate_reviews(ReviewLevel.XUN, XUN, by=world.director)}


def manual(review):
    return list(review.scores.filter(kind=ItemKind.MANUAL))


def full_marks(review):
    return {s.pk: (s.points, "") for s in manual(review)}


def test_default_forms_are_seeded_once(db):
    first = reviews.ensure_default_forms()
    again = reviews.ensure_default_forms()
    assert set(first) == set(ReviewLevel.values)
    assert EvaluationForm.objects.count() == 3
    assert first[ReviewLevel.XUN].pk == again[ReviewLevel.XUN].pk
    names = list(FormItem.objects.filter(form__level=ReviewLevel.WEEK).values_list("name", flat=True))
    assert names == ["出勤", "信息采集", "走访", "配合"]


def test_generate_xun_creates_one_draft_per_person_and_is_idempotent(world):
    created = xun_reviews(world)
    assert set(created) == {"刘芳", "杨凯", "翁磊"}  # officers A and B, auxiliary A — not S2's officer
    r = created["刘芳"]
    assert r.status == ReviewStatus.DRAFT and r.grid == world.grid_a and r.station == world.s1
    assert r.deadline == XUN.end + dt.timedelta(days=reviews.DEADLINE_DAYS[ReviewLevel.XUN])
    assert reviews.generate_reviews(ReviewLevel.XUN, XUN, by=world.director) == []
    assert [x.staff.name for x in reviews.generate_reviews(ReviewLevel.XUN, XUN, by=world.director_s2)] == [
        "黄明"
    ]
    assert Review.objects.count() == 4


def test_generate_needs_the_right_role(world):
    with pytest.raises(NotAllowed):
        reviews.generate_reviews(ReviewLevel.XUN, XUN, by=world.officer_a)
    with pytest.raises(NotAllowed):
        reviews.generate_reviews(ReviewLevel.MONTH, MONTH, by=world.director)
    weekly = reviews.generate_reviews(ReviewLevel.WEEK, WEEK, by=world.officer_a)
    assert [r.staff.name for r in weekly] == ["翁磊"]
    assert (
        reviews.generate_reviews(ReviewLevel.WEEK, WEEK, by=world.officer_b) == []
    )  # grid B has no auxiliary
    monthly = reviews.generate_reviews(ReviewLevel.MONTH, MONTH, by=world.evaluator)
    assert {r.station for r in monthly} == {world.s1, world.s2}


def test_nobody_scores_or_sees_a_draft_about_themselves(world):
    own = xun_reviews(world)["刘芳"]
    assert not reviews.may_score(world.officer_a, own)
    with pytest.raises(Http404):
        reviews.get_review_for(world.officer_a, own.pk)
    with pytest.raises(NotAllowed):
        reviews.save_scores(own, full_marks(own), by=world.officer_a)
    assert reviews.may_edit(world.director, own)


def test_a_station_never_sees_another_stations_drafts(world):
    r = xun_reviews(world)["杨凯"]
    with pytest.raises(Http404):
        reviews.get_review_for(world.director_s2, r.pk)
    assert not reviews.reviews_for(world.director_s2).filter(pk=r.pk).exists()
    assert not reviews.may_score(world.director_s2, r)


def test_monthly_draft_hidden_from_the_evaluated_station(world):
    (s1,) = [
        r
        for r in reviews.generate_reviews(ReviewLevel.MONTH, MONTH, by=world.evaluator)
        if r.station == world.s1
    ]
    assert not reviews.reviews_for(world.director).filter(pk=s1.pk).exists()
    reviews.save_scores(s1, full_marks(s1), by=world.evaluator)
    reviews.submit(s1, by=world.evaluator)
    assert reviews.reviews_for(world.director).filter(pk=s1.pk).exists()


def test_manual_scores_are_validated_in_chinese(world):
    r = xun_reviews(world)["杨凯"]
    first, second = manual(r)
    with pytest.raises(ServiceError, match="分数须在 0 到 20.0 之间"):
        reviews.save_scores(r, {first.pk: (Decimal("21"), "")}, by=world.director)
    with pytest.raises(ServiceError, match="分数须在"):
        reviews.save_scores(r, {first.pk: (Decimal("-1"), "")}, by=world.director)
    with pytest.raises(ServiceError, match="须填写评语"):
        reviews.save_scores(r, {first.pk: (Decimal("11.9"), "")}, by=world.director)
    reviews.save_scores(
        r, {first.pk: (Decimal("11.9"), "迟到两次"), second.pk: (Decimal("12"), "")}, by=world.director
    )
    r.refresh_from_db()
    assert r.evaluator == world.director
    auto = sum((s.score for s in r.scores.exclude(kind=ItemKind.MANUAL) if s.score is not None), Decimal(0))
    assert r.total == auto + Decimal("23.9")


def test_submit_needs_every_manual_item_and_then_the_review_is_read_only(world):
    r = xun_reviews(world)["刘芳"]
    with pytest.raises(RuleViolation, match="请先为以下项目评分：纪律作风、群众工作"):
        reviews.submit(r, by=world.director)
    reviews.save_scores(r, full_marks(r), by=world.director)
    reviews.submit(r, by=world.director)
    r.refresh_from_db()
    assert r.status == ReviewStatus.SUBMITTED and r.submitted_at
    with pytest.raises(RuleViolation, match="已提交"):
        reviews.save_scores(r, full_marks(r), by=world.director)
    with pytest.raises(RuleViolation):
        reviews.recompute(r, by=world.director)
    # the evaluatee sees it now, read-only
    assert reviews.get_review_for(world.officer_a, r.pk) == r
    assert not reviews.may_edit(world.officer_a, r)


def test_signoff_roles_per_level(world):
    r = xun_reviews(world)["杨凯"]
    with pytest.raises(RuleViolation):
        reviews.sign_off(r, by=world.evaluator)  # still a draft
    reviews.save_scores(r, full_marks(r), by=world.director)
    reviews.submit(r, by=world.director)
    for wrong in (world.director, world.leader, world.officer_a):
        with pytest.raises(NotAllowed):
            reviews.sign_off(r, by=wrong)
    reviews.sign_off(r, by=world.evaluator, note="同意")
    r.refresh_from_db()
    assert r.status == ReviewStatus.SIGNED_OFF and r.signed_by == world.evaluator

    (w,) = reviews.generate_reviews(ReviewLevel.WEEK, WEEK, by=world.officer_a)
    assert not reviews.may_score(world.director, w)  # the grid's officer scores the weekly review
    reviews.save_scores(w, full_marks(w), by=world.officer_a)
    reviews.submit(w, by=world.officer_a)
    with pytest.raises(NotAllowed):
        reviews.sign_off(w, by=world.evaluator)
    with pytest.raises(NotAllowed):
        reviews.sign_off(w, by=world.director_s2)
    reviews.sign_off(w, by=world.director)

    m = [
        x
        for x in reviews.generate_reviews(ReviewLevel.MONTH, MONTH, by=world.evaluator)
        if x.station == world.s2
    ][0]
    reviews.save_scores(m, full_marks(m), by=world.evaluator)
    reviews.submit(m, by=world.evaluator)
    with pytest.raises(NotAllowed):
        reviews.sign_off(m, by=world.evaluator)
    reviews.sign_off(m, by=world.leader)


def test_automatic_item_scored_from_the_kpi(world):
    """Hand-made fixture: 3 verification samples in grid A in November, 2 correct → 准确率 2/3; target 95 %:
    s = (2/3) ÷ 0.95 = 0.7018 → 10 points × s = 7.0."""
    form = reviews.ensure_default_forms()[ReviewLevel.MONTH]
    FormItem.objects.create(
        form=form, order=99, kind=ItemKind.AUTO, code="accuracy_rate", name="准确率", points=10
    )
    for i, correct in enumerate([True, True, False]):
        Verification.objects.create(
            grid=world.grid_a,
            element=Element.PERSON,
            object_id=i + 1,
            checked_on=dt.date(2026, 11, 5 + i),
            correct=correct,
            checked_by=world.evaluator,
        )
    monthly = reviews.generate_reviews(ReviewLevel.MONTH, MONTH, by=world.evaluator)
    s1 = next(r for r in monthly if r.station == world.s1)
    s2 = next(r for r in monthly if r.station == world.s2)
    item = s1.scores.get(code="accuracy_rate")
    assert item.value == pytest.approx(2 / 3)
    assert item.score == Decimal("7.0")
    assert "66.7%" in item.value_text
    assert s2.scores.get(code="accuracy_rate").score is None  # no sample: "—", points left out
    assert s2.scores.get(code="accuracy_rate").value_text.startswith("—")
    # recompute picks up a new record while draft
    Verification.objects.create(
        grid=world.grid_a,
        element=Element.PERSON,
        object_id=9,
        checked_on=dt.date(2026, 11, 9),
        correct=True,
        checked_by=world.evaluator,
    )
    reviews.recompute(s1, by=world.evaluator)
    assert s1.scores.get(code="accuracy_rate").score == Decimal("7.9")  # 0.75 / 0.95 × 10


def test_deadline_and_overdue_with_a_frozen_clock(world):
    r = xun_reviews(world)["杨凯"]
    assert r.deadline == dt.date(2026, 11, 23)
    with time_machine.travel(local(2026, 11, 23, 20), tick=False):
        assert not reviews.is_overdue(r)
    with time_machine.travel(local(2026, 11, 24, 9), tick=False):
        assert reviews.is_overdue(r)
        todo = reviews.todo_for(world.director)
        assert todo[0].deadline == dt.date(2026, 11, 23)
        assert {x.staff.name for x in todo} == {"刘芳", "杨凯", "翁磊"}
        reviews.save_scores(r, full_marks(r), by=world.director)
        reviews.submit(r, by=world.director)
        r.refresh_from_db()
        assert not reviews.is_overdue(r)  # submitted: no longer a reminder
        assert r.pk not in {x.pk for x in reviews.todo_for(world.director)}
        assert r.pk in {x.pk for x in reviews.todo_for(world.evaluator)}  # to sign


def test_ranking_orders_by_rate(world):
    made = xun_reviews(world)
    for name, points in (("刘芳", None), ("杨凯", Decimal("15"))):
        r = made[name]
        reviews.save_scores(r, {s.pk: (points or s.points, "") for s in manual(r)}, by=world.director)
        reviews.submit(r, by=world.director)
    rows = reviews.ranking(world.evaluator, ReviewLevel.XUN, XUN)
    assert [r.staff.name for _rank, r in rows] == ["刘芳", "杨凯"]
    assert [rank for rank, _r in rows] == [1, 2]
    assert reviews.ranking(world.evaluator, ReviewLevel.XUN, XUN, "auxiliary") == []
