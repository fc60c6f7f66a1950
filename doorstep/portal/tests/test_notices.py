"""Staff notices (/online/notices/): who may write which notices, the draft → published → withdrawn states with
audit, bounded Chinese-validated input — and what the portal then shows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.portal import notices
from doorstep.portal.choices import NoticeStatus
from doorstep.portal.models import Notice


def draft(by, station, title="社区停电通知"):
    return notices.save_notice(by, station=station, title=title, body="周六上午停电检修。")


def test_director_writes_and_publishes_own_station_notice(world, client_for):
    c = client_for(world.director)
    response = c.post(
        "/online/notices/new/",
        {
            "station": world.s1.pk,
            "title": "户籍窗口调整办公时间",
            "body": "即日起周六上午办公。",
            "expires_on": "",
        },
    )
    assert response.status_code == 302
    n = Notice.objects.get(title="户籍窗口调整办公时间")
    assert n.status == NoticeStatus.DRAFT and n.station == world.s1 and n.created_by == world.director
    assert "户籍窗口调整办公时间" not in client_for(None).get("/portal/notices/").content.decode()
    assert c.post(f"/online/notices/{n.pk}/publish/").status_code == 302
    n.refresh_from_db()
    assert n.status == NoticeStatus.PUBLISHED and n.published_at is not None
    assert "户籍窗口调整办公时间" in client_for(None).get("/portal/notices/").content.decode()
    assert c.post(f"/online/notices/{n.pk}/withdraw/").status_code == 302
    n.refresh_from_db()
    assert n.status == NoticeStatus.WITHDRAWN
    assert client_for(None).get(f"/portal/notices/{n.pk}/").status_code == 404
    actions = set(AuditEntry.objects.filter(object_id=str(n.pk)).values_list("action", flat=True))
    assert {"portal.notice_create", "portal.notice_publish", "portal.notice_withdraw"} <= actions
    listing = c.get("/online/notices/")
    assert listing.status_code == 200 and "户籍窗口调整办公时间" in listing.content.decode()


def test_director_of_another_station_gets_404(world, client_for):
    n = draft(world.director, world.s1)
    c = client_for(world.director_s2)
    assert c.get(f"/online/notices/{n.pk}/edit/").status_code == 404
    assert c.post(f"/online/notices/{n.pk}/publish/").status_code == 404
    assert c.post(f"/online/notices/{n.pk}/withdraw/").status_code == 404
    assert "社区停电通知" not in c.get("/online/notices/").content.decode()
    # and may not create one for station 1 by posting its id
    response = c.post("/online/notices/new/", {"station": world.s1.pk, "title": "越权", "body": "正文"})
    assert response.status_code == 200 and "请从列表中选择" in response.content.decode()
    assert not Notice.objects.filter(title="越权").exists()
    n.refresh_from_db()
    assert n.status == NoticeStatus.DRAFT


@pytest.mark.parametrize("name", ["officer_a", "dispatcher", "leader", "evaluator", "auxiliary_a", "patrol"])
def test_other_roles_may_not_manage_notices(world, client_for, name):
    n = draft(world.director, world.s1)
    c = client_for(getattr(world, name))
    assert c.get("/online/notices/").status_code in (403, 404)
    assert c.get("/online/notices/new/").status_code in (403, 404)
    assert c.get(f"/online/notices/{n.pk}/edit/").status_code in (403, 404)
    assert c.post(f"/online/notices/{n.pk}/publish/").status_code in (403, 404)
    n.refresh_from_db()
    assert n.status == NoticeStatus.DRAFT


def test_anonymous_is_sent_to_login(world, client_for):
    response = client_for(None).get("/online/notices/")
    assert response.status_code == 302 and "login" in response.headers["Location"]


def test_sub_bureau_notices_are_for_administrators(world, client_for):
    with pytest.raises(NotAllowed):
        draft(world.director, None)
    response = client_for(world.director).post("/online/notices/new/", {"title": "全分局", "body": "正文"})
    assert response.status_code == 200 and "此项为必填项" in response.content.decode()
    admin = client_for(world.admin)
    assert admin.post("/online/notices/new/", {"title": "全分局公告", "body": "正文"}).status_code == 302
    n = Notice.objects.get(title="全分局公告")
    assert n.station is None
    assert n.pk not in notices.notices_for(world.director).values_list("pk", flat=True)
    assert client_for(world.director).get(f"/online/notices/{n.pk}/edit/").status_code == 404
    # the administrator also edits any station's notice
    s2 = draft(world.director_s2, world.s2)
    assert admin.get(f"/online/notices/{s2.pk}/edit/").status_code == 200


def test_published_notice_is_withdrawn_before_editing(world, client_for):
    n = notices.set_notice_status(world.director, draft(world.director, world.s1), notices.PUBLISH)
    with pytest.raises(RuleViolation):
        notices.save_notice(world.director, notice=n, station=world.s1, title="改", body="改")
    with pytest.raises(RuleViolation):
        notices.set_notice_status(world.director, n, notices.PUBLISH)
    response = client_for(world.director).post(f"/online/notices/{n.pk}/edit/", {"title": "改", "body": "改"})
    assert response.status_code == 302
    n.refresh_from_db()
    assert n.title == "社区停电通知"


def test_input_is_bounded_with_chinese_errors(world, client_for):
    c = client_for(world.director)
    response = c.post(
        "/online/notices/new/",
        {"station": world.s1.pk, "title": "长" * 101, "body": "正" * 5001, "expires_on": "9999-01-01"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "标题不能超过100字" in html and "正文不能超过5000字" in html and "日期须在" in html
    response = c.post(
        "/online/notices/new/",
        {"station": world.s1.pk, "title": "过期", "body": "正文", "expires_on": "2001-01-01"},
    )
    assert response.status_code == 200 and "有效期不能早于今天" in response.content.decode()
    response = c.post("/online/notices/new/", {"station": "²", "title": "x", "body": "y"})
    assert response.status_code == 200
    assert c.get(f"/online/notices/{2**63}/edit/").status_code == 404
    assert not Notice.objects.exists()
    with pytest.raises(ServiceError):
        notices.save_notice(world.director, station=world.s1, title="控制\x01字符", body="正文")


def test_expired_notice_cannot_be_published(world):
    n = draft(world.director, world.s1)
    Notice.objects.filter(pk=n.pk).update(expires_on=timezone.localdate() - dt.timedelta(days=1))
    n.refresh_from_db()
    with pytest.raises(RuleViolation):
        notices.set_notice_status(world.director, n, notices.PUBLISH)
