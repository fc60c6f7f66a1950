"""Parties' ID numbers and phones are encrypted at rest (core.crypto, issue #12): the stored column holds
`e1:…`, never the number; the case page shows them masked (in full after an audited reveal), the agreement
PDF masked, with the gender and age the ID number gives."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.urls import reverse
from pypdf import PdfReader

from doorstep.core import crypto
from doorstep.core.masking import mask_citizen_id
from doorstep.mediation.models import Party
from doorstep.mediation.services import PartyData
from doorstep.mediation.tests.conftest import new_dispute
from doorstep.mediation.tests.test_services import _agree, _in_room

ID = "350503199001011236"  # synthetic, valid check character; a man born 1990
PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def stored(obj, field: str) -> str | None:
    """The value as the database holds it (what a pg_dump shows)."""
    qn = connection.ops.quote_name
    meta = type(obj)._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn(meta.get_field(field).column)} FROM {qn(meta.db_table)} WHERE id = %s", [obj.pk]
        )
        return cursor.fetchone()[0]


def _parties() -> list[PartyData]:
    return [PartyData("王伟", "A", ID, PHONE), PartyData("李娜", "B", "", "")]


def test_the_columns_hold_ciphertext_and_the_case_page_masks_or_reveals(med, client_for):
    d = new_dispute(med, parties=_parties())
    first, second = d.parties.order_by("side")
    for field, clear in (("id_number", ID), ("phone", PHONE)):
        raw = stored(first, field)
        assert raw.startswith("e1:") and clear not in raw
    assert stored(second, "id_number") == "" and stored(second, "phone") == ""
    assert (Party.objects.get(pk=first.pk).id_number, first.phone) == (ID, PHONE)
    c = client_for(med.officer_a)
    page = c.get(reverse("mediation:detail", args=[d.pk])).content.decode()
    assert mask_citizen_id(ID) in page and ID not in page and "139****5678" in page and PHONE not in page
    page = c.post(reverse("mediation:detail", args=[d.pk]), {"purpose": "联系当事人"}).content.decode()
    assert ID in page and PHONE in page


def test_the_agreement_pdf_is_made_from_the_decrypted_numbers(med, time_machine):
    d = _in_room(med, time_machine)
    Party.objects.filter(dispute=d).delete()
    Party.objects.create(dispute=d, side="A", name="王伟", id_number=ID, phone=PHONE)
    Party.objects.create(dispute=d, side="B", name="李娜")
    agreement = _agree(d, med)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(agreement.pdf.read())).pages)
    text = "".join(text.split())
    assert "身份证号码：350503********1236" in text and "联系电话：139****5678" in text
    assert "王伟，男，36岁" in text
    assert ID not in text and PHONE not in text


def test_rows_stored_in_clear_before_are_encrypted_by_the_migration_step(med):
    d = new_dispute(med, parties=_parties())
    party = d.parties.get(side="A")
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:  # as the rows stood before migration mediation 0003
        cursor.execute(
            f"UPDATE {qn(Party._meta.db_table)} SET {qn('id_number')} = %s, {qn('phone')} = %s WHERE id = %s",
            [ID, PHONE, party.pk],
        )
    assert crypto.reencrypt_model(Party) == 2
    assert stored(party, "id_number").startswith("e1:") and stored(party, "phone").startswith("e1:")
    party = Party.objects.get(pk=party.pk)
    assert (party.id_number, party.phone) == (ID, PHONE)
