"""The portal's home, notices and publicity pages: what a resident sees without an account, and what they
never see (drafts, withdrawn or expired notices, internal notes of events)."""

from __future__ import annotations

import datetime as dt

from django.core.files.base import ContentFile
from django.utils import timezone

from doorstep.evaluation.models_links import MonthlyStar
from doorstep.patrol.choices import PostStatus, Theme
from doorstep.patrol.models import Campaign, Event, Material, Post
from doorstep.portal.choices import NoticeStatus
from doorstep.portal.models import Notice


def notice(world, *, title="停水通知", status=NoticeStatus.PUBLISHED, station=None, expires_on=None, **kw):
    return Notice.objects.create(
        station=station,
        title=title,
        body=kw.pop("body", "明天上午9点至12点停水。\n请提前储水。"),
        status=status,
        published_at=timezone.now() if status != NoticeStatus.DRAFT else None,
        expires_on=expires_on,
        created_by=world.admin,
        **kw,
    )


def post(world, *, title="防范电信诈骗", status=PostStatus.PUBLISHED, body="不要轻信陌生来电。"):
    return Post.objects.create(
        station=world.s1,
        theme=Theme.FRAUD,
        title=title,
        body=body,
        status=status,
        published_at=timezone.now() if status == PostStatus.PUBLISHED else None,
        by=world.director,
    )


def test_home_in_chinese_with_notices_posts_stars_and_csp(world, client):
    notice(world, title="城东派出所户籍窗口周六照常办公", station=world.s1)
    notice(world, title="分局春节安全提示")
    notice(world, title="未发布的草稿公告", status=NoticeStatus.DRAFT)
    post(world, title="守护好老人的钱袋子")
    month = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    MonthlyStar.objects.create(
        month=month.replace(day=1), staff=world.officer_a_staff, citation="事迹", confirmed_by=world.evaluator
    )
    response = client.get("/portal/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "紧急情况请拨打110" in html
    for tile in ["找民警", "我要办事", "查进度", "公告宣传"]:
        assert tile in html
    assert "城东派出所户籍窗口周六照常办公" in html and "分局春节安全提示" in html
    assert "未发布的草稿公告" not in html
    assert "守护好老人的钱袋子" in html
    assert f"社区警务月度之星 {month.year}年{month.month}月" in html
    assert world.officer_a_staff.name in html and "城东派出所" in html
    assert "事迹" not in html  # the committee's citation is not on the home page
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<style" not in html and 'style="' not in html and "onclick" not in html
    assert "sessionid" not in response.cookies


def test_home_shows_only_the_latest_three(world, client):
    for i in range(5):
        n = notice(world, title=f"公告第{i}号")
        Notice.objects.filter(pk=n.pk).update(published_at=timezone.now() - dt.timedelta(days=10 - i))
    html = client.get("/portal/").content.decode()
    assert "公告第4号" in html and "公告第2号" in html
    assert "公告第1号" not in html and "公告第0号" not in html


def test_hidden_notices_are_not_listed_and_404(world, client):
    today = timezone.localdate()
    live = notice(world, title="有效公告", station=world.s2, expires_on=today)
    hidden = [
        notice(world, title="草稿公告", status=NoticeStatus.DRAFT),
        notice(world, title="撤回公告", status=NoticeStatus.WITHDRAWN),
        notice(world, title="过期公告", expires_on=today - dt.timedelta(days=1)),
    ]
    html = client.get("/portal/notices/").content.decode()
    assert "有效公告" in html and "清源派出所" in html  # a station notice names its station
    for n in hidden:
        assert n.title not in html
        response = client.get(f"/portal/notices/{n.pk}/")
        assert response.status_code == 404
        assert "页面不存在" in response.content.decode()
    assert client.get(f"/portal/notices/{live.pk}/").status_code == 200
    assert client.get("/portal/notices/99999999/").status_code == 404
    assert client.get(f"/portal/notices/{2**63}/").status_code == 404


def test_notice_body_is_escaped_plain_text_with_line_breaks(world, client):
    n = notice(world, body="第一行<script>alert(1)</script>\n第二行")
    html = client.get(f"/portal/notices/{n.pk}/").content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html
    assert "第一行" in html and "<br>第二行" in html


def test_post_read_counts_one_view_per_reader_and_day(world, client):
    from django.core.cache import cache

    cache.clear()
    p = post(world)
    assert client.get(f"/portal/posts/{p.pk}/").status_code == 200
    assert client.get(f"/portal/posts/{p.pk}/").status_code == 200  # a reload: not counted again
    assert client.get(f"/portal/posts/{p.pk}/", REMOTE_ADDR="10.9.8.7").status_code == 200  # another reader
    p.refresh_from_db()
    assert p.views == 2
    draft = post(world, title="草稿文章", status=PostStatus.DRAFT)
    assert client.get(f"/portal/posts/{draft.pk}/").status_code == 404
    draft.refresh_from_db()
    assert draft.views == 0
    listed = client.get("/portal/notices/").content.decode()
    assert p.title in listed and "草稿文章" not in listed


def test_handbook_download(world, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    book = Material.objects.create(name="防诈骗手册", active=True)
    book.file.save("fraud.pdf", ContentFile(b"%PDF-1.4 handbook"))
    Material.objects.create(name="无电子版资料", active=True)
    old = Material.objects.create(name="停用手册", active=False)
    old.file.save("old.pdf", ContentFile(b"%PDF-1.4 old"))
    html = client.get("/portal/handbooks/").content.decode()
    assert "防诈骗手册" in html
    assert "无电子版资料" not in html and "停用手册" not in html
    response = client.get(f"/portal/handbooks/{book.pk}/download")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == b"%PDF-1.4 handbook"
    assert client.get(f"/portal/handbooks/{old.pk}/download").status_code == 404


def test_events_calendar_shows_public_fields_only(world, client):
    today = timezone.localdate()
    Campaign.objects.create(
        station=world.s1,
        title="夏季治安宣传月",
        theme=Theme.FRAUD,
        starts_on=today,
        ends_on=today + dt.timedelta(days=20),
        description="内部部署：重点盯防某某",
        created_by=world.director,
    )
    Event.objects.create(
        community=world.c1,
        theme=Theme.FRAUD,
        title="反诈进社区",
        place="西福社区广场",
        held_on=today - dt.timedelta(days=3),
        audience=80,
        notes="内部备注：张某某未到场",
        by=world.officer_a,
    )
    Event.objects.create(
        community=world.c1,
        theme=Theme.FRAUD,
        title="很久以前的活动",
        place="旧址",
        held_on=today - dt.timedelta(days=90),
        audience=10,
        by=world.officer_a,
    )
    html = client.get("/portal/events/").content.decode()
    assert "夏季治安宣传月" in html and "反诈进社区" in html and "西福社区广场" in html and "西福社区" in html
    assert "内部备注" not in html and "张某某" not in html and "内部部署" not in html
    assert "很久以前的活动" not in html
    assert world.officer_a_staff.name not in html
    assert html.index("夏季治安宣传月") < html.index("反诈进社区")  # upcoming first


def test_star_with_photo_links_the_portal_photo(world, client, settings, tmp_path):
    from doorstep.portal.officers import staff_code

    settings.MEDIA_ROOT = tmp_path
    staff = world.officer_a_staff
    staff.photo.save("a.jpg", ContentFile(b"\xff\xd8\xff\xe0 jpeg"))
    MonthlyStar.objects.create(
        month=timezone.localdate().replace(day=1), staff=staff, citation="事迹", confirmed_by=world.evaluator
    )
    html = client.get("/portal/").content.decode()
    assert f'src="/portal/officer-photo/{staff_code(staff.pk)}/"' in html
