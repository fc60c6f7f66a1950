"""Excel export of filtered lists: scoped, masked unless the role may export full values, always audited."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from doorstep.audit.models import AccessEntry
from doorstep.registry import exporters, services
from doorstep.registry.choices import PersonCategory
from doorstep.registry.models import Household, Person
from doorstep.registry.tests.conftest import make_house, new_id


def sheet(response) -> list[list]:
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return [list(r) for r in wb.worksheets[0].values]


def as_dicts(rows: list[list]) -> list[dict]:
    header, *body = rows
    return [dict(zip(header, r, strict=True)) for r in body]


@pytest.fixture
def other_grid_person(world):
    house = make_house(world.grid_b)
    return services.create_person(
        name="赵乙", id_number=new_id(), category=PersonCategory.RESIDENT, house=house, phone="13600001234"
    )


def test_officer_exports_own_grid_masked_and_the_export_is_logged(reg, world, other_grid_person, client_for):
    response = client_for(world.officer_a).get("/registry/import/export/persons/")

    rows = as_dicts(sheet(response))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    assert sorted(r["姓名"] for r in rows) == ["张三", "李四", "王五"]  # grid A only
    head = next(r for r in rows if r["姓名"] == "张三")
    assert head["公民身份号码"] == reg.head.id_number[:6] + "********" + reg.head.id_number[-4:]
    assert head["联系电话"] == "138****8000"
    assert head["人员类别"] == "常住人口" and head["现住房屋编码"] == reg.house.code
    assert next(r for r in rows if r["姓名"] == "王五")["居住证号"] == "******"
    entry = AccessEntry.objects.get(kind="export")
    assert entry.actor_id == world.officer_a.pk and entry.object_type == "registry.person"
    assert sorted(entry.object_ids) == sorted(str(p.pk) for p in (reg.head, reg.spouse, reg.lodger))
    assert entry.fields == ["masked"] and entry.channel == "web"


def test_director_exports_full_values_of_the_station(reg, world, other_grid_person, client_for):
    rows = as_dicts(sheet(client_for(world.director).get("/registry/import/export/persons/")))

    assert sorted(r["姓名"] for r in rows) == ["张三", "李四", "王五", "赵乙"]
    assert next(r for r in rows if r["姓名"] == "赵乙")["公民身份号码"] == other_grid_person.id_number
    assert AccessEntry.objects.get(kind="export").fields == ["full"]


def test_the_list_filters_apply_to_the_export(reg, world, client_for):
    response = client_for(world.officer_a).get(
        "/registry/import/export/persons/?category=03&purpose=核查流动人口"
    )

    assert [r["姓名"] for r in as_dicts(sheet(response))] == ["王五"]
    entry = AccessEntry.objects.get(kind="export")
    assert entry.object_ids == [str(reg.lodger.pk)] and entry.purpose == "核查流动人口"


def test_bad_filters_are_a_400_not_an_export(reg, world, client_for):
    response = client_for(world.officer_a).get("/registry/import/export/persons/?category=99")
    assert response.status_code == 400 and "筛选条件有误" in response.content.decode()
    assert not AccessEntry.objects.filter(kind="export").exists()


def test_household_export_never_names_persons_of_concern(reg, world, client_for):
    services.set_household(reg.head, reg.household, relation="户主", by=world.officer_a)
    concern = services.request_listing(reg.head, concern_type="drugs", reason="吸毒前科", by=world.officer_a)
    services.decide_concern(concern, approve=True, by=world.director)
    reg.household.refresh_from_db()
    assert "张三" in "".join(reg.household.colour_reasons)

    for user in (world.officer_a, world.auxiliary_a, world.director):
        rows = as_dicts(sheet(client_for(user).get("/registry/import/export/households/")))
        (row,) = rows
        assert row["分色"].startswith("红色") and "张三" not in row["分色原因"]
        assert row["户号"] == "350503001" and row["户主"] == "张三" and row["人数"] == 3


@pytest.mark.parametrize("entity", ["persons", "houses", "households", "units", "addresses"])
def test_every_entity_exports_for_every_reader(reg, world, client_for, entity):
    for user in (world.officer_a, world.patrol, world.leader, world.director_s2):
        response = client_for(user).get(f"/registry/import/export/{entity}/")
        assert response.status_code == 200, (entity, user)
        header = sheet(response)[0]
        assert header[0] == exporters.ENTITIES[entity].columns[0].header
    assert client_for(None).get(f"/registry/import/export/{entity}/").status_code == 302


def test_outside_the_territory_nothing_leaks(reg, world, client_for):
    rows = sheet(client_for(world.director_s2).get("/registry/import/export/houses/"))
    assert len(rows) == 1  # the header only: grid A belongs to the other station


def test_export_response_rescopes_whatever_queryset_it_is_given(reg, world, other_grid_person):
    response = exporters.export_response(world.officer_a, "persons", Person.objects.all())

    names = [r["姓名"] for r in as_dicts(sheet(response))]
    assert "赵乙" not in names and len(names) == 3


def test_unknown_entity_is_a_404(world, client_for):
    assert client_for(world.officer_a).get("/registry/import/export/visits/").status_code == 404


def test_house_export_masks_owner_fields_for_officers(reg, world, client_for):
    services.update_house(reg.house, owner_id_number=new_id(), owner_phone="13912345678", by=world.officer_a)
    (row,) = as_dicts(sheet(client_for(world.officer_a).get("/registry/import/export/houses/")))
    assert "********" in row["产权人身份号码"] and row["产权人电话"] == "139****5678"
    assert row["分色"] and row["分色原因"] and row["地址编码"] == reg.address.code
    assert Household.objects.filter(house=reg.house).exists()
