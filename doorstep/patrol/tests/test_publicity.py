"""Publicity: campaigns, events with materials, posts and their states, reach."""

from __future__ import annotations

import datetime as dt

import pytest

from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.patrol import publicity
from doorstep.patrol.choices import PostStatus, Theme
from doorstep.patrol.models import Material

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def materials(db):
    return (
        Material.objects.get_or_create(name="平安防范手册")[0],
        Material.objects.get_or_create(name="反恐防范手册")[0],
    )


def event(pw, **kw):
    args = dict(
        community=pw.c1,
        theme=Theme.FRAUD,
        title="防骗进社区",
        place="西福广场",
        held_on=TODAY,
        audience=50,
    )
    args.update(kw)
    return publicity.record_event(kw.pop("by", pw.director), **{k: v for k, v in args.items() if k != "by"})


def test_event_validation(pw, materials, time_machine):
    time_machine.move_to(NOW, tick=False)
    handbook, _terror = materials
    with pytest.raises(ServiceError) as exc:
        event(pw, audience=0)
    assert exc.value.code == "audience"
    with pytest.raises(ServiceError) as exc:
        event(pw, materials=[(handbook, 0)])
    assert exc.value.code == "materials"
    with pytest.raises(ServiceError) as exc:
        event(pw, held_on=TODAY + dt.timedelta(days=1))
    assert exc.value.code == "held_on"
    with pytest.raises(NotAllowed):
        event(pw, by=pw.patrol)


def test_duplicate_materials_are_merged_and_reach_counts_them(pw, materials, time_machine):
    time_machine.move_to(NOW, tick=False)
    handbook, terror = materials
    e = event(pw, materials=[(handbook, 30), (terror, 10), (handbook, 20)])
    assert {(d.material_id, d.copies) for d in e.distributions.all()} == {(handbook.pk, 50), (terror.pk, 10)}
    event(pw, community=pw.c2, audience=7)
    cols, rows = publicity.reach([pw.c1, pw.c2], dt.date(2026, 1, 1), TODAY)
    by_id = {r.community.pk: r for r in rows}
    assert by_id[pw.c1.pk].events == 1 and by_id[pw.c1.pk].audience == 50
    expected = {handbook.pk: 50, terror.pk: 10}
    assert by_id[pw.c1.pk].copies_for(cols) == [expected.get(m.pk, 0) for m in cols]
    assert by_id[pw.c2.pk].audience == 7 and by_id[pw.c2.pk].total_copies == 0


def test_campaign_dates_and_station(pw):
    with pytest.raises(ServiceError) as exc:
        publicity.save_campaign(
            pw.director,
            station=pw.s1,
            title="反诈宣传月",
            theme=Theme.FRAUD,
            starts_on=dt.date(2026, 11, 10),
            ends_on=dt.date(2026, 11, 1),
        )
    assert exc.value.code == "ends_on"
    with pytest.raises(NotAllowed):
        publicity.save_campaign(
            pw.director_s2,
            station=pw.s1,
            title="x",
            theme=Theme.FRAUD,
            starts_on=dt.date(2026, 11, 1),
            ends_on=dt.date(2026, 11, 30),
        )


def test_post_publish_and_withdraw(pw):
    post = publicity.save_post(
        pw.director, station=pw.s1, theme=Theme.FIRE, title="冬季防火", body="注意用电安全。"
    )
    assert post.status == PostStatus.DRAFT
    assert not publicity.published_posts().filter(pk=post.pk).exists()
    with pytest.raises(ServiceError):
        publicity.set_post_status(pw.director, post, publicity.WITHDRAW)
    post = publicity.set_post_status(pw.director, post, publicity.PUBLISH)
    assert post.status == PostStatus.PUBLISHED and post.published_at is not None
    assert publicity.published_posts().filter(pk=post.pk).exists()
    with pytest.raises(ServiceError):  # edit a published post
        publicity.save_post(pw.director, post=post, station=pw.s1, theme=Theme.FIRE, title="改", body="改")
    with pytest.raises(ServiceError):
        publicity.set_post_status(pw.director, post, publicity.PUBLISH)
    post = publicity.set_post_status(pw.director, post, publicity.WITHDRAW)
    assert post.status == PostStatus.WITHDRAWN
    assert not publicity.published_posts().filter(pk=post.pk).exists()
    with pytest.raises(NotAllowed):
        publicity.set_post_status(pw.patrol, post, publicity.PUBLISH)


def test_post_body_is_length_limited_plain_text(pw):
    with pytest.raises(ServiceError) as exc:
        publicity.save_post(
            pw.director, station=pw.s1, theme=Theme.FIRE, title="t", body="字" * (publicity.POST_BODY_MAX + 1)
        )
    assert exc.value.code == "body"
    with pytest.raises(ServiceError):
        publicity.save_post(pw.director, station=pw.s1, theme=Theme.FIRE, title="t", body="a\x00b")
