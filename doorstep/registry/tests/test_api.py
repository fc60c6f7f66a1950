"""Registry API: the permission matrix of every endpoint, writes through the services, bad input, query counts.

Users (doorstep/conftest.py): officer_a / auxiliary_a (grid A), officer_b (grid B), director and dispatcher
(station S1: grids A, B, C), director_s2 (S2: grid D), leader (the whole sub-bureau), anonymous.
Masking, reveal and concern audit are in test_privacy.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from doorstep.accounts.models import User
from doorstep.audit.models import AuditEntry
from doorstep.conftest import build_world
from doorstep.core.ids import synthetic_credit_code
from doorstep.registry import services
from doorstep.registry.choices import ConcernStatus, Occupancy, PermitType, PersonCategory, UnitType
from doorstep.registry.models import (
    Address,
    House,
    Household,
    Person,
    PersonOfConcern,
    Unit,
    Visit,
)
from doorstep.registry.tests.conftest import Reg, _rng, make_house, new_id

USERS = ["officer_a", "auxiliary_a", "officer_b", "director", "director_s2", "dispatcher", "leader"]
GRIDS_SEEN = {
    "officer_a": {"A"},
    "auxiliary_a": {"A"},
    "officer_b": {"B"},
    "director": {"A", "B"},
    "director_s2": {"D"},
    "dispatcher": {"A", "B"},
    "leader": {"A", "B", "D"},
}
CONCERN_USERS = {"officer_a", "officer_b", "director", "director_s2", "leader"}
RESOURCES = ["addresses", "houses", "households", "persons", "units", "visits", "concerns"]


@dataclass
class Place:
    """What lives in one grid: an address with a house, a household of one, a unit, a visit, a concern."""

    address: Address
    house: House
    household: Household
    person: Person
    unit: Unit
    visit: Visit
    concern: PersonOfConcern

    def ids(self, resource: str) -> list[int]:
        obj = {
            "addresses": self.address,
            "houses": self.house,
            "households": self.household,
            "persons": self.person,
            "units": self.unit,
            "visits": self.visit,
            "concerns": self.concern,
        }[resource]
        ids = [obj.pk]
        if resource == "addresses":
            ids += list(Address.objects.filter(grid_id=self.address.grid_id).values_list("pk", flat=True))
        if resource == "persons":
            ids += list(Person.objects.filter(grid_id=self.person.grid_id).values_list("pk", flat=True))
        if resource == "households":
            ids += list(Household.objects.filter(grid_id=self.household.grid_id).values_list("pk", flat=True))
        return sorted(set(ids))


def build_place(world, grid, name: str, officer, *, reg: Reg | None = None) -> Place:
    if reg is None:
        house = make_house(grid)
        household = services.create_household(house=house, household_no=f"H-{name}")
        person = services.create_person(
            name=name,
            id_number=new_id(),
            category=PersonCategory.RESIDENT,
            household=household,
            phone="13900001111",
        )
    else:
        house, household, person = reg.house, reg.household, reg.head
    unit = services.create_unit(
        name=f"{name}商行",
        credit_code=synthetic_credit_code(_rng),
        unit_type=UnitType.SHOP,
        address=house.address,
        security_lead="林国栋",
        security_phone="13688889999",
    )
    visit = services.record_visit(household, findings="正常", by=officer)
    concern = services.request_listing(person, concern_type="drugs", reason="吸毒前科", by=officer)
    return Place(house.address, house, household, person, unit, visit, concern)


@dataclass
class Registry:
    world: Any
    reg: Reg
    places: dict[str, Place]

    def user(self, name: str) -> Any:
        return None if name == "anonymous" else self.world.users[name]

    def visible(self, user: str, resource: str) -> set[int]:
        if resource == "concerns" and user not in CONCERN_USERS:
            return set()
        return {pk for key in GRIDS_SEEN[user] for pk in self.places[key].ids(resource)}

    def everything(self, resource: str) -> set[int]:
        return {pk for place in self.places.values() for pk in place.ids(resource)}


def build_reg(world) -> Reg:
    """The same household of three in grid A as the `reg` fixture of conftest.py."""
    house = make_house(world.grid_a)
    household = services.create_household(house=house, household_no="350503001")
    head = services.create_person(
        name="张三", id_number=new_id(), category=PersonCategory.RESIDENT, household=household,
        relation_to_head="户主", phone="13800138000",
    )  # fmt: skip
    spouse = services.create_person(
        name="李四", id_number=new_id(), category=PersonCategory.RESIDENT, household=household,
        relation_to_head="配偶",
    )  # fmt: skip
    lodger = services.create_person(
        name="王五", id_number=new_id("360102"), category=PersonCategory.FLOATING, household=household,
        permit_type=PermitType.RESIDENCE_PERMIT, permit_number="JZZ001", permit_expires_on="2030-01-01",
        inflow_reason="务工",
    )  # fmt: skip
    household.refresh_from_db()
    house.refresh_from_db()
    return Reg(house.address, house, household, head, spouse, lodger)


def build_registry() -> Registry:
    world = build_world()
    reg = build_reg(world)
    places = {
        "A": build_place(world, world.grid_a, "张三", world.officer_a, reg=reg),
        "B": build_place(world, world.grid_b, "赵六", world.officer_b),
        "D": build_place(world, world.grid_d, "孙七", world.director_s2),  # grid D's officer has no login
    }
    # A is listed (approved); B and D stay requested.
    services.decide_concern(places["A"].concern, approve=True, by=world.director)
    return Registry(world, reg, places)


def module_registry(django_db_setup, django_db_blocker):
    """Built once per module inside a transaction rolled back at the end; each test runs in a savepoint
    (the `db` fixture), so what a test writes is gone before the next one."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build_registry()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


registry_base = pytest.fixture(scope="module")(module_registry)


@pytest.fixture
def r(registry_base, db) -> Registry:
    return registry_base


def assert_detail(response) -> None:
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"], body


# --- reads: lists and details hold exactly the territory ------------------------------------------------
@pytest.mark.parametrize("resource", RESOURCES)
def test_list_holds_exactly_the_users_territory(r, api_for, resource):
    for user in USERS:
        response = api_for(r.user(user)).get(f"/api/v1/{resource}/", {"page_size": 500})

        assert response.status_code == 200, (user, response.content)
        body = response.json()
        assert body["count"] == len(body["results"])
        assert {row["id"] for row in body["results"]} == r.visible(user, resource), user


@pytest.mark.parametrize("resource", RESOURCES)
def test_detail_is_404_outside_the_territory(r, api_for, resource):
    for user in USERS:
        client = api_for(r.user(user))
        for pk in sorted(r.everything(resource)):
            response = client.get(f"/api/v1/{resource}/{pk}/")
            expected = 200 if pk in r.visible(user, resource) else 404
            assert response.status_code == expected, (user, resource, pk)
            if expected == 404:
                assert_detail(response)


@pytest.mark.parametrize("resource", [*RESOURCES, "search"])
def test_anonymous_gets_401(r, api_for, resource):
    response = api_for(None).get(f"/api/v1/{resource}/", {"q": "张三"})

    assert response.status_code == 401
    assert_detail(response)


@pytest.mark.parametrize("user", USERS)
def test_filters_cannot_reach_outside_the_territory(r, api_for, user):
    client = api_for(r.user(user))
    for param, outside in (
        ("grid", r.world.grid_d.pk),
        ("community", r.world.c3.pk),
        ("station", r.world.s2.pk),
    ):
        response = client.get("/api/v1/persons/", {param: outside})
        if "D" in GRIDS_SEEN[user]:
            assert response.status_code == 200
        else:
            assert response.status_code == 400, (user, param)  # not a choice this user has
            assert_detail(response)


# --- writes: the action matrix --------------------------------------------------------------------------
def _address_body(r: Registry) -> dict:
    return {
        "code": "ADDR-NEW-1",
        "grid": r.world.grid_a.pk,
        "division_code": "350503",
        "street_town": "东海街道",
        "road": "刺桐路",
        "door_number": "88号",
        "lng": 118.605,
        "lat": 24.905,
    }


def _person_body(r: Registry) -> dict:
    return {
        "name": "周八",
        "id_number": new_id(),
        "category": PersonCategory.FLOATING,
        "household": r.places["A"].household.pk,
        "relation_to_head": "租户",
        "permit_type": PermitType.NONE,
        "phone": "13512345678",
    }


def _unit_body(r: Registry) -> dict:
    return {
        "name": "东海超市",
        "credit_code": synthetic_credit_code(_rng),
        "unit_type": UnitType.SHOP,
        "address": r.places["A"].address.pk,
    }


A = ("officer_a", "auxiliary_a", "director", "dispatcher", "leader")  # who sees grid A (ordered: xdist)
WRITERS_A = ("officer_a", "auxiliary_a", "director")
OK_CREATE = {u: 201 for u in WRITERS_A} | {"dispatcher": 403, "leader": 403} | {
    "officer_b": 400, "director_s2": 400, "anonymous": 401}  # fmt: skip
OK_EDIT = {u: 200 for u in WRITERS_A} | {"dispatcher": 403, "leader": 403} | {
    "officer_b": 404, "director_s2": 404, "anonymous": 401}  # fmt: skip
DIRECTOR_ONLY = {u: 403 for u in A} | {
    "director": 200,
    "officer_b": 404,
    "director_s2": 404,
    "anonymous": 401,
}
REVEAL = {"officer_a": 200, "director": 200, "auxiliary_a": 403, "dispatcher": 403, "leader": 403,
          "officer_b": 404, "director_s2": 404, "anonymous": 401}  # fmt: skip
# Concerns of grid A: seen by its officer, the S1 director and the leader; 404 for everyone else.
CONCERN_ACT = {"officer_a": 200, "director": 200, "leader": 403, "auxiliary_a": 404, "dispatcher": 404,
               "officer_b": 404, "director_s2": 404, "anonymous": 401}  # fmt: skip
CONCERN_DECIDE = CONCERN_ACT | {"officer_a": 403}

ACTIONS: dict[str, tuple[str, Any, Any, dict[str, int]]] = {
    # name: (method, url(r), body(r), expected status per user)
    "create-address": ("post", lambda r: "/api/v1/addresses/", _address_body, OK_CREATE),
    "edit-address": ("patch", lambda r: f"/api/v1/addresses/{r.places['A'].address.pk}/",
                     lambda r: {"estate": "阳光花园"}, OK_EDIT),
    "approve-address": ("post", lambda r: f"/api/v1/addresses/{r.places['A'].address.pk}/approve/",
                        lambda r: {"note": "核实无误"}, DIRECTOR_ONLY),
    "reject-address": ("post", lambda r: f"/api/v1/addresses/{r.places['A'].address.pk}/reject/",
                       lambda r: {}, DIRECTOR_ONLY),
    "create-house": ("post", lambda r: "/api/v1/houses/",
                     lambda r: {"code": "H-NEW-1", "address": Address.objects.get(code="ADDR-FREE").pk,
                                "property_type": "commodity", "structure": "frame", "floors": 6},
                     OK_CREATE),
    "edit-house": ("patch", lambda r: f"/api/v1/houses/{r.places['A'].house.pk}/",
                   lambda r: {"occupancy": Occupancy.RENTED, "tenants": 2}, OK_EDIT),
    "create-household": ("post", lambda r: "/api/v1/households/",
                         lambda r: {"house": r.places["A"].house.pk, "household_no": "350503009"}, OK_CREATE),
    "create-person": ("post", lambda r: "/api/v1/persons/", _person_body, OK_CREATE),
    "edit-person": ("patch", lambda r: f"/api/v1/persons/{r.reg.spouse.pk}/",
                    lambda r: {"phone": "13711112222"}, OK_EDIT),
    "create-unit": ("post", lambda r: "/api/v1/units/", _unit_body, OK_CREATE),
    "edit-unit": ("patch", lambda r: f"/api/v1/units/{r.places['A'].unit.pk}/",
                  lambda r: {"camera_count": 12, "is_key": True, "key_level": "2"}, OK_EDIT),
    "record-visit": ("post", lambda r: "/api/v1/visits/",
                     lambda r: {"household": r.places["A"].household.pk, "findings": "出租屋检查，无异常"},
                     OK_CREATE | {"dispatcher": 403, "leader": 403}),
    "reveal-person": ("post", lambda r: f"/api/v1/persons/{r.reg.head.pk}/reveal/",
                      lambda r: {"fields": ["id_number"], "purpose": "核查身份"}, REVEAL),
    "reveal-house": ("post", lambda r: f"/api/v1/houses/{r.places['A'].house.pk}/reveal/",
                     lambda r: {"fields": ["owner_phone"], "purpose": "联系房东"}, REVEAL),
    "request-listing": ("post", lambda r: f"/api/v1/persons/{r.reg.spouse.pk}/request-listing/",
                        lambda r: {"concern_type": "petition", "reason": "多次越级上访"},
                        {"officer_a": 201, "director": 201, "auxiliary_a": 403, "dispatcher": 403,
                         "leader": 403, "officer_b": 404, "director_s2": 404, "anonymous": 401}),
    "request-delisting": ("post", lambda r: f"/api/v1/concerns/{r.places['A'].concern.pk}/request-delisting/",
                          lambda r: {"reason": "戒毒满三年，表现良好"}, CONCERN_ACT),
    "request-reclass": ("post", lambda r: f"/api/v1/concerns/{r.places['A'].concern.pk}/request-reclass/",
                        lambda r: {"concern_type": "petition", "reason": "转为重点上访"}, CONCERN_ACT),
    "request-transfer": ("post", lambda r: f"/api/v1/concerns/{r.places['A'].concern.pk}/request-transfer/",
                         lambda r: {"to_grid": r.world.grid_d.pk, "reason": "迁往仁风社区"}, CONCERN_ACT),
    "approve-concern": ("post", lambda r: f"/api/v1/concerns/{r.pending_a.pk}/approve/",
                        lambda r: {"note": "同意列管"}, CONCERN_DECIDE),
    "reject-concern": ("post", lambda r: f"/api/v1/concerns/{r.pending_a.pk}/reject/",
                       lambda r: {"note": "依据不足"}, CONCERN_DECIDE),
    "search": ("get", lambda r: "/api/v1/search/", lambda r: {"q": "张三"},
               {u: 200 for u in USERS} | {"anonymous": 401}),
}  # fmt: skip


@pytest.fixture
def acting(r):
    """The registry plus a free address (for a new house) and a pending listing in grid A (to decide)."""
    services.create_address(
        code="ADDR-FREE", grid=r.world.grid_a, division_code="350503", street_town="东海街道",
        road="刺桐路", door_number="90号",
    )  # fmt: skip
    r.pending_a = services.request_listing(
        r.reg.lodger, concern_type="stability", reason="涉稳", by=r.world.officer_a
    )
    return r


@pytest.mark.parametrize("name", list(ACTIONS))
def test_action_matrix(acting, api_for, name):
    """Each user acts on the same state: every call runs in a savepoint that is rolled back afterwards."""
    method, url, body, expected = ACTIONS[name]
    answers, problems = {}, []
    for user in expected:
        with transaction.atomic():
            changes_before = AuditEntry.objects.exclude(action="security.denied").count()
            response = getattr(api_for(acting.user(user)), method)(url(acting), body(acting), format="json")
            answers[user] = response.status_code
            if response.status_code >= 400:
                if not isinstance(response.json().get("detail"), str):
                    problems.append((user, "no detail", response.content))
                if AuditEntry.objects.exclude(action="security.denied").count() != changes_before:
                    problems.append((user, "a refused action wrote to the change log"))
            elif (
                method != "get"
                and not name.startswith("reveal")
                and not AuditEntry.objects.filter(actor_id=acting.user(user).pk).exists()
            ):
                problems.append((user, "no change-log entry"))
            transaction.set_rollback(True)

    assert answers == expected
    assert problems == []


# --- writes go through the services ---------------------------------------------------------------------
def test_create_address_composes_the_full_text_and_waits_for_review(r, api_for):
    response = api_for(r.world.officer_a).post("/api/v1/addresses/", _address_body(r), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["full_text"] == "东海街道刺桐路88号"
    assert body["review_status"] == "pending"
    assert body["grid_name"] == r.world.grid_a.name
    assert AuditEntry.objects.filter(action="registry.create_address", object_id=str(body["id"])).exists()


def test_house_and_household_carry_colour_and_reasons(r, api_for):
    client = api_for(r.world.officer_a)
    house = r.places["A"].house

    response = client.patch(
        f"/api/v1/houses/{house.pk}/", {"occupancy": Occupancy.GROUP_RENTAL}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["colour"] == "red"
    assert "群租房" in response.json()["colour_reasons"]
    household = client.get(f"/api/v1/households/{r.places['A'].household.pk}/").json()
    assert household["colour"] == "red"
    assert "群租房" in household["colour_reasons"]
    listed = client.get("/api/v1/households/", {"colour": "red"}).json()["results"]
    assert [row["id"] for row in listed] == [r.places["A"].household.pk]
    assert listed[0]["colour_reasons"] == household["colour_reasons"]


def test_household_detail_lists_members_and_head(r, api_for):
    body = api_for(r.world.officer_a).get(f"/api/v1/households/{r.reg.household.pk}/").json()

    assert body["member_count"] == 3
    assert {m["name"] for m in body["members"]} == {"张三", "李四", "王五"}
    assert body["address_text"] == r.reg.address.full_text


def test_new_person_as_head_becomes_the_households_head(r, api_for):
    house = make_house(r.world.grid_a)
    household = services.create_household(house=house)
    body = {"name": "吴九", "id_number": new_id(), "category": "01", "household": household.pk,
            "relation_to_head": "户主"}  # fmt: skip

    response = api_for(r.world.officer_a).post("/api/v1/persons/", body, format="json")

    assert response.status_code == 201
    household.refresh_from_db()
    assert household.head_id == response.json()["id"]
    assert response.json()["grid"] == r.world.grid_a.pk


def test_moving_a_person_to_another_household_recolours_both(r, api_for):
    old = services.create_household(house=make_house(r.world.grid_a))
    lodger = services.create_person(
        name="郑十", id_number=new_id("360102"), category=PersonCategory.FLOATING, household=old,
        permit_type=PermitType.RESIDENCE_PERMIT, permit_expires_on=dt.date(2020, 1, 1),
    )  # fmt: skip
    old.refresh_from_db()
    assert old.colour == "yellow"
    new = services.create_household(house=make_house(r.world.grid_a))

    response = api_for(r.world.officer_a).patch(
        f"/api/v1/persons/{lodger.pk}/", {"household": new.pk, "relation_to_head": "户主"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["household"] == new.pk
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.colour, new.colour) == ("green", "yellow")
    assert new.head_id == lodger.pk


def test_person_cannot_be_moved_into_a_household_outside_the_territory(r, api_for):
    response = api_for(r.world.officer_a).patch(
        f"/api/v1/persons/{r.reg.spouse.pk}/", {"household": r.places["B"].household.pk}, format="json"
    )

    assert response.status_code == 400
    assert "辖区" in response.json()["detail"]
    assert Person.objects.get(pk=r.reg.spouse.pk).household_id == r.reg.household.pk


def test_visit_resets_the_clock(r, api_for):
    household = services.create_household(house=make_house(r.world.grid_a))  # never visited
    visited_at = "2026-11-20T10:00:00+08:00"

    response = api_for(r.world.officer_a).post(
        "/api/v1/visits/", {"household": household.pk, "findings": "入户核查", "visited_at": visited_at},
        format="json",
    )  # fmt: skip

    assert response.status_code == 201
    body = response.json()
    household.refresh_from_db()
    assert body["visited_by"] == r.world.officer_a.pk
    assert body["colour_at_visit"] == household.colour
    assert body["photo"] is None
    household.refresh_from_db()
    assert household.next_visit_due.isoformat() == body["next_due"]


def test_visit_with_photo(r, api_for, tmp_path, settings):
    import io

    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(image, "JPEG")
    image.seek(0)
    image.name = "door.jpg"

    response = api_for(r.world.officer_a).post(
        "/api/v1/visits/", {"household": r.places["A"].household.pk, "findings": "拍照留档", "photo": image},
        format="multipart",
    )  # fmt: skip

    assert response.status_code == 201, response.content
    assert response.json()["photo"]


def test_future_visit_is_refused(r, api_for):
    response = api_for(r.world.officer_a).post(
        "/api/v1/visits/",
        {"household": r.places["A"].household.pk, "findings": "x", "visited_at": "2099-01-01T00:00:00+08:00"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "走访时间不能晚于当前时间"


def test_overdue_filter(r, api_for):
    household = r.places["A"].household
    Household.objects.filter(pk=household.pk).update(next_visit_due=dt.date(2000, 1, 1))
    client = api_for(r.world.director)

    overdue = client.get("/api/v1/households/", {"overdue": "true"}).json()["results"]
    not_overdue = client.get("/api/v1/households/", {"overdue": "false"}).json()["results"]

    assert [row["id"] for row in overdue] == [household.pk]
    assert household.pk not in [row["id"] for row in not_overdue]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "zs"}, {"张三"}),
        ({"q": "张"}, {"张三"}),
        ({"category": "03"}, {"王五"}),
        ({"station": "S1"}, {"张三", "李四", "王五", "赵六"}),
        ({"community": "C1"}, {"张三", "李四", "王五", "赵六"}),
        ({"grid": "B"}, {"赵六"}),
    ],
)
def test_person_filters(r, api_for, params, expected):
    objects = {"S1": r.world.s1, "C1": r.world.c1, "B": r.world.grid_b}
    params = {k: objects[v].pk if v in objects else v for k, v in params.items()}

    body = api_for(r.world.director).get("/api/v1/persons/", params).json()

    assert {row["name"] for row in body["results"]} == expected


def test_unit_filters(r, api_for):
    client = api_for(r.world.leader)
    services.update_unit(r.places["B"].unit, unit_type=UnitType.HOSPITAL, is_key=True, key_level="1", by=None)

    key = client.get("/api/v1/units/", {"is_key": "true"}).json()["results"]
    hospitals = client.get("/api/v1/units/", {"unit_type": "hospital"}).json()["results"]

    assert [u["id"] for u in key] == [u["id"] for u in hospitals] == [r.places["B"].unit.pk]


# --- bad input: 4xx with the reason in `detail` ---------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("350503199001011235", "校验位错误"),
        ("350503199002301234", "出生日期不存在"),
        ("990503199001011234", "地址码无效"),
        ("3505031990", "应为18位"),
        ("35050319900101123A", "只能由17位数字"),
    ],
)
def test_bad_id_number_is_a_400_with_the_reason(r, api_for, value, reason):
    body = _person_body(r) | {"id_number": value}

    response = api_for(r.world.officer_a).post("/api/v1/persons/", body, format="json")

    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert not Person.objects.filter(name="周八").exists()


def test_bad_id_number_on_update_is_a_400(r, api_for):
    response = api_for(r.world.officer_a).patch(
        f"/api/v1/persons/{r.reg.spouse.pk}/", {"id_number": "350503199001011235"}, format="json"
    )

    assert response.status_code == 400
    assert "校验位错误" in response.json()["detail"]


def test_id_number_of_another_category_is_refused(r, api_for):
    body = _person_body(r) | {"id_number": r.reg.head.id_number}

    response = api_for(r.world.officer_a).post("/api/v1/persons/", body, format="json")

    assert response.status_code == 400
    assert "已登记为常住人口" in response.json()["detail"]


def test_bad_owner_id_number_of_a_house(r, api_for):
    response = api_for(r.world.officer_a).patch(
        f"/api/v1/houses/{r.places['A'].house.pk}/", {"owner_id_number": "350503199001011235"}, format="json"
    )

    assert response.status_code == 400
    assert "产权人" in response.json()["detail"] and "校验位错误" in response.json()["detail"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [("91350503MA2XXXXXX1", "校验位错误"), ("91350503", "应为18位"), ("91350503MA2XOXXXX1", "无效字符")],
)
def test_bad_credit_code_is_a_400_with_the_reason(r, api_for, value, reason):
    body = _unit_body(r) | {"credit_code": value}

    response = api_for(r.world.officer_a).post("/api/v1/units/", body, format="json")

    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert "统一社会信用代码" in response.json()["detail"]


def test_duplicate_credit_code_is_refused(r, api_for):
    body = _unit_body(r) | {"credit_code": r.places["A"].unit.credit_code}

    response = api_for(r.world.officer_a).post("/api/v1/units/", body, format="json")

    assert response.status_code == 400
    assert "已登记" in response.json()["detail"]


def test_key_unit_needs_a_level(r, api_for):
    response = api_for(r.world.officer_a).patch(
        f"/api/v1/units/{r.places['A'].unit.pk}/", {"is_key": True, "key_level": ""}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "重点单位须确定等级"


def test_bad_address_fields(r, api_for):
    body = _address_body(r) | {"division_code": "35A"}

    response = api_for(r.world.officer_a).post("/api/v1/addresses/", body, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "行政区划代码应为6位数字"


def test_bad_footprint_is_a_400(r, api_for):
    response = api_for(r.world.officer_a).patch(
        f"/api/v1/houses/{r.places['A'].house.pk}/", {"footprint": {"type": "Point", "coordinates": [1, 2]}},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400
    assert "Polygon" in response.json()["detail"]


def test_duplicate_foreign_document_is_a_409_not_a_500(r, api_for):
    body = {"name": "JOHN", "category": "04", "grid": r.world.grid_a.pk, "nationality": "USA",
            "document_type": "护照", "document_number": "E12345678", "gender": "1"}  # fmt: skip
    client = api_for(r.world.officer_a)

    assert client.post("/api/v1/persons/", body, format="json").status_code == 201
    response = client.post("/api/v1/persons/", body | {"name": "JOHN B"}, format="json")

    assert response.status_code in (400, 409)
    assert_detail(response)


def test_foreigner_without_citizen_id_gets_null_not_blank(r, api_for):
    body = {"name": "MARY", "category": "04", "grid": r.world.grid_a.pk, "nationality": "GBR",
            "document_type": "护照", "document_number": "P7654321", "id_number": "", "gender": "2"}  # fmt: skip
    client = api_for(r.world.officer_a)

    first = client.post("/api/v1/persons/", body, format="json")
    second = client.post("/api/v1/persons/", body | {"document_number": "P7654322"}, format="json")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id_number"] is None


def test_unknown_concern_type_is_a_400(r, api_for):
    response = api_for(r.world.officer_a).post(
        f"/api/v1/persons/{r.reg.spouse.pk}/request-listing/",
        {"concern_type": "x", "reason": "y"},
        format="json",
    )

    assert response.status_code == 400
    assert_detail(response)


def test_second_listing_of_the_same_type_is_a_409(r, api_for):
    response = api_for(r.world.officer_a).post(
        f"/api/v1/persons/{r.reg.head.pk}/request-listing/", {"concern_type": "drugs", "reason": "再次"},
        format="json",
    )  # fmt: skip

    assert response.status_code == 409
    assert "已有同类列管" in response.json()["detail"]


def test_concern_workflow_through_the_api(r, api_for):
    officer, director = api_for(r.world.officer_a), api_for(r.world.director)

    requested = officer.post(
        f"/api/v1/persons/{r.reg.spouse.pk}/request-listing/", {"concern_type": "petition", "reason": "越级上访"},
        format="json",
    ).json()  # fmt: skip
    approved = director.post(f"/api/v1/concerns/{requested['id']}/approve/", {"note": "同意"}, format="json")
    delisting = officer.post(f"/api/v1/concerns/{requested['id']}/request-delisting/", {"reason": "息访"})
    rejected = director.post(f"/api/v1/concerns/{requested['id']}/reject/", {}, format="json")

    assert requested["status"] == ConcernStatus.LISTING_REQUESTED
    assert approved.json()["status"] == ConcernStatus.LISTED
    assert delisting.json()["status"] == ConcernStatus.DELISTING_REQUESTED
    assert rejected.json()["status"] == ConcernStatus.LISTED
    assert director.post(f"/api/v1/concerns/{requested['id']}/approve/", {}).status_code == 409


def test_search_endpoint(r, api_for):
    response = api_for(r.world.officer_a).get("/api/v1/search/", {"q": "zs"})

    assert response.status_code == 200
    hits = response.json()["results"]
    assert [(h["kind"], h["title"], h["id"]) for h in hits] == [("person", "张三", r.reg.head.pk)]
    assert hits[0]["url"] == f"/registry/persons/{r.reg.head.pk}/"


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x" * 101}, {"q": "张三", "limit": 0},
                                    {"q": "张三", "limit": 101}, {"q": "a\x00b"}])  # fmt: skip
def test_search_bad_query_is_a_400(r, api_for, params):
    response = api_for(r.world.officer_a).get("/api/v1/search/", params)

    assert response.status_code == 400
    assert_detail(response)


def test_put_and_delete_are_not_offered(r, api_for):
    client = api_for(r.world.director)
    url = f"/api/v1/persons/{r.reg.head.pk}/"

    assert client.put(url, {"name": "x"}, format="json").status_code == 405
    assert client.delete(url).status_code == 405
    assert Person.objects.filter(pk=r.reg.head.pk).exists()


# --- query counts do not grow with rows ------------------------------------------------------------------
def _more_rows(r: Registry, n: int) -> None:
    for i in range(n):
        house = make_house(r.world.grid_a)
        household = services.create_household(house=house)
        person = services.create_person(
            name=f"钱{i}", id_number=new_id(), category="01", household=household, relation_to_head="户主"
        )
        services.set_household(person, household, relation="户主", by=None)
        services.create_unit(
            name=f"钱{i}商店", credit_code=synthetic_credit_code(_rng), unit_type=UnitType.SHOP,
            address=house.address,
        )  # fmt: skip
        services.record_visit(household, findings="正常", by=r.world.officer_a)
        services.request_listing(person, concern_type="drugs", reason="前科", by=r.world.officer_a)


@pytest.mark.parametrize("resource", RESOURCES)
def test_list_query_count_does_not_grow_with_rows(r, api_for, resource, django_assert_max_num_queries):
    def count() -> int:
        client = api_for(User.objects.get(pk=r.world.director.pk))  # fresh: the territory is computed again
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/api/v1/{resource}/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    few = count()
    _more_rows(r, 6)
    many = count()

    assert many == few
    with django_assert_max_num_queries(10):
        api_for(User.objects.get(pk=r.world.director.pk)).get(f"/api/v1/{resource}/")


@pytest.mark.parametrize("resource", [*RESOURCES, "search"])
def test_browsable_api_never_names_other_grids(r, client_for, resource):
    """The HTML forms (filters, raw data) too, not only the JSON behind them."""
    foreign = [
        "西福第2网格",
        "东星第1网格",
        "仁风第1网格",
        "东星社区",
        "仁风社区",
        "清源派出所",
        "赵六",
        "孙七",
    ]

    response = client_for(r.world.officer_a).get(f"/api/v1/{resource}/", {"q": "张"}, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    content = response.content.decode()
    assert [name for name in foreign if name in content] == []


def test_reclass_and_transfer_through_the_api(r, api_for):
    officer, director = api_for(r.world.officer_a), api_for(r.world.director)
    concern = services.request_listing(
        r.reg.spouse, concern_type="petition", reason="越级上访", by=r.world.officer_a
    )
    services.decide_concern(concern, approve=True, by=r.world.director)
    url = f"/api/v1/concerns/{concern.pk}"

    reclass = officer.post(
        f"{url}/request-reclass/", {"concern_type": "drugs", "reason": "查获吸毒"}, format="json"
    )
    director.post(f"{url}/approve/", {}, format="json")
    bad = officer.post(f"{url}/request-transfer/", {"to_grid": 999999, "reason": "迁出"}, format="json")
    transfer = officer.post(f"{url}/request-transfer/", {"to_grid": r.world.grid_d.pk, "reason": "迁出"},
                            format="json")  # fmt: skip
    by_sender = director.post(f"{url}/approve/", {}, format="json")
    by_receiver = api_for(r.world.director_s2).post(f"{url}/approve/", {}, format="json")

    assert reclass.status_code == 200 and reclass.json()["status"] == ConcernStatus.RECLASS_REQUESTED
    assert bad.status_code == 400 and "to_grid" in bad.json()["errors"]
    assert transfer.json()["status"] == ConcernStatus.TRANSFER_REQUESTED
    assert transfer.json()["transfer_to_name"] == r.world.grid_d.name
    assert by_sender.status_code == 403 and "所长" in by_sender.json()["detail"]
    assert by_receiver.status_code == 200
    assert by_receiver.json()["concern_type"] == "drugs" and by_receiver.json()["grid"] == r.world.grid_d.pk
