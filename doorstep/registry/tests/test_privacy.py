"""Privacy through the API: masking in every response, audited reveal, persons of concern only for the roles
that need them with every read in the access log, and no concern status anywhere else."""

from __future__ import annotations

import json

import pytest

from doorstep.audit.models import AccessEntry, AccessKind
from doorstep.registry import services
from doorstep.registry.tests.test_api import CONCERN_USERS, RESOURCES, USERS, Registry, module_registry

OWNER_PHONE, LANDLORD_PHONE, MANAGER_PHONE = "13011112222", "13133334444", "13255556666"


registry_base = pytest.fixture(scope="module")(module_registry)


@pytest.fixture
def p(registry_base, db) -> Registry:
    """The registry with the personal fields of house A filled in (undone after each test)."""
    r = registry_base
    services.update_house(
        r.places["A"].house,
        owner_id_number=r.reg.spouse.id_number,
        owner_phone=OWNER_PHONE,
        occupancy="rented",
        landlord_name="陈建国",
        landlord_phone=LANDLORD_PHONE,
        manager_name="物业",
        manager_phone=MANAGER_PHONE,
        by=None,
    )
    return r


def secrets(p: Registry) -> list[str]:
    """Every full identifier in the registry: none may appear in any response."""
    values = [OWNER_PHONE, LANDLORD_PHONE, MANAGER_PHONE, "13800138000", "13900001111", "13688889999"]
    for place in p.places.values():
        values.append(place.person.id_number)
    values += [p.reg.spouse.id_number, p.reg.lodger.id_number, "JZZ001"]
    return values


def _urls(p: Registry, resource: str) -> list[str]:
    ids = sorted(p.everything(resource))
    return [f"/api/v1/{resource}/?page_size=500"] + [f"/api/v1/{resource}/{pk}/" for pk in ids]


# --- masking --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("resource", RESOURCES)
def test_no_response_holds_a_full_id_number_or_phone(p, api_for, resource):
    shown = []
    for user in USERS:
        client = api_for(p.user(user))
        for url in _urls(p, resource):
            response = client.get(url)
            assert response.status_code in (200, 404)
            shown.append(response.content.decode())
    text = "\n".join(shown)

    assert [s for s in secrets(p) if s in text] == []


def test_search_results_hold_no_full_identifier(p, api_for):
    client = api_for(p.world.leader)
    queries = ["张三", "zs", p.reg.head.id_number, p.reg.head.id_number[-4:], "13800138000", "东海", "商行"]

    text = "\n".join(client.get("/api/v1/search/", {"q": q}).content.decode() for q in queries)

    assert "张三" in text
    assert [s for s in secrets(p) if s in text] == []


def test_person_detail_shows_the_masked_forms(p, api_for):
    head, lodger = p.reg.head, p.reg.lodger
    client = api_for(p.world.officer_a)

    body = client.get(f"/api/v1/persons/{head.pk}/").json()
    lodger_body = client.get(f"/api/v1/persons/{lodger.pk}/").json()

    assert body["id_number"] == f"{head.id_number[:6]}********{head.id_number[-4:]}"
    assert body["phone"] == "138****8000"
    assert lodger_body["permit_number"] == "******"


def test_house_and_unit_show_masked_personal_fields(p, api_for):
    client = api_for(p.world.officer_a)

    house = client.get(f"/api/v1/houses/{p.places['A'].house.pk}/").json()
    unit = client.get(f"/api/v1/units/{p.places['A'].unit.pk}/").json()

    spouse_id = p.reg.spouse.id_number
    assert house["owner_id_number"] == f"{spouse_id[:6]}********{spouse_id[-4:]}"
    assert (house["owner_phone"], house["landlord_phone"], house["manager_phone"]) == (
        "130****2222",
        "131****4444",
        "132****6666",
    )
    assert house["owner_name"] == "陈建国"
    assert unit["security_phone"] == "136****9999"


def test_write_responses_are_masked_too(p, api_for):
    response = api_for(p.world.officer_a).patch(
        f"/api/v1/persons/{p.reg.spouse.pk}/", {"phone": "13722223333"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["phone"] == "137****3333"
    assert p.reg.spouse.id_number not in response.content.decode()


# --- reveal ---------------------------------------------------------------------------------------------
def test_reveal_answers_the_full_values_and_is_audited(p, api_for):
    head = p.reg.head
    body = {"fields": ["id_number", "phone"], "purpose": "核查身份"}

    response = api_for(p.world.officer_a).post(f"/api/v1/persons/{head.pk}/reveal/", body, format="json")

    assert response.status_code == 200
    assert response.json() == {"id_number": head.id_number, "phone": "13800138000"}
    entry = AccessEntry.objects.get(kind=AccessKind.REVEAL)
    assert (entry.actor_id, entry.object_type, entry.object_ids) == (
        p.world.officer_a.pk,
        "registry.person",
        [str(head.pk)],
    )
    assert (entry.fields, entry.purpose) == (["id_number", "phone"], "核查身份")
    assert entry.channel == "api"


def test_after_a_reveal_the_detail_is_still_masked(p, api_for):
    client = api_for(p.world.director)
    client.post(f"/api/v1/persons/{p.reg.head.pk}/reveal/", {"fields": ["id_number"], "purpose": "核查"})

    assert p.reg.head.id_number not in client.get(f"/api/v1/persons/{p.reg.head.pk}/").content.decode()


def test_house_reveal_is_audited(p, api_for):
    house = p.places["A"].house
    body = {"fields": ["owner_id_number", "landlord_phone"], "purpose": "联系房东"}

    response = api_for(p.world.director).post(f"/api/v1/houses/{house.pk}/reveal/", body, format="json")

    assert response.json() == {"owner_id_number": p.reg.spouse.id_number, "landlord_phone": LANDLORD_PHONE}
    entry = AccessEntry.objects.get(kind=AccessKind.REVEAL)
    assert (entry.object_type, entry.object_ids, entry.fields) == (
        "registry.house",
        [str(house.pk)],
        ["owner_id_number", "landlord_phone"],
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"fields": ["id_number"], "purpose": ""}, "请填写查看事由"),
        ({"fields": ["id_number"], "purpose": "   "}, "请填写查看事由"),
        ({"fields": ["id_number"]}, "purpose"),
        ({"fields": [], "purpose": "核查"}, "fields"),
        ({"fields": ["name"], "purpose": "核查"}, "fields"),
        ({"fields": ["owner_phone"], "purpose": "核查"}, "fields"),
    ],
)
def test_bad_reveal_is_a_400_and_not_logged(p, api_for, body, reason):
    response = api_for(p.world.officer_a).post(
        f"/api/v1/persons/{p.reg.head.pk}/reveal/", body, format="json"
    )

    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert not AccessEntry.objects.filter(kind=AccessKind.REVEAL).exists()


@pytest.mark.parametrize(
    ("user", "status"),
    [("auxiliary_a", 403), ("dispatcher", 403), ("leader", 403), ("officer_b", 404), ("director_s2", 404)],
)
def test_reveal_refused_for_roles_and_outsiders_without_a_log(p, api_for, user, status):
    body = {"fields": ["id_number"], "purpose": "核查身份"}

    response = api_for(p.user(user)).post(f"/api/v1/persons/{p.reg.head.pk}/reveal/", body, format="json")

    assert response.status_code == status
    assert p.reg.head.id_number not in response.content.decode()
    assert not AccessEntry.objects.filter(kind=AccessKind.REVEAL).exists()


def test_anonymous_cannot_reveal(p, api_for):
    response = api_for(None).post(f"/api/v1/persons/{p.reg.head.pk}/reveal/", {"fields": ["id_number"]})

    assert response.status_code == 401
    assert not AccessEntry.objects.exists()


# --- persons of concern: who sees them, and every read logged ---------------------------------------------
def _concern_log() -> list[tuple[int, list[str]]]:
    return [
        (e.actor_id, e.object_ids) for e in AccessEntry.objects.filter(kind=AccessKind.CONCERN).order_by("id")
    ]


@pytest.mark.parametrize("user", USERS)
def test_concern_list_is_logged_with_exactly_what_was_shown(p, api_for, user):
    response = api_for(p.user(user)).get("/api/v1/concerns/")

    ids = [row["id"] for row in response.json()["results"]]
    assert set(ids) == p.visible(user, "concerns")
    if user in CONCERN_USERS and ids:
        assert _concern_log() == [(p.user(user).pk, [str(i) for i in ids])]
    else:
        assert _concern_log() == []


@pytest.mark.parametrize("user", ["auxiliary_a", "dispatcher"])
def test_concerns_are_invisible_to_auxiliaries_and_dispatchers(p, api_for, user):
    client = api_for(p.user(user))

    assert client.get("/api/v1/concerns/").json()["results"] == []
    for place in p.places.values():
        response = client.get(f"/api/v1/concerns/{place.concern.pk}/")
        assert response.status_code == 404
    assert _concern_log() == []


def test_concerns_are_invisible_to_anonymous(p, api_for):
    client = api_for(None)

    assert client.get("/api/v1/concerns/").status_code == 401
    assert client.get(f"/api/v1/concerns/{p.places['A'].concern.pk}/").status_code == 401
    assert _concern_log() == []


def test_concern_detail_is_logged(p, api_for):
    concern = p.places["A"].concern

    response = api_for(p.world.leader).get(f"/api/v1/concerns/{concern.pk}/")

    assert response.status_code == 200
    assert response.json()["person_name"] == "张三"
    assert response.json()["concern_type"] == "drugs"
    assert _concern_log() == [(p.world.leader.pk, [str(concern.pk)])]


def test_a_page_is_logged_not_the_whole_list(p, api_for):
    response = api_for(p.world.leader).get("/api/v1/concerns/", {"page_size": 1})

    shown = [row["id"] for row in response.json()["results"]]
    assert response.json()["count"] == 3 and len(shown) == 1
    assert _concern_log() == [(p.world.leader.pk, [str(shown[0])])]


def test_an_empty_answer_logs_nothing(p, api_for):
    response = api_for(p.world.officer_a).get("/api/v1/concerns/", {"concern_type": "fugitive"})

    assert response.json()["results"] == []
    assert _concern_log() == []


def test_concern_actions_log_what_they_show(p, api_for):
    officer = api_for(p.world.officer_a)

    response = officer.post(
        f"/api/v1/persons/{p.reg.spouse.pk}/request-listing/", {"concern_type": "petition", "reason": "上访"}
    )

    assert response.status_code == 201
    assert _concern_log() == [(p.world.officer_a.pk, [str(response.json()["id"])])]


def test_concern_responses_mask_the_id_number(p, api_for):
    text = api_for(p.world.leader).get("/api/v1/concerns/").content.decode()

    assert [s for s in secrets(p) if s in text] == []
    head = p.reg.head.id_number
    assert f"{head[:6]}********{head[-4:]}" in text


@pytest.mark.parametrize("user", ["officer_a", "auxiliary_a", "director", "leader"])
def test_person_responses_never_carry_a_concern_status(p, api_for, user):
    """A listed person reads the same for every role that sees it as for the dispatcher."""
    head = p.reg.head
    body = api_for(p.user(user)).get(f"/api/v1/persons/{head.pk}/").json()
    reference = api_for(p.world.dispatcher).get(f"/api/v1/persons/{head.pk}/").json()

    assert body == reference
    text = json.dumps(body, ensure_ascii=False)
    assert "concern" not in text and "涉毒" not in text and "列管" not in text


@pytest.mark.parametrize("user", ["dispatcher", "auxiliary_a", "officer_a", "leader"])
def test_colour_reasons_never_name_a_person_of_concern(p, api_for, user):
    """Household A is red because 张三 is listed; the API says so only in words that name nobody, and to
    roles outside the concern roles not even that there is a listed person."""
    client = api_for(p.user(user))

    household = client.get(f"/api/v1/households/{p.reg.household.pk}/").json()
    house = client.get(f"/api/v1/houses/{p.reg.house.pk}/").json()

    assert household["colour"] == house["colour"] == "red"
    text = json.dumps([household["colour_reasons"], house["colour_reasons"]], ensure_ascii=False)
    assert "张三" not in text and "涉毒" not in text
    assert ("有列管中的重点人员" in text) is (user in CONCERN_USERS)


def test_person_filters_offer_no_concern_filter(p, api_for):
    client = api_for(p.world.dispatcher)

    everyone = client.get("/api/v1/persons/").json()["count"]
    filtered = client.get("/api/v1/persons/", {"concerns__status": "2", "is_concern": "true"}).json()["count"]

    assert filtered == everyone
