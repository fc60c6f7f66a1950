"""The house panel of the map: territory, masking, concern privacy, visits, query count, private caching.

World (shared fixtures): grid A (officer_a, auxiliary_a) and grid B (officer_b) in station S1 (director),
grid D in station S2 (director_s2); `reg` is a house in grid A with 张三 (head, phone 13800138000), 李四 and
the floating 王五.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from doorstep.accounts.models import User
from doorstep.audit.models import AccessEntry
from doorstep.core.masking import mask_citizen_id, mask_phone
from doorstep.registry import services
from doorstep.registry.choices import PersonCategory
from doorstep.registry.tests.conftest import make_house, new_id, reg  # noqa: F401

LOGIN = "/accounts/login/"


def panel_url(house) -> str:
    return reverse("maps:house_panel", kwargs={"pk": house.pk})


def section(body: str, testid: str) -> str:
    """The HTML from the element marked `data-testid=testid` up to the next marked element."""
    start = body.index(f'data-testid="{testid}"')
    end = body.find(" data-testid=", start + 1)
    return body[start : end if end > 0 else len(body)]


def reasons(body: str) -> list[str]:
    """Every colour reason shown: the house's (list items) and the households' (reason spans)."""
    house = re.findall(r"<li>([^<]*)</li>", section(body, "colour-reasons"))
    households = re.findall(r'<span class="reason">([^<]*)</span>', section(body, "households"))
    return house + households


def test_url_is_under_the_map():
    assert reverse("maps:house_panel", kwargs={"pk": 7}) == "/map/houses/7/panel/"


def test_officer_of_the_grid_sees_the_house_with_masked_residents(reg, world, client_for):  # noqa: F811
    response = client_for(world.officer_a).get(panel_url(reg.house))

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and 'data-testid="house-panel"' in body  # a fragment, not a page
    assert reg.address.full_text in body
    assert "绿色·放心户" in body
    assert reg.house.colour_reasons and all(
        r in section(body, "colour-reasons") for r in reg.house.colour_reasons
    )
    assert "自住" in body and "砖混" in body and "住宅" in body
    for person in (reg.head, reg.spouse, reg.lodger):
        assert person.name in body
        assert person.id_number not in body
        assert mask_citizen_id(person.id_number) in body
    assert "13800138000" not in body and mask_phone("13800138000") in body
    assert "流动人口" in body
    assert f'href="/registry/houses/{reg.house.pk}/"' in body
    assert f'href="/registry/households/{reg.household.pk}/"' in body
    assert not AccessEntry.objects.exists()  # nothing revealed, no person of concern read


@pytest.mark.parametrize(("user", "status"), [("officer_b", 404), ("director_s2", 404), ("director", 200)])
def test_panel_follows_the_territory(reg, world, client_for, user, status):  # noqa: F811
    assert client_for(world.users[user]).get(panel_url(reg.house)).status_code == status


def test_unknown_house_is_404(world, client_for):
    assert client_for(world.officer_a).get("/map/houses/987654321/panel/").status_code == 404


def test_anonymous_is_sent_to_login(reg, client_for):  # noqa: F811
    url = panel_url(reg.house)

    response = client_for(None).get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={url}"


def test_panel_is_never_cached(reg, world, client_for):  # noqa: F811
    response = client_for(world.officer_a).get(panel_url(reg.house))

    assert response["Cache-Control"] == "private, no-store"


def test_auxiliary_sees_a_red_household_without_the_person_of_concern(reg, world, client_for):  # noqa: F811
    concern = services.request_listing(reg.head, concern_type="drugs", reason="吸毒前科", by=world.officer_a)
    services.decide_concern(concern, approve=True, by=world.director)
    reg.household.refresh_from_db()
    assert reg.household.colour_reasons == ["重点人员列管中：张三（涉毒）"]

    body = client_for(world.auxiliary_a).get(panel_url(reg.house)).content.decode()

    assert "红色·重点户" in body
    assert reasons(body) == ["重点因素（详情仅限授权角色查看）"] * 2  # the house's and the household's
    assert "涉毒" not in body and "重点人员列管中" not in body and "吸毒" not in body
    # The officer learns that someone is listed, as on the registry house page, still without a name.
    body = client_for(world.officer_a).get(panel_url(reg.house)).content.decode()
    assert reasons(body) == ["有列管中的重点人员"] * 2
    assert "涉毒" not in body and "吸毒" not in body
    assert not AccessEntry.objects.exists()


def test_last_five_visits_shortened_and_masked(reg, world, client_for):  # noqa: F811
    now = timezone.now()
    for days in range(7, 0, -1):  # the oldest first: the newest is one day ago
        services.record_visit(
            reg.household,
            findings=f"第{days}天前走访，户主电话13800138000，情况正常。" + "邻里关系和睦，" * 10,
            visited_at=now - dt.timedelta(days=days),
            by=world.officer_a,
        )

    body = client_for(world.officer_a).get(panel_url(reg.house)).content.decode()

    visits = section(body, "visits")
    assert [f"第{d}天前走访" in visits for d in range(1, 8)] == [True] * 5 + [False] * 2
    assert "13800138000" not in body and "138****8000" in visits
    assert "情况正常。" in visits and "邻里关系和睦，" * 10 not in body  # shortened
    assert str(world.officer_a) in visits
    assert 'data-testid="overdue"' not in body


def test_overdue_visit_gets_a_badge(reg, world, client_for):  # noqa: F811
    reg.house.refresh_from_db()
    due = reg.house.next_visit_due
    assert due is not None

    with time_machine.travel(dt.datetime.combine(due, dt.time(12)) + dt.timedelta(days=3), tick=False):
        body = client_for(world.officer_a).get(panel_url(reg.house)).content.decode()

    assert 'data-testid="overdue"' in body and "已逾期 3 天" in body


def _count_queries(client_for, user, house) -> int:
    client = client_for(User.objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(panel_url(house))  # each request loads the user and territory afresh
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_residents(reg, world, client_for, django_assert_max_num_queries):  # noqa: F811
    services.record_visit(reg.household, findings="正常", by=world.officer_a)
    few = _count_queries(client_for, world.officer_a, reg.house)

    for n in range(3):
        household = services.create_household(house=reg.house, household_no=f"35050300{n + 2}")
        for relation in ("户主", "配偶", "子女"):
            services.create_person(
                name=f"住户{n}{relation}",
                id_number=new_id(),
                category=PersonCategory.RESIDENT,
                household=household,
                relation_to_head=relation,
                phone=f"1390000{n}{len(relation)}00",
            )
        services.record_visit(household, findings="正常", by=world.auxiliary_a)
    services.create_person(
        name="未入户", id_number=new_id(), category=PersonCategory.RESIDENT, house=reg.house
    )
    many = _count_queries(client_for, world.officer_a, reg.house)

    assert many == few
    client = client_for(world.officer_a)
    with django_assert_max_num_queries(12):
        client.get(panel_url(reg.house))


def test_a_house_without_households_or_people(world, client_for):
    house = make_house(world.grid_a)

    response = client_for(world.officer_a).get(panel_url(house))

    body = response.content.decode()
    assert response.status_code == 200
    assert "尚未建立户。" in body and "本房屋暂无登记人员。" in body and "尚无走访记录。" in body
