"""Applicants' ID numbers and phones are encrypted at rest (core.crypto, issue #12): the stored column holds
`e1:…`, never the number; pages show it masked, or in full after an audited reveal."""

from __future__ import annotations

import pytest
from django.core.exceptions import FieldError
from django.db import connection
from django.urls import reverse

from doorstep.core import crypto
from doorstep.desk.models import Intake
from doorstep.desk.tests.factories import VALID_ID, household

PHONE = "13912345678"


def stored(obj, field: str) -> str | None:
    """The value as the database holds it (what a pg_dump shows)."""
    qn = connection.ops.quote_name
    meta = type(obj)._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn(meta.get_field(field).column)} FROM {qn(meta.db_table)} WHERE id = %s", [obj.pk]
        )
        return cursor.fetchone()[0]


def test_the_columns_hold_ciphertext_and_read_back_in_clear(world):
    intake = household(world, id_number=VALID_ID, phone=PHONE)
    for field, clear in (("id_number", VALID_ID), ("phone", PHONE)):
        raw = stored(intake, field)
        assert raw.startswith("e1:") and clear not in raw
    intake = Intake.objects.get(pk=intake.pk)
    assert (intake.id_number, intake.phone) == (VALID_ID, PHONE)
    with pytest.raises(FieldError, match="encrypted"):
        Intake.objects.filter(id_number=VALID_ID).exists()


def test_pages_show_the_masked_number_and_the_reveal_the_full_one(world, client_for):
    intake = household(world, id_number=VALID_ID, phone=PHONE)
    c = client_for(world.officer_a)
    receipt = c.get(reverse("desk:receipt", args=[intake.pk])).content.decode()
    assert "350503********1236" in receipt and VALID_ID not in receipt and "139****5678" in receipt
    url = reverse("desk:item", args=[intake.pk])
    page = c.get(url).content.decode()
    assert "350503********1236" in page and VALID_ID not in page
    page = c.post(url, {"purpose": "核实申请人身份"}).content.decode()
    assert VALID_ID in page and PHONE in page


def test_rows_stored_in_clear_before_are_encrypted_by_the_migration_step(world):
    intake = household(world, id_number=VALID_ID, phone=PHONE)
    Intake.objects.filter(pk=intake.pk).update(phone="")  # blank stays blank
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:  # as the rows stood before migration desk 0005
        cursor.execute(
            f"UPDATE {qn(Intake._meta.db_table)} SET {qn('id_number')} = %s WHERE id = %s",
            [VALID_ID, intake.pk],
        )
    assert Intake.objects.get(pk=intake.pk).id_number == VALID_ID  # clear text still reads
    assert crypto.reencrypt_model(Intake) == 1
    assert stored(intake, "id_number").startswith("e1:") and stored(intake, "phone") == ""
    assert Intake.objects.get(pk=intake.pk).id_number == VALID_ID
