"""Pages of evaluations and spot checks: the permission matrix, 404s outside the territory, Chinese errors."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from doorstep.evaluation import periods, reviews, spotchecks
from doorstep.evaluation.models_review import ItemKind, ReviewLevel, ReviewStatus, SpotCheck

LIST = reverse("evaluation:reviews")
XUN = periods.period_of("xun", dt.date(2026, 11, 15))
HUGE = 2**70


def detail(pk):
    return reverse("evaluation:review_detail", args=[pk])


@pytest.fixture
def made(world):
    return {r.staff.name: r for r in reviews.generate_reviews(ReviewLevel.XUN, XUN, by=world.director)}


@pytest.mark.parametrize(
    "name", ["officer_a", "auxiliary_a", "director", "director_s2", "leader", "evaluator", "admin"]
)
def test_list_page_for_every_role(world, client_for, name):
    html = client_for(getattr(world, name)).get(LIST).content.decode()
    assert "考核评分" in html and 'data-testid="evaluation-tabs"' in html


def test_anonymous_is_sent_to_login(client_for):
    assert client_for(None).get(LIST).status_code == 302


def test_generate_page_and_bad_input(world, client_for):
    client = client_for(world.director)
    response = client.post(reverse("evaluation:review_generate"), {"level": "xun", "period": "2026-13-9"})
    assert response.status_code == 400
    assert "周期格式不正确" in response.content.decode()
    response = client.post(reverse("evaluation:review_generate"), {"level": "xun", "period": "2026-11-2"})
    assert response.status_code == 302
    assert client.get(LIST).content.decode().count('data-testid="todo-row"') == 3
    assert (
        client_for(world.officer_a)
        .post(reverse("evaluation:review_generate"), {"level": "xun", "period": "2026-11-2"})
        .status_code
        == 400
    )  # 旬 is not an officer's choice: the form refuses it


def test_drafts_404_for_the_evaluatee_and_other_stations(world, made, client_for):
    pk = made["刘芳"].pk
    assert client_for(world.officer_a).get(detail(pk)).status_code == 404
    assert client_for(world.director_s2).get(detail(pk)).status_code == 404
    assert client_for(world.officer_b).get(detail(pk)).status_code == 404
    assert client_for(world.director).get(detail(pk)).status_code == 200
    for url in (
        detail(HUGE),
        reverse("evaluation:review_submit", args=[HUGE]),
        reverse("evaluation:review_history", args=["staff", HUGE]),
    ):
        method = client_for(world.director).post if "submit" in url else client_for(world.director).get
        assert method(url).status_code == 404
    assert client_for(world.director).get("/evaluation/reviews/history/person/1/").status_code == 404


def test_scoring_submitting_and_signing_through_the_pages(world, made, client_for):
    review = made["杨凯"]
    items = list(review.scores.filter(kind=ItemKind.MANUAL))
    client = client_for(world.director)
    bad = client.post(detail(review.pk), {f"score-{items[0].pk}": "abc"})
    assert bad.status_code == 400 and "请输入数字分数" in bad.content.decode()
    bad = client.post(detail(review.pk), {f"score-{items[0].pk}": "5"})
    assert bad.status_code == 400 and "须填写评语" in bad.content.decode()
    data = {f"score-{s.pk}": str(s.points) for s in items} | {"comment": "表现良好"}
    assert client.post(detail(review.pk), data).status_code == 302
    assert (
        client_for(world.evaluator).post(reverse("evaluation:review_submit", args=[review.pk])).status_code
        == 403
    )
    assert client.post(reverse("evaluation:review_submit", args=[review.pk])).status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED
    assert client.post(detail(review.pk), data).status_code == 403  # read-only after submission
    assert client.post(reverse("evaluation:review_signoff", args=[review.pk])).status_code == 403
    page = client_for(world.officer_b).get(detail(review.pk))  # the evaluatee sees it once submitted
    assert page.status_code == 200 and "表现良好" in page.content.decode()
    assert (
        client_for(world.evaluator)
        .post(reverse("evaluation:review_signoff", args=[review.pk]), {"note": "同意"})
        .status_code
        == 302
    )
    review.refresh_from_db()
    assert review.status == ReviewStatus.SIGNED_OFF
    ranking = client_for(world.leader).get(
        reverse("evaluation:review_ranking"), {"level": "xun", "period": "2026-11-2"}
    )
    assert ranking.status_code == 200 and "杨凯" in ranking.content.decode()
    history = client_for(world.officer_b).get(
        reverse("evaluation:review_history", args=["staff", world.officer_b_staff.pk])
    )
    assert history.status_code == 200 and 'data-testid="history-row"' in history.content.decode()
    other = client_for(world.director_s2).get(
        reverse("evaluation:review_history", args=["staff", world.officer_b_staff.pk])
    )
    assert other.status_code == 404


def test_ranking_bad_input_in_chinese(world, client_for):
    response = client_for(world.leader).get(
        reverse("evaluation:review_ranking"), {"level": "x", "kind": "y", "period": "z"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "考核层级无效" in html and "人员类别无效" in html and "周期格式不正确" in html


@pytest.mark.parametrize(
    ("name", "status"),
    [("officer_a", 404), ("auxiliary_a", 404), ("leader", 200), ("director", 200), ("evaluator", 200)],
)
def test_spotcheck_list_matrix(world, client_for, name, status):
    assert client_for(getattr(world, name)).get(reverse("evaluation:spotchecks")).status_code == status


def test_spotcheck_draw_and_record_pages(world, client_for):
    client = client_for(world.director)
    bad = client.post(reverse("evaluation:spotcheck_draw"), {"station": world.s1.pk, "count": "9"})
    assert bad.status_code == 400 and "不能超过候选民警人数" in bad.content.decode()
    bad = client.post(reverse("evaluation:spotcheck_draw"), {"station": world.s2.pk, "count": "1"})
    assert bad.status_code == 400 and "请选择您辖区内的派出所" in bad.content.decode()
    assert (
        client_for(world.leader).post(reverse("evaluation:spotcheck_draw"), {"count": "1"}).status_code == 403
    )
    response = client.post(
        reverse("evaluation:spotcheck_draw"), {"station": world.s1.pk, "count": "1", "seed": "42"}
    )
    assert response.status_code == 302
    check = SpotCheck.objects.get()
    assert check.seed == 42
    item = check.items.get()
    assert (
        client_for(world.director_s2).get(reverse("evaluation:spotcheck_detail", args=[check.pk])).status_code
        == 404
    )
    assert client.get(reverse("evaluation:spotcheck_detail", args=[HUGE])).status_code == 404
    record = reverse("evaluation:spotcheck_record", args=[item.pk])
    bad = client.post(
        record, {f"i{item.pk}-checked_on": "昨天", f"i{item.pk}-subject": "", f"i{item.pk}-result": "x"}
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "请输入有效的日期" in html and "请填写检查内容" in html and "请选择检查结果" in html
    today = spotchecks.timezone.localdate().isoformat()
    ok = client.post(
        record,
        {f"i{item.pk}-checked_on": today, f"i{item.pk}-subject": "走访台账", f"i{item.pk}-result": "pass"},
    )
    assert ok.status_code == 302
    item.refresh_from_db()
    assert item.result == "pass"
    assert client_for(world.director_s2).post(record, {}).status_code == 404
    assert client.post(reverse("evaluation:spotcheck_record", args=[HUGE]), {}).status_code == 404
