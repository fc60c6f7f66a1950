"""Review reminders (考核待办): `todo_for` is one scoped query that agrees with the per-review rules
(`may_edit` / `may_sign`), and the home page shows each evaluator's reviews to score or sign, overdue first,
each linking to its form."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from doorstep.evaluation import periods, reviews
from doorstep.evaluation.models_review import ItemKind, Review, ReviewLevel

XUN = periods.period_of("xun", dt.date(2026, 11, 15))  # deadline 23 Nov
WEEK = periods.period_of("week", dt.date(2026, 11, 18))  # 16–22 Nov, deadline 24 Nov
MONTH = periods.period_of("month", dt.date(2026, 10, 15))  # October, deadline 5 Nov
TODAY = timezone.make_aware(dt.datetime(2026, 11, 24, 9))


def _full(review):
    return {s.pk: (s.points, "") for s in review.scores.filter(kind=ItemKind.MANUAL)}


@pytest.fixture
def drafts(world):
    """Weekly (grid A's auxiliary), 旬 (S1's officers and auxiliary), monthly (both stations, October); S2's
    monthly review submitted (a leader signs it) and one 旬 review submitted (the evaluation office signs)."""
    with time_machine.travel(TODAY, tick=False):
        week = reviews.generate_reviews(ReviewLevel.WEEK, WEEK, by=world.officer_a)
        xun = reviews.generate_reviews(ReviewLevel.XUN, XUN, by=world.director)
        month = reviews.generate_reviews(ReviewLevel.MONTH, MONTH, by=world.evaluator)
        s2 = next(r for r in month if r.station_id == world.s2.pk)
        reviews.save_scores(s2, _full(s2), by=world.evaluator)
        reviews.submit(s2, by=world.evaluator)
        submitted_xun = xun[0]
        reviews.save_scores(submitted_xun, _full(submitted_xun), by=world.director)
        reviews.submit(submitted_xun, by=world.director)
    world.week, world.xun, world.month = week, xun, month
    world.s2_month, world.submitted_xun = s2, submitted_xun
    return world


USERS = ["officer_a", "officer_b", "auxiliary_a", "director", "director_s2", "leader", "evaluator", "admin"]


@pytest.mark.parametrize("name", USERS)
def test_todo_is_the_reviews_the_rules_let_the_user_act_on(drafts, name):
    user = getattr(drafts, name)
    with time_machine.travel(TODAY, tick=False):
        expected = {
            r.pk for r in Review.objects.all() if reviews.may_edit(user, r) or reviews.may_sign(user, r)
        }
        got = reviews.todo_for(user)
    assert {r.pk for r in got} == expected
    assert len(got) == len(expected)


def test_expected_todo_per_role(drafts):
    w = drafts
    with time_machine.travel(TODAY, tick=False):
        assert {r.pk for r in reviews.todo_for(w.officer_a)} == {r.pk for r in w.week}
        director = reviews.todo_for(w.director)
        assert {r.level for r in director} == {ReviewLevel.XUN}
        assert w.submitted_xun.pk not in {r.pk for r in director}
        assert {r.pk for r in reviews.todo_for(w.evaluator)} == {
            *(r.pk for r in w.month if r.pk != w.s2_month.pk),
            w.submitted_xun.pk,
        }
        assert [r.pk for r in reviews.todo_for(w.leader)] == [w.s2_month.pk]
        assert reviews.todo_for(w.auxiliary_a) == []
        # Overdue drafts first (October's monthly: 5 Nov), then by deadline.
        evaluator = reviews.todo_for(w.evaluator)
        assert evaluator[0].level == ReviewLevel.MONTH and reviews.is_overdue(evaluator[0])


@pytest.mark.parametrize("name", ["officer_a", "director", "evaluator", "leader"])
def test_todo_is_one_query(drafts, name, django_assert_num_queries):
    user = getattr(drafts, name)
    with time_machine.travel(TODAY, tick=False), django_assert_num_queries(1):
        reviews.todo_for(user)


@pytest.mark.parametrize(
    ("name", "level", "action"),
    [
        ("officer_a", "周", "待评分"),
        ("director", "旬", "待评分"),
        ("evaluator", "月", "待评分"),
        ("leader", "月", "待签核"),
    ],
)
def test_home_page_shows_the_reminders_linking_to_the_forms(drafts, client_for, name, level, action):
    user = getattr(drafts, name)
    with time_machine.travel(TODAY, tick=False):
        response = client_for(user).get("/")
        expected = reviews.todo_for(user)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="review-reminders"' in body
    shown = response.context["review_reminders"]
    assert shown["total"] == len(expected)
    assert [item.review.pk for item in shown["rows"]] == [r.pk for r in expected][:8]
    for r in expected[:8]:
        assert f'href="/evaluation/reviews/{r.pk}/"' in body
        assert client_for(user).get(f"/evaluation/reviews/{r.pk}/").status_code == 200
    assert action in body
    assert any(item.review.get_level_display().startswith(level) for item in shown["rows"])


def test_home_page_flags_overdue_reviews(drafts, client_for):
    with time_machine.travel(TODAY, tick=False):
        body = client_for(drafts.director).get("/").content.decode()
        shown = client_for(drafts.director).get("/").context["review_reminders"]
    assert shown["overdue"] == 2  # the 旬 drafts (deadline 23 Nov) not yet submitted
    assert "已逾期" in body and 'data-testid="review-reminders-overdue"' in body


@pytest.mark.parametrize("name", ["auxiliary_a", "patrol", "dispatcher", "director_s2"])
def test_home_page_without_reviews_to_act_on_has_no_reminders(drafts, client_for, name):
    with time_machine.travel(TODAY, tick=False):
        response = client_for(getattr(drafts, name)).get("/")
    assert response.status_code == 200
    assert response.context["review_reminders"] is None
    assert 'data-testid="review-reminders"' not in response.content.decode()
