"""Import from CSV (UTF-8, GBK) and .xlsx: dry run, real run, re-import, no half-written rows, territory, CLI,
and the import pages with their background job."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from doorstep.audit.models import AuditEntry
from doorstep.core import geo
from doorstep.core.crypto import search_hash
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.org.seed import GIVEN, SURNAMES
from doorstep.registry import colours, import_views, importers
from doorstep.registry import services as registry_services
from doorstep.registry.choices import CoordinateSystem, Occupancy, PersonCategory
from doorstep.registry.models import Address, House, Household, Person, Unit
from doorstep.registry.tests.conftest import make_house, new_id

HEADERS = {c.field: c.header for c in importers.PERSON_COLUMNS}


def person_rows(reg, world) -> list[dict]:
    """Three good rows, then one bad row for each reason the issue names, then an in-file duplicate."""
    good_id, floating_id = new_id(), new_id("360102")
    return [
        {
            "id_number": good_id,
            "name": "陈小明",
            "category": "01",
            "house_code": reg.house.code,
            "household_no": "350503001",
            "relation_to_head": "子女",
            "phone": "13900001111",
        },
        {
            "id_number": floating_id,
            "name": "吴流动",
            "category": "流动人口",
            "house_code": reg.house.code,
            "household_no": "",
            "permit_type": "未办理",
            "inflow_reason": "务工",
        },
        {"id_number": new_id(), "name": "林网格", "category": "01", "grid_code": world.grid_a.code},
        {"id_number": "350503199001011235", "name": "错校验", "category": "01", "house_code": reg.house.code},
        {"id_number": "350503199002301234", "name": "错日期", "category": "01", "house_code": reg.house.code},
        {"id_number": new_id(), "name": "无此房", "category": "01", "house_code": "NO-SUCH-HOUSE"},
        {
            "id_number": reg.head.id_number,
            "name": "张三",
            "category": "03",
            "house_code": reg.house.code,
            "permit_type": "未办理",
        },
        {"id_number": good_id, "name": "陈小明", "category": "01", "house_code": reg.house.code},
    ]


def write(path, rows, *, encoding="utf-8-sig", entity="persons"):
    importers.write_csv(path, entity, rows, encoding=encoding)
    return path


def bad_by_row(result):
    return {b.row: "；".join(b.reasons) for b in result.bad}


# --- dry run and real run -------------------------------------------------------------------------------------
def test_dry_run_reports_every_bad_row_with_reasons_and_writes_nothing(reg, world, tmp_path):
    path = write(tmp_path / "persons.csv", person_rows(reg, world))
    persons, audits = Person.objects.count(), AuditEntry.objects.exclude(action="security.denied").count()

    result = importers.import_file("persons", path, dry_run=True)

    assert (result.total, result.created, result.updated, result.unchanged) == (8, 3, 0, 0)
    bad = bad_by_row(result)
    assert sorted(bad) == [5, 6, 7, 8, 9]
    assert "校验位错误" in bad[5]
    assert "出生日期不存在" in bad[6]
    assert "现住房屋编码 NO-SUCH-HOUSE 不存在" in bad[7]
    assert "已登记为常住人口（张三）" in bad[8]
    assert "与第2行的公民身份号码重复" in bad[9]
    assert result.bad[0].key.startswith("350503") and "*" in result.bad[0].key  # reports mask ID numbers
    assert (Person.objects.count(), AuditEntry.objects.exclude(action="security.denied").count()) == (
        persons,
        audits,
    )
    assert "有误5行" in result.summary() and "未写入" in result.summary()


def test_real_run_writes_the_good_rows_derives_fields_recolours_and_audits(reg, world, tmp_path):
    rows = person_rows(reg, world)
    path = write(tmp_path / "persons.csv", rows)
    households = Household.objects.count()

    result = importers.import_file("persons", path, dry_run=False)

    assert (result.created, result.rejected) == (3, 5)
    child = Person.objects.get(id_hash=search_hash("id", rows[0]["id_number"]))
    assert child.household == reg.household  # 户号 350503001 is the fixture's household
    assert child.birth_date.strftime("%Y%m%d") == child.id_number[6:14]
    assert child.gender == ("1" if int(child.id_number[16]) % 2 else "2")
    assert child.name_initials == "cxm" and child.grid == world.grid_a
    lodger = Person.objects.get(id_hash=search_hash("id", rows[1]["id_number"]))
    assert lodger.household == reg.household  # blank 户号: the house's first household
    assert Person.objects.get(name="林网格").house is None
    assert Household.objects.count() == households
    reg.household.refresh_from_db()
    assert reg.household.colour == "yellow"
    assert any("流动人口居住证过期或未办理" in r for r in reg.household.colour_reasons)
    entry = AuditEntry.objects.get(action="registry.import_persons")
    assert "persons.csv" in entry.note and entry.after["created"] == 3
    assert sorted(entry.after["created_ids"]) == sorted(
        Person.objects.filter(id_hash__in=[search_hash("id", r["id_number"]) for r in rows[:3]]).values_list(
            "id", flat=True
        )
    )


def test_reimporting_the_same_file_changes_nothing(reg, world, tmp_path):
    path = write(tmp_path / "persons.csv", person_rows(reg, world)[:3])
    importers.import_file("persons", path, dry_run=False)
    stamps = dict(Person.objects.values_list("id", "updated_at"))
    audits, colours_seen = (
        AuditEntry.objects.exclude(action="security.denied").count(),
        list(Household.objects.values_list("id", "colour")),
    )

    again = importers.import_file("persons", path, dry_run=False)

    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 0)
    assert dict(Person.objects.values_list("id", "updated_at")) == stamps
    assert AuditEntry.objects.exclude(action="security.denied").count() == audits
    assert list(Household.objects.values_list("id", "colour")) == colours_seen


def test_a_changed_row_is_updated_and_the_change_audited(reg, world, tmp_path):
    rows = person_rows(reg, world)[:1]
    importers.import_file("persons", write(tmp_path / "a.csv", rows), dry_run=False)
    rows[0]["phone"] = "13700002222"

    result = importers.import_file("persons", write(tmp_path / "b.csv", rows), dry_run=False)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    person = Person.objects.get(id_hash=search_hash("id", rows[0]["id_number"]))
    assert person.phone == "13700002222"
    entry = AuditEntry.objects.filter(action="registry.import_persons").latest("id")
    # The change log is not encrypted: the phones are kept masked, with a digest that tells them apart.
    assert list(entry.after["changes"]) == [str(person.pk)]
    old, new = entry.after["changes"][str(person.pk)]["phone"]
    assert old.startswith("139****1111 #") and new.startswith("137****2222 #")
    assert "13700002222" not in json.dumps(entry.after)


def test_new_household_numbers_create_households_and_head(reg, world, tmp_path):
    house = make_house(world.grid_a, occupancy=Occupancy.RENTED, responsibility_signed_on="2026-01-01")
    rows = [
        {
            "id_number": new_id("350583"),
            "name": "郑租户",
            "category": "03",
            "house_code": house.code,
            "household_no": "",
            "relation_to_head": "户主",
            "permit_type": "居住证",
            "permit_expires_on": "2030-01-01",
        },
        {
            "id_number": new_id("350583"),
            "name": "郑同住",
            "category": "03",
            "house_code": house.code,
            "household_no": "",
            "permit_type": "居住证",
            "permit_expires_on": "2019-01-01",
        },
    ]

    importers.import_file("persons", write(tmp_path / "p.csv", rows), dry_run=False)

    household = Household.objects.get(house=house)
    assert household.head.name == "郑租户"
    assert household.members.count() == 2
    assert household.colour == "yellow"  # one permit expired
    house.refresh_from_db()
    assert house.colour == "yellow"


def test_foreigners_without_id_are_keyed_by_their_document(reg, world, tmp_path):
    rows = [
        {
            "name": "约翰",
            "category": "04",
            "house_code": reg.house.code,
            "foreign_name": "JOHN SMITH",
            "nationality": "usa",
            "document_type": "护照",
            "document_number": "p1234567",
            "gender": "男",
            "birth_date": "1980/5/6",
        },
        {"name": "无证件", "category": "04", "house_code": reg.house.code, "nationality": "USA"},
    ]
    path = write(tmp_path / "f.csv", rows)

    first = importers.import_file("persons", path, dry_run=False)
    second = importers.import_file("persons", path, dry_run=False)

    assert (first.created, first.rejected, second.unchanged, second.created) == (1, 1, 1, 0)
    john = Person.objects.get(foreign_name="JOHN SMITH")
    assert (john.nationality, john.document_number, john.gender, str(john.birth_date)) == (
        "USA",
        "P1234567",
        "1",
        "1980-05-06",
    )
    assert "境外人员须填写证件种类" in "；".join(first.bad[0].reasons)


def test_blocks_of_other_categories_are_cleared_as_the_services_do(reg, world, tmp_path):
    rows = [
        {
            "id_number": new_id(),
            "name": "常住甲",
            "category": "01",
            "house_code": reg.house.code,
            "permit_type": "居住证",
            "permit_number": "X1",
            "inflow_reason": "务工",
        }
    ]

    importers.import_file("persons", write(tmp_path / "p.csv", rows), dry_run=False)

    person = Person.objects.get(name="常住甲")
    assert (person.permit_type, person.permit_number, person.inflow_reason) == ("", "", "")


def test_cells_that_cannot_be_read_are_reported(reg, world, tmp_path):
    rows = [
        {"id_number": new_id(), "name": "甲", "category": "09", "house_code": reg.house.code},
        {"id_number": new_id(), "name": "乙" * 60, "category": "01", "house_code": reg.house.code},
        {
            "id_number": new_id(),
            "name": "丙",
            "category": "03",
            "house_code": reg.house.code,
            "permit_type": "居住证",
            "permit_expires_on": "明年",
        },
        {
            "id_number": new_id(),
            "name": "丁",
            "category": "01",
            "house_code": reg.house.code,
            "registered_here": "也许",
            "phone": "abc",
        },
        {"id_number": "", "name": "", "category": "01", "house_code": reg.house.code},
    ]

    result = importers.import_file("persons", write(tmp_path / "p.csv", rows), dry_run=True)

    bad = bad_by_row(result)
    assert "人员类别：应为以下之一" in bad[2]
    assert "姓名：超过50个字符" in bad[3]
    assert "居住证有效期至：日期格式应为 YYYY-MM-DD" in bad[4]
    assert "人户一致：应填写“是”或“否”" in bad[5] and "联系电话格式不正确" in bad[5]
    assert "姓名：不能为空" in bad[6]


# --- encodings and formats ------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8", "utf-8-sig"])
def test_csv_in_gbk_and_utf8_with_or_without_bom(reg, world, tmp_path, encoding):
    rows = person_rows(reg, world)
    text = io.StringIO()
    importers.write_csv(text, "persons", rows)
    path = tmp_path / "p.csv"
    path.write_bytes(text.getvalue().encode(encoding))

    dry = importers.import_file("persons", path, dry_run=True)
    real = importers.import_file("persons", path, dry_run=False)

    assert importers.detect_encoding(path) == ("gb18030" if encoding.startswith("gb") else "utf-8-sig")
    assert (dry.created, dry.rejected, real.created, real.rejected) == (3, 5, 3, 5)
    assert Person.objects.filter(name="吴流动").exists()


def test_gbk_file_written_like_chinese_excel(reg, world, tmp_path):
    """Chinese Excel's "CSV" is GBK with CRLF line ends; the test builds one with encode("gb18030")."""
    person_id = new_id()
    body = (
        "公民身份号码,姓名,人员类别,现住房屋编码,户号,与户主关系,联系电话\r\n"
        f"{person_id},欧阳娜娜,常住人口,{reg.house.code},350503001,子女,13812345678\r\n"
    )
    path = tmp_path / "excel.csv"
    path.write_bytes(body.encode("gb18030"))

    result = importers.import_file("persons", path, dry_run=False)

    assert (result.created, result.encoding) == (1, "gb18030")
    person = Person.objects.get(id_hash=search_hash("id", person_id))
    assert (person.name, person.name_initials, person.phone) == ("欧阳娜娜", "oynn", "13812345678")


def _xlsx(path, rows, entity="persons"):
    """Fill the downloaded template, as a user would."""
    wb = load_workbook(io.BytesIO(importers.template_workbook(entity)))
    ws = wb.worksheets[0]
    columns = importers.IMPORTERS[entity].columns
    for values in rows:
        ws.append([importers._format(values.get(c.field)) or None for c in columns])
    wb.save(path)
    return path


def test_xlsx_template_import_and_export_round_trip(reg, world, tmp_path, client_for):
    path = _xlsx(tmp_path / "persons.xlsx", person_rows(reg, world))

    result = importers.import_file("persons", path, dry_run=False)

    assert (result.created, result.rejected) == (3, 5) and result.encoding == "xlsx"
    # A director's full export of the same list imports again with nothing to change.
    response = client_for(world.director).get("/registry/import/export/persons/")
    assert response.status_code == 200
    exported = tmp_path / "export.xlsx"
    exported.write_bytes(b"".join(response.streaming_content))
    again = importers.import_file("persons", exported, dry_run=False)
    assert again.rejected == 0 and (again.created, again.updated) == (0, 0)
    assert again.unchanged == Person.objects.filter(grid__community__station=world.s1).count()


def test_excel_numbers_and_dates_are_read_as_typed(reg, world, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(
        ["公民身份号码", "姓名", "人员类别", "现住房屋编码", "居住证件类型", "居住证有效期至", "联系电话"]
    )
    person_id = new_id("350583")
    ws.append([person_id, "数字", "03", reg.house.code, "居住证", dt.datetime(2031, 2, 3), 13800001111])
    ws.append([None, None, None, None, None, None, None])  # blank rows are skipped
    path = tmp_path / "typed.xlsx"
    wb.save(path)

    result = importers.import_file("persons", path, dry_run=False)

    assert result.created == 1 and result.total == 1
    person = Person.objects.get(id_hash=search_hash("id", person_id))
    assert (str(person.permit_expires_on), person.phone) == ("2031-02-03", "13800001111")


def test_template_has_chinese_headers_drop_downs_and_instructions():
    wb = load_workbook(io.BytesIO(importers.template_workbook("persons")))
    header = [c.value for c in wb.worksheets[0][1]]
    assert header[:3] == ["公民身份号码", "姓名*", "人员类别*"]
    assert "现住房屋编码" in header and "户号" in header
    assert wb.worksheets[0].data_validations.dataValidation
    notes = [row[0].value for row in wb["填写说明"].iter_rows(min_row=2)]
    assert notes == [c.header for c in importers.PERSON_COLUMNS]
    assert importers.template_csv("units").decode("utf-8-sig").startswith("统一社会信用代码,单位名称")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("p.csv", "姓名,联系电话\n张三,138\n".encode(), "缺少必填列：人员类别"),
        ("p.csv", b"", "文件是空的"),
        ("p.xlsx", b"not a zip file", "不是有效的 .xlsx 文件"),
        ("p.pdf", b"%PDF", "只支持 .xlsx 或 .csv 文件"),
        ("p.csv", "姓名,姓名,人员类别\n".encode(), "出现了两次"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(db, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(importers.FileError, match=message):
        importers.import_file("persons", path, dry_run=True)


def test_unknown_columns_are_ignored_with_a_warning(reg, world, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        f"姓名,人员类别,公民身份号码,网格编码,备注\n王某,01,{new_id()},{world.grid_a.code},x\n", "utf-8"
    )
    result = importers.import_file("persons", path, dry_run=True)
    assert result.created == 1 and "备注" in result.warnings[0]


# --- never half-written -----------------------------------------------------------------------------------------
def test_a_row_the_database_refuses_is_rejected_whole_and_the_rest_written(reg, world, tmp_path, monkeypatch):
    other = make_house(world.grid_a)
    rows = [
        {"id_number": new_id(), "name": "甲好", "category": "01", "house_code": reg.house.code},
        {
            "id_number": new_id(),
            "name": "乙坏",
            "category": "01",
            "house_code": other.code,
            "household_no": "NEW-1",
        },
        {"id_number": new_id(), "name": "丙好", "category": "01", "house_code": reg.house.code},
    ]
    real_recolour = colours.recolour_households

    def refuse_other_house(ids, **kwargs):
        if Household.objects.filter(id__in=list(ids), house=other).exists():
            raise IntegrityError("simulated constraint failure")
        return real_recolour(ids, **kwargs)

    monkeypatch.setattr(colours, "recolour_households", refuse_other_house)

    result = importers.import_file("persons", write(tmp_path / "p.csv", rows), dry_run=False)

    assert (result.created, result.rejected) == (2, 1)
    assert "数据库拒绝写入" in result.bad[0].reasons[0] and result.bad[0].row == 3
    assert not Person.objects.filter(name="乙坏").exists()
    assert not Household.objects.filter(house=other).exists()  # its new household went with it
    assert set(Person.objects.filter(name__endswith="好").values_list("name", flat=True)) == {"甲好", "丙好"}


def test_a_crash_leaves_whole_batches_only(reg, world, tmp_path, monkeypatch):
    rows = [
        {"id_number": new_id(), "name": f"批{i}", "category": "01", "house_code": reg.house.code}
        for i in range(5)
    ]
    calls = []
    real_audit = importers.Importer.audit

    def crash_in_second_batch(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_audit(self, *args)

    monkeypatch.setattr(importers.Importer, "audit", crash_in_second_batch)

    with pytest.raises(RuntimeError):
        importers.import_file("persons", write(tmp_path / "p.csv", rows), dry_run=False, batch_size=2)

    assert sorted(Person.objects.filter(name__startswith="批").values_list("name", flat=True)) == [
        "批0",
        "批1",
    ]


# --- territory ----------------------------------------------------------------------------------------------------
def test_writers_import_only_into_their_own_grids(reg, world, tmp_path):
    house_b = make_house(world.grid_b)
    in_b = services_person(world.grid_b, house_b)
    rows = [
        {"id_number": new_id(), "name": "本网格", "category": "01", "house_code": reg.house.code},
        {"id_number": new_id(), "name": "他网格", "category": "01", "house_code": house_b.code},
        {"id_number": new_id(), "name": "他网格二", "category": "01", "grid_code": world.grid_d.code},
        {"id_number": in_b.id_number, "name": in_b.name, "category": "01", "house_code": reg.house.code},
    ]
    path = write(tmp_path / "p.csv", rows)

    result = importers.import_file("persons", path, by=world.officer_a, dry_run=False)

    bad = bad_by_row(result)
    assert result.created == 1 and sorted(bad) == [3, 4, 5]
    assert "不在您的辖区" in bad[3] and "不在您的辖区" in bad[4]
    assert "其他辖区" in bad[5] and in_b.name not in bad[5]
    in_b.refresh_from_db()
    assert in_b.house == house_b
    # The station director covers grids A and B but not D.
    director = importers.import_file("persons", path, by=world.director, dry_run=True)
    assert sorted(bad_by_row(director)) == [4]  # the director's station covers grids A–C, not D


def services_person(grid, house):
    from doorstep.registry import services

    return services.create_person(
        name="乙网格人", id_number=new_id(), category=PersonCategory.RESIDENT, house=house
    )


@pytest.mark.parametrize("role", ["dispatcher", "patrol", "leader", "evaluator", "admin"])
def test_only_writer_roles_may_import(world, role):
    with pytest.raises(NotAllowed):
        importers.PersonImporter(by=getattr(world, role), filename="x.csv")


# --- houses, units, addresses -------------------------------------------------------------------------------
def test_addresses_then_houses_then_units(world, tmp_path):
    addresses = [
        {
            "code": "A-001",
            "grid_code": world.grid_a.code,
            "street_town": "东海街道",
            "road": "东海大街",
            "door_number": "1号",
            "lng": 118.605,
            "lat": 24.905,
        },
        {
            "code": "A-002",
            "grid_code": world.grid_a.code,
            "street_town": "东海街道",
            "road": "东海大街",
            "door_number": "2号",
            "estate": "阳光花园",
            "building": "3",
            "room": "502",
        },
        {
            "code": "A-003",
            "grid_code": world.grid_a.code,
            "division_code": "3505",
            "street_town": "东海街道",
            "road": "东海大街",
            "door_number": "3号",
        },
        {"code": "A-004", "grid_code": "NOPE", "street_town": "x", "road": "y", "door_number": "4号"},
        {
            "code": "A-005",
            "grid_code": world.grid_a.code,
            "street_town": "东海街道",
            "road": "东海大街",
            "door_number": "5号",
            "lng": 24.9,
            "lat": 118.6,
        },
    ]
    result = importers.import_file(
        "addresses", write(tmp_path / "a.csv", addresses, entity="addresses"), dry_run=False
    )
    assert (result.created, sorted(bad_by_row(result))) == (2, [4, 5, 6])
    assert "行政区划代码应为6位数字" in bad_by_row(result)[4]
    assert Address.objects.get(code="A-002").full_text == "东海街道东海大街2号阳光花园3栋502室"

    houses = [
        {
            "code": "H-1",
            "address_code": "A-001",
            "property_type": "自建房",
            "structure": "砖混",
            "floors": 3,
            "occupancy": "群租",
            "owner_name": "陈房东",
            "area": "120.5",
        },
        {
            "code": "H-2",
            "address_code": "A-002",
            "property_type": "commodity",
            "structure": "钢混",
            "floors": 0,
        },
        {"code": "H-3", "address_code": "A-001", "property_type": "自建房", "structure": "砖混"},
        {"code": "H-4", "address_code": "A-999", "property_type": "自建房", "structure": "砖混"},
        {
            "code": "H-5",
            "address_code": "A-002",
            "property_type": "自建房",
            "structure": "砖混",
            "owner_id_number": "350503199001011235",
        },
    ]
    result = importers.import_file(
        "houses", write(tmp_path / "h.csv", houses, entity="houses"), dry_run=False
    )
    bad = bad_by_row(result)
    assert result.created == 1 and sorted(bad) == [3, 4, 5, 6]
    assert "层数应在1至200之间" in bad[3]
    assert "该地址已登记房屋 H-1" in bad[4]
    assert "地址编码 A-999 不存在" in bad[5]
    assert "产权人" in bad[6] and "校验位错误" in bad[6]
    house = House.objects.get(code="H-1")
    assert (house.colour, house.landlord_name, str(house.area)) == ("red", "陈房东", "120.50")
    assert house.next_visit_due is not None and (house.lng, house.lat) == (None, None)

    from doorstep.core.ids import credit_check_char

    body = "91350503MA2XXXXX0"
    good_code = body + credit_check_char(body)
    units = [
        {
            "credit_code": good_code,
            "name": "丰泽区第一实验小学",
            "unit_type": "学校",
            "address_code": "A-001",
            "key_level": "一级",
            "camera_count": 20,
        },
        {
            "credit_code": good_code[:-1] + ("0" if good_code[-1] != "0" else "1"),
            "name": "坏码公司",
            "unit_type": "企业",
            "address_code": "A-001",
        },
        {
            "credit_code": "92350503MA2YYYYY0X",
            "name": "无等级银行",
            "unit_type": "金融",
            "address_code": "A-001",
        },
    ]
    result = importers.import_file("units", write(tmp_path / "u.csv", units, entity="units"), dry_run=False)
    bad = bad_by_row(result)
    assert result.created == 1 and sorted(bad) == [3, 4]
    assert "校验位错误" in bad[3] and "重点单位须确定等级" in bad[4]
    school = Unit.objects.get(credit_code=good_code)
    assert (school.is_key, school.key_level, school.grid, school.lng) == (True, "1", world.grid_a, 118.605)

    # Re-importing all three files changes nothing.
    for entity, rows in (("addresses", addresses), ("houses", houses), ("units", units)):
        again = importers.import_file(
            entity, write(tmp_path / f"{entity}.csv", rows, entity=entity), dry_run=False
        )
        assert (again.created, again.updated) == (0, 0), entity


def test_house_occupancy_change_recolours_its_households(reg, world, tmp_path):
    row = {
        "code": reg.house.code,
        "address_code": reg.address.code,
        "property_type": "自建房",
        "structure": "砖混",
        "floors": 3,
        "occupancy": "群租",
        "owner_name": "陈建国",
    }

    result = importers.import_file("houses", write(tmp_path / "h.csv", [row], entity="houses"), dry_run=False)

    assert result.updated == 1
    reg.household.refresh_from_db()
    assert reg.household.colour == "red" and "群租房" in reg.household.colour_reasons


def test_edited_address_goes_back_to_review(reg, world, tmp_path):
    from doorstep.registry import services

    services.review_address(reg.address, approve=True, by=world.director)
    a = reg.address
    row = {
        "code": a.code,
        "grid_code": world.grid_a.code,
        "street_town": a.street_town,
        "road": a.road,
        "door_number": a.door_number,
        "lng": a.lng,
        "lat": a.lat,
    }
    same = importers.import_file(
        "addresses", write(tmp_path / "a.csv", [row], entity="addresses"), dry_run=False
    )
    row["door_number"] = "99号"
    changed = importers.import_file(
        "addresses", write(tmp_path / "b.csv", [row], entity="addresses"), dry_run=False
    )

    assert (same.unchanged, changed.updated) == (1, 1)
    a.refresh_from_db()
    assert (a.door_number, a.review_status, a.full_text) == ("99号", "pending", "东海街道东海大街99号")


def test_address_grid_cannot_move_by_import(reg, world, tmp_path):
    a = reg.address
    row = {
        "code": a.code,
        "grid_code": world.grid_b.code,
        "street_town": a.street_town,
        "road": a.road,
        "door_number": a.door_number,
    }
    result = importers.import_file(
        "addresses", write(tmp_path / "a.csv", [row], entity="addresses"), dry_run=True
    )
    assert "不能通过导入改变网格" in result.bad[0].reasons[0]


# --- command line ------------------------------------------------------------------------------------------------
def test_cli_prints_progress_and_summary(reg, world, tmp_path, capsys):
    path = write(tmp_path / "p.csv", person_rows(reg, world))

    call_command("import", "persons", str(path), "--dry-run")
    dry = capsys.readouterr().out
    call_command("import", "persons", str(path), "--user", "officer_a")
    real = capsys.readouterr().out

    assert "试导入：已处理 8 / 8（100%） 行" in dry and "有误5行" in dry and "第5行" in dry
    assert "导入完成：共8行，新增3行" in real and "拒绝5行" in real
    assert Person.objects.filter(name="吴流动").exists()


def test_cli_refuses_unknown_users_files_and_entities(db, tmp_path):
    with pytest.raises(CommandError, match="用户 nobody 不存在"):
        call_command("import", "persons", "x.csv", "--user", "nobody")
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("import", "persons", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError):
        call_command("import", "visits", "x.csv")


# --- pages --------------------------------------------------------------------------------------------------------
@pytest.fixture
def inline_jobs(monkeypatch):
    """Run import jobs in the request (the real background thread is tested on its own below)."""
    monkeypatch.setattr(import_views, "launch", import_views.run_job)
    monkeypatch.setattr(import_views.connection, "close", lambda: None)


def _upload(client, path, entity="persons"):
    with open(path, "rb") as fh:
        return client.post("/registry/import/", {"entity": entity, "file": fh})


def test_import_page_dry_run_table_then_confirm(reg, world, tmp_path, client_for, inline_jobs):
    client = client_for(world.officer_a)
    assert client.get("/registry/import/").status_code == 200
    path = write(tmp_path / "人口.csv", person_rows(reg, world), encoding="gb18030")

    response = _upload(client, path)
    job_url = response["Location"]
    page = client.get(job_url)

    assert response.status_code == 302 and job_url.startswith("/registry/import/jobs/")
    html = page.content.decode()
    assert "试导入结果" in html and "校验位错误" in html and "与第2行的公民身份号码重复" in html
    assert 'data-testid="created">3<' in html and 'data-testid="rejected">5<' in html
    assert not Person.objects.filter(name="吴流动").exists()

    progress = client.get(job_url + "progress/").json()
    assert (progress["state"], progress["phase"], progress["percent"]) == ("done", "dry", 100)

    client.post(job_url + "confirm/")
    html = client.get(job_url).content.decode()
    assert "导入结果" in html and "被拒绝的行" in html
    assert Person.objects.filter(name="吴流动").exists()

    report = load_workbook(io.BytesIO(client.get(job_url + "report/").content))
    rows = list(report.worksheets[0].values)
    assert rows[0] == ("行号", "标识", "姓名/名称", "原因") and [r[0] for r in rows[1:]] == [5, 6, 7, 8, 9]

    # A second confirm does not run the import again.
    client.post(job_url + "confirm/")
    assert Person.objects.filter(name="吴流动").count() == 1


def test_progress_partial_polls_while_running_and_refreshes_when_done(reg, world, client_for, tmp_path):
    client = client_for(world.officer_a)
    job = {
        "id": "a" * 32,
        "user_id": world.officer_a.pk,
        "entity": "persons",
        "entity_label": "实有人口",
        "filename": "x.csv",
        "state": "running",
        "phase": "dry",
        "done": 5000,
        "total": 20000,
    }
    import_views._save(job)

    running = client.get(f"/registry/import/jobs/{'a' * 32}/progress/", HTTP_HX_REQUEST="true")
    page = client.get(f"/registry/import/jobs/{'a' * 32}/")
    job.update(state="done", dry={"created": 1, "updated": 0})
    import_views._save(job)
    done = client.get(f"/registry/import/jobs/{'a' * 32}/progress/", HTTP_HX_REQUEST="true")

    assert 'hx-trigger="every 1s"' in running.content.decode() and "25%" in running.content.decode()
    assert "HX-Refresh" not in running and done["HX-Refresh"] == "true"
    assert "25%" in page.content.decode()


def test_jobs_belong_to_their_uploader(reg, world, tmp_path, client_for, inline_jobs):
    response = _upload(client_for(world.officer_a), write(tmp_path / "p.csv", person_rows(reg, world)))
    job_url = response["Location"]

    assert client_for(world.officer_b).get(job_url).status_code == 404
    assert client_for(world.director).get(job_url + "progress/").status_code == 404
    assert client_for(world.officer_b).post(job_url + "confirm/").status_code == 404
    assert client_for(world.officer_a).get("/registry/import/jobs/not-a-job/").status_code == 404


def test_import_pages_need_a_writer_role(world, client_for):
    assert client_for(None).get("/registry/import/").status_code == 302
    for user in (world.dispatcher, world.patrol, world.leader, world.admin):
        assert client_for(user).get("/registry/import/").status_code == 403
        assert client_for(user).get("/registry/import/template/persons/").status_code == 403
    assert client_for(world.auxiliary_a).get("/registry/import/").status_code == 200


def test_upload_form_refuses_bad_files(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(world.officer_a)
    response = client.post(
        "/registry/import/", {"entity": "persons", "file": SimpleUploadedFile("x.pdf", b"%PDF")}
    )
    assert response.status_code == 400 and "只支持 .xlsx 或 .csv 文件" in response.content.decode()
    response = client.post(
        "/registry/import/", {"entity": "visits", "file": SimpleUploadedFile("x.csv", b"a")}
    )
    assert response.status_code == 400


def test_a_file_error_is_shown_on_the_job_page(world, client_for, tmp_path, inline_jobs):
    path = tmp_path / "bad.csv"
    path.write_text("姓名\n张三\n", encoding="utf-8")
    client = client_for(world.officer_a)
    page = client.get(_upload(client, path)["Location"])
    assert "缺少必填列" in page.content.decode()


def test_template_downloads(world, client_for):
    client = client_for(world.officer_a)
    response = client.get("/registry/import/template/houses/")
    wb = load_workbook(io.BytesIO(response.content))
    assert [c.value for c in wb.worksheets[0][1]][:2] == ["房屋编码*", "地址编码*"]
    assert "attachment" in response["Content-Disposition"]
    csv_response = client.get("/registry/import/template/persons/?format=csv")
    assert next(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))[1] == "姓名"
    assert client.get("/registry/import/template/visits/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_background_thread_runs_the_job_and_keeps_state_in_the_cache(tmp_path, client_for):
    """The real thread, with committed data (a transactional test), as under `doorstep run`."""
    from doorstep.conftest import build_world

    world = build_world()
    house = make_house(world.grid_a)
    rows = [
        {"id_number": new_id(), "name": f"线程{i}", "category": "01", "house_code": house.code}
        for i in range(3)
    ]
    client = client_for(world.officer_a)

    job_url = _upload(client, write(tmp_path / "p.csv", rows))["Location"]
    _join_import_threads()
    dry = client.get(job_url + "progress/").json()
    client.post(job_url + "confirm/")
    _join_import_threads()
    real = client.get(job_url + "progress/").json()

    assert (dry["state"], dry["result"]["created"]) == ("done", 3)
    assert (real["state"], real["phase"], real["result"]["created"]) == ("done", "real", 3)
    assert Person.objects.filter(name__startswith="线程").count() == 3
    job = import_views.get_job(job_url.rstrip("/").rsplit("/", 1)[1])
    assert json.loads((import_views._dir() / f"{job['id']}.real.json").read_text()) == []


def _join_import_threads():
    for thread in threading.enumerate():
        if thread.name.startswith("import-"):
            thread.join(timeout=60)


# --- name initials ----------------------------------------------------------------------------------------------
NAME_CHARS = SURNAMES + GIVEN + "长行重乐单曾解朴区仇查覃华中国人民银行东海大街欧阳司马诸葛·A"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=NAME_CHARS, min_size=1, max_size=6))
def test_fast_initials_agree_with_the_services(name):
    assert importers.fast_initials(name) == registry_services.initials(name)


@pytest.mark.parametrize(
    "name", ["张三", "欧阳娜娜", "曾国藩", "单雄信", "中国银行", "John Smith", "阿卜杜·热合曼", "乐乐"]
)
def test_fast_initials_on_known_names(name):
    assert importers.fast_initials(name) == registry_services.initials(name)


# --- coordinate systems -------------------------------------------------------------------------------------------
FROM_WGS84 = {"gcj02": geo.wgs84_to_gcj02, "bd09": geo.wgs84_to_bd09}
QUANZHOU_POINTS = [(118.5894, 24.9089), (118.6123, 24.8745)]  # WGS-84, in Fengze


def _address_rows(world, crs):
    """Addresses whose coordinates were read off a Chinese web map: the WGS-84 points in `crs`."""
    rows = []
    for i, point in enumerate(QUANZHOU_POINTS, start=1):
        lng, lat = FROM_WGS84[crs](*point)
        rows.append(
            {
                "code": f"CRS-{i}",
                "grid_code": world.grid_a.code,
                "street_town": "东海街道",
                "road": "东海大街",
                "door_number": f"{i}号",
                "lng": lng,
                "lat": lat,
            }
        )
    return rows


def _metres_off(obj, point):
    return geo.distance_m(obj.lng, obj.lat, *point)


def test_the_page_offers_the_coordinate_systems_the_importer_knows():
    assert CoordinateSystem.values == list(geo.CRS_CHOICES)


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_web_map_coordinates_are_stored_as_wgs84_and_reimport_changes_nothing(world, tmp_path, crs):
    addresses = _address_rows(world, crs)
    houses = [
        {
            "code": f"CRS-H{i}",
            "address_code": f"CRS-{i}",
            "property_type": "自建房",
            "structure": "砖混",
            "lng": a["lng"],
            "lat": a["lat"],
        }
        for i, a in enumerate(addresses, start=1)
    ]
    from doorstep.core.ids import credit_check_char

    body = "91350503MA2CRT000"
    units = [  # coordinates of its own in `crs`; a unit without them takes its address's (already WGS-84)
        {
            "credit_code": body + credit_check_char(body),
            "name": "坐标公司",
            "unit_type": "企业",
            "address_code": "CRS-1",
            "lng": addresses[1]["lng"],
            "lat": addresses[1]["lat"],
        },
    ]
    files = [
        ("addresses", write(tmp_path / "a.csv", addresses, entity="addresses")),
        ("houses", write(tmp_path / "h.csv", houses, entity="houses")),
        ("units", write(tmp_path / "u.csv", units, entity="units")),
    ]

    results = [importers.import_file(e, path, dry_run=False, crs=crs) for e, path in files]

    assert [(r.created, r.rejected, r.crs) for r in results] == [(2, 0, crs), (2, 0, crs), (1, 0, crs)]
    for i, point in enumerate(QUANZHOU_POINTS, start=1):
        assert _metres_off(Address.objects.get(code=f"CRS-{i}"), point) < 1.0
        assert _metres_off(House.objects.get(code=f"CRS-H{i}"), point) < 1.0
    assert _metres_off(Unit.objects.get(name="坐标公司"), QUANZHOU_POINTS[1]) < 1.0
    # The file's own numbers are hundreds of metres off: read as WGS-84 they would move every point.
    assert geo.distance_m(addresses[0]["lng"], addresses[0]["lat"], *QUANZHOU_POINTS[0]) > 100
    as_wgs84 = importers.import_file("addresses", files[0][1], dry_run=True)
    assert (as_wgs84.updated, as_wgs84.unchanged) == (2, 0)

    stamps = [dict(m.objects.values_list("id", "updated_at")) for m in (Address, House, Unit)]
    audits = AuditEntry.objects.exclude(action="security.denied").count()
    again = [importers.import_file(e, path, dry_run=False, crs=crs) for e, path in files]

    assert [(r.created, r.updated, r.unchanged) for r in again] == [(0, 0, 2), (0, 0, 2), (0, 0, 1)]
    assert [dict(m.objects.values_list("id", "updated_at")) for m in (Address, House, Unit)] == stamps
    assert AuditEntry.objects.exclude(action="security.denied").count() == audits


def test_a_gcj02_house_point_fits_its_wgs84_footprint_only_when_converted(reg, tmp_path):
    """The fixture's house has a WGS-84 footprint: its centre copied from Gaode is ~550 m off unless the
    file says it is GCJ-02."""
    house = reg.house
    lng, lat = geo.wgs84_to_gcj02(house.lng, house.lat)
    row = {
        "code": house.code,
        "address_code": reg.address.code,
        "property_type": "自建房",
        "structure": "砖混",
        "floors": 3,
        "owner_name": house.owner_name,
        "lng": lng,
        "lat": lat,
    }
    path = write(tmp_path / "h.csv", [row], entity="houses")

    unconverted = importers.import_file("houses", path, dry_run=True)
    converted = importers.import_file("houses", path, dry_run=False, crs="gcj02")

    assert "房屋轮廓距房屋位置超过约100米" in bad_by_row(unconverted)[2]
    assert converted.rejected == 0
    before = (house.lng, house.lat)
    house.refresh_from_db()
    assert geo.distance_m(house.lng, house.lat, *before) < 1.0


def test_a_bad_coordinate_system_is_refused(world, tmp_path):
    path = write(tmp_path / "a.csv", _address_rows(world, "gcj02"), entity="addresses")

    with pytest.raises(ServiceError, match="不支持的坐标系：gcj-02"):
        importers.import_file("addresses", path, dry_run=True, crs="gcj-02")
    with pytest.raises(CommandError, match="gcj-02"):
        call_command("import", "addresses", str(path), "--crs", "gcj-02")
    assert not Address.objects.filter(code__startswith="CRS-").exists()


def test_cli_converts_with_crs(world, tmp_path, capsys):
    path = write(tmp_path / "a.csv", _address_rows(world, "bd09"), entity="addresses")

    call_command("import", "addresses", str(path), "--crs", "bd09")

    assert "新增2行" in capsys.readouterr().out
    assert _metres_off(Address.objects.get(code="CRS-1"), QUANZHOU_POINTS[0]) < 1.0


def _upload_with_crs(client, path, entity, crs):
    with open(path, "rb") as fh:
        return client.post("/registry/import/", {"entity": entity, "file": fh, "crs": crs})


def test_import_page_carries_the_coordinate_system_from_dry_run_to_real_run(
    world, tmp_path, client_for, inline_jobs
):
    client = client_for(world.officer_a)
    assert 'value="gcj02"' in client.get("/registry/import/").content.decode()
    path = write(tmp_path / "地址.csv", _address_rows(world, "gcj02"), entity="addresses")

    job_url = _upload_with_crs(client, path, "addresses", "gcj02")["Location"]
    dry_page = client.get(job_url).content.decode()
    client.post(job_url + "confirm/")
    real_page = client.get(job_url).content.decode()

    assert 'data-testid="created">2<' in dry_page and "GCJ-02（高德、腾讯）" in dry_page
    assert "导入结果" in real_page and "GCJ-02（高德、腾讯）" in real_page
    job = import_views.get_job(job_url.rstrip("/").rsplit("/", 1)[1])
    assert (job["crs"], job["dry"]["crs"], job["real"]["crs"]) == ("gcj02", "gcj02", "gcj02")
    for i, point in enumerate(QUANZHOU_POINTS, start=1):
        assert _metres_off(Address.objects.get(code=f"CRS-{i}"), point) < 1.0


def test_import_page_refuses_an_unknown_coordinate_system(world, tmp_path, client_for, inline_jobs):
    client = client_for(world.officer_a)
    path = write(tmp_path / "a.csv", _address_rows(world, "gcj02"), entity="addresses")

    recent = import_views._recent(world.officer_a)

    response = _upload_with_crs(client, path, "addresses", "mars")

    assert response.status_code == 400
    assert "坐标系应为 WGS-84、GCJ-02 或 BD-09" in response.content.decode()
    assert import_views._recent(world.officer_a) == recent  # no job started


def test_import_page_without_a_coordinate_system_means_wgs84(world, tmp_path, client_for, inline_jobs):
    client = client_for(world.officer_a)
    rows = _address_rows(world, "gcj02")

    job_url = _upload(client, write(tmp_path / "a.csv", rows, entity="addresses"), entity="addresses")[
        "Location"
    ]
    client.post(job_url + "confirm/")

    stored = Address.objects.get(code="CRS-1")
    assert (stored.lng, stored.lat) == (rows[0]["lng"], rows[0]["lat"])


def test_statistics_are_refreshed_as_a_bulk_load_grows(reg, world, tmp_path, monkeypatch):
    """PostgreSQL plans the colour reads from table statistics: a long import refreshes them when the rows
    written have doubled, and once at the end (on SQLite `analyze_registry` does nothing)."""
    calls = []
    monkeypatch.setattr(importers, "ANALYZE_FIRST_AFTER", 1)
    real = importers.analyze_registry
    monkeypatch.setattr(importers, "analyze_registry", lambda: calls.append("analyze") or real())
    rows = person_rows(reg, world)[:3]
    path = write(tmp_path / "persons.csv", rows)

    result = importers.import_file("persons", path, dry_run=False, batch_size=1)

    assert result.created == 3
    # batches of 1 row: before the 2nd batch (1 written ≥ 1) and the 3rd (2 ≥ 2); PostgreSQL once more at the end
    assert len(calls) == (3 if connection.vendor == "postgresql" else 2)
