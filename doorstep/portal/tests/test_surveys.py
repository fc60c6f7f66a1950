"""Surveys (群众问卷): answering through the public link with a one-time code (SMS outbox), one answer per
phone, the dates and status, wrong and expired codes, rate limits, the phone never stored in clear, the
awareness answers computed server-side, and the staff pages' scoping and roles."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from doorstep.audit.models import AuditEntry
from doorstep.core import sms
from doorstep.core.errors import ServiceError
from doorstep.portal import phones, surveys
from doorstep.portal.choices import SurveyStatus
from doorstep.portal.models import PhoneCode, Survey, SurveyGrid, SurveyResponse

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=TZ)
PHONE = "13912345678"
OTHER = "13787654321"


@pytest.fixture(autouse=True)
def _clean():
    cache.clear()
    sms.outbox.clear()
    yield
    cache.clear()
    sms.outbox.clear()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def survey(world, clock) -> Survey:
    s = surveys.create_survey(
        world.director,
        title="2026年11月群众满意度调查",
        station=world.s1,
        opens_on=dt.date(2026, 11, 20),
        closes_on=dt.date(2026, 11, 30),
        target_per_grid=2,
        grids=[world.grid_a, world.grid_b, world.grid_c],
    )
    return surveys.open_survey(world.director, s)


def link(survey: Survey, grid) -> SurveyGrid:
    return survey.grids.select_related("grid__community__station", "survey").get(grid=grid)


def url(sg: SurveyGrid, name: str = "portal:survey") -> str:
    return reverse(name, kwargs={"token": sg.token})


def ask_code(client, sg: SurveyGrid, phone: str = PHONE):
    return client.post(url(sg, "portal:survey_code"), {"phone": phone})


def last_code() -> str:
    return re.search(r"\d{6}", sms.outbox[-1].text).group(0)


def answers(sg: SurveyGrid, phone: str, code: str, **override) -> dict:
    """A full answer: every awareness question right unless overridden."""
    data = {f"q_{q.key}": q.answer for q in surveys.questions_for(sg)}
    data.update(satisfaction="4", safety="5", comment="希望多巡逻", phone=phone, code=code)
    data.update(override)
    return data


# --- the questions --------------------------------------------------------------------------------------------
def test_questions_carry_the_right_options_among_decoys_and_skip_what_the_grid_lacks(world, survey):
    sg = link(survey, world.grid_a)
    qs = {q.key: q for q in surveys.questions_for(sg)}
    assert set(qs) == {"officer", "phone", "room"}
    assert qs["officer"].answer == "刘芳" and "杨凯" in qs["officer"].options  # another officer as decoy
    assert qs["phone"].answer == "13800001111"
    # Decoy phones are public numbers of the sub-bureau (work phones, police rooms), never made up.
    from doorstep.org.models import PoliceRoom, Staff, Station

    public = (
        set(Staff.objects.values_list("phone", flat=True))
        | set(PoliceRoom.objects.values_list("public_phone", flat=True))
        | set(Station.objects.values_list("phone", flat=True))
    )
    assert set(qs["phone"].options) <= public
    assert qs["room"].answer == "西福社区服务中心" and "仁风社区服务中心" in qs["room"].options
    for q in qs.values():
        assert len(q.options) == 4 and len(set(q.options)) == 4 and q.answer in q.options
        assert q.choices[-1][0] == surveys.UNKNOWN
    # Stable for the link: the same questions every time the page is opened.
    assert surveys.questions_for(sg) == surveys.questions_for(sg)
    # Grid C has no community officer: only the police room is asked.
    assert [q.key for q in surveys.questions_for(link(survey, world.grid_c))] == ["room"]


def test_decoys_are_public_officers_only_and_every_current_officer_is_right(world, survey, client):
    """Names and phones offered are those the officer cards publish: police staff who are not community
    officers, and people who have left, never appear. A grid with two current officers has two right names."""
    from doorstep.conftest import make_staff
    from doorstep.org import services as org
    from doorstep.org.choices import Position, StaffKind
    from doorstep.org.models import Staff

    detective = make_staff(world.sub_bureau, world.s1, StaffKind.POLICE, name="刑侦甲")
    Staff.objects.filter(pk=detective.pk).update(phone="13700009990")
    gone = make_staff(world.sub_bureau, world.s1, StaffKind.POLICE, name="离职乙")
    org.assign_to_grid(
        grid=world.grid_c,
        staff=gone,
        position=Position.OFFICER,
        started_on=dt.date(2026, 1, 1),
        by=world.admin,
    )
    Staff.objects.filter(pk=gone.pk).update(active=False, phone="13700009991")
    second = make_staff(world.sub_bureau, world.s1, StaffKind.POLICE, name="郑新")
    org.assign_to_grid(
        grid=world.grid_a,
        staff=second,
        position=Position.OFFICER,
        started_on=dt.date(2026, 1, 1),
        by=world.admin,
    )
    sg = link(survey, world.grid_a)
    page = client.get(url(sg)).content.decode()
    for hidden in ("刑侦甲", "13700009990", "离职乙", "13700009991"):
        assert hidden not in page, hidden
    q = {q.key: q for q in surveys.questions_for(sg)}["officer"]
    assert {"刘芳", "郑新"} <= set(q.options) and q.is_right("刘芳") and q.is_right("郑新")
    ask_code(client, sg)
    client.post(url(sg), answers(sg, PHONE, last_code(), q_officer="郑新"))
    assert SurveyResponse.objects.get().knows_officer is True


def test_the_right_option_is_not_given_away_by_its_position(world):
    positions = {
        surveys._options(
            f"token-{i}", "officer", ["刘芳"], ["杨凯", "黄明", "林梅", "蔡文"], ()
        ).options.index("刘芳")
        for i in range(40)
    }
    assert len(positions) >= 3


def test_unknown_token_is_a_chinese_404(world, client):
    response = client.get(reverse("portal:survey", kwargs={"token": "nope"}))
    assert response.status_code == 404 and "问卷链接无效" in response.content.decode()
    assert (
        client.post(reverse("portal:survey_code", kwargs={"token": "x" * 40}), {"phone": PHONE}).status_code
        == 404
    )


# --- answering ------------------------------------------------------------------------------------------------
def test_answer_end_to_end_with_the_sms_code(world, survey, client):
    sg = link(survey, world.grid_a)
    page = client.get(url(sg))
    assert page.status_code == 200
    html = page.content.decode()
    assert "刘芳" in html and "不知道" in html and "获取验证码" in html
    assert "style=" not in html and "<style" not in html and "onclick" not in html

    response = ask_code(client, sg)
    assert response.status_code == 200 and response.json()["ok"] is True
    assert len(sms.outbox) == 1 and sms.outbox[0].phone == PHONE
    qs = {q.key: q for q in surveys.questions_for(sg)}
    decoy_phone = next(o for o in qs["phone"].options if o != qs["phone"].answer)
    response = client.post(
        url(sg), answers(sg, PHONE, last_code(), q_phone=decoy_phone, q_room=surveys.UNKNOWN)
    )
    assert response.status_code == 302 and response["Location"] == url(sg, "portal:survey_thanks")
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200 and PHONE not in thanks.content.decode()

    row = SurveyResponse.objects.get()
    assert (row.survey, row.grid) == (survey, world.grid_a)
    assert (row.knows_officer, row.knows_phone, row.knows_room) == (True, False, False)
    assert (row.satisfaction, row.safety, row.comment) == (4, 5, "希望多巡逻")
    assert row.phone_hash == phones.phone_hash(PHONE)
    assert row.submitted_at == NOW
    assert AuditEntry.objects.filter(action="portal.survey_response", object_id=str(row.pk)).exists()


def test_without_javascript_the_code_button_posts_the_form_and_keeps_the_answers(world, survey, client):
    sg = link(survey, world.grid_a)
    data = answers(sg, PHONE, "", satisfaction="2")
    data["send_code"] = "1"
    page = client.post(url(sg), data)
    assert page.status_code == 200 and len(sms.outbox) == 1
    html = page.content.decode()
    assert "验证码已发送" in html
    assert re.search(r'value="2"[^>]*checked', html)  # the rating chosen is still chosen
    assert not SurveyResponse.objects.exists()
    assert client.post(url(sg), answers(sg, PHONE, last_code())).status_code == 302


@override_settings(PORTAL_RATE_LIMITS="code_phone=20/600")
def test_one_answer_per_phone_per_survey(world, survey, client):
    sg = link(survey, world.grid_a)
    ask_code(client, sg)
    first = last_code()
    ask_code(client, sg)  # a second code: the first stops working
    second = last_code()
    assert client.post(url(sg), answers(sg, PHONE, first)).status_code == 200
    assert client.post(url(sg), answers(sg, PHONE, second)).status_code == 302
    assert SurveyResponse.objects.count() == 1

    # The same phone asks again: told so, nothing sent; through another grid of the same survey too.
    outbox = len(sms.outbox)
    for other_grid in (world.grid_a, world.grid_b):
        response = ask_code(client, link(survey, other_grid))
        assert response.status_code == 409 and not response.json()["ok"]
        assert "已参加过" in response.json()["detail"]
    assert len(sms.outbox) == outbox
    # Even with a fresh code (sent before the first answer landed) the second answer is refused.
    phones.send_code(PHONE, "survey", scope=sg.token)
    page = client.post(url(sg), answers(sg, PHONE, last_code()))
    assert page.status_code == 200 and "已参加过" in page.content.decode()
    assert SurveyResponse.objects.count() == 1

    # Another phone may answer.
    ask_code(client, sg, OTHER)
    assert client.post(url(sg), answers(sg, OTHER, last_code())).status_code == 302
    assert SurveyResponse.objects.count() == 2


def test_a_race_on_the_unique_constraint_gives_the_same_message(world, survey, monkeypatch):
    sg = link(survey, world.grid_a)
    SurveyResponse.objects.create(
        survey=survey, grid=world.grid_a, phone_hash=phones.phone_hash(PHONE), submitted_at=NOW
    )
    phones.send_code(PHONE, "survey", scope=sg.token)
    monkeypatch.setattr(surveys, "has_answered", lambda *a: False)  # the check passed before the other commit
    with pytest.raises(ServiceError, match="已参加过"):
        surveys.submit_response(sg, phone=PHONE, code=last_code(), answers=surveys.Answers(satisfaction=5))
    assert SurveyResponse.objects.count() == 1


@pytest.mark.parametrize(
    ("moment", "status"),
    [
        (dt.datetime(2026, 11, 19, 23, 59, tzinfo=TZ), SurveyStatus.OPEN),  # before opens_on
        (dt.datetime(2026, 12, 1, 0, 0, tzinfo=TZ), SurveyStatus.OPEN),  # after closes_on
        (NOW, SurveyStatus.CLOSED),
        (NOW, SurveyStatus.DRAFT),
    ],
)
def test_closed_surveys_take_no_answers_and_send_no_codes(world, survey, client, clock, moment, status):
    sg = link(survey, world.grid_a)
    Survey.objects.filter(pk=survey.pk).update(status=status)
    phones.send_code(PHONE, "survey", scope=sg.token)
    code = last_code()
    sms.outbox.clear()
    clock.move_to(moment)
    page = client.get(url(sg))
    assert page.status_code == 200 and "不在作答时间内" in page.content.decode()
    assert 'name="code"' not in page.content.decode()
    assert ask_code(client, sg).status_code == 400 and not sms.outbox
    client.post(url(sg), answers(sg, PHONE, code))
    assert not SurveyResponse.objects.exists()


def test_open_on_the_first_and_the_last_day(world, survey, client, clock):
    sg = link(survey, world.grid_a)
    for moment in (dt.datetime(2026, 11, 20, 0, 0, tzinfo=TZ), dt.datetime(2026, 11, 30, 23, 59, tzinfo=TZ)):
        clock.move_to(moment)
        assert 'name="code"' in client.get(url(sg)).content.decode()


def test_wrong_code_is_refused_and_nothing_saved(world, survey, client):
    sg = link(survey, world.grid_a)
    ask_code(client, sg)
    right = last_code()
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    page = client.post(url(sg), answers(sg, PHONE, wrong))
    assert page.status_code == 200 and "验证码错误" in page.content.decode()
    assert not SurveyResponse.objects.exists()
    assert client.post(url(sg), answers(sg, PHONE, "12ab56")).status_code == 200
    assert not SurveyResponse.objects.exists()


def test_expired_code_is_refused(world, survey, client, clock):
    sg = link(survey, world.grid_a)
    ask_code(client, sg)
    code = last_code()
    clock.shift(dt.timedelta(minutes=phones.CODE_MINUTES, seconds=1))
    page = client.post(url(sg), answers(sg, PHONE, code))
    assert page.status_code == 200 and "验证码错误或已失效" in page.content.decode()
    assert not SurveyResponse.objects.exists()


def test_a_made_up_option_is_refused_and_counts_as_not_known_in_the_service(world, survey, client):
    sg = link(survey, world.grid_a)
    ask_code(client, sg)
    code = last_code()
    page = client.post(url(sg), answers(sg, PHONE, code, q_officer="我自己"))
    assert page.status_code == 200 and "请选择页面上的选项" in page.content.decode()
    assert not SurveyResponse.objects.exists()
    # The service decides correctness itself: a value that is not the right option is not known.
    row = surveys.submit_response(
        sg,
        phone=PHONE,
        code=code,
        answers=surveys.Answers(choices={"officer": "我自己", "phone": "13800001111", "room": ""}),
    )
    assert (row.knows_officer, row.knows_phone, row.knows_room) == (False, True, False)
    assert row.answers["chosen"]["officer"] == ""


def test_grid_without_officer_never_counts_as_knowing_the_officer(world, survey, client):
    sg = link(survey, world.grid_c)
    phones.send_code(PHONE, "survey", scope=sg.token)
    row = surveys.submit_response(
        sg,
        phone=PHONE,
        code=last_code(),
        answers=surveys.Answers(choices={"officer": "刘芳"}, satisfaction=3),
    )
    assert not row.knows_officer and not row.aware


def test_a_code_is_bound_to_its_link(world, survey, client):
    a, b = link(survey, world.grid_a), link(survey, world.grid_b)
    ask_code(client, a)
    page = client.post(url(b), answers(b, PHONE, last_code()))
    assert "验证码错误" in page.content.decode() and not SurveyResponse.objects.exists()


# --- rate limits ----------------------------------------------------------------------------------------------
@override_settings(PORTAL_RATE_LIMITS="code_phone=2/600")
def test_codes_per_phone_are_limited(world, survey, client):
    sg = link(survey, world.grid_a)
    assert ask_code(client, sg).status_code == 200
    assert ask_code(client, sg).status_code == 200
    response = ask_code(client, sg)
    assert response.status_code == 429 and "过于频繁" in response.json()["detail"]
    assert len(sms.outbox) == 2
    assert ask_code(client, sg, OTHER).status_code == 200


@override_settings(PORTAL_RATE_LIMITS="code_ip=1/3600")
def test_codes_per_address_are_limited_also_without_javascript(world, survey, client):
    sg = link(survey, world.grid_a)
    assert ask_code(client, sg).status_code == 200
    page = client.post(url(sg), {"phone": OTHER, "send_code": "1"})
    assert page.status_code == 429 and "过于频繁" in page.content.decode()
    assert len(sms.outbox) == 1


@override_settings(PORTAL_RATE_LIMITS="survey_ip=2/3600")
def test_answers_per_address_are_limited(world, survey, client):
    sg = link(survey, world.grid_a)
    client.post(url(sg), answers(sg, PHONE, "000000"))
    client.post(url(sg), answers(sg, PHONE, "000000"))
    ask_code(client, sg, OTHER)
    page = client.post(url(sg), answers(sg, OTHER, last_code()))
    assert page.status_code == 429 and "过于频繁" in page.content.decode()
    assert not SurveyResponse.objects.exists()


# --- privacy --------------------------------------------------------------------------------------------------
def test_the_phone_is_never_stored_in_clear(world, survey, client):
    sg = link(survey, world.grid_a)
    ask_code(client, sg)
    client.post(url(sg), answers(sg, PHONE, last_code()))
    assert SurveyResponse.objects.count() == 1 and PhoneCode.objects.count() == 1
    for model in (SurveyResponse, PhoneCode, AuditEntry):
        for row in model.objects.values():
            assert PHONE not in repr(row), model
    digest = phones.phone_hash(PHONE)
    for row in AuditEntry.objects.filter(action="portal.survey_response").values("after", "before"):
        assert digest not in repr(row)


# --- staff ----------------------------------------------------------------------------------------------------
def test_director_creates_opens_and_closes_a_survey_through_the_pages(world, client_for, clock):
    c = client_for(world.director)
    assert c.get(reverse("online:survey_new")).status_code == 200
    data = {
        "title": "西福社区问卷",
        "station": world.s1.pk,
        "opens_on": "2026-11-28",
        "closes_on": "2026-12-10",
        "target_per_grid": "30",
        "grids": [world.grid_a.pk, world.grid_b.pk],
    }
    response = c.post(reverse("online:survey_new"), data)
    assert response.status_code == 302
    s = Survey.objects.get()
    assert s.status == SurveyStatus.DRAFT and s.station == world.s1
    tokens = list(s.grids.values_list("token", flat=True))
    assert len(tokens) == 2 and all(len(t) >= 20 for t in tokens) and len(set(tokens)) == 2
    assert c.post(reverse("online:survey_open", kwargs={"pk": s.pk})).status_code == 302
    s.refresh_from_db()
    assert s.status == SurveyStatus.OPEN
    detail = c.get(reverse("online:survey_detail", kwargs={"pk": s.pk}))
    html = detail.content.decode()
    assert detail.status_code == 200 and "<svg" in html
    assert f"http://testserver/portal/s/{tokens[0]}/" in html
    pdf = c.get(reverse("online:survey_qr_pdf", kwargs={"pk": s.pk}))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content[:4] == b"%PDF"
    assert c.post(reverse("online:survey_close", kwargs={"pk": s.pk})).status_code == 302
    s.refresh_from_db()
    assert s.status == SurveyStatus.CLOSED
    assert AuditEntry.objects.filter(object_id=str(s.pk), action__startswith="portal.survey_").count() == 3


def test_director_cannot_reach_outside_their_station(world, client_for, clock):
    c = client_for(world.director)
    base = {"title": "x", "opens_on": "2026-11-28", "closes_on": "2026-12-10", "target_per_grid": "30"}
    # Another station's grid, or a sub-bureau-wide survey, is refused.
    assert (
        c.post(
            reverse("online:survey_new"), {**base, "station": world.s1.pk, "grids": [world.grid_d.pk]}
        ).status_code
        == 200
    )
    assert (
        c.post(reverse("online:survey_new"), {**base, "station": "", "grids": [world.grid_a.pk]}).status_code
        == 200
    )
    assert (
        c.post(
            reverse("online:survey_new"), {**base, "station": world.s2.pk, "grids": [world.grid_a.pk]}
        ).status_code
        == 200
    )
    assert not Survey.objects.exists()
    with pytest.raises(ServiceError):
        surveys.create_survey(
            world.director,
            title="x",
            station=world.s1,
            opens_on=dt.date(2026, 11, 28),
            closes_on=dt.date(2026, 12, 1),
            target_per_grid=5,
            grids=[world.grid_d],
        )


def test_scoping_of_the_staff_pages(world, survey, client_for):
    detail = reverse("online:survey_detail", kwargs={"pk": survey.pk})
    # The director of S2 does not see an S1 survey at all.
    s2 = client_for(world.director_s2)
    assert s2.get(detail).status_code == 404
    assert s2.post(reverse("online:survey_close", kwargs={"pk": survey.pk})).status_code == 404
    assert s2.get(reverse("online:survey_qr_pdf", kwargs={"pk": survey.pk})).status_code == 404
    assert survey.title not in s2.get(reverse("online:surveys")).content.decode()
    # An officer sees the survey and only their grid's row, and may not create or run surveys.
    officer = client_for(world.officer_a)
    page = officer.get(detail)
    assert page.status_code == 200
    html = page.content.decode()
    assert world.grid_a.name in html and world.grid_b.name not in html
    assert officer.get(reverse("online:survey_new")).status_code == 403
    assert officer.post(reverse("online:survey_close", kwargs={"pk": survey.pk})).status_code == 403
    assert officer.get(reverse("online:survey_edit", kwargs={"pk": survey.pk})).status_code == 403
    assert survey.title in officer.get(reverse("online:surveys")).content.decode()
    # Roles without surveys: 404; anonymous: the login page.
    assert client_for(world.patrol).get(detail).status_code == 404
    assert client_for(None).get(reverse("online:surveys")).status_code == 302
    # Leaders see it; a leader may manage station and sub-bureau surveys.
    assert client_for(world.leader).get(detail).status_code == 200


def test_editing_keeps_links_and_refuses_to_drop_grids_with_answers(world, survey, clock):
    token_a = link(survey, world.grid_a).token
    SurveyResponse.objects.create(
        survey=survey, grid=world.grid_b, phone_hash="x" * 64, submitted_at=NOW, satisfaction=5
    )
    kwargs = dict(
        title="改名",
        station=world.s1,
        opens_on=survey.opens_on,
        closes_on=survey.closes_on,
        target_per_grid=10,
    )
    with pytest.raises(ServiceError, match="已有答卷的网格"):
        surveys.update_survey(world.director, survey, grids=[world.grid_a], **kwargs)
    surveys.update_survey(world.director, survey, grids=[world.grid_a, world.grid_b], **kwargs)
    survey.refresh_from_db()
    assert survey.title == "改名" and link(survey, world.grid_a).token == token_a
    assert not survey.grids.filter(grid=world.grid_c).exists()


def test_responses_list_filters_and_never_shows_the_phone_hash(world, survey, client_for):
    digest = phones.phone_hash(PHONE)
    SurveyResponse.objects.create(
        survey=survey,
        grid=world.grid_a,
        phone_hash=digest,
        submitted_at=NOW,
        satisfaction=5,
        comment="甲网格意见",
    )
    SurveyResponse.objects.create(
        survey=survey,
        grid=world.grid_b,
        phone_hash="b" * 64,
        submitted_at=NOW - dt.timedelta(days=5),
        satisfaction=1,
        comment="乙网格意见",
    )
    path = reverse("online:survey_responses")
    c = client_for(world.director)
    html = c.get(path).content.decode()
    assert "甲网格意见" in html and "乙网格意见" in html and digest not in html and "b" * 64 not in html
    html = c.get(path, {"grid": [world.grid_a.pk, world.grid_c.pk]}).content.decode()
    assert "甲网格意见" in html and "乙网格意见" not in html
    html = c.get(path, {"date_from": "2026-11-20", "date_to": "2026-11-23"}).content.decode()
    assert "甲网格意见" not in html and "乙网格意见" in html
    html = c.get(path, {"community": world.c2.pk}).content.decode()
    assert "甲网格意见" not in html and "乙网格意见" not in html
    # Bad ids never give a 500.
    assert c.get(path, {"grid": ["²", "9" * 30]}).status_code == 200
    assert c.get(path, {"station": "9" * 30}).status_code == 200
    # Outside the territory: nothing.
    assert "甲网格意见" not in client_for(world.director_s2).get(path).content.decode()
    officer_b = client_for(world.officer_b).get(path).content.decode()
    assert "乙网格意见" in officer_b and "甲网格意见" not in officer_b


def test_leader_may_run_a_sub_bureau_survey_a_director_may_not(world, client_for, clock):
    html = client_for(world.director).get(reverse("online:survey_new")).content.decode()
    assert '<option value="">' not in html and "仁风第1网格" not in html  # own station only, no 全分局
    c = client_for(world.leader)
    assert '<option value="" selected>' in c.get(reverse("online:survey_new")).content.decode()
    data = {
        "title": "全分局问卷",
        "station": "",
        "opens_on": "2026-11-28",
        "closes_on": "2026-12-10",
        "target_per_grid": "30",
        "grids": [world.grid_a.pk, world.grid_d.pk],
    }
    assert c.post(reverse("online:survey_new"), data).status_code == 302
    s = Survey.objects.get()
    assert s.station is None and s.grids.count() == 2
    # The S1 director sees it (a grid of theirs is sampled) but may not run it.
    director = client_for(world.director)
    page = director.get(reverse("online:survey_detail", kwargs={"pk": s.pk})).content.decode()
    assert world.grid_a.name in page and world.grid_d.name not in page
    assert director.post(reverse("online:survey_open", kwargs={"pk": s.pk})).status_code == 403
    s.refresh_from_db()
    assert s.status == SurveyStatus.DRAFT


def test_responses_pager_keeps_every_grid_of_the_filter(world, survey, client_for, monkeypatch):
    from doorstep.portal import survey_pages

    monkeypatch.setattr(survey_pages, "PER_PAGE", 2)
    for i, grid in enumerate([world.grid_a, world.grid_a, world.grid_b, world.grid_c]):
        SurveyResponse.objects.create(
            survey=survey, grid=grid, phone_hash=f"{i:064d}", submitted_at=NOW, comment=f"意见{i}"
        )
    c = client_for(world.director)
    page = c.get(reverse("online:survey_responses"), {"grid": [world.grid_a.pk, world.grid_b.pk]})
    assert page.context["total"].responses == 3
    nxt = re.search(r'href="(\?[^"]+)" data-testid="next-page"', page.content.decode()).group(1)
    page2 = c.get(reverse("online:survey_responses") + nxt.replace("&amp;", "&"))
    html = page2.content.decode()
    assert page2.context["total"].responses == 3 and "意见3" not in html


@pytest.mark.parametrize("params", [{"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}, {"station": "²"}])
def test_the_responses_list_refuses_impossible_filters_without_a_500(world, survey, client_for, params):
    response = client_for(world.leader).get("/online/surveys/responses/", params)
    assert response.status_code == 200
