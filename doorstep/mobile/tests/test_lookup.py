"""`POST /m/api/lookup` and `POST /m/api/persons/<id>/phone`: lookup within the grid, masked and audited,
and the audited reveal of a phone to call it."""

from __future__ import annotations

import json

import pytest

from doorstep.audit.models import AccessEntry, AccessKind
from doorstep.registry import services as registry_services
from doorstep.registry.choices import PersonCategory
from doorstep.registry.tests.conftest import make_house, new_id

LOOKUP = "/m/api/lookup"
PHONE = "13812345678"


def phone_url(pk: int) -> str:
    return f"/m/api/persons/{pk}/phone"


def post(client, url: str, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def residents(world):
    """张建华 (head, with a phone) and 张小红 (no phone) in grid A; 张德明 in grid D of station S2."""
    house = make_house(world.grid_a)
    household = registry_services.create_household(house=house, household_no="350503101")
    head = registry_services.create_person(
        name="张建华",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=household,
        relation_to_head="户主",
        phone=PHONE,
    )
    child = registry_services.create_person(
        name="张小红",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=household,
        relation_to_head="子女",
    )
    other_house = make_house(world.grid_d)
    other = registry_services.create_person(
        name="张德明",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=registry_services.create_household(house=other_house),
        relation_to_head="户主",
        phone="13900139000",
    )
    return house, household, head, child, other


# --- lookup --------------------------------------------------------------------------------------------------
def test_lookup_by_name_finds_only_my_territory_masked(world, residents, client_for):
    house, household, head, child, other = residents

    response = post(client_for(world.officer_a), LOOKUP, {"q": "张"})
    assert response.status_code == 400 and response.json()["detail"]  # one character is too short

    response = post(client_for(world.officer_a), LOOKUP, {"q": "张建"})

    assert response.status_code == 200 and response["Cache-Control"].startswith("no-store")
    persons = response.json()["persons"]
    assert [p["id"] for p in persons] == [head.pk]
    person = persons[0]
    assert person["name"] == "张建华"
    assert person["id_number"] == head.id_number[:6] + "********" + head.id_number[-4:]
    assert person["phone"] == "138****5678" and PHONE not in response.content.decode()
    assert head.id_number not in response.content.decode()
    assert person["household"]["id"] == household.pk and person["household"]["label"].endswith("张**")
    assert person["can_call"] is True and person["has_phone"] is True
    assert person["url"] == f"/registry/persons/{head.pk}/"
    assert "张德明" not in response.content.decode()  # another station's resident


def test_lookup_by_full_id_number_and_last_digits_and_address(world, residents, client_for):
    house, household, head, child, other = residents
    client = client_for(world.officer_a)

    assert [p["id"] for p in post(client, LOOKUP, {"q": head.id_number}).json()["persons"]] == [head.pk]
    assert [p["id"] for p in post(client, LOOKUP, {"q": PHONE}).json()["persons"]] == [head.pk]
    assert post(client, LOOKUP, {"q": other.id_number}).json() == {"houses": [], "persons": []}
    found = post(client, LOOKUP, {"q": house.address.full_text}).json()
    assert [h["id"] for h in found["houses"]] == [house.pk]
    assert found["houses"][0]["households"][0]["id"] == household.pk
    assert found["houses"][0]["colour"] in {"red", "yellow", "green"}


def test_every_lookup_is_in_the_access_log_without_the_query(world, residents, client_for):
    house, household, head, child, other = residents
    post(client_for(world.officer_a), LOOKUP, {"q": head.id_number})

    entry = AccessEntry.objects.get(actor_id=world.officer_a.pk, kind=AccessKind.READ)
    assert entry.object_type == "registry.person" and entry.object_ids == [str(head.pk)]
    assert entry.purpose == "移动工作台查询" and head.id_number not in json.dumps(entry.fields)


def test_an_auxiliary_sees_masked_values_and_may_not_call(world, residents, client_for):
    house, household, head, child, other = residents
    person = post(client_for(world.auxiliary_a), LOOKUP, {"q": "张建华"}).json()["persons"][0]
    assert person["phone"] == "138****5678" and person["can_call"] is False


@pytest.mark.parametrize("body", [{}, {"q": ""}, {"q": " "}, {"q": 12345}, {"q": ["张三"]}])
def test_a_missing_or_short_query_is_a_400_with_detail(world, client_for, body):
    response = post(client_for(world.officer_a), LOOKUP, body)
    assert response.status_code == 400 and response.json()["detail"]


def test_lookup_is_post_only_and_for_the_grid_team(world, client, client_for):
    assert client_for(world.officer_a).get(LOOKUP + "?q=张建华").status_code == 405
    anonymous = post(client, LOOKUP, {"q": "张建华"})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "login"
    for who in ("dispatcher", "leader", "patrol"):
        response = post(client_for(getattr(world, who)), LOOKUP, {"q": "张建华"})
        assert response.status_code == 403 and response.json()["detail"]


# --- phone reveal --------------------------------------------------------------------------------------------
def test_reveal_gives_the_phone_to_call_and_is_audited(world, residents, client_for):
    house, household, head, child, other = residents

    response = post(client_for(world.officer_a), phone_url(head.pk))

    assert response.status_code == 200 and response.json() == {"phone": PHONE}
    assert "no-store" in response["Cache-Control"]
    entry = AccessEntry.objects.get(kind=AccessKind.REVEAL, actor_id=world.officer_a.pk)
    assert entry.object_type == "registry.person" and entry.object_ids == [str(head.pk)]
    assert entry.fields == ["phone"] and entry.purpose == "移动工作台拨打电话"


def test_reveal_outside_the_territory_is_a_404_and_not_audited(world, residents, client_for):
    house, household, head, child, other = residents
    assert post(client_for(world.officer_a), phone_url(other.pk)).status_code == 404
    assert post(client_for(world.officer_b), phone_url(head.pk)).status_code == 404  # grid B's officer
    assert post(client_for(world.officer_a), phone_url(2**63)).status_code == 404
    assert not AccessEntry.objects.filter(kind=AccessKind.REVEAL).exists()


def test_reveal_is_refused_to_roles_that_may_not_see_phones(world, residents, client_for):
    house, household, head, child, other = residents
    response = post(client_for(world.auxiliary_a), phone_url(head.pk))
    assert response.status_code == 403 and response.json()["detail"]
    assert post(client_for(world.patrol), phone_url(head.pk)).status_code == 403
    assert post(client_for(None), phone_url(head.pk)).status_code == 401
    assert client_for(world.officer_a).get(phone_url(head.pk)).status_code == 405
    assert not AccessEntry.objects.filter(kind=AccessKind.REVEAL).exists()


def test_a_person_without_a_phone_has_nothing_to_reveal(world, residents, client_for):
    house, household, head, child, other = residents
    response = post(client_for(world.director), phone_url(child.pk))
    assert response.status_code == 404 and response.json()["code"] == "no_phone"
    assert not AccessEntry.objects.filter(kind=AccessKind.REVEAL).exists()
