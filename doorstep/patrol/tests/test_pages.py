"""Pages: roles and territory, form errors in Chinese, huge ids, phone masking."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from doorstep.accounts.choices import Role
from doorstep.accounts.services import create_user
from doorstep.patrol import meetings, publicity, teams
from doorstep.patrol.choices import MeetingKind, TeamKind, Theme

DAY = dt.date(2026, 1, 5)


@pytest.fixture
def objs(pw):
    team = teams.save_team(
        pw.director, community=pw.c1, name="志愿者队", kind=TeamKind.VOLUNTEER, leader=pw.officer_a.staff
    )
    member = teams.add_member(pw.director, team, name="王五", phone="13912345678", joined_on=DAY)
    meeting = meetings.record_meeting(
        pw.director,
        community=pw.c1,
        kind=MeetingKind.TALK,
        held_on=DAY,
        place="活动室",
        attendance=5,
        officers="刘芳",
    )
    post = publicity.save_post(pw.director, station=pw.s1, theme=Theme.FIRE, title="防火", body="正文")
    zone = teams.save_zone(
        pw.director,
        community=pw.c1,
        name="责任区",
        grids=[pw.grid_a],
        police_team="警务队",
        responsible_officer=pw.officer_a.staff,
        street_cadre="甲",
        community_cadre="乙",
        community_cadre_phone="13987654321",
    )
    return {"team": team, "member": member, "meeting": meeting, "post": post, "zone": zone}


LIST_ROUTES = ["zones", "teams", "meetings", "campaigns", "posts"]


@pytest.mark.parametrize("name", LIST_ROUTES)
def test_lists_render_for_viewers(pw, objs, client_for, name):
    for user in (pw.director, pw.patrol, pw.leader, pw.officer_a):
        assert client_for(user).get(reverse(f"patrol:{name}")).status_code == 200


def test_mediator_gets_404(pw, objs, client_for):
    mediator = create_user(username="med", password="x-Pass-12345", role=Role.MEDIATOR, station=pw.s1)
    c = client_for(mediator)
    for name in LIST_ROUTES:
        assert c.get(reverse(f"patrol:{name}")).status_code == 404
    assert c.get(reverse("patrol:team_detail", args=[objs["team"].pk])).status_code == 404


def test_other_station_director_gets_404_on_s1_objects(pw, objs, client_for):
    c = client_for(pw.director_s2)
    assert c.get(reverse("patrol:team_detail", args=[objs["team"].pk])).status_code == 404
    assert c.get(reverse("patrol:zone_edit", args=[objs["zone"].pk])).status_code == 404
    assert c.get(reverse("patrol:meeting_detail", args=[objs["meeting"].pk])).status_code == 404
    assert (
        c.post(
            reverse("patrol:member_leave", args=[objs["member"].pk]), {"left_on": "2026-01-06"}
        ).status_code
        == 404
    )
    assert (
        c.post(reverse("patrol:post_publish", args=[objs["post"].pk]), {"action": "publish"}).status_code
        == 404
    )


def test_patrol_member_sees_but_cannot_create_teams(pw, objs, client_for):
    c = client_for(pw.patrol)
    assert c.get(reverse("patrol:team_detail", args=[objs["team"].pk])).status_code == 200
    r = c.get(reverse("patrol:team_new"))
    assert r.status_code == 403
    assert "维护巡防队伍" in r.content.decode()
    assert c.post(reverse("patrol:member_new", args=[objs["team"].pk]), {"name": "x"}).status_code == 403
    assert c.get(reverse("patrol:meeting_new")).status_code == 403


def test_huge_ids_are_404(pw, client_for):
    c = client_for(pw.director)
    for name in (
        "team_detail",
        "zone_edit",
        "meeting_detail",
        "campaign_detail",
        "event_detail",
        "post_edit",
    ):
        assert c.get(reverse(f"patrol:{name}", args=[2**70])).status_code == 404


def test_bad_input_gives_chinese_field_errors(pw, objs, client_for):
    c = client_for(pw.director)
    r = c.post(reverse("patrol:team_new"), {"community": pw.c1.pk, "name": "保安队", "kind": "security"})
    assert r.status_code == 200 and "社区民警带队" in r.content.decode()
    r = c.post(
        reverse("patrol:meeting_new"),
        {"community": pw.c1.pk, "kind": "talk", "held_on": "not-a-date", "attendance": "abc"},
    )
    body = r.content.decode()
    assert r.status_code == 200 and "请输入有效的日期" in body and "请输入整数" in body
    r = c.post(
        reverse("patrol:meeting_new"),
        {
            "community": pw.c1.pk,
            "kind": "talk",
            "held_on": "2026-01-02",
            "place": "p",
            "officers": "o",
            "attendance": "0",
        },
    )
    assert r.status_code == 200 and "至少为1人" in r.content.decode()
    r = c.post(reverse("patrol:issue_answer", args=[0]), {})
    assert r.status_code == 404
    r = c.post(reverse("patrol:post_publish", args=[objs["post"].pk]), {"action": "nonsense"})
    assert r.status_code == 302
    r = c.post(reverse("patrol:member_leave", args=[objs["member"].pk]), {"left_on": "2025-01-01"})
    assert r.status_code == 400 and "早于加入日期" in r.content.decode()


def test_event_page_refuses_zero_copies(pw, client_for):
    material = publicity.active_materials().first()
    r = client_for(pw.director).post(
        reverse("patrol:event_new"),
        {
            "community": pw.c1.pk,
            "theme": "fraud",
            "title": "t",
            "place": "p",
            "held_on": "2026-01-02",
            "audience": "10",
            "material_0": material.pk,
            "copies_0": "0",
        },
    )
    assert r.status_code == 200 and "至少为1份" in r.content.decode()


def test_phones_masked_except_for_managers(pw, objs, client_for):
    url = reverse("patrol:team_detail", args=[objs["team"].pk])
    body = client_for(pw.patrol).get(url).content.decode()
    assert "13912345678" not in body and "139****5678" in body
    assert "13912345678" in client_for(pw.director).get(url).content.decode()
    zones = client_for(pw.leader).get(reverse("patrol:zones")).content.decode()
    assert "13987654321" not in zones and "139****4321" in zones


def test_publish_through_the_page(pw, objs, client_for):
    c = client_for(pw.director)
    r = c.post(reverse("patrol:post_publish", args=[objs["post"].pk]), {"action": "publish"})
    assert r.status_code == 302
    objs["post"].refresh_from_db()
    assert objs["post"].status == "published"
    assert (
        client_for(pw.patrol)
        .post(reverse("patrol:post_publish", args=[objs["post"].pk]), {"action": "withdraw"})
        .status_code
        == 403
    )


def test_member_added_through_the_page(pw, objs, client_for):
    c = client_for(pw.officer_a)
    r = c.post(
        reverse("patrol:member_new", args=[objs["team"].pk]),
        {"name": "赵六", "phone": "13800138000", "joined_on": "2026-01-06"},
    )
    assert r.status_code == 302
    assert objs["team"].members.filter(name="赵六").exists()
