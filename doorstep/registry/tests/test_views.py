"""Registry pages: permissions and territory, masking and audited reveal, forms, concerns, to-do, rules.

World (shared fixtures): grid A (officer_a, auxiliary_a) and grid B (officer_b) in station S1 (director,
dispatcher), grid D in station S2 (director_s2); `reg` is a house in grid A with 张三 (head, phone
13800138000), 李四 and the floating 王五.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from doorstep.audit.models import AccessEntry, AccessKind, AuditEntry
from doorstep.core.crypto import search_hash
from doorstep.core.masking import mask_citizen_id, mask_phone
from doorstep.registry import services
from doorstep.registry.choices import ConcernStatus, Occupancy, PermitType, PersonCategory
from doorstep.registry.models import (
    Address,
    ColourRuleSet,
    House,
    Household,
    Person,
    PersonOfConcern,
    Unit,
    Visit,
)
from doorstep.registry.tests.conftest import make_house, new_id

LOGIN = "/accounts/login/"


def detail_urls(reg) -> dict[str, str]:
    unit = services.create_unit(
        name="西福小学",
        credit_code="91350100M000100Y43",
        unit_type="school",
        address=reg.address,
        key_level="2",
    )
    return {
        "address": f"/registry/addresses/{reg.address.pk}/",
        "house": f"/registry/houses/{reg.house.pk}/",
        "household": f"/registry/households/{reg.household.pk}/",
        "person": f"/registry/persons/{reg.head.pk}/",
        "unit": f"/registry/units/{unit.pk}/",
        "address_edit": f"/registry/addresses/{reg.address.pk}/edit/",
        "house_edit": f"/registry/houses/{reg.house.pk}/edit/",
        "person_edit": f"/registry/persons/{reg.head.pk}/edit/",
        "unit_edit": f"/registry/units/{unit.pk}/edit/",
        "visit": f"/registry/households/{reg.household.pk}/visit/",
    }


LISTS = [
    "/registry/",
    "/registry/addresses/",
    "/registry/houses/",
    "/registry/households/",
    "/registry/persons/",
    "/registry/units/",
    "/registry/todo/",
    "/registry/search/?q=zs",
]
NEW_FORMS = [
    "/registry/addresses/new/",
    "/registry/houses/new/",
    "/registry/households/new/",
    "/registry/persons/new/",
    "/registry/units/new/",
]


# --- the permission matrix --------------------------------------------------------------------------------
def test_anonymous_is_sent_to_login_from_every_page(reg, client_for):
    urls = LISTS + NEW_FORMS + list(detail_urls(reg).values())
    urls += ["/registry/concerns/", "/registry/concerns/approvals/", "/registry/rules/"]
    client = client_for(None)

    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{LOGIN}?next="), url


# user → status of the grid-A objects' pages (detail pages and the visit form).
DETAIL_STATUS = {
    "officer_a": 200,
    "auxiliary_a": 200,
    "officer_b": 404,
    "director": 200,
    "director_s2": 404,
    "dispatcher": 200,
    "leader": 200,
    "patrol": 200,
}


@pytest.mark.parametrize("user", list(DETAIL_STATUS))
def test_detail_pages_follow_the_territory(reg, world, client_for, user):
    urls = detail_urls(reg)
    client = client_for(world.users[user])

    statuses = {name: client.get(url).status_code for name, url in urls.items() if not name.endswith("_edit")}

    expected = DETAIL_STATUS[user]
    visit = expected if user not in {"dispatcher", "leader", "patrol"} else 404  # only visitors get the form
    assert statuses == {"address": expected, "house": expected, "household": expected, "person": expected,
                        "unit": expected, "visit": visit}  # fmt: skip


@pytest.mark.parametrize(
    ("user", "expected"),
    [("officer_a", 200), ("director", 200), ("officer_b", 404), ("director_s2", 404), ("leader", 302),
     ("dispatcher", 302)],
)  # fmt: skip
def test_edit_pages_for_writers_in_territory_only(reg, world, client_for, user, expected):
    client = client_for(world.users[user])

    for name, url in detail_urls(reg).items():
        if name.endswith("_edit"):
            response = client.get(url)
            assert response.status_code == expected, (name, response.status_code)
            if expected == 302:  # visible but not theirs to change: back to the detail page with a message
                assert response["Location"] == url.removesuffix("edit/")


@pytest.mark.parametrize(
    ("user", "expected"),
    [("officer_a", 200), ("auxiliary_a", 200), ("director", 200), ("leader", 404), ("dispatcher", 404),
     ("evaluator", 404)],
)  # fmt: skip
def test_new_forms_only_for_writers(world, client_for, user, expected):
    client = client_for(world.users[user])

    assert {url: client.get(url).status_code for url in NEW_FORMS} == {url: expected for url in NEW_FORMS}


@pytest.mark.parametrize(
    ("user", "sees"),
    [("officer_a", True), ("officer_b", False), ("director", True), ("director_s2", False), ("leader", True),
     ("dispatcher", True)],
)  # fmt: skip
def test_lists_hold_only_the_territory(reg, world, client_for, user, sees):
    client = client_for(world.users[user])
    for url in ["/registry/persons/", "/registry/households/", "/registry/houses/", "/registry/addresses/"]:
        response = client.get(url)
        assert response.status_code == 200
        ids = {obj.pk for obj in response.context["page"].object_list}
        own = {
            "/registry/persons/": reg.head.pk,
            "/registry/households/": reg.household.pk,
            "/registry/houses/": reg.house.pk,
            "/registry/addresses/": reg.address.pk,
        }[url]
        assert (own in ids) is sees, url
    body = client.get("/registry/search/", {"q": "zs"}).content.decode()
    assert ("张三" in body) is sees


def test_list_filters_offer_only_the_territory(reg, world, client_for):
    body = client_for(world.officer_a).get("/registry/households/").content.decode()

    assert "西福第1网格" in body
    assert [name for name in ("西福第2网格", "东星第1网格", "仁风第1网格", "仁风社区") if name in body] == []


def test_lists_link_to_the_excel_export_with_their_filters(reg, world, client_for):
    response = client_for(world.director).get("/registry/persons/", {"category": "03", "page": "1"})

    assert 'href="/registry/import/export/persons/?category=03"' in response.content.decode()
    assert 'class="form-select"' in response.content.decode()  # the shared filter form, styled


def test_lists_do_not_grow_queries_with_rows(reg, world, client_for, django_assert_max_num_queries):
    for _ in range(5):
        house = make_house(world.grid_a)
        household = services.create_household(house=house)
        services.create_person(
            name="赵六", id_number=new_id(), category=PersonCategory.RESIDENT, household=household
        )
    client = client_for(world.director)
    client.get("/registry/")  # warm the session and the static index
    for url in ["/registry/persons/", "/registry/households/", "/registry/houses/", "/registry/addresses/",
                "/registry/units/", "/registry/todo/"]:  # fmt: skip
        with django_assert_max_num_queries(16):
            assert client.get(url).status_code == 200


# --- masking and the audited reveal ----------------------------------------------------------------------
def test_every_list_and_detail_page_masks_ids_and_phones(reg, world, client_for):
    services.update_house(
        reg.house,
        owner_id_number=new_id(),
        owner_phone="13912345678",
        occupancy=Occupancy.RENTED,
        landlord_name="陈建国",
        landlord_phone="13698765432",
        by=world.officer_a,
    )
    reg.house.refresh_from_db()
    secrets = [reg.head.id_number, reg.spouse.id_number, reg.lodger.id_number, "13800138000",
               reg.house.owner_id_number, "13912345678", "13698765432"]  # fmt: skip
    urls = LISTS + list(detail_urls(reg).values()) + ["/registry/search/?q=张三", "/registry/search/?q=8000"]
    for user in ("director", "officer_a", "leader"):  # the revealing roles too, until they reveal
        client = client_for(world.users[user])
        for url in urls:
            response = client.get(url)
            if response.status_code != 200:
                continue
            body = response.content.decode()
            assert [s for s in secrets if s in body] == [], (user, url)
    body = client_for(world.director).get(f"/registry/persons/{reg.head.pk}/").content.decode()
    assert mask_citizen_id(reg.head.id_number) in body and mask_phone("13800138000") in body
    body = client_for(world.director).get("/registry/persons/").content.decode()
    assert mask_citizen_id(reg.lodger.id_number) in body


def test_reveal_shows_full_values_only_in_the_response_and_is_audited(reg, world, client_for):
    client = client_for(world.officer_a)
    url = f"/registry/persons/{reg.head.pk}/"

    response = client.post(url, {"purpose": "核查户籍信息"})

    body = response.content.decode()
    assert response.status_code == 200 and reg.head.id_number in body and "13800138000" in body
    assert "已记入个人信息访问日志" in body
    assert response["Cache-Control"] == "no-store"
    entry = AccessEntry.objects.get(kind=AccessKind.REVEAL)
    assert entry.actor_id == world.officer_a.pk and entry.purpose == "核查户籍信息"
    assert entry.object_type == "registry.person" and entry.object_ids == [str(reg.head.pk)]
    assert set(entry.fields) == {"id_number", "phone"}
    assert reg.head.id_number not in client.get(url).content.decode()  # the next view is masked again


def test_reveal_needs_a_purpose(reg, world, client_for):
    response = client_for(world.director).post(f"/registry/persons/{reg.head.pk}/", {"purpose": " "})

    body = response.content.decode()
    assert "请填写查看事由" in body and reg.head.id_number not in body
    assert not AccessEntry.objects.filter(kind=AccessKind.REVEAL).exists()


def test_house_owner_reveal(reg, world, client_for):
    owner_id = new_id()
    services.update_house(reg.house, owner_id_number=owner_id, owner_phone="13912345678", by=world.officer_a)

    response = client_for(world.director).post(f"/registry/houses/{reg.house.pk}/", {"purpose": "联系房东"})

    assert owner_id in response.content.decode()
    assert AccessEntry.objects.get(kind=AccessKind.REVEAL).object_type == "registry.house"


@pytest.mark.parametrize("user", ["auxiliary_a", "dispatcher", "leader"])
def test_roles_without_reveal_get_no_form_and_404_on_post(reg, world, client_for, user):
    client = client_for(world.users[user])
    url = f"/registry/persons/{reg.head.pk}/"

    assert "显示完整信息" not in client.get(url).content.decode()
    assert client.post(url, {"purpose": "好奇"}).status_code == 404
    assert not AccessEntry.objects.filter(kind=AccessKind.REVEAL).exists()


def test_edit_form_does_not_print_full_identifiers(reg, world, client_for):
    body = client_for(world.officer_a).get(f"/registry/persons/{reg.head.pk}/edit/").content.decode()

    assert reg.head.id_number not in body and "13800138000" not in body
    assert mask_citizen_id(reg.head.id_number) in body  # as the placeholder


def test_edit_keeps_identifiers_left_empty(reg, world, client_for):
    response = client_for(world.officer_a).post(
        f"/registry/persons/{reg.head.pk}/edit/",
        {"category": "01", "name": "张三丰", "id_number": "", "phone": "", "ethnicity": "01",
         "registered_here": "on", "relation_to_head": "户主"},
    )  # fmt: skip

    assert response.status_code == 302
    person = Person.objects.get(pk=reg.head.pk)
    assert (
        person.name == "张三丰" and person.id_number == reg.head.id_number and person.phone == "13800138000"
    )
    entry = AuditEntry.objects.filter(action="registry.update_person").latest("id")
    assert entry.after == {"name": "张三丰", "name_initials": "zsf"}


# --- forms: Chinese errors, nothing written, nothing lost -----------------------------------------------------
def test_person_form_shows_the_service_error_on_the_field_and_keeps_input(reg, world, client_for):
    before = Person.objects.count()
    response = client_for(world.officer_a).post(
        "/registry/persons/new/",
        {"category": "01", "name": "赵六", "id_number": "350503199001011235", "grid": world.grid_a.pk,
         "phone": "13900001111", "ethnicity": "01", "register_address": "丰泽区东海街道"},
    )  # fmt: skip

    body = response.content.decode()
    assert response.status_code == 200
    assert "校验位错误" in body
    assert 'value="赵六"' in body and 'value="丰泽区东海街道"' in body and "350503199001011235" in body
    assert "is-invalid" in body
    assert Person.objects.count() == before


def test_person_form_required_fields_in_chinese(world, client_for):
    response = client_for(world.officer_a).post("/registry/persons/new/", {"category": "03", "name": ""})

    body = response.content.decode()
    assert "这个字段是必填项" in body or "该字段是必填项" in body
    assert "请选择网格或填写现住房屋编码" in body
    assert not Person.objects.exists()


def test_floating_person_without_permit_type_is_refused(world, client_for):
    response = client_for(world.officer_a).post(
        "/registry/persons/new/",
        {"category": "03", "name": "钱七", "id_number": new_id("360102"), "grid": world.grid_a.pk,
         "ethnicity": "01"},
    )  # fmt: skip

    assert "流动人口须填写居住证件类型" in response.content.decode()
    assert not Person.objects.filter(name="钱七").exists()


def test_duplicate_id_in_another_category_is_refused(reg, world, client_for):
    response = client_for(world.officer_a).post(
        "/registry/persons/new/",
        {"category": "03", "name": "张三", "id_number": reg.head.id_number, "grid": world.grid_a.pk,
         "ethnicity": "01", "permit_type": "none"},
    )  # fmt: skip

    assert "已登记为常住人口" in response.content.decode()
    assert Person.objects.filter(id_hash=search_hash("id", reg.head.id_number)).count() == 1


def test_address_form_errors(world, client_for):
    client = client_for(world.officer_a)
    data = {"code": "A1", "grid": world.grid_a.pk, "division_code": "3505", "street_town": "东海街道",
            "road": "东海大街", "door_number": "1号"}  # fmt: skip

    body = client.post("/registry/addresses/new/", data).content.decode()
    assert "行政区划代码应为6位数字" in body and 'value="东海大街"' in body
    assert not Address.objects.exists()

    body = client.post("/registry/addresses/new/", {**data, "grid": world.grid_b.pk}).content.decode()
    assert "选择一个有效的选项" in body  # grid B is not officer A's
    assert not Address.objects.exists()

    response = client.post("/registry/addresses/new/", {**data, "division_code": "350503"})
    address = Address.objects.get()
    assert response["Location"] == f"/registry/addresses/{address.pk}/"
    body = client.post("/registry/addresses/new/", {**data, "division_code": "350503"}).content.decode()
    assert "地址编码 A1 已存在" in body and Address.objects.count() == 1


def test_house_unit_and_household_forms_through_the_pages(world, client_for):
    client = client_for(world.officer_a)
    client.post(
        "/registry/addresses/new/",
        {"code": "A1", "grid": world.grid_a.pk, "division_code": "350503", "street_town": "东海街道",
         "road": "东海大街", "door_number": "8号"},
    )  # fmt: skip
    address = Address.objects.get(code="A1")
    page = client.get(f"/registry/houses/new/?address={address.pk}").content.decode()
    assert 'value="A1"' in page  # prefilled from the address page
    house_data = {"code": "H1", "address": "A1", "property_type": "self_built", "use": "residential",
                  "structure": "frame", "floors": "0", "occupancy": "rented",
                  "responsibility_signed_on": "2026-01-05"}  # fmt: skip

    body = client.post("/registry/houses/new/", house_data).content.decode()
    assert "层数应在1至200之间" in body and not House.objects.exists()
    body = client.post(
        "/registry/houses/new/", {**house_data, "address": "NOPE", "floors": "3"}
    ).content.decode()
    assert "辖区内没有该地址编码" in body

    client.post("/registry/houses/new/", {**house_data, "floors": "3"})
    house = House.objects.get(code="H1")
    assert house.occupancy == "rented"
    client.post("/registry/households/new/", {"house": "H1", "household_no": "9001"})
    household = Household.objects.get(household_no="9001")

    body = client.post(
        "/registry/units/new/",
        {"name": "东海超市", "credit_code": "91350503MA2XXXXX0X", "unit_type": "shop", "address": "A1",
         "risk_level": "low", "camera_count": "2"},
    ).content.decode()  # fmt: skip
    assert "校验位" in body and not Unit.objects.exists()

    # A floating tenant without a residence permit turns the rented household yellow, with the reason.
    response = client.post(
        f"/registry/persons/new/?household={household.pk}",
        {"household": household.pk, "category": "03", "name": "孙八", "id_number": new_id("360102"),
         "ethnicity": "01", "permit_type": "none", "relation_to_head": "租户", "registered_here": "on"},
    )  # fmt: skip
    assert response["Location"] == f"/registry/households/{household.pk}/"
    body = client.get(response["Location"]).content.decode()
    assert "黄色·关注户" in body and "1名流动人口居住证过期或未办理" in body and "出租屋" in body


def test_house_edit_recolours_and_keeps_unsent_fields(reg, world, client_for):
    client = client_for(world.officer_a)
    data = {"property_type": "self_built", "use": "residential", "structure": "brick_concrete", "floors": "3",
            "occupancy": "group_rental", "owner_name": "陈建国"}  # fmt: skip

    response = client.post(f"/registry/houses/{reg.house.pk}/edit/", data)

    assert response.status_code == 302
    reg.household.refresh_from_db()
    assert reg.household.colour == "red"
    assert "群租房" in client.get(f"/registry/households/{reg.household.pk}/").content.decode()


def test_membership_add_and_remove(reg, world, client_for):
    other = services.create_household(house=reg.house, household_no="2")
    client = client_for(world.officer_a)
    url = f"/registry/households/{other.pk}/members/"

    body = client.post(url, {"id_number": "350503199001011234"}).content.decode()
    assert "辖区内未找到该公民身份号码的人员" in body

    response = client.post(url, {"person": reg.lodger.pk, "relation": "户主"})
    assert response.status_code == 302
    reg.lodger.refresh_from_db()
    other.refresh_from_db()
    assert reg.lodger.household_id == other.pk and other.head_id == reg.lodger.pk

    response = client.post(f"/registry/households/{other.pk}/members/{reg.lodger.pk}/remove/")
    reg.lodger.refresh_from_db()
    assert response.status_code == 302 and reg.lodger.household_id is None
    assert client_for(world.officer_b).post(url, {"person": reg.lodger.pk}).status_code == 404


# --- visits --------------------------------------------------------------------------------------------------
def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, format="PNG")
    return buffer.getvalue()


def test_visit_from_the_phone_form_with_photo(reg, world, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(world.auxiliary_a)
    visited_at = timezone.localtime().replace(second=0, microsecond=0) - dt.timedelta(hours=1)

    response = client.post(
        f"/registry/households/{reg.household.pk}/visit/",
        {"visited_at": visited_at.strftime("%Y-%m-%dT%H:%M"), "findings": "人员信息无变化",
         "photo": SimpleUploadedFile("p.png", _png(), content_type="image/png")},
    )  # fmt: skip

    assert response.status_code == 302
    visit = Visit.objects.get()
    assert visit.visited_at == visited_at and visit.photo
    reg.household.refresh_from_db()
    assert reg.household.next_visit_due == visited_at.date() + dt.timedelta(days=90)
    assert client.get(f"/registry/visits/{visit.pk}/photo/").status_code == 200
    assert client_for(world.officer_b).get(f"/registry/visits/{visit.pk}/photo/").status_code == 404
    assert "人员信息无变化" in client.get(f"/registry/households/{reg.household.pk}/").content.decode()


def test_visit_form_errors(reg, world, client_for):
    client = client_for(world.officer_a)
    future = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    body = client.post(f"/registry/households/{reg.household.pk}/visit/", {"visited_at": future,
                                                                          "findings": "走访"}).content.decode()  # fmt: skip
    assert "走访时间不能晚于当前时间" in body and "走访" in body
    body = client.post(
        f"/registry/households/{reg.household.pk}/visit/", {"visited_at": future}
    ).content.decode()
    assert "必填项" in body
    assert not Visit.objects.exists()


# --- persons of concern ---------------------------------------------------------------------------------------
CONCERN_PAGES = ["/registry/concerns/", "/registry/concerns/approvals/"]


@pytest.mark.parametrize("user", ["dispatcher", "auxiliary_a", "patrol", "evaluator", "admin"])
def test_concern_pages_are_404_for_roles_without_need(reg, world, client_for, user):
    concern = services.request_listing(reg.head, concern_type="drugs", reason="吸毒前科", by=world.officer_a)
    client = client_for(world.users[user])

    assert [client.get(url).status_code for url in CONCERN_PAGES] == [404, 404]
    assert client.post(f"/registry/persons/{reg.head.pk}/concerns/", {}).status_code == 404
    assert client.post(f"/registry/concerns/{concern.pk}/decide/", {"decision": "approve"}).status_code == 404
    body = client.get(f"/registry/persons/{reg.head.pk}/").content.decode()
    assert "重点人员" not in body and "吸毒前科" not in body
    assert not AccessEntry.objects.filter(kind=AccessKind.CONCERN).exists()


def test_listing_workflow_through_the_pages_is_logged(reg, world, client_for):
    officer = client_for(world.officer_a)
    response = officer.post(
        f"/registry/persons/{reg.head.pk}/concerns/", {"concern_type": "drugs", "reason": ""}
    )
    assert "必填项" in response.content.decode() and not PersonOfConcern.objects.exists()

    officer.post(
        f"/registry/persons/{reg.head.pk}/concerns/", {"concern_type": "drugs", "reason": "吸毒前科"}
    )
    concern = PersonOfConcern.objects.get()
    assert concern.status == ConcernStatus.LISTING_REQUESTED

    director = client_for(world.director)
    body = director.get("/registry/concerns/approvals/").content.decode()
    assert "吸毒前科" in body and "张三" in body
    assert (
        client_for(world.director_s2)
        .post(f"/registry/concerns/{concern.pk}/decide/", {"decision": "approve"})
        .status_code
        == 404
    )
    body = officer.post(f"/registry/concerns/{concern.pk}/decide/", {"decision": "approve"}, follow=True)
    assert "此事项须由本所所长审批" in body.content.decode()
    director.post(f"/registry/concerns/{concern.pk}/decide/", {"decision": "approve", "note": "同意"})
    concern.refresh_from_db()
    reg.household.refresh_from_db()
    assert concern.status == ConcernStatus.LISTED and reg.household.colour == "red"

    reads_before = AccessEntry.objects.filter(kind=AccessKind.CONCERN).count()
    body = officer.get("/registry/concerns/").content.decode()
    assert "张三" in body and mask_citizen_id(reg.head.id_number) in body and reg.head.id_number not in body
    entry = AccessEntry.objects.filter(kind=AccessKind.CONCERN).latest("id")
    assert entry.actor_id == world.officer_a.pk and entry.object_ids == [str(concern.pk)]
    assert entry.purpose == "重点人员列表"

    # The household page names the listed person for concern roles and logs that read…
    body = officer.get(f"/registry/households/{reg.household.pk}/").content.decode()
    assert "重点人员列管中：张三（涉毒）" in body
    assert AccessEntry.objects.filter(kind=AccessKind.CONCERN).count() == reads_before + 2
    # …the auxiliary sees that the household is red, not who or why.
    body = client_for(world.auxiliary_a).get(f"/registry/households/{reg.household.pk}/").content.decode()
    assert "红色·重点户" in body and "涉毒" not in body and "重点因素（详情仅限授权角色查看）" in body
    body = client_for(world.auxiliary_a).get("/registry/households/").content.decode()
    assert "涉毒" not in body

    officer.post(f"/registry/concerns/{concern.pk}/delist/", {"reason": "戒断三年"})
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.DELISTING_REQUESTED


def test_concern_pages_for_other_station_show_nothing(reg, world, client_for):
    services.request_listing(reg.head, concern_type="drugs", reason="吸毒前科", by=world.officer_a)

    body = client_for(world.director_s2).get("/registry/concerns/approvals/").content.decode()

    assert "吸毒前科" not in body
    assert client_for(world.officer_b).get("/registry/concerns/").context["page"].object_list == []


# --- the to-do list ---------------------------------------------------------------------------------------------
def test_todo_lists_overdue_and_due_soon_red_first(reg, world, client_for):
    today = timezone.localdate()
    red = services.create_household(house=make_house(world.grid_a, occupancy=Occupancy.GROUP_RENTAL))
    yellow_house = make_house(world.grid_a, occupancy=Occupancy.RENTED)
    yellow = services.create_household(house=yellow_house)
    services.create_person(name="周九", id_number=new_id("360102"), category=PersonCategory.FLOATING,
                           household=yellow, permit_type=PermitType.NONE)  # fmt: skip
    later = services.create_household(house=make_house(world.grid_a))
    other_grid = services.create_household(house=make_house(world.grid_b))
    # Due dates are what the clock would have made of past visits (set directly, as a time machine would).
    Household.objects.filter(pk=reg.household.pk).update(next_visit_due=today - dt.timedelta(days=10))
    Household.objects.filter(pk=yellow.pk).update(next_visit_due=today + dt.timedelta(days=3))
    Household.objects.filter(pk=red.pk).update(next_visit_due=today + dt.timedelta(days=6))
    Household.objects.filter(pk=later.pk).update(next_visit_due=today + dt.timedelta(days=30))
    Household.objects.filter(pk=other_grid.pk).update(next_visit_due=today - dt.timedelta(days=30))

    response = client_for(world.officer_a).get("/registry/todo/")

    rows = response.context["page"].object_list
    assert [h.pk for h in rows] == [red.pk, yellow.pk, reg.household.pk]
    assert rows[2].overdue_days == 10
    body = response.content.decode()
    assert "群租房" in body and "1名流动人口居住证过期或未办理" in body and "已逾期 10 天" in body
    assert f"/registry/households/{red.pk}/visit/" in body
    home = client_for(world.officer_a).get("/")
    assert home.context["visit_todo"]["counts"] == {"overdue": 1, "due_soon": 2}
    assert f"/registry/households/{red.pk}/visit/" in home.content.decode()
    assert [h.pk for h in client_for(world.officer_b).get("/registry/todo/").context["page"].object_list] == [
        other_grid.pk
    ]
    assert "visit_todo" not in client_for(world.director).get("/").context


# --- search -----------------------------------------------------------------------------------------------------
def test_search_page_and_live_results(reg, world, client_for):
    client = client_for(world.officer_a)

    body = client.get("/registry/search/", {"q": "zs"}).content.decode()
    assert "张三" in body and f"/registry/persons/{reg.head.pk}/" in body
    partial = client.get("/registry/search/", {"q": "zs"}, HTTP_HX_REQUEST="true").content.decode()
    assert "张三" in partial and "<html" not in partial
    assert "辖区内没有找到" in client.get("/registry/search/", {"q": "不存在的人"}).content.decode()


def test_navbar_has_the_search_box_and_registry_entries(world, client_for):
    response = client_for(world.officer_a).get("/registry/persons/")
    body = response.content.decode()
    assert 'action="/registry/search/"' in body
    labels = {item["label"]: item["active"] for item in response.context["nav_items"]}
    assert labels["一标三实"] is True and labels["走访待办"] is False
    assert "走访待办" not in {
        item["label"] for item in client_for(world.director).get("/").context["nav_items"]
    }


# --- the colour-rule editor -------------------------------------------------------------------------------------
def _rules_post(**overrides) -> dict:
    from doorstep.registry.rules import DEFAULT_PARAMS

    data = {"start_score": 10, "red_below": 6, "yellow_below": 9}
    for colour, days in DEFAULT_PARAMS["visit_days"].items():
        data[f"visit_{colour}"] = days
    for name, factor in DEFAULT_PARAMS["factors"].items():
        if factor["enabled"]:
            data[f"{name}__enabled"] = "on"
        data[f"{name}__direct"] = factor["direct"] or ""
        data[f"{name}__deduct"] = factor["deduct"]
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("user", "expected"),
    [("leader", 200), ("admin", 200), ("director", 404), ("officer_a", 404), ("dispatcher", 404)],
)
def test_rule_editor_only_for_rule_editors(world, client_for, user, expected):
    response = client_for(world.users[user]).get("/registry/rules/")

    assert response.status_code == expected
    if expected == 200:
        body = response.content.decode()
        for label in ("群租房", "流动人口居住证过期或未办理", "出租屋未签治安责任书", "起始分", "走访周期"):
            assert label in body


def test_rule_editor_validates_in_chinese_and_saves_nothing(reg, world, client_for):
    client = client_for(world.leader)

    body = client.post("/registry/rules/", _rules_post(yellow_below=11)).content.decode()
    assert "应满足：红色线 ≤ 黄色线 ≤ 起始分" in body
    body = client.post("/registry/rules/", _rules_post(group_rental__deduct=11)).content.decode()
    assert "10" in body and "is-invalid" in body
    assert not ColourRuleSet.objects.exists()


def test_rule_editor_saves_and_reports_the_changes(reg, world, client_for):
    services.update_person(reg.lodger, registered_here=False, by=world.officer_a)
    reg.household.refresh_from_db()
    assert reg.household.colour == "yellow"  # 人户不一致 is direct-to-yellow by default
    client = client_for(world.admin)
    data = _rules_post(registration_mismatch__direct="")
    data.pop("rented__enabled")

    response = client.post("/registry/rules/", data, follow=True)

    body = response.content.decode()
    assert "已重新评定全部户，1户分色发生变化" in body
    factors = ColourRuleSet.objects.get().params["factors"]
    assert factors["registration_mismatch"]["direct"] is None and factors["rented"]["enabled"] is False
    reg.household.refresh_from_db()
    assert reg.household.colour == "green"
    body = client_for(world.officer_a).get(f"/registry/households/{reg.household.pk}/").content.decode()
    assert "1人人户不一致（扣1分）" in body and "绿色·放心户" in body


def test_transfer_through_the_pages_reaches_the_receiving_director(reg, world, client_for):
    concern = services.request_listing(reg.head, concern_type="drugs", reason="吸毒前科", by=world.officer_a)
    services.decide_concern(concern, approve=True, by=world.director)
    officer = client_for(world.officer_a)
    page = officer.get(f"/registry/persons/{reg.head.pk}/").content.decode()
    assert "申请转递" in page and world.grid_d.name in page

    response = officer.post(f"/registry/concerns/{concern.pk}/transfer/", {"to_grid": "", "reason": "迁出"},
                            follow=True)  # fmt: skip
    assert "请选择接收的网格" in response.content.decode()
    officer.post(
        f"/registry/concerns/{concern.pk}/transfer/", {"to_grid": world.grid_d.pk, "reason": "迁往仁风"}
    )
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.TRANSFER_REQUESTED and concern.transfer_to_id == world.grid_d.pk

    # The sending director sees it without a decision button; the receiving one decides, without a link to
    # a record that is not theirs yet.
    sending = client_for(world.director).get("/registry/concerns/approvals/")
    assert (
        "迁往仁风" in sending.content.decode()
        and f"concerns/{concern.pk}/decide/" not in sending.content.decode()
    )
    receiving = client_for(world.director_s2).get("/registry/concerns/approvals/").content.decode()
    assert "迁往仁风" in receiving and f"concerns/{concern.pk}/decide/" in receiving
    assert f"/registry/persons/{reg.head.pk}/" not in receiving
    decided = client_for(world.director_s2).post(
        f"/registry/concerns/{concern.pk}/decide/", {"decision": "approve"}, follow=True
    )
    assert "审批已完成" in decided.content.decode(), decided.content.decode()[-3000:]

    concern.refresh_from_db()
    assert concern.status == ConcernStatus.LISTED and concern.person.grid_id == world.grid_d.pk
    assert client_for(world.officer_a).get(f"/registry/persons/{reg.head.pk}/").status_code == 404
    assert client_for(world.director_s2).get(f"/registry/persons/{reg.head.pk}/").status_code == 200
