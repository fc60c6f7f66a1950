"""Leader links and weekly inspections: the 1–2 station rule with history, the weeks-without-inspection flags
(frozen clock), inspections and follow-ups by role, Chinese errors and 404s."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from doorstep.accounts.choices import Role
from doorstep.accounts.services import create_user
from doorstep.conftest import PASSWORD
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.evaluation import links
from doorstep.evaluation.models_links import FollowUp, Inspection, LeaderLink
from doorstep.org import services as org

NOW = dt.datetime(2026, 11, 28, 10, 0)  # a Saturday; week 48 is 11-23 … 11-29
START = dt.date(2026, 9, 1)


@pytest.fixture
def s3(world):
    return org.create_station(sub_bureau=world.sub_bureau, name="江南派出所", code="350503030000")


def linked(world, leader=None, stations=None, started_on=START):
    return links.link_leader(
        leader=leader or world.leader,
        stations=stations or [world.s1],
        started_on=started_on,
        by=world.evaluator,
    )


# --- link rules ----------------------------------------------------------------------------------------------
def test_leader_links_one_or_two_stations_and_refuses_a_third(world, s3):
    assert len(linked(world, stations=[world.s1, world.s2])) == 2
    with pytest.raises(RuleViolation, match="最多挂点2个"):
        linked(world, stations=[s3])
    with pytest.raises(ServiceError, match="至少选择一个"):
        links.link_leader(leader=world.leader, stations=[], started_on=START, by=world.evaluator)


def test_ending_a_link_keeps_history_and_frees_a_place(world, s3):
    first, _second = linked(world, stations=[world.s1, world.s2])
    links.end_link(first, ended_on=dt.date(2026, 10, 1), by=world.evaluator)
    linked(world, stations=[s3], started_on=dt.date(2026, 10, 1))
    assert LeaderLink.objects.filter(leader=world.leader).count() == 3
    assert set(links.linked_stations(world.leader, dt.date(2026, 9, 15))) == {world.s1, world.s2}
    assert set(links.linked_stations(world.leader, dt.date(2026, 10, 15))) == {world.s2, s3}
    with pytest.raises(RuleViolation, match="已经结束"):
        links.end_link(first, ended_on=dt.date(2026, 10, 2), by=world.evaluator)


def test_only_leaders_are_linked_and_only_the_office_links(world):
    with pytest.raises(ServiceError, match="分局领导"):
        linked(world, leader=world.director)
    with pytest.raises(NotAllowed):
        links.link_leader(leader=world.leader, stations=[world.s1], started_on=START, by=world.leader)


def test_department_has_one_station_at_a_time(world):
    link = links.link_department(department="治安大队", station=world.s1, started_on=START, by=world.admin)
    with pytest.raises(RuleViolation, match="请先结束"):
        links.link_department(department="治安大队", station=world.s2, started_on=START, by=world.admin)
    links.end_link(link, ended_on=dt.date(2026, 10, 1), by=world.admin)
    links.link_department(
        department="治安大队", station=world.s2, started_on=dt.date(2026, 10, 1), by=world.admin
    )


def test_link_pages_by_role(world, client_for):
    assert client_for(world.leader).get(reverse("evaluation:links")).status_code == 200
    assert client_for(world.officer_a).get(reverse("evaluation:links")).status_code == 404
    assert client_for(world.leader).get(reverse("evaluation:link_new")).status_code == 403
    c = client_for(world.evaluator)
    r = c.post(reverse("evaluation:link_new"), {"kind": "leader", "started_on": "2026-09-01"})
    assert r.status_code == 400
    assert "请选择挂点领导" in r.content.decode() and "请至少选择一个挂点派出所" in r.content.decode()
    r = c.post(
        reverse("evaluation:link_new"),
        {"kind": "leader", "leader": world.leader.pk, "stations": [world.s1.pk], "started_on": "2026-09-01"},
    )
    assert r.status_code == 302
    link = LeaderLink.objects.get()
    r = c.post(reverse("evaluation:link_end", args=["leader", link.pk]), {"ended_on": "2026-10-01"})
    assert r.status_code == 302
    link.refresh_from_db()
    assert link.ended_on == dt.date(2026, 10, 1)
    assert c.post(reverse("evaluation:link_end", args=["leader", 2**63 + 5])).status_code == 404
    assert c.post(reverse("evaluation:link_end", args=["nope", link.pk])).status_code == 404


# --- weeks table ---------------------------------------------------------------------------------------------
def test_weeks_without_inspection_are_flagged(world):
    with time_machine.travel(NOW, tick=False):
        linked(world, stations=[world.s1])
        # Inspected in week 47 (11-16 … 11-22) and week 45; another leader's visit does not count.
        links.record_inspection(
            station=world.s1, inspected_on=dt.date(2026, 11, 18), findings="台账齐全", by=world.leader
        )
        links.record_inspection(
            station=world.s1, inspected_on=dt.date(2026, 11, 3), findings="检查警务室", by=world.leader
        )
        other = create_user(
            username="leader2", password=PASSWORD, role=Role.LEADER, sub_bureau=world.sub_bureau
        )
        with pytest.raises(ServiceError, match="未挂点"):
            links.record_inspection(
                station=world.s1, inspected_on=dt.date(2026, 11, 10), findings="x", by=other
            )
        weeks, rows = links.weeks_table([world.s1, world.s2], dt.date(2026, 11, 28))
    assert len(weeks) == 8 and weeks[-1].start == dt.date(2026, 11, 23)
    s1 = [c.state for c in rows[0].cells]
    # weeks 41 … 48: 45 (11-02) and 47 (11-16) inspected; 48 is the current week.
    assert s1 == ["missing", "missing", "missing", "missing", "ok", "missing", "ok", "pending"]
    assert rows[0].flags == 5
    assert all(c.state == "unlinked" for c in rows[1].cells)


def test_weeks_before_the_link_are_not_flagged(world):
    with time_machine.travel(NOW, tick=False):
        linked(world, stations=[world.s1], started_on=dt.date(2026, 11, 10))
        _weeks, rows = links.weeks_table([world.s1], dt.date(2026, 11, 28))
    assert [c.state for c in rows[0].cells][-4:] == ["unlinked", "missing", "missing", "pending"]


def test_inspection_page_shows_the_flags(world, client_for):
    with time_machine.travel(NOW, tick=False):
        linked(world, stations=[world.s1])
        html = client_for(world.director).get(reverse("evaluation:inspections")).content.decode()
        assert 'data-testid="week-flag"' in html and "城东派出所" in html and "清源派出所" not in html


# --- inspections and follow-ups ------------------------------------------------------------------------------
def test_leader_records_inspection_with_follow_ups(world, client_for):
    with time_machine.travel(NOW, tick=False):
        linked(world, stations=[world.s1])
        c = client_for(world.leader)
        r = c.post(
            reverse("evaluation:inspection_new"),
            {
                "station": world.s1.pk,
                "inspected_on": "2026-11-27",
                "findings": "警务室值守正常",
                "action_0": "补齐走访台账",
                "owner_0": "刘芳",
            },
        )
        assert r.status_code == 302, r.content.decode()
        inspection = Inspection.objects.get()
        assert inspection.inspector == world.leader
        item = FollowUp.objects.get()
        detail = reverse("evaluation:inspection_detail", args=[inspection.pk])
        assert "补齐走访台账" in client_for(world.director).get(detail).content.decode()
        assert client_for(world.director_s2).get(detail).status_code == 404
        assert client_for(world.officer_a).get(detail).status_code == 404
        assert c.get(reverse("evaluation:inspection_detail", args=[2**63])).status_code == 404
        # Another station's director may not confirm; this station's may.
        assert (
            client_for(world.director_s2)
            .post(reverse("evaluation:followup_done", args=[item.pk]))
            .status_code
            == 404
        )
        r = client_for(world.director).post(
            reverse("evaluation:followup_done", args=[item.pk]), {"done_on": "2026-11-28"}
        )
        assert r.status_code == 302
        item.refresh_from_db()
        assert item.done_on == dt.date(2026, 11, 28) and item.done_by == world.director
        with pytest.raises(RuleViolation, match="已完成"):
            links.mark_follow_up_done(item, by=world.evaluator)


def test_inspection_errors_are_chinese(world, client_for):
    with time_machine.travel(NOW, tick=False):
        linked(world, stations=[world.s1])
        c = client_for(world.leader)
        r = c.post(
            reverse("evaluation:inspection_new"),
            {"station": world.s1.pk, "inspected_on": "2026-12-05", "findings": "x"},
        )
        assert r.status_code == 400 and "检查日期不能晚于今天" in r.content.decode()
        r = c.post(
            reverse("evaluation:inspection_new"),
            {"station": world.s1.pk, "inspected_on": "2026-11-20", "findings": "x", "action_0": "整改"},
        )
        assert r.status_code == 400 and "整改事项和责任人都要填写" in r.content.decode()
        assert Inspection.objects.count() == 0
        r = c.post(
            reverse("evaluation:inspection_new"),
            {"station": world.s1.pk, "inspected_on": "2026-08-20", "findings": "x"},
        )
        assert "检查当日您未挂点该派出所" in r.content.decode()
        assert client_for(world.evaluator).get(reverse("evaluation:inspection_new")).status_code == 403
        assert client_for(world.director).get(reverse("evaluation:inspection_new")).status_code == 403


def test_the_date_boxes_show_today_in_the_form_a_date_box_reads(world, client_for):
    """<input type=date> reads only YYYY-MM-DD: Django's Chinese format (2026/11/29) left the box empty, and
    saving the form as shown was refused for a missing date."""
    import re

    from django.utils import timezone

    body = client_for(world.evaluator).get(reverse("evaluation:link_new")).content.decode()
    today = timezone.localdate().isoformat()
    assert re.search(rf'type="date"[^>]*value="{today}"|value="{today}"[^>]*type="date"', body)
