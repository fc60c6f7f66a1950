from __future__ import annotations

import pytest

from doorstep.core.crypto import search_hash
from doorstep.core.ids import synthetic_credit_code
from doorstep.registry import services
from doorstep.registry.choices import PersonCategory, UnitType
from doorstep.registry.models import Person
from doorstep.registry.search import SearchHit, normalise, search
from doorstep.registry.tests.conftest import _rng, make_house, new_id


def _keys(hits: list[SearchHit]) -> list[tuple[str, str]]:
    return [(h.kind, h.title) for h in hits]


def _id_ending_in_x() -> str:
    while True:
        value = new_id()
        if value.endswith("X"):
            return value


@pytest.fixture
def unit(reg, world):
    return services.create_unit(
        name="丰泽区实验小学",
        credit_code=synthetic_credit_code(_rng),
        unit_type=UnitType.SCHOOL,
        key_level="1",
        address=reg.address,
    )


# --- keys kept by the ORM and the database -------------------------------------------------------------
def test_the_search_keys_are_kept(reg, world):
    head = Person.objects.get(pk=reg.head.pk)
    assert (head.id_hash, head.id_last4, head.id_last5, head.id_last6) == (
        search_hash("id", reg.head.id_number),
        search_hash("id", reg.head.id_number[-4:], last=4),
        search_hash("id", reg.head.id_number[-5:], last=5),
        search_hash("id", reg.head.id_number[-6:], last=6),
    )
    assert (head.phone_last4, head.given_name) == (search_hash("phone", "8000", last=4), "三")
    assert reg.address.__class__.objects.get(pk=reg.address.pk).road_text.startswith("东海大街")

    services.update_person(reg.head, phone="13912345678", by=world.officer_a)

    stored = Person.objects.get(pk=reg.head.pk)
    assert stored.phone_last4 == search_hash("phone", "5678", last=4)
    assert stored.phone_hash == search_hash("phone", "13912345678")


def test_persons_written_in_bulk_are_found_too(reg, world):
    """Seed and imports write with bulk_create, past the services: the keys must not depend on them."""
    id_number = new_id()
    Person.objects.bulk_create(
        [
            Person(
                name="欧阳修",
                name_initials="oyx",
                id_number=id_number,
                gender="1",
                category="01",
                grid=world.grid_a,
                phone="13655554321",
            )
        ]  # fmt: skip
    )

    for q in (id_number, id_number[-4:], id_number[-6:], "4321", "欧阳", "阳修", "oyx"):
        assert [h.title for h in search(world.officer_a, q)] == ["欧阳修"], q


def test_normalise_folds_full_width_digits_and_spaces():
    assert normalise(" １２３４ ") == "1234"
    assert normalise("张 三") == "张三"
    assert normalise("张\x00三\t") == "张三"


# --- each kind of key ---------------------------------------------------------------------------------
def test_full_id_number_finds_the_person(reg, world):
    hits = search(world.officer_a, reg.head.id_number)

    assert _keys(hits) == [("person", "张三")]
    assert hits[0].id == reg.head.pk


def test_lower_case_x_in_a_full_id_number_matches(reg, world):
    person = services.create_person(
        name="赵敏", id_number=_id_ending_in_x(), category=PersonCategory.RESIDENT, household=reg.household
    )

    assert [h.id for h in search(world.officer_a, person.id_number.lower())] == [person.pk]


@pytest.mark.parametrize("digits", [4, 5, 6])
def test_last_digits_of_the_id_number_find_the_person(reg, world, digits):
    hits = search(world.officer_a, reg.spouse.id_number[-digits:])

    assert ("person", "李四") in _keys(hits)


def test_id_tail_ending_in_x_finds_the_person(reg, world):
    person = services.create_person(
        name="赵敏", id_number=_id_ending_in_x(), category=PersonCategory.RESIDENT, household=reg.household
    )

    assert person.pk in [h.id for h in search(world.officer_a, person.id_number[-4:].lower())]


def test_chinese_name_exact_and_prefix(reg, world):
    assert _keys(search(world.officer_a, "张三")) == [("person", "张三")]
    assert ("person", "张三") in _keys(search(world.officer_a, "张"))


def test_given_name_finds_the_person_by_contains(reg, world):
    services.create_person(
        name="陈建国", id_number=new_id(), category=PersonCategory.RESIDENT, household=reg.household
    )

    assert ("person", "陈建国") in _keys(search(world.officer_a, "建国"))


@pytest.mark.parametrize("q", ["zs", "ZS", "ｚｓ"])
def test_pinyin_initials_find_the_person(reg, world, q):
    assert _keys(search(world.officer_a, q)) == [("person", "张三")]


def test_exact_initials_come_before_longer_ones(reg, world):
    services.create_person(
        name="张顺利", id_number=new_id(), category=PersonCategory.RESIDENT, household=reg.household
    )

    assert [h.title for h in search(world.officer_a, "zs")] == ["张三", "张顺利"]


@pytest.mark.parametrize("q", ["13800138000", "8000"])
def test_phone_full_or_tail_finds_the_person(reg, world, q):
    assert ("person", "张三") in _keys(search(world.officer_a, q))


@pytest.mark.parametrize("part", ["street", "road", "road and door", "estate"])
def test_address_fragment_finds_the_house(reg, world, part):
    services.update_address(reg.address, estate="阳光花园", building="3", room="502", by=world.officer_a)
    address = reg.address.__class__.objects.get(pk=reg.address.pk)
    fragment = {
        "street": address.street_town,
        "road": address.road,
        "road and door": f"{address.road}{address.door_number}",
        "estate": "阳光花园3栋",
    }[part]

    hits = search(world.officer_a, fragment)

    assert ("house", address.full_text) in _keys(hits)
    house = next(h for h in hits if h.kind == "house")
    assert house.colour == reg.house.colour == "green"


def test_text_from_the_middle_is_found_only_on_small_territories(reg, world):
    services.create_person(
        name="欧阳小明", id_number=new_id(), category=PersonCategory.RESIDENT, household=reg.household
    )
    door = reg.address.door_number  # "12号": no address starts with it

    assert ("house", reg.address.full_text) in _keys(search(world.officer_a, door))
    assert ("person", "欧阳小明") in _keys(search(world.officer_a, "小明"))
    assert ("person", "欧阳小明") in _keys(search(world.director, "小明"))  # 3 grids: still small
    assert search(world.leader, door) == []  # the whole sub-bureau: give the road, estate or surname
    assert search(world.leader, "小明") == []


def test_unit_by_name_credit_code_and_address(reg, world, unit):
    assert ("unit", unit.name) in _keys(search(world.officer_a, "实验小学"))
    assert ("unit", unit.name) in _keys(search(world.officer_a, "丰泽区"))
    assert _keys(search(world.officer_a, unit.credit_code)) == [("unit", unit.name)]
    assert ("unit", unit.name) in _keys(search(world.officer_a, reg.address.full_text))


def test_nothing_for_an_empty_or_unmatched_query(reg, world):
    assert search(world.officer_a, "") == []
    assert search(world.officer_a, "   ") == []
    assert search(world.officer_a, "不存在的名字") == []


def test_limit_is_respected(reg, world):
    for i in range(5):
        services.create_person(
            name=f"张{'一二三四五'[i]}明",
            id_number=new_id(),
            category=PersonCategory.RESIDENT,
            grid=world.grid_a,
        )

    assert len(search(world.officer_a, "张", limit=3)) == 3
    assert len(search(world.officer_a, "张", limit=100)) == 6


# --- what is shown --------------------------------------------------------------------------------------
def test_hits_are_masked(reg, world):
    hit = search(world.officer_a, reg.head.id_number)[0]

    shown = f"{hit.title} {hit.subtitle} {hit.url}"
    assert reg.head.id_number not in shown
    assert "13800138000" not in shown
    assert f"{reg.head.id_number[:6]}********{reg.head.id_number[-4:]}" in hit.subtitle
    assert "138****8000" in hit.subtitle
    assert reg.address.full_text in hit.subtitle
    assert hit.colour == reg.household.colour
    assert hit.url.endswith(f"/{reg.head.pk}/")


def test_persons_of_concern_show_up_as_plain_persons(reg, world):
    before = search(world.officer_a, "张三")
    concern = services.request_listing(reg.head, concern_type="drugs", reason="吸毒前科", by=world.officer_a)
    services.decide_concern(concern, approve=True, by=world.director)

    hits = search(world.director, "张三")

    assert [(h.kind, h.id, h.title, h.subtitle) for h in hits] == [
        (h.kind, h.id, h.title, h.subtitle) for h in before
    ]
    shown = " ".join(f"{h.title} {h.subtitle}" for h in hits)
    assert "涉毒" not in shown and "列管" not in shown and "重点" not in shown


# --- territory ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "finds"),
    [
        ("officer_a", True),
        ("auxiliary_a", True),
        ("officer_b", False),
        ("director", True),
        ("director_s2", False),
        ("dispatcher", True),
        ("leader", True),
    ],
)
def test_search_is_scoped_to_the_territory(reg, world, unit, user, finds):
    for q in (
        reg.head.id_number,
        reg.head.id_number[-4:],
        "张三",
        "zs",
        "13800138000",
        "东海大街",
        unit.name,
    ):
        assert bool(search(world.users[user], q)) is finds, q


def test_anonymous_finds_nothing(reg):
    from django.contrib.auth.models import AnonymousUser

    assert search(AnonymousUser(), "张三") == []
    assert search(None, reg.head.id_number) == []


def test_person_in_another_grid_is_found_only_there(reg, world):
    house_b = make_house(world.grid_b)
    services.create_person(name="张三", id_number=new_id(), category=PersonCategory.RESIDENT, house=house_b)

    assert [h.id for h in search(world.officer_a, "张三")] == [reg.head.pk]
    assert len(search(world.director, "张三")) == 2


def test_query_count_does_not_grow_with_matches(reg, world, django_assert_max_num_queries):
    for i in range(30):
        services.create_person(
            name=f"张{i}", id_number=new_id(), category=PersonCategory.RESIDENT, household=reg.household
        )
    world.director.refresh_from_db()  # a fresh territory

    with django_assert_max_num_queries(12):
        hits = search(world.director, "张")

    assert len(hits) == 20
