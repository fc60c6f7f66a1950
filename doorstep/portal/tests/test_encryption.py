"""Residents' phones on submissions are encrypted at rest (core.crypto, issue #12): the stored column holds
`e1:…`, never the number, and a keyed hash (`phone_search`) answers "has this phone already booked this
slot"; cancelling a booking with its phone and the staff's masked view and audited reveal keep working."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection

from doorstep.core import crypto, sms
from doorstep.core.errors import ServiceError
from doorstep.portal import services
from doorstep.portal.choices import Status
from doorstep.portal.models import Submission
from doorstep.portal.tests.test_slots import booking, make_slot, otp
from doorstep.portal.tests.test_submissions import business, receipt_code

PHONE = "13955556666"


@pytest.fixture(autouse=True)
def _clean(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SMS_GATEWAY = "memory"
    cache.clear()
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def stored(obj, field: str) -> str | None:
    """The value as the database holds it (what a pg_dump shows)."""
    qn = connection.ops.quote_name
    meta = type(obj)._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn(meta.get_field(field).column)} FROM {qn(meta.db_table)} WHERE id = %s", [obj.pk]
        )
        return cursor.fetchone()[0]


def _tip(world, **kw) -> Submission:
    return services.submit_tip(content="楼道堆放杂物有火灾隐患", community=world.c1, name="吴一", **kw)


def test_the_phone_is_stored_encrypted_with_its_keyed_hash(world):
    item = _tip(world, phone=PHONE)
    raw = stored(item, "phone")
    assert raw.startswith("e1:") and PHONE not in raw
    assert stored(item, "phone_search") == crypto.search_hash("phone", PHONE)
    assert Submission.objects.get(pk=item.pk).phone == PHONE
    anonymous = _tip(world, phone=PHONE, anonymous=True)
    assert stored(anonymous, "phone") == "" and stored(anonymous, "phone_search") is None


def test_the_staff_see_the_phone_masked_and_revealed(world, client_for):
    item = _tip(world, phone=PHONE)
    officer = client_for(world.officer_a)
    text = officer.get(f"/online/items/{item.pk}/").content.decode()
    assert PHONE not in text and "139****6666" in text
    text = officer.post(
        f"/online/items/{item.pk}/", {"action": "reveal", "reveal-purpose": "回电核实线索"}
    ).content.decode()
    assert PHONE in text


def test_one_phone_books_a_slot_once_and_cancels_with_its_phone(world, client):
    slot = make_slot(world, capacity=3)
    bt = business()
    code = receipt_code(
        client.post("/portal/book/", booking(world, slot, bt, otp(client, PHONE), phone=PHONE))
    )
    item = Submission.objects.get()
    assert stored(item, "phone").startswith("e1:") and stored(item, "phone_search")
    # the same phone again: found through the hash column, refused before the code is used up
    with pytest.raises(ServiceError, match="该手机号已预约了这个时段"):
        services.book(slot_id=slot.pk, business_type=bt, name="孙八", phone=PHONE, code="000000")
    other = "13722223333"
    client.post("/portal/book/", booking(world, slot, bt, otp(client, other), phone=other))
    assert Submission.objects.count() == 2
    # the resident cancels with the receipt code and the phone it was booked with
    wrong = client.post("/portal/receipt/", {"action": "cancel", "code": code, "phone": other})
    assert "回执码或手机号不正确" in wrong.content.decode()
    response = client.post("/portal/receipt/", {"action": "cancel", "code": code, "phone": PHONE})
    assert "预约已取消" in response.content.decode()
    item.refresh_from_db()
    assert item.status == Status.CANCELLED
    slot.refresh_from_db()
    assert slot.booked == 1
    # once cancelled, the phone may book the slot again
    client.post("/portal/book/", booking(world, slot, bt, otp(client, PHONE), phone=PHONE))
    assert Submission.objects.filter(status=Status.NEW).count() == 2


def test_rows_stored_in_clear_before_get_encrypted_and_hashed_by_the_migration_step(world):
    item = _tip(world, phone=PHONE)
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:  # as the rows stood before migration portal 0003
        cursor.execute(
            f"UPDATE {qn(Submission._meta.db_table)} SET {qn('phone')} = %s, {qn('phone_search')} = NULL "
            "WHERE id = %s",
            [PHONE, item.pk],
        )
    assert crypto.reencrypt_model(Submission) == 1
    assert stored(item, "phone").startswith("e1:")
    assert stored(item, "phone_search") == crypto.search_hash("phone", PHONE)
