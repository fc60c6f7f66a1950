from __future__ import annotations

import datetime as dt

import pytest

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.registry import services
from doorstep.registry.choices import ConcernStatus, Occupancy, PermitType, PersonCategory
from doorstep.registry.models import ColourChange, Household, Person
from doorstep.registry.tests.conftest import make_house, new_id


def test_new_household_is_green_and_due_in_three_months(reg):
    assert reg.household.colour == "green"
    assert reg.household.colour_reasons == ["无风险因素"]
    assert reg.household.next_visit_due is not None


def test_id_number_gives_birth_date_and_gender(reg):
    assert reg.head.birth_date.isoformat().replace("-", "") == reg.head.id_number[6:14]
    assert reg.head.gender == ("1" if int(reg.head.id_number[16]) % 2 else "2")
    assert reg.head.name_initials == "zs"


def test_one_id_number_lives_in_one_category(reg, world):
    with pytest.raises(ServiceError, match="已登记为常住人口"):
        services.create_person(
            name="张三",
            id_number=reg.head.id_number,
            category=PersonCategory.FLOATING,
            grid=world.grid_a,
            permit_type=PermitType.NONE,
        )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("350503199001011235", "校验位错误"),
        ("350503199002301234", "出生日期不存在"),
        ("990503199001011234", "地址码无效"),
        ("3505031990", "应为18位"),
    ],
)
def test_bad_id_numbers_are_refused_with_the_reason(world, value, message):
    with pytest.raises(ServiceError, match=message):
        services.create_person(
            name="赵六", id_number=value, category=PersonCategory.RESIDENT, grid=world.grid_a
        )
    assert not Person.objects.filter(name="赵六").exists()


def test_expired_permit_turns_household_yellow_with_reason(reg, world):
    services.update_person(reg.lodger, permit_expires_on=dt.date(2020, 1, 1), by=world.officer_a)
    reg.household.refresh_from_db()
    assert reg.household.colour == "yellow"
    assert "1名流动人口居住证过期或未办理（扣1分）" in reg.household.colour_reasons
    change = ColourChange.objects.get(household=reg.household)
    assert (change.old_colour, change.new_colour, change.trigger) == (
        "green",
        "yellow",
        "registry.update_person",
    )
    reg.house.refresh_from_db()
    assert reg.house.colour == "yellow"


def test_group_rental_turns_house_red_at_once(reg, world):
    services.update_house(reg.house, occupancy=Occupancy.GROUP_RENTAL, by=world.officer_a)
    reg.household.refresh_from_db()
    reg.house.refresh_from_db()
    assert reg.household.colour == reg.house.colour == "red"
    assert "群租房" in reg.house.colour_reasons


def test_listing_needs_director_and_turns_red(reg, world):
    concern = services.request_listing(reg.head, concern_type="drugs", reason="吸毒前科", by=world.officer_a)
    reg.household.refresh_from_db()
    assert concern.status == ConcernStatus.LISTING_REQUESTED and reg.household.colour == "green"
    with pytest.raises(NotAllowed):
        services.decide_concern(concern, approve=True, by=world.officer_a)
    services.decide_concern(concern, approve=True, by=world.director)
    reg.household.refresh_from_db()
    assert reg.household.colour == "red"
    assert reg.household.colour_reasons == ["重点人员列管中：张三（涉毒）"]
    services.request_delisting(concern, reason="戒断三年", by=world.officer_a)
    reg.household.refresh_from_db()
    assert reg.household.colour == "red"  # still managed while the delisting waits
    services.decide_concern(concern, approve=True, by=world.director)
    reg.household.refresh_from_db()
    assert reg.household.colour == "green"
    actions = list(
        AuditEntry.objects.filter(object_type="registry.personofconcern").values_list("action", flat=True)
    )
    assert actions.count("registry.approve_concern") == 2


def test_officer_of_other_grid_cannot_write(reg, world):
    with pytest.raises(NotAllowed):
        services.update_person(reg.head, phone="13900000000", by=world.officer_b)
    with pytest.raises(NotAllowed):
        make_house(world.grid_a, by=world.officer_b)


def test_visit_resets_the_clock_by_colour(reg, world):
    services.update_house(reg.house, occupancy=Occupancy.GROUP_RENTAL, by=world.officer_a)
    visit = services.record_visit(reg.household, findings="核查租客信息", by=world.officer_a)
    household = Household.objects.get(pk=reg.household.pk)
    assert household.last_visit_at == visit.visited_at
    assert household.next_visit_due == visit.visited_at.astimezone().date() + dt.timedelta(days=7)
    with pytest.raises(ServiceError):
        services.record_visit(reg.household, findings=" ", by=world.officer_a)


def test_rule_change_recolours_everything(reg, world):
    make_house(world.grid_a, occupancy=Occupancy.RENTED)  # empty rented house: 9 points → green
    changed = services.update_colour_rules({"yellow_below": 10}, by=world.admin)
    assert changed == 0  # the household scores 10
    from doorstep.registry.models import House

    assert House.objects.filter(colour="yellow").count() == 1
    with pytest.raises(NotAllowed):
        services.update_colour_rules({}, by=world.director)
    with pytest.raises(ServiceError, match="红色线"):
        services.update_colour_rules({"red_below": 9, "yellow_below": 3}, by=world.admin)


def test_credit_code_checked(world):
    from doorstep.registry.tests.conftest import make_house

    house = make_house(world.grid_a)
    with pytest.raises(ServiceError, match="校验位错误"):
        services.create_unit(
            name="测试公司", credit_code="91350503MA2XXXXX0X", unit_type="enterprise", address=house.address
        )
    unit = services.create_unit(
        name="西福小学",
        credit_code="91350100M000100Y43",
        unit_type="school",
        address=house.address,
        key_level="2",
    )
    assert unit.is_key and unit.grid_id == world.grid_a.pk


def _listed(reg, world):
    concern = services.request_listing(reg.head, concern_type="drugs", reason="吸毒前科", by=world.officer_a)
    return services.decide_concern(concern, approve=True, by=world.director)


def test_transfer_is_decided_by_the_receiving_director_and_moves_the_person(reg, world):
    concern = _listed(reg, world)
    concern = services.request_transfer(
        concern, to_grid=world.grid_d, reason="迁往仁风社区居住", by=world.officer_a
    )
    assert concern.status == ConcernStatus.TRANSFER_REQUESTED
    reg.household.refresh_from_db()
    assert reg.household.colour == "red"  # still managed here while the transfer waits
    with pytest.raises(NotAllowed):
        services.decide_concern(concern, approve=True, by=world.director)  # the sending director

    concern = services.decide_concern(concern, approve=True, by=world.director_s2)

    head = Person.objects.get(pk=reg.head.pk)
    reg.household.refresh_from_db()
    assert concern.status == ConcernStatus.LISTED and concern.transfer_to_id is None
    assert (head.grid_id, head.household_id, head.house_id) == (world.grid_d.pk, None, None)
    assert reg.household.head_id is None and reg.household.colour == "green"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"registry.request_transfer", "registry.transfer_person", "registry.approve_concern"} <= actions


def test_rejected_transfer_leaves_everything_in_place(reg, world):
    concern = services.request_transfer(
        _listed(reg, world), to_grid=world.grid_d, reason="迁出", by=world.officer_a
    )

    concern = services.decide_concern(concern, approve=False, note="未核实到新住址", by=world.director_s2)

    assert concern.status == ConcernStatus.LISTED and concern.transfer_to_id is None
    assert Person.objects.get(pk=reg.head.pk).household_id == reg.household.pk


def test_transfer_needs_a_listed_person_another_grid_and_a_reason(reg, world):
    pending = services.request_listing(reg.head, concern_type="drugs", reason="吸毒前科", by=world.officer_a)
    with pytest.raises(ServiceError, match="只有已列管"):
        services.request_transfer(pending, to_grid=world.grid_d, reason="迁出", by=world.officer_a)
    concern = services.decide_concern(pending, approve=True, by=world.director)
    with pytest.raises(ServiceError, match="不能是该人员现在的网格"):
        services.request_transfer(concern, to_grid=world.grid_a, reason="迁出", by=world.officer_a)
    with pytest.raises(ServiceError, match="转递理由"):
        services.request_transfer(concern, to_grid=world.grid_d, reason=" ", by=world.officer_a)
    with pytest.raises(NotAllowed):
        services.request_transfer(concern, to_grid=world.grid_d, reason="迁出", by=world.officer_b)


def test_duplicate_id_names_the_holder_only_inside_the_territory(reg, world):
    with pytest.raises(ServiceError, match="张三"):
        services.create_person(name="重复", id_number=reg.head.id_number, category="01", grid=world.grid_a,
                               by=world.officer_a)  # fmt: skip
    with pytest.raises(ServiceError) as caught:
        services.create_person(name="重复", id_number=reg.head.id_number, category="01", grid=world.grid_b,
                               by=world.officer_b)  # fmt: skip
    assert "其他辖区" in str(caught.value) and "张三" not in str(caught.value)


def test_one_foreigner_per_document_gets_a_chinese_message(world):
    fields = {"category": "04", "nationality": "USA", "document_type": "护照", "document_number": "P1234567"}
    services.create_person(name="约翰", grid=world.grid_a, by=world.officer_a, **fields)
    with pytest.raises(ServiceError, match="该证件已登记为境外人员（约翰）") as caught:
        services.create_person(name="约翰二", grid=world.grid_a, by=world.officer_a, **fields)
    assert caught.value.code == "document_number"


def test_create_person_as_head_sets_the_household_head(reg, world):
    household = services.create_household(house=reg.house, household_no="350503002")
    head = services.create_person(name="王五", id_number=new_id(), category="01", household=household,
                                  relation_to_head="户主", by=world.officer_a)  # fmt: skip
    household.refresh_from_db()
    assert household.head_id == head.pk
