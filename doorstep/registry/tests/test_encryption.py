"""ID and phone numbers of persons, houses and units encrypted at rest (core.crypto, ADR 0021): what the
database holds, search through the keyed hashes, uniqueness, imports, the migration and key rotation."""

from __future__ import annotations

import base64
import importlib
import json
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from doorstep.audit.models import AuditEntry
from doorstep.core import crypto
from doorstep.core.crypto import search_hash
from doorstep.core.ids import synthetic_credit_code
from doorstep.registry import importers, services
from doorstep.registry.choices import PersonCategory, UnitType
from doorstep.registry.models import House, Person, Unit
from doorstep.registry.search import search
from doorstep.registry.tests.conftest import _rng, new_id

MIGRATION = importlib.import_module("doorstep.registry.migrations.0007_encrypt_existing_rows")
NEW_KEY = b"n" * 32


def raw(model, pk: int, *columns: str) -> tuple:
    """The stored values themselves, past the ORM (which would decrypt them)."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(qn(c) for c in columns)} FROM {qn(model._meta.db_table)} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return cursor.fetchone()


@pytest.fixture
def owned_house(reg, world):
    services.update_house(
        reg.house,
        owner_id_number=reg.spouse.id_number,
        owner_phone="13912345678",
        landlord_phone="13698765432",
        manager_phone="13511112222",
        by=world.officer_a,
    )
    return House.objects.get(pk=reg.house.pk)


@pytest.fixture
def unit(reg):
    return services.create_unit(
        name="丰泽区实验小学",
        credit_code=synthetic_credit_code(_rng),
        unit_type=UnitType.SCHOOL,
        key_level="1",
        address=reg.address,
        security_phone="13788889999",
    )


# --- what the database holds ----------------------------------------------------------------------------
def test_the_database_holds_ciphertext_and_reads_give_clear_text(reg, owned_house, unit):
    stored_id, stored_phone = raw(Person, reg.head.pk, "id_number", "phone")
    assert crypto.is_encrypted(stored_id) and crypto.is_encrypted(stored_phone)
    assert reg.head.id_number not in stored_id and "13800138000" not in stored_phone

    head = Person.objects.get(pk=reg.head.pk)
    assert (head.id_number, head.phone) == (reg.head.id_number, "13800138000")
    assert Person.objects.filter(pk=head.pk).values_list("id_number", flat=True).get() == head.id_number

    house_values = raw(
        House, owned_house.pk, "owner_id_number", "owner_phone", "landlord_phone", "manager_phone"
    )
    assert all(crypto.is_encrypted(v) for v in house_values)
    assert (owned_house.owner_id_number, owned_house.manager_phone) == (reg.spouse.id_number, "13511112222")
    (security_phone,) = raw(Unit, unit.pk, "security_phone")
    assert crypto.is_encrypted(security_phone) and "13788889999" not in security_phone
    assert Unit.objects.get(pk=unit.pk).security_phone == "13788889999"


def test_blank_values_stay_blank_and_null_stays_null(reg, world):
    foreigner = services.create_person(
        name="John Smith",
        category=PersonCategory.FOREIGN,
        grid=world.grid_a,
        nationality="USA",
        document_type="护照",
        document_number="P1234567",
        gender="1",
    )
    assert raw(Person, foreigner.pk, "id_number", "phone", "id_hash", "phone_hash") == (None, "", None, None)
    assert Person.objects.filter(id_number__isnull=True, phone="").get() == foreigner


def test_a_ciphertext_copied_to_another_row_column_does_not_read(reg):
    """The table and column are the associated data: a phone's ciphertext is not an owner phone."""
    (stored_phone,) = raw(Person, reg.head.pk, "phone")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_house SET owner_phone = %s WHERE id = %s", [stored_phone, reg.house.pk]
        )
    with pytest.raises(crypto.DecryptionError):
        House.objects.get(pk=reg.house.pk)


def test_saving_some_fields_keeps_their_hashes(reg):
    head = Person.objects.get(pk=reg.head.pk)
    head.phone = "13611110000"
    head.save(update_fields=["phone"])

    stored = Person.objects.get(pk=head.pk)
    assert stored.phone_hash == search_hash("phone", "13611110000")
    assert stored.phone_last4 == search_hash("phone", "0000", last=4)


# --- search ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        lambda p: p.id_number,
        lambda p: p.id_number[-4:],
        lambda p: p.id_number[-5:],
        lambda p: p.id_number[-6:],
        lambda p: "13800138000",
        lambda p: "8000",
    ],
    ids=["full id", "id last 4", "id last 5", "id last 6", "phone", "phone last 4"],
)
def test_search_by_id_and_phone_finds_the_person_only_in_territory(reg, world, query):
    q = query(reg.head)

    assert reg.head.pk in [h.id for h in search(world.officer_a, q) if h.kind == "person"]
    assert [h for h in search(world.officer_b, q) if h.kind == "person"] == []


def test_the_api_filter_searches_through_the_hashes(reg, world, api_for):
    client = api_for(world.officer_a)
    for q in (reg.head.id_number, reg.head.id_number[-6:], "13800138000"):
        body = client.get("/api/v1/persons/", {"q": q}).json()
        assert [p["id"] for p in body["results"]] == [reg.head.pk], q


# --- uniqueness -----------------------------------------------------------------------------------------
def test_the_database_refuses_a_second_person_with_the_same_id_number(reg, world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(
            name="冒名", id_number=reg.head.id_number, gender="1", category="01", grid=world.grid_b
        )


def test_foreigners_without_id_numbers_do_not_collide(reg, world):
    for n in (1, 2):
        Person.objects.create(
            name=f"Visitor {n}", category="04", grid=world.grid_a, nationality="GBR", document_type="护照",
            document_number=f"G{n}", gender="1",
        )  # fmt: skip
    assert Person.objects.filter(id_hash__isnull=True).count() == 2


def test_the_person_form_says_in_chinese_that_the_id_number_is_registered(reg, world, client_for):
    data = {"category": "01", "name": "张三", "id_number": reg.head.id_number, "ethnicity": "01"}

    mine = client_for(world.officer_a).post("/registry/persons/new/", {**data, "grid": world.grid_a.pk})
    other = client_for(world.officer_b).post("/registry/persons/new/", {**data, "grid": world.grid_b.pk})

    assert "该公民身份号码已登记为常住人口（张三）" in mine.content.decode()
    assert "该公民身份号码已在其他辖区登记为常住人口" in other.content.decode()
    assert Person.objects.filter(id_hash=search_hash("id", reg.head.id_number)).count() == 1


# --- imports --------------------------------------------------------------------------------------------
def test_imports_encrypt_hash_and_find_duplicates_through_the_hashes(reg, world, tmp_path):
    fresh = new_id()
    rows = [
        {"id_number": fresh, "name": "陈导入", "category": "01", "house_code": reg.house.code,
         "phone": "13922223333"},
        {"id_number": reg.head.id_number, "name": "张三", "category": "03", "house_code": reg.house.code,
         "permit_type": "未办理"},
        {"id_number": fresh, "name": "陈导入", "category": "01", "house_code": reg.house.code},
    ]  # fmt: skip
    path = tmp_path / "p.csv"
    importers.write_csv(path, "persons", rows)

    result = importers.import_file("persons", path, dry_run=False)

    reasons = {b.row: "；".join(b.reasons) for b in result.bad}
    assert result.created == 1
    assert "已登记为常住人口" in reasons[3]  # the database's person, found by the hash
    assert 4 in reasons  # the same ID number twice in the file
    person = Person.objects.get(id_hash=search_hash("id", fresh))
    stored_id, stored_phone, last4 = raw(Person, person.pk, "id_number", "phone", "phone_last4")
    assert crypto.is_encrypted(stored_id) and crypto.is_encrypted(stored_phone)
    assert last4 == search_hash("phone", "3333", last=4)
    assert [h.id for h in search(world.officer_a, "13922223333")] == [person.pk]

    # An update written by the importer's raw UPDATE is encrypted and hashed too.
    rows[0]["phone"] = "13944445555"
    importers.write_csv(path, "persons", rows[:1])
    again = importers.import_file("persons", path, dry_run=False)

    assert again.updated == 1
    (stored_phone,) = raw(Person, person.pk, "phone")
    assert crypto.is_encrypted(stored_phone) and "13944445555" not in stored_phone
    assert [h.id for h in search(world.officer_a, "13944445555")] == [person.pk]
    assert search(world.officer_a, "13922223333") == []


def test_house_imports_encrypt_the_owner_fields(reg, world, tmp_path):
    path = tmp_path / "h.csv"
    rows = [
        {"code": reg.house.code, "address_code": reg.address.code, "property_type": reg.house.property_type,
         "structure": reg.house.structure, "owner_name": "陈建国", "owner_id_number": reg.spouse.id_number,
         "owner_phone": "13977776666"},
    ]  # fmt: skip
    importers.write_csv(path, "houses", rows)

    result = importers.import_file("houses", path, dry_run=False)

    assert not result.bad, result.bad
    stored = raw(House, reg.house.pk, "owner_id_number", "owner_phone")
    assert all(crypto.is_encrypted(v) for v in stored)
    assert House.objects.get(pk=reg.house.pk).owner_phone == "13977776666"
    assert "13977776666" not in json.dumps(
        [e.after for e in _audit("registry.import_houses")], ensure_ascii=False
    )


def _audit(action):
    return AuditEntry.objects.filter(action=action)


# --- the migration that encrypts rows stored in clear ---------------------------------------------------
def test_the_migration_encrypts_clear_rows_and_fills_the_hashes(reg, world, owned_house):
    clear_id = reg.head.id_number
    with connection.cursor() as cursor:  # rows as they were before encryption: clear text, no hashes
        cursor.execute(
            "UPDATE registry_person SET id_number = %s, phone = %s, id_hash = NULL, id_last4 = NULL, "
            "id_last5 = NULL, id_last6 = NULL, phone_hash = NULL, phone_last4 = NULL WHERE id = %s",
            [clear_id, "13800138000", reg.head.pk],
        )
        cursor.execute(
            "UPDATE registry_house SET owner_phone = %s WHERE id = %s", ["13912345678", reg.house.pk]
        )
    assert Person.objects.get(pk=reg.head.pk).id_number == clear_id  # clear text reads as it is
    assert search(world.officer_a, clear_id) == []

    MIGRATION.encrypt_rows(apps, None)

    stored = raw(Person, reg.head.pk, "id_number", "phone", "id_hash", "id_last6", "phone_last4")
    assert crypto.is_encrypted(stored[0]) and crypto.is_encrypted(stored[1])
    assert stored[2:] == (
        search_hash("id", clear_id),
        search_hash("id", clear_id, last=6),
        search_hash("phone", "13800138000", last=4),
    )
    assert crypto.is_encrypted(raw(House, reg.house.pk, "owner_phone")[0])
    assert Person.objects.get(pk=reg.head.pk).id_number == clear_id
    assert [h.id for h in search(world.officer_a, clear_id)] == [reg.head.pk]

    # Backwards: the values are written back in clear, for the columns to become plain text again.
    MIGRATION.decrypt_rows(apps, SimpleNamespace(connection=connection))
    assert raw(Person, reg.head.pk, "id_number", "phone") == (clear_id, "13800138000")
    assert raw(House, reg.house.pk, "owner_phone") == ("13912345678",)


# --- key rotation ---------------------------------------------------------------------------------------
def registry_usage() -> dict[str, dict[str | None, int]]:
    return {
        model._meta.label: counts
        for model, counts in crypto.key_usage().items()
        if model._meta.app_label == "registry"
    }


def test_rotation_re_encrypts_everything_under_the_new_key(reg, world, owned_house, unit, settings):
    assert set(registry_usage()["registry.Person"]) == {"dev1"}
    settings.DATA_KEYS = [("k2", NEW_KEY), *settings.DATA_KEYS]

    call_command("rotate_data_keys", batch=2, stdout=open("/dev/null", "w"))  # noqa: SIM115

    usage = registry_usage()
    assert usage["registry.Person"] == {"k2": 4}  # 3 ID numbers and a phone: every stored value
    assert usage["registry.House"] == {"k2": 4} and usage["registry.Unit"] == {"k2": 1}
    settings.DATA_KEYS = [("k2", NEW_KEY)]  # the old key can go now
    assert Person.objects.get(pk=reg.head.pk).phone == "13800138000"
    assert House.objects.get(pk=reg.house.pk).owner_phone == "13912345678"
    assert [h.id for h in search(world.officer_a, reg.head.id_number)] == [reg.head.pk]


def test_a_new_search_key_needs_the_rotation_and_then_search_works_again(reg, world, settings):
    settings.DATA_SEARCH_KEY = base64.urlsafe_b64decode(crypto.generate_key())

    assert search(world.officer_a, reg.head.id_number) == []  # hashes still under the old search key

    call_command("rotate_data_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115

    for q in (reg.head.id_number, reg.head.id_number[-4:], "13800138000", "8000"):
        assert [h.id for h in search(world.officer_a, q)] == [reg.head.pk], q
