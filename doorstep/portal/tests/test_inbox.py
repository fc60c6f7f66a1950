"""The staff queue (网上受理): scoping, actions and what the resident then sees, text messages after commit,
hand-over to mediation, masked phones and the audited reveal, bad ids."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from doorstep.audit.models import AccessEntry, AuditEntry
from doorstep.core import sms
from doorstep.mediation.choices import Source
from doorstep.mediation.choices import Status as MediationStatus
from doorstep.mediation.models import Dispute, DisputeType
from doorstep.portal import receipts, services
from doorstep.portal.choices import Kind, Status
from doorstep.portal.models import Submission
from doorstep.portal.tests.test_submissions import lookup

PHONE = "13955556666"


@pytest.fixture(autouse=True)
def _clean(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SMS_GATEWAY = "memory"
    cache.clear()
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def tip(world, community=None, **kw) -> Submission:
    return services.submit_tip(
        content=kw.pop("content", "楼道堆放杂物有火灾隐患"),
        community=community if community is not None else world.c1,
        name="吴一",
        phone=PHONE,
        **kw,
    )


def code_of(item: Submission) -> str:
    return receipts.display(item.receipt_code)


def test_queue_lists_newest_first_masked_with_counts(world, client_for):
    first = tip(world, content="第一条")
    second = services.submit_dispute(
        content="第二条", other_party="邻居", name="郑二", phone="13800008888", community=world.c1
    )
    response = client_for(world.officer_a).get("/online/")
    assert response.status_code == 200
    text = response.content.decode()
    assert text.index("第二条") < text.index("第一条")
    assert PHONE not in text and "139****6666" in text and "138****8888" in text
    assert 'data-kind="tip">1<' in text and 'data-kind="dispute">1<' in text
    # filters
    text = client_for(world.officer_a).get("/online/", {"kind": "dispute"}).content.decode()
    assert "第二条" in text and "第一条" not in text
    text = client_for(world.officer_a).get("/online/", {"status": "done"}).content.decode()
    assert "第一条" not in text
    assert (
        client_for(world.officer_a).get("/online/", {"community": "²", "status": "bogus"}).status_code == 200
    )
    assert first.pk and second.pk


def test_queue_scoping(world, client_for):
    in_c1 = tip(world, content="西福的事")
    in_c3 = tip(world, world.c3, content="仁风的事")
    unplaced = services.submit_tip(content="不知道在哪", name="冯三", phone=PHONE)
    # officer of c1 sees c1 only; c3's item is a 404
    officer = client_for(world.officer_a)
    text = officer.get("/online/").content.decode()
    assert "西福的事" in text and "仁风的事" not in text and "不知道在哪" not in text
    assert officer.get(f"/online/items/{in_c3.pk}/").status_code == 404
    assert officer.get(f"/online/items/{in_c1.pk}/").status_code == 200
    # officer_b (grid B of c1) sees c1 items; an officer of another community would not
    assert client_for(world.officer_b).get(f"/online/items/{in_c1.pk}/").status_code == 200
    # director of s2 sees nothing of s1
    d2 = client_for(world.director_s2)
    text = d2.get("/online/").content.decode()
    assert "西福的事" not in text and "仁风的事" in text
    assert d2.get(f"/online/items/{in_c1.pk}/").status_code == 404
    # the unplaced item: the sub-bureau-wide queue (leader) sees it
    assert "不知道在哪" in client_for(world.leader).get("/online/").content.decode()
    detail = client_for(world.leader).get(f"/online/items/{unplaced.pk}/")
    assert detail.status_code == 200 and "未定位" in detail.content.decode()
    assert unplaced.station_id is None
    # roles without the queue, and anonymous
    assert client_for(world.patrol).get("/online/").status_code == 404
    assert client_for(None).get("/online/").status_code == 302


def test_bad_ids_are_404(world, client_for):
    c = client_for(world.director)
    for bad in ("99999999999999999999", "²", "abc", "0"):
        assert c.get(f"/online/items/{bad}/").status_code == 404
        assert c.get(f"/online/items/{bad}/photo").status_code == 404


def test_reply_and_finish_show_on_status_page_and_text_after_commit(
    world, client, client_for, django_capture_on_commit_callbacks
):
    item = tip(world)
    staff = client_for(world.officer_a)
    assert staff.post(f"/online/items/{item.pk}/", {"action": "accept"}).status_code == 302
    item.refresh_from_db()
    assert item.status == Status.ACCEPTED and item.handled_by == world.officer_a
    assert sms.outbox == []  # accepting sends nothing
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff.post(
            f"/online/items/{item.pk}/", {"action": "reply", "reply-text": "已安排社区清理"}
        )
        assert response.status_code == 302
        assert sms.outbox == []  # not before commit
    for callback in callbacks:
        callback()
    assert len(sms.outbox) == 1 and sms.outbox[0].phone == PHONE
    assert code_of(item) in sms.outbox[0].text and "吴一" not in sms.outbox[0].text
    text = lookup(client, code_of(item)).content.decode()
    assert "已安排社区清理" in text and "已受理" in text
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(f"/online/items/{item.pk}/", {"action": "finish", "finish-text": "已清理完毕"})
    assert len(sms.outbox) == 2 and "已办结" in sms.outbox[1].text
    text = lookup(client, code_of(item)).content.decode()
    assert "已清理完毕" in text and "已办结" in text
    assert AuditEntry.objects.filter(action="portal.finish", actor_id=world.officer_a.pk).exists()
    # finished items take no more actions
    response = staff.post(f"/online/items/{item.pk}/", {"action": "reply", "reply-text": "再答复"})
    assert response.status_code == 302
    assert "不能办理" in staff.get(f"/online/items/{item.pk}/").content.decode()
    item.refresh_from_db()
    assert item.reply == "已清理完毕"


def test_reject_with_reason_and_anonymous_gets_no_text(
    world, client, client_for, django_capture_on_commit_callbacks
):
    item = services.submit_tip(content="匿名线索", anonymous=True, community=world.c1)
    staff = client_for(world.director)
    response = staff.post(f"/online/items/{item.pk}/", {"action": "reject"})
    assert response.status_code == 200 and "请填写不予受理的理由" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(f"/online/items/{item.pk}/", {"action": "reject", "reject-reason": "经核查不属公安管辖"})
    item.refresh_from_db()
    assert item.status == Status.REJECTED
    assert sms.outbox == []
    text = lookup(client, code_of(item)).content.decode()
    assert "不予受理" in text and "经核查不属公安管辖" in text


def test_visible_but_not_handled_is_403(world, client_for):
    item = tip(world)
    leader = client_for(world.leader)
    assert leader.get(f"/online/items/{item.pk}/").status_code == 200
    assert leader.post(f"/online/items/{item.pk}/", {"action": "accept"}).status_code == 403
    item.refresh_from_db()
    assert item.status == Status.NEW


def test_hand_to_mediation_creates_portal_dispute_and_status_follows(world, client, client_for):
    dtype, _ = DisputeType.objects.get_or_create(name="邻里纠纷")
    item = services.submit_dispute(
        content="楼上漏水不修",
        other_party="402室业主",
        name="陈四",
        phone=PHONE,
        community=world.c1,
        address_text="西福小区5栋302",
    )
    staff = client_for(world.officer_a)
    page = staff.get(f"/online/items/{item.pk}/").content.decode()
    assert "402室业主" in page  # prefilled other party
    response = staff.post(
        f"/online/items/{item.pk}/",
        {"action": "mediate", "mediate-dispute_type": dtype.pk, "mediate-other_party": "402室业主"},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    dispute = Dispute.objects.get()
    assert item.dispute == dispute and item.status == Status.ACCEPTED
    assert dispute.source == Source.PORTAL and dispute.community == world.c1
    assert dispute.facts == "楼上漏水不修" and dispute.place == "西福小区5栋302"
    parties = {p.side: p for p in dispute.parties.all()}
    assert parties["A"].name == "陈四" and parties["A"].phone == PHONE and parties["B"].name == "402室业主"
    code = code_of(item)
    assert "调解中" in lookup(client, code).content.decode()
    Dispute.objects.filter(pk=dispute.pk).update(status=MediationStatus.AWAITING_MEDIATOR)
    assert "受理中" in lookup(client, code).content.decode()
    Dispute.objects.filter(pk=dispute.pk).update(status=MediationStatus.SETTLED)
    assert "已办结" in lookup(client, code).content.decode()
    # not twice
    assert staff.post(
        f"/online/items/{item.pk}/",
        {"action": "mediate", "mediate-dispute_type": dtype.pk, "mediate-other_party": "x"},
    ).status_code in (200, 302)
    assert Dispute.objects.count() == 1


def test_phone_masked_and_revealed_with_audit(world, client_for):
    item = tip(world)
    officer = client_for(world.officer_a)
    text = officer.get(f"/online/items/{item.pk}/").content.decode()
    assert PHONE not in text and "139****6666" in text
    response = officer.post(f"/online/items/{item.pk}/", {"action": "reveal", "reveal-purpose": ""})
    assert PHONE not in response.content.decode() and "请填写查看事由" in response.content.decode()
    assert not AccessEntry.objects.exists()
    response = officer.post(
        f"/online/items/{item.pk}/", {"action": "reveal", "reveal-purpose": "回电核实线索"}
    )
    assert response.status_code == 200 and PHONE in response.content.decode()
    entry = AccessEntry.objects.get()
    assert entry.object_type == "portal.submission" and [str(i) for i in entry.object_ids] == [str(item.pk)]
    assert entry.purpose == "回电核实线索" and entry.fields == ["phone"]
    # a role outside registry REVEAL_ROLES may not
    response = client_for(world.auxiliary_a).post(
        f"/online/items/{item.pk}/", {"action": "reveal", "reveal-purpose": "x"}
    )
    assert response.status_code == 403
    assert AccessEntry.objects.count() == 1


def test_tip_photo_is_scoped(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from doorstep.portal.tests.test_submissions import jpeg_with_exif

    item = tip(world, photo=SimpleUploadedFile("p.jpg", jpeg_with_exif(), content_type="image/jpeg"))
    response = client_for(world.officer_a).get(f"/online/items/{item.pk}/photo")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    assert client_for(world.director_s2).get(f"/online/items/{item.pk}/photo").status_code == 404
    no_photo = tip(world)
    assert client_for(world.officer_a).get(f"/online/items/{no_photo.pk}/photo").status_code == 404
    assert item.kind == Kind.TIP


def test_an_item_placed_nowhere_is_placed_by_the_administrator(world, client_for):
    """An item whose place could not be worked out (no address, no community) is in the sub-bureau-wide queue:
    the administrator puts it in a community (转派) and from then on the community's staff see and handle it."""
    item = services.submit_tip(content="不知道在哪个社区", name="", phone="", anonymous=True)
    assert item.station_id is None and item.community_id is None
    url = f"/online/items/{item.pk}/"
    assert client_for(world.officer_a).get(url).status_code == 404
    assert client_for(world.leader).get(url).status_code == 200  # sees it, may not act
    assert (
        client_for(world.leader).post(url, {"action": "place", "place-community": world.c1.pk}).status_code
        == 403
    )
    admin = client_for(world.admin)
    assert 'data-testid="place-form"' in admin.get(url).content.decode()
    response = admin.post(url, {"action": "place", "place-community": str(world.c1.pk)})
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.community_id, item.station_id, item.status) == (world.c1.pk, world.s1.pk, Status.NEW)
    assert AuditEntry.objects.filter(action="portal.place", object_id=str(item.pk)).exists()
    assert client_for(world.officer_a).get(url).status_code == 200


def test_a_director_moves_an_item_within_the_station_only(world, client_for):
    item = tip(world, community=world.c1)
    url = f"/online/items/{item.pk}/"
    director = client_for(world.director)
    assert director.post(url, {"action": "place", "place-community": str(world.c3.pk)}).status_code == 200
    item.refresh_from_db()
    assert item.community_id == world.c1.pk  # c3 belongs to another station: refused with a field error
    assert director.post(url, {"action": "place", "place-community": str(world.c2.pk)}).status_code == 302
    item.refresh_from_db()
    assert item.community_id == world.c2.pk
    # An officer handles the item but does not move it.
    assert 'data-testid="place-form"' not in client_for(world.officer_a).get(url).content.decode()
