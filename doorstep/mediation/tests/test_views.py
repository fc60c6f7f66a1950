"""The mediation pages: who sees which dispute, who may act, forms that refuse bad input in Chinese, the
agreement PDF download (audited), the reveal of parties' numbers (audited), statistics with drill-down."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse

from doorstep.audit.models import AccessEntry
from doorstep.mediation import services
from doorstep.mediation.choices import Status
from doorstep.mediation.models import Dispute
from doorstep.mediation.tests.conftest import dtype, new_dispute, new_id, on_duty, terms

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
FRIDAY = dt.datetime(2026, 11, 27, 10, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _form(**extra):
    data = {
        "community": "",
        "dispute_type": dtype().pk,
        "procedure": "people",
        "source": "officer",
        "place": "5号楼",
        "facts": "楼道堆物引发口角",
        "risk": "low",
        "p0_side": "A",
        "p0_name": "王伟",
        "p0_id_number": new_id(),
        "p1_side": "B",
        "p1_name": "李娜",
        "p2_side": "B",
        "p3_side": "B",
    }
    data.update(extra)
    return data


# --- who sees what -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("officer_a", 200),
        ("officer_b", 200),  # the same community
        ("auxiliary_a", 200),
        ("director", 200),
        ("dispatcher", 200),
        ("mediator", 200),
        ("leader", 200),
        ("evaluator", 200),
        ("director_s2", 404),
        ("patrol", 404),
    ],
)
def test_dispute_page_by_role_and_territory(med, client_for, username, status):
    d = new_dispute(med)
    user = med.mediator_user if username == "mediator" else getattr(med, username)
    response = client_for(user).get(reverse("mediation:detail", args=[d.pk]))
    assert response.status_code == status
    if status == 200:
        assert d.number in response.content.decode()


def test_the_list_holds_only_the_territory_and_searches_by_number(med, client_for):
    d1 = new_dispute(med)
    d3 = new_dispute(med, community=med.c3, grid=med.grid_d, by=med.director_s2)
    page = client_for(med.director).get(reverse("mediation:list")).content.decode()
    assert d1.number in page and d3.number not in page
    page = client_for(med.director_s2).get(reverse("mediation:list")).content.decode()
    assert d3.number in page and d1.number not in page
    page = client_for(med.leader).get(reverse("mediation:list"), {"q": d3.number}).content.decode()
    assert d3.number in page and d1.number not in page
    assert client_for(med.patrol).get(reverse("mediation:list")).status_code == 404


def test_a_name_search_has_no_place_in_the_list_url(med, client_for):
    """The list's text box is the dispute number: a name typed there finds nothing and is not echoed into
    links (names never travel in URLs)."""
    new_dispute(med)
    page = client_for(med.director).get(reverse("mediation:list"), {"q": "王伟"}).content.decode()
    assert "没有符合条件的纠纷" in page


# --- intake --------------------------------------------------------------------------------------------------
def test_an_officer_takes_a_dispute_through_the_form(med, client_for):
    c = client_for(med.officer_a)
    page = c.get(reverse("mediation:new")).content.decode()
    assert "当事人" in page
    response = c.post(reverse("mediation:new"), _form(community=med.c1.pk, grid=med.grid_a.pk))
    d = Dispute.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("mediation:detail", args=[d.pk])
    assert d.first_officer == med.officer_a_staff and d.parties.count() == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"p1_name": ""}, "请登记纠纷双方当事人（至少两方）"),
        ({"facts": ""}, "此项为必填项"),
        ({"p0_id_number": "350503199001011230"}, "王伟"),
        ({"occurred_at": "2026-13-45T99:00"}, "请输入有效的日期和时间"),
        ({"occurred_at": "9999-01-01T10:00"}, ""),
        ({"involved_count": "-3"}, ""),
    ],
)
def test_bad_intake_input_is_a_chinese_form_error_and_nothing_is_written(med, client_for, changes, message):
    response = client_for(med.officer_a).post(reverse("mediation:new"), _form(community=med.c1.pk, **changes))
    assert response.status_code == 200
    body = response.content.decode()
    assert "invalid-feedback" in body or "alert-danger" in body
    if message:
        assert message in body
    assert not Dispute.objects.exists()


def test_another_stations_community_cannot_be_chosen(med, client_for):
    response = client_for(med.officer_a).post(reverse("mediation:new"), _form(community=med.c3.pk))
    assert response.status_code == 200 and not Dispute.objects.exists()


def test_roles_that_only_look_cannot_take_disputes(med, client_for):
    assert client_for(med.leader).get(reverse("mediation:new")).status_code == 403
    assert (
        client_for(med.leader).post(reverse("mediation:new"), _form(community=med.c1.pk)).status_code == 403
    )
    assert not Dispute.objects.exists()


def test_a_desk_dispute_is_registered_from_its_item(med, client_for):
    from doorstep.desk import services as desk_services
    from doorstep.desk.choices import IntakeStatus

    intake = desk_services.create_intake(
        room=med.room_c1,
        kind="dispute",
        applicant_name="王伟",
        id_number=new_id(),
        summary="漏水纠纷",
        other_party="楼上住户张三",
        by=med.officer_a,
    )
    c = client_for(med.officer_a)
    item = c.get(reverse("desk:item", args=[intake.pk])).content.decode()
    assert 'data-testid="to-mediation"' in item
    form = c.get(reverse("mediation:new"), {"intake": intake.pk}).content.decode()
    assert "楼上住户张三" in form and "漏水纠纷" in form
    response = c.post(
        reverse("mediation:new"), _form(community=med.c1.pk, intake=intake.pk, p1_name="楼上住户张三")
    )
    assert response.status_code == 302
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.TRANSFERRED and intake.dispute.source == "desk"
    item = c.get(reverse("desk:item", args=[intake.pk])).content.decode()
    assert intake.dispute.number in item and 'data-testid="to-mediation"' not in item
    # Someone else's desk item cannot be pulled in.
    assert client_for(med.director_s2).get(reverse("mediation:new"), {"intake": intake.pk}).status_code == 404
    assert client_for(med.officer_a).get(reverse("mediation:new"), {"intake": "x"}).status_code == 404


# --- acting on the case --------------------------------------------------------------------------------------
def test_on_site_transfer_then_the_mediator_concludes_with_an_agreement(med, client_for, time_machine):
    time_machine.move_to(FRIDAY, tick=False)
    on_duty(med, FRIDAY.date())
    d = new_dispute(med)
    officer, mediator = client_for(med.officer_a), client_for(med.mediator_user)
    # The mediator may not record the on-site mediation (403), the officer may.
    assert (
        mediator.post(
            reverse("mediation:onsite", args=[d.pk]), {"outcome": "transfer", "note": "x"}
        ).status_code
        == 403
    )
    officer.post(reverse("mediation:onsite", args=[d.pk]), {"outcome": "transfer", "note": "未能当场化解"})
    d.refresh_from_db()
    assert d.status == Status.IN_ROOM and d.mediator == med.mediator_a
    queue = mediator.get(reverse("mediation:index")).content.decode()
    assert d.number in queue.split('data-testid="section-mine"')[1]
    # Officers may not run the room.
    assert officer.get(reverse("mediation:agreement", args=[d.pk])).status_code == 200  # the page shows
    assert officer.post(reverse("mediation:agreement", args=[d.pk]), {}).status_code == 200  # form errors
    data = {
        "facts": "漏水",
        "issues": "修缮费用",
        "responsibilities": "乙方全责",
        "signed_on": "2026-11-27",
        "t0_content": "乙方赔偿甲方3000元",
        "t0_manner": "银行转账",
        "t0_deadline": "2026-12-31",
    }
    assert officer.post(reverse("mediation:agreement", args=[d.pk]), data).status_code == 403
    no_terms = {**data, "t0_content": "", "t0_manner": "", "t0_deadline": ""}
    page = mediator.post(reverse("mediation:agreement", args=[d.pk]), no_terms).content.decode()
    assert "调解协议须至少有一项协议内容" in page
    response = mediator.post(reverse("mediation:agreement", args=[d.pk]), data)
    assert response.status_code == 302
    d.refresh_from_db()
    assert d.status == Status.SETTLED
    agreement = d.agreements.get()
    pdf = mediator.get(reverse("mediation:agreement_pdf", args=[d.pk, agreement.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert "no-store" in pdf["Cache-Control"]
    assert AccessEntry.objects.filter(kind="export", object_type="mediation.agreement").count() == 1
    assert (
        client_for(med.director_s2)
        .get(reverse("mediation:agreement_pdf", args=[d.pk, agreement.pk]))
        .status_code
        == 404
    )


def test_refused_actions_come_back_as_messages_not_errors(med, client_for, time_machine):
    time_machine.move_to(FRIDAY, tick=False)
    d = services.record_onsite(new_dispute(med), settled=True, note="和解", by=med.officer_a)
    c = client_for(med.officer_a)
    response = c.post(
        reverse("mediation:onsite", args=[d.pk]), {"outcome": "transfer", "note": "x"}, follow=True
    )
    assert "不能记录现场调解" in response.content.decode()
    response = c.post(
        reverse("mediation:onsite", args=[d.pk]), {"outcome": "bogus", "note": "x"}, follow=True
    )
    assert "未知的操作" in response.content.decode()
    response = c.post(
        reverse("mediation:follow_up", args=[d.pk]),
        {"visited_on": "2026-11-01", "kept": "yes", "note": "x"},
        follow=True,
    )
    assert "回访日期不能早于结案日期" in response.content.decode()
    response = c.post(
        reverse("mediation:follow_up", args=[d.pk]), {"visited_on": "bad", "kept": "yes"}, follow=True
    )
    assert response.status_code == 200 and "请输入有效的日期" in response.content.decode()
    response = client_for(med.director).post(
        reverse("mediation:refer", args=[d.pk]), {"body": "司法所", "reason": "x"}, follow=True
    )
    assert "纠纷已结案，不能移交" in response.content.decode()


def test_the_director_assigns_a_waiting_dispute(med, client_for, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 28, 20, 0, tzinfo=TZ), tick=False)  # a Saturday night
    d = services.record_onsite(new_dispute(med), settled=False, transfer=True, note="x", by=med.officer_a)
    home = client_for(med.director).get(reverse("mediation:index")).content.decode()
    assert d.number in home.split('data-testid="section-awaiting"')[1]
    assert (
        client_for(med.dispatcher)
        .post(reverse("mediation:assign", args=[d.pk]), {"mediator": med.mediator_b.pk})
        .status_code
        == 403
    )
    client_for(med.director).post(reverse("mediation:assign", args=[d.pk]), {"mediator": med.mediator_b.pk})
    d.refresh_from_db()
    assert d.mediator == med.mediator_b and d.status == Status.IN_ROOM


def test_revealing_parties_numbers_is_audited(med, client_for):
    d = new_dispute(med)
    party = d.parties.first()
    c = client_for(med.officer_a)
    page = c.get(reverse("mediation:detail", args=[d.pk])).content.decode()
    assert party.id_number not in page and "13912345678" not in page
    page = c.post(reverse("mediation:detail", args=[d.pk]), {"purpose": "联系当事人"}).content.decode()
    assert party.id_number in page and "13912345678" in page
    assert AccessEntry.objects.filter(kind="reveal", object_type="mediation.party").exists()
    # A mediator sees the case but may not reveal (roles of registry.privacy).
    assert client_for(med.mediator_user).post(
        reverse("mediation:detail", args=[d.pk]), {"purpose": "x"}
    ).status_code in (200, 403)


# --- types and statistics ------------------------------------------------------------------------------------
def test_types_are_edited_by_the_administrator_only(med, client_for):
    assert client_for(med.director).get(reverse("mediation:type_new")).status_code == 403
    c = client_for(med.admin)
    response = c.post(reverse("mediation:type_new"), {"name": "相邻权纠纷", "position": 5, "active": "on"})
    assert response.status_code == 302
    page = c.get(reverse("mediation:types")).content.decode()
    assert "相邻权纠纷" in page
    response = c.post(reverse("mediation:type_new"), {"name": "邻里纠纷", "position": 5})
    assert "已有同名纠纷类型" in response.content.decode()


def test_statistics_count_and_link_to_the_records(med, client_for, time_machine):
    time_machine.move_to(FRIDAY, tick=False)
    on_duty(med, FRIDAY.date())
    settled = services.record_onsite(new_dispute(med), settled=True, note="和解", by=med.officer_a)
    room = services.record_onsite(new_dispute(med), settled=False, transfer=True, note="x", by=med.officer_a)
    services.conclude_with_agreement(
        room,
        facts="f",
        issues="i",
        responsibilities="r",
        terms=terms(dt.date(2026, 12, 31)),
        signed_on=FRIDAY.date(),
        by=med.mediator_user,
    )
    new_dispute(med)  # still open
    c = client_for(med.director)
    page = c.get(reverse("mediation:stats"), {"start": "2026-11-01", "end": "2026-11-30"}).content.decode()
    assert 'data-testid="total-accepted">3<' in page
    assert 'data-testid="total-settled">2<' in page
    assert 'data-testid="total-rate">67%<' in page
    # The drill-down link lists exactly the settled ones.
    link = (
        reverse("mediation:list") + "?received_from=2026-11-01&amp;received_to=2026-11-30&amp;status=settled"
    )
    assert link in page
    listed = c.get(link.replace("&amp;", "&")).content.decode()
    assert settled.number in listed and room.number in listed
    assert c.get(reverse("mediation:stats"), {"start": "x", "end": "2026-11-30"}).status_code == 200
    assert c.get(reverse("mediation:stats"), {"by": "nope"}).status_code == 200
    for by in ("community", "grid", "officer", "mediator"):
        assert "西福" in c.get(reverse("mediation:stats"), {"by": by}).content.decode() or by in (
            "officer",
            "mediator",
        )


def test_the_home_page_tells_the_director_a_dispute_waits_for_a_mediator(med, client_for, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 28, 20, 0, tzinfo=TZ), tick=False)
    services.record_onsite(new_dispute(med), settled=False, transfer=True, note="x", by=med.officer_a)
    home = client_for(med.director).get(reverse("core:home")).content.decode()
    card = home.split('data-testid="mediation-todo"')[1].split("</a>")[0]
    assert "待分派 1" in card
    officer_home = client_for(med.officer_a).get(reverse("core:home")).content.decode()
    assert "我的在办 1" in officer_home.split('data-testid="mediation-todo"')[1]
    assert (
        'data-testid="mediation-todo"'
        not in client_for(med.leader).get(reverse("core:home")).content.decode()
    )


def test_a_dispute_found_at_an_alarm_is_taken_with_the_alarm_linked(med, client_for):
    from doorstep.alarms.tests.test_dispatch import key_unit, provision, raise_alarm

    device = provision(key_unit(med.grid_a, "西福小学"), "BTN-M-1", med.director)
    alarm = raise_alarm(device)
    c = client_for(med.officer_a)
    form = c.get(reverse("mediation:new"), {"alarm": alarm.pk}).content.decode()
    assert "西福小学" in form and f"#{alarm.pk}" in form
    response = c.post(
        reverse("mediation:new"), _form(community=med.c1.pk, grid=med.grid_a.pk, alarm=alarm.pk)
    )
    assert response.status_code == 302
    d = Dispute.objects.get()
    assert d.alarm == alarm and d.source == "alarm"
    # An alarm outside the territory, or a bad id, is a 404.
    assert client_for(med.director_s2).get(reverse("mediation:new"), {"alarm": alarm.pk}).status_code == 404
    assert c.get(reverse("mediation:new"), {"alarm": "99999999999999999999"}).status_code == 404
