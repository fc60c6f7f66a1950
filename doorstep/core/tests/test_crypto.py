"""Encryption at rest (core.crypto): keys, AES-GCM values, keyed hashes, refused lookups."""

from __future__ import annotations

import base64

import pytest
from django.core.exceptions import FieldError

from doorstep.core import crypto
from doorstep.core.env import ConfigError, parse_data_keys

KEY_A = base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode()


def test_parse_keys_first_is_active_and_search_key_is_separate():
    keys, search = parse_data_keys(f"k2:{KEY_B}\n# old\nk1:{KEY_A}, search:{KEY_A}", source="test")
    assert [kid for kid, _ in keys] == ["k2", "k1"]
    assert keys[0][1] == b"b" * 32
    assert search == b"a" * 32


@pytest.mark.parametrize(
    "text",
    [
        "k1",
        f"k 1:{KEY_A}",
        "k1:not base64!",
        f"k1:{base64.b64encode(b'short').decode()}",
        f"k1:{KEY_A},k1:{KEY_B}",
    ],
)
def test_parse_keys_refuses_malformed_keys(text):
    with pytest.raises(ConfigError):
        parse_data_keys(text, source="test")


def test_round_trip_uses_a_fresh_nonce_and_names_the_key():
    one = crypto.encrypt("350503199001011234", context="registry.person.id_number")
    two = crypto.encrypt("350503199001011234", context="registry.person.id_number")
    assert one != two
    assert "350503199001011234" not in one
    assert crypto.key_id(one) == "dev1"
    assert crypto.decrypt(one, context="registry.person.id_number") == "350503199001011234"


def test_a_value_moved_to_another_column_does_not_decrypt():
    sealed = crypto.encrypt("13800138000", context="registry.person.phone")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(sealed, context="registry.house.owner_phone")


def test_an_altered_value_does_not_decrypt():
    sealed = crypto.encrypt("13800138000", context="x.y")
    body = sealed[-10:]
    tampered = sealed[:-10] + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tampered, context="x.y")


def test_clear_text_from_before_encryption_reads_as_it_is():
    assert crypto.decrypt("13800138000", context="x.y") == "13800138000"
    assert crypto.key_id("13800138000") is None


def test_rotation_old_key_still_decrypts_new_key_encrypts(settings):
    old = crypto.encrypt("13800138000", context="x.y")
    settings.DATA_KEYS = [("k2", b"b" * 32), *settings.DATA_KEYS]
    assert crypto.decrypt(old, context="x.y") == "13800138000"
    assert crypto.key_id(crypto.encrypt("13800138000", context="x.y")) == "k2"
    settings.DATA_KEYS = [("k2", b"b" * 32)]
    with pytest.raises(crypto.DecryptionError, match="no data key 'dev1'"):
        crypto.decrypt(old, context="x.y")


def test_search_hash_is_keyed_and_kind_specific(settings):
    full = crypto.search_hash("id", "350503199001011234")
    assert full == crypto.search_hash("id", "350503199001011234")
    assert len(full) == crypto.HASH_CHARS
    assert crypto.search_hash("phone", "350503199001011234") != full
    assert crypto.search_hash("id", "350503199001011234", last=4) == crypto.search_hash("id", "1234", last=4)
    assert crypto.search_hash("id", "") is None
    assert crypto.search_hash("id", None) is None
    settings.DATA_SEARCH_KEY = b"z" * 32
    assert crypto.search_hash("id", "350503199001011234") != full


def test_generated_keys_parse():
    keys, _ = parse_data_keys(f"k9:{crypto.generate_key()}", source="test")
    assert len(keys[0][1]) == 32


def test_encrypted_field_refuses_comparisons_but_answers_blank_and_null():
    from doorstep.registry.models import Person

    with pytest.raises(FieldError, match="encrypted"):
        str(Person.objects.filter(phone="13800138000").query)
    with pytest.raises(FieldError, match="encrypted"):
        str(Person.objects.filter(phone__startswith="138").query)
    assert "IS NULL" in str(Person.objects.filter(id_number__isnull=True).query)
    str(Person.objects.filter(phone="").query)


@pytest.mark.django_db
def test_text_that_looks_encrypted_is_still_encrypted(world):
    from django.db import connection

    from doorstep.registry import services
    from doorstep.registry.choices import PersonCategory
    from doorstep.registry.models import Person
    from doorstep.registry.tests.conftest import make_house, new_id

    household = services.create_household(house=make_house(world.grid_a), household_no="350503009")
    person = services.create_person(
        name="张三",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=household,
        relation_to_head="户主",
    )
    Person.objects.filter(pk=person.pk).update(phone="e1:dev1:AAAA")
    assert Person.objects.get(pk=person.pk).phone == "e1:dev1:AAAA"
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM registry_person WHERE id = %s", [person.pk])
        assert cursor.fetchone()[0] != "e1:dev1:AAAA"
